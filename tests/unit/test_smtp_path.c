/*
 * test_smtp_path - paths and MAIL/RCPT parameters (gateway/smtp_path.c).
 *
 * Every input is copied into a buffer of exactly its length before it is
 * parsed, so a read past len shows up under AddressSanitizer.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "gateway/smtp_path.h"
#include "tests/unit/check.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define E_MAIL_SYNTAX "501 5.1.7 Bad sender address syntax"
#define E_RCPT_SYNTAX "501 5.1.3 Bad recipient address syntax"
#define E_MAIL_FORM "501 5.5.4 Syntax: MAIL FROM:<address>"
#define E_RCPT_FORM "501 5.5.4 Syntax: RCPT TO:<address>"
#define E_MAIL_LONG "501 5.1.7 Sender address too long"
#define E_RCPT_LONG "501 5.1.3 Recipient address too long"
#define E_ASCII "553 5.6.7 Non-ASCII address requires SMTPUTF8"
#define E_MAIL_UNSUP "555 5.5.4 Unsupported MAIL parameter"
#define E_RCPT_UNSUP "555 5.5.4 Unsupported RCPT parameter"
#define E_MAIL_DUP "555 5.5.4 Duplicate MAIL parameter"
#define E_MAIL_PARAMS "501 5.5.4 Syntax error in MAIL parameters"
#define E_RCPT_PARAMS "501 5.5.4 Syntax error in RCPT parameters"
#define E_SIZE "501 5.5.4 Bad SIZE parameter value"
#define E_BODY "501 5.5.4 Bad BODY parameter value"
#define E_UTF8_VALUE "501 5.5.4 SMTPUTF8 parameter takes no value"

#define RCPT 0
#define MAIL SMTP_PATH_ALLOW_NULL
#define PM SMTP_PATH_ALLOW_NO_DOMAIN
#define U8 SMTP_PATH_ALLOW_UTF8

/* exact - a copy of in with nothing readable after its last byte */
static char *exact(const char *in, size_t len)
{
	char *p = xmalloc(len);

	memcpy(p, in, len);
	return p;
}

/* case_len - .len if given (inputs with NUL bytes), else strlen */
static size_t case_len(const char *in, size_t len)
{
	return len ? len : strlen(in);
}

