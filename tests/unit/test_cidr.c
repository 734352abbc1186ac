/*
 * test_cidr - parsing and matching of IPv4/IPv6 networks.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "common/cidr.h"
#include "tests/unit/check.h"

static const struct parse_case {
	const char *text;
	int family; /* 0: must fail */
	unsigned prefix;
	const char *error; /* when it fails */
} parse_cases[] = {
    {.text = "192.0.2.0/24", .family = AF_INET, .prefix = 24},
    {.text = "192.0.2.1", .family = AF_INET, .prefix = 32},
    {.text = "0.0.0.0/0", .family = AF_INET, .prefix = 0},
    {.text = "10.0.0.0/8", .family = AF_INET, .prefix = 8},
    {.text = "2001:db8::/32", .family = AF_INET6, .prefix = 32},
    {.text = "[2001:db8::]/32", .family = AF_INET6, .prefix = 32},
    {.text = "[::1]", .family = AF_INET6, .prefix = 128},
    {.text = "[::1]/128", .family = AF_INET6, .prefix = 128},
    {.text = "::/0", .family = AF_INET6, .prefix = 0},
    {.text = "::ffff:192.0.2.0/120", .family = AF_INET6, .prefix = 120},
    {.text = "192.0.2.1/24", .error = "address has bits set beyond the prefix length"},
    {.text = "2001:db8::1/32", .error = "address has bits set beyond the prefix length"},
    {.text = "192.0.2.0/33", .error = "prefix length must be 0 to 32 for IPv4"},
    {.text = "::/129", .error = "prefix length must be 0 to 128 for IPv6"},
    {.text = "192.0.2.0/", .error = "missing prefix length after \"/\""},
    {.text = "192.0.2.0/2x", .error = "prefix length is not a number"},
    {.text = "192.0.2.0/-1", .error = "prefix length is not a number"},
    {.text = "192.0.2", .error = "not an IPv4 or IPv6 address or network"},
    {.text = "256.0.0.0", .error = "not an IPv4 or IPv6 address or network"},
    {.text = "localhost", .error = "not an IPv4 or IPv6 address or network"},
    {.text = "", .error = "not an IPv4 or IPv6 address or network"},
    {.text = "/8", .error = "not an IPv4 or IPv6 address or network"},
    {.text = "fe80::1%eth0", .error = "not an IPv4 or IPv6 address or network"},
    {.text = "[192.0.2.1]", .error = "not an IPv6 address inside \"[]\""},
    {.text = "[::1", .error = "missing \"]\""},
    {.text = "[::1]x", .error = "unexpected text after \"]\""},
    {.text = "[::1]/", .error = "missing prefix length after \"/\""},
    {.text = "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa/64",
     .error = "not an IPv4 or IPv6 address or network"},
    {.text = "[0000:0000:0000:0000:0000:ffff:192.168.100.200]/128",
     .family = AF_INET6,
     .prefix = 128},
    {.text = "[000000:0000:0000:0000:0000:ffff:192.168.100.200]/128",
     .error = "not an IPv4 or IPv6 address or network"},
};

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		const char *error = NULL;
		struct cidr net;
		int rc = cidr_parse(c->text, &net, &error);

		if (c->family == 0) {
			CHECK_INT(rc, -1);
			CHECK_STR(error, c->error);
			continue;
		}
		CHECK_INT(rc, 0);
		if (rc != 0) {
			fprintf(stderr, "  %s: %s\n", c->text, error);
			continue;
		}
		CHECK_INT(net.family, c->family);
		CHECK_INT(net.prefix, c->prefix);
	}
}

/* make_sa - a sockaddr for an IPv4 or IPv6 address literal */
static const struct sockaddr *make_sa(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(25);
	} else if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(25);
	} else {
		fprintf(stderr, "bad test address %s\n", text);
		abort();
	}
	return (const struct sockaddr *)ss;
}

