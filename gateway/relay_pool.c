/*
 * relay_pool - idle next-hop connections kept for the next session.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "common/clock.h"
#include "gateway/relay_pool.h"

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct relay *pool_head;
static long pool_count;

/* pool_take_expired - unlink connections idle too long; caller closes them */
static struct relay *pool_take_expired(long max_idle)
{
	long long cutoff = clock_ms() - (long long)max_idle * 1000;
	struct relay **pp = &pool_head, *expired = NULL;

	while (*pp) {
		struct relay *r = *pp;
		if (r->idle_since < cutoff) {
			*pp = r->next;
			r->next = expired;
			expired = r;
			pool_count--;
		} else {
			pp = &r->next;
		}
	}
	return expired;
}

static void close_list(struct relay *r)
{
	while (r) {
		struct relay *next = r->next;
		relay_quit(r);
		r = next;
	}
}

struct relay *relay_pool_get(const char *key, long max_idle)
{
	struct relay **pp, *found = NULL, *expired;

	pthread_mutex_lock(&pool_lock);
	expired = pool_take_expired(max_idle);
	for (pp = &pool_head; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->key, key) == 0) {
			found = *pp;
			*pp = found->next;
			found->next = NULL;
			pool_count--;
			break;
		}
	}
	pthread_mutex_unlock(&pool_lock);
	close_list(expired);
	if (found)
		found->reused = true;
	return found;
}

void relay_pool_put(struct relay *r, long max_size, long max_idle)
{
	struct relay *expired;

	if (r->in_tx || r->conn.fd < 0 || conn_pending(&r->conn) || r->conn.out.len) {
		relay_quit(r);
		return;
	}
	r->idle_since = clock_ms();
	pthread_mutex_lock(&pool_lock);
	expired = pool_take_expired(max_idle);
	if (pool_count < max_size) {
		r->next = pool_head;
		pool_head = r;
		pool_count++;
		r = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	close_list(expired);
	if (r)
		relay_quit(r);
}

void relay_pool_drain(void)
{
	struct relay *all;

	pthread_mutex_lock(&pool_lock);
	all = pool_head;
	pool_head = NULL;
	pool_count = 0;
	pthread_mutex_unlock(&pool_lock);
	close_list(all);
}
