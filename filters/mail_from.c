/*
 * mail_from - counting From fields and parsing their mailbox-lists
 * (see mail_from.h). A field's value is unfolded into a buffer, cut into
 * RFC 5322 §3.2 tokens (comments skipped) and read by a small recursive
 * descent over RFC 5322 §3.4 and §4.4. Everything is bounded: one pass per
 * field, no recursion beyond one group level.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "filters/mail_from.h"

enum tok_kind {
	TOK_END,
	TOK_ATOM,    /* a run of atext */
	TOK_ENCODED, /* an atom holding an RFC 2047 encoded-word */
	TOK_QUOTED,  /* a quoted-string */
	TOK_LITERAL, /* a domain-literal */
	TOK_SPECIAL, /* one of < > @ : ; , . */
};

struct tok {
	enum tok_kind kind;
	const char *s;
	size_t len;
};

struct lexer {
	const char *s;
	size_t len;
	size_t pos;
};

/* One field being parsed; error is set once and stops everything. */
struct parser {
	struct lexer lx;
	struct tok cur;
	struct from_info *out;
	const char *error;
	bool too_many;
};

/* The state over the whole header. */
struct scan {
	struct from_info *out;
	bool unparsable;
	bool too_many;
	bool invalid_domain;
};

/* is_wsp - SP or HTAB (RFC 5234 WSP) */
static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* is_atext - RFC 5322 §3.2.3 atext, and UTF-8 bytes (RFC 6532 §3.2) */
static bool is_atext(char ch)
{
	unsigned char c = (unsigned char)ch;

	if (c >= 0x80)
		return true;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* is_ew_token - a character of an RFC 2047 §2 charset or encoding token */
static bool is_ew_token(char ch)
{
	unsigned char c = (unsigned char)ch;

	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\"/[]?.=", c) == NULL;
}

/* fail - note the first syntax error; always false */
static bool fail(struct parser *p, const char *why)
{
	if (p->error == NULL)
		p->error = why;
	return false;
}

/*
 * encoded_word_len - the length of the RFC 2047 §2 encoded-word at s, or 0.
 * The encoded text is taken as §2 allows it anywhere (any printable but
 * '?'), not as §5 narrows it in a phrase: readers decode the wider form,
 * and "@", "<" or "," inside it must not be taken for address syntax.
 */
static size_t encoded_word_len(const char *s, size_t len)
{
	size_t i = 2;

	if (len < 4 || s[0] != '=' || s[1] != '?')
		return 0;
	for (int part = 0; part < 2; part++) {
		size_t start = i;

		while (i < len && is_ew_token(s[i]))
			i++;
		if (i == start || i >= len || s[i] != '?')
			return 0;
		i++;
	}
	while (i < len && s[i] > 0x20 && s[i] < 0x7f && s[i] != '?')
		i++;
	if (i + 1 >= len || s[i] != '?' || s[i + 1] != '=')
		return 0;
	return i + 2;
}

/* skip_comment - past the comment at '(' (nested, with quoted-pairs, RFC 5322 §3.2.2) */
static bool skip_comment(struct parser *p)
{
	struct lexer *lx = &p->lx;
	size_t depth = 0;

	while (lx->pos < lx->len) {
		char c = lx->s[lx->pos++];

		if (c == '\\' && lx->pos < lx->len)
			c = lx->s[lx->pos++];
		else if (c == '(' && ++depth > MAIL_FROM_MAX_DEPTH)
			return fail(p, "comments nested too deep");
		else if (c == ')' && --depth == 0)
			return true;
		/* after unfolding a CR or LF is a bare one: never part of a field */
		if (c == '\0' || c == '\r' || c == '\n')
			return fail(p, "control character in a comment");
	}
	return fail(p, "unterminated comment");
}

/* skip_cfws - past blanks and comments (RFC 5322 §3.2.2 CFWS) */
static bool skip_cfws(struct parser *p)
{
	struct lexer *lx = &p->lx;

	while (lx->pos < lx->len) {
		char c = lx->s[lx->pos];

		if (is_wsp(c))
			lx->pos++;
		else if (c == '(') {
			if (!skip_comment(p))
				return false;
		} else
			break;
	}
	return true;
}

