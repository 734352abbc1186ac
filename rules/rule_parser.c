/*
 * rule_parser - rule file text to rules, lists and regexes in a ruleset.
 *
 * A file is a sequence of blocks. "list NAME = item ..." and "rule NAME"
 * start at column 1; the indented lines after them belong to the block
 * (more list items, or the rule's desc/when/score/action/test lines; an
 * indented line that starts with none of those continues "when").
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xalloc.h"
#include "rules/rule_lexer.h"
#include "rules/rule_limit.h"
#include "rules/rule_parser.h"
#include "rules/rule_regex.h"

struct parser {
	struct ruleset *rs;
	const char *name;
	char *dir;		/* the file's folder, for test paths */
	struct buf *errors;
	int nerrors;
	struct rule *rule;	/* open rule block (for a limit block, its rule) */
	struct rate_limit *limit;	/* open limit block */
	struct rule_list *list;	/* open list block */
	struct token_list when;	/* tokens of the open rule's when */
	int when_line;
	bool in_when;		/* last attribute was when */
	const struct token_list *toks;	/* expression being parsed */
	size_t pos;
	int depth;
	int eol_line, eol_col;	/* where "end of expression" is */
};

static const struct {
	const char *name;
	bool prefix;
	enum rule_stage stage;
} fields[] = {
	{"client.ip", false, STAGE_CONNECT},
	{"client.port", false, STAGE_CONNECT},
	{"client.proxied", false, STAGE_CONNECT},
	{"client.early_talker", false, STAGE_CONNECT},
	{"client.ptr", false, STAGE_CONNECT},
	{"client.auth_user", false, STAGE_MAIL},
	{"dnsbl.listed", false, STAGE_CONNECT},
	{"dnsbl.code", false, STAGE_CONNECT},
	{"dnsbl.error", false, STAGE_CONNECT},
	{"helo", false, STAGE_HELO},
	{"spf.helo_result", false, STAGE_HELO},
	{"spf.helo_domain", false, STAGE_HELO},
	{"spf.result", false, STAGE_MAIL},
	{"spf.domain", false, STAGE_MAIL},
	{"spf.reason", false, STAGE_MAIL},
	{"tls", false, STAGE_MAIL},
	{"tls.version", false, STAGE_MAIL},
	{"tls.cipher", false, STAGE_MAIL},
	{"env.from", false, STAGE_MAIL},
	{"env.from_domain", false, STAGE_MAIL},
	{"env.rcpt", false, STAGE_RCPT},
	{"env.rcpt_domain", false, STAGE_RCPT},
	{"header.", true, STAGE_DATA},
	{"body.text", false, STAGE_DATA},
	{"body.html", false, STAGE_DATA},
	{"size", false, STAGE_DATA},
	{"mime.parts", false, STAGE_DATA},
	{"mime.limit_exceeded", false, STAGE_DATA},
	{"mime.malformed", false, STAGE_DATA},
	{"attachment.name", false, STAGE_DATA},
	{"attachment.ext", false, STAGE_DATA},
	{"attachment.exts", false, STAGE_DATA},
	{"attachment.name_trick", false, STAGE_DATA},
	{"attachment.declared_type", false, STAGE_DATA},
	{"attachment.type", false, STAGE_DATA},
	{"attachment.size", false, STAGE_DATA},
	{"attachment.in_archive", false, STAGE_DATA},
	{"attachment.archive_depth", false, STAGE_DATA},
	{"attachment.encrypted", false, STAGE_DATA},
	{"attachment.executable", false, STAGE_DATA},
	{"attachment.type_mismatch", false, STAGE_DATA},
	{"archive.format", false, STAGE_DATA},
	{"archive.limit_exceeded", false, STAGE_DATA},
	{"archive.corrupt", false, STAGE_DATA},
	{"office.macros", false, STAGE_DATA},
	{"av.virus", false, STAGE_DATA},
	{"av.limit_exceeded", false, STAGE_DATA},
	{"av.error", false, STAGE_DATA},
	{"analysis.error", false, STAGE_DATA},
	{"url.scheme", false, STAGE_DATA},
	{"url.host", false, STAGE_DATA},
	{"url.domain", false, STAGE_DATA},
	{"url.ip", false, STAGE_DATA},
	{"url.ip_literal", false, STAGE_DATA},
	{"url.ip_obfuscated", false, STAGE_DATA},
	{"url.host_escaped", false, STAGE_DATA},
	{"url.punycode", false, STAGE_DATA},
	{"url.userinfo", false, STAGE_DATA},
	{"url.protocol_relative", false, STAGE_DATA},
	{"url.confusable", false, STAGE_DATA},
	{"url.text_host", false, STAGE_DATA},
	{"url.text_mismatch", false, STAGE_DATA},
	{"url.shortener", false, STAGE_DATA},
	{"url.uribl", false, STAGE_DATA},
	{"url.count", false, STAGE_DATA},
	{"url.limit_exceeded", false, STAGE_DATA},
	{"uribl.listed", false, STAGE_DATA},
	{"uribl.domain", false, STAGE_DATA},
	{"uribl.code", false, STAGE_DATA},
	{"uribl.error", false, STAGE_DATA},
	{"uribl.limit_exceeded", false, STAGE_DATA},
	{"dkim.result", false, STAGE_DATA},
	{"dkim.domain", false, STAGE_DATA},
	{"dkim.selector", false, STAGE_DATA},
	{"dkim.algorithm", false, STAGE_DATA},
	{"dkim.pass_domain", false, STAGE_DATA},
	{"dkim.partial", false, STAGE_DATA},
	{"dkim.error", false, STAGE_DATA},
	{"dkim.reason", false, STAGE_DATA},
	{"dkim.key_bits", false, STAGE_DATA},
	{"dkim.limit_exceeded", false, STAGE_DATA},
	{"dmarc.result", false, STAGE_DATA},
	{"dmarc.policy", false, STAGE_DATA},
	{"dmarc.requested_policy", false, STAGE_DATA},
	{"dmarc.domain", false, STAGE_DATA},
	{"dmarc.org_domain", false, STAGE_DATA},
	{"dmarc.reason", false, STAGE_DATA},
	{"dmarc.record_domain", false, STAGE_DATA},
	{"dmarc.from_domain", false, STAGE_DATA},
	{"dmarc.spf_aligned", false, STAGE_DATA},
	{"dmarc.dkim_aligned", false, STAGE_DATA},
	{"score", false, STAGE_SCORE},
	{"symbol.", true, STAGE_SCORE},
};

