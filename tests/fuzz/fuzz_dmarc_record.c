/*
 * fuzz_dmarc_record - libFuzzer target for DMARC record parsing and
 * evaluation in filters/dmarc.c.
 *
 * The input (up to its first NUL, as dns_txt_join never hands over a NUL)
 * is parsed by dmarc_record_parse, then served as the TXT record of
 * _dmarc.example.com by a one-entry table of answers and evaluated for a
 * From at example.com and at a subdomain, aligned and not, over sample
 * values. The record's fields must stay in range, an OK record has valid
 * p= and sp=, a broken one says why; an evaluation's result and policy
 * must agree with §6.6.4 (the policy applied is none unless the result is
 * fail, and never stricter than requested).
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dns.h"
#include "common/xalloc.h"
#include "filters/dmarc.h"
#include "tests/fuzz/fuzz_assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char *fuzz_record;

/* fuzz_query - _dmarc.example.com holds the input, split in 255-byte strings; nothing else exists
 */
static int fuzz_query(void *ctx, const char *name, int type, struct dns_answer *out)
{
	size_t n = strlen(fuzz_record), off = 0;
	unsigned char *p;

	(void)ctx;
	(void)type;
	memset(out, 0, sizeof(*out));
	out->status = DNS_NXDOMAIN;
	if (strcmp(name, "_dmarc.example.com") != 0)
		return 0;
	out->status = DNS_OK;
	out->count = 1;
	out->data = xcalloc(1, sizeof(*out->data));
	out->len = xcalloc(1, sizeof(*out->len));
	p = out->data[0] = xmalloc(n + n / 255 + 1);
	do {
		size_t part = n - off > 255 ? 255 : n - off;

		*p++ = (unsigned char)part;
		memcpy(p, fuzz_record + off, part);
		p += part;
		off += part;
	} while (off < n);
	out->len[0] = (size_t)(p - out->data[0]);
	return 0;
}

/* fuzz_check_record - the parsed record stays in range */
static void fuzz_check_record(const char *txt)
{
	struct dmarc_record r;
	const char *why = NULL;
	enum dmarc_record_status st = dmarc_record_parse(txt, &r, &why);

	FUZZ_ASSERT(st == DMARC_RECORD_OK || st == DMARC_RECORD_IGNORED ||
	            st == DMARC_RECORD_BROKEN);
	FUZZ_ASSERT(st == DMARC_RECORD_OK || why != NULL);
	FUZZ_ASSERT(r.pct <= 100);
	FUZZ_ASSERT(r.p <= DMARC_POLICY_REJECT && r.sp <= DMARC_POLICY_REJECT);
	FUZZ_ASSERT(r.adkim <= DMARC_ALIGN_STRICT && r.aspf <= DMARC_ALIGN_STRICT);
	FUZZ_ASSERT(r.ntags <= DMARC_MAX_TAGS);
	if (st == DMARC_RECORD_OK)
		FUZZ_ASSERT(r.p_valid && r.sp_valid);
	if (st == DMARC_RECORD_IGNORED)
		FUZZ_ASSERT(r.ntags == 0);
}

/* fuzz_check_outcome - one evaluation hangs together */
static void fuzz_check_outcome(const struct dmarc_outcome *o)
{
	FUZZ_ASSERT(o->result <= DMARC_RESULT_PERMERROR && o->reason != NULL);
	FUZZ_ASSERT(o->policy <= o->requested);
	FUZZ_ASSERT(o->result == DMARC_RESULT_FAIL || o->policy == DMARC_POLICY_NONE);
	FUZZ_ASSERT((o->result == DMARC_RESULT_PASS) == (o->spf_aligned || o->dkim_aligned));
	FUZZ_ASSERT(o->result != DMARC_RESULT_TEMPERROR);
	FUZZ_ASSERT((o->record_domain != NULL) == (o->result != DMARC_RESULT_NONE));
	FUZZ_ASSERT(o->domain != NULL && o->nfrom_domains == 1);
}

/* fuzz_evaluate - the record at example.com, seen from a few messages */
static void fuzz_evaluate(const struct dmarc_ctx *ctx)
{
	static const char *const msgs[] = {
	    "From: a@example.com\r\n\r\n",
	    "From: a@Mail.Example.COM.\r\n\r\n",
	};
	static const char *const dkim[] = {"b.example.com"};
	const struct dns_lookup dns = {fuzz_query, NULL};

	for (size_t m = 0; m < 2; m++) {
		for (unsigned sample = 0; sample < 100; sample += 33) {
			struct dmarc_input in = {
			    .msg = msgs[m],
			    .len = strlen(msgs[m]),
			    .spf_result = "pass",
			    .spf_domain = "example.com",
			    .dkim_pass_domains = dkim,
			    .ndkim = sample & 1,
			    .sample = sample,
			};
			struct dmarc_outcome o;

			dmarc_evaluate(ctx, &dns, &in, &o);
			fuzz_check_outcome(&o);
			dmarc_outcome_free(&o);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dmarc_ctx *ctx;
	char *txt;

	if (size > 64 * 1024)
		return 0;
	if (ctx == NULL) {
		char *error = NULL;

		ctx = dmarc_ctx_new(NULL, &error);
		if (ctx == NULL) {
			fprintf(stderr, "fuzz_dmarc_record: %s\n", error);
			abort();
		}
	}
	txt = xstrndup((const char *)data, size);
	fuzz_check_record(txt);
	fuzz_record = txt;
	fuzz_evaluate(ctx);
	free(txt);
	return 0;
}
