/*
 * test_url_normalize - links read as a browser reads them: the tricks,
 * IDN, IP notations, confusables, link text that lies, limits.
 *
 * Each table row is one link and everything it must yield. The last test
 * normalises every row again in a child under a seccomp filter that traps
 * any open, as the analyzer's sandbox does once url_normalizer_new is done.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "filters/url_normalize.h"
#include "tests/unit/check.h"
#include "tests/unit/test_support.h"

#define REI_E   "\xe4\xbe\x8b\xe3\x81\x88"             /* 例え */
#define NIHONGO "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" /* 日本語 */
#define CYR_A   "\xd0\xb0"                             /* CYRILLIC SMALL LETTER A */
#define FW_DOT  "\xef\xbc\x8e"                         /* FULLWIDTH FULL STOP */

static struct url_normalizer *norm;

/* one link: .port 0 means none (-1); every other field is checked as given */
struct norm_case {
	const char *raw, *base;
	int rc;
	const char *url, *scheme, *host, *host_unicode, *domain;
	int port;
	bool ip, obfuscated, escaped, punycode, userinfo, proto_rel;
	const char *confusable;
};

static const struct norm_case cases[] = {
    /* plain, case, trailing dot, dot segments */
    {.raw = "https://www.paypal.com/login",
     .url = "https://www.paypal.com/login",
     .scheme = "https",
     .host = "www.paypal.com",
     .domain = "paypal.com"},
    {.raw = "HTTP://WWW.PayPal.COM./a/../b?x=1#top",
     .url = "http://www.paypal.com/b?x=1#top",
     .scheme = "http",
     .host = "www.paypal.com",
     .domain = "paypal.com"},
    {.raw = "  \thttp://exa\nmple.com/a\r\nb  ",
     .url = "http://example.com/ab",
     .scheme = "http",
     .host = "example.com",
     .domain = "example.com"},
    /* userinfo: the real host is after the last '@', credentials leave the text */
    {.raw = "https://paypal.com@evil.example/",
     .url = "https://evil.example/",
     .scheme = "https",
     .host = "evil.example",
     .domain = "evil.example",
     .userinfo = true},
    {.raw = "https://user:secret@evil.example:8443/x",
     .url = "https://evil.example:8443/x",
     .scheme = "https",
     .host = "evil.example",
     .domain = "evil.example",
     .port = 8443,
     .userinfo = true},
    {.raw = "http://a@paypal.com@evil.example/",
     .url = "http://evil.example/",
     .scheme = "http",
     .host = "evil.example",
     .domain = "evil.example",
     .userinfo = true},
    /* backslashes are slashes: this goes to evil.example, not paypal.com */
    {.raw = "http://evil.example\\@paypal.com/",
     .url = "http://evil.example/@paypal.com/",
     .scheme = "http",
     .host = "evil.example",
     .domain = "evil.example"},
    {.raw = "https:\\\\evil.example\\a\\b?q\\r",
     .url = "https://evil.example/a/b?q\\r",
     .scheme = "https",
     .host = "evil.example",
     .domain = "evil.example"},
    {.raw = "http:evil.example/x",
     .url = "http://evil.example/x",
     .scheme = "http",
     .host = "evil.example",
     .domain = "evil.example"},
    {.raw = "http:///evil.example",
     .url = "http://evil.example/",
     .scheme = "http",
     .host = "evil.example",
     .domain = "evil.example"},
    /* protocol-relative */
    {.raw = "//evil.example/x",
     .url = "https://evil.example/x",
     .scheme = "https",
     .host = "evil.example",
     .domain = "evil.example",
     .proto_rel = true},
    {.raw = "\\\\evil.example/x",
     .url = "https://evil.example/x",
     .scheme = "https",
     .host = "evil.example",
     .domain = "evil.example",
     .proto_rel = true},
    {.raw = "//cdn.example/x",
     .base = "http://www.example.com/",
     .url = "http://cdn.example/x",
     .scheme = "http",
     .host = "cdn.example",
     .domain = "cdn.example",
     .proto_rel = true},
    /* no scheme */
    {.raw = "www.example.com",
     .url = "http://www.example.com/",
     .scheme = "http",
     .host = "www.example.com",
     .domain = "example.com"},
    {.raw = "WWW.Example.com:8080/path?q",
     .url = "http://www.example.com:8080/path?q",
     .scheme = "http",
     .host = "www.example.com",
     .domain = "example.com",
     .port = 8080},
    {.raw = "page.html", .rc = -1},
    {.raw = "example.com/login", .rc = -1},
    /* relative, against a base */
    {.raw = "../c?z",
     .base = "https://base.example/a/b/x?q#f",
     .url = "https://base.example/a/c?z",
     .scheme = "https",
     .host = "base.example",
     .domain = "base.example"},
    {.raw = "/root",
     .base = "https://base.example/a/b",
     .url = "https://base.example/root",
     .scheme = "https",
     .host = "base.example",
     .domain = "base.example"},
    {.raw = "?q2",
     .base = "https://base.example/a/b?q",
     .url = "https://base.example/a/b?q2",
     .scheme = "https",
     .host = "base.example",
     .domain = "base.example"},
    {.raw = "#top",
     .base = "https://base.example/a/b?q#f",
     .url = "https://base.example/a/b?q#top",
     .scheme = "https",
     .host = "base.example",
     .domain = "base.example"},
    {.raw = "",
     .base = "https://base.example/a/b?q#f",
     .url = "https://base.example/a/b?q",
     .scheme = "https",
     .host = "base.example",
     .domain = "base.example"},
    {.raw = "http:page",
     .base = "http://base.example/a/",
     .url = "http://base.example/a/page",
     .scheme = "http",
     .host = "base.example",
     .domain = "base.example"},
    {.raw = "page.html", .base = "mailto:x@example.com", .rc = -1},
    {.raw = "page.html", .base = "not a base", .rc = -1},
    {.raw = "p",
     .base = "www.example.com/dir/",
     .url = "http://www.example.com/dir/p",
     .scheme = "http",
     .host = "www.example.com",
     .domain = "example.com"},
    /* percent-encoded host */
    {.raw = "http://%77%77%77.example.com/",
     .url = "http://www.example.com/",
     .scheme = "http",
     .host = "www.example.com",
     .domain = "example.com",
     .escaped = true},
    {.raw = "http://%31%32%37.0.0.1/",
     .scheme = "http",
     .host = "127.0.0.1",
     .ip = true,
     .escaped = true},
    /* IPv4 in every WHATWG notation */
    {.raw = "http://3232235777/",
     .url = "http://192.168.1.1/",
     .scheme = "http",
     .host = "192.168.1.1",
     .ip = true,
     .obfuscated = true},
    {.raw = "http://0xC0A80101/",
     .scheme = "http",
     .host = "192.168.1.1",
     .ip = true,
     .obfuscated = true},
    {.raw = "http://0300.0250.0.1/",
     .scheme = "http",
     .host = "192.168.0.1",
     .ip = true,
     .obfuscated = true},
    {.raw = "http://127.1/", .scheme = "http", .host = "127.0.0.1", .ip = true, .obfuscated = true},
    {.raw = "http://0x7f.0.1/",
     .scheme = "http",
     .host = "127.0.0.1",
     .ip = true,
     .obfuscated = true},
    {.raw = "http://192.168.0.1./",
     .scheme = "http",
     .host = "192.168.0.1",
     .ip = true,
     .obfuscated = true},
    {.raw = "http://\xef\xbc\x91\xef\xbc\x92\xef\xbc\x97.0.0.1/",
     .scheme = "http",
     .host = "127.0.0.1",
     .ip = true,
     .obfuscated = true},
    {.raw = "http://192.168.0.1:8080/",
     .url = "http://192.168.0.1:8080/",
     .scheme = "http",
     .host = "192.168.0.1",
     .port = 8080,
     .ip = true},
    {.raw = "http://1.2.3.256/", .rc = -1},
    {.raw = "http://1.2.3.4.5/", .rc = -1},
    {.raw = "http://foo.0x/", .rc = -1},
    {.raw = "http://4294967296/", .rc = -1},
    /* IPv6 */
    {.raw = "http://[2001:DB8:0:0::1]:8080/x",
     .url = "http://[2001:db8::1]:8080/x",
     .scheme = "http",
     .host = "[2001:db8::1]",
     .port = 8080,
     .ip = true},
    {.raw = "http://[::ffff:192.168.0.1]/",
     .scheme = "http",
     .host = "[::ffff:192.168.0.1]",
     .ip = true},
    {.raw = "http://[::1%25eth0]/", .rc = -1},
    {.raw = "http://[::1/", .rc = -1},
    {.raw = "http://[::1]x/", .rc = -1},
    /* IDN */
    {.raw = "http://" REI_E ".jp/",
     .url = "http://xn--r8jz45g.jp/",
     .scheme = "http",
     .host = "xn--r8jz45g.jp",
     .host_unicode = REI_E ".jp",
     .domain = "xn--r8jz45g.jp",
     .punycode = true},
    {.raw = "https://www." NIHONGO ".jp/",
     .scheme = "https",
     .host = "www.xn--wgv71a119e.jp",
     .host_unicode = "www." NIHONGO ".jp",
     .domain = "xn--wgv71a119e.jp",
     .punycode = true},
    {.raw = "http://XN--R8JZ45G.JP/",
     .scheme = "http",
     .host = "xn--r8jz45g.jp",
     .host_unicode = REI_E ".jp",
     .domain = "xn--r8jz45g.jp",
     .punycode = true},
    {.raw = "http://i\xe2\x9d\xa4.ws/",
     .scheme = "http",
     .host = "xn--i-7iq.ws",
     .host_unicode = "i\xe2\x9d\xa4.ws",
     .domain = "xn--i-7iq.ws",
     .punycode = true},
    /* full-width letters map to plain ones (UTS #46): this is paypal.com */
    {.raw = "http://\xef\xbd\x90\xef\xbd\x81\xef\xbd\x99\xef\xbd\x90\xef\xbd\x81\xef\xbd\x8c" FW_DOT
            "com/",
     .url = "http://paypal.com/",
     .scheme = "http",
     .host = "paypal.com",
     .domain = "paypal.com"},
    /* confusables, with paypal.com, microsoft.com and 例え.jp protected */
    {.raw = "http://p" CYR_A "ypal.com/",
     .scheme = "http",
     .host = "xn--pypal-4ve.com",
     .host_unicode = "p" CYR_A "ypal.com",
     .domain = "xn--pypal-4ve.com",
     .punycode = true,
     .confusable = "lookalike:paypal.com"},
    {.raw = "http://xn--pypal-4ve.com/",
     .scheme = "http",
     .host = "xn--pypal-4ve.com",
     .host_unicode = "p" CYR_A "ypal.com",
     .domain = "xn--pypal-4ve.com",
     .punycode = true,
     .confusable = "lookalike:paypal.com"},
    {.raw = "https://paypa1.com/",
     .scheme = "https",
     .host = "paypa1.com",
     .domain = "paypa1.com",
     .confusable = "lookalike:paypal.com"},
    {.raw = "https://secure.rnicrosoft.com/",
     .scheme = "https",
     .host = "secure.rnicrosoft.com",
     .domain = "rnicrosoft.com",
     .confusable = "lookalike:microsoft.com"},
    {.raw = "https://micr0soft.com/",
     .scheme = "https",
     .host = "micr0soft.com",
     .domain = "micr0soft.com",
     .confusable = "lookalike:microsoft.com"},
    {.raw = "https://login.paypal.com/",
     .scheme = "https",
     .host = "login.paypal.com",
     .domain = "paypal.com"},
    {.raw = "https://paypal.com/", .scheme = "https", .host = "paypal.com", .domain = "paypal.com"},
    {.raw = "https://www." REI_E ".jp/",
     .scheme = "https",
     .host = "www.xn--r8jz45g.jp",
     .host_unicode = "www." REI_E ".jp",
     .domain = "xn--r8jz45g.jp",
     .punycode = true},
    {.raw = "https://paypal.org/", .scheme = "https", .host = "paypal.org", .domain = "paypal.org"},
    /* mixed scripts not like any protected domain */
    {.raw = "http://g" CYR_A "rden.example/",
     .scheme = "http",
     .host = "xn--grden-4ve.example",
     .host_unicode = "g" CYR_A "rden.example",
     .domain = "xn--grden-4ve.example",
     .punycode = true,
     .confusable = "mixed_script"},
    {.raw = "http://\xd0\xbf\xd0\xbe\xd1\x87\xd1\x82\xd0\xb0.\xd1\x80\xd1\x84/",
     .scheme = "http",
     .host = "xn--80a1acny.xn--p1ai",
     .host_unicode = "\xd0\xbf\xd0\xbe\xd1\x87\xd1\x82\xd0\xb0."
                     "\xd1\x80\xd1\x84",
     .domain = "xn--80a1acny.xn--p1ai",
     .punycode = true},
    /* public suffixes, single labels */
    {.raw = "http://co.uk/", .scheme = "http", .host = "co.uk"},
    {.raw = "http://www.bbc.co.uk/",
     .scheme = "http",
     .host = "www.bbc.co.uk",
     .domain = "bbc.co.uk"},
    {.raw = "http://intranet/", .scheme = "http", .host = "intranet"},
    /* ports */
    {.raw = "http://example.com:80/",
     .url = "http://example.com/",
     .scheme = "http",
     .host = "example.com",
     .domain = "example.com"},
    {.raw = "https://example.com:0443/",
     .url = "https://example.com/",
     .scheme = "https",
     .host = "example.com",
     .domain = "example.com"},
    {.raw = "http://example.com:99999/", .rc = -1},
    {.raw = "http://example.com:8o/", .rc = -1},
    /* other schemes */
    {.raw = "javascript:alert(document.cookie);void(0);/*padding padding padding padding*/",
     .url = "javascript:alert(document.cookie);void(0);/*padding%20padding%20",
     .scheme = "javascript"},
    {.raw = "JavaScript:x", .url = "javascript:x", .scheme = "javascript"},
    {.raw = " java\tscr\nipt:alert(1)", .url = "javascript:alert(1)", .scheme = "javascript"},
    {.raw = "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
     .url = "data:text/html;base64,",
     .scheme = "data"},
    {.raw = "mailto:Support@PayPa1.com?subject=hi",
     .url = "mailto:Support@PayPa1.com?subject=hi",
     .scheme = "mailto",
     .host = "paypa1.com",
     .domain = "paypa1.com",
     .confusable = "lookalike:paypal.com"},
    {.raw = "mailto:nobody", .url = "mailto:nobody", .scheme = "mailto"},
    {.raw = "tel:+81 3 1234", .url = "tel:+81%203%201234", .scheme = "tel"},
    {.raw = "file:///C:/x", .url = "file:///C:/x", .scheme = "file"},
    {.raw = "file://server/share",
     .url = "file://server/share",
     .scheme = "file",
     .host = "server"},
    {.raw = "smb://fileserver.example/share",
     .scheme = "smb",
     .host = "fileserver.example",
     .domain = "fileserver.example"},
    /* not URLs a browser would open */
    {.raw = "http://", .rc = -1},
    {.raw = "http://user@/", .rc = -1},
    {.raw = "http://evil .example/", .rc = -1},
    {.raw = "http://ev%00il.example/", .rc = -1},
    {.raw = "http://ev%25il.example/", .rc = -1},
    {.raw = "http://%ff.example/", .rc = -1},
    {.raw = "http://.../", .rc = -1},
    {.raw = "", .rc = -1},
};

