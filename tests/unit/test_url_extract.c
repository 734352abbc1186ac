/*
 * test_url_extract - links found in HTML and plain text as a mail client finds them.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "filters/url_extract.h"
#include "tests/unit/check.h"

#define MAX_WANT   10
#define LITERAL(s) .html = (s), .len = sizeof(s) - 1 /* input with NUL bytes in it */

struct want {
	const char *url, *source, *text, *base;
};

struct html_case {
	const char *name;
	const char *html;
	size_t len; /* 0: strlen(html) */
	struct want want[MAX_WANT];
};

struct text_case {
	const char *name;
	const char *text;
	const char *want[MAX_WANT];
};

static const struct html_case html_cases[] = {
    {.name = "href and visible text",
     .html = "<a href=\"http://a.example/\"> Click <b>here</b>\n now </a>",
     .want = {{.url = "http://a.example/", .source = "href", .text = "Click here now"}}},
    {.name = "character references",
     .html = "<a href=\"&#x68;ttp://x.example/?a=1&amp;b=2\">x</a>",
     .want = {{.url = "http://x.example/?a=1&b=2", .source = "href", .text = "x"}}},
    /* in an attribute a legacy reference followed by '=' or a letter stays as it is */
    {.name = "legacy references in attributes",
     .html = "<a href=\"http://x.example/?a=1&copy=2&amp=3&lt;\">x</a>",
     .want = {{.url = "http://x.example/?a=1&copy=2&amp=3<", .source = "href", .text = "x"}}},
    {.name = "white space in href",
     .html = "<a href=\"  http://w.example/a\tb\nc\r\n  \">w</a>"
             "<a href=\"java&#9;script:alert(1)\">j</a>",
     .want = {{.url = "http://w.example/abc", .source = "href", .text = "w"},
              {.url = "javascript:alert(1)", .source = "href", .text = "j"}}},
    {.name = "data: and protocol-relative URLs",
     .html = "<img src=\"data:image/png;base64,AAAA\"><img src=\"//cdn.example/x.png\">",
     .want = {{.url = "data:image/png;base64,AAAA", .source = "src"},
              {.url = "//cdn.example/x.png", .source = "src"}}},
    {.name = "src of every element that fetches",
     .html = "<script src=s.js></script><iframe src=i.html></iframe><embed src=e.swf>"
             "<video src=v.mp4 poster=p.jpg><source src=so.webm></video><audio src=a.mp3>"
             "</audio><input type=IMAGE src=b.png><input type=text src=no.png>",
     .want = {{.url = "s.js", .source = "src"},
              {.url = "i.html", .source = "src"},
              {.url = "e.swf", .source = "src"},
              {.url = "v.mp4", .source = "src"},
              {.url = "p.jpg", .source = "poster"},
              {.url = "so.webm", .source = "src"},
              {.url = "a.mp3", .source = "src"},
              {.url = "b.png", .source = "src"}}},
    {.name = "frames",
     .html = "<frameset><frame src=\"f.html\"></frameset>",
     .want = {{.url = "f.html", .source = "src"}}},
    /* the tree builder ignores <frame> in a body, as browsers do */
    {.name = "frame outside a frameset", .html = "<p>x<frame src=\"f.html\">"},
    {.name = "forms",
     .html = "<form action=\"/post\"><button formaction=\"/b\">x</button>"
             "<input formaction=\"/i\"></form>",
     .want = {{.url = "/post", .source = "action"},
              {.url = "/b", .source = "formaction"},
              {.url = "/i", .source = "formaction"}}},
    {.name = "srcset candidates",
     .html = "<img srcset=\"a.png 1x, b.png 2x,c,d.png 100w, e.png (x,y) 3x,, f.png,\">",
     .want = {{.url = "a.png", .source = "srcset"},
              {.url = "b.png", .source = "srcset"},
              {.url = "c,d.png", .source = "srcset"},
              {.url = "e.png", .source = "srcset"},
              {.url = "f.png", .source = "srcset"}}},
    {.name = "meta refresh",
     .html = "<meta http-equiv=\"Refresh\" content=\"5; URL='http://r.example/a b'\">"
             "<meta http-equiv=refresh content=\"0;url = http://r2.example/\">"
             "<meta http-equiv=refresh content=3>"
             "<meta http-equiv=refresh content=\"0,http://r3.example/\">"
             "<meta http-equiv=\"refresh \" content=\"0;url=http://no.example/\">"
             "<meta http-equiv=refresh content=\"x;url=http://no2.example/\">"
             "<meta http-equiv=refresh content=\"1; uri=http://u.example/\">",
     .want = {{.url = "http://r.example/a b", .source = "meta-refresh"},
              {.url = "http://r2.example/", .source = "meta-refresh"},
              {.url = "http://r3.example/", .source = "meta-refresh"},
              {.url = "i=http://u.example/", .source = "meta-refresh"}}},
    {.name = "url() in a style attribute",
     .html = "<div style=\"background:url('http://s.example/a.png') ; x:URL( b.png );"
             "y:myurl(no)\">x</div>",
     .want = {{.url = "http://s.example/a.png", .source = "css"},
              {.url = "b.png", .source = "css"}}},
    {.name = "style element",
     .html = "<style>@import 'i.css'; @import url(j.css); .a{background:url(\"c.png\")}"
             "</style>",
     .want = {{.url = "i.css", .source = "css"},
              {.url = "j.css", .source = "css"},
              {.url = "c.png", .source = "css"}}},
    /* the first <base href> is the base of every link, even those before it */
    {.name = "base",
     .html = "<a href=x>x</a><base href=\" http://b1.example/ \"><base href=http://b2/>"
             "<img src=y>",
     .want = {{.url = "x", .source = "href", .text = "x", .base = "http://b1.example/"},
              {.url = "y", .source = "src", .base = "http://b1.example/"}}},
    /* the first <base href> counts even when empty: the document itself is the base */
    {.name = "empty first base",
     .html = "<base href=\" \"><base href=http://b2/><a href=x>x</a>",
     .want = {{.url = "x", .source = "href", .text = "x"}}},
    {.name = "bare URLs in text, not in <a>",
     .html = "<base href=http://b/><p>Visit http://bare.example/ now, or <a "
             "href=\"http://link.example/\">http://shown.example/</a>.</p>",
     .want = {{.url = "http://bare.example/", .source = "text"},
              {.url = "http://link.example/",
               .source = "href",
               .text = "http://shown.example/",
               .base = "http://b/"}}},
    {.name = "text a reader does not see",
     .html = "<title>http://title.example/</title><script>x=\"http://js.example/\"</script>"
             "<!-- http://comment.example/ -->"},
    {.name = "link, area, object, background",
     .html = "<link rel=stylesheet href=s.css><map><area href=\"/m\" alt=\" Map  area \">"
             "</map><object data=o.swf></object><body background=bg.png><table "
             "background=t.png><tr><td background=td.png>x</td></tr></table>",
     .want = {{.url = "s.css", .source = "href"},
              {.url = "bg.png", .source = "background"},
              {.url = "/m", .source = "href", .text = "Map area"},
              {.url = "o.swf", .source = "data"},
              {.url = "t.png", .source = "background"},
              {.url = "td.png", .source = "background"}}},
    {.name = "broken markup",
     .html = "<a href=http://unquoted.example/x>y<a href='http://second.example/'>z",
     .want = {{.url = "http://unquoted.example/x", .source = "href", .text = "y"},
              {.url = "http://second.example/", .source = "href", .text = "z"}}},
    {.name = "first of duplicate attributes",
     .html = "<a href=first href=second>x</a>",
     .want = {{.url = "first", .source = "href", .text = "x"}}},
    {.name = "empty href is no link",
     .html = "<a href=\" \">http://lure.example/</a>",
     .want = {{.url = "http://lure.example/", .source = "text"}}},
    {.name = "SVG link",
     .html = "<svg><a xlink:href=\"http://svg.example/\"><text>s</text></a></svg>",
     .want = {{.url = "http://svg.example/", .source = "href", .text = "s"}}},
    {.name = "template content",
     .html = "<template><a href=t>tt</a></template>",
     .want = {{.url = "t", .source = "href", .text = "tt"}}},
    {.name = "Japanese text around URLs",
     .html = "<p>詳細は「https://example.jp/パス」をご覧ください。www.example.co.jp。</p>",
     .want = {{.url = "https://example.jp/パス", .source = "text"},
              {.url = "www.example.co.jp", .source = "text"}}},
    /* in <select> a <style> start tag is ignored, so what follows is markup */
    {.name = "style ignored in select",
     .html = "<select><style></select><a href=\"//evil.example/\">click</a>",
     .want = {{.url = "//evil.example/", .source = "href", .text = "click"}}},
    /* in SVG <style> is a plain element, and <p> leaves SVG for HTML */
    {.name = "style in SVG",
     .html = "<svg><style><p><a href=\"//e2.example/\">c</a></style></svg>",
     .want = {{.url = "//e2.example/", .source = "href", .text = "c"}}},
    /* raw text is text; a <textarea>'s is shown, and auto-linked */
    {.name = "raw text stays raw",
     .html = "<style><a href=no></style><textarea><a href=\"http://ta.example/\">"
             "</textarea><script><!--<script></script><a href=no2></script><a href=yes>y</a>",
     .want = {{.url = "http://ta.example/", .source = "text"},
              {.url = "yes", .source = "href", .text = "y"}}},
    {.name = "invalid UTF-8 is replaced",
     .html = "<a href=\"http://x.example/\xff\">\xc3(</a>",
     .want = {{.url = "http://x.example/\xef\xbf\xbd", .source = "href", .text = "\xef\xbf\xbd("}}},
    {.name = "NUL bytes",
     LITERAL("<a href=\"http://n\0ul.example/\">x</a>"),
     .want = {{.url = "http://n\xef\xbf\xbdul.example/", .source = "href", .text = "x"}}},
    {.name = "empty input", .html = ""},
};

