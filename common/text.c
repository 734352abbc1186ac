/*
 * text - sender-controlled text made safe for terminals and JSON;
 * the times, sizes and durations the quarantine CLI prints and reads.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/text.h"

#define MAX_DURATION (100LL * 366 * 86400)

/* text_utf8_lead - the length of a sequence from its first byte; 0 if it cannot start one */
static size_t text_utf8_lead(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;	/* a continuation byte, or an overlong lead */
	if (c < 0xe0)
		return 2;
	if (c < 0xf0)
		return 3;
	return c < 0xf5 ? 4 : 0;
}

/* text_utf8_next - the code point at s (n bytes left), -1 if not valid UTF-8; *len_r >= 1 */
long text_utf8_next(const unsigned char *s, size_t n, size_t *len_r)
{
	static const long min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len = text_utf8_lead(s[0]);
	long cp;

	*len_r = 1;
	if (len == 0 || len > n)
		return -1;
	cp = len == 1 ? s[0] : s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len_r = len;
	return cp;
}

/*
 * text_safe - s made fit for a terminal; with lines, LF and TAB are kept
 * and a CR before LF dropped (stored messages have CR LF line ends).
 */
void text_safe(struct buf *b, const char *s, size_t n, bool lines)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len;

	for (size_t i = 0; i < n; i += len) {
		long cp = text_utf8_next(p + i, n - i, &len);
		if (lines && p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		if (lines && (cp == '\n' || cp == '\t'))
			buf_append_char(b, (char)cp);
		else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			buf_append_char(b, '?');
		else
			buf_append(b, p + i, len);
	}
}

/* text_cell - s, made safe, cut to width characters (0: no limit) and padded */
void text_cell(struct buf *b, const char *s, size_t width, bool pad)
{
	struct buf clean;
	size_t chars = 0, len, i;

	buf_init(&clean);
	text_safe(&clean, s, strlen(s), false);
	for (i = 0; i < clean.len; i += len, chars++)
		text_utf8_next((const unsigned char *)clean.data + i, clean.len - i, &len);
	if (width == 0 || chars <= width) {
		buf_append(b, clean.data, clean.len);
	} else {
		size_t keep = 0;
		for (i = 0; keep < width - 1; i += len, keep++)
			text_utf8_next((const unsigned char *)clean.data + i, clean.len - i, &len);
		buf_append(b, clean.data, i);
		buf_append_str(b, "\xe2\x80\xa6"); /* U+2026 ellipsis */
		chars = width;
	}
	for (; pad && chars < width; chars++)
		buf_append_char(b, ' ');
	buf_free(&clean);
}

/*
 * text_json - s as a JSON string: valid UTF-8 passes, invalid bytes become
 * \ufffd so the output stays valid JSON (common/json.c passes them through)
 */
void text_json(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), len;

	buf_append_char(b, '"');
	for (size_t i = 0; i < n; i += len) {
		long cp = text_utf8_next(p + i, n - i, &len);
		if (cp < 0)
			buf_append_str(b, "\\ufffd");
		else if (cp == '"' || cp == '\\')
			buf_printf(b, "\\%c", (char)cp);
		else if (cp == '\n')
			buf_append_str(b, "\\n");
		else if (cp == '\t')
			buf_append_str(b, "\\t");
		else if (cp < 0x20 || cp == 0x7f)
			buf_printf(b, "\\u%04lx", cp);
		else
			buf_append(b, p + i, len);
	}
	buf_append_char(b, '"');
}

/* text_time - t in UTC: ISO 8601 for JSON, minutes for the table, seconds elsewhere */
const char *text_time(long long t, enum text_time_style style, char out[40])
{
	time_t tt = (time_t)t;
	struct tm tm;
	size_t n = 0;

	if (gmtime_r(&tt, &tm) != NULL)
		n = strftime(out, 40,
			     style == TEXT_TIME_ISO     ? "%Y-%m-%dT%H:%M:%SZ"
			     : style == TEXT_TIME_TABLE ? "%Y-%m-%d %H:%M"
						   : "%Y-%m-%d %H:%M:%S UTC",
			     &tm);
	if (n == 0)
		snprintf(out, 40, "@%lld", t);
	return out;
}

const char *text_size(long long n, char out[32])
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(out, 32, "%lld B", n);
		return out;
	}
	for (v /= 1024; v >= 1024 && u < 3; u++)
		v /= 1024;
	snprintf(out, 32, "%.1f %s", v, units[u]);
	return out;
}

/* text_duration - "90m", "12h", "30d", "3600s" */
int text_duration(const char *s, long long *secs_r)
{
	long long n, unit;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end[0] == '\0' || end[1] != '\0')
		return -1;
	unit = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 0;
	if (unit == 0 || n > MAX_DURATION / unit)
		return -1;
	*secs_r = n * unit;
	return 0;
}

/* text_date - "YYYY-MM-DD", midnight UTC; impossible dates are refused */
int text_date(const char *s, long long *t_r)
{
	struct tm tm = {0};
	int y, m, d;

	for (int i = 0; i < 10; i++)
		if (s[i] == '\0' || ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9')))
			return -1;
	if (s[10] != '\0' || sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	*t_r = (long long)timegm(&tm);
	if (tm.tm_year != y - 1900 || tm.tm_mon != m - 1 || tm.tm_mday != d)
		return -1;
	return 0;
}