/* check_info - one table row against what url_normalize gave */
static void check_info(const struct norm_case *c, int rc, const struct url_info *u)
{
	CHECK_INT(rc, c->rc);
	if (rc != 0) {
		CHECK(!u->url && !u->scheme && !u->host && !u->userinfo);
		return;
	}
	if (c->url)
		CHECK_STR(u->url, c->url);
	CHECK_STR(u->scheme, c->scheme);
	CHECK_STR(u->host, c->host);
	CHECK_STR(u->host_unicode, c->host_unicode);
	CHECK_STR(u->domain, c->domain);
	CHECK_INT(u->port, c->port ? c->port : -1);
	CHECK_INT(u->ip_literal, c->ip);
	CHECK_INT(u->ip_obfuscated, c->obfuscated);
	CHECK_INT(u->host_escaped, c->escaped);
	CHECK_INT(u->punycode, c->punycode);
	CHECK_INT(u->userinfo, c->userinfo);
	CHECK_INT(u->protocol_relative, c->proto_rel);
	CHECK_STR(u->confusable, c->confusable);
}

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct url_info u;
		int rc = url_normalize(norm, cases[i].raw, cases[i].base, &u);
		int before = check_failures;

		check_info(&cases[i], rc, &u);
		if (check_failures != before)
			fprintf(stderr, "  ... in case \"%s\"\n", cases[i].raw);
		url_info_free(&u);
	}
}

