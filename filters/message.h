/*
 * message - facts from the message itself: headers and text bodies.
 *
 * Parses the raw message (as received, CR LF line ends) with GMime and
 * records, as UTF-8 text:
 *   header.<name>        every header field of the top-level message, one
 *                        value per occurrence, unfolded, RFC 2047 words
 *                        decoded, charset converted (name lowercased)
 *   body.text            every text/plain part, transfer-decoded and
 *                        converted to UTF-8 from its charset
 *   body.html            every text/html part, likewise
 *   mime.parts           the number of MIME parts seen
 *   mime.limit_exceeded  present ("yes") when a limit below cut the walk
 *   mime.malformed       one value per structural problem the parser met
 *                        ("multipart without parts", "duplicate
 *                        content-type", "nul byte", ...)
 * Limits bound the work a hostile message can cause: parts walked, depth,
 * and bytes of decoded text kept per part and in all.
 *
 * message_walk also shows every MIME object to a visitor, leaves with
 * their transfer-decoded bytes, so the attachment checks see what a mail
 * client would save. Broken structure never hides a part: when the parser
 * reports a malformed structure, every "--" line of the raw message that
 * is followed by MIME header fields is parsed again as a part on its own,
 * and those candidates are shown too (path "x1", "x2", ...).
 */
#ifndef SEKISHO_MESSAGE_H
#define SEKISHO_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "filters/facts.h"

struct message_limits {
	size_t max_parts;	/* default 1000 */
	size_t max_depth;	/* default 20 */
	size_t max_text;	/* decoded text kept per part, default 1 MiB */
	size_t max_total_text;	/* decoded text kept in all, default 4 MiB */
	size_t max_decoded;	/* decoded bytes shown per leaf, default 32 MiB */
	size_t max_total_decoded;	/* decoded bytes shown in all, default 128 MiB */
};

struct mime_part_info {
	const char *path;		/* "1", "1.2", "1.2.1"; "x1", "x2": fallback candidates */
	size_t depth;			/* containers above this part */
	const char *content_type;	/* declared "type/subtype", lowercased */
	const char *filename;		/* decoded (RFC 2231, RFC 2047) UTF-8, or NULL */
	const char *disposition;	/* "attachment", "inline", ... lowercased, or NULL */
	bool leaf;			/* false: multipart or message/rfc822 */
	bool candidate;			/* found only by the fallback scan */
	const unsigned char *data;	/* leaf: transfer-decoded content */
	size_t size;
	bool truncated;			/* more than max_decoded: data holds the start */
};

struct message_visitor {
	void (*part)(void *ctx, const struct mime_part_info *part);
	void *ctx;
};

extern const struct message_limits message_default_limits;

/* message_init - once per process, before any thread parses (g_mime_init) */
void message_init(void);

/* message_facts - add the facts above for raw[0..len) to facts */
void message_facts(const char *raw, size_t len, const struct message_limits *limits,
		   struct facts *facts);

/* message_walk - message_facts, showing every part to visitor (may be NULL) */
void message_walk(const char *raw, size_t len, const struct message_limits *limits,
		  const struct message_visitor *visitor, struct facts *facts);

#endif
