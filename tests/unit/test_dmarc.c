/*
 * test_dmarc - DMARC record parsing, organizational domains, alignment,
 * policy discovery and the policy to apply, against a table of DNS
 * answers (no resolver).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/dns.h"
#include "common/xalloc.h"
#include "filters/dmarc.h"
#include "filters/facts.h"
#include "tests/unit/check.h"

#define PSL_FILE "/usr/share/publicsuffix/public_suffix_list.dat"

/* ---- a table of DNS answers ---- */

struct zone_entry {
	const char *name;
	enum dns_status status; /* DNS_OK when txt is set */
	const char *txt[3];     /* TXT records, each split in 255-byte strings */
};

static const struct zone_entry zone[] = {
    {"_dmarc.example.com", DNS_OK, {"v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com"}},
    {"_dmarc.own.example.com", DNS_OK, {"v=DMARC1; p=none"}},
    /* strict alignment for both */
    {"_dmarc.example.net", DNS_OK, {"v=DMARC1; p=reject; adkim=s; aspf=s"}},
    {"_dmarc.pct0.example", DNS_OK, {"v=DMARC1; p=reject; pct=0"}},
    {"_dmarc.pct50.example", DNS_OK, {"v=DMARC1; p=reject; pct=50"}},
    {"_dmarc.q50.example", DNS_OK, {"v=DMARC1; p=quarantine; pct=50"}},
    {"_dmarc.quarantine.example", DNS_OK, {"v=DMARC1; p=quarantine"}},
    {"_dmarc.nonepolicy.example", DNS_OK, {"v=DMARC1; p=none"}},
    /* one DMARC record among other TXT records */
    {"_dmarc.mixed.example", DNS_OK, {"v=spf1 -all", "v=DMARC1; p=reject", "hello"}},
    {"_dmarc.several.example", DNS_OK, {"v=DMARC1; p=reject", "v=DMARC1; p=none"}},
    {"_dmarc.sub.several.example", DNS_NXDOMAIN, {NULL}},
    /* several, or a failure, at the author domain: the org domain is not asked */
    {"_dmarc.several.example.com", DNS_OK, {"v=DMARC1; p=none", "v=DMARC1; p=none"}},
    {"_dmarc.temp.example.com", DNS_TEMPFAIL, {NULL}},
    /* not starting with v=DMARC1: ignored, so the org domain is asked */
    {"_dmarc.a.notfirst.example", DNS_OK, {"p=none; v=DMARC1"}},
    {"_dmarc.notfirst.example", DNS_OK, {"v=DMARC1; p=reject"}},
    {"_dmarc.lower.example", DNS_OK, {"v=dmarc1; p=reject"}},
    {"_dmarc.badp-rua.example", DNS_OK, {"v=DMARC1; p=bogus; rua=mailto:r@badp-rua.example"}},
    {"_dmarc.badp.example", DNS_OK, {"v=DMARC1; p=bogus"}},
    {"_dmarc.nop.example", DNS_OK, {"v=DMARC1; rua=mailto:x@nop.example"}},
    {"_dmarc.badsp.example", DNS_OK, {"v=DMARC1; p=reject; sp=never"}},
    {"_dmarc.tempfail.example", DNS_TEMPFAIL, {NULL}},
    {"_dmarc.orgtemp.example", DNS_TEMPFAIL, {NULL}},
    {"_dmarc.bogus.example", DNS_PERMFAIL, {NULL}},
    {"_dmarc.nodata.example", DNS_NODATA, {NULL}},
    /* a record longer than one TXT string, joined (RFC 7489 §6.1) */
    {"_dmarc.long.example",
     DNS_OK,
     {"v=DMARC1; p=quarantine; "
      "rua=mailto:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "@long.example; adkim=s"}},
};

static char queried[16][300];
static size_t nqueried;

/* txt_rdata - the rdata of a TXT record holding text */
static void txt_rdata(const char *text, unsigned char **data, size_t *len)
{
	size_t n = strlen(text), chunks = n / 255 + 1, off = 0;
	unsigned char *p = xmalloc(n + chunks);

	*data = p;
	for (size_t i = 0; i < chunks; i++) {
		size_t part = n - off > 255 ? 255 : n - off;

		*p++ = (unsigned char)part;
		memcpy(p, text + off, part);
		p += part;
		off += part;
	}
	*len = (size_t)(p - *data);
}

/* fill_answer - an answer for one zone entry */
static void fill_answer(const struct zone_entry *e, struct dns_answer *out)
{
	out->status = e->status;
	if (e->status != DNS_OK) {
		out->why = xstrdup("test zone says so");
		return;
	}
	for (size_t i = 0; i < 3 && e->txt[i]; i++)
		out->count++;
	out->data = xcalloc(out->count, sizeof(*out->data));
	out->len = xcalloc(out->count, sizeof(*out->len));
	for (size_t i = 0; i < out->count; i++)
		txt_rdata(e->txt[i], &out->data[i], &out->len[i]);
}

/* zone_query - the table's dns_lookup query: unknown names do not exist */
static int zone_query(void *ctx, const char *name, int type, struct dns_answer *out)
{
	(void)ctx;
	memset(out, 0, sizeof(*out));
	if (nqueried < 16)
		snprintf(queried[nqueried++], sizeof(queried[0]), "%s", name);
	if (type != DNS_TYPE_TXT)
		return -1;
	for (size_t i = 0; i < sizeof(zone) / sizeof(zone[0]); i++) {
		if (strcasecmp(zone[i].name, name) == 0) {
			fill_answer(&zone[i], out);
			return 0;
		}
	}
	out->status = DNS_NXDOMAIN;
	return 0;
}

static const struct dns_lookup dns = {zone_query, NULL};
static struct dmarc_ctx *ctx;

/* ---- record parsing ---- */

struct record_case {
	const char *txt;
	enum dmarc_record_status status;
	enum dmarc_policy p, sp;
	unsigned pct;
	enum dmarc_align adkim, aspf;
	bool rua_valid;
	const char *why;
};

static const struct record_case record_cases[] = {
    {.txt = "v=DMARC1; p=reject", .p = DMARC_POLICY_REJECT, .sp = DMARC_POLICY_REJECT, .pct = 100},
    {.txt = "v=DMARC1;p=none;sp=reject;pct=20;adkim=s;aspf=s;rua=mailto:a@b.example;",
     .p = DMARC_POLICY_NONE,
     .sp = DMARC_POLICY_REJECT,
     .pct = 20,
     .adkim = DMARC_ALIGN_STRICT,
     .aspf = DMARC_ALIGN_STRICT,
     .rua_valid = true},
    /* blanks around '=' and ';', tag names and keywords in any case (§6.4) */
    {.txt = " V = DMARC1 ;  P = Quarantine ; ADKIM=S ",
     .p = DMARC_POLICY_QUARANTINE,
     .sp = DMARC_POLICY_QUARANTINE,
     .pct = 100,
     .adkim = DMARC_ALIGN_STRICT},
    /* p= need not be second; unknown and reporting tags are ignored */
    {.txt = "v=DMARC1; rua=mailto:x@y.example!10m, https://r.example/; fo=1; x_new=1; p=reject",
     .p = DMARC_POLICY_REJECT,
     .sp = DMARC_POLICY_REJECT,
     .pct = 100,
     .rua_valid = true},
    /* bad values of other tags fall back to their defaults (§6.3) */
    {.txt = "v=DMARC1; p=reject; pct=101",
     .p = DMARC_POLICY_REJECT,
     .sp = DMARC_POLICY_REJECT,
     .pct = 100,
     .why = "bad pct=, 100 used"},
    {.txt = "v=DMARC1; p=reject; pct=-5",
     .p = DMARC_POLICY_REJECT,
     .sp = DMARC_POLICY_REJECT,
     .pct = 100,
     .why = "bad pct=, 100 used"},
    {.txt = "v=DMARC1; p=reject; pct=0", .p = DMARC_POLICY_REJECT, .sp = DMARC_POLICY_REJECT},
    {.txt = "v=DMARC1; p=reject; adkim=x",
     .p = DMARC_POLICY_REJECT,
     .sp = DMARC_POLICY_REJECT,
     .pct = 100,
     .why = "bad adkim=, r used"},
    {.txt = "v=DMARC1; p=reject; nonsense; aspf=s",
     .p = DMARC_POLICY_REJECT,
     .sp = DMARC_POLICY_REJECT,
     .pct = 100,
     .aspf = DMARC_ALIGN_STRICT,
     .why = "malformed tag ignored"},
    /* not DMARC records at all (§6.3 "v": first, exactly DMARC1) */
    {.txt = "p=reject; v=DMARC1", .status = DMARC_RECORD_IGNORED},
    {.txt = "v=DMARC2; p=reject", .status = DMARC_RECORD_IGNORED},
    {.txt = "v=dmarc1; p=reject", .status = DMARC_RECORD_IGNORED},
    {.txt = "v=DMARC1 p=reject", .status = DMARC_RECORD_IGNORED},
    {.txt = "v=spf1 -all", .status = DMARC_RECORD_IGNORED},
    {.txt = "", .status = DMARC_RECORD_IGNORED},
    /* DMARC records without a usable policy (§6.6.3 step 6) */
    {.txt = "v=DMARC1", .status = DMARC_RECORD_BROKEN, .pct = 100, .why = "no p="},
    {.txt = "v=DMARC1; p=bogus; rua=mailto:a@b.example",
     .status = DMARC_RECORD_BROKEN,
     .pct = 100,
     .rua_valid = true,
     .why = "bad p="},
    {.txt = "v=DMARC1; p=reject; sp=never",
     .status = DMARC_RECORD_BROKEN,
     .p = DMARC_POLICY_REJECT,
     .pct = 100,
     .why = "bad sp="},
    {.txt = "v=DMARC1; p=none; p=reject",
     .status = DMARC_RECORD_BROKEN,
     .pct = 100,
     .why = "p= given twice"},
    {.txt = "v=DMARC1; p=bogus; rua=not a uri, :x, mailto",
     .status = DMARC_RECORD_BROKEN,
     .pct = 100,
     .why = "bad p="},
};

static void test_record_parse(void)
{
	for (size_t i = 0; i < sizeof(record_cases) / sizeof(record_cases[0]); i++) {
		const struct record_case *c = &record_cases[i];
		struct dmarc_record r;
		const char *why;
		int before = check_failures;

		CHECK_INT(dmarc_record_parse(c->txt, &r, &why), c->status);
		CHECK_STR(why, c->status == DMARC_RECORD_IGNORED && c->why == NULL
		                   ? "not a DMARC record (no leading v=DMARC1)"
		                   : c->why);
		if (c->status != DMARC_RECORD_IGNORED) {
			CHECK_INT(r.p, c->p);
			CHECK_INT(r.pct, c->pct);
			CHECK_INT(r.rua_valid, c->rua_valid);
		}
		if (c->status == DMARC_RECORD_OK) {
			CHECK_INT(r.sp, c->sp);
			CHECK_INT(r.adkim, c->adkim);
			CHECK_INT(r.aspf, c->aspf);
		}
		if (check_failures != before)
			fprintf(stderr, "  (record: %s)\n", c->txt);
	}
}

static void test_record_limits(void)
{
	char big[DMARC_MAX_RECORD + 64], tags[1024] = "v=DMARC1; p=none";
	struct dmarc_record r;
	const char *why;

	memset(big, 'a', sizeof(big));
	memcpy(big, "v=DMARC1; p=none; x=", 20);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(dmarc_record_parse(big, &r, &why), DMARC_RECORD_BROKEN);
	CHECK_STR(why, "record too long");

	/* DMARC_MAX_TAGS tags in all are fine, one more is not */
	for (int i = 2; i < DMARC_MAX_TAGS; i++)
		strcat(tags, "; x=1");
	CHECK_INT(dmarc_record_parse(tags, &r, &why), DMARC_RECORD_OK);
	CHECK_INT(r.ntags, DMARC_MAX_TAGS);
	strcat(tags, "; x=1");
	CHECK_INT(dmarc_record_parse(tags, &r, &why), DMARC_RECORD_BROKEN);
	CHECK_STR(why, "too many tags");
	CHECK_INT(r.ntags, DMARC_MAX_TAGS);

	/* a record past a limit is broken even with a valid rua=: permerror, not p=none */
	strcpy(tags, "v=DMARC1; rua=mailto:a@b.example");
	for (int i = 2; i <= DMARC_MAX_TAGS; i++)
		strcat(tags, "; x=1");
	CHECK_INT(dmarc_record_parse(tags, &r, &why), DMARC_RECORD_BROKEN);
	CHECK(!r.rua_valid);
}

/* ---- organizational domains and alignment (§3.1, §3.2) ---- */

static void test_org_domain(void)
{
	static const struct {
		const char *domain, *org;
	} cases[] = {
	    {"a.example.com", "example.com"},
	    {"EXAMPLE.COM.", "example.com"},
	    {"x.y.co.uk", "y.co.uk"},
	    {"co.uk", "co.uk"},
	    /* an unknown TLD falls back to the "*" rule */
	    {"mail.sender.test", "sender.test"},
	    {"a.b.c.d.e.f.g.h.i.example", "i.example"},
	    {"", NULL},
	    {".", NULL},
	};
	char out[DMARC_DOMAIN_MAX], tiny[8];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_STR(dmarc_org_domain(ctx, cases[i].domain, out, sizeof(out)), cases[i].org);
	CHECK(dmarc_org_domain(ctx, "a.example.com", tiny, sizeof(tiny)) == NULL);
}

static void test_alignment(void)
{
	static const struct {
		const char *author, *id;
		enum dmarc_align mode;
		bool aligned;
	} cases[] = {
	    /* one-character labels (libopendmarc reports this one aligned) */
	    {"a.example.com", "bb.example.com", DMARC_ALIGN_STRICT, false},
	    {"a.example.com", "bb.example.com", DMARC_ALIGN_RELAXED, true},
	    {"a.example.com", "a.example.com", DMARC_ALIGN_STRICT, true},
	    {"a.example.com", "b.example.com", DMARC_ALIGN_STRICT, false},
	    {"example.com", "mail.example.com", DMARC_ALIGN_STRICT, false},
	    {"example.com", "mail.example.com", DMARC_ALIGN_RELAXED, true},
	    /* case and a final dot do not matter */
	    {"Example.COM", "example.com.", DMARC_ALIGN_STRICT, true},
	    {"a.EXAMPLE.com", "B.example.COM.", DMARC_ALIGN_RELAXED, true},
	    /* suffixes: two registrations under one public suffix */
	    {"a.co.uk", "b.co.uk", DMARC_ALIGN_RELAXED, false},
	    {"example.com", "example.com.evil.example", DMARC_ALIGN_RELAXED, false},
	    {"example.com", "notexample.com", DMARC_ALIGN_RELAXED, false},
	    {"example.com", "", DMARC_ALIGN_RELAXED, false},
	    {"example.com", NULL, DMARC_ALIGN_STRICT, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_INT(dmarc_aligned(ctx, cases[i].author, cases[i].id, cases[i].mode),
		          cases[i].aligned);
}

/* ---- evaluation ---- */

struct eval_case {
	const char *what;
	const char *from;       /* the From line(s), without the final CR LF */
	const char *spf_result; /* NULL: "fail" */
	const char *spf_domain; /* NULL: "evil.example" */
	const char *dkim[3];
	unsigned sample;
	/* what is expected */
	const char *result;
	const char *policy;
	const char *requested; /* NULL: as policy */
	const char *domain;
	const char *record_domain;
	const char *reason; /* NULL: not checked */
	bool spf_aligned, dkim_aligned;
};

static const struct eval_case eval_cases[] = {
    {.what = "aligned DKIM passes with failing SPF",
     .from = "From: a@example.com",
     .dkim = {"evil.example", "example.com"},
     .result = "pass",
     .policy = "none",
     .requested = "reject",
     .domain = "example.com",
     .record_domain = "example.com",
     .reason = "dkim aligned",
     .dkim_aligned = true},
    {.what = "aligned SPF passes without DKIM",
     .from = "From: a@example.com",
     .spf_result = "pass",
     .spf_domain = "bounce.example.com",
     .result = "pass",
     .policy = "none",
     .requested = "reject",
     .domain = "example.com",
     .record_domain = "example.com",
     .reason = "spf aligned",
     .spf_aligned = true},
    {.what = "SPF aligned but not passing",
     .from = "From: a@example.com",
     .spf_result = "softfail",
     .spf_domain = "example.com",
     .result = "fail",
     .policy = "reject",
     .domain = "example.com",
     .record_domain = "example.com",
     .reason = "not aligned"},
    {.what = "unaligned under p=reject",
     .from = "From: a@example.com",
     .spf_result = "pass",
     .dkim = {"evil.example"},
     .result = "fail",
     .policy = "reject",
     .domain = "example.com",
     .record_domain = "example.com",
     .reason = "not aligned"},
    /* sp= for a subdomain found through the org domain's record */
    {.what = "sp= for a subdomain",
     .from = "From: a@mail.example.com",
     .result = "fail",
     .policy = "quarantine",
     .domain = "mail.example.com",
     .record_domain = "example.com"},
    {.what = "relaxed DKIM from the parent",
     .from = "From: a@mail.example.com",
     .dkim = {"example.com"},
     .result = "pass",
     .policy = "none",
     .requested = "quarantine",
     .domain = "mail.example.com",
     .record_domain = "example.com",
     .dkim_aligned = true},
    /* a subdomain with its own record gets its own p= */
    {.what = "own record of a subdomain",
     .from = "From: a@own.example.com",
     .result = "fail",
     .policy = "none",
     .domain = "own.example.com",
     .record_domain = "own.example.com"},
    /* strict vs relaxed, one-character labels */
    {.what = "relaxed one-char label",
     .from = "From: x@a.example.com",
     .dkim = {"bb.example.com"},
     .result = "pass",
     .policy = "none",
     .requested = "quarantine",
     .domain = "a.example.com",
     .record_domain = "example.com",
     .dkim_aligned = true},
    {.what = "strict one-char label",
     .from = "From: x@a.example.net",
     .dkim = {"bb.example.net"},
     .spf_result = "pass",
     .spf_domain = "bb.example.net",
     .result = "fail",
     .policy = "reject",
     .domain = "a.example.net",
     .record_domain = "example.net"},
    {.what = "strict exact",
     .from = "From: x@example.net",
     .dkim = {"EXAMPLE.NET."},
     .result = "pass",
     .policy = "none",
     .requested = "reject",
     .domain = "example.net",
     .record_domain = "example.net",
     .dkim_aligned = true},
    /* pct= sampling (§6.6.4) */
    {.what = "pct=0",
     .from = "From: a@pct0.example",
     .sample = 0,
     .result = "fail",
     .policy = "quarantine",
     .requested = "reject",
     .domain = "pct0.example",
     .reason = "not aligned, not sampled by pct="},
    {.what = "pct=50 sampled",
     .from = "From: a@pct50.example",
     .sample = 49,
     .result = "fail",
     .policy = "reject",
     .domain = "pct50.example",
     .reason = "not aligned"},
    {.what = "pct=50 not sampled",
     .from = "From: a@pct50.example",
     .sample = 50,
     .result = "fail",
     .policy = "quarantine",
     .requested = "reject",
     .domain = "pct50.example"},
    {.what = "pct=50 quarantine not sampled",
     .from = "From: a@q50.example",
     .sample = 99,
     .result = "fail",
     .policy = "none",
     .requested = "quarantine",
     .domain = "q50.example"},
    {.what = "pct=50 quarantine sampled",
     .from = "From: a@q50.example",
     .sample = 0,
     .result = "fail",
     .policy = "quarantine",
     .domain = "q50.example"},
    {.what = "sample taken modulo 100",
     .from = "From: a@pct50.example",
     .sample = 149,
     .result = "fail",
     .policy = "reject",
     .domain = "pct50.example"},
    /* discovery */
    {.what = "no record anywhere",
     .from = "From: a@nothing.example",
     .result = "none",
     .policy = "none",
     .domain = "nothing.example",
     .reason = "no DMARC record at _dmarc.nothing.example"},
    {.what = "no record, fallback asked",
     .from = "From: a@b.nothing.example",
     .result = "none",
     .policy = "none",
     .domain = "b.nothing.example",
     .reason = "no DMARC record at _dmarc.b.nothing.example or _dmarc.nothing.example"},
    {.what = "NODATA is no record",
     .from = "From: a@nodata.example",
     .result = "none",
     .policy = "none",
     .domain = "nodata.example"},
    {.what = "one DMARC record among TXT records",
     .from = "From: a@mixed.example",
     .result = "fail",
     .policy = "reject",
     .domain = "mixed.example",
     .record_domain = "mixed.example"},
    {.what = "several records",
     .from = "From: a@several.example",
     .result = "none",
     .policy = "none",
     .domain = "several.example",
     .reason = "several DMARC records at _dmarc.several.example"},
    {.what = "several records at the org",
     .from = "From: a@sub.several.example",
     .result = "none",
     .policy = "none",
     .domain = "sub.several.example",
     .reason = "several DMARC records at _dmarc.several.example"},
    {.what = "several records, no fallback",
     .from = "From: a@several.example.com",
     .result = "none",
     .policy = "none",
     .domain = "several.example.com",
     .reason = "several DMARC records at _dmarc.several.example.com"},
    {.what = "tempfail, no fallback",
     .from = "From: a@temp.example.com",
     .result = "temperror",
     .policy = "none",
     .domain = "temp.example.com"},
    {.what = "record not starting with v=",
     .from = "From: a@a.notfirst.example",
     .result = "fail",
     .policy = "reject",
     .domain = "a.notfirst.example",
     .record_domain = "notfirst.example"},
    {.what = "lowercase version is no record",
     .from = "From: a@lower.example",
     .result = "none",
     .policy = "none",
     .domain = "lower.example"},
    {.what = "multi-string record",
     .from = "From: a@long.example",
     .dkim = {"x.long.example"},
     .result = "fail",
     .policy = "quarantine",
     .domain = "long.example",
     .record_domain = "long.example"},
    /* broken records (§6.6.3 step 6) */
    {.what = "bad p= with rua=",
     .from = "From: a@badp-rua.example",
     .result = "fail",
     .policy = "none",
     .domain = "badp-rua.example",
     .record_domain = "badp-rua.example",
     .reason = "not aligned, record taken as p=none"},
    {.what = "bad p= with rua=, aligned",
     .from = "From: a@badp-rua.example",
     .dkim = {"badp-rua.example"},
     .result = "pass",
     .policy = "none",
     .domain = "badp-rua.example",
     .reason = "dkim aligned, record taken as p=none",
     .dkim_aligned = true},
    {.what = "bad p= without rua=",
     .from = "From: a@badp.example",
     .result = "permerror",
     .policy = "none",
     .domain = "badp.example",
     .record_domain = "badp.example",
     .reason = "broken record at _dmarc.badp.example: bad p="},
    {.what = "no p= with rua=",
     .from = "From: a@nop.example",
     .result = "fail",
     .policy = "none",
     .domain = "nop.example"},
    {.what = "bad sp= without rua=",
     .from = "From: a@x.badsp.example",
     .result = "permerror",
     .policy = "none",
     .domain = "x.badsp.example",
     .record_domain = "badsp.example",
     .reason = "broken record at _dmarc.badsp.example: bad sp="},
    /* DNS failures are temperror, never "no record" */
    {.what = "tempfail",
     .from = "From: a@tempfail.example",
     .dkim = {"tempfail.example"},
     .result = "temperror",
     .policy = "none",
     .domain = "tempfail.example",
     .reason = "dns lookup of _dmarc.tempfail.example failed: tempfail: test zone says so"},
    {.what = "tempfail at the org",
     .from = "From: a@sub.orgtemp.example",
     .result = "temperror",
     .policy = "none",
     .domain = "sub.orgtemp.example"},
    {.what = "DNSSEC bogus",
     .from = "From: a@bogus.example",
     .result = "temperror",
     .policy = "none",
     .domain = "bogus.example",
     .reason = "dns lookup of _dmarc.bogus.example failed: permfail: test zone says so"},
    /* case and trailing dots everywhere */
    {.what = "uppercase From",
     .from = "From: A@EXAMPLE.COM",
     .dkim = {"Example.Com"},
     .result = "pass",
     .policy = "none",
     .requested = "reject",
     .domain = "example.com",
     .dkim_aligned = true},
    {.what = "trailing dots",
     .from = "From: a@example.net.",
     .spf_result = "PASS",
     .spf_domain = "Example.Net.",
     .result = "pass",
     .policy = "none",
     .requested = "reject",
     .domain = "example.net",
     .spf_aligned = true},
    /* the From tricks that must not pass */
    {.what = "RFC 2047 display name",
     .from = "From: \"=?utf-8?q?ceo@example.com?=\" <x@evil.example>",
     .dkim = {"example.com"},
     .result = "none",
     .policy = "none",
     .domain = "evil.example"},
    {.what = "quoted display name",
     .from = "From: \"a@example.com <a@example.com>\" <x@evil.example>",
     .dkim = {"example.com"},
     .result = "none",
     .policy = "none",
     .domain = "evil.example"},
    {.what = "comment",
     .from = "From: x@evil.example (a@example.com)",
     .dkim = {"example.com"},
     .result = "none",
     .policy = "none",
     .domain = "evil.example"},
    {.what = "group",
     .from = "From: Team: a@example.com;",
     .dkim = {"example.com"},
     .result = "pass",
     .policy = "none",
     .requested = "reject",
     .domain = "example.com",
     .dkim_aligned = true},
};

/*
 * A From without a single author. The policy: the strictest of the failing
 * authors', or reject when some author's policy is unknown.
 */
static const struct eval_case problem_cases[] = {
    {.what = "two From fields",
     .from = "From: a@example.com\r\nFrom: b@evil.example",
     .dkim = {"evil.example"},
     .result = "fail",
     .policy = "reject",
     .domain = "example.com",
     .record_domain = "example.com",
     .reason = "several From fields"},
    {.what = "two From fields, both signed",
     .from = "From: a@example.com\r\nFrom: b@example.com",
     .dkim = {"example.com"},
     .result = "fail",
     .policy = "none",
     .requested = "none",
     .reason = "several From fields"},
    {.what = "two addresses",
     .from = "From: a@nonepolicy.example, b@example.com",
     .result = "fail",
     .policy = "reject",
     .domain = "example.com",
     .reason = "several addresses"},
    {.what = "two addresses, strictest after pct",
     .from = "From: a@pct0.example, b@quarantine.example",
     .result = "fail",
     .policy = "quarantine",
     .requested = "reject",
     .domain = "pct0.example",
     .reason = "several addresses"},
    {.what = "two addresses without records",
     .from = "From: a@nothing.example, b@evil.example",
     .dkim = {"example.com"},
     .result = "fail",
     .policy = "none",
     .reason = "several addresses"},
    {.what = "no From",
     .from = "Subject: hello",
     .dkim = {"example.com"},
     .result = "fail",
     .policy = "reject",
     .requested = "none",
     .reason = "no From"},
    {.what = "From without address",
     .from = "From: Example Bank",
     .result = "fail",
     .policy = "reject",
     .requested = "none",
     .reason = "unparsable"},
    {.what = "encoded word alone",
     .from = "From: =?utf-8?q?a@example.com?=",
     .dkim = {"example.com"},
     .result = "fail",
     .policy = "reject",
     .requested = "none",
     .reason = "unparsable"},
    {.what = "domain literal",
     .from = "From: a@[192.0.2.1]",
     .spf_result = "pass",
     .result = "fail",
     .policy = "reject",
     .requested = "none",
     .reason = "no valid address"},
    {.what = "UTF-8 domain",
     .from = "From: a@b\xc3\xa4nk.example",
     .result = "fail",
     .policy = "reject",
     .requested = "none",
     .reason = "no valid address"},
    /* an address we could not look up: unknown, so reject */
    {.what = "one address unknown",
     .from = "From: a@nonepolicy.example, b@[192.0.2.1]",
     .result = "fail",
     .policy = "reject",
     .requested = "none",
     .domain = "nonepolicy.example",
     .reason = "several addresses"},
    {.what = "DNS failure for one",
     .from = "From: a@nonepolicy.example\r\nFrom: b@tempfail.example",
     .result = "fail",
     .policy = "reject",
     .requested = "none",
     .domain = "nonepolicy.example",
     .reason = "several From fields"},
    {.what = "one field unparsable",
     .from = "From: a@nonepolicy.example\r\nFrom: John Doe",
     .result = "fail",
     .policy = "reject",
     .requested = "none",
     .domain = "nonepolicy.example",
     .reason = "several From fields"},
};

/* run_eval - one case through dmarc_evaluate */
static void run_eval(const struct eval_case *c)
{
	char msg[1024];
	struct dmarc_input in = {0};
	struct dmarc_outcome out;
	size_t ndkim = 0;
	int before = check_failures;

	snprintf(msg, sizeof(msg), "Subject: test\r\n%s\r\nTo: r@rcpt.example\r\n\r\nbody\r\n",
	         c->from);
	while (ndkim < 3 && c->dkim[ndkim])
		ndkim++;
	in = (struct dmarc_input){
	    .msg = msg,
	    .len = strlen(msg),
	    .spf_result = c->spf_result ? c->spf_result : "fail",
	    .spf_domain = c->spf_domain ? c->spf_domain : "evil.example",
	    .dkim_pass_domains = c->dkim,
	    .ndkim = ndkim,
	    .sample = c->sample,
	};
	dmarc_evaluate(ctx, &dns, &in, &out);
	CHECK_STR(dmarc_result_name(out.result), c->result);
	CHECK_STR(dmarc_policy_name(out.policy), c->policy);
	CHECK_STR(dmarc_policy_name(out.requested), c->requested ? c->requested : c->policy);
	CHECK_STR(out.domain, c->domain);
	if (c->record_domain)
		CHECK_STR(out.record_domain, c->record_domain);
	if (c->reason)
		CHECK_STR(out.reason, c->reason);
	CHECK(out.reason != NULL);
	CHECK_INT(out.spf_aligned, c->spf_aligned);
	CHECK_INT(out.dkim_aligned, c->dkim_aligned);
	if (check_failures != before)
		fprintf(stderr, "  (case: %s)\n", c->what);
	dmarc_outcome_free(&out);
}

static void test_evaluate(void)
{
	for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++)
		run_eval(&eval_cases[i]);
	for (size_t i = 0; i < sizeof(problem_cases) / sizeof(problem_cases[0]); i++)
		run_eval(&problem_cases[i]);
}

/* evaluate_from - evaluate a message with this From line, counting queries */
static void evaluate_from(const char *from, struct dmarc_outcome *out)
{
	char msg[512];
	struct dmarc_input in = {.spf_result = "none"};

	snprintf(msg, sizeof(msg), "%s\r\n\r\n", from);
	in.msg = msg;
	in.len = strlen(msg);
	nqueried = 0;
	dmarc_evaluate(ctx, &dns, &in, out);
}

static void test_queries(void)
{
	struct dmarc_outcome out;
	char from[300], label[64];

	memset(label, 'a', 63);
	label[63] = '\0';

	/* the author domain first, then its organizational domain (§6.6.3) */
	evaluate_from("From: a@b.c.nothing.example", &out);
	CHECK_INT(nqueried, 2);
	CHECK_STR(queried[0], "_dmarc.b.c.nothing.example");
	CHECK_STR(queried[1], "_dmarc.nothing.example");
	CHECK_STR(out.org_domain, "nothing.example");
	dmarc_outcome_free(&out);

	/* several records at the author domain: no fallback */
	evaluate_from("From: a@several.example", &out);
	CHECK_INT(nqueried, 1);
	dmarc_outcome_free(&out);

	/* a tempfail at the author domain stops there */
	evaluate_from("From: a@tempfail.example", &out);
	CHECK_INT(nqueried, 1);
	dmarc_outcome_free(&out);

	/* nothing to look up without a From */
	evaluate_from("Subject: x", &out);
	CHECK_INT(nqueried, 0);
	CHECK_INT(out.nfrom_domains, 0);
	dmarc_outcome_free(&out);

	/* each distinct author once, and no more than the limit */
	evaluate_from("From: a@example.com, b@example.com, c@EXAMPLE.com", &out);
	CHECK_INT(nqueried, 1);
	CHECK_INT(out.nfrom_domains, 1);
	dmarc_outcome_free(&out);
	evaluate_from("From: a@d1.example, a@d2.example, a@d3.example, a@d4.example, "
	              "a@d5.example, a@d6.example, a@d7.example, a@d8.example, a@d9.example",
	              &out);
	CHECK_INT(nqueried, DMARC_MAX_AUTHOR_DOMAINS);
	CHECK_INT(out.nfrom_domains, 9);
	CHECK_STR(dmarc_policy_name(out.policy), "reject");
	dmarc_outcome_free(&out);

	/* a name too long for DNS (250 + "_dmarc.") is not asked, the org domain is */
	snprintf(from, sizeof(from), "From: a@%.63s.%.63s.%.63s.%.46s.example.com", label, label,
	         label, label);
	CHECK_INT(strlen(from) - strlen("From: a@"), 250);
	evaluate_from(from, &out);
	CHECK_INT(nqueried, 1);
	CHECK_STR(queried[0], "_dmarc.example.com");
	CHECK_STR(dmarc_result_name(out.result), "fail");
	CHECK_STR(dmarc_policy_name(out.policy), "quarantine");
	dmarc_outcome_free(&out);
}

/* value - the one value of a fact, or NULL */
static const char *value(const struct facts *f, const char *name)
{
	const struct fact *fact = facts_find(f, name);

	return fact && fact->count == 1 ? fact->values[0] : NULL;
}

static void test_facts(void)
{
	struct dmarc_outcome out;
	struct facts f;
	const struct fact *many;

	facts_init(&f);
	evaluate_from("From: a@mail.example.com", &out);
	dmarc_record_facts(&out, &f);
	CHECK_STR(value(&f, "dmarc.result"), "fail");
	CHECK_STR(value(&f, "dmarc.policy"), "quarantine");
	CHECK_STR(value(&f, "dmarc.requested_policy"), "quarantine");
	CHECK_STR(value(&f, "dmarc.domain"), "mail.example.com");
	CHECK_STR(value(&f, "dmarc.org_domain"), "example.com");
	CHECK_STR(value(&f, "dmarc.record_domain"), "example.com");
	CHECK_STR(value(&f, "dmarc.reason"), "not aligned");
	CHECK_STR(value(&f, "dmarc.spf_aligned"), "no");
	CHECK_STR(value(&f, "dmarc.dkim_aligned"), "no");
	CHECK_STR(value(&f, "dmarc.from_domain"), "mail.example.com");
	dmarc_outcome_free(&out);

	/* recorded again: replaced, and what is unknown now is gone */
	evaluate_from("From: a@nothing.example, b@example.net", &out);
	dmarc_record_facts(&out, &f);
	CHECK_STR(value(&f, "dmarc.result"), "fail");
	CHECK_STR(value(&f, "dmarc.policy"), "reject");
	CHECK_STR(value(&f, "dmarc.reason"), "several addresses");
	CHECK_STR(value(&f, "dmarc.domain"), "example.net");
	many = facts_find(&f, "dmarc.from_domain");
	CHECK(many && many->count == 2);
	dmarc_outcome_free(&out);

	evaluate_from("Subject: x", &out);
	dmarc_record_facts(&out, &f);
	CHECK_STR(value(&f, "dmarc.reason"), "no From");
	CHECK(facts_find(&f, "dmarc.domain") == NULL);
	CHECK(facts_find(&f, "dmarc.record_domain") == NULL);
	CHECK(facts_find(&f, "dmarc.from_domain") == NULL);
	dmarc_outcome_free(&out);
	facts_clear(&f);
}

static void test_ctx(void)
{
	char *error = NULL;

	CHECK(dmarc_ctx_new("/nonexistent/psl.dat", &error) == NULL);
	CHECK(error != NULL && strstr(error, "/nonexistent/psl.dat") != NULL);
	free(error);
	CHECK_STR(dmarc_result_name(DMARC_RESULT_PERMERROR), "permerror");
	CHECK_STR(dmarc_policy_name(DMARC_POLICY_QUARANTINE), "quarantine");
}

int main(void)
{
	char *error = NULL;

	ctx = dmarc_ctx_new(PSL_FILE, &error);
	if (ctx == NULL) {
		fprintf(stderr, "test_dmarc: %s\n", error);
		free(error);
		return 1;
	}
	test_record_parse();
	test_record_limits();
	test_org_domain();
	test_alignment();
	test_evaluate();
	test_queries();
	test_facts();
	test_ctx();
	dmarc_ctx_free(ctx);
	return check_summary("test_dmarc");
}
