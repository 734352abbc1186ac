/*
 * smtp_session - one client connection, from accept to close.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/xalloc.h"
#include "gateway/delivery.h"
#include "gateway/listener.h"
#include "gateway/policy.h"
#include "gateway/proxy_proto.h"
#include "gateway/smtp_commands.h"
#include "gateway/smtp_session.h"

void session_reply(struct session *s, const char *fmt, ...)
{
	va_list ap;

	if (fmt[0] == '4' || fmt[0] == '5')
		s->errors++;
	va_start(ap, fmt);
	buf_vprintf(&s->conn.out, fmt, ap);
	va_end(ap);
	buf_append(&s->conn.out, "\r\n", 2);
}

void session_reply_with(struct session *s, const struct smtp_reply *r, const char *default_enh)
{
	struct smtp_reply copy = *r;

	if (r->code >= 400)
		s->errors++;
	/* The next hop's 421 closes its channel, not ours (RFC 5321 section
	 * 3.8): our client hears a plain temporary failure. */
	if (copy.code == 421)
		copy.code = 451;
	smtp_reply_format(&s->conn.out, &copy, default_enh);
}

void session_log_tx(struct session *s, const char *result, const char *reply)
{
	struct buf line, list;

	buf_init(&line);
	buf_printf(&line, "session=%s tx=%s", s->id, s->tx.id);
	log_kv(&line, "client", s->peer_ip);
	if (s->proxied)
		log_kv(&line, "proxied", "yes");
	log_kv(&line, "helo", s->helo);
	log_kv(&line, "tls", s->tls ? s->conn.tls_version : "no");
	log_kv(&line, "from", s->tx.from.addr);
	buf_init(&list);
	for (size_t i = 0; i < s->tx.nrcpt; i++) {
		if (i)
			buf_append_char(&list, ',');
		buf_append_str(&list, s->tx.rcpts[i].addr);
	}
	log_kv_len(&line, "rcpts", list.data ? list.data : "", list.len);
	buf_free(&list);
	log_kv_long(&line, "nrcpt", (long long)s->tx.nrcpt);
	log_kv_long(&line, "refused", (long long)s->tx.rcpt_refused);
	log_kv_long(&line, "size", (long long)s->tx.msg.len);
	log_kv(&line, "result", result);
	log_kv(&line, "reply", reply);
	policy_log(s, &line);
	log_kv_long(&line, "ms", clock_ms() - s->tx.started_ms);
	log_info("%s", buf_cstr(&line));
	buf_free(&line);
	metrics_message(result);
	if (strcmp(result, "aborted") != 0)
		for (size_t i = 0; i < s->tx.policy.verdict.nhits; i++)
			metrics_rule_hit(s->tx.policy.verdict.hits[i]->name);
}

void session_end_tx(struct session *s, const char *why)
{
	if (!s->tx.active)
		return;
	delivery_abort(s);
	session_log_tx(s, "aborted", why);
	tx_clear(&s->tx);
	s->bdat = false;
}

/* read_proxy_header - PROXY v1/v2 from a trusted balancer, before the greeting */
static int read_proxy_header(struct session *s)
{
	long long deadline = clock_deadline(s->conf->smtpd_timeout);

	for (;;) {
		struct proxy_info info;
		size_t used = 0;
		const char *why = "incomplete header";
		enum proxy_result r = proxy_parse((const unsigned char *)conn_peek(&s->conn),
						  conn_pending(&s->conn), &info, &used, &why);
		if (r == PROXY_OK) {
			conn_skip(&s->conn, used);
			if (!info.local) {
				s->peer = info.src;
				s->local = info.dst;
				s->proxied = true;
			}
			return 0;
		}
		if (r == PROXY_ERROR || conn_fill(&s->conn, deadline) != CONN_OK) {
			log_warn("session=%s client=%s bad PROXY header: %s", s->id, s->peer_ip,
				 r == PROXY_ERROR ? why : "no header before timeout");
			return -1;
		}
	}
}

/* discard_long_line - skip the rest of an over-long line, up to its LF */
static enum conn_status discard_long_line(struct session *s, long long deadline)
{
	for (;;) {
		const char *p = conn_peek(&s->conn);
		const char *nl = memchr(p, '\n', conn_pending(&s->conn));
		enum conn_status st;

		if (nl) {
			conn_skip(&s->conn, (size_t)(nl - p) + 1);
			return CONN_OK;
		}
		conn_skip(&s->conn, conn_pending(&s->conn));
		if ((st = conn_flush(&s->conn, deadline)) != CONN_OK ||
		    (st = conn_fill(&s->conn, deadline)) != CONN_OK)
			return st;
	}
}

/* bare_eol - a CR or LF that is not part of the final CR LF */
static bool bare_eol(const char *line, size_t len)
{
	if (len < 2 || line[len - 2] != '\r')
		return true;
	return memchr(line, '\r', len - 2) != NULL;
}

