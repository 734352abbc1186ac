/*
 * auth_results - Authentication-Results (RFC 8601), see auth_results.h.
 *
 * One resinfo per method: spf (smtp.mailfrom, or smtp.helo for the null
 * sender), one dkim per signature (header.d, header.s, header.a), dmarc
 * (header.from). A value that is not a plain token (a domain with odd
 * bytes) is written as a quoted string (RFC 8601 §2.2, RFC 2045 value).
 * With no method recorded the field says "none" (§2.2).
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "gateway/auth_results.h"

/* nth - value i of fact name, or NULL */
static const char *nth(const struct facts *f, const char *name, size_t i)
{
	const struct fact *fact = facts_find(f, name);

	return fact && i < fact->count ? fact->values[i] : NULL;
}

static bool token_char(unsigned char c)
{
	/* RFC 2045 token: no CTLs, space or tspecials */
	return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

/* put_value - " ptype.property=value", as a token or a quoted string */
static void put_value(struct buf *out, const char *prop, const char *value)
{
	bool token = value[0] != '\0';

	for (const char *p = value; *p && token; p++)
		token = token_char((unsigned char)*p);
	buf_printf(out, " %s=", prop);
	if (token) {
		buf_append_str(out, value);
		return;
	}
	buf_append_char(out, '"');
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_append_char(out, '\\');
		if (*p >= 0x20 && *p != 0x7f)
			buf_append_char(out, (char)*p);
	}
	buf_append_char(out, '"');
}

/* method - "; spf=pass" on a folded line of its own */
static void method(struct buf *out, const char *name, const char *result)
{
	buf_printf(out, ";\r\n\t%s=%s", name, result);
}

static bool add_spf(struct buf *out, const struct facts *tx)
{
	const char *result = nth(tx, "spf.result", 0), *domain = nth(tx, "spf.domain", 0);
	const char *from = nth(tx, "env.from", 0);

	if (!result)
		return false;
	method(out, "spf", result);
	if (from && from[0] && domain)
		put_value(out, "smtp.mailfrom", domain);
	else if (domain)
		put_value(out, "smtp.helo", domain);
	return true;
}

static bool add_dkim(struct buf *out, const struct facts *tx)
{
	const struct fact *results = facts_find(tx, "dkim.result");

	if (!results)
		return false;
	for (size_t i = 0; i < results->count; i++) {
		const char *d = nth(tx, "dkim.domain", i), *s = nth(tx, "dkim.selector", i);
		const char *a = nth(tx, "dkim.algorithm", i);

		method(out, "dkim", results->values[i]);
		if (d && d[0])
			put_value(out, "header.d", d);
		if (s && s[0])
			put_value(out, "header.s", s);
		if (a && a[0])
			put_value(out, "header.a", a);
	}
	return results->count > 0;
}

static bool add_dmarc(struct buf *out, const struct facts *tx)
{
	const char *result = nth(tx, "dmarc.result", 0), *domain = nth(tx, "dmarc.domain", 0);

	if (!result)
		return false;
	method(out, "dmarc", result);
	if (domain && domain[0])
		put_value(out, "header.from", domain);
	return true;
}

void auth_results_header(struct buf *out, const char *authserv_id, const struct facts *tx)
{
	bool any;

	buf_printf(out, "Authentication-Results: %s", authserv_id);
	any = add_spf(out, tx);
	any |= add_dkim(out, tx);
	any |= add_dmarc(out, tx);
	if (!any)
		buf_append_str(out, "; none");
	buf_append_str(out, "\r\n");
}
