/*
 * spf_check - SPF evaluation on libspf2 (see spf_check.h): the DNS layer
 * that answers libspf2 from the struct dns_lookup and keeps the per-check
 * limits, the evaluation around SPF_record_interpret, and the checker of
 * the record grammar that every record passes before libspf2 sees it.
 *
 * libspf2 calls the DNS layer with nothing but the shared
 * SPF_dns_server_t, so the state of the check in progress (counts, the
 * reasons found on the way) lives on spf_check's stack and is reached
 * through a thread-local pointer: one check per thread at a time.
 */
#include "config.h"

#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <spf2/spf.h>

#include "common/buf.h"
#include "common/dns.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "filters/spf_check.h"

/* libspf2 looks at no more MX or PTR names than this for one term (§4.6.4) */
#define SPF_MAX_NAMES 10

/*
 * What libspf2 gets instead of a malformed record: a "v=spf1" record its
 * compiler refuses without reading a macro, so the record's domain ends
 * in permerror the way libspf2 ends any record it cannot compile.
 */
#define SPF_STANDIN "v=spf1 ip4:malformed"

/*
 * libspf2 writes an explanation for every fail, softfail and neutral. With
 * no exp= in what it runs, it uses this one: without macros, so no sender
 * text is expanded (its default URL-encodes the sender).
 */
#define SPF_EXPLANATION "see the SPF record of the sender's domain"

struct spf_checker {
	struct dns_lookup dns;
	SPF_dns_server_t layer; /* destroy is NULL: SPF_server_free leaves it to us */
	SPF_server_t *server;
};

/* One check in progress. */
struct spf_state {
	bool evaluating;            /* false while the first record is fetched */
	int terms;                  /* DNS-querying terms so far */
	int voids;                  /* answers without records */
	int spf_records;            /* "v=spf1" records in the first answer */
	char *names[SPF_MAX_NAMES]; /* MX or PTR names libspf2 looks up next */
	size_t nnames, next_name;
	char *limit;     /* a §4.6.4 limit was passed: why */
	char *malformed; /* a record failed spf_record_syntax_ok: why */
	char *dns_error; /* the last lookup that failed: what and why */
};

static _Thread_local struct spf_state *spf_current;
static pthread_once_t spf_log_once = PTHREAD_ONCE_INIT;

/* spf_oom - libspf2 could not allocate: a broken invariant, as in xalloc */
static void spf_oom(void)
{
	log_err("spf: out of memory in libspf2");
	abort();
}

const char *spf_result_name(enum spf_result r)
{
	switch (r) {
	case SPFR_NONE:
		return "none";
	case SPFR_NEUTRAL:
		return "neutral";
	case SPFR_PASS:
		return "pass";
	case SPFR_FAIL:
		return "fail";
	case SPFR_SOFTFAIL:
		return "softfail";
	case SPFR_TEMPERROR:
		return "temperror";
	case SPFR_PERMERROR:
		return "permerror";
	}
	return "permerror";
}

/* ---- names ---- */

/*
 * labels_ok - n bytes of dotted labels, each 1 to 63 octets, with ldh
 * only letters, digits, '-' and '_'; *count gets how many
 */
static bool labels_ok(const char *s, size_t n, bool ldh, size_t *count)
{
	size_t len = 0;

	*count = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (len == 0 || len > 63)
				return false;
			(*count)++;
			len = 0;
			continue;
		}
		if (ldh && !isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
		len++;
	}
	return true;
}

/* domain_ok - a domain to check: multi-label, LDH (A-labels), at most 253 octets (§4.3) */
static bool domain_ok(const char *d)
{
	size_t n = strlen(d), labels;

	return n > 0 && n <= 253 && labels_ok(d, n, true, &labels) && labels >= 2;
}

/*
 * query_name - the name to ask for domain as libspf2 expanded it, NULL
 * when it is no domain name. A name longer than 253 octets loses labels
 * from the left until it fits (§7.3).
 */
