/*
 * url_normalize - a link found in a message, turned into facts a phishing
 * rule can use: where it really goes, and the tricks it plays on the way.
 *
 * The link is read the way a browser reads it (the WHATWG URL Standard,
 * "basic URL parser" and "host parser"), not the way it looks:
 *   - leading and trailing controls and spaces are dropped, and tabs and
 *     line breaks anywhere are removed;
 *   - for http, https, ftp, ws and wss ("special" schemes) '\' is a '/',
 *     any number of slashes may follow "http:", the host is
 *     percent-decoded, mapped by UTS #46 (IDNA, non-transitional) to its
 *     A-label form, trailing dots dropped ("example.com." is the same
 *     name), and a host that ends in a number is an IPv4 address in the
 *     WHATWG notation (decimal, 0x hex, 0-octal, 1 to 4 parts);
 *   - userinfo ("user:pass@") is dropped: the host after the last '@' of
 *     the authority is the one the browser visits;
 *   - a relative link is resolved against base (RFC 3986 section 5.2,
 *     through libcurl's URL API); without base only "www.host/..." and
 *     "//host/..." (then https) are read.
 * Non-special schemes with an authority ("smb://host/share") get the same
 * host reading (WHATWG keeps their hosts opaque; Windows, which opens
 * them, reads IPv4 the same way); mailto: gets the domain of its first
 * address as host;
 * other schemes (javascript:, data:, tel:, ...) have no host.
 *
 * Confusables (UTS #39): a label whose scripts fail the "moderately
 * restrictive" restriction level, or mixes digits of several systems, is
 * "mixed_script"; a host (or a parent of it down to its registered domain)
 * whose skeleton equals a protected domain's skeleton (taken as written
 * and with ASCII letters in capitals, where '0' meets 'O'), and which is
 * neither that domain nor under any protected domain, is
 * "lookalike:<protected domain>", which wins over mixed_script.
 *
 * Everything the normalizer needs (the public suffix list, ICU's spoof and
 * IDNA data, libidn2) is loaded and exercised by url_normalizer_new, so
 * url_normalize and url_text_mismatch open no file: they run inside the
 * sandboxed analyzer. A normalizer keeps scratch state: use it from one
 * thread at a time (one per analyzer process). It owns its data; a
 * url_info owns its strings until url_info_free.
 */
#ifndef SEKISHO_URL_NORMALIZE_H
#define SEKISHO_URL_NORMALIZE_H

#include <stdbool.h>
#include <stddef.h>

#define URL_RAW_MAX   8192 /* longer links (and bases) are not read */
#define URL_TEXT_MAX  1024 /* url_info.url is cut to this many bytes */
#define URL_SHORT_MAX 64   /* ... and javascript: and data: to this many */
#define URL_HOST_MAX  253  /* an A-label host longer than DNS allows is not read */

#define URL_PSL_FILE "/usr/share/publicsuffix/public_suffix_list.dat"

struct url_normalizer;

struct url_info {
	char *url;          /* normalised, credentials gone, printable ASCII, <= URL_TEXT_MAX */
	char *scheme;       /* lowercase: "http", "https", "mailto", "javascript", ... */
	char *host;         /* lowercase A-label, IPv4 dotted quad or "[v6]"; NULL when none */
	char *host_unicode; /* U-label form when punycode (and it decodes to text), else NULL */
	char *domain;       /* registered domain (libpsl), A-label; NULL for IPs, suffixes */
	int port;           /* -1 when absent or the scheme's default */
	bool ip_literal;    /* host is an IP address, in any notation */
	bool ip_obfuscated; /* ... written other than as a plain dotted quad: 3232235777, 0x7f.1 */
	bool host_escaped;  /* the host was percent-encoded: http://%77%77%77.example.com/ */
	bool punycode;      /* the host has an xn-- label (was written with non-ASCII or so) */
	bool userinfo;      /* "user@" or "user:pass@" before the host: https://paypal.com@evil/ */
	bool protocol_relative; /* "//host/path": scheme taken from base, else https */
	char *confusable;       /* NULL, "mixed_script" or "lookalike:<protected domain>" */
};

/*
 * url_normalizer_new - load the public suffix list (psl_file, NULL for
 * URL_PSL_FILE) and the spoof checker; protect: the domains whose
 * look-alikes are flagged ("paypal.com", registered domains, lowercase,
 * U- or A-label), copied. NULL with an allocated *error_r (the caller
 * frees it) when something cannot be loaded or fails its self-test.
 */
struct url_normalizer *url_normalizer_new(const char *psl_file, const char *const *protect,
                                          size_t nprotect, char **error_r);
void url_normalizer_free(struct url_normalizer *n);

/*
 * url_normalize - read one link (raw: as found, maybe relative; base: the
 * <base href> or NULL) into out. 0, or -1 when it is not a URL we can
 * read (then *out is zeroed and needs no url_info_free).
 */
int url_normalize(struct url_normalizer *n, const char *raw, const char *base,
                  struct url_info *out);

/*
 * url_text_mismatch - whether the visible text of a link names a host
 * ("https://paypal.com/login", "www.paypal.com", "paypal.com": one word
 * that is a URL, starts with "www." or ends in a listed public suffix)
 * whose registered domain (the host, for IPs and suffixes) differs from
 * target's, or target has no host at all. Other text ("Click here") is
 * never a mismatch.
 */
bool url_text_mismatch(struct url_normalizer *n, const char *text, const struct url_info *target);

/* url_info_free - release the strings of i and zero it */
void url_info_free(struct url_info *i);

#endif
