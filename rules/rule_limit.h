/*
 * rule_limit - the lines of a "limit NAME" block that say what is
 * counted: key, count, rate and burst (doc/rules.md).
 *
 * The parser hands every indented line of a limit block here first; the
 * lines a limit shares with a rule (desc, when, score, action) it keeps.
 */
#ifndef SEKISHO_RULE_LIMIT_H
#define SEKISHO_RULE_LIMIT_H

#include <stddef.h>

#include "rules/rule_lexer.h"
#include "rules/ruleset.h"

struct limit_error {
	int line, col;
	char text[200];
};

/* limit_attribute - 1: a limit line, taken; 0: not one; -1: a bad one (*err) */
int limit_attribute(struct rate_limit *l, const struct token_list *t, struct limit_error *err);

/* limit_check - is the finished block whole and consistent? -1 with *err */
int limit_check(const struct rate_limit *l, int line, struct limit_error *err);

/* limit_parse_rate - "100/1h", "5/s", "20/10m": events and period (seconds) */
int limit_parse_rate(const char *text, double *rate, double *period);

/* limit_burst - events at once: burst, or the rate's count (at least 1) */
double limit_burst(const struct rate_limit *l);

void rate_limit_free(struct rate_limit *l);

#endif