static char *query_name(const char *domain)
{
	size_t n = strlen(domain), labels;
	const char *p = domain;

	if (n > 0 && domain[n - 1] == '.')
		n--;
	while (n > 253) {
		const char *dot = memchr(p, '.', n);

		if (!dot)
			return NULL;
		n -= (size_t)(dot + 1 - p);
		p = dot + 1;
	}
	if (n == 0 || !labels_ok(p, n, false, &labels))
		return NULL;
	return xstrndup(p, n);
}

/* type_name - an RR type for a reason string */
static const char *type_name(int type)
{
	switch (type) {
	case DNS_TYPE_A:
		return "A";
	case DNS_TYPE_AAAA:
		return "AAAA";
	case DNS_TYPE_MX:
		return "MX";
	case DNS_TYPE_PTR:
		return "PTR";
	case DNS_TYPE_TXT:
		return "TXT";
	}
	return "?";
}

/* ---- the per-check limits (§4.6.4) ---- */

/* forget_names - no follow-up lookups are due any more */
static void forget_names(struct spf_state *st)
{
	for (size_t i = 0; i < st->nnames; i++)
		free(st->names[i]);
	st->nnames = st->next_name = 0;
}

/* state_free - what a check kept */
static void state_free(struct spf_state *st)
{
	forget_names(st);
	free(st->limit);
	free(st->malformed);
	free(st->dns_error);
}

/*
 * is_follow_up - whether this is the address lookup libspf2 makes next
 * for the names of an MX or PTR answer: those belong to the mx or ptr
 * term that asked, not to a term of their own.
 */
static bool is_follow_up(struct spf_state *st, const char *name, ns_type type)
{
	if (type != ns_t_a && type != ns_t_aaaa)
		return false;
	if (st->next_name >= st->nnames || strcmp(name, st->names[st->next_name]) != 0)
		return false;
	st->next_name++;
	return true;
}

/*
 * account_query - count a term's lookup; false once a limit is passed. The
 * PTR lookup of a %{p} macro counts too, as §4.6.4 says.
 */
static bool account_query(struct spf_state *st, const char *name, ns_type type)
{
	if (st->limit)
		return false;
	if (is_follow_up(st, name, type))
		return true;
	forget_names(st);
	if (st->evaluating && ++st->terms > SPF_MAX_DNS_TERMS) {
		st->limit =
		    xasprintf("too many DNS lookups (more than %d terms)", SPF_MAX_DNS_TERMS);
		return false;
	}
	return true;
}

/* account_answer - note a failure, count a void answer; false once over the limit */
static bool account_answer(struct spf_state *st, const char *name, int type,
                           const struct dns_answer *a)
{
	if (a->status == DNS_TEMPFAIL || a->status == DNS_PERMFAIL) {
		free(st->dns_error);
		st->dns_error =
		    xasprintf("%s %s lookup: %s%s%s", name, type_name(type),
		              dns_status_name(a->status), a->why ? ", " : "", a->why ? a->why : "");
	}
	if (a->status != DNS_NXDOMAIN && a->status != DNS_NODATA)
		return true;
	if (++st->voids > SPF_MAX_VOID_LOOKUPS) {
		st->limit = xasprintf("too many void lookups (more than %d)", SPF_MAX_VOID_LOOKUPS);
		return false;
	}
	return true;
}

/* remember_names - the MX or PTR names libspf2 will look up next, in its order */
static void remember_names(struct spf_state *st, const SPF_dns_rr_t *rr)
{
	for (int i = 0; i < rr->num_rr && st->nnames < SPF_MAX_NAMES; i++)
		st->names[st->nnames++] = xstrdup(rr->rr[i]->mx);
}

/* ---- the DNS layer ---- */

