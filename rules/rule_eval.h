/*
 * rule_eval - decide: the rules of one stage against the facts.
 *
 * Rules are looked at in file order. A rule that matches adds its score
 * and its name to the verdict, and a tag rule its text; the first
 * matching rule with a deciding action (accept, quarantine, discard,
 * tempfail, reject) decides, and no later rule is looked at. Rules that
 * read "score" or "symbol.*" run last, once every other score is in.
 * Fields with many values (every recipient, every Received header) match
 * when any value does; "!=", "!~" and "not in" are the negation of that.
 *
 * A rule that names a field of one file (attachment.*, archive.*,
 * office.*) is judged file by file: it matches when its whole condition
 * holds with one file's values, so "attachment.ext == zip and
 * attachment.size > 10M" asks for one large zip, not any zip and any
 * large file. Other fields keep the message's values. With no file at all
 * the condition is judged once, with no file values. A rule on url.*
 * fields is judged link by link the same way (url.count and
 * url.limit_exceeded are the message's); one rule cannot ask of a file
 * and a link at once (the parser refuses it).
 */
#ifndef SEKISHO_RULE_EVAL_H
#define SEKISHO_RULE_EVAL_H

#include <stdbool.h>

#include "filters/facts.h"
#include "rules/rule_regex.h"
#include "rules/ruleset.h"

struct verdict {
	enum rule_action action;	/* ACTION_NONE until a rule decides */
	const struct rule *decider;
	double score;
	const struct rule **hits;
	size_t nhits;
};

void verdict_init(struct verdict *v);
void verdict_copy(struct verdict *dst, const struct verdict *src);
void verdict_free(struct verdict *v);

/* verdict_done - a rule has decided: nothing more to evaluate */
static inline bool verdict_done(const struct verdict *v)
{
	return v->action != ACTION_NONE && v->action != ACTION_TAG;
}

/* Facts are looked up in the transaction's set first, then the session's. */
struct rule_env {
	const struct facts *tx;
	const struct facts *session;
	struct rule_match_ctx *match;
	const struct facts *item;	/* set by the evaluator: the file or link judged now */
	enum rule_scope item_scope;	/* ... and which of the two */
};

/*
 * rules_run_stage - run the rules of stage; returns the action a rule of
 * this stage decided, or ACTION_NONE.
 */
enum rule_action rules_run_stage(const struct ruleset *rs, enum rule_stage stage,
				 const struct rule_env *env, struct verdict *v);

/* rule_matches - does this one rule's condition hold (for rules test)? */
bool rule_matches(const struct rule *r, const struct rule_env *env, const struct verdict *v);

#endif
