/*
 * test_message - header and body facts from GMime, hostile input included.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/buf.h"
#include "filters/facts.h"
#include "filters/message.h"
#include "tests/unit/check.h"

#define SEIKYUSHO "\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8" /* 請求書 in UTF-8 */
#define ANNAI                                                                                      \
	"\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8\xe3\x81\xae\xe3\x81\x94\xe6\xa1\x88"                 \
	"\xe5\x86\x85\xe3\x81\xa7\xe3\x81\x99\xe3\x80\x82" /* 請求書のご案内です。 */
#define CIRCLED_1 "\xe2\x91\xa0"                           /* ① */

/* value - the i-th value of name, or NULL */
static const char *value(const struct facts *f, const char *name, size_t i)
{
	const struct fact *fact = facts_find(f, name);

	return fact && i < fact->count ? fact->values[i] : NULL;
}

/* count - how many values name has */
static size_t count(const struct facts *f, const char *name)
{
	const struct fact *fact = facts_find(f, name);

	return fact ? fact->count : 0;
}

/* run - the facts for a NUL-terminated message */
static void run(struct facts *f, const char *msg, const struct message_limits *limits)
{
	facts_init(f);
	message_facts(msg, strlen(msg), limits, f);
}

static const struct {
	const char *raw; /* Subject field body, as on the wire */
	const char *want;
} subjects[] = {
    /* the encoded word from the brief: its JIS bytes 4A71 are 包, not 書 */
    {"=?ISO-2022-JP?B?GyRCQEE1YUpxGyhC?=", "\xe8\xab\x8b\xe6\xb1\x82\xe5\x8c\x85"},
    {"=?ISO-2022-JP?B?GyRCQEE1YT1xGyhC?=", SEIKYUSHO},
    {"=?iso-2022-jp?b?GyRCQEE1YT1xGyhC?=", SEIKYUSHO},
    {"=?Shift_JIS?B?kL+LgY+R?=", SEIKYUSHO},
    {"=?UTF-8?B?6KuL5rGC5pu4?=", SEIKYUSHO},
    {"=?UTF-8?Q?=E8=AB=8B=E6=B1=82_x?=", "\xe8\xab\x8b\xe6\xb1\x82 x"},
    {"=?UTF-8?B?6KuL5rGC?= =?UTF-8?B?5pu4?=", SEIKYUSHO},
    {"Re: =?UTF-8?B?6KuL5rGC5pu4?= (2)", "Re: " SEIKYUSHO " (2)"},
    {SEIKYUSHO, SEIKYUSHO},                         /* raw UTF-8 */
    {"\x90\xbf\x8b\x81\x8f\x91", SEIKYUSHO},        /* raw Shift_JIS */
    {"\xc0\xc1\xb5\xe1\xbd\xf1 2", SEIKYUSHO " 2"}, /* raw EUC-JP */
    {"\x1b$B@A5a=q\x1b(B", SEIKYUSHO},              /* raw ISO-2022-JP */
    {"\x1b$B@A5a=q-!\x1b(B", SEIKYUSHO CIRCLED_1},  /* with a NEC row-13 character */
    {"caf\xe9 au lait", "caf\xc3\xa9 au lait"},     /* raw Latin-1 */
    {"   hello  ", "hello"},
    {"a\r\n b\r\n\tc", "a b\tc"},           /* folded */
    {"x =?nosuch?Q?abc?= y", "x abc y"},    /* unknown charset */
    {"=?UTF-8?B?6KuL", "=?UTF-8?B?6KuL"},   /* not a whole encoded word */
    {"=?UTF-8?X?abc?=", "=?UTF-8?X?abc?="}, /* no such encoding */
    {"", ""},
};

static void test_subjects(void)
{
	for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		struct facts f;
		struct buf msg;

		buf_init(&msg);
		buf_printf(&msg, "From: a@example.jp\r\nSubject: %s\r\n\r\nbody\r\n",
		           subjects[i].raw);
		run(&f, buf_cstr(&msg), NULL);
		CHECK_STR(value(&f, "header.subject", 0), subjects[i].want);
		if (!value(&f, "header.subject", 0) ||
		    strcmp(value(&f, "header.subject", 0), subjects[i].want) != 0)
			fprintf(stderr, "  (subject case %zu)\n", i);
		facts_clear(&f);
		buf_free(&msg);
	}
}

