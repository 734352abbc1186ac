/*
 * milter_policy - the end of a message in milter mode: judge it with the
 * pipeline and turn the verdict into the milter's answer.
 *
 *   accept, none   strip forged fields, add Authentication-Results, continue
 *   tag            the same plus the X-Sekisho-* fields
 *   reject         smfi_setreply 550 with the rule's text, SMFIS_REJECT
 *   tempfail       451 likewise, SMFIS_TEMPFAIL
 *   discard        SMFIS_DISCARD
 *   quarantine     milter_quarantine = store: into our store, fsync'd,
 *                  then SMFIS_DISCARD; = hold: smfi_quarantine (the MTA's
 *                  hold queue) with the edits of accept, continue
 *
 * The MTA takes responsibility for the message only on our continue, so
 * every failure on the way (the analyzers, the store, an edit the MTA
 * does not allow) is a 451: the client keeps the message and retries.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "gateway/auth_results.h"
#include "gateway/header_strip.h"
#include "gateway/milter.h"
#include "filters/auth.h"
#include "gateway/verdict.h"

/*
 * unjudged - the analysis failed and the verdict would let the message
 * through on missing facts (refusals, quarantine and discard stand)
 */
static bool unjudged(const struct milter_tx *tx, enum rule_action a)
{
	const struct fact *err = facts_find(&tx->policy.facts, "analysis.error");

	return err && err->count &&
	       (a == ACTION_NONE || a == ACTION_ACCEPT || a == ACTION_TAG);
}

/* strip_forged - delete the fields from outside that claim to be ours */
static int strip_forged(struct milter_conn *c, SMFICTX *ctx)
{
	const struct milter_tx *tx = &c->tx;

	if (tx->nstrips && !(c->actions & SMFIF_CHGHDRS))
		return -1;
	/* last first: whatever the MTA does with indexes, earlier ones stay put */
	for (size_t i = tx->nstrips; i-- > 0;)
		if (smfi_chgheader(ctx, tx->strips[i].name, (int)tx->strips[i].index, NULL) !=
		    MI_SUCCESS)
			return -1;
	if (tx->nstrips)
		log_warn("milter=%s tx=%s removed %zu header fields from outside that claim to "
			 "be ours", c->id, tx->id, tx->nstrips);
	return 0;
}

/*
 * insert_fields - put fields ("Name: value" CR LF, folded with CR LF TAB)
 * at the top, in their order; libmilter wants folding as LF.
 */
static int insert_fields(struct milter_conn *c, SMFICTX *ctx, const struct buf *fields)
{
	char **names = NULL, **values = NULL;
	size_t n = 0, off = 0;
	int rc = 0;

	if (!(c->actions & SMFIF_ADDHDRS))
		return -1;
	while (off < fields->len) {
		const char *p = fields->data + off, *colon = memchr(p, ':', fields->len - off);
		size_t end = off;
		struct buf v;

		/* the field runs to a CR LF not followed by white space */
		while (end + 1 < fields->len &&
		       !(fields->data[end] == '\r' && fields->data[end + 1] == '\n' &&
			 (end + 2 >= fields->len ||
			  (fields->data[end + 2] != ' ' && fields->data[end + 2] != '\t'))))
			end++;
		if (colon == NULL || (size_t)(colon - fields->data) > end)
			break;
		buf_init(&v);
		for (const char *q = colon + 1 + (colon[1] == ' '); q < fields->data + end; q++)
			if (*q != '\r')
				buf_append_char(&v, *q);
		names = xrealloc(names, (n + 1) * sizeof(*names));
		values = xrealloc(values, (n + 1) * sizeof(*values));
		names[n] = xstrndup(p, (size_t)(colon - p));
		values[n++] = buf_steal(&v);
		off = end + 2;
	}
	for (size_t i = n; i-- > 0;)
		if (rc == 0 && smfi_insheader(ctx, 0, names[i], values[i]) != MI_SUCCESS)
			rc = -1;
	for (size_t i = 0; i < n; i++) {
		free(names[i]);
		free(values[i]);
	}
	free(names);
	free(values);
	return rc;
}

/* pass - the edits of a message going on: forged fields out, ours in */
static int pass(struct milter_conn *c, SMFICTX *ctx, bool tag)
{
	struct buf fields;
	int rc;

	buf_init(&fields);
	auth_results_header(&fields, c->snap->auth->authserv_id, &c->tx.policy.facts);
	if (tag)
		verdict_tag_headers(&c->tx.policy.verdict, &fields);
	rc = strip_forged(c, ctx) == 0 && insert_fields(c, ctx, &fields) == 0 ? 0 : -1;
	buf_free(&fields);
	return rc;
}

