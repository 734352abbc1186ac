/*
 * test_mail_from - finding the author domain in a raw header: counting
 * From fields, mailbox-list syntax, and the tricks that hide a second
 * author or fake one.
 */
#include "config.h"

#include <string.h>

#include "common/buf.h"
#include "filters/mail_from.h"
#include "tests/unit/check.h"

struct from_case {
	const char *header; /* ends the header with an empty line unless raw */
	size_t fields;
	size_t addresses;
	const char *domain;  /* NULL: none */
	const char *problem; /* NULL: none */
	const char *domains; /* every valid domain, space-separated */
};

/* joined - the valid domains found, space-separated */
static const char *joined(const struct from_info *info)
{
	static char text[512];

	text[0] = '\0';
	for (size_t i = 0; i < info->ndomains; i++) {
		if (i)
			strcat(text, " ");
		strncat(text, info->domains[i], sizeof(text) - strlen(text) - 2);
	}
	return text;
}

/* run_case - parse one header, check what was found */
static void run_case(const struct from_case *c)
{
	struct from_info info;
	int before = check_failures;
	int rc = mail_from_parse(c->header, strlen(c->header), &info);

	CHECK_INT(info.fields, c->fields);
	CHECK_INT(info.addresses, c->addresses);
	CHECK_STR(info.domain, c->domain);
	CHECK_STR(info.problem, c->problem);
	CHECK_STR(joined(&info), c->domains ? c->domains : "");
	CHECK_INT(rc, c->domain ? 0 : -1);
	if (check_failures != before)
		fprintf(stderr, "  (case: %s)\n", c->header);
	from_info_free(&info);
	CHECK(info.domain == NULL && info.ndomains == 0);
}

static const struct from_case syntax_cases[] = {
    {.header = "From: a@example.com\r\n\r\nbody\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "example.com",
     .domains = "example.com"},
    {.header = "Subject: x\r\nFrom: Alice <alice@Example.COM>\r\nTo: b@c.example\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "example.com",
     .domains = "example.com"},
    /* field name in any case, blanks before the colon (obs-optional) */
    {.header = "fROM : a@example.com\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "example.com",
     .domains = "example.com"},
    /* folded over lines */
    {.header = "From: \"Alice\r\n Smith\"\r\n\t<alice@example.com>\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "example.com",
     .domains = "example.com"},
    /* LF-only lines are lines too */
    {.header = "From: a@example.com\n\n",
     .fields = 1,
     .addresses = 1,
     .domain = "example.com",
     .domains = "example.com"},
    /* quoted display names holding "@" and "<>" are names */
    {.header = "From: \"ceo@bank.example <ceo@bank.example>\" <x@evil.example>\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "evil.example",
     .domains = "evil.example"},
    {.header = "From: \"a \\\" <ceo@bank.example>, \\\\\" <x@evil.example>\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "evil.example",
     .domains = "evil.example"},
    /* comments, nested and escaped, are never addresses */
    {.header = "From: x@evil.example (ceo@bank.example)\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "evil.example",
     .domains = "evil.example"},
    {.header = "From: (a (b \\) <c@bank.example>) d) x (y) @ (z) evil.example\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "evil.example",
     .domains = "evil.example"},
    /* RFC 2047: a reader shows "ceo@bank.example"; the address is x@evil.example */
    {.header = "From: \"=?utf-8?q?ceo@bank.example?=\" <x@evil.example>\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "evil.example",
     .domains = "evil.example"},
    {.header = "From: =?utf-8?q?ceo@bank.example?= <x@evil.example>\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "evil.example",
     .domains = "evil.example"},
    {.header = "From: =?utf-8?q?ceo@bank.example,_b@c.example?= <x@evil.example>\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "evil.example",
     .domains = "evil.example"},
    /* ...and alone it is no address at all (RFC 2047 §5) */
    {.header = "From: =?utf-8?q?ceo@bank.example?=\r\n\r\n", .fields = 1, .problem = "unparsable"},
    {.header = "From: =?utf-8?q?ceo?=@bank.example\r\n\r\n", .fields = 1, .problem = "unparsable"},
    /* not an encoded-word (no "?="): plain atoms, a plain address */
    {.header = "From: =?x@example.com\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "example.com",
     .domains = "example.com"},
    /* groups (RFC 6854) */
    {.header = "From: Team: a@example.com;\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "example.com",
     .domains = "example.com"},
    {.header = "From: Team: a@example.com, Bob <b@example.net>;\r\n\r\n",
     .fields = 1,
     .addresses = 2,
     .problem = "several addresses",
     .domains = "example.com example.net"},
    {.header = "From: undisclosed:;\r\n\r\n", .fields = 1, .problem = "no valid address"},
    {.header = "From: g: a@example.com\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .problem = "unparsable",
     .domains = "example.com"},
    {.header = "From: g: h: a@example.com;;\r\n\r\n", .fields = 1, .problem = "unparsable"},
    /* obs forms: route, dots in local parts, empty list members, CFWS around dots */
    {.header = "From: <@relay.example,@b.example:a@example.com>\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "example.com",
     .domains = "example.com"},
    {.header = "From: taro..@docomo.ne.jp\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "docomo.ne.jp",
     .domains = "docomo.ne.jp"},
    {.header = "From: , a@example.com ,,\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "example.com",
     .domains = "example.com"},
    {.header = "From: John Q. Public <j . q @ example . com>\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "example.com",
     .domains = "example.com"},
    {.header = "From: \"quoted local\"@example.com\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "example.com",
     .domains = "example.com"},
    /* UTF-8 display names (RFC 6532) */
    {.header = "From: \xe5\xb1\xb1\xe7\x94\xb0 <yamada@example.jp>\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "example.jp",
     .domains = "example.jp"},
    /* a trailing dot is the same domain */
    {.header = "From: a@EXAMPLE.com.\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .domain = "example.com",
     .domains = "example.com"},
};