int rule_field_stage(const char *field)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		size_t n = strlen(fields[i].name);
		if (fields[i].prefix ? strncmp(field, fields[i].name, n) == 0 && field[n]
				     : strcmp(field, fields[i].name) == 0)
			return (int)fields[i].stage;
	}
	return -1;
}

static struct rate_limit *find_limit(const struct parser *p, const char *name, size_t len)
{
	for (size_t i = 0; i < p->rs->nlimits; i++) {
		const char *f = p->rs->limits[i]->fact + 5;	/* after "rate." */
		if (strlen(f) == len && strncmp(f, name, len) == 0)
			return p->rs->limits[i];
	}
	if (p->limit && strlen(p->limit->fact + 5) == len &&
	    strncmp(p->limit->fact + 5, name, len) == 0)
		return p->limit;
	return NULL;
}

/*
 * field_stage - rule_field_stage, and the facts of the limits defined so
 * far: rate.<name>.exceeded|count|key|error, known when the limit counts
 */
static int field_stage(const struct parser *p, const char *field)
{
	static const char *const rate_facts[] = {"exceeded", "count", "key", "error"};
	const char *dot;
	const struct rate_limit *l;

	if (strncmp(field, "rate.", 5) != 0)
		return rule_field_stage(field);
	if ((dot = strchr(field + 5, '.')) == NULL ||
	    (l = find_limit(p, field + 5, (size_t)(dot - field - 5))) == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(rate_facts) / sizeof(rate_facts[0]); i++)
		if (strcmp(dot + 1, rate_facts[i]) == 0)
			return (int)limit_stage(l);
	return -1;
}

enum rule_scope rule_field_scope(const char *field)
{
	static const char *const file[] = {"attachment.", "archive.", "office."};

	for (size_t i = 0; i < sizeof(file) / sizeof(file[0]); i++)
		if (strncmp(field, file[i], strlen(file[i])) == 0)
			return SCOPE_FILE;
	if (strncmp(field, "url.", 4) == 0 && strcmp(field, "url.count") != 0 &&
	    strcmp(field, "url.limit_exceeded") != 0)
		return SCOPE_LINK;
	return SCOPE_MESSAGE;
}

static void error_at(struct parser *p, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void error_at(struct parser *p, int line, int col, const char *fmt, ...)
{
	va_list ap;

	if (++p->nerrors > RULES_MAX_ERRORS)
		return;
	buf_printf(p->errors, "%s:%d:%d: ", p->name, line, col);
	va_start(ap, fmt);
	buf_vprintf(p->errors, fmt, ap);
	va_end(ap);
	buf_append_char(p->errors, '\n');
}

static char *lower_dup(const char *s)
{
	char *d = xstrdup(s);

	for (char *c = d; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return d;
}

/* parse_number - "4.5", "-2", "10K", "2M", "1G" */
static int parse_number(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v))
		return -1;
	if (*end == 'K' || *end == 'k')
		v *= 1024, end++;
	else if (*end == 'M' || *end == 'm')
		v *= 1024 * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		v *= 1024.0 * 1024 * 1024, end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

static bool valid_field(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '-' || *s == '.'))
			return false;
	return true;
}

