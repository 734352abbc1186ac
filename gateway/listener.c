/*
 * listener - listening sockets, the accept loop, and the session threads.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/netaddr.h"
#include "common/xalloc.h"
#include "gateway/control.h"
#include "gateway/listener.h"
#include "gateway/smtp_session.h"
#include "gateway/snapshot.h"

#if defined(__SANITIZE_ADDRESS__)
#define SESSION_STACK (4 * 1024 * 1024)
#else
#define SESSION_STACK (512 * 1024)
#endif

/* Every running session, so shutdown can find the ones past the deadline. */
struct session_slot {
	int fd;
	char ip[NETADDR_TEXT_MAX];
	struct session_slot *prev, *next;
};

static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sessions_done = PTHREAD_COND_INITIALIZER;
static struct session_slot *sessions;
static long session_count;
static int shutdown_pipe[2] = {-1, -1};

struct session_start {
	int fd;
	struct sockaddr_storage peer, local;
	struct session_slot *slot;
};

long listener_sessions(void)
{
	long n;

	pthread_mutex_lock(&sessions_lock);
	n = session_count;
	pthread_mutex_unlock(&sessions_lock);
	return n;
}

/* bind_one - one socket for host:port ("*" = every address of family) */
static int bind_one(const char *host, const char *port, int family, char **error_r)
{
	struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai;
	int fd, one = 1, rc;

	rc = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port, &hints, &ai);
	if (rc != 0) {
		*error_r = xasprintf("listen %s:%s: %s", host, port, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0)
		*error_r = xasprintf("listen %s:%s: %s", host, port, strerror(errno));
	freeaddrinfo(ai);
	return fd;
}

int listener_bind(const struct strlist *listen, struct listener_set *set, char **error_r)
{
	set->count = 0;
	for (size_t i = 0; i < listen->count; i++) {
		char *host, *port;
		const char *why;
		int families[2] = {AF_UNSPEC, -1};

		if (netaddr_split(listen->items[i], &host, &port, &why) != 0) {
			*error_r = xasprintf("listen %s: %s", listen->items[i], why);
			goto fail;
		}
		if (strcmp(host, "*") == 0) {
			families[0] = AF_INET;
			families[1] = AF_INET6;
		}
		for (int f = 0; f < 2 && families[f] != -1; f++) {
			int fd = set->count < LISTENER_MAX
					 ? bind_one(host, port, families[f], error_r)
					 : -1;
			if (fd < 0 && set->count >= LISTENER_MAX)
				*error_r = xasprintf("more than %d listen addresses", LISTENER_MAX);
			if (fd < 0) {
				free(host);
				free(port);
				goto fail;
			}
			set->fds[set->count++] = fd;
		}
		log_info("listening on %s", listen->items[i]);
		free(host);
		free(port);
	}
	return 0;
fail:
	listener_close(set);
	return -1;
}

void listener_close(struct listener_set *set)
{
	for (size_t i = 0; i < set->count; i++)
		close(set->fds[i]);
	set->count = 0;
}

/* count_ip - sessions now open from ip; caller holds sessions_lock */
static long count_ip(const char *ip)
{
	long n = 0;

	for (struct session_slot *s = sessions; s; s = s->next)
		if (strcmp(s->ip, ip) == 0)
			n++;
	return n;
}

int listener_set_client(int fd, const char *ip, long limit)
{
	int rc = 0;

	pthread_mutex_lock(&sessions_lock);
	for (struct session_slot *s = sessions; s; s = s->next) {
		if (s->fd != fd)
			continue;
		if (count_ip(ip) >= limit)
			rc = -1;
		else
			snprintf(s->ip, sizeof(s->ip), "%s", ip);
		break;
	}
	pthread_mutex_unlock(&sessions_lock);
	return rc;
}

static void unregister(struct session_slot *slot)
{
	pthread_mutex_lock(&sessions_lock);
	if (slot->prev)
		slot->prev->next = slot->next;
	else
		sessions = slot->next;
	if (slot->next)
		slot->next->prev = slot->prev;
	session_count--;
	pthread_cond_broadcast(&sessions_done);
	pthread_mutex_unlock(&sessions_lock);
	free(slot);
}

static void *session_thread(void *arg)
{
	struct session_start *start = arg;

	smtp_session_run(start->fd, &start->peer, &start->local, shutdown_pipe[0]);
	unregister(start->slot);
	free(start);
	return NULL;
}

