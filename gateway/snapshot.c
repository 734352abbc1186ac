/*
 * snapshot - everything the policy needs, immutable and reference-counted.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "filters/auth.h"
#include "filters/filter.h"
#include "gateway/analysis.h"
#include "filters/rate_store.h"
#include "quarantine/qstore.h"
#include "gateway/snapshot.h"
#include "gateway/tls.h"

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *current;
static unsigned long generations;

static void snapshot_free(struct snapshot *snap)
{
	ruleset_free(snap->rules);
	auth_services_free(snap->auth);
	rate_store_close(snap->rates);
	qstore_close(snap->qstore);
	pthread_mutex_destroy(&snap->qstore_lock);
	SSL_CTX_free(snap->tls_server);
	SSL_CTX_free(snap->tls_client);
	conf_free(snap->conf);
	free(snap->nexthop_key);
	free(snap);
}

/* nexthop_key - connections may be reused only for the same hop and policy */
static char *nexthop_key(const struct conf *conf)
{
	const struct nexthop *nh = &conf->next_hop;

	return xasprintf("%d|%s|%s|%s|%d|%s", (int)nh->kind, nh->host ? nh->host : "",
			 nh->port ? nh->port : "", nh->path ? nh->path : "",
			 (int)conf->next_hop_tls, conf->next_hop_tls_ca_file);
}

int snapshot_build(const char *path, struct snapshot **snap_r, char **errors_r)
{
	struct snapshot *snap = xcalloc(1, sizeof(*snap));

	pthread_mutex_init(&snap->qstore_lock, NULL);
	if (conf_load(path, &snap->conf, errors_r) != 0) {
		pthread_mutex_destroy(&snap->qstore_lock);
		free(snap);
		return -1;
	}
	if (snap->conf->tls_cert_file[0]) {
		snap->tls_server = tls_server_ctx(snap->conf->tls_cert_file,
						  snap->conf->tls_key_file, errors_r);
		if (snap->tls_server == NULL)
			goto fail;
	}
	snap->tls_client = tls_client_ctx(snap->conf->next_hop_tls_ca_file, errors_r);
	if (snap->tls_client == NULL)
		goto fail;
	if (snap->conf->rules_dir[0] &&
	    ruleset_load_dir(snap->conf->rules_dir, &snap->rules, errors_r) != 0)
		goto fail;
	snap->auth = auth_services_new(snap->conf, errors_r);
	if (snap->auth == NULL)
		goto fail;
	/* A reload opens the memory table again before the old snapshot
	 * closes it, so its counts carry over. */
	if ((snap->rates = rate_store_open(snap->conf->ratelimit_backend,
					   snap->conf->ratelimit_timeout,
					   snap->conf->ratelimit_max_keys,
					   snap->conf->ratelimit_fail == RATELIMIT_FAIL_OPEN,
					   errors_r)) == NULL)
		goto fail;
	snap->nexthop_key = nexthop_key(snap->conf);
	snap->refs = 1;
	*snap_r = snap;
	return 0;
fail:
	snapshot_free(snap);
	/* conf errors are lines; the libraries' messages are not: end every one */
	if (*errors_r && (*errors_r)[0] && (*errors_r)[strlen(*errors_r) - 1] != '\n') {
		char *line = xasprintf("%s\n", *errors_r);
		free(*errors_r);
		*errors_r = line;
	}
	return -1;
}

void snapshot_install(struct snapshot *snap)
{
	struct snapshot *old;

	pthread_mutex_lock(&current_lock);
	snap->generation = ++generations;
	old = current;
	current = snap;
	pthread_mutex_unlock(&current_lock);
	if (old)
		snapshot_release(old);
}

struct snapshot *snapshot_acquire(void)
{
	struct snapshot *snap;

	pthread_mutex_lock(&current_lock);
	snap = current;
	if (snap)
		__atomic_add_fetch(&snap->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&current_lock);
	return snap;
}

void snapshot_release(struct snapshot *snap)
{
	if (snap && __atomic_sub_fetch(&snap->refs, 1, __ATOMIC_ACQ_REL) == 0)
		snapshot_free(snap);
}

void snapshot_shutdown(void)
{
	struct snapshot *old;

	pthread_mutex_lock(&current_lock);
	old = current;
	current = NULL;
	pthread_mutex_unlock(&current_lock);
	snapshot_release(old);
}

void snapshot_filter_services(const struct snapshot *snap, struct filter_input *in)
{
	in->content = analysis_analyze;
	in->content_ctx = snap->conf;
	in->auth = snap->auth;
	in->rate_store = snap->rates;
	if (snap->rules) {
		in->limits = snap->rules->limits;
		in->nlimits = snap->rules->nlimits;
	}
}

struct qstore *snapshot_qstore(struct snapshot *snap, char **error_r)
{
	struct qstore *q;

	if (snap->conf->quarantine_dir[0] == '\0') {
		*error_r = xstrdup("quarantine_dir is not set");
		return NULL;
	}
	pthread_mutex_lock(&snap->qstore_lock);
	if (snap->qstore == NULL && qstore_open(snap->conf->quarantine_dir, &snap->qstore,
						error_r) != 0)
		snap->qstore = NULL;
	q = snap->qstore;
	pthread_mutex_unlock(&snap->qstore_lock);
	return q;
}
