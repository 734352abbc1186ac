/*
 * url_normalize - links read as a browser reads them (see url_normalize.h).
 *
 * The split into scheme, authority and the rest, and the host, follow the
 * WHATWG URL Standard ourselves: libcurl reads authorities the RFC 3986
 * way ("http://evil\@paypal.com/" goes to paypal.com for curl, to evil
 * for a browser) and normalises IPv4 hosts before we can see how they
 * were written. libcurl resolves relative references and removes dot
 * segments, on the path alone, behind a placeholder host.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <idn2.h>
#include <libpsl.h>
#include <unicode/uidna.h>
#include <unicode/uspoof.h>

#include "common/buf.h"
#include "common/text.h"
#include "common/xalloc.h"
#include "filters/url_normalize.h"

/* the host libcurl sees while it resolves a path; ours is read apart */
#define PLACEHOLDER "http://h"

/* UTS #46 errors WHATWG "domain to ASCII" ignores (CheckHyphens and VerifyDnsLength false) */
#define UTS46_IGNORED                                                                              \
	(UIDNA_ERROR_EMPTY_LABEL | UIDNA_ERROR_LABEL_TOO_LONG | UIDNA_ERROR_DOMAIN_NAME_TOO_LONG | \
	 UIDNA_ERROR_LEADING_HYPHEN | UIDNA_ERROR_TRAILING_HYPHEN | UIDNA_ERROR_HYPHEN_3_4)

struct protected_domain {
	char *ascii;       /* A-label */
	char *skeleton[2]; /* UTS #39 skeletons of the U-label form, as is and in capitals */
};

struct url_normalizer {
	psl_ctx_t *psl;
	USpoofChecker *spoof;
	USpoofCheckResult *spoof_result; /* scratch, like curl: one thread at a time */
	UIDNA *uts46;
	CURLU *curl;
	struct protected_domain *protect;
	size_t nprotect;
};

enum scheme_kind { SCHEME_OTHER, SCHEME_SPECIAL, SCHEME_FILE };

/* the pieces of one link, as written, before its host is read */
struct url_parts {
	char *scheme; /* lowercase */
	enum scheme_kind kind;
	bool authority;  /* "//" (always, for special schemes) */
	char *host;      /* between userinfo and port; NULL without authority */
	char *port;      /* as written; NULL when none */
	char *rest;      /* path, query, fragment (the opaque path without authority) */
	char *base_rest; /* when set, rest is a reference relative to this */
	bool userinfo, protocol_relative;
};

/* WHATWG "special schemes" and their default ports */
static const struct {
	const char *name;
	int port;
} special_schemes[] = {
    {"http", 80}, {"https", 443}, {"ftp", 21}, {"ws", 80}, {"wss", 443},
};

static bool is_alpha(unsigned char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

static void lowercase(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static size_t count_labels(const char *s)
{
	size_t n = 1;

	for (; *s; s++)
		n += *s == '.';
	return n;
}

/* valid_text - valid UTF-8 without controls: fit to hand on as a fact */
static bool valid_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len;

	for (size_t i = 0; i < n; i += len) {
		long cp = text_utf8_next(p + i, n - i, &len);

		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			return false;
	}
	return true;
}

/* default_port - the port of a special scheme; -1 for the others */
static int default_port(const char *scheme)
{
	for (size_t i = 0; i < sizeof(special_schemes) / sizeof(special_schemes[0]); i++)
		if (strcmp(scheme, special_schemes[i].name) == 0)
			return special_schemes[i].port;
	return -1;
}

static enum scheme_kind scheme_kind(const char *scheme)
{
	if (default_port(scheme) >= 0)
		return SCHEME_SPECIAL;
	return strcmp(scheme, "file") == 0 ? SCHEME_FILE : SCHEME_OTHER;
}

/*
 * clean - raw without leading and trailing C0 controls and spaces, and
 * without tabs and line breaks anywhere (WHATWG basic URL parser, steps 1-3)
 */
static char *clean(const char *raw)
{
	size_t len = strlen(raw), j = 0;
	char *s;

	while (len && (unsigned char)raw[len - 1] <= 0x20)
		len--;
	while (len && (unsigned char)*raw <= 0x20)
		raw++, len--;
	s = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		if (raw[i] != '\t' && raw[i] != '\n' && raw[i] != '\r')
			s[j++] = raw[i];
	s[j] = '\0';
	return s;
}

/* slashify - '\' is '/' before the query in special URLs (WHATWG, special-scheme states) */
static void slashify(char *s)
{
	for (; *s && *s != '?' && *s != '#'; s++)
		if (*s == '\\')
			*s = '/';
}

/*
 * scheme_length - the length of s's scheme, 0 when none. A "scheme" with a
 * dot ("www.example.com:8080/") is a host and port to the people who write
 * links in mail, though WHATWG would call it a scheme.
 */
static size_t scheme_length(const char *s)
{
	size_t i = 1;

	if (!is_alpha((unsigned char)s[0]))
		return 0;
	while (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) || s[i] == '+' ||
	       s[i] == '-' || s[i] == '.')
		i++;
	if (s[i] != ':' || memchr(s, '.', i))
		return 0;
	return i;
}

