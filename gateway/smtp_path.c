/*
 * smtp_path - RFC 5321 section 4.1.2 paths and the MAIL/RCPT parameters.
 *
 * A recursive-descent parser over length-counted bytes. Every read of the
 * input goes through path_peek() or an explicit bound, so nothing at or
 * beyond len is touched and the input need not be NUL-terminated.
 *
 * Beyond the RFC grammar we accept only: one SP between "FROM:"/"TO:" and
 * the path, runs of SP between parameters and trailing SP (see
 * args_path() and param_next()). Stricter than the grammar: the
 * General-address-literal (no tag but "IPv6" is registered) and C1
 * control characters in UTF-8 text are refused.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xalloc.h"
#include "gateway/smtp_path.h"

#define PATH_LOCAL_MAX 64   /* RFC 5321 4.5.3.1.1 */
#define PATH_DOMAIN_MAX 255 /* RFC 5321 4.5.3.1.2 */
#define PATH_PATH_MAX 256   /* RFC 5321 4.5.3.1.3, brackets included */
#define PATH_LABEL_MAX 63   /* RFC 1035 2.3.4 */
#define PATH_SIZE_DIGITS 20 /* RFC 1870 section 6: 1*20DIGIT */

#define PATH_ASCII_REPLY "553 5.6.7 Non-ASCII address requires SMTPUTF8"

#define PATH_NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum path_err {
	PATH_ERR_NONE,
	PATH_ERR_SYNTAX, /* bad address */
	PATH_ERR_FORM,	 /* no "<...>" at all: the command's own syntax */
	PATH_ERR_LENGTH, /* RFC 5321 4.5.3.1 limits */
	PATH_ERR_ASCII,	 /* non-ASCII without SMTPUTF8 */
	PATH_ERR_COUNT
};

enum path_role { PATH_SENDER, PATH_RECIPIENT };

static const char *const path_errors[2][PATH_ERR_COUNT] = {
	[PATH_SENDER] = {
		[PATH_ERR_SYNTAX] = "501 5.1.7 Bad sender address syntax",
		[PATH_ERR_FORM] = "501 5.5.4 Syntax: MAIL FROM:<address>",
		[PATH_ERR_LENGTH] = "501 5.1.7 Sender address too long",
		[PATH_ERR_ASCII] = PATH_ASCII_REPLY,
	},
	[PATH_RECIPIENT] = {
		[PATH_ERR_SYNTAX] = "501 5.1.3 Bad recipient address syntax",
		[PATH_ERR_FORM] = "501 5.5.4 Syntax: RCPT TO:<address>",
		[PATH_ERR_LENGTH] = "501 5.1.3 Recipient address too long",
		[PATH_ERR_ASCII] = PATH_ASCII_REPLY,
	},
};

/* Cursor over the input; the first error found is the one reported. */
struct path_cur {
	const unsigned char *s;
	size_t len;
	size_t pos;
	unsigned flags;
	bool utf8;
	enum path_err err;
};

/* Where the parts of a parsed path lie in the input. */
struct path_span {
	size_t local, local_len;
	size_t domain, domain_len;
};

/* path_peek - the byte at the cursor, or -1 at the end of the input */
static int path_peek(const struct path_cur *c)
{
	return c->pos < c->len ? c->s[c->pos] : -1;
}

/* path_fail - record the first error; always returns -1 */
static int path_fail(struct path_cur *c, enum path_err err)
{
	if (c->err == PATH_ERR_NONE)
		c->err = err;
	return -1;
}

/* path_is_alnum - ASCII letter or digit, whatever the locale */
static bool path_is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

/* path_is_atext - RFC 5322 atext, ASCII part */
static bool path_is_atext(int ch)
{
	return path_is_alnum(ch) ||
	       (ch > 0 && ch < 0x80 && strchr("!#$%&'*+-/=?^_`{|}~", ch));
}

/* path_is_hex - ASCII hex digit */
static bool path_is_hex(int ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
	       (ch >= 'A' && ch <= 'F');
}

/*
 * path_utf8_len - length of the well-formed non-ASCII UTF-8 character at p
 * (RFC 3629 section 4: no overlongs, surrogates or values past U+10FFFF),
 * 0 if there is none. C1 controls (U+0080-U+009F) are refused as well.
 */