static const struct match_case {
	const char *net;
	const char *addr;
	bool match;
} match_cases[] = {
    {"192.0.2.0/24", "192.0.2.1", true},
    {"192.0.2.0/24", "192.0.2.255", true},
    {"192.0.2.0/24", "192.0.3.1", false},
    {"192.0.2.128/25", "192.0.2.127", false},
    {"192.0.2.128/25", "192.0.2.129", true},
    {"192.0.2.1", "192.0.2.1", true},
    {"192.0.2.1", "192.0.2.2", false},
    {"0.0.0.0/0", "203.0.113.9", true},
    {"10.0.0.0/7", "11.255.255.255", true},
    {"10.0.0.0/7", "12.0.0.0", false},
    /* IPv4-mapped IPv6 clients match IPv4 networks */
    {"192.0.2.0/24", "::ffff:192.0.2.7", true},
    {"192.0.2.0/24", "::ffff:192.0.3.7", false},
    {"127.0.0.0/8", "::ffff:127.0.0.1", true},
    {"0.0.0.0/0", "::ffff:1.2.3.4", true},
    /* but other IPv6 addresses never match IPv4 networks */
    {"0.0.0.0/0", "::1", false},
    {"0.0.0.0/0", "2001:db8::1", false},
    {"0.0.0.0/0", "::c000:207", false}, /* IPv4-compatible, not mapped */
    /* and IPv4 clients match IPv6 networks written in mapped form */
    {"::ffff:192.0.2.0/120", "192.0.2.5", true},
    {"::ffff:192.0.2.0/120", "::ffff:192.0.2.5", true},
    {"::ffff:192.0.2.0/120", "192.0.3.5", false},
    {"2001:db8::/32", "192.0.2.1", false},
    {"::/0", "192.0.2.1", true},
    /* plain IPv6 */
    {"2001:db8::/32", "2001:db8:1::25", true},
    {"2001:db8::/32", "2001:db9::25", false},
    {"[2001:db8::]/33", "2001:db8:7fff::1", true},
    {"[2001:db8::]/33", "2001:db8:8000::1", false},
    {"[::1]/128", "::1", true},
    {"[::1]/128", "::2", false},
    {"::/0", "2001:db8::1", true},
};

static void test_match(void)
{
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		struct sockaddr_storage ss;
		const char *error;
		struct cidr net;

		CHECK_INT(cidr_parse(c->net, &net, &error), 0);
		if (cidr_match(&net, make_sa(c->addr, &ss)) != c->match) {
			fprintf(stderr, "  %s vs %s: want %s\n", c->net, c->addr,
			        c->match ? "match" : "no match");
			CHECK(!"cidr_match");
		}
	}
}

static void test_other_families(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *error;
	struct cidr net;

	CHECK_INT(cidr_parse("0.0.0.0/0", &net, &error), 0);
	CHECK(!cidr_match(&net, (const struct sockaddr *)&sun));
	CHECK(!cidr_match(&net, NULL));
	CHECK_INT(cidr_parse("::/0", &net, &error), 0);
	CHECK(!cidr_match(&net, (const struct sockaddr *)&sun));
}

static void test_list(void)
{
	struct cidr_list list = {0};
	struct sockaddr_storage ss;
	const char *error = NULL;

	CHECK(!cidr_list_match(&list, make_sa("127.0.0.1", &ss)));
	CHECK_INT(cidr_list_add(&list, "127.0.0.0/8", &error), 0);
	CHECK_INT(cidr_list_add(&list, "[::1]/128", &error), 0);
	CHECK_INT(cidr_list_add(&list, "10.0.0.1/8", &error), -1);
	CHECK_STR(error, "address has bits set beyond the prefix length");
	CHECK_INT(list.count, 2);
	CHECK(cidr_list_match(&list, make_sa("127.1.2.3", &ss)));
	CHECK(cidr_list_match(&list, make_sa("::ffff:127.0.0.1", &ss)));
	CHECK(cidr_list_match(&list, make_sa("::1", &ss)));
	CHECK(!cidr_list_match(&list, make_sa("10.0.0.1", &ss)));
	CHECK(!cidr_list_match(&list, make_sa("::2", &ss)));
	cidr_list_free(&list);
	CHECK_INT(list.count, 0);
	CHECK(list.items == NULL);
}

int main(void)
{
	test_parse();
	test_match();
	test_other_families();
	test_list();
	return check_summary("test_cidr");
}
