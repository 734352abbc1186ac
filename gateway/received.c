/*
 * received - the one header sekisho adds: Received (RFC 5321 section 4.4).
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "gateway/received.h"

/* append_token - a peer-chosen word, made safe for a header comment */
static void append_token(struct buf *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		buf_append_char(out, c > ' ' && c < 0x7f && c != '(' && c != ')' && c != '\\'
					     ? (char)c : '?');
	}
}

/* protocol - RFC 3848 and RFC 6531 section 4.3 "with" keywords */
static const char *protocol(const struct session *s)
{
	if (s->tx.params.smtputf8)
		return s->tls ? "UTF8SMTPS" : "UTF8SMTP";
	if (!s->esmtp)
		return "SMTP";
	return s->tls ? "ESMTPS" : "ESMTP";
}

void received_header(struct buf *out, const struct session *s)
{
	char date[64];
	struct tm tm;
	time_t now = time(NULL);

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	buf_append_str(out, "Received: from ");
	append_token(out, s->helo ? s->helo : "unknown");
	buf_printf(out, " (%s%s%s)\r\n", strchr(s->peer_ip, ':') ? "[IPv6:" : "[",
		   s->peer_ip, "]");
	buf_printf(out, "\tby %s (sekisho) with %s id %s", s->conf->myhostname, protocol(s),
		   s->tx.id);
	if (s->tls)
		buf_printf(out, "\r\n\t(using %s with cipher %s)", s->conn.tls_version,
			   s->conn.tls_cipher);
	/* One recipient only: naming several would show each the others (Postfix does the same). */
	if (s->tx.nrcpt == 1) {
		buf_append_str(out, "\r\n\tfor <");
		append_token(out, s->tx.rcpts[0].addr);
		buf_append_str(out, ">");
	}
	buf_printf(out, "; %s\r\n", date);
}