static bool starts_www(const char *s)
{
	return strncasecmp(s, "www.", 4) == 0 && s[4] && !strchr("./?#:", s[4]);
}

/* split_hostport - host and port out of s[0..len); -1 when malformed */
static int split_hostport(const char *s, size_t len, struct url_parts *p)
{
	const char *colon;

	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close)
			return -1;
		colon = close + 1 < s + len ? close + 1 : NULL;
		if (colon && *colon != ':')
			return -1;
	} else {
		colon = memchr(s, ':', len);
	}
	p->host = xstrndup(s, colon ? (size_t)(colon - s) : len);
	if (colon && colon + 1 < s + len)
		p->port = xstrndup(colon + 1, (size_t)(s + len - colon - 1));
	return 0;
}

/*
 * split_authority - a points just past "//": userinfo ends at the last '@'
 * of the authority (WHATWG authority state), the authority at '/', '?', '#'
 */
static int split_authority(const char *a, struct url_parts *p)
{
	size_t end = strcspn(a, "/?#");
	const char *hostport = a;

	p->authority = true;
	for (size_t i = 0; i < end; i++)
		if (a[i] == '@') {
			p->userinfo = true;
			hostport = a + i + 1;
		}
	p->rest = xstrdup(a + end);
	if (split_hostport(hostport, (size_t)(a + end - hostport), p) < 0)
		return -1;
	if (p->kind == SCHEME_SPECIAL && !p->host[0])
		return -1; /* WHATWG: host-missing */
	return 0;
}

/* split_absolute - rest follows "scheme:" */
static int split_absolute(char *rest, struct url_parts *p)
{
	if (p->kind != SCHEME_OTHER)
		slashify(rest);
	if (p->kind == SCHEME_SPECIAL) {
		/* WHATWG "special authority ignore slashes": http:evil, http:///evil */
		while (*rest == '/')
			rest++;
		return split_authority(rest, p);
	}
	if (rest[0] == '/' && rest[1] == '/')
		return split_authority(rest + 2, p);
	p->rest = xstrdup(rest);
	return 0;
}

/* split_relative - ref (no scheme, no "//") against base */
static int split_relative(char *ref, const struct url_parts *base, struct url_parts *p)
{
	if (!base->authority)
		return -1; /* WHATWG: a base with an opaque path takes no relative reference */
	if (base->kind != SCHEME_OTHER)
		slashify(ref);
	free(p->scheme);
	p->scheme = xstrdup(base->scheme);
	p->kind = base->kind;
	p->authority = true;
	p->host = base->host ? xstrdup(base->host) : NULL;
	p->port = base->port ? xstrdup(base->port) : NULL;
	p->base_rest = xstrdup(base->rest);
	p->rest = xstrdup(ref);
	return 0;
}

/* split_schemeless - s has no scheme: protocol-relative, relative to base, or "www." */
static int split_schemeless(char *s, const struct url_parts *base, struct url_parts *p)
{
	if (!base || base->kind != SCHEME_OTHER)
		slashify(s);
	if (s[0] == '/' && s[1] == '/') {
		/* a browser takes the document's scheme; a mail client has none, so https */
		p->scheme = xstrdup(base && base->authority ? base->scheme : "https");
		p->kind = scheme_kind(p->scheme);
		p->protocol_relative = true;
		while (*s == '/' && p->kind == SCHEME_SPECIAL)
			s++;
		return split_authority(p->kind == SCHEME_SPECIAL ? s : s + 2, p);
	}
	if (base)
		return split_relative(s, base, p);
	if (!starts_www(s))
		return -1;
	p->scheme = xstrdup("http");
	p->kind = SCHEME_SPECIAL;
	return split_authority(s, p);
}

/* split_link - s (cleaned) into parts; base: already split, or NULL */
static int split_link(char *s, const struct url_parts *base, struct url_parts *p)
{
	size_t slen = scheme_length(s);
	char *rest = s + slen + 1;

	if (!slen)
		return split_schemeless(s, base, p);
	p->scheme = xstrndup(s, slen);
	lowercase(p->scheme);
	p->kind = scheme_kind(p->scheme);
	/* WHATWG "special relative or authority state": http:page.html against an http base */
	if (p->kind == SCHEME_SPECIAL && base && strcmp(base->scheme, p->scheme) == 0 &&
	    rest[0] != '/' && rest[0] != '\\')
		return split_relative(rest, base, p);
	return split_absolute(rest, p);
}

