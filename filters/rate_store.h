/*
 * rate_store - where the limits' counters live: in this process, or in
 * Redis for several gateways that share one set of counters.
 *
 * ratelimit_backend = memory (the default) keeps one table for the whole
 * process: it outlives reloads, so a reload never forgives a flood.
 * ratelimit_backend = redis://[[user]:password@]host[:port][/db] or
 * redis+unix:/path runs each check as one Lua script in Redis, atomic per
 * key, on Redis's clock, so every node sees the same count. When Redis
 * cannot be asked within ratelimit_timeout the check's verdict is
 * RATE_UNKNOWN and ratelimit_fail says what the limit makes of it.
 */
#ifndef SEKISHO_RATE_STORE_H
#define SEKISHO_RATE_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "filters/gcra.h"

enum rate_verdict { RATE_CONFORMS, RATE_EXCEEDED, RATE_UNKNOWN };

struct rate_store;

struct rate_store_ops {
	enum rate_verdict (*check)(struct rate_store *s, const char *key, size_t len,
				   const struct gcra_params *p, long long *count_r,
				   char *why, size_t whysize);
	void (*close)(struct rate_store *s);
};

struct rate_store {
	const struct rate_store_ops *ops;
	const char *kind;	/* "memory" or "redis" */
	bool fail_open;		/* RATE_UNKNOWN lets the event through */
};

/* Longest key a check is asked about: longer ones are cut (and stay distinct by a hash). */
#define RATE_KEY_MAX 512

/*
 * rate_store_open - the backend spec names; NULL with *error_r (malloc'd).
 * timeout: seconds for a Redis connect or reply; max_keys: the memory
 * table's size limit.
 */
struct rate_store *rate_store_open(const char *spec, long timeout, long max_keys,
				   bool fail_open, char **error_r);

/*
 * rate_store_check - one event for key (the limit's name and the key
 * values, as ratelimit.c builds it). *count_r: events in its bucket. On
 * RATE_UNKNOWN, why says what went wrong.
 */
enum rate_verdict rate_store_check(struct rate_store *s, const char *key, size_t len,
				   const struct gcra_params *p, long long *count_r, char *why,
				   size_t whysize);

void rate_store_close(struct rate_store *s);

/* the backends */
struct rate_store *rate_store_memory_open(long max_keys);
struct rate_store *rate_store_redis_open(const char *url, long timeout, char **error_r);

/* rate_store_memory_keys - keys the memory table holds now (drained ones
 * are swept when a shard needs room, so some may be drained) */
size_t rate_store_memory_keys(void);

#endif
