/*
 * message - facts from the message itself: headers and text bodies.
 *
 * GMime parses the message from memory; everything GMime builds belongs to
 * one call of message_facts and is released before it returns, so calls
 * in several threads share nothing but the read-only parser options made
 * once by message_init.
 *
 * Charsets. Japanese mail arrives as ISO-2022-JP, Shift_JIS (in practice
 * Microsoft's CP932), EUC-JP or UTF-8, labelled or not, so:
 *   - Shift_JIS and EUC-JP are converted as CP932 and EUC-JP-MS, the
 *     supersets their senders really use: glibc's SHIFT_JIS also turns
 *     '~' into U+203E and '\' into U+00A5, which breaks URLs;
 *   - ISO-2022-JP is turned into EUC-JP byte by byte and converted as
 *     EUC-JP-MS, since glibc's ISO-2022-JP rejects the NEC and IBM rows
 *     (circled digits and the like) that CP50221 encoders emit;
 *   - unlabelled, US-ASCII-labelled or unknown-charset text is kept when
 *     it is valid UTF-8, read as ISO-2022-JP when it holds its escapes,
 *     and otherwise converted with the first of fallback_charsets that
 *     takes it without error (ISO-8859-1 always does).
 * Bytes a charset cannot convert become U+FFFD.
 *
 * Text from every text/plain and text/html part counts, attachments
 * included: an HTML attachment is a favourite carrier for phishing pages.
 * Line ends in body text are normalised to LF. mime.parts counts every
 * MIME object walked: multiparts, message/rfc822 parts and leaves alike.
 * Header fields of the top-level message are recorded up to
 * MESSAGE_MAX_HEADERS, each value cut to max_text; fields whose names are
 * not RFC 5322 field names are skipped.
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <gmime/gmime.h>

#include "common/buf.h"
#include "filters/message.h"

/* header fields recorded at most; one fact name each, at worst */
#define MESSAGE_MAX_HEADERS 1000
/* where parse_length stops the input GMime sees */
#define MESSAGE_MAX_HEADER_LINES      20000
#define MESSAGE_MAX_DASH_LINES(parts) ((parts) < SIZE_MAX / 4 ? 2 * (parts) + 64 : SIZE_MAX)

#define REPLACEMENT "\xef\xbf\xbd"

const struct message_limits message_default_limits = {
    .max_parts = 1000,
    .max_depth = 20,
    .max_text = 1 << 20,
    .max_total_text = 4 << 20,
    .max_decoded = 32 << 20,
    .max_total_decoded = 128 << 20,
};

/* the parser's findings that mean the structure may hide a part */
static const struct {
	GMimeParserWarning code;
	const char *text;
	bool structural;
} parser_findings[] = {
    {GMIME_WARN_MALFORMED_MULTIPART, "multipart without parts", true},
    {GMIME_WARN_TRUNCATED_MESSAGE, "truncated", true},
    {GMIME_WARN_MALFORMED_MESSAGE, "malformed message", true},
    {GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY, "multipart without boundary", true},
    {GMIME_WARN_PART_WITHOUT_CONTENT, "part without content", true},
    {GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT, "part without headers or content", true},
    {GMIME_CRIT_NESTING_OVERFLOW, "nesting overflow", true},
    {GMIME_WARN_INVALID_CONTENT_TYPE, "invalid content-type", true},
    {GMIME_CRIT_INVALID_HEADER_NAME, "invalid header name", true},
    {GMIME_CRIT_CONFLICTING_PARAMETER, "conflicting parameter", true},
};

/*
 * For 8-bit text with no usable label, in order: the first that converts
 * without error wins. ISO-2022-JP is a 7-bit encoding, so it is found by
 * its escapes (has_jis_escape), never here.
 */
static const char *fallback_charsets[] = {
    "UTF-8", "CP932", "EUC-JP-MS", "windows-1252", "ISO-8859-1", NULL,
};

