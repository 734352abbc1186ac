/*
 * maildir - the embedded store: deliver into a local Maildir per recipient.
 *
 * For a first run with no mail server at all. Delivery is all or nothing
 * and durable before we answer 250: each copy is written into tmp/, the
 * file fsync'd, renamed into new/, and new/ fsync'd; if any recipient's
 * copy fails, the copies already made are removed and the client gets a
 * 4xx, so the sender retries and nothing is lost or half-delivered.
 * Files use LF line ends, as Maildir readers expect.
 */
#ifndef SEKISHO_MAILDIR_H
#define SEKISHO_MAILDIR_H

#include <stddef.h>

#include "common/buf.h"

/*
 * maildir_mailbox_name - the folder name under the root for an address:
 * lowercased; bytes other than [a-z0-9.@_+=-] as %XX; a leading "." as
 * %2E, so an address can never name "..", a hidden folder or a path.
 */
char *maildir_mailbox_name(const char *addr);

/*
 * maildir_deliver - deliver header + msg (CR LF line ends) to each of the
 * n addresses under root. Returns 0, or -1 with *error_r (malloc'd).
 */
int maildir_deliver(const char *root, const char *const *addrs, size_t n,
		    const struct buf *header, const struct buf *msg, char **error_r);

#endif
