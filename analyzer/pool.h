/*
 * pool - the daemon's side of the sandboxed analyzers: session threads
 * hand a message to an idle worker and get back its facts.
 *
 * The pool starts a supervisor (supervisor.h) through the caller's spawn
 * function and keeps a background thread, with every signal blocked, on
 * the supervisor's control socket: it files each worker socket the
 * supervisor passes as an idle worker, switches to a new generation on
 * READY (idle workers of older generations are closed at once, busy ones
 * when their job ends; a closed socket is what makes a worker exit), and
 * when the supervisor dies, closes its workers and starts a new one, with
 * a pause that grows while supervisors keep dying young.
 *
 * A job, in the session thread: wait up to timeout_ms for an idle worker
 * (ANALYZER_UNAVAILABLE after that), copy the message into a memfd sealed
 * against any change, pass it, and wait up to timeout_ms for the reply.
 * The reply is hostile input: its header and facts are checked (wire.h)
 * and anything wrong is ANALYZER_BAD_REPLY. Then:
 *
 *	reply in time        ANALYZER_OK; the worker is idle again, unless it
 *	                     said it is retiring (max_jobs) or its generation
 *	                     is old, and then its socket is closed.
 *	timeout              ANALYZER_TIMEOUT; the supervisor is asked to kill
 *	                     the worker (it is the parent, so no pid is reused
 *	                     under it), its socket is closed.
 *	EOF after TAKEN      ANALYZER_CRASHED: the message killed it.
 *	EOF before TAKEN     the worker went away before it looked (it died
 *	                     idle, or retired): the message goes to another
 *	                     worker, up to POOL_RETRIES times.
 *	bad reply            ANALYZER_BAD_REPLY; the worker is killed too.
 *
 * Nothing waits without a deadline, and no reply bytes can crash the
 * daemon. The caller turns anything but ANALYZER_OK into a 4xx.
 *
 * Ownership: the pool owns the supervisor's socket and every worker
 * socket, and reaps the supervisor (spawn must return a direct child that
 * nobody else waits for). analyzer_pool_free must come after the last
 * analyzer_pool_analyze has returned.
 */
#ifndef SEKISHO_POOL_H
#define SEKISHO_POOL_H

#include <stddef.h>
#include <sys/types.h>

#include "filters/facts.h"

#define POOL_RETRIES 3

/*
 * analyzer_spawn_fn - start a supervisor; the daemon's end of its control
 * socket (a unix socketpair, SOCK_SEQPACKET or SOCK_STREAM), or -1. The
 * supervisor should hold no other fd of the daemon (exec with every fd
 * close-on-exec does that), or it keeps worker sockets from reaching EOF.
 * Called again, from the pool's thread, to replace a supervisor that died.
 */
typedef int (*analyzer_spawn_fn)(void *ctx, pid_t *pid_r);

struct analyzer_pool;

enum analyzer_status {
	ANALYZER_OK,
	ANALYZER_CRASHED,     /* the worker died on this message */
	ANALYZER_TIMEOUT,     /* the worker overran timeout_ms and was killed */
	ANALYZER_UNAVAILABLE, /* no worker took the message within timeout_ms */
	ANALYZER_BAD_REPLY,   /* the reply broke the protocol or the limits */
};

struct analyzer_pool_stats {
	unsigned long generation; /* the generation new jobs go to; 0 before the first */
	unsigned idle, busy;
	unsigned long jobs; /* messages a worker took */
	unsigned long crashes, timeouts;
};

/* analyzer_pool_new - start the supervisor; NULL and *error_r (caller frees) on failure */
struct analyzer_pool *analyzer_pool_new(analyzer_spawn_fn spawn, void *ctx, unsigned timeout_ms,
                                        char **error_r);

/* analyzer_pool_analyze - the facts of msg are added to out only with ANALYZER_OK */
enum analyzer_status analyzer_pool_analyze(struct analyzer_pool *p, const char *msg, size_t len,
                                           struct facts *out);

/* analyzer_pool_reload - ask the supervisor for a new generation */
void analyzer_pool_reload(struct analyzer_pool *p);

void analyzer_pool_set_timeout(struct analyzer_pool *p, unsigned timeout_ms);
void analyzer_pool_stats(struct analyzer_pool *p, struct analyzer_pool_stats *out);

/* analyzer_pool_status_name - "ok", "crashed", ... for logs */
const char *analyzer_pool_status_name(enum analyzer_status status);

/* analyzer_pool_free - close everything; the supervisor exits and takes its workers */
void analyzer_pool_free(struct analyzer_pool *p);

#endif
