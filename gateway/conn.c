/*
 * conn - one TCP or unix-socket connection, plain or TLS, with deadlines.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "common/clock.h"
#include "gateway/conn.h"

#define CONN_READ_CHUNK 65536

void conn_init(struct conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->interrupt_fd = -1;
	buf_init(&c->in);
	buf_init(&c->out);
}

void conn_close(struct conn *c)
{
	if (c->ssl) {
		/* Send close_notify (RFC 8446 section 6.1) but never wait for
		 * the peer's: the socket is non-blocking and we are leaving. */
		SSL_shutdown(c->ssl);
		ERR_clear_error();
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	buf_free(&c->in);
	buf_free(&c->out);
	c->in_start = 0;
}

void conn_set_socket_options(int fd)
{
	int one = 1;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* Fails harmlessly on unix sockets. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

size_t conn_pending(const struct conn *c)
{
	return c->in.len - c->in_start;
}

const char *conn_peek(const struct conn *c)
{
	return c->in.data ? c->in.data + c->in_start : "";
}

void conn_skip(struct conn *c, size_t n)
{
	c->in_start += n;
	if (c->in_start >= c->in.len) {
		c->in.len = 0;
		c->in_start = 0;
	}
}

void conn_discard_input(struct conn *c)
{
	c->in.len = 0;
	c->in_start = 0;
}

void conn_write(struct conn *c, const void *data, size_t len)
{
	buf_append(&c->out, data, len);
}

/* conn_wait - poll for events until the deadline or an interrupt */
static enum conn_status conn_wait(struct conn *c, short events, long long deadline)
{
	struct pollfd pfd[2] = {
		{.fd = c->fd, .events = events},
		{.fd = c->interrupt_fd, .events = POLLIN},
	};
	nfds_t n = c->interrupt_fd >= 0 ? 2 : 1;

	for (;;) {
		long long left = deadline - clock_ms();
		int rc;

		if (left <= 0)
			return CONN_TIMEOUT;
		rc = poll(pfd, n, left > 60000 ? 60000 : (int)left);
		if (rc < 0 && errno != EINTR)
			return CONN_IO_ERROR;
		if (rc <= 0)
			continue;
		if (n == 2 && (pfd[1].revents & POLLIN))
			return CONN_INTERRUPTED;
		if (pfd[0].revents)
			return CONN_OK;
	}
}

/* conn_tls_wait - wait for what OpenSSL asked for */
static enum conn_status conn_tls_wait(struct conn *c, int ret, long long deadline)
{
	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return conn_wait(c, POLLIN, deadline);
	case SSL_ERROR_WANT_WRITE:
		return conn_wait(c, POLLOUT, deadline);
	case SSL_ERROR_ZERO_RETURN:
		return CONN_EOF;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		return errno == 0 || errno == ECONNRESET ? CONN_EOF : CONN_IO_ERROR;
	default:
		ERR_clear_error();
		return CONN_IO_ERROR;
	}
}

/* conn_compact - move unread bytes to the front once most are used */
static void conn_compact(struct conn *c)
{
	if (c->in_start == 0)
		return;
	if (c->in_start < c->in.len / 2 && c->in.cap - c->in.len > CONN_READ_CHUNK)
		return;
	memmove(c->in.data, c->in.data + c->in_start, c->in.len - c->in_start);
	c->in.len -= c->in_start;
	c->in_start = 0;
}

enum conn_status conn_fill(struct conn *c, long long deadline)
{
	enum conn_status st;

	conn_compact(c);
	buf_reserve(&c->in, CONN_READ_CHUNK);
	for (;;) {
		char *dst = c->in.data + c->in.len;
		size_t room = c->in.cap - c->in.len - 1;
		ssize_t n;

		if (c->ssl) {
			int r = SSL_read(c->ssl, dst, room > INT32_MAX ? INT32_MAX : (int)room);
			if (r > 0) {
				c->in.len += (size_t)r;
				return CONN_OK;
			}
			if ((st = conn_tls_wait(c, r, deadline)) != CONN_OK)
				return st;
			continue;
		}
		n = read(c->fd, dst, room);
		if (n > 0) {
			c->in.len += (size_t)n;
			return CONN_OK;
		}
		if (n == 0)
			return CONN_EOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return errno == ECONNRESET ? CONN_EOF : CONN_IO_ERROR;
		if ((st = conn_wait(c, POLLIN, deadline)) != CONN_OK)
			return st;
	}
}

enum conn_status conn_flush(struct conn *c, long long deadline)
{
	size_t done = 0;
	enum conn_status st = CONN_OK;