static void parts_free(struct url_parts *p)
{
	free(p->scheme);
	free(p->host);
	free(p->port);
	free(p->rest);
	free(p->base_rest);
	memset(p, 0, sizeof(*p));
}

/* split_base - the <base href>, when it can anchor relative links */
static bool split_base(const char *base, struct url_parts *bp)
{
	char *s;
	bool ok;

	if (!base || strlen(base) > URL_RAW_MAX)
		return false;
	s = clean(base);
	ok = split_link(s, NULL, bp) == 0 && bp->authority;
	free(s);
	if (!ok)
		parts_free(bp);
	return ok;
}

/* ---- the host (WHATWG host parser) ---- */

/* percent_decode - s with %XX decoded; *escaped_r when one was */
static void percent_decode(const char *s, struct buf *b, bool *escaped_r)
{
	for (; *s; s++) {
		int hi = s[0] == '%' ? hex_value((unsigned char)s[1]) : -1;
		int lo = hi >= 0 ? hex_value((unsigned char)s[2]) : -1;

		if (lo >= 0) {
			buf_append_char(b, (char)(hi << 4 | lo));
			*escaped_r = true;
			s += 2;
		} else {
			buf_append_char(b, *s);
		}
	}
}

/*
 * domain_to_ascii - UTS #46 ToASCII, non-transitional (WHATWG "domain to
 * ASCII"). libidn2 applies IDNA2008's stricter validity on top, and so
 * refuses labels browsers accept (symbols, emoji: "i❤.ws"); those go
 * through ICU's UTS #46, which Chromium uses, with the WHATWG options.
 */
static char *domain_to_ascii(struct url_normalizer *n, const char *s)
{
	char *out = NULL, small[URL_HOST_MAX + 2];
	UIDNAInfo info = UIDNA_INFO_INITIALIZER;
	UErrorCode st = U_ZERO_ERROR;
	int32_t len;

	if (is_ascii(s)) {
		out = xstrdup(s);
		lowercase(out);
		return out;
	}
	if (idn2_to_ascii_8z(s, &out, IDN2_NONTRANSITIONAL) == IDN2_OK) {
		char *copy = xstrdup(out);

		idn2_free(out);
		return copy;
	}
	len = uidna_nameToASCII_UTF8(n->uts46, s, -1, small, sizeof(small), &info, &st);
	if (U_FAILURE(st) || (info.errors & ~UTS46_IGNORED) || len >= (int32_t)sizeof(small))
		return NULL; /* too long for a host anyway */
	small[len] = '\0';
	return xstrdup(small);
}

/* domain_to_unicode - the U-label form, when it is fit to show */
static char *domain_to_unicode(const char *ascii)
{
	char *out = NULL, *copy = NULL;

	if (idn2_to_unicode_8z8z(ascii, &out, 0) == IDN2_OK && valid_text(out))
		copy = xstrdup(out);
	idn2_free(out);
	return copy;
}

/* forbidden_domain - a WHATWG forbidden domain code point in an A-label host */
static bool forbidden_domain(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    strchr("#%/:<>?@[\\]^|", *s))
			return true;
	return false;
}

static bool has_xn_label(const char *s)
{
	for (const char *p = s; p; p = strchr(p, '.'), p = p ? p + 1 : NULL)
		if (strncmp(p, "xn--", 4) == 0)
			return true;
	return false;
}

/* ipv4_number - WHATWG IPv4 number parser: decimal, 0x hex, 0 octal; -1 on failure */
static int ipv4_number(const char *s, size_t len, uint64_t *v_r)
{
	unsigned radix = 10;
	uint64_t v = 0;

	if (len == 0)
		return -1;
	if (len >= 2 && s[0] == '0' && (s[1] | 0x20) == 'x')
		radix = 16, s += 2, len -= 2;
	else if (len >= 2 && s[0] == '0')
		radix = 8, s++, len--;
	for (size_t i = 0; i < len; i++) {
		int d = hex_value((unsigned char)s[i]);

		if (d < 0 || (unsigned)d >= radix)
			return -1;
		v = v > UINT32_MAX ? v
		                   : v * radix + (unsigned)d; /* past 2^32 it only has to fail */
	}
	*v_r = v;
	return 0;
}

