/*
 * dmarc - DMARC evaluation (RFC 7489) in our own code: policy discovery
 * through the daemon's resolver (common/dns.h), record parsing, identifier
 * alignment against the organizational domain from libpsl, and the policy
 * to apply after pct sampling. It records facts; the rules decide.
 *
 * Evaluation for a From with a single author domain:
 *   - discovery (§6.6.3): TXT at _dmarc.<author domain>; records not
 *     starting with v=DMARC1 are dropped; when none is left, the same at
 *     _dmarc.<organizational domain>; several DMARC records at the name
 *     that answered mean no policy (result none);
 *   - a DNS answer other than "no such name"/"no such record" is
 *     temperror, as RFC 7208 §5 does for SPF: a timeout, a SERVFAIL, a
 *     REFUSED or a DNSSEC-bogus answer leaves the policy unknown, never
 *     absent (an attacker who can break the answer must not erase it);
 *   - a record without a valid p= or with an invalid sp= is taken as p=none
 *     when its rua= holds a valid URI, and is otherwise permerror with no
 *     policy (§6.6.3 step 6); other bad values fall back to their defaults
 *     (§6.3); unknown tags are ignored;
 *   - alignment (§3.1): strict is the exact domain, relaxed the same
 *     organizational domain, both after lowercasing and dropping a final
 *     dot. SPF counts only when it passed for spf_domain, DKIM when any
 *     passing signature's d= aligns. Either aligned: pass; else fail;
 *   - the policy requested is sp= when the record came from the
 *     organizational domain and the author domain is below it, else p=
 *     (sp= defaults to p=). On fail, pct= (§6.6.4) samples with the
 *     caller's number: sample < pct applies the request, any other gets
 *     the next policy down (reject → quarantine, quarantine → none).
 *     On any result but fail the policy to apply is none.
 *
 * A From without exactly one author domain (no From, several From fields,
 * several addresses, an unparsable From, no valid domain) never passes:
 * result fail, reason the problem as mail_from.h names it. Policy: every
 * distinct valid domain in the From fields is evaluated as above (up to
 * DMARC_MAX_AUTHOR_DOMAINS), and the strictest policy among those that fail
 * is applied, as §6.6.1 asks for a From with several addresses; no worse
 * for the receiver than a plain spoof of any of those domains. When some
 * author could not be looked up (no From at all, an unparsable field, an
 * address without a valid domain, a DNS error, more domains than the
 * limit), a reader may see a domain whose policy we never learnt, and the
 * message breaks RFC 5322 §3.6 or our limits anyway: the policy is reject
 * (the requested policy stays the strictest learnt), and the rules can
 * soften it by dmarc.reason.
 *
 * Limits: DMARC_MAX_RECORD bytes of record text and DMARC_MAX_TAGS tags;
 * past either a DMARC record is broken (permerror).
 *
 * Thread-safety: a dmarc_ctx is read-only once made and serves every
 * session thread. Ownership: a dmarc_outcome owns its strings
 * (dmarc_outcome_free); the input is only read.
 */
#ifndef SEKISHO_DMARC_H
#define SEKISHO_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/dns.h"
#include "filters/facts.h"

#define DMARC_PSL_FILE           "/usr/share/publicsuffix/public_suffix_list.dat"
#define DMARC_MAX_RECORD         4096
#define DMARC_MAX_TAGS           32
#define DMARC_MAX_AUTHOR_DOMAINS 8
#define DMARC_DOMAIN_MAX         254 /* 253 characters and the NUL */

enum dmarc_result {
	DMARC_RESULT_NONE,
	DMARC_RESULT_PASS,
	DMARC_RESULT_FAIL,
	DMARC_RESULT_TEMPERROR,
	DMARC_RESULT_PERMERROR,
};