	while (done < c->out.len) {
		const char *src = c->out.data + done;
		size_t left = c->out.len - done;

		if (c->ssl) {
			int r = SSL_write(c->ssl, src, left > INT32_MAX ? INT32_MAX : (int)left);
			if (r > 0) {
				done += (size_t)r;
				continue;
			}
			if ((st = conn_tls_wait(c, r, deadline)) != CONN_OK)
				break;
			continue;
		}
		ssize_t n = send(c->fd, src, left, MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			st = errno == EPIPE || errno == ECONNRESET ? CONN_EOF : CONN_IO_ERROR;
			break;
		}
		if ((st = conn_wait(c, POLLOUT, deadline)) != CONN_OK)
			break;
	}
	buf_consume(&c->out, done);
	return st;
}

enum conn_status conn_read_line(struct conn *c, size_t max, long long deadline,
				const char **line, size_t *len)
{
	size_t scanned = 0;
	enum conn_status st;

	for (;;) {
		size_t avail = conn_pending(c);
		const char *p = conn_peek(c);
		const char *nl = memchr(p + scanned, '\n', avail - scanned);

		if (nl != NULL) {
			*line = p;
			*len = (size_t)(nl - p) + 1;
			return CONN_OK;
		}
		if (avail > max) {
			*line = p;
			*len = avail;
			return CONN_OK;
		}
		scanned = avail;
		if (c->out.len && (st = conn_flush(c, deadline)) != CONN_OK)
			return st;
		if ((st = conn_fill(c, deadline)) != CONN_OK)
			return st;
	}
}

/* conn_connect_wait - finish a non-blocking connect */
static int conn_connect_wait(int fd, long long deadline)
{
	struct conn probe;
	int err = 0;
	socklen_t len = sizeof(err);

	conn_init(&probe, fd);
	if (conn_wait(&probe, POLLOUT, deadline) != CONN_OK)
		return ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return errno;
	return err;
}

int conn_connect_tcp(const char *host, const char *port, long long deadline,
		     const char **error_r)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *res, *ai;
	int fd = -1, err = ECONNREFUSED;

	if (getaddrinfo(host, port, &hints, &res) != 0) {
		*error_r = "cannot resolve the next hop host";
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		conn_set_socket_options(fd);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno == EINPROGRESS ? conn_connect_wait(fd, deadline) : errno;
		if (err == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		*error_r = err == ETIMEDOUT ? "connection timed out" : strerror(err);
	return fd;
}

int conn_connect_unix(const char *path, long long deadline, const char **error_r)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		*error_r = "socket path too long";
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	conn_set_socket_options(fd);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	err = errno == EINPROGRESS || errno == EAGAIN ? conn_connect_wait(fd, deadline)
						      : errno;
	if (err == 0)
		return fd;
	close(fd);
	*error_r = strerror(err);
	return -1;
}

/* conn_tls_finish - record what was negotiated */
static void conn_tls_finish(struct conn *c)
{
	snprintf(c->tls_version, sizeof(c->tls_version), "%s", SSL_get_version(c->ssl));
	snprintf(c->tls_cipher, sizeof(c->tls_cipher), "%s",
		 SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)));
}

/* conn_tls_handshake - drive SSL_accept or SSL_connect to the end */
static enum conn_status conn_tls_handshake(struct conn *c, bool server, long long deadline)
{
	enum conn_status st;
	int r;

	for (;;) {
		r = server ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
		if (r == 1) {
			conn_tls_finish(c);
			return CONN_OK;
		}
		if (r == 0) {
			ERR_clear_error();
			return CONN_IO_ERROR;
		}
		st = conn_tls_wait(c, r, deadline);
		if (st != CONN_OK)
			return st == CONN_EOF ? CONN_IO_ERROR : st;
	}
}

enum conn_status conn_tls_accept(struct conn *c, SSL_CTX *ctx, long long deadline)
{
	c->ssl = SSL_new(ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return CONN_IO_ERROR;
	conn_discard_input(c);
	return conn_tls_handshake(c, true, deadline);
}

static bool host_is_ip_literal(const char *host)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

enum conn_status conn_tls_connect(struct conn *c, SSL_CTX *ctx, const char *host,
				  bool verify, long long deadline)
{
	c->ssl = SSL_new(ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return CONN_IO_ERROR;
	conn_discard_input(c);
	bool literal = host_is_ip_literal(host);

	if (!literal)
		SSL_set_tlsext_host_name(c->ssl, host);
	if (verify) {
		/* RFC 6125 name check, or an IP SAN for an address literal. */
		SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
		if (literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host) != 1
			    : SSL_set1_host(c->ssl, host) != 1)
			return CONN_IO_ERROR;
	}
	return conn_tls_handshake(c, false, deadline);
}

const char *conn_status_text(enum conn_status st)
{
	switch (st) {
	case CONN_OK:
		return "ok";
	case CONN_EOF:
		return "connection closed";
	case CONN_TIMEOUT:
		return "timeout";
	case CONN_IO_ERROR:
		return "I/O error";
	case CONN_INTERRUPTED:
		return "interrupted";
	}
	return "unknown";
}
