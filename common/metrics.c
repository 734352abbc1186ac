/*
 * metrics - process-wide counters, and their two renderings.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/metrics.h"
#include "common/xalloc.h"

/* A counter family with one label: "rule" = "SPF_FAIL", ... */
struct labelled {
	const char *name;
	const char *help;
	const char *label;
	pthread_mutex_t lock;
	char **values;
	unsigned long long *counts;
	size_t count;
	unsigned long long dropped;	/* adds for labels past METRICS_MAX_LABELS */
};

#define FAMILY(n, h, l) {.name = n, .help = h, .label = l, .lock = PTHREAD_MUTEX_INITIALIZER}

static struct labelled messages = FAMILY("sekisho_messages_total",
					 "Transactions ended, by result", "result");
static struct labelled actions = FAMILY("sekisho_actions_total",
					"What the rules decided: each message at its end, and each refusal at connect, HELO or MAIL", "action");
static struct labelled rule_hits = FAMILY("sekisho_rule_hits_total",
					  "Rules that matched a judged message", "rule");
static struct labelled refusals = FAMILY("sekisho_sessions_refused_total",
					 "Connections refused before or at the greeting", "reason");
static struct labelled trips = FAMILY("sekisho_limit_tripped_total",
				      "Events over a rate limit, by limit", "limit");
static struct labelled nexthop = FAMILY("sekisho_nexthop_errors_total",
					"Next-hop failures, by the step that failed", "stage");

static unsigned long long sessions_total, session_error_limit, limit_checks, limit_errors;

/* Filter latency histograms, one per filter name. */
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				 0.1,	 0.25,	0.5,	1,     2.5,  5,	    10};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))
#define MAX_FILTERS 32

/* Every filter hook is timed, so no lock: a slot is claimed once by
 * compare-and-swap of its name, and the counts are atomic adds. */
struct histogram {
	const char *filter;	/* static: the registry's names */
	unsigned long long le[NBUCKETS];
	unsigned long long count;
	unsigned long long sum_us;
};

static struct histogram filters[MAX_FILTERS];

/* The most-limited keys, by the Space-Saving algorithm (Metwally et al.):
 * a full table replaces its least-counted entry and inherits its count,
 * so every key that trips often is in it, with a count at most that
 * inherited error too high. */
struct top_key {
	char *limit;
	char *key;
	unsigned long long trips;
};

static pthread_mutex_t top_lock = PTHREAD_MUTEX_INITIALIZER;
static struct top_key top[METRICS_TOP_KEYS];
static size_t ntop;