/* rr_new - an empty libspf2 answer with its status */
static SPF_dns_rr_t *rr_new(SPF_dns_server_t *layer, const char *domain, ns_type type,
                            SPF_dns_stat_t herrno)
{
	SPF_dns_rr_t *rr = SPF_dns_rr_new_init(layer, domain, type, 0, herrno);

	if (!rr)
		spf_oom();
	return rr;
}

/* rr_add - one record of len bytes (an address, or a NUL-terminated name or text) */
static void rr_add(SPF_dns_rr_t *rr, const void *data, size_t len)
{
	if (SPF_dns_rr_buf_realloc(rr, rr->num_rr, len) != SPF_E_SUCCESS)
		spf_oom();
	memcpy(rr->rr[rr->num_rr], data, len);
	rr->num_rr++;
}

/* herrno_of - our status in libspf2's h_errno terms */
static SPF_dns_stat_t herrno_of(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return NETDB_SUCCESS;
	case DNS_NXDOMAIN:
		return HOST_NOT_FOUND;
	case DNS_NODATA:
		return NO_DATA;
	case DNS_TEMPFAIL:
		return TRY_AGAIN;
	case DNS_PERMFAIL:
		return NO_RECOVERY;
	}
	return NO_RECOVERY;
}

/* is_all - whether the term is an "all" mechanism, with or without qualifier */
static bool is_all(const char *s, size_t n)
{
	if (n > 0 && strchr("+-?~", s[0])) {
		s++;
		n--;
	}
	return n == 3 && strncasecmp(s, "all", 3) == 0;
}

/* is_modifier - whether the term is name=value (§6); no mechanism has a '=' before a ':' */
static bool is_modifier(const char *s, size_t n)
{
	size_t eq = strcspn(s, "=: ");

	return eq < n && s[eq] == '=';
}

/*
 * libspf2_record - a checked record as libspf2 must get it: its
 * mechanisms in order, then redirect= unless the record has "all".
 * libspf2 runs redirect= where it stands, and §6.1 after every mechanism
 * and not at all with "all". The other modifiers go: exp= is never
 * fetched, unknown ones are ignored (§6), and libspf2 refuses some names
 * §6 allows. The record ends in a space: libspf2 finds "v=spf1 " only
 * with its space, and the bare version is a record too (§4.5).
 */
static char *libspf2_record(const char *rec)
{
	const char *redirect = NULL;
	size_t redirect_len = 0;
	bool all = false;
	struct buf b;

	buf_init(&b);
	buf_append_str(&b, "v=spf1 ");
	for (const char *p = rec + 6;;) {
		size_t n;

		p += strspn(p, " ");
		if (!*p)
			break;
		n = strcspn(p, " ");
		if (n > 9 && strncasecmp(p, "redirect=", 9) == 0) {
			redirect = p;
			redirect_len = n;
		} else if (!is_modifier(p, n)) {
			all = all || is_all(p, n);
			buf_append(&b, p, n);
			buf_append_char(&b, ' ');
		}
		p += n;
	}
	if (redirect && !all) {
		buf_append(&b, redirect, redirect_len);
		buf_append_char(&b, ' ');
	}
	return buf_steal(&b);
}

/*
 * txt_for_libspf2 - what libspf2 may see of one TXT string, malloc'd. It
 * reads nothing but SPF records from TXT answers (no exp= reaches it, so
 * no explanation is fetched), so other strings reach it empty, and each
 * SPF record is checked first.
 */
static char *txt_for_libspf2(struct spf_state *st, const char *domain, const char *text)
{
	const char *why;

	if (!spf_is_record(text))
		return xstrdup("");
	if (!st->evaluating)
		st->spf_records++;
	if (!spf_record_syntax_ok(text, &why)) {
		if (!st->malformed)
			st->malformed = xasprintf("%s (SPF record of %s)", why, domain);
		return xstrdup(SPF_STANDIN);
	}
	return libspf2_record(text);
}

