/*
 * test_header_strip - forged X-Sekisho-* fields go, nothing else moves.
 */
#include "config.h"

#include "gateway/header_strip.h"
#include "tests/unit/check.h"

static const struct {
	const char *in, *out;
	size_t removed;
} cases[] = {
	{"Subject: a\r\n\r\nX-Sekisho-Verdict: body line\r\n",
	 "Subject: a\r\n\r\nX-Sekisho-Verdict: body line\r\n", 0},
	{"X-Sekisho-Verdict: accept\r\nSubject: a\r\n\r\nbody\r\n", "Subject: a\r\n\r\nbody\r\n", 1},
	{"From: x\r\nx-sekisho-score: -100\r\n\tfolded\r\n more\r\nTo: y\r\n\r\nb\r\n",
	 "From: x\r\nTo: y\r\n\r\nb\r\n", 1},
	{"X-Sekisho-A: 1\r\nX-SEKISHO-B: 2\r\n\r\n", "\r\n", 2},
	{"X-Sekisho-Only: 1\r\n", "", 1},
	{"X-Sekishoo: not ours\r\nX-Sekisho: no dash\r\n\r\n",
	 "X-Sekishoo: not ours\r\nX-Sekisho: no dash\r\n\r\n", 0},
	{"", "", 0},
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;

		buf_init(&b);
		buf_append_str(&b, cases[i].in);
		CHECK_INT(header_strip_ours(&b), cases[i].removed);
		CHECK_STR(buf_cstr(&b), cases[i].out);
		buf_free(&b);
	}
	return check_summary("test_header_strip");
}
