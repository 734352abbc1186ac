/*
 * clock - monotonic milliseconds for deadlines.
 */
#include "config.h"

#include <time.h>

#include "common/clock.h"

long long clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long clock_deadline(long seconds)
{
	return clock_ms() + (long long)seconds * 1000;
}
