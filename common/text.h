/*
 * text - sender-controlled text made safe for terminals and JSON;
 * the times, sizes and durations the quarantine CLI prints and reads.
 * Terminal output: C0, DEL, C1 and invalid UTF-8 become '?'. JSON: valid
 * UTF-8 passes, controls are \u escaped, invalid bytes become U+FFFD.
 */
#ifndef SEKISHO_TEXT_H
#define SEKISHO_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

enum text_time_style { TEXT_TIME_ISO, TEXT_TIME_TABLE, TEXT_TIME_LONG };

/* text_utf8_next - the code point at s (n bytes left), -1 if invalid; *len_r >= 1 */
long text_utf8_next(const unsigned char *s, size_t n, size_t *len_r);
/* text_safe - s for a terminal; with lines, LF and TAB kept and CR before LF dropped */
void text_safe(struct buf *b, const char *s, size_t n, bool lines);
/* text_cell - s made safe, cut to width characters (0: no limit), padded if pad */
void text_cell(struct buf *b, const char *s, size_t width, bool pad);
/* text_json - s as a JSON string */
void text_json(struct buf *b, const char *s);
/* text_time - t in UTC; out is returned */
const char *text_time(long long t, enum text_time_style style, char out[40]);
/* text_size - "512 B", "4.2 MiB" */
const char *text_size(long long n, char out[32]);
/* text_duration - "90m", "12h", "30d", "3600s" in seconds; -1 if malformed */
int text_duration(const char *s, long long *secs_r);
/* text_date - "YYYY-MM-DD" as midnight UTC; -1 if malformed or impossible */
int text_date(const char *s, long long *t_r);

#endif
