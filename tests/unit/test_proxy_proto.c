/*
 * test_proxy_proto - PROXY protocol v1/v2 header parsing.
 *
 * Every case is also fed one byte at a time: a header must answer
 * PROXY_NEED_MORE until its last byte, then PROXY_OK with the same consumed
 * count whatever follows it; a refused input must stay refused once it is.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/proxy_proto.h"
#include "tests/unit/check.h"

struct pp_case {
	const char *name;
	const char *in;
	size_t len;
	enum proxy_result want;
	size_t consumed;	/* for PROXY_OK */
	int local;
	const char *src, *dst;	/* addresses as inet_ntop writes them */
	int sport, dport;
	const char *err;	/* a part of the error message */
	size_t fail_at;		/* if set: the first prefix length refused */
};

#define IN(s)		.in = (s), .len = sizeof(s) - 1
#define HDR(s)		.consumed = sizeof(s) - 1
#define EHLO		"EHLO x\r\n"

#define V1_TCP4		"PROXY TCP4 192.0.2.1 198.51.100.1 56324 25\r\n"
#define V1_TCP6		"PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n"
#define V1_TCP6_MAX	"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff " \
			"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"
#define V1_UNKNOWN	"PROXY UNKNOWN\r\n"
#define V1_UNKNOWN_ADDR	"PROXY UNKNOWN ffff:f:f:f:f:f:f:f ::1 1 2\r\n"
#define V1_MAPPED	"PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n"

#define SIG		"\r\n\r\n\0\r\nQUIT\n"
#define A4_SRC		"\xc0\x00\x02\x01"	/* 192.0.2.1 */
#define A4_DST		"\xc6\x33\x64\x01"	/* 198.51.100.1 */
#define A6_SRC		"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
#define A6_DST		"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02"
#define P_56324		"\xdc\x04"
#define P_25		"\x00\x19"
#define TLV_AUTH	"\x02\x00\x0b" "example.com"	/* 14 bytes */
#define TLV_NOOP	"\x04\x00\x03" "\0\0\0"		/* 6 bytes */

#define V2_TCP4		SIG "\x21\x11\x00\x0c" A4_SRC A4_DST P_56324 P_25
#define V2_TCP4_TLV	SIG "\x21\x11\x00\x20" A4_SRC A4_DST P_56324 P_25 \
			TLV_AUTH TLV_NOOP
#define V2_TCP6		SIG "\x21\x21\x00\x24" A6_SRC A6_DST P_56324 P_25
#define V2_TCP6_TLV	SIG "\x21\x21\x00\x2a" A6_SRC A6_DST P_56324 P_25 \
			TLV_NOOP
#define V2_LOCAL	SIG "\x20\x00\x00\x00"
#define V2_LOCAL_BODY	SIG "\x20\x11\x00\x0c" A4_SRC A4_DST P_56324 P_25

