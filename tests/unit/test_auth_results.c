/*
 * test_auth_results - the Authentication-Results field we write, and the
 * removal of fields that claim our authserv-id (RFC 8601 §5).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "filters/facts.h"
#include "gateway/auth_results.h"
#include "gateway/header_strip.h"
#include "tests/unit/check.h"

struct ar_case {
	const char *facts[20];	/* name, value, name, value, ..., NULL */
	const char *want;
};

static const struct ar_case ar_cases[] = {
	{.facts = {NULL}, .want = "Authentication-Results: mx.example.com; none\r\n"},
	{.facts = {"env.from", "a@example.org", "spf.result", "pass", "spf.domain", "example.org",
		   NULL},
	 .want = "Authentication-Results: mx.example.com;\r\n\tspf=pass smtp.mailfrom=example.org\r\n"},
	{.facts = {"env.from", "", "spf.result", "none", "spf.domain", "helo.example.org", NULL},
	 .want = "Authentication-Results: mx.example.com;\r\n\tspf=none smtp.helo=helo.example.org\r\n"},
	{.facts = {"dkim.result", "pass", "dkim.domain", "a.example", "dkim.selector", "s1",
		   "dkim.algorithm", "rsa-sha256", "dkim.result", "fail", "dkim.domain", "b.example",
		   "dkim.selector", "s 2", "dkim.algorithm", "ed25519-sha256", NULL},
	 .want = "Authentication-Results: mx.example.com;\r\n"
		 "\tdkim=pass header.d=a.example header.s=s1 header.a=rsa-sha256;\r\n"
		 "\tdkim=fail header.d=b.example header.s=\"s 2\" header.a=ed25519-sha256\r\n"},
	{.facts = {"dkim.result", "none", "dkim.domain", "", "dmarc.result", "fail", "dmarc.domain",
		   "ex\"ample.org", NULL},
	 .want = "Authentication-Results: mx.example.com;\r\n\tdkim=none;\r\n"
		 "\tdmarc=fail header.from=\"ex\\\"ample.org\"\r\n"},
};

static void test_header(void)
{
	for (size_t i = 0; i < sizeof(ar_cases) / sizeof(ar_cases[0]); i++) {
		struct facts f;
		struct buf out;

		facts_init(&f);
		for (const char *const *p = ar_cases[i].facts; *p; p += 2)
			facts_add_str(&f, p[0], p[1]);
		buf_init(&out);
		auth_results_header(&out, "mx.example.com", &f);
		CHECK_STR(buf_cstr(&out), ar_cases[i].want);
		buf_free(&out);
		facts_clear(&f);
	}
}

struct strip_case {
	const char *in, *out;
	size_t removed;
};

static const struct strip_case strip_cases[] = {
	{"Authentication-Results: mx.example.com; spf=pass\r\nSubject: x\r\n\r\nbody\r\n",
	 "Subject: x\r\n\r\nbody\r\n", 1},
	{"authentication-results:   MX.Example.COM;\r\n\tdkim=pass\r\nSubject: x\r\n\r\n",
	 "Subject: x\r\n\r\n", 1},
	{"Authentication-Results: (a (nested) comment) mx.example.com; none\r\n\r\n", "\r\n", 1},
	{"Authentication-Results: mx.example.com.evil; spf=pass\r\n\r\n",
	 "Authentication-Results: mx.example.com.evil; spf=pass\r\n\r\n", 0},
	{"Authentication-Results: other.example; spf=pass\r\n\r\n",
	 "Authentication-Results: other.example; spf=pass\r\n\r\n", 0},
	{"Subject: x\r\n\r\nAuthentication-Results: mx.example.com; spf=pass\r\n",
	 "Subject: x\r\n\r\nAuthentication-Results: mx.example.com; spf=pass\r\n", 0},
	{"Authentication-Results: mx.example.com\r\n\r\n", "\r\n", 1},
};

static void test_strip(void)
{
	for (size_t i = 0; i < sizeof(strip_cases) / sizeof(strip_cases[0]); i++) {
		struct buf msg;

		buf_init(&msg);
		buf_append_str(&msg, strip_cases[i].in);
		CHECK_INT(header_strip_auth_results(&msg, "mx.example.com"), strip_cases[i].removed);
		CHECK_STR(buf_cstr(&msg), strip_cases[i].out);
		buf_free(&msg);
	}
}

int main(void)
{
	test_header();
	test_strip();
	return check_summary("test_auth_results");
}
