/*
 * relay - the SMTP or LMTP client towards the next hop.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "gateway/relay.h"
#include "gateway/smtp_data.h"

/* relay_fail - the connection is gone: a 4xx of our own, never a 250 */
static int relay_fail(struct relay *r, struct smtp_reply *reply, const char *stage,
		      const char *why)
{
	smtp_reply_set(reply, 451, "4.4.2", "Next hop %s failed during %s: %s; try again later",
		       r ? r->peer : "connection", stage, why);
	if (r)
		log_warn("next hop %s failed during %s: %s", r->peer, stage, why);
	return -1;
}

/* relay_command - send one command line and read its reply */
static int relay_command(struct relay *r, long timeout, const char *stage,
			 struct smtp_reply *reply, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int relay_command(struct relay *r, long timeout, const char *stage,
			 struct smtp_reply *reply, const char *fmt, ...)
{
	long long deadline = clock_deadline(timeout);
	enum conn_status st;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&r->conn.out, fmt, ap);
	va_end(ap);
	buf_append(&r->conn.out, "\r\n", 2);
	if ((st = conn_flush(&r->conn, deadline)) != CONN_OK ||
	    (st = smtp_reply_read(&r->conn, deadline, reply)) != CONN_OK)
		return relay_fail(r, reply, stage, conn_status_text(st));
	return 0;
}

/* relay_caps - read the EHLO keywords we care about */
static unsigned relay_caps(struct smtp_reply *ehlo)
{
	static const struct {
		const char *word;
		unsigned cap;
	} words[] = {
		{"SIZE", RELAY_CAP_SIZE},
		{"8BITMIME", RELAY_CAP_8BITMIME},
		{"SMTPUTF8", RELAY_CAP_SMTPUTF8},
		{"STARTTLS", RELAY_CAP_STARTTLS},
		{"PIPELINING", RELAY_CAP_PIPELINING},
	};
	const char *line = buf_cstr(&ehlo->text);
	unsigned caps = 0;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
			size_t wl = strlen(words[i].word);
			if (len >= wl && strncasecmp(line, words[i].word, wl) == 0 &&
			    (len == wl || line[wl] == ' '))
				caps |= words[i].cap;
		}
		line = end ? end + 1 : NULL;
	}
	return caps;
}

/* relay_hello - EHLO or LHLO; fills r->caps */
static int relay_hello(struct relay *r, const struct snapshot *snap, struct smtp_reply *reply)
{
	if (relay_command(r, snap->conf->next_hop_command_timeout, "EHLO", reply, "%s %s",
			  r->lmtp ? "LHLO" : "EHLO", snap->conf->myhostname) != 0)
		return -1;
	if (!smtp_reply_ok(reply))
		return 0;
	r->caps = relay_caps(reply);
	return 0;
}

/* relay_starttls - upgrade as next_hop_tls says; 0, or -1 with reply */
static int relay_starttls(struct relay *r, const struct snapshot *snap, const char *host,
			  struct smtp_reply *reply)
{
	const struct conf *conf = snap->conf;
	enum conn_status st;

	if (conf->next_hop_tls == TLS_POLICY_NONE || conf->next_hop.kind == NEXTHOP_LMTP_UNIX)
		return 0;
	if (!(r->caps & RELAY_CAP_STARTTLS)) {
		if (conf->next_hop_tls == TLS_POLICY_MAY)
			return 0;
		return relay_fail(r, reply, "STARTTLS", "TLS is required but not offered");
	}
	if (relay_command(r, conf->next_hop_command_timeout, "STARTTLS", reply, "STARTTLS") != 0)
		return -1;
	if (reply->code != 220) {
		if (conf->next_hop_tls == TLS_POLICY_MAY)
			return 0;
		return relay_fail(r, reply, "STARTTLS", "TLS is required but refused");
	}
	st = conn_tls_connect(&r->conn, snap->tls_client, host,
			      conf->next_hop_tls_ca_file[0] != '\0',
			      clock_deadline(conf->next_hop_connect_timeout));
	if (st != CONN_OK)
		return relay_fail(r, reply, "TLS handshake", "TLS negotiation failed");
	/* RFC 3207 section 4.2: forget everything learnt before TLS. */
	if (relay_hello(r, snap, reply) != 0)
		return -1;
	if (!smtp_reply_ok(reply))
		return relay_fail(r, reply, "EHLO after STARTTLS", "refused");
	return 0;
}

/* relay_connect - the socket for the configured next hop */
static int relay_connect(struct relay *r, const struct conf *conf, struct smtp_reply *reply)
{
	const struct nexthop *nh = &conf->next_hop;
	long long deadline = clock_deadline(conf->next_hop_connect_timeout);
	const char *why = "unknown error";
	int fd;

	if (nh->kind == NEXTHOP_LMTP_UNIX) {
		snprintf(r->peer, sizeof(r->peer), "%s", nh->path);
		fd = conn_connect_unix(nh->path, deadline, &why);
	} else {
		snprintf(r->peer, sizeof(r->peer), strchr(nh->host, ':') ? "[%s]:%s" : "%s:%s",
			 nh->host, nh->port);
		fd = conn_connect_tcp(nh->host, nh->port, deadline, &why);
	}
	if (fd < 0)
		return relay_fail(r, reply, "connect", why);
	conn_init(&r->conn, fd);
	return 0;
}

