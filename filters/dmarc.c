/*
 * dmarc - RFC 7489 record parsing, policy discovery, alignment and the
 * policy to apply (see dmarc.h). The organizational domain comes from
 * libpsl; everything else is ours, since libopendmarc drops one-character
 * labels when it aligns, ignores pct= and asks DNS on its own.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>

#include "common/dns.h"
#include "common/xalloc.h"
#include "filters/dmarc.h"
#include "filters/facts.h"
#include "filters/mail_from.h"

struct dmarc_ctx {
	psl_ctx_t *psl;
};

/* ---- record parsing (RFC 7489 §6.3, §6.4) ---- */

/* One tag=value pair, pointing into the record text. */
struct tag {
	const char *name;
	size_t nlen;
	const char *value;
	size_t vlen;
};

/* Which tags were seen, for repeats. */
struct seen {
	unsigned p, sp, pct, adkim, aspf, rua;
};

/* is_wsp - SP or HTAB (RFC 5234 WSP, as §6.4 uses it) */
static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* is_alpha - an ASCII letter */
static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* is_digit - an ASCII digit */
static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* skip_wsp - past blanks */
static const char *skip_wsp(const char *s)
{
	while (is_wsp(*s))
		s++;
	return s;
}

/* note - keep the first reason given */
static void note(const char **why, const char *text)
{
	if (*why == NULL)
		*why = text;
}

/*
 * version_end - past a leading v=DMARC1 tag (§6.3: the first tag, its value
 * matched exactly; §6.4 allows blanks around '='), at ';' or the end; NULL
 * when the record does not start with it. Blanks before "v" are allowed:
 * taking a record seriously is the safe side.
 */
static const char *version_end(const char *txt)
{
	const char *s = skip_wsp(txt);

	if (*s != 'v' && *s != 'V')
		return NULL;
	s = skip_wsp(s + 1);
	if (*s != '=')
		return NULL;
	s = skip_wsp(s + 1);
	if (strncmp(s, "DMARC1", 6) != 0)
		return NULL;
	s = skip_wsp(s + 6);
	return *s == ';' || *s == '\0' ? s : NULL;
}

/* tag_is - the tag's name is name (case-insensitive, as ABNF strings are) */
static bool tag_is(const struct tag *t, const char *name)
{
	return t->nlen == strlen(name) && strncasecmp(t->name, name, t->nlen) == 0;
}

/* value_is - the tag's value is word (case-insensitive) */
static bool value_is(const struct tag *t, const char *word)
{
	return t->vlen == strlen(word) && strncasecmp(t->value, word, t->vlen) == 0;
}

/* split_tag - cut "name *WSP = *WSP value" from [s, end) (§6.4 dmarc-tag); false when malformed */
static bool split_tag(const char *s, const char *end, struct tag *t)
{
	const char *v;

	t->name = s;
	if (s == end || !is_alpha(*s))
		return false;
	while (s < end && (is_alpha(*s) || is_digit(*s) || *s == '_'))
		s++;
	t->nlen = (size_t)(s - t->name);
	while (s < end && is_wsp(*s))
		s++;
	if (s == end || *s != '=')
		return false;
	v = s + 1;
	while (v < end && is_wsp(*v))
		v++;
	while (end > v && is_wsp(end[-1]))
		end--;
	t->value = v;
	t->vlen = (size_t)(end - v);
	return true;
}

/* parse_policy - "none", "quarantine" or "reject" (§6.3 p=) */
static bool parse_policy(const struct tag *t, enum dmarc_policy *out)
{
	if (value_is(t, "none"))
		*out = DMARC_POLICY_NONE;
	else if (value_is(t, "quarantine"))
		*out = DMARC_POLICY_QUARANTINE;
	else if (value_is(t, "reject"))
		*out = DMARC_POLICY_REJECT;
	else
		return false;
	return true;
}

/* parse_pct - 0 to 100 (§6.3 pct=, 1*3DIGIT in §6.4) */
static bool parse_pct(const struct tag *t, unsigned *out)
{
	unsigned n = 0;

	if (t->vlen == 0 || t->vlen > 3)
		return false;
	for (size_t i = 0; i < t->vlen; i++) {
		if (!is_digit(t->value[i]))
			return false;
		n = n * 10 + (unsigned)(t->value[i] - '0');
	}
	if (n > 100)
		return false;
	*out = n;
	return true;
}

