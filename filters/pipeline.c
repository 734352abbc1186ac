/*
 * pipeline - filters then rules, stage by stage.
 */
#include "config.h"

#include <stdio.h>

#include "common/log.h"
#include "common/metrics.h"
#include "filters/pipeline.h"
#include "rules/rule_limit.h"

/*
 * note_trips - a limit trips when its own rule matches (the event is over
 * the limit and the block's when holds): one warning, for log
 * monitoring, and the count in the metrics. Events of exempt clients are
 * over a limit too, but nothing happens to them, so they make no noise.
 */
static void note_trips(const struct pipeline *p, const struct facts *tx,
		       const struct filter_input *in, const struct verdict *v, size_t from)
{
	for (size_t i = from; i < v->nhits; i++) {
		const struct rate_limit *l = v->hits[i]->limit;
		const struct fact *key;
		char name[128];

		if (l == NULL)
			continue;
		snprintf(name, sizeof(name), "%s.key", l->fact);
		key = tx ? facts_find(tx, name) : NULL;
		if (key == NULL)
			key = facts_find(&p->facts, name);
		const char *k = key && key->count ? key->values[0] : "";
		metrics_limit_tripped(l->name, k);
		log_warn("%s limit=%s key=%s client=%s tripped: over %g %s per %gs (burst %g)",
			 in->log_ref ? in->log_ref : "-", l->name, k, in->client_ip, l->rate,
			 limit_count_name(l->count), l->period, limit_burst(l));
	}
}

void pipeline_init(struct pipeline *p, const struct ruleset *rules)
{
	p->rules = rules;
	p->match = rules ? rule_match_ctx_new(rules->prefilter, rules->nregexes) : NULL;
	facts_init(&p->facts);
	verdict_init(&p->verdict);
}

void pipeline_free(struct pipeline *p)
{
	rule_match_ctx_free(p->match);
	facts_clear(&p->facts);
	verdict_free(&p->verdict);
	p->match = NULL;
}

/* run - rules of stage on a copy of v; commit the copy unless it refused */
static enum rule_action run(struct pipeline *p, enum rule_stage stage, const struct facts *tx,
			    const struct filter_input *in, struct verdict *v, bool commit_refusals)
{
	struct rule_env env = {.tx = tx, .session = &p->facts, .match = p->match};
	struct verdict scratch;
	enum rule_action a;

	verdict_init(&scratch);
	verdict_copy(&scratch, v);
	a = rules_run_stage(p->rules, stage, &env, &scratch);
	p->decider = a != ACTION_NONE ? scratch.decider : NULL;
	note_trips(p, tx, in, &scratch, v->nhits);
	if (commit_refusals || (a != ACTION_REJECT && a != ACTION_TEMPFAIL)) {
		verdict_free(v);
		*v = scratch;
	} else {
		verdict_free(&scratch);
	}
	return a;
}

/* counted - a refusal before the message is a decision the metrics count */
static enum rule_action counted(enum rule_action a)
{
	if (a == ACTION_REJECT || a == ACTION_TEMPFAIL)
		metrics_action(rule_action_name(a));
	return a;
}

enum rule_action pipeline_connect(struct pipeline *p, const struct filter_input *in)
{
	filters_run(HOOK_CONNECT, in, &p->facts);
	return counted(run(p, STAGE_CONNECT, NULL, in, &p->verdict, false));
}

enum rule_action pipeline_helo(struct pipeline *p, const struct filter_input *in)
{
	filters_run(HOOK_HELO, in, &p->facts);
	return counted(run(p, STAGE_HELO, NULL, in, &p->verdict, false));
}

void pipeline_tx_begin(struct pipeline *p, struct pipeline_tx *tx)
{
	facts_init(&tx->facts);
	verdict_init(&tx->verdict);
	verdict_copy(&tx->verdict, &p->verdict);
}

void pipeline_tx_clear(struct pipeline_tx *tx)
{
	facts_clear(&tx->facts);
	verdict_free(&tx->verdict);
}

enum rule_action pipeline_mail(struct pipeline *p, struct pipeline_tx *tx,
			       const struct filter_input *in)
{
	filters_run(HOOK_MAIL, in, &tx->facts);
	return counted(run(p, STAGE_MAIL, &tx->facts, in, &tx->verdict, false));
}

enum rule_action pipeline_rcpt(struct pipeline *p, struct pipeline_tx *tx,
			       const struct filter_input *in)
{
	struct rule_env env = {.tx = &tx->facts, .session = &p->facts, .match = p->match};
	struct verdict scratch;
	enum rule_action a;

	/* Judged again with every recipient at the end of data; here only a
	 * refusal of this one recipient counts. */
	filters_run(HOOK_RCPT, in, &tx->facts);
	verdict_init(&scratch);
	verdict_copy(&scratch, &tx->verdict);
	a = rules_run_stage(p->rules, STAGE_RCPT, &env, &scratch);
	p->decider = a != ACTION_NONE ? scratch.decider : NULL;
	note_trips(p, &tx->facts, in, &scratch, tx->verdict.nhits);
	verdict_free(&scratch);
	return a == ACTION_REJECT || a == ACTION_TEMPFAIL ? a : ACTION_NONE;
}

enum rule_action pipeline_message(struct pipeline *p, struct pipeline_tx *tx,
				  const struct filter_input *in)
{
	filters_run(HOOK_MESSAGE, in, &tx->facts);
	for (enum rule_stage s = STAGE_RCPT; s <= STAGE_SCORE; s++)
		run(p, s, &tx->facts, in, &tx->verdict, true);
	p->decider = tx->verdict.decider;
	metrics_action(rule_action_name(tx->verdict.action));
	return tx->verdict.action;
}
