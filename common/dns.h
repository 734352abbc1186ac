/*
 * dns - the one resolver of the daemon: libunbound, with its own cache,
 * a deadline on every query, and DNSSEC validation when a trust anchor
 * is configured.
 *
 * Every check that needs DNS (SPF, DKIM keys, DMARC records, DNSBL) asks
 * through a struct dns_lookup, so a module can be driven by the real
 * resolver (dns_resolver_lookup) or, in a unit test, by a table of
 * answers. An answer is always complete or an error status: a query that
 * overruns its deadline is DNS_TEMPFAIL, never a hang.
 *
 * Thread-safety: one resolver serves every session thread; queries are
 * asynchronous underneath (one thread drives libunbound), so a slow name
 * blocks only the thread that asked.
 */
#ifndef SEKISHO_DNS_H
#define SEKISHO_DNS_H

#include <stdbool.h>
#include <stddef.h>

/* RR types the checks use (RFC 1035, RFC 3596) */
enum {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_SPF = 99,
};

enum dns_status {
	DNS_OK,        /* count >= 1 records of the type asked */
	DNS_NXDOMAIN,  /* the name does not exist */
	DNS_NODATA,    /* the name exists, without records of that type */
	DNS_TEMPFAIL,  /* timeout, SERVFAIL, network error: try again later */
	DNS_PERMFAIL,  /* a bad name, REFUSED, a DNSSEC-bogus answer */
};

struct dns_answer {
	enum dns_status status;
	size_t count;
	unsigned char **data;   /* rdata of each record, wire format */
	size_t *len;
	unsigned char *packet;  /* the whole reply packet, when there was one */
	size_t packet_len;
	bool secure;            /* DNSSEC-validated */
	char *why;              /* for errors: what happened, for logs and facts */
};

/* A way to ask: the resolver, or a test's table. */
struct dns_lookup {
	/* fills *out (always: status and, for errors, why); 0, or -1 on a bad call */
	int (*query)(void *ctx, const char *name, int type, struct dns_answer *out);
	void *ctx;
};

void dns_answer_free(struct dns_answer *a);

/* dns_status_name - "ok", "nxdomain", "nodata", "tempfail", "permfail" */
const char *dns_status_name(enum dns_status s);

/*
 * dns_txt_join - TXT rdata (length-prefixed strings) as one NUL-terminated
 * string, the strings joined without separator (RFC 7208 §3.3); NULL when
 * the rdata is malformed. The caller frees it.
 */
char *dns_txt_join(const unsigned char *rdata, size_t len);

/*
 * dns_name_from_rdata - a domain name in rdata at off (uncompressed, as
 * libunbound hands MX and PTR data) as dotted text without the final dot;
 * NULL when malformed. The caller frees it.
 */
char *dns_name_from_rdata(const unsigned char *rdata, size_t len, size_t off);

/*
 * dns_reverse_name - "4.3.2.1.zone" for IPv4, the nibbles for IPv6 (RFC 5782
 * §2.1, §2.4): the name a list keyed by address is asked for; false for a
 * bad address or a name that does not fit.
 */
bool dns_reverse_name(const char *ip, const char *zone, char *out, size_t size);

struct dns_resolver_settings {
	const char *forward;       /* "" or NULL: the system's resolv.conf; else
	                              "127.0.0.1@5353 [::1]@53 ..." */
	const char *trust_anchor;  /* "" or NULL: no DNSSEC validation; else a
	                              root key file (unbound-anchor's) */
	unsigned timeout_ms;       /* per query */
	/* let the configured servers answer for special-use names (RFC 6761)
	 * such as "test." that libunbound otherwise answers itself */
	bool allow_special_names;
};

struct dns_resolver;

/* dns_resolver_new - NULL and *error_r (the caller frees) on failure */
struct dns_resolver *dns_resolver_new(const struct dns_resolver_settings *s, char **error_r);
void dns_resolver_free(struct dns_resolver *r);

/* dns_resolver_query - the struct dns_lookup query function; ctx is the resolver */
int dns_resolver_query(void *resolver, const char *name, int type, struct dns_answer *out);

/* dns_resolver_lookup - a dns_lookup that asks r */
struct dns_lookup dns_resolver_lookup(struct dns_resolver *r);

#endif