/* label -> the converter to use; see the file comment for why */
static const struct {
	const char *label;
	const char *iconv;
} charset_aliases[] = {
    {"shift_jis", "CP932"},      {"shift-jis", "CP932"},    {"sjis", "CP932"},
    {"x-sjis", "CP932"},         {"ms_kanji", "CP932"},     {"csshiftjis", "CP932"},
    {"windows-31j", "CP932"},    {"cp932", "CP932"},        {"euc-jp", "EUC-JP-MS"},
    {"eucjp", "EUC-JP-MS"},      {"x-euc-jp", "EUC-JP-MS"}, {"iso-8859-1", "windows-1252"},
    {"latin1", "windows-1252"},  {"gb2312", "GB18030"},     {"gbk", "GB18030"},
    {"ks_c_5601-1987", "CP949"}, {"euc-kr", "CP949"},
};

static pthread_once_t message_once = PTHREAD_ONCE_INIT;
static GMimeParserOptions *parser_options;

struct walk {
	const struct message_limits *limits;
	const struct message_visitor *visitor;
	struct facts *facts;
	size_t parts;
	size_t text_total;
	size_t decoded_total;
	bool exceeded;
	bool structure_broken;	/* look for parts the parser did not see */
	struct buf malformed;	/* reasons recorded, one per line */
};

/* message_setup - g_mime_init and the shared, read-only parser options */
static void message_setup(void)
{
	g_mime_init();
	parser_options = g_mime_parser_options_new();
	g_mime_parser_options_set_fallback_charsets(parser_options, fallback_charsets);
}

void message_init(void)
{
	pthread_once(&message_once, message_setup);
}

/* utf8_truncate - cut b to at most max bytes, on a character boundary */
static bool utf8_truncate(struct buf *b, size_t max)
{
	size_t n = max;

	if (b->len <= max)
		return false;
	while (n > 0 && ((unsigned char)b->data[n] & 0xc0) == 0x80)
		n--;
	b->len = n;
	return true;
}

/* crlf_to_lf - drop every CR that comes right before an LF */
static void crlf_to_lf(struct buf *b)
{
	size_t out = 0;

	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] != '\r' || i + 1 == b->len || b->data[i + 1] != '\n')
			b->data[out++] = b->data[i];
	b->len = out;
}

/* nul_replace - every NUL in b becomes U+FFFD, as facts would do later */
static void nul_replace(struct buf *b)
{
	struct buf out;

	if (!b->len || !memchr(b->data, '\0', b->len))
		return;
	buf_init(&out);
	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\0')
			buf_append(&out, REPLACEMENT, 3);
		else
			buf_append_char(&out, b->data[i]);
	}
	buf_free(b);
	*b = out;
}

/*
 * conv_run - convert in[0..len) with cd, appending UTF-8 to out.
 * Returns the number of bad sequences: each becomes U+FFFD, or stops the
 * conversion at the first one when strict. A sequence cut short by the end
 * of the input is not counted: our input is often cut at a limit.
 */
static size_t conv_run(iconv_t cd, const char *in, size_t len, struct buf *out, bool strict)
{
	char tmp[4096], *ip = (char *)in, *op;
	size_t il = len, ol, bad = 0;

	buf_reserve(out, len + len / 2);
	iconv(cd, NULL, NULL, NULL, NULL);
	while (il > 0) {
		op = tmp;
		ol = sizeof(tmp);
		size_t r = iconv(cd, &ip, &il, &op, &ol);
		int err = errno;

		buf_append(out, tmp, (size_t)(op - tmp));
		if (r != (size_t)-1 || err == EINVAL)
			break;
		if (err == E2BIG && op != tmp)
			continue;
		bad++;
		if (strict)
			return bad;
		buf_append(out, REPLACEMENT, 3);
		ip++;
		il--;
	}
	op = tmp;
	ol = sizeof(tmp);
	iconv(cd, NULL, NULL, &op, &ol);
	buf_append(out, tmp, (size_t)(op - tmp));
	return bad;
}

/* conv_named - conv_run from charset; -1 when there is no such converter */
static long conv_named(const char *charset, const char *in, size_t len, struct buf *out,
                       bool strict)
{
	iconv_t cd = g_mime_iconv_open("UTF-8", charset);
	long bad;

	if (cd == (iconv_t)-1)
		return -1;
	bad = (long)conv_run(cd, in, len, out, strict);
	g_mime_iconv_close(cd);
	return bad;
}

