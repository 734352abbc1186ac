/*
 * url_scan - the links of a message as facts (in the analyzers).
 *
 * Links come from every text/plain and text/html body (converted to
 * UTF-8: the body.text and body.html facts), from HTML attachments under
 * any declared type, and from the visible text of HTML links. Each
 * distinct link (by its normalised form and visible text) is normalised
 * (url_normalize.h) once and gives:
 *
 *	url.scheme, url.host, url.domain   lowercase; host and domain in
 *	                                   A-label (punycode) form
 *	url.ip                             the address, for IP-literal hosts
 *	url.ip_literal, url.ip_obfuscated  "yes": an address as host, written
 *	                                   in decimal, hex, octal or short form
 *	url.host_escaped                   "yes": a percent-encoded host
 *	url.punycode, url.userinfo,        "yes": an IDN host; a "user@" before
 *	url.protocol_relative              the host; "//host" without scheme
 *	url.confusable                     "mixed_script" or "lookalike:DOMAIN"
 *	                                   (of protect_domains)
 *	url.text_host                      the host the visible text shows
 *	url.text_mismatch                  the domain a link goes to when its
 *	                                   visible text shows another one
 *	url.shortener                      the domain, for url_shorteners
 *	url.count                          distinct links
 *	url.limit_exceeded                 "yes": more than url_max links
 *
 * They are kept merged for the message and in one set per link
 * (facts.h), so a rule can ask several things of one link (rule_eval.h);
 * url.count and url.limit_exceeded are the message's only. The scan also
 * lists every link, with its own facts, for `sekisho scan --explain`
 * (content.h's report).
 */
#ifndef SEKISHO_URL_SCAN_H
#define SEKISHO_URL_SCAN_H

#include <stddef.h>

#include "common/conf.h"
#include "filters/facts.h"

struct url_normalizer;
struct content_report;

struct url_scan_settings {
	size_t max;			/* links inspected */
	const struct strlist *shorteners;
	const struct strlist *protect;
	const char *psl_file;
};

struct url_scanner;

/* url_scanner_new - loads what it needs now (the sandbox opens no file later) */
struct url_scanner *url_scanner_new(const struct url_scan_settings *s, char **error_r);
void url_scanner_free(struct url_scanner *u);

struct url_scan;

/* url_scan_begin - one message's scan; report may be NULL */
struct url_scan *url_scan_begin(struct url_scanner *u, struct content_report *report);

/* url_scan_html, url_scan_text - the links of one body or attachment */
void url_scan_html(struct url_scan *s, const char *html, size_t len);
void url_scan_text(struct url_scan *s, const char *text, size_t len);

/* url_scan_end - the facts of every link seen into facts; frees s */
void url_scan_end(struct url_scan *s, struct facts *facts);

#endif
