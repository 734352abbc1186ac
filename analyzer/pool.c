/*
 * pool - the daemon's side of the sandboxed analyzers. The protocol is
 * described in supervisor.h, the job's outcomes in pool.h.
 *
 * One mutex guards the worker list, the control socket and the counters;
 * it is never held while waiting on a worker, so a slow worker delays only
 * its own session. Only the reader thread replaces the control socket.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analyzer/pool.h"
#include "analyzer/supervisor.h"
#include "analyzer/wire.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/xalloc.h"

#define RESPAWN_MIN_MS          200
#define RESPAWN_MAX_MS          30000
#define SUPERVISOR_OLD_MS       60000 /* one that lived this long resets the pause */
#define SUPERVISOR_EXIT_WAIT_MS 3000
#define READ_CHUNK              (1u << 20) /* reply memory grows with what arrives */

struct pool_worker {
	int fd;
	pid_t pid;
	unsigned long generation;
	unsigned long epoch; /* the supervisor it came from */
	bool busy;
	struct pool_worker *next;
};

struct analyzer_pool {
	pthread_mutex_t lock;
	pthread_cond_t idle; /* a worker may have become idle */
	analyzer_spawn_fn spawn;
	void *spawn_ctx;
	unsigned timeout_ms;
	int control;                   /* -1 while there is no supervisor */
	struct analyzer_control_in in; /* reader thread only */
	pid_t supervisor;
	long long supervisor_since_ms;
	unsigned long epoch; /* bumped when a supervisor is lost */
	unsigned long generation;
	struct pool_worker *workers;
	unsigned long jobs, crashes, timeouts;
	unsigned respawn_pause_ms;
	long long respawn_at_ms;
	int wake[2]; /* a byte here stops the reader thread */
	pthread_t reader;
	bool reader_started;
};

enum worker_fate { FATE_IDLE, FATE_CLOSE, FATE_KILL };

struct job {
	int memfd;
	unsigned timeout_ms;
	bool taken; /* the worker said it has the message */
	bool retry; /* it went away before that */
	enum worker_fate fate;
};

static const char *const status_names[] = {
    [ANALYZER_OK] = "ok",
    [ANALYZER_CRASHED] = "crashed",
    [ANALYZER_TIMEOUT] = "timeout",
    [ANALYZER_UNAVAILABLE] = "unavailable",
    [ANALYZER_BAD_REPLY] = "bad-reply",
};

const char *analyzer_pool_status_name(enum analyzer_status status)
{
	return (unsigned)status < sizeof(status_names) / sizeof(*status_names)
	           ? status_names[status]
	           : "unknown";
}

/* ---- the worker list (lock held) ---- */

/* usable - may w be given a new job? */
static bool usable(const struct analyzer_pool *p, const struct pool_worker *w)
{
	return w->epoch == p->epoch && w->generation >= p->generation;
}

static void worker_close(struct analyzer_pool *p, struct pool_worker *gone)
{
	struct pool_worker **pp = &p->workers;

	while (*pp != gone)
		pp = &(*pp)->next;
	*pp = gone->next;
	close(gone->fd); /* the worker sees EOF and exits */
	free(gone);
}

/* retire_idle - close the idle workers that may get no more jobs */
static void retire_idle(struct analyzer_pool *p)
{
	struct pool_worker *w = p->workers, *next;

	for (; w; w = next) {
		next = w->next;
		if (!w->busy && !usable(p, w))
			worker_close(p, w);
	}
}

static struct pool_worker *idle_worker(struct analyzer_pool *p)
{
	for (struct pool_worker *w = p->workers; w; w = w->next)
		if (!w->busy && usable(p, w))
			return w;
	return NULL;
}

static int control_send(struct analyzer_pool *p, uint32_t type, pid_t pid)
{
	struct analyzer_control msg = {.type = type, .pid = pid};

	if (p->control < 0) {
		errno = ENOTCONN;
		return -1;
	}
	return analyzer_send_with_fd(p->control, &msg, sizeof(msg), -1, MSG_DONTWAIT);
}

/* ---- the supervisor (reader thread) ---- */

