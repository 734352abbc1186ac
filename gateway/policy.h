/*
 * policy - the SMTP session's side of the filter pipeline and rules.
 *
 * Fills the filter input from the session, runs the pipeline at each
 * stage, and turns what the rules decided into SMTP replies: a refusal
 * at connect, HELO, MAIL or RCPT is answered in-line; at the end of data
 * the message is delivered (tagged or not), quarantined, discarded,
 * rejected or deferred. Every refusal names the transaction id, which
 * the logs and `sekisho quarantine` know.
 */
#ifndef SEKISHO_POLICY_H
#define SEKISHO_POLICY_H

#include <stdbool.h>

#include "common/buf.h"
#include "gateway/smtp_session.h"

/* policy_connect - false: the client was refused and the session ends */
bool policy_connect(struct session *s);

/* policy_helo / policy_mail / policy_rcpt - false: refused, reply queued */
bool policy_helo(struct session *s);
bool policy_mail(struct session *s);
bool policy_rcpt(struct session *s, const char *rcpt);

/*
 * policy_message - judge the message; true when it is to be delivered
 * (then header gets any X-Sekisho-* fields to add). Otherwise the reply
 * is queued and the transaction logged.
 */
bool policy_message(struct session *s, struct buf *header);

/* policy_log - " action=... score=... rules=..." for the transaction log */
void policy_log(const struct session *s, struct buf *line);

#endif
