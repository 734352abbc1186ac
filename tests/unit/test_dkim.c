/*
 * test_dkim - DKIM verification (filters/dkim_verify.c).
 *
 * The messages were signed by dkimpy (tests/unit/data/make-dkim-fixtures,
 * which also prints dkimpy's verdicts, kept in dkimpy-verdicts.txt); their
 * key records come from a table-backed struct dns_lookup loaded from the
 * fixtures' zone file, so libopendkim's key queries go through the DNS
 * packets this module builds. The packets are also read back here, byte
 * by byte and with libc's dn_expand; the canonical body length is checked
 * against dkimpy's numbers and against libopendkim's own count.
 */
#include "config.h"

#include <netinet/in.h>
#include <arpa/nameser.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <dkim.h>

#include "common/buf.h"
#include "common/dns.h"
#include "common/xalloc.h"
#include "filters/dkim_verify.h"
#include "filters/facts.h"
#include "tests/unit/check.h"
#include "tests/unit/test_support.h"

/* ---- fixtures and the table-backed lookup ---- */

/* dkim_fixture - tests/unit/data/dkim/name into b, NUL-terminated as well
 * (for the string functions that edit copies) */
static bool dkim_fixture(const char *name, struct buf *b)
{
	char path[512];

	snprintf(path, sizeof(path), "dkim/%s", name);
	if (!read_fixture(path, b))
		return false;
	(void)buf_cstr(b);
	return true;
}

enum table_mode {
	TABLE_ANSWER,   /* answer from the records */
	TABLE_TEMPFAIL, /* every query times out */
	TABLE_PERMFAIL, /* DNSSEC-bogus: records and packet there, status PERMFAIL */
	TABLE_BAD_CALL, /* the lookup refuses the call (-1) */
};

enum table_packet {
	PACKET_NONE,       /* rdata only, as a test table gives */
	PACKET_GOOD,       /* a resolver's packet, with CNAME and OPT records */
	PACKET_WRONG_TYPE, /* a packet whose question is not TXT */
};

struct zone_rr {
	const char *name;
	const char *text; /* NULL: the name exists, without TXT records */
};

struct table {
	struct zone_rr rr[16];
	size_t count;
	enum table_mode mode;
	enum table_packet packet;
	unsigned queries; /* counted atomically: the threads test shares a table */
};

static struct table zone; /* the fixtures' records, loaded once */

static void load_zone(void)
{
	struct buf b;
	char *line, *save = NULL;

	if (!dkim_fixture("zone.txt", &b))
		return;
	for (line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *space = strchr(line, ' ');

		if (line[0] == '#' || space == NULL || zone.count == 16)
			continue;
		zone.rr[zone.count++] = (struct zone_rr){
		    .name = xstrndup(line, (size_t)(space - line)),
		    .text = xstrdup(space + 1),
		};
	}
	buf_free(&b);
	CHECK_INT(zone.count, 3);
}

static void free_zone(void)
{
	for (size_t i = 0; i < zone.count; i++) {
		free((char *)zone.rr[i].name);
		free((char *)zone.rr[i].text);
	}
}

/* txt_rdata - text as TXT rdata: strings of at most 255 bytes (RFC 1035 §3.3.14) */
static unsigned char *txt_rdata(const char *text, size_t *len)
{
	size_t n = strlen(text), i = 0;
	unsigned char *r = xmalloc(n + n / 255 + 1);

	*len = 0;
	do {
		size_t k = n - i > 255 ? 255 : n - i;

		r[(*len)++] = (unsigned char)k;
		memcpy(r + *len, text + i, k);
		*len += k;
		i += k;
	} while (i < n);
	return r;
}

static void add_record(struct dns_answer *a, const char *text)
{
	a->data = xrealloc(a->data, (a->count + 1) * sizeof(*a->data));
	a->len = xrealloc(a->len, (a->count + 1) * sizeof(*a->len));
	a->data[a->count] = txt_rdata(text, &a->len[a->count]);
	a->count++;
}

static void table_records(const struct table *t, const char *name, struct dns_answer *a)
{
	bool exists = false;

	for (size_t i = 0; i < t->count; i++) {
		if (strcasecmp(t->rr[i].name, name) != 0)
			continue;
		exists = true;
		if (t->rr[i].text)
			add_record(a, t->rr[i].text);
	}
	a->status = a->count ? DNS_OK : exists ? DNS_NODATA : DNS_NXDOMAIN;
}

static void put16(struct buf *b, unsigned v)
{
	buf_append_char(b, (char)(v >> 8));
	buf_append_char(b, (char)v);
}

/* put_labels - name uncompressed, as in a question (RFC 1035 §3.1) */
static void put_labels(struct buf *b, const char *name)
{
	while (*name) {
		size_t n = strcspn(name, ".");

		buf_append_char(b, (char)n);
		buf_append(b, name, n);
		name += n + (name[n] == '.');
	}
	buf_append_char(b, 0);
}

/*
 * make_packet - a reply as a resolver sends one, written out by hand: the
 * question, a CNAME to alias.example.org, the TXT record owned by a
 * pointer into the CNAME's rdata, then an EDNS OPT record (RFC 6891).
 */
static void make_packet(unsigned qtype, const char *name, struct dns_answer *a)
{
	static const unsigned char head[] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 1};
	static const unsigned char cname[] = {0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0x0e, 0x10};
	static const unsigned char opt[] = {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0};
	struct buf p;
	size_t alias;

	buf_init(&p);
	buf_append(&p, head, sizeof(head));
	put_labels(&p, name);
	put16(&p, qtype);
	put16(&p, 1);
	buf_append(&p, cname, sizeof(cname));
	put16(&p, 19); /* "alias.example.org" as labels */
	alias = p.len;
	put_labels(&p, "alias.example.org");
	put16(&p, 0xc000u | (unsigned)alias);
	put16(&p, DNS_TYPE_TXT);
	put16(&p, 1);
	put16(&p, 0);
	put16(&p, 300);
	put16(&p, (unsigned)a->len[0]);
	buf_append(&p, a->data[0], a->len[0]);
	buf_append(&p, opt, sizeof(opt));
	a->packet_len = p.len;
	a->packet = (unsigned char *)buf_steal(&p);
}

