/*
 * metrics - what the gateway counts for the metrics endpoint and
 * `sekisho stats`: sessions, messages by result, rule hits, filter
 * latencies, limits tripped (and the keys that trip them most), next-hop
 * and rate-backend errors.
 *
 * Counters are process-wide and live from start to stop (a reload keeps
 * them). Every call is safe from any thread and cheap: an atomic add, or
 * a short mutex for the labelled families. Label values are bounded in
 * number (METRICS_MAX_LABELS per family) so a changing rule set cannot
 * grow them without end.
 */
#ifndef SEKISHO_METRICS_H
#define SEKISHO_METRICS_H

#include <stddef.h>

#define METRICS_MAX_LABELS 4096
#define METRICS_TOP_KEYS 256	/* limited keys tracked (Space-Saving) */

void metrics_session_started(void);
/* metrics_session_refused - at or before the greeting; reason: max_sessions, max_sessions_per_ip, rule */
void metrics_session_refused(const char *reason);
void metrics_session_errors_exceeded(void);

/* metrics_message - one transaction ended: delivered, quarantined, rejected, tempfail, ... */
void metrics_message(const char *result);
/* metrics_action - the rules decided for a message (or refused a client or sender) */
void metrics_action(const char *action);
void metrics_rule_hit(const char *rule);

/* metrics_filter_time - one filter hook took this long */
void metrics_filter_time(const char *filter, long long microseconds);

void metrics_limit_checked(void);
void metrics_limit_tripped(const char *limit, const char *key);
void metrics_limit_backend_error(void);

/* metrics_nexthop_error - connect, greeting, mail, rcpt, data, ... */
void metrics_nexthop_error(const char *stage);

/* metrics_prometheus - every figure in the Prometheus text format (malloc'd) */
char *metrics_prometheus(long sessions_active);

/* metrics_summary - the same figures for a terminal, with the most-limited keys (malloc'd) */
char *metrics_summary(long sessions_active);

/*
 * metrics_rename - append text (metrics_prometheus of another process) to
 * out with every family name starting with from renamed to start with to
 */
struct buf;
void metrics_rename(struct buf *out, const char *text, const char *from, const char *to);

/* metrics_reset - forget everything (unit tests) */
void metrics_reset(void);

#endif
