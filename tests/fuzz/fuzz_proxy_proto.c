/*
 * fuzz_proxy_proto - libFuzzer target for the PROXY protocol parser.
 *
 * Feeds every prefix of the input, as the daemon would while bytes trickle
 * in, each from an exact-size copy so a read past len trips ASan. Checks the
 * incremental contract: OK consumes 1..len bytes and first happens exactly
 * when the header is complete, after which the answer never changes;
 * ERROR, once given, stays; ERROR and only ERROR comes with a message.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/proxy_proto.h"

#define FUZZ_MAX_INPUT	600	/* a prefix walk is quadratic; stay fast */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_parse - parse data[0..n) from an exact-size copy */
static enum proxy_result fuzz_parse(const uint8_t *data, size_t n,
				    struct proxy_info *info, size_t *consumed,
				    const char **error)
{
	unsigned char *copy = malloc(n ? n : 1);
	enum proxy_result r;

	if (copy == NULL)
		abort();
	if (n)
		memcpy(copy, data, n);
	r = proxy_parse(copy, n, info, consumed, error);
	free(copy);
	return r;
}

/* fuzz_check_one - invariants of a single answer */
static void fuzz_check_one(enum proxy_result r, size_t n, size_t consumed,
			   const char *error)
{
	if (r != PROXY_OK && r != PROXY_NEED_MORE && r != PROXY_ERROR)
		abort();
	if ((r == PROXY_ERROR) != (error != NULL))
		abort();
	if (r == PROXY_OK && (consumed == 0 || consumed > n))
		abort();
	if (r != PROXY_OK && consumed != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_info info, first_info;
	enum proxy_result r, before = PROXY_NEED_MORE;
	size_t n, consumed, first_consumed = 0;
	const char *error;

	if (size > FUZZ_MAX_INPUT)
		size = FUZZ_MAX_INPUT;
	memset(&first_info, 0, sizeof(first_info));
	for (n = 0; n <= size; n++) {
		r = fuzz_parse(data, n, &info, &consumed, &error);
		fuzz_check_one(r, n, consumed, error);
		if (before == PROXY_ERROR && r != PROXY_ERROR)
			abort();
		if (before == PROXY_OK &&
		    (r != PROXY_OK || consumed != first_consumed ||
		     memcmp(&info, &first_info, sizeof(info)) != 0))
			abort();
		if (before == PROXY_NEED_MORE && r == PROXY_OK) {
			if (consumed != n)	/* complete at its last byte */
				abort();
			first_consumed = consumed;
			memcpy(&first_info, &info, sizeof(info));
		}
		before = r;
	}
	return 0;
}
