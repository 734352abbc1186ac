/*
 * rule_regex - the regular expressions of a ruleset: PCRE2 (JIT) to
 * decide, Vectorscan to find candidates fast.
 *
 * With hundreds of regexes a loop of PCRE2 matches over every value costs
 * milliseconds per message. So the regexes that read one field are also
 * compiled into one Vectorscan database in prefilter mode, which reports a
 * superset of the patterns that can match; only those are confirmed with
 * PCRE2. A pattern Vectorscan cannot take, or where its answer might not
 * be a superset (caseless non-ASCII), is always confirmed with PCRE2.
 * Patterns are UTF-8 (PCRE2_UTF); subjects with invalid UTF-8 are matched
 * by PCRE2 alone (PCRE2_MATCH_INVALID_UTF), never given to Vectorscan.
 */
#ifndef SEKISHO_RULE_REGEX_H
#define SEKISHO_RULE_REGEX_H

#include <stdbool.h>
#include <stddef.h>

struct rule_regex {
	char *source;
	char *flags;		/* subset of "imsxu" */
	char *field;		/* the fact it is matched against */
	unsigned id;		/* index in the ruleset's regex table */
	void *code;		/* pcre2_code */
	bool prefiltered;	/* in a Vectorscan database */
};

/*
 * rule_regex_compile - compile with PCRE2 (and JIT). On error returns -1
 * with a message in errbuf and the byte offset in the pattern.
 */
int rule_regex_compile(struct rule_regex *re, char *errbuf, size_t errlen, size_t *offset_r);
void rule_regex_free(struct rule_regex *re);

struct rule_prefilter;
struct rule_match_ctx;

/* rule_prefilter_build - one Vectorscan database per field; NULL if none */
struct rule_prefilter *rule_prefilter_build(struct rule_regex **regexes, size_t n);
void rule_prefilter_free(struct rule_prefilter *pf);

/* A match context caches per-transaction work: candidates per field. */
struct rule_match_ctx *rule_match_ctx_new(const struct rule_prefilter *pf, size_t nregexes);
void rule_match_ctx_free(struct rule_match_ctx *ctx);
/* rule_match_ctx_reset - forget candidates (the facts changed) */
void rule_match_ctx_reset(struct rule_match_ctx *ctx);

struct fact;
/* rule_regex_match_fact - does any value of fact match re? */
bool rule_regex_match_fact(struct rule_match_ctx *ctx, const struct rule_regex *re,
			   const struct fact *fact);

/*
 * rule_regex_match_part - does any value of part match re? part holds
 * some of whole's values (one file's): the prefilter scans whole, once
 * per transaction, which stays sound for any part of it.
 */
bool rule_regex_match_part(struct rule_match_ctx *ctx, const struct rule_regex *re,
			   const struct fact *whole, const struct fact *part);

#endif
