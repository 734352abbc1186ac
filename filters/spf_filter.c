/*
 * spf_filter - SPF (RFC 7208) for the HELO name and the MAIL FROM
 * identity, as facts (spf_check.h does the work):
 *
 *	spf.helo_result, spf.helo_domain   at HELO (session facts)
 *	spf.result, spf.domain, spf.reason at MAIL; for the null sender the
 *	                                   identity is postmaster@HELO (§2.4)
 */
#include "config.h"

#include "filters/auth.h"
#include "filters/filter.h"
#include "filters/spf_check.h"

static void record(const struct spf_outcome *o, const char *result, const char *domain,
		   const char *reason, struct facts *facts)
{
	facts_set(facts, result, spf_result_name(o->result));
	if (o->domain && o->domain[0])
		facts_set(facts, domain, o->domain);
	if (reason && o->reason && o->reason[0])
		facts_set(facts, reason, o->reason);
}

static void spf_on_helo(const struct filter_input *in, struct facts *facts)
{
	struct spf_outcome o;

	if (!in->auth || !in->auth->spf || !in->helo || !in->client_ip)
		return;
	spf_check(in->auth->spf, in->client_ip, in->helo, "", true, &o);
	record(&o, "spf.helo_result", "spf.helo_domain", NULL, facts);
	spf_outcome_free(&o);
}

static void spf_on_mail(const struct filter_input *in, struct facts *facts)
{
	struct spf_outcome o;

	if (!in->auth || !in->auth->spf || !in->client_ip)
		return;
	spf_check(in->auth->spf, in->client_ip, in->helo ? in->helo : "", in->from ? in->from : "",
		  false, &o);
	record(&o, "spf.result", "spf.domain", "spf.reason", facts);
	spf_outcome_free(&o);
}

const struct filter filter_spf = {
	.name = "spf",
	.on_helo = spf_on_helo,
	.on_mail = spf_on_mail,
};
