/*
 * fuzz_conf - libFuzzer target for common/conf.c and common/conf_value.c.
 *
 * The input goes, unterminated and in a buffer of exactly its size, to
 * conf_parse. Whatever comes back must hang together: a conf and no
 * errors, or errors and no conf; every error line names the file and
 * carries no control bytes; an accepted conf has at least one listener,
 * a complete next hop, and relay domains that match themselves.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/xalloc.h"
#include "tests/fuzz/fuzz_assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* fuzz_errors - one "fuzz.conf..." line per error, printable ASCII only */
static void fuzz_errors(const char *errors)
{
	bool line_start = true;

	FUZZ_ASSERT(errors[0] != '\0');
	FUZZ_ASSERT(errors[strlen(errors) - 1] == '\n');
	for (const char *p = errors; *p; p++) {
		if (line_start)
			FUZZ_ASSERT(strncmp(p, "fuzz.conf", 9) == 0);
		FUZZ_ASSERT(*p == '\n' || (*p >= 0x20 && *p < 0x7f));
		line_start = *p == '\n';
	}
}

/* fuzz_relay_domains - each listed domain matches itself, in any case */
static void fuzz_relay_domains(const struct conf *conf)
{
	for (size_t i = 0; i < conf->relay_domains.count; i++) {
		const char *d = conf->relay_domains.items[i];
		char *sub = xasprintf("x%s", d), *upper = xstrdup(d);

		for (char *p = upper; *p; p++) {
			FUZZ_ASSERT(!(*p >= 'A' && *p <= 'Z'));
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		}
		if (d[0] == '.') {
			FUZZ_ASSERT(conf_relay_domain_match(conf, sub));
		} else {
			FUZZ_ASSERT(conf_relay_domain_match(conf, d));
			FUZZ_ASSERT(conf_relay_domain_match(conf, upper));
		}
		free(sub);
		free(upper);
	}
}

/* fuzz_accepted - what a successful load promises its users */
static void fuzz_accepted(const struct conf *conf)
{
	const struct nexthop *nh = &conf->next_hop;

	FUZZ_ASSERT(conf->listen.count >= 1);
	FUZZ_ASSERT(conf->myhostname && conf->myhostname[0]);
	FUZZ_ASSERT(conf->user && conf->pid_file && conf->control_socket);
	FUZZ_ASSERT(conf->syslog_facility && conf->next_hop_tls_ca_file);
	FUZZ_ASSERT(conf->max_sessions >= 1 && conf->max_sessions <= 100000);
	FUZZ_ASSERT(conf->message_size_limit >= 1024 &&
	            conf->message_size_limit <= 2048L * 1024 * 1024);
	FUZZ_ASSERT(!conf->tls_cert_file[0] == !conf->tls_key_file[0]);
	if (nh->kind == NEXTHOP_SMTP || nh->kind == NEXTHOP_LMTP) {
		FUZZ_ASSERT(nh->host && nh->host[0] && nh->port && !nh->path);
		FUZZ_ASSERT(atoi(nh->port) >= 1 && atoi(nh->port) <= 65535);
	} else {
		FUZZ_ASSERT(!nh->host && !nh->port && nh->path && nh->path[0] == '/');
	}
	fuzz_relay_domains(conf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *conf = NULL;
	char *errors = NULL;
	int rc;

	rc = conf_parse("fuzz.conf", (const char *)data, size, &conf, &errors);
	if (rc == 0) {
		FUZZ_ASSERT(conf != NULL && errors == NULL);
		fuzz_accepted(conf);
	} else {
		FUZZ_ASSERT(rc == -1 && conf == NULL && errors != NULL);
		fuzz_errors(errors);
	}
	conf_free(conf);
	free(errors);
	return 0;
}
