/*
 * wire - the facts an analyzer worker sends back to the daemon, as bytes.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/wire.h"
#include "common/log.h"
#include "common/text.h"
#include "common/xalloc.h"

static const char wire_magic[4] = {'S', 'K', 'F', '1'};

/* wire_name_ok - 1..WIRE_MAX_NAME bytes of [a-z0-9._-] */
static bool wire_name_ok(const unsigned char *name, size_t len)
{
	if (len == 0 || len > WIRE_MAX_NAME)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* wire_text_ok - valid UTF-8 without NUL */
static bool wire_text_ok(const unsigned char *s, size_t n)
{
	size_t step;

	for (size_t i = 0; i < n; i += step) {
		step = 1;
		if (s[i] >= 0x01 && s[i] < 0x80)
			continue; /* ASCII is most of it; skip the decoder */
		if (text_utf8_next(s + i, n - i, &step) <= 0)
			return false;
	}
	return true;
}

/* ---- encoding (in the worker) ---- */

static void put_u16(struct buf *b, unsigned v)
{
	unsigned char le[2] = {(unsigned char)v, (unsigned char)(v >> 8)};

	buf_append(b, le, sizeof(le));
}

static void set_u32(char *at, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		at[i] = (char)(v >> (8 * i));
}

static void put_u32(struct buf *b, uint32_t v)
{
	buf_reserve(b, 4);
	set_u32(b->data + b->len, v);
	b->len += 4;
}

/* The part of out this reply may still use. */
struct wire_budget {
	size_t start;
	size_t items;
	bool truncated;
};

/* budget_take - reserve bytes and items, or note that the reply is full */
static bool budget_take(struct wire_budget *w, const struct buf *out, size_t bytes, size_t items)
{
	if (out->len - w->start + bytes > WIRE_MAX_BYTES || w->items + items > WIRE_MAX_ITEMS) {
		w->truncated = true;
		return false;
	}
	w->items += items;
	return true;
}

/* clean_text - s as valid UTF-8: NUL and invalid bytes become U+FFFD */
static void clean_text(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t step;

	for (size_t i = 0; i < n; i += step) {
		if (text_utf8_next(p + i, n - i, &step) > 0)
			buf_append(b, p + i, step);
		else
			buf_append(b, "\xef\xbf\xbd", 3);
	}
}

static bool encode_value(struct buf *out, struct wire_budget *w, const char *value)
{
	size_t len = strlen(value);
	struct buf clean;
	bool ok;

	if (wire_text_ok((const unsigned char *)value, len)) {
		if (!budget_take(w, out, 4 + len, 1))
			return false;
		put_u32(out, (uint32_t)len);
		buf_append(out, value, len);
		return true;
	}
	buf_init(&clean);
	clean_text(&clean, value, len);
	ok = budget_take(w, out, 4 + clean.len, 1);
	if (ok) {
		put_u32(out, (uint32_t)clean.len);
		buf_append(out, clean.data, clean.len);
	}
	buf_free(&clean);
	return ok;
}

/* encode_fact - false once the reply is full */
static bool encode_fact(struct buf *out, struct wire_budget *w, const struct fact *fact)
{
	size_t name_len = strlen(fact->name), count_at;
	uint32_t sent = 0;

	if (!budget_take(w, out, 2 + name_len + 4, 1))
		return false;
	put_u16(out, (unsigned)name_len);
	buf_append(out, fact->name, name_len);
	count_at = out->len;
	put_u32(out, 0);
	for (size_t i = 0; i < fact->count && encode_value(out, w, fact->values[i]); i++)
		sent++;
	set_u32(out->data + count_at, sent);
	return sent == fact->count;
}

static int by_name(const void *a, const void *b)
{
	const struct fact *const *fa = a, *const *fb = b;

	return strcmp((*fa)->name, (*fb)->name);
}

/* flatten_sets - each set's facts under "<prefix>NNNNN.<name>" into flat */
static size_t flatten_sets(const struct facts *sets, size_t nsets, const char *prefix,
			   struct fact *flat, size_t n, char **names, size_t *nnames)
{
	for (size_t i = 0; i < nsets; i++)
		for (size_t j = 0; j < sets[i].count; j++) {
			flat[n] = sets[i].items[j];
			flat[n].name = names[(*nnames)++] =
			    xasprintf("%s%05zu.%s", prefix, i, sets[i].items[j].name);
			n++;
		}
	return n;
}

/*
 * flat_facts - f's facts, then each file's and each link's under
 * "file.NNNNN.<name>" and "link.NNNNN.<name>" (facts.h): shallow copies
 * sharing the values; only the names are new, and *names_r holds them for
 * the caller to free.
 */
static struct fact *flat_facts(const struct facts *f, size_t *count_r, char ***names_r)
{
	size_t total = f->count, n = 0, nnames = 0;
	struct fact *flat;
	char **names;

	for (size_t i = 0; i < f->nfiles; i++)
		total += f->files[i].count;
	for (size_t i = 0; i < f->nlinks; i++)
		total += f->links[i].count;
	flat = xcalloc(total + 1, sizeof(*flat));
	names = xcalloc(total - f->count + 1, sizeof(*names));
	for (size_t i = 0; i < f->count; i++)
		flat[n++] = f->items[i];
	n = flatten_sets(f->files, f->nfiles, FACTS_FILE_PREFIX, flat, n, names, &nnames);
	n = flatten_sets(f->links, f->nlinks, FACTS_LINK_PREFIX, flat, n, names, &nnames);
	*count_r = n;
	*names_r = names;
	return flat;
}

/* sendable_facts - the facts with names the wire can carry, in name order */
static const struct fact **sendable_facts(const struct fact *items, size_t count,
					  size_t *count_r)
{
	const struct fact **list = xcalloc(count + 1, sizeof(*list));
	size_t n = 0;

	for (size_t i = 0; i < count; i++) {
		const char *name = items[i].name;
		if (wire_name_ok((const unsigned char *)name, strlen(name)))
			list[n++] = &items[i];
	}
	if (n < count)
		log_debug("analyzer: %zu facts with unusable names not sent", count - n);
	qsort(list, n, sizeof(*list), by_name);
	*count_r = n;
	return list;
}

void wire_encode_facts(const struct facts *f, struct buf *out)
{
	struct wire_budget w = {.start = out->len};
	const struct fact **list;
	size_t count, nflat, sent = 0, head;
	char **names;
	struct fact *flat = flat_facts(f, &nflat, &names);

	list = sendable_facts(flat, nflat, &count);
	buf_append(out, wire_magic, sizeof(wire_magic));
	head = out->len;
	put_u32(out, 0);
	put_u32(out, 0);
	while (sent < count && !w.truncated) {
		size_t before = out->len;
		if (encode_fact(out, &w, list[sent]) || out->len > before)
			sent++; /* a fact cut short still went out */
	}
	set_u32(out->data + head, w.truncated ? WIRE_FLAG_TRUNCATED : 0);
	set_u32(out->data + head + 4, (uint32_t)sent);
	free(list);
	free(flat);
	for (char **n = names; *n; n++)
		free(*n);
	free(names);
}

/* ---- decoding (in the daemon) ---- */

struct wire_reader {
	const unsigned char *p;
	size_t left;
};

static bool read_bytes(struct wire_reader *r, size_t n, const unsigned char **at_r)
{
	if (n > r->left)
		return false;
	*at_r = r->p;
	r->p += n;
	r->left -= n;
	return true;
}

static bool read_u16(struct wire_reader *r, size_t *v_r)
{
	const unsigned char *p;

	if (!read_bytes(r, 2, &p))
		return false;
	*v_r = (size_t)p[0] | (size_t)p[1] << 8;
	return true;
}

static bool read_u32(struct wire_reader *r, size_t *v_r)
{
	const unsigned char *p;

	if (!read_bytes(r, 4, &p))
		return false;
	*v_r = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
	return true;
}

static bool read_header(struct wire_reader *r, size_t *flags_r, size_t *count_r)
{
	const unsigned char *magic;

	return read_bytes(r, 4, &magic) && memcmp(magic, wire_magic, 4) == 0 &&
	       read_u32(r, flags_r) && (*flags_r & ~(size_t)WIRE_FLAG_TRUNCATED) == 0 &&
	       read_u32(r, count_r) && *count_r <= WIRE_MAX_ITEMS;
}

/* ascending - whether name b sorts strictly after name a (strcmp order) */
static bool ascending(const unsigned char *a, size_t a_len, const unsigned char *b, size_t b_len)
{
	int c = memcmp(a, b, a_len < b_len ? a_len : b_len);

	return c < 0 || (c == 0 && a_len < b_len);
}

/*
 * Adding to out: facts already in out are found by binary search over a
 * sorted index, so a reply of many names costs n log n, not n squared as
 * facts_add's linear lookup would.
 */
struct wire_known {
	const char *name;
	size_t index;
};

struct wire_merge {
	struct facts *out;
	struct wire_known *known;
	size_t known_count;
};

static int known_order(const void *a, const void *b)
{
	return strcmp(((const struct wire_known *)a)->name, ((const struct wire_known *)b)->name);
}

static int known_find(const void *key, const void *elem)
{
	return strcmp(key, ((const struct wire_known *)elem)->name);
}

static void merge_begin(struct wire_merge *m, struct facts *out, size_t new_facts)
{
	m->out = out;
	m->known_count = out->count;
	m->known = xcalloc(out->count + 1, sizeof(*m->known));
	for (size_t i = 0; i < out->count; i++)
		m->known[i] = (struct wire_known){out->items[i].name, i};
	qsort(m->known, m->known_count, sizeof(*m->known), known_order);
	if (new_facts > 0)
		out->items = xrealloc(out->items, (out->count + new_facts) * sizeof(*out->items));
}

/* merge_fact - the fact in out for name, with room for values more values */
static struct fact *merge_fact(struct wire_merge *m, const unsigned char *name, size_t len,
                               size_t values)
{
	char *key = xstrndup((const char *)name, len);
	struct wire_known *hit =
	    bsearch(key, m->known, m->known_count, sizeof(*m->known), known_find);
	struct fact *fact;

	if (hit) {
		free(key);
		fact = &m->out->items[hit->index];
	} else {
		fact = &m->out->items[m->out->count++];
		*fact = (struct fact){.name = key};
	}
	if (values > 0)
		fact->values =
		    xrealloc(fact->values, (fact->count + values) * sizeof(*fact->values));
	return fact;
}

static void merge_value(struct fact *fact, const unsigned char *value, size_t len)
{
	char *copy = xmalloc(len + 1);

	memcpy(copy, value, len);
	copy[len] = '\0';
	fact->values[fact->count++] = copy;
}

/* wire_walk - check data; with m, also add it (data already checked) */
static int wire_walk(const char *data, size_t len, struct wire_merge *m)
{
	struct wire_reader r = {(const unsigned char *)data, len};
	const unsigned char *name, *prev = NULL, *value;
	size_t flags, count, name_len, prev_len = 0, values, value_len, items = 0;

	if (len > WIRE_MAX_BYTES || !read_header(&r, &flags, &count))
		return -1;
	for (size_t i = 0; i < count; i++) {
		if (!read_u16(&r, &name_len) || !read_bytes(&r, name_len, &name) ||
		    !wire_name_ok(name, name_len) ||
		    (prev && !ascending(prev, prev_len, name, name_len)))
			return -1;
		prev = name;
		prev_len = name_len;
		if (!read_u32(&r, &values) || values > WIRE_MAX_ITEMS ||
		    (items += 1 + values) > WIRE_MAX_ITEMS || values > r.left / 4)
			return -1;
		struct fact *fact = m ? merge_fact(m, name, name_len, values) : NULL;
		for (size_t v = 0; v < values; v++) {
			if (!read_u32(&r, &value_len) || !read_bytes(&r, value_len, &value) ||
			    (!m && !wire_text_ok(value, value_len)))
				return -1;
			if (m)
				merge_value(fact, value, value_len);
		}
	}
	if (r.left != 0)
		return -1;
	if (m && (flags & WIRE_FLAG_TRUNCATED))
		facts_add_str(m->out, WIRE_TRUNCATED_FACT, "1");
	return 0;
}

int wire_decode_facts(const char *data, size_t len, struct facts *out)
{
	struct wire_reader r = {(const unsigned char *)data, len};
	struct wire_merge m;
	size_t flags, count;

	if (wire_walk(data, len, NULL) < 0)
		return -1;
	read_header(&r, &flags, &count);
	merge_begin(&m, out, count);
	wire_walk(data, len, &m);
	free(m.known);
	facts_unflatten_files(out);
	return 0;
}