static size_t path_utf8_len(const unsigned char *p, size_t avail)
{
	unsigned lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	switch (p[0]) {
	case 0xc2: /* U+0080-U+009F are the C1 controls */
	case 0xe0: /* overlong below U+0800 */
		lo = 0xa0;
		break;
	case 0xed: /* UTF-16 surrogates */
		hi = 0x9f;
		break;
	case 0xf0: /* overlong below U+10000 */
		lo = 0x90;
		break;
	case 0xf4: /* past U+10FFFF */
		hi = 0x8f;
		break;
	}
	if (avail < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* path_nonascii - consume one UTF-8 character if SMTPUTF8 allows it */
static int path_nonascii(struct path_cur *c)
{
	size_t n;

	if (!(c->flags & SMTP_PATH_ALLOW_UTF8))
		return path_fail(c, PATH_ERR_ASCII);
	n = path_utf8_len(c->s + c->pos, c->len - c->pos);
	if (n == 0)
		return path_fail(c, PATH_ERR_SYNTAX);
	c->utf8 = true;
	c->pos += n;
	return 0;
}

/*
 * path_label - sub-domain = Let-dig [Ldh-str], or a U-label (RFC 6531).
 * The 63-octet limit is not applied to U-labels: it binds their A-label
 * form, which we do not compute; the 255-octet domain limit still holds.
 */
static int path_label(struct path_cur *c)
{
	size_t start = c->pos;
	bool ascii = true;
	int ch;

	while ((ch = path_peek(c)) != -1) {
		if (ch >= 0x80) {
			if (path_nonascii(c) < 0)
				return -1;
			ascii = false;
		} else if (path_is_alnum(ch) || ch == '-') {
			c->pos++;
		} else {
			break;
		}
	}
	if (c->pos == start || c->s[start] == '-' || c->s[c->pos - 1] == '-')
		return path_fail(c, PATH_ERR_SYNTAX);
	if (ascii && c->pos - start > PATH_LABEL_MAX)
		return path_fail(c, PATH_ERR_SYNTAX);
	return 0;
}

/* path_domain_name - Domain = sub-domain *("." sub-domain) */
static int path_domain_name(struct path_cur *c)
{
	for (;;) {
		if (path_label(c) < 0)
			return -1;
		if (path_peek(c) != '.')
			return 0;
		c->pos++;
	}
}

/* path_ipv4 - length of the IPv4-address-literal at t, 0 if none */
static size_t path_ipv4(const unsigned char *t, size_t n)
{
	size_t i = 0, digits;
	unsigned v;

	for (int part = 0; part < 4; part++) {
		if (part > 0 && (i >= n || t[i++] != '.'))
			return 0;
		for (v = 0, digits = 0; digits < 3 && i < n &&
					t[i] >= '0' && t[i] <= '9';
		     digits++)
			v = v * 10 + (t[i++] - '0');
		if (digits == 0 || v > 255)
			return 0;
	}
	return i;
}

/* path_hex_run - how many hex digits start t */
static size_t path_hex_run(const unsigned char *t, size_t n)
{
	size_t i = 0;

	while (i < n && path_is_hex(t[i]))
		i++;
	return i;
}

/*
 * path_ipv6 - RFC 5321 IPv6-addr: eight groups, or fewer around one "::"
 * that stands for at least two (at most six written), optionally ending
 * in an IPv4 address that counts for two groups.
 */
static bool path_ipv6(const unsigned char *t, size_t n)
{
	size_t i = 0, groups = 0, h;
	bool comp = false, v4 = false;

	if (n >= 2 && t[0] == ':' && t[1] == ':') {
		comp = true;
		i = 2;
	}
	while (i < n) {
		h = path_hex_run(t + i, n - i);
		if (i + h < n && t[i + h] == '.') {
			if (path_ipv4(t + i, n - i) != n - i)
				return false;
			v4 = true;
			break;
		}
		if (h == 0 || h > 4)
			return false;
		groups++;
		if ((i += h) == n)
			break;
		if (t[i] != ':' || ++i == n)
			return false;
		if (t[i] == ':') {
			if (comp)
				return false;
			comp = true;
			i++;
		}
	}
	if (v4)
		return comp ? groups <= 4 : groups == 6;
	return comp ? groups <= 6 : groups == 8;
}

/*
 * path_literal - address-literal (RFC 5321 4.1.3): "[" IPv4 "]" or
 * "[IPv6:" IPv6 "]". General-address-literal is refused: no other tag
 * has ever been registered, so any other tag is junk.
 */
static int path_literal(struct path_cur *c)
{
	size_t start = ++c->pos, end = start, n;
	const unsigned char *t = c->s + start;
	bool ok;

	while (end < c->len && c->s[end] != ']')
		end++;
	if (end == c->len)
		return path_fail(c, PATH_ERR_SYNTAX);
	n = end - start;
	if (n > 5 && strncasecmp((const char *)t, "IPv6:", 5) == 0)
		ok = path_ipv6(t + 5, n - 5);
	else
		ok = n > 0 && path_ipv4(t, n) == n;
	if (!ok)
		return path_fail(c, PATH_ERR_SYNTAX);
	c->pos = end + 1;
	return 0;
}

/* path_domain - Domain / address-literal */
static int path_domain(struct path_cur *c)
{
	return path_peek(c) == '[' ? path_literal(c) : path_domain_name(c);
}

/* path_quoted - Quoted-string, with UTF-8 qtext under RFC 6531 */
static int path_quoted(struct path_cur *c)
{
	int ch;

	c->pos++;
	while ((ch = path_peek(c)) != '"') {
		if (ch >= 0x80) {
			if (path_nonascii(c) < 0)
				return -1;
			continue;
		}
		if (ch == '\\') {
			c->pos++;
			ch = path_peek(c);
		}
		if (ch < 32 || ch > 126)
			return path_fail(c, PATH_ERR_SYNTAX);
		c->pos++;
	}
	c->pos++;
	return 0;
}

/* path_atom - Atom = 1*atext, with UTF-8 atext under RFC 6531 */
static int path_atom(struct path_cur *c)
{
	size_t start = c->pos;
	int ch;

	while ((ch = path_peek(c)) != -1) {
		if (ch >= 0x80) {
			if (path_nonascii(c) < 0)
				return -1;
		} else if (path_is_atext(ch)) {
			c->pos++;
		} else {
			break;
		}
	}
	return c->pos == start ? path_fail(c, PATH_ERR_SYNTAX) : 0;
}

/* path_local - Local-part = Dot-string / Quoted-string */
static int path_local(struct path_cur *c)
{
	if (path_peek(c) == '"')
		return path_quoted(c);
	for (;;) {
		if (path_atom(c) < 0)
			return -1;
		if (path_peek(c) != '.')
			return 0;
		c->pos++;
	}
}

/*
 * path_route - A-d-l ":" (RFC 5321 4.1.2): an obsolete source route,
 * checked here and then dropped as 4.1.1.3 and appendix C allow.
 */
static int path_route(struct path_cur *c)
{
	for (;;) {
		if (path_peek(c) != '@')
			return path_fail(c, PATH_ERR_SYNTAX);
		c->pos++;
		if (path_domain_name(c) < 0)
			return -1;
		switch (path_peek(c)) {
		case ':':
			c->pos++;
			return 0;
		case ',':
			c->pos++;
			break;
		default:
			return path_fail(c, PATH_ERR_SYNTAX);
		}
	}
}

/* path_postmaster - the bare "<Postmaster>" of RFC 5321 4.1.1.3 (any case) */
static bool path_postmaster(const struct path_cur *c)
{
	static const char pm[] = "postmaster";
	const size_t n = sizeof(pm) - 1;

	return (c->flags & SMTP_PATH_ALLOW_NO_DOMAIN) && c->len - c->pos > n &&
	       strncasecmp((const char *)c->s + c->pos, pm, n) == 0 &&
	       c->s[c->pos + n] == '>';
}

/* path_mailbox - [A-d-l ":"] Local-part "@" Domain, up to the '>' */
static int path_mailbox(struct path_cur *c, struct path_span *sp)
{
	if (path_peek(c) == '@' && path_route(c) < 0)
		return -1;
	sp->local = c->pos;
	if (path_local(c) < 0)
		return -1;
	sp->local_len = c->pos - sp->local;
	if (path_peek(c) != '@')
		return path_fail(c, PATH_ERR_SYNTAX);
	sp->domain = ++c->pos;
	if (path_domain(c) < 0)
		return -1;
	sp->domain_len = c->pos - sp->domain;
	return 0;
}

/* path_scan - Path / "<>" / "<Postmaster>" as flags allow */
static int path_scan(struct path_cur *c, struct path_span *sp)
{
	size_t start = c->pos;

	if (path_peek(c) != '<')
		return path_fail(c, PATH_ERR_FORM);
	c->pos++;
	if (path_peek(c) == '>') {
		if (!(c->flags & SMTP_PATH_ALLOW_NULL))
			return path_fail(c, PATH_ERR_SYNTAX);
	} else if (path_postmaster(c)) {
		sp->local = c->pos;
		sp->local_len = 10;
		c->pos += sp->local_len;
	} else if (path_mailbox(c, sp) < 0) {
		return -1;
	}
	if (path_peek(c) == -1)
		return path_fail(c, PATH_ERR_FORM);
	if (path_peek(c) != '>')
		return path_fail(c, PATH_ERR_SYNTAX);
	c->pos++;
	if (sp->local_len > PATH_LOCAL_MAX ||
	    sp->domain_len > PATH_DOMAIN_MAX || c->pos - start > PATH_PATH_MAX)
		return path_fail(c, PATH_ERR_LENGTH);
	return 0;
}

/* path_fill - copy the parsed parts out; addr is local@domain or local */
static void path_fill(struct smtp_path *path, const char *s,
		      const struct path_span *sp, bool utf8)
{
	size_t ll = sp->local_len, dl = sp->domain_len;

	path->local = xstrndup(s + sp->local, ll);
	path->domain = xstrndup(s + sp->domain, dl);
	if (dl == 0) {
		path->addr = xstrndup(path->local, ll);
	} else {
		path->addr = xmalloc(ll + 1 + dl + 1);
		memcpy(path->addr, path->local, ll);
		path->addr[ll] = '@';
		memcpy(path->addr + ll + 1, path->domain, dl + 1);
	}
	path->utf8 = utf8;
}

/* path_parse - smtp_path_parse with the role that picks the reply texts */
static int path_parse(const char *s, size_t len, unsigned flags,
		      enum path_role role, struct smtp_path *path,
		      const char **error_r)
{
	struct path_cur c = {
		.s = (const unsigned char *)s,
		.len = len,
		.flags = flags,
	};
	struct path_span sp = { 0 };

	memset(path, 0, sizeof(*path));
	if (path_scan(&c, &sp) < 0) {
		*error_r = path_errors[role][c.err];
		return -1;
	}
	path_fill(path, s, &sp, c.utf8);
	return (int)c.pos;
}

/*
 * smtp_path_parse - see smtp_path.h. Only a reverse-path may be null, so
 * SMTP_PATH_ALLOW_NULL selects the sender reply texts (5.1.7), anything
 * else the recipient ones (5.1.3).
 */
int smtp_path_parse(const char *s, size_t len, unsigned flags,
		    struct smtp_path *path, const char **error_r)
{
	enum path_role role = flags & SMTP_PATH_ALLOW_NULL ? PATH_SENDER
							   : PATH_RECIPIENT;

	return path_parse(s, len, flags, role, path, error_r);
}

/* smtp_path_free - release the strings; the struct is left zeroed */
void smtp_path_free(struct smtp_path *path)
{
	free(path->addr);
	free(path->local);
	free(path->domain);
	memset(path, 0, sizeof(*path));
}

/* One esmtp-param (RFC 5321 4.1.2), pointing into the input. */
struct esmtp_param {
	const char *key;
	size_t key_len;
	const char *value; /* NULL when there is no "=" */
	size_t value_len;
};

/* param_is_value - esmtp-value octet: %d33-60 / %d62-126 */
static bool param_is_value(unsigned char ch)
{
	return ch >= 33 && ch <= 126 && ch != '=';
}

/*
 * param_next - the next esmtp-param in s[*pos..len). Runs of SP before it
 * and trailing SP are tolerated (RFC 5321 wants exactly one SP; clients
 * that send more are harmless). Returns 1 with *p filled, 0 at the end,
 * -1 on bad syntax.
 */
static int param_next(const char *s, size_t len, size_t *pos,
		      struct esmtp_param *p)
{
	size_t i = *pos;

	while (i < len && s[i] == ' ')
		i++;
	if ((*pos = i) == len)
		return 0;
	if (!path_is_alnum((unsigned char)s[i]))
		return -1;
	p->key = s + i;
	while (i < len && (path_is_alnum((unsigned char)s[i]) || s[i] == '-'))
		i++;
	p->key_len = (size_t)(s + i - p->key);
	p->value = NULL;
	p->value_len = 0;
	if (i < len && s[i] == '=') {
		p->value = s + ++i;
		while (i < len && param_is_value((unsigned char)s[i]))
			i++;
		p->value_len = (size_t)(s + i - p->value);
		if (p->value_len == 0)
			return -1;
	}
	if (i < len && s[i] != ' ')
		return -1;
	*pos = i;
	return 1;
}

/* param_equal - case-insensitive comparison of a counted string with name */
static bool param_equal(const char *s, size_t len, const char *name)
{
	return s != NULL && strlen(name) == len &&
	       strncasecmp(s, name, len) == 0;
}

/* mail_set_size - SIZE=size-value, 1*20DIGIT (RFC 1870 section 6) */
static int mail_set_size(const struct esmtp_param *p,
			 struct smtp_mail_params *mp)
{
	uint64_t v = 0;
	unsigned d;

	if (p->value == NULL || p->value_len > PATH_SIZE_DIGITS)
		return -1;
	for (size_t i = 0; i < p->value_len; i++) {
		if (p->value[i] < '0' || p->value[i] > '9')
			return -1;
		d = (unsigned)(p->value[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	mp->has_size = true;
	mp->size = v;
	return 0;
}

/* mail_set_body - BODY=7BIT / 8BITMIME (RFC 6152) / BINARYMIME (RFC 3030) */
static int mail_set_body(const struct esmtp_param *p,
			 struct smtp_mail_params *mp)
{
	static const struct {
		const char *name;
		enum smtp_body body;
	} bodies[] = {
		{ "7BIT", SMTP_BODY_7BIT },
		{ "8BITMIME", SMTP_BODY_8BITMIME },
		{ "BINARYMIME", SMTP_BODY_BINARYMIME },
	};

	for (size_t i = 0; i < PATH_NELEM(bodies); i++) {
		if (param_equal(p->value, p->value_len, bodies[i].name)) {
			mp->body = bodies[i].body;
			return 0;
		}
	}
	return -1;
}

/* mail_set_smtputf8 - SMTPUTF8, which takes no value (RFC 6531 3.4) */
static int mail_set_smtputf8(const struct esmtp_param *p,
			     struct smtp_mail_params *mp)
{
	if (p->value != NULL)
		return -1;
	mp->smtputf8 = true;
	return 0;
}

/* The MAIL parameters we know; SMTPUTF8 only when it was announced. */
static const struct mail_param_def {
	const char *name;
	int (*set)(const struct esmtp_param *p, struct smtp_mail_params *mp);
	const char *bad_value;
	bool needs_utf8;
} mail_param_defs[] = {
	{
		.name = "SIZE",
		.set = mail_set_size,
		.bad_value = "501 5.5.4 Bad SIZE parameter value",
	},
	{
		.name = "BODY",
		.set = mail_set_body,
		.bad_value = "501 5.5.4 Bad BODY parameter value",
	},
	{
		.name = "SMTPUTF8",
		.set = mail_set_smtputf8,
		.bad_value = "501 5.5.4 SMTPUTF8 parameter takes no value",
		.needs_utf8 = true,
	},
};

/* mail_param - apply one parameter; *seen holds one bit per definition */
static const char *mail_param(const struct esmtp_param *p, bool allow_utf8,
			      unsigned *seen, struct smtp_mail_params *mp)
{
	const struct mail_param_def *def;
	size_t i;

	for (i = 0; i < PATH_NELEM(mail_param_defs); i++) {
		def = &mail_param_defs[i];
		if ((allow_utf8 || !def->needs_utf8) &&
		    param_equal(p->key, p->key_len, def->name))
			break;
	}
	if (i == PATH_NELEM(mail_param_defs))
		return "555 5.5.4 Unsupported MAIL parameter";
	if (*seen & (1u << i))
		return "555 5.5.4 Duplicate MAIL parameter";
	*seen |= 1u << i;
	return def->set(p, mp) < 0 ? def->bad_value : NULL;
}

/* mail_params_parse - the Mail-parameters after the path; NULL if fine */
static const char *mail_params_parse(const char *s, size_t len,
				     bool allow_utf8,
				     struct smtp_mail_params *mp)
{
	struct esmtp_param p;
	const char *error;
	unsigned seen = 0;
	size_t pos = 0;
	int r;

	if (len > 0 && s[0] != ' ')
		return path_errors[PATH_SENDER][PATH_ERR_FORM];
	while ((r = param_next(s, len, &pos, &p)) > 0)
		if ((error = mail_param(&p, allow_utf8, &seen, mp)) != NULL)
			return error;
	return r < 0 ? "501 5.5.4 Syntax error in MAIL parameters" : NULL;
}

/* rcpt_params_parse - we support no RCPT parameter (no DSN); NULL if none */
static const char *rcpt_params_parse(const char *s, size_t len)
{
	struct esmtp_param p;
	size_t pos = 0;
	int r;

	if (len > 0 && s[0] != ' ')
		return path_errors[PATH_RECIPIENT][PATH_ERR_FORM];
	r = param_next(s, len, &pos, &p);
	if (r > 0)
		return "555 5.5.4 Unsupported RCPT parameter";
	return r < 0 ? "501 5.5.4 Syntax error in RCPT parameters" : NULL;
}

/*
 * args_path - the path at the start of the arguments. RFC 5321 4.1.1.2
 * has no space after the colon, but "MAIL FROM: <a@b>" is common and
 * Postfix, Exim and Sendmail accept it, so one SP is tolerated.
 */
static int args_path(const char *args, size_t len, unsigned flags,
		     enum path_role role, struct smtp_path *path,
		     const char **error_r)
{
	size_t skip = len > 0 && args[0] == ' ' ? 1 : 0;
	int n;

	n = path_parse(args + skip, len - skip, flags, role, path, error_r);
	return n < 0 ? -1 : n + (int)skip;
}

/* smtp_mail_args_parse - see smtp_path.h; 0 or -1 */
int smtp_mail_args_parse(const char *args, size_t len, bool allow_utf8,
			 struct smtp_path *path, struct smtp_mail_params *params,
			 const char **error_r)
{
	unsigned flags = allow_utf8 ? SMTP_PATH_ALLOW_UTF8 : 0;
	const char *error;
	int n;

	flags |= SMTP_PATH_ALLOW_NULL;
	memset(params, 0, sizeof(*params));
	n = args_path(args, len, flags, PATH_SENDER, path, error_r);
	if (n < 0)
		return -1;
	error = mail_params_parse(args + n, len - (size_t)n, allow_utf8,
				  params);
	/* RFC 6531 3.4: a UTF-8 path needs the SMTPUTF8 parameter */
	if (error == NULL && path->utf8 && !params->smtputf8)
		error = path_errors[PATH_SENDER][PATH_ERR_ASCII];
	if (error != NULL) {
		smtp_path_free(path);
		memset(params, 0, sizeof(*params));
		*error_r = error;
		return -1;
	}
	return 0;
}

/* smtp_rcpt_args_parse - see smtp_path.h; 0 or -1 */
int smtp_rcpt_args_parse(const char *args, size_t len, bool utf8,
			 struct smtp_path *path, const char **error_r)
{
	unsigned flags = SMTP_PATH_ALLOW_NO_DOMAIN |
			 (utf8 ? SMTP_PATH_ALLOW_UTF8 : 0);
	const char *error;
	int n;

	n = args_path(args, len, flags, PATH_RECIPIENT, path, error_r);
	if (n < 0)
		return -1;
	error = rcpt_params_parse(args + n, len - (size_t)n);
	if (error != NULL) {
		smtp_path_free(path);
		*error_r = error;
		return -1;
	}
	return 0;
}

/* smtp_domain_valid - see smtp_path.h */
bool smtp_domain_valid(const char *s, size_t len, bool allow_utf8)
{
	struct path_cur c = {
		.s = (const unsigned char *)s,
		.len = len,
		.flags = allow_utf8 ? SMTP_PATH_ALLOW_UTF8 : 0,
	};

	if (len == 0 || len > PATH_DOMAIN_MAX)
		return false;
	return path_domain(&c) == 0 && c.pos == len;
}
