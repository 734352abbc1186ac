/*
 * fuzz_archive_walk - libarchive and the member walk, on hostile input.
 *
 * Invariants: never crash or hang; at most max_members members; each
 * name is valid UTF-8; data is NULL exactly when size is 0, and NULL for
 * directories and encrypted members; no member keeps more than
 * max_member_size bytes, and all of them together no more than
 * max_total; the walk's count of bytes decompressed never falls, never
 * exceeds max_total and is never below the bytes kept; "not an archive"
 * comes with no format name and no member.
 * Each input runs with roomy limits and with tiny ones, so that the
 * cut-off paths are reached by small inputs too; members that look like
 * archives are walked once more, as the caller would.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "filters/archive_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct archive_limits roomy = {
    .max_members = 1000,
    .max_member_size = 1 << 20,
    .max_total = 8 << 20,
};

static const struct archive_limits tiny = {
    .max_members = 4,
    .max_member_size = 64,
    .max_total = 256,
};

struct run {
	const struct archive_limits *limits;
	size_t members;
	size_t total;             /* bytes kept */
	size_t last_decompressed; /* the walk's cost at the last member */
	bool nested;              /* walking a member: do not go deeper */
};

/* utf8_ok - is s valid UTF-8? */
static bool utf8_ok(const char *s)
{
	size_t n = strlen(s), step;

	for (size_t i = 0; i < n; i += step)
		if (text_utf8_next((const unsigned char *)s + i, n - i, &step) < 0)
			return false;
	return true;
}

static enum archive_result walk(struct run *r, const void *data, size_t size);

/* member - check one member against the invariants; walk it if it is an archive */
static void member(void *ctx, const struct archive_member *m)
{
	struct run *r = ctx;

	if (++r->members > r->limits->max_members)
		abort();
	if (!m->name || !utf8_ok(m->name))
		abort();
	if ((m->data == NULL) != (m->size == 0))
		abort();
	if ((m->encrypted || m->is_dir) && m->data)
		abort();
	if (m->size > r->limits->max_member_size)
		abort();
	r->total += m->size;
	if (r->total > r->limits->max_total || m->decompressed > r->limits->max_total)
		abort();
	if (m->decompressed < r->last_decompressed || m->decompressed < r->total)
		abort();
	r->last_decompressed = m->decompressed;
	if (!r->nested && archive_walk_looks_like_archive(m->data, m->size)) {
		struct run inner = {.limits = &tiny, .nested = true};

		walk(&inner, m->data, m->size);
	}
}

/* walk - one walk under r's limits, its result checked */
static enum archive_result walk(struct run *r, const void *data, size_t size)
{
	const char *format = "unset";
	enum archive_result res = archive_walk(data, size, r->limits, member, r, &format);

	switch (res) {
	case ARCHIVE_WALK_NOT_ARCHIVE:
		if (format != NULL || r->members != 0)
			abort();
		break;
	case ARCHIVE_WALK_OK:
	case ARCHIVE_WALK_CORRUPT:
	case ARCHIVE_WALK_LIMIT:
	case ARCHIVE_WALK_ENCRYPTED:
		if (format && strcmp(format, "unset") == 0)
			abort();
		break;
	default:
		abort();
	}
	return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run a = {.limits = &roomy}, b = {.limits = &tiny};

	archive_walk_init();
	walk(&a, data, size);
	walk(&b, data, size);
	return 0;
}