/* add_name - the domain name in an MX or PTR record at off */
static void add_name(SPF_dns_rr_t *rr, const unsigned char *data, size_t len, size_t off)
{
	char *name = len > off ? dns_name_from_rdata(data, len, off) : NULL;

	/* "." is a null MX (RFC 7505): no host to look up */
	if (name && strcmp(name, ".") != 0)
		rr_add(rr, name, strlen(name) + 1);
	free(name);
}

/* add_txt - a TXT record as one string (§3.3), as libspf2 may see it */
static void add_txt(SPF_dns_rr_t *rr, struct spf_state *st, const char *domain,
                    const unsigned char *data, size_t len)
{
	char *text = dns_txt_join(data, len), *keep;

	/* a malformed string (or one with a NUL) is no record at all */
	if (!text)
		return;
	keep = txt_for_libspf2(st, domain, text);
	rr_add(rr, keep, strlen(keep) + 1);
	free(keep);
	free(text);
}

/* add_rdata - one record of the answer in libspf2's form; malformed data is skipped */
static void add_rdata(SPF_dns_rr_t *rr, struct spf_state *st, const char *domain, ns_type type,
                      const unsigned char *data, size_t len)
{
	switch (type) {
	case ns_t_a:
		if (len == 4)
			rr_add(rr, data, len);
		break;
	case ns_t_aaaa:
		if (len == 16)
			rr_add(rr, data, len);
		break;
	case ns_t_mx:
		add_name(rr, data, len, 2);
		break;
	case ns_t_ptr:
		add_name(rr, data, len, 0);
		break;
	case ns_t_txt:
		add_txt(rr, st, domain, data, len);
		break;
	default:
		break;
	}
}

/* answer_to_rr - our answer in libspf2's form; MX and PTR names noted for what follows */
static SPF_dns_rr_t *answer_to_rr(SPF_dns_server_t *layer, struct spf_state *st, const char *domain,
                                  ns_type type, const struct dns_answer *a)
{
	SPF_dns_rr_t *rr = rr_new(layer, domain, type, herrno_of(a->status));
	/* §4.6.4: past 10 PTR records the rest are ignored (libspf2 would permerror) */
	size_t n = type == ns_t_ptr && a->count > SPF_MAX_NAMES ? SPF_MAX_NAMES : a->count;

	if (a->status != DNS_OK)
		return rr;
	for (size_t i = 0; i < n; i++)
		add_rdata(rr, st, domain, type, a->data[i], a->len[i]);
	if (rr->num_rr == 0)
		rr->herrno = NO_DATA;
	if (type == ns_t_mx || type == ns_t_ptr)
		remember_names(st, rr);
	return rr;
}

/* ask - one question to the dns_lookup, answered in libspf2's form */
static SPF_dns_rr_t *ask(struct spf_checker *c, struct spf_state *st, const char *domain,
                         ns_type type)
{
	char *name = query_name(domain);
	struct dns_answer a;
	SPF_dns_rr_t *rr;

	/* a name that cannot exist is not asked, nor counted void (as pyspf) */
	if (!name)
		return rr_new(&c->layer, domain, type, HOST_NOT_FOUND);
	memset(&a, 0, sizeof(a));
	if (c->dns.query(c->dns.ctx, name, (int)type, &a) < 0 && a.status == DNS_OK)
		a.status = DNS_PERMFAIL;
	if (a.status == DNS_OK && a.count == 0)
		a.status = DNS_NODATA;
	if (!account_answer(st, name, (int)type, &a))
		rr = rr_new(&c->layer, domain, type, TRY_AGAIN);
	else
		rr = answer_to_rr(&c->layer, st, domain, type, &a);
	dns_answer_free(&a);
	free(name);
	return rr;
}

/*
 * layer_lookup - libspf2's DNS question; never NULL (libspf2 aborts on
 * NULL). Past a limit every question gets TRY_AGAIN, which ends
 * libspf2's evaluation at once; the check then reports the limit.
 */