/* ends_in_number - WHATWG "ends in a number checker" (trailing dots already gone) */
static bool ends_in_number(const char *host)
{
	const char *last = strrchr(host, '.');
	uint64_t v;
	bool digits = true;

	last = last ? last + 1 : host;
	for (const char *p = last; *p; p++)
		digits = digits && is_digit((unsigned char)*p);
	return (*last && digits) || ipv4_number(last, strlen(last), &v) == 0;
}

/* ipv4_parse - WHATWG IPv4 parser: 1 to 4 parts, the last filling the rest; -1 on failure */
static int ipv4_parse(const char *host, uint32_t *addr_r)
{
	uint64_t part[4], addr = 0;
	size_t n = 0;

	for (const char *p = host;; p++) {
		size_t len = strcspn(p, ".");

		if (n == 4 || ipv4_number(p, len, &part[n++]) < 0)
			return -1;
		p += len;
		if (!*p)
			break;
	}
	for (size_t i = 0; i + 1 < n; i++) {
		if (part[i] > 255)
			return -1;
		addr |= part[i] << (8 * (3 - i));
	}
	if (part[n - 1] >= (uint64_t)1 << (8 * (5 - n)))
		return -1;
	*addr_r = (uint32_t)(addr | part[n - 1]);
	return 0;
}

/* read_ipv4 - host ends in a number, so it must be an IPv4 address */
static int read_ipv4(const char *ascii, const char *written, struct url_info *h)
{
	uint32_t a;

	if (ipv4_parse(ascii, &a) < 0)
		return -1;
	h->host = xasprintf("%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
	h->ip_literal = true;
	h->ip_obfuscated = strcasecmp(written, h->host) != 0;
	return 0;
}

/* read_ipv6 - "[...]"; canonical text (RFC 5952) from inet_ntop */
static int read_ipv6(const char *raw, struct url_info *h)
{
	size_t len = strlen(raw);
	char inner[64], text[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (len < 3 || len - 2 >= sizeof(inner) || raw[len - 1] != ']')
		return -1;
	memcpy(inner, raw + 1, len - 2);
	inner[len - 2] = '\0';
	if (inet_pton(AF_INET6, inner, &a) != 1 || !inet_ntop(AF_INET6, &a, text, sizeof(text)))
		return -1;
	h->host = xasprintf("[%s]", text);
	h->ip_literal = true;
	return 0;
}

/* read_domain - decoded host text to A-label, IPv4 or failure */
static int read_domain(struct url_normalizer *n, const char *decoded, struct url_info *h)
{
	char *ascii = domain_to_ascii(n, decoded);
	size_t len = ascii ? strlen(ascii) : 0;
	int rc = -1;

	/* one name with or without the root's dot: "example.com." is example.com */
	while (len && ascii[len - 1] == '.')
		ascii[--len] = '\0';
	if (!ascii || !len || forbidden_domain(ascii)) {
		free(ascii);
		return -1;
	}
	if (ends_in_number(ascii)) {
		rc = read_ipv4(ascii, decoded, h);
	} else if (len <= URL_HOST_MAX) {
		h->punycode = has_xn_label(ascii);
		h->host_unicode = h->punycode ? domain_to_unicode(ascii) : NULL;
		h->host = ascii;
		return 0;
	}
	free(ascii);
	return rc;
}

/*
 * read_host - the host as written into h's host fields (left clear on
 * failure); -1 when a browser would refuse it
 */
static int read_host(struct url_normalizer *n, const char *raw, struct url_info *h)
{
	struct buf dec;
	int rc = -1;

	if (raw[0] == '[')
		return read_ipv6(raw, h);
	buf_init(&dec);
	percent_decode(raw, &dec, &h->host_escaped);
	if (dec.len && !memchr(buf_cstr(&dec), '\0', dec.len) && valid_text(buf_cstr(&dec)))
		rc = read_domain(n, buf_cstr(&dec), h);
	buf_free(&dec);
	if (rc < 0)
		h->host_escaped = false;
	return rc;
}

/* ---- path, query and fragment ---- */

/* encode - s with controls, spaces, non-ASCII and "<>` percent-encoded (WHATWG sets) */
static void encode(const char *s, struct buf *b)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || strchr("\"<>`", c))
			buf_printf(b, "%%%02X", c);
		else
			buf_append_char(b, (char)c);
	}
}

static void append_part(struct buf *b, CURLU *u, CURLUPart part, const char *lead)
{
	char *s = NULL;

	if (curl_url_get(u, part, &s, 0) == CURLUE_OK && s) {
		buf_append_str(b, lead);
		buf_append_str(b, s);
	}
	curl_free(s);
}

