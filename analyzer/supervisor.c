/*
 * supervisor - the process that owns the sandboxed analyzer workers.
 *
 * The protocol and the lifecycle are described in supervisor.h. The first
 * half of this file runs in the supervisor, the second half (from
 * worker_main on) in a worker after fork.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analyzer/supervisor.h"
#include "analyzer/wire.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"

#define WORKER_FD            3  /* the worker's socket, after worker_detach */
#define WORKER_EXIT_SETUP    70 /* the worker could not get ready to serve */
#define CRASH_PAUSE_MS       20
#define SETUP_BACKOFF_MIN_MS 100
#define SETUP_BACKOFF_MAX_MS 10000
#define FORK_RETRY_MS        1000

struct sup_worker {
	pid_t pid;
	unsigned long generation;
	char *dir;
	bool killed; /* on the daemon's request */
	struct sup_worker *next;
};

struct supervisor {
	const struct analyzer_ops *ops;
	const char *config_path;
	pid_t pid;
	int sock;
	struct analyzer_control_in in;
	int signals; /* signalfd; -1 until set up */
	sigset_t old_mask;
	char *root; /* private temp dir */
	unsigned long dir_serial;
	unsigned long generation;
	void *gen;
	struct analyzer_settings settings;
	struct sup_worker *workers;
	unsigned setup_backoff_ms;
	long long next_fork_ms;
	long long next_stale_ms;
	bool stop;
};

static void worker_main(const struct supervisor *s, int sock, const char *dir)
    __attribute__((noreturn));

/* ---- fd passing, shared with the pool ---- */

int analyzer_send_with_fd(int sock, const void *data, size_t len, int fd, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (fd >= 0) {
		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, flags | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0 && (size_t)n != len)
		errno = EMSGSIZE;
	return n >= 0 && (size_t)n == len ? 0 : -1;
}

/* take_fds - keep the first fd passed in msg, close the rest */
static void take_fds(struct msghdr *msg, int *fd_r)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*fd_r < 0)
				*fd_r = fd;
			else
				close(fd);
		}
	}
}

long analyzer_recv_with_fd(int sock, void *data, size_t len, int *fd_r, int flags)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = data, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	*fd_r = -1;
	do {
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	take_fds(&msg, fd_r);
	return n;
}

int analyzer_control_recv(int sock, struct analyzer_control_in *in)
{
	if (in->have == sizeof(in->msg)) {
		in->have = 0;
		in->fd = -1;
	}
	while (in->have < sizeof(in->msg)) {
		int fd;
		long n = analyzer_recv_with_fd(sock, (char *)&in->msg + in->have,
		                               sizeof(in->msg) - in->have, &fd, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			if (in->fd >= 0)
				close(in->fd);
			in->fd = -1;
			return -1;
		}
		if (fd >= 0 && in->fd >= 0)
			close(fd);
		else if (fd >= 0)
			in->fd = fd;
		in->have += (size_t)n;
	}
	return 1;
}

/* ---- the private temp dir ---- */

static void remove_tree(const char *path);

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	/* A worker may have taken away its own right to list a directory. */
	if (type == FTW_DNR && chmod(path, 0700) == 0)
		remove_tree(path);
	if (remove(path) != 0 && errno != ENOENT)
		log_warn("analyzer: cannot remove %s: %s", path, strerror(errno));
	return 0;
}

/* remove_tree - path and all below it; symlinks are removed, not followed */
static void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static char *make_root(void)
{
	const char *tmp = getenv("TMPDIR");
	char *root = xasprintf("%s/sekisho-analyzer.XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");

	if (mkdtemp(root) == NULL) {
		log_err("analyzer: cannot create a temp dir %s: %s", root, strerror(errno));
		free(root);
		return NULL;
	}
	return root;
}

/* ---- talking to the daemon ---- */

static int control_send(const struct supervisor *s, uint32_t type, pid_t pid, int fd)
{
	struct analyzer_control msg = {.type = type, .pid = pid, .generation = s->generation};

	return analyzer_send_with_fd(s->sock, &msg, sizeof(msg), fd, 0);
}

