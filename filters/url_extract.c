/*
 * url_extract - every link in a message's text and HTML (see url_extract.h).
 *
 * Three parts: the plain-text scanner (what clients auto-link), the
 * governor (a linear pass that makes the HTML safe to give gumbo), and the
 * walk over gumbo's tree. Every string put in a url_list is allocated here
 * and owned by the list.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gumbo.h>

#include "common/buf.h"
#include "common/text.h"
#include "common/xalloc.h"
#include "filters/url_extract.h"

#define ANGLE_MAX 2048 /* bytes between < and > for a folded <URL> */

static bool is_alpha(unsigned char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static bool is_alnum(unsigned char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

/* is_ws - ASCII white space as HTML defines it (CR counts: the input stream turns it into LF) */
static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

/* ascii_caseeq - does s[0..n) equal the lowercase word w, ignoring ASCII case? */
static bool ascii_caseeq(const char *s, const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)w[i])
			return false;
	return true;
}

/* ---- the list ---- */

struct collect {
	struct url_list *list;
	size_t max;
	size_t cap;
	bool full; /* a link did not fit: scanning may stop */
};

static void collect_init(struct collect *c, struct url_list *out, size_t max)
{
	memset(out, 0, sizeof(*out));
	c->list = out;
	c->max = max;
	c->cap = 0;
	c->full = false;
}

/* collect_add - take url into the list; NULL (url freed, truncated set) when it is full */
static struct url_ref *collect_add(struct collect *c, char *url, const char *source)
{
	struct url_list *l = c->list;
	struct url_ref *r;

	if (l->count >= c->max) {
		l->truncated = c->full = true;
		free(url);
		return NULL;
	}
	if (l->count == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		l->items = xrealloc(l->items, c->cap * sizeof(*l->items));
	}
	r = &l->items[l->count++];
	*r = (struct url_ref){.url = url, .source = source};
	return r;
}

/*
 * url_clean - s[0..n) as the URL parser reads it: leading and trailing C0
 * controls and spaces stripped, ASCII tab and newline removed anywhere (URL
 * Standard, basic URL parser, first steps); NULL when nothing is left.
 */
