/*
 * spf_check - SPF (RFC 7208) for the MAIL FROM or the HELO identity, on
 * libspf2, with every DNS question asked through a struct dns_lookup.
 *
 * libspf2 evaluates the records; this module stands where it is wrong or
 * unsafe for a gateway:
 *   - its query functions pass any loopback client without reading the
 *     record; here every client gets the record's real answer;
 *   - Debian's libspf2 1.2.10 lacks the fix for CVE-2023-42118 (macro
 *     parsing), so every SPF record is checked by spf_record_syntax_ok
 *     before libspf2 compiles it; a malformed one is a permerror;
 *   - its count of DNS-querying terms restarts in every included record;
 *     here the limit of 10 (§4.6.4) holds for the whole check, and so
 *     does the limit of 2 void lookups, which libspf2 lacks;
 *   - redirect= runs after every mechanism and not at all with "all"
 *     (§6.1; libspf2 runs it where it stands); PTR names past the 10th
 *     are ignored (§4.6.4; libspf2 answers permerror);
 *   - exp= explanations are never fetched (§6.2 makes them optional; they
 *     are attacker text that libspf2 would compile and expand);
 *   - temperror and permerror are told apart by libspf2's error code, not
 *     its result.
 *
 * Ownership and threads: spf_checker_new copies the struct dns_lookup (its
 * ctx must outlive the checker). A checker is built once and then only
 * read: any number of threads may run spf_check on it at once. An outcome
 * owns its strings; spf_outcome_free releases them.
 */
#ifndef SEKISHO_SPF_CHECK_H
#define SEKISHO_SPF_CHECK_H

#include <stdbool.h>

#include "common/dns.h"

enum spf_result {
	SPFR_NONE,
	SPFR_NEUTRAL,
	SPFR_PASS,
	SPFR_FAIL,
	SPFR_SOFTFAIL,
	SPFR_TEMPERROR,
	SPFR_PERMERROR,
};

/* RFC 7208 §4.6.4 */
#define SPF_MAX_DNS_TERMS    10
#define SPF_MAX_VOID_LOOKUPS 2

/*
 * What spf_record_syntax_ok accepts at most. No real record comes near:
 * the bounds keep each term's compiled form well inside libspf2's fixed
 * buffers (SPF_MAX_MECH_LEN is 511 bytes, and it counts mechanisms in an
 * unsigned char).
 */
#define SPF_RECORD_MAX_LEN   4096
#define SPF_RECORD_MAX_TERMS 64
#define SPF_TERM_MAX_LEN     320
#define SPF_TERM_MAX_MACROS  8

/* spf_result_name - "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" */
const char *spf_result_name(enum spf_result r);

struct spf_checker;

/* spf_checker_new - NULL and *error_r (the caller frees) when libspf2 will not start */
struct spf_checker *spf_checker_new(const struct dns_lookup *dns, char **error_r);
void spf_checker_free(struct spf_checker *c);

struct spf_outcome {
	enum spf_result result;
	char *domain; /* the domain checked; "" when the identity has none */
	char *reason; /* for logs and facts: what decided the result */
};

/*
 * spf_check - check_host() (§4) for one identity. client_ip is IPv4 or
 * IPv6 text (an IPv4-mapped IPv6 address counts as IPv4). The identity
 * is the domain of mail_from ("user@domain"); mail_from "" (the null
 * sender) or helo_identity make it the HELO name, with the sender
 * postmaster@helo (§2.3, §2.4). A malformed or single-label domain is
 * "none" (§4.3). *out is always filled.
 */
void spf_check(struct spf_checker *c, const char *client_ip, const char *helo,
               const char *mail_from, bool helo_identity, struct spf_outcome *out);
void spf_outcome_free(struct spf_outcome *o);

/*
 * spf_record_syntax_ok - whether record, a "v=spf1 ..." TXT string, follows
 * the grammar of RFC 7208 §4.6.1, §5, §6 and §7.1, within the bounds above.
 * Macros are checked strictly (macro-expand, letters, transformers of 1 to
 * 128, delimiters; c, r and t belong to explanations only). On false, *why
 * is a static string saying what is wrong; on true, *why is NULL.
 */
bool spf_record_syntax_ok(const char *record, const char **why);

/* spf_is_record - "v=spf1" then a space or the end (§4.5), any case */
bool spf_is_record(const char *text);

#endif
