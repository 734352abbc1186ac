/*
 * fuzz_assert - the fuzz targets' invariant check: print which one failed
 * and abort, which libFuzzer reports as a crash with the input saved.
 */
#ifndef SEKISHO_FUZZ_ASSERT_H
#define SEKISHO_FUZZ_ASSERT_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
