/*
 * rate_store_redis - the limits' counters in Redis, shared by every node.
 *
 * Each check is one EVALSHA of the GCRA step (gcra.h) written in Lua:
 * Redis runs a script atomically, so two nodes counting the same key at
 * once cannot both take the last token, and the script reads Redis's own
 * clock, so the nodes' clocks need not agree. Keys are
 * "sekisho:rl:<limit>|<key>", holding the TAT in microseconds and
 * expiring when the bucket has drained.
 *
 * Connections are pooled (one per concurrent check at most, idle ones
 * kept). Any error closes that connection; after one, the store does not
 * try again for a second, so a Redis that is down costs each check
 * nothing but the configured fail mode rather than a connect timeout.
 */
#include "config.h"

#include <hiredis/hiredis.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/xalloc.h"
#include "filters/rate_store.h"

#define POOL_MAX 32
#define RETRY_AFTER_US 1000000LL
#define KEY_PREFIX "sekisho:rl:"

static const char gcra_script[] =
	"local interval = tonumber(ARGV[1])\n"
	"local tolerance = tonumber(ARGV[2])\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
	"local tat = tonumber(redis.call('GET', KEYS[1]) or 0)\n"
	"local from = math.max(tat, now)\n"
	"local nxt = from + interval\n"
	"if nxt - now > tolerance then\n"
	"  return {0, math.ceil((from - now) / interval), nxt - now - tolerance}\n"
	"end\n"
	"redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX',\n"
	"           math.floor((nxt - now) / 1000) + 1)\n"
	"return {1, math.ceil((nxt - now) / interval), 0}\n";

struct redis_store {
	struct rate_store base;
	char *host;		/* NULL with a unix path */
	int port;
	char *path;
	char *user;		/* Redis 6 ACL user; NULL: the default user */
	char *password;
	int db;
	struct timeval timeout;
	pthread_mutex_t lock;
	redisContext *idle[POOL_MAX];
	size_t nidle;
	char sha[41];		/* the script's, once loaded */
	long long down_until;	/* clock_us(): no new connection before */
};

static int parse_url(struct redis_store *r, const char *url, char **error_r)
{
	const char *p;

	if (strncmp(url, "redis+unix:", 11) == 0) {
		r->path = xstrdup(url + 11);
		if (r->path[0] != '/') {
			*error_r = xasprintf("ratelimit_backend: %s: the socket path must be absolute",
					     url);
			return -1;
		}
		return 0;
	}
	p = url + 8;
	/* The last @ ends the user information: a password may hold one. */
	const char *at = strrchr(p, '@');
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (colon == NULL) {
			*error_r = xasprintf("ratelimit_backend: %s: expected "
					     "redis://[user]:password@host", url);
			return -1;
		}
		if (colon > p)
			r->user = xstrndup(p, (size_t)(colon - p));
		r->password = xstrndup(colon + 1, (size_t)(at - colon - 1));
		p = at + 1;
	}
	size_t hostlen = strcspn(p, ":/");
	if (hostlen == 0) {
		*error_r = xasprintf("ratelimit_backend: %s: no host", url);
		return -1;
	}
	r->host = xstrndup(p, hostlen);
	p += hostlen;
	r->port = 6379;
	if (*p == ':') {
		char *end;
		long port = strtol(p + 1, &end, 10);
		if (end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/')) {
			*error_r = xasprintf("ratelimit_backend: %s: bad port", url);
			return -1;
		}
		r->port = (int)port;
		p = end;
	}
	if (*p == '/' && p[1]) {
		char *end;
		long db = strtol(p + 1, &end, 10);
		if (*end || db < 0 || db > 10000) {
			*error_r = xasprintf("ratelimit_backend: %s: bad database number", url);
			return -1;
		}
		r->db = (int)db;
	} else if (*p && strcmp(p, "/") != 0) {
		*error_r = xasprintf("ratelimit_backend: %s: expected redis://host[:port][/db]", url);
		return -1;
	}
	return 0;
}

/* command_ok - run a setup command; false (with why) if it failed */
static bool command_ok(redisContext *c, redisReply *reply, char *why, size_t whysize)
{
	bool ok = reply && reply->type != REDIS_REPLY_ERROR;

	if (!ok)
		snprintf(why, whysize, "redis: %s",
			 reply ? reply->str : c->err ? c->errstr : "no reply");
	if (reply)
		freeReplyObject(reply);
	return ok;
}

static redisContext *connect_new(struct redis_store *r, char *why, size_t whysize)
{
	redisContext *c = r->path ? redisConnectUnixWithTimeout(r->path, r->timeout)
				  : redisConnectWithTimeout(r->host, r->port, r->timeout);

	if (c == NULL || c->err) {
		snprintf(why, whysize, "redis: cannot connect: %s", c ? c->errstr : "out of memory");
		goto fail;
	}
	if (redisSetTimeout(c, r->timeout) != REDIS_OK) {
		snprintf(why, whysize, "redis: cannot set the timeout");
		goto fail;
	}
	if (r->password && !command_ok(c, r->user ? redisCommand(c, "AUTH %s %s", r->user,
								   r->password)
						   : redisCommand(c, "AUTH %s", r->password),
				       why, whysize))
		goto fail;
	if (r->db && !command_ok(c, redisCommand(c, "SELECT %d", r->db), why, whysize))
		goto fail;
	return c;
fail:
	if (c)
		redisFree(c);
	return NULL;
}

