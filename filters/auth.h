/*
 * auth - what sender authentication shares across sessions: the one DNS
 * resolver, the SPF checker, the DKIM verifier, the DMARC context (public
 * suffix list) and the names the checks need.
 *
 * Built with the snapshot (reload builds a new one off to the side) and
 * immutable afterwards; every part is safe to use from several session
 * threads at once. A check that is turned off in the configuration has a
 * NULL part, and its filter records nothing.
 */
#ifndef SEKISHO_AUTH_H
#define SEKISHO_AUTH_H

#include "common/conf.h"
#include "common/dns.h"

struct auth_services {
	struct dns_resolver *resolver;	/* owned */
	struct dns_lookup dns;		/* asks resolver */
	struct spf_checker *spf;	/* NULL: spf = no */
	struct dkim_verifier *dkim;	/* NULL: dkim = no */
	struct dmarc_ctx *dmarc;	/* NULL: dmarc = no */
	struct strlist dnsbl;		/* zones the client is looked up in (a copy) */
	struct strlist uribl;		/* zones link domains are looked up in (a copy) */
	size_t uribl_max;		/* link domains looked up per message */
	char *authserv_id;		/* authserv_id, or myhostname */
};

/* auth_services_new - NULL and *error_r (the caller frees) when a part will not load */
struct auth_services *auth_services_new(const struct conf *conf, char **error_r);
void auth_services_free(struct auth_services *a);

#endif
