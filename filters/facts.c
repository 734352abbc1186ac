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