static const struct path_case {
	const char *in;
	size_t len;
	unsigned flags;
	int ret; /* bytes consumed, or -1 */
	const char *addr, *local, *domain;
	bool utf8;
	const char *error;
} path_cases[] = {
	/* plain paths; parsing stops after '>' */
	{ .in = "<user@example.com>", .ret = 18, .addr = "user@example.com",
	  .local = "user", .domain = "example.com" },
	{ .in = "<First.Last+tag@Sub.Example.COM>", .ret = 32,
	  .addr = "First.Last+tag@Sub.Example.COM", .local = "First.Last+tag",
	  .domain = "Sub.Example.COM" },
	{ .in = "<a!#$%&'*+-/=?^_`{|}~z@b>", .ret = 25,
	  .addr = "a!#$%&'*+-/=?^_`{|}~z@b", .local = "a!#$%&'*+-/=?^_`{|}~z",
	  .domain = "b" },
	{ .in = "<user@example.com> SIZE=1", .ret = 18,
	  .addr = "user@example.com", .local = "user",
	  .domain = "example.com" },
	{ .in = "<u@123.example>", .ret = 15, .addr = "u@123.example",
	  .local = "u", .domain = "123.example" },
	{ .in = "<u@a--b.x-y.example>", .ret = 20, .addr = "u@a--b.x-y.example",
	  .local = "u", .domain = "a--b.x-y.example" },

	/* null path */
	{ .in = "<>", .flags = MAIL, .ret = 2, .addr = "", .local = "",
	  .domain = "" },
	{ .in = "<>", .flags = RCPT, .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<>", .flags = PM, .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "< >", .flags = MAIL, .ret = -1, .error = E_MAIL_SYNTAX },

	/* <postmaster> */
	{ .in = "<postmaster>", .flags = PM, .ret = 12, .addr = "postmaster",
	  .local = "postmaster", .domain = "" },
	{ .in = "<PostMaster>", .flags = PM, .ret = 12, .addr = "PostMaster",
	  .local = "PostMaster", .domain = "" },
	{ .in = "<postmaster>", .flags = RCPT, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<postmaster>", .flags = MAIL, .ret = -1,
	  .error = E_MAIL_SYNTAX },
	{ .in = "<postmistress>", .flags = PM, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<postmaster", .flags = PM, .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<\"postmaster\">", .flags = PM, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<@a.example:postmaster>", .flags = PM, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<Postmaster@example.com>", .flags = PM, .ret = 24,
	  .addr = "Postmaster@example.com", .local = "Postmaster",
	  .domain = "example.com" },

	/* quoted local parts: quotes and escapes kept as written */
	{ .in = "<\"john doe\"@example.com>", .ret = 24,
	  .addr = "\"john doe\"@example.com", .local = "\"john doe\"",
	  .domain = "example.com" },
	{ .in = "<\"a\\\"b\"@example.com>", .ret = 20,
	  .addr = "\"a\\\"b\"@example.com", .local = "\"a\\\"b\"",
	  .domain = "example.com" },
	{ .in = "<\"a\\\\b@c\"@example.com>", .ret = 22,
	  .addr = "\"a\\\\b@c\"@example.com", .local = "\"a\\\\b@c\"",
	  .domain = "example.com" },
	{ .in = "<\"\"@example.com>", .ret = 16, .addr = "\"\"@example.com",
	  .local = "\"\"", .domain = "example.com" },
	{ .in = "<\"unterminated@example.com>", .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<\"a\"b@example.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<a.\"b\"@example.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<\"a\tb\"@example.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<\"a\\\x01\"@example.com>", .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<\"a\\", .ret = -1, .error = E_RCPT_SYNTAX },

	/* source routes: checked, then dropped */
	{ .in = "<@a.example,@b.example:user@c.example>", .ret = 38,
	  .addr = "user@c.example", .local = "user", .domain = "c.example" },
	{ .in = "<@a.example:user@c.example>", .ret = 27,
	  .addr = "user@c.example", .local = "user", .domain = "c.example" },
	{ .in = "<@a.example,b.example:user@c.example>", .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<@a.example user@c.example>", .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<@a.example,:user@c.example>", .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<@:user@c.example>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<@[192.0.2.1]:user@c.example>", .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<@example.com>", .ret = -1, .error = E_RCPT_SYNTAX },

	/* address literals */
	{ .in = "<user@[192.0.2.1]>", .ret = 18, .addr = "user@[192.0.2.1]",
	  .local = "user", .domain = "[192.0.2.1]" },
	{ .in = "<user@[IPv6:2001:db8::1]>", .ret = 25,
	  .addr = "user@[IPv6:2001:db8::1]", .local = "user",
	  .domain = "[IPv6:2001:db8::1]" },
	{ .in = "<u@[ipv6:1:2:3:4:5:6:7:8]>", .ret = 26,
	  .addr = "u@[ipv6:1:2:3:4:5:6:7:8]", .local = "u",
	  .domain = "[ipv6:1:2:3:4:5:6:7:8]" },
	{ .in = "<u@[IPv6:::ffff:192.0.2.1]>", .ret = 27,
	  .addr = "u@[IPv6:::ffff:192.0.2.1]", .local = "u",
	  .domain = "[IPv6:::ffff:192.0.2.1]" },
	{ .in = "<u@[IPv6:1:2:3:4:5:6:192.0.2.1]>", .ret = 32,
	  .addr = "u@[IPv6:1:2:3:4:5:6:192.0.2.1]", .local = "u",
	  .domain = "[IPv6:1:2:3:4:5:6:192.0.2.1]" },
	{ .in = "<u@[IPv6:::]>", .ret = 13, .addr = "u@[IPv6:::]",
	  .local = "u", .domain = "[IPv6:::]" },
	{ .in = "<u@[192.0.2.256]>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[192.0.2]>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[192.0.2.1.5]>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[1920.0.2.1]>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[]>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[192.0.2.1>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[2001:db8::1]>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[IPv6:2001:db8:::1]>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[IPv6:1::2::3]>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[IPv6:12345::1]>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[IPv6:1:2:3:4:5:6:7]>", .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<u@[IPv6:1:2:3:4:5:6:7:8:9]>", .ret = -1,
	  .error = E_RCPT_SYNTAX },
	/* RFC 5321: "::" stands for at least two groups */
	{ .in = "<u@[IPv6:1:2:3:4:5:6:7::]>", .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<u@[IPv6:1:2:3:4:5::192.0.2.1]>", .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<u@[IPv6:1:]>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[IPv6:::192.0.2]>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[IPv6:::ab.0.2.1]>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[IPv6:]>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[IPv6:fe80::1%eth0]>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[x-tag:anything]>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@[192.0.2.1].example>", .ret = -1, .error = E_RCPT_SYNTAX },

	/* SMTPUTF8 (RFC 6531) */
	{ .in = "<j\xc3\xb6rg@example.com>", .flags = U8, .ret = 19,
	  .addr = "j\xc3\xb6rg@example.com", .local = "j\xc3\xb6rg",
	  .domain = "example.com", .utf8 = true },
	{ .in = "<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
		"\xe5\xb9\xbf\xe5\x91\x8a>",
	  .flags = U8, .ret = 22,
	  .addr = "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
		  "\xe5\xb9\xbf\xe5\x91\x8a",
	  .local = "\xe7\x94\xa8\xe6\x88\xb7",
	  .domain = "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a",
	  .utf8 = true },
	{ .in = "<\"j\xc3\xb6 rg\"@example.com>", .flags = U8, .ret = 22,
	  .addr = "\"j\xc3\xb6 rg\"@example.com", .local = "\"j\xc3\xb6 rg\"",
	  .domain = "example.com", .utf8 = true },
	{ .in = "<u@\xf0\x9f\x93\xa7.example>", .flags = U8, .ret = 16,
	  .addr = "u@\xf0\x9f\x93\xa7.example", .local = "u",
	  .domain = "\xf0\x9f\x93\xa7.example", .utf8 = true },
	{ .in = "<j\xc3\xb6rg@example.com>", .ret = -1, .error = E_ASCII },
	{ .in = "<u@ex\xc3\xa4mple.com>", .flags = MAIL, .ret = -1,
	  .error = E_ASCII },
	{ .in = "<u\xff@example.com>", .ret = -1, .error = E_ASCII },
	/* ill-formed UTF-8 is refused even under SMTPUTF8 */
	{ .in = "<j\xc3@example.com>", .flags = U8, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<j\xc3", .flags = U8, .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<\xc0\xafu@example.com>", .flags = U8, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<\xe0\x80\xafu@example.com>", .flags = U8, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<\xed\xa0\x80u@example.com>", .flags = U8, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<\xf4\x90\x80\x80u@example.com>", .flags = U8, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<\xf5\x80\x80\x80u@example.com>", .flags = U8, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<\x80u@example.com>", .flags = U8, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<\xc2\x85u@example.com>", .flags = U8, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<u@\xff.example>", .flags = U8, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<\"\\\xc3\xb6\"@example.com>", .flags = U8, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<\xe4\xbe\x41u@example.com>", .flags = U8, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<\"j\xc3\xb6\"@example.com>", .ret = -1, .error = E_ASCII },
	{ .in = "<\"j\xc3\"@example.com>", .flags = U8, .ret = -1,
	  .error = E_RCPT_SYNTAX },

	/* brackets, spaces and garbage */
	{ .in = "user@example.com", .ret = -1, .error = E_RCPT_FORM },
	{ .in = "user@example.com", .flags = MAIL, .ret = -1,
	  .error = E_MAIL_FORM },
	{ .in = "", .ret = -1, .error = E_RCPT_FORM },
	{ .in = "<", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<user@example.com", .ret = -1, .error = E_RCPT_FORM },
	{ .in = "user@example.com>", .ret = -1, .error = E_RCPT_FORM },
	{ .in = " <user@example.com>", .ret = -1, .error = E_RCPT_FORM },
	{ .in = "< user@example.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<user @example.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<user@ example.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<user@example.com >", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<john doe@example.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<<user@example.com>>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<user@example.com;x>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<user>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<user@>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<@>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<user@@example.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<a@b@example.com>", .ret = -1, .error = E_RCPT_SYNTAX },

	/* dot-strings and domain labels */
	{ .in = "<.user@example.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<user.@example.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<us..er@example.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@example..com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@.example.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@example.com.>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@-example.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@example-.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@example.-com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@ex_ample.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<u@ex*ample.com>", .ret = -1, .error = E_RCPT_SYNTAX },

	/* NUL bytes and control characters */
	{ .in = "<us\0er@example.com>", .len = 20, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<user@exam\0ple.com>", .len = 20, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<user@example.com\0>", .len = 19, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<\"us\0er\"@example.com>", .len = 22, .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "\0<user@example.com>", .len = 19, .ret = -1,
	  .error = E_RCPT_FORM },
	{ .in = "<us\ter@example.com>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<user@example.com\r\n>", .ret = -1, .error = E_RCPT_SYNTAX },
	{ .in = "<us\x7f" "er@example.com>", .ret = -1,
	  .error = E_RCPT_SYNTAX },
	{ .in = "<us\x1b" "er@example.com>", .flags = U8, .ret = -1,
	  .error = E_RCPT_SYNTAX },
};

/* check_path - compare a parsed path with what a case expects */
static void check_path(const struct smtp_path *p, const char *addr,
		       const char *local, const char *domain, bool utf8)
{
	CHECK_STR(p->addr, addr);
	CHECK_STR(p->local, local);
	CHECK_STR(p->domain, domain);
	CHECK_INT(p->utf8, utf8);
}

/* test_path_cases - smtp_path_parse over the table */
static void test_path_cases(void)
{
	for (size_t i = 0; i < NELEM(path_cases); i++) {
		const struct path_case *tc = &path_cases[i];
		size_t len = case_len(tc->in, tc->len);
		char *in = exact(tc->in, len);
		struct smtp_path p;
		const char *error = NULL;
		int ret;

		ret = smtp_path_parse(in, len, tc->flags, &p, &error);
		CHECK_INT(ret, tc->ret);
		if (ret != tc->ret)
			fprintf(stderr, "  path case %zu: %s\n", i, tc->in);
		if (tc->ret >= 0) {
			check_path(&p, tc->addr, tc->local, tc->domain,
				   tc->utf8);
		} else {
			CHECK_STR(error, tc->error);
			CHECK(p.addr == NULL && p.local == NULL &&
			      p.domain == NULL);
		}
		smtp_path_free(&p);
		free(in);
	}
}

/* make_path - "<" local "@" domain ">" with the given part lengths */
static char *make_path(size_t local_len, size_t domain_len, size_t *len_r)
{
	char *s = xmalloc(local_len + domain_len + 3);
	size_t i = 0, label = 0;

	s[i++] = '<';
	memset(s + i, 'l', local_len);
	i += local_len;
	s[i++] = '@';
	for (size_t d = 0; d < domain_len; d++) {
		/* labels of 50, dot-separated, never ending in a dot */
		bool dot = label == 50 && d + 1 < domain_len;
		s[i++] = dot ? '.' : 'd';
		label = dot ? 0 : label + 1;
	}
	s[i++] = '>';
	*len_r = i;
	return s;
}

/* test_limits - RFC 5321 4.5.3.1 sizes and the 63-octet label */
static void test_limits(void)
{
	static const struct {
		size_t local, domain;
		int ret;
		const char *error;
	} cases[] = {
		{ .local = 64, .domain = 11, .ret = 78 },
		{ .local = 65, .domain = 11, .ret = -1, .error = E_RCPT_LONG },
		{ .local = 64, .domain = 189, .ret = 256 },
		{ .local = 64, .domain = 190, .ret = -1, .error = E_RCPT_LONG },
		{ .local = 1, .domain = 252, .ret = 256 },
		{ .local = 1, .domain = 253, .ret = -1, .error = E_RCPT_LONG },
		{ .local = 1, .domain = 256, .ret = -1, .error = E_RCPT_LONG },
		{ .local = 300, .domain = 300, .ret = -1,
		  .error = E_RCPT_LONG },
	};
	struct smtp_path p;
	const char *error;
	size_t len;
	char *s;

	for (size_t i = 0; i < NELEM(cases); i++) {
		s = make_path(cases[i].local, cases[i].domain, &len);
		error = NULL;
		CHECK_INT(smtp_path_parse(s, len, 0, &p, &error), cases[i].ret);
		CHECK_STR(error, cases[i].error);
		if (cases[i].ret > 0)
			CHECK_INT(strlen(p.local), cases[i].local);
		smtp_path_free(&p);
		free(s);
	}

	/* the sender reply text for the same fault */
	s = make_path(65, 11, &len);
	CHECK_INT(smtp_path_parse(s, len, MAIL, &p, &error), -1);
	CHECK_STR(error, E_MAIL_LONG);
	free(s);

	/* a label of 63 octets, then one of 64 */
	for (size_t label = 63; label <= 64; label++) {
		len = 3 + label + 9;
		s = xmalloc(len);
		memcpy(s, "<u@", 3);
		memset(s + 3, 'x', label);
		memcpy(s + 3 + label, ".example>", 9);
		error = NULL;
		CHECK_INT(smtp_path_parse(s, len, 0, &p, &error),
			  label == 63 ? (int)len : -1);
		CHECK_STR(error, label == 63 ? NULL : E_RCPT_SYNTAX);
		smtp_path_free(&p);
		free(s);
	}
}

static const struct mail_case {
	const char *in;
	size_t len;
	bool allow_utf8;
	const char *error; /* NULL: accepted */
	const char *addr;
	bool utf8;
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
} mail_cases[] = {
	{ .in = "<a@b.example>", .addr = "a@b.example" },
	{ .in = "<>", .addr = "" },
	{ .in = "<> SIZE=0", .addr = "", .has_size = true, .size = 0 },
	/* "MAIL FROM: <a@b>": one SP after the colon, as Postfix allows */
	{ .in = " <a@b.example>", .addr = "a@b.example" },
	{ .in = "  <a@b.example>", .error = E_MAIL_FORM },
	{ .in = "\t<a@b.example>", .error = E_MAIL_FORM },
	{ .in = "", .error = E_MAIL_FORM },
	{ .in = " ", .error = E_MAIL_FORM },
	{ .in = "a@b.example", .error = E_MAIL_FORM },
	{ .in = "<a@b.example>x", .error = E_MAIL_FORM },
	{ .in = "<a@b.example>SIZE=1", .error = E_MAIL_FORM },
	{ .in = "<a b@example>", .error = E_MAIL_SYNTAX },
	{ .in = "<postmaster>", .error = E_MAIL_SYNTAX },
	{ .in = "<a@b.example> ", .addr = "a@b.example" },

	/* SIZE (RFC 1870) */
	{ .in = "<a@b.example> SIZE=12345", .addr = "a@b.example",
	  .has_size = true, .size = 12345 },
	{ .in = "<a@b.example> size=12345", .addr = "a@b.example",
	  .has_size = true, .size = 12345 },
	{ .in = "<a@b.example> SIZE=18446744073709551615",
	  .addr = "a@b.example", .has_size = true, .size = UINT64_MAX },
	{ .in = "<a@b.example> SIZE=00000000000000000001",
	  .addr = "a@b.example", .has_size = true, .size = 1 },
	{ .in = "<a@b.example> SIZE=18446744073709551616", .error = E_SIZE },
	{ .in = "<a@b.example> SIZE=99999999999999999999", .error = E_SIZE },
	{ .in = "<a@b.example> SIZE=000000000000000000001", .error = E_SIZE },
	{ .in = "<a@b.example> SIZE=12a", .error = E_SIZE },
	{ .in = "<a@b.example> SIZE=-1", .error = E_SIZE },
	{ .in = "<a@b.example> SIZE=+1", .error = E_SIZE },
	{ .in = "<a@b.example> SIZE", .error = E_SIZE },
	{ .in = "<a@b.example> SIZE=", .error = E_MAIL_PARAMS },
	{ .in = "<a@b.example> SIZE=1=2", .error = E_MAIL_PARAMS },
	{ .in = "<a@b.example> SIZE=1 SIZE=2", .error = E_MAIL_DUP },
	{ .in = "<a@b.example> SIZE=1 size=1", .error = E_MAIL_DUP },

	/* BODY (RFC 6152, RFC 3030) */
	{ .in = "<a@b.example> BODY=8BITMIME", .addr = "a@b.example",
	  .body = SMTP_BODY_8BITMIME },
	{ .in = "<a@b.example> body=8bitmime", .addr = "a@b.example",
	  .body = SMTP_BODY_8BITMIME },
	{ .in = "<a@b.example> BODY=7BIT", .addr = "a@b.example",
	  .body = SMTP_BODY_7BIT },
	{ .in = "<a@b.example> BODY=BINARYMIME", .addr = "a@b.example",
	  .body = SMTP_BODY_BINARYMIME },
	{ .in = "<a@b.example> BODY=9BIT", .error = E_BODY },
	{ .in = "<a@b.example> BODY=8BITMIMEX", .error = E_BODY },
	{ .in = "<a@b.example> BODY", .error = E_BODY },
	{ .in = "<a@b.example> BODY=7BIT BODY=7BIT", .error = E_MAIL_DUP },

	/* SMTPUTF8 (RFC 6531) */
	{ .in = "<a@b.example> SMTPUTF8", .allow_utf8 = true,
	  .addr = "a@b.example", .smtputf8 = true },
	{ .in = "<a@b.example> smtputf8", .allow_utf8 = true,
	  .addr = "a@b.example", .smtputf8 = true },
	{ .in = "<a@b.example> SMTPUTF8", .error = E_MAIL_UNSUP },
	{ .in = "<a@b.example> SMTPUTF8=yes", .allow_utf8 = true,
	  .error = E_UTF8_VALUE },
	{ .in = "<a@b.example> SMTPUTF8 SMTPUTF8", .allow_utf8 = true,
	  .error = E_MAIL_DUP },
	{ .in = "<j\xc3\xb6rg@b.example> SMTPUTF8", .allow_utf8 = true,
	  .addr = "j\xc3\xb6rg@b.example", .utf8 = true, .smtputf8 = true },
	{ .in = "<j\xc3\xb6rg@b.example>", .allow_utf8 = true,
	  .error = E_ASCII },
	{ .in = "<j\xc3\xb6rg@b.example> SMTPUTF8", .error = E_ASCII },
	{ .in = "<j\xc3@b.example> SMTPUTF8", .allow_utf8 = true,
	  .error = E_MAIL_SYNTAX },

	/* all together, any order, extra SP tolerated */
	{ .in = "<a@b.example> SIZE=100 BODY=8BITMIME SMTPUTF8",
	  .allow_utf8 = true, .addr = "a@b.example", .has_size = true,
	  .size = 100, .body = SMTP_BODY_8BITMIME, .smtputf8 = true },
	{ .in = "<a@b.example>  SMTPUTF8  body=7bit   Size=7 ",
	  .allow_utf8 = true, .addr = "a@b.example", .has_size = true,
	  .size = 7, .body = SMTP_BODY_7BIT, .smtputf8 = true },

	/* unknown and malformed parameters */
	{ .in = "<a@b.example> FOO=bar", .error = E_MAIL_UNSUP },
	{ .in = "<a@b.example> AUTH=<>", .error = E_MAIL_UNSUP },
	{ .in = "<a@b.example> RET=HDRS", .error = E_MAIL_UNSUP },
	{ .in = "<a@b.example> SIZE=1 X-FOO", .error = E_MAIL_UNSUP },
	{ .in = "<a@b.example> =1", .error = E_MAIL_PARAMS },
	{ .in = "<a@b.example> -X=1", .error = E_MAIL_PARAMS },
	{ .in = "<a@b.example> SI_ZE=1", .error = E_MAIL_PARAMS },
	{ .in = "<a@b.example> SIZE=1\tBODY=7BIT", .error = E_MAIL_PARAMS },
	{ .in = "<a@b.example> SIZE=1\r\n", .error = E_MAIL_PARAMS },
	{ .in = "<a@b.example> SIZE=1\0", .len = 22, .error = E_MAIL_PARAMS },
	{ .in = "<a@b.example> X=\xc3\xb6", .allow_utf8 = true,
	  .error = E_MAIL_PARAMS },
};

/* test_mail_cases - smtp_mail_args_parse over the table */
static void test_mail_cases(void)
{
	for (size_t i = 0; i < NELEM(mail_cases); i++) {
		const struct mail_case *tc = &mail_cases[i];
		size_t len = case_len(tc->in, tc->len);
		char *in = exact(tc->in, len);
		struct smtp_mail_params mp;
		struct smtp_path p;
		const char *error = NULL;
		int ret;

		ret = smtp_mail_args_parse(in, len, tc->allow_utf8, &p, &mp,
					   &error);
		CHECK_INT(ret, tc->error ? -1 : 0);
		CHECK_STR(error, tc->error);
		if (tc->error != NULL && ret == 0)
			fprintf(stderr, "  mail case %zu: %s\n", i, tc->in);
		if (ret == 0) {
			CHECK_STR(p.addr, tc->addr);
			CHECK_INT(p.utf8, tc->utf8);
			CHECK_INT(mp.has_size, tc->has_size);
			CHECK_INT(mp.size, tc->size);
			CHECK_INT(mp.body, tc->body);
			CHECK_INT(mp.smtputf8, tc->smtputf8);
		} else {
			CHECK(p.addr == NULL);
			CHECK(!mp.has_size && mp.body == SMTP_BODY_UNSET &&
			      !mp.smtputf8);
		}
		smtp_path_free(&p);
		free(in);
	}
}

static const struct rcpt_case {
	const char *in;
	bool utf8;
	const char *error;
	const char *addr;
} rcpt_cases[] = {
	{ .in = "<a@b.example>", .addr = "a@b.example" },
	{ .in = " <a@b.example>", .addr = "a@b.example" },
	{ .in = "<a@b.example> ", .addr = "a@b.example" },
	{ .in = "<postmaster>", .addr = "postmaster" },
	{ .in = "<POSTMASTER>", .addr = "POSTMASTER" },
	{ .in = "<@r.example:a@b.example>", .addr = "a@b.example" },
	{ .in = "<j\xc3\xb6rg@b.example>", .utf8 = true,
	  .addr = "j\xc3\xb6rg@b.example" },
	{ .in = "<j\xc3\xb6rg@b.example>", .error = E_ASCII },
	{ .in = "<>", .error = E_RCPT_SYNTAX },
	{ .in = "<a@b.example> NOTIFY=NEVER", .error = E_RCPT_UNSUP },
	{ .in = "<a@b.example> notify=success,failure", .error = E_RCPT_UNSUP },
	{ .in = "<a@b.example> ORCPT=rfc822;a@b.example",
	  .error = E_RCPT_UNSUP },
	{ .in = "<a@b.example> NOTIFY", .error = E_RCPT_UNSUP },
	{ .in = "<a@b.example> SMTPUTF8", .utf8 = true,
	  .error = E_RCPT_UNSUP },
	{ .in = "<a@b.example> =x", .error = E_RCPT_PARAMS },
	{ .in = "<a@b.example>x", .error = E_RCPT_FORM },
	{ .in = "a@b.example", .error = E_RCPT_FORM },
	{ .in = "  <a@b.example>", .error = E_RCPT_FORM },
	{ .in = "<a@b.example", .error = E_RCPT_FORM },
	{ .in = "<a@-b.example>", .error = E_RCPT_SYNTAX },
};

/* test_rcpt_cases - smtp_rcpt_args_parse over the table */
static void test_rcpt_cases(void)
{
	for (size_t i = 0; i < NELEM(rcpt_cases); i++) {
		const struct rcpt_case *tc = &rcpt_cases[i];
		size_t len = strlen(tc->in);
		char *in = exact(tc->in, len);
		struct smtp_path p;
		const char *error = NULL;
		int ret;

		ret = smtp_rcpt_args_parse(in, len, tc->utf8, &p, &error);
		CHECK_INT(ret, tc->error ? -1 : 0);
		CHECK_STR(error, tc->error);
		CHECK_STR(p.addr, tc->error ? NULL : tc->addr);
		smtp_path_free(&p);
		free(in);
	}
}

static const struct domain_case {
	const char *in;
	size_t len;
	bool allow_utf8;
	bool valid;
} domain_cases[] = {
	{ .in = "example.com", .valid = true },
	{ .in = "localhost", .valid = true },
	{ .in = "mx-1.Example.COM", .valid = true },
	{ .in = "[192.0.2.1]", .valid = true },
	{ .in = "[IPv6:2001:db8::1]", .valid = true },
	{ .in = "[IPv6:::1]", .valid = true },
	{ .in = "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a",
	  .allow_utf8 = true, .valid = true },
	{ .in = "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a" },
	{ .in = "\xff.example", .allow_utf8 = true },
	{ .in = "" },
	{ .in = "." },
	{ .in = "-a.example" },
	{ .in = "a-.example" },
	{ .in = "a_b.example" },
	{ .in = "example.com." },
	{ .in = "exa mple.com" },
	{ .in = "example.com\0", .len = 12 },
	{ .in = "[192.0.2.1" },
	{ .in = "[192.0.2.1]x" },
	{ .in = "[192.0.2.1].example" },
	{ .in = "192.0.2.1", .valid = true }, /* a Domain of digit labels */
	{ .in = "[IPv6:192.0.2.1]" },
	{ .in = "[]" },
	{ .in = "[" },
};

/* test_domain_cases - smtp_domain_valid over the table, and its limit */
static void test_domain_cases(void)
{
	char big[260];

	for (size_t i = 0; i < NELEM(domain_cases); i++) {
		const struct domain_case *tc = &domain_cases[i];
		size_t len = case_len(tc->in, tc->len);
		char *in = exact(tc->in, len);

		CHECK_INT(smtp_domain_valid(in, len, tc->allow_utf8),
			  tc->valid);
		if (smtp_domain_valid(in, len, tc->allow_utf8) != tc->valid)
			fprintf(stderr, "  domain case %zu: %s\n", i, tc->in);
		free(in);
	}

	/* 255 octets: four labels of 63 and three dots */
	memset(big, 'a', sizeof(big));
	big[63] = big[127] = big[191] = '.';
	CHECK(smtp_domain_valid(big, 255, false));
	big[255] = 'a';
	CHECK(!smtp_domain_valid(big, 256, false));
	big[63] = 'a'; /* a 127-octet label */
	CHECK(!smtp_domain_valid(big, 255, false));
}

/* test_free_zeroed - smtp_path_free is safe twice and on a failed parse */
static void test_free_zeroed(void)
{
	struct smtp_path p;
	const char *error;

	CHECK_INT(smtp_path_parse("<a@b>", 5, 0, &p, &error), 5);
	smtp_path_free(&p);
	CHECK(p.addr == NULL && p.local == NULL && p.domain == NULL);
	smtp_path_free(&p);
}

int main(void)
{
	test_path_cases();
	test_limits();
	test_mail_cases();
	test_rcpt_cases();
	test_domain_cases();
	test_free_zeroed();
	return check_summary("test_smtp_path");
}
