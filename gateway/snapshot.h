/*
 * snapshot - everything the policy needs, immutable and reference-counted.
 *
 * A session takes a reference to the current snapshot when it starts and
 * uses that one to its end. A reload builds a whole new snapshot off to the
 * side and only then swaps the pointer; the old one is freed by its last
 * user. So a reload never blocks mail, and a bad file changes nothing.
 */
#ifndef SEKISHO_SNAPSHOT_H
#define SEKISHO_SNAPSHOT_H

#include <openssl/ssl.h>

#include <pthread.h>

#include "common/conf.h"
#include "rules/ruleset.h"

struct snapshot {
	int refs;			/* atomic; see snapshot.c */
	unsigned long generation;
	struct conf *conf;
	SSL_CTX *tls_server;		/* NULL: STARTTLS not offered */
	SSL_CTX *tls_client;		/* for the next hop */
	char *nexthop_key;		/* identifies pooled next-hop connections */
	struct ruleset *rules;		/* NULL: no rules_dir, relay only */
	struct auth_services *auth;	/* DNS, SPF, DKIM, DMARC (filters/auth.h) */
	struct rate_store *rates;	/* the limits' counters (filters/rate_store.h) */
	pthread_mutex_t qstore_lock;	/* guards the lazily opened qstore */
	struct qstore *qstore;
};

struct filter_input;

/* snapshot_filter_services - what both front ends give every filter from the
 * snapshot: the analyzers, DNS and sender authentication, the rate limits */
void snapshot_filter_services(const struct snapshot *snap, struct filter_input *in);

/* snapshot_qstore - the quarantine store, opened on first use; NULL with *error_r */
struct qstore *snapshot_qstore(struct snapshot *snap, char **error_r);

/* snapshot_build - load the config at path and everything it names */
int snapshot_build(const char *path, struct snapshot **snap_r, char **errors_r);

/* snapshot_install - make snap current; the previous one loses our ref */
void snapshot_install(struct snapshot *snap);

/* snapshot_acquire - the current snapshot, with a reference for the caller */
struct snapshot *snapshot_acquire(void);
void snapshot_release(struct snapshot *snap);

/* snapshot_shutdown - drop the current snapshot (end of the program) */
void snapshot_shutdown(void);

#endif