/* parse_align - "r" or "s" (§6.3 adkim=, aspf=) */
static bool parse_align(const struct tag *t, enum dmarc_align *out)
{
	if (value_is(t, "r"))
		*out = DMARC_ALIGN_RELAXED;
	else if (value_is(t, "s"))
		*out = DMARC_ALIGN_STRICT;
	else
		return false;
	return true;
}

/*
 * uri_valid - one dmarc-uri (§6.4): an RFC 3986 scheme, ':', something,
 * then an optional "!" size. Commas and '!' inside a URI must be encoded
 * (§6.2), so the first '!' ends it.
 */
static bool uri_valid(const char *s, size_t n)
{
	size_t i = 0, end = 0;

	while (end < n && s[end] != '!')
		end++;
	if (end == 0 || !is_alpha(s[0]))
		return false;
	while (i < end && (is_alpha(s[i]) || is_digit(s[i]) || strchr("+-.", s[i])))
		i++;
	if (i == end || s[i] != ':' || i + 1 == end)
		return false;
	for (i++; i < end; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("<>\"{}|\\^`", c))
			return false;
	}
	return true;
}

/* rua_valid - at least one valid URI in a comma-separated list (§6.6.3 step 6) */
static bool rua_valid(const struct tag *t)
{
	const char *s = t->value, *end = t->value + t->vlen;

	while (s < end) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *stop = comma ? comma : end, *a = s, *b = stop;

		while (a < b && is_wsp(*a))
			a++;
		while (b > a && is_wsp(b[-1]))
			b--;
		if (uri_valid(a, (size_t)(b - a)))
			return true;
		s = comma ? comma + 1 : end;
	}
	return false;
}

/*
 * apply_tag - one tag into the record. A repeated p= or sp= is ambiguous
 * and so invalid; other repeats keep the first value. Bad pct=, adkim=,
 * aspf= fall back to their defaults (§6.3: "syntax errors in the remainder
 * of the record SHOULD be discarded in favor of default values").
 */
static void apply_tag(struct dmarc_record *r, struct seen *seen, const struct tag *t,
                      const char **why)
{
	if (tag_is(t, "p")) {
		r->p_valid = seen->p++ == 0 && parse_policy(t, &r->p);
	} else if (tag_is(t, "sp")) {
		r->sp_valid = seen->sp++ == 0 && parse_policy(t, &r->sp);
	} else if (tag_is(t, "pct") && seen->pct++ == 0) {
		if (!parse_pct(t, &r->pct))
			note(why, "bad pct=, 100 used");
	} else if (tag_is(t, "adkim") && seen->adkim++ == 0) {
		if (!parse_align(t, &r->adkim))
			note(why, "bad adkim=, r used");
	} else if (tag_is(t, "aspf") && seen->aspf++ == 0) {
		if (!parse_align(t, &r->aspf))
			note(why, "bad aspf=, r used");
	} else if (tag_is(t, "rua")) {
		seen->rua++;
		r->rua_valid |= rua_valid(t);
	}
	/* ruf, fo, rf, ri: reporting, which we do not do; unknown tags are ignored (§6.3) */
}

/* parse_tags - the tags after v=DMARC1; false past DMARC_MAX_TAGS */
static bool parse_tags(const char *s, struct dmarc_record *r, struct seen *seen, const char **why)
{
	while (*s) {
		const char *end = strchr(s + 1, ';'), *a;
		struct tag t;

		if (end == NULL)
			end = s + strlen(s);
		a = skip_wsp(s + (*s == ';'));
		if (a < end) {
			if (r->ntags == DMARC_MAX_TAGS)
				return false;
			r->ntags++;
			if (split_tag(a, end, &t))
				apply_tag(r, seen, &t, why);
			else
				note(why, "malformed tag ignored");
		}
		s = end;
	}
	return true;
}