/* has_jis_escape - does text switch to a JIS X 0208 or kana set? */
static bool has_jis_escape(const char *text, size_t len)
{
	static const char *const escapes[] = {"\x1b$B", "\x1b$@", "\x1b(I", "\x1b(J"};

	if (!memchr(text, 0x1b, len))
		return false;
	for (size_t i = 0; i < G_N_ELEMENTS(escapes); i++)
		if (memmem(text, len, escapes[i], 3))
			return true;
	return false;
}

/* jis_shift - the mode an escape at in[0..len) selects, or -1 */
static int jis_shift(const char *in, size_t len)
{
	if (len < 3 || in[0] != 0x1b)
		return -1;
	if (in[1] == '$' && (in[2] == 'B' || in[2] == '@'))
		return 1;
	if (in[1] == '(' && (in[2] == 'B' || in[2] == 'J'))
		return 0;
	if (in[1] == '(' && in[2] == 'I')
		return 2;
	return -1;
}

/*
 * jis_to_euc - ISO-2022-JP (RFC 1468, with CP50221's kana) to EUC-JP.
 * A line end returns to ASCII, as RFC 1468 requires encoders to do anyway.
 */
static void jis_to_euc(const char *in, size_t len, struct buf *out)
{
	int mode = 0, shift;
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)in[i],
		              d = i + 1 < len ? (unsigned char)in[i + 1] : 0;

		if ((shift = jis_shift(in + i, len - i)) >= 0) {
			mode = shift;
			i += 3;
		} else if (mode == 1 && c >= 0x21 && c <= 0x7e && d >= 0x21 && d <= 0x7e) {
			buf_append_char(out, (char)(c | 0x80));
			buf_append_char(out, (char)(d | 0x80));
			i += 2;
		} else if (mode == 2 && c >= 0x21 && c <= 0x5f) {
			buf_append_char(out, (char)0x8e);
			buf_append_char(out, (char)(c | 0x80));
			i++;
		} else {
			if (c == '\n')
				mode = 0;
			buf_append_char(out, (char)c);
			i++;
		}
	}
}

/* jis_convert - ISO-2022-JP text to UTF-8 */
static void jis_convert(const char *in, size_t len, struct buf *out)
{
	struct buf euc;

	buf_init(&euc);
	buf_reserve(&euc, len);
	jis_to_euc(in, len, &euc);
	if (conv_named("EUC-JP-MS", euc.data ? euc.data : "", euc.len, out, false) < 0)
		buf_append(out, euc.data ? euc.data : "", euc.len);
	buf_free(&euc);
}

/*
 * utf8_prefix - is in[0..len) valid UTF-8 but for a character cut short
 * at the end (our input is often cut at a limit)? *valid is the length
 * without that piece.
 */
static bool utf8_prefix(const char *in, size_t len, size_t *valid)
{
	const gchar *end;

	*valid = len;
	if (g_utf8_validate_len(in, len, &end))
		return true;
	*valid = (size_t)(end - in);
	return len - *valid < 4 &&
	       g_utf8_get_char_validated(end, (gssize)(len - *valid)) == (gunichar)-2;
}

/* buf_take - out gets the first len bytes of in, moved when out is empty */
static void buf_take(struct buf *out, struct buf *in, size_t len)
{
	if (out->len) {
		buf_append(out, in->data, len);
		return;
	}
	buf_free(out);
	*out = *in;
	out->len = len;
	buf_init(in);
}

/* text_guess - unlabelled text to UTF-8 (see the file comment) */
static void text_guess(struct buf *raw, struct buf *out)
{
	const char *in = raw->data ? raw->data : "";
	size_t len = raw->len, start = out->len, valid;

	if (has_jis_escape(in, len)) {
		jis_convert(in, len, out);
		return;
	}
	if (utf8_prefix(in, len, &valid)) {
		buf_take(out, raw, valid);
		return;
	}
	for (size_t i = 1; fallback_charsets[i]; i++) {
		out->len = start;
		if (conv_named(fallback_charsets[i], in, len, out, true) == 0)
			return;
	}
	out->len = start;
	conv_named("ISO-8859-1", in, len, out, false);
}