/* refuse - a quick 421 to a client over a limit; never blocks */
static void refuse(int fd, const char *text)
{
	(void)!send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* admit - register the session if the limits allow; NULL after refusing */
static struct session_slot *admit(int fd, const struct sockaddr_storage *peer, const char *ip,
				  const struct conf *conf)
{
	struct session_slot *slot = NULL;
	const char *refusal = NULL;
	/* A balancer's connections are counted per real client after PROXY. */
	bool balancer = cidr_list_match(&conf->proxy_protocol_from, (const struct sockaddr *)peer);

	pthread_mutex_lock(&sessions_lock);
	if (session_count >= conf->max_sessions) {
		refusal = "421 4.3.2 Too many connections; try again later\r\n";
		metrics_session_refused("max_sessions");
	} else if (!balancer && count_ip(ip) >= conf->max_sessions_per_ip) {
		refusal = "421 4.7.0 Too many connections from your address; try again later\r\n";
		metrics_session_refused("max_sessions_per_ip");
	}
	else {
		slot = xcalloc(1, sizeof(*slot));
		slot->fd = fd;
		snprintf(slot->ip, sizeof(slot->ip), "%s", ip);
		slot->next = sessions;
		if (sessions)
			sessions->prev = slot;
		sessions = slot;
		session_count++;
	}
	pthread_mutex_unlock(&sessions_lock);
	if (refusal) {
		log_warn("client=%s refused: %.*s", ip, (int)strlen(refusal) - 2, refusal);
		refuse(fd, refusal);
	}
	return slot;
}

static void start_session(int fd, const struct sockaddr_storage *peer)
{
	struct snapshot *snap = snapshot_acquire();
	struct session_start *start;
	char ip[NETADDR_TEXT_MAX];
	pthread_attr_t attr;
	pthread_t tid;
	socklen_t len = sizeof(struct sockaddr_storage);

	netaddr_format((const struct sockaddr *)peer, ip, sizeof(ip));
	conn_set_socket_options(fd);
	start = xcalloc(1, sizeof(*start));
	start->slot = admit(fd, peer, ip, snap->conf);
	snapshot_release(snap);
	if (start->slot == NULL) {
		free(start);
		return;
	}
	start->fd = fd;
	start->peer = *peer;
	getsockname(fd, (struct sockaddr *)&start->local, &len);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SESSION_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, session_thread, start) != 0) {
		log_err("client=%s cannot start a session thread: %s", ip, strerror(errno));
		unregister(start->slot);
		refuse(fd, "421 4.3.2 Service temporarily unavailable\r\n");
		free(start);
	}
	pthread_attr_destroy(&attr);
}

static void accept_one(int lfd)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			log_err("accept: %s", strerror(errno));
		return;
	}
	start_session(fd, &peer);
}

/* wait_sessions - until none are left or the deadline passes */
static bool wait_sessions(long long deadline)
{
	bool done;

	pthread_mutex_lock(&sessions_lock);
	while (session_count > 0) {
		long long left = deadline - clock_ms();
		struct timespec ts;
		if (left <= 0)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&sessions_done, &sessions_lock, &ts);
	}
	done = session_count == 0;
	pthread_mutex_unlock(&sessions_lock);
	return done;
}

/* stop_sessions - idle ones leave at once; busy ones get shutdown_timeout */
static void stop_sessions(long grace)
{
	(void)!write(shutdown_pipe[1], "T", 1);
	log_info("stopping: %ld sessions in flight, waiting up to %lds", listener_sessions(),
		 grace);
	if (wait_sessions(clock_deadline(grace)))
		return;
	pthread_mutex_lock(&sessions_lock);
	log_warn("stopping: %ld sessions still busy after %lds, closing them", session_count,
		 grace);
	for (struct session_slot *s = sessions; s; s = s->next)
		shutdown(s->fd, SHUT_RDWR);
	pthread_mutex_unlock(&sessions_lock);
	wait_sessions(clock_deadline(5));
}

void listener_run(struct listener_set *set, const struct listener_hooks *hooks)
{
	struct pollfd pfd[LISTENER_MAX + 2];
	size_t n = 0;
	bool stop = false;

	if (pipe2(shutdown_pipe, O_CLOEXEC) != 0) {
		log_err("pipe: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < set->count; i++)
		pfd[n++] = (struct pollfd){.fd = set->fds[i], .events = POLLIN};
	pfd[n++] = (struct pollfd){.fd = hooks->wake_fd, .events = POLLIN};
	pfd[n++] = (struct pollfd){.fd = hooks->control_fd, .events = POLLIN};
	while (!stop) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			break;
		}
		for (size_t i = 0; i < set->count; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(pfd[i].fd);
		if (pfd[set->count].revents & POLLIN) {
			char what = 0;
			if (read(hooks->wake_fd, &what, 1) == 1 && what == 'H') {
				char *result = NULL;
				hooks->reload(&result);
				free(result);
			} else if (what == 'T') {
				stop = true;
			}
		}
		if (hooks->control_fd >= 0 && (pfd[set->count + 1].revents & POLLIN))
			control_serve(hooks->control_fd, hooks->reload, hooks->status,
				      hooks->stats);
	}
	listener_close(set);
	if (hooks->stopping)
		hooks->stopping();
	struct snapshot *snap = snapshot_acquire();
	long grace = snap ? snap->conf->shutdown_timeout : 30;
	snapshot_release(snap);
	stop_sessions(grace);
}
