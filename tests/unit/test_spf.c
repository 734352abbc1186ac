/*
 * test_spf - SPF evaluation with the real libspf2 against an in-memory
 * zone: results for every mechanism and qualifier, loopback clients, the
 * HELO identity and the null sender, DNS failures, the §4.6.4 limits,
 * malformed macros, threads; and the record grammar checker on its own.
 */
#include "config.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/dns.h"
#include "common/xalloc.h"
#include "filters/spf_check.h"
#include "tests/unit/check.h"

/* ---- the zone ---- */

struct zone_rr {
	const char *name;
	int type;
	enum dns_status status; /* DNS_OK: the data below */
	/* A/AAAA: address text; MX: "pref name"; PTR: a name; TXT: text, '\n' between strings */
	const char *data[12];
	atomic_int asked;
};

#define L60 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static struct zone_rr zone[] = {
    {.name = "ip4.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 ip4:192.0.2.0/24 -all"}},
    {.name = "ip6.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 ip6:2001:db8:1234:5678::/64 ~all"}},
    {.name = "a.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 a a:other.a.example/28 -all"}},
    {.name = "a.example", .type = DNS_TYPE_A, .data = {"192.0.2.20"}},
    {.name = "other.a.example", .type = DNS_TYPE_A, .data = {"198.51.100.16"}},
    {.name = "a6.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 a//64 -all"}},
    {.name = "a6.example", .type = DNS_TYPE_AAAA, .data = {"2001:db8:6::1"}},
    {.name = "mx.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 mx ?all"}},
    {.name = "mx.example",
     .type = DNS_TYPE_MX,
     .data = {"10 mail.mx.example", "20 backup.mx.example"}},
    {.name = "mail.mx.example", .type = DNS_TYPE_A, .data = {"192.0.2.30"}},
    {.name = "backup.mx.example", .type = DNS_TYPE_A, .data = {"192.0.2.31"}},
    {.name = "inc.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 include:ip4.example -all"}},
    {.name = "redir.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 redirect=ip4.example"}},
    {.name = "exists.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 exists:%{i}.wl.exists.example -all"}},
    {.name = "192.0.2.40.wl.exists.example", .type = DNS_TYPE_A, .data = {"127.0.0.2"}},
    {.name = "plus.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 +all"}},
    {.name = "neutral.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 ?all"}},
    {.name = "soft.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 ~all"}},
    {.name = "fail.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 -all"}},
    {.name = "default.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 ip4:192.0.2.1"}},
    {.name = "bare.example", .type = DNS_TYPE_TXT, .data = {"v=spf1"}},
    {.name = "upper.example", .type = DNS_TYPE_TXT, .data = {"V=SPF1 IP4:192.0.2.0/24 -ALL"}},
    {.name = "split.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 ip4:192.0.2.0/24\n -all", "other=text"}},
    {.name = "nospf.example", .type = DNS_TYPE_TXT, .data = {"google-site-verification=abc"}},
    {.name = "multi.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 ip4:192.0.2.0/24 -all", "v=spf1 -all"}},
    {.name = "loop.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 -all"}},
    {.name = "loopok.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 ip4:127.0.0.0/8 ip6:::1 -all"}},
    {.name = "helo.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 a -all"}},
    {.name = "helo.example", .type = DNS_TYPE_A, .data = {"192.0.2.50"}},
    {.name = "nullsender.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 exists:%{l}.%{o}.u.nullsender.example -all"}},
    {.name = "postmaster.nullsender.example.u.nullsender.example",
     .type = DNS_TYPE_A,
     .data = {"127.0.0.2"}},
    {.name = "incnone.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 include:nospf.example -all"}},
    {.name = "incnx.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 include:nx.example -all"}},
    {.name = "redirnone.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 redirect=nx.example"}},
    {.name = "tempfail.example", .type = DNS_TYPE_TXT, .status = DNS_TEMPFAIL},
    {.name = "permfail.example", .type = DNS_TYPE_TXT, .status = DNS_PERMFAIL},
    {.name = "tempa.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 a:tf.tempa.example -all"}},
    {.name = "tf.tempa.example", .type = DNS_TYPE_A, .status = DNS_TEMPFAIL},
    {.name = "tempinc.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 include:tempfail.example -all"}},
    {.name = "ten.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 a:h1.example a:h2.example a:h3.example a:h4.example a:h5.example "
              "a:h6.example a:h7.example a:h8.example a:h9.example a:h10.example -all"}},
    {.name = "eleven.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 a:h1.example a:h2.example a:h3.example a:h4.example a:h5.example "
              "a:h6.example a:h7.example a:h8.example a:h9.example a:h10.example "
              "a:h11.example -all"}},
    {.name = "h1.example", .type = DNS_TYPE_A, .data = {"198.51.100.1"}},
    {.name = "h2.example", .type = DNS_TYPE_A, .data = {"198.51.100.2"}},
    {.name = "h3.example", .type = DNS_TYPE_A, .data = {"198.51.100.3"}},
    {.name = "h4.example", .type = DNS_TYPE_A, .data = {"198.51.100.4"}},
    {.name = "h5.example", .type = DNS_TYPE_A, .data = {"198.51.100.5"}},
    {.name = "h6.example", .type = DNS_TYPE_A, .data = {"198.51.100.6"}},
    {.name = "h7.example", .type = DNS_TYPE_A, .data = {"198.51.100.7"}},
    {.name = "h8.example", .type = DNS_TYPE_A, .data = {"198.51.100.8"}},
    {.name = "h9.example", .type = DNS_TYPE_A, .data = {"198.51.100.9"}},
    {.name = "h10.example", .type = DNS_TYPE_A, .data = {"198.51.100.10"}},
    {.name = "h11.example", .type = DNS_TYPE_A, .data = {"198.51.100.11"}},
    /* 11 terms over five includes: libspf2 alone restarts its count in each */
    {.name = "chain1.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 a:h1.example include:chain2.example -all"}},
    {.name = "chain2.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 a:h2.example include:chain3.example -all"}},
    {.name = "chain3.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 a:h3.example include:chain4.example -all"}},
    {.name = "chain4.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 a:h4.example include:chain5.example -all"}},
    {.name = "chain5.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 a:h5.example include:chain6.example -all"}},
    {.name = "chain6.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 a:h6.example -all"}},
    {.name = "void2.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 a:nx1.example a:nx2.example -all"}},
    {.name = "void3.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 a:nx1.example a:nx2.example a:nx3.example -all"}},
    {.name = "bigmx.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 mx -all"}},
    {.name = "bigmx.example",
     .type = DNS_TYPE_MX,
     .data = {"10 m1.example", "10 m2.example", "10 m3.example", "10 m4.example", "10 m5.example",
              "10 m6.example", "10 m7.example", "10 m8.example", "10 m9.example", "10 m10.example",
              "10 m11.example"}},
    {.name = "m1.example", .type = DNS_TYPE_A, .data = {"198.51.100.101"}},
    {.name = "m2.example", .type = DNS_TYPE_A, .data = {"198.51.100.102"}},
    {.name = "m3.example", .type = DNS_TYPE_A, .data = {"198.51.100.103"}},
    {.name = "m4.example", .type = DNS_TYPE_A, .data = {"198.51.100.104"}},
    {.name = "m5.example", .type = DNS_TYPE_A, .data = {"198.51.100.105"}},
    {.name = "m6.example", .type = DNS_TYPE_A, .data = {"198.51.100.106"}},
    {.name = "m7.example", .type = DNS_TYPE_A, .data = {"198.51.100.107"}},
    {.name = "m8.example", .type = DNS_TYPE_A, .data = {"198.51.100.108"}},
    {.name = "m9.example", .type = DNS_TYPE_A, .data = {"198.51.100.109"}},
    {.name = "m10.example", .type = DNS_TYPE_A, .data = {"198.51.100.110"}},
    {.name = "m11.example", .type = DNS_TYPE_A, .data = {"198.51.100.111"}},
    /* ten MX hosts, then ten more terms: the hosts are part of their mx term */
    {.name = "mxten.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 mx a:h1.example a:h2.example a:h3.example a:h4.example a:h5.example "
              "a:h6.example a:h7.example a:h8.example a:h9.example -all"}},
    {.name = "mxten.example",
     .type = DNS_TYPE_MX,
     .data = {"10 m1.example", "10 m2.example", "10 m3.example", "10 m4.example", "10 m5.example",
              "10 m6.example", "10 m7.example", "10 m8.example", "10 m9.example",
              "10 m10.example"}},
    {.name = "ptr.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 ptr -all"}},
    {.name = "60.2.0.192.in-addr.arpa", .type = DNS_TYPE_PTR, .data = {"host.ptr.example"}},
    {.name = "host.ptr.example", .type = DNS_TYPE_A, .data = {"192.0.2.60"}},
    {.name = "macro.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all"}},
    {.name = "3.2.0.192.strong._spf.macro.example", .type = DNS_TYPE_A, .data = {"127.0.0.2"}},
    {.name = "bad1.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 exists:%{ -all"}},
    {.name = "bad2.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 exists:%{i99999999999r}.x.example -all"}},
    {.name = "bad3.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 a:%{z}.example -all"}},
    {.name = "bad4.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 exists:%{d- -all"}},
    {.name = "bad5.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 ip4:192.0.2.0/24 exists:x.example%"}},
    {.name = "bad6.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 exists:%{c}.x.example -all"}},
    {.name = "badinc.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 include:bad3.example -all"}},
    /* §6.1: redirect= runs after the mechanisms, and never with "all" */
    {.name = "redirall.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 redirect=ip4.example -all"}},
    {.name = "redirfirst.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 redirect=ip4.example ip4:198.51.100.1"}},
    /* §4.6.4: PTR names past the 10th are ignored */
    {.name = "ptrmany.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 ptr -all"}},
    {.name = "70.2.0.192.in-addr.arpa",
     .type = DNS_TYPE_PTR,
     .data = {"p1.ptrmany.example", "p2.ptrmany.example", "p3.ptrmany.example",
              "p4.ptrmany.example", "p5.ptrmany.example", "p6.ptrmany.example",
              "p7.ptrmany.example", "p8.ptrmany.example", "p9.ptrmany.example",
              "p10.ptrmany.example", "p11.ptrmany.example"}},
    {.name = "71.2.0.192.in-addr.arpa",
     .type = DNS_TYPE_PTR,
     .data = {"p1.ptrmany.example", "p2.ptrmany.example", "p3.ptrmany.example",
              "p4.ptrmany.example", "p5.ptrmany.example", "p6.ptrmany.example",
              "p7.ptrmany.example", "p8.ptrmany.example", "p9.ptrmany.example",
              "p10.ptrmany.example", "p11.ptrmany.example"}},
    {.name = "p1.ptrmany.example", .type = DNS_TYPE_A, .data = {"198.51.100.201"}},
    {.name = "p2.ptrmany.example", .type = DNS_TYPE_A, .data = {"198.51.100.202"}},
    {.name = "p3.ptrmany.example", .type = DNS_TYPE_A, .data = {"198.51.100.203"}},
    {.name = "p4.ptrmany.example", .type = DNS_TYPE_A, .data = {"198.51.100.204"}},
    {.name = "p5.ptrmany.example", .type = DNS_TYPE_A, .data = {"198.51.100.205"}},
    {.name = "p6.ptrmany.example", .type = DNS_TYPE_A, .data = {"198.51.100.206"}},
    {.name = "p7.ptrmany.example", .type = DNS_TYPE_A, .data = {"198.51.100.207"}},
    {.name = "p8.ptrmany.example", .type = DNS_TYPE_A, .data = {"198.51.100.208"}},
    {.name = "p9.ptrmany.example", .type = DNS_TYPE_A, .data = {"198.51.100.209"}},
    {.name = "p10.ptrmany.example", .type = DNS_TYPE_A, .data = {"192.0.2.71"}},
    {.name = "p11.ptrmany.example", .type = DNS_TYPE_A, .data = {"192.0.2.70"}},
    /* §6 allows '.' in a modifier name; libspf2's compiler does not (it never sees it) */
    {.name = "modname.example",
     .type = DNS_TYPE_TXT,
     .data = {"v=spf1 ip4:192.0.2.0/24 x.y=1 -all"}},
    {.name = "badend.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 a:mail -all"}},
    /* RFC 7208 allows /0; libspf2's compiler refuses it */
    {.name = "cidr0.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 ip4:192.0.2.0/0 -all"}},
    {.name = "exp.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 -all exp=explain.exp.example"}},
    {.name = "explain.exp.example", .type = DNS_TYPE_TXT, .data = {"%{z} %{i99999999999r}"}},
    {.name = "trunc.example", .type = DNS_TYPE_TXT, .data = {"v=spf1 exists:%{l}.%{d} -all"}},
    {.name = L60 "." L60 "." L60 ".trunc.example", .type = DNS_TYPE_A, .data = {"127.0.0.2"}},
};

