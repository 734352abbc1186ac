/*
 * dnsbl - the client address in the configured DNS block lists
 * (RFC 5782), as facts: which lists have it and with which codes. What a
 * code means is the list's own business, so the rules give it meaning:
 *
 *	dnsbl.listed   every zone that lists the client
 *	dnsbl.code     "zone=127.0.0.2", one value per answer
 *	dnsbl.error    "zone: why" for a list that did not answer usably
 *
 * Only answers in 127.0.0.0/8 are listings (RFC 5782 §2.1); lists answer
 * other addresses (127.255.255.x aside, which is still 127/8) to say a
 * query was refused, and that is an error, not a listing.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "filters/auth.h"
#include "filters/filter.h"

static void record_answer(const char *zone, const struct dns_answer *a, struct facts *facts)
{
	char text[300];
	bool listed = false;

	for (size_t i = 0; i < a->count; i++) {
		const unsigned char *d = a->data[i];
		if (a->len[i] != 4)
			continue;
		snprintf(text, sizeof(text), "%s=%u.%u.%u.%u", zone, d[0], d[1], d[2], d[3]);
		if (d[0] == 127) {
			facts_add_str(facts, "dnsbl.code", text);
			listed = true;
		} else {
			facts_add_str(facts, "dnsbl.error", text);
		}
	}
	if (listed)
		facts_add_str(facts, "dnsbl.listed", zone);
}

static void dnsbl_on_connect(const struct filter_input *in, struct facts *facts)
{
	const struct auth_services *auth = in->auth;
	char name[512], text[400];

	if (!auth || !in->client_ip)
		return;
	for (size_t i = 0; i < auth->dnsbl.count; i++) {
		const char *zone = auth->dnsbl.items[i];
		struct dns_answer a;

		if (!dns_reverse_name(in->client_ip, zone, name, sizeof(name)))
			return;
		auth->dns.query(auth->dns.ctx, name, DNS_TYPE_A, &a);
		if (a.status == DNS_OK) {
			record_answer(zone, &a, facts);
		} else if (a.status == DNS_TEMPFAIL || a.status == DNS_PERMFAIL) {
			snprintf(text, sizeof(text), "%s: %s", zone, a.why ? a.why : "no answer");
			facts_add_str(facts, "dnsbl.error", text);
		}
		dns_answer_free(&a);
	}
}

const struct filter filter_dnsbl = {
	.name = "dnsbl",
	.on_connect = dnsbl_on_connect,
};
