/*
 * header_strip - remove header fields that claim to be ours.
 *
 * Downstream (the mail store, filters, users' mail rules) may trust an
 * X-Sekisho-* field as our verdict, so one that arrives from outside is a
 * forgery: every such field of the top-level header section is removed,
 * with its continuation lines, before the message is delivered or held.
 * So is every Authentication-Results field that names our authserv-id
 * (RFC 8601 §5): only we may speak for it.
 */
#ifndef SEKISHO_HEADER_STRIP_H
#define SEKISHO_HEADER_STRIP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

/* header_strip_ours - edit msg (CR LF line ends) in place; fields removed */
size_t header_strip_ours(struct buf *msg);

/* header_strip_auth_results - the same for Authentication-Results of authserv_id */
size_t header_strip_auth_results(struct buf *msg, const char *authserv_id);

/*
 * header_strip_claimed - would either of the above remove this one field
 * ("Name: value", continuation lines included)? For the milter, which
 * deletes fields through the MTA rather than editing the bytes.
 */
bool header_strip_claimed(const char *field, size_t len, const char *authserv_id);

#endif