/* check_policies - whether p= and sp= make a usable record (§6.6.3 step 6) */
static enum dmarc_record_status check_policies(struct dmarc_record *r, const struct seen *seen,
                                               const char **why)
{
	if (seen->sp == 0) {
		r->sp = r->p;
		r->sp_valid = r->p_valid;
	}
	if (seen->p == 0) {
		*why = "no p=";
		return DMARC_RECORD_BROKEN;
	}
	if (!r->p_valid) {
		*why = seen->p > 1 ? "p= given twice" : "bad p=";
		return DMARC_RECORD_BROKEN;
	}
	if (!r->sp_valid) {
		*why = seen->sp > 1 ? "sp= given twice" : "bad sp=";
		return DMARC_RECORD_BROKEN;
	}
	return DMARC_RECORD_OK;
}

enum dmarc_record_status dmarc_record_parse(const char *txt, struct dmarc_record *out,
                                            const char **why)
{
	struct seen seen = {0};
	const char *rest = version_end(txt);

	memset(out, 0, sizeof(*out));
	out->pct = 100;
	out->adkim = out->aspf = DMARC_ALIGN_RELAXED;
	out->sp_valid = true;
	*why = NULL;
	if (rest == NULL) {
		*why = "not a DMARC record (no leading v=DMARC1)";
		return DMARC_RECORD_IGNORED;
	}
	out->ntags = 1;
	if (strlen(txt) > DMARC_MAX_RECORD) {
		*why = "record too long";
		return DMARC_RECORD_BROKEN;
	}
	if (!parse_tags(rest, out, &seen, why)) {
		/* past a limit nothing of it is taken, not even rua= for §6.6.3 step 6 */
		out->rua_valid = false;
		*why = "too many tags";
		return DMARC_RECORD_BROKEN;
	}
	return check_policies(out, &seen, why);
}

/* ---- domains and alignment (RFC 7489 §3) ---- */

struct dmarc_ctx *dmarc_ctx_new(const char *psl_file, char **error_r)
{
	const char *file = psl_file ? psl_file : DMARC_PSL_FILE;
	struct dmarc_ctx *ctx;
	psl_ctx_t *psl = psl_load_file(file);

	if (psl == NULL) {
		*error_r = xasprintf("cannot load the public suffix list %s", file);
		return NULL;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->psl = psl;
	return ctx;
}

void dmarc_ctx_free(struct dmarc_ctx *ctx)
{
	if (ctx == NULL)
		return;
	psl_free(ctx->psl);
	free(ctx);
}

/* normalize - lowercase, one final dot dropped, into out; false when empty or too long */
static bool normalize(const char *d, char *out, size_t outlen)
{
	size_t n = d ? strlen(d) : 0;

	if (n && d[n - 1] == '.')
		n--;
	if (n == 0 || n >= outlen)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = d[i] >= 'A' && d[i] <= 'Z' ? (char)(d[i] - 'A' + 'a') : d[i];
	out[n] = '\0';
	return true;
}

const char *dmarc_org_domain(const struct dmarc_ctx *ctx, const char *domain, char *out,
                             size_t outlen)
{
	char norm[DMARC_DOMAIN_MAX];
	const char *reg;
	size_t n;

	if (!normalize(domain, norm, sizeof(norm)))
		return NULL;
	/* a public suffix has no label to add (§3.2 step 4): it is its own */
	reg = psl_registrable_domain(ctx->psl, norm);
	if (reg == NULL)
		reg = norm;
	n = strlen(reg);
	if (n >= outlen)
		return NULL;
	memcpy(out, reg, n + 1);
	return out;
}

bool dmarc_aligned(const struct dmarc_ctx *ctx, const char *author, const char *id,
                   enum dmarc_align mode)
{
	char a[DMARC_DOMAIN_MAX], b[DMARC_DOMAIN_MAX];

