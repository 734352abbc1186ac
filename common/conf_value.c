/*
 * conf_value - parse one typed value of sekisho.conf.
 *
 * Numbers are decimal digits only: no sign for sizes and durations, no
 * spaces, no hex, so a value means the same to the reader and the parser.
 * Characters are tested as ASCII, never through the locale.
 */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "common/conf_value.h"
#include "common/xalloc.h"

#define VALUE_KIB 1024L
#define VALUE_MIB (1024L * 1024)
#define VALUE_GIB (1024L * 1024 * 1024)

/* value_is_digit - ASCII 0-9 */
static bool value_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* value_is_alnum - ASCII letter or digit */
static bool value_is_alnum(char c)
{
	return value_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* value_lower - ASCII lowercase */
static char value_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * value_digits - the decimal digits at the start of text. Returns -1 if
 * there are none; sets *big when the number exceeds LONG_MAX (the digits
 * are still consumed, so the caller can tell "too large" from "not a
 * number").
 */
static int value_digits(const char *text, const char **end_r, long *out, bool *big)
{
	const char *p = text;
	long n = 0;

	*big = false;
	for (; value_is_digit(*p); p++) {
		int d = *p - '0';

		if (n > (LONG_MAX - d) / 10)
			*big = true;
		else
			n = n * 10 + d;
	}
	*end_r = p;
	*out = n;
	return p == text ? -1 : 0;
}

/*
 * value_scaled - digits followed by at most one unit letter from units,
 * each with its multiplier. Shared by sizes and durations.
 */
static int value_scaled(const char *text, const char *units, const long *scale, long min, long max,
                        long *out, const char **error_r, const char *syntax_error)
{
	const char *end, *unit;
	long n, mult = 1;
	bool big;

	if (value_digits(text, &end, &n, &big) != 0) {
		*error_r = syntax_error;
		return -1;
	}
	if (*end != '\0') {
		if (end[1] != '\0' || (unit = strchr(units, value_lower(*end))) == NULL) {
			*error_r = syntax_error;
			return -1;
		}
		mult = scale[unit - units];
	}
	if (big || n > LONG_MAX / mult || n * mult < min || n * mult > max) {
		*error_r = "out of range";
		return -1;
	}
	*out = n * mult;
	return 0;
}

int conf_value_bool(const char *text, bool *out, const char **error_r)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	*error_r = "not yes or no";
	return -1;
}

int conf_value_int(const char *text, long min, long max, long *out, const char **error_r)
{
	bool negative = text[0] == '-', big;
	const char *end;
	long n;

	if (value_digits(text + negative, &end, &n, &big) != 0 || *end != '\0') {
		*error_r = "not a whole number";
		return -1;
	}
	if (negative)
		n = -n;
	if (big || n < min || n > max) {
		*error_r = "out of range";
		return -1;
	}
	*out = n;
	return 0;
}

int conf_value_size(const char *text, long min, long max, long *out, const char **error_r)
{
	static const long scale[] = {VALUE_KIB, VALUE_MIB, VALUE_GIB};

	return value_scaled(text, "kmg", scale, min, max, out, error_r, "not a size");
}

int conf_value_duration(const char *text, long min, long max, long *out, const char **error_r)
{
	static const long scale[] = {1, 60, 3600, 86400};

	return value_scaled(text, "smhd", scale, min, max, out, error_r, "not a duration");
}

int conf_value_enum(const char *text, const char *const *names, int *out, const char **error_r)
{
	for (int i = 0; names[i] != NULL; i++) {
		if (strcasecmp(text, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	*error_r = "not one of the names allowed";
	return -1;
}

/* value_is_separator - whitespace or a comma between list words */
static bool value_is_separator(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

void conf_value_words(const char *text, struct strlist *out)
{
	const char *p = text, *start;

	while (*p) {
		while (value_is_separator(*p))
			p++;
		if (*p == '\0')
			break;
		for (start = p; *p && !value_is_separator(*p); p++)
			;
		/* no capacity field: grow when count is a power of two */
		if ((out->count & (out->count - 1)) == 0)
			out->items = xrealloc(out->items, (out->count ? out->count * 2 : 1) *
			                                      sizeof(*out->items));
		out->items[out->count++] = xstrndup(start, (size_t)(p - start));
	}
}

void conf_value_words_free(struct strlist *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

/* value_label - one label of a host name: 1-63 bytes, no "-" at either end */
static int value_label(const char *label, size_t len, const char **error_r)
{
	if (len == 0)
		*error_r = "a label is empty";
	else if (len > 63)
		*error_r = "a label is longer than 63 bytes";
	else if (label[0] == '-' || label[len - 1] == '-')
		*error_r = "a label starts or ends with \"-\"";
	else
		return 0;
	return -1;
}

int conf_value_hostname(const char *text, const char **error_r)
{
	const char *label = text, *p;

	if (text[0] == '\0') {
		*error_r = "empty";
		return -1;
	}
	if (strlen(text) > 253) {
		*error_r = "longer than 253 bytes";
		return -1;
	}
	for (p = text;; p++) {
		if (*p != '.' && *p != '\0') {
			if (value_is_alnum(*p) || *p == '-')
				continue;
			*error_r = "only letters, digits, \"-\" and \".\" are allowed";
			return -1;
		}
		if (value_label(label, (size_t)(p - label), error_r) != 0)
			return -1;
		if (*p == '\0')
			return 0;
		label = p + 1;
	}
}

int conf_value_domain(const char *text, char **out_r, const char **error_r)
{
	bool subdomains = text[0] == '.';
	size_t len;
	char *name;

	if (text[0] == '*' && text[1] == '.') {
		*error_r = "write \".example.com\", not \"*.example.com\", for subdomains";
		return -1;
	}
	name = xstrdup(text);
	len = strlen(name);
	if (len > 1 && name[len - 1] == '.')
		name[len - 1] = '\0';
	if (conf_value_hostname(name + subdomains, error_r) != 0) {
		free(name);
		return -1;
	}
	for (char *p = name; *p; p++)
		*p = value_lower(*p);
	*out_r = name;
	return 0;
}

/* value_port - decimal 1..65535, written back without leading zeros */
static int value_port(const char *text, char out[6], const char **error_r)
{
	long port;

	if (text[0] == '-' || conf_value_int(text, 1, 65535, &port, error_r) != 0) {
		*error_r = "the port must be a number from 1 to 65535";
		return -1;
	}
	snprintf(out, 6, "%ld", port);
	return 0;
}

/* value_ip - is the len bytes at text an address of family? */
static bool value_ip(const char *text, size_t len, int family)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	unsigned char addr[16];

	if (len >= sizeof(tmp))
		return false;
	memcpy(tmp, text, len);
	tmp[len] = '\0';
	return inet_pton(family, tmp, addr) == 1;
}

/* a "host[:port]" split in place: host is not NUL-terminated */
struct value_hostport {
	const char *host;
	size_t host_len;
	bool bracketed;   /* "[ipv6]", already checked */
	const char *port; /* NULL when absent */
};

/* value_host_port - split "[ipv6]:port" or "host:port" at the port colon */
static int value_host_port(const char *text, struct value_hostport *hp, const char **error_r)
{
	const char *close, *colon;

	hp->bracketed = text[0] == '[';
	if (hp->bracketed) {
		if ((close = strchr(text, ']')) == NULL) {
			*error_r = "missing \"]\"";
			return -1;
		}
		hp->host = text + 1;
		hp->host_len = (size_t)(close - text - 1);
		if (!value_ip(hp->host, hp->host_len, AF_INET6)) {
			*error_r = "not an IPv6 address inside \"[]\"";
			return -1;
		}
		if (close[1] != '\0' && close[1] != ':') {
			*error_r = "expected \":port\" after \"]\"";
			return -1;
		}
		hp->port = close[1] == ':' ? close + 2 : NULL;
		return 0;
	}
	colon = strchr(text, ':');
	if (colon && strchr(colon + 1, ':')) {
		*error_r = "write an IPv6 address in brackets, as in [::1]:25";
		return -1;
	}
	hp->host = text;
	hp->host_len = colon ? (size_t)(colon - text) : strlen(text);
	hp->port = colon ? colon + 1 : NULL;
	return 0;
}

int conf_value_listen(const char *text, const char **error_r)
{
	struct value_hostport hp;
	char port[6];

	if (value_host_port(text, &hp, error_r) != 0)
		return -1;
	if (hp.port == NULL) {
		*error_r = "missing \":port\"";
		return -1;
	}
	if (hp.host_len == 0) {
		*error_r = "missing address before \":port\" (\"*\" means all)";
		return -1;
	}
	if (!hp.bracketed && !(hp.host_len == 1 && hp.host[0] == '*') &&
	    !value_ip(hp.host, hp.host_len, AF_INET)) {
		*error_r = "host names are not allowed, only IP addresses or \"*\"";
		return -1;
	}
	return value_port(hp.port, port, error_r);
}

/* value_nexthop_host - a host name or IPv4 address (len bytes at text) */
static int value_nexthop_host(const char *text, size_t len, const char **error_r)
{
	char *name;
	int rc;

	if (len == 0) {
		*error_r = "missing host";
		return -1;
	}
	if (value_ip(text, len, AF_INET))
		return 0;
	if (strspn(text, "0123456789.") >= len) {
		*error_r = "not a valid IPv4 address";
		return -1;
	}
	name = xstrndup(text, len);
	rc = conf_value_hostname(name, error_r);
	free(name);
	if (rc != 0)
		*error_r = "bad host name (letters, digits, \"-\" and \".\")";
	return rc;
}

/* value_nexthop_inet - the "host[:port]" of smtp:// and lmtp:// */
static int value_nexthop_inet(const char *text, const char *default_port, struct nexthop *out,
                              const char **error_r)
{
	struct value_hostport hp;
	char port[6];

	if (value_host_port(text, &hp, error_r) != 0)
		return -1;
	if (!hp.bracketed && value_nexthop_host(hp.host, hp.host_len, error_r) != 0)
		return -1;
	if (hp.port && value_port(hp.port, port, error_r) != 0)
		return -1;
	out->host = xstrndup(hp.host, hp.host_len);
	out->port = xstrdup(hp.port ? port : default_port);
	out->path = NULL;
	return 0;
}

/* value_nexthop_path - an absolute path; socket paths must fit sun_path */
static int value_nexthop_path(const char *text, bool socket, struct nexthop *out,
                              const char **error_r)
{
	struct sockaddr_un sun;

	if (text[0] != '/') {
		*error_r = "the path must be absolute";
		return -1;
	}
	if (socket && strlen(text) >= sizeof(sun.sun_path)) {
		*error_r = "the socket path is too long for a unix socket";
		return -1;
	}
	out->host = NULL;
	out->port = NULL;
	out->path = xstrdup(text);
	return 0;
}

int conf_value_nexthop(const char *text, struct nexthop *out, const char **error_r)
{
	struct nexthop nh;
	int rc;

	if (strncasecmp(text, "smtp://", 7) == 0) {
		nh.kind = NEXTHOP_SMTP;
		rc = value_nexthop_inet(text + 7, "25", &nh, error_r);
	} else if (strncasecmp(text, "lmtp://", 7) == 0) {
		nh.kind = NEXTHOP_LMTP;
		rc = value_nexthop_inet(text + 7, "24", &nh, error_r);
	} else if (strncasecmp(text, "lmtp:unix:", 10) == 0) {
		nh.kind = NEXTHOP_LMTP_UNIX;
		rc = value_nexthop_path(text + 10, true, &nh, error_r);
	} else if (strncasecmp(text, "maildir:", 8) == 0) {
		nh.kind = NEXTHOP_MAILDIR;
		rc = value_nexthop_path(text + 8, false, &nh, error_r);
	} else {
		*error_r = "expected smtp://host[:port], lmtp://host[:port], "
		           "lmtp:unix:/path or maildir:/path";
		rc = -1;
	}
	if (rc == 0)
		*out = nh;
	return rc;
}

void conf_value_nexthop_free(struct nexthop *nh)
{
	free(nh->host);
	free(nh->port);
	free(nh->path);
	nh->host = nh->port = nh->path = NULL;
}

void conf_value_show_size(long bytes, char *out, size_t size)
{
	if (bytes != 0 && bytes % VALUE_GIB == 0)
		snprintf(out, size, "%ldG", bytes / VALUE_GIB);
	else if (bytes != 0 && bytes % VALUE_MIB == 0)
		snprintf(out, size, "%ldM", bytes / VALUE_MIB);
	else if (bytes != 0 && bytes % VALUE_KIB == 0)
		snprintf(out, size, "%ldK", bytes / VALUE_KIB);
	else
		snprintf(out, size, "%ld", bytes);
}

void conf_value_show_duration(long seconds, char *out, size_t size)
{
	if (seconds != 0 && seconds % 86400 == 0)
		snprintf(out, size, "%ldd", seconds / 86400);
	else if (seconds != 0 && seconds % 3600 == 0)
		snprintf(out, size, "%ldh", seconds / 3600);
	else if (seconds != 0 && seconds % 60 == 0)
		snprintf(out, size, "%ldm", seconds / 60);
	else
		snprintf(out, size, "%lds", seconds);
}