/* curl_set - one (encoded) URL or reference into the handle */
static bool curl_set(CURLU *u, const char *prefix, const char *s)
{
	struct buf b;
	bool ok;

	buf_init(&b);
	buf_append_str(&b, prefix);
	encode(s, &b);
	ok = curl_url_set(u, CURLUPART_URL, buf_cstr(&b), CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK;
	buf_free(&b);
	return ok;
}

/*
 * resolve_rest - path, query and fragment with dot segments removed and
 * the reference resolved (RFC 3986 section 5.2). libcurl drops the last
 * path segment for a reference that is empty or only a fragment (the
 * same document), so those keep the base here.
 */
static int resolve_rest(struct url_normalizer *n, const struct url_parts *p, struct buf *out)
{
	const char *ref = p->rest;
	bool same_doc = p->base_rest && (!ref[0] || ref[0] == '#');
	/* a first segment with ':' would read as a scheme (RFC 3986 section 4.2) */
	bool dot = memchr(ref, ':', strcspn(ref, "/?#")) != NULL;

	if (!curl_set(n->curl, PLACEHOLDER, p->base_rest ? p->base_rest : ref))
		return -1;
	if (same_doc)
		curl_url_set(n->curl, CURLUPART_FRAGMENT, NULL, 0);
	else if (p->base_rest && !curl_set(n->curl, dot ? "./" : "", ref))
		return -1;
	append_part(out, n->curl, CURLUPART_PATH, "");
	append_part(out, n->curl, CURLUPART_QUERY, "?");
	if (same_doc)
		encode(ref, out);
	else
		append_part(out, n->curl, CURLUPART_FRAGMENT, "#");
	return 0;
}

/* cut - b to at most max bytes, never inside a %XX */
static void cut(struct buf *b, size_t max)
{
	if (b->len <= max)
		return;
	b->len = max;
	if (b->len >= 1 && b->data[b->len - 1] == '%')
		b->len -= 1;
	else if (b->len >= 2 && b->data[b->len - 2] == '%')
		b->len -= 2;
	b->data[b->len] = '\0';
}

/* opaque_text - "javascript:..." and the like; scripts and data are cut short */
static void opaque_text(const struct url_parts *p, struct buf *b)
{
	buf_printf(b, "%s:", p->scheme);
	encode(p->rest, b);
	if (strcmp(p->scheme, "data") == 0) {
		const char *comma = strchr(buf_cstr(b), ',');

		/* the media type says what it is; the payload is no fact */
		if (comma && (size_t)(comma + 1 - b->data) < URL_SHORT_MAX)
			cut(b, (size_t)(comma + 1 - b->data));
		cut(b, URL_SHORT_MAX);
	} else if (strcmp(p->scheme, "javascript") == 0) {
		cut(b, URL_SHORT_MAX);
	}
	cut(b, URL_TEXT_MAX);
}

/* ---- confusables (UTS #39) ---- */

/*
 * skeleton - the UTS #39 skeleton of s, allocated; NULL on failure. With
 * capitals, ASCII letters are uppercased first: confusables.txt maps '0'
 * to 'O' and '1' to 'l' but never '0' to 'o', so "micr0soft" only meets
 * "microsoft" as "MICR0SOFT" and "MICROSOFT".
 */
static char *skeleton(struct url_normalizer *n, const char *s, bool capitals)
{
	UErrorCode st = U_ZERO_ERROR;
	char *in = xstrdup(s), *out = NULL;
	int32_t need;

	for (char *p = in; capitals && *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 32);
	need = uspoof_getSkeletonUTF8(n->spoof, 0, in, -1, NULL, 0, &st);
	if (st == U_BUFFER_OVERFLOW_ERROR || U_SUCCESS(st)) {
		out = xmalloc((size_t)need + 1);
		st = U_ZERO_ERROR;
		uspoof_getSkeletonUTF8(n->spoof, 0, in, -1, out, need + 1, &st);
	}
	free(in);
	if (U_FAILURE(st)) {
		free(out);
		return NULL;
	}
	return out;
}

/* under - host is domain or a subdomain of it */
static bool under(const char *host, const char *domain)
{
	size_t h = strlen(host), d = strlen(domain);

	return h >= d && strcmp(host + h - d, domain) == 0 && (h == d || host[h - d - 1] == '.');
}

/* skeleton_match - the protected domain with s's skeleton (as is, or in capitals) */
static const char *skeleton_match(struct url_normalizer *n, const char *s, int capitals)
{
	char *skel = skeleton(n, s, capitals);
	const char *found = NULL;

	for (size_t i = 0; skel && !found && i < n->nprotect; i++)
		if (strcmp(skel, n->protect[i].skeleton[capitals]) == 0)
			found = n->protect[i].ascii;
	free(skel);
	return found;
}

/* lookalike - the protected domain shown (or a parent, down to keep labels) looks like */
static const char *lookalike(struct url_normalizer *n, const char *shown, size_t keep)
{
	const char *found = NULL;

	for (const char *s = shown; s && !found && count_labels(s) >= keep;
	     s = strchr(s, '.'), s = s ? s + 1 : s)
		for (int capitals = 0; capitals < 2 && !found; capitals++)
			found = skeleton_match(n, s, capitals);
	return found;
}

/* mixed_script - a label of the U-label host fails the restriction level (UTS #39 section 5.2) */
static bool mixed_script(struct url_normalizer *n, const char *unicode)
{
	for (const char *s = unicode; *s;) {
		size_t len = strcspn(s, ".");
		UErrorCode st = U_ZERO_ERROR;
		int32_t r = uspoof_check2UTF8(n->spoof, s, (int32_t)len, n->spoof_result, &st);

		if (U_SUCCESS(st) && (r & (USPOOF_RESTRICTION_LEVEL | USPOOF_MIXED_NUMBERS)))
			return true;
		s += len + (s[len] == '.');
	}
	return false;
}

static char *confusable(struct url_normalizer *n, const struct url_info *i)
{
	const char *shown, *prot;
	size_t keep;

	if (!i->host || i->ip_literal)
		return NULL;
	for (size_t k = 0; k < n->nprotect; k++)
		if (under(i->host, n->protect[k].ascii))
			return NULL;
	shown = i->host_unicode ? i->host_unicode : i->host;
	keep = count_labels(shown);
	if (i->domain && count_labels(i->host) - count_labels(i->domain) < keep)
		keep -= count_labels(i->host) - count_labels(i->domain);
	if ((prot = lookalike(n, shown, keep)))
		return xasprintf("lookalike:%s", prot);
	if (i->host_unicode && mixed_script(n, i->host_unicode))
		return xstrdup("mixed_script");
	return NULL;
}

/* ---- putting it together ---- */

/* read_port - digits, the scheme's default dropped; -1 when malformed */
static int read_port(const struct url_parts *p, int *port_r)
{
	long v = 0;

	*port_r = -1;
	if (!p->port)
		return 0;
	for (const char *s = p->port; *s; s++) {
		if (!is_digit((unsigned char)*s) || (v = v * 10 + (*s - '0')) > 65535)
			return -1;
	}
	*port_r = v == default_port(p->scheme) ? -1 : (int)v;
	return 0;
}

/* mailto_host - the domain of the first address of a mailto: link (RFC 6068) */
static void mailto_host(struct url_normalizer *n, const char *rest, struct url_info *out)
{
	size_t end = strcspn(rest, "?,");
	char *addr = xstrndup(rest, end), *at = strrchr(addr, '@');

	if (at)
		(void)read_host(n, at + 1, out); /* no domain is no error here */
	free(addr);
}

/* fill_host - host, port and their facts */
static int fill_host(struct url_normalizer *n, const struct url_parts *p, struct url_info *out)
{
	if (!p->authority) {
		if (strcmp(p->scheme, "mailto") == 0)
			mailto_host(n, p->rest, out);
		return 0;
	}
	if (read_port(p, &out->port) < 0)
		return -1;
	if (p->host && p->host[0] && read_host(n, p->host, out) < 0)
		return -1;
	return 0;
}

/* fill_text - url: scheme, host, port, resolved path; no credentials */
static int fill_text(struct url_normalizer *n, const struct url_parts *p, struct url_info *out)
{
	struct buf b;

	buf_init(&b);
	if (!p->authority) {
		opaque_text(p, &b);
	} else {
		buf_printf(&b, "%s://%s", p->scheme, out->host ? out->host : "");
		if (out->port >= 0)
			buf_printf(&b, ":%d", out->port);
		if (resolve_rest(n, p, &b) < 0) {
			buf_free(&b);
			return -1;
		}
		cut(&b, URL_TEXT_MAX);
	}
	out->url = buf_steal(&b);
	return 0;
}

static int fill_info(struct url_normalizer *n, const struct url_parts *p, struct url_info *out)
{
	out->port = -1;
	out->scheme = xstrdup(p->scheme);
	out->userinfo = p->userinfo;
	out->protocol_relative = p->protocol_relative;
	if (fill_host(n, p, out) < 0 || fill_text(n, p, out) < 0)
		return -1;
	if (out->host && !out->ip_literal) {
		const char *d = psl_registrable_domain(n->psl, out->host);

		out->domain = d ? xstrdup(d) : NULL;
	}
	out->confusable = confusable(n, out);
	return 0;
}

int url_normalize(struct url_normalizer *n, const char *raw, const char *base, struct url_info *out)
{
	struct url_parts p = {0}, bp = {0};
	bool have_base;
	char *s;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!raw || strlen(raw) > URL_RAW_MAX)
		return -1;
	have_base = split_base(base, &bp);
	s = clean(raw);
	if (split_link(s, have_base ? &bp : NULL, &p) == 0 && fill_info(n, &p, out) == 0)
		rc = 0;
	else
		url_info_free(out);
	free(s);
	parts_free(&p);
	parts_free(&bp);
	return rc;
}

