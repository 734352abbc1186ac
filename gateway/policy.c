/*
 * policy - the SMTP session's side of the filter pipeline and rules.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/xalloc.h"
#include "gateway/analysis.h"
#include "filters/auth.h"
#include "gateway/auth_results.h"
#include "gateway/delivery.h"
#include "gateway/header_strip.h"
#include "gateway/policy.h"
#include "gateway/received.h"
#include "quarantine/qstore.h"

static void input_for(struct session *s, struct filter_input *in)
{
	memset(in, 0, sizeof(*in));
	if (s->tx.active)
		snprintf(s->log_ref, sizeof(s->log_ref), "session=%s tx=%s", s->id, s->tx.id);
	else
		snprintf(s->log_ref, sizeof(s->log_ref), "session=%s", s->id);
	in->log_ref = s->log_ref;
	in->early_talker = s->early_talker;
	in->client_ip = s->peer_ip;
	in->client_port = netaddr_port((const struct sockaddr *)&s->peer);
	in->proxied = s->proxied;
	in->helo = s->helo;
	if (s->tls) {
		in->tls_version = s->conn.tls_version;
		in->tls_cipher = s->conn.tls_cipher;
	}
	in->from = s->tx.from.addr ? s->tx.from.addr : "";
	in->content = analysis_analyze;
	in->content_ctx = s->snap->conf;
	in->auth = s->snap->auth;
	in->rate_store = s->snap->rates;
	if (s->snap->rules) {
		in->limits = s->snap->rules->limits;
		in->nlimits = s->snap->rules->nlimits;
	}
}

/*
 * unjudged - was the content left unanalysed (analysis.error)? Then a
 * verdict that would deliver it rests on missing facts: the client gets
 * 451 and sends again. Refusals, quarantine and discard stand.
 */
static bool unjudged(struct session *s, enum rule_action a)
{
	const struct fact *err = facts_find(&s->tx.policy.facts, "analysis.error");

	if (!err || !err->count || (a != ACTION_NONE && a != ACTION_ACCEPT && a != ACTION_TAG))
		return false;
	log_err("session=%s tx=%s content analysis failed: %s", s->id, s->tx.id, err->values[0]);
	session_reply(s, "451 4.3.0 The message could not be checked now; try again later "
			 "(ref %s)", s->tx.id);
	return true;
}

/* refuse - the deciding rule's text as a reply: "550 5.7.1 text (ref ID)" */
static void refuse(struct session *s, enum rule_action a, int code, const char *ref)
{
	const struct rule *r = s->policy.decider;
	const char *text = r && r->action_text ? r->action_text
			   : a == ACTION_REJECT ? "5.7.1 Refused by policy"
						: "4.7.1 Try again later";

	session_reply(s, "%d %s (ref %s)", code, text, ref);
}

static bool refused(enum rule_action a)
{
	return a == ACTION_REJECT || a == ACTION_TEMPFAIL;
}

bool policy_connect(struct session *s)
{
	struct filter_input in;
	enum rule_action a;

	pipeline_init(&s->policy, s->snap->rules);
	input_for(s, &in);
	a = pipeline_connect(&s->policy, &in);
	if (!refused(a))
		return true;
	log_info("session=%s client=%s refused at connect by rule %s", s->id, s->peer_ip,
		 s->policy.decider->name);
	metrics_session_refused("rule");
	metrics_rule_hit(s->policy.decider->name);
	refuse(s, a, a == ACTION_REJECT ? 554 : 421, s->id);
	return false;
}

bool policy_helo(struct session *s)
{
	struct filter_input in;
	enum rule_action a;

	input_for(s, &in);
	a = pipeline_helo(&s->policy, &in);
	if (!refused(a))
		return true;
	log_info("session=%s client=%s helo refused by rule %s", s->id, s->peer_ip,
		 s->policy.decider->name);
	refuse(s, a, a == ACTION_REJECT ? 550 : 451, s->id);
	return false;
}

bool policy_mail(struct session *s)
{
	struct filter_input in;
	enum rule_action a;

	pipeline_tx_begin(&s->policy, &s->tx.policy);
	input_for(s, &in);
	a = pipeline_mail(&s->policy, &s->tx.policy, &in);
	if (!refused(a))
		return true;
	refuse(s, a, a == ACTION_REJECT ? 550 : 451, s->tx.id);
	return false;
}

bool policy_rcpt(struct session *s, const char *rcpt)
{
	struct filter_input in;
	enum rule_action a;

	input_for(s, &in);
	in.rcpt = rcpt;
	a = pipeline_rcpt(&s->policy, &s->tx.policy, &in);
	if (!refused(a))
		return true;
	log_info("session=%s tx=%s rcpt=%s refused by rule %s", s->id, s->tx.id, rcpt,
		 s->policy.decider->name);
	refuse(s, a, a == ACTION_REJECT ? 550 : 451, s->tx.id);
	return false;
}

