/*
 * metrics_http - the Prometheus scrape endpoint (metrics_listen).
 *
 * GET /metrics answers the text exposition format of common/metrics.h;
 * anything else is a 404 or 405. libmicrohttpd serves it from a thread of
 * its own (it inherits our blocked signals), with a few connections at
 * most and a short timeout, so a scraper cannot tie the gateway up. Keep
 * it on a loopback address or behind a firewall: the figures name rules
 * and limits.
 */
#ifndef SEKISHO_METRICS_HTTP_H
#define SEKISHO_METRICS_HTTP_H

#include <stdbool.h>

struct metrics_http;

/* metrics_http_start - listen on "host:port", answer render(true) (malloc'd);
 * NULL with *error_r (malloc'd) */
struct metrics_http *metrics_http_start(const char *listen, char *(*render)(bool prometheus),
					char **error_r);
void metrics_http_stop(struct metrics_http *m);

/* metrics_http_check - is listen "address:port" with a numeric address? NULL, or why not */
const char *metrics_http_check(const char *listen);

#endif