static atomic_size_t longest_name_asked;

/* zone_find - the entry for name and type, NULL when the zone has none */
static struct zone_rr *zone_find(const char *name, int type, bool *name_exists)
{
	*name_exists = false;
	for (size_t i = 0; i < sizeof(zone) / sizeof(zone[0]); i++) {
		if (strcasecmp(zone[i].name, name) != 0)
			continue;
		*name_exists = true;
		if (zone[i].type == type)
			return &zone[i];
	}
	return NULL;
}

/* wire_name - name in uncompressed wire format at p; its length */
static size_t wire_name(const char *name, unsigned char *p)
{
	size_t n = 0;

	while (*name) {
		size_t len = strcspn(name, ".");

		p[n++] = (unsigned char)len;
		memcpy(p + n, name, len);
		n += len;
		name += len;
		if (*name == '.')
			name++;
	}
	p[n++] = 0;
	return n;
}

/* rdata - one record of the zone in wire format */
static size_t rdata(int type, const char *text, unsigned char *p)
{
	size_t n = 0;

	switch (type) {
	case DNS_TYPE_A:
		return inet_pton(AF_INET, text, p) == 1 ? 4 : 0;
	case DNS_TYPE_AAAA:
		return inet_pton(AF_INET6, text, p) == 1 ? 16 : 0;
	case DNS_TYPE_MX:
		p[0] = 0;
		p[1] = (unsigned char)atoi(text);
		return 2 + wire_name(strchr(text, ' ') + 1, p + 2);
	case DNS_TYPE_PTR:
		return wire_name(text, p);
	}
	while (*text) { /* TXT */
		size_t len = strcspn(text, "\n");

		p[n++] = (unsigned char)len;
		memcpy(p + n, text, len);
		n += len;
		text += len + (text[len] == '\n');
	}
	return n;
}