/* reap_supervisor - its exit status; it is killed if it takes too long to go */
static int reap_supervisor(pid_t pid)
{
	long long give_up = clock_ms() + SUPERVISOR_EXIT_WAIT_MS;
	struct timespec pause = {.tv_nsec = 10 * 1000 * 1000};
	int status = 0;
	pid_t r;

	while ((r = waitpid(pid, &status, WNOHANG)) == 0 && clock_ms() < give_up)
		nanosleep(&pause, NULL);
	if (r == 0) {
		log_warn("analyzer: supervisor %ld does not exit; killing it", (long)pid);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	return status;
}

static void describe_exit(int status, char *out, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(out, size, "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
}

static void next_respawn(struct analyzer_pool *p, bool lived_long)
{
	if (lived_long || p->respawn_pause_ms == 0)
		p->respawn_pause_ms = RESPAWN_MIN_MS;
	else if ((p->respawn_pause_ms *= 2) > RESPAWN_MAX_MS)
		p->respawn_pause_ms = RESPAWN_MAX_MS;
	p->respawn_at_ms = clock_ms() + p->respawn_pause_ms;
}

static void supervisor_lost(struct analyzer_pool *p)
{
	char how[64];
	bool lived_long;
	pid_t pid;

	pthread_mutex_lock(&p->lock);
	close(p->control);
	p->control = -1;
	pid = p->supervisor;
	p->supervisor = -1;
	p->epoch++; /* its workers die with it */
	p->generation = 0;
	retire_idle(p);
	lived_long = clock_ms() - p->supervisor_since_ms >= SUPERVISOR_OLD_MS;
	pthread_mutex_unlock(&p->lock);
	describe_exit(pid > 0 ? reap_supervisor(pid) : 0, how, sizeof(how));
	next_respawn(p, lived_long);
	log_err("analyzer: supervisor %ld %s; starting another in %u ms", (long)pid, how,
	        p->respawn_pause_ms);
}

static int supervisor_start(struct analyzer_pool *p)
{
	pid_t pid = -1;
	int fd = p->spawn(p->spawn_ctx, &pid);

	if (fd < 0)
		return -1;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	p->in = (struct analyzer_control_in){.fd = -1};
	pthread_mutex_lock(&p->lock);
	p->control = fd;
	p->supervisor = pid;
	p->supervisor_since_ms = clock_ms();
	pthread_mutex_unlock(&p->lock);
	log_info("analyzer: supervisor %ld started", (long)pid);
	return 0;
}

static void supervisor_restart(struct analyzer_pool *p)
{
	if (supervisor_start(p) == 0)
		return;
	next_respawn(p, false);
	log_err("analyzer: cannot start a supervisor; next try in %u ms", p->respawn_pause_ms);
}

static void control_worker(struct analyzer_pool *p, const struct analyzer_control *msg, int fd)
{
	struct pool_worker *w;

	if (fd < 0 || msg->pid <= 0) {
		log_warn("analyzer: the supervisor announced a worker without a socket");
		if (fd >= 0)
			close(fd);
		return;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	w = xcalloc(1, sizeof(*w));
	*w = (struct pool_worker){.fd = fd, .pid = msg->pid, .generation = msg->generation};
	pthread_mutex_lock(&p->lock);
	w->epoch = p->epoch;
	w->next = p->workers;
	p->workers = w;
	retire_idle(p);
	pthread_cond_signal(&p->idle);
	pthread_mutex_unlock(&p->lock);
}

static void control_ready(struct analyzer_pool *p, unsigned long generation)
{
	pthread_mutex_lock(&p->lock);
	if (generation > p->generation)
		p->generation = generation;
	retire_idle(p);
	pthread_mutex_unlock(&p->lock);
	log_info("analyzer: generation %lu ready", generation);
}

/* control_read - everything the supervisor sent; -1 once it is gone */
static int control_read(struct analyzer_pool *p, int control)
{
	int rc;

	while ((rc = analyzer_control_recv(control, &p->in)) == 1) {
		const struct analyzer_control *msg = &p->in.msg;
		if (msg->type == ANALYZER_CTL_WORKER) {
			control_worker(p, msg, p->in.fd);
			continue;
		}
		if (p->in.fd >= 0)
			close(p->in.fd);
		if (msg->type == ANALYZER_CTL_READY)
			control_ready(p, msg->generation);
		else
			log_warn("analyzer: unknown message %u from the supervisor ignored",
			         msg->type);
	}
	return rc;
}

static int ms_until(long long when)
{
	long long left = when - clock_ms();

	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

static void *pool_reader(void *arg)
{
	struct analyzer_pool *p = arg;

	for (;;) {
		int control = p->control; /* only this thread changes it */
		struct pollfd pfd[2] = {{.fd = p->wake[0], .events = POLLIN},
		                        {.fd = control, .events = POLLIN}};
		int n = poll(pfd, 2, control >= 0 ? -1 : ms_until(p->respawn_at_ms));
		if (n < 0 && errno != EINTR) {
			log_err("analyzer: poll: %s", strerror(errno));
			return NULL;
		}
		if (pfd[0].revents)
			return NULL;
		if (control < 0 && clock_ms() >= p->respawn_at_ms)
			supervisor_restart(p);
		else if (control >= 0 && pfd[1].revents && control_read(p, control) < 0)
			supervisor_lost(p);
	}
}

/* ---- a job (session thread) ---- */

static int message_memfd(const char *msg, size_t len)
{
	int fd = memfd_create("sekisho-message", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int saved;

	if (fd < 0)
		return -1;
	/* Sealed: what the worker reads is what we wrote, and stays so. */
	if (fileio_write_all(fd, msg, len) == 0 &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == 0)
		return fd;
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static struct pool_worker *worker_take(struct analyzer_pool *p, long long deadline_ms)
{
	struct timespec until = {.tv_sec = deadline_ms / 1000,
	                         .tv_nsec = (deadline_ms % 1000) * 1000000};
	struct pool_worker *w;
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	while ((w = idle_worker(p)) == NULL && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&p->idle, &p->lock, &until);
	if (w)
		w->busy = true;
	pthread_mutex_unlock(&p->lock);
	return w;
}

static void worker_give_back(struct analyzer_pool *p, struct pool_worker *w, enum worker_fate fate)
{
	pthread_mutex_lock(&p->lock);
	/* Its supervisor may be gone already, and its workers with it. */
	if (fate == FATE_KILL && w->epoch == p->epoch &&
	    control_send(p, ANALYZER_CTL_KILL, w->pid) < 0)
		log_err("analyzer: cannot ask for worker %ld to be killed: %s", (long)w->pid,
		        strerror(errno));
	if (fate == FATE_IDLE && usable(p, w)) {
		w->busy = false;
		pthread_cond_signal(&p->idle);
	} else {
		worker_close(p, w);
	}
	pthread_mutex_unlock(&p->lock);
}

enum io_result { IO_OK, IO_EOF, IO_TIMEOUT };

static enum io_result wait_readable(int fd, long long deadline_ms)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int n, left = ms_until(deadline_ms);
		if (left == 0)
			return IO_TIMEOUT;
		n = poll(&pfd, 1, left);
		if (n > 0)
			return IO_OK;
		if (n < 0 && errno != EINTR)
			return IO_EOF;
	}
}

/* read_exact - n bytes from the (non-blocking) fd by the deadline */
static enum io_result read_exact(int fd, void *dst, size_t n, long long deadline_ms)
{
	char *p = dst;

	while (n > 0) {
		ssize_t got = read(fd, p, n);
		enum io_result r;
		if (got > 0) {
			p += got;
			n -= (size_t)got;
			continue;
		}
		if (got < 0 && errno == EINTR)
			continue;
		if (got == 0 || errno != EAGAIN)
			return IO_EOF; /* reset or closed: the worker is gone */
		if ((r = wait_readable(fd, deadline_ms)) != IO_OK)
			return r;
	}
	return IO_OK;
}

static enum io_result read_body(int fd, struct buf *b, size_t len, long long deadline_ms)
{
	while (b->len < len) {
		size_t chunk = len - b->len < READ_CHUNK ? len - b->len : READ_CHUNK;
		enum io_result r;
		buf_reserve(b, chunk);
		if ((r = read_exact(fd, b->data + b->len, chunk, deadline_ms)) != IO_OK)
			return r;
		b->len += chunk;
	}
	return IO_OK;
}

static bool head_ok(const struct analyzer_reply *head)
{
	return head->magic == ANALYZER_REPLY_MAGIC &&
	       (head->flags & ~ANALYZER_REPLY_RETIRING) == 0 && head->length <= WIRE_MAX_BYTES;
}

/* more_bytes - whether the worker sent more than one reply's worth */
static bool more_bytes(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/* job_reply - read and check the reply to a taken job */
static enum analyzer_status job_reply(struct pool_worker *w, struct job *job, long long deadline_ms,
                                      struct facts *out)
{
	struct analyzer_reply head;
	enum analyzer_status status = ANALYZER_BAD_REPLY;
	struct buf body;
	enum io_result r = read_exact(w->fd, &head, sizeof(head), deadline_ms);

	buf_init(&body);
	if (r == IO_OK && head_ok(&head))
		r = read_body(w->fd, &body, head.length, deadline_ms);
	job->fate = FATE_KILL;
	if (r == IO_EOF) {
		status = ANALYZER_CRASHED;
		job->fate = FATE_CLOSE;
	} else if (r == IO_TIMEOUT) {
		status = ANALYZER_TIMEOUT;
	} else if (head_ok(&head) && !more_bytes(w->fd) &&
	           wire_decode_facts(body.data ? body.data : "", body.len, out) == 0) {
		status = ANALYZER_OK;
		job->fate = head.flags & ANALYZER_REPLY_RETIRING ? FATE_CLOSE : FATE_IDLE;
	}
	buf_free(&body);
	return status;
}

/* job_run - pass the message to w and read its answer */
static enum analyzer_status job_run(struct pool_worker *w, struct job *job, struct facts *out)
{
	const char request = ANALYZER_JOB;
	long long deadline_ms;
	char answer = 0;
	enum io_result r;

	job->fate = FATE_CLOSE;
	job->retry = true;
	if (analyzer_send_with_fd(w->fd, &request, 1, job->memfd, MSG_DONTWAIT) < 0)
		return ANALYZER_UNAVAILABLE;
	deadline_ms = clock_ms() + job->timeout_ms;
	r = read_exact(w->fd, &answer, 1, deadline_ms);
	if (r == IO_EOF)
		return ANALYZER_UNAVAILABLE;
	job->retry = false;
	job->taken = r == IO_OK;
	job->fate = FATE_KILL;
	if (r == IO_TIMEOUT)
		return ANALYZER_TIMEOUT;
	if (answer != ANALYZER_TAKEN)
		return ANALYZER_BAD_REPLY;
	return job_reply(w, job, deadline_ms, out);
}

static void job_log(const struct pool_worker *w, const struct job *job, enum analyzer_status status,
                    size_t len)
{
	if (status == ANALYZER_TIMEOUT)
		log_warn("analyzer: worker %ld took more than %u ms over a message of %zu bytes; "
		         "killed",
		         (long)w->pid, job->timeout_ms, len);
	else if (status == ANALYZER_CRASHED)
		log_warn("analyzer: worker %ld died on a message of %zu bytes", (long)w->pid, len);
	else if (status == ANALYZER_BAD_REPLY)
		log_err("analyzer: worker %ld sent a malformed reply; killed", (long)w->pid);
	else if (job->retry)
		log_debug("analyzer: worker %ld had gone; trying another", (long)w->pid);
}

static void count_job(struct analyzer_pool *p, const struct job *job, enum analyzer_status status)
{
	pthread_mutex_lock(&p->lock);
	p->jobs += job->taken;
	p->crashes += status == ANALYZER_CRASHED;
	p->timeouts += status == ANALYZER_TIMEOUT;
	pthread_mutex_unlock(&p->lock);
}

static unsigned pool_timeout(struct analyzer_pool *p)
{
	unsigned t;

	pthread_mutex_lock(&p->lock);
	t = p->timeout_ms;
	pthread_mutex_unlock(&p->lock);
	return t;
}

enum analyzer_status analyzer_pool_analyze(struct analyzer_pool *p, const char *msg, size_t len,
                                           struct facts *out)
{
	struct job job = {.memfd = message_memfd(msg, len), .timeout_ms = pool_timeout(p)};
	enum analyzer_status status = ANALYZER_UNAVAILABLE;
	long long wait_until = clock_ms() + job.timeout_ms;

	if (job.memfd < 0) {
		log_err("analyzer: cannot put a message of %zu bytes in a memfd: %s", len,
		        strerror(errno));
		return ANALYZER_UNAVAILABLE;
	}
	/* A worker that went before taking the job is not the message's fault. */
	for (int attempt = 0; attempt <= POOL_RETRIES; attempt++) {
		struct pool_worker *w = worker_take(p, wait_until);
		if (w == NULL)
			break;
		status = job_run(w, &job, out);
		job_log(w, &job, status, len);
		worker_give_back(p, w, job.fate);
		if (!job.retry)
			break;
	}
	close(job.memfd);
	count_job(p, &job, status);
	return status;
}

/* ---- the pool ---- */

static int reader_start(struct analyzer_pool *p)
{
	sigset_t all, old;
	int rc;

	/* Signals belong to the daemon's signal thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&p->reader, NULL, pool_reader, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	p->reader_started = rc == 0;
	return rc;
}

static void pool_destroy(struct analyzer_pool *p)
{
	while (p->workers)
		worker_close(p, p->workers);
	if (p->control >= 0)
		close(p->control); /* the supervisor stops at EOF */
	if (p->supervisor > 0)
		reap_supervisor(p->supervisor);
	if (p->wake[0] >= 0) {
		close(p->wake[0]);
		close(p->wake[1]);
	}
	pthread_cond_destroy(&p->idle);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

struct analyzer_pool *analyzer_pool_new(analyzer_spawn_fn spawn, void *ctx, unsigned timeout_ms,
                                        char **error_r)
{
	struct analyzer_pool *p = xcalloc(1, sizeof(*p));
	pthread_condattr_t attr;

	*p = (struct analyzer_pool){.spawn = spawn,
	                            .spawn_ctx = ctx,
	                            .timeout_ms = timeout_ms,
	                            .control = -1,
	                            .supervisor = -1,
	                            .wake = {-1, -1}};
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* deadlines are clock_ms() */
	pthread_cond_init(&p->idle, &attr);
	pthread_condattr_destroy(&attr);
	if (pipe2(p->wake, O_CLOEXEC) != 0) {
		*error_r = xasprintf("analyzer pool: pipe: %s", strerror(errno));
		p->wake[0] = p->wake[1] = -1;
	} else if (supervisor_start(p) < 0) {
		*error_r = xstrdup("cannot start the analyzer supervisor");
	} else if (reader_start(p) != 0) {
		*error_r = xstrdup("cannot start the analyzer pool's thread");
	} else {
		return p;
	}
	pool_destroy(p);
	return NULL;
}

void analyzer_pool_reload(struct analyzer_pool *p)
{
	pthread_mutex_lock(&p->lock);
	if (p->control < 0)
		log_info("analyzer: no supervisor to reload; the next one loads afresh");
	else if (control_send(p, ANALYZER_CTL_RELOAD, 0) < 0)
		log_err("analyzer: cannot ask for a reload: %s", strerror(errno));
	pthread_mutex_unlock(&p->lock);
}

void analyzer_pool_set_timeout(struct analyzer_pool *p, unsigned timeout_ms)
{
	pthread_mutex_lock(&p->lock);
	p->timeout_ms = timeout_ms;
	pthread_mutex_unlock(&p->lock);
}

void analyzer_pool_stats(struct analyzer_pool *p, struct analyzer_pool_stats *out)
{
	pthread_mutex_lock(&p->lock);
	*out = (struct analyzer_pool_stats){.generation = p->generation,
	                                    .jobs = p->jobs,
	                                    .crashes = p->crashes,
	                                    .timeouts = p->timeouts};
	for (const struct pool_worker *w = p->workers; w; w = w->next) {
		if (w->busy)
			out->busy++;
		else
			out->idle++;
	}
	pthread_mutex_unlock(&p->lock);
}

void analyzer_pool_free(struct analyzer_pool *p)
{
	if (p->reader_started) {
		(void)!write(p->wake[1], "", 1);
		pthread_join(p->reader, NULL);
	}
	pool_destroy(p);
}
