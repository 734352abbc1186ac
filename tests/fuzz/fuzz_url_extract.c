/*
 * fuzz_url_extract - finding the links in arbitrary HTML and plain text.
 *
 * The input is read both as HTML and as plain text. The first byte, when
 * it is below 16, sets the limit on links (so truncation is reached) and
 * is not part of the message. Invariants: never crash; at most max links;
 * every URL is non-empty valid UTF-8;
 * an HTML URL has no TAB, CR or LF and no leading or trailing space or
 * control, a text URL no space or control at all; source is one of the
 * documented names; only <a> and <area> links have a text, valid UTF-8 of
 * at most URL_EXTRACT_TEXT_MAX bytes; "text" links have no base.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "filters/url_extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const sources[] = {
    "href",       "src",  "action", "formaction",   "srcset", "poster",
    "background", "data", "css",    "meta-refresh", "text",
};

static void check_utf8(const char *s)
{
	size_t n = strlen(s), len;

	for (size_t i = 0; i < n; i += len)
		if (text_utf8_next((const unsigned char *)s + i, n - i, &len) < 0)
			abort();
}

static void check_source(const char *source)
{
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		if (source == sources[i] || strcmp(source, sources[i]) == 0)
			return;
	abort();
}

static void check_url(const struct url_ref *r, bool html)
{
	size_t n = strlen(r->url);

	if (n == 0)
		abort();
	check_utf8(r->url);
	if (strpbrk(r->url, "\t\r\n"))
		abort();
	if (html && ((unsigned char)r->url[0] <= 0x20 || (unsigned char)r->url[n - 1] <= 0x20))
		abort();
	for (size_t i = 0; !html && i < n; i++)
		if ((unsigned char)r->url[i] <= 0x20 || r->url[i] == 0x7f)
			abort();
}

static void check_list(const struct url_list *l, size_t max, bool html)
{
	if (l->count > max || (l->count > 0 && !l->items))
		abort();
	for (size_t i = 0; i < l->count; i++) {
		const struct url_ref *r = &l->items[i];

		check_source(r->source);
		check_url(r, html);
		if (r->text) {
			if (strcmp(r->source, "href") != 0 ||
			    strlen(r->text) > URL_EXTRACT_TEXT_MAX)
				abort();
			check_utf8(r->text);
		}
		if (r->base && strcmp(r->source, "text") == 0)
			abort();
		if (!html && (r->text || r->base || strcmp(r->source, "text") != 0))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max = 1000;
	struct url_list l;

	if (size > 0 && data[0] < 16) {
		max = data[0];
		data++;
		size--;
	}
	url_extract_html((const char *)data, size, max, &l);
	check_list(&l, max, true);
	url_list_free(&l);
	url_extract_text((const char *)data, size, max, &l);
	check_list(&l, max, false);
	url_list_free(&l);
	return 0;
}
