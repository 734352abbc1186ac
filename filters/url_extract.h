/*
 * url_extract - every link in the text and HTML of a mail message, found
 * the way a mail client finds them.
 *
 * HTML is parsed by gumbo, an HTML5 parser, so character references,
 * broken markup and misnested tags resolve as a browser resolves them.
 * Links are read from:
 *   href        a, area, link (and SVG a, image); base is not reported but
 *               its href is the base of the others
 *   src         img, script, iframe, frame, embed, video, audio, source,
 *               input type=image
 *   action      form;  formaction: button, input
 *   srcset      img, source (each candidate URL)
 *   poster      video;  data: object;  background: any element
 *   css         url(...) and @import "..." in style attributes and <style>
 *   meta-refresh  <meta http-equiv=refresh content="0;url=...">
 *   text        bare URLs in the text, as clients auto-link them (not the
 *               text of an <a>, which its href covers)
 * A URL is reported as the client would follow it, before resolution:
 * references decoded, leading and trailing spaces and controls and every
 * TAB, CR and LF removed (URL Standard, basic URL parser). javascript:,
 * data: and "//host" URLs are reported as they are: the normalizer
 * decides. Empty values are not links.
 *
 * Plain text: "scheme://..." for any scheme but mailto, and "www." forms.
 * Trailing . , ; : ! ? (and the ideographic full stops), and a closing
 * ) ] } or ' with no partner inside the URL, are taken as the sentence's,
 * not the link's. A URL ends at space, controls, < > " `, invalid UTF-8,
 * and CJK and full-width brackets and punctuation (「https://example.jp/」).
 * <http://...> and <URL:http://...> end at the '>' and may be folded
 * over lines (RFC 3986, appendix C): the white space is dropped.
 *
 * gumbo 0.10.1 has no depth or attribute limits and is quadratic on deep
 * nesting and on tags with many attributes, so the HTML first goes through
 * a linear pass (see url_extract.c) that bounds both; input past
 * URL_EXTRACT_MAX_INPUT is cut. Nothing here opens a file or a socket: it
 * runs in the sandboxed analyzer.
 *
 * Ownership: the input is only read. A url_list owns its items and every
 * string in them; url_list_free() releases them. source is static.
 */
#ifndef SEKISHO_URL_EXTRACT_H
#define SEKISHO_URL_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

#define URL_EXTRACT_MAX_INPUT (8u << 20) /* bytes read; the rest is cut */
#define URL_EXTRACT_TEXT_MAX  256        /* bytes of an <a>'s visible text kept */

struct url_ref {
	char *url;          /* as the client would follow it, UTF-8, not yet resolved */
	char *base;         /* the first <base href>, or NULL (always NULL for "text") */
	char *text;         /* <a>: its visible text; <area>: its alt; else NULL */
	const char *source; /* "href", "src", "action", "formaction", "srcset", "poster",
	                       "background", "data", "css", "meta-refresh", "text" */
};

struct url_list {
	struct url_ref *items;
	size_t count;
	bool truncated; /* more links than max, or the input was cut */
};

/* url_extract_html - every link in html[0..len) (UTF-8 or not: invalid bytes are replaced),
 * at most max, into out (overwritten) */
void url_extract_html(const char *html, size_t len, size_t max, struct url_list *out);

/* url_extract_text - the links a client auto-links in plain text[0..len), at most max */
void url_extract_text(const char *text, size_t len, size_t max, struct url_list *out);

/* url_list_free - release l's items and strings; l is left empty */
void url_list_free(struct url_list *l);

#endif