/* packet_answer - the packet variants; with PACKET_GOOD the rdata beside the
 * packet says "revoked", so a pass shows libopendkim read the packet */
static void packet_answer(const struct table *t, const char *name, struct dns_answer *a)
{
	if (t->packet == PACKET_NONE || a->count != 1)
		return;
	make_packet(t->packet == PACKET_GOOD ? DNS_TYPE_TXT : DNS_TYPE_A, name, a);
	if (t->packet == PACKET_GOOD) {
		free(a->data[0]);
		a->data[0] = txt_rdata("v=DKIM1; k=rsa; p=", &a->len[0]);
	}
}

static int table_query(void *ctx, const char *name, int type, struct dns_answer *out)
{
	struct table *t = ctx;

	memset(out, 0, sizeof(*out));
	__atomic_fetch_add(&t->queries, 1, __ATOMIC_RELAXED);
	if (t->mode == TABLE_BAD_CALL || type != DNS_TYPE_TXT)
		return -1;
	if (t->mode == TABLE_TEMPFAIL) {
		out->status = DNS_TEMPFAIL;
		out->why = xstrdup("query timed out");
		return 0;
	}
	table_records(t, name, out);
	packet_answer(t, name, out);
	if (t->mode == TABLE_PERMFAIL) {
		out->status = DNS_PERMFAIL;
		out->why = xstrdup("DNSSEC validation failed");
	}
	return 0;
}

static struct dkim_verifier *verifier_for(struct table *t)
{
	struct dns_lookup lookup = {.query = table_query, .ctx = t};
	char *error = NULL;
	struct dkim_verifier *v = dkim_verifier_new(&lookup, &error);

	CHECK(v != NULL);
	CHECK_STR(error, NULL);
	free(error);
	return v;
}

/* verify_with - msg verified with the records (and mode) of t */
static void verify_with(struct table *t, const char *msg, size_t len, struct dkim_outcome *out)
{
	struct dkim_verifier *v = verifier_for(t);

	dkim_verify_message(v, msg, len, out);
	dkim_verifier_free(v);
}

/* ---- the fixtures, against dkimpy ---- */

struct sig_want {
	enum dkim_sig_result result;
	const char *domain, *selector, *algorithm, *reason;
	unsigned key_bits;
	long long tail;
	bool dkimpy; /* dkimpy's verdict on this signature (dkimpy-verdicts.txt) */
};

/*
 * dkimpy is the oracle: libopendkim's own verdict (pass, or policy, which
 * is a pass we do not accept: rsa-sha1) must equal dkimpy's for every
 * signature. dkimpy_verify is dkim.verify(), which judges the topmost one.
 */
static const struct fixture_case {
	const char *file;
	bool dkimpy_verify;
	size_t count;
	struct sig_want sigs[2];
} fixture_cases[] = {
    {.file = "rsa-relaxed.eml",
     .dkimpy_verify = true,
     .count = 1,
     .sigs = {{.result = DKIMR_PASS,
               .domain = "example.org",
               .selector = "rsa2048",
               .algorithm = "rsa-sha256",
               .reason = "ok",
               .key_bits = 2048,
               .tail = -1,
               .dkimpy = true}}},
    {.file = "rsa-simple.eml",
     .dkimpy_verify = true,
     .count = 1,
     .sigs = {{.result = DKIMR_PASS,
               .domain = "example.org",
               .selector = "rsa2048",
               .algorithm = "rsa-sha256",
               .reason = "ok",
               .key_bits = 2048,
               .tail = -1,
               .dkimpy = true}}},
    /* RFC 8463: no key size for ed25519 */
    {.file = "ed25519.eml",
     .dkimpy_verify = true,
     .count = 1,
     .sigs = {{.result = DKIMR_PASS,
               .domain = "example.net",
               .selector = "ed25519",
               .algorithm = "ed25519-sha256",
               .reason = "ok",
               .key_bits = 0,
               .tail = -1,
               .dkimpy = true}}},
    {.file = "body-tampered.eml",
     .dkimpy_verify = false,
     .count = 1,
     .sigs = {{.result = DKIMR_FAIL,
               .domain = "example.org",
               .selector = "rsa2048",
               .algorithm = "rsa-sha256",
               .reason = "body hash did not verify",
               .key_bits = 2048,
               .tail = -1,
               .dkimpy = false}}},
    {.file = "header-tampered.eml",
     .dkimpy_verify = false,
     .count = 1,
     .sigs = {{.result = DKIMR_FAIL,
               .domain = "example.org",
               .selector = "rsa2048",
               .algorithm = "rsa-sha256",
               .reason = "signature verification failed",
               .key_bits = 2048,
               .tail = -1,
               .dkimpy = false}}},
    /* l= still passes with text appended: the tail is the fact (RFC 6376 §8.2);
     * 54 is what make-dkim-fixtures computed with dkimpy's canonicalization */
    {.file = "length-tail.eml",
     .dkimpy_verify = true,
     .count = 1,
     .sigs = {{.result = DKIMR_PASS,
               .domain = "example.org",
               .selector = "rsa2048",
               .algorithm = "rsa-sha256",
               .reason = "ok",
               .key_bits = 2048,
               .tail = 54,
               .dkimpy = true}}},
    /* a list re-signed after changing the Subject: its signature is on top */
    {.file = "two-sigs.eml",
     .dkimpy_verify = true,
     .count = 2,
     .sigs = {{.result = DKIMR_PASS,
               .domain = "example.org",
               .selector = "rsa2048",
               .algorithm = "rsa-sha256",
               .reason = "ok",
               .key_bits = 2048,
               .tail = -1,
               .dkimpy = true},
              {.result = DKIMR_FAIL,
               .domain = "example.net",
               .selector = "ed25519",
               .algorithm = "ed25519-sha256",
               .reason = "signature verification failed",
               .key_bits = 0,
               .tail = -1,
               .dkimpy = false}}},
    /* RFC 8301 §3.2 */
    {.file = "weak-512.eml",
     .dkimpy_verify = false,
     .count = 1,
     .sigs = {{.result = DKIMR_FAIL,
               .domain = "example.com",
               .selector = "weak512",
               .algorithm = "rsa-sha256",
               .reason = "RSA key shorter than 1024 bits (RFC 8301)",
               .key_bits = 512,
               .tail = -1,
               .dkimpy = false}}},
    /* x= a day after t=, in 2023 (RFC 6376 §3.5): the key is never fetched */
    {.file = "expired.eml",
     .dkimpy_verify = false,
     .count = 1,
     .sigs = {{.result = DKIMR_FAIL,
               .domain = "example.org",
               .selector = "rsa2048",
               .algorithm = "rsa-sha256",
               .reason = "signature expired",
               .key_bits = 0,
               .tail = -1,
               .dkimpy = false}}},
    /* NXDOMAIN for gone._domainkey.example.com: dkim=permerror (RFC 8601 §2.7.1) */
    {.file = "key-missing.eml",
     .dkimpy_verify = false,
     .count = 1,
     .sigs = {{.result = DKIMR_PERMERROR,
               .domain = "example.com",
               .selector = "gone",
               .algorithm = "rsa-sha256",
               .reason = "key not found in DNS",
               .key_bits = 0,
               .tail = -1,
               .dkimpy = false}}},
    /* verified by both, yet RFC 8301 §3.1 forbids rsa-sha1: policy */
    {.file = "rsa-sha1.eml",
     .dkimpy_verify = true,
     .count = 1,
     .sigs = {{.result = DKIMR_POLICY,
               .domain = "example.org",
               .selector = "rsa2048",
               .algorithm = "rsa-sha1",
               .reason = "rsa-sha1 is not acceptable (RFC 8301)",
               .key_bits = 2048,
               .tail = -1,
               .dkimpy = true}}},
    {.file = "unsigned.eml", .dkimpy_verify = false, .count = 0},
};