static const struct text_case text_cases[] = {
    {.name = "trailing punctuation",
     .text = "See http://a.example/x. Or http://b.example/y, and http://c.example/z!? ok",
     .want = {"http://a.example/x", "http://b.example/y", "http://c.example/z"}},
    {.name = "balanced parentheses are kept",
     .text = "(see http://en.wikipedia.org/wiki/Foo_(bar)) and (http://x.example/)",
     .want = {"http://en.wikipedia.org/wiki/Foo_(bar)", "http://x.example/"}},
    {.name = "brackets and quotes",
     .text = "[http://x.example/a] 'http://y.example/b' \"http://z.example/c\" "
             "'http://q.example/it's'",
     .want = {"http://x.example/a", "http://y.example/b", "http://z.example/c",
              "http://q.example/it's"}},
    {.name = "angle brackets",
     .text = "<http://a.example/x.> and <URL:http://b.example/long\r\n  /path> <x>",
     .want = {"http://a.example/x.", "http://b.example/long/path"}},
    {.name = "www forms",
     .text = "go to www.example.com/path. or WWW.EXAMPLE.ORG! not user@www.example.net "
             "nor xwww.example.com",
     .want = {"www.example.com/path", "WWW.EXAMPLE.ORG"}},
    {
        .name = "mailto is not a link",
        .text = "mailto:a@example.com, mailto://x",
    },
    {.name = "any scheme",
     .text = "hxxp://evil.example/ ftp://files.example/ x-app://open see:http://s.example/",
     .want = {"hxxp://evil.example/", "ftp://files.example/", "x-app://open", "http://s.example/"}},
    {
        .name = "nothing after the scheme",
        .text = "http:// and http://. and www.",
    },
    {.name = "Japanese punctuation and brackets",
     .text = "詳細は「https://example.jp/」を参照。https://example.jp/ページ。"
             "（https://example.jp/a）、http://example.jp/b、終わり",
     .want = {"https://example.jp/", "https://example.jp/ページ", "https://example.jp/a",
              "http://example.jp/b"}},
    {.name = "ideographic space ends a URL",
     .text = "http://x.example/a\xe3\x80\x80"
             "b",
     .want = {"http://x.example/a"}},
    {.name = "query and fragment",
     .text = "http://x.example/?q=a&b=c#frag",
     .want = {"http://x.example/?q=a&b=c#frag"}},
    {.name = "invalid UTF-8 ends a URL",
     .text = "http://x.example/a\xff"
             "b",
     .want = {"http://x.example/a"}},
    {
        .name = "empty",
        .text = "",
    },
};