/* ---- lists ---------------------------------------------------------- */

static void list_add_item(struct parser *p, struct rule_list *list, const struct token *t)
{
	const char *why;
	struct cidr net;

	if (t->kind != TOK_WORD && t->kind != TOK_STRING) {
		error_at(p, t->line, t->col, "expected a list item, got \"%s\"", t->text);
		return;
	}
	if (list->count >= RULES_MAX_LIST_ITEMS) {
		error_at(p, t->line, t->col, "list has more than %d items", RULES_MAX_LIST_ITEMS);
		return;
	}
	list->items = xrealloc(list->items, (list->count + 1) * sizeof(*list->items));
	list->items[list->count++] = lower_dup(t->text);
	if (t->kind == TOK_WORD && (strchr(t->text, '/') || strchr(t->text, ':') ||
				    strspn(t->text, "0123456789.") == strlen(t->text)) &&
	    cidr_parse(t->text, &net, &why) == 0) {
		struct cidr_list *c = &list->cidrs;
		c->items = xrealloc(c->items, (c->count + 1) * sizeof(*c->items));
		c->items[c->count++] = net;
	}
}

static struct rule_list *find_list(struct ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->nlists; i++)
		if (strcmp(rs->lists[i]->name, name) == 0)
			return rs->lists[i];
	return NULL;
}

static void start_list(struct parser *p, const struct token_list *t)
{
	struct rule_list *list;

	if (t->count < 3 || t->items[1].kind != TOK_WORD || t->items[2].kind != TOK_OP ||
	    strcmp(t->items[2].text, "=") != 0) {
		error_at(p, t->items[0].line, t->count > 1 ? t->items[1].col : t->items[0].col,
			 "expected: list NAME = item item ...");
		return;
	}
	if (!valid_name(t->items[1].text)) {
		error_at(p, t->items[1].line, t->items[1].col,
			 "list name may hold letters, digits, _ and -");
		return;
	}
	if (find_list(p->rs, t->items[1].text)) {
		error_at(p, t->items[1].line, t->items[1].col, "list %s is defined twice",
			 t->items[1].text);
		return;
	}
	list = xcalloc(1, sizeof(*list));
	list->name = xstrdup(t->items[1].text);
	p->rs->lists = xrealloc(p->rs->lists, (p->rs->nlists + 1) * sizeof(*p->rs->lists));
	p->rs->lists[p->rs->nlists++] = list;
	for (size_t i = 3; i < t->count; i++)
		list_add_item(p, list, &t->items[i]);
	p->list = list;
}

/* ---- expressions ---------------------------------------------------- */

static const struct token *peek(struct parser *p)
{
	return p->pos < p->toks->count ? &p->toks->items[p->pos] : NULL;
}

static bool peek_word(struct parser *p, const char *word)
{
	const struct token *t = peek(p);

	return t && t->kind == TOK_WORD && strcasecmp(t->text, word) == 0;
}

static void error_here(struct parser *p, const char *what)
{
	const struct token *t = peek(p);

	if (t)
		error_at(p, t->line, t->col, "expected %s, got \"%s\"", what, t->text);
	else
		error_at(p, p->eol_line, p->eol_col, "expected %s at the end of the line", what);
}

static struct expr *parse_or(struct parser *p);

static struct rule_list *parse_list_operand(struct parser *p, bool *owned)
{
	const struct token *t = peek(p);
	struct rule_list *list;

	if (t && t->kind == TOK_WORD && t->text[0] == '@') {
		p->pos++;
		list = find_list(p->rs, t->text + 1);
		if (list == NULL)
			error_at(p, t->line, t->col, "unknown list %s (lists must be defined before use)",
				 t->text);
		*owned = false;
		return list;
	}
	list = xcalloc(1, sizeof(*list));
	*owned = true;
	if (t && t->kind == TOK_LBRACKET) {
		p->pos++;
		while ((t = peek(p)) && t->kind != TOK_RBRACKET) {
			list_add_item(p, list, t);
			p->pos++;
		}
		if (t == NULL)
			error_here(p, "]");
		else
			p->pos++;
	} else if (t && (t->kind == TOK_WORD || t->kind == TOK_STRING)) {
		list_add_item(p, list, t);
		p->pos++;
	} else {
		error_here(p, "[items], @list or a network");
	}
	return list;
}

static void compile_regex(struct parser *p, struct expr *e, const struct token *t)
{
	struct rule_regex *re = xcalloc(1, sizeof(*re));
	char err[256];
	size_t off = 0;

	re->source = xstrdup(t->text);
	re->flags = xstrdup(t->flags ? t->flags : "");
	re->field = xstrdup(e->field);
	if (rule_regex_compile(re, err, sizeof(err), &off) != 0) {
		error_at(p, t->line, t->col + 1 + (int)off, "bad regular expression: %s", err);
		rule_regex_free(re);
		return;
	}
	re->id = (unsigned)p->rs->nregexes;
	p->rs->regexes = xrealloc(p->rs->regexes, (p->rs->nregexes + 1) * sizeof(*p->rs->regexes));
	p->rs->regexes[p->rs->nregexes++] = re;
	e->re = re;
}