/*
 * charset_usable - is label a plausible charset name? Anything else is
 * treated as unknown rather than handed to iconv_open, which loads
 * converter modules by name.
 */
static bool charset_usable(const char *label)
{
	size_t len = strlen(label);

	return len > 0 && len <= 40 &&
	       strspn(label, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                     "0123456789-_.:+()") == len;
}

/* charset_alias - the converter for a charset label */
static const char *charset_alias(const char *label)
{
	for (size_t i = 0; i < G_N_ELEMENTS(charset_aliases); i++)
		if (g_ascii_strcasecmp(label, charset_aliases[i].label) == 0)
			return charset_aliases[i].iconv;
	return label;
}

/* text_to_utf8 - raw text, labelled charset (or NULL), to UTF-8 in out */
static void text_to_utf8(const char *charset, struct buf *raw, struct buf *out)
{
	const char *in = raw->data ? raw->data : "";
	size_t len = raw->len, valid;

	if (!charset || !charset_usable(charset) || g_ascii_strcasecmp(charset, "us-ascii") == 0 ||
	    g_ascii_strcasecmp(charset, "ascii") == 0) {
		text_guess(raw, out);
	} else if ((g_ascii_strcasecmp(charset, "utf-8") == 0 ||
	            g_ascii_strcasecmp(charset, "utf8") == 0) &&
	           utf8_prefix(in, len, &valid)) {
		buf_take(out, raw, valid);
	} else if (g_ascii_strcasecmp(charset, "iso-2022-jp") == 0 ||
	           g_ascii_strcasecmp(charset, "csiso2022jp") == 0) {
		jis_convert(in, len, out);
	} else if (conv_named(charset_alias(charset), in, len, out, false) < 0) {
		text_guess(raw, out);
	}
}

/* utf8_repair - make b valid UTF-8 (it holds no NUL) */
static void utf8_repair(struct buf *b)
{
	char *fixed;

	if (!b->len || g_utf8_validate_len(b->data, b->len, NULL))
		return;
	fixed = g_utf8_make_valid(b->data, (gssize)b->len);
	buf_reset(b);
	buf_append_str(b, fixed);
	g_free(fixed);
}

/* valid_utf8 - s (NUL-terminated) as valid UTF-8, newly allocated */
static char *valid_utf8(const char *s)
{
	return g_utf8_validate(s, -1, NULL) ? g_strdup(s) : g_utf8_make_valid(s, -1);
}

/*
 * header_text - what a reader sees of a raw (folded) header value:
 * unfolded (RFC 5322 §2.2.3), raw ISO-2022-JP converted, RFC 2047 words
 * decoded, other 8-bit text converted with the fallback charsets.
 * This is g_mime_header_get_value() plus the ISO-2022-JP step.
 */
static char *header_text(const char *raw)
{
	char *unfolded = g_mime_utils_header_unfold(raw ? raw : "");
	char *text, *decoded;
	struct buf jis;

	g_strstrip(unfolded);
	text = unfolded;
	buf_init(&jis);
	if (has_jis_escape(unfolded, strlen(unfolded))) {
		jis_convert(unfolded, strlen(unfolded), &jis);
		text = (char *)buf_cstr(&jis);
	}
	decoded = g_mime_utils_header_decode_text(parser_options, text);
	buf_free(&jis);
	g_free(unfolded);
	text = valid_utf8(decoded ? decoded : "");
	g_free(decoded);
	return text;
}

/*
 * field_name_ok - is name an RFC 5322 §3.6.8 field name? GMime also
 * hands back empty names and names with 8-bit bytes; those are skipped.
 */
static bool field_name_ok(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *p = name; *p; p++)
		if (*p < 0x21 || *p > 0x7e || *p == ':')
			return false;
	return true;
}