static size_t want_count(const struct want *w)
{
	size_t n = 0;

	while (n < MAX_WANT && w[n].url)
		n++;
	return n;
}

/* note_case - name the case when its checks failed */
static void note_case(const char *name, int failures_before)
{
	if (check_failures > failures_before)
		fprintf(stderr, "  in case \"%s\"\n", name);
}

static void check_html_case(const struct html_case *c)
{
	int before = check_failures;
	size_t len = c->len ? c->len : strlen(c->html), n = want_count(c->want);
	struct url_list l;

	url_extract_html(c->html, len, 100, &l);
	CHECK_INT(l.count, n);
	CHECK(!l.truncated);
	for (size_t i = 0; i < n && i < l.count; i++) {
		CHECK_STR(l.items[i].url, c->want[i].url);
		CHECK_STR(l.items[i].source, c->want[i].source);
		CHECK_STR(l.items[i].text, c->want[i].text);
		CHECK_STR(l.items[i].base, c->want[i].base);
	}
	url_list_free(&l);
	note_case(c->name, before);
}

static void check_text_case(const struct text_case *c)
{
	int before = check_failures;
	size_t n = 0;
	struct url_list l;

	while (n < MAX_WANT && c->want[n])
		n++;
	url_extract_text(c->text, strlen(c->text), 100, &l);
	CHECK_INT(l.count, n);
	for (size_t i = 0; i < n && i < l.count; i++) {
		CHECK_STR(l.items[i].url, c->want[i]);
		CHECK_STR(l.items[i].source, "text");
		CHECK(l.items[i].text == NULL && l.items[i].base == NULL);
	}
	url_list_free(&l);
	note_case(c->name, before);
}

