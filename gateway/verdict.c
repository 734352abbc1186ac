/*
 * verdict - what the rules' verdict puts on a message (see verdict.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "gateway/verdict.h"
#include "quarantine/qstore.h"

void verdict_tag_headers(const struct verdict *v, struct buf *out)
{
	buf_printf(out, "X-Sekisho-Verdict: %s\r\n", rule_action_name(v->action));
	buf_printf(out, "X-Sekisho-Score: %.2f\r\n", v->score);
	buf_append_str(out, "X-Sekisho-Rules:");
	for (size_t i = 0; i < v->nhits; i++)
		buf_printf(out, " %s", v->hits[i]->name);
	buf_append_str(out, "\r\n");
	for (size_t i = 0; i < v->nhits; i++)
		if (v->hits[i]->action == ACTION_TAG && v->hits[i]->action_text)
			buf_printf(out, "X-Sekisho-Tag: %s\r\n", v->hits[i]->action_text);
}

const char *verdict_refusal_text(const struct rule *decider, enum rule_action a)
{
	if (decider && decider->action_text)
		return decider->action_text;
	return a == ACTION_REJECT ? "5.7.1 Refused by policy" : "4.7.1 Try again later";
}

static char *rules_hit(const struct verdict *v)
{
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < v->nhits; i++)
		buf_printf(&b, "%s%s", i ? " " : "", v->hits[i]->name);
	return buf_steal(&b);
}

/* first_value - a fact's first value, or "" */
static const char *first_value(const struct facts *f, const char *name)
{
	const struct fact *fact = facts_find(f, name);

	return fact && fact->count ? fact->values[0] : "";
}

int verdict_quarantine(struct snapshot *snap, const struct verdict_hold *h, char **error_r)
{
	struct qstore *q = snapshot_qstore(snap, error_r);
	const struct verdict *v = &h->policy->verdict;
	struct qentry e = {0};
	struct buf stored;
	int rc;

	if (q == NULL)
		return -1;
	buf_init(&stored);
	buf_append(&stored, h->header, h->header_len);
	buf_append(&stored, h->msg ? h->msg : "", h->len);
	/* qentry's fields are not const; qstore_put only reads them */
	e.id = (char *)h->id;
	e.time = (long long)time(NULL);
	e.client_ip = (char *)h->client_ip;
	e.helo = (char *)(h->helo ? h->helo : "");
	e.from = (char *)h->from;
	e.rcpts = (char **)h->rcpts;
	e.nrcpt = h->nrcpt;
	e.subject = (char *)first_value(&h->policy->facts, "header.subject");
	e.size = (long long)stored.len;
	e.score = v->score;
	e.rules = rules_hit(v);
	e.reason = (char *)(v->decider && v->decider->action_text ? v->decider->action_text : "");
	rc = qstore_put(q, &e, stored.data, stored.len, error_r);
	free(e.rules);
	buf_free(&stored);
	return rc;
}

/* auth_summary - "spf=pass dkim=pass,fail dmarc=pass" for the log line */
static char *auth_summary(const struct facts *f)
{
	static const char *const methods[][2] = {
	    {"spf", "spf.result"}, {"dkim", "dkim.result"}, {"dmarc", "dmarc.result"}};
	struct buf b;

	buf_init(&b);
	for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
		const struct fact *fact = facts_find(f, methods[m][1]);

		if (!fact || !fact->count)
			continue;
		buf_printf(&b, "%s%s=", b.len ? " " : "", methods[m][0]);
		for (size_t i = 0; i < fact->count; i++)
			buf_printf(&b, "%s%s", i ? "," : "", fact->values[i]);
	}
	return buf_steal(&b);
}

void verdict_log(const struct verdict *v, const struct facts *facts, struct buf *line)
{
	char *hits = rules_hit(v);
	char *auth = auth_summary(facts);
	char score[32];

	log_kv(line, "action", rule_action_name(v->action));
	snprintf(score, sizeof(score), "%.2f", v->score);
	log_kv(line, "score", score);
	log_kv(line, "rules", hits);
	if (auth[0])
		log_kv(line, "auth", auth);
	free(auth);
	free(hits);
}
