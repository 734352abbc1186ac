/*
 * xalloc - allocation that cannot fail quietly.
 *
 * Out of memory is a broken invariant for a gateway that bounds every
 * buffer by configured limits, so these abort with a log line rather than
 * make every caller carry an error path it cannot test.
 */
#ifndef SEKISHO_XALLOC_H
#define SEKISHO_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
