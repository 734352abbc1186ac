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
 * Limits bound the work a hostile message can cause: parts walked, depth,
 * and bytes of decoded text kept per part and in all.
 */
#ifndef SEKISHO_MESSAGE_H
#define SEKISHO_MESSAGE_H

#include <stddef.h>

#include "filters/facts.h"

struct message_limits {
	size_t max_parts;	/* default 1000 */
	size_t max_depth;	/* default 20 */
	size_t max_text;	/* decoded text kept per part, default 1 MiB */
	size_t max_total_text;	/* decoded text kept in all, default 4 MiB */
};

extern const struct message_limits message_default_limits;

/* message_init - once per process, before any thread parses (g_mime_init) */
void message_init(void);

/* message_facts - add the facts above for raw[0..len) to facts */
void message_facts(const char *raw, size_t len, const struct message_limits *limits,
		   struct facts *facts);

#endif
