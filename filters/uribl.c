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
 *
 * Registered domains are asked (a list keys on them), IP literals by their
 * reversed octets as DNSBLs do. The resolver's cache answers repeats, so a
 * campaign costs one lookup per domain. Runs in the daemon, after the
 * analyzers have reported the links (url.domain, url.ip).
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "filters/auth.h"
#include "filters/filter.h"

/* query_name - "domain.zone", or "4.3.2.1.zone" for an IPv4 address */
static bool query_name(const char *item, bool ip, const char *zone, char *out, size_t size)
{
	unsigned char a[4];

	if (ip) {
		if (inet_pton(AF_INET, item, a) != 1)
			return false;	/* IPv6 lists key differently; none asked */
		return (size_t)snprintf(out, size, "%u.%u.%u.%u.%s", a[3], a[2], a[1], a[0], zone) <
		       size;
	}
	return (size_t)snprintf(out, size, "%s.%s", item, zone) < size;
}

static void record(const char *zone, const char *item, const struct dns_answer *a,
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
			record(auth->uribl.items[z], item, &a, facts);
		} else if (a.status == DNS_TEMPFAIL || a.status == DNS_PERMFAIL) {
			snprintf(text, sizeof(text), "%s: %s: %s", auth->uribl.items[z], item,
				 a.why ? a.why : "no answer");
			facts_add_str(facts, "uribl.error", text);
		}
		dns_answer_free(&a);
	}
	return true;
}

static void uribl_on_message(const struct filter_input *in, struct facts *facts)
{
	const struct auth_services *auth = in->auth;
	const struct fact *domains = facts_find(facts, "url.domain");
	const struct fact *ips = facts_find(facts, "url.ip");
	size_t budget;

	if (!auth || auth->uribl.count == 0)
		return;
	budget = auth->uribl_max;
	for (size_t i = 0; domains && i < domains->count; i++)
		if (!lookup(auth, domains->values[i], false, &budget, facts))
			return;
	for (size_t i = 0; ips && i < ips->count; i++)
		if (!lookup(auth, ips->values[i], true, &budget, facts))
			return;
}

const struct filter filter_uribl = {
	.name = "uribl",
	.on_message = uribl_on_message,
};