void url_info_free(struct url_info *i)
{
	free(i->url);
	free(i->scheme);
	free(i->host);
	free(i->host_unicode);
	free(i->domain);
	free(i->confusable);
	memset(i, 0, sizeof(*i));
}

/* ---- link text ---- */

/* text_word - text trimmed of spaces and enclosing punctuation; NULL unless one word */
static char *text_word(const char *text)
{
	size_t len = strlen(text);

	while (len && (strchr(" \t\r\n\f\v.,;:!?)]}>\"'", text[len - 1])))
		len--;
	while (len && strchr(" \t\r\n\f\v([{<\"'", *text))
		text++, len--;
	if (!len || len > URL_RAW_MAX)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] <= 0x20)
			return NULL;
	return xstrndup(text, len);
}

/* domain_shaped - the word starts with labels (letters, digits, '-', non-ASCII) and dots */
static bool domain_shaped(const char *w, bool *quad_r)
{
	size_t end = strcspn(w, "/?#:"), labels = 1, len = 0;
	bool digits = true;

	for (size_t i = 0; i < end; i++) {
		unsigned char c = (unsigned char)w[i];

		if (c == '.') {
			if (!len)
				return false;
			labels++, len = 0;
			continue;
		}
		if (!is_alpha(c) && !is_digit(c) && c != '-' && c < 0x80)
			return false;
		digits = digits && is_digit(c);
		len++;
	}
	*quad_r = digits && labels == 4;
	return len && labels >= 2;
}

