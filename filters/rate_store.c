/*
 * rate_store - pick the backend the configuration names.
 */
#include "config.h"

#include <string.h>

#include "common/xalloc.h"
#include "filters/rate_store.h"

struct rate_store *rate_store_open(const char *spec, long timeout, long max_keys,
				   bool fail_open, char **error_r)
{
	struct rate_store *s;

	if (strcmp(spec, "memory") == 0 || spec[0] == '\0')
		s = rate_store_memory_open(max_keys);
	else if (strncmp(spec, "redis://", 8) == 0 || strncmp(spec, "redis+unix:", 11) == 0)
		s = rate_store_redis_open(spec, timeout, error_r);
	else {
		*error_r = xasprintf("ratelimit_backend: \"%s\" is neither memory nor "
				     "redis://host:port nor redis+unix:/path", spec);
		return NULL;
	}
	if (s)
		s->fail_open = fail_open;
	return s;
}

enum rate_verdict rate_store_check(struct rate_store *s, const char *key, size_t len,
				   const struct gcra_params *p, long long *count_r, char *why,
				   size_t whysize)
{
	return s->ops->check(s, key, len, p, count_r, why, whysize);
}

void rate_store_close(struct rate_store *s)
{
	if (s)
		s->ops->close(s);
}
