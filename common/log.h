/*
 * log - one line per event, to stderr or syslog.
 *
 * Decision lines are key=value (log_kv_*) so log tools can parse them;
 * values with spaces, quotes or control bytes are quoted and escaped, so a
 * peer cannot forge a log line with a CR or LF in its HELO.
 */
#ifndef SEKISHO_LOG_H
#define SEKISHO_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

enum log_level { LOG_LEVEL_ERR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* log_open - choose the target; facility is a syslog facility name */
void log_open(const char *ident, bool use_syslog, const char *facility);
void log_set_debug(bool on);
/* log_mute - drop every line (fuzz targets and unit tests) */
void log_mute(bool on);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* log_kv - append " key=value" to b, quoting value when it needs it */
void log_kv(struct buf *b, const char *key, const char *value);
void log_kv_len(struct buf *b, const char *key, const char *value, size_t len);
void log_kv_long(struct buf *b, const char *key, long long value);

/* log_new_id - 12 random hex digits naming a session in logs and replies:
 * unguessable, short enough to quote (size >= 13) */
void log_new_id(char *out, size_t size);

#endif