static void test_header_order_and_repeats(void)
{
	struct facts f;

	run(&f,
	    "Received: from a.example\r\n\tby b.example;\r\n Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	    "Received: from c.example by d.example\r\n"
	    "X-CaseTest: Hello\r\n"
	    "From: =?UTF-8?B?6KuL5rGC5pu4?= <billing@example.jp>\r\n"
	    "X-Empty:\r\n"
	    "X-\xe9\xff: skipped\r\n"
	    "X-Later: kept\r\n"
	    "\r\n"
	    "body\r\n",
	    NULL);
	CHECK_INT(count(&f, "header.received"), 2);
	CHECK_STR(value(&f, "header.received", 0),
	          "from a.example\tby b.example; Mon, 1 Jan 2024 00:00:00 +0000");
	CHECK_STR(value(&f, "header.received", 1), "from c.example by d.example");
	CHECK_STR(value(&f, "header.x-casetest", 0), "Hello");
	CHECK_STR(value(&f, "header.from", 0), SEIKYUSHO " <billing@example.jp>");
	CHECK_STR(value(&f, "header.x-empty", 0), "");
	CHECK_STR(value(&f, "header.x-later", 0), "kept");
	CHECK_INT(f.count, 7); /* 5 header names, body.text, mime.parts: not X-\xe9\xff */
	CHECK_STR(value(&f, "body.text", 0), "body\n");
	CHECK_STR(value(&f, "mime.parts", 0), "1");
	CHECK(facts_find(&f, "mime.limit_exceeded") == NULL);
	facts_clear(&f);
}

/* GMime files Content-* under the MIME part; the facts keep wire order */
static void test_content_headers_in_order(void)
{
	static const char *const order[] = {
	    "header.content-type",
	    "header.subject",
	    "header.content-transfer-encoding",
	    "header.x-after",
	};
	struct facts f;

	run(&f,
	    "Content-Type: text/plain; charset=utf-8\r\nSubject: s\r\n"
	    "Content-Transfer-Encoding: 8bit\r\nX-After: 1\r\n\r\nbody\r\n",
	    NULL);
	CHECK(f.count >= 4);
	for (size_t i = 0; i < 4 && i < f.count; i++)
		CHECK_STR(f.items[i].name, order[i]);
	CHECK_STR(value(&f, "header.content-type", 0), "text/plain; charset=utf-8");
	facts_clear(&f);
}

static void test_alternative(void)
{
	struct facts f;

	run(&f,
	    "Subject: alt\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/alternative; boundary=\"xx\"\r\n"
	    "\r\n"
	    "preamble\r\n"
	    "--xx\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "\r\n"
	    "Hello\r\n"
	    "--xx\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "<p>Hello =E8=AB=8B</p>\r\n"
	    "--xx--\r\n",
	    NULL);
	CHECK_STR(value(&f, "body.text", 0), "Hello");
	CHECK_STR(value(&f, "body.html", 0),
	          "<p>Hello \xe8\xab\x8b</p>"); /* CRLF is the boundary's */
	CHECK_STR(value(&f, "mime.parts", 0), "3");
	CHECK_STR(value(&f, "header.content-type", 0), "multipart/alternative; boundary=\"xx\"");
	facts_clear(&f);
}