static char *url_clean(const char *s, size_t n)
{
	char *u;
	size_t k = 0;

	while (n > 0 && (unsigned char)s[0] <= 0x20) {
		s++;
		n--;
	}
	while (n > 0 && (unsigned char)s[n - 1] <= 0x20)
		n--;
	if (n == 0)
		return NULL;
	u = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		if (s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			u[k++] = s[i];
	u[k] = '\0';
	return u;
}

/* add_url - the cleaned s[0..n) as a link from source; NULL if empty or the list is full */
static struct url_ref *add_url(struct collect *c, const char *s, size_t n, const char *source)
{
	char *u = url_clean(s, n);

	return u ? collect_add(c, u, source) : NULL;
}

/* ---- plain text ---- */

struct cp_range {
	uint32_t lo, hi;
};

/* non-ASCII code points that end a URL in running text: spaces, quotes, CJK and full-width
 * brackets and punctuation, invisible and bidirectional controls */
static const struct cp_range url_stops[] = {
    {0x80, 0xa0},     {0xab, 0xab},     {0xbb, 0xbb},     {0x2000, 0x200f}, {0x2018, 0x201f},
    {0x2026, 0x202f}, {0x205f, 0x2064}, {0x3000, 0x3001}, {0x3008, 0x3011}, {0x3014, 0x301f},
    {0xfeff, 0xfeff}, {0xff01, 0xff02}, {0xff08, 0xff09}, {0xff0c, 0xff0c}, {0xff1a, 0xff1f},
    {0xff3b, 0xff3b}, {0xff3d, 0xff3d}, {0xff5b, 0xff5b}, {0xff5d, 0xff5d}, {0xff62, 0xff64},
};

/* url_stop - does code point cp (-1: an invalid byte) end a URL in running text? */
static bool url_stop(long cp)
{
	if (cp < 0 || cp <= 0x20 || cp == 0x7f)
		return true;
	if (cp < 0x80)
		return cp == '<' || cp == '>' || cp == '"' || cp == '`';
	for (size_t i = 0; i < sizeof(url_stops) / sizeof(url_stops[0]); i++)
		if ((uint32_t)cp >= url_stops[i].lo && (uint32_t)cp <= url_stops[i].hi)
			return true;
	return false;
}

/* url_run - where the URL starting at s[i] ends, at the first stop */
static size_t url_run(const char *s, size_t n, size_t i)
{
	size_t len;

	while (i < n) {
		if (url_stop(text_utf8_next((const unsigned char *)s + i, n - i, &len)))
			break;
		i += len;
	}
	return i;
}

/* full_stop_len - length of the ideographic, full-width or half-width full stop ending s[..end) */
static size_t full_stop_len(const char *s, size_t start, size_t end)
{
	static const char *const stops[] = {"\xe3\x80\x82", "\xef\xbc\x8e", "\xef\xbd\xa1"};

	if (end - start < 3)
		return 0;
	for (size_t i = 0; i < 3; i++)
		if (memcmp(s + end - 3, stops[i], 3) == 0)
			return 3;
	return 0;
}

struct pairs {
	size_t open[4], close[4]; /* ( [ { and, in open[3], quotes */
	bool quoted;              /* the URL follows a quote, which its last one closes */
};

static const char pair_open[] = "([{", pair_close[] = ")]}";

static void pairs_count(struct pairs *p, const char *s, size_t start, size_t end)
{
	memset(p, 0, sizeof(*p));
	p->quoted = start > 0 && s[start - 1] == '\'';
	for (size_t i = start; i < end; i++) {
		for (int k = 0; k < 3; k++) {
			p->open[k] += s[i] == pair_open[k];
			p->close[k] += s[i] == pair_close[k];
		}
		p->open[3] += s[i] == '\'';
	}
}

/* trail_len - bytes at the end of s[start..end) that belong to the sentence, not the URL */
static size_t trail_len(const char *s, size_t start, size_t end, struct pairs *p)
{
	char c = s[end - 1];
	const char *k = strchr(pair_close, c);

	if (c && strchr(".,;:!?", c))
		return 1;
	if (c && k && p->close[k - pair_close] > p->open[k - pair_close]) {
		p->close[k - pair_close]--;
		return 1;
	}
	if (c == '\'' && (p->quoted || p->open[3] % 2 == 1)) {
		p->quoted = false;
		p->open[3]--;
		return 1;
	}
	return full_stop_len(s, start, end);
}

/* url_trim - end of the URL s[start..end) once the sentence's punctuation is taken off */
static size_t url_trim(const char *s, size_t start, size_t end)
{
	struct pairs p;
	size_t t;

	pairs_count(&p, s, start, end);
	while (end > start && (t = trail_len(s, start, end, &p)) > 0)
		end -= t;
	return end;
}

static bool is_scheme_char(unsigned char c)
{
	return is_alnum(c) || c == '+' || c == '-' || c == '.';
}

/* scheme_at - the start of the scheme ending at the ':' of "://" at s[colon]; colon if none
 * (RFC 3986, section 3.1: a letter, then letters, digits, '+', '-', '.') */
static size_t scheme_at(const char *s, size_t floor, size_t colon)
{
	size_t i = colon;

	while (i > floor && is_scheme_char((unsigned char)s[i - 1]))
		i--;
	while (i < colon && !is_alpha((unsigned char)s[i]))
		i++;
	return i;
}

struct span {
	size_t start, end, next; /* the URL is s[start..end); scanning resumes at next */
	bool angle;              /* <...>: white space inside is dropped */
};

/* scheme_url - the "scheme://..." URL whose "://" is at s[i], if any */
static bool scheme_url(const char *s, size_t n, size_t floor, size_t i, struct span *sp)
{
	size_t start, end;

	if (s[i] != ':' || i + 3 > n || s[i + 1] != '/' || s[i + 2] != '/')
		return false;
	start = scheme_at(s, floor, i);
	if (start == i || (i - start == 6 && ascii_caseeq(s + start, "mailto", 6)))
		return false;
	end = url_trim(s, start, url_run(s, n, i + 3));
	if (end <= i + 3)
		return false;
	*sp = (struct span){.start = start, .end = end, .next = end};
	return true;
}

/* www_url - the "www." URL starting at s[i], if any; it must start a word */
static bool www_url(const char *s, size_t n, size_t floor, size_t i, struct span *sp)
{
	unsigned char prev = i > floor ? (unsigned char)s[i - 1] : ' ';
	size_t end;

	if (i + 5 > n || !ascii_caseeq(s + i, "www.", 4))
		return false;
	if (is_alnum(prev) || strchr("._-@/:%+", prev))
		return false;
	if (!is_alnum((unsigned char)s[i + 4]) && (unsigned char)s[i + 4] < 0x80)
		return false;
	end = url_trim(s, i, url_run(s, n, i));
	if (end <= i + 4)
		return false;
	*sp = (struct span){.start = i, .end = end, .next = end};
	return true;
}

/* angle_url - "<scheme://...>" or "<URL:scheme://...>" at s[i] (RFC 3986, appendix C) */
static bool angle_url(const char *s, size_t n, size_t i, struct span *sp)
{
	size_t start = i + 1, j, k;

	if (start + 4 <= n && ascii_caseeq(s + start, "url:", 4))
		start += 4;
	for (j = start; j < n && is_scheme_char((unsigned char)s[j]); j++)
		;
	if (j == start || !is_alpha((unsigned char)s[start]) || j + 3 >= n ||
	    memcmp(s + j, "://", 3) != 0)
		return false;
	for (k = j + 3; k < n && k - i < ANGLE_MAX && s[k] != '>'; k++) {
		size_t len;
		long cp = text_utf8_next((const unsigned char *)s + k, n - k, &len);

		if (s[k] == '<' || (url_stop(cp) && !is_ws((unsigned char)s[k])))
			return false;
		k += len - 1;
	}
	if (k >= n || s[k] != '>' || k == j + 3)
		return false;
	*sp = (struct span){.start = start, .end = k, .next = k + 1, .angle = true};
	return true;
}

/* span_string - the URL of sp, with the white space of a folded <URL> dropped */
static char *span_string(const char *s, const struct span *sp)
{
	char *u = xmalloc(sp->end - sp->start + 1);
	size_t k = 0;

	for (size_t i = sp->start; i < sp->end; i++)
		if (!sp->angle || !is_ws((unsigned char)s[i]))
			u[k++] = s[i];
	u[k] = '\0';
	return u;
}

/* text_scan - add the links auto-linked in s[0..n); stops once the list is full */
static void text_scan(struct collect *c, const char *s, size_t n)
{
	size_t floor = 0;
	struct span sp;

	for (size_t i = 0; i < n && !c->full; i++) {
		if ((s[i] == '<' && angle_url(s, n, i, &sp)) || scheme_url(s, n, floor, i, &sp) ||
		    ((s[i] | 0x20) == 'w' && www_url(s, n, floor, i, &sp))) {
			collect_add(c, span_string(s, &sp), "text");
			floor = sp.next;
			i = sp.next - 1;
		}
	}
}

void url_extract_text(const char *text, size_t len, size_t max, struct url_list *out)
{
	struct collect c;

	collect_init(&c, out, max);
	if (len > URL_EXTRACT_MAX_INPUT) {
		len = URL_EXTRACT_MAX_INPUT;
		out->truncated = true;
	}
	text_scan(&c, text, len);
}

/* ---- CSS, srcset and refresh values ---- */

/* css_url - the url( argument starting at s[i]; returns where scanning resumes */
static size_t css_url(struct collect *c, const char *s, size_t n, size_t i)
{
	size_t start, end;

	while (i < n && is_ws((unsigned char)s[i]))
		i++;
	if (i < n && (s[i] == '"' || s[i] == '\'')) {
		const char *q = memchr(s + i + 1, s[i], n - i - 1);

		start = i + 1;
		end = q ? (size_t)(q - s) : n;
	} else {
		start = i;
		for (end = i; end < n && s[end] != ')' && !is_ws((unsigned char)s[end]); end++)
			;
	}
	add_url(c, s + start, end - start, "css");
	return end;
}

/* css_import - the quoted URL of @import (the url() form is found as any url()) */
static size_t css_import(struct collect *c, const char *s, size_t n, size_t i)
{
	const char *q;

	while (i < n && is_ws((unsigned char)s[i]))
		i++;
	if (i >= n || (s[i] != '"' && s[i] != '\''))
		return i;
	q = memchr(s + i + 1, s[i], n - i - 1);
	if (!q)
		return n;
	add_url(c, s + i + 1, (size_t)(q - s) - i - 1, "css");
	return (size_t)(q - s);
}

/* css_scan - url(...) and @import "..." in CSS text: a plain scan, without CSS escapes */
static void css_scan(struct collect *c, const char *s, size_t n)
{
	for (size_t i = 0; i + 4 <= n && !c->full; i++) {
		unsigned char prev = i ? (unsigned char)s[i - 1] : ' ';

		if (ascii_caseeq(s + i, "url(", 4) && !is_alnum(prev) && prev != '-' &&
		    prev != '_' && prev != '\\')
			i = css_url(c, s, n, i + 4);
		else if (s[i] == '@' && i + 7 <= n && ascii_caseeq(s + i, "@import", 7))
			i = css_import(c, s, n, i + 7) - 1;
	}
}

/* srcset_descriptors - skip a candidate's descriptors, to just past the comma ending it
 * (HTML, "parse a srcset attribute": commas inside parentheses do not end it) */
static size_t srcset_descriptors(const char *s, size_t n, size_t i)
{
	bool paren = false;

	for (; i < n; i++) {
		if (s[i] == '(')
			paren = true;
		else if (s[i] == ')')
			paren = false;
		else if (s[i] == ',' && !paren)
			return i + 1;
	}
	return n;
}

/* srcset_scan - every candidate URL of a srcset value */
static void srcset_scan(struct collect *c, const char *s)
{
	size_t n = strlen(s), i = 0;

	while (i < n) {
		size_t start, end;

		while (i < n && (is_ws((unsigned char)s[i]) || s[i] == ','))
			i++;
		for (start = i; i < n && !is_ws((unsigned char)s[i]); i++)
			;
		end = i;
		if (end > start && s[end - 1] == ',') {
			while (end > start && s[end - 1] == ',')
				end--;
		} else {
			i = srcset_descriptors(s, n, i);
		}
		if (end > start)
			add_url(c, s + start, end - start, "srcset");
	}
}

static const char *skip_ws(const char *s)
{
	while (is_ws((unsigned char)*s))
		s++;
	return s;
}

/* refresh_url - the URL in a refresh value, or NULL (HTML, "shared declarative refresh
 * steps"); the result points into s and may be cut at *len */
static const char *refresh_url(const char *s, size_t *len)
{
	const char *p = skip_ws(s), *q;
	char quote = 0;
	size_t k = 0;

	if (!(*p >= '0' && *p <= '9') && *p != '.')
		return NULL;
	while ((*p >= '0' && *p <= '9') || *p == '.')
		p++;
	if (*p && *p != ';' && *p != ',' && !is_ws((unsigned char)*p))
		return NULL;
	p = skip_ws(p);
	if (*p == ';' || *p == ',')
		p = skip_ws(p + 1);
	if (!*p)
		return NULL;
	/* "url" "=" is optional, and a partial match stops where it failed */
	while (k < 3 && lower((unsigned char)p[k]) == "url"[k])
		k++;
	p += k;
	if (k == 3) {
		q = skip_ws(p);
		p = *q == '=' ? skip_ws(q + 1) : q;
	}
	if (*p == '"' || *p == '\'')
		quote = *p++;
	q = quote ? strchr(p, quote) : NULL;
	*len = q ? (size_t)(q - p) : strlen(p);
	return p;
}

/* ---- the governor ---- */

/*
 * gumbo 0.10.1 has no depth or attribute limit, and its HTML5 tree building
 * scans the stack of open elements for most tags (the "has an element in
 * scope" checks, the adoption agency) and a tag's attributes for each new
 * one, so deep nesting and tags with many attributes are quadratic: 2 MB of
 * nested <div>s takes minutes. The governor is a linear pass that rewrites
 * the HTML before gumbo sees it:
 *   - it tokenizes it as the HTML5 tokenizer does (13.2.5), so its tags,
 *     comments and raw text are gumbo's;
 *   - a tag keeps its first GOV_MAX_ATTRS attributes and, past them, only
 *     the first of each name the walk reads;
 *   - it follows the stack of open elements with a model that pops only
 *     what gumbo surely pops, and once the model is GOV_WINDOW_DEPTH deep it
 *     opens a <template> window, closed and reopened every GOV_WINDOW_TAGS
 *     start tags: </template> pops all opened since, however the model errs,
 *     and every scope check stops at a template (Blink flattens past 512);
 *   - raw text (script, style, textarea, title, xmp, iframe, noembed,
 *     noframes) is raw only in some insertion modes: inside <select> most
 *     are ignored, in SVG and MathML they are plain elements. Where the
 *     model has such an element open the governor reads the content as
 *     markup and, where the raw text would end, closes whatever it is in
 *     (a quote, a tag, a comment), so both readings agree from there on;
 *   - "<![CDATA[" becomes "<!-[CDATA[": a bogus comment in SVG too, as in
 *     HTML, or gumbo's CDATA sections would part from our tokenizer.
 * Sane HTML comes out unchanged; in hostile HTML a window may cut an <a>'s
 * text short, and markup gumbo would take for raw text may yield links.
 */
#define GOV_MAX_ATTRS    64
#define GOV_WINDOW_DEPTH 128
#define GOV_WINDOW_TAGS  256
#define GOV_MODEL_MAX    (GOV_WINDOW_DEPTH + GOV_WINDOW_TAGS + 8)
#define GOV_PASS_MAX     8 /* implied end tags looked through for an end tag's element */
#define GOV_RESYNC_MAX   8

enum gov_flag {
	GF_VOID = 1 << 0,    /* no end tag, never on the stack (in HTML content) */
	GF_ONCE = 1 << 1,    /* html, head, body: made once, never popped */
	GF_RAW = 1 << 2,     /* its content is text up to its end tag */
	GF_SPECIAL = 1 << 3, /* HTML5 "special" category */
	GF_IMPLIED = 1 << 4, /* closed by "generate implied end tags" */
	GF_PCLOSE = 1 << 5,  /* its start tag closes an open <p> */
	GF_FOREIGN = 1 << 6, /* svg, math: raw text elements are plain ones inside */
	GF_SELECT = 1 << 7,  /* select: raw text elements are ignored inside */
};

#define T(x) [GUMBO_TAG_##x]
#define V    GF_VOID
#define S    GF_SPECIAL
#define PS   (GF_SPECIAL | GF_PCLOSE)
/* clang-format off */
static const uint8_t gov_flags[GUMBO_TAG_LAST] = {
	T(HTML) = GF_ONCE, T(HEAD) = GF_ONCE, T(BODY) = GF_ONCE,
	T(AREA) = V, T(BASE) = V, T(BASEFONT) = V, T(BGSOUND) = V, T(BR) = V, T(COL) = V,
	T(EMBED) = V, T(FRAME) = V, T(HR) = V, T(IMG) = V, T(INPUT) = V, T(KEYGEN) = V,
	T(LINK) = V, T(META) = V, T(PARAM) = V, T(SOURCE) = V, T(TRACK) = V, T(WBR) = V,
	T(SCRIPT) = GF_RAW, T(STYLE) = GF_RAW, T(TEXTAREA) = GF_RAW, T(TITLE) = GF_RAW,
	T(IFRAME) = GF_RAW, T(NOEMBED) = GF_RAW, T(NOFRAMES) = GF_RAW,
	T(XMP) = GF_RAW | GF_PCLOSE, T(PLAINTEXT) = GF_RAW | GF_PCLOSE,
	T(P) = PS | GF_IMPLIED, T(LI) = PS | GF_IMPLIED, T(DD) = PS | GF_IMPLIED,
	T(DT) = PS | GF_IMPLIED, T(OPTION) = GF_IMPLIED, T(OPTGROUP) = GF_IMPLIED,
	T(RB) = GF_IMPLIED, T(RP) = GF_IMPLIED, T(RT) = GF_IMPLIED, T(RTC) = GF_IMPLIED,
	T(ADDRESS) = PS, T(ARTICLE) = PS, T(ASIDE) = PS, T(BLOCKQUOTE) = PS, T(CENTER) = PS,
	T(DETAILS) = PS, T(DIR) = PS, T(DIV) = PS, T(DL) = PS, T(FIELDSET) = PS,
	T(FIGCAPTION) = PS, T(FIGURE) = PS, T(FOOTER) = PS, T(HEADER) = PS, T(HGROUP) = PS,
	T(MAIN) = PS, T(MENU) = PS, T(NAV) = PS, T(OL) = PS, T(SECTION) = PS,
	T(SUMMARY) = PS, T(UL) = PS, T(H1) = PS, T(H2) = PS, T(H3) = PS, T(H4) = PS,
	T(H5) = PS, T(H6) = PS, T(PRE) = PS, T(LISTING) = PS, T(FORM) = PS,
	T(APPLET) = S, T(BUTTON) = S, T(CAPTION) = S, T(COLGROUP) = S, T(FRAMESET) = S,
	T(MARQUEE) = S, T(NOSCRIPT) = S, T(OBJECT) = S, T(TABLE) = S, T(TBODY) = S,
	T(TD) = S, T(TEMPLATE) = S, T(TFOOT) = S, T(TH) = S, T(THEAD) = S, T(TR) = S,
	T(SELECT) = S | GF_SELECT, T(SVG) = GF_FOREIGN, T(MATH) = GF_FOREIGN,
};
/* clang-format on */
#undef T
#undef V
#undef S
#undef PS

/* one open element in the model; unknown names are told apart by a hash */
struct gov_elem {
	GumboTag tag;
	uint32_t hash;
	bool mark; /* a <template> the governor opened */
};

struct gov {
	const char *in;
	size_t len, pos;
	struct buf *out;
	struct gov_elem stack[GOV_MODEL_MAX];
	size_t depth;
	size_t window;                 /* 1 + the stack index of the open window's mark; 0: none */
	size_t window_tags;            /* start tags since the window opened */
	size_t foreign;                /* svg and math elements in the model */
	size_t select;                 /* select elements in the model */
	size_t resync[GOV_RESYNC_MAX]; /* where raw text that may not be raw would end */
	size_t nresync;
	size_t raw_from[GUMBO_TAG_LAST], raw_next[GUMBO_TAG_LAST]; /* raw_end's memory */
	size_t script_budget; /* bytes script_end may still scan for markup reading */
};

struct gov_tag {
	bool end, done; /* an end tag; ended by '>' (not by the end of the input) */
	enum tag_state_e {
		TS_NAME,
		TS_BEFORE_ATTR,
		TS_ATTR_NAME,
		TS_AFTER_ATTR_NAME,
		TS_BEFORE_VALUE,
		TS_VALUE_DQ,
		TS_VALUE_SQ,
		TS_VALUE_UQ,
		TS_AFTER_VALUE,
		TS_SELF_CLOSING,
		TS_DONE,
	} state;
	GumboTag tag;
	uint32_t hash;
	char name[16]; /* lowercase, cut */
	size_t name_len;
	struct buf bytes; /* the tag as it goes to gumbo */
};

static unsigned flags_of(GumboTag t)
{
	return t < GUMBO_TAG_LAST ? gov_flags[t] : 0;
}

/* gov_limit - where scanning must stop: the next resync point, or the end */
static size_t gov_limit(const struct gov *g)
{
	return g->nresync ? g->resync[0] : g->len;
}

static void gov_add_resync(struct gov *g, size_t at)
{
	size_t i = g->nresync;

	if (at >= g->len || i == GOV_RESYNC_MAX)
		return;
	for (; i > 0 && g->resync[i - 1] > at; i--)
		g->resync[i] = g->resync[i - 1];
	g->resync[i] = at;
	g->nresync++;
}

static bool elem_is(const struct gov_elem *e, const struct gov_tag *t)
{
	return e->tag == t->tag && (t->tag != GUMBO_TAG_UNKNOWN || e->hash == t->hash);
}

static bool is_heading(GumboTag t)
{
	return t >= GUMBO_TAG_H1 && t <= GUMBO_TAG_H6;
}

static bool is_cell(GumboTag t)
{
	return t == GUMBO_TAG_TD || t == GUMBO_TAG_TH;
}

static bool is_section(GumboTag t)
{
	return t == GUMBO_TAG_TBODY || t == GUMBO_TAG_THEAD || t == GUMBO_TAG_TFOOT;
}

/* closes_top - does a start tag t close the current element top, as HTML5 tree building
 * surely does when top is the current node? (Popping too little is safe, too much not.) */
static bool closes_top(GumboTag t, GumboTag top)
{
	if (top == GUMBO_TAG_P)
		return flags_of(t) & GF_PCLOSE;
	if (top == t)
		return t == GUMBO_TAG_LI || t == GUMBO_TAG_OPTION || t == GUMBO_TAG_A ||
		       t == GUMBO_TAG_NOBR || t == GUMBO_TAG_BUTTON || t == GUMBO_TAG_SELECT ||
		       is_cell(t) || is_section(t) || t == GUMBO_TAG_TR;
	if (is_cell(top))
		return is_cell(t) || t == GUMBO_TAG_TR || is_section(t);
	if (top == GUMBO_TAG_TR || is_section(top))
		return is_section(t);
	if (top == GUMBO_TAG_DD || top == GUMBO_TAG_DT)
		return t == GUMBO_TAG_DD || t == GUMBO_TAG_DT;
	if (top == GUMBO_TAG_OPTION)
		return t == GUMBO_TAG_OPTGROUP;
	return is_heading(top) && is_heading(t);
}

static void gov_pop(struct gov *g)
{
	unsigned f = flags_of(g->stack[--g->depth].tag);

	g->foreign -= (f & GF_FOREIGN) != 0;
	g->select -= (f & GF_SELECT) != 0;
	if (g->window == g->depth + 1)
		g->window = 0;
}

static void gov_push(struct gov *g, GumboTag tag, uint32_t hash, bool mark)
{
	unsigned f = flags_of(tag);

	g->stack[g->depth++] = (struct gov_elem){.tag = tag, .hash = hash, .mark = mark};
	g->foreign += (f & GF_FOREIGN) != 0;
	g->select += (f & GF_SELECT) != 0;
}

/* gov_window - before a start tag: open a window, or close and reopen a full one */
static void gov_window(struct gov *g)
{
	if (g->window && (g->window_tags >= GOV_WINDOW_TAGS || g->depth == GOV_MODEL_MAX)) {
		while (g->depth > g->window)
			gov_pop(g);
		buf_append_str(g->out, "</template><template>");
		g->window_tags = 0;
	} else if (!g->window && g->depth >= GOV_WINDOW_DEPTH) {
		buf_append_str(g->out, "<template>");
		gov_push(g, GUMBO_TAG_TEMPLATE, 0, true);
		g->window = g->depth;
		g->window_tags = 0;
	}
}

/* gov_start - the model after a start tag of an element that stays open */
static void gov_start(struct gov *g, const struct gov_tag *t)
{
	while (g->depth > 0 && !g->stack[g->depth - 1].mark &&
	       closes_top(t->tag, g->stack[g->depth - 1].tag))
		gov_pop(g);
	gov_window(g);
	gov_push(g, t->tag, t->hash, false);
	g->window_tags++;
}

/* passable - may an end tag for t close e on its way, as "generate implied end tags" does?
 * For a special element's end tag yes; otherwise a special e stops it (the adoption
 * agency's furthest block, or "any other end tag" meeting a special element). */
static bool passable(const struct gov_elem *e, const struct gov_tag *t)
{
	unsigned f = flags_of(e->tag);

	if (e->mark || !(f & GF_IMPLIED))
		return false;
	return (flags_of(t->tag) & GF_SPECIAL) || !(f & GF_SPECIAL);
}

/* gov_end - the model after an end tag: pop its element if it is the current node, or just
 * under implied ones; a heading's end tag closes any heading */
static void gov_end(struct gov *g, const struct gov_tag *t)
{
	size_t i = g->depth;

	if (g->window && g->depth == g->window && g->depth >= 2 &&
	    elem_is(&g->stack[g->depth - 2], t)) {
		buf_append_str(g->out, "</template>"); /* the window is empty and t leaves it */
		gov_pop(g);
		i = g->depth;
	}
	for (size_t k = 0; k < GOV_PASS_MAX && i > 0; k++, i--) {
		const struct gov_elem *e = &g->stack[i - 1];

		if (elem_is(e, t) || (is_heading(t->tag) && is_heading(e->tag) && !e->mark)) {
			while (g->depth >= i)
				gov_pop(g);
			return;
		}
		if (!passable(e, t))
			return;
	}
}

/* ---- the governor's tokenizer ---- */

/* attribute names the walk reads */
static const char *const walk_attr_names[] = {
    "href", "src",   "action", "formaction", "srcset",  "poster",     "background",
    "data", "style", "type",   "alt",        "content", "http-equiv",
};

struct attr_state {
	size_t count;
	unsigned seen; /* walk_attr_names already met */
	size_t start;  /* where the open attribute's name begins; 0: none open */
	size_t end;    /* just past its last name or value byte */
	char name[16];
	size_t name_len;
	size_t copied; /* input copied to the tag's bytes so far */
};

/* attr_keep - does gumbo get this attribute? All up to the cap; past it, the first of a
 * name the walk reads (a later duplicate is dropped by the tokenizer anyway). SVG's
 * xlink:href is matched as "href" by gumbo, and so is kept as one here. */
static bool attr_keep(struct attr_state *a)
{
	size_t n = sizeof(walk_attr_names) / sizeof(walk_attr_names[0]);
	bool keep = ++a->count <= GOV_MAX_ATTRS;
	const char *name = a->name;
	size_t len = a->name_len;

	if (len == 10 && memcmp(name, "xlink:href", 10) == 0) {
		name += 6;
		len = 4;
	}
	for (size_t i = 0; i < n; i++) {
		if (len != strlen(walk_attr_names[i]) || memcmp(name, walk_attr_names[i], len))
			continue;
		keep = keep || !(a->seen & 1u << i);
		a->seen |= 1u << i;
	}
	return keep;
}

/* attr_close - end the open attribute, copying it (and what precedes it) unless dropped */
static void attr_close(struct gov *g, struct gov_tag *t, struct attr_state *a)
{
	if (!a->start)
		return;
	buf_append(&t->bytes, g->in + a->copied, a->start - a->copied);
	if (attr_keep(a))
		buf_append(&t->bytes, g->in + a->start, a->end - a->start);
	a->copied = a->end;
	a->start = 0;
}

static void attr_open(struct gov *g, struct gov_tag *t, struct attr_state *a, size_t i)
{
	attr_close(g, t, a);
	a->start = i;
	a->end = i;
	a->name_len = 0;
}

static void attr_name_char(struct attr_state *a, size_t i, unsigned char c)
{
	if (a->name_len < sizeof(a->name))
		a->name[a->name_len] = (char)lower(c);
	a->name_len++;
	a->end = i + 1;
}

static void name_char(struct gov_tag *t, unsigned char c)
{
	c = lower(c);
	if (t->name_len < sizeof(t->name))
		t->name[t->name_len] = (char)c;
	t->name_len++;
	t->hash = (t->hash ^ c) * 16777619u; /* FNV-1a */
}

/* tag_step_name - the tag name state and the states between attributes (HTML5 13.2.5.8,
 * 32-35); returns the next state */
static enum tag_state_e tag_step_name(struct gov *g, struct gov_tag *t, struct attr_state *a,
                                      enum tag_state_e s, size_t i)
{
	unsigned char c = (unsigned char)g->in[i];

	if (c == '>')
		return TS_DONE;
	if (is_ws(c))
		return s == TS_NAME || s == TS_ATTR_NAME ? s + 1 : s;
	if (c == '/')
		return TS_SELF_CLOSING;
	if (s == TS_NAME) {
		name_char(t, c);
		return s;
	}
	if (c == '=' && (s == TS_ATTR_NAME || s == TS_AFTER_ATTR_NAME)) {
		a->end = i + 1;
		return TS_BEFORE_VALUE;
	}
	if (s != TS_ATTR_NAME)
		attr_open(g, t, a, i);
	attr_name_char(a, i, c);
	return TS_ATTR_NAME;
}

/* tag_step_value - the attribute value states and those after a value or a '/' (HTML5
 * 13.2.5.36-40); *again asks for the byte to be read again */
static enum tag_state_e tag_step_value(struct gov *g, struct attr_state *a, enum tag_state_e s,
                                       size_t i, bool *again)
{
	unsigned char c = (unsigned char)g->in[i];

	switch (s) {
	case TS_BEFORE_VALUE:
		if (is_ws(c))
			return s;
		if (c == '>')
			return TS_DONE;
		a->end = i + 1;
		return c == '"' ? TS_VALUE_DQ : c == '\'' ? TS_VALUE_SQ : TS_VALUE_UQ;
	case TS_VALUE_DQ:
	case TS_VALUE_SQ:
		a->end = i + 1;
		return c == (s == TS_VALUE_DQ ? '"' : '\'') ? TS_AFTER_VALUE : s;
	case TS_VALUE_UQ:
		if (is_ws(c) || c == '>')
			return c == '>' ? TS_DONE : TS_BEFORE_ATTR;
		a->end = i + 1;
		return s;
	default: /* after a quoted value, or a '/' not followed by '>' */
		if (c == '>' || c == '/' || is_ws(c))
			return c == '>' ? TS_DONE : c == '/' ? TS_SELF_CLOSING : TS_BEFORE_ATTR;
		*again = true;
		return TS_BEFORE_ATTR;
	}
}

/* gov_scan_tag - tokenize the tag at in[pos] into t, its attributes past the cap dropped */
static void gov_scan_tag(struct gov *g, struct gov_tag *t)
{
	struct attr_state a = {.copied = g->pos};
	size_t i = g->pos + (t->end ? 2 : 1), lim = gov_limit(g);

	t->hash = 2166136261u;
	for (t->state = TS_NAME; i < lim && t->state != TS_DONE; i++) {
		bool again = false;
		enum tag_state_e s = t->state;

		if (s <= TS_AFTER_ATTR_NAME || (s == TS_SELF_CLOSING && g->in[i] == '>'))
			t->state = tag_step_name(g, t, &a, s, i);
		else
			t->state = tag_step_value(g, &a, s, i, &again);
		i -= again;
	}
	attr_close(g, t, &a);
	buf_append(&t->bytes, g->in + a.copied, i - a.copied);
	t->done = t->state == TS_DONE;
	t->tag = t->name_len < sizeof(t->name) ? gumbo_tagn_enum(t->name, (unsigned)t->name_len)
	                                       : GUMBO_TAG_UNKNOWN;
	g->pos = i;
}

/* tag_closer - what ends a tag cut at a resync point, from the state it was left in */
static const char *tag_closer(const struct gov_tag *t)
{
	return t->state == TS_VALUE_DQ ? "\">" : t->state == TS_VALUE_SQ ? "'>" : ">";
}

/* end_tag_at - is "</name" followed by white space, '/' or '>' at in[i] (HTML5's
 * "appropriate end tag")? With open, "<name" instead. */
static bool end_tag_at(const struct gov *g, size_t i, size_t lim, const char *name, bool open)
{
	size_t n = strlen(name), at = i + (open ? 1 : 2);
	const char *p = g->in + i;

	if (at + n >= lim || p[0] != '<' || (!open && p[1] != '/'))
		return false;
	p = g->in + at;
	return ascii_caseeq(p, name, n) &&
	       (is_ws((unsigned char)p[n]) || p[n] == '/' || p[n] == '>');
}

/* raw_end - where the raw text of t at in[pos] ends: at its end tag, or len. The search for
 * each name only goes forward, so repeated calls stay linear. */
static size_t raw_end(struct gov *g, const struct gov_tag *t)
{
	size_t i = g->pos;

	if (g->raw_from[t->tag] <= g->pos && g->raw_next[t->tag] >= g->pos)
		return g->raw_next[t->tag];
	while (i < g->len && !end_tag_at(g, i, g->len, t->name, false))
		i++;
	g->raw_from[t->tag] = g->pos;
	g->raw_next[t->tag] = i;
	return i;
}

/* script_end - where a script's text at in[pos] ends, scanning up to lim, or lim: the
 * script data states (HTML5 13.2.5.4-5, 15-32) skip a "</script" after "<!--<script" */
static size_t script_end(const struct gov *g, size_t lim)
{
	enum { DATA, ESCAPED, DOUBLE } st = DATA;
	size_t dashes = 0;

	for (size_t i = g->pos; i < lim; i++) {
		char c = g->in[i];

		if (st == DATA && i + 4 <= lim && memcmp(g->in + i, "<!--", 4) == 0) {
			st = ESCAPED;
			dashes = 2; /* "<!-->" is over at once */
			i += 3;
			continue;
		}
		if (c == '>' && dashes >= 2) {
			st = DATA;
		} else if (st != DOUBLE && end_tag_at(g, i, lim, "script", false)) {
			return i;
		} else if (st != DATA && end_tag_at(g, i, lim, "script", st == ESCAPED)) {
			st = st == ESCAPED ? DOUBLE : ESCAPED;
			i += st == DOUBLE ? 6 : 7;
		}
		dashes = c == '-' ? dashes + 1 : 0;
	}
	return lim;
}

/* gov_raw - copy the raw text after t as it is (no markup in it reaches gumbo) */
static void gov_raw(struct gov *g, const struct gov_tag *t)
{
	size_t lim = gov_limit(g), end = lim;

	if (t->tag == GUMBO_TAG_SCRIPT)
		end = script_end(g, lim);
	else if (t->tag != GUMBO_TAG_PLAINTEXT && raw_end(g, t) < lim)
		end = raw_end(g, t);
	buf_append(g->out, g->in + g->pos, end - g->pos);
	g->pos = end;
	if (end == lim && lim < g->len && t->tag != GUMBO_TAG_PLAINTEXT)
		buf_printf(g->out, "</%s></%s>", t->name, t->name); /* the second for <script> */
}

/* gov_maybe_raw - raw text inside select, SVG or MathML: read as markup, and where the
 * raw reading would end, brought back in step */
static void gov_maybe_raw(struct gov *g, const struct gov_tag *t)
{
	size_t end;

	gov_start(g, t);
	if (t->tag == GUMBO_TAG_PLAINTEXT)
		return;
	if (t->tag == GUMBO_TAG_SCRIPT && g->script_budget > 0) {
		end = script_end(g, g->len);
		g->script_budget -=
		    end - g->pos < g->script_budget ? end - g->pos : g->script_budget;
	} else {
		end = raw_end(g, t);
	}
	gov_add_resync(g, end);
}

/*
 * window_template - inside a window the document's own <template> and </template> become
 * <span> and </span>: its </template> would close the window's template, or ours its.
 */
static void window_template(struct gov_tag *t)
{
	size_t at = t->end ? 2 : 1; /* the name follows "<" or "</" */
	struct buf renamed;

	buf_init(&renamed);
	buf_append(&renamed, t->bytes.data, at);
	buf_append_str(&renamed, "span");
	buf_append(&renamed, t->bytes.data + at + 8, t->bytes.len - at - 8);
	buf_free(&t->bytes);
	t->bytes = renamed;
	t->tag = GUMBO_TAG_SPAN;
}

/* gov_element - a tag: its bytes after what the model asks to insert before it */
static void gov_element(struct gov *g, bool end)
{
	struct gov_tag t = {.end = end};
	bool maybe_raw;
	unsigned f;

	buf_init(&t.bytes);
	gov_scan_tag(g, &t);
	if (t.done && g->window && t.tag == GUMBO_TAG_TEMPLATE)
		window_template(&t);
	f = flags_of(t.tag);
	maybe_raw = (f & GF_RAW) && (g->foreign || g->select);
	if (t.done && end)
		gov_end(g, &t);
	else if (t.done && !maybe_raw && !(f & (GF_ONCE | GF_RAW)) &&
	         (!(f & GF_VOID) || g->foreign))
		gov_start(g, &t);
	buf_append(g->out, t.bytes.data, t.bytes.len);
	if (!t.done && g->pos < g->len)
		buf_append_str(g->out, tag_closer(&t));
	else if (t.done && !end && maybe_raw)
		gov_maybe_raw(g, &t);
	else if (t.done && !end && (f & GF_RAW))
		gov_raw(g, &t);
	buf_free(&t.bytes);
}

/* comment_end - just past the comment opened by "<!--" at in[pos], or lim (HTML5
 * 13.2.5.43-52: "<!-->", "<!--->", "-->" and "--!>" end it); *found says which */
static size_t comment_end(const struct gov *g, size_t lim, bool *found)
{
	const char *p = g->in + g->pos + 4, *e = g->in + lim;

	*found = true;
	if (p < e && *p == '>')
		return (size_t)(p + 1 - g->in);
	if (p + 1 < e && p[0] == '-' && p[1] == '>')
		return (size_t)(p + 2 - g->in);
	for (size_t dashes = 0; p < e; p++) {
		if (*p == '>' && dashes >= 2)
			return (size_t)(p + 1 - g->in);
		if (*p == '!' && dashes >= 2 && p + 1 < e && p[1] == '>')
			return (size_t)(p + 2 - g->in);
		dashes = *p == '-' ? dashes + 1 : 0;
	}
	*found = false;
	return lim;
}

/* gov_copy_to - copy the input up to just past the first '>' from in[from] (a bogus
 * comment or a doctype), closing it if a resync point cuts it */
static void gov_copy_to(struct gov *g, size_t from)
{
	size_t lim = gov_limit(g);
	const char *gt = from < lim ? memchr(g->in + from, '>', lim - from) : NULL;
	size_t end = gt ? (size_t)(gt - g->in) + 1 : lim;

	buf_append(g->out, g->in + g->pos, end - g->pos);
	g->pos = end;
	if (!gt && lim < g->len)
		buf_append_char(g->out, '>');
}

/* gov_markup - "<!" and "<?": a comment, a doctype or a bogus comment, copied as it is */
static void gov_markup(struct gov *g)
{
	const char *p = g->in + g->pos;
	size_t n = gov_limit(g) - g->pos, end;
	bool found;

	if (n >= 4 && memcmp(p, "<!--", 4) == 0) {
		end = comment_end(g, gov_limit(g), &found);
		buf_append(g->out, p, end - g->pos);
		g->pos = end;
		if (!found && end < g->len)
			buf_append_str(g->out, "-->");
		return;
	}
	if (n >= 9 && memcmp(p, "<![CDATA[", 9) == 0) {
		buf_append_str(g->out, "<!-");
		g->pos += 2;
	}
	gov_copy_to(g, g->pos + 2);
}

/* gov_lt - what starts at a '<' (HTML5 13.2.5.6-7, tag open and end tag open) */
static void gov_lt(struct gov *g)
{
	const char *p = g->in + g->pos;
	size_t n = gov_limit(g) - g->pos;

	if (n >= 2 && is_alpha((unsigned char)p[1])) {
		gov_element(g, false);
	} else if (n >= 3 && p[1] == '/' && is_alpha((unsigned char)p[2])) {
		gov_element(g, true);
	} else if (n >= 2 && p[1] == '/' && (n < 3 || p[2] != '>')) {
		gov_copy_to(g, g->pos + 2);
	} else if (n >= 2 && (p[1] == '!' || p[1] == '?')) {
		gov_markup(g);
	} else {
		buf_append(g->out, p, n >= 3 && p[1] == '/' ? 3 : 1); /* "<", or "</>" */
		g->pos += n >= 3 && p[1] == '/' ? 3 : 1;
	}
}

/* gov_run - html[0..len) rewritten into out, ready for gumbo */
static void gov_run(const char *html, size_t len, struct buf *out)
{
	struct gov *g = xcalloc(1, sizeof(*g));

	g->in = html;
	g->len = len;
	g->out = out;
	g->script_budget = 2 * len;
	while (g->pos < g->len) {
		size_t lim = gov_limit(g);
		const char *lt = memchr(g->in + g->pos, '<', lim - g->pos);
		size_t text = lt ? (size_t)(lt - g->in) - g->pos : lim - g->pos;

		buf_append(out, g->in + g->pos, text);
		g->pos += text;
		if (lt)
			gov_lt(g);
		while (g->nresync && g->resync[0] <= g->pos)
			memmove(g->resync, g->resync + 1, --g->nresync * sizeof(g->resync[0]));
	}
	free(g);
}

/* ---- the walk over gumbo's tree ---- */

struct link_attr {
	GumboTag tag; /* GUMBO_TAG_LAST: any element */
	const char *name;
	const char *source;
};

static const struct link_attr link_attrs[] = {
    {GUMBO_TAG_LINK, "href", "href"},
    {GUMBO_TAG_IMAGE, "href", "href"}, /* SVG <image>, href or xlink:href */
    {GUMBO_TAG_IMG, "src", "src"},
    {GUMBO_TAG_SCRIPT, "src", "src"},
    {GUMBO_TAG_IFRAME, "src", "src"},
    {GUMBO_TAG_FRAME, "src", "src"},
    {GUMBO_TAG_EMBED, "src", "src"},
    {GUMBO_TAG_VIDEO, "src", "src"},
    {GUMBO_TAG_AUDIO, "src", "src"},
    {GUMBO_TAG_SOURCE, "src", "src"},
    {GUMBO_TAG_INPUT, "src", "src"}, /* only type=image fetches it */
    {GUMBO_TAG_FORM, "action", "action"},
    {GUMBO_TAG_BUTTON, "formaction", "formaction"},
    {GUMBO_TAG_INPUT, "formaction", "formaction"},
    {GUMBO_TAG_IMG, "srcset", "srcset"},
    {GUMBO_TAG_SOURCE, "srcset", "srcset"},
    {GUMBO_TAG_VIDEO, "poster", "poster"},
    {GUMBO_TAG_OBJECT, "data", "data"},
    {GUMBO_TAG_LAST, "background", "background"},
};

/* one open anchor's visible text, collapsed as it comes */
struct anchor {
	struct buf text;
	bool space; /* white space seen since the last word */
	bool full;  /* cut at URL_EXTRACT_TEXT_MAX */
	size_t ref; /* its item in the list */
};

struct frame {
	GumboNode *node;
	unsigned child;       /* the next child to visit */
	struct anchor *owned; /* the anchor this element opened */
	struct anchor *text;  /* where this subtree's text goes, or NULL */
	bool in_link;         /* inside an <a>: its href covers the text */
	bool quiet;           /* text not shown (script, title) */
	bool css;             /* <style> */
};

struct walk {
	struct collect *c;
	char *base;     /* the first <base href>, cleaned */
	bool base_seen; /* there was one, maybe empty */
	struct frame *stack;
	size_t depth, cap;
};

/* text_collapse - append s to a's text, white space runs as one space, cut at
 * URL_EXTRACT_TEXT_MAX on a character boundary */
static void text_collapse(struct anchor *a, const char *s, size_t n)
{
	size_t len;

	for (size_t i = 0; i < n && !a->full; i += len) {
		len = 1;
		if (is_ws((unsigned char)s[i])) {
			a->space = a->space || a->text.len > 0;
			continue;
		}
		text_utf8_next((const unsigned char *)s + i, n - i, &len);
		a->full = a->text.len + a->space + len > URL_EXTRACT_TEXT_MAX;
		if (a->full)
			return;
		if (a->space)
			buf_append_char(&a->text, ' ');
		a->space = false;
		buf_append(&a->text, s + i, len);
	}
}

/* attr_value - the value of attribute name (any namespace, so SVG's xlink:href counts) */
static const char *attr_value(const GumboElement *e, const char *name)
{
	const GumboAttribute *a = gumbo_get_attribute(&e->attributes, name);

	return a ? a->value : NULL;
}

static bool value_is(const char *v, const char *word)
{
	size_t n = strlen(word);

	return v && strlen(v) == n && ascii_caseeq(v, word, n);
}

/* attr_links - the links in one attribute of e (the href of <a> and <area> aside) */
static void attr_links(struct walk *w, const GumboElement *e, const GumboAttribute *a)
{
	for (size_t i = 0; i < sizeof(link_attrs) / sizeof(link_attrs[0]); i++) {
		const struct link_attr *l = &link_attrs[i];

		if ((l->tag != e->tag && l->tag != GUMBO_TAG_LAST) || strcmp(l->name, a->name) != 0)
			continue;
		if (e->tag == GUMBO_TAG_INPUT && strcmp(l->name, "src") == 0 &&
		    !value_is(attr_value(e, "type"), "image"))
			continue;
		if (strcmp(l->name, "srcset") == 0)
			srcset_scan(w->c, a->value);
		else
			add_url(w->c, a->value, strlen(a->value), l->source);
	}
	if (strcmp(a->name, "style") == 0)
		css_scan(w->c, a->value, strlen(a->value));
}

/* collapsed - s with white space collapsed and cut, as an anchor's text is */
static char *collapsed(const char *s)
{
	struct anchor a = {.space = false};

	buf_init(&a.text);
	if (s)
		text_collapse(&a, s, strlen(s));
	return buf_steal(&a.text);
}

/* open_anchor - an <a href>: its link, and the anchor its text goes to. With an empty href
 * there is no link, and the text is read as any text. */
static void open_anchor(struct walk *w, struct frame *f, const char *href)
{
	struct url_ref *r = add_url(w->c, href, strlen(href), "href");

	f->in_link = f->in_link || r || w->c->full;
	if (!r)
		return;
	f->owned = xcalloc(1, sizeof(*f->owned));
	buf_init(&f->owned->text);
	f->owned->ref = (size_t)(r - w->c->list->items);
	f->text = f->owned;
}

/* close_anchor - the collapsed text of the anchor f opened goes to its item */
static void close_anchor(struct walk *w, struct frame *f)
{
	w->c->list->items[f->owned->ref].text = buf_steal(&f->owned->text);
	free(f->owned);
	f->owned = NULL;
}

/* element_special - what an element is besides its plain link attributes */
static void element_special(struct walk *w, struct frame *f, const GumboElement *e)
{
	struct url_ref *r;
	const char *v;
	size_t len;

	switch (e->tag) {
	case GUMBO_TAG_A:
		if ((v = attr_value(e, "href")))
			open_anchor(w, f, v);
		break;
	case GUMBO_TAG_AREA: /* no content: its alt is its text */
		if ((v = attr_value(e, "href")) && (r = add_url(w->c, v, strlen(v), "href")))
			r->text = collapsed(attr_value(e, "alt"));
		break;
	case GUMBO_TAG_BASE: /* only the first with an href counts, even an empty one */
		if (!w->base_seen && (v = attr_value(e, "href"))) {
			w->base = url_clean(v, strlen(v));
			w->base_seen = true;
		}
		break;
	case GUMBO_TAG_META:
		if (value_is(attr_value(e, "http-equiv"), "refresh") &&
		    (v = attr_value(e, "content")) && (v = refresh_url(v, &len)))
			add_url(w->c, v, len, "meta-refresh");
		break;
	case GUMBO_TAG_STYLE:
		f->css = true;
		break;
	case GUMBO_TAG_SCRIPT:
	case GUMBO_TAG_TITLE:
		f->quiet = true;
		break;
	default:
		break;
	}
}

/* visit_element - the links of element f->node, before its children */
static void visit_element(struct walk *w, struct frame *f)
{
	const GumboElement *e = &f->node->v.element;

	element_special(w, f, e);
	for (unsigned i = 0; i < e->attributes.length; i++)
		attr_links(w, e, e->attributes.data[i]);
}

/* visit_text - a text node: CSS in <style>, the anchor's text, or bare URLs */
static void visit_text(struct walk *w, const struct frame *f, const GumboNode *node)
{
	const char *s = node->v.text.text;
	size_t n = strlen(s);

	if (f->css)
		css_scan(w->c, s, n);
	else if (f->quiet)
		return;
	else if (f->text)
		text_collapse(f->text, s, n);
	else if (!f->in_link && node->type != GUMBO_NODE_WHITESPACE && !w->c->full)
		text_scan(w->c, s, n);
}

/* walk_push - enter element node, which inherits where its parent's text goes */
static void walk_push(struct walk *w, GumboNode *node, const struct frame *parent)
{
	struct frame f = parent ? *parent : (struct frame){.node = NULL};

	if (w->depth == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->stack = xrealloc(w->stack, w->cap * sizeof(*w->stack));
	}
	f.node = node;
	f.child = 0;
	f.owned = NULL;
	f.css = false;
	w->stack[w->depth] = f;
	visit_element(w, &w->stack[w->depth]);
	w->depth++;
}

/* walk_tree - every element and text node under root, in tree order, without recursion
 * (gumbo's trees can be deep) */
static void walk_tree(struct walk *w, GumboNode *root)
{
	walk_push(w, root, NULL);
	while (w->depth > 0) {
		struct frame *f = &w->stack[w->depth - 1];
		const GumboVector *kids = &f->node->v.element.children;
		GumboNode *kid;

		if (f->child == kids->length) {
			if (f->owned)
				close_anchor(w, f);
			w->depth--;
			continue;
		}
		kid = kids->data[f->child++];
		if (kid->type == GUMBO_NODE_ELEMENT || kid->type == GUMBO_NODE_TEMPLATE)
			walk_push(w, kid, f);
		else if (kid->type == GUMBO_NODE_TEXT || kid->type == GUMBO_NODE_WHITESPACE ||
		         kid->type == GUMBO_NODE_CDATA)
			visit_text(w, f, kid);
	}
}

/* set_base - every link from the HTML is relative to the document's base (HTML, "the frozen
 * base URL" of the first <base href>); text links are absolute */
static void set_base(struct url_list *l, const char *base)
{
	for (size_t i = 0; base && i < l->count; i++)
		if (strcmp(l->items[i].source, "text") != 0)
			l->items[i].base = xstrdup(base);
}

void url_extract_html(const char *html, size_t len, size_t max, struct url_list *out)
{
	/* errors are not used, and recording each copies the whole stack of open elements */
	GumboOptions opts = kGumboDefaultOptions;
	struct collect c;
	struct walk w = {.c = &c};
	struct buf safe;
	GumboOutput *doc;

	collect_init(&c, out, max);
	if (len > URL_EXTRACT_MAX_INPUT) {
		len = URL_EXTRACT_MAX_INPUT;
		out->truncated = true;
	}
	opts.max_errors = 0;
	buf_init(&safe);
	gov_run(html, len, &safe);
	doc = gumbo_parse_with_options(&opts, safe.data ? safe.data : "", safe.len);
	walk_tree(&w, doc->root);
	set_base(out, w.base);
	free(w.base);
	free(w.stack);
	gumbo_destroy_output(&opts, doc);
	buf_free(&safe);
}

void url_list_free(struct url_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		free(l->items[i].url);
		free(l->items[i].base);
		free(l->items[i].text);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}