static redisContext *checkout(struct redis_store *r, char *why, size_t whysize)
{
	redisContext *c = NULL;
	long long now = clock_us();

	pthread_mutex_lock(&r->lock);
	if (r->nidle)
		c = r->idle[--r->nidle];
	else if (now < r->down_until)
		snprintf(why, whysize, "redis: unreachable a moment ago; not retried yet");
	pthread_mutex_unlock(&r->lock);
	if (c || why[0])
		return c;
	if ((c = connect_new(r, why, whysize)) == NULL) {
		pthread_mutex_lock(&r->lock);
		r->down_until = clock_us() + RETRY_AFTER_US;
		pthread_mutex_unlock(&r->lock);
	}
	return c;
}

static void checkin(struct redis_store *r, redisContext *c, bool broken)
{
	pthread_mutex_lock(&r->lock);
	if (broken)
		r->down_until = clock_us() + RETRY_AFTER_US;
	if (!broken && r->nidle < POOL_MAX) {
		r->idle[r->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	if (c)
		redisFree(c);
}

/* load_script - SCRIPT LOAD, the sha kept for EVALSHA */
static bool load_script(struct redis_store *r, redisContext *c, char *why, size_t whysize)
{
	redisReply *reply = redisCommand(c, "SCRIPT LOAD %s", gcra_script);
	bool ok = reply && reply->type == REDIS_REPLY_STRING && reply->len == 40;

	if (ok) {
		pthread_mutex_lock(&r->lock);
		memcpy(r->sha, reply->str, 41);
		pthread_mutex_unlock(&r->lock);
	} else {
		snprintf(why, whysize, "redis: SCRIPT LOAD: %s",
			 reply && reply->type == REDIS_REPLY_ERROR ? reply->str
			 : c->err				   ? c->errstr
								   : "unexpected reply");
	}
	if (reply)
		freeReplyObject(reply);
	return ok;
}

static enum rate_verdict redis_check(struct rate_store *s, const char *key, size_t len,
				     const struct gcra_params *p, long long *count_r, char *why,
				     size_t whysize)
{
	struct redis_store *r = (struct redis_store *)s;
	redisContext *c;
	redisReply *reply = NULL;
	char sha[41], rkey[sizeof(KEY_PREFIX) + RATE_KEY_MAX];
	size_t klen = sizeof(KEY_PREFIX) - 1 + (len < RATE_KEY_MAX ? len : RATE_KEY_MAX);
	enum rate_verdict v = RATE_UNKNOWN;

	why[0] = '\0';
	memcpy(rkey, KEY_PREFIX, sizeof(KEY_PREFIX) - 1);
	memcpy(rkey + sizeof(KEY_PREFIX) - 1, key, klen - (sizeof(KEY_PREFIX) - 1));
	if ((c = checkout(r, why, whysize)) == NULL)
		return RATE_UNKNOWN;
	for (int attempt = 0; attempt < 2; attempt++) {
		pthread_mutex_lock(&r->lock);
		memcpy(sha, r->sha, sizeof(sha));
		pthread_mutex_unlock(&r->lock);
		if (!sha[0]) {
			if (!load_script(r, c, why, whysize))
				break;
			pthread_mutex_lock(&r->lock);
			memcpy(sha, r->sha, sizeof(sha));
			pthread_mutex_unlock(&r->lock);
		}
		reply = redisCommand(c, "EVALSHA %s 1 %b %lld %lld", sha, rkey, klen, p->interval,
				     p->tolerance);
		if (reply && reply->type == REDIS_REPLY_ERROR &&
		    strncasecmp(reply->str, "NOSCRIPT", 8) == 0) {
			/* Redis restarted or its scripts were flushed. */
			freeReplyObject(reply);
			reply = NULL;
			pthread_mutex_lock(&r->lock);
			r->sha[0] = '\0';
			pthread_mutex_unlock(&r->lock);
			continue;
		}
		break;
	}
	if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
	    reply->element[0]->type == REDIS_REPLY_INTEGER &&
	    reply->element[1]->type == REDIS_REPLY_INTEGER) {
		*count_r = reply->element[1]->integer;
		v = reply->element[0]->integer ? RATE_CONFORMS : RATE_EXCEEDED;
	} else if (!why[0]) {
		snprintf(why, whysize, "redis: %s",
			 reply && reply->type == REDIS_REPLY_ERROR ? reply->str
			 : c->err				   ? c->errstr
								   : "unexpected reply");
	}
	if (reply)
		freeReplyObject(reply);
	checkin(r, c, v == RATE_UNKNOWN && c->err != 0);
	return v;
}

static void redis_close(struct rate_store *s)
{
	struct redis_store *r = (struct redis_store *)s;

	for (size_t i = 0; i < r->nidle; i++)
		redisFree(r->idle[i]);
	pthread_mutex_destroy(&r->lock);
	free(r->host);
	free(r->path);
	free(r->user);
	free(r->password);
	free(r);
}

static const struct rate_store_ops redis_ops = {.check = redis_check, .close = redis_close};

struct rate_store *rate_store_redis_open(const char *url, long timeout, char **error_r)
{
	struct redis_store *r = xcalloc(1, sizeof(*r));

	r->base.ops = &redis_ops;
	r->base.kind = "redis";
	r->timeout.tv_sec = timeout;
	pthread_mutex_init(&r->lock, NULL);
	if (parse_url(r, url, error_r) != 0) {
		redis_close(&r->base);
		return NULL;
	}
	return &r->base;
}
