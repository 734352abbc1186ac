/*
 * prefilter_cache - compiled Vectorscan databases kept across reloads.
 *
 * Compiling a thousand regular expressions takes Vectorscan most of a
 * second; a reload that changes one rule file should not pay that again
 * for every field whose expressions did not change. So each field's
 * database is kept here, serialized, under a key made of the field and its
 * expressions and flags in order, with the mask of which expressions made
 * it in. The cache lives for the process and holds a few recent sets.
 */
#ifndef SEKISHO_PREFILTER_CACHE_H
#define SEKISHO_PREFILTER_CACHE_H

#include <stddef.h>

/* prefilter_cache_get - 0 with malloc'd copies, -1 when key is not cached */
int prefilter_cache_get(const char *key, size_t keylen, char **db_r, size_t *dblen_r,
			unsigned char **mask_r, size_t *nmask_r);

/* prefilter_cache_put - remember (db may be NULL with dblen 0: no database) */
void prefilter_cache_put(const char *key, size_t keylen, const char *db, size_t dblen,
			 const unsigned char *mask, size_t nmask);

/* prefilter_cache_hits - how many lookups found their key (for tests) */
unsigned long prefilter_cache_hits(void);

#endif
