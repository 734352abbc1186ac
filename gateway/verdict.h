/*
 * verdict - what the rules' verdict puts on a message, for both front
 * ends (the SMTP session in policy.c, the milter in milter_policy.c):
 * the X-Sekisho-* fields of a tag, the text of a refusal, the entry in
 * the quarantine store, and the verdict's part of the transaction log.
 */
#ifndef SEKISHO_VERDICT_H
#define SEKISHO_VERDICT_H

#include <stddef.h>

#include "common/buf.h"
#include "filters/pipeline.h"
#include "gateway/snapshot.h"

/* verdict_tag_headers - X-Sekisho-* fields (CR LF ended): verdict, score, rules, tags */
void verdict_tag_headers(const struct verdict *v, struct buf *out);

/* verdict_refusal_text - the deciding rule's text, or the default for a */
const char *verdict_refusal_text(const struct rule *decider, enum rule_action a);

/* verdict_log - " action=... score=... rules=... auth=..." for the transaction log */
void verdict_log(const struct verdict *v, const struct facts *facts, struct buf *line);

/* What goes into the store: who sent it, and the bytes as they would be delivered. */
struct verdict_hold {
	const char *id;
	const char *client_ip;
	const char *helo;		/* NULL: none given */
	const char *from;
	const char *const *rcpts;
	size_t nrcpt;
	const struct pipeline_tx *policy;
	const char *header;		/* fields we add, CR LF ended, put before msg */
	size_t header_len;
	const char *msg;
	size_t len;
};

/* verdict_quarantine - store h durably (fsync'd); 0, or -1 with *error_r */
int verdict_quarantine(struct snapshot *snap, const struct verdict_hold *h, char **error_r);

#endif
