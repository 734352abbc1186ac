/*
 * clock - monotonic milliseconds for deadlines, microseconds for measures.
 */
#ifndef SEKISHO_CLOCK_H
#define SEKISHO_CLOCK_H

long long clock_ms(void);
long long clock_us(void);

/* clock_deadline - now plus seconds, as a monotonic millisecond deadline */
long long clock_deadline(long seconds);

#endif
