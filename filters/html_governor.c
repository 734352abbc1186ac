/*
 * html_governor - a linear pass that makes HTML safe to give gumbo
 * (see html_governor.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gumbo.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "filters/html_chars.h"
#include "filters/html_governor.h"

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

void html_governor_run(const char *html, size_t len, struct buf *out)
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
