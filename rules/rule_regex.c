/*
 * rule_regex - the regular expressions of a ruleset: PCRE2 (JIT) to
 * decide, Vectorscan to find candidates fast.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/text.h"
#include "common/xalloc.h"
#include "filters/facts.h"
#include "rules/prefilter_cache.h"
#include "rules/rule_regex.h"

/* Subjects longer than this are matched by PCRE2 alone. */
#define PREFILTER_MAX_SUBJECT (4 * 1024 * 1024)

struct field_db {
	char *field;
	hs_database_t *db;
	unsigned *ids;		/* Vectorscan expression id -> regex id */
	size_t count;
};

struct rule_prefilter {
	struct field_db *fields;
	size_t count;
	hs_scratch_t *proto;	/* cloned per match context */
};

struct field_state {
	bool scanned;
	bool all;		/* some value was not prefiltered: every regex is a candidate */
};

struct rule_match_ctx {
	const struct rule_prefilter *pf;
	hs_scratch_t *scratch;
	pcre2_match_data *md;
	unsigned char *candidate;	/* per regex id */
	size_t nregexes;
	struct field_state *fields;	/* per field db */
};

static uint32_t pcre_options(const char *flags)
{
	uint32_t o = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;

	for (const char *f = flags; *f; f++) {
		if (*f == 'i')
			o |= PCRE2_CASELESS;
		else if (*f == 'm')
			o |= PCRE2_MULTILINE;
		else if (*f == 's')
			o |= PCRE2_DOTALL;
		else if (*f == 'x')
			o |= PCRE2_EXTENDED;
		else if (*f == 'u')
			o |= PCRE2_UCP;
	}
	return o;
}

int rule_regex_compile(struct rule_regex *re, char *errbuf, size_t errlen, size_t *offset_r)
{
	int err;
	PCRE2_SIZE off;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)re->source, PCRE2_ZERO_TERMINATED,
					 pcre_options(re->flags), &err, &off, NULL);

	if (code == NULL) {
		pcre2_get_error_message(err, (PCRE2_UCHAR *)errbuf, errlen);
		*offset_r = off;
		return -1;
	}
	/* JIT is an optimisation: without it (no executable memory) PCRE2 interprets. */
	pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	re->code = code;
	return 0;
}

void rule_regex_free(struct rule_regex *re)
{
	pcre2_code_free(re->code);
	free(re->source);
	free(re->flags);
	free(re->field);
	free(re);
}

/*
 * caseless_safe - can Vectorscan's case folding stand in for PCRE2's here?
 * Both fold ASCII alike; beyond it only scripts without case are safe
 * (kana, CJK ideographs, Hangul: what Japanese and Korean rules hold).
 */
static bool caseless_safe(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, n;

	while (i < len) {
		long cp = text_utf8_next(p + i, len - i, &n);
		if (cp >= 0x80 && !((cp >= 0x3000 && cp < 0xa000) || (cp >= 0xac00 && cp < 0xd7a4)))
			return false;
		i += n;
	}
	return true;
}

static unsigned hs_flags(const struct rule_regex *re)
{
	unsigned f = HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH | HS_FLAG_UTF8 | HS_FLAG_ALLOWEMPTY;

	if (strchr(re->flags, 'i'))
		f |= HS_FLAG_CASELESS;
	if (strchr(re->flags, 'm'))
		f |= HS_FLAG_MULTILINE;
	if (strchr(re->flags, 's'))
		f |= HS_FLAG_DOTALL;
	if (strchr(re->flags, 'u'))
		f |= HS_FLAG_UCP;
	return f;
}

/* prefilterable - can Vectorscan safely say "no" for this pattern? */
static bool prefilterable(const struct rule_regex *re)
{
	hs_database_t *db = NULL;
	hs_compile_error_t *err = NULL;

	if (strchr(re->flags, 'x'))
		return false;	/* extended syntax: PCRE2 and Vectorscan differ */
	if (strchr(re->flags, 'i') && !caseless_safe(re->source))
		return false;
	if (hs_compile(re->source, hs_flags(re), HS_MODE_BLOCK, NULL, &db, &err) != HS_SUCCESS) {
		hs_free_compile_error(err);
		return false;
	}
	hs_free_database(db);
	return true;
}

/* field_key - the cache key: the field, then each expression and its flags */
static void field_key(struct buf *key, struct rule_regex **regexes, size_t n, const char *field)
{
	buf_append(key, field, strlen(field) + 1);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(regexes[i]->field, field) != 0)
			continue;
		buf_append(key, regexes[i]->source, strlen(regexes[i]->source) + 1);
		buf_append(key, regexes[i]->flags, strlen(regexes[i]->flags) + 1);
	}
}

