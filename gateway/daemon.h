/*
 * daemon - the process around the sessions: privileges, pid file,
 * signals and the service manager.
 *
 * Signals are blocked in every thread; one thread waits for them with
 * sigwait and turns each into a byte on the wake pipe that the accept loop
 * reads ('H' reload, 'T' stop). No work is ever done in a signal handler,
 * and a library that wants signals of its own (libmilter) cannot steal them.
 */
#ifndef SEKISHO_DAEMON_H
#define SEKISHO_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

/* daemon_block_signals - call before any thread starts */
void daemon_block_signals(void);

/* daemon_start_signal_thread - returns the wake pipe's read end, or -1 */
int daemon_start_signal_thread(void);

/* daemon_lookup_user - uid/gid of name; -1 if unknown */
int daemon_lookup_user(const char *name, uid_t *uid, gid_t *gid);

/* daemon_drop_privileges - become uid/gid for good; -1 with *error_r */
int daemon_drop_privileges(const char *name, uid_t uid, gid_t gid, char **error_r);

/* daemon_write_pid_file - write our pid; -1 with *error_r */
int daemon_write_pid_file(const char *path, char **error_r);

/* daemon_prepare_dir - mkdir -p path (mode 0700) owned by uid/gid */
int daemon_prepare_dir(const char *path, uid_t uid, gid_t gid, char **error_r);

/* daemon_notify - tell systemd (Type=notify) our state; no-op without it */
void daemon_notify(const char *state);

#endif
