/*
 * fuzz_message - GMime parsing and the message facts, on hostile input.
 *
 * Invariants: never crash or hang; every fact value is valid UTF-8;
 * mime.parts never exceeds max_parts; text kept stays within the limits.
 * Each input runs with the default limits and with tiny ones, so that the
 * truncation paths are reached by small inputs too.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "filters/facts.h"
#include "filters/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct message_limits tiny = {
    .max_parts = 8,
    .max_depth = 3,
    .max_text = 64,
    .max_total_text = 128,
};

/* check - abort unless the facts keep the invariants for limits */
static void check(const struct facts *f, const struct message_limits *limits)
{
	const struct fact *parts = facts_find(f, "mime.parts");
	size_t text = 0;

	if (!parts || parts->count != 1 || strtoull(parts->values[0], NULL, 10) > limits->max_parts)
		abort();
	for (size_t i = 0; i < f->count; i++) {
		const struct fact *fact = &f->items[i];
		int body = strncmp(fact->name, "body.", 5) == 0;

		if (!g_utf8_validate(fact->name, -1, NULL))
			abort();

		for (size_t j = 0; j < fact->count; j++) {
			size_t len = strlen(fact->values[j]);

			if (!g_utf8_validate(fact->values[j], -1, NULL))
				abort();
			if (len > limits->max_text)
				abort();
			if (body)
				text += len;
		}
	}
	if (text > limits->max_total_text)
		abort();
}

/* run - the facts for data under limits, checked and freed */
static void run(const uint8_t *data, size_t size, const struct message_limits *limits)
{
	struct facts f;

	facts_init(&f);
	message_facts((const char *)data, size, limits, &f);
	check(&f, limits);
	facts_clear(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	message_init();
	run(data, size, &message_default_limits);
	run(data, size, &tiny);
	return 0;
}