	if (mode == DMARC_ALIGN_STRICT)
		return normalize(author, a, sizeof(a)) && normalize(id, b, sizeof(b)) &&
		       strcmp(a, b) == 0;
	/* relaxed: the same organizational domain, compared whole (§3.1.1) */
	return dmarc_org_domain(ctx, author, a, sizeof(a)) &&
	       dmarc_org_domain(ctx, id, b, sizeof(b)) && strcmp(a, b) == 0;
}

/* ---- policy discovery (RFC 7489 §6.6.3) ---- */

enum found {
	FOUND_NONE,
	FOUND_ONE,
	FOUND_SEVERAL,
	FOUND_TEMPFAIL,
};

struct discovery {
	enum found found;
	char name[DMARC_DOMAIN_MAX + 8]; /* the name asked last */
	const char *at;                  /* the domain of that name */
	char *txt;                       /* FOUND_ONE: the record */
	char *why;                       /* FOUND_TEMPFAIL: what the resolver said */
};

/* collect - the DMARC records of a TXT answer: how many, the first kept in d->txt */
static size_t collect(const struct dns_answer *ans, struct discovery *d)
{
	size_t n = 0;

	for (size_t i = 0; i < ans->count; i++) {
		/* unreadable rdata cannot be told from a non-DMARC record: skipped */
		char *txt = dns_txt_join(ans->data[i], ans->len[i]);

		if (txt && version_end(txt) && n++ == 0)
			d->txt = txt;
		else
			free(txt);
	}
	return n;
}

/* dns_failure - a description of a failed answer, for the reason */
static char *dns_failure(const struct dns_answer *ans)
{
	return xasprintf("%s%s%s", dns_status_name(ans->status), ans->why ? ": " : "",
	                 ans->why ? ans->why : "");
}

/* query_name - the DMARC records at _dmarc.<domain> (§6.6.3 steps 1-2, 4-5) */
static void query_name(const struct dns_lookup *dns, const char *domain, struct discovery *d)
{
	struct dns_answer ans;
	size_t n = 0;

	d->found = FOUND_NONE;
	d->at = domain;
	snprintf(d->name, sizeof(d->name), "_dmarc.%s", domain);
	/* no name longer than 253 characters can hold a record (RFC 1035 §2.3.4) */
	if (strlen(d->name) > 253)
		return;
	memset(&ans, 0, sizeof(ans));
	if (dns->query(dns->ctx, d->name, DNS_TYPE_TXT, &ans) != 0) {
		d->found = FOUND_TEMPFAIL;
		d->why = xstrdup("the resolver refused the query");
	} else if (ans.status == DNS_OK) {
		n = collect(&ans, d);
	} else if (ans.status != DNS_NXDOMAIN && ans.status != DNS_NODATA) {
		d->found = FOUND_TEMPFAIL;
		d->why = dns_failure(&ans);
	}
	dns_answer_free(&ans);
	if (n > 1) {
		free(d->txt);
		d->txt = NULL;
		d->found = FOUND_SEVERAL;
	} else if (n == 1) {
		d->found = FOUND_ONE;
	}
}

/* discover - the author domain's record, else the organizational domain's (§6.6.3 step 3) */
static void discover(const struct dns_lookup *dns, const char *domain, const char *org,
                     struct discovery *d)
{
	query_name(dns, domain, d);
	if (d->found == FOUND_NONE && strcmp(domain, org) != 0)
		query_name(dns, org, d);
}

/* ---- evaluation ---- */

/* sampled_policy - the request, or the next one down for a message pct= leaves out (§6.6.4) */
static enum dmarc_policy sampled_policy(enum dmarc_policy requested, unsigned pct, unsigned sample)
{
	if (sample % 100 < pct)
		return requested;
	return requested == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE : DMARC_POLICY_NONE;
}

/* check_alignment - the SPF and DKIM alignment flags of out (§3.1, §4.2) */
static void check_alignment(const struct dmarc_ctx *ctx, const struct dmarc_input *in,
                            const struct dmarc_record *rec, struct dmarc_outcome *out)
{
	out->spf_aligned = in->spf_result && strcasecmp(in->spf_result, "pass") == 0 &&
	                   dmarc_aligned(ctx, out->domain, in->spf_domain, rec->aspf);
	out->dkim_aligned = false;
	for (size_t i = 0; i < in->ndkim && !out->dkim_aligned; i++)
		out->dkim_aligned =
		    dmarc_aligned(ctx, out->domain, in->dkim_pass_domains[i], rec->adkim);
}

/* pass_reason - which identifiers aligned */
static const char *pass_reason(const struct dmarc_outcome *out)
{
	if (out->spf_aligned && out->dkim_aligned)
		return "spf and dkim aligned";
	return out->spf_aligned ? "spf aligned" : "dkim aligned";
}

/* apply_record - the result and policy the one record found gives */
static void apply_record(const struct dmarc_ctx *ctx, const struct dmarc_input *in,
                         const struct discovery *d, struct dmarc_outcome *out)
{
	struct dmarc_record rec;
	const char *why, *taken = "";
	enum dmarc_record_status st = dmarc_record_parse(d->txt, &rec, &why);

	out->record_domain = xstrdup(d->at);
	if (st == DMARC_RECORD_BROKEN && !rec.rua_valid) {
		out->result = DMARC_RESULT_PERMERROR;
		out->reason = xasprintf("broken record at %s: %s", d->name, why);
		return;
	}
	if (st == DMARC_RECORD_BROKEN) {
		rec.p = rec.sp = DMARC_POLICY_NONE;
		taken = ", record taken as p=none";
	}
	/* sp= is for the domains below the one that published it (§6.3) */
	out->requested = strcmp(d->at, out->domain) != 0 ? rec.sp : rec.p;
	check_alignment(ctx, in, &rec, out);
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = DMARC_RESULT_PASS;
		out->reason = xasprintf("%s%s", pass_reason(out), taken);
		return;
	}
	out->result = DMARC_RESULT_FAIL;
	out->policy = sampled_policy(out->requested, rec.pct, in->sample);
	out->reason = xasprintf(
	    "not aligned%s%s", out->policy != out->requested ? ", not sampled by pct=" : "", taken);
}