/* parse_operand - what follows the operator of a condition */
static void parse_operand(struct parser *p, struct expr *e)
{
	const struct token *t = peek(p);

	switch (e->op) {
	case OP_MATCH:
	case OP_NOMATCH:
		if (t == NULL || t->kind != TOK_REGEX) {
			error_here(p, "/regular expression/ after =~ or !~");
			return;
		}
		compile_regex(p, e, t);
		p->pos++;
		return;
	case OP_IN:
	case OP_NOT_IN:
		e->list = parse_list_operand(p, &e->list_owned);
		return;
	case OP_GT:
	case OP_LT:
	case OP_GE:
	case OP_LE:
		if (t == NULL || t->kind != TOK_WORD || parse_number(t->text, &e->num) != 0) {
			error_here(p, "a number after a comparison");
			return;
		}
		p->pos++;
		return;
	default:
		if (t == NULL || (t->kind != TOK_WORD && t->kind != TOK_STRING)) {
			error_here(p, "a value (\"text\" or a word)");
			return;
		}
		e->str = lower_dup(t->text);
		p->pos++;
	}
}

static bool parse_op(struct parser *p, struct expr *e)
{
	const struct token *t = peek(p);
	static const struct {
		const char *text;
		enum cond_op op;
	} ops[] = {{"==", OP_EQ}, {"!=", OP_NE}, {"=~", OP_MATCH}, {"!~", OP_NOMATCH},
		   {">", OP_GT},  {"<", OP_LT},	 {">=", OP_GE},	   {"<=", OP_LE}};

	if (t && t->kind == TOK_OP) {
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			if (strcmp(t->text, ops[i].text) == 0) {
				e->op = ops[i].op;
				p->pos++;
				return true;
			}
		}
		error_here(p, "an operator (== != =~ !~ > < >= <= in contains)");
		return false;
	}
	if (peek_word(p, "in")) {
		e->op = OP_IN;
	} else if (peek_word(p, "contains")) {
		e->op = OP_CONTAINS;
	} else if (peek_word(p, "not") && p->pos + 1 < p->toks->count &&
		   p->toks->items[p->pos + 1].kind == TOK_WORD &&
		   strcasecmp(p->toks->items[p->pos + 1].text, "in") == 0) {
		e->op = OP_NOT_IN;
		p->pos++;
	} else {
		e->op = OP_EXISTS;
		return true;
	}
	p->pos++;
	return true;
}

static struct expr *parse_cond(struct parser *p)
{
	const struct token *t = peek(p);
	struct expr *e;

	if (t == NULL || t->kind != TOK_WORD || peek_word(p, "and") || peek_word(p, "or")) {
		error_here(p, "a field name (client.ip, header.subject, ...)");
		return NULL;
	}
	e = xcalloc(1, sizeof(*e));
	e->kind = EXPR_COND;
	e->field = lower_dup(t->text);
	if (!valid_field(e->field) || field_stage(p, e->field) < 0)
		error_at(p, t->line, t->col,
			 strncmp(e->field, "rate.", 5) == 0
				 ? "unknown field \"%s\" (a limit must be defined before its "
				   "rate.NAME.exceeded, .count, .key or .error is used)"
				 : "unknown field \"%s\"",
			 t->text);
	p->pos++;
	if (parse_op(p, e) && e->op != OP_EXISTS)
		parse_operand(p, e);
	return e;
}

static struct expr *node(enum expr_kind kind, struct expr *left, struct expr *right)
{
	struct expr *e = xcalloc(1, sizeof(*e));

	e->kind = kind;
	e->left = left;
	e->right = right;
	return e;
}

static struct expr *parse_primary(struct parser *p)
{
	const struct token *t = peek(p);
	struct expr *e;

	if (t && t->kind == TOK_LPAREN) {
		if (++p->depth > RULES_MAX_EXPR_DEPTH) {
			error_at(p, t->line, t->col, "expression nested deeper than %d",
				 RULES_MAX_EXPR_DEPTH);
			p->pos = p->toks->count;
			return NULL;
		}
		p->pos++;
		e = parse_or(p);
		p->depth--;
		if ((t = peek(p)) == NULL || t->kind != TOK_RPAREN)
			error_here(p, ")");
		else
			p->pos++;
		return e;
	}
	return parse_cond(p);
}