/* field_mask - which of the field's expressions are in its database */
static size_t field_mask(struct rule_regex **regexes, size_t n, const char *field,
			 unsigned char *mask, bool set)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(regexes[i]->field, field) != 0)
			continue;
		if (set)
			regexes[i]->prefiltered = mask[k] != 0;
		else
			mask[k] = regexes[i]->prefiltered;
		k++;
	}
	return k;
}

/* field_db_compile - one database of the prefilterable regexes on field */
static hs_database_t *field_db_compile(struct field_db *fdb, struct rule_regex **regexes,
				       size_t n)
{
	const char **patterns = xcalloc(n, sizeof(*patterns));
	unsigned *flags = xcalloc(n, sizeof(*flags)), *ids = xcalloc(n, sizeof(*ids));
	hs_compile_error_t *err = NULL;
	hs_database_t *db = NULL;
	size_t count = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(regexes[i]->field, fdb->field) != 0 || !regexes[i]->prefiltered)
			continue;
		patterns[count] = regexes[i]->source;
		flags[count] = hs_flags(regexes[i]);
		ids[count] = (unsigned)count;
		count++;
	}
	if (count && hs_compile_multi(patterns, flags, ids, (unsigned)count, HS_MODE_BLOCK, NULL,
				      &db, &err) != HS_SUCCESS) {
		log_warn("rules: prefilter for %s not built: %s", fdb->field,
			 err ? err->message : "unknown error");
		db = NULL;
	}
	hs_free_compile_error(err);
	free(patterns);
	free(flags);
	free(ids);
	return db;
}

/* field_db_load - the field's database from the cache, or compiled and cached */
static hs_database_t *field_db_load(struct field_db *fdb, struct rule_regex **regexes,
				    size_t n)
{
	unsigned char *mask = NULL;
	char *bytes = NULL;
	size_t nmask, len = 0;
	hs_database_t *db = NULL;
	struct buf key;

	buf_init(&key);
	field_key(&key, regexes, n, fdb->field);
	if (prefilter_cache_get(key.data, key.len, &bytes, &len, &mask, &nmask) == 0) {
		field_mask(regexes, n, fdb->field, mask, true);
		if (len && hs_deserialize_database(bytes, len, &db) != HS_SUCCESS)
			db = NULL;
	} else {
		mask = xcalloc(n ? n : 1, 1);
		for (size_t i = 0; i < n; i++)
			if (strcmp(regexes[i]->field, fdb->field) == 0)
				regexes[i]->prefiltered = prefilterable(regexes[i]);
		db = field_db_compile(fdb, regexes, n);
		nmask = field_mask(regexes, n, fdb->field, mask, false);
		if (db == NULL || hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) {
			bytes = NULL;
			len = 0;
		}
		if (db == NULL || len)
			prefilter_cache_put(key.data, key.len, bytes, len, mask, nmask);
	}
	free(bytes);
	free(mask);
	buf_free(&key);
	return db;
}

/* field_db_build - the field's database and its id table */
static int field_db_build(struct field_db *fdb, struct rule_regex **regexes, size_t n,
			  hs_scratch_t **proto)
{
	fdb->db = field_db_load(fdb, regexes, n);
	fdb->ids = xcalloc(n ? n : 1, sizeof(*fdb->ids));
	fdb->count = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(regexes[i]->field, fdb->field) == 0 && regexes[i]->prefiltered)
			fdb->ids[fdb->count++] = regexes[i]->id;
	if (fdb->db == NULL || hs_alloc_scratch(fdb->db, proto) != HS_SUCCESS) {
		hs_free_database(fdb->db);
		fdb->db = NULL;
		return -1;
	}
	return 0;
}

struct rule_prefilter *rule_prefilter_build(struct rule_regex **regexes, size_t n)
{
	struct rule_prefilter *pf = xcalloc(1, sizeof(*pf));

	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(regexes[j]->field, regexes[i]->field) == 0;
		if (seen)
			continue;
		pf->fields = xrealloc(pf->fields, (pf->count + 1) * sizeof(*pf->fields));
		struct field_db *fdb = &pf->fields[pf->count];
		memset(fdb, 0, sizeof(*fdb));
		fdb->field = xstrdup(regexes[i]->field);
		if (field_db_build(fdb, regexes, n, &pf->proto) != 0) {
			/* Not fatal: these regexes are confirmed by PCRE2 alone. */
			for (size_t k = 0; k < n; k++)
				if (strcmp(regexes[k]->field, fdb->field) == 0)
					regexes[k]->prefiltered = false;
			free(fdb->field);
			free(fdb->ids);
			continue;
		}
		pf->count++;
	}
	if (pf->count == 0) {
		rule_prefilter_free(pf);
		return NULL;
	}
	return pf;
}

