/*
 * filter - a check that computes facts at the SMTP stages.
 *
 * A filter is a table of hooks, unused ones NULL, listed once in the
 * static registry (registry.c). Hooks record facts on the transaction
 * (or, at connect and HELO, on the session); they never decide what
 * happens to the message — the rules do. A filter that cannot do its work
 * (a scanner down, a DNS timeout) records that as a fact too, so a rule
 * can fail closed on it.
 */
#ifndef SEKISHO_FILTER_H
#define SEKISHO_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "filters/facts.h"

struct auth_services;
struct rate_limit;
struct rate_store;

enum filter_hook { HOOK_CONNECT, HOOK_HELO, HOOK_MAIL, HOOK_RCPT, HOOK_MESSAGE };

/* What the hooks see; the SMTP session and `sekisho scan` both fill it. */
struct filter_input {
	const char *log_ref;		/* "session=ID" or "session=ID tx=ID", for log lines */
	const char *client_ip;
	int client_port;
	bool proxied;
	bool early_talker;		/* spoke before the greeting */
	const char *client_ptr;		/* the MTA's name for the client (milter); NULL: none */
	const char *auth_user;		/* the SMTP AUTH user the MTA saw (milter); NULL: none */
	const char *helo;
	const char *tls_version;	/* NULL: no TLS */
	const char *tls_cipher;
	const char *from;		/* "" for <> */
	const char *rcpt;		/* HOOK_RCPT: the recipient asked about */
	const char *const *rcpts;	/* HOOK_MESSAGE: the accepted recipients */
	size_t nrcpt;
	const char *msg;		/* HOOK_MESSAGE: the message as received */
	size_t len;
	/*
	 * HOOK_MESSAGE: who reads the message's content (the sandboxed
	 * analyzers in the daemon, content.h in `sekisho scan`); it adds the
	 * facts, or analysis.error and returns false. NULL: only the header
	 * and body facts, parsed in-process (unit tests).
	 */
	bool (*content)(void *ctx, const char *msg, size_t len, struct facts *facts);
	void *content_ctx;
	/* DNS and sender authentication (auth.h); NULL: those checks record nothing */
	const struct auth_services *auth;
	/* rate limits (ratelimit.c): the rule files' limits, counted in this store; NULL: none */
	struct rate_store *rate_store;
	struct rate_limit *const *limits;
	size_t nlimits;
};

struct filter {
	const char *name;
	/* facts: the session's set for connect and helo, the transaction's after */
	void (*on_connect)(const struct filter_input *in, struct facts *facts);
	void (*on_helo)(const struct filter_input *in, struct facts *facts);
	void (*on_mail)(const struct filter_input *in, struct facts *facts);
	void (*on_rcpt)(const struct filter_input *in, struct facts *facts);
	void (*on_message)(const struct filter_input *in, struct facts *facts);
};

extern const struct filter filter_envelope;
extern const struct filter filter_ratelimit;
extern const struct filter filter_dnsbl;
extern const struct filter filter_spf;
extern const struct filter filter_message;
extern const struct filter filter_uribl;
extern const struct filter filter_dkim;
extern const struct filter filter_dmarc;

/* filter_addr_domain - the part of an address after its last @, or "" */
static inline const char *filter_addr_domain(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	return at ? at + 1 : "";
}

/* filters_run - every registered filter's hook, in registry order */
void filters_run(enum filter_hook hook, const struct filter_input *in, struct facts *facts);

#endif