/*
 * spoke_early - did the client send anything before our greeting? An
 * SMTP client must wait for the 220 (RFC 5321 section 3.1); spam engines
 * that do not are caught by waiting greet_pause first. Bytes a PROXY
 * header's read brought along count too; a client that only hung up did
 * not speak. A shutdown ends the wait (the command loop then says 421).
 */
static bool spoke_early(struct session *s, int shutdown_fd)
{
	struct pollfd pfd[2] = {{.fd = s->conn.fd, .events = POLLIN},
				{.fd = shutdown_fd, .events = POLLIN}};
	long long deadline = clock_deadline(s->conf->greet_pause);
	char byte;
	int n;

	if (conn_pending(&s->conn))
		return true;
	do {
		long long left = deadline - clock_ms();
		n = poll(pfd, shutdown_fd >= 0 ? 2 : 1, left > 0 ? (int)left : 0);
	} while (n < 0 && clock_ms() < deadline);
	if (n <= 0 || !(pfd[0].revents & POLLIN))
		return false;
	return recv(s->conn.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

/* command_loop - read and run commands until QUIT, an error or shutdown */
static void command_loop(struct session *s, int shutdown_fd)
{
	size_t max = (size_t)s->conf->max_line_length;

	while (!s->closing) {
		long long deadline = clock_deadline(s->conf->smtpd_timeout);
		const char *line;
		size_t len;
		enum conn_status st;

		s->conn.interrupt_fd = shutdown_fd;
		st = conn_read_line(&s->conn, max, deadline, &line, &len);
		s->conn.interrupt_fd = -1;
		if (st == CONN_TIMEOUT) {
			session_reply(s, "421 4.4.2 %s Error: timeout exceeded", s->conf->myhostname);
			break;
		}
		if (st == CONN_INTERRUPTED) {
			session_reply(s, "421 4.3.2 %s Service shutting down", s->conf->myhostname);
			break;
		}
		if (st != CONN_OK)
			break;
		if (len > max) {
			session_reply(s, "500 5.5.2 Line too long (limit %zu octets)", max);
			if (discard_long_line(s, deadline) != CONN_OK)
				break;
		} else if (bare_eol(line, len)) {
			/* The stream is ambiguous from here on: refuse and close. */
			session_reply(s, "500 5.5.2 Bare CR or LF in command; closing connection");
			break;
		} else {
			conn_skip(&s->conn, len);
			smtp_command_dispatch(s, line, len - 2);
		}
		if (!s->closing && s->errors >= (unsigned)s->conf->max_errors) {
			metrics_session_errors_exceeded();
			session_reply(s, "421 4.7.0 %s Error: too many errors", s->conf->myhostname);
			break;
		}
	}
	conn_flush(&s->conn, clock_deadline(s->conf->smtpd_timeout));
}

static void session_free(struct session *s)
{
	session_end_tx(s, "connection closed");
	delivery_finish(s);
	tx_free(&s->tx);
	pipeline_free(&s->policy);
	conn_close(&s->conn);
	free(s->helo);
	snapshot_release(s->snap);
}

void smtp_session_run(int fd, const struct sockaddr_storage *peer,
		      const struct sockaddr_storage *local, int shutdown_fd)
{
	struct session s;

	memset(&s, 0, sizeof(s));
	conn_init(&s.conn, fd);
	tx_init(&s.tx);
	s.snap = snapshot_acquire();
	s.conf = s.snap->conf;
	s.peer = *peer;
	s.local = *local;
	log_new_id(s.id, sizeof(s.id));
	netaddr_format((struct sockaddr *)&s.peer, s.peer_ip, sizeof(s.peer_ip));

	if (cidr_list_match(&s.conf->proxy_protocol_from, (struct sockaddr *)&s.peer)) {
		if (read_proxy_header(&s) != 0)
			goto out;
		netaddr_format((struct sockaddr *)&s.peer, s.peer_ip, sizeof(s.peer_ip));
		if (s.proxied &&
		    listener_set_client(fd, s.peer_ip, s.conf->max_sessions_per_ip) != 0) {
			log_warn("session=%s client=%s refused: too many connections from this address",
				 s.id, s.peer_ip);
			metrics_session_refused("max_sessions_per_ip");
			session_reply(&s, "421 4.7.0 Too many connections from your address; "
					  "try again later");
			conn_flush(&s.conn, clock_deadline(s.conf->smtpd_timeout));
			goto out;
		}
	}
	log_info("session=%s connect client=%s%s", s.id, s.peer_ip, s.proxied ? " proxied=yes" : "");
	metrics_session_started();
	if ((s.early_talker = spoke_early(&s, shutdown_fd)))
		log_info("session=%s client=%s spoke before the greeting", s.id, s.peer_ip);
	if (!policy_connect(&s)) {
		conn_flush(&s.conn, clock_deadline(s.conf->smtpd_timeout));
		goto out;
	}
	session_reply(&s, "220 %s ESMTP sekisho", s.conf->myhostname);
	command_loop(&s, shutdown_fd);
	log_info("session=%s disconnect client=%s errors=%u", s.id, s.peer_ip, s.errors);
out:
	session_free(&s);
}
