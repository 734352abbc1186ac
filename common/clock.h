/*
 * clock - monotonic milliseconds for deadlines.
 */
#ifndef SEKISHO_CLOCK_H
#define SEKISHO_CLOCK_H

long long clock_ms(void);

/* clock_deadline - now plus seconds, as a monotonic millisecond deadline */
long long clock_deadline(long seconds);

#endif