static void check_sig(const struct dkim_sig_outcome *got, const struct sig_want *want)
{
	bool lib_verified = got->result == DKIMR_PASS || got->result == DKIMR_POLICY;

	CHECK_STR(dkim_sig_result_name(got->result), dkim_sig_result_name(want->result));
	CHECK_INT(lib_verified, want->dkimpy);
	CHECK_STR(got->domain, want->domain);
	CHECK_STR(got->selector, want->selector);
	CHECK_STR(got->algorithm, want->algorithm);
	CHECK_STR(got->reason, want->reason);
	CHECK_INT(got->key_bits, want->key_bits);
	CHECK_INT(got->unsigned_tail, want->tail);
}

static void test_fixtures(void)
{
	for (size_t i = 0; i < sizeof(fixture_cases) / sizeof(fixture_cases[0]); i++) {
		const struct fixture_case *c = &fixture_cases[i];
		struct table t = zone;
		struct dkim_outcome o;
		struct buf msg;

		if (!dkim_fixture(c->file, &msg))
			continue;
		verify_with(&t, msg.data, msg.len, &o);
		CHECK_INT(o.count, c->count);
		CHECK_STR(o.error, NULL);
		CHECK(!o.limit_exceeded);
		for (size_t k = 0; k < o.count && k < c->count; k++)
			check_sig(&o.sigs[k], &c->sigs[k]);
		/* dkim.verify() judged the first signature */
		CHECK_INT(o.count > 0 &&
		              (o.sigs[0].result == DKIMR_PASS || o.sigs[0].result == DKIMR_POLICY),
		          c->dkimpy_verify);
		if (o.count != c->count)
			fprintf(stderr, "  in %s\n", c->file);
		dkim_outcome_free(&o);
		buf_free(&msg);
	}
}

