/*
 * supervisor - the process that owns the sandboxed analyzer workers.
 *
 * Attacker-made bytes (MIME, archives, file types, ClamAV) are parsed only
 * in worker processes that cannot reach the network, write outside a
 * private temp dir, start programs or grow without bound (sandbox.h). The
 * supervisor forks them and replaces them; the daemon (pool.h) hands them
 * messages. The supervisor never reads a message, so it may hold what is
 * expensive to load: it loads a "generation" (e.g. the ClamAV engine) once
 * and forks the workers from it, which then share its memory copy-on-write.
 *
 * Processes:
 *
 *	daemon ──control socket (SEQPACKET or STREAM)── supervisor
 *	   │                                          │ fork
 *	   └──── one SOCK_STREAM socket per worker ── worker, worker, ...
 *
 * The supervisor runs alone in its process, single-threaded (the daemon
 * execs itself in a supervisor mode; tests fork). It creates each worker's
 * socketpair, forks the worker with one end, passes the other end to the
 * daemon over the control socket, and closes its own copies: from then on
 * only the daemon and the worker hold the connection, and either side sees
 * the other go as EOF.
 *
 * Control messages are struct analyzer_control records in host byte order
 * (both ends are the same program on the same machine), one per packet on
 * a SOCK_SEQPACKET socket or back to back on a SOCK_STREAM one:
 *
 *	supervisor → daemon
 *	  WORKER {pid, generation} + the daemon's end of the worker socket
 *	                     (SCM_RIGHTS); the worker is idle and ready.
 *	  READY {generation}  every worker of generation has been sent; older
 *	                     generations are retired: the daemon gives them no
 *	                     more jobs and closes their sockets once idle.
 *	daemon → supervisor
 *	  RELOAD             load a new generation.
 *	  KILL {pid}         SIGKILL that worker (it overran its time). Only
 *	                     the supervisor's own unreaped children are killed,
 *	                     so a recycled pid is never hit.
 *	EOF on the control socket, either way: the other side is gone. The
 *	supervisor then kills its workers, removes its temp dir and returns.
 *
 * A job on a worker socket:
 *
 *	daemon → worker   one byte ANALYZER_JOB with a sealed memfd holding the
 *	                  message (SCM_RIGHTS)
 *	worker → daemon   one byte ANALYZER_TAKEN as soon as it has the memfd,
 *	                  then struct analyzer_reply and reply.length bytes of
 *	                  facts (wire.h). ANALYZER_REPLY_RETIRING in flags: this
 *	                  was the worker's last job, it exits now. A worker
 *	                  retires after max_jobs messages, or once it has used
 *	                  half its cpu_seconds, so that RLIMIT_CPU ends only a
 *	                  worker one message kept busy that long.
 *
 * EOF before TAKEN means the worker went away without looking at the
 * message, so the daemon may try another worker; EOF after it means the
 * message killed the worker.
 *
 * Lifecycle: generation 1 is loaded at start; a failure to load it ends
 * supervisor_main (the daemon starts a new supervisor later). Workers of
 * the current generation that exit (crash, seccomp kill, SIGKILL, CPU
 * limit, max_jobs) are replaced: at once after a clean exit, after a short
 * pause after a crash, and with a growing pause while workers fail to
 * even start (a broken sandbox or worker_init), so a crash loop does not
 * spin. On RELOAD, or when ops->generation_stale says so (asked every
 * SUPERVISOR_STALE_CHECK_MS), a new generation is loaded beside the old;
 * if that fails the old one stays and the reason is logged. Otherwise its
 * workers are forked and sent, READY follows, and the old generation's
 * workers exit as the daemon closes their sockets. The supervisor frees
 * its own copy of the old generation at once; its workers keep theirs.
 * While generation_new runs (seconds, for ClamAV) the supervisor does
 * nothing else: the current workers keep serving, and a worker that exits
 * or that the daemon wants killed is dealt with once the load is over.
 *
 * Each worker has its own subdirectory of a private temp dir (mkdtemp under
 * $TMPDIR or /tmp), its only writable place and its $TMPDIR and current
 * directory; it is removed when the worker has exited, the whole temp dir
 * when the supervisor returns. sandbox.writable_dir in the settings is
 * ignored for that reason. A worker keeps only its socket and stderr
 * (stdin and stdout are /dev/null); it logs to stderr, since reconnecting
 * to syslog would need socket(2), which kills it.
 */
