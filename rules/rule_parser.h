/*
 * rule_parser - rule file text to rules, lists and regexes in a ruleset.
 */
#ifndef SEKISHO_RULE_PARSER_H
#define SEKISHO_RULE_PARSER_H

#include <stdbool.h>

#include "common/buf.h"
#include "rules/ruleset.h"

#define RULES_MAX_ERRORS 100

/*
 * rule_parse_file - add what text (one file, named name) holds to rs.
 * Every problem is appended to errors as "name:line:column: message\n";
 * returns the number of problems (0: all good).
 */
int rule_parse_file(struct ruleset *rs, const char *name, const char *text, size_t len,
		    struct buf *errors);

/* rule_field_stage - the stage a field is known at; -1 for an unknown field */
int rule_field_stage(const char *field);

/*
 * rule_field_scope - SCOPE_FILE for a field one file has (attachment.*,
 * archive.*, office.*), SCOPE_LINK for one a link has (url.*, but for
 * url.count and url.limit_exceeded, which are the message's), else
 * SCOPE_MESSAGE
 */
enum rule_scope rule_field_scope(const char *field);

void rule_expr_free(struct expr *e);

/* rule_free_fields - what one rule owns (not the rule itself, which is in an array) */
void rule_free_fields(struct rule *r);

#endif
