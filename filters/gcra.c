/*
 * gcra - the generic cell rate algorithm.
 */
#include "config.h"

#include <math.h>

#include "filters/gcra.h"

/* Far beyond any limit the rule parser accepts (rule_limit.c keeps
 * interval x burst under 2^51), so sums of times never overflow. */
#define GCRA_MAX ((double)(1LL << 52))

struct gcra_params gcra_params_for(double rate, double period, double burst)
{
	struct gcra_params p;
	double e = period * 1e6 / rate, t;

	if (!(e >= 1))
		e = 1;
	if (e > GCRA_MAX)
		e = GCRA_MAX;
	t = e * (burst >= 1 ? burst : 1);
	if (t > GCRA_MAX)
		t = GCRA_MAX;
	p.interval = (long long)llround(e);
	p.tolerance = (long long)llround(t);
	return p;
}

/* events - how many intervals ahead of now tat is, rounded up */
static long long events(long long ahead, long long interval)
{
	return ahead <= 0 ? 0 : (ahead + interval - 1) / interval;
}

long long gcra_step(long long tat, long long now, const struct gcra_params *p,
		    struct gcra_result *r)
{
	long long from = tat > now ? tat : now;
	long long next = from + p->interval;

	if (next - now > p->tolerance) {
		r->conforms = false;
		r->count = events(from - now, p->interval);
		r->retry_after = next - now - p->tolerance;
		return tat;
	}
	r->conforms = true;
	r->count = events(next - now, p->interval);
	r->retry_after = 0;
	return next;
}