/* add_header - header.<name> for one field */
static void add_header(struct walk *w, GMimeHeader *header, struct buf *name, struct buf *value)
{
	const char *field = g_mime_header_get_name(header);
	char *text;

	if (!field_name_ok(field))
		return;
	text = header_text(g_mime_header_get_raw_value(header));
	buf_reset(name);
	buf_printf(name, "header.%s", field);
	buf_reset(value);
	buf_append_str(value, text);
	if (utf8_truncate(value, w->limits->max_text))
		w->exceeded = true;
	facts_add(w->facts, buf_cstr(name), value->data ? value->data : "", value->len);
	g_free(text);
}

/* header_at - the i-th field of list, or NULL past its end */
static GMimeHeader *header_at(GMimeHeaderList *list, int i)
{
	if (!list || i >= g_mime_header_list_get_count(list))
		return NULL;
	return g_mime_header_list_get_header_at(list, i);
}

/*
 * add_headers - header.<name> for every field of the top-level message.
 * GMime files the Content-* fields under the message's MIME part, so the
 * two lists are merged back into wire order by their offsets.
 */
static void add_headers(struct walk *w, GMimeMessage *message)
{
	GMimeObject *body = g_mime_message_get_mime_part(message);
	GMimeHeaderList *top = g_mime_object_get_header_list(GMIME_OBJECT(message));
	GMimeHeaderList *content = body ? g_mime_object_get_header_list(body) : NULL;
	struct buf name, value;
	int i = 0, j = 0;

	buf_init(&name);
	buf_init(&value);
	for (size_t n = 0;; n++) {
		GMimeHeader *a = header_at(top, i), *b = header_at(content, j);

		if (!a && !b)
			break;
		if (n == MESSAGE_MAX_HEADERS) {
			w->exceeded = true;
			break;
		}
		if (a && (!b || g_mime_header_get_offset(a) <= g_mime_header_get_offset(b))) {
			add_header(w, a, &name, &value);
			i++;
		} else {
			add_header(w, b, &name, &value);
			j++;
		}
	}
	buf_free(&name);
	buf_free(&value);
}

/* filter_decoder - the transfer decoder for a stream filter, or NULL */
static GMimeFilter *filter_decoder(GMimeContentEncoding encoding)
{
	switch (encoding) {
	case GMIME_CONTENT_ENCODING_BASE64:
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
	case GMIME_CONTENT_ENCODING_UUENCODE:
		return g_mime_filter_basic_new(encoding, FALSE);
	default:
		return NULL;
	}
}

/*
 * stream_read_max - read s to its end into out, keeping at most max bytes;
 * true when there was more. A filter stream may read 0 bytes before its
 * end (a chunk that decodes to nothing): stop only when its source does not
 * move either.
 */
static bool stream_read_max(GMimeStream *s, GMimeStream *source, size_t max, struct buf *out)
{
	char chunk[8192];
	gint64 at = -1;

	while (!g_mime_stream_eos(s)) {
		ssize_t n = g_mime_stream_read(s, chunk, sizeof(chunk));

		if (n < 0)
			break;
		if ((size_t)n > max - out->len) {
			buf_append(out, chunk, max - out->len);
			return true;
		}
		buf_append(out, chunk, (size_t)n);
		if (n == 0) {
			if (g_mime_stream_tell(source) == at)
				break;
			at = g_mime_stream_tell(source);
		}
	}
	return false;
}

/* part_decoded - part's content, transfer-decoded, at most max bytes */
static bool part_decoded(GMimePart *part, size_t max, struct buf *out)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeStream *source, *filtered;
	GMimeFilter *decoder;
	bool more;

	if (!content || !(source = g_mime_data_wrapper_get_stream(content)))
		return false;
	g_mime_stream_reset(source);
	filtered = g_mime_stream_filter_new(source);
	decoder = filter_decoder(g_mime_data_wrapper_get_encoding(content));
	if (decoder) {
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), decoder);
		g_object_unref(decoder);
	}
	more = stream_read_max(filtered, source, max, out);
	g_object_unref(filtered);
	return more;
}

