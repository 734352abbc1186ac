/*
 * ruleset - the compiled rule files: lists, rules, and their regexes.
 *
 * A ruleset is built once from every .rules file in the rules folder (in name order),
 * checked as a whole, and then never changes: it lives in the
 * configuration snapshot and is shared by every session. Building it
 * reports each problem as "file:line:column: message"; one bad file
 * refuses the whole set.
 *
 * The language is described in doc/rules.md.
 */
#ifndef SEKISHO_RULESET_H
#define SEKISHO_RULESET_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/cidr.h"

/* When a rule can be decided: the latest stage of any fact it reads. */
enum rule_stage {
	STAGE_CONNECT,
	STAGE_HELO,
	STAGE_MAIL,
	STAGE_RCPT,
	STAGE_DATA,
	STAGE_SCORE,	/* reads score or symbol.*: after every other rule */
	STAGE_COUNT
};

enum rule_action {
	ACTION_NONE,
	ACTION_ACCEPT,
	ACTION_TAG,
	ACTION_QUARANTINE,
	ACTION_DISCARD,
	ACTION_TEMPFAIL,
	ACTION_REJECT,
};

enum expr_kind { EXPR_AND, EXPR_OR, EXPR_NOT, EXPR_COND };

/* what one judgement of a rule sees (rule_eval.h) */
enum rule_scope {
	SCOPE_MESSAGE,	/* the message's facts */
	SCOPE_FILE,	/* one file's attachment.*, archive.*, office.* at a time */
	SCOPE_LINK,	/* one link's url.* at a time */
};

enum cond_op {
	OP_EXISTS,	/* field alone: has a non-empty value */
	OP_EQ,
	OP_NE,
	OP_MATCH,	/* =~ */
	OP_NOMATCH,	/* !~ */
	OP_IN,
	OP_NOT_IN,
	OP_CONTAINS,
	OP_GT,
	OP_LT,
	OP_GE,
	OP_LE,
};

struct rule_list {
	char *name;		/* NULL for an inline [ ... ] list */
	char **items;		/* lowercased */
	size_t count;
	struct cidr_list cidrs;	/* the items that are networks */
};

struct rule_regex;

struct expr {
	enum expr_kind kind;
	struct expr *left, *right;	/* AND, OR; NOT uses left */
	char *field;			/* COND: lowercase fact name */
	enum cond_op op;
	char *str;			/* EQ, NE, CONTAINS: lowercased operand */
	double num;			/* GT, LT, GE, LE */
	struct rule_regex *re;		/* MATCH, NOMATCH */
	struct rule_list *list;		/* IN, NOT_IN */
	bool list_owned;		/* inline list freed with the expr */
};

struct rate_limit;

struct rule_test {
	bool match;
	char *path;			/* resolved against the rule file's folder */
	char *ip, *helo, *from, *rcpt;	/* optional envelope for the test */
	int line;
};

struct rule {
	char *name;
	char *desc;
	char *file;
	int line;
	struct expr *when;		/* NULL: always */
	bool has_score;
	double score;
	enum rule_action action;
	char *action_text;		/* reject/tempfail reply, quarantine reason, tag text */
	enum rule_stage stage;
	enum rule_scope scope;		/* judged file by file, or link by link */
	const struct rate_limit *limit;	/* the rule of a limit block: its limit */
	struct rule_test *tests;
	size_t ntests;
};

/*
 * A rate limit ("limit NAME" block, doc/rules.md): what is counted, under
 * which key, and how fast it may come. The rate filter
 * (filters/ratelimit.c) counts and records rate.<name>.* facts; the
 * block's own action, if any, is an ordinary rule on those facts.
 */
enum limit_count {
	COUNT_CONNECTIONS,	/* at connect */
	COUNT_MESSAGES,		/* at MAIL: one per transaction */
	COUNT_RECIPIENTS,	/* at RCPT: one per recipient */
};

enum limit_key {
	KEY_CLIENT_IP,
	KEY_CLIENT_NET,		/* the client's /24 (IPv4) or /64 (IPv6) */
	KEY_HELO,
	KEY_ENV_FROM,
	KEY_ENV_FROM_DOMAIN,
	KEY_ENV_RCPT,
	KEY_ENV_RCPT_DOMAIN,
};

#define LIMIT_MAX_KEY_PARTS 4

struct rate_limit {
	char *name;		/* as written: SENDER_FLOOD */
	char *fact;		/* "rate.sender_flood": the prefix of its facts */
	enum limit_count count;
	enum limit_key key[LIMIT_MAX_KEY_PARTS];
	size_t nkey;
	double rate;		/* this many events ... */
	double period;		/* ... per this many seconds, on average */
	double burst;		/* events that may come at once (default: rate) */
};

struct ruleset {
	struct rule *rules;
	size_t count;
	struct rule_list **lists;
	size_t nlists;
	struct rule_regex **regexes;
	size_t nregexes;
	struct rule_prefilter *prefilter;	/* Vectorscan candidates, may be NULL */
	struct rate_limit **limits;
	size_t nlimits;
};

/* Limits on what a rule file may hold, so a hostile or broken one is an
 * error and not a memory or stack problem. */
#define RULES_MAX_FILE_SIZE (16 * 1024 * 1024)
#define RULES_MAX_RULES 100000
#define RULES_MAX_EXPR_DEPTH 64
#define RULES_MAX_LIST_ITEMS 100000
#define RULES_MAX_LIMITS 1000
#define RULES_MAX_LIMIT_NAME 64

/*
 * ruleset_load_dir - every *.rules file in dir, in name order. Returns 0
 * with *rs_r, or -1 with *errors_r (malloc'd, one problem per line).
 */
int ruleset_load_dir(const char *dir, struct ruleset **rs_r, char **errors_r);

/* ruleset_load_text - one file's text, for tests and fuzzing */
int ruleset_load_text(const char *name, const char *text, size_t len, struct ruleset **rs_r,
		      char **errors_r);

void ruleset_free(struct ruleset *rs);

/* ruleset_drop_prefilter - confirm every regex with PCRE2 alone (benchmarks) */
void ruleset_drop_prefilter(struct ruleset *rs);

const char *rule_action_name(enum rule_action a);
const char *rule_stage_name(enum rule_stage s);

/* limit_stage - when a limit counts (and its facts are known) */
enum rule_stage limit_stage(const struct rate_limit *l);
const char *limit_count_name(enum limit_count c);
const char *limit_key_name(enum limit_key k);

#endif