/* in order of strictness */
enum dmarc_policy {
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

enum dmarc_align {
	DMARC_ALIGN_RELAXED,
	DMARC_ALIGN_STRICT,
};

enum dmarc_record_status {
	DMARC_RECORD_OK,
	DMARC_RECORD_IGNORED, /* no leading v=DMARC1: not a DMARC record (§6.6.3 step 2) */
	DMARC_RECORD_BROKEN,  /* a DMARC record without a usable p= / sp=, or past a limit */
};

struct dmarc_record {
	enum dmarc_policy p;
	bool p_valid;
	enum dmarc_policy sp; /* p when absent */
	bool sp_valid;        /* false only when sp= is present and bad */
	unsigned pct;         /* 0..100, 100 when absent or bad */
	enum dmarc_align adkim, aspf;
	bool rua_valid; /* rua= holds at least one syntactically valid URI */
	size_t ntags;
};

/*
 * dmarc_record_parse - read a TXT record's text (RFC 7489 §6.3, §6.4) into
 * *out. *why (static text) says what made it IGNORED or BROKEN, or which
 * value fell back to its default when OK; NULL when nothing did.
 */
enum dmarc_record_status dmarc_record_parse(const char *txt, struct dmarc_record *out,
                                            const char **why);

struct dmarc_ctx;

/*
 * dmarc_ctx_new - load the public suffix list (psl_file NULL:
 * DMARC_PSL_FILE); NULL and *error_r (the caller frees) on failure
 */
struct dmarc_ctx *dmarc_ctx_new(const char *psl_file, char **error_r);
void dmarc_ctx_free(struct dmarc_ctx *ctx);

/*
 * dmarc_org_domain - the organizational domain of domain (RFC 7489 §3.2),
 * lowercased, without final dot, into out; a domain that is itself a
 * public suffix is its own. NULL when domain is empty or does not fit.
 */
const char *dmarc_org_domain(const struct dmarc_ctx *ctx, const char *domain, char *out,
                             size_t outlen);

/* dmarc_aligned - whether identifier id aligns with the author domain (RFC 7489 §3.1) */
bool dmarc_aligned(const struct dmarc_ctx *ctx, const char *author, const char *id,
                   enum dmarc_align mode);

struct dmarc_input {
	const char *msg; /* the raw message (header is enough), as received */
	size_t len;
	const char *spf_result;               /* "pass", "fail", ...; NULL: not checked */
	const char *spf_domain;               /* the domain SPF checked (MAIL FROM, or HELO) */
	const char *const *dkim_pass_domains; /* d= of every signature that verified */
	size_t ndkim;
	unsigned sample; /* 0..99, for pct; taken modulo 100 */
};

struct dmarc_outcome {
	enum dmarc_result result;
	enum dmarc_policy policy;    /* to apply, after pct (none unless fail) */
	enum dmarc_policy requested; /* p= or sp=, before pct */
	/* the author domain; for a From problem, the one whose policy was
	 * taken, or NULL */
	char *domain;
	char *org_domain;
	char *record_domain; /* where the record was found; NULL when none */
	char *reason;        /* for logs and facts, never NULL after dmarc_evaluate */
	char **from_domains; /* every distinct valid domain in the From fields */
	size_t nfrom_domains;
	bool spf_aligned, dkim_aligned; /* false for a From problem: no one author */
};

/* dmarc_evaluate - evaluate in, asking dns; *out is overwritten */
void dmarc_evaluate(const struct dmarc_ctx *ctx, const struct dns_lookup *dns,
                    const struct dmarc_input *in, struct dmarc_outcome *out);
void dmarc_outcome_free(struct dmarc_outcome *out);

/* dmarc_result_name - "none", "pass", "fail", "temperror", "permerror" */
const char *dmarc_result_name(enum dmarc_result r);

/* dmarc_policy_name - "none", "quarantine", "reject" */
const char *dmarc_policy_name(enum dmarc_policy p);

/*
 * dmarc_record_facts - dmarc.result, dmarc.policy (to apply),
 * dmarc.requested_policy, dmarc.domain, dmarc.org_domain,
 * dmarc.record_domain, dmarc.reason, dmarc.spf_aligned and
 * dmarc.dkim_aligned ("yes"/"no"), and dmarc.from_domain (each distinct
 * From domain). Facts without a value are removed.
 */
void dmarc_record_facts(const struct dmarc_outcome *out, struct facts *facts);

#endif