static SPF_dns_rr_t *layer_lookup(SPF_dns_server_t *layer, const char *domain, ns_type type,
                                  int should_cache)
{
	struct spf_state *st = spf_current;

	(void)should_cache;
	/* libspf2 asks only from inside spf_check */
	if (!st)
		return rr_new(layer, domain, type, TRY_AGAIN);
	/* libspf2 asks for the SPF RR type first; it is not used (§3.1, §4.4) */
	if (type == ns_t_spf)
		return rr_new(layer, domain, type, NO_DATA);
	if (!account_query(st, domain, type))
		return rr_new(layer, domain, type, TRY_AGAIN);
	return ask(layer->hook, st, domain, type);
}

/* ---- the checker ---- */

/* libspf2_warning - its warnings to our log (its default writes to stderr) */
static void libspf2_warning(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	log_warn("spf: libspf2: %s", msg);
}

/* libspf2_info - its info and debug lines, at debug level */
static void libspf2_info(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	log_debug("spf: libspf2: %s", msg);
}

/* route_libspf2_log - once per process: the handlers are libspf2 globals */
static void route_libspf2_log(void)
{
	SPF_warning_handler = libspf2_warning;
	SPF_info_handler = libspf2_info;
	SPF_debug_handler = libspf2_info;
}

/* configure - the §4.6.4 limits as libspf2's own backstop, and a fixed explanation */
static int configure(SPF_server_t *server, char **error_r)
{
	SPF_response_t *resp = NULL;
	SPF_errcode_t err;

	SPF_server_set_max_dns_mech(server, SPF_MAX_DNS_TERMS);
	SPF_server_set_max_dns_mx(server, SPF_MAX_NAMES);
	SPF_server_set_max_dns_ptr(server, SPF_MAX_NAMES);
	err = SPF_server_set_explanation(server, SPF_EXPLANATION, &resp);
	if (resp)
		SPF_response_free(resp);
	if (err != SPF_E_SUCCESS) {
		*error_r = xasprintf("libspf2: explanation: %s", SPF_strerror(err));
		return -1;
	}
	return 0;
}

struct spf_checker *spf_checker_new(const struct dns_lookup *dns, char **error_r)
{
	struct spf_checker *c = xcalloc(1, sizeof(*c));

	c->dns = *dns;
	c->layer.destroy = NULL;
	c->layer.lookup = layer_lookup;
	c->layer.name = "sekisho";
	c->layer.hook = c;
	pthread_once(&spf_log_once, route_libspf2_log);
	c->server = SPF_server_new_dns(&c->layer, 0);
	if (!c->server) {
		*error_r = xstrdup("libspf2: cannot create an SPF server");
		free(c);
		return NULL;
	}
	if (configure(c->server, error_r) < 0) {
		spf_checker_free(c);
		return NULL;
	}
	return c;
}

void spf_checker_free(struct spf_checker *c)
{
	if (!c)
		return;
	if (c->server)
		SPF_server_free(c->server);
	free(c);
}

void spf_outcome_free(struct spf_outcome *o)
{
	free(o->domain);
	free(o->reason);
	o->domain = o->reason = NULL;
}

/* ---- one check ---- */

struct spf_identity {
	char *domain; /* the <domain> of check_host() */
	char *sender; /* the <sender>: local-part@domain */
};

/*
 * identity - the domain and sender to check: the HELO name with
 * postmaster for the HELO identity and the null sender (§2.3, §2.4),
 * else MAIL FROM, with postmaster for an empty local part (§4.3).
 */
static void identity(const char *helo, const char *mail_from, bool helo_identity,
                     struct spf_identity *id)
{
	const char *at = strrchr(mail_from, '@'), *domain = mail_from;
	size_t local = 0, n;