/* without protected domains, a Latin-Cyrillic paypal is still mixed script */
static void test_mixed_script_unprotected(void)
{
	char *error = NULL;
	struct url_normalizer *plain = url_normalizer_new(NULL, NULL, 0, &error);
	struct url_info u;

	CHECK(plain != NULL);
	if (!plain)
		return;
	CHECK_INT(url_normalize(plain, "http://p" CYR_A "ypal.com/", NULL, &u), 0);
	CHECK_STR(u.confusable, "mixed_script");
	url_info_free(&u);
	CHECK_INT(url_normalize(plain, "http://paypa1.com/", NULL, &u), 0);
	CHECK_STR(u.confusable, NULL);
	url_info_free(&u);
	/* Han with Hiragana is one writing system (UTS #39 "highly restrictive") */
	CHECK_INT(url_normalize(plain, "http://" REI_E ".jp/", NULL, &u), 0);
	CHECK_STR(u.confusable, NULL);
	url_info_free(&u);
	url_normalizer_free(plain);
}

struct text_case {
	const char *text, *target;
	bool mismatch;
};

static const struct text_case text_cases[] = {
    {.text = "https://www.paypal.com", .target = "https://evil.example/", .mismatch = true},
    {.text = "https://paypal.com/login",
     .target = "http://paypal.com@evil.example/",
     .mismatch = true},
    {.text = "www.paypal.com", .target = "http://3232235777/", .mismatch = true},
    {.text = " (paypal.com). ", .target = "https://evil.example/", .mismatch = true},
    {.text = REI_E ".jp", .target = "https://evil.example/", .mismatch = true},
    {.text = "https://paypal.com", .target = "javascript:void(0)", .mismatch = true},
    {.text = "192.168.0.1", .target = "https://evil.example/", .mismatch = true},
    {.text = "paypal.com", .target = "https://www.paypal.com/", .mismatch = false},
    {.text = "WWW.PAYPAL.COM", .target = "https://login.paypal.com/x", .mismatch = false},
    {.text = REI_E ".jp", .target = "https://xn--r8jz45g.jp/", .mismatch = false},
    {.text = "192.168.0.1", .target = "http://192.168.0.1/", .mismatch = false},
    {.text = "Click here", .target = "https://evil.example/", .mismatch = false},
    {.text = "\xe3\x81\x93\xe3\x81\xa1\xe3\x82\x89\xe3\x82\x92\xe3\x82\xaf\xe3\x83\xaa"
             "\xe3\x83\x83\xe3\x82\xaf", /* こちらをクリック */
     .target = "https://evil.example/",
     .mismatch = false},
    {.text = "\xe8\xa9\xb3\xe3\x81\x97\xe3\x81\x8f\xe3\x81\xaf\xe3\x81\x93\xe3\x81\xa1\xe3\x82"
             "\x89\xe3\x80\x82", /* 詳しくはこちら。 */
     .target = "https://evil.example/",
     .mismatch = false},
    {.text = "page.html", .target = "https://evil.example/", .mismatch = false},
    {.text = "v1.2", .target = "https://evil.example/", .mismatch = false},
    {.text = "support@paypal.com", .target = "https://evil.example/", .mismatch = false},
    {.text = "Visit paypal.com today", .target = "https://evil.example/", .mismatch = false},
    {.text = "", .target = "https://evil.example/", .mismatch = false},
};

