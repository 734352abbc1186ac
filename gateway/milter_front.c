/*
 * milter_front - the daemon's side of milter mode (see milter_front.h).
 *
 * The channel to the child carries single bytes one way ('H' reload,
 * 'S' and 'P' counters, 'T' stop) and lines the other ("ready", the
 * result of a reload, counters ending with a line ".").
 * One mutex guards the child's pid and channel; the watcher thread is
 * the only one that reaps the child (waitpid on its pid, never -1, so
 * the analyzer pool's own children are left alone).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "gateway/daemon.h"
#include "gateway/milter.h"
#include "gateway/milter_front.h"

extern char **environ;

#define START_TIMEOUT 120	/* seconds: loading rules and ClamAV can be slow */
#define RELOAD_TIMEOUT 120
#define METRICS_TIMEOUT 5
#define RESTART_DELAY_MS 1000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static char *config_path;
static pid_t child = -1;
static int channel = -1;
static bool running, stopping, watcher_done;
static unsigned long restarts;
static pthread_t watcher;

static bool port_ok(const char *p, size_t n)
{
	long v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

const char *milter_front_check(const char *spec)
{
	const char *rest, *at;

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		rest = strchr(spec, ':') + 1;
		if (rest[0] != '/')
			return "a unix socket needs an absolute path";
		if (strlen(rest) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return "the socket path is too long";
		return NULL;
	}
	if (strncmp(spec, "inet:", 5) == 0)
		rest = spec + 5;
	else if (strncmp(spec, "inet6:", 6) == 0)
		rest = spec + 6;
	else
		return "expected inet:PORT@ADDRESS, inet6:PORT@ADDRESS or unix:/path";
	at = strchr(rest, '@');
	if (!port_ok(rest, at ? (size_t)(at - rest) : strlen(rest)))
		return "the port must be a number from 1 to 65535";
	if (at && at[1] == '\0')
		return "missing address after \"@\"";
	for (const char *p = at ? at + 1 : ""; *p; p++)
		if (!strchr("0123456789abcdefABCDEF.:-[]", *p) &&
		    !(*p >= 'g' && *p <= 'z') && !(*p >= 'G' && *p <= 'Z'))
			return "the address holds characters no host or address has";
	return NULL;
}

int milter_front_prepare(const char *spec, uid_t uid, gid_t gid, char **error_r)
{
	struct stat st;
	char *dir, *slash;
	int rc = 0;

	if (strncmp(spec, "unix:", 5) != 0 && strncmp(spec, "local:", 6) != 0)
		return 0;
	dir = xstrdup(strchr(spec, ':') + 1);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		/* An existing folder is the administrator's (Postfix's chroot, say): left as is. */
		if (stat(dir, &st) != 0 && errno == ENOENT) {
			rc = daemon_prepare_dir(dir, uid, gid, error_r);
			/* the MTA, another user, must reach the socket inside */
			if (rc == 0 && chmod(dir, 0755) != 0) {
				*error_r = xasprintf("cannot chmod %s: %s", dir, strerror(errno));
				rc = -1;
			}
		}
	}
	free(dir);
	return rc;
}

/*
 * drain - drop what the child wrote that nobody read: the answer to a
 * request that timed out would otherwise be taken as the next one's
 */
static void drain(int fd)
{
	char junk[4096];
	ssize_t n;

	while ((n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT)) > 0 ||
	       (n < 0 && errno == EINTR))
		;
}

/* read_line - one line from fd within timeout seconds (malloc'd, no newline) */
static char *read_line(int fd, long timeout)
{
	long long deadline = clock_deadline(timeout);
	struct buf b;
	char c;

	buf_init(&b);
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long long left = deadline - clock_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			if (left > 0 && errno == EINTR)
				continue;
			buf_free(&b);
			return xstrdup("error: no answer from the milter process in time");
		}
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			buf_free(&b);
			return xstrdup("error: the milter process went away");
		}
		if (c == '\n')
			return buf_steal(&b);
		buf_append_char(&b, c);
	}
}

/* spawn - run ourselves in milter mode and wait until it listens */
static int spawn(pid_t *pid_r, int *fd_r, char **error_r)
{
	char *argv[] = {"sekishod", "-c", config_path, "-M", NULL};
	posix_spawn_file_actions_t actions;
	int sv[2], rc, status;
	char *line;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		*error_r = xasprintf("socketpair: %s", strerror(errno));
		return -1;
	}
	if (sv[1] == MILTER_CHANNEL_FD) {
		/* dup2 onto itself would keep close-on-exec */
		int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, MILTER_CHANNEL_FD + 1);
		close(sv[1]);
		sv[1] = moved;
	}
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, sv[1], MILTER_CHANNEL_FD);
	rc = posix_spawn(pid_r, "/proc/self/exe", &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	close(sv[1]);
	if (rc != 0) {
		*error_r = xasprintf("cannot start the milter process: %s", strerror(rc));
		close(sv[0]);
		return -1;
	}
	line = read_line(sv[0], START_TIMEOUT);
	if (strcmp(line, "ready") == 0) {
		free(line);
		*fd_r = sv[0];
		return 0;
	}
	*error_r = line;
	close(sv[0]);
	kill(*pid_r, SIGKILL);
	while (waitpid(*pid_r, &status, 0) < 0 && errno == EINTR)
		;
	return -1;
}

