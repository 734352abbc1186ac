/*
 * fuzz_mail_from - libFuzzer target for filters/mail_from.c.
 *
 * The input, in a buffer of exactly its size (never NUL-terminated), is
 * read as a raw message, then again behind "From: " so that most inputs
 * reach the mailbox-list parser. Whatever comes out must hang together:
 * counts within the limits, every domain a lowercase host name without
 * final dot, an author domain only for one field with one address (and
 * then the one domain found), a problem exactly when there is none.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "filters/mail_from.h"
#include "tests/fuzz/fuzz_assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* fuzz_host_name - a lowercase LDH name with two labels or more, as mail_from.h promises */
static void fuzz_host_name(const char *d)
{
	size_t n = strlen(d);

	FUZZ_ASSERT(n > 2 && n <= 253 && strchr(d, '.') != NULL);
	FUZZ_ASSERT(d[0] != '.' && d[n - 1] != '.' && strstr(d, "..") == NULL);
	for (size_t i = 0; i < n; i++)
		FUZZ_ASSERT((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= '0' && d[i] <= '9') ||
		            d[i] == '-' || d[i] == '.');
}

/* fuzz_check - the invariants of one parse */
static void fuzz_check(const char *msg, size_t len)
{
	struct from_info info;
	int rc = mail_from_parse(msg, len, &info);

	FUZZ_ASSERT(info.addresses <= MAIL_FROM_MAX_ADDRESSES);
	FUZZ_ASSERT(info.ndomains <= info.addresses);
	FUZZ_ASSERT((rc == 0) == (info.domain != NULL));
	FUZZ_ASSERT((info.problem == NULL) == (info.domain != NULL));
	FUZZ_ASSERT(info.fields > 0 || info.addresses == 0);
	FUZZ_ASSERT(!info.complete || info.ndomains == info.addresses);
	for (size_t i = 0; i < info.ndomains; i++)
		fuzz_host_name(info.domains[i]);
	if (info.domain) {
		FUZZ_ASSERT(info.fields == 1 && info.addresses == 1 && info.ndomains == 1);
		FUZZ_ASSERT(strcmp(info.domain, info.domains[0]) == 0);
		FUZZ_ASSERT(info.complete);
	}
	from_info_free(&info);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char prefix[] = "From: ";
	char *copy, *from;

	if (size > 256 * 1024)
		return 0;
	copy = xmalloc(size ? size : 1);
	memcpy(copy, data, size);
	fuzz_check(copy, size);
	free(copy);

	from = xmalloc(sizeof(prefix) - 1 + size);
	memcpy(from, prefix, sizeof(prefix) - 1);
	memcpy(from + sizeof(prefix) - 1, data, size);
	fuzz_check(from, sizeof(prefix) - 1 + size);
	free(from);
	return 0;
}
