/*
 * auth_results - the Authentication-Results header field (RFC 8601) we
 * add to every message we deliver or hold, from the facts the SPF, DKIM
 * and DMARC filters recorded.
 */
#ifndef SEKISHO_AUTH_RESULTS_H
#define SEKISHO_AUTH_RESULTS_H

#include "common/buf.h"
#include "filters/facts.h"

/* auth_results_header - append the whole field, CR LF ended, to out */
void auth_results_header(struct buf *out, const char *authserv_id, const struct facts *tx);

#endif
