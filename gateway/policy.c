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
#include "filters/auth.h"
#include "gateway/auth_results.h"
#include "gateway/delivery.h"
#include "gateway/header_strip.h"
#include "gateway/policy.h"
#include "gateway/received.h"
#include "gateway/verdict.h"

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
	snapshot_filter_services(s->snap, in);
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
	session_reply(s, "%d %s (ref %s)", code, verdict_refusal_text(s->policy.decider, a), ref);
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

/* quarantine - store the message as it would have been delivered */
static int quarantine(struct session *s, char **error_r)
{
	const char **rcpts = xcalloc(s->tx.nrcpt, sizeof(*rcpts));
	struct verdict_hold h = {
	    .id = s->tx.id, .client_ip = s->peer_ip, .helo = s->helo, .from = s->tx.from.addr,
	    .rcpts = rcpts, .nrcpt = s->tx.nrcpt, .policy = &s->tx.policy,
	    .msg = s->tx.msg.data, .len = s->tx.msg.len};
	struct buf header;
	int rc;

	for (size_t i = 0; i < s->tx.nrcpt; i++)
		rcpts[i] = s->tx.rcpts[i].addr;
	buf_init(&header);
	received_header(&header, s);
	auth_results_header(&header, s->snap->auth->authserv_id, &s->tx.policy.facts);
	h.header = header.data;
	h.header_len = header.len;
	rc = verdict_quarantine(s->snap, &h, error_r);
	buf_free(&header);
	free(rcpts);
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
		verdict_tag_headers(&s->tx.policy.verdict, header);
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

void policy_log(const struct session *s, struct buf *line)
{
	verdict_log(&s->tx.policy.verdict, &s->tx.policy.facts, line);
}
