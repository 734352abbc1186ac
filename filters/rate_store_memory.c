/*
 * rate_store_memory - the limits' counters in this process.
 *
 * One table for the process, shared by every snapshot that opens it, so
 * the counts survive a reload. 64 shards, each a chained hash table under
 * its own mutex, hashed with SipHash under a random key (the keys are
 * sender addresses and HELO names, chosen by outsiders). An entry holds
 * only the key's TAT; one whose bucket has drained (TAT in the past) is
 * dead and swept when its shard needs room. At ratelimit_max_keys live
 * keys the shard drops the entries nearest to draining, measured as the
 * share of their own limit's tolerance they still hold, so a flood of
 * keys of a slow limit cannot push out the keys a fast limit is
 * holding back: the table cannot grow without bound, and what goes is
 * the least limited.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/clock.h"
#include "common/siphash.h"
#include "common/xalloc.h"
#include "filters/rate_store.h"

#define NSHARDS 64

struct entry {
	struct entry *next;
	uint64_t hash;
	long long tat;
	long long tolerance;	/* its limit's, to compare keys of different limits */
	size_t len;
	char key[];
};

struct shard {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t nbuckets;
	size_t count;
};

struct table {
	int refs;
	size_t shard_cap;
	unsigned char seed[16];
	struct shard shards[NSHARDS];
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct table *table;

/* fullness - how much of its tolerance a key holds: 0 drained, 1 at its limit */
static double fullness(const struct entry *e, long long now)
{
	return e->tat <= now ? 0 : (double)(e->tat - now) / (double)e->tolerance;
}

/*
 * sweep - drop dead entries, and with below_mean the live ones emptier
 * than average (sweep_alike: when all are alike and none is below,
 * every other one, so the shard always makes room)
 */
static void sweep(struct shard *sh, long long now, bool below_mean)
{
	double total = 0, mean = 0;

	if (below_mean && sh->count) {
		for (size_t b = 0; b < sh->nbuckets; b++)
			for (struct entry *e = sh->buckets[b]; e; e = e->next)
				total += fullness(e, now);
		mean = total / (double)sh->count;
	}
	for (size_t b = 0; b < sh->nbuckets; b++) {
		struct entry **pp = &sh->buckets[b];
		while (*pp) {
			struct entry *e = *pp;
			if (e->tat <= now || (below_mean && fullness(e, now) < mean)) {
				*pp = e->next;
				free(e);
				sh->count--;
			} else {
				pp = &e->next;
			}
		}
	}
}

static void sweep_alike(struct shard *sh)
{
	size_t seen = 0;

	for (size_t b = 0; b < sh->nbuckets; b++) {
		struct entry **pp = &sh->buckets[b];
		while (*pp) {
			struct entry *e = *pp;
			if (seen++ % 2 == 0) {
				*pp = e->next;
				free(e);
				sh->count--;
			} else {
				pp = &e->next;
			}
		}
	}
}

static void grow(struct shard *sh)
{
	size_t n = sh->nbuckets * 2;
	struct entry **nb = xcalloc(n, sizeof(*nb));

	for (size_t b = 0; b < sh->nbuckets; b++) {
		struct entry *e = sh->buckets[b], *next;
		for (; e; e = next) {
			next = e->next;
			size_t i = (size_t)(e->hash / NSHARDS) % n;
			e->next = nb[i];
			nb[i] = e;
		}
	}
	free(sh->buckets);
	sh->buckets = nb;
	sh->nbuckets = n;
}

/* make_room - before one more entry: sweep, grow, or evict */
static void make_room(struct shard *sh, size_t cap, long long now)
{
	if (sh->count < sh->nbuckets && sh->count < cap)
		return;
	sweep(sh, now, false);
	if (sh->count >= cap)
		sweep(sh, now, true);
	if (sh->count >= cap)
		sweep_alike(sh);
	if (sh->count >= sh->nbuckets && sh->nbuckets < cap)
		grow(sh);
}

static enum rate_verdict memory_check(struct rate_store *s, const char *key, size_t len,
				      const struct gcra_params *p, long long *count_r, char *why,
				      size_t whysize)
{
	uint64_t h = siphash24(table->seed, key, len);
	struct shard *sh = &table->shards[h % NSHARDS];
	struct gcra_result r;
	struct entry *e;
	long long now = clock_us(), tat;

	(void)s, (void)why, (void)whysize;
	pthread_mutex_lock(&sh->lock);
	for (e = sh->buckets[(h / NSHARDS) % sh->nbuckets]; e; e = e->next)
		if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
			break;
	tat = gcra_step(e ? e->tat : 0, now, p, &r);
	if (r.conforms && e) {
		e->tat = tat;
		e->tolerance = p->tolerance;
	} else if (r.conforms) {
		make_room(sh, __atomic_load_n(&table->shard_cap, __ATOMIC_RELAXED), now);
		e = xmalloc(sizeof(*e) + len);
		e->hash = h;
		e->tat = tat;
		e->tolerance = p->tolerance;
		e->len = len;
		memcpy(e->key, key, len);
		size_t b = (h / NSHARDS) % sh->nbuckets;
		e->next = sh->buckets[b];
		sh->buckets[b] = e;
		sh->count++;
	}
	pthread_mutex_unlock(&sh->lock);
	*count_r = r.count;
	return r.conforms ? RATE_CONFORMS : RATE_EXCEEDED;
}

size_t rate_store_memory_keys(void)
{
	size_t n = 0;

	pthread_mutex_lock(&table_lock);
	for (size_t i = 0; table && i < NSHARDS; i++) {
		pthread_mutex_lock(&table->shards[i].lock);
		n += table->shards[i].count;
		pthread_mutex_unlock(&table->shards[i].lock);
	}
	pthread_mutex_unlock(&table_lock);
	return n;
}

static void table_free(void)
{
	for (size_t i = 0; i < NSHARDS; i++) {
		struct shard *sh = &table->shards[i];
		for (size_t b = 0; b < sh->nbuckets; b++) {
			struct entry *e = sh->buckets[b], *next;
			for (; e; e = next) {
				next = e->next;
				free(e);
			}
		}
		free(sh->buckets);
		pthread_mutex_destroy(&sh->lock);
	}
	free(table);
	table = NULL;
}

static void memory_close(struct rate_store *s)
{
	pthread_mutex_lock(&table_lock);
	if (--table->refs == 0)
		table_free();
	pthread_mutex_unlock(&table_lock);
	free(s);
}

static const struct rate_store_ops memory_ops = {.check = memory_check, .close = memory_close};

struct rate_store *rate_store_memory_open(long max_keys)
{
	struct rate_store *s = xcalloc(1, sizeof(*s));
	size_t cap = (size_t)max_keys / NSHARDS;

	if (cap < 16)
		cap = 16;
	pthread_mutex_lock(&table_lock);
	if (table == NULL) {
		table = xcalloc(1, sizeof(*table));
		if (getrandom(table->seed, sizeof(table->seed), 0) != (ssize_t)sizeof(table->seed))
			abort();
		for (size_t i = 0; i < NSHARDS; i++) {
			pthread_mutex_init(&table->shards[i].lock, NULL);
			table->shards[i].nbuckets = 16;
			table->shards[i].buckets = xcalloc(16, sizeof(struct entry *));
		}
	}
	table->refs++;
	/* A reload may change the limit; the latest one counts. */
	__atomic_store_n(&table->shard_cap, cap, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&table_lock);
	s->ops = &memory_ops;
	s->kind = "memory";
	return s;
}
