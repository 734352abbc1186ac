/*
 * buf - growable, length-counted byte buffer.
 *
 * Message data and protocol lines are bytes, never assumed NUL-terminated;
 * buf keeps one spare byte so buf_cstr() can hand the contents to code that
 * wants a C string. A buf owns its storage; buf_free() releases it.
 */
#ifndef SEKISHO_BUF_H
#define SEKISHO_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t len);
void buf_append_str(struct buf *b, const char *s);
void buf_append_char(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void buf_consume(struct buf *b, size_t n);
const char *buf_cstr(struct buf *b);
char *buf_steal(struct buf *b);

#endif