/* store - quarantine into our store the message as it would have gone on */
static int store(struct milter_conn *c, char **error_r)
{
	struct milter_tx *tx = &c->tx;
	struct verdict_hold h = {
	    .id = tx->id, .client_ip = c->client_ip, .helo = c->helo, .from = tx->from,
	    .rcpts = (const char *const *)tx->rcpts, .nrcpt = tx->nrcpt, .policy = &tx->policy};
	struct buf header;
	int rc;

	header_strip_ours(&tx->msg.data);
	header_strip_auth_results(&tx->msg.data, c->snap->auth->authserv_id);
	buf_init(&header);
	auth_results_header(&header, c->snap->auth->authserv_id, &tx->policy.facts);
	h.header = header.data;
	h.header_len = header.len;
	h.msg = tx->msg.data.data;
	h.len = tx->msg.data.len;
	rc = verdict_quarantine(c->snap, &h, error_r);
	buf_free(&header);
	return rc;
}

/* quarantine - as milter_quarantine says; the answer, *result_r for the log */
static sfsistat quarantine(struct milter_conn *c, SMFICTX *ctx, const char **result_r)
{
	const struct verdict *v = &c->tx.policy.verdict;
	const char *reason = v->decider && v->decider->action_text ? v->decider->action_text
								   : "quarantined by sekisho";
	char *error = NULL;

	if (c->snap->conf->milter_quarantine == MILTER_QUARANTINE_HOLD) {
		if ((c->actions & SMFIF_QUARANTINE) && pass(c, ctx, false) == 0 &&
		    smfi_quarantine(ctx, (char *)reason) == MI_SUCCESS) {
			*result_r = "held";
			return SMFIS_CONTINUE;
		}
		error = xstrdup("the MTA does not let the milter hold or edit messages");
	} else if (store(c, &error) == 0) {
		*result_r = "quarantined";
		return SMFIS_DISCARD;
	}
	/* Fail closed: the sender keeps the message and retries. */
	log_err("milter=%s tx=%s quarantine failed: %s", c->id, c->tx.id, error);
	free(error);
	milter_reply(ctx, "451", "4.3.0 Cannot hold the message now; try again later", c->tx.id);
	*result_r = "tempfail";
	return SMFIS_TEMPFAIL;
}

/* judge - the verdict as the milter's answer; *result_r for the log */
static sfsistat judge(struct milter_conn *c, SMFICTX *ctx, enum rule_action a,
		      const char **result_r)
{
	switch (a) {
	case ACTION_NONE:
	case ACTION_ACCEPT:
	case ACTION_TAG:
		if (pass(c, ctx, a == ACTION_TAG) == 0) {
			*result_r = "delivered";
			return SMFIS_CONTINUE;
		}
		log_err("milter=%s tx=%s the MTA refused our header edits", c->id, c->tx.id);
		milter_reply(ctx, "451", "4.3.0 The message could not be marked now; try again "
					 "later", c->tx.id);
		*result_r = "tempfail";
		return SMFIS_TEMPFAIL;
	case ACTION_REJECT:
	case ACTION_TEMPFAIL:
		milter_reply(ctx, a == ACTION_REJECT ? "550" : "451",
			     verdict_refusal_text(c->tx.policy.verdict.decider, a), c->tx.id);
		*result_r = a == ACTION_REJECT ? "rejected" : "tempfail";
		return a == ACTION_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	case ACTION_DISCARD:
		*result_r = "discarded";
		return SMFIS_DISCARD;
	case ACTION_QUARANTINE:
		return quarantine(c, ctx, result_r);
	}
	return SMFIS_TEMPFAIL;
}

sfsistat milter_policy_eom(struct milter_conn *c, SMFICTX *ctx)
{
	struct milter_tx *tx = &c->tx;
	struct filter_input in;
	const char *result;
	enum rule_action a;
	sfsistat st;

	if (tx->queue_id == NULL)
		tx->queue_id = smfi_getsymval(ctx, "i") ? xstrdup(smfi_getsymval(ctx, "i")) : NULL;
	milter_message_eoh(&tx->msg);
	if (tx->msg.over) {
		milter_reply(ctx, "552", "5.3.4 Message refused: too big, too many header fields, a "
					 "malformed field name, or too many fields claiming to be ours",
			     tx->id);
		milter_log_tx(c, "rejected", "message over a limit or malformed");
		return SMFIS_REJECT;
	}
	milter_input_for(c, &in);
	in.rcpts = (const char *const *)tx->rcpts;
	in.nrcpt = tx->nrcpt;
	in.msg = tx->msg.data.data ? tx->msg.data.data : "";
	in.len = tx->msg.data.len;
	a = pipeline_message(&c->policy, &tx->policy, &in);
	if (unjudged(tx, a)) {
		log_err("milter=%s tx=%s content analysis failed", c->id, tx->id);
		milter_reply(ctx, "451", "4.3.0 The message could not be checked now; try again "
					 "later", tx->id);
		milter_log_tx(c, "tempfail", "content analysis failed");
		return SMFIS_TEMPFAIL;
	}
	st = judge(c, ctx, a, &result);
	milter_log_tx(c, result, st == SMFIS_CONTINUE ? "continue" : st == SMFIS_DISCARD
			      ? "discard" : st == SMFIS_REJECT ? "reject" : "tempfail");
	return st;
}