/* add_text - body.text or body.html from a text part, within the limits */
static void add_text(struct walk *w, GMimePart *part, const char *fact)
{
	size_t room = w->limits->max_total_text - w->text_total;
	size_t cap = room < w->limits->max_text ? room : w->limits->max_text;
	const char *charset =
	    g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
	struct buf raw, text;

	buf_init(&raw);
	buf_init(&text);
	if (part_decoded(part, cap, &raw))
		w->exceeded = true;
	text_to_utf8(charset, &raw, &text);
	crlf_to_lf(&text);
	nul_replace(&text);
	utf8_repair(&text);
	if (utf8_truncate(&text, cap))
		w->exceeded = true;
	w->text_total += text.len;
	facts_add(w->facts, fact, text.data ? text.data : "", text.len);
	buf_free(&raw);
	buf_free(&text);
}

/* text_fact - the fact a leaf part's text goes to, or NULL */
static const char *text_fact(GMimeObject *part)
{
	GMimeContentType *type = g_mime_object_get_content_type(part);

	if (!type)
		return NULL;
	if (g_mime_content_type_is_type(type, "text", "plain"))
		return "body.text";
	if (g_mime_content_type_is_type(type, "text", "html"))
		return "body.html";
	return NULL;
}

/* reasons are few by nature; a flood of distinct ones is cut here */
#define MALFORMED_MAX_REASONS 32

/* malformed - record reason once as a mime.malformed value */
static void malformed(struct walk *w, const char *reason)
{
	size_t n = strlen(reason), count = 0;

	for (const char *p = w->malformed.data, *end = p + w->malformed.len; p && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if ((size_t)(nl - p) == n && memcmp(p, reason, n) == 0)
			return;
		p = nl + 1;
		count++;
	}
	if (count >= MALFORMED_MAX_REASONS)
		return;
	buf_append_str(&w->malformed, reason);
	buf_append_char(&w->malformed, '\n');
	facts_add_str(w->facts, "mime.malformed", reason);
}

/* parser_warning - GMime's findings, as mime.malformed reasons */
static void parser_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
			   gpointer data)
{
	struct walk *w = data;

	(void)offset;
	if ((code == GMIME_WARN_DUPLICATED_HEADER || code == GMIME_CRIT_CONFLICTING_HEADER) &&
	    item && g_ascii_strncasecmp(item, "content-", 8) == 0) {
		/* two Content-Type (or -Disposition, -Transfer-Encoding) fields:
		 * clients disagree on which one wins */
		/* the field name is the sender's: cut it, and keep it UTF-8 */
		char *name = g_utf8_make_valid(item, MIN((gssize)strlen(item), 40));
		char *reason = g_ascii_strdown(name, -1);
		char *text = g_strdup_printf("duplicate %s", reason);

		g_free(name);
		malformed(w, text);
		g_free(text);
		g_free(reason);
		w->structure_broken = true;
		return;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(parser_findings); i++) {
		if (parser_findings[i].code == code) {
			malformed(w, parser_findings[i].text);
			w->structure_broken |= parser_findings[i].structural;
		}
	}
}

/* lower_dup - s lowercased (ASCII), g_malloc'd, or NULL */
static char *lower_dup(const char *s)
{
	return s ? g_ascii_strdown(s, -1) : NULL;
}

