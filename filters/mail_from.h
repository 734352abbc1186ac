/*
 * mail_from - the author domain of a message (its RFC5322.From domain,
 * RFC 7489 §3.1, §6.6.1), read from the raw header as received.
 *
 * DMARC protects what a reader sees, so the From is read the way the
 * worst reader could read it, and anything a reader might take for a
 * second author makes the answer "no single author":
 *   - every top-level field named "From" (case-insensitive, with optional
 *     blanks before the colon, RFC 5322 §4.5.3 obs-optional) in the header
 *     section (up to the first empty line, lines ended by CR LF or LF) is
 *     counted; folded lines are unfolded (RFC 5322 §2.2.3);
 *   - each value is parsed as a mailbox-list (RFC 5322 §3.4) with groups
 *     (RFC 6854), quoted strings, nested comments, obs-route and the other
 *     obs forms of RFC 5322 §4.4 (dots anywhere in a local part, as old
 *     Japanese mobile carriers issued them);
 *   - an RFC 2047 encoded-word is text for a reader, never an address: in a
 *     display name it is skipped whole (so "=?utf-8?q?ceo@bank.example?="
 *     <x@evil.example> gives evil.example), in an addr-spec it makes the
 *     field unparsable (RFC 2047 §5 (3) forbids it there);
 *   - a domain is valid when it is a host name DNS can be asked about:
 *     ASCII letters, digits and inner hyphens, labels of 1 to 63, at least
 *     two labels, 253 at most, a last label not all digits. A domain
 *     literal, a UTF-8 (RFC 6532) domain and a single label are not: DMARC
 *     cannot look them up, so they never yield an author domain.
 *     Domains are lowercased and one trailing dot is dropped.
 * Limits: MAIL_FROM_MAX_FIELD bytes of one field (folded, as received),
 * MAIL_FROM_MAX_ADDRESSES addresses over all fields, comments nested
 * MAIL_FROM_MAX_DEPTH deep; past one the field is unparsable (too many
 * addresses counts as "several addresses").
 *
 * Ownership: a from_info owns its strings; from_info_free releases them.
 * problem and syntax_error are static text. The message is only read.
 */
#ifndef SEKISHO_MAIL_FROM_H
#define SEKISHO_MAIL_FROM_H

#include <stdbool.h>
#include <stddef.h>

#define MAIL_FROM_MAX_FIELD     16384
#define MAIL_FROM_MAX_ADDRESSES 100
#define MAIL_FROM_MAX_DEPTH     32

struct from_info {
	size_t fields;    /* top-level From fields in the header section */
	size_t addresses; /* addr-specs found in them (up to the limit) */
	char **domains;   /* each valid domain found, in order, repeats kept */
	size_t ndomains;
	/* every field parsed within the limits and every address had a valid
	 * domain: domains[] is then all a reader can see */
	bool complete;
	/* the single author domain: only when there is exactly one From field
	 * with exactly one address with a valid domain; else NULL */
	char *domain;
	/* NULL with domain; else "no From", "several From fields",
	 * "unparsable", "several addresses" or "no valid address", the first
	 * that applies in that order */
	const char *problem;
	const char *syntax_error; /* the first parse error, or NULL */
};

/* mail_from_parse - fill *out from the message (msg, len); 0 when out->domain is set, else -1 */
int mail_from_parse(const char *msg, size_t len, struct from_info *out);

/* from_info_free - release what info owns and clear it */
void from_info_free(struct from_info *info);

#endif