	if (helo_identity || mail_from[0] == '\0')
		domain = helo;
	else if (at) {
		domain = at + 1;
		local = (size_t)(at - mail_from);
	}
	n = strlen(domain);
	if (n > 0 && domain[n - 1] == '.')
		n--;
	id->domain = xstrndup(domain, n);
	if (local)
		id->sender = xasprintf("%.*s@%s", (int)local, mail_from, id->domain);
	else
		id->sender = xasprintf("postmaster@%s", id->domain);
}

/* set_client - the client address; IPv4-mapped IPv6 is the IPv4 client behind it */
static int set_client(SPF_request_t *req, const char *ip)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, ip, &a4) == 1)
		return SPF_request_set_ipv4(req, a4) == SPF_E_SUCCESS ? 0 : -1;
	if (inet_pton(AF_INET6, ip, &a6) != 1)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, &a6.s6_addr[12], sizeof(a4));
		return SPF_request_set_ipv4(req, a4) == SPF_E_SUCCESS ? 0 : -1;
	}
	return SPF_request_set_ipv6(req, a6) == SPF_E_SUCCESS ? 0 : -1;
}

/* settle - the outcome; takes reason */
static void settle(struct spf_outcome *out, enum spf_result r, char *reason)
{
	out->result = r;
	free(out->reason);
	out->reason = reason;
}

/* libspf2_reason - libspf2's error text and its first error message, the cause */
static char *libspf2_reason(SPF_response_t *resp, SPF_errcode_t err)
{
	const char *text = SPF_strerror(err), *msg = NULL;
	int n = (int)strlen(text);

	for (int i = 0; i < SPF_response_messages(resp) && !msg; i++) {
		SPF_error_t *e = SPF_response_message(resp, i);

		if (SPF_error_errorp(e) && SPF_error_message(e))
			msg = SPF_error_message(e);
	}
	if (n > 0 && text[n - 1] == '.')
		n--;
	return msg ? xasprintf("%.*s: %s", n, text, msg) : xasprintf("%.*s", n, text);
}

/* error_outcome - temperror for DNS failures, permerror for the rest (libspf2 mixes them) */
static void error_outcome(const struct spf_state *st, SPF_response_t *resp, SPF_errcode_t err,
                          struct spf_outcome *out)
{
	if (st->limit)
		settle(out, SPFR_PERMERROR, xstrdup(st->limit));
	else if (st->malformed)
		settle(out, SPFR_PERMERROR, xstrdup(st->malformed));
	else if (err == SPF_E_DNS_ERROR)
		settle(out, SPFR_TEMPERROR,
		       xstrdup(st->dns_error ? st->dns_error : "DNS lookup failed"));
	else
		settle(out, SPFR_PERMERROR, libspf2_reason(resp, err));
}

/* fetch_failed - no record to run (§4.4, §4.5): none, temperror or permerror */
static void fetch_failed(const struct spf_state *st, SPF_response_t *resp, SPF_errcode_t err,
                         const char *domain, struct spf_outcome *out)
{
	if (err != SPF_E_DNS_ERROR && st->spf_records == 0)
		settle(out, SPFR_NONE, xasprintf("no SPF record for %s", domain));
	else
		error_outcome(st, resp, err, out);
}

/* match_outcome - a mechanism matched, or none did (§4.7) */
static void match_outcome(SPF_response_t *resp, const char *domain, const char *ip,
                          struct spf_outcome *out)
{
	switch (SPF_response_result(resp)) {
	case SPF_RESULT_PASS:
		settle(out, SPFR_PASS, xasprintf("%s designates %s", domain, ip));
		break;
	case SPF_RESULT_FAIL:
		settle(out, SPFR_FAIL, xasprintf("%s does not designate %s", domain, ip));
		break;
	case SPF_RESULT_SOFTFAIL:
		settle(out, SPFR_SOFTFAIL,
		       xasprintf("%s probably does not designate %s", domain, ip));
		break;
	default:
		if (SPF_response_reason(resp) == SPF_REASON_DEFAULT)
			settle(out, SPFR_NEUTRAL,
			       xasprintf("no term of %s matches %s", domain, ip));
		else
			settle(out, SPFR_NEUTRAL,
			       xasprintf("%s neither permits nor denies %s", domain, ip));
		break;
	}
}

