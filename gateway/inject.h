/*
 * inject - deliver a stored message straight to the next hop.
 *
 * What `sekisho quarantine release` uses: the message goes to the
 * configured next hop (SMTP, LMTP or the Maildir store) exactly as stored,
 * without passing through the gateway's rules again, so a released
 * message is never quarantined a second time.
 */
#ifndef SEKISHO_INJECT_H
#define SEKISHO_INJECT_H

#include <stddef.h>

#include "gateway/snapshot.h"

/*
 * inject_message - from (may be ""), n recipients, msg with CR LF line
 * ends. Returns 0 with the next hop's final reply in *detail_r, or -1 with
 * the reason; both malloc'd. All recipients or none: a recipient the next
 * hop refuses fails the whole delivery.
 */
int inject_message(const struct snapshot *snap, const char *from, const char *const *rcpts,
		   size_t n, const char *msg, size_t len, char **detail_r);

#endif
