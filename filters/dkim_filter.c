/*
 * dkim_filter - every DKIM signature of the message, verified
 * (dkim_verify.h), as dkim.* facts.
 */
#include "config.h"

#include "filters/auth.h"
#include "filters/dkim_verify.h"
#include "filters/filter.h"

static void dkim_on_message(const struct filter_input *in, struct facts *facts)
{
	struct dkim_outcome o;

	if (!in->auth || !in->auth->dkim || !in->msg)
		return;
	dkim_verify_message(in->auth->dkim, in->msg, in->len, &o);
	dkim_record_facts(&o, facts);
	dkim_outcome_free(&o);
}

const struct filter filter_dkim = {
	.name = "dkim",
	.on_message = dkim_on_message,
};
