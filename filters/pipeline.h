/*
 * pipeline - filters then rules, stage by stage.
 *
 * At each SMTP stage the filters record their facts and then the rules of
 * that stage run. The session (connection) keeps the facts and verdict of
 * connect and HELO; each transaction starts from a copy of them. A rule
 * that rejects or tempfails at HELO, MAIL or RCPT answers only that
 * command; nothing of it stays. The SMTP front end and `sekisho scan`
 * both drive the pipeline, so a message is judged the same way in both.
 */
#ifndef SEKISHO_PIPELINE_H
#define SEKISHO_PIPELINE_H

#include "filters/filter.h"
#include "rules/rule_eval.h"
#include "rules/ruleset.h"

struct pipeline {
	const struct ruleset *rules;	/* NULL: no rules, facts only */
	struct rule_match_ctx *match;
	struct facts facts;		/* connect and HELO facts */
	struct verdict verdict;
	const struct rule *decider;	/* the rule that decided in the last call */
};

struct pipeline_tx {
	struct facts facts;
	struct verdict verdict;
};

void pipeline_init(struct pipeline *p, const struct ruleset *rules);
void pipeline_free(struct pipeline *p);

enum rule_action pipeline_connect(struct pipeline *p, const struct filter_input *in);
enum rule_action pipeline_helo(struct pipeline *p, const struct filter_input *in);

void pipeline_tx_begin(struct pipeline *p, struct pipeline_tx *tx);
void pipeline_tx_clear(struct pipeline_tx *tx);

enum rule_action pipeline_mail(struct pipeline *p, struct pipeline_tx *tx,
			       const struct filter_input *in);
/* pipeline_rcpt - only reject, tempfail (for this recipient) come back */
enum rule_action pipeline_rcpt(struct pipeline *p, struct pipeline_tx *tx,
			       const struct filter_input *in);
/* pipeline_message - the final action for the message (tx->verdict has it all) */
enum rule_action pipeline_message(struct pipeline *p, struct pipeline_tx *tx,
				  const struct filter_input *in);

#endif