static struct expr *parse_not(struct parser *p)
{
	if (peek_word(p, "not")) {
		const struct token *t = peek(p);
		struct expr *e;
		if (++p->depth > RULES_MAX_EXPR_DEPTH) {
			error_at(p, t->line, t->col, "expression nested deeper than %d",
				 RULES_MAX_EXPR_DEPTH);
			p->pos = p->toks->count;
			return NULL;
		}
		p->pos++;
		e = node(EXPR_NOT, parse_not(p), NULL);
		p->depth--;
		return e;
	}
	return parse_primary(p);
}

static struct expr *parse_and(struct parser *p)
{
	struct expr *e = parse_not(p);

	while (peek_word(p, "and")) {
		p->pos++;
		e = node(EXPR_AND, e, parse_not(p));
	}
	return e;
}

static struct expr *parse_or(struct parser *p)
{
	struct expr *e = parse_and(p);

	while (peek_word(p, "or")) {
		p->pos++;
		e = node(EXPR_OR, e, parse_and(p));
	}
	return e;
}

void rule_expr_free(struct expr *e)
{
	if (e == NULL)
		return;
	rule_expr_free(e->left);
	rule_expr_free(e->right);
	free(e->field);
	free(e->str);
	if (e->list_owned && e->list) {
		for (size_t i = 0; i < e->list->count; i++)
			free(e->list->items[i]);
		free(e->list->items);
		cidr_list_free(&e->list->cidrs);
		free(e->list);
	}
	free(e);
}

/* expr_scopes - the scopes of the fields in e, as a bit set (1 << scope) */
static unsigned expr_scopes(const struct expr *e)
{
	if (e == NULL)
		return 0;
	if (e->kind == EXPR_COND)
		return 1u << rule_field_scope(e->field);
	return expr_scopes(e->left) | expr_scopes(e->right);
}

/* recipient_limit_read - a recipient limit whose rate.* facts e reads, or NULL */
static const struct rate_limit *recipient_limit_read(const struct parser *p, const struct expr *e)
{
	const struct rate_limit *l;
	const char *dot;

	if (e == NULL)
		return NULL;
	if (e->kind != EXPR_COND)
		return (l = recipient_limit_read(p, e->left)) ? l : recipient_limit_read(p, e->right);
	if (strncmp(e->field, "rate.", 5) != 0 || (dot = strchr(e->field + 5, '.')) == NULL)
		return NULL;
	l = find_limit(p, e->field + 5, (size_t)(dot - e->field - 5));
	return l && l->count == COUNT_RECIPIENTS ? l : NULL;
}

/* expr_stage - the latest stage of any field in e */
static enum rule_stage expr_stage(const struct parser *p, const struct expr *e)
{
	enum rule_stage a, b;
	int s;

	if (e == NULL)
		return STAGE_CONNECT;
	if (e->kind == EXPR_COND) {
		s = field_stage(p, e->field);
		return s < 0 ? STAGE_DATA : (enum rule_stage)s;
	}
	a = expr_stage(p, e->left);
	b = expr_stage(p, e->right);
	return a > b ? a : b;
}

/* ---- rules ---------------------------------------------------------- */

static const char *const action_names[] = {
	[ACTION_NONE] = "none",		  [ACTION_ACCEPT] = "accept",
	[ACTION_TAG] = "tag",		  [ACTION_QUARANTINE] = "quarantine",
	[ACTION_DISCARD] = "discard",	  [ACTION_TEMPFAIL] = "tempfail",
	[ACTION_REJECT] = "reject",
};

const char *rule_action_name(enum rule_action a)
{
	return action_names[a];
}

static struct expr *cond_exists(const char *field)
{
	struct expr *e = xcalloc(1, sizeof(*e));

	e->kind = EXPR_COND;
	e->field = xstrdup(field);
	e->op = OP_EXISTS;
	return e;
}

/*
 * finish_limit - a limit block is a limit plus, when it has an action or
 * a score, the rule "when rate.<name>.exceeded [and (its when)]"
 */
static void finish_limit(struct parser *p)
{
	struct rate_limit *l = p->limit;
	struct rule *r = p->rule;
	struct limit_error err;
	char *exceeded;

	p->limit = NULL;
	if (limit_check(l, r->line, &err) != 0)
		error_at(p, err.line, err.col, "%s", err.text);
	exceeded = xasprintf("%s.exceeded", l->fact);
	r->when = r->when ? node(EXPR_AND, cond_exists(exceeded), r->when) : cond_exists(exceeded);
	free(exceeded);
	if (p->rs->nlimits >= RULES_MAX_LIMITS) {
		error_at(p, r->line, 1, "more than %d limits", RULES_MAX_LIMITS);
		rate_limit_free(l);
	} else {
		p->rs->limits = xrealloc(p->rs->limits,
					 (p->rs->nlimits + 1) * sizeof(*p->rs->limits));
		p->rs->limits[p->rs->nlimits++] = l;
		r->limit = l;
	}
	if (!r->has_score && r->action == ACTION_NONE) {
		/* Facts only: no rule (the name stays taken: find_limit). */
		rule_free_fields(r);
		p->rs->count--;
		p->rule = NULL;
	}
}