static void test_result_names(void)
{
	static const struct {
		enum dkim_sig_result r;
		const char *name;
	} names[] = {
	    {.r = DKIMR_PASS, .name = "pass"},
	    {.r = DKIMR_FAIL, .name = "fail"},
	    {.r = DKIMR_NEUTRAL, .name = "neutral"},
	    {.r = DKIMR_TEMPERROR, .name = "temperror"},
	    {.r = DKIMR_PERMERROR, .name = "permerror"},
	    {.r = DKIMR_POLICY, .name = "policy"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECK_STR(dkim_sig_result_name(names[i].r), names[i].name);
}

/* ---- DNS outcomes ---- */

static const struct dns_case {
	const char *what;
	enum table_mode mode;
	enum table_packet packet;
	struct zone_rr extra[2]; /* added to (or, with text NULL, shadowing) the zone */
	enum dkim_sig_result result;
	const char *reason;
} dns_cases[] = {
    {.what = "timeout",
     .mode = TABLE_TEMPFAIL,
     .result = DKIMR_TEMPERROR,
     .reason = "key DNS query failed"},
    {.what = "lookup refused the call",
     .mode = TABLE_BAD_CALL,
     .result = DKIMR_TEMPERROR,
     .reason = "key DNS query failed"},
    /* the records of a DNSSEC-bogus answer are never used */
    {.what = "bogus",
     .mode = TABLE_PERMFAIL,
     .packet = PACKET_GOOD,
     .result = DKIMR_PERMERROR,
     .reason = "key not found in DNS"},
    {.what = "resolver packet", .packet = PACKET_GOOD, .result = DKIMR_PASS, .reason = "ok"},
    {.what = "packet for another type",
     .packet = PACKET_WRONG_TYPE,
     .result = DKIMR_PASS,
     .reason = "ok"},
    {.what = "NODATA",
     .extra = {{.name = "rsa2048._domainkey.example.org"}},
     .result = DKIMR_PERMERROR,
     .reason = "key not found in DNS"},
    /* RFC 6376 §3.6.2.2: one record per selector */
    {.what = "two records",
     .extra = {{.name = "rsa2048._domainkey.example.org", .text = "v=DKIM1; k=rsa; p=MIIB"}},
     .result = DKIMR_PERMERROR,
     .reason = "multiple keys found"},
};

/* table_for - the zone with c's extra records; shadowed names lose their records */
static struct table table_for(const struct dns_case *c)
{
	struct table t = {.mode = c->mode, .packet = c->packet};

	for (size_t i = 0; i < zone.count; i++) {
		bool shadowed = false;

		for (size_t k = 0; k < 2; k++)
			shadowed |= c->extra[k].name && !c->extra[k].text &&
			            strcasecmp(c->extra[k].name, zone.rr[i].name) == 0;
		if (!shadowed)
			t.rr[t.count++] = zone.rr[i];
	}
	for (size_t k = 0; k < 2; k++)
		if (c->extra[k].name)
			t.rr[t.count++] = c->extra[k];
	return t;
}

static void test_dns_outcomes(void)
{
	struct buf msg;

	if (!dkim_fixture("rsa-relaxed.eml", &msg))
		return;
	for (size_t i = 0; i < sizeof(dns_cases) / sizeof(dns_cases[0]); i++) {
		const struct dns_case *c = &dns_cases[i];
		struct table t = table_for(c);
		struct dkim_outcome o;

		verify_with(&t, msg.data, msg.len, &o);
		CHECK_INT(o.count, 1);
		CHECK_INT(t.queries, 1);
		if (o.count == 1) {
			CHECK_STR(dkim_sig_result_name(o.sigs[0].result),
			          dkim_sig_result_name(c->result));
			CHECK_STR(o.sigs[0].reason, c->reason);
			if (o.sigs[0].result != c->result)
				fprintf(stderr, "  in case \"%s\"\n", c->what);
		}
		dkim_outcome_free(&o);
	}
	buf_free(&msg);
}

/* replace - s with the first from replaced by to (from must be there) */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);

	CHECK(at != NULL);
	if (at == NULL)
		return xstrdup(s);
	return xasprintf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

/* rsa-relaxed.eml with one DKIM-Signature field broken (or one broken one added) */
static const struct broken_case {
	const char *what;
	const char *from, *to; /* the change */
	size_t count;          /* signatures listed: the broken one first */
	unsigned queries;
	enum dkim_sig_result result;
	const char *reason;
} broken_cases[] = {
    /* RFC 8601 §2.7.1: signatures with syntax errors are "neutral"; a tag
     * list that does not parse is listed too (BADSIGHANDLES), not dropped */
    {.what = "tag list cut short",
     .from = "DKIM-Signature: v=1;",
     .to = "DKIM-Signature: v=1; x\r\nDKIM-Signature: v=1;",
     .count = 2,
     .queries = 1,
     .result = DKIMR_NEUTRAL,
     .reason = "domain tag missing"},
    {.what = "unknown algorithm",
     .from = "a=rsa-sha256",
     .to = "a=rsa-sha512",
     .count = 1,
     .result = DKIMR_NEUTRAL,
     .reason = "signature algorithm invalid"},
    {.what = "no d=",
     .from = "d=example.org;",
     .to = "",
     .count = 1,
     .result = DKIMR_NEUTRAL,
     .reason = "domain tag missing"},
    /* a selector with an empty label names no key: nothing is asked */
    {.what = "empty label in s=",
     .from = "s=rsa2048",
     .to = "s=a..b",
     .count = 1,
     .result = DKIMR_PERMERROR,
     .reason = "key not found in DNS"},
};

static void test_broken_signatures(void)
{
	struct buf msg;

	if (!dkim_fixture("rsa-relaxed.eml", &msg))
		return;
	for (size_t i = 0; i < sizeof(broken_cases) / sizeof(broken_cases[0]); i++) {
		const struct broken_case *c = &broken_cases[i];
		char *text = replace(buf_cstr(&msg), c->from, c->to);
		struct table t = zone;
		struct dkim_outcome o;

		verify_with(&t, text, strlen(text), &o);
		CHECK_INT(o.count, c->count);
		CHECK_INT(t.queries, c->queries);
		if (o.count >= 1) {
			CHECK_STR(dkim_sig_result_name(o.sigs[0].result),
			          dkim_sig_result_name(c->result));
			CHECK_STR(o.sigs[0].reason, c->reason);
		}
		/* the good signature below the added broken one still passes */
		if (o.count == 2)
			CHECK_INT(o.sigs[1].result, DKIMR_PASS);
		dkim_outcome_free(&o);
		free(text);
	}
	buf_free(&msg);
}

/* ---- more signatures than the cap ---- */

/*
 * with_signatures - msg with n copies of its DKIM-Signature field below it,
 * named name, each for a selector of its own: libopendkim fetches a key
 * once per message for one d= and s=, and a lookup per copy shows which
 * copies were evaluated. None of the copies has a key.
 */
static char *with_signatures(const struct buf *msg, size_t n, const char *name)
{
	const char *colon = memchr(msg->data, ':', msg->len);
	const char *end = strstr(msg->data, "\r\nFrom:");
	struct buf b;

	buf_init(&b);
	if (colon == NULL || end == NULL)
		return buf_steal(&b);
	buf_append(&b, msg->data, (size_t)(end + 2 - msg->data));
	for (size_t i = 0; i < n; i++) {
		char *field = xasprintf("%s%.*s", name, (int)(end + 2 - colon), colon);
		char *sel = xasprintf("s=copy%zu", i);
		char *copy = replace(field, "s=rsa2048", sel);

		buf_append_str(&b, copy);
		free(copy);
		free(sel);
		free(field);
	}
	buf_append(&b, end + 2, msg->len - (size_t)(end + 2 - msg->data));
	return buf_steal(&b);
}

static const struct limit_case {
	const char *name; /* how the copies spell the field name */
	size_t copies;
	size_t count, queries;
	bool exceeded;
} limit_cases[] = {
    {.name = "DKIM-Signature",
     .copies = DKIM_VERIFY_MAX_SIGS - 1,
     .count = DKIM_VERIFY_MAX_SIGS,
     .queries = DKIM_VERIFY_MAX_SIGS,
     .exceeded = false},
    /* the original and 15 copies are evaluated, 5 copies are not even looked up */
    {.name = "DKIM-Signature",
     .copies = DKIM_VERIFY_MAX_SIGS + 4,
     .count = DKIM_VERIFY_MAX_SIGS,
     .queries = DKIM_VERIFY_MAX_SIGS,
     .exceeded = true},
    /* libopendkim drops trailing spaces of a field name: still DKIM-Signature */
    {.name = "dkim-signature  ",
     .copies = DKIM_VERIFY_MAX_SIGS + 4,
     .count = DKIM_VERIFY_MAX_SIGS,
     .queries = DKIM_VERIFY_MAX_SIGS,
     .exceeded = true},
    /* libopendkim drops fields whose names hold control characters; they
     * still count here, so the count errs only on the high side */
    {.name = "DKIM-Signature\t",
     .copies = DKIM_VERIFY_MAX_SIGS + 4,
     .count = 1,
     .queries = 1,
     .exceeded = true},
    {.name = "DKIM-Signature\r\n\v",
     .copies = DKIM_VERIFY_MAX_SIGS + 4,
     .count = 1,
     .queries = 1,
     .exceeded = true},
};

static void test_limit(void)
{
	struct buf msg;

	if (!dkim_fixture("rsa-relaxed.eml", &msg))
		return;
	for (size_t i = 0; i < sizeof(limit_cases) / sizeof(limit_cases[0]); i++) {
		const struct limit_case *c = &limit_cases[i];
		char *text = with_signatures(&msg, c->copies, c->name);
		struct table t = zone;
		struct dkim_outcome o;

		verify_with(&t, text, strlen(text), &o);
		CHECK_INT(o.count, c->count);
		CHECK_INT(o.limit_exceeded, c->exceeded);
		CHECK_INT(t.queries, c->queries);
		/* the original, on top, passes; the copies have no key */
		if (o.count > 0)
			CHECK_INT(o.sigs[0].result, DKIMR_PASS);
		for (size_t k = 1; k < o.count; k++)
			CHECK_INT(o.sigs[k].result, DKIMR_PERMERROR);
		dkim_outcome_free(&o);
		free(text);
	}
	buf_free(&msg);
}

/* ---- l= ---- */

static void test_length_without_tail(void)
{
	static const char tail[] = "Appended after signing: http://example.com/offer\r\n";
	struct table t = zone;
	struct dkim_outcome o;
	struct buf msg;

	if (!dkim_fixture("length-tail.eml", &msg))
		return;
	CHECK(msg.len > strlen(tail) && strcmp(buf_cstr(&msg) + msg.len - strlen(tail), tail) == 0);
	verify_with(&t, msg.data, msg.len - strlen(tail), &o);
	CHECK_INT(o.count, 1);
	if (o.count == 1) {
		CHECK_INT(o.sigs[0].result, DKIMR_PASS);
		CHECK_INT(o.sigs[0].unsigned_tail, 0);
	}
	dkim_outcome_free(&o);
	buf_free(&msg);
}

/* ---- facts ---- */

static const char *fact(const struct facts *f, const char *name, size_t i)
{
	const struct fact *x = facts_find(f, name);

	return x && i < x->count ? x->values[i] : NULL;
}

static size_t fact_count(const struct facts *f, const char *name)
{
	const struct fact *x = facts_find(f, name);

	return x ? x->count : 0;
}

/* facts_of - the facts of a fixture's outcome */
static void facts_of(const char *file, struct facts *f)
{
	struct table t = zone;
	struct dkim_outcome o;
	struct buf msg;

	facts_init(f);
	if (!dkim_fixture(file, &msg))
		return;
	verify_with(&t, msg.data, msg.len, &o);
	dkim_record_facts(&o, f);
	dkim_outcome_free(&o);
	buf_free(&msg);
}

static void test_facts(void)
{
	struct facts f;

	facts_of("two-sigs.eml", &f);
	CHECK_STR(fact(&f, "dkim.result", 0), "pass");
	CHECK_STR(fact(&f, "dkim.result", 1), "fail");
	CHECK_STR(fact(&f, "dkim.domain", 0), "example.org");
	CHECK_STR(fact(&f, "dkim.domain", 1), "example.net");
	CHECK_STR(fact(&f, "dkim.selector", 1), "ed25519");
	CHECK_STR(fact(&f, "dkim.algorithm", 1), "ed25519-sha256");
	CHECK_STR(fact(&f, "dkim.reason", 1), "signature verification failed");
	CHECK_STR(fact(&f, "dkim.key_bits", 0), "2048");
	CHECK_INT(fact_count(&f, "dkim.pass_domain"), 1);
	CHECK_STR(fact(&f, "dkim.pass_domain", 0), "example.org");
	CHECK_INT(fact_count(&f, "dkim.partial"), 0);
	CHECK_INT(fact_count(&f, "dkim.error"), 0);
	facts_clear(&f);

	facts_of("length-tail.eml", &f);
	CHECK_STR(fact(&f, "dkim.partial", 0), "54");
	facts_clear(&f);

	facts_of("unsigned.eml", &f);
	CHECK_INT(fact_count(&f, "dkim.result"), 1);
	CHECK_STR(fact(&f, "dkim.result", 0), "none");
	CHECK_INT(fact_count(&f, "dkim.domain"), 0);
	facts_clear(&f);
}

/* when libopendkim cannot read the message, the rules see temperror */
static void test_facts_of_errors(void)
{
	struct dkim_outcome o = {.error = xstrdup("libopendkim: resource unavailable"),
	                         .limit_exceeded = true};
	struct facts f;

	facts_init(&f);
	dkim_record_facts(&o, &f);
	CHECK_STR(fact(&f, "dkim.result", 0), "temperror");
	CHECK_STR(fact(&f, "dkim.limit_exceeded", 0), "yes");
	CHECK_STR(fact(&f, "dkim.error", 0), DKIM_VERIFY_LIMIT_ERROR);
	CHECK_STR(fact(&f, "dkim.error", 1), "libopendkim: resource unavailable");
	CHECK_STR(DKIM_VERIFY_LIMIT_ERROR, "more than 16 signatures: the rest not evaluated");
	facts_clear(&f);
	dkim_outcome_free(&o);
	CHECK(o.error == NULL && o.count == 0);
}

/* ---- canonical body length ---- */

/* dkimpy's lengths (dkim.canonicalization.Simple/Relaxed.canonicalize_body) */
static const struct canon_case {
	const char *body;
	size_t simple, relaxed;
	bool smtp; /* ends in CR LF, no bare CR or LF: libopendkim agrees */
} canon_cases[] = {
    {.body = "", .simple = 2, .relaxed = 0, .smtp = true},
    {.body = "\r\n", .simple = 2, .relaxed = 0, .smtp = true},
    {.body = "\r\n\r\n", .simple = 2, .relaxed = 0, .smtp = true},
    {.body = "abc\r\n", .simple = 5, .relaxed = 5, .smtp = true},
    {.body = "abc\r\n\r\n\r\n", .simple = 5, .relaxed = 5, .smtp = true},
    {.body = "a  b \t\r\n", .simple = 8, .relaxed = 5, .smtp = true},
    {.body = " \t \r\n", .simple = 5, .relaxed = 0, .smtp = true},
    {.body = "x\r\n \r\n\r\ny\r\n", .simple = 11, .relaxed = 10, .smtp = true},
    {.body = "\tlead\r\n", .simple = 7, .relaxed = 7, .smtp = true},
    {.body = "a\r\r\n", .simple = 4, .relaxed = 4, .smtp = true},
    /* libopendkim differs on these; SMTP mail never has them */
    {.body = "abc", .simple = 5, .relaxed = 5},
    {.body = "abc\r\ndef", .simple = 10, .relaxed = 10},
    {.body = "trailing ws  ", .simple = 15, .relaxed = 14},
    {.body = "a\r\n  ", .simple = 7, .relaxed = 6},
    {.body = "a\rb\r\n", .simple = 5, .relaxed = 5},
    {.body = "a\nb\r\n", .simple = 5, .relaxed = 5},
    {.body = "  \r\n  x", .simple = 9, .relaxed = 6},
};

/* lib_canonlen - libopendkim's count of body's canonical bytes (a signature
 * without l=; keys come from an empty key file, so nothing is asked) */
static ssize_t lib_canonlen(DKIM_LIB *lib, const char *body, bool relaxed)
{
	char *msg =
	    xasprintf("DKIM-Signature: v=1; a=rsa-sha256; c=%s; d=example.org; s=s; h=from; "
	              "bh=AAAA; b=AAAA\r\nFrom: a@example.org\r\n\r\n%s",
	              relaxed ? "relaxed/relaxed" : "simple/simple", body);
	DKIM_SIGINFO **sigs = NULL;
	ssize_t canon = -1;
	DKIM_STAT st;
	DKIM *d = dkim_verify(lib, (const unsigned char *)"test", NULL, &st);
	int n = 0;

	dkim_chunk(d, (unsigned char *)msg, strlen(msg));
	dkim_chunk(d, NULL, 0);
	dkim_eom(d, NULL);
	if (dkim_getsiglist(d, &sigs, &n) == DKIM_STAT_OK && n == 1)
		dkim_sig_getcanonlen(d, sigs[0], NULL, &canon, NULL);
	dkim_free(d);
	free(msg);
	return canon;
}

static DKIM_LIB *file_keyed_lib(void)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	dkim_query_t method = DKIM_QUERY_FILE;

	CHECK(dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &method, sizeof(method)) ==
	      DKIM_STAT_OK);
	CHECK(dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, "/dev/null", 9) ==
	      DKIM_STAT_OK);
	return lib;
}

