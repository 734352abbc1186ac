/*
 * delivery - where an accepted transaction goes: the next hop, in-line.
 *
 * The session calls these at MAIL, RCPT and end of data; they speak to the
 * configured next hop (an SMTP or LMTP relay, or the embedded Maildir
 * store) and hand back the reply the client should get. The client never
 * gets a 2xx at end of data unless the next hop has taken the message.
 */
#ifndef SEKISHO_DELIVERY_H
#define SEKISHO_DELIVERY_H

#include "gateway/smtp_reply.h"
#include "gateway/smtp_session.h"

/* delivery_mail - open the downstream transaction for s->tx */
void delivery_mail(struct session *s, struct smtp_reply *reply);

/* delivery_rcpt - ask the next hop about one recipient */
void delivery_rcpt(struct session *s, const char *addr, struct smtp_reply *reply);

/*
 * delivery_data - hand over the message with our Received header and the
 * extra header fields (X-Sekisho-*, may be empty) in front of it; reply
 * is what the client gets.
 */
void delivery_data(struct session *s, const struct buf *extra, struct smtp_reply *reply);

/* delivery_abort - the client abandoned the transaction */
void delivery_abort(struct session *s);

/* delivery_finish - the session ends: keep the connection for reuse */
void delivery_finish(struct session *s);

#endif