int relay_open(const struct snapshot *snap, struct relay **relay_r, struct smtp_reply *reply)
{
	const struct conf *conf = snap->conf;
	struct relay *r = xcalloc(1, sizeof(*r));
	enum conn_status st;

	r->conn.fd = -1;
	r->lmtp = conf->next_hop.kind != NEXTHOP_SMTP;
	r->key = xstrdup(snap->nexthop_key);
	if (relay_connect(r, conf, reply) != 0)
		goto fail;
	st = smtp_reply_read(&r->conn, clock_deadline(conf->next_hop_command_timeout), reply);
	if (st != CONN_OK) {
		relay_fail(r, reply, "greeting", conn_status_text(st));
		goto fail;
	}
	if (reply->code != 220) {
		relay_fail(r, reply, "greeting", smtp_reply_summary(reply));
		goto fail;
	}
	if (relay_hello(r, snap, reply) != 0)
		goto fail;
	if (!smtp_reply_ok(reply)) {
		relay_fail(r, reply, "EHLO", smtp_reply_summary(reply));
		goto fail;
	}
	if (relay_starttls(r, snap, conf->next_hop.host, reply) != 0)
		goto fail;
	*relay_r = r;
	return 0;
fail:
	relay_close(r);
	return -1;
}

int relay_mail(struct relay *r, const struct snapshot *snap, const struct tx *tx,
	       struct smtp_reply *reply)
{
	struct buf params;
	int rc;

	buf_init(&params);
	if ((r->caps & RELAY_CAP_SIZE) && tx->params.has_size)
		buf_printf(&params, " SIZE=%llu", (unsigned long long)tx->params.size);
	if ((r->caps & RELAY_CAP_8BITMIME) && tx->params.body == SMTP_BODY_8BITMIME)
		buf_append_str(&params, " BODY=8BITMIME");
	if (tx->params.smtputf8) {
		if (!(r->caps & RELAY_CAP_SMTPUTF8)) {
			buf_free(&params);
			smtp_reply_set(reply, 553, "5.6.7",
				       "The next hop does not accept SMTPUTF8 mail");
			return 0;
		}
		buf_append_str(&params, " SMTPUTF8");
	}
	rc = relay_command(r, snap->conf->next_hop_command_timeout, "MAIL FROM", reply,
			   "MAIL FROM:<%s>%s", tx->from.addr, buf_cstr(&params));
	buf_free(&params);
	if (rc == 0 && smtp_reply_ok(reply))
		r->in_tx = true;
	return rc;
}

int relay_rcpt(struct relay *r, const struct snapshot *snap, const char *addr,
	       struct smtp_reply *reply)
{
	return relay_command(r, snap->conf->next_hop_command_timeout, "RCPT TO", reply,
			     "RCPT TO:<%s>", addr);
}

int relay_data(struct relay *r, const struct snapshot *snap, const struct buf *header,
	       const struct buf *msg, size_t nrcpt, struct smtp_reply *replies)
{
	const struct conf *conf = snap->conf;
	long long deadline;
	enum conn_status st;
	size_t n = r->lmtp ? nrcpt : 1;

	if (relay_command(r, conf->next_hop_command_timeout, "DATA", &replies[0], "DATA") != 0)
		return -1;
	if (replies[0].code != 354) {
		r->in_tx = true;
		for (size_t i = 1; i < n; i++)
			smtp_reply_set(&replies[i], replies[0].code, replies[0].enh, "%s",
				       buf_cstr(&replies[0].text));
		return 0;
	}
	/* Header and message in one buffer: few large writes. */
	deadline = clock_deadline(conf->next_hop_data_timeout);
	buf_append(&r->conn.out, header->data, header->len);
	smtp_data_stuff(&r->conn.out, msg->data ? msg->data : "", msg->len);
	if ((st = conn_flush(&r->conn, deadline)) != CONN_OK)
		return relay_fail(r, &replies[0], "message transfer", conn_status_text(st));
	for (size_t i = 0; i < n; i++) {
		st = smtp_reply_read(&r->conn, deadline, &replies[i]);
		if (st != CONN_OK)
			return relay_fail(r, &replies[i], "end of data", conn_status_text(st));
	}
	r->in_tx = false;
	return 0;
}

int relay_rset(struct relay *r, const struct snapshot *snap)
{
	struct smtp_reply reply;
	int rc;

	if (!r->in_tx)
		return 0;
	smtp_reply_init(&reply);
	rc = relay_command(r, snap->conf->next_hop_command_timeout, "RSET", &reply, "RSET");
	if (rc == 0 && !smtp_reply_ok(&reply))
		rc = -1;
	smtp_reply_free(&reply);
	if (rc == 0)
		r->in_tx = false;
	return rc;
}

void relay_quit(struct relay *r)
{
	if (r == NULL)
		return;
	if (r->conn.fd >= 0) {
		buf_append_str(&r->conn.out, "QUIT\r\n");
		conn_flush(&r->conn, clock_deadline(1));
	}
	relay_close(r);
}

void relay_close(struct relay *r)
{
	if (r == NULL)
		return;
	conn_close(&r->conn);
	free(r->key);
	free(r);
}