static void test_tables(void)
{
	for (size_t i = 0; i < sizeof(html_cases) / sizeof(html_cases[0]); i++)
		check_html_case(&html_cases[i]);
	for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++)
		check_text_case(&text_cases[i]);
}

static void test_limits(void)
{
	const char *html = "<a href=1>1</a><a href=2>2</a><img src=3><img src=4> http://5.example/";
	const char *text = "http://1.example/ http://2.example/ http://3.example/";
	struct url_list l;

	url_extract_html(html, strlen(html), 3, &l);
	CHECK_INT(l.count, 3);
	CHECK(l.truncated);
	CHECK_STR(l.items[2].url, "3");
	url_list_free(&l);
	CHECK(l.items == NULL && l.count == 0 && !l.truncated);

	url_extract_html(html, strlen(html), 0, &l);
	CHECK_INT(l.count, 0);
	CHECK(l.truncated);
	url_list_free(&l);

	url_extract_text(text, strlen(text), 2, &l);
	CHECK_INT(l.count, 2);
	CHECK(l.truncated);
	url_list_free(&l);

	url_extract_html(NULL, 0, 10, &l);
	CHECK_INT(l.count, 0);
	CHECK(!l.truncated);
	url_list_free(&l);
}

/* an anchor's text is cut at URL_EXTRACT_TEXT_MAX bytes, between characters */
static void test_text_cut(void)
{
	struct buf b;
	struct url_list l;

	buf_init(&b);
	buf_append_str(&b, "<a href=h>");
	for (int i = 0; i < 100; i++)
		buf_append_str(&b, "\xe3\x81\x82"); /* あ */
	buf_append_str(&b, "</a>");
	url_extract_html(b.data, b.len, 10, &l);
	CHECK_INT(l.count, 1);
	if (l.count == 1) {
		CHECK_INT(strlen(l.items[0].text), URL_EXTRACT_TEXT_MAX / 3 * 3);
		CHECK(memcmp(l.items[0].text, "\xe3\x81\x82", 3) == 0);
	}
	url_list_free(&l);
	buf_free(&b);
}

/* deep nesting goes into the governor's windows: every link survives with its text */
static void test_deep_nesting(void)
{
	struct buf b;
	struct url_list l;
	size_t found = 0;

	buf_init(&b);
	for (int i = 0; i < 3000; i++) {
		buf_append_str(&b, "<div><b>");
		if (i % 100 == 0)
			buf_printf(&b, "<a href=\"http://deep.example/%d\">deep %d</a>", i, i);
	}
	url_extract_html(b.data, b.len, 1000, &l);
	CHECK_INT(l.count, 30);
	for (size_t i = 0; i < l.count; i++) {
		char url[64], text[32];

		snprintf(url, sizeof(url), "http://deep.example/%zu", i * 100);
		snprintf(text, sizeof(text), "deep %zu", i * 100);
		found += strcmp(l.items[i].url, url) == 0 && strcmp(l.items[i].text, text) == 0;
	}
	CHECK_INT(found, 30);
	url_list_free(&l);
	buf_free(&b);
}

/* past the attribute cap a link attribute is still kept, a duplicate still dropped */
static void test_many_attributes(void)
{
	struct buf b;
	struct url_list l;

	buf_init(&b);
	buf_append_str(&b, "<a href=\"http://first.example/\" ");
	for (int i = 0; i < 100000; i++)
		buf_printf(&b, "a%d=1 ", i);
	buf_append_str(&b,
	               "href=\"http://late.example/\" style=\"background:url(late.png)\">x</a>");
	url_extract_html(b.data, b.len, 10, &l);
	CHECK_INT(l.count, 2);
	if (l.count == 2) {
		CHECK_STR(l.items[0].url, "http://first.example/");
		CHECK_STR(l.items[0].text, "x");
		CHECK_STR(l.items[1].url, "late.png");
	}
	url_list_free(&l);
	buf_free(&b);
}

/* input past URL_EXTRACT_MAX_INPUT is cut, and the list says it is incomplete */
static void test_max_input(void)
{
	size_t n = URL_EXTRACT_MAX_INPUT + 64;
	char *text = malloc(n);
	struct url_list l;

	memset(text, ' ', n);
	memcpy(text, "http://start.example/", 21);
	memcpy(text + n - 20, "http://end.example/", 19);
	url_extract_text(text, n, 10, &l);
	CHECK_INT(l.count, 1);
	CHECK(l.truncated);
	url_list_free(&l);
	free(text);
}

int main(void)
{
	test_tables();
	test_limits();
	test_text_cut();
	test_deep_nesting();
	test_many_attributes();
	test_max_input();
	return check_summary("test_url_extract");
}