static void test_canonlen(void)
{
	DKIM_LIB *lib = file_keyed_lib();

	for (size_t i = 0; i < sizeof(canon_cases) / sizeof(canon_cases[0]); i++) {
		const struct canon_case *c = &canon_cases[i];
		size_t n = strlen(c->body);

		CHECK_INT(dkim_verify_body_canonlen(c->body, n, false), c->simple);
		CHECK_INT(dkim_verify_body_canonlen(c->body, n, true), c->relaxed);
		if (!c->smtp)
			continue;
		CHECK_INT(lib_canonlen(lib, c->body, false), c->simple);
		CHECK_INT(lib_canonlen(lib, c->body, true), c->relaxed);
	}
	dkim_close(lib);
}

/* ---- the reply packets ---- */

static unsigned get_be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static struct dns_answer answer_of(enum dns_status status, const char *const *texts)
{
	struct dns_answer a = {.status = status};

	for (size_t i = 0; texts && texts[i]; i++)
		add_record(&a, texts[i]);
	return a;
}

/* expand - the name at off, read by libc's resolver (an independent reader) */
static const char *expand(const unsigned char *pkt, size_t len, size_t off)
{
	static char name[NS_MAXDNAME];

	if (dn_expand(pkt, pkt + len, pkt + off, name, sizeof(name)) < 0)
		return NULL;
	return name;
}

