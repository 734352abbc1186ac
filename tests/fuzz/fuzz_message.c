/*
 * fuzz_message - GMime parsing, the MIME walk and the message facts, on
 * hostile input.
 *
 * Invariants: never crash or hang; every fact value is valid UTF-8;
 * mime.parts never exceeds max_parts; text kept stays within the limits;
 * every part the walk shows has a path, a type and a valid UTF-8 name,
 * and the decoded bytes shown stay within max_decoded and
 * max_total_decoded.
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
    .max_decoded = 256,
    .max_total_decoded = 1024,
};

struct seen {
	const struct message_limits *limits;
	size_t parts;
	size_t decoded;
};

/* on_part - the walk's visitor: check what it shows */
static void on_part(void *ctx, const struct mime_part_info *p)
{
	struct seen *seen = ctx;

	seen->parts++;
	if (!p->path || !p->path[0] || !p->content_type || !p->data)
		abort();
	if (p->filename && !g_utf8_validate(p->filename, -1, NULL))
		abort();
	if (!p->leaf && p->size)
		abort();
	if (p->size > seen->limits->max_decoded)
		abort();
	seen->decoded += p->size;
	if (seen->decoded > seen->limits->max_total_decoded)
		abort();
}

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
	struct seen seen = {.limits = limits};
	struct message_visitor visitor = {.part = on_part, .ctx = &seen};
	struct facts f;

	facts_init(&f);
	message_walk((const char *)data, size, limits, &visitor, &f);
	check(&f, limits);
	if (seen.parts > limits->max_parts)
		abort();
	facts_clear(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	message_init();
	run(data, size, &message_default_limits);
	run(data, size, &tiny);
	return 0;
}