/* lex_delimited - a quoted-string or domain-literal ending at close, with quoted-pairs */
static bool lex_delimited(struct parser *p, char close, enum tok_kind kind)
{
	struct lexer *lx = &p->lx;
	size_t start = lx->pos++;

	while (lx->pos < lx->len) {
		char c = lx->s[lx->pos++];

		if (c == '\\' && lx->pos < lx->len)
			c = lx->s[lx->pos++];
		else if (c == close) {
			p->cur = (struct tok){kind, lx->s + start, lx->pos - start};
			return true;
		}
		if (c == '\0' || c == '\r' || c == '\n')
			return fail(p, "control character in a quoted string");
	}
	return fail(p, kind == TOK_QUOTED ? "unterminated quoted string" : "unterminated literal");
}

/* lex_atom - a run of atext; an encoded-word inside is taken whole and marks it */
static void lex_atom(struct parser *p)
{
	struct lexer *lx = &p->lx;
	size_t start = lx->pos;
	bool encoded = false;

	while (lx->pos < lx->len) {
		size_t n = encoded_word_len(lx->s + lx->pos, lx->len - lx->pos);

		if (n) {
			encoded = true;
			lx->pos += n;
		} else if (is_atext(lx->s[lx->pos])) {
			lx->pos++;
		} else {
			break;
		}
	}
	p->cur = (struct tok){encoded ? TOK_ENCODED : TOK_ATOM, lx->s + start, lx->pos - start};
}

/* advance - the next token into p->cur; false on a syntax error */
static bool advance(struct parser *p)
{
	struct lexer *lx = &p->lx;
	char c;

	if (!skip_cfws(p))
		return false;
	if (lx->pos == lx->len) {
		p->cur = (struct tok){TOK_END, lx->s + lx->pos, 0};
		return true;
	}
	c = lx->s[lx->pos];
	if (c == '"')
		return lex_delimited(p, '"', TOK_QUOTED);
	if (c == '[')
		return lex_delimited(p, ']', TOK_LITERAL);
	if (c != '\0' && strchr("<>@:;,.", c)) {
		p->cur = (struct tok){TOK_SPECIAL, lx->s + lx->pos++, 1};
		return true;
	}
	if (!is_atext(c))
		return fail(p, "unexpected character");
	lex_atom(p);
	return true;
}

/* is_special - the current token is the special character c */
static bool is_special(const struct parser *p, char c)
{
	return p->cur.kind == TOK_SPECIAL && p->cur.s[0] == c;
}

/* is_word - an RFC 5322 word (encoded or not) */
static bool is_word(const struct parser *p)
{
	return p->cur.kind == TOK_ATOM || p->cur.kind == TOK_QUOTED || p->cur.kind == TOK_ENCODED;
}

/* at_list_end - the end of the field, or of the group being read */
static bool at_list_end(const struct parser *p, bool in_group)
{
	return p->cur.kind == TOK_END || (in_group && is_special(p, ';'));
}

/*
 * normalize_domain - the domain as DMARC looks it up (lowercase, no final
 * dot), or NULL when it is no host name DNS can be asked (see mail_from.h)
 */
static char *normalize_domain(const char *d, size_t len)
{
	size_t label = 0;
	bool digits = true;
	char *out;

	if (len && d[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || memchr(d, '.', len) == NULL)
		return NULL;
	out = xstrndup(d, len);
	for (size_t i = 0; i <= len; i++) {
		char c = out[i];

		if (c >= 'A' && c <= 'Z')
			out[i] = c = (char)(c - 'A' + 'a');
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || out[i - 1] == '-')
				break;
			if (c == '\0' && !digits)
				return out;
			label = 0;
			digits = true;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && label > 0)))
			break;
		digits = digits && c >= '0' && c <= '9';
		label++;
	}
	free(out);
	return NULL;
}

/* record_address - one more addr-spec; domain NULL when it had none */
static bool record_address(struct parser *p, const struct buf *domain)
{
	struct from_info *o = p->out;
	char *d;

	if (o->addresses == MAIL_FROM_MAX_ADDRESSES) {
		p->too_many = true;
		return fail(p, "too many addresses");
	}
	o->addresses++;
	d = domain && domain->len ? normalize_domain(domain->data, domain->len) : NULL;
	if (d == NULL)
		return true;
	o->domains = xrealloc(o->domains, (o->ndomains + 1) * sizeof(*o->domains));
	o->domains[o->ndomains++] = d;
	return true;
}

/*
 * What a run of words and dots can be: a display name (any), or a local
 * part (RFC 5322 §4.4 obs-local-part, words and dots, no two words side by
 * side; dots anywhere, leniently). An encoded-word is never a local part.
 */
struct phrase {
	size_t tokens;
	bool encoded;
	bool adjacent_words;
};