static const struct pp_case cases[] = {
	/* v1 accepted */
	{ .name = "v1 tcp4", IN(V1_TCP4 EHLO), .want = PROXY_OK, HDR(V1_TCP4),
	  .src = "192.0.2.1", .dst = "198.51.100.1", .sport = 56324, .dport = 25 },
	{ .name = "v1 tcp6", IN(V1_TCP6 EHLO), .want = PROXY_OK, HDR(V1_TCP6),
	  .src = "2001:db8::1", .dst = "2001:db8::2", .sport = 65535, .dport = 0 },
	{ .name = "v1 tcp6 longest", IN(V1_TCP6_MAX), .want = PROXY_OK,
	  HDR(V1_TCP6_MAX), .src = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	  .dst = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	  .sport = 65535, .dport = 65535 },
	{ .name = "v1 tcp6 v4-mapped", IN(V1_MAPPED EHLO), .want = PROXY_OK,
	  HDR(V1_MAPPED), .src = "::ffff:192.0.2.1", .dst = "::1",
	  .sport = 1, .dport = 2 },
	{ .name = "v1 unknown", IN(V1_UNKNOWN EHLO), .want = PROXY_OK,
	  HDR(V1_UNKNOWN), .local = 1 },
	{ .name = "v1 unknown with addresses", IN(V1_UNKNOWN_ADDR EHLO),
	  .want = PROXY_OK, HDR(V1_UNKNOWN_ADDR), .local = 1 },

	/* v1 incomplete */
	{ .name = "v1 prefix", IN("PRO"), .want = PROXY_NEED_MORE },
	{ .name = "v1 partial address", IN("PROXY TCP4 192.0.2"),
	  .want = PROXY_NEED_MORE },
	{ .name = "v1 no CRLF yet", IN("PROXY TCP4 192.0.2.1 198.51.100.1 56324 25"),
	  .want = PROXY_NEED_MORE },
	{ .name = "v1 CR without LF yet",
	  IN("PROXY TCP4 192.0.2.1 198.51.100.1 56324 25\r"),
	  .want = PROXY_NEED_MORE },

	/* v1 refused */
	{ .name = "not proxy", IN(EHLO), .want = PROXY_ERROR, .fail_at = 1 },
	{ .name = "v1 misspelt", IN("PROXX TCP4"), .want = PROXY_ERROR,
	  .fail_at = 5 },
	{ .name = "v1 lower case", IN("proxy tcp4"), .want = PROXY_ERROR,
	  .fail_at = 1 },
	{ .name = "v1 no space after PROXY", IN("PROXYTCP4"),
	  .want = PROXY_ERROR, .fail_at = 6 },
	{ .name = "v1 bad protocol", IN("PROXY TCP5 1.2.3.4"),
	  .want = PROXY_ERROR, .err = "protocol", .fail_at = 10 },
	{ .name = "v1 UDP4", IN("PROXY UDP4 1.2.3.4"), .want = PROXY_ERROR,
	  .fail_at = 8 },
	{ .name = "v1 only PROXY", IN("PROXY\r\n"), .want = PROXY_ERROR },
	{ .name = "v1 protocol cut", IN("PROXY TCP4\r\n"), .want = PROXY_ERROR },
	{ .name = "v1 unknownx", IN("PROXY UNKNOWNX\r\n"), .want = PROXY_ERROR,
	  .fail_at = 14 },
	{ .name = "v1 bad source address",
	  IN("PROXY TCP4 192.0.2.256 198.51.100.1 56324 25\r\n"),
	  .want = PROXY_ERROR, .err = "source address" },
	{ .name = "v1 leading zero address",
	  IN("PROXY TCP4 192.0.2.01 198.51.100.1 56324 25\r\n"),
	  .want = PROXY_ERROR, .err = "source address" },
	{ .name = "v1 short address",
	  IN("PROXY TCP4 192.0.2.1 198.51.100 56324 25\r\n"),
	  .want = PROXY_ERROR, .err = "destination address" },
	{ .name = "v1 tcp4 with ipv6",
	  IN("PROXY TCP4 2001:db8::1 2001:db8::2 1 2\r\n"),
	  .want = PROXY_ERROR, .fail_at = 16 },
	{ .name = "v1 tcp6 with ipv4",
	  IN("PROXY TCP6 192.0.2.1 198.51.100.1 56324 25\r\n"),
	  .want = PROXY_ERROR, .err = "source address" },
	{ .name = "v1 bad ipv6", IN("PROXY TCP6 2001:db8:::1 ::1 1 2\r\n"),
	  .want = PROXY_ERROR, .err = "source address" },
	{ .name = "v1 port too big",
	  IN("PROXY TCP4 192.0.2.1 198.51.100.1 65536 25\r\n"),
	  .want = PROXY_ERROR, .err = "source port" },
	{ .name = "v1 port plus",
	  IN("PROXY TCP4 192.0.2.1 198.51.100.1 +5632 25\r\n"),
	  .want = PROXY_ERROR, .fail_at = 35 },
	{ .name = "v1 port minus",
	  IN("PROXY TCP4 192.0.2.1 198.51.100.1 56324 -1\r\n"),
	  .want = PROXY_ERROR, .fail_at = 41 },
	{ .name = "v1 port leading zero",
	  IN("PROXY TCP4 192.0.2.1 198.51.100.1 56324 025\r\n"),
	  .want = PROXY_ERROR, .err = "destination port" },
	{ .name = "v1 port six digits",
	  IN("PROXY TCP4 192.0.2.1 198.51.100.1 100000 25\r\n"),
	  .want = PROXY_ERROR, .fail_at = 40 },
	{ .name = "v1 missing port",
	  IN("PROXY TCP4 192.0.2.1 198.51.100.1 56324\r\n"),
	  .want = PROXY_ERROR, .err = "missing" },
	{ .name = "v1 empty port",
	  IN("PROXY TCP4 192.0.2.1 198.51.100.1 56324 \r\n"),
	  .want = PROXY_ERROR, .err = "missing" },
	{ .name = "v1 double space",
	  IN("PROXY TCP4 192.0.2.1  198.51.100.1 56324 25\r\n"),
	  .want = PROXY_ERROR, .fail_at = 22 },
	{ .name = "v1 trailing space",
	  IN("PROXY TCP4 192.0.2.1 198.51.100.1 56324 25 \r\n"),
	  .want = PROXY_ERROR, .fail_at = 43 },
	{ .name = "v1 tab",
	  IN("PROXY TCP4 192.0.2.1\t198.51.100.1 56324 25\r\n"),
	  .want = PROXY_ERROR, .fail_at = 21 },
	{ .name = "v1 bare LF",
	  IN("PROXY TCP4 192.0.2.1 198.51.100.1 56324 25\n" EHLO),
	  .want = PROXY_ERROR, .err = "LF", .fail_at = 43 },
	{ .name = "v1 CR then junk",
	  IN("PROXY TCP4 192.0.2.1 198.51.100.1 56324 25\rEHLO"),
	  .want = PROXY_ERROR, .fail_at = 44 },
	{ .name = "v1 unknown bare LF", IN("PROXY UNKNOWN\n"),
	  .want = PROXY_ERROR, .fail_at = 14 },

	/* v2 accepted */
	{ .name = "v2 tcp4", IN(V2_TCP4 EHLO), .want = PROXY_OK, HDR(V2_TCP4),
	  .src = "192.0.2.1", .dst = "198.51.100.1", .sport = 56324, .dport = 25 },
	{ .name = "v2 tcp4 tlv", IN(V2_TCP4_TLV EHLO), .want = PROXY_OK,
	  HDR(V2_TCP4_TLV), .src = "192.0.2.1", .dst = "198.51.100.1",
	  .sport = 56324, .dport = 25 },
	{ .name = "v2 tcp6", IN(V2_TCP6 EHLO), .want = PROXY_OK, HDR(V2_TCP6),
	  .src = "2001:db8::1", .dst = "2001:db8::2", .sport = 56324, .dport = 25 },
	{ .name = "v2 tcp6 tlv", IN(V2_TCP6_TLV EHLO), .want = PROXY_OK,
	  HDR(V2_TCP6_TLV), .src = "2001:db8::1", .dst = "2001:db8::2",
	  .sport = 56324, .dport = 25 },
	{ .name = "v2 local", IN(V2_LOCAL EHLO), .want = PROXY_OK,
	  HDR(V2_LOCAL), .local = 1 },
	{ .name = "v2 local with body", IN(V2_LOCAL_BODY EHLO), .want = PROXY_OK,
	  HDR(V2_LOCAL_BODY), .local = 1 },
	{ .name = "v2 local unix family", IN(SIG "\x20\x31\x00\x00"),
	  .want = PROXY_OK, .consumed = 16, .local = 1 },

	/* v2 incomplete */
	{ .name = "v2 signature prefix", IN("\r\n\r\n\0"),
	  .want = PROXY_NEED_MORE },
	{ .name = "v2 body cut", IN(SIG "\x21\x11\x00\x0c" A4_SRC),
	  .want = PROXY_NEED_MORE },

	/* v2 refused */
	{ .name = "v2 bad signature", IN("\r\n\r\n\0\r\nQUIX\n"),
	  .want = PROXY_ERROR, .err = "signature", .fail_at = 11 },
	{ .name = "v2 version 1", IN(SIG "\x11\x11\x00\x0c"),
	  .want = PROXY_ERROR, .err = "version", .fail_at = 13 },
	{ .name = "v2 version 3", IN(SIG "\x31\x11\x00\x0c"),
	  .want = PROXY_ERROR, .err = "version", .fail_at = 13 },
	{ .name = "v2 bad command", IN(SIG "\x22\x11\x00\x0c"),
	  .want = PROXY_ERROR, .err = "command", .fail_at = 13 },
	{ .name = "v2 udp4", IN(SIG "\x21\x12\x00\x0c" A4_SRC A4_DST P_25 P_25),
	  .want = PROXY_ERROR, .err = "UDP", .fail_at = 14 },
	{ .name = "v2 udp6", IN(SIG "\x21\x22\x00\x24"),
	  .want = PROXY_ERROR, .err = "UDP", .fail_at = 14 },
	{ .name = "v2 unix", IN(SIG "\x21\x31\x00\xd8"),
	  .want = PROXY_ERROR, .err = "unix", .fail_at = 14 },
	{ .name = "v2 proxy unspec", IN(SIG "\x21\x00\x00\x00"),
	  .want = PROXY_ERROR, .err = "family", .fail_at = 14 },
	{ .name = "v2 tcp4 length short", IN(SIG "\x21\x11\x00\x08" A4_SRC A4_DST),
	  .want = PROXY_ERROR, .err = "length", .fail_at = 16 },
	{ .name = "v2 tcp6 length short", IN(SIG "\x21\x21\x00\x0c" A4_SRC),
	  .want = PROXY_ERROR, .err = "length", .fail_at = 16 },
	{ .name = "v2 length 4097", IN(SIG "\x21\x11\x10\x01"),
	  .want = PROXY_ERROR, .err = "too long", .fail_at = 16 },
	{ .name = "v2 length 65535", IN(SIG "\x20\x00\xff\xff"),
	  .want = PROXY_ERROR, .err = "too long", .fail_at = 16 },
};