static void add(unsigned long long *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static unsigned long long get(const unsigned long long *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static void labelled_add(struct labelled *f, const char *value)
{
	size_t i;

	pthread_mutex_lock(&f->lock);
	for (i = 0; i < f->count; i++)
		if (strcmp(f->values[i], value) == 0)
			break;
	if (i == f->count) {
		if (f->count >= METRICS_MAX_LABELS) {
			f->dropped++;
			pthread_mutex_unlock(&f->lock);
			return;
		}
		f->values = xrealloc(f->values, (f->count + 1) * sizeof(*f->values));
		f->counts = xrealloc(f->counts, (f->count + 1) * sizeof(*f->counts));
		f->values[i] = xstrdup(value);
		f->counts[i] = 0;
		f->count++;
	}
	f->counts[i]++;
	pthread_mutex_unlock(&f->lock);
}

void metrics_session_started(void)
{
	add(&sessions_total);
}

void metrics_session_refused(const char *reason)
{
	labelled_add(&refusals, reason);
}

void metrics_session_errors_exceeded(void)
{
	add(&session_error_limit);
}

void metrics_message(const char *result)
{
	labelled_add(&messages, result);
}

void metrics_action(const char *action)
{
	labelled_add(&actions, action);
}

void metrics_rule_hit(const char *rule)
{
	labelled_add(&rule_hits, rule);
}

/* histogram_for - the slot of filter, claimed if new; NULL when all are taken */
static struct histogram *histogram_for(const char *filter)
{
	for (size_t i = 0; i < MAX_FILTERS; i++) {
		const char *name = __atomic_load_n(&filters[i].filter, __ATOMIC_ACQUIRE);
		if (name == NULL) {
			const char *expected = NULL;
			if (__atomic_compare_exchange_n(&filters[i].filter, &expected, filter, false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				return &filters[i];
			name = expected;
		}
		if (name == filter || strcmp(name, filter) == 0)
			return &filters[i];
	}
	return NULL;
}

void metrics_filter_time(const char *filter, long long us)
{
	struct histogram *h = histogram_for(filter);
	double seconds = (double)us / 1e6;

	if (h == NULL)
		return;
	for (size_t b = 0; b < NBUCKETS; b++)
		if (seconds <= buckets[b])
			add(&h->le[b]);
	add(&h->count);
	__atomic_add_fetch(&h->sum_us, us > 0 ? (unsigned long long)us : 0, __ATOMIC_RELAXED);
}

void metrics_limit_checked(void)
{
	add(&limit_checks);
}

void metrics_limit_backend_error(void)
{
	add(&limit_errors);
}

void metrics_limit_tripped(const char *limit, const char *key)
{
	size_t i, least = 0;

	labelled_add(&trips, limit);
	pthread_mutex_lock(&top_lock);
	for (i = 0; i < ntop; i++) {
		if (strcmp(top[i].key, key) == 0 && strcmp(top[i].limit, limit) == 0)
			break;
		if (top[i].trips < top[least].trips)
			least = i;
	}
	if (i == ntop && ntop < METRICS_TOP_KEYS) {
		top[ntop++] = (struct top_key){xstrdup(limit), xstrdup(key), 0};
	} else if (i == ntop) {
		i = least;
		free(top[i].limit);
		free(top[i].key);
		top[i].limit = xstrdup(limit);
		top[i].key = xstrdup(key);
	}
	top[i].trips++;
	pthread_mutex_unlock(&top_lock);
}

void metrics_nexthop_error(const char *stage)
{
	labelled_add(&nexthop, stage);
}

/* label_value - a value as a Prometheus label: \ " and newline escaped */
static void label_value(struct buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(out, "\\%c", *v);
		else if (*v == '\n')
			buf_append_str(out, "\\n");
		else
			buf_append_char(out, *v);
	}
}

static void render_labelled(struct buf *out, struct labelled *f)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", f->name, f->help, f->name);
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->count; i++) {
		buf_printf(out, "%s{%s=\"", f->name, f->label);
		label_value(out, f->values[i]);
		buf_printf(out, "\"} %llu\n", f->counts[i]);
	}
	pthread_mutex_unlock(&f->lock);
}

static void render_counter(struct buf *out, const char *name, const char *help,
			   unsigned long long v)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, v);
}

char *metrics_prometheus(long sessions_active)
{
	struct buf out;

	buf_init(&out);
	render_counter(&out, "sekisho_sessions_total", "SMTP sessions started",
		       get(&sessions_total));
	buf_printf(&out, "# HELP sekisho_sessions_active SMTP sessions now open\n"
			 "# TYPE sekisho_sessions_active gauge\nsekisho_sessions_active %ld\n",
		   sessions_active);
	render_labelled(&out, &refusals);
	render_counter(&out, "sekisho_session_error_limit_total",
		       "Sessions closed for too many errors", get(&session_error_limit));
	render_labelled(&out, &messages);
	render_labelled(&out, &actions);
	render_labelled(&out, &rule_hits);
	render_counter(&out, "sekisho_limit_checks_total", "Rate limit checks",
		       get(&limit_checks));
	render_labelled(&out, &trips);
	render_counter(&out, "sekisho_limit_backend_errors_total",
		       "Rate limit checks the backend could not answer", get(&limit_errors));
	render_labelled(&out, &nexthop);
	buf_append_str(&out, "# HELP sekisho_filter_seconds Time one filter hook took\n"
			     "# TYPE sekisho_filter_seconds histogram\n");
	for (size_t i = 0; i < MAX_FILTERS; i++) {
		struct histogram *h = &filters[i];
		const char *name = __atomic_load_n(&h->filter, __ATOMIC_ACQUIRE);
		unsigned long long count = get(&h->count);
		if (name == NULL)
			break;
		for (size_t b = 0; b < NBUCKETS; b++)
			buf_printf(&out, "sekisho_filter_seconds_bucket{filter=\"%s\",le=\"%g\"} %llu\n",
				   name, buckets[b], get(&h->le[b]));
		buf_printf(&out, "sekisho_filter_seconds_bucket{filter=\"%s\",le=\"+Inf\"} %llu\n",
			   name, count);
		buf_printf(&out, "sekisho_filter_seconds_sum{filter=\"%s\"} %.6f\n", name,
			   (double)get(&h->sum_us) / 1e6);
		buf_printf(&out, "sekisho_filter_seconds_count{filter=\"%s\"} %llu\n", name, count);
	}
	return buf_steal(&out);
}