static const struct {
	const char *type; /* Content-Type field body */
	const char *cte;  /* Content-Transfer-Encoding, or NULL */
	const char *body;
	const char *want;
} bodies[] = {
    {"text/plain; charset=ISO-2022-JP", "base64", "GyRCQEE1YT1xJE4kNDBGRmIkRyQ5ISMbKEJ+XA0K",
     ANNAI "~\\\n"},
    {"text/plain; charset=ISO-2022-JP", "quoted-printable", "=1B$B@A5a=3Dq$N$40FFb$G$9!#=1B(B~\\",
     ANNAI "~\\"},
    {"text/plain; charset=\"iso-2022-jp\"", "7bit", "\x1b$B@A5a=q-!\x1b(B ok",
     SEIKYUSHO CIRCLED_1 " ok"},
    {"text/plain; charset=Shift_JIS", "base64", "kL+LgY+RgsyCsojEk+CCxYK3gUJ+XA0K", ANNAI "~\\\n"},
    {"text/plain; charset=shift_jis", "quoted-printable",
     "=90=BF=8B=81=8F=91=82=CC=82=B2=88=C4=93=E0=82=C5=82=B7=81B~\\ =87@", ANNAI "~\\ " CIRCLED_1},
    {"text/plain; charset=EUC-JP", "base64", "wMG14b3xpM6ktLDGxuKkx6S5oaN+XA0K", ANNAI "~\\\n"},
    {"text/plain; charset=UTF-8", "base64",
     "6KuL5rGC5pu444Gu44GU5qGI5YaF44Gn44GZ44CCflwg4pGgDQpodHRwOi8vZXhhbXBsZS5qcC9+dXNlcg0K",
     ANNAI "~\\ " CIRCLED_1 "\nhttp://example.jp/~user\n"},
    {"text/plain; charset=utf-8", "quoted-printable",
     "=E8=AB=8B=E6=B1=82=E6=9B=B8=E3=81=AE=E3=81=94=E6=A1=88=E5=86=85=E3=81=A7=E3=\r\n"
     "=81=99=E3=80=82",
     ANNAI},
    {"text/plain; charset=ISO-8859-1", "quoted-printable", "caf=E9 cr=E8me",
     "caf\xc3\xa9 cr\xc3\xa8me"},
    {"text/plain; charset=iso-8859-1", "base64", "Y2Fm6SBjcuhtZQ0K", "caf\xc3\xa9 cr\xc3\xa8me\n"},
    {"text/plain; charset=UTF-16", "base64", "//7LikJs+GYNAAoA", SEIKYUSHO "\n"},
    /* no usable label: guessed */
    {"text/plain", "8bit", "\x90\xbf\x8b\x81\x8f\x91", SEIKYUSHO},
    {"text/plain; charset=us-ascii", "8bit", SEIKYUSHO, SEIKYUSHO},
    {"text/plain; charset=x-unknown", "8bit", SEIKYUSHO, SEIKYUSHO},
    {"text/plain; charset=\"../../x//IGNORE\"", "8bit", "\x90\xbf\x8b\x81\x8f\x91", SEIKYUSHO},
    {"text/plain", "7bit", "\x1b$B@A5a=q\x1b(B", SEIKYUSHO},
    {"text/plain", "8bit", "caf\xe9 au lait", "caf\xc3\xa9 au lait"},
    {"text/plain; charset=windows-1252", "8bit", "\x93quoted\x94",
     "\xe2\x80\x9cquoted\xe2\x80\x9d"},
    /* labelled UTF-8 but not: the bad byte becomes U+FFFD */
    {"text/plain; charset=utf-8", "8bit", "a\xffz", "a\xef\xbf\xbdz"},
    /* broken transfer encodings */
    {"text/plain", "base64", "!!!!####", ""},
    {"text/plain", "base64", "aGVsbG8", "hel"},
    {"text/plain", "quoted-printable", "a=ZZb=\r\nc=", "a=ZZbc"},
    {"text/plain", "x-unknown", "as is", "as is"},
    {"text/html; charset=utf-8", "base64", "PGI+aGk8L2I+", "<b>hi</b>"},
};

static void test_bodies(void)
{
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		const char *want = bodies[i].want;
		const char *fact =
		    strncmp(bodies[i].type, "text/html", 9) == 0 ? "body.html" : "body.text";
		struct facts f;
		struct buf msg;

		buf_init(&msg);
		buf_printf(&msg, "Subject: b\r\nContent-Type: %s\r\n", bodies[i].type);
		if (bodies[i].cte)
			buf_printf(&msg, "Content-Transfer-Encoding: %s\r\n", bodies[i].cte);
		buf_printf(&msg, "\r\n%s", bodies[i].body);
		run(&f, buf_cstr(&msg), NULL);
		CHECK_STR(value(&f, fact, 0), want);
		if (!value(&f, fact, 0) || strcmp(value(&f, fact, 0), want) != 0)
			fprintf(stderr, "  (body case %zu)\n", i);
		facts_clear(&f);
		buf_free(&msg);
	}
}