/* tag_headers - X-Sekisho-* fields: verdict, score, rules hit, tag texts */
static void tag_headers(const struct session *s, struct buf *out)
{
	const struct verdict *v = &s->tx.policy.verdict;

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

/* quarantine - store the message as it would have been delivered */
static int quarantine(struct session *s, char **error_r)
{
	struct qstore *q = snapshot_qstore(s->snap, error_r);
	const struct verdict *v = &s->tx.policy.verdict;
	struct qentry e = {0};
	struct buf stored;
	int rc;

	if (q == NULL)
		return -1;
	buf_init(&stored);
	received_header(&stored, s);
	auth_results_header(&stored, s->snap->auth->authserv_id, &s->tx.policy.facts);
	buf_append(&stored, s->tx.msg.data ? s->tx.msg.data : "", s->tx.msg.len);
	e.id = s->tx.id;
	e.time = (long long)time(NULL);
	e.client_ip = s->peer_ip;
	e.helo = s->helo ? s->helo : "";
	e.from = s->tx.from.addr;
	e.rcpts = xcalloc(s->tx.nrcpt, sizeof(*e.rcpts));
	for (size_t i = 0; i < s->tx.nrcpt; i++)
		e.rcpts[i] = s->tx.rcpts[i].addr;
	e.nrcpt = s->tx.nrcpt;
	e.subject = (char *)first_value(&s->tx.policy.facts, "header.subject");
	e.size = (long long)stored.len;
	e.score = v->score;
	e.rules = rules_hit(v);
	e.reason = v->decider && v->decider->action_text ? v->decider->action_text : "";
	rc = qstore_put(q, &e, stored.data, stored.len, error_r);
	free(e.rules);
	free(e.rcpts);
	buf_free(&stored);
	return rc;
}

bool policy_message(struct session *s, struct buf *header)
{
	struct filter_input in;
	const char **rcpts = xcalloc(s->tx.nrcpt, sizeof(*rcpts));
	enum rule_action a;
	char *error = NULL, *reply;
	size_t before = s->conn.out.len;

	input_for(s, &in);
	for (size_t i = 0; i < s->tx.nrcpt; i++)
		rcpts[i] = s->tx.rcpts[i].addr;
	in.rcpts = rcpts;
	in.nrcpt = s->tx.nrcpt;
	in.msg = s->tx.msg.data ? s->tx.msg.data : "";
	in.len = s->tx.msg.len;
	a = pipeline_message(&s->policy, &s->tx.policy, &in);
	free(rcpts);
	size_t forged = header_strip_ours(&s->tx.msg);
	if (forged)
		log_warn("session=%s tx=%s removed %zu X-Sekisho-* header fields that came "
			 "from outside", s->id, s->tx.id, forged);
	forged = header_strip_auth_results(&s->tx.msg, s->snap->auth->authserv_id);
	if (forged)
		log_warn("session=%s tx=%s removed %zu Authentication-Results fields claiming "
			 "to be ours", s->id, s->tx.id, forged);
	if (unjudged(s, a)) {
		a = ACTION_TEMPFAIL;
		goto refused;
	}
	switch (a) {
	case ACTION_NONE:
	case ACTION_ACCEPT:
		auth_results_header(header, s->snap->auth->authserv_id, &s->tx.policy.facts);
		return true;
	case ACTION_TAG:
		auth_results_header(header, s->snap->auth->authserv_id, &s->tx.policy.facts);
		tag_headers(s, header);
		return true;
	case ACTION_REJECT:
	case ACTION_TEMPFAIL:
		refuse(s, a, a == ACTION_REJECT ? 550 : 451, s->tx.id);
		break;
	case ACTION_DISCARD:
		session_reply(s, "250 2.0.0 Ok: queued as %s", s->tx.id);
		break;
	case ACTION_QUARANTINE:
		if (quarantine(s, &error) == 0) {
			session_reply(s, "250 2.0.0 Ok: queued as %s", s->tx.id);
		} else {
			/* Fail closed: the sender keeps the message and retries. */
			log_err("session=%s tx=%s quarantine failed: %s", s->id, s->tx.id, error);
			session_reply(s, "451 4.3.0 Cannot hold the message now; try again later "
					 "(ref %s)", s->tx.id);
			a = ACTION_TEMPFAIL;
		}
		free(error);
		break;
	}
refused:
	delivery_abort(s);
	/* Log the reply as the client got it, without its CR LF. */
	reply = xstrndup(s->conn.out.data + before, s->conn.out.len - before - 2);
	session_log_tx(s, a == ACTION_QUARANTINE ? "quarantined" : a == ACTION_DISCARD ? "discarded"
			  : a == ACTION_REJECT ? "rejected" : "tempfail", reply);
	free(reply);
	return false;
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

void policy_log(const struct session *s, struct buf *line)
{
	const struct verdict *v = &s->tx.policy.verdict;
	char *hits = rules_hit(v);
	char *auth = auth_summary(&s->tx.policy.facts);
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
