/*
 * ratelimit_bench - limit checks per second through a rate store.
 *
 *   ratelimit_bench BACKEND THREADS CHECKS KEYS
 *   ratelimit_bench --ping redis://host:port THREADS CHECKS
 *
 * Each thread runs CHECKS checks over KEYS distinct keys (round robin)
 * against the backend ("memory" or a Redis URL), the way the rate filter
 * calls it; --ping sends bare PINGs over one hiredis connection per
 * thread, the round trip a Redis check cannot beat. Prints one line:
 * "checks_per_second N". Driven by bench/limit-bench.
 */
#include "config.h"

#include <hiredis/hiredis.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "filters/rate_store.h"

struct job {
	struct rate_store *store;
	const char *url;	/* --ping */
	long checks, keys, id;
	long errors;
};

static void *run_checks(void *arg)
{
	struct job *j = arg;
	struct gcra_params p = gcra_params_for(1e6, 1, 1e6);
	char key[64], why[256];
	long long count;

	for (long i = 0; i < j->checks; i++) {
		int n = snprintf(key, sizeof(key), "bench|sender%ld@example.net",
				 (i * 7919 + j->id) % j->keys);
		if (rate_store_check(j->store, key, (size_t)n, &p, &count, why, sizeof(why)) ==
		    RATE_UNKNOWN)
			j->errors++;
	}
	return NULL;
}

static void *run_pings(void *arg)
{
	struct job *j = arg;
	const char *hostport = j->url + 8;
	char host[256];
	const char *colon = strrchr(hostport, ':');
	struct timeval tv = {1, 0};
	redisContext *c;

	snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
	c = redisConnectWithTimeout(host, atoi(colon + 1), tv);
	if (c == NULL || c->err) {
		j->errors = j->checks;
		return NULL;
	}
	for (long i = 0; i < j->checks; i++) {
		redisReply *r = redisCommand(c, "PING");
		if (r == NULL)
			j->errors++;
		else
			freeReplyObject(r);
	}
	redisFree(c);
	return NULL;
}

int main(int argc, char **argv)
{
	bool ping = argc == 5 && strcmp(argv[1], "--ping") == 0;
	char *error = NULL;
	long threads, checks, keys = 1, errors = 0;
	struct rate_store *store = NULL;

	if (!ping && argc != 5) {
		fprintf(stderr, "usage: ratelimit_bench BACKEND THREADS CHECKS KEYS\n"
				"       ratelimit_bench --ping redis://host:port THREADS CHECKS\n");
		return 2;
	}
	threads = atol(argv[2]);
	checks = atol(argv[3]);
	if (!ping)
		keys = atol(argv[4]);
	else
		threads = atol(argv[3]), checks = atol(argv[4]);
	if (threads < 1 || threads > 256 || checks < 1 || keys < 1)
		return 2;
	if (!ping && (store = rate_store_open(argv[1], 1, 10000000, false, &error)) == NULL) {
		fprintf(stderr, "%s\n", error);
		return 1;
	}
	pthread_t *tids = calloc((size_t)threads, sizeof(*tids));
	struct job *jobs = calloc((size_t)threads, sizeof(*jobs));
	long long start = clock_us();
	for (long t = 0; t < threads; t++) {
		jobs[t] = (struct job){.store = store, .url = argv[2], .checks = checks,
				       .keys = keys, .id = t};
		pthread_create(&tids[t], NULL, ping ? run_pings : run_checks, &jobs[t]);
	}
	for (long t = 0; t < threads; t++) {
		pthread_join(tids[t], NULL);
		errors += jobs[t].errors;
	}
	double elapsed = (double)(clock_us() - start) / 1e6;
	printf("checks_per_second %.0f\nerrors %ld\n", (double)(threads * checks) / elapsed,
	       errors);
	rate_store_close(store);
	free(tids);
	free(jobs);
	return errors ? 1 : 0;
}
