/*
 * ratelimit - count events against the rule files' limits and record
 * what the rules need to know:
 *
 *   rate.<name>.key       the key this event was counted under
 *   rate.<name>.count     events in the key's bucket now
 *   rate.<name>.exceeded  "yes": this event is over the limit (not counted;
 *                         logged as a trip when the limit's own rule acts)
 *   rate.<name>.error     the backend could not be asked (ratelimit_fail
 *                         = closed also sets exceeded)
 *
 * Connection limits count at connect (session facts), message limits at
 * MAIL, recipient limits at each RCPT. A recipient limit's facts describe
 * the recipient being asked about and are gone by the end of data, so one
 * refused recipient does not refuse the message for the others.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/netaddr.h"
#include "common/siphash.h"
#include "common/text.h"
#include "filters/filter.h"
#include "filters/rate_store.h"
#include "rules/rule_limit.h"
#include "rules/ruleset.h"

/* client_net - the /24 or /64 an address is in, as "192.0.2.0/24" */
static void client_net(const char *ip, char *out, size_t size)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, ip, a) == 1) {
		snprintf(out, size, "%u.%u.%u.0/24", a[0], a[1], a[2]);
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		char text[INET6_ADDRSTRLEN];
		memset(a + 8, 0, 8);
		inet_ntop(AF_INET6, a, text, sizeof(text));
		snprintf(out, size, "%s/64", text);
	} else {
		snprintf(out, size, "%s", ip);
	}
}

/* key_text - the limit's key values, lowercased, joined by "|" */
static void key_text(const struct rate_limit *l, const struct filter_input *in, struct buf *out)
{
	char net[NETADDR_TEXT_MAX + 8];

	for (size_t i = 0; i < l->nkey; i++) {
		const char *v = "";
		if (i)
			buf_append_char(out, '|');
		switch (l->key[i]) {
		case KEY_CLIENT_IP:
			v = in->client_ip;
			break;
		case KEY_CLIENT_NET:
			client_net(in->client_ip, net, sizeof(net));
			v = net;
			break;
		case KEY_HELO:
			v = in->helo ? in->helo : "";
			break;
		case KEY_ENV_FROM:
			v = in->from && in->from[0] ? in->from : "<>";
			break;
		case KEY_ENV_FROM_DOMAIN:
			v = filter_addr_domain(in->from);
			break;
		case KEY_ENV_RCPT:
			v = in->rcpt ? in->rcpt : "";
			break;
		case KEY_ENV_RCPT_DOMAIN:
			v = filter_addr_domain(in->rcpt);
			break;
		}
		for (; *v; v++)
			buf_append_char(out, *v >= 'A' && *v <= 'Z' ? (char)(*v - 'A' + 'a') : *v);
	}
}

/* fact_name - "rate.<name>.<what>" */
static const char *fact_name(char *out, size_t size, const struct rate_limit *l, const char *what)
{
	snprintf(out, size, "%s.%s", l->fact, what);
	return out;
}

static void forget(const struct rate_limit *l, struct facts *facts)
{
	static const char *const what[] = {"key", "count", "exceeded", "error"};
	char name[256];

	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++)
		facts_remove(facts, fact_name(name, sizeof(name), l, what[i]));
}

static void check(const struct rate_limit *l, const struct filter_input *in, struct facts *facts)
{
	static unsigned char cut_key[16] = "sekisho-ratekey";
	struct gcra_params p = gcra_params_for(l->rate, l->period, limit_burst(l));
	struct buf key, full, shown;
	char name[256], why[256] = "";
	long long count = 0;
	enum rate_verdict v;
	size_t room;

	buf_init(&key);
	buf_init(&full);
	buf_init(&shown);
	key_text(l, in, &key);
	/* facts are UTF-8, and the key reaches logs and terminals (sekisho stats) */
	text_safe(&shown, key.data, key.len, false);
	/* The name keeps limits apart in a shared store; a cut key stays distinct by its hash. */
	buf_printf(&full, "%s|", l->fact + 5);
	room = RATE_KEY_MAX - full.len - 17;
	if (key.len > room)
		buf_printf(&full, "%.*s#%016llx", (int)room, key.data,
			   (unsigned long long)siphash24(cut_key, key.data, key.len));
	else
		buf_append(&full, key.data, key.len);
	metrics_limit_checked();
	v = rate_store_check(in->rate_store, full.data, full.len, &p, &count, why, sizeof(why));
	forget(l, facts);
	facts_set(facts, fact_name(name, sizeof(name), l, "key"), buf_cstr(&shown));
	if (v == RATE_UNKNOWN) {
		metrics_limit_backend_error();
		facts_set(facts, fact_name(name, sizeof(name), l, "error"), why);
		log_warn("%s limit=%s key=%s backend=%s unavailable (%s): failing %s", in->log_ref,
			 l->name, buf_cstr(&shown), in->rate_store->kind, why,
			 in->rate_store->fail_open ? "open" : "closed");
		if (!in->rate_store->fail_open)
			facts_set(facts, fact_name(name, sizeof(name), l, "exceeded"), "yes");
	} else {
		facts_add_num(facts, fact_name(name, sizeof(name), l, "count"), (double)count);
		/* The trip is logged when the limit's rule acts (pipeline.c). */
		if (v == RATE_EXCEEDED)
			facts_set(facts, fact_name(name, sizeof(name), l, "exceeded"), "yes");
	}
	buf_free(&shown);
	buf_free(&full);
	buf_free(&key);
}

static void count_all(enum limit_count what, const struct filter_input *in, struct facts *facts)
{
	if (in->rate_store == NULL)
		return;
	for (size_t i = 0; i < in->nlimits; i++)
		if (in->limits[i]->count == what)
			check(in->limits[i], in, facts);
}

static void rate_connect(const struct filter_input *in, struct facts *facts)
{
	count_all(COUNT_CONNECTIONS, in, facts);
}

static void rate_mail(const struct filter_input *in, struct facts *facts)
{
	count_all(COUNT_MESSAGES, in, facts);
}

static void rate_rcpt(const struct filter_input *in, struct facts *facts)
{
	count_all(COUNT_RECIPIENTS, in, facts);
}

static void rate_message(const struct filter_input *in, struct facts *facts)
{
	for (size_t i = 0; i < in->nlimits; i++)
		if (in->limits[i]->count == COUNT_RECIPIENTS)
			forget(in->limits[i], facts);
}

const struct filter filter_ratelimit = {
	.name = "ratelimit",
	.on_connect = rate_connect,
	.on_mail = rate_mail,
	.on_rcpt = rate_rcpt,
	.on_message = rate_message,
};
