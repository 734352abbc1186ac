/*
 * dkim_verify - DKIM signature verification (RFC 6376, RFC 8463 ed25519,
 * RFC 8301 crypto rules) with libopendkim, key lookups through the daemon's
 * one resolver (common/dns.h).
 *
 * One struct dkim_verifier holds the DKIM_LIB, configured once in
 * dkim_verifier_new and then only read: any number of threads may call
 * dkim_verify_message at once, each message getting its own DKIM handle.
 * The verifier keeps a copy of the struct dns_lookup (not of what its ctx
 * points to, which must outlive the verifier).
 *
 * Every DKIM-Signature field is evaluated on its own, up to
 * DKIM_VERIFY_MAX_SIGS; a message with more is flagged and the rest are
 * not looked at. Results are RFC 8601 §2.7.1 words; this module computes
 * them and records facts, the rules decide what they mean.
 */
#ifndef SEKISHO_DKIM_VERIFY_H
#define SEKISHO_DKIM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/dns.h"
#include "filters/facts.h"

/* Signatures evaluated per message; more are a fact (limit_exceeded). */
#define DKIM_VERIFY_MAX_SIGS 16

/* dkim.error when a message has more signatures than that */
#define DKIM_VERIFY_STR_(x) #x
#define DKIM_VERIFY_STR(x)  DKIM_VERIFY_STR_(x)
#define DKIM_VERIFY_LIMIT_ERROR                                                                    \
	"more than " DKIM_VERIFY_STR(DKIM_VERIFY_MAX_SIGS) " signatures: the rest not evaluated"

/* RSA keys shorter than this never pass (RFC 8301 §3.2). */
#define DKIM_VERIFY_MIN_RSA_BITS 1024

struct dkim_verifier;

/* dkim_verifier_new - NULL and *error_r (the caller frees) on failure */
struct dkim_verifier *dkim_verifier_new(const struct dns_lookup *dns, char **error_r);
void dkim_verifier_free(struct dkim_verifier *v);

/*
 * RFC 8601 §2.7.1 results, as given here: fail, checked and found wrong
 * (header or body hash, x= past, RSA key under 1024 bits); neutral, the
 * signature has syntax errors; temperror, the key could not be fetched
 * now; permerror, no key or an unusable key record; policy, verified but
 * with rsa-sha1, which RFC 8301 §3.1 forbids verifiers to accept.
 */
enum dkim_sig_result {
	DKIMR_PASS,
	DKIMR_FAIL,
	DKIMR_NEUTRAL,
	DKIMR_TEMPERROR,
	DKIMR_PERMERROR,
	DKIMR_POLICY,
};

/* dkim_sig_result_name - "pass" "fail" "neutral" "temperror" "permerror" "policy" */
const char *dkim_sig_result_name(enum dkim_sig_result r);

struct dkim_sig_outcome {
	enum dkim_sig_result result;
	char *domain;      /* d=, lowercase; "" when absent */
	char *selector;    /* s=; "" when absent */
	char *algorithm;   /* a= as written ("rsa-sha256"); "" when absent */
	char *reason;      /* why, in words ("body hash did not verify"; "ok") */
	unsigned key_bits; /* RSA modulus bits; 0 for ed25519 or no key */
	/* -1: no l=, the whole body is signed; else canonical body bytes
	 * after the l= count (RFC 6376 §8.2), 0 when l= covers it all */
	long long unsigned_tail;
};

/* All owned by the outcome; sigs in header order (top first). */
struct dkim_outcome {
	struct dkim_sig_outcome *sigs;
	size_t count;
	bool limit_exceeded; /* more than DKIM_VERIFY_MAX_SIGS signatures */
	char *error;         /* NULL, or why libopendkim could not read the message */
};

/*
 * dkim_verify_message - evaluate every signature of msg (len bytes,
 * CR LF line ends, as received, not NUL-terminated); *out is overwritten
 * and must be freed with dkim_outcome_free.
 */
void dkim_verify_message(struct dkim_verifier *v, const char *msg, size_t len,
                         struct dkim_outcome *out);
void dkim_outcome_free(struct dkim_outcome *o);

/*
 * dkim_record_facts - for the rules:
 *   dkim.result, dkim.domain, dkim.selector, dkim.algorithm, dkim.reason,
 *   dkim.key_bits   one value per signature, in the same order;
 *                   dkim.result is "none" when there is no signature and
 *                   "temperror" when the message could not be read
 *   dkim.pass_domain  d= of each passing signature
 *   dkim.partial    unsigned tail bytes of each passing signature whose
 *                   l= leaves part of the body unsigned
 *   dkim.limit_exceeded  "yes" past DKIM_VERIFY_MAX_SIGS, and then
 *                   DKIM_VERIFY_LIMIT_ERROR in dkim.error as well
 *   dkim.error      why the message could not be read
 */
void dkim_record_facts(const struct dkim_outcome *o, struct facts *facts);

/*
 * dkim_verify_body_canonlen - length of a message body (the bytes after
 * the blank line) in "simple" or "relaxed" canonical form (RFC 6376
 * §3.4.3, §3.4.4), to measure what an l= leaves out. It agrees with
 * dkimpy on every body, and with libopendkim on bodies that end in CR LF
 * without a bare CR or LF, as all mail received over SMTP does.
 */
size_t dkim_verify_body_canonlen(const char *body, size_t len, bool relaxed);

/*
 * The DNS packets libopendkim reads (its query hooks want a whole reply):
 *
 * dkim_verify_reply_build - a reply (RFC 1035 §4.1) to the TXT question
 * for name, holding a's records, written to buf: header with QR, RD, RA
 * (and AD when a is secure and DNS_OK), rcode NOERROR (DNS_OK,
 * DNS_NODATA), NXDOMAIN, SERVFAIL (DNS_TEMPFAIL) or REFUSED
 * (DNS_PERMFAIL), the question, then, for DNS_OK only, one TXT answer per
 * record whose rdata is well-formed (RFC 1035 §3.3.14, and no NUL: the
 * others are left out). name "" or "." is the root. Returns the length,
 * or 0 when name is no valid domain name or the reply does not fit in cap.
 */
size_t dkim_verify_reply_build(const char *name, const struct dns_answer *a, unsigned char *buf,
                               size_t cap);

/*
 * dkim_verify_reply_check - NULL when pkt is a well-formed reply to the
 * TXT question for name (one question, every record inside the packet,
 * compression pointers pointing backwards, TXT strings within their
 * rdata, not truncated); else what is wrong.
 */
const char *dkim_verify_reply_check(const unsigned char *pkt, size_t len, const char *name);

#endif
