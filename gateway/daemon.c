/*
 * daemon - the process around the sessions: privileges, pid file,
 * signals and the service manager.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "gateway/daemon.h"

static int wake_pipe[2] = {-1, -1};

static void handled_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

void daemon_block_signals(void)
{
	sigset_t set;

	handled_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void *signal_thread(void *arg)
{
	sigset_t set;
	int sig;

	handled_signals(&set);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		char what = sig == SIGHUP ? 'H' : 'T';
		log_info("received %s", sig == SIGHUP ? "SIGHUP: reloading"
						      : sig == SIGTERM ? "SIGTERM: stopping"
								       : "SIGINT: stopping");
		(void)!write(wake_pipe[1], &what, 1);
		if (what == 'T')
			return NULL;
	}
}

int daemon_start_signal_thread(void)
{
	pthread_t tid;

	if (pipe2(wake_pipe, O_CLOEXEC) != 0)
		return -1;
	if (pthread_create(&tid, NULL, signal_thread, NULL) != 0)
		return -1;
	pthread_detach(tid);
	return wake_pipe[0];
}

int daemon_lookup_user(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(name);

	if (pw == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int daemon_drop_privileges(const char *name, uid_t uid, gid_t gid, char **error_r)
{
	if (initgroups(name, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		*error_r = xasprintf("cannot become user %s: %s", name, strerror(errno));
		return -1;
	}
	/* Must not be able to get root back. */
	if (uid != 0 && setuid(0) == 0) {
		*error_r = xasprintf("privileges of user %s could be regained", name);
		return -1;
	}
	return 0;
}

int daemon_write_pid_file(const char *path, char **error_r)
{
	FILE *f = fopen(path, "we");

	if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
		*error_r = xasprintf("pid_file %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int daemon_prepare_dir(const char *path, uid_t uid, gid_t gid, char **error_r)
{
	char *copy = xstrdup(path);
	int rc = 0;

	for (char *p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, saved ? 0755 : 0700) != 0 && errno != EEXIST) {
			*error_r = xasprintf("cannot create %s: %s", copy, strerror(errno));
			rc = -1;
			break;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	if (rc == 0 && geteuid() == 0 && chown(path, uid, gid) != 0) {
		*error_r = xasprintf("cannot chown %s: %s", path, strerror(errno));
		rc = -1;
	}
	free(copy);
	return rc;
}

void daemon_notify(const char *state)
{
	sd_notify(0, state);
}