#ifndef SEKISHO_SUPERVISOR_H
#define SEKISHO_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer/sandbox.h"
#include "filters/facts.h"

struct analyzer_settings {
	unsigned workers;  /* 0 counts as 1 */
	unsigned max_jobs; /* a worker exits after this many messages; 0 = never */
	struct sandbox_limits sandbox;
};

/*
 * What a worker does, and what its generation holds. Called in the
 * supervisor: generation_new, generation_free, generation_stale, settings.
 * Called in a worker: worker_init (before the sandbox), analyze (inside).
 */
struct analyzer_ops {
	/* load what the workers share; NULL and *error_r (caller frees) on failure */
	void *(*generation_new)(const char *config_path, char **error_r);
	void (*generation_free)(void *gen);
	/* should a new generation be loaded (e.g. the signatures changed)? may be NULL */
	bool (*generation_stale)(void *gen);
	void (*settings)(void *gen, struct analyzer_settings *out);
	/* in a new worker, before the sandbox (e.g. tell ClamAV its temp dir); may be NULL */
	void (*worker_init)(void *gen, const char *tmpdir);
	/* in the sandboxed worker, once per message; msg is not NUL-terminated */
	void (*analyze)(void *gen, const char *msg, size_t len, struct facts *out);
};

#define SUPERVISOR_STALE_CHECK_MS 5000

/* Where a daemon that execs its supervisor puts the control socket. */
#define ANALYZER_SUPERVISOR_FD 3

enum analyzer_control_type {
	ANALYZER_CTL_WORKER = 1,
	ANALYZER_CTL_READY,
	ANALYZER_CTL_RELOAD,
	ANALYZER_CTL_KILL,
};

struct analyzer_control {
	uint32_t type; /* enum analyzer_control_type */
	int32_t pid;
	uint64_t generation;
};

#define ANALYZER_JOB            'J'
#define ANALYZER_TAKEN          'T'
#define ANALYZER_REPLY_MAGIC    0x31524b53u /* "SKR1" */
#define ANALYZER_REPLY_RETIRING 0x1u

struct analyzer_reply {
	uint32_t magic;
	uint32_t flags;
	uint64_t length; /* bytes of wire-encoded facts that follow */
};

/*
 * analyzer_send_with_fd - send len bytes, with fd attached unless fd < 0;
 * 0, or -1 with errno (flags as for sendmsg; MSG_NOSIGNAL is implied)
 */
int analyzer_send_with_fd(int sock, const void *data, size_t len, int fd, int flags);

/*
 * analyzer_recv_with_fd - receive up to len bytes and at most one fd
 * (*fd_r, -1 if none; close-on-exec; any further fds are closed): bytes
 * received, 0 at EOF, -1 with errno
 */
long analyzer_recv_with_fd(int sock, void *data, size_t len, int *fd_r, int flags);

/*
 * A control record on its way in. On a SOCK_STREAM socket a record could
 * in principle arrive in pieces; this puts it together either way.
 */
struct analyzer_control_in {
	struct analyzer_control msg;
	size_t have; /* 0 to start */
	int fd;      /* -1 to start */
};

/*
 * analyzer_control_recv - read on without blocking: 1 when in->msg is
 * whole (in->fd is then the caller's: the fd that came with it, or -1),
 * 0 when the rest has yet to come, -1 at EOF or on an error
 */
int analyzer_control_recv(int sock, struct analyzer_control_in *in);

/*
 * supervisor_main - serve the daemon on sock (a unix socket, SOCK_SEQPACKET
 * or SOCK_STREAM, fd > 2) until it closes it or SIGTERM/SIGINT arrives; 0, or -1
 * if the first generation could not be loaded or sock is unusable.
 * It blocks SIGCHLD, SIGTERM, SIGINT and SIGHUP while it runs and reaps
 * every child of the process, so call it in a process of its own.
 */
int supervisor_main(int sock, const struct analyzer_ops *ops, const char *config_path);

#endif