static void test_reply_bytes(void)
{
	static const char *const texts[] = {"v=DKIM1; p=abc", NULL};
	struct dns_answer a = answer_of(DNS_OK, texts);
	/* ID 0; QR RD RA AD, NOERROR; one question, one answer, nothing else */
	static const unsigned char head[12] = {0, 0, 0x81, 0xa0, 0, 1, 0, 1, 0, 0, 0, 0};
	unsigned char pkt[512];
	size_t n, q = 12 + 21; /* the question's type: after "sel" "_domainkey" "test" and root */

	a.secure = true;
	n = dkim_verify_reply_build("sel._domainkey.test", &a, pkt, sizeof(pkt));
	CHECK_INT(n, q + 4 + 12 + 15);
	CHECK(memcmp(pkt, head, 12) == 0);
	CHECK_STR(expand(pkt, n, 12), "sel._domainkey.test");
	CHECK(pkt[q] == 0 && pkt[q + 1] == 16 && pkt[q + 2] == 0 && pkt[q + 3] == 1);
	/* owner: a pointer to the question's name */
	CHECK(pkt[q + 4] == 0xc0 && pkt[q + 5] == 12);
	CHECK_STR(expand(pkt, n, q + 4), "sel._domainkey.test");
	CHECK(pkt[q + 6] == 0 && pkt[q + 7] == 16 && pkt[q + 8] == 0 && pkt[q + 9] == 1);
	CHECK(pkt[q + 14] == 0 && pkt[q + 15] == 15 && pkt[q + 16] == 14);
	CHECK(memcmp(pkt + q + 17, "v=DKIM1; p=abc", 14) == 0);
	CHECK_STR(dkim_verify_reply_check(pkt, n, "SEL._domainkey.test."), NULL);
	dns_answer_free(&a);
}

