/*
 * received - the one header sekisho adds: Received (RFC 5321 section 4.4).
 */
#ifndef SEKISHO_RECEIVED_H
#define SEKISHO_RECEIVED_H

#include "common/buf.h"
#include "gateway/smtp_session.h"

/* received_header - append the Received: header field for s's transaction */
void received_header(struct buf *out, const struct session *s);

#endif