static void test_text_mismatch(void)
{
	for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		struct url_info target;

		CHECK_INT(url_normalize(norm, text_cases[i].target, NULL, &target), 0);
		if (url_text_mismatch(norm, text_cases[i].text, &target) != text_cases[i].mismatch)
			fprintf(stderr, "  mismatch wrong for \"%s\"\n", text_cases[i].text);
		CHECK_INT(url_text_mismatch(norm, text_cases[i].text, &target),
		          text_cases[i].mismatch);
		url_info_free(&target);
	}
	CHECK(!url_text_mismatch(norm, NULL, NULL));
}

static void test_limits(void)
{
	struct buf b;
	struct url_info u;

	/* 253 bytes of host are read, 254 are not */
	buf_init(&b);
	buf_append_str(&b, "http://");
	for (int i = 0; i < 62; i++)
		buf_append_str(&b, "abc.");
	buf_append_str(&b, "x.com/");
	CHECK_INT(url_normalize(norm, buf_cstr(&b), NULL, &u), 0);
	CHECK_INT(u.host ? strlen(u.host) : 0, 253);
	url_info_free(&u);
	buf_reset(&b);
	buf_append_str(&b, "http://");
	for (int i = 0; i < 62; i++)
		buf_append_str(&b, "abc.");
	buf_append_str(&b, "xy.com/");
	CHECK_INT(url_normalize(norm, buf_cstr(&b), NULL, &u), -1);

	/* a long path is cut, never inside a %XX */
	buf_reset(&b);
	buf_append_str(&b, "http://example.com/");
	for (int i = 0; i < 600; i++)
		buf_append_str(&b, "a ");
	CHECK_INT(url_normalize(norm, buf_cstr(&b), NULL, &u), 0);
	CHECK(u.url && strlen(u.url) <= URL_TEXT_MAX && strlen(u.url) >= URL_TEXT_MAX - 2);
	CHECK(u.url && strchr(u.url + strlen(u.url) - 2, '%') == NULL);
	url_info_free(&u);

	/* past URL_RAW_MAX nothing is read, and a long base is no base */
	while (b.len <= URL_RAW_MAX)
		buf_append_str(&b, "aaaaaaaa");
	CHECK_INT(url_normalize(norm, buf_cstr(&b), NULL, &u), -1);
	CHECK(u.url == NULL);
	CHECK_INT(url_normalize(norm, "page", buf_cstr(&b), &u), -1);
	CHECK_INT(url_normalize(norm, NULL, NULL, &u), -1);
	buf_free(&b);
}