void rule_prefilter_free(struct rule_prefilter *pf)
{
	if (pf == NULL)
		return;
	for (size_t i = 0; i < pf->count; i++) {
		hs_free_database(pf->fields[i].db);
		free(pf->fields[i].field);
		free(pf->fields[i].ids);
	}
	free(pf->fields);
	hs_free_scratch(pf->proto);
	free(pf);
}

struct rule_match_ctx *rule_match_ctx_new(const struct rule_prefilter *pf, size_t nregexes)
{
	struct rule_match_ctx *ctx = xcalloc(1, sizeof(*ctx));

	ctx->pf = pf;
	ctx->nregexes = nregexes;
	ctx->candidate = xcalloc(nregexes ? nregexes : 1, 1);
	ctx->md = pcre2_match_data_create(1, NULL);
	if (pf) {
		ctx->fields = xcalloc(pf->count, sizeof(*ctx->fields));
		if (pf->proto && hs_clone_scratch(pf->proto, &ctx->scratch) != HS_SUCCESS)
			ctx->scratch = NULL;
	}
	return ctx;
}

void rule_match_ctx_free(struct rule_match_ctx *ctx)
{
	if (ctx == NULL)
		return;
	hs_free_scratch(ctx->scratch);
	pcre2_match_data_free(ctx->md);
	free(ctx->candidate);
	free(ctx->fields);
	free(ctx);
}

void rule_match_ctx_reset(struct rule_match_ctx *ctx)
{
	memset(ctx->candidate, 0, ctx->nregexes ? ctx->nregexes : 1);
	if (ctx->pf)
		memset(ctx->fields, 0, ctx->pf->count * sizeof(*ctx->fields));
}

static int on_candidate(unsigned int id, unsigned long long from, unsigned long long to,
			unsigned int flags, void *arg)
{
	void **pair = arg;
	const struct field_db *fdb = pair[0];
	struct rule_match_ctx *ctx = pair[1];

	ctx->candidate[fdb->ids[id]] = 1;
	return 0;
}

/* valid_utf8 - Vectorscan in UTF-8 mode must only ever see valid UTF-8 */
static bool valid_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if (text_utf8_next(s + i, len - i, &n) < 0)
			return false;
		i += n;
	}
	return true;
}

/* scan_field - find the candidates for every value of fact */
static void scan_field(struct rule_match_ctx *ctx, size_t f, const struct fact *fact)
{
	const struct field_db *fdb = &ctx->pf->fields[f];
	void *pair[2] = {(void *)fdb, ctx};

	ctx->fields[f].scanned = true;
	for (size_t v = 0; fact && v < fact->count; v++) {
		size_t len = strlen(fact->values[v]);
		if (ctx->scratch == NULL || len > PREFILTER_MAX_SUBJECT ||
		    !valid_utf8((const unsigned char *)fact->values[v], len) ||
		    hs_scan(fdb->db, fact->values[v], (unsigned)len, 0, ctx->scratch, on_candidate,
			    pair) != HS_SUCCESS) {
			ctx->fields[f].all = true;
			return;
		}
	}
}

/* is_candidate - false only when Vectorscan proved re cannot match */
static bool is_candidate(struct rule_match_ctx *ctx, const struct rule_regex *re,
			 const struct fact *fact)
{
	if (!re->prefiltered || ctx->pf == NULL)
		return true;
	for (size_t f = 0; f < ctx->pf->count; f++) {
		if (strcmp(ctx->pf->fields[f].field, re->field) != 0)
			continue;
		if (!ctx->fields[f].scanned)
			scan_field(ctx, f, fact);
		return ctx->fields[f].all || ctx->candidate[re->id];
	}
	return true;
}

bool rule_regex_match_part(struct rule_match_ctx *ctx, const struct rule_regex *re,
			   const struct fact *whole, const struct fact *part)
{
	if (whole == NULL || part == NULL || !is_candidate(ctx, re, whole))
		return false;
	for (size_t v = 0; v < part->count; v++) {
		int rc = pcre2_match(re->code, (PCRE2_SPTR)part->values[v], strlen(part->values[v]),
				     0, 0, ctx->md, NULL);
		if (rc >= 0)
			return true;
	}
	return false;
}

bool rule_regex_match_fact(struct rule_match_ctx *ctx, const struct rule_regex *re,
			   const struct fact *fact)
{
	return rule_regex_match_part(ctx, re, fact, fact);
}