/* a long record goes as several strings; every record is its own answer */
static void test_reply_records(void)
{
	char big[600];
	const char *texts[] = {big, "second", NULL};
	struct dns_answer a;
	unsigned char pkt[2048];
	size_t n, q = 12 + 26 + 4; /* the first answer */

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	a = answer_of(DNS_OK, texts);
	n = dkim_verify_reply_build("s._domainkey.example.org", &a, pkt, sizeof(pkt));
	CHECK_INT(n, q + (12 + 3 + 599) + (12 + 7));
	CHECK(pkt[7] == 2);
	CHECK(get_be16(pkt + q + 10) == 602);
	CHECK(pkt[q + 12] == 255 && pkt[q + 12 + 256] == 255 && pkt[q + 12 + 512] == 89);
	CHECK(pkt[q + 12 + 602 + 12] == 6);
	CHECK_STR(dkim_verify_reply_check(pkt, n, "s._domainkey.example.org"), NULL);
	/* one byte short of room is no reply */
	CHECK_INT(dkim_verify_reply_build("s._domainkey.example.org", &a, pkt, n - 1), 0);
	dns_answer_free(&a);
}

/* the rcode says what the status says; records only for DNS_OK, well-formed ones */
static const struct rcode_case {
	enum dns_status status;
	bool secure;
	bool malformed; /* add a record whose string runs past its rdata, and one with a NUL */
	unsigned flags, answers;
} rcode_cases[] = {
    {.status = DNS_OK, .flags = 0x8180, .answers = 1},
    {.status = DNS_OK, .secure = true, .flags = 0x81a0, .answers = 1},
    {.status = DNS_OK, .malformed = true, .flags = 0x8180, .answers = 1},
    {.status = DNS_NODATA, .flags = 0x8180, .answers = 0},
    {.status = DNS_NXDOMAIN, .secure = true, .flags = 0x8183, .answers = 0},
    {.status = DNS_TEMPFAIL, .flags = 0x8182, .answers = 0},
    {.status = DNS_PERMFAIL, .secure = true, .flags = 0x8185, .answers = 0},
};

static void add_raw(struct dns_answer *a, const void *rdata, size_t len)
{
	a->data = xrealloc(a->data, (a->count + 1) * sizeof(*a->data));
	a->len = xrealloc(a->len, (a->count + 1) * sizeof(*a->len));
	a->data[a->count] = xmalloc(len);
	memcpy(a->data[a->count], rdata, len);
	a->len[a->count++] = len;
}

static void test_reply_rcodes(void)
{
	static const char *const texts[] = {"v=DKIM1; p=abc", NULL};

	for (size_t i = 0; i < sizeof(rcode_cases) / sizeof(rcode_cases[0]); i++) {
		const struct rcode_case *c = &rcode_cases[i];
		struct dns_answer a = answer_of(c->status, texts);
		unsigned char pkt[512];
		size_t n;

		a.secure = c->secure;
		if (c->malformed) {
			add_raw(&a, "\x09short", 6);
			add_raw(&a, "\x03p\0q", 4);
		}
		n = dkim_verify_reply_build("s._domainkey.example.org", &a, pkt, sizeof(pkt));
		CHECK(n >= 12 + 26 + 4);
		CHECK_INT(get_be16(pkt + 2), c->flags);
		CHECK_INT(get_be16(pkt + 6), c->answers);
		CHECK_INT(n, 12 + 26 + 4 + c->answers * (12 + 15));
		CHECK_STR(dkim_verify_reply_check(pkt, n, "s._domainkey.example.org"), NULL);
		dns_answer_free(&a);
	}
}

static const struct name_case {
	const char *name;
	size_t wire; /* 0: not a valid name */
} name_cases[] = {
    {.name = "", .wire = 1},
    {.name = ".", .wire = 1},
    {.name = "org.", .wire = 5},
    {.name = "a..b", .wire = 0},
    {.name = ".a", .wire = 0},
    {.name = "a.b..", .wire = 0},
    /* RFC 1035 §2.3.4: labels of 63 octets, names of 255 */
    {.name = "LABEL63", .wire = 65},
    {.name = "LABEL64", .wire = 0},
    {.name = "NAME255", .wire = 255},
    {.name = "NAME256", .wire = 0},
};

/* spelled - the long names the table stands for */
static char *spelled(const char *name)
{
	char l63[64], l62[63];

	memset(l63, 'a', 63);
	l63[63] = '\0';
	memset(l62, 'b', 62);
	l62[62] = '\0';
	if (strcmp(name, "LABEL63") == 0)
		return xasprintf("%s", l63);
	if (strcmp(name, "LABEL64") == 0)
		return xasprintf("%sa", l63);
	if (strcmp(name, "NAME255") == 0)
		return xasprintf("%s.%s.%s.%.61s", l63, l63, l63, l62);
	if (strcmp(name, "NAME256") == 0)
		return xasprintf("%s.%s.%s.%s", l63, l63, l63, l62);
	return xstrdup(name);
}

static void test_reply_names(void)
{
	struct dns_answer a = {.status = DNS_NXDOMAIN};

	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		char *name = spelled(name_cases[i].name);
		unsigned char pkt[600];
		size_t n = dkim_verify_reply_build(name, &a, pkt, sizeof(pkt));

		CHECK_INT(n, name_cases[i].wire ? 12 + name_cases[i].wire + 4 : 0);
		if (n) {
			CHECK_STR(dkim_verify_reply_check(pkt, n, name), NULL);
			CHECK(expand(pkt, n, 12) != NULL);
		}
		free(name);
	}
}