/* parse_copy - parse the first n bytes from an exact-size copy (for ASan) */
static enum proxy_result parse_copy(const char *in, size_t n,
				    struct proxy_info *info, size_t *consumed,
				    const char **error)
{
	unsigned char *copy = malloc(n ? n : 1);
	enum proxy_result r;

	memcpy(copy, in, n);
	r = proxy_parse(copy, n, info, consumed, error);
	free(copy);
	return r;
}

/* addr_text - the address in a sockaddr_storage, or "" */
static const char *addr_text(const struct sockaddr_storage *ss, char *buf,
			     size_t size)
{
	const void *a = ss->ss_family == AF_INET ?
		(const void *)&((const struct sockaddr_in *)ss)->sin_addr :
		(const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return "";
	return inet_ntop(ss->ss_family, a, buf, (socklen_t)size) ? buf : "";
}

/* port_of - the port of a sockaddr_storage in host order */
static int port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* check_ok - a header was accepted: compare what it said */
static void check_ok(const struct pp_case *c, const struct proxy_info *info,
		     size_t consumed)
{
	char buf[INET6_ADDRSTRLEN];

	CHECK_INT(consumed, c->consumed);
	CHECK_INT(info->local, c->local);
	if (c->local)
		return;
	CHECK_STR(addr_text(&info->src, buf, sizeof(buf)), c->src);
	CHECK_STR(addr_text(&info->dst, buf, sizeof(buf)), c->dst);
	CHECK_INT(info->src.ss_family, info->dst.ss_family);
	CHECK_INT(port_of(&info->src), c->sport);
	CHECK_INT(port_of(&info->dst), c->dport);
}

/* run_whole - the case's full input at once */
static void run_whole(const struct pp_case *c)
{
	struct proxy_info info;
	size_t consumed = 99;
	const char *error = NULL;
	enum proxy_result r;

	r = parse_copy(c->in, c->len, &info, &consumed, &error);
	CHECK_INT(r, c->want);
	if (r != c->want) {
		fprintf(stderr, "  case \"%s\": error %s\n", c->name,
			error ? error : "(none)");
		return;
	}
	if (r == PROXY_OK)
		check_ok(c, &info, consumed);
	CHECK((r == PROXY_ERROR) == (error != NULL));
	if (r == PROXY_ERROR && c->err && !strstr(error, c->err)) {
		CHECK_STR(error, c->err);
		fprintf(stderr, "  case \"%s\"\n", c->name);
	}
}

/* run_bytewise - every prefix: NEED_MORE, then OK or ERROR for good */
static void run_bytewise(const struct pp_case *c)
{
	struct proxy_info info;
	size_t n, consumed, first_error = 0;
	const char *error;
	enum proxy_result r, before = PROXY_NEED_MORE;

	for (n = 0; n <= c->len; n++) {
		r = parse_copy(c->in, n, &info, &consumed, &error);
		if (before == PROXY_ERROR && r != PROXY_ERROR) {
			CHECK_INT(r, PROXY_ERROR);
			fprintf(stderr, "  case \"%s\": prefix %zu\n", c->name, n);
		}
		if (r == PROXY_ERROR && before != PROXY_ERROR)
			first_error = n;
		if (c->want == PROXY_OK && n < c->consumed)
			CHECK_INT(r, PROXY_NEED_MORE);
		if (c->want == PROXY_OK && n >= c->consumed)
			CHECK_INT(consumed, c->consumed);
		before = r;
	}
	if (c->fail_at && first_error != c->fail_at) {
		CHECK_INT(first_error, c->fail_at);
		fprintf(stderr, "  case \"%s\"\n", c->name);
	}
}

/* repeat_line - "PROXY UNKNOWN " padded with 'x' to total bytes with CRLF */
static char *repeat_line(size_t total)
{
	char *s = malloc(total + 1);

	memset(s, 'x', total);
	memcpy(s, "PROXY UNKNOWN ", 14);
	memcpy(s + total - 2, "\r\n", 3);
	return s;
}

/* test_v1_length - 107 bytes with CRLF pass; 108 do not */
static void test_v1_length(void)
{
	struct proxy_info info;
	size_t consumed;
	const char *error;
	char *s;

	s = repeat_line(107);
	CHECK_INT(parse_copy(s, 107, &info, &consumed, &error), PROXY_OK);
	CHECK_INT(consumed, 107);
	CHECK_INT(info.local, 1);
	free(s);
	s = repeat_line(108);
	CHECK_INT(parse_copy(s, 108, &info, &consumed, &error), PROXY_ERROR);
	CHECK_INT(parse_copy(s, 106, &info, &consumed, &error), PROXY_ERROR);
	CHECK_INT(parse_copy(s, 105, &info, &consumed, &error), PROXY_NEED_MORE);
	free(s);
	s = repeat_line(300);
	CHECK_INT(parse_copy(s, 300, &info, &consumed, &error), PROXY_ERROR);
	CHECK(error && strstr(error, "107"));
	free(s);
}

/* test_v2_length - a 4096-byte body is the most accepted */
static void test_v2_length(void)
{
	static const char head[] = SIG "\x20\x00\x10\x00";	/* LOCAL, 4096 */
	size_t total = sizeof(head) - 1 + 4096;
	char *s = calloc(1, total + 8);
	struct proxy_info info;
	size_t consumed;
	const char *error;

	memcpy(s, head, sizeof(head) - 1);
	CHECK_INT(parse_copy(s, total - 1, &info, &consumed, &error),
		  PROXY_NEED_MORE);
	CHECK_INT(parse_copy(s, total + 8, &info, &consumed, &error), PROXY_OK);
	CHECK_INT(consumed, total);
	CHECK_INT(info.local, 1);
	free(s);
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_whole(&cases[i]);
		run_bytewise(&cases[i]);
	}
	test_v1_length();
	test_v2_length();
	return check_summary("test_proxy_proto");
}