static void finish_rule(struct parser *p)
{
	struct rule *r = p->rule;

	if (r == NULL)
		return;
	if (p->when.count) {
		p->toks = &p->when;
		p->pos = 0;
		p->depth = 0;
		r->when = parse_or(p);
		if (p->pos < p->when.count)
			error_here(p, "and, or, or the end of the condition");
	} else if (p->limit == NULL) {
		error_at(p, r->line, 1, "rule %s has no when line", r->name);
	}
	if (p->limit)
		finish_limit(p);
	if ((r = p->rule) == NULL) {
		token_list_free(&p->when);
		p->in_when = false;
		return;
	}
	if (!r->has_score && r->action == ACTION_NONE)
		error_at(p, r->line, 1, "rule %s has neither score nor action", r->name);
	const struct rate_limit *rl = recipient_limit_read(p, r->when);
	if (rl && (r->has_score || (r->action != ACTION_NONE && r->action != ACTION_REJECT &&
				    r->action != ACTION_TEMPFAIL)))
		error_at(p, r->line, 1,
			 "rule %s reads the facts of %s, a recipient limit, which last only while "
			 "that recipient is judged: it can only reject or tempfail the recipient",
			 r->name, rl->name);
	r->stage = expr_stage(p, r->when);
	unsigned scopes = expr_scopes(r->when);
	if ((scopes & (1u << SCOPE_FILE)) && (scopes & (1u << SCOPE_LINK)))
		error_at(p, r->line, 1,
			 "rule %s asks of one file and one link at once (attachment.* and url.*): "
			 "split it into two rules", r->name);
	r->scope = scopes & (1u << SCOPE_FILE)	 ? SCOPE_FILE
		   : scopes & (1u << SCOPE_LINK) ? SCOPE_LINK
						 : SCOPE_MESSAGE;
	token_list_free(&p->when);
	p->rule = NULL;
	p->in_when = false;
}

static struct rule *find_rule(struct ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->count; i++)
		if (strcmp(rs->rules[i].name, name) == 0)
			return &rs->rules[i];
	return NULL;
}

static void start_rule(struct parser *p, const struct token_list *t)
{
	struct rule *r;

	if (t->count != 2 || t->items[1].kind != TOK_WORD || !valid_name(t->items[1].text)) {
		error_at(p, t->items[0].line, t->count > 1 ? t->items[1].col : t->items[0].col,
			 "expected: rule NAME (letters, digits, _ and -)");
		return;
	}
	if ((r = find_rule(p->rs, t->items[1].text)) != NULL) {
		error_at(p, t->items[1].line, t->items[1].col, "rule %s is already defined at %s:%d",
			 r->name, r->file, r->line);
		return;
	}
	char *lower = lower_dup(t->items[1].text);
	bool is_limit = find_limit(p, lower, strlen(lower)) != NULL;
	free(lower);
	if (is_limit) {
		error_at(p, t->items[1].line, t->items[1].col, "%s is already the name of a limit",
			 t->items[1].text);
		return;
	}
	if (p->rs->count >= RULES_MAX_RULES) {
		error_at(p, t->items[0].line, 1, "more than %d rules", RULES_MAX_RULES);
		return;
	}
	p->rs->rules = xrealloc(p->rs->rules, (p->rs->count + 1) * sizeof(*p->rs->rules));
	r = &p->rs->rules[p->rs->count++];
	memset(r, 0, sizeof(*r));
	r->name = xstrdup(t->items[1].text);
	r->file = xstrdup(p->name);
	r->line = t->items[0].line;
	p->rule = r;
}

/* start_limit - "limit NAME": the limit, and the rule that acts on it */
static void start_limit(struct parser *p, const struct token_list *t)
{
	struct rate_limit *l;

	if (t->count != 2 || t->items[1].kind != TOK_WORD || !valid_name(t->items[1].text)) {
		error_at(p, t->items[0].line, t->count > 1 ? t->items[1].col : t->items[0].col,
			 "expected: limit NAME (letters, digits, _ and -)");
		return;
	}
	char *lower = lower_dup(t->items[1].text);
	bool twice = find_limit(p, lower, strlen(lower)) != NULL;
	free(lower);
	if (twice) {
		error_at(p, t->items[1].line, t->items[1].col, "limit %s is defined twice",
			 t->items[1].text);
		return;
	}
	if (strlen(t->items[1].text) > RULES_MAX_LIMIT_NAME) {
		error_at(p, t->items[1].line, t->items[1].col, "a limit name has at most %d characters",
			 RULES_MAX_LIMIT_NAME);
		return;
	}
	start_rule(p, t);
	if (p->rule == NULL)
		return;
	l = xcalloc(1, sizeof(*l));
	l->name = xstrdup(t->items[1].text);
	lower = lower_dup(t->items[1].text);
	l->fact = xasprintf("rate.%s", lower);
	free(lower);
	l->count = COUNT_MESSAGES;
	p->limit = l;
}