/* interpreted - the result of the run; a limit passed or a malformed record met on the way wins */
static void interpreted(const struct spf_state *st, SPF_response_t *resp, const char *domain,
                        const char *ip, struct spf_outcome *out)
{
	SPF_result_t r = SPF_response_result(resp);
	bool matched = r == SPF_RESULT_PASS || r == SPF_RESULT_FAIL || r == SPF_RESULT_SOFTFAIL ||
	               r == SPF_RESULT_NEUTRAL;

	if (matched && !st->limit && !st->malformed)
		match_outcome(resp, domain, ip, out);
	else
		error_outcome(st, resp, SPF_response_errcode(resp), out);
}

/* evaluate - fetch the record (§4.4) and run it (§4.6), around libspf2's loopback shortcut */
static void evaluate(struct spf_checker *c, SPF_request_t *req, struct spf_state *st,
                     const char *ip, struct spf_outcome *out)
{
	SPF_response_t *resp = SPF_response_new(req);
	SPF_record_t *rec = NULL;
	SPF_errcode_t err;

	if (!resp)
		spf_oom();
	err = SPF_server_get_record(c->server, req, resp, &rec);
	st->evaluating = true;
	if (err != SPF_E_SUCCESS || !rec) {
		if (rec)
			SPF_record_free(rec);
		fetch_failed(st, resp, err, out->domain, out);
	} else {
		resp->spf_record_exp = rec;
		SPF_record_interpret(rec, req, resp, 0);
		SPF_record_free(rec);
		interpreted(st, resp, out->domain, ip, out);
	}
	SPF_response_free(resp);
}

/* request - libspf2's request for the identity, as its static SPF_request_prepare would set it */
static SPF_request_t *request(struct spf_checker *c, const char *client_ip, const char *helo,
                              const struct spf_identity *id, bool helo_identity)
{
	SPF_request_t *req = SPF_request_new(c->server);

	if (!req)
		spf_oom();
	if (set_client(req, client_ip) < 0) {
		SPF_request_free(req);
		return NULL;
	}
	if (helo[0] && SPF_request_set_helo_dom(req, helo) != SPF_E_SUCCESS)
		spf_oom();
	if (SPF_request_set_env_from(req, id->sender) != SPF_E_SUCCESS)
		spf_oom();
	req->use_helo = helo_identity;
	req->cur_dom = req->env_from_dp;
	return req;
}

/* run - evaluate with the per-check state where the DNS layer finds it */
static void run(struct spf_checker *c, SPF_request_t *req, const char *ip, struct spf_outcome *out)
{
	struct spf_state st;

	memset(&st, 0, sizeof(st));
	spf_current = &st;
	evaluate(c, req, &st, ip, out);
	spf_current = NULL;
	state_free(&st);
	SPF_request_free(req);
}

void spf_check(struct spf_checker *c, const char *client_ip, const char *helo,
               const char *mail_from, bool helo_identity, struct spf_outcome *out)
{
	struct spf_identity id;
	SPF_request_t *req;

	memset(out, 0, sizeof(*out));
	helo = helo ? helo : "";
	client_ip = client_ip ? client_ip : "";
	identity(helo, mail_from ? mail_from : "", helo_identity, &id);
	out->domain = xstrdup(id.domain);
	if (!domain_ok(id.domain))
		settle(out, SPFR_NONE,
		       xasprintf("\"%s\" is not a domain name to check", id.domain));
	else if (!(req = request(c, client_ip, helo, &id, helo_identity)))
		settle(out, SPFR_PERMERROR,
		       xasprintf("client address \"%s\" is not an IP address", client_ip));
	else
		run(c, req, client_ip, out);
	free(id.domain);
	free(id.sender);
}
