/*
 * fuzz_url_normalize - reading links and their visible text.
 *
 * The input is up to three lines: the link, the <base href> (optional)
 * and the link's visible text (optional; the link itself when absent).
 * Invariants: never crash; on -1 nothing is set; on 0 the url is
 * printable ASCII within URL_TEXT_MAX, the scheme lowercase, the host a
 * lowercase A-label or IP within URL_HOST_MAX, the domain a suffix of it
 * at a label boundary and absent for IPs, the flags and the confusable
 * value consistent; a special URL read back from its own text gives the
 * same host, and its own text is no mismatch.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filters/url_normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct url_normalizer *normalizer(void)
{
	static const char *const protect[] = {"paypal.com", "microsoft.com",
	                                      "\xe4\xbe\x8b\xe3\x81\x88.jp"};
	static struct url_normalizer *n;
	char *error = NULL;

	if (!n && !(n = url_normalizer_new(NULL, protect, 3, &error)))
		abort();
	return n;
}

static void check_printable(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			abort();
}

static void check_host(const struct url_info *u)
{
	size_t h, d;

	check_printable(u->host, u->host[0] == '[' ? 2 + 45 : URL_HOST_MAX);
	for (const char *p = u->host; *p; p++)
		if ((*p >= 'A' && *p <= 'Z') || strchr("#%/<>?@\\^|", *p))
			abort();
	if (u->host[strlen(u->host) - 1] == '.' || (u->ip_literal && u->domain))
		abort();
	if (u->host_unicode && !u->punycode)
		abort();
	if (!u->domain)
		return;
	h = strlen(u->host), d = strlen(u->domain);
	if (d > h || strcmp(u->host + h - d, u->domain) != 0 ||
	    (d < h && u->host[h - d - 1] != '.'))
		abort();
}

static void check_info(const struct url_info *u)
{
	check_printable(u->url, URL_TEXT_MAX);
	check_printable(u->scheme, URL_RAW_MAX);
	for (const char *p = u->scheme; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			abort();
	if (u->host)
		check_host(u);
	else if (u->host_unicode || u->domain || u->ip_literal || u->punycode || u->confusable)
		abort();
	if (u->ip_obfuscated && !u->ip_literal)
		abort();
	if (u->port < -1 || u->port > 65535)
		abort();
	if (u->confusable && strcmp(u->confusable, "mixed_script") != 0 &&
	    strcmp(u->confusable, "lookalike:paypal.com") != 0 &&
	    strcmp(u->confusable, "lookalike:microsoft.com") != 0 &&
	    strcmp(u->confusable, "lookalike:xn--r8jz45g.jp") != 0)
		abort();
}

static bool special(const char *scheme)
{
	return !strcmp(scheme, "http") || !strcmp(scheme, "https") || !strcmp(scheme, "ftp") ||
	       !strcmp(scheme, "ws") || !strcmp(scheme, "wss");
}

/* read_back - the url text of a special URL names the same host, and is no mismatch */
static void read_back(struct url_normalizer *n, const struct url_info *u)
{
	struct url_info again;

	if (!special(u->scheme) || strlen(u->url) >= URL_TEXT_MAX)
		return;
	if (url_normalize(n, u->url, NULL, &again) != 0 || strcmp(again.host, u->host) != 0)
		abort();
	url_info_free(&again);
	if (url_text_mismatch(n, u->url, u))
		abort();
}

/* next_line - the line at *p (NUL-terminated in place), NULL when there is none */
static char *next_line(char **p)
{
	char *line = *p, *nl;

	if (!line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	*p = nl ? nl + 1 : NULL;
	return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct url_normalizer *n = normalizer();
	struct url_info u;
	char *copy, *p, *raw, *base, *text;

	if (size > 3 * URL_RAW_MAX)
		return 0;
	copy = malloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	raw = next_line(&p);
	base = next_line(&p);
	text = next_line(&p);
	if (url_normalize(n, raw, base && *base ? base : NULL, &u) == 0) {
		check_info(&u);
		read_back(n, &u);
		(void)url_text_mismatch(n, text ? text : raw, &u);
		url_info_free(&u);
	} else if (u.url || u.scheme || u.host || u.domain || u.userinfo || u.port) {
		abort();
	}
	free(copy);
	return 0;
}