static bool enhanced_code(const char *text, char cls)
{
	return text[0] == cls && text[1] == '.' && strspn(text + 2, "0123456789.") >= 3 &&
	       strchr(text + 2, '.') != NULL;
}

static void attr_action(struct parser *p, const struct token_list *t)
{
	struct rule *r = p->rule;
	const struct token *w = t->count > 1 ? &t->items[1] : NULL;
	size_t i;

	for (i = ACTION_ACCEPT; i <= ACTION_REJECT; i++)
		if (w && w->kind == TOK_WORD && strcasecmp(w->text, action_names[i]) == 0)
			break;
	if (w == NULL || i > ACTION_REJECT) {
		error_at(p, t->items[0].line, w ? w->col : t->items[0].col,
			 "expected an action: accept, tag, quarantine, discard, tempfail or reject");
		return;
	}
	if (r->action != ACTION_NONE)
		error_at(p, w->line, w->col, "rule %s has two actions", r->name);
	r->action = (enum rule_action)i;
	bool wants_text = i == ACTION_TAG || i == ACTION_QUARANTINE || i == ACTION_TEMPFAIL ||
			  i == ACTION_REJECT;
	if (t->count == 3 && wants_text && t->items[2].kind == TOK_STRING) {
		free(r->action_text);
		r->action_text = xstrdup(t->items[2].text);
	} else if (t->count != 2 || wants_text) {
		error_at(p, w->line, w->col, wants_text ? "%s needs one \"text\"" : "%s takes no text",
			 w->text);
		return;
	}
	if (i == ACTION_REJECT && !enhanced_code(r->action_text, '5'))
		error_at(p, t->items[2].line, t->items[2].col,
			 "reject text must start with a 5.x.y enhanced status code");
	if (i == ACTION_TEMPFAIL && !enhanced_code(r->action_text, '4'))
		error_at(p, t->items[2].line, t->items[2].col,
			 "tempfail text must start with a 4.x.y enhanced status code");
	if (r->action_text && strpbrk(r->action_text, "\r\n"))
		error_at(p, t->items[2].line, t->items[2].col, "text must be one line");
}

static char *resolve_path(struct parser *p, const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	return xasprintf("%s/%s", p->dir, path);
}

static void attr_test(struct parser *p, const struct token_list *t)
{
	struct rule *r = p->rule;
	struct rule_test test = {.line = t->items[0].line};

	if (t->count < 3 || t->items[1].kind != TOK_WORD ||
	    (strcmp(t->items[1].text, "match") != 0 && strcmp(t->items[1].text, "nomatch") != 0) ||
	    (t->items[2].kind != TOK_WORD && t->items[2].kind != TOK_STRING)) {
		error_at(p, t->items[0].line, t->items[0].col,
			 "expected: test match|nomatch FILE [ip=... helo=... from=... rcpt=...]");
		return;
	}
	test.match = strcmp(t->items[1].text, "match") == 0;
	test.path = resolve_path(p, t->items[2].text);
	for (size_t i = 3; i < t->count; i += 3) {
		char **slot = NULL;
		const char *key = t->items[i].text;
		if (i + 2 < t->count && t->items[i + 1].kind == TOK_OP &&
		    strcmp(t->items[i + 1].text, "=") == 0) {
			slot = strcmp(key, "ip") == 0	  ? &test.ip
			       : strcmp(key, "helo") == 0 ? &test.helo
			       : strcmp(key, "from") == 0 ? &test.from
			       : strcmp(key, "rcpt") == 0 ? &test.rcpt
							  : NULL;
		}
		if (slot == NULL) {
			error_at(p, t->items[i].line, t->items[i].col,
				 "expected ip=, helo=, from= or rcpt=");
			break;
		}
		free(*slot);
		*slot = xstrdup(t->items[i + 2].text);
	}
	r->tests = xrealloc(r->tests, (r->ntests + 1) * sizeof(*r->tests));
	r->tests[r->ntests++] = test;
}

