/*
 * html_governor - rewrite hostile HTML so that gumbo parses it in linear
 * time, the way it would parse it anyway.
 *
 * gumbo 0.10.1 has no depth or attribute limit and is quadratic on deep
 * nesting and on tags with many attributes (2 MB of nested <div>s takes
 * minutes). The governor tokenizes as HTML5 does, caps attributes, and
 * wraps very deep content in <template> windows; sane HTML comes out
 * byte for byte unchanged. The details are in html_governor.c.
 */
#ifndef SEKISHO_HTML_GOVERNOR_H
#define SEKISHO_HTML_GOVERNOR_H

#include <stddef.h>

#include "common/buf.h"

/* html_governor_run - html[0..len) rewritten into out (appended), ready for gumbo */
void html_governor_run(const char *html, size_t len, struct buf *out);

#endif