/* listed_suffix - host ends in a public suffix the list names (not the '*' fallback) */
static bool listed_suffix(struct url_normalizer *n, const char *host)
{
	const char *suffix = psl_unregistrable_domain(n->psl, host);

	return suffix &&
	       psl_is_public_suffix2(n->psl, suffix, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE);
}

/* text_host - the URL the word names, read; -1 when it names none */
static int text_host(struct url_normalizer *n, const char *w, struct url_info *info)
{
	size_t slen = scheme_length(w);
	bool quad = false, bare = false;
	char *url;
	int rc;

	if ((slen &&
	     (strncmp(w + slen + 1, "//", 2) == 0 || strncmp(w + slen + 1, "\\\\", 2) == 0)) ||
	    starts_www(w)) {
		url = xstrdup(w);
	} else if (domain_shaped(w, &quad)) {
		url = xasprintf("http://%s", w);
		bare = true;
	} else {
		return -1;
	}
	rc = url_normalize(n, url, NULL, info);
	free(url);
	/* "page.html", "v1.2": a dotted word is a domain only when its suffix is listed */
	if (rc == 0 &&
	    (!info->host || (bare && !(info->ip_literal ? quad : listed_suffix(n, info->host))))) {
		url_info_free(info);
		rc = -1;
	}
	return rc;
}

bool url_text_mismatch(struct url_normalizer *n, const char *text, const struct url_info *target)
{
	struct url_info shown;
	char *word = text ? text_word(text) : NULL;
	const char *a, *b;
	bool mismatch = false;

	if (word && target && text_host(n, word, &shown) == 0) {
		a = shown.domain ? shown.domain : shown.host;
		b = target->domain ? target->domain : target->host;
		mismatch = !b || strcmp(a, b) != 0;
		url_info_free(&shown);
	}
	free(word);
	return mismatch;
}

/* ---- the normalizer ---- */

/* add_protected - one protected domain: A-label and skeleton */
static int add_protected(struct url_normalizer *n, const char *domain)
{
	struct protected_domain *p = &n->protect[n->nprotect];
	struct url_info h = {0};
	int rc = -1;

	if (domain && read_host(n, domain, &h) == 0 && !h.ip_literal) {
		const char *shown = h.host_unicode ? h.host_unicode : h.host;

		p->skeleton[0] = skeleton(n, shown, false);
		p->skeleton[1] = skeleton(n, shown, true);
		p->ascii = xstrdup(h.host);
		n->nprotect++;
		rc = p->skeleton[0] && p->skeleton[1] ? 0 : -1;
	}
	url_info_free(&h);
	return rc;
}