/* rule_attribute - one indented line of a rule block */
static void rule_attribute(struct parser *p, struct token_list *t)
{
	struct rule *r = p->rule;
	const struct token *k = &t->items[0];
	const char *kw = k->kind == TOK_WORD ? k->text : "";

	const struct token *last = &t->items[t->count - 1];

	if (strcmp(kw, "desc") == 0 || strcmp(kw, "score") == 0 || strcmp(kw, "action") == 0 ||
	    strcmp(kw, "test") == 0)
		p->in_when = false;
	if (p->limit) {
		struct limit_error err;
		int taken = limit_attribute(p->limit, t, &err);
		if (taken < 0)
			error_at(p, err.line, err.col, "%s", err.text);
		if (taken) {
			p->in_when = false;
			return;
		}
	}
	if (strcmp(kw, "when") == 0 || p->in_when) {
		p->eol_line = last->line;
		p->eol_col = last->col + (int)strlen(last->text) + (last->kind == TOK_STRING ? 2 : 0);
	}
	if (strcmp(kw, "when") == 0) {
		if (p->when.count || p->in_when)
			error_at(p, k->line, k->col, "rule %s has two when lines", r->name);
		for (size_t i = 1; i < t->count; i++) {
			p->when.items = xrealloc(p->when.items,
						 (p->when.count + 1) * sizeof(*p->when.items));
			p->when.items[p->when.count++] = t->items[i];
			t->items[i] = (struct token){0};
		}
		p->in_when = true;
		if (t->count == 1)
			error_at(p, k->line, k->col + 4, "when needs a condition");
		return;
	}
	if (strcmp(kw, "desc") == 0) {
		if (t->count != 2 || t->items[1].kind != TOK_STRING)
			error_at(p, k->line, k->col, "expected: desc \"text\"");
		else {
			free(r->desc);
			r->desc = xstrdup(t->items[1].text);
		}
	} else if (strcmp(kw, "score") == 0) {
		if (t->count != 2 || t->items[1].kind != TOK_WORD ||
		    parse_number(t->items[1].text, &r->score) != 0 || fabs(r->score) > 1e6)
			error_at(p, k->line, t->count > 1 ? t->items[1].col : k->col,
				 "expected: score NUMBER (for example 4.5 or -2)");
		else
			r->has_score = true;
	} else if (strcmp(kw, "action") == 0) {
		attr_action(p, t);
	} else if (strcmp(kw, "test") == 0) {
		attr_test(p, t);
	} else if (p->in_when) {
		for (size_t i = 0; i < t->count; i++) {
			p->when.items = xrealloc(p->when.items,
						 (p->when.count + 1) * sizeof(*p->when.items));
			p->when.items[p->when.count++] = t->items[i];
			t->items[i] = (struct token){0};
		}
	} else {
		error_at(p, k->line, k->col,
			 p->limit ? "expected key, count, rate, burst, desc, when, score, action or test"
				  : "expected desc, when, score, action or test");
	}
}

/* parse_line - one line of the file */
static void parse_line(struct parser *p, const char *line, size_t len, int lineno)
{
	struct token_list t = {0};
	const char *why;
	int col = 1;
	bool indented = len && (line[0] == ' ' || line[0] == '\t');

	if (rule_lex_line(line, len, lineno, &t, &why, &col) != 0) {
		error_at(p, lineno, col, "%s", why);
		token_list_free(&t);
		return;
	}
	if (t.count == 0)
		return;
	if (!indented) {
		finish_rule(p);
		p->list = NULL;
		if (t.items[0].kind == TOK_WORD && strcmp(t.items[0].text, "rule") == 0)
			start_rule(p, &t);
		else if (t.items[0].kind == TOK_WORD && strcmp(t.items[0].text, "limit") == 0)
			start_limit(p, &t);
		else if (t.items[0].kind == TOK_WORD && strcmp(t.items[0].text, "list") == 0)
			start_list(p, &t);
		else
			error_at(p, lineno, t.items[0].col,
				 "expected \"rule NAME\", \"limit NAME\" or \"list NAME = ...\" at "
				 "the start of a line");
	} else if (p->list) {
		for (size_t i = 0; i < t.count; i++)
			list_add_item(p, p->list, &t.items[i]);
	} else if (p->rule) {
		rule_attribute(p, &t);
	} else {
		error_at(p, lineno, t.items[0].col, "indented line outside a rule or list");
	}
	token_list_free(&t);
}

int rule_parse_file(struct ruleset *rs, const char *name, const char *text, size_t len,
		    struct buf *errors)
{
	struct parser p = {.rs = rs, .name = name, .errors = errors};
	char *copy = xstrdup(name);
	int lineno = 0;
	size_t i = 0;

	p.dir = xstrdup(dirname(copy));
	free(copy);
	if (len > RULES_MAX_FILE_SIZE) {
		error_at(&p, 0, 0, "file larger than %d bytes", RULES_MAX_FILE_SIZE);
		len = 0;
	}
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		parse_line(&p, text + i, end - i, ++lineno);
		i = end + 1;
	}
	finish_rule(&p);
	if (p.nerrors > RULES_MAX_ERRORS)
		buf_printf(errors, "%s: %d more errors not shown\n", name,
			   p.nerrors - RULES_MAX_ERRORS);
	free(p.dir);
	return p.nerrors;
}