/* ---- workers, seen from the supervisor ---- */

static unsigned current_workers(const struct supervisor *s)
{
	unsigned n = 0;

	for (const struct sup_worker *w = s->workers; w; w = w->next)
		n += w->generation == s->generation;
	return n;
}

static struct sup_worker *worker_find(struct supervisor *s, pid_t pid)
{
	struct sup_worker *w = s->workers;

	while (w && w->pid != pid)
		w = w->next;
	return w;
}

static void worker_forget(struct supervisor *s, struct sup_worker *gone)
{
	struct sup_worker **pp = &s->workers;

	while (*pp != gone)
		pp = &(*pp)->next;
	*pp = gone->next;
	remove_tree(gone->dir);
	free(gone->dir);
	free(gone);
}

/* worker_start - fork one worker of the current generation and hand it over */
static int worker_start(struct supervisor *s)
{
	char *dir = xasprintf("%s/%lu", s->root, ++s->dir_serial);
	struct sup_worker *w;
	int sv[2] = {-1, -1};
	pid_t pid = -1;

	if (mkdir(dir, 0700) == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0)
		pid = fork();
	if (pid == 0)
		worker_main(s, sv[1], dir);
	if (pid < 0) {
		log_err("analyzer: cannot start a worker: %s", strerror(errno));
		if (sv[0] >= 0) {
			close(sv[0]);
			close(sv[1]);
		}
		rmdir(dir);
		free(dir);
		return -1;
	}
	close(sv[1]);
	w = xcalloc(1, sizeof(*w));
	*w = (struct sup_worker){
	    .pid = pid, .generation = s->generation, .dir = dir, .next = s->workers};
	s->workers = w;
	if (control_send(s, ANALYZER_CTL_WORKER, pid, sv[0]) < 0) {
		if (errno == EPIPE || errno == ECONNRESET)
			s->stop = true; /* the daemon has gone */
		else
			log_err("analyzer: cannot hand worker %ld to the daemon: %s", (long)pid,
			        strerror(errno));
		kill(pid, SIGKILL);
	}
	close(sv[0]);
	return 0;
}

static void fork_missing(struct supervisor *s)
{
	unsigned want = s->settings.workers ? s->settings.workers : 1;

	if (s->stop || clock_ms() < s->next_fork_ms)
		return;
	for (unsigned have = current_workers(s); have < want && !s->stop; have++) {
		if (worker_start(s) < 0) {
			s->next_fork_ms = clock_ms() + FORK_RETRY_MS;
			return;
		}
	}
}

static void log_exit(const struct sup_worker *w, int status, unsigned backoff_ms)
{
	long pid = (long)w->pid;

	if (WIFSIGNALED(status) && w->killed)
		log_info("analyzer: worker %ld killed on the daemon's request", pid);
	else if (WIFSIGNALED(status))
		log_warn("analyzer: worker %ld (generation %lu) killed by signal %d (%s)%s", pid,
		         w->generation, WTERMSIG(status), strsignal(WTERMSIG(status)),
		         WTERMSIG(status) == SIGSYS ? ": a forbidden system call" : "");
	else if (WEXITSTATUS(status) == WORKER_EXIT_SETUP)
		log_err("analyzer: worker %ld could not start; next try in %u ms", pid, backoff_ms);
	else if (WEXITSTATUS(status) != 0)
		log_warn("analyzer: worker %ld exited with status %d", pid, WEXITSTATUS(status));
	else
		log_debug("analyzer: worker %ld (generation %lu) done", pid, w->generation);
}

/*
 * pace_replacement - when to fork the next worker after one of the current
 * generation ended: a crash costs a short pause, since it is likely a
 * message's doing; failing to start at all, which no message can cause,
 * backs off further each time.
 */
