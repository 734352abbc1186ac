/*
 * inject - deliver a stored message straight to the next hop.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "gateway/inject.h"
#include "gateway/maildir.h"
#include "gateway/relay.h"

static int inject_maildir(const struct snapshot *snap, const char *const *rcpts, size_t n,
			  const char *msg, size_t len, char **detail_r)
{
	struct buf header, body;
	char *error = NULL;
	int rc;

	buf_init(&header);
	body = (struct buf){.data = (char *)msg, .len = len, .cap = 0};
	rc = maildir_deliver(snap->conf->next_hop.path, rcpts, n, &header, &body, &error);
	*detail_r = rc == 0 ? xstrdup("stored in the Maildir store") : error;
	return rc;
}

/* failed - a reply that ends the attempt, as the detail */
static int failed(struct relay *r, struct smtp_reply *reply, const char *stage, char **detail_r)
{
	*detail_r = xasprintf("next hop refused %s: %03d %s%s%s", stage, reply->code, reply->enh,
			      reply->enh[0] ? " " : "", smtp_reply_summary(reply));
	smtp_reply_free(reply);
	relay_quit(r);
	return -1;
}

int inject_message(const struct snapshot *snap, const char *from, const char *const *rcpts,
		   size_t n, const char *msg, size_t len, char **detail_r)
{
	struct relay *r = NULL;
	struct smtp_reply reply, *replies;
	struct tx tx;
	struct buf header, body;
	int rc = 0;

	if (snap->conf->next_hop.kind == NEXTHOP_MAILDIR)
		return inject_maildir(snap, rcpts, n, msg, len, detail_r);
	smtp_reply_init(&reply);
	if (relay_open(snap, &r, &reply) != 0) {
		*detail_r = xasprintf("%s", smtp_reply_summary(&reply));
		smtp_reply_free(&reply);
		return -1;
	}
	tx_init(&tx);
	tx.from.addr = (char *)from;
	rc = relay_mail(r, snap, &tx, &reply);
	tx.from.addr = NULL;
	tx_free(&tx);
	if (rc != 0 || !smtp_reply_ok(&reply))
		return failed(r, &reply, "the sender", detail_r);
	for (size_t i = 0; i < n; i++)
		if (relay_rcpt(r, snap, rcpts[i], &reply) != 0 || !smtp_reply_ok(&reply))
			return failed(r, &reply, rcpts[i], detail_r);
	replies = xcalloc(n ? n : 1, sizeof(*replies));
	buf_init(&header);
	body = (struct buf){.data = (char *)msg, .len = len, .cap = 0};
	rc = relay_data(r, snap, &header, &body, n, replies);
	size_t shown = 0;
	for (size_t i = 0; i < (r->lmtp ? n : 1); i++) {
		if (!smtp_reply_ok(&replies[i])) {
			rc = -1;
			shown = i;
			break;
		}
	}
	*detail_r = xasprintf("%03d %s%s%s", replies[shown].code, replies[shown].enh,
			      replies[shown].enh[0] ? " " : "", smtp_reply_summary(&replies[shown]));
	for (size_t i = 0; i < n; i++)
		smtp_reply_free(&replies[i]);
	free(replies);
	smtp_reply_free(&reply);
	relay_quit(r);
	return rc;
}
