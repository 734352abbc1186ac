/*
 * facts - what the filters learnt about a transaction, for the rules.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "filters/facts.h"

void facts_init(struct facts *f)
{
	f->items = NULL;
	f->count = 0;
	f->files = NULL;
	f->nfiles = 0;
	f->links = NULL;
	f->nlinks = 0;
}

static void fact_free(struct fact *fact)
{
	for (size_t i = 0; i < fact->count; i++)
		free(fact->values[i]);
	free(fact->values);
	free(fact->name);
}

void facts_clear(struct facts *f)
{
	for (size_t i = 0; i < f->count; i++)
		fact_free(&f->items[i]);
	free(f->items);
	for (size_t i = 0; i < f->nfiles; i++)
		facts_clear(&f->files[i]);
	free(f->files);
	for (size_t i = 0; i < f->nlinks; i++)
		facts_clear(&f->links[i]);
	free(f->links);
	facts_init(f);
}

/* lookup - index of name (already lowercase), or count */
static size_t lookup(const struct facts *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->count; i++)
		if (strcmp(f->items[i].name, name) == 0)
			break;
	return i;
}

static char *lowercase(const char *name)
{
	char *s = xstrdup(name);

	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

/* fact_for - the fact named name, created empty if new */
static struct fact *fact_for(struct facts *f, const char *name)
{
	char *lower = lowercase(name);
	size_t i = lookup(f, lower);

	if (i < f->count) {
		free(lower);
		return &f->items[i];
	}
	f->items = xrealloc(f->items, (f->count + 1) * sizeof(*f->items));
	f->items[f->count] = (struct fact){.name = lower};
	return &f->items[f->count++];
}

/* nul_free - value as a C string; NUL bytes become U+FFFD */
static char *nul_free(const char *value, size_t len)
{
	struct buf b;
	size_t i = 0;

	buf_init(&b);
	buf_reserve(&b, len);
	while (i < len) {
		const char *nul = memchr(value + i, '\0', len - i);
		size_t run = nul ? (size_t)(nul - value) - i : len - i;
		buf_append(&b, value + i, run);
		i += run;
		if (nul) {
			buf_append(&b, "\xef\xbf\xbd", 3);
			i++;
		}
	}
	return buf_steal(&b);
}

void facts_add(struct facts *f, const char *name, const char *value, size_t len)
{
	struct fact *fact = fact_for(f, name);

	fact->values = xrealloc(fact->values, (fact->count + 1) * sizeof(*fact->values));
	fact->values[fact->count++] = nul_free(value, len);
}

void facts_add_str(struct facts *f, const char *name, const char *value)
{
	facts_add(f, name, value, strlen(value));
}

void facts_add_num(struct facts *f, const char *name, double value)
{
	char text[64];

	snprintf(text, sizeof(text), "%.15g", value);
	facts_add_str(f, name, text);
}

void facts_remove(struct facts *f, const char *name)
{
	char *lower = lowercase(name);
	size_t i = lookup(f, lower);

	free(lower);
	if (i == f->count)
		return;
	fact_free(&f->items[i]);
	f->items[i] = f->items[--f->count];
}

void facts_set(struct facts *f, const char *name, const char *value)
{
	facts_remove(f, name);
	facts_add_str(f, name, value);
}

const struct fact *facts_find(const struct facts *f, const char *name)
{
	size_t i = lookup(f, name);

	return i < f->count ? &f->items[i] : NULL;
}

void facts_merge(struct facts *dst, const struct facts *src)
{
	for (size_t i = 0; i < src->count; i++)
		for (size_t j = 0; j < src->items[i].count; j++)
			facts_add_str(dst, src->items[i].name, src->items[i].values[j]);
	for (size_t i = 0; i < src->nfiles; i++)
		facts_merge(facts_add_file(dst), &src->files[i]);
	for (size_t i = 0; i < src->nlinks; i++)
		facts_merge(facts_add_link(dst), &src->links[i]);
}

/* grow - room for one more of n items, doubling at powers of two; only for
 * arrays that nothing else resizes (files, and the sets facts_unflatten_files
 * fills), since it trusts the capacity to be the next power of two */
static void *grow(void *items, size_t n, size_t size)
{
	if (n == 0 || (n & (n - 1)) == 0)
		items = xrealloc(items, (n ? 2 * n : 1) * size);
	return items;
}

/* add_set - a new, empty set at the end of *sets */
static struct facts *add_set(struct facts **sets, size_t *n)
{
	*sets = grow(*sets, *n, sizeof(**sets));
	facts_init(&(*sets)[*n]);
	return &(*sets)[(*n)++];
}

struct facts *facts_add_file(struct facts *f)
{
	return add_set(&f->files, &f->nfiles);
}

struct facts *facts_add_link(struct facts *f)
{
	return add_set(&f->links, &f->nlinks);
}

/* id_len - length of "<prefix><id>." at the start of name, or 0 */
static size_t id_len_of(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *dot;

	if (strncmp(name, prefix, n) != 0)
		return 0;
	dot = strchr(name + n, '.');
	return dot && dot > name + n && dot[1] ? (size_t)(dot - name) + 1 : 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct fact *)a)->name, ((const struct fact *)b)->name);
}

/* unflatten - the "<prefix><id>." facts of f into sets of their own */
static void unflatten(struct facts *f, const char *prefix, struct facts **sets, size_t *nsets)
{
	struct fact *moved = xcalloc(f->count + 1, sizeof(*moved));
	size_t nmoved = 0, kept = 0, prev_len = 0;
	const char *prev = NULL;
	struct facts *set = NULL;

	for (size_t i = 0; i < f->count; i++) {
		if (id_len_of(f->items[i].name, prefix))
			moved[nmoved++] = f->items[i];
		else
			f->items[kept++] = f->items[i];
	}
	f->count = kept;
	/* same id, adjacent: one set per id, whatever order the ids came in */
	qsort(moved, nmoved, sizeof(*moved), by_name);
	for (size_t i = 0; i < nmoved; i++) {
		size_t id_len = id_len_of(moved[i].name, prefix);

		if (!prev || id_len != prev_len || strncmp(prev, moved[i].name, id_len) != 0) {
			set = add_set(sets, nsets);
			prev = moved[i].name;
			prev_len = id_len;
		}
		/* the fact moves whole: values and all, under its own name */
		set->items = grow(set->items, set->count, sizeof(*set->items));
		set->items[set->count++] = (struct fact){.name = xstrdup(moved[i].name + id_len),
							 .values = moved[i].values,
							 .count = moved[i].count};
	}
	for (size_t i = 0; i < nmoved; i++)
		free(moved[i].name);
	free(moved);
}

void facts_unflatten_files(struct facts *f)
{
	unflatten(f, FACTS_FILE_PREFIX, &f->files, &f->nfiles);
	unflatten(f, FACTS_LINK_PREFIX, &f->links, &f->nlinks);
}