static void pace_replacement(struct supervisor *s, int status)
{
	long long now = clock_ms();

	if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_SETUP) {
		s->setup_backoff_ms =
		    s->setup_backoff_ms ? 2 * s->setup_backoff_ms : SETUP_BACKOFF_MIN_MS;
		if (s->setup_backoff_ms > SETUP_BACKOFF_MAX_MS)
			s->setup_backoff_ms = SETUP_BACKOFF_MAX_MS;
		s->next_fork_ms = now + s->setup_backoff_ms;
		return;
	}
	s->setup_backoff_ms = 0;
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
	    s->next_fork_ms < now + CRASH_PAUSE_MS)
		s->next_fork_ms = now + CRASH_PAUSE_MS;
}

static void reap(struct supervisor *s)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct sup_worker *w = worker_find(s, pid);
		if (w == NULL)
			continue;
		if (w->generation == s->generation)
			pace_replacement(s, status);
		log_exit(w, status, s->setup_backoff_ms);
		worker_forget(s, w);
	}
}

static void worker_kill(struct supervisor *s, pid_t pid)
{
	struct sup_worker *w = worker_find(s, pid);

	/* Only our unreaped children: their pids cannot have been reused. */
	if (w == NULL) {
		log_debug("analyzer: no worker %ld to kill", (long)pid);
		return;
	}
	w->killed = true;
	kill(pid, SIGKILL);
}

static void stop_workers(struct supervisor *s)
{
	for (struct sup_worker *w = s->workers; w; w = w->next)
		kill(w->pid, SIGKILL);
	while (s->workers) {
		int status;
		if (waitpid(s->workers->pid, &status, 0) < 0 && errno == EINTR)
			continue;
		worker_forget(s, s->workers);
	}
}

/* ---- generations ---- */

/* generation_load - a new generation and its workers; the old one stays on failure */
static int generation_load(struct supervisor *s, const char *why)
{
	struct analyzer_settings settings = {0};
	char *error = NULL;
	void *gen = s->ops->generation_new(s->config_path, &error);

	if (gen == NULL) {
		log_err("analyzer: cannot load generation %lu (%s): %s%s", s->generation + 1, why,
		        error ? error : "unknown error", s->gen ? "; keeping the current one" : "");
		free(error);
		return -1;
	}
	s->ops->settings(gen, &settings);
	/* The workers have their own copy of the old generation. */
	if (s->gen)
		s->ops->generation_free(s->gen);
	s->gen = gen;
	s->settings = settings;
	s->generation++;
	s->setup_backoff_ms = 0;
	s->next_fork_ms = 0;
	log_info("analyzer: generation %lu loaded (%s), %u workers", s->generation, why,
	         settings.workers ? settings.workers : 1);
	fork_missing(s);
	if (control_send(s, ANALYZER_CTL_READY, 0, -1) < 0)
		log_err("analyzer: cannot tell the daemon: %s", strerror(errno));
	return 0;
}

static void check_stale(struct supervisor *s)
{
	long long now = clock_ms();

	if (now < s->next_stale_ms)
		return;
	s->next_stale_ms = now + SUPERVISOR_STALE_CHECK_MS;
	if (s->ops->generation_stale && s->ops->generation_stale(s->gen))
		generation_load(s, "data changed");
}

/* ---- the loop ---- */

static void control_read(struct supervisor *s)
{
	int rc;

	while ((rc = analyzer_control_recv(s->sock, &s->in)) == 1) {
		const struct analyzer_control *msg = &s->in.msg;
		if (s->in.fd >= 0)
			close(s->in.fd); /* the daemon sends none */
		if (msg->type == ANALYZER_CTL_RELOAD)
			generation_load(s, "reload requested");
		else if (msg->type == ANALYZER_CTL_KILL)
			worker_kill(s, msg->pid);
		else
			log_warn("analyzer: unknown control message %u ignored", msg->type);
	}
	if (rc < 0) {
		log_debug("analyzer: the daemon has gone; supervisor stopping");
		s->stop = true;
	}
}

static void signals_read(struct supervisor *s)
{
	struct signalfd_siginfo si;

	while (read(s->signals, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			log_info("analyzer: supervisor stopping on signal %u", si.ssi_signo);
			s->stop = true;
		}
	}
}

