/*
 * auth - the shared parts of sender authentication (see auth.h).
 */
#include "config.h"

#include <stdlib.h>

#include "common/xalloc.h"
#include "filters/auth.h"
#include "filters/dkim_verify.h"
#include "filters/dmarc.h"
#include "filters/spf_check.h"

struct auth_services *auth_services_new(const struct conf *conf, char **error_r)
{
	struct auth_services *a = xcalloc(1, sizeof(*a));
	struct dns_resolver_settings dns = {
	    .forward = conf->dns_forward,
	    .trust_anchor = conf->dns_trust_anchor,
	    .timeout_ms = (unsigned)conf->dns_timeout * 1000,
	    /* a site that names its own resolvers may serve its own .test names */
	    .allow_special_names = conf->dns_forward[0] != '\0',
	};

	a->authserv_id = xstrdup(conf->authserv_id[0] ? conf->authserv_id : conf->myhostname);
	strlist_copy(&a->dnsbl, &conf->dnsbl);
	strlist_copy(&a->uribl, &conf->uribl);
	a->uribl_max = (size_t)conf->uribl_max_lookups;
	a->resolver = dns_resolver_new(&dns, error_r);
	if (!a->resolver)
		goto fail;
	a->dns = dns_resolver_lookup(a->resolver);
	if (conf->spf && !(a->spf = spf_checker_new(&a->dns, error_r)))
		goto fail;
	if (conf->dkim && !(a->dkim = dkim_verifier_new(&a->dns, error_r)))
		goto fail;
	if (conf->dmarc && !(a->dmarc = dmarc_ctx_new(conf->psl_file, error_r)))
		goto fail;
	return a;
fail:
	auth_services_free(a);
	return NULL;
}

void auth_services_free(struct auth_services *a)
{
	if (!a)
		return;
	if (a->spf)
		spf_checker_free(a->spf);
	if (a->dkim)
		dkim_verifier_free(a->dkim);
	if (a->dmarc)
		dmarc_ctx_free(a->dmarc);
	dns_resolver_free(a->resolver);
	strlist_free(&a->dnsbl);
	strlist_free(&a->uribl);
	free(a->authserv_id);
	free(a);
}