/*
 * One change to a good reply for s._domainkey.example.org holding
 * "v=DKIM1; p=abc" (the name at 12..37, type 38, class 40, the answer's
 * owner 42, rdlength 52, its string 54) and what the check says then.
 */
static const struct check_case {
	size_t offset;
	int value;  /* -1: no change */
	size_t cut; /* 0: whole */
	const char *name;
	const char *want;
} check_cases[] = {
    {.value = -1, .want = NULL},
    {.value = -1, .cut = 11, .want = "shorter than a DNS header"},
    {.offset = 2, .value = 0x01, .want = "not a reply to a query"},
    {.offset = 2, .value = 0x89, .want = "not a reply to a query"},
    {.offset = 2, .value = 0x83, .want = "truncated"},
    {.offset = 5, .value = 2, .want = "not one question"},
    {.value = -1, .name = "other._domainkey.example.org", .want = "answers another name"},
    {.offset = 39, .value = 1, .want = "question is not TXT IN"},
    {.offset = 41, .value = 3, .want = "question is not TXT IN"},
    /* a pointer forwards, a pointer to itself, a reserved label type */
    {.offset = 12, .value = 0xc0, .want = "question malformed"},
    {.offset = 43, .value = 42, .want = "record malformed"},
    {.offset = 12, .value = 0x41, .want = "question malformed"},
    {.offset = 7, .value = 2, .want = "record malformed"},
    {.offset = 53, .value = 200, .want = "record runs past the packet"},
    {.value = -1, .cut = 60, .want = "record runs past the packet"},
    {.value = -1, .cut = 45, .want = "record malformed"},
    {.offset = 54, .value = 20, .want = "TXT record malformed"},
    {.offset = 60, .value = 0, .want = "TXT record malformed"},
};

static void test_reply_check(void)
{
	static const char *const texts[] = {"v=DKIM1; p=abc", NULL};
	struct dns_answer a = answer_of(DNS_OK, texts);
	unsigned char good[128];
	size_t n = dkim_verify_reply_build("s._domainkey.example.org", &a, good, sizeof(good));

	CHECK_INT(n, 69);
	for (size_t i = 0; n == 69 && i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		const struct check_case *c = &check_cases[i];
		unsigned char pkt[128];
		const char *name = c->name ? c->name : "s._domainkey.example.org";

		memcpy(pkt, good, n);
		if (c->value >= 0)
			pkt[c->offset] = (unsigned char)c->value;
		CHECK_STR(dkim_verify_reply_check(pkt, c->cut ? c->cut : n, name), c->want);
	}
	dns_answer_free(&a);

	/* the test's own resolver-style packet: CNAME, pointer into rdata, OPT */
	a = answer_of(DNS_OK, texts);
	make_packet(DNS_TYPE_TXT, "s._domainkey.example.org", &a);
	CHECK_STR(dkim_verify_reply_check(a.packet, a.packet_len, "s._domainkey.example.org"),
	          NULL);
	dns_answer_free(&a);
}

/* ---- threads ---- */

struct thread_job {
	struct dkim_verifier *v;
	struct buf msgs[4];
	const struct fixture_case *cases[4];
	unsigned mismatches;
};

static const struct fixture_case *fixture_case(const char *file)
{
	for (size_t i = 0; i < sizeof(fixture_cases) / sizeof(fixture_cases[0]); i++)
		if (strcmp(fixture_cases[i].file, file) == 0)
			return &fixture_cases[i];
	return NULL;
}

/* outcome_matches - o is what the fixture table says of that message */
static bool outcome_matches(const struct dkim_outcome *o, const struct fixture_case *c)
{
	if (o->count != c->count)
		return false;
	for (size_t k = 0; k < o->count; k++)
		if (o->sigs[k].result != c->sigs[k].result)
			return false;
	return true;
}

static void *verify_loop(void *arg)
{
	struct thread_job *job = arg;

	for (int round = 0; round < 10; round++) {
		for (size_t i = 0; i < 4; i++) {
			struct dkim_outcome o;

			dkim_verify_message(job->v, job->msgs[i].data, job->msgs[i].len, &o);
			if (!outcome_matches(&o, job->cases[i]))
				__atomic_fetch_add(&job->mismatches, 1, __ATOMIC_RELAXED);
			dkim_outcome_free(&o);
		}
	}
	return NULL;
}

/* one verifier and one lookup shared by four threads, as the sessions share them */
static void test_threads(void)
{
	static const char *const files[4] = {"rsa-relaxed.eml", "ed25519.eml", "two-sigs.eml",
	                                     "key-missing.eml"};
	struct table t = zone;
	struct thread_job job = {.v = verifier_for(&t)};
	pthread_t threads[4];

	for (size_t i = 0; i < 4; i++) {
		dkim_fixture(files[i], &job.msgs[i]);
		job.cases[i] = fixture_case(files[i]);
	}
	for (size_t i = 0; i < 4; i++)
		CHECK(pthread_create(&threads[i], NULL, verify_loop, &job) == 0);
	for (size_t i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	CHECK_INT(job.mismatches, 0);
	/* one query per signature: five a round, ten rounds, four threads */
	CHECK_INT(t.queries, 5 * 10 * 4);
	for (size_t i = 0; i < 4; i++)
		buf_free(&job.msgs[i]);
	dkim_verifier_free(job.v);
}

int main(void)
{
	load_zone();
	test_result_names();
	test_fixtures();
	test_dns_outcomes();
	test_broken_signatures();
	test_limit();
	test_length_without_tail();
	test_facts();
	test_facts_of_errors();
	test_canonlen();
	test_reply_bytes();
	test_reply_records();
	test_reply_rcodes();
	test_reply_names();
	test_reply_check();
	test_threads();
	free_zone();
	return check_summary("test_dkim");
}