static int loop_timeout(const struct supervisor *s)
{
	unsigned want = s->settings.workers ? s->settings.workers : 1;
	long long now = clock_ms(), until = s->next_stale_ms;

	if (current_workers(s) < want && s->next_fork_ms < until)
		until = s->next_fork_ms;
	return until <= now ? 0 : (int)(until - now);
}

static void supervisor_loop(struct supervisor *s)
{
	while (!s->stop) {
		struct pollfd pfd[2] = {{.fd = s->sock, .events = POLLIN},
		                        {.fd = s->signals, .events = POLLIN}};
		if (poll(pfd, 2, loop_timeout(s)) < 0 && errno != EINTR) {
			log_err("analyzer: poll: %s", strerror(errno));
			return;
		}
		if (pfd[1].revents)
			signals_read(s);
		reap(s);
		if (pfd[0].revents)
			control_read(s);
		if (!s->stop)
			check_stale(s);
		fork_missing(s);
	}
}

/* ---- setting up and tearing down ---- */

static int check_socket(int sock)
{
	int type = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
	    (type != SOCK_SEQPACKET && type != SOCK_STREAM)) {
		log_err("analyzer: the supervisor needs a unix socket on fd %d", sock);
		return -1;
	}
	return 0;
}

/* fill_std_fds - a closed 0, 1 or 2 must not become a worker's socket */
static void fill_std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

static int signals_open(struct supervisor *s)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	signal(SIGCHLD, SIG_DFL); /* an inherited SIG_IGN would reap for us */
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, &s->old_mask) != 0)
		return -1;
	s->signals = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->signals < 0) {
		log_err("analyzer: signalfd: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
		return -1;
	}
	return 0;
}

static int supervisor_open(struct supervisor *s)
{
	if (check_socket(s->sock) < 0)
		return -1;
	fill_std_fds();
	if (signals_open(s) < 0 || (s->root = make_root()) == NULL)
		return -1;
	if (!sandbox_landlock_available())
		log_warn("analyzer: the kernel has no Landlock; workers may write wherever their "
		         "user may");
	s->next_stale_ms = clock_ms() + SUPERVISOR_STALE_CHECK_MS;
	return 0;
}

static void supervisor_close(struct supervisor *s)
{
	stop_workers(s);
	if (s->root) {
		remove_tree(s->root);
		free(s->root);
	}
	if (s->gen)
		s->ops->generation_free(s->gen);
	if (s->signals >= 0) {
		close(s->signals);
		sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
	}
}

int supervisor_main(int sock, const struct analyzer_ops *ops, const char *config_path)
{
	struct supervisor s = {
	    .ops = ops,
	    .config_path = config_path,
	    .pid = getpid(),
	    .sock = sock,
	    .in = {.fd = -1},
	    .signals = -1,
	};
	int rc = -1;

	if (supervisor_open(&s) == 0 && generation_load(&s, "start") == 0) {
		supervisor_loop(&s);
		rc = 0;
	}
	supervisor_close(&s);
	return rc;
}

/* ---- in the worker ---- */

static int send_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void reply_build(struct buf *reply, const struct facts *facts, bool last)
{
	struct analyzer_reply head = {
	    .magic = ANALYZER_REPLY_MAGIC,
	    .flags = last ? ANALYZER_REPLY_RETIRING : 0,
	};

	buf_append(reply, &head, sizeof(head));
	wire_encode_facts(facts, reply);
	head.length = reply->len - sizeof(head);
	memcpy(reply->data, &head, sizeof(head));
}

/* A worker's allowance: jobs, and CPU time (its RLIMIT_CPU). */
struct worker_life {
	unsigned max_jobs;
	unsigned cpu_seconds;
	unsigned long done;
};

/*
 * worker_spent - whether the job just done is the last: max_jobs reached,
 * or half the CPU allowance used, so that the rlimit kills only a worker
 * that one message kept busy that long, never one that grew old honestly
 */
