/*
 * rule_eval - decide: the rules of one stage against the facts.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xalloc.h"
#include "rules/rule_eval.h"
#include "rules/rule_parser.h"

void verdict_init(struct verdict *v)
{
	memset(v, 0, sizeof(*v));
}

void verdict_free(struct verdict *v)
{
	free(v->hits);
	verdict_init(v);
}

void verdict_copy(struct verdict *dst, const struct verdict *src)
{
	verdict_free(dst);
	*dst = *src;
	dst->hits = xcalloc(src->nhits ? src->nhits : 1, sizeof(*dst->hits));
	if (src->nhits)
		memcpy(dst->hits, src->hits, src->nhits * sizeof(*dst->hits));
}

/* A fact made up on the spot for score and symbol.* */
struct computed {
	struct fact fact;
	char *value;
	char text[64];
};

/* lookup - the fact named field, from the verdict for score and symbol.* */
static const struct fact *lookup(const struct rule_env *env, const struct verdict *v,
				 const char *field, struct computed *c)
{
	const struct fact *f;

	if (strcmp(field, "score") == 0) {
		snprintf(c->text, sizeof(c->text), "%.15g", v->score);
		c->value = c->text;
		c->fact = (struct fact){.name = (char *)field, .values = &c->value, .count = 1};
		return &c->fact;
	}
	if (strncmp(field, "symbol.", 7) == 0) {
		for (size_t i = 0; i < v->nhits; i++) {
			if (strcasecmp(v->hits[i]->name, field + 7) != 0)
				continue;
			snprintf(c->text, sizeof(c->text), "%.15g", v->hits[i]->score);
			c->value = c->text;
			c->fact = (struct fact){.name = (char *)field, .values = &c->value, .count = 1};
			return &c->fact;
		}
		return NULL;
	}
	if (env->item && rule_field_scope(field) == env->item_scope)
		return facts_find(env->item, field);
	if (env->tx && (f = facts_find(env->tx, field)) != NULL)
		return f;
	return env->session ? facts_find(env->session, field) : NULL;
}

/* in_network - value is an IP address inside one of the list's networks */
static bool in_network(const struct rule_list *list, const char *value)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};

	if (list->cidrs.count == 0)
		return false;
	if (inet_pton(AF_INET, value, &sin.sin_addr) == 1)
		return cidr_list_match(&list->cidrs, (struct sockaddr *)&sin);
	if (inet_pton(AF_INET6, value, &sin6.sin6_addr) == 1)
		return cidr_list_match(&list->cidrs, (struct sockaddr *)&sin6);
	return false;
}

static bool in_list(const struct rule_list *list, const char *value)
{
	if (list == NULL)
		return false;
	for (size_t i = 0; i < list->count; i++)
		if (strcasecmp(list->items[i], value) == 0)
			return true;
	return in_network(list, value);
}

static bool compare_number(enum cond_op op, const char *value, double want)
{
	char *end;
	double got = strtod(value, &end);

	if (end == value || *end != '\0')
		return false;
	switch (op) {
	case OP_GT:
		return got > want;
	case OP_LT:
		return got < want;
	case OP_GE:
		return got >= want;
	default:
		return got <= want;
	}
}

/* value_matches - the positive form of the condition, for one value */
static bool value_matches(const struct expr *e, const char *value)
{
	switch (e->op) {
	case OP_EXISTS:
		return value[0] != '\0';
	case OP_EQ:
	case OP_NE:
		return strcasecmp(value, e->str) == 0;
	case OP_CONTAINS:
		return strcasestr(value, e->str) != NULL;
	case OP_IN:
	case OP_NOT_IN:
		return in_list(e->list, value);
	case OP_GT:
	case OP_LT:
	case OP_GE:
	case OP_LE:
		return compare_number(e->op, value, e->num);
	default:
		return false;
	}
}

static bool eval_cond(const struct expr *e, const struct rule_env *env, const struct verdict *v)
{
	struct computed c;
	const struct fact *f = lookup(env, v, e->field, &c);
	bool any = false;

	if (e->op == OP_MATCH || e->op == OP_NOMATCH) {
		/* the prefilter's candidates come from the message's values */
		const struct fact *whole = env->item && env->tx && f &&
						   rule_field_scope(e->field) == env->item_scope
						   ? facts_find(env->tx, e->field)
						   : f;
		any = e->re && f && rule_regex_match_part(env->match, e->re, whole, f);
		return e->op == OP_MATCH ? any : !any;
	}
	for (size_t i = 0; f && i < f->count && !any; i++)
		any = value_matches(e, f->values[i]);
	return (e->op == OP_NE || e->op == OP_NOT_IN) ? !any : any;
}

static bool eval(const struct expr *e, const struct rule_env *env, const struct verdict *v)
{
	switch (e->kind) {
	case EXPR_AND:
		return eval(e->left, env, v) && eval(e->right, env, v);
	case EXPR_OR:
		return eval(e->left, env, v) || eval(e->right, env, v);
	case EXPR_NOT:
		return !eval(e->left, env, v);
	default:
		return eval_cond(e, env, v);
	}
}

/* eval_scoped - does the condition hold with the values of one file (or link)? */
static bool eval_scoped(const struct expr *e, const struct rule_env *env, enum rule_scope scope,
			const struct verdict *v)
{
	static const struct facts none;
	struct rule_env scoped = *env;
	const struct facts *sets = NULL;
	size_t n = 0;

	if (env->tx) {
		sets = scope == SCOPE_FILE ? env->tx->files : env->tx->links;
		n = scope == SCOPE_FILE ? env->tx->nfiles : env->tx->nlinks;
	}
	scoped.item_scope = scope;
	if (n == 0) {
		scoped.item = &none;
		return eval(e, &scoped, v);
	}
	for (size_t i = 0; i < n; i++) {
		scoped.item = &sets[i];
		if (eval(e, &scoped, v))
			return true;
	}
	return false;
}

bool rule_matches(const struct rule *r, const struct rule_env *env, const struct verdict *v)
{
	if (r->when == NULL)
		return true;
	return r->scope != SCOPE_MESSAGE ? eval_scoped(r->when, env, r->scope, v)
					 : eval(r->when, env, v);
}

enum rule_action rules_run_stage(const struct ruleset *rs, enum rule_stage stage,
				 const struct rule_env *env, struct verdict *v)
{
	if (rs == NULL)
		return ACTION_NONE;
	if (env->match)
		rule_match_ctx_reset(env->match);
	for (size_t i = 0; i < rs->count && !verdict_done(v); i++) {
		const struct rule *r = &rs->rules[i];

		if (r->stage != stage || !rule_matches(r, env, v))
			continue;
		v->hits = xrealloc(v->hits, (v->nhits + 1) * sizeof(*v->hits));
		v->hits[v->nhits++] = r;
		if (r->has_score)
			v->score += r->score;
		if (r->action == ACTION_TAG && v->action == ACTION_NONE)
			v->action = ACTION_TAG;
		else if (r->action != ACTION_NONE && r->action != ACTION_TAG) {
			v->action = r->action;
			v->decider = r;
			return r->action;
		}
	}
	return ACTION_NONE;
}
