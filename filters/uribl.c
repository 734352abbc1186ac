/*
 * uribl - the domains (and IP addresses) of a message's links in the
 * configured URI block lists (URIBL, SURBL style: RFC 5782 §2.1 lists
 * keyed by name), as facts:
 *
 *	uribl.listed           every zone that lists one of the links
 *	uribl.domain           every listed domain or address
 *	uribl.code             "zone=127.0.0.2 domain", one per answer
 *	uribl.error            "zone: why" for lookups that failed
 *	uribl.limit_exceeded   "yes": more distinct domains than
 *	                       uribl_max_lookups; the rest were not asked
 *	url.uribl              in the set of each link (facts.h) whose domain
 *	                       or address is listed: the zone, so a rule can
 *	                       ask of that one link (an allow list, say)
 *
 * Registered domains are asked (a list keys on them), IP literals by their
 * reversed octets as DNSBLs do. The resolver's cache answers repeats, so a
 * campaign costs one lookup per domain. Runs in the daemon, after the
 * analyzers have reported the links (url.domain, url.ip).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "filters/auth.h"
#include "filters/filter.h"

/* query_name - "domain.zone", or "4.3.2.1.zone" for an IPv4 address */
static bool query_name(const char *item, bool ip, const char *zone, char *out, size_t size)
{
	if (ip)	/* URI lists key IPv6 differently, if at all: none asked */
		return !strchr(item, ':') && dns_reverse_name(item, zone, out, size);
	return (size_t)snprintf(out, size, "%s.%s", item, zone) < size;
}

/* mark_links - url.uribl = zone in each link set whose field value is item */
static void mark_links(struct facts *facts, const char *field, const char *item, const char *zone)
{
	for (size_t i = 0; i < facts->nlinks; i++) {
		const struct fact *f = facts_find(&facts->links[i], field);

		for (size_t j = 0; f && j < f->count; j++)
			if (strcmp(f->values[j], item) == 0) {
				facts_add_str(&facts->links[i], "url.uribl", zone);
				facts_add_str(facts, "url.uribl", zone);
				break;
			}
	}
}

static void record(const char *zone, const char *item, bool ip, const struct dns_answer *a,
		   struct facts *facts)
{
	char text[600];
	bool listed = false;

	for (size_t i = 0; i < a->count; i++) {
		const unsigned char *d = a->data[i];
		if (a->len[i] != 4)
			continue;
		snprintf(text, sizeof(text), "%s=%u.%u.%u.%u %s", zone, d[0], d[1], d[2], d[3], item);
		facts_add_str(facts, d[0] == 127 ? "uribl.code" : "uribl.error", text);
		listed |= d[0] == 127;
	}
	if (listed) {
		facts_add_str(facts, "uribl.listed", zone);
		facts_add_str(facts, "uribl.domain", item);
		mark_links(facts, ip ? "url.ip" : "url.domain", item, zone);
	}
}

/* lookup - item in every zone; false once the budget is spent */
static bool lookup(const struct auth_services *auth, const char *item, bool ip, size_t *budget,
		   struct facts *facts)
{
	char name[600], text[600];

	if (*budget == 0) {
		facts_set(facts, "uribl.limit_exceeded", "yes");
		return false;
	}
	(*budget)--;
	for (size_t z = 0; z < auth->uribl.count; z++) {
		struct dns_answer a;

		if (!query_name(item, ip, auth->uribl.items[z], name, sizeof(name)))
			continue;
		auth->dns.query(auth->dns.ctx, name, DNS_TYPE_A, &a);
		if (a.status == DNS_OK) {
			record(auth->uribl.items[z], item, ip, &a, facts);
		} else if (a.status == DNS_TEMPFAIL || a.status == DNS_PERMFAIL) {
			snprintf(text, sizeof(text), "%s: %s: %s", auth->uribl.items[z], item,
				 a.why ? a.why : "no answer");
			facts_add_str(facts, "uribl.error", text);
		}
		dns_answer_free(&a);
	}
	return true;
}

/* items - a copy of the values of name: looking up adds facts, which moves them */
static char **items(const struct facts *facts, const char *name, size_t *n)
{
	const struct fact *f = facts_find(facts, name);
	char **out = xcalloc((f ? f->count : 0) + 1, sizeof(*out));

	*n = f ? f->count : 0;
	for (size_t i = 0; i < *n; i++)
		out[i] = xstrdup(f->values[i]);
	return out;
}

static void free_items(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void uribl_on_message(const struct filter_input *in, struct facts *facts)
{
	const struct auth_services *auth = in->auth;
	size_t ndomains, nips, budget;
	char **domains, **ips;
	bool go = true;

	if (!auth || auth->uribl.count == 0)
		return;
	budget = auth->uribl_max;
	domains = items(facts, "url.domain", &ndomains);
	ips = items(facts, "url.ip", &nips);
	for (size_t i = 0; go && i < ndomains; i++)
		go = lookup(auth, domains[i], false, &budget, facts);
	for (size_t i = 0; go && i < nips; i++)
		go = lookup(auth, ips[i], true, &budget, facts);
	free_items(domains, ndomains);
	free_items(ips, nips);
}

const struct filter filter_uribl = {
	.name = "uribl",
	.on_message = uribl_on_message,
};
