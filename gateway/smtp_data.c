/*
 * smtp_data - the message bytes of DATA and BDAT, strictly.
 */
#include "config.h"

#include <string.h>

#include "gateway/smtp_data.h"

enum {
	AT_LINE_START,
	IN_LINE,
	AFTER_CR,
	AFTER_DOT,
	AFTER_DOT_CR,
};

void smtp_data_init(struct smtp_data *d, struct buf *out, size_t limit)
{
	d->state = AT_LINE_START;
	d->limit = limit;
	d->size = 0;
	d->too_big = false;
	d->out = out;
}

/* keep - count message bytes; keep them while under the limit */
static void keep(struct smtp_data *d, const char *p, size_t n)
{
	d->size += n;
	if (d->size > d->limit)
		d->too_big = true;
	if (!d->too_big)
		buf_append(d->out, p, n);
}

/* line_run - length of the run at p holding neither CR nor LF */
static size_t line_run(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && p[i] != '\r' && p[i] != '\n')
		i++;
	return i;
}

enum smtp_data_result smtp_data_feed(struct smtp_data *d, const char *p, size_t len,
				     size_t *used_r)
{
	size_t i = 0;

	while (i < len) {
		char ch = p[i];

		switch (d->state) {
		case IN_LINE: {
			size_t run = line_run(p + i, len - i);
			if (run) {
				keep(d, p + i, run);
				i += run;
				continue;
			}
			if (ch == '\n')
				goto bare;
			d->state = AFTER_CR;
			break;
		}
		case AT_LINE_START:
			if (ch == '.')
				d->state = AFTER_DOT;
			else if (ch == '\r')
				d->state = AFTER_CR;
			else if (ch == '\n')
				goto bare;
			else {
				keep(d, &ch, 1);
				d->state = IN_LINE;
			}
			break;
		case AFTER_CR:
			if (ch != '\n')
				goto bare;
			keep(d, "\r\n", 2);
			d->state = AT_LINE_START;
			break;
		case AFTER_DOT:
			if (ch == '\r') {
				d->state = AFTER_DOT_CR;
			} else if (ch == '\n') {
				goto bare;
			} else {
				/* The leading dot goes; the rest of the line stays. */
				keep(d, &ch, 1);
				d->state = IN_LINE;
			}
			break;
		case AFTER_DOT_CR:
			if (ch != '\n')
				goto bare;
			*used_r = i + 1;
			return SMTP_DATA_DONE;
		}
		i++;
	}
	*used_r = i;
	return SMTP_DATA_MORE;
bare:
	*used_r = i;
	return SMTP_DATA_BARE_EOL;
}

void smtp_crlf_check_feed(struct smtp_crlf_check *chk, const char *p, size_t len)
{
	for (size_t i = 0; i < len && !chk->bad; i++) {
		if (chk->pending_cr) {
			chk->pending_cr = false;
			if (p[i] != '\n')
				chk->bad = true;
		} else if (p[i] == '\r') {
			chk->pending_cr = true;
		} else if (p[i] == '\n') {
			chk->bad = true;
		}
	}
}

bool smtp_crlf_check_end(struct smtp_crlf_check *chk)
{
	return !chk->bad && !chk->pending_cr;
}

void smtp_data_stuff(struct buf *out, const char *msg, size_t len)
{
	size_t i = 0;

	buf_reserve(out, len + len / 64 + 8);
	while (i < len) {
		const char *nl = memchr(msg + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - msg) + 1 : len;

		if (msg[i] == '.')
			buf_append_char(out, '.');
		buf_append(out, msg + i, end - i);
		i = end;
	}
	if (len && msg[len - 1] != '\n')
		buf_append(out, "\r\n", 2);
	buf_append(out, ".\r\n", 3);
}
