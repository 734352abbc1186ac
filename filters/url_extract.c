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
#include "filters/html_chars.h"
#include "filters/html_governor.h"
#include "filters/url_extract.h"

#define ANGLE_MAX 2048 /* bytes between < and > for a folded <URL> */

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
	html_governor_run(html, len, &safe);
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