void metrics_rename(struct buf *out, const char *text, const char *from, const char *to)
{
	static const char *const comments[] = {"# HELP ", "# TYPE "};
	size_t flen = strlen(from);

	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) + 1 : strlen(text);
		size_t skip = 0;

		for (size_t i = 0; i < 2; i++)
			if (strncmp(text, comments[i], 7) == 0)
				skip = 7;
		buf_append(out, text, skip);
		if (strncmp(text + skip, from, flen) == 0) {
			buf_append_str(out, to);
			skip += flen;
		}
		buf_append(out, text + skip, len - skip);
		text += len;
	}
}

static void summary_labelled(struct buf *out, const char *title, struct labelled *f)
{
	pthread_mutex_lock(&f->lock);
	buf_printf(out, "%s:%s\n", title, f->count ? "" : " none");
	for (size_t i = 0; i < f->count; i++)
		buf_printf(out, "  %-40s %12llu\n", f->values[i], f->counts[i]);
	pthread_mutex_unlock(&f->lock);
}

static int by_trips(const void *a, const void *b)
{
	const struct top_key *x = a, *y = b;

	return x->trips < y->trips ? 1 : x->trips > y->trips ? -1 : 0;
}

char *metrics_summary(long sessions_active)
{
	struct buf out;
	struct top_key copy[METRICS_TOP_KEYS];
	size_t n;

	buf_init(&out);
	buf_printf(&out, "sessions: %llu started, %ld open, %llu closed for too many errors\n",
		   get(&sessions_total), sessions_active, get(&session_error_limit));
	summary_labelled(&out, "refused at connect", &refusals);
	summary_labelled(&out, "messages", &messages);
	summary_labelled(&out, "rules' actions", &actions);
	summary_labelled(&out, "rule hits", &rule_hits);
	buf_printf(&out, "rate limits: %llu checks, %llu backend errors\n", get(&limit_checks),
		   get(&limit_errors));
	summary_labelled(&out, "limits tripped", &trips);
	pthread_mutex_lock(&top_lock);
	n = ntop;
	memcpy(copy, top, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), by_trips);
	buf_printf(&out, "most-limited keys:%s\n", n ? "" : " none");
	for (size_t i = 0; i < n && i < 10; i++)
		buf_printf(&out, "  %-24s %-40s %8llu\n", copy[i].limit, copy[i].key, copy[i].trips);
	pthread_mutex_unlock(&top_lock);
	summary_labelled(&out, "next-hop errors", &nexthop);
	buf_append_str(&out, "filter latency (mean, calls):\n");
	for (size_t i = 0; i < MAX_FILTERS; i++) {
		const char *name = __atomic_load_n(&filters[i].filter, __ATOMIC_ACQUIRE);
		unsigned long long count = get(&filters[i].count);
		if (name == NULL)
			break;
		buf_printf(&out, "  %-16s %10.3f ms %12llu\n", name,
			   count ? (double)get(&filters[i].sum_us) / 1e3 / (double)count : 0.0, count);
	}
	return buf_steal(&out);
}

static void labelled_reset(struct labelled *f)
{
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->count; i++)
		free(f->values[i]);
	free(f->values);
	free(f->counts);
	f->values = NULL;
	f->counts = NULL;
	f->count = 0;
	f->dropped = 0;
	pthread_mutex_unlock(&f->lock);
}

void metrics_reset(void)
{
	labelled_reset(&messages);
	labelled_reset(&actions);
	labelled_reset(&rule_hits);
	labelled_reset(&refusals);
	labelled_reset(&trips);
	labelled_reset(&nexthop);
	sessions_total = session_error_limit = limit_checks = limit_errors = 0;
	memset(filters, 0, sizeof(filters));
	pthread_mutex_lock(&top_lock);
	for (size_t i = 0; i < ntop; i++) {
		free(top[i].limit);
		free(top[i].key);
	}
	ntop = 0;
	pthread_mutex_unlock(&top_lock);
}
