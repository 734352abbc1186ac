/*
 * conn - one TCP or unix-socket connection, plain or TLS, with deadlines.
 *
 * Both sides of the gateway use it: the SMTP session towards the client and
 * the relay towards the next hop. The socket is non-blocking; every read and
 * write waits with poll() until an absolute monotonic deadline, so a slow
 * peer can never hold a thread longer than the configured timeout (RFC 5321
 * section 4.5.3.2). Output is gathered in c->out and written in as few
 * writes as possible (TCP_NODELAY is set: nothing waits for delayed ACKs).
 * A conn owns its fd and SSL object; conn_close() releases them.
 */
#ifndef SEKISHO_CONN_H
#define SEKISHO_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "common/buf.h"

enum conn_status {
	CONN_OK = 0,
	CONN_EOF = -1,		/* the peer closed */
	CONN_TIMEOUT = -2,	/* the deadline passed */
	CONN_IO_ERROR = -3,	/* socket or TLS error */
	CONN_INTERRUPTED = -4,	/* the interrupt fd became readable */
};

struct conn {
	int fd;
	SSL *ssl;
	struct buf in;		/* bytes read, from in_start on not yet used */
	size_t in_start;
	struct buf out;		/* bytes waiting to be written */
	int interrupt_fd;	/* -1, or an fd whose readability cancels waits */
	char tls_version[16];
	char tls_cipher[64];
};

void conn_init(struct conn *c, int fd);
void conn_close(struct conn *c);

/* conn_pending - unread bytes already in memory (ours or TLS's) */
size_t conn_pending(const struct conn *c);
const char *conn_peek(const struct conn *c);
void conn_skip(struct conn *c, size_t n);

/* conn_fill - read at least one more byte into c->in */
enum conn_status conn_fill(struct conn *c, long long deadline);

/* conn_flush - write all of c->out */
enum conn_status conn_flush(struct conn *c, long long deadline);

/* conn_write - append to c->out; it is written by conn_flush */
void conn_write(struct conn *c, const void *data, size_t len);

/*
 * conn_read_line - return the next line, CR LF included, once it is in
 * memory. Lines longer than max come back as CONN_OK with *len > max and
 * only the first max bytes valid; the caller refuses them. Before blocking
 * it flushes c->out, so pipelined replies go out in one write.
 */
enum conn_status conn_read_line(struct conn *c, size_t max, long long deadline,
				const char **line, size_t *len);

/* conn_discard_input - drop bytes read ahead (STARTTLS, RFC 3207 section 4.2) */
void conn_discard_input(struct conn *c);

/* conn_connect - TCP or unix connect with a deadline; returns an fd or -1 */
int conn_connect_tcp(const char *host, const char *port, long long deadline,
		     const char **error_r);
int conn_connect_unix(const char *path, long long deadline, const char **error_r);

/* conn_tls_accept / conn_tls_connect - start TLS on the connection */
enum conn_status conn_tls_accept(struct conn *c, SSL_CTX *ctx, long long deadline);
enum conn_status conn_tls_connect(struct conn *c, SSL_CTX *ctx, const char *host,
				  bool verify, long long deadline);

const char *conn_status_text(enum conn_status st);

/* conn_set_socket_options - non-blocking, TCP_NODELAY, close-on-exec */
void conn_set_socket_options(int fd);

#endif