static bool worker_spent(struct worker_life *life)
{
	struct rusage ru;
	long long used_ms;

	if (life->max_jobs && ++life->done >= life->max_jobs)
		return true;
	if (life->cpu_seconds == 0 || getrusage(RUSAGE_SELF, &ru) != 0)
		return false;
	used_ms = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	          (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	return used_ms * 2 >= (long long)life->cpu_seconds * 1000;
}

/* worker_job - one message: say it is taken, analyze it, send the facts; 1 if it was the last */
static int worker_job(const struct analyzer_ops *ops, void *gen, int memfd,
                      struct worker_life *life)
{
	const char taken = ANALYZER_TAKEN;
	struct facts facts;
	struct buf reply;
	struct stat st;
	void *map = NULL;
	bool last;
	int rc;

	if (send_all(WORKER_FD, &taken, 1) < 0 || fstat(memfd, &st) != 0)
		return -1;
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, memfd, 0);
		if (map == MAP_FAILED)
			return -1;
	}
	close(memfd);
	facts_init(&facts);
	ops->analyze(gen, map ? map : "", (size_t)st.st_size, &facts);
	if (map)
		munmap(map, (size_t)st.st_size);
	last = worker_spent(life);
	buf_init(&reply);
	reply_build(&reply, &facts, last);
	facts_clear(&facts);
	rc = send_all(WORKER_FD, reply.data, reply.len);
	buf_free(&reply);
	return rc < 0 ? -1 : last;
}

static void __attribute__((noreturn))
worker_serve(const struct analyzer_ops *ops, void *gen, struct worker_life *life)
{
	for (;;) {
		char byte = 0;
		int memfd;
		long n = analyzer_recv_with_fd(WORKER_FD, &byte, 1, &memfd, 0);
		if (n == 0)
			_exit(0); /* the daemon let us go */
		if (n < 0 || byte != ANALYZER_JOB || memfd < 0) {
			log_err("analyzer: worker %ld: bad job from the daemon", (long)getpid());
			_exit(1);
		}
		int rc = worker_job(ops, gen, memfd, life);
		if (rc != 0)
			_exit(rc < 0 ? 1 : 0);
	}
}

static void close_from(int first)
{
	if (close_range((unsigned)first, ~0u, 0) == 0)
		return;
	for (long fd = first, max = sysconf(_SC_OPEN_MAX); fd < max; fd++)
		close((int)fd);
}

/* worker_detach - leave the supervisor's world: signals, fds, parent */
static void worker_detach(const struct supervisor *s, int sock)
{
	sigset_t none;
	int null;

	/* Die with the supervisor, even when it is SIGKILLed. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != s->pid)
		_exit(WORKER_EXIT_SETUP);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (sock != WORKER_FD && dup2(sock, WORKER_FD) < 0)
		_exit(WORKER_EXIT_SETUP);
	null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
		_exit(WORKER_EXIT_SETUP);
	close_from(WORKER_FD + 1);
}

static void worker_main(const struct supervisor *s, int sock, const char *dir)
{
	struct sandbox_limits limits = s->settings.sandbox;
	struct worker_life life = {.max_jobs = s->settings.max_jobs,
	                           .cpu_seconds = limits.cpu_seconds};
	char *error = NULL;

	worker_detach(s, sock);
	/* syslog would reconnect with socket(2), which the sandbox punishes. */
	log_open("sekisho-analyzer", false, NULL);
	if (setenv("TMPDIR", dir, 1) != 0 || chdir(dir) != 0) {
		log_err("analyzer: worker %ld: cannot use %s: %s", (long)getpid(), dir,
		        strerror(errno));
		_exit(WORKER_EXIT_SETUP);
	}
	if (s->ops->worker_init)
		s->ops->worker_init(s->gen, dir);
	limits.writable_dir = dir;
	if (sandbox_enter(&limits, &error) < 0) {
		log_err("analyzer: worker %ld: cannot enter the sandbox: %s", (long)getpid(),
		        error);
		_exit(WORKER_EXIT_SETUP);
	}
	worker_serve(s->ops, s->gen, &life);
}