/* read_phrase - the words and dots at the current token */
static bool read_phrase(struct parser *p, struct phrase *ph)
{
	bool last_word = false;

	memset(ph, 0, sizeof(*ph));
	while (is_word(p) || is_special(p, '.')) {
		bool word = is_word(p);

		ph->adjacent_words |= word && last_word;
		ph->encoded |= p->cur.kind == TOK_ENCODED;
		last_word = word;
		ph->tokens++;
		if (!advance(p))
			return false;
	}
	return true;
}

/* is_local_part - the phrase read can be a local part */
static bool is_local_part(const struct phrase *ph)
{
	return ph->tokens > 0 && !ph->encoded && !ph->adjacent_words;
}

/*
 * read_domain - after '@': a dot-atom (RFC 5322 §3.4.1; with CFWS around
 * dots, obs-domain, and one trailing dot, leniently) into dom, or a domain
 * literal, which leaves dom empty: no host name to look up
 */
static bool read_domain(struct parser *p, struct buf *dom)
{
	if (p->cur.kind == TOK_LITERAL)
		return advance(p);
	if (p->cur.kind == TOK_ENCODED)
		return fail(p, "encoded-word in a domain");
	if (p->cur.kind != TOK_ATOM)
		return fail(p, "no domain after '@'");
	for (;;) {
		buf_append(dom, p->cur.s, p->cur.len);
		if (!advance(p))
			return false;
		if (!is_special(p, '.'))
			return true;
		buf_append_char(dom, '.');
		if (!advance(p))
			return false;
		if (p->cur.kind != TOK_ATOM)
			return true;
	}
}

/* read_addr_spec - local-part ["@" domain] then record it; no '@' records an address without domain
 */
static bool read_addr_spec(struct parser *p, const struct phrase *local)
{
	struct buf dom;
	bool ok;

	if (!is_local_part(local))
		return fail(p, local->encoded ? "encoded-word in an address" : "no address");
	if (!is_special(p, '@'))
		return record_address(p, NULL);
	buf_init(&dom);
	ok = advance(p) && read_domain(p, &dom) && record_address(p, &dom);
	buf_free(&dom);
	return ok;
}

/* skip_obs_route - "@a.example,@b.example:" before an address (RFC 5322 §4.4 obs-route) */
static bool skip_obs_route(struct parser *p)
{
	while (is_special(p, ',') || is_special(p, '@')) {
		bool at = is_special(p, '@');
		struct buf ignored;
		bool ok;

		if (!advance(p))
			return false;
		if (!at)
			continue;
		buf_init(&ignored);
		ok = read_domain(p, &ignored);
		buf_free(&ignored);
		if (!ok)
			return false;
	}
	if (!is_special(p, ':'))
		return fail(p, "bad route in an angle address");
	return advance(p);
}

/* read_angle_addr - "<" [obs-route] addr-spec ">" (RFC 5322 §3.4); "<>" has no domain */
static bool read_angle_addr(struct parser *p)
{
	struct phrase local;

	if (!advance(p))
		return false;
	if ((is_special(p, '@') || is_special(p, ',')) && !skip_obs_route(p))
		return false;
	if (is_special(p, '>'))
		return record_address(p, NULL) && advance(p);
	if (!read_phrase(p, &local) || !read_addr_spec(p, &local))
		return false;
	if (!is_special(p, '>'))
		return fail(p, "unterminated angle address");
	return advance(p);
}

static bool read_list(struct parser *p, bool in_group);

/* read_group - display-name ":" [group-list] ";" (RFC 5322 §3.4, RFC 6854) */
static bool read_group(struct parser *p)
{
	if (!advance(p) || !read_list(p, true))
		return false;
	if (!is_special(p, ';'))
		return fail(p, "unterminated group");
	return advance(p);
}

/* read_item - one mailbox, or a group when not already in one */
static bool read_item(struct parser *p, bool in_group)
{
	struct phrase ph;

	if (!read_phrase(p, &ph))
		return false;
	if (is_special(p, '<'))
		return read_angle_addr(p);
	if (is_special(p, ':')) {
		if (in_group)
			return fail(p, "group inside a group");
		return read_group(p);
	}
	return read_addr_spec(p, &ph);
}

/* read_list - items separated by commas, empty ones skipped (RFC 5322 §4.4 obs-mbox-list) */
static bool read_list(struct parser *p, bool in_group)
{
	for (;;) {
		while (is_special(p, ','))
			if (!advance(p))
				return false;
		if (at_list_end(p, in_group))
			return true;
		if (!read_item(p, in_group))
			return false;
		if (at_list_end(p, in_group))
			return true;
		if (!is_special(p, ','))
			return fail(p, "expected ',' between addresses");
	}
}