static void test_rfc822_attachment(void)
{
	struct facts f;

	run(&f,
	    "Subject: outer\r\n"
	    "Content-Type: multipart/mixed; boundary=out\r\n"
	    "\r\n"
	    "--out\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "see attached\r\n"
	    "--out\r\n"
	    "Content-Type: message/rfc822\r\n"
	    "Content-Disposition: attachment; filename=fwd.eml\r\n"
	    "\r\n"
	    "Subject: inner\r\n"
	    "Content-Type: text/html; charset=Shift_JIS\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "kL+LgY+R\r\n"
	    "--out\r\n"
	    "Content-Type: text/html\r\n"
	    "Content-Disposition: attachment; filename=login.html\r\n"
	    "\r\n"
	    "<form>password</form>\r\n"
	    "--out--\r\n",
	    NULL);
	CHECK_STR(value(&f, "body.text", 0), "see attached");
	CHECK_STR(value(&f, "body.html", 0), SEIKYUSHO);
	CHECK_STR(value(&f, "body.html", 1), "<form>password</form>");
	CHECK_INT(count(&f, "header.subject"), 1); /* top-level headers only */
	CHECK_STR(value(&f, "header.subject", 0), "outer");
	CHECK_STR(value(&f, "mime.parts", 0), "5");
	facts_clear(&f);
}

static void test_broken_multipart(void)
{
	struct facts f;

	/* close boundary missing: the parts so far still count */
	run(&f,
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\nsecond, never closed\r\n",
	    NULL);
	CHECK_INT(count(&f, "body.text"), 2);
	CHECK_STR(value(&f, "body.text", 1), "second, never closed\n");
	facts_clear(&f);

	/* boundary never appears: no parts, and no crash */
	run(&f,
	    "Subject: s\r\nContent-Type: multipart/mixed; boundary=nowhere\r\n\r\n"
	    "just text\r\n--elsewhere\r\n",
	    NULL);
	CHECK_STR(value(&f, "header.subject", 0), "s");
	CHECK_STR(value(&f, "mime.parts", 0), "1");
	CHECK_INT(count(&f, "body.text"), 0);
	facts_clear(&f);

	/* multipart without a boundary parameter */
	run(&f, "Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nhello\r\n--x--\r\n", NULL);
	CHECK(value(&f, "mime.parts", 0) != NULL);
	facts_clear(&f);
}

static void test_nul_bytes(void)
{
	static const char msg[] = "Subject: a\0b\r\nX-After: yes\r\n\r\nline\0one\r\n";
	struct facts f;

	facts_init(&f);
	message_facts(msg, sizeof(msg) - 1, NULL, &f);
	CHECK(value(&f, "header.subject", 0) != NULL);
	CHECK_STR(value(&f, "body.text", 0), "line\xef\xbf\xbdone\n");
	facts_clear(&f);
}