/* visit - show obj to the visitor; leaves with their decoded bytes */
static void visit(struct walk *w, GMimeObject *obj, const char *path, size_t depth, bool leaf,
		  bool candidate)
{
	GMimeContentType *type = g_mime_object_get_content_type(obj);
	GMimeContentDisposition *disp = g_mime_object_get_content_disposition(obj);
	char *mime = type ? g_mime_content_type_get_mime_type(type) : NULL;
	char *ctype = lower_dup(mime), *disposition = NULL, *name = NULL;
	struct mime_part_info info = {
	    .path = path,
	    .depth = depth,
	    .leaf = leaf,
	    .candidate = candidate,
	};
	struct buf data;

	buf_init(&data);
	if (disp && g_mime_content_disposition_get_disposition(disp))
		disposition = lower_dup(g_mime_content_disposition_get_disposition(disp));
	if (GMIME_IS_PART(obj) && g_mime_part_get_filename(GMIME_PART(obj)))
		name = valid_utf8(g_mime_part_get_filename(GMIME_PART(obj)));
	if (leaf && GMIME_IS_PART(obj)) {
		size_t room = w->limits->max_total_decoded - w->decoded_total;
		size_t cap = room < w->limits->max_decoded ? room : w->limits->max_decoded;

		info.truncated = part_decoded(GMIME_PART(obj), cap, &data);
		if (info.truncated)
			w->exceeded = true;
		w->decoded_total += data.len;
	}
	info.content_type = ctype ? ctype : "application/octet-stream";
	info.filename = name;
	info.disposition = disposition;
	info.data = (const unsigned char *)(data.data ? data.data : "");
	info.size = data.len;
	w->visitor->part(w->visitor->ctx, &info);
	buf_free(&data);
	g_free(mime);
	g_free(ctype);
	g_free(disposition);
	g_free(name);
}

/*
 * walk - count obj and the parts below it, taking the text of text parts.
 * depth is the number of multiparts and message/rfc822 parts above obj.
 * Past max_parts the walk stops; past max_depth the branch is skipped.
 */
static void walk(struct walk *w, GMimeObject *obj, const char *path, size_t depth)
{
	char child[512];
	const char *fact;

	if (!obj)
		return;
	if (w->parts >= w->limits->max_parts || depth > w->limits->max_depth) {
		w->exceeded = true;
		return;
	}
	w->parts++;
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (w->visitor)
			visit(w, obj, path, depth, false, false);
		snprintf(child, sizeof(child), "%s.1", path);
		if (inner)
			walk(w, g_mime_message_get_mime_part(inner), child, depth + 1);
	} else if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *multi = GMIME_MULTIPART(obj);
		int count = g_mime_multipart_get_count(multi);

		if (w->visitor)
			visit(w, obj, path, depth, false, false);
		if (count == 0) {
			/* GMime does not always say so itself */
			malformed(w, "multipart without parts");
			w->structure_broken = true;
		}
		for (int i = 0; i < count; i++) {
			if (w->parts >= w->limits->max_parts) {
				w->exceeded = true;
				break;
			}
			snprintf(child, sizeof(child), "%s.%d", path, i + 1);
			walk(w, g_mime_multipart_get_part(multi, i), child, depth + 1);
		}
	} else {
		if (GMIME_IS_PART(obj) && (fact = text_fact(obj)))
			add_text(w, GMIME_PART(obj), fact);
		if (w->visitor)
			visit(w, obj, path, depth, true, false);
	}
}

/* has_mime_fields - does the header block at p hold a Content-* field? */
static bool has_mime_fields(const char *p, const char *end)
{
	for (int lines = 0; p < end && lines < 50; lines++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		if (n == 0 || (n == 1 && p[0] == '\r'))
			return false;
		if (n > 8 && g_ascii_strncasecmp(p, "content-", 8) == 0)
			return true;
		if (!nl)
			return false;
		p = nl + 1;
	}
	return false;
}

/* next_dash_line - the start of the next line at or after p starting "--" */
static const char *next_dash_line(const char *p, const char *end)
{
	while (p < end) {
		const char *nl;

		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return p;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		p = nl + 1;
	}
	return end;
}

/* parse_part - the MIME entity in raw[0..len), or NULL */
static GMimeObject *parse_part(const char *raw, size_t len, GMimeParserOptions *options)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(raw, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeObject *part = g_mime_parser_construct_part(parser, options);

	g_object_unref(parser);
	g_object_unref(stream);
	return part;
}

/*
 * candidates - every "--" line followed by MIME header fields starts a
 * part, whatever boundary the headers declared; each leaf found this way
 * is shown to the visitor. Runs only when the structure is broken, so
 * that a part a lenient client would show is never missed.
 */
