/*
 * conf_value - parse one typed value of sekisho.conf.
 *
 * Each parser takes the whole value text (already trimmed of surrounding
 * whitespace) and returns 0 with the value, or -1 with a static reason in
 * *error_r. The reason says what is wrong with the text; conf.c, which knows
 * the key and its bounds, words the message the user sees. On failure the
 * output is left untouched (nothing to free).
 */
#ifndef SEKISHO_CONF_VALUE_H
#define SEKISHO_CONF_VALUE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/conf.h"

/* yes/no, true/false, on/off, 1/0 in any case */
int conf_value_bool(const char *text, bool *out, const char **error_r);

/* decimal whole number, optionally negative, from min to max */
int conf_value_int(const char *text, long min, long max, long *out, const char **error_r);

/* bytes, or a number with suffix K, M or G (binary: 1K = 1024), any case */
int conf_value_size(const char *text, long min, long max, long *out, const char **error_r);

/* seconds, or a number with suffix s, m, h or d, any case */
int conf_value_duration(const char *text, long min, long max, long *out, const char **error_r);

/* index into the NULL-terminated names of the name text spells (any case) */
int conf_value_enum(const char *text, const char *const *names, int *out, const char **error_r);

/*
 * conf_value_words - split text at whitespace and commas into out (empty
 * words are dropped). It cannot fail; out must be empty and is owned by the
 * caller, who releases it with conf_value_words_free.
 */
void conf_value_words(const char *text, struct strlist *out);
void conf_value_words_free(struct strlist *list);

/* conf_value_hostname - letters, digits, "-" and "." in labels of 1-63 bytes */
int conf_value_hostname(const char *text, const char **error_r);

/*
 * conf_value_domain - a relay_domains item: a domain name, or ".domain" for
 * its subdomains. One trailing dot is dropped; *out_r is a malloc'd
 * lowercase copy.
 */
int conf_value_domain(const char *text, char **out_r, const char **error_r);

/* conf_value_listen - "host:port", "[ipv6]:port" or "*:port", host an IP literal */
int conf_value_listen(const char *text, const char **error_r);

/*
 * conf_value_nexthop - "smtp://host[:port]", "lmtp://host[:port]",
 * "lmtp:unix:/path" or "maildir:/path". The strings in *out are malloc'd;
 * release them with conf_value_nexthop_free.
 */
int conf_value_nexthop(const char *text, struct nexthop *out, const char **error_r);
void conf_value_nexthop_free(struct nexthop *nh);

/* conf_value_show_size - "2G", "50M", "1K" or plain bytes, for messages */
void conf_value_show_size(long bytes, char *out, size_t size);

/* conf_value_show_duration - "1d", "1h", "10m" or "30s", for messages */
void conf_value_show_duration(long seconds, char *out, size_t size);

#endif
