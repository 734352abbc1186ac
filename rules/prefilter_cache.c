/*
 * prefilter_cache - compiled Vectorscan databases kept across reloads.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "rules/prefilter_cache.h"

/* Enough for every field of the running set and the one being loaded. */
#define CACHE_SLOTS 32

struct slot {
	char *key;
	size_t keylen;
	char *db;
	size_t dblen;
	unsigned char *mask;
	size_t nmask;
	unsigned long used;	/* tick of the last use: the oldest is evicted */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[CACHE_SLOTS];
static unsigned long ticks, hits;

static char *dup_bytes(const void *p, size_t n)
{
	char *d = xmalloc(n ? n : 1);

	if (n)
		memcpy(d, p, n);
	return d;
}

int prefilter_cache_get(const char *key, size_t keylen, char **db_r, size_t *dblen_r,
			unsigned char **mask_r, size_t *nmask_r)
{
	int rc = -1;

	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		struct slot *s = &slots[i];
		if (s->key == NULL || s->keylen != keylen || memcmp(s->key, key, keylen) != 0)
			continue;
		s->used = ++ticks;
		*db_r = s->dblen ? dup_bytes(s->db, s->dblen) : NULL;
		*dblen_r = s->dblen;
		*mask_r = (unsigned char *)dup_bytes(s->mask, s->nmask);
		*nmask_r = s->nmask;
		hits++;
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&cache_lock);
	return rc;
}

void prefilter_cache_put(const char *key, size_t keylen, const char *db, size_t dblen,
			 const unsigned char *mask, size_t nmask)
{
	struct slot *victim = &slots[0];

	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		if (slots[i].key == NULL) {
			victim = &slots[i];
			break;
		}
		if (slots[i].used < victim->used)
			victim = &slots[i];
	}
	free(victim->key);
	free(victim->db);
	free(victim->mask);
	victim->key = dup_bytes(key, keylen);
	victim->keylen = keylen;
	victim->db = dblen ? dup_bytes(db, dblen) : NULL;
	victim->dblen = dblen;
	victim->mask = (unsigned char *)dup_bytes(mask, nmask);
	victim->nmask = nmask;
	victim->used = ++ticks;
	pthread_mutex_unlock(&cache_lock);
}

unsigned long prefilter_cache_hits(void)
{
	unsigned long n;

	pthread_mutex_lock(&cache_lock);
	n = hits;
	pthread_mutex_unlock(&cache_lock);
	return n;
}
