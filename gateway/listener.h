/*
 * listener - listening sockets, the accept loop, and the session threads.
 *
 * The main thread accepts; each accepted client gets its own thread with a
 * small fixed stack, within max_sessions overall and max_sessions_per_ip
 * per client address (over either limit it gets a 421 at once). The same
 * loop serves the control socket and the wake pipe through which signals
 * arrive, so reload and shutdown happen in one place.
 */
#ifndef SEKISHO_LISTENER_H
#define SEKISHO_LISTENER_H

#include "common/conf.h"

#define LISTENER_MAX 32

struct listener_set {
	int fds[LISTENER_MAX];
	size_t count;
};

/* listener_bind - bind every listen address; 0, or -1 with *error_r (malloc'd) */
int listener_bind(const struct strlist *listen, struct listener_set *set, char **error_r);
void listener_close(struct listener_set *set);

struct listener_hooks {
	int wake_fd;		/* readable: a byte 'H' (reload) or 'T' (stop) */
	int control_fd;		/* -1 or a listening unix socket */
	void (*reload)(char **result_r);	/* result_r: malloc'd text */
	void (*status)(char **result_r);
	char *(*stats)(bool prometheus);	/* the counters (malloc'd) */
	void (*stopping)(void);	/* NULL, or told first when a stop arrives */
};

/* listener_run - accept until a stop arrives; then stop sessions gracefully */
void listener_run(struct listener_set *set, const struct listener_hooks *hooks);

/*
 * listener_set_client - the session on fd has learnt its real client
 * address (PROXY); count it under that address. -1 if that address is
 * already at limit sessions (the caller refuses the client).
 */
int listener_set_client(int fd, const char *ip, long limit);

/* listener_sessions - sessions now running */
long listener_sessions(void);

#endif
