/*
 * rule_limit - the counting lines of a "limit NAME" block.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/rule_limit.h"

static const char *const count_names[] = {
	[COUNT_CONNECTIONS] = "connections",
	[COUNT_MESSAGES] = "messages",
	[COUNT_RECIPIENTS] = "recipients",
};

static const struct {
	const char *name;
	enum rule_stage stage;	/* the earliest count that knows it */
} key_names[] = {
	[KEY_CLIENT_IP] = {"client.ip", STAGE_CONNECT},
	[KEY_CLIENT_NET] = {"client.net", STAGE_CONNECT},
	[KEY_HELO] = {"helo", STAGE_MAIL},
	[KEY_ENV_FROM] = {"env.from", STAGE_MAIL},
	[KEY_ENV_FROM_DOMAIN] = {"env.from_domain", STAGE_MAIL},
	[KEY_ENV_RCPT] = {"env.rcpt", STAGE_RCPT},
	[KEY_ENV_RCPT_DOMAIN] = {"env.rcpt_domain", STAGE_RCPT},
};

#define NKEYS (sizeof(key_names) / sizeof(key_names[0]))

const char *limit_count_name(enum limit_count c)
{
	return count_names[c];
}

const char *limit_key_name(enum limit_key k)
{
	return key_names[k].name;
}

enum rule_stage limit_stage(const struct rate_limit *l)
{
	return l->count == COUNT_CONNECTIONS ? STAGE_CONNECT
	       : l->count == COUNT_MESSAGES  ? STAGE_MAIL
					     : STAGE_RCPT;
}

static void set_error(struct limit_error *err, const struct token *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(struct limit_error *err, const struct token *at, const char *fmt, ...)
{
	va_list ap;

	err->line = at->line;
	err->col = at->col;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
}

int limit_parse_rate(const char *text, double *rate, double *period)
{
	static const struct {
		char unit;
		double seconds;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	const char *slash = strchr(text, '/');
	char *end;
	double n, per = 1;
	size_t len;

	if (slash == NULL)
		return -1;
	errno = 0;
	n = strtod(text, &end);
	if (end != slash || errno || !isfinite(n) || n <= 0 || n > 1e9)
		return -1;
	text = slash + 1;
	len = strlen(text);
	if (len == 0)
		return -1;
	if (len > 1) {
		errno = 0;
		per = strtod(text, &end);
		if (end != text + len - 1 || errno || !isfinite(per) || per <= 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (text[len - 1] == units[i].unit) {
			per *= units[i].seconds;
			if (per > 366 * 86400.0)
				return -1;
			*rate = n;
			*period = per;
			return 0;
		}
	}
	return -1;
}

static int attr_key(struct rate_limit *l, const struct token_list *t, struct limit_error *err)
{
	if (t->count < 2) {
		set_error(err, &t->items[0], "expected: key FIELD [FIELD ...]");
		return -1;
	}
	l->nkey = 0;
	for (size_t i = 1; i < t->count; i++) {
		size_t k;
		for (k = 0; k < NKEYS; k++)
			if (t->items[i].kind == TOK_WORD &&
			    strcasecmp(t->items[i].text, key_names[k].name) == 0)
				break;
		if (k == NKEYS) {
			set_error(err, &t->items[i],
				  "unknown key \"%s\" (client.ip, client.net, helo, env.from, "
				  "env.from_domain, env.rcpt or env.rcpt_domain)",
				  t->items[i].text);
			return -1;
		}
		if (l->nkey == LIMIT_MAX_KEY_PARTS) {
			set_error(err, &t->items[i], "a key has at most %d fields", LIMIT_MAX_KEY_PARTS);
			return -1;
		}
		l->key[l->nkey++] = (enum limit_key)k;
	}
	return 1;
}

static int attr_count(struct rate_limit *l, const struct token_list *t, struct limit_error *err)
{
	for (size_t c = 0; t->count == 2 && c < sizeof(count_names) / sizeof(count_names[0]); c++) {
		if (strcasecmp(t->items[1].text, count_names[c]) == 0) {
			l->count = (enum limit_count)c;
			return 1;
		}
	}
	set_error(err, t->count > 1 ? &t->items[1] : &t->items[0],
		  "expected: count connections|messages|recipients");
	return -1;
}

static int attr_rate(struct rate_limit *l, const struct token_list *t, struct limit_error *err)
{
	if (t->count != 2 || t->items[1].kind != TOK_WORD ||
	    limit_parse_rate(t->items[1].text, &l->rate, &l->period) != 0) {
		set_error(err, t->count > 1 ? &t->items[1] : &t->items[0],
			  "expected: rate N/PERIOD (for example 100/1h, 5/s, 20/10m; "
			  "units s m h d)");
		return -1;
	}
	return 1;
}

static int attr_burst(struct rate_limit *l, const struct token_list *t, struct limit_error *err)
{
	char *end = NULL;
	double b = t->count == 2 ? strtod(t->items[1].text, &end) : 0;

	if (t->count != 2 || end == t->items[1].text || *end || !isfinite(b) || b < 1 || b > 1e9) {
		set_error(err, t->count > 1 ? &t->items[1] : &t->items[0],
			  "expected: burst N (events at once, 1 or more)");
		return -1;
	}
	l->burst = b;
	return 1;
}

int limit_attribute(struct rate_limit *l, const struct token_list *t, struct limit_error *err)
{
	const char *kw = t->items[0].kind == TOK_WORD ? t->items[0].text : "";

	if (strcmp(kw, "key") == 0)
		return attr_key(l, t, err);
	if (strcmp(kw, "count") == 0)
		return attr_count(l, t, err);
	if (strcmp(kw, "rate") == 0)
		return attr_rate(l, t, err);
	if (strcmp(kw, "burst") == 0)
		return attr_burst(l, t, err);
	return 0;
}

double limit_burst(const struct rate_limit *l)
{
	return l->burst > 0 ? l->burst : l->rate >= 1 ? l->rate : 1;
}

int limit_check(const struct rate_limit *l, int line, struct limit_error *err)
{
	err->line = line;
	err->col = 1;
	if (l->nkey == 0) {
		snprintf(err->text, sizeof(err->text), "limit %s has no key line", l->name);
		return -1;
	}
	if (l->rate <= 0) {
		snprintf(err->text, sizeof(err->text), "limit %s has no rate line", l->name);
		return -1;
	}
	/* Microseconds, in C and in Redis's Lua (doubles): keep every sum below 2^53. */
	if (l->rate / l->period > 1e6) {
		snprintf(err->text, sizeof(err->text),
			 "limit %s: more than 1,000,000 events per second cannot be counted", l->name);
		return -1;
	}
	if (l->period * 1e6 / l->rate * limit_burst(l) > 9007199254740992.0 / 4) {
		snprintf(err->text, sizeof(err->text),
			 "limit %s: period / rate x burst is longer than a key can be remembered "
			 "(about 70 years)", l->name);
		return -1;
	}
	for (size_t i = 0; i < l->nkey; i++) {
		if (key_names[l->key[i]].stage > limit_stage(l)) {
			snprintf(err->text, sizeof(err->text),
				 "limit %s counts %s, which come before %s is known "
				 "(count messages for helo and env.from, recipients for env.rcpt)",
				 l->name, count_names[l->count], key_names[l->key[i]].name);
			return -1;
		}
	}
	return 0;
}

void rate_limit_free(struct rate_limit *l)
{
	if (l == NULL)
		return;
	free(l->name);
	free(l->fact);
	free(l);
}