/* evaluate_author - DMARC for one author domain (valid, lowercase) */
static void evaluate_author(const struct dmarc_ctx *ctx, const struct dns_lookup *dns,
                            const struct dmarc_input *in, const char *domain,
                            struct dmarc_outcome *out)
{
	char org[DMARC_DOMAIN_MAX];
	struct discovery d = {0};

	out->domain = xstrdup(domain);
	out->org_domain = xstrdup(dmarc_org_domain(ctx, domain, org, sizeof(org)) ? org : domain);
	discover(dns, out->domain, out->org_domain, &d);
	switch (d.found) {
	case FOUND_NONE:
		if (strcmp(out->domain, out->org_domain) == 0)
			out->reason = xasprintf("no DMARC record at _dmarc.%s", out->domain);
		else
			out->reason = xasprintf("no DMARC record at _dmarc.%s or _dmarc.%s",
			                        out->domain, out->org_domain);
		break;
	case FOUND_SEVERAL:
		out->reason = xasprintf("several DMARC records at %s", d.name);
		break;
	case FOUND_TEMPFAIL:
		out->result = DMARC_RESULT_TEMPERROR;
		out->reason = xasprintf("dns lookup of %s failed: %s", d.name, d.why);
		break;
	case FOUND_ONE:
		apply_record(ctx, in, &d, out);
		break;
	}
	free(d.txt);
	free(d.why);
}

/* distinct_domains - each valid From domain once, in order */
static void distinct_domains(const struct from_info *from, struct dmarc_outcome *out)
{
	out->from_domains = xcalloc(from->ndomains + 1, sizeof(*out->from_domains));
	for (size_t i = 0; i < from->ndomains; i++) {
		bool seen = false;

		for (size_t j = 0; j < out->nfrom_domains && !seen; j++)
			seen = strcmp(out->from_domains[j], from->domains[i]) == 0;
		if (!seen)
			out->from_domains[out->nfrom_domains++] = xstrdup(from->domains[i]);
	}
}

/* take_stricter - keep one failing author's policy when it is the strictest yet */
static void take_stricter(struct dmarc_outcome *out, struct dmarc_outcome *one)
{
	if (one->requested > out->requested)
		out->requested = one->requested;
	if (out->domain && one->policy <= out->policy)
		return;
	out->policy = one->policy;
	free(out->domain);
	free(out->org_domain);
	free(out->record_domain);
	out->domain = one->domain;
	out->org_domain = one->org_domain;
	out->record_domain = one->record_domain;
	one->domain = one->org_domain = one->record_domain = NULL;
}

