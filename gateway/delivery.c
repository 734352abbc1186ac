/*
 * delivery - where an accepted transaction goes: the next hop, in-line.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/xalloc.h"
#include "gateway/delivery.h"
#include "gateway/maildir.h"
#include "gateway/received.h"
#include "gateway/relay_pool.h"

static bool is_maildir(const struct session *s)
{
	return s->conf->next_hop.kind == NEXTHOP_MAILDIR;
}

/* drop_relay - forget a failed connection */
static void drop_relay(struct session *s)
{
	relay_close(s->relay);
	s->relay = NULL;
}

/* take_relay - the session's connection, a pooled one, or a new one */
static int take_relay(struct session *s, struct smtp_reply *reply)
{
	if (s->relay)
		return 0;
	s->relay = relay_pool_get(s->snap->nexthop_key, s->conf->next_hop_pool_idle);
	if (s->relay)
		return 0;
	if (relay_open(s->snap, &s->relay, reply) != 0) {
		metrics_nexthop_error("connect");
		return -1;
	}
	return 0;
}

void delivery_mail(struct session *s, struct smtp_reply *reply)
{
	if (is_maildir(s)) {
		smtp_reply_set(reply, 250, "2.1.0", "Ok");
		return;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		bool fresh = s->relay == NULL;

		if (take_relay(s, reply) != 0)
			return;
		if (s->relay->reused)
			fresh = false;
		s->relay->reused = false;
		if (relay_mail(s->relay, s->snap, &s->tx, reply) == 0 && reply->code != 421)
			return;
		drop_relay(s);
		/* A kept or pooled connection the next hop has meanwhile closed:
		 * once more, on a fresh one. */
		if (fresh) {
			metrics_nexthop_error("mail");
			return;
		}
	}
}

void delivery_rcpt(struct session *s, const char *addr, struct smtp_reply *reply)
{
	if (is_maildir(s)) {
		smtp_reply_set(reply, 250, "2.1.5", "Ok");
		return;
	}
	if (s->relay == NULL) {
		smtp_reply_set(reply, 451, "4.4.2", "Next hop connection lost; try again later");
		return;
	}
	if (relay_rcpt(s->relay, s->snap, addr, reply) != 0 || reply->code == 421) {
		metrics_nexthop_error("rcpt");
		drop_relay(s);
	}
}

/* summarise - one client reply from LMTP's per-recipient replies */
static void summarise(struct smtp_reply *replies, size_t n, struct smtp_reply *reply)
{
	size_t worst = 0;

	/*
	 * SMTP gives our client one reply for all recipients. Any temporary
	 * failure makes it a 4xx: the sender retries everyone, and a recipient
	 * that already has the message may get it twice. Duplicates are
	 * better than a silent loss, which a 250 would be.
	 */
	for (size_t i = 1; i < n; i++) {
		int c = replies[i].code / 100, w = replies[worst].code / 100;
		if ((c == 4 && w != 4) || (c == 5 && w == 2))
			worst = i;
	}
	smtp_reply_set(reply, replies[worst].code, replies[worst].enh, "%s",
		       buf_cstr(&replies[worst].text));
}

static void deliver_relay(struct session *s, const struct buf *header, struct smtp_reply *reply)
{
	size_t n = s->tx.nrcpt ? s->tx.nrcpt : 1;
	struct smtp_reply *replies = xcalloc(n, sizeof(*replies));

	for (size_t i = 0; i < n; i++)
		smtp_reply_init(&replies[i]);
	if (s->relay == NULL) {
		smtp_reply_set(reply, 451, "4.4.2", "Next hop connection lost; try again later");
	} else if (relay_data(s->relay, s->snap, header, &s->tx.msg, s->tx.nrcpt, replies) != 0) {
		smtp_reply_set(reply, replies[0].code, replies[0].enh, "%s",
			       buf_cstr(&replies[0].text));
		for (size_t i = 1; i < n; i++)
			if (replies[i].code && !smtp_reply_ok(&replies[i]))
				smtp_reply_set(reply, replies[i].code, replies[i].enh, "%s",
					       buf_cstr(&replies[i].text));
		metrics_nexthop_error("data");
		drop_relay(s);
	} else {
		summarise(replies, s->relay->lmtp ? n : 1, reply);
		if (reply->code == 421)
			drop_relay(s);
	}
	for (size_t i = 0; i < n; i++)
		smtp_reply_free(&replies[i]);
	free(replies);
}

static void deliver_maildir(struct session *s, const struct buf *header,
			    struct smtp_reply *reply)
{
	const char **addrs = xcalloc(s->tx.nrcpt, sizeof(*addrs));
	char *error = NULL;

	for (size_t i = 0; i < s->tx.nrcpt; i++)
		addrs[i] = s->tx.rcpts[i].addr;
	if (maildir_deliver(s->conf->next_hop.path, addrs, s->tx.nrcpt, header, &s->tx.msg,
			    &error) == 0) {
		smtp_reply_set(reply, 250, "2.0.0", "Ok: stored as %s", s->tx.id);
	} else {
		log_err("session=%s maildir delivery failed: %s", s->id, error);
		metrics_nexthop_error("maildir");
		smtp_reply_set(reply, 451, "4.3.0", "Local store failed; try again later");
	}
	free(error);
	free(addrs);
}

void delivery_data(struct session *s, const struct buf *extra, struct smtp_reply *reply)
{
	struct buf header;

	buf_init(&header);
	received_header(&header, s);
	buf_append(&header, extra->data ? extra->data : "", extra->len);
	if (is_maildir(s))
		deliver_maildir(s, &header, reply);
	else
		deliver_relay(s, &header, reply);
	buf_free(&header);
}

void delivery_abort(struct session *s)
{
	if (s->relay && relay_rset(s->relay, s->snap) != 0)
		drop_relay(s);
}

void delivery_finish(struct session *s)
{
	if (s->relay == NULL)
		return;
	if (s->relay->in_tx && relay_rset(s->relay, s->snap) != 0) {
		drop_relay(s);
		return;
	}
	relay_pool_put(s->relay, s->conf->next_hop_pool_size, s->conf->next_hop_pool_idle);
	s->relay = NULL;
}
