/*
 * fuzz_wire - the daemon decoding an analyzer's reply, which may come from
 * a compromised analyzer.
 *
 * Invariants: never crash, never allocate past the reply's own size
 * (ASan's allocation limits catch that); a failed decode leaves the facts
 * as they were; a decoded reply holds valid UTF-8 names and values and
 * encodes and decodes again to the same facts.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "analyzer/wire.h"
#include "common/buf.h"
#include "filters/facts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const struct facts *a, const struct facts *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++) {
		const struct fact *x = &a->items[i], *y = facts_find(b, x->name);

		if (!y || x->count != y->count)
			return false;
		for (size_t j = 0; j < x->count; j++)
			if (strcmp(x->values[j], y->values[j]) != 0)
				return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct facts f, again;
	struct buf out;

	facts_init(&f);
	facts_add_str(&f, "before", "kept");
	if (wire_decode_facts((const char *)data, size, &f) != 0) {
		if (f.count != 1 || strcmp(f.items[0].name, "before") != 0 || f.items[0].count != 1)
			abort();
		facts_clear(&f);
		return 0;
	}
	for (size_t i = 0; i < f.count; i++) {
		if (!g_utf8_validate(f.items[i].name, -1, NULL))
			abort();
		for (size_t j = 0; j < f.items[i].count; j++)
			if (!g_utf8_validate(f.items[i].values[j], -1, NULL))
				abort();
	}
	buf_init(&out);
	wire_encode_facts(&f, &out);
	facts_init(&again);
	if (wire_decode_facts(out.data ? out.data : "", out.len, &again) != 0 || !same(&f, &again))
		abort();
	facts_clear(&again);
	buf_free(&out);
	facts_clear(&f);
	return 0;
}
