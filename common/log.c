/*
 * log - one line per event, to stderr or syslog.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "common/log.h"

static const char *log_ident = "sekisho";
static bool log_to_syslog;
static bool log_debug_on;
static bool log_muted;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct {
	const char *name;
	int facility;
} facilities[] = {
	{"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"user", LOG_USER},
	{"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
	{"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
	{"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

/* log_facility - syslog facility by name; unknown names mean "mail" */
static int log_facility(const char *name)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (name && strcasecmp(name, facilities[i].name) == 0)
			return facilities[i].facility;
	return LOG_MAIL;
}

void log_open(const char *ident, bool use_syslog, const char *facility)
{
	pthread_mutex_lock(&log_lock);
	log_ident = ident;
	if (log_to_syslog && !use_syslog)
		closelog();
	log_to_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, log_facility(facility));
	pthread_mutex_unlock(&log_lock);
}

void log_set_debug(bool on)
{
	log_debug_on = on;
}

void log_mute(bool on)
{
	log_muted = on;
}

static const char *const level_names[] = {"error", "warning", "info", "debug"};
static const int level_priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[8192];
	va_list ap;

	if (log_muted || (level == LOG_LEVEL_DEBUG && !log_debug_on))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);

	if (log_to_syslog) {
		syslog(level_priorities[level], "%s", line);
		return;
	}
	/* One fprintf per line under a lock, so lines from threads never mix. */
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&log_lock);
	if (level == LOG_LEVEL_INFO)
		fprintf(stderr, "%s.%03ldZ %s: %s\n", stamp, ts.tv_nsec / 1000000,
			log_ident, line);
	else
		fprintf(stderr, "%s.%03ldZ %s: %s: %s\n", stamp, ts.tv_nsec / 1000000,
			log_ident, level_names[level], line);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

static bool needs_quotes(const char *v, size_t len)
{
	if (len == 0)
		return true;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c <= ' ' || c == '"' || c == '\\' || c == '=' || c == 0x7f)
			return true;
	}
	return false;
}

void log_kv_len(struct buf *b, const char *key, const char *value, size_t len)
{
	buf_printf(b, " %s=", key);
	if (!needs_quotes(value, len)) {
		buf_append(b, value, len);
		return;
	}
	buf_append_char(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < ' ' || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_append_char(b, (char)c);
	}
	buf_append_char(b, '"');
}

void log_kv(struct buf *b, const char *key, const char *value)
{
	if (value == NULL)
		value = "";
	log_kv_len(b, key, value, strlen(value));
}

void log_kv_long(struct buf *b, const char *key, long long value)
{
	buf_printf(b, " %s=%lld", key, value);
}

void log_new_id(char *out, size_t size)
{
	unsigned char raw[6];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		memset(raw, 0, sizeof(raw));
	snprintf(out, size, "%02x%02x%02x%02x%02x%02x", raw[0], raw[1], raw[2], raw[3],
		 raw[4], raw[5]);
}