/* evaluate_problem - a From without a single author: fail, policy as dmarc.h explains */
static void evaluate_problem(const struct dmarc_ctx *ctx, const struct dns_lookup *dns,
                             const struct dmarc_input *in, const struct from_info *from,
                             struct dmarc_outcome *out)
{
	bool known = from->complete;

	distinct_domains(from, out);
	for (size_t i = 0; i < out->nfrom_domains; i++) {
		struct dmarc_outcome one = {0};

		if (i == DMARC_MAX_AUTHOR_DOMAINS) {
			known = false;
			break;
		}
		evaluate_author(ctx, dns, in, out->from_domains[i], &one);
		known &= one.result != DMARC_RESULT_TEMPERROR;
		if (one.result == DMARC_RESULT_FAIL)
			take_stricter(out, &one);
		dmarc_outcome_free(&one);
	}
	out->result = DMARC_RESULT_FAIL;
	out->reason = xstrdup(from->problem);
	out->spf_aligned = out->dkim_aligned = false;
	if (!known)
		out->policy = DMARC_POLICY_REJECT;
}

void dmarc_evaluate(const struct dmarc_ctx *ctx, const struct dns_lookup *dns,
                    const struct dmarc_input *in, struct dmarc_outcome *out)
{
	struct from_info from;

	memset(out, 0, sizeof(*out));
	if (mail_from_parse(in->msg, in->len, &from) == 0) {
		evaluate_author(ctx, dns, in, from.domain, out);
		distinct_domains(&from, out);
	} else {
		evaluate_problem(ctx, dns, in, &from, out);
	}
	from_info_free(&from);
}

void dmarc_outcome_free(struct dmarc_outcome *out)
{
	free(out->domain);
	free(out->org_domain);
	free(out->record_domain);
	free(out->reason);
	for (size_t i = 0; i < out->nfrom_domains; i++)
		free(out->from_domains[i]);
	free(out->from_domains);
	memset(out, 0, sizeof(*out));
}

const char *dmarc_result_name(enum dmarc_result r)
{
	static const char *const names[] = {
	    [DMARC_RESULT_NONE] = "none",           [DMARC_RESULT_PASS] = "pass",
	    [DMARC_RESULT_FAIL] = "fail",           [DMARC_RESULT_TEMPERROR] = "temperror",
	    [DMARC_RESULT_PERMERROR] = "permerror",
	};

	return (size_t)r < sizeof(names) / sizeof(names[0]) ? names[r] : "permerror";
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
	static const char *const names[] = {
	    [DMARC_POLICY_NONE] = "none",
	    [DMARC_POLICY_QUARANTINE] = "quarantine",
	    [DMARC_POLICY_REJECT] = "reject",
	};

	return (size_t)p < sizeof(names) / sizeof(names[0]) ? names[p] : "reject";
}

/* set_or_remove - name has value, or no value at all */
static void set_or_remove(struct facts *facts, const char *name, const char *value)
{
	if (value)
		facts_set(facts, name, value);
	else
		facts_remove(facts, name);
}

void dmarc_record_facts(const struct dmarc_outcome *out, struct facts *facts)
{
	facts_set(facts, "dmarc.result", dmarc_result_name(out->result));
	facts_set(facts, "dmarc.policy", dmarc_policy_name(out->policy));
	facts_set(facts, "dmarc.requested_policy", dmarc_policy_name(out->requested));
	set_or_remove(facts, "dmarc.domain", out->domain);
	set_or_remove(facts, "dmarc.org_domain", out->org_domain);
	set_or_remove(facts, "dmarc.record_domain", out->record_domain);
	set_or_remove(facts, "dmarc.reason", out->reason);
	facts_set(facts, "dmarc.spf_aligned", out->spf_aligned ? "yes" : "no");
	facts_set(facts, "dmarc.dkim_aligned", out->dkim_aligned ? "yes" : "no");
	facts_remove(facts, "dmarc.from_domain");
	for (size_t i = 0; i < out->nfrom_domains; i++)
		facts_add_str(facts, "dmarc.from_domain", out->from_domains[i]);
}
