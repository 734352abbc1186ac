/*
 * gcra - the generic cell rate algorithm, the arithmetic of every limit.
 *
 * A limit of R events per period P with a burst of B is one number per
 * key, the theoretical arrival time (TAT): when the key's bucket would be
 * empty again. Each event would push it on by the emission interval
 * E = P / R; an event conforms when, after the push, the TAT is at most
 * B * E ahead of now, so B events may come at once and then one every E.
 * An event that does not conform is not counted: a client that keeps
 * trying while refused does not lock itself out for longer. The same
 * step runs in memory (rate_store_memory.c) and, as a Lua script, in
 * Redis (rate_store_redis.c). Times are microseconds.
 */
#ifndef SEKISHO_GCRA_H
#define SEKISHO_GCRA_H

#include <stdbool.h>

struct gcra_params {
	long long interval;	/* E: microseconds per event on average */
	long long tolerance;	/* B * E */
};

struct gcra_result {
	bool conforms;
	long long count;	/* events in the bucket, this one included if it conforms */
	long long retry_after;	/* microseconds until one would conform (when it does not) */
};

/* gcra_params_for - E and B*E for rate events per period seconds, burst at
 * once (at least 1); both within 1 µs and 2^52 µs */
struct gcra_params gcra_params_for(double rate, double period, double burst);

/* gcra_step - one event at now against tat (0: new key); returns the new TAT */
long long gcra_step(long long tat, long long now, const struct gcra_params *p,
		    struct gcra_result *r);

#endif
