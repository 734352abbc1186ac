/*
 * dmarc_filter - DMARC (RFC 7489) from the SPF and DKIM facts already
 * recorded (so it runs after the spf and dkim filters) and the message's
 * From field (dmarc.h does the work).
 */
#include "config.h"

#include <stdlib.h>

#include "filters/auth.h"
#include "filters/dmarc.h"
#include "filters/filter.h"

static const char *first(const struct facts *f, const char *name)
{
	const struct fact *fact = facts_find(f, name);

	return fact && fact->count ? fact->values[0] : NULL;
}

static void dmarc_on_message(const struct filter_input *in, struct facts *facts)
{
	const struct fact *dkim = facts_find(facts, "dkim.pass_domain");
	struct dmarc_outcome o;
	struct dmarc_input din = {
	    .msg = in->msg,
	    .len = in->len,
	    .spf_result = first(facts, "spf.result"),
	    .spf_domain = first(facts, "spf.domain"),
	    .dkim_pass_domains = dkim ? (const char *const *)dkim->values : NULL,
	    .ndkim = dkim ? dkim->count : 0,
	    /* pct sampling (RFC 7489 §6.6.4) needs chance, not a secret */
	    .sample = arc4random_uniform(100),
	};

	if (!in->auth || !in->auth->dmarc || !in->msg)
		return;
	dmarc_evaluate(in->auth->dmarc, &in->auth->dns, &din, &o);
	dmarc_record_facts(&o, facts);
	dmarc_outcome_free(&o);
}

const struct filter filter_dmarc = {
	.name = "dmarc",
	.on_message = dmarc_on_message,
};
