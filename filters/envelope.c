/*
 * envelope - facts about the client and the envelope.
 *
 *   client.ip, client.port, client.proxied      at connect
 *   client.early_talker                          at connect: it spoke before the greeting
 *   client.ptr                                   at connect: the MTA's verified name (milter)
 *   client.auth_user                             at MAIL: the SMTP AUTH user (milter)
 *   helo                                         at HELO/EHLO
 *   tls, tls.version, tls.cipher                 at MAIL (STARTTLS is done by then)
 *   env.from, env.from_domain                    at MAIL
 *   env.rcpt, env.rcpt_domain                    at RCPT (that one), at end of data (all)
 *   size                                         at end of data
 */
#include "config.h"

#include <string.h>

#include "filters/filter.h"

static void envelope_connect(const struct filter_input *in, struct facts *facts)
{
	facts_set(facts, "client.ip", in->client_ip);
	facts_remove(facts, "client.port");
	facts_add_num(facts, "client.port", in->client_port);
	if (in->proxied)
		facts_set(facts, "client.proxied", "yes");
	if (in->early_talker)
		facts_set(facts, "client.early_talker", "yes");
	if (in->client_ptr && in->client_ptr[0])
		facts_set(facts, "client.ptr", in->client_ptr);
}

static void envelope_helo(const struct filter_input *in, struct facts *facts)
{
	facts_set(facts, "helo", in->helo ? in->helo : "");
}

static void envelope_mail(const struct filter_input *in, struct facts *facts)
{
	if (in->tls_version) {
		facts_set(facts, "tls", "yes");
		facts_set(facts, "tls.version", in->tls_version);
		facts_set(facts, "tls.cipher", in->tls_cipher ? in->tls_cipher : "");
	}
	if (in->auth_user && in->auth_user[0])
		facts_set(facts, "client.auth_user", in->auth_user);
	facts_set(facts, "env.from", in->from);
	facts_set(facts, "env.from_domain", filter_addr_domain(in->from));
}

static void envelope_rcpt(const struct filter_input *in, struct facts *facts)
{
	facts_set(facts, "env.rcpt", in->rcpt);
	facts_set(facts, "env.rcpt_domain", filter_addr_domain(in->rcpt));
}

static void envelope_message(const struct filter_input *in, struct facts *facts)
{
	facts_remove(facts, "env.rcpt");
	facts_remove(facts, "env.rcpt_domain");
	for (size_t i = 0; i < in->nrcpt; i++) {
		facts_add_str(facts, "env.rcpt", in->rcpts[i]);
		facts_add_str(facts, "env.rcpt_domain", filter_addr_domain(in->rcpts[i]));
	}
	facts_remove(facts, "size");
	facts_add_num(facts, "size", (double)in->len);
}

const struct filter filter_envelope = {
	.name = "envelope",
	.on_connect = envelope_connect,
	.on_helo = envelope_helo,
	.on_mail = envelope_mail,
	.on_rcpt = envelope_rcpt,
	.on_message = envelope_message,
};
