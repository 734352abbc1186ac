/*
 * test_smtp_data - DATA decoding, dot-unstuffing and the bare CR/LF rule.
 */
#include "config.h"

#include <stdlib.h>

#include "gateway/smtp_data.h"
#include "tests/unit/check.h"

struct data_case {
	const char *name;
	const char *in;
	size_t in_len;		/* 0: strlen(in) */
	size_t limit;		/* 0: 1000 */
	enum smtp_data_result want;
	const char *out;	/* the kept message, checked for DONE */
	size_t out_len;		/* 0: strlen(out) */
	size_t used;		/* 0: not checked; else bytes consumed */
	bool too_big;
};

static const struct data_case cases[] = {
	{.name = "empty message", .in = ".\r\n", .want = SMTP_DATA_DONE, .out = ""},
	{.name = "one line", .in = "Subject: x\r\n\r\nbody\r\n.\r\n",
	 .want = SMTP_DATA_DONE, .out = "Subject: x\r\n\r\nbody\r\n"},
	{.name = "dot stuffed", .in = "..hidden\r\n...\r\n.x\r\n.\r\n",
	 .want = SMTP_DATA_DONE, .out = ".hidden\r\n..\r\nx\r\n"},
	{.name = "pipelined next command kept", .in = "a\r\n.\r\nQUIT\r\n",
	 .want = SMTP_DATA_DONE, .out = "a\r\n", .used = 6},
	{.name = "unterminated", .in = "a\r\nb\r\n", .want = SMTP_DATA_MORE},
	{.name = "bare LF", .in = "a\nb\r\n.\r\n", .want = SMTP_DATA_BARE_EOL, .used = 1},
	{.name = "bare CR", .in = "a\rb\r\n.\r\n", .want = SMTP_DATA_BARE_EOL, .used = 2},
	{.name = "smuggle LF dot LF", .in = "a\r\n\n.\n", .want = SMTP_DATA_BARE_EOL},
	{.name = "smuggle CRLF dot LF", .in = "a\r\n.\nMAIL FROM:<x@y>\r\n",
	 .want = SMTP_DATA_BARE_EOL},
	{.name = "smuggle LF dot CRLF", .in = "a\n.\r\n", .want = SMTP_DATA_BARE_EOL},
	{.name = "smuggle CR dot CR", .in = "a\r.\r\n", .want = SMTP_DATA_BARE_EOL},
	{.name = "dot CR without LF", .in = "a\r\n.\rx", .want = SMTP_DATA_BARE_EOL},
	{.name = "CR CR LF", .in = "a\r\r\n.\r\n", .want = SMTP_DATA_BARE_EOL},
	{.name = "NUL and 8-bit kept", .in = "\xe8\xab\x8b\0x\r\n.\r\n", .in_len = 11,
	 .want = SMTP_DATA_DONE, .out = "\xe8\xab\x8b\0x\r\n", .out_len = 7},
	{.name = "over the limit", .in = "0123456789\r\n.\r\n", .limit = 5,
	 .want = SMTP_DATA_DONE, .too_big = true},
};

static void run_case(const struct data_case *c, size_t step)
{
	struct buf out;
	struct smtp_data d;
	size_t len = c->in_len ? c->in_len : strlen(c->in);
	size_t off = 0, used = 0;
	enum smtp_data_result r = SMTP_DATA_MORE;

	buf_init(&out);
	smtp_data_init(&d, &out, c->limit ? c->limit : 1000);
	while (off < len && r == SMTP_DATA_MORE) {
		size_t n = len - off < step ? len - off : step;
		r = smtp_data_feed(&d, c->in + off, n, &used);
		off += used;
	}
	if (r != c->want || d.too_big != c->too_big)
		fprintf(stderr, "case \"%s\" fed %zu bytes at a time:\n", c->name, step);
	CHECK_INT(r, c->want);
	CHECK_INT(d.too_big, c->too_big);
	if (c->want == SMTP_DATA_DONE && c->out) {
		size_t want_len = c->out_len ? c->out_len : strlen(c->out);
		CHECK_INT(out.len, want_len);
		CHECK(out.len == want_len && memcmp(buf_cstr(&out), c->out, want_len) == 0);
	}
	if (c->used)
		CHECK_INT(off, c->used);
	buf_free(&out);
}

static void test_stuff(void)
{
	struct buf out;

	buf_init(&out);
	smtp_data_stuff(&out, ".a\r\nb\r\n..\r\n", 11);
	CHECK_STR(buf_cstr(&out), "..a\r\nb\r\n...\r\n.\r\n");
	buf_reset(&out);
	smtp_data_stuff(&out, "no final newline", 16);
	CHECK_STR(buf_cstr(&out), "no final newline\r\n.\r\n");
	buf_reset(&out);
	smtp_data_stuff(&out, "", 0);
	CHECK_STR(buf_cstr(&out), ".\r\n");
	buf_free(&out);
}

/* test_roundtrip - stuffing then decoding gives the message back */
static void test_roundtrip(void)
{
	const char *msg = ".\r\n..\r\nx\r\n.y\r\n";
	struct buf wire, back;
	struct smtp_data d;
	size_t used;

	buf_init(&wire);
	buf_init(&back);
	smtp_data_stuff(&wire, msg, strlen(msg));
	smtp_data_init(&d, &back, 1000);
	CHECK_INT(smtp_data_feed(&d, wire.data, wire.len, &used), SMTP_DATA_DONE);
	CHECK_INT(used, wire.len);
	CHECK_STR(buf_cstr(&back), msg);
	buf_free(&wire);
	buf_free(&back);
}

static void test_crlf_check(void)
{
	struct smtp_crlf_check chk = {0};

	smtp_crlf_check_feed(&chk, "a\r", 2);
	smtp_crlf_check_feed(&chk, "\nb\r\n", 4);
	CHECK(smtp_crlf_check_end(&chk));
	memset(&chk, 0, sizeof(chk));
	smtp_crlf_check_feed(&chk, "a\r", 2);
	CHECK(!smtp_crlf_check_end(&chk));
	memset(&chk, 0, sizeof(chk));
	smtp_crlf_check_feed(&chk, "a\nb", 3);
	CHECK(!smtp_crlf_check_end(&chk));
	memset(&chk, 0, sizeof(chk));
	smtp_crlf_check_feed(&chk, "a\r", 2);
	smtp_crlf_check_feed(&chk, "x\r\n", 3);
	CHECK(!smtp_crlf_check_end(&chk));
}

int main(void)
{
	/* Every case whole, byte by byte, and in odd chunks. */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_case(&cases[i], 1 << 20);
		run_case(&cases[i], 1);
		run_case(&cases[i], 3);
	}
	test_stuff();
	test_roundtrip();
	test_crlf_check();
	return check_summary("test_smtp_data");
}
