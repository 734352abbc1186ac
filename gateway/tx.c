/*
 * tx - one mail transaction: from MAIL to the end of DATA, RSET or QUIT.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/xalloc.h"
#include "gateway/tx.h"

void tx_init(struct tx *tx)
{
	memset(tx, 0, sizeof(*tx));
	buf_init(&tx->msg);
}

void tx_begin(struct tx *tx, const char *sid, unsigned seq)
{
	tx->seq = seq;
	snprintf(tx->id, sizeof(tx->id), "%s.%u", sid, seq);
	tx->active = true;
	tx->started_ms = clock_ms();
}

void tx_add_rcpt(struct tx *tx, const struct smtp_path *rcpt)
{
	tx->rcpts = xrealloc(tx->rcpts, (tx->nrcpt + 1) * sizeof(*tx->rcpts));
	tx->rcpts[tx->nrcpt].addr = xstrdup(rcpt->addr);
	tx->rcpts[tx->nrcpt].domain = xstrdup(rcpt->domain);
	tx->nrcpt++;
}

void tx_clear(struct tx *tx)
{
	for (size_t i = 0; i < tx->nrcpt; i++) {
		free(tx->rcpts[i].addr);
		free(tx->rcpts[i].domain);
	}
	free(tx->rcpts);
	tx->rcpts = NULL;
	tx->nrcpt = 0;
	tx->rcpt_refused = 0;
	smtp_path_free(&tx->from);
	memset(&tx->params, 0, sizeof(tx->params));
	tx->active = false;
	pipeline_tx_clear(&tx->policy);
	/* A big message's storage is not kept for the next one. */
	if (tx->msg.cap > 1024 * 1024)
		buf_free(&tx->msg);
	buf_reset(&tx->msg);
}

void tx_free(struct tx *tx)
{
	tx_clear(tx);
	buf_free(&tx->msg);
}
