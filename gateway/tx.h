/*
 * tx - one mail transaction: from MAIL to the end of DATA, RSET or QUIT.
 *
 * The message context, kept apart from the connection context (the
 * session) and rebuilt for every MAIL, as OpenDKIM does. The filter
 * pipeline will record its facts here. The raw message is kept exactly as
 * received (dot-unstuffed, CR LF line ends).
 */
#ifndef SEKISHO_TX_H
#define SEKISHO_TX_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "filters/pipeline.h"
#include "gateway/smtp_path.h"

struct tx_rcpt {
	char *addr;		/* as the client wrote it, without < > */
	char *domain;		/* "" for <postmaster> */
};

struct tx {
	unsigned seq;		/* 1, 2, ... within the session */
	char id[32];		/* "<session id>.<seq>": named in replies and logs */
	bool active;		/* MAIL accepted */
	struct smtp_path from;
	struct smtp_mail_params params;
	struct tx_rcpt *rcpts;	/* accepted recipients */
	size_t nrcpt;
	size_t rcpt_refused;	/* recipients refused, for the log */
	struct buf msg;		/* the message as received */
	long long started_ms;
	struct pipeline_tx policy;	/* facts and verdict */
};

void tx_init(struct tx *tx);
/* tx_begin - start transaction seq of session sid */
void tx_begin(struct tx *tx, const char *sid, unsigned seq);
void tx_add_rcpt(struct tx *tx, const struct smtp_path *rcpt);
/* tx_clear - end the transaction; storage is kept for the next one */
void tx_clear(struct tx *tx);
void tx_free(struct tx *tx);

#endif