/* answer_from - a zone entry as a dns_answer */
static void answer_from(const struct zone_rr *rr, struct dns_answer *out)
{
	unsigned char wire[1024];

	out->status = rr->status;
	if (rr->status != DNS_OK) {
		out->why = xstrdup("the test zone says so");
		return;
	}
	while (out->count < 12 && rr->data[out->count])
		out->count++;
	out->data = xcalloc(out->count, sizeof(*out->data));
	out->len = xcalloc(out->count, sizeof(*out->len));
	for (size_t i = 0; i < out->count; i++) {
		out->len[i] = rdata(rr->type, rr->data[i], wire);
		out->data[i] = xmalloc(out->len[i]);
		memcpy(out->data[i], wire, out->len[i]);
	}
}

/* zone_query - the dns_lookup of the zone; notes what was asked */
static int zone_query(void *ctx, const char *name, int type, struct dns_answer *out)
{
	size_t len = strlen(name), longest = atomic_load(&longest_name_asked);
	bool name_exists;
	struct zone_rr *rr = zone_find(name, type, &name_exists);

	(void)ctx;
	while (len > longest && !atomic_compare_exchange_weak(&longest_name_asked, &longest, len))
		;
	memset(out, 0, sizeof(*out));
	if (rr) {
		atomic_fetch_add(&rr->asked, 1);
		answer_from(rr, out);
	} else
		out->status = name_exists ? DNS_NODATA : DNS_NXDOMAIN;
	return 0;
}