/* many_parts - a multipart/mixed message with n text parts */
static void many_parts(struct buf *msg, int n)
{
	buf_append_str(msg, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (int i = 0; i < n; i++)
		buf_printf(msg, "--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n", i);
	buf_append_str(msg, "--p--\r\n");
}

static void test_many_parts(void)
{
	struct facts f;
	struct buf msg;

	buf_init(&msg);
	many_parts(&msg, 2000);
	run(&f, buf_cstr(&msg), NULL);
	CHECK_STR(value(&f, "mime.parts", 0), "1000");
	CHECK_STR(value(&f, "mime.limit_exceeded", 0), "yes");
	CHECK_INT(count(&f, "body.text"), 999);
	CHECK_STR(value(&f, "body.text", 998), "part 998");
	facts_clear(&f);

	/* far past the limit: GMime is not even shown the rest */
	buf_reset(&msg);
	many_parts(&msg, 50000);
	run(&f, buf_cstr(&msg), NULL);
	CHECK_STR(value(&f, "mime.parts", 0), "1000");
	CHECK_STR(value(&f, "mime.limit_exceeded", 0), "yes");
	CHECK_INT(count(&f, "body.text"), 999);
	facts_clear(&f);

	/* exactly at the limit is not past it */
	buf_reset(&msg);
	many_parts(&msg, 999);
	run(&f, buf_cstr(&msg), NULL);
	CHECK_STR(value(&f, "mime.parts", 0), "1000");
	CHECK(facts_find(&f, "mime.limit_exceeded") == NULL);
	facts_clear(&f);
	buf_free(&msg);
}

/* nested - levels of message/rfc822 (or multipart) around a text part */
static void nested(struct buf *msg, int levels, int multipart)
{
	buf_append_str(msg, "Subject: top\r\n");
	for (int i = 0; i < levels; i++) {
		if (multipart)
			buf_printf(msg,
			           "Content-Type: multipart/mixed; boundary=n%d\r\n\r\n--n%d\r\n",
			           i, i);
		else
			buf_printf(msg, "Content-Type: message/rfc822\r\n\r\nSubject: level %d\r\n",
			           i);
	}
	buf_append_str(msg, "Content-Type: text/plain\r\n\r\ndeepest\r\n");
}

static void test_nesting(void)
{
	struct message_limits deep = message_default_limits;
	struct facts f;
	struct buf msg;

	deep.max_depth = 100;
	for (int multipart = 0; multipart < 2; multipart++) {
		buf_init(&msg);
		nested(&msg, 30, multipart);
		run(&f, buf_cstr(&msg), NULL);
		CHECK_STR(value(&f, "mime.limit_exceeded", 0), "yes");
		CHECK_INT(count(&f, "body.text"), 0);
		CHECK_STR(value(&f, "mime.parts", 0), "21"); /* depths 0..20 */
		CHECK_STR(value(&f, "header.subject", 0), "top");
		facts_clear(&f);

		run(&f, buf_cstr(&msg), &deep);
		CHECK(facts_find(&f, "mime.limit_exceeded") == NULL);
		CHECK_STR(value(&f, "body.text", 0), "deepest\n");
		CHECK_STR(value(&f, "mime.parts", 0), "31");
		facts_clear(&f);
		buf_free(&msg);
	}

	/* far deeper than GMime's own nesting limit */
	buf_init(&msg);
	nested(&msg, 5000, 1);
	run(&f, buf_cstr(&msg), &deep);
	CHECK_STR(value(&f, "mime.limit_exceeded", 0), "yes");
	facts_clear(&f);
	buf_free(&msg);
}

static void test_text_limits(void)
{
	struct message_limits small = message_default_limits;
	struct facts f;
	const char *msg = "Content-Type: multipart/mixed; boundary=p\r\n\r\n"
	                  "--p\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
	                  "ab" SEIKYUSHO SEIKYUSHO "\r\n"
	                  "--p\r\nContent-Type: text/html\r\n\r\n0123456789abcdef\r\n"
	                  "--p\r\nContent-Type: text/plain\r\n\r\nmore\r\n"
	                  "--p--\r\n";

	small.max_text = 10;
	small.max_total_text = 16;
	run(&f, msg, &small);
	CHECK_STR(value(&f, "body.text", 0), "ab\xe8\xab\x8b\xe6\xb1\x82"); /* whole characters */
	CHECK_STR(value(&f, "body.html", 0), "01234567");                   /* 8 + 8 = the total */
	CHECK_STR(value(&f, "body.text", 1), "");
	CHECK_STR(value(&f, "mime.limit_exceeded", 0), "yes");
	facts_clear(&f);

	small.max_text = 15;
	small.max_total_text = 100;
	run(&f, msg, &small);
	CHECK_STR(value(&f, "body.text", 0), "ab" SEIKYUSHO "\xe8\xab\x8b"); /* 14 of 15 */
	facts_clear(&f);

	/* unlabelled UTF-8 cut inside a character is still UTF-8, not a guess */
	small.max_text = 5;
	run(&f, "Content-Type: text/plain\r\n\r\n" SEIKYUSHO, &small);
	CHECK_STR(value(&f, "body.text", 0), "\xe8\xab\x8b");
	CHECK_STR(value(&f, "mime.limit_exceeded", 0), "yes");
	facts_clear(&f);

	/* a header value is cut to max_text too */
	small.max_text = 4;
	run(&f, "Subject: " SEIKYUSHO "\r\n\r\n", &small);
	CHECK_STR(value(&f, "header.subject", 0), "\xe8\xab\x8b");
	facts_clear(&f);
}

static void test_many_headers(void)
{
	struct facts f;
	struct buf msg;

	buf_init(&msg);
	for (int i = 0; i < 1500; i++)
		buf_printf(&msg, "X-H%d: v\r\n", i);
	buf_append_str(&msg, "\r\nbody\r\n");
	run(&f, buf_cstr(&msg), NULL);
	CHECK_STR(value(&f, "header.x-h999", 0), "v");
	CHECK(facts_find(&f, "header.x-h1000") == NULL);
	CHECK_STR(value(&f, "mime.limit_exceeded", 0), "yes");
	facts_clear(&f);
	buf_free(&msg);

	/* so many fields that the input is cut: the first ones still count */
	buf_init(&msg);
	for (int i = 0; i < 30000; i++)
		buf_printf(&msg, "X-H%d: v\r\n", i);
	buf_append_str(&msg, "\r\nbody\r\n");
	run(&f, buf_cstr(&msg), NULL);
	CHECK_STR(value(&f, "header.x-h0", 0), "v");
	CHECK_STR(value(&f, "header.x-h999", 0), "v");
	CHECK_STR(value(&f, "mime.limit_exceeded", 0), "yes");
	facts_clear(&f);
	buf_free(&msg);

	/* one huge folded header */
	buf_init(&msg);
	buf_append_str(&msg, "Subject: start");
	for (int i = 0; i < 10000; i++)
		buf_append_str(&msg, "\r\n word");
	buf_append_str(&msg, "\r\n\r\nbody\r\n");
	run(&f, buf_cstr(&msg), NULL);
	CHECK_INT(strlen(value(&f, "header.subject", 0)), 5 + 10000 * 5);
	CHECK_STR(value(&f, "body.text", 0), "body\n");
	facts_clear(&f);
	buf_free(&msg);
}

static void test_edges(void)
{
	struct facts f;

	facts_init(&f);
	message_facts(NULL, 0, NULL, &f);
	CHECK_STR(value(&f, "mime.parts", 0), "0");
	CHECK(facts_find(&f, "mime.limit_exceeded") == NULL);
	facts_clear(&f);

	run(&f, "", NULL);
	CHECK_STR(value(&f, "mime.parts", 0), "0");
	facts_clear(&f);

	/* headers only, no empty line, no body */
	run(&f, "Subject: only\r\nFrom: a@example.jp\r\n", NULL);
	CHECK_STR(value(&f, "header.subject", 0), "only");
	CHECK_STR(value(&f, "header.from", 0), "a@example.jp");
	CHECK_STR(value(&f, "mime.parts", 0), "1");
	CHECK(count(&f, "body.text") <= 1);
	facts_clear(&f);

	/* not a message at all */
	run(&f, "\r\n\r\n\r\n", NULL);
	CHECK(value(&f, "mime.parts", 0) != NULL);
	facts_clear(&f);
	run(&f, "this is not a header\r\nnor this\r\n", NULL);
	CHECK(value(&f, "mime.parts", 0) != NULL);
	facts_clear(&f);
}

struct thread_case {
	const char *msg;
	int ok;
};

/* thread_main - parse the same message many times; all runs must agree */
static void *thread_main(void *arg)
{
	struct thread_case *c = arg;

	c->ok = 1;
	for (int i = 0; i < 200; i++) {
		struct facts f;

		run(&f, c->msg, NULL);
		if (!value(&f, "header.subject", 0) ||
		    strcmp(value(&f, "header.subject", 0), SEIKYUSHO) != 0 ||
		    !value(&f, "body.text", 0) ||
		    strcmp(value(&f, "body.text", 0), ANNAI "~\\\n") != 0)
			c->ok = 0;
		facts_clear(&f);
	}
	return NULL;
}

static void test_threads(void)
{
	static const char *msgs[] = {
	    "Subject: =?ISO-2022-JP?B?GyRCQEE1YT1xGyhC?=\r\n"
	    "Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: base64\r\n"
	    "\r\nGyRCQEE1YT1xJE4kNDBGRmIkRyQ5ISMbKEJ+XA0K\r\n",
	    "Subject: =?Shift_JIS?B?kL+LgY+R?=\r\n"
	    "Content-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: base64\r\n"
	    "\r\nkL+LgY+RgsyCsojEk+CCxYK3gUJ+XA0K\r\n",
	    "Subject: \x90\xbf\x8b\x81\x8f\x91\r\n"
	    "Content-Type: text/plain; charset=EUC-JP\r\nContent-Transfer-Encoding: base64\r\n"
	    "\r\nwMG14b3xpM6ktLDGxuKkx6S5oaN+XA0K\r\n",
	};
	pthread_t threads[6];
	struct thread_case cases[6];

	for (int i = 0; i < 6; i++) {
		cases[i].msg = msgs[i % 3];
		pthread_create(&threads[i], NULL, thread_main, &cases[i]);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(threads[i], NULL);
		CHECK(cases[i].ok);
	}
}

static bool has_value(const struct facts *f, const char *name, const char *want)
{
	for (size_t i = 0; i < count(f, name); i++)
		if (strcmp(value(f, name, i), want) == 0)
			return true;
	return false;
}

/* the parts a walk showed, one line each: "path type name size [c]" */
struct shown {
	struct buf lines;
	size_t count;
};

static void on_part(void *ctx, const struct mime_part_info *p)
{
	struct shown *sh = ctx;

	sh->count++;
	buf_printf(&sh->lines, "%s %s %s %zu%s%s\n", p->path, p->content_type,
		   p->filename ? p->filename : "-", p->size, p->leaf ? "" : " container",
		   p->candidate ? " candidate" : "");
}

static const char *walk_lines(struct shown *sh, struct facts *f, const char *msg)
{
	struct message_visitor v = {.part = on_part, .ctx = sh};

	buf_init(&sh->lines);
	sh->count = 0;
	facts_init(f);
	message_walk(msg, strlen(msg), NULL, &v, f);
	return buf_cstr(&sh->lines);
}

static void test_walk_parts(void)
{
	static const char msg[] =
	    "From: a@example.com\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
	    "--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
	    "--b1\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Disposition: attachment;\r\n"
	    " filename*0*=UTF-8''%E8%AB%8B%E6%B1%82;\r\n filename*1*=%E6%9B%B8.exe\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n"
	    "--b1\r\nContent-Type: message/rfc822\r\n\r\n"
	    "From: b@example.com\r\nSubject: inner\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: application/pdf; name=\"=?UTF-8?B?cGhvdG8uc2Ny?=\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
	    "--b1--\r\n";
	struct shown sh;
	struct facts f;

	CHECK_STR(walk_lines(&sh, &f, msg),
		  "1 multipart/mixed - 0 container\n"
		  "1.1 text/plain - 5\n"
		  "1.2 application/octet-stream " SEIKYUSHO ".exe 12\n"
		  "1.3 message/rfc822 - 0 container\n"
		  "1.3.1 application/pdf photo.scr 9\n");
	CHECK(count(&f, "mime.malformed") == 0);
	buf_free(&sh.lines);
	facts_clear(&f);
}

static void test_walk_malformed_boundary(void)
{
	/* the declared boundary is never used: a lenient client still shows
	 * the attachment, so the walk must show it as a candidate */
	static const char msg[] =
	    "From: a@example.com\r\nSubject: hidden\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"declared\"\r\n\r\n"
	    "--used\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
	    "--used\r\nContent-Type: application/octet-stream; name=\"payload.exe\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n"
	    "--used--\r\n";
	struct shown sh;
	struct facts f;
	const char *lines = walk_lines(&sh, &f, msg);

	CHECK(strstr(lines, "x2 application/octet-stream payload.exe 12 candidate") != NULL);
	CHECK(has_value(&f, "mime.malformed", "multipart without parts"));
	buf_free(&sh.lines);
	facts_clear(&f);
}

static void test_walk_duplicate_content_type(void)
{
	static const char msg[] =
	    "From: a@example.com\r\nSubject: two types\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n"
	    "Content-Type: application/x-msdownload; name=\"a.exe\"\r\n\r\nMZ\r\n"
	    "--b--\r\n";
	struct shown sh;
	struct facts f;

	walk_lines(&sh, &f, msg);
	CHECK(has_value(&f, "mime.malformed", "duplicate content-type"));
	buf_free(&sh.lines);
	facts_clear(&f);
}

static void test_walk_decoded_limit(void)
{
	struct message_limits small = message_default_limits;
	struct message_visitor v = {.part = on_part};
	struct shown sh = {0};
	struct facts f;
	static const char msg[] =
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n";

	small.max_decoded = 10;
	v.ctx = &sh;
	buf_init(&sh.lines);
	facts_init(&f);
	message_walk(msg, strlen(msg), &small, &v, &f);
	CHECK_STR(buf_cstr(&sh.lines), "1 application/octet-stream - 10\n");
	CHECK_STR(value(&f, "mime.limit_exceeded", 0), "yes");
	buf_free(&sh.lines);
	facts_clear(&f);
}

int main(void)
{
	message_init();
	test_walk_parts();
	test_walk_malformed_boundary();
	test_walk_duplicate_content_type();
	test_walk_decoded_limit();
	test_subjects();
	test_header_order_and_repeats();
	test_content_headers_in_order();
	test_alternative();
	test_bodies();
	test_rfc822_attachment();
	test_broken_multipart();
	test_nul_bytes();
	test_many_parts();
	test_nesting();
	test_text_limits();
	test_many_headers();
	test_edges();
	test_threads();
	return check_summary("test_message");
}