/* pause_before_restart - delay_ms, or less if a stop comes; lock held */
static void pause_before_restart(long long delay_ms)
{
	long long until = clock_ms() + delay_ms;

	while (!stopping && clock_ms() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&changed, &lock, &ts);
	}
}

static void describe_exit(pid_t pid, int status)
{
	if (WIFEXITED(status))
		log_err("milter: process %ld exited with status %d; starting it again",
			(long)pid, WEXITSTATUS(status));
	else
		log_err("milter: process %ld killed by signal %d; starting it again", (long)pid,
			WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* watch - reap the child; unless stopping, start another */
static void *watch(void *arg)
{
	(void)arg;
	for (;;) {
		pid_t pid, fresh;
		int status = 0, fd;
		char *error = NULL;

		pthread_mutex_lock(&lock);
		pid = child;
		pthread_mutex_unlock(&lock);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		pthread_mutex_lock(&lock);
		close(channel);
		channel = -1;
		child = -1;
		if (!stopping)
			describe_exit(pid, status);
		/* One second, doubling while starts fail (a broken file on disk:
		 * the child reads the configuration as it is now), up to a minute. */
		for (long long delay = RESTART_DELAY_MS;; delay = delay * 2 > 60000 ? 60000 : delay * 2) {
			pause_before_restart(delay);
			if (stopping) {
				watcher_done = true;
				pthread_cond_broadcast(&changed);
				pthread_mutex_unlock(&lock);
				return NULL;
			}
			pthread_mutex_unlock(&lock);
			int rc = spawn(&fresh, &fd, &error);
			pthread_mutex_lock(&lock);
			if (rc == 0)
				break;
			log_err("milter: %s (trying again in %llds)", error,
				delay * 2 > 60000 ? 60LL : delay * 2 / 1000);
			free(error);
			error = NULL;
		}
		child = fresh;
		channel = fd;
		restarts++;
		log_info("milter: process %ld started again", (long)fresh);
		if (stopping)
			(void)!write(channel, "T", 1);
		pthread_mutex_unlock(&lock);
	}
}

int milter_front_start(const char *path, char **error_r)
{
	config_path = xstrdup(path);
	if (spawn(&child, &channel, error_r) != 0)
		return -1;
	if (pthread_create(&watcher, NULL, watch, NULL) != 0) {
		*error_r = xstrdup("cannot start the milter watcher thread");
		return -1;
	}
	running = true;
	return 0;
}

bool milter_front_running(void)
{
	return running;
}

void milter_front_reload(char **result_r)
{
	pthread_mutex_lock(&lock);
	if (channel < 0) {
		*result_r = xstrdup("milter: being started again; it reads the new "
				    "configuration when it starts");
	} else if (drain(channel), write(channel, "H", 1) != 1) {
		*result_r = xasprintf("error: milter: %s", strerror(errno));
	} else {
		*result_r = read_line(channel, RELOAD_TIMEOUT);
	}
	pthread_mutex_unlock(&lock);
}

char *milter_front_metrics(bool prometheus)
{
	struct buf text;
	char *line = NULL;

	buf_init(&text);
	pthread_mutex_lock(&lock);
	if (channel >= 0 && (drain(channel), write(channel, prometheus ? "P" : "S", 1) == 1)) {
		for (;;) {
			line = read_line(channel, METRICS_TIMEOUT);
			if (strcmp(line, ".") == 0 || strncmp(line, "error: ", 7) == 0)
				break;
			buf_printf(&text, "%s\n", line);
			free(line);
		}
	}
	pthread_mutex_unlock(&lock);
	if (line == NULL || strcmp(line, ".") != 0) {
		free(line);
		buf_free(&text);
		return NULL;
	}
	free(line);
	return buf_steal(&text);
}

char *milter_front_status(void)
{
	char *s;

	pthread_mutex_lock(&lock);
	s = child > 0 ? xasprintf("milter: pid %ld, %lu restarts", (long)child, restarts)
		      : xasprintf("milter: being started again, %lu restarts", restarts);
	pthread_mutex_unlock(&lock);
	return s;
}

void milter_front_stop_begin(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	if (channel >= 0)
		(void)!write(channel, "T", 1);
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
}

void milter_front_stop_wait(long grace)
{
	long long deadline = clock_deadline(grace + 10);

	if (!running)
		return;
	milter_front_stop_begin();
	pthread_mutex_lock(&lock);
	while (!watcher_done && clock_ms() < deadline) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&changed, &lock, &ts);
	}
	if (!watcher_done && child > 0) {
		log_warn("milter: process %ld did not stop in time; killing it", (long)child);
		kill(child, SIGKILL);
	}
	pthread_mutex_unlock(&lock);
	pthread_join(watcher, NULL);
	running = false;
	free(config_path);
	config_path = NULL;
}