static void candidates(struct walk *w, const char *raw, size_t len, GMimeParserOptions *options)
{
	const char *end = raw + len, *p = next_dash_line(raw, end);
	unsigned n = 0;

	while (p < end) {
		const char *body = memchr(p, '\n', (size_t)(end - p)), *next;

		if (!body)
			break;
		body++;
		next = next_dash_line(body, end);
		if (has_mime_fields(body, next)) {
			GMimeObject *part;
			char path[32];

			if (w->parts >= w->limits->max_parts) {
				w->exceeded = true;
				break;
			}
			w->parts++;
			part = parse_part(body, (size_t)(next - body), options);
			if (part && GMIME_IS_PART(part)) {
				snprintf(path, sizeof(path), "x%u", ++n);
				visit(w, part, path, 0, true, true);
			}
			if (part)
				g_object_unref(part);
		}
		p = next;
	}
}

/*
 * parse_length - how much of raw to hand GMime. GMime builds an object
 * for every part and header field it meets (some microseconds each), so a
 * message of tiny parts would cost about a second a megabyte, although
 * the walk stops at max_parts. The input is stopped, at a line start, once
 * it has had MESSAGE_MAX_DASH_LINES(max_parts) lines starting "--" (every
 * boundary is one) or MESSAGE_MAX_HEADER_LINES lines in header blocks (the
 * top one and those after each "--" line); *cut is set when it was.
 * Lines are counted generously, so the cut comes well after the last part
 * and field the walk would have used.
 */
static size_t parse_length(const char *raw, size_t len, size_t max_parts, bool *cut)
{
	size_t dash_max = MESSAGE_MAX_DASH_LINES(max_parts), dashes = 0, fields = 0;
	const char *p = raw, *end = raw + len, *nl;
	bool header = true;

	for (; p < end; p = nl + 1) {
		size_t n;

		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl ? nl : end) - p);
		if (n >= 2 && p[0] == '-' && p[1] == '-') {
			header = true;
			if (++dashes > dash_max)
				break;
		} else if (header && (n == 0 || (n == 1 && p[0] == '\r'))) {
			header = false;
		} else if (header && ++fields > MESSAGE_MAX_HEADER_LINES) {
			break;
		}
		if (!nl)
			return len;
	}
	if (p < end)
		*cut = true;
	return (size_t)(p - raw);
}

/* parse - the message in raw[0..len), or NULL */
static GMimeMessage *parse(const char *raw, size_t len, GMimeParserOptions *options)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(raw ? raw : "", len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *message = g_mime_parser_construct_message(parser, options);

	g_object_unref(parser);
	g_object_unref(stream);
	return message;
}

void message_walk(const char *raw, size_t len, const struct message_limits *limits,
		  const struct message_visitor *visitor, struct facts *facts)
{
	struct walk w = {
	    .limits = limits ? limits : &message_default_limits,
	    .visitor = visitor && visitor->part ? visitor : NULL,
	    .facts = facts,
	};
	GMimeParserOptions *options;
	GMimeMessage *message;

	message_init();
	buf_init(&w.malformed);
	/* per call: the warning callback reports into this walk */
	options = g_mime_parser_options_new();
	g_mime_parser_options_set_fallback_charsets(options, fallback_charsets);
	g_mime_parser_options_set_warning_callback(options, parser_warning, &w);
	if (len > G_MAXINT) {
		len = G_MAXINT;
		w.exceeded = true;
	}
	if (raw && memchr(raw, '\0', len))
		malformed(&w, "nul byte");
	if (raw)
		len = parse_length(raw, len, w.limits->max_parts, &w.exceeded);
	message = parse(raw, len, options);
	if (message) {
		add_headers(&w, message);
		walk(&w, g_mime_message_get_mime_part(message), "1", 0);
		g_object_unref(message);
	}
	if (w.structure_broken && w.visitor && raw)
		candidates(&w, raw, len, options);
	g_mime_parser_options_free(options);
	facts_add_num(facts, "mime.parts", (double)w.parts);
	if (w.exceeded)
		facts_add_str(facts, "mime.limit_exceeded", "yes");
	buf_free(&w.malformed);
}

void message_facts(const char *raw, size_t len, const struct message_limits *limits,
                   struct facts *facts)
{
	message_walk(raw, len, limits, NULL, facts);
}
