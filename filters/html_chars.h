/*
 * html_chars - the ASCII character classes of the HTML5 tokenizer
 * (WHATWG HTML 13.2.5), shared by the link extractor and the governor.
 */
#ifndef SEKISHO_HTML_CHARS_H
#define SEKISHO_HTML_CHARS_H

#include <stdbool.h>
#include <stddef.h>

static inline bool is_alpha(unsigned char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static inline bool is_alnum(unsigned char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

/* is_ws - ASCII white space as HTML defines it (CR counts: the input stream turns it into LF) */
static inline bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static inline unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

/* ascii_caseeq - does s[0..n) equal the lowercase word w, ignoring ASCII case? */
static inline bool ascii_caseeq(const char *s, const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)w[i])
			return false;
	return true;
}

#endif