/* links that take every library through its paces, and what they must give */
static const struct {
	const char *raw, *base, *host, *domain;
	bool confusable, mismatch; /* ... against the text "www.example.com" */
} self_tests[] = {
    {"https://u@xn--pypal-4ve.com/a/../b?q#f", NULL, "xn--pypal-4ve.com", "xn--pypal-4ve.com", true,
     true},
    {"http://\xe4\xbe\x8b\xe3\x81\x88.JP./", NULL, "xn--r8jz45g.jp", "xn--r8jz45g.jp", false, true},
    {"//i\xe2\x9d\xa4.ws", NULL, "xn--i-7iq.ws", "xn--i-7iq.ws", false, true},
    {"../c", "www.example.co.uk/a/b", "www.example.co.uk", "example.co.uk", false, true},
    {"http://0x7f.1/", NULL, "127.0.0.1", NULL, false, true},
    {"http://[::1]/", NULL, "[::1]", NULL, false, true},
    {"mailto:a@example.com", NULL, "example.com", "example.com", false, false},
};

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/*
 * self_test - run every library once, so data loaded on first use is in
 * memory before the sandbox closes the file system, and a broken list or
 * ICU data is found at start rather than in the analyzer
 */
static int self_test(struct url_normalizer *n)
{
	size_t fails = 0;

	for (size_t i = 0; i < sizeof(self_tests) / sizeof(self_tests[0]); i++) {
		struct url_info u;

		if (url_normalize(n, self_tests[i].raw, self_tests[i].base, &u) < 0) {
			fails++;
			continue;
		}
		fails += !same(u.host, self_tests[i].host) ||
		         !same(u.domain, self_tests[i].domain) ||
		         (u.confusable != NULL) != self_tests[i].confusable ||
		         url_text_mismatch(n, "www.example.com", &u) != self_tests[i].mismatch;
		url_info_free(&u);
	}
	return fails ? -1 : 0;
}

static int open_icu(struct url_normalizer *n)
{
	UErrorCode st = U_ZERO_ERROR;

	n->spoof = uspoof_open(&st);
	uspoof_setChecks(n->spoof, USPOOF_RESTRICTION_LEVEL | USPOOF_MIXED_NUMBERS, &st);
	/* UTS #39 section 5.2: Latin with Han, Kana, Hangul or one other script, not Cyrillic or
	 * Greek */
	uspoof_setRestrictionLevel(n->spoof, USPOOF_MODERATELY_RESTRICTIVE);
	n->spoof_result = uspoof_openCheckResult(&st);
	n->uts46 =
	    uidna_openUTS46(UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ |
	                        UIDNA_NONTRANSITIONAL_TO_ASCII | UIDNA_NONTRANSITIONAL_TO_UNICODE,
	                    &st);
	return U_FAILURE(st) ? -1 : 0;
}

struct url_normalizer *url_normalizer_new(const char *psl_file, const char *const *protect,
                                          size_t nprotect, char **error_r)
{
	struct url_normalizer *n = xcalloc(1, sizeof(*n));
	const char *file = psl_file ? psl_file : URL_PSL_FILE;

	*error_r = NULL;
	n->protect = xcalloc(nprotect ? nprotect : 1, sizeof(*n->protect));
	if (!(n->psl = psl_load_file(file)))
		*error_r = xasprintf("%s: cannot load the public suffix list", file);
	else if (open_icu(n) < 0 || !(n->curl = curl_url()))
		*error_r =
		    xstrdup("cannot open the ICU spoof checker, UTS #46 or a curl URL handle");
	for (size_t i = 0; !*error_r && i < nprotect; i++)
		if (add_protected(n, protect[i]) < 0)
			*error_r = xasprintf("protected domain \"%s\" is no domain",
			                     protect[i] ? protect[i] : "");
	if (!*error_r && self_test(n) < 0)
		*error_r =
		    xasprintf("%s: URL self-test failed (public suffix list or ICU data)", file);
	if (*error_r) {
		url_normalizer_free(n);
		return NULL;
	}
	return n;
}

void url_normalizer_free(struct url_normalizer *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nprotect; i++) {
		free(n->protect[i].ascii);
		free(n->protect[i].skeleton[0]);
		free(n->protect[i].skeleton[1]);
	}
	free(n->protect);
	if (n->psl)
		psl_free(n->psl);
	if (n->spoof_result)
		uspoof_closeCheckResult(n->spoof_result);
	if (n->spoof)
		uspoof_close(n->spoof);
	if (n->uts46)
		uidna_close(n->uts46);
	curl_url_cleanup(n->curl);
	free(n);
}