static const struct from_case problem_cases[] = {
    {.header = "Subject: none\r\n\r\nFrom: a@example.com\r\n", .problem = "no From"},
    {.header = "", .problem = "no From"},
    /* "From " (mbox) and "From-X" are not From fields */
    {.header = "From a@example.com Mon Jan  1\r\nFrom-X: a@example.com\r\n\r\n",
     .problem = "no From"},
    {.header = "From: a@example.com\r\nFrom: b@example.net\r\n\r\n",
     .fields = 2,
     .addresses = 2,
     .problem = "several From fields",
     .domains = "example.com example.net"},
    /* a line that is no field does not end the header */
    {.header = "From: a@example.com\r\nnot a field\r\nFROM: b@example.net\r\n\r\n",
     .fields = 2,
     .addresses = 2,
     .problem = "several From fields",
     .domains = "example.com example.net"},
    /* a blank-only line is a continuation, not the end of the header */
    {.header = "From: a@example.com\r\n \r\nFrom: b@example.net\r\n\r\n",
     .fields = 2,
     .addresses = 2,
     .problem = "several From fields",
     .domains = "example.com example.net"},
    /* a bare CR does not end a line, and is no part of a From */
    {.header = "From: a@example.com\rFrom: b@example.net\r\n\r\n",
     .fields = 1,
     .problem = "unparsable"},
    {.header = "From: a@example.com, b@example.com\r\n\r\n",
     .fields = 1,
     .addresses = 2,
     .problem = "several addresses",
     .domains = "example.com example.com"},
    {.header = "From: <a@example.com> <b@example.net>\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .problem = "unparsable",
     .domains = "example.com"},
    {.header = "From:\r\n\r\n", .fields = 1, .problem = "no valid address"},
    {.header = "From: <>\r\n\r\n", .fields = 1, .addresses = 1, .problem = "no valid address"},
    {.header = "From: MAILER-DAEMON\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .problem = "no valid address"},
    {.header = "From: John Doe\r\n\r\n", .fields = 1, .problem = "unparsable"},
    {.header = "From: a@[192.0.2.1]\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .problem = "no valid address"},
    {.header = "From: a@localhost\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .problem = "no valid address"},
    {.header = "From: a@192.0.2.1\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .problem = "no valid address"},
    {.header = "From: a@-bad.example\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .problem = "no valid address"},
    {.header = "From: a@under_score.example\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .problem = "no valid address"},
    {.header = "From: a@b\xc3\xa4nk.example\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .problem = "no valid address"},
    {.header = "From: a@\r\n\r\n", .fields = 1, .problem = "unparsable"},
    {.header = "From: a@example..com\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .problem = "unparsable"},
    {.header = "From: \"unterminated <a@example.com>\r\n\r\n",
     .fields = 1,
     .problem = "unparsable"},
    {.header = "From: (unterminated a@example.com\r\n\r\n", .fields = 1, .problem = "unparsable"},
    {.header = "From: <a@example.com\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .problem = "unparsable",
     .domains = "example.com"},
    {.header = "From: a@example.com>\r\n\r\n",
     .fields = 1,
     .addresses = 1,
     .problem = "unparsable",
     .domains = "example.com"},
    {.header = "From: \"q\" a@example.com\r\n\r\n", .fields = 1, .problem = "unparsable"},
    /* no empty line: the header runs to the end */
    {.header = "From: a@example.com",
     .fields = 1,
     .addresses = 1,
     .domain = "example.com",
     .domains = "example.com"},
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(syntax_cases) / sizeof(syntax_cases[0]); i++)
		run_case(&syntax_cases[i]);
	for (size_t i = 0; i < sizeof(problem_cases) / sizeof(problem_cases[0]); i++)
		run_case(&problem_cases[i]);
}

/* parse_buf - parse what b holds */
static int parse_buf(struct buf *b, struct from_info *info)
{
	return mail_from_parse(b->data, b->len, info);
}

static void test_limits(void)
{
	struct from_info info;
	struct buf b;

	/* comments nested MAIL_FROM_MAX_DEPTH deep are fine, one more is not */
	buf_init(&b);
	buf_append_str(&b, "From: a@example.com ");
	for (int i = 0; i < MAIL_FROM_MAX_DEPTH; i++)
		buf_append_char(&b, '(');
	for (int i = 0; i < MAIL_FROM_MAX_DEPTH; i++)
		buf_append_char(&b, ')');
	CHECK_INT(parse_buf(&b, &info), 0);
	from_info_free(&info);
	buf_reset(&b);
	buf_append_str(&b, "From: a@example.com ");
	for (int i = 0; i <= MAIL_FROM_MAX_DEPTH; i++)
		buf_append_char(&b, '(');
	for (int i = 0; i <= MAIL_FROM_MAX_DEPTH; i++)
		buf_append_char(&b, ')');
	CHECK_INT(parse_buf(&b, &info), -1);
	CHECK_STR(info.problem, "unparsable");
	CHECK_STR(info.syntax_error, "comments nested too deep");
	from_info_free(&info);

	/* more addresses than the limit: counted up to it, several addresses */
	buf_reset(&b);
	buf_append_str(&b, "From: a@example.com");
	for (int i = 0; i < MAIL_FROM_MAX_ADDRESSES + 5; i++)
		buf_append_str(&b, ", b@example.net");
	CHECK_INT(parse_buf(&b, &info), -1);
	CHECK_INT(info.addresses, MAIL_FROM_MAX_ADDRESSES);
	CHECK_STR(info.problem, "several addresses");
	CHECK(!info.complete);
	from_info_free(&info);

	/* a field over MAIL_FROM_MAX_FIELD, however folded, is unparsable */
	buf_reset(&b);
	buf_append_str(&b, "From: a@example.com");
	for (int i = 0; i < MAIL_FROM_MAX_FIELD / 4; i++)
		buf_append_str(&b, "\r\n (xx)");
	buf_append_str(&b, "\r\n\r\n");
	CHECK_INT(parse_buf(&b, &info), -1);
	CHECK_STR(info.problem, "unparsable");
	CHECK_STR(info.syntax_error, "From field too long");
	from_info_free(&info);
	buf_free(&b);
}

static void test_complete(void)
{
	struct from_info info;
	const char *two = "From: a@example.com\r\nFrom: b@example.net\r\n\r\n";
	const char *bad = "From: a@example.com, b@[192.0.2.1]\r\n\r\n";

	/* complete: every address a reader sees has a domain we can ask about */
	mail_from_parse(two, strlen(two), &info);
	CHECK(info.complete);
	from_info_free(&info);
	mail_from_parse(bad, strlen(bad), &info);
	CHECK(!info.complete);
	CHECK_STR(info.problem, "several addresses");
	from_info_free(&info);
	mail_from_parse(NULL, 0, &info);
	CHECK_STR(info.problem, "no From");
	CHECK(!info.complete);
	from_info_free(&info);
}

static void test_not_nul_terminated(void)
{
	struct from_info info;
	char msg[] = "From: a@example.com.beyond-len";

	/* the message is length-counted: what follows len is not read */
	CHECK_INT(mail_from_parse(msg, strlen("From: a@example.com"), &info), 0);
	CHECK_STR(info.domain, "example.com");
	from_info_free(&info);

	/* a NUL inside the field makes it unparsable, never cut short */
	CHECK_INT(mail_from_parse("From: a@example.com\0x\r\n\r\n", 25, &info), -1);
	CHECK_STR(info.problem, "unparsable");
	from_info_free(&info);
}

int main(void)
{
	test_cases();
	test_limits();
	test_complete();
	test_not_nul_terminated();
	return check_summary("test_mail_from");
}
