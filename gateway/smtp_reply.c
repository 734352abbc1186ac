/*
 * smtp_reply - SMTP replies: reading the next hop's, writing our own.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gateway/smtp_reply.h"

void smtp_reply_init(struct smtp_reply *r)
{
	r->code = 0;
	r->enh[0] = '\0';
	buf_init(&r->text);
}

void smtp_reply_free(struct smtp_reply *r)
{
	buf_free(&r->text);
	r->code = 0;
	r->enh[0] = '\0';
}

void smtp_reply_set(struct smtp_reply *r, int code, const char *enh, const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	snprintf(r->enh, sizeof(r->enh), "%s", enh ? enh : "");
	buf_reset(&r->text);
	va_start(ap, fmt);
	buf_vprintf(&r->text, fmt, ap);
	va_end(ap);
}

/* enh_code_len - length of an RFC 3463 "x.y.z" at p matching class, or 0 */
static size_t enh_code_len(const char *p, size_t len, char class)
{
	size_t i = 0;
	int parts = 0;

	if (len < 5 || p[0] != class || p[1] != '.')
		return 0;
	i = 2;
	for (parts = 0; parts < 2; parts++) {
		size_t digits = 0;
		while (i < len && isdigit((unsigned char)p[i]) && digits < 3) {
			i++;
			digits++;
		}
		if (digits == 0)
			return 0;
		if (parts == 0) {
			if (i >= len || p[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && p[i] != ' ')
		return 0;
	return i;
}

/* append_clean - printable ASCII only; anything else becomes '?' */
static void append_clean(struct buf *b, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];
		buf_append_char(b, ch >= 0x20 && ch < 0x7f ? (char)ch : '?');
	}
}

/* reply_line_parse - one line "250-text"; returns code or -1 */
static int reply_line_parse(const char *line, size_t len, bool *more)
{
	int code;

	if (len < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]))
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (code < 200 || code > 599)
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	*more = len > 3 && line[3] == '-';
	return code;
}

enum conn_status smtp_reply_read(struct conn *c, long long deadline, struct smtp_reply *r)
{
	int lines = 0;

	smtp_reply_set(r, 0, "", "%s", "");
	for (;;) {
		const char *line;
		size_t len, textlen;
		bool more = false;
		int code;
		enum conn_status st = conn_read_line(c, SMTP_REPLY_LINE_MAX, deadline, &line, &len);

		if (st != CONN_OK)
			return st;
		if (len > SMTP_REPLY_LINE_MAX || ++lines > SMTP_REPLY_MAX_LINES)
			return CONN_IO_ERROR;
		conn_skip(c, len);
		textlen = len - 1;
		if (textlen && line[textlen - 1] == '\r')
			textlen--;
		code = reply_line_parse(line, textlen, &more);
		if (code < 0 || (r->code && code != r->code))
			return CONN_IO_ERROR;
		r->code = code;
		const char *text = line + (textlen > 3 ? 4 : 3);
		size_t tlen = textlen > 3 ? textlen - 4 : 0;
		size_t elen = enh_code_len(text, tlen, line[0]);
		if (elen) {
			snprintf(r->enh, sizeof(r->enh), "%.*s", (int)elen, text);
			text += elen;
			tlen -= elen;
			while (tlen && *text == ' ') {
				text++;
				tlen--;
			}
		}
		if (lines > 1)
			buf_append_char(&r->text, '\n');
		append_clean(&r->text, text, tlen);
		if (!more)
			return CONN_OK;
	}
}

const char *smtp_reply_summary(struct smtp_reply *r)
{
	const char *text = buf_cstr(&r->text);
	const char *nl = strrchr(text, '\n');

	return nl ? nl + 1 : text;
}

void smtp_reply_format(struct buf *out, const struct smtp_reply *r, const char *default_enh)
{
	const char *enh = r->enh[0] ? r->enh : default_enh;
	const char *p = r->text.data ? r->text.data : "";
	const char *end = p + r->text.len;

	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;

		buf_printf(out, "%03d%c", r->code, nl ? '-' : ' ');
		if (enh && enh[0])
			buf_printf(out, "%s ", enh);
		buf_append(out, p, (size_t)(stop - p));
		buf_append(out, "\r\n", 2);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}