static void test_constructor(void)
{
	static const char *const bad[] = {"paypal.com", "192.168.0.1"};
	static const char *const idn[] = {REI_E ".JP"};
	char *error = NULL;
	struct url_normalizer *n;
	struct url_info u;

	CHECK(url_normalizer_new("/nonexistent/psl.dat", NULL, 0, &error) == NULL);
	CHECK(error && strstr(error, "/nonexistent/psl.dat"));
	free(error);
	CHECK(url_normalizer_new(NULL, bad, 2, &error) == NULL);
	CHECK(error && strstr(error, "192.168.0.1"));
	free(error);

	/* protected domains may be given as U-labels and in any case */
	n = url_normalizer_new(NULL, idn, 1, &error);
	CHECK(n != NULL && error == NULL);
	if (!n)
		return;
	CHECK_INT(url_normalize(n, "https://xn--r8jz45g.jp/", NULL, &u), 0);
	CHECK_STR(u.confusable, NULL);
	url_info_free(&u);
	url_normalizer_free(n);
	url_normalizer_free(NULL);
}

/* run_all - every row and every text once more; the number of wrong answers */
static int run_all(void)
{
	int wrong = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct url_info u;
		int rc = url_normalize(norm, cases[i].raw, cases[i].base, &u);

		wrong += rc != cases[i].rc;
		if (rc == 0) {
			for (size_t k = 0; k < sizeof(text_cases) / sizeof(text_cases[0]); k++)
				(void)url_text_mismatch(norm, text_cases[k].text, &u);
			wrong += (u.host == NULL) != (cases[i].host == NULL);
		}
		url_info_free(&u);
	}
	return wrong;
}

/* after url_normalizer_new no file is opened: the analyzer's seccomp filter would kill it */
static void test_sandboxed(void)
{
	pid_t pid;
	int status = 0;

	fflush(NULL);
	if ((pid = fork()) == 0) {
		int wrong = 0;

		if (!trap_file_syscalls())
			_exit(77);
		for (int round = 0; round < 20; round++)
			wrong += run_all();
		_exit(wrong ? 1 : 0);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		printf("test_url_normalize: seccomp unavailable, sandboxed run skipped\n");
	else
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	static const char *const protect[] = {"paypal.com", "microsoft.com", REI_E ".jp"};
	char *error = NULL;

	norm = url_normalizer_new(NULL, protect, 3, &error);
	CHECK(norm != NULL);
	if (!norm) {
		fprintf(stderr, "url_normalizer_new: %s\n", error);
		free(error);
		return check_summary("test_url_normalize");
	}
	test_table();
	test_mixed_script_unprotected();
	test_text_mismatch();
	test_limits();
	test_constructor();
	test_sandboxed();
	url_normalizer_free(norm);
	return check_summary("test_url_normalize");
}