/* asked - how often name and type were asked, -1 when not in the zone */
static int asked(const char *name, int type)
{
	bool name_exists;
	struct zone_rr *rr = zone_find(name, type, &name_exists);

	return rr ? atomic_load(&rr->asked) : -1;
}

/* ---- the cases ---- */

static struct spf_checker *checker;

struct spf_case {
	const char *what;
	const char *ip, *helo, *from;
	bool helo_id;
	enum spf_result want;
	const char *domain; /* the domain the outcome names, unless NULL */
	const char *reason; /* a piece of the reason, unless NULL */
};

static const struct spf_case cases[] = {
    {.what = "ip4 pass",
     .ip = "192.0.2.10",
     .helo = "mta.test",
     .from = "u@ip4.example",
     .want = SPFR_PASS,
     .domain = "ip4.example",
     .reason = "designates 192.0.2.10"},
    {.what = "ip4 fail",
     .ip = "198.51.100.1",
     .helo = "mta.test",
     .from = "u@ip4.example",
     .want = SPFR_FAIL,
     .reason = "does not designate"},
    {.what = "ip6 pass",
     .ip = "2001:db8:1234:5678::25",
     .helo = "mta.test",
     .from = "u@ip6.example",
     .want = SPFR_PASS},
    {.what = "ip6 softfail",
     .ip = "2001:db8:1234:5679::25",
     .helo = "mta.test",
     .from = "u@ip6.example",
     .want = SPFR_SOFTFAIL},
    {.what = "a pass",
     .ip = "192.0.2.20",
     .helo = "mta.test",
     .from = "u@a.example",
     .want = SPFR_PASS},
    {.what = "a:domain/28 pass",
     .ip = "198.51.100.20",
     .helo = "mta.test",
     .from = "u@a.example",
     .want = SPFR_PASS},
    {.what = "a fail",
     .ip = "192.0.2.21",
     .helo = "mta.test",
     .from = "u@a.example",
     .want = SPFR_FAIL},
    {.what = "a//64 pass",
     .ip = "2001:db8:6::99",
     .helo = "mta.test",
     .from = "u@a6.example",
     .want = SPFR_PASS},
    {.what = "a//64 fail",
     .ip = "2001:db8:7::1",
     .helo = "mta.test",
     .from = "u@a6.example",
     .want = SPFR_FAIL},
    {.what = "mx pass on the second MX",
     .ip = "192.0.2.31",
     .helo = "mta.test",
     .from = "u@mx.example",
     .want = SPFR_PASS},
    {.what = "mx ?all neutral",
     .ip = "192.0.2.32",
     .helo = "mta.test",
     .from = "u@mx.example",
     .want = SPFR_NEUTRAL,
     .reason = "neither permits nor denies"},
    {.what = "include pass",
     .ip = "192.0.2.10",
     .helo = "mta.test",
     .from = "u@inc.example",
     .want = SPFR_PASS},
    {.what = "include no match, -all",
     .ip = "198.51.100.1",
     .helo = "mta.test",
     .from = "u@inc.example",
     .want = SPFR_FAIL},
    {.what = "redirect pass",
     .ip = "192.0.2.10",
     .helo = "mta.test",
     .from = "u@redir.example",
     .want = SPFR_PASS,
     .domain = "redir.example"},
    {.what = "redirect fail",
     .ip = "198.51.100.1",
     .helo = "mta.test",
     .from = "u@redir.example",
     .want = SPFR_FAIL},
    {.what = "exists pass",
     .ip = "192.0.2.40",
     .helo = "mta.test",
     .from = "u@exists.example",
     .want = SPFR_PASS},
    {.what = "exists fail",
     .ip = "192.0.2.41",
     .helo = "mta.test",
     .from = "u@exists.example",
     .want = SPFR_FAIL},
    {.what = "+all",
     .ip = "203.0.113.1",
     .helo = "mta.test",
     .from = "u@plus.example",
     .want = SPFR_PASS},
    {.what = "?all",
     .ip = "203.0.113.1",
     .helo = "mta.test",
     .from = "u@neutral.example",
     .want = SPFR_NEUTRAL},
    {.what = "~all",
     .ip = "203.0.113.1",
     .helo = "mta.test",
     .from = "u@soft.example",
     .want = SPFR_SOFTFAIL,
     .reason = "probably does not designate"},
    {.what = "-all",
     .ip = "203.0.113.1",
     .helo = "mta.test",
     .from = "u@fail.example",
     .want = SPFR_FAIL},
    {.what = "no term matches",
     .ip = "203.0.113.1",
     .helo = "mta.test",
     .from = "u@default.example",
     .want = SPFR_NEUTRAL,
     .reason = "no term of default.example matches"},
    {.what = "the version alone",
     .ip = "203.0.113.1",
     .helo = "mta.test",
     .from = "u@bare.example",
     .want = SPFR_NEUTRAL},
    {.what = "upper case record",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@UPPER.example.",
     .want = SPFR_PASS,
     .domain = "UPPER.example"},
    {.what = "TXT strings joined",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@split.example",
     .want = SPFR_PASS},
    {.what = "only other TXT: none",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@nospf.example",
     .want = SPFR_NONE,
     .reason = "no SPF record"},
    {.what = "no such domain: none",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@nx.example",
     .want = SPFR_NONE},
    {.what = "two records: permerror",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@multi.example",
     .want = SPFR_PERMERROR},
    /* libspf2's query functions would answer pass without reading the record */
    {.what = "loopback against -all",
     .ip = "127.0.0.5",
     .helo = "mta.test",
     .from = "u@loop.example",
     .want = SPFR_FAIL},
    {.what = "::1 against -all",
     .ip = "::1",
     .helo = "mta.test",
     .from = "u@loop.example",
     .want = SPFR_FAIL},
    {.what = "loopback listed",
     .ip = "127.0.0.5",
     .helo = "mta.test",
     .from = "u@loopok.example",
     .want = SPFR_PASS},
    {.what = "::1 listed",
     .ip = "::1",
     .helo = "mta.test",
     .from = "u@loopok.example",
     .want = SPFR_PASS},
    {.what = "IPv4-mapped client",
     .ip = "::ffff:192.0.2.10",
     .helo = "mta.test",
     .from = "u@ip4.example",
     .want = SPFR_PASS},
    {.what = "HELO identity pass",
     .ip = "192.0.2.50",
     .helo = "helo.example",
     .from = "u@fail.example",
     .helo_id = true,
     .want = SPFR_PASS,
     .domain = "helo.example"},
    {.what = "HELO identity fail",
     .ip = "192.0.2.51",
     .helo = "helo.example",
     .from = "",
     .helo_id = true,
     .want = SPFR_FAIL},
    {.what = "HELO identity, HELO an address literal",
     .ip = "192.0.2.50",
     .helo = "[192.0.2.50]",
     .from = "",
     .helo_id = true,
     .want = SPFR_NONE},
    {.what = "null sender is postmaster@helo",
     .ip = "192.0.2.9",
     .helo = "nullsender.example",
     .from = "",
     .want = SPFR_PASS,
     .domain = "nullsender.example"},
    {.what = "a real sender is not postmaster",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "alice@nullsender.example",
     .want = SPFR_FAIL},
    {.what = "empty local part is postmaster",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "@nullsender.example",
     .want = SPFR_PASS},
    {.what = "include of a domain without SPF",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@incnone.example",
     .want = SPFR_PERMERROR},
    {.what = "include of a missing domain",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@incnx.example",
     .want = SPFR_PERMERROR},
    {.what = "redirect to a missing domain",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@redirnone.example",
     .want = SPFR_PERMERROR},
    {.what = "TXT tempfail",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@tempfail.example",
     .want = SPFR_TEMPERROR,
     .reason = "tempfail.example TXT lookup: tempfail"},
    {.what = "TXT permfail is temperror (4.4)",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@permfail.example",
     .want = SPFR_TEMPERROR},
    {.what = "A tempfail in a mechanism",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@tempa.example",
     .want = SPFR_TEMPERROR,
     .reason = "tf.tempa.example A"},
    {.what = "tempfail in an include",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@tempinc.example",
     .want = SPFR_TEMPERROR},
    {.what = "ten lookups",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@ten.example",
     .want = SPFR_FAIL},
    {.what = "eleven lookups",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@eleven.example",
     .want = SPFR_PERMERROR,
     .reason = "too many DNS lookups"},
    {.what = "eleven lookups, the 11th matching",
     .ip = "198.51.100.11",
     .helo = "mta.test",
     .from = "u@eleven.example",
     .want = SPFR_PERMERROR},
    {.what = "eleven lookups over includes",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@chain1.example",
     .want = SPFR_PERMERROR,
     .reason = "too many DNS lookups"},
    {.what = "match at the 9th lookup, within includes",
     .ip = "198.51.100.5",
     .helo = "mta.test",
     .from = "u@chain1.example",
     .want = SPFR_PASS},
    {.what = "mx hosts are not terms",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@mxten.example",
     .want = SPFR_FAIL},
    {.what = "more than 10 MX names",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@bigmx.example",
     .want = SPFR_PERMERROR},
    {.what = "two void lookups",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@void2.example",
     .want = SPFR_FAIL},
    {.what = "three void lookups",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@void3.example",
     .want = SPFR_PERMERROR,
     .reason = "too many void lookups"},
    {.what = "ptr pass",
     .ip = "192.0.2.60",
     .helo = "mta.test",
     .from = "u@ptr.example",
     .want = SPFR_PASS},
    {.what = "ptr without PTR record",
     .ip = "192.0.2.61",
     .helo = "mta.test",
     .from = "u@ptr.example",
     .want = SPFR_FAIL},
    {.what = "macros: exists:%{ir}.%{l1r+-}._spf.%{d}",
     .ip = "192.0.2.3",
     .helo = "mta.test",
     .from = "strong-bad@macro.example",
     .want = SPFR_PASS},
    {.what = "macros, another sender",
     .ip = "192.0.2.3",
     .helo = "mta.test",
     .from = "weak-good@macro.example",
     .want = SPFR_FAIL},
    {.what = "%{",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@bad1.example",
     .want = SPFR_PERMERROR,
     .reason = "malformed macro: %{ without a letter (SPF record of bad1.example)"},
    {.what = "%{i99999999999r}",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@bad2.example",
     .want = SPFR_PERMERROR,
     .reason = "malformed macro"},
    {.what = "%{z}",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@bad3.example",
     .want = SPFR_PERMERROR,
     .reason = "malformed macro: unknown macro letter"},
    {.what = "%{d-",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@bad4.example",
     .want = SPFR_PERMERROR,
     .reason = "malformed macro: %{ without }"},
    {.what = "lone % at the end",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@bad5.example",
     .want = SPFR_PERMERROR,
     .reason = "malformed macro: lone %"},
    {.what = "%{c} outside exp",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@bad6.example",
     .want = SPFR_PERMERROR,
     .reason = "malformed macro"},
    {.what = "malformed macro in an include",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@badinc.example",
     .want = SPFR_PERMERROR,
     .reason = "(SPF record of bad3.example)"},
    {.what = "redirect with all is ignored",
     .ip = "192.0.2.10",
     .helo = "mta.test",
     .from = "u@redirall.example",
     .want = SPFR_FAIL},
    {.what = "redirect before a mechanism runs after it",
     .ip = "198.51.100.1",
     .helo = "mta.test",
     .from = "u@redirfirst.example",
     .want = SPFR_PASS},
    {.what = "redirect before a mechanism still runs",
     .ip = "192.0.2.10",
     .helo = "mta.test",
     .from = "u@redirfirst.example",
     .want = SPFR_PASS},
    {.what = "redirect before a mechanism, no match",
     .ip = "203.0.113.1",
     .helo = "mta.test",
     .from = "u@redirfirst.example",
     .want = SPFR_FAIL},
    {.what = "ptr: the 10th name counts",
     .ip = "192.0.2.71",
     .helo = "mta.test",
     .from = "u@ptrmany.example",
     .want = SPFR_PASS},
    {.what = "ptr: the 11th name is ignored",
     .ip = "192.0.2.70",
     .helo = "mta.test",
     .from = "u@ptrmany.example",
     .want = SPFR_FAIL},
    {.what = "unknown modifiers are ignored",
     .ip = "192.0.2.10",
     .helo = "mta.test",
     .from = "u@modname.example",
     .want = SPFR_PASS},
    {.what = "a domain-spec without a top label",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@badend.example",
     .want = SPFR_PERMERROR,
     .reason = "domain-spec does not end in a top label or a macro (SPF record of badend.example)"},
    {.what = "a record libspf2 cannot compile is permerror, not none",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@cidr0.example",
     .want = SPFR_PERMERROR,
     .reason = "Invalid IPv4 CIDR netmask"},
    {.what = "exp= is not fetched",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@exp.example",
     .want = SPFR_FAIL},
    {.what = "expansion over 253 octets loses labels",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = L60 "." L60 "." L60 "." L60 "@trunc.example",
     .want = SPFR_PASS},
    {.what = "domain literal: none",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@[192.0.2.1]",
     .want = SPFR_NONE,
     .reason = "is not a domain name"},
    {.what = "single label: none",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@localhost",
     .want = SPFR_NONE},
    {.what = "empty label: none",
     .ip = "192.0.2.9",
     .helo = "mta.test",
     .from = "u@ip4..example",
     .want = SPFR_NONE},
    {.what = "not an address",
     .ip = "not-an-ip",
     .helo = "mta.test",
     .from = "u@ip4.example",
     .want = SPFR_PERMERROR,
     .reason = "is not an IP address"},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* run_case - whether the case gives what it wants; says why not */
static bool run_case(const struct spf_case *t, bool quiet)
{
	struct spf_outcome o;
	bool ok;

	spf_check(checker, t->ip, t->helo, t->from, t->helo_id, &o);
	ok = o.result == t->want && o.reason && o.domain &&
	     (!t->domain || strcmp(o.domain, t->domain) == 0) &&
	     (!t->reason || strstr(o.reason, t->reason));
	if (!ok && !quiet)
		fprintf(stderr, "case \"%s\": %s (%s) domain \"%s\", want %s\n", t->what,
		        spf_result_name(o.result), o.reason ? o.reason : "(null)",
		        o.domain ? o.domain : "(null)", spf_result_name(t->want));
	spf_outcome_free(&o);
	return ok;
}

/* test_cases - every case of the table, once */
static void test_cases(void)
{
	for (size_t i = 0; i < NCASES; i++)
		CHECK(run_case(&cases[i], false));
}

/* test_records_read - what was asked of DNS, and what not */
static void test_records_read(void)
{
	/* the loopback client was judged by the record, not waved through */
	CHECK(asked("loop.example", DNS_TYPE_TXT) > 0);
	CHECK(asked("loopok.example", DNS_TYPE_TXT) > 0);
	/* exp= text is attacker text that libspf2 would compile: never asked */
	CHECK_INT(asked("explain.exp.example", DNS_TYPE_TXT), 0);
	/* past the lookup limit, no more questions reach DNS */
	CHECK_INT(asked("h11.example", DNS_TYPE_A), 0);
	CHECK(asked("h10.example", DNS_TYPE_A) > 0);
	CHECK(atomic_load(&longest_name_asked) <= 253);
}

/* test_names - the result names of spf_check.h */
static void test_names(void)
{
	static const struct {
		enum spf_result r;
		const char *name;
	} names[] = {
	    {SPFR_NONE, "none"},           {SPFR_NEUTRAL, "neutral"},
	    {SPFR_PASS, "pass"},           {SPFR_FAIL, "fail"},
	    {SPFR_SOFTFAIL, "softfail"},   {SPFR_TEMPERROR, "temperror"},
	    {SPFR_PERMERROR, "permerror"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECK_STR(spf_result_name(names[i].r), names[i].name);
}

/* ---- threads ---- */

static atomic_int thread_failures;

/* checks_in_a_thread - the table ten times, from its own start */
static void *checks_in_a_thread(void *arg)
{
	size_t start = (size_t)(uintptr_t)arg;

	for (size_t round = 0; round < 10; round++)
		for (size_t i = 0; i < NCASES; i++)
			if (!run_case(&cases[(start + i) % NCASES], true))
				atomic_fetch_add(&thread_failures, 1);
	return NULL;
}

/* one checker, many threads: each check keeps its own counts and reasons */
static void test_threads(void)
{
	pthread_t t[6];

	for (size_t i = 0; i < 6; i++)
		CHECK_INT(pthread_create(&t[i], NULL, checks_in_a_thread,
		                         (void *)(uintptr_t)(i * NCASES / 6)),
		          0);
	for (size_t i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	CHECK_INT(atomic_load(&thread_failures), 0);
}

/* ---- the grammar on its own ---- */

struct syntax_case {
	const char *record;
	bool ok;
	const char *why; /* the start of *why, for a bad record */
};

static const struct syntax_case syntax_cases[] = {
    {.record = "v=spf1", .ok = true},
    {.record = "v=spf1 -all", .ok = true},
    {.record = "V=SPF1 +All", .ok = true},
    {.record = "v=spf1  ip4:192.0.2.0/24   -all  ", .ok = true},
    {.record =
         "v=spf1 ip4:192.0.2.1 ip4:0.0.0.0/0 ip6:2001:db8::/32 ip6:::1 ip6:::ffff:192.0.2.1/128",
     .ok = true},
    {.record = "v=spf1 a mx a/24 mx//64 a:x.example/24//64 mx:mx.x.example ptr ptr:x.example",
     .ok = true},
    {.record = "v=spf1 include:_spf.example.com exists:%{i}.x.example ?all", .ok = true},
    {.record = "v=spf1 redirect=x.example exp=explain.x.example", .ok = true},
    {.record = "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d}", .ok = true},
    {.record = "v=spf1 a:%{d2}.%%.%_.%-.x.example exists:%{S}.%{O}.%{H}.%{V}.%{p}.x", .ok = true},
    {.record = "v=spf1 exists:%{d128r.-+,/_=}.x", .ok = true},
    {.record = "v=spf1 foo.bar-baz_1=%{d} unknown=", .ok = true},
    {.record = "v=spf1 include:x.example. a:x.123-456 exists:%{d}.%{i}", .ok = true},
    {.record = "v=spf1 a:x.example/", .why = "domain-spec does not end"},
    {.record = "v=spf1 a:mail", .why = "domain-spec does not end"},
    {.record = "v=spf1 a:192.0.2.1", .why = "domain-spec does not end"},
    {.record = "v=spf1 a:x.-ab", .why = "domain-spec does not end"},
    {.record = "v=spf1 redirect=x.%{d}y", .why = "domain-spec does not end"},
    {.record = "v=spf1 exists:%{", .why = "malformed macro: %{ without a letter"},
    {.record = "v=spf1 exists:%{i99999999999r}.x", .why = "malformed macro: more than 3"},
    {.record = "v=spf1 a:%{z}.x", .why = "malformed macro: unknown macro letter"},
    {.record = "v=spf1 exists:%{d-", .why = "malformed macro: %{ without }"},
    {.record = "v=spf1 a:x.example%", .why = "malformed macro: lone %"},
    {.record = "v=spf1 a:x%.example", .why = "malformed macro: % not followed"},
    {.record = "v=spf1 exists:%{c}.x", .why = "malformed macro: c, r and t"},
    {.record = "v=spf1 exists:%{R}.x", .why = "malformed macro: c, r and t"},
    {.record = "v=spf1 exists:%{d0}.x", .why = "malformed macro: transformer digits"},
    {.record = "v=spf1 exists:%{d129}.x", .why = "malformed macro: transformer digits"},
    {.record = "v=spf1 exists:%{d|}.x", .why = "malformed macro: bad delimiter"},
    {.record = "v=spf1 exists:%{dr.r}.x", .why = "malformed macro: bad delimiter"},
    {.record = "v=spf1 exists:%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}%{d}.x",
     .why = "malformed macro: too many"},
    {.record = "v=spf1 redirect=%{d", .why = "malformed macro"},
    {.record = "v=spf1 x=%{", .why = "malformed macro"},
    {.record = "v=spf1 ip4:256.0.0.1", .why = "bad ip4 address"},
    {.record = "v=spf1 ip4:01.2.3.4", .why = "bad ip4 address"},
    {.record = "v=spf1 ip4:192.0.2", .why = "bad ip4 address"},
    {.record = "v=spf1 ip4:192.0.2.1/33", .why = "bad IPv4 CIDR"},
    {.record = "v=spf1 ip4:192.0.2.1/024", .why = "bad IPv4 CIDR"},
    {.record = "v=spf1 ip4", .why = "ip4 needs"},
    {.record = "v=spf1 ip6:2001:db8::/129", .why = "bad IPv6 CIDR"},
    {.record = "v=spf1 ip6:zz::1", .why = "bad ip6 address"},
    {.record = "v=spf1 a/33", .why = "bad IPv4 CIDR"},
    {.record = "v=spf1 mx//129", .why = "bad IPv6 CIDR"},
    {.record = "v=spf1 a:", .why = "empty domain-spec"},
    {.record = "v=spf1 a/24x", .why = "unexpected text"},
    {.record = "v=spf1 ptr/24", .why = "unexpected text"},
    {.record = "v=spf1 all:x", .why = "all takes no argument"},
    {.record = "v=spf1 include", .why = "mechanism needs"},
    {.record = "v=spf1 exists", .why = "mechanism needs"},
    {.record = "v=spf1 foo:bar", .why = "unknown mechanism"},
    {.record = "v=spf1 -redirect=x.example", .why = "a modifier takes no qualifier"},
    {.record = "v=spf1 redirect=a.example redirect=b.example", .why = "redirect= given twice"},
    {.record = "v=spf1 exp=a.example EXP=b.example", .why = "exp= given twice"},
    {.record = "v=spf1 redirect=", .why = "empty domain-spec"},
    {.record = "v=spf1 1x=y", .why = "a term must start with a name"},
    {.record = "v=spf1 -", .why = "a term must start with a name"},
    {.record = "v=spf1\t-all", .why = "not an SPF record"},
    {.record = "v=spf1-all", .why = "not an SPF record"},
    {.record = "v=spf2 -all", .why = "not an SPF record"},
    {.record = " v=spf1 -all", .why = "not an SPF record"},
    {.record = "", .why = "not an SPF record"},
    {.record = "v=spf1 -all\x7f", .why = "control or non-ASCII"},
    {.record = "v=spf1 a:ex\xc3\xa4mple.com", .why = "control or non-ASCII"},
    {.record = "v=spf1 a:x.example\r\n", .why = "control or non-ASCII"},
};

/* test_syntax_table - good and bad records, and why they are bad */
static void test_syntax_table(void)
{
	for (size_t i = 0; i < sizeof(syntax_cases) / sizeof(syntax_cases[0]); i++) {
		const struct syntax_case *t = &syntax_cases[i];
		const char *why = "unset";
		bool ok = spf_record_syntax_ok(t->record, &why);

		if (ok != t->ok || (!ok && strncmp(why, t->why, strlen(t->why)) != 0))
			fprintf(stderr, "record \"%s\": %s (%s)\n", t->record, ok ? "ok" : "bad",
			        why ? why : "-");
		CHECK_INT(ok, t->ok);
		if (ok)
			CHECK(why == NULL);
		else
			CHECK(why && strncmp(why, t->why, strlen(t->why)) == 0);
	}
}

/* the bounds: length, terms, term length */
static void test_syntax_bounds(void)
{
	char *rec = xmalloc(SPF_RECORD_MAX_LEN + 64);
	const char *why;
	size_t n;

	strcpy(rec, "v=spf1");
	for (int i = 0; i < SPF_RECORD_MAX_TERMS; i++)
		strcat(rec, " a");
	CHECK(spf_record_syntax_ok(rec, &why));
	strcat(rec, " a");
	CHECK(!spf_record_syntax_ok(rec, &why));
	CHECK_STR(why, "too many terms");

	/* "a:" and ".x" around the rest: a term of exactly the longest length */
	strcpy(rec, "v=spf1 a:");
	n = strlen(rec);
	memset(rec + n, 'x', SPF_TERM_MAX_LEN - 4);
	strcpy(rec + n + SPF_TERM_MAX_LEN - 4, ".x");
	CHECK(spf_record_syntax_ok(rec, &why));
	strcat(rec, "x");
	CHECK(!spf_record_syntax_ok(rec, &why));
	CHECK_STR(why, "term too long");

	memset(rec, ' ', SPF_RECORD_MAX_LEN + 1);
	memcpy(rec, "v=spf1", 6);
	rec[SPF_RECORD_MAX_LEN] = '\0';
	CHECK(spf_record_syntax_ok(rec, &why));
	rec[SPF_RECORD_MAX_LEN] = ' ';
	rec[SPF_RECORD_MAX_LEN + 1] = '\0';
	CHECK(!spf_record_syntax_ok(rec, &why));
	CHECK_STR(why, "record too long");
	/* why may be left out */
	CHECK(!spf_record_syntax_ok("v=spf1 %", NULL));
	free(rec);
}

/* a checker owns its libspf2 server and nothing of the dns_lookup but a copy */
static void test_checker_lifetime(void)
{
	for (int i = 0; i < 3; i++) {
		struct dns_lookup dns = {.query = zone_query, .ctx = NULL};
		char *error = NULL;
		struct spf_checker *c = spf_checker_new(&dns, &error);
		struct spf_outcome o;

		CHECK(c != NULL);
		CHECK(error == NULL);
		memset(&dns, 0, sizeof(dns));
		spf_check(c, "192.0.2.10", "mta.test", "u@ip4.example", false, &o);
		CHECK_INT(o.result, SPFR_PASS);
		spf_outcome_free(&o);
		CHECK(o.reason == NULL);
		spf_checker_free(c);
	}
	spf_checker_free(NULL);
}

int main(void)
{
	struct dns_lookup dns = {.query = zone_query, .ctx = NULL};
	char *error = NULL;

	checker = spf_checker_new(&dns, &error);
	CHECK(checker != NULL);
	if (!checker) {
		fprintf(stderr, "spf_checker_new: %s\n", error);
		return check_summary("test_spf");
	}
	test_names();
	test_cases();
	test_records_read();
	test_threads();
	test_syntax_table();
	test_syntax_bounds();
	test_checker_lifetime();
	spf_checker_free(checker);
	return check_summary("test_spf");
}
