/*
 * filename - what an attachment's name claims (see filename.h).
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "filters/filename.h"

/* in the visible form, a look-alike dot becomes this byte */
#define LOOKALIKE_DOT '\x01'

static const uint32_t bidi_controls[] = {
    0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e,
    0x2066, 0x2067, 0x2068, 0x2069,
};

static const uint32_t invisibles[] = {
    0x00ad, 0x034f, 0x180e, 0x200b, 0x200c, 0x200d, 0x2060,
    0x2061, 0x2062, 0x2063, 0x2064, 0xfeff,
};

static const uint32_t lookalike_dots[] = {
    0x00b7, 0x0701, 0x0702, 0x2024, 0x2027, 0x2219, 0x22c5, 0x2e33,
    0x3002, 0x30fb, 0xa4f8, 0xfe52, 0xff0e, 0xff61,
};

/* spaces a reader cannot tell from ' ' */
static const uint32_t wide_spaces[] = {
    0x00a0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
    0x2007, 0x2008, 0x2009, 0x200a, 0x202f, 0x205f, 0x3000,
};

static bool in_set(uint32_t c, const uint32_t *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == c)
			return true;
	return false;
}

#define IN_SET(c, set) in_set((c), (set), sizeof(set) / sizeof((set)[0]))

/* utf8_next - the code point at *p (advancing it); U+FFFD for a bad byte */
static uint32_t utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	uint32_t c = s[0];
	int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;

	if (c >= 0x80 && c < 0xc0)
		more = -1;
	if (c >= 0xf8)
		more = -1;
	if (more < 0) {
		*p = s + 1;
		return 0xfffd;
	}
	c &= more ? 0x3fu >> more : 0xff;
	for (int i = 1; i <= more; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*p = s + i;
			return 0xfffd;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	*p = s + 1 + more;
	return c;
}

/* visible - name as Windows reads it: invisibles gone, spaces plain */
static void visible(const char *name, struct buf *out, unsigned *tricks)
{
	const unsigned char *p = (const unsigned char *)name;

	while (*p) {
		const unsigned char *start = p;
		uint32_t c = utf8_next(&p);

		if (IN_SET(c, bidi_controls)) {
			*tricks |= NAME_TRICK_RTLO;
		} else if (IN_SET(c, invisibles)) {
			*tricks |= NAME_TRICK_INVISIBLE;
		} else if (IN_SET(c, lookalike_dots)) {
			buf_append_char(out, LOOKALIKE_DOT);
		} else if (IN_SET(c, wide_spaces)) {
			buf_append_char(out, ' ');
		} else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
			*tricks |= NAME_TRICK_CONTROL;
			buf_append_char(out, ' ');
		} else {
			buf_append(out, start, (size_t)(p - start));
		}
	}
}

/* ext_word - is s[0..len) (spaces trimmed by the caller) an extension? */
static bool ext_word(const char *s, size_t len)
{
	if (len == 0 || len > FILENAME_MAX_EXT_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '-' && c != '_')
			return false;
	}
	return true;
}

static void copy_lower(char *dst, const char *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] + 32 : src[i]);
	dst[len] = '\0';
}

static void add_ext(struct filename_info *info, const char *s, size_t len)
{
	if (info->nexts == FILENAME_MAX_EXTS) {
		memmove(info->exts[0], info->exts[1], sizeof(info->exts[0]) * (FILENAME_MAX_EXTS - 1));
		info->nexts--;
	}
	copy_lower(info->exts[info->nexts++], s, len);
}

/* segments - exts, ext and the tricks found between the dots of v */
static void segments(const char *v, size_t len, struct filename_info *info)
{
	size_t start = 0;
	bool first = true;
	char sep = 0;

	for (size_t i = 0; i <= len; i++) {
		size_t a = start, b = i;

		if (i < len && v[i] != '.' && v[i] != LOOKALIKE_DOT)
			continue;
		while (b > a && v[b - 1] == ' ')
			b--;
		if (i < len && i - b >= FILENAME_SPACE_RUN && (b > a || !first))
			info->tricks |= NAME_TRICK_SPACES;
		while (a < b && v[a] == ' ')
			a++;
		if (!first && ext_word(v + a, b - a)) {
			add_ext(info, v + a, b - a);
			if (sep == LOOKALIKE_DOT)
				info->tricks |= NAME_TRICK_LOOKALIKE_DOT;
			if (sep == '.' && i == len)
				copy_lower(info->ext, v + a, b - a);
		}
		first = false;
		if (i < len)
			sep = v[i];
		start = i + 1;
	}
}

void filename_analyze(const char *name, struct filename_info *info)
{
	const char *base = name;
	struct buf v;
	size_t len;

	memset(info, 0, sizeof(*info));
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	buf_init(&v);
	visible(base, &v, &info->tricks);
	len = v.len;
	while (len > 0 && (v.data[len - 1] == '.' || v.data[len - 1] == ' '))
		len--;
	if (len < v.len && len > 0)
		info->tricks |= NAME_TRICK_TRAILING;
	if (len > 0)
		segments(v.data, len, info);
	buf_free(&v);
}

const char *filename_trick_name(unsigned trick)
{
	switch (trick) {
	case NAME_TRICK_RTLO:
		return "rtlo";
	case NAME_TRICK_INVISIBLE:
		return "invisible";
	case NAME_TRICK_LOOKALIKE_DOT:
		return "lookalike_dot";
	case NAME_TRICK_SPACES:
		return "spaces";
	case NAME_TRICK_TRAILING:
		return "trailing";
	case NAME_TRICK_CONTROL:
		return "control";
	}
	return "unknown";
}