/* parse_value - one From field's unfolded value */
static void parse_value(struct scan *sc, const char *value, size_t len)
{
	struct parser p = {.lx = {value, len, 0}, .out = sc->out};
	size_t before = sc->out->addresses, found = sc->out->ndomains;

	if (!advance(&p) || !read_list(&p, false)) {
		sc->unparsable = true;
		sc->too_many |= p.too_many;
		if (sc->out->syntax_error == NULL)
			sc->out->syntax_error = p.error;
	}
	if (sc->out->addresses - before != sc->out->ndomains - found)
		sc->invalid_domain = true;
}

/* next_line - the line at *pos without its end (LF or CR LF); false past the message */
static bool next_line(const char *msg, size_t len, size_t *pos, const char **line, size_t *n)
{
	const char *s = msg + *pos, *nl;
	size_t l;

	if (*pos >= len)
		return false;
	nl = memchr(s, '\n', len - *pos);
	l = nl ? (size_t)(nl - s) : len - *pos;
	*pos += l + (nl != NULL);
	if (nl && l && s[l - 1] == '\r')
		l--;
	*line = s;
	*n = l;
	return true;
}

/* from_value_offset - where the value of a From field line starts, or 0 when it is another field */
static size_t from_value_offset(const char *line, size_t n)
{
	size_t i = 4;

	if (n < 4 || strncasecmp(line, "from", 4) != 0)
		return 0;
	while (i < n && is_wsp(line[i]))
		i++;
	return i < n && line[i] == ':' ? i + 1 : 0;
}

/* append_part - a field's first line or continuation, unless it grows past the limit */
static void append_part(struct buf *value, bool *too_long, const char *s, size_t n)
{
	if (*too_long || value->len + n > MAIL_FROM_MAX_FIELD) {
		*too_long = true;
		return;
	}
	buf_append(value, s, n);
}

/* finish_field - parse the From field collected in value */
static void finish_field(struct scan *sc, struct buf *value, bool too_long)
{
	if (too_long) {
		sc->unparsable = true;
		if (sc->out->syntax_error == NULL)
			sc->out->syntax_error = "From field too long";
		return;
	}
	parse_value(sc, value->data ? value->data : "", value->len);
}

/*
 * scan_header - every top-level From field of the header section. Lines
 * that are neither fields nor continuations are skipped, not taken as the
 * end of the header: a reader that goes on past them must not find a From
 * we did not see. A continuation (a line starting with WSP) belongs to the
 * field before it (RFC 5322 §2.2.3), unfolded by dropping the line end.
 */
static void scan_header(struct scan *sc, const char *msg, size_t len)
{
	struct buf value;
	size_t pos = 0, n, off;
	const char *line;
	bool in_from = false, too_long = false;

	buf_init(&value);
	while (next_line(msg, len, &pos, &line, &n) && n > 0) {
		if (is_wsp(line[0])) {
			if (in_from)
				append_part(&value, &too_long, line, n);
			continue;
		}
		if (in_from)
			finish_field(sc, &value, too_long);
		off = from_value_offset(line, n);
		in_from = off > 0;
		if (in_from) {
			sc->out->fields++;
			buf_reset(&value);
			too_long = false;
			append_part(&value, &too_long, line + off, n - off);
		}
	}
	if (in_from)
		finish_field(sc, &value, too_long);
	buf_free(&value);
}

/* conclude - the single author domain, or the first problem that applies */
static int conclude(struct from_info *out, const struct scan *sc)
{
	out->complete = !sc->unparsable && !sc->invalid_domain && out->addresses > 0;
	if (out->fields == 0)
		out->problem = "no From";
	else if (out->fields > 1)
		out->problem = "several From fields";
	else if (sc->unparsable && !sc->too_many)
		out->problem = "unparsable";
	else if (out->addresses > 1 || sc->too_many)
		out->problem = "several addresses";
	else if (out->ndomains != 1)
		out->problem = "no valid address";
	else {
		out->domain = xstrdup(out->domains[0]);
		return 0;
	}
	return -1;
}

int mail_from_parse(const char *msg, size_t len, struct from_info *out)
{
	struct scan sc = {.out = out};

	memset(out, 0, sizeof(*out));
	if (msg)
		scan_header(&sc, msg, len);
	return conclude(out, &sc);
}

void from_info_free(struct from_info *info)
{
	for (size_t i = 0; i < info->ndomains; i++)
		free(info->domains[i]);
	free(info->domains);
	free(info->domain);
	memset(info, 0, sizeof(*info));
}
