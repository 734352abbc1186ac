/*
 * dkim_verify - DKIM verification with libopendkim (see dkim_verify.h).
 *
 * libopendkim canonicalizes and checks the cryptography; this file feeds
 * it the message, answers its key queries through our struct dns_lookup,
 * and turns its per-signature state into RFC 8601 results and facts.
 *
 * Ownership: struct dkim_verifier owns the DKIM_LIB and is written only
 * in dkim_verifier_new, so it is also libopendkim's DNS service handle,
 * shared read-only by every thread. Each message has its own DKIM handle
 * (freed before dkim_verify_message returns) and each key query its own
 * struct key_query, made by query_start and freed by query_cancel, which
 * libopendkim calls after every query.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <dkim.h>

#include "common/dns.h"
#include "common/xalloc.h"
#include "filters/dkim_verify.h"
#include "filters/facts.h"

/* ---- DNS packets (RFC 1035 §4.1) ---- */

enum {
	PKT_HEADER_LEN = 12,
	PKT_CLASS_IN = 1,
	PKT_NAME_MAX = 255, /* wire octets (RFC 1035 §2.3.4) */
	PKT_LABEL_MAX = 63,
	PKT_QNAME_OFFSET = 12, /* where the question name starts */
	PKT_RR_FIXED = 10,     /* type, class, TTL, rdlength */
};

/* header flags (RFC 1035 §4.1.1; AD: RFC 4035 §3.2.3) */
#define PKT_FLAG_QR     0x8000u
#define PKT_OPCODE_MASK 0x7800u
#define PKT_FLAG_TC     0x0200u
#define PKT_FLAG_RD     0x0100u
#define PKT_FLAG_RA     0x0080u
#define PKT_FLAG_AD     0x0020u

/* rcodes (RFC 1035 §4.1.1) */
#define PKT_RCODE_NOERROR  0u
#define PKT_RCODE_SERVFAIL 2u
#define PKT_RCODE_NXDOMAIN 3u
#define PKT_RCODE_REFUSED  5u

/* a bounded writer: what does not fit is remembered, never written */
struct pkt {
	unsigned char *p;
	size_t len, cap;
	bool overflow;
};

static void pkt_put(struct pkt *w, const void *data, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, data, n);
	w->len += n;
}

static void pkt_put16(struct pkt *w, unsigned v)
{
	unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};

	pkt_put(w, b, 2);
}

static unsigned get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* pkt_put_name - name as labels (RFC 1035 §3.1); false when it is no valid name */
static bool pkt_put_name(struct pkt *w, const char *name)
{
	size_t n = strlen(name), start = 0, wire = 1;

	if (n > 0 && name[n - 1] == '.')
		n--;
	while (n > 0 && start <= n) {
		const char *dot = memchr(name + start, '.', n - start);
		size_t end = dot ? (size_t)(dot - name) : n;
		unsigned char label = (unsigned char)(end - start);

		if (end == start || end - start > PKT_LABEL_MAX)
			return false;
		wire += end - start + 1;
		if (wire > PKT_NAME_MAX)
			return false;
		pkt_put(w, &label, 1);
		pkt_put(w, name + start, end - start);
		start = end + 1;
	}
	pkt_put(w, "", 1);
	return true;
}

/*
 * txt_rdata_ok - rdata is one or more character-strings filling it exactly
 * (RFC 1035 §3.3.14), none holding a NUL: a key record is text (RFC 6376
 * §3.6.2.2) and libopendkim reads it as a C string, so a NUL would cut it
 * short unseen.
 */
static bool txt_rdata_ok(const unsigned char *r, size_t len)
{
	size_t i = 0;

	if (len == 0 || len > 0xffff)
		return false;
	while (i < len) {
		size_t n = r[i++];

		if (n > len - i || memchr(r + i, '\0', n) != NULL)
			return false;
		i += n;
	}
	return true;
}

static unsigned reply_rcode(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
	case DNS_NODATA:
		return PKT_RCODE_NOERROR;
	case DNS_NXDOMAIN:
		return PKT_RCODE_NXDOMAIN;
	case DNS_TEMPFAIL:
		return PKT_RCODE_SERVFAIL;
	case DNS_PERMFAIL:
		break;
	}
	return PKT_RCODE_REFUSED;
}

/* usable_records - how many of a's records go into the reply */
static size_t usable_records(const struct dns_answer *a)
{
	size_t n = 0;

	if (a->status != DNS_OK)
		return 0;
	for (size_t i = 0; i < a->count; i++)
		n += txt_rdata_ok(a->data[i], a->len[i]);
	return n;
}

/* put_txt_rr - one answer record; its owner is the question's name (RFC 1035 §4.1.4 pointer) */
static void put_txt_rr(struct pkt *w, const unsigned char *rdata, size_t len)
{
	pkt_put16(w, 0xc000u | PKT_QNAME_OFFSET);
	pkt_put16(w, DNS_TYPE_TXT);
	pkt_put16(w, PKT_CLASS_IN);
	/* TTL 0: the resolver keeps the cache, this packet is read once */
	pkt_put16(w, 0);
	pkt_put16(w, 0);
	pkt_put16(w, (unsigned)len);
	pkt_put(w, rdata, len);
}

size_t dkim_verify_reply_build(const char *name, const struct dns_answer *a, unsigned char *buf,
                               size_t cap)
{
	struct pkt w = {.p = buf, .cap = cap};
	unsigned flags = PKT_FLAG_QR | PKT_FLAG_RD | PKT_FLAG_RA | reply_rcode(a->status);
	size_t n = usable_records(a);

	if (n > 0xffff)
		return 0;
	if (a->secure && a->status == DNS_OK)
		flags |= PKT_FLAG_AD;
	pkt_put16(&w, 0); /* ID: nothing matches on it, the packet never travels */
	pkt_put16(&w, flags);
	pkt_put16(&w, 1);
	pkt_put16(&w, (unsigned)n);
	pkt_put16(&w, 0);
	pkt_put16(&w, 0);
	if (!pkt_put_name(&w, name))
		return 0;
	pkt_put16(&w, DNS_TYPE_TXT);
	pkt_put16(&w, PKT_CLASS_IN);
	for (size_t i = 0; n > 0 && i < a->count; i++)
		if (txt_rdata_ok(a->data[i], a->len[i]))
			put_txt_rr(&w, a->data[i], a->len[i]);
	return w.overflow ? 0 : w.len;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* name_label - append the label at pkt[pos] (length byte first) to out as text */
static bool name_label(const unsigned char *pkt, size_t pos, char *out, size_t *olen)
{
	size_t n = pkt[pos];

	if (*olen > 0)
		out[(*olen)++] = '.';
	for (size_t i = 1; i <= n; i++) {
		char c = (char)pkt[pos + i];

		/* a dot or NUL inside a label has no text form to compare */
		if (c == '.' || c == '\0')
			return false;
		out[(*olen)++] = lower(c);
	}
	return true;
}

/*
 * read_name - the name at *off as lowercase dotted text (root: ""), *off
 * moved past it. A compression pointer must point before the run of labels
 * it ends, so every jump goes further back and reading always ends
 * (RFC 1035 §4.1.4).
 */
static bool read_name(const unsigned char *pkt, size_t len, size_t *off, char out[PKT_NAME_MAX + 1])
{
	size_t pos = *off, run = *off, end = 0, olen = 0, wire = 1;

	for (;;) {
		unsigned c;

		if (pos >= len)
			return false;
		c = pkt[pos];
		if (c == 0)
			break;
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= len || (target = (c & 0x3fu) << 8 | pkt[pos + 1]) >= run)
				return false;
			if (end == 0)
				end = pos + 2;
			pos = run = target;
			continue;
		}
		/* 0x40 and 0x80 label types are not for names in answers (RFC 6891 §5) */
		if (c > PKT_LABEL_MAX || c >= len - pos || (wire += c + 1) > PKT_NAME_MAX)
			return false;
		if (!name_label(pkt, pos, out, &olen))
			return false;
		pos += c + 1;
	}
	out[olen] = '\0';
	*off = end ? end : pos + 1;
	return true;
}

/* same_name - text from read_name equals name, any case, trailing dot or not */
static bool same_name(const char *got, const char *name)
{
	size_t n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	return strlen(got) == n && strncasecmp(got, name, n) == 0;
}

/* read_rr - step over one resource record; in the answer section a TXT must be well-formed */
static const char *read_rr(const unsigned char *pkt, size_t len, size_t *off, bool answer)
{
	char owner[PKT_NAME_MAX + 1];
	size_t rdlen;

	if (!read_name(pkt, len, off, owner) || len - *off < PKT_RR_FIXED)
		return "record malformed";
	rdlen = get16(pkt + *off + 8);
	if (rdlen > len - *off - PKT_RR_FIXED)
		return "record runs past the packet";
	if (answer && get16(pkt + *off) == DNS_TYPE_TXT &&
	    !txt_rdata_ok(pkt + *off + PKT_RR_FIXED, rdlen))
		return "TXT record malformed";
	*off += PKT_RR_FIXED + rdlen;
	return NULL;
}

/* check_question - the one question is TXT IN for name; *off moved past it */
static const char *check_question(const unsigned char *pkt, size_t len, size_t *off,
                                  const char *name)
{
	char got[PKT_NAME_MAX + 1];

	if (get16(pkt + 4) != 1)
		return "not one question";
	if (!read_name(pkt, len, off, got) || len - *off < 4)
		return "question malformed";
	if (!same_name(got, name))
		return "answers another name";
	if (get16(pkt + *off) != DNS_TYPE_TXT || get16(pkt + *off + 2) != PKT_CLASS_IN)
		return "question is not TXT IN";
	*off += 4;
	return NULL;
}

const char *dkim_verify_reply_check(const unsigned char *pkt, size_t len, const char *name)
{
	size_t off = PKT_HEADER_LEN, answers, records;
	unsigned flags;
	const char *why;

	if (len < PKT_HEADER_LEN)
		return "shorter than a DNS header";
	flags = get16(pkt + 2);
	if (!(flags & PKT_FLAG_QR) || (flags & PKT_OPCODE_MASK))
		return "not a reply to a query";
	if (flags & PKT_FLAG_TC)
		return "truncated";
	if ((why = check_question(pkt, len, &off, name)) != NULL)
		return why;
	answers = get16(pkt + 6);
	records = answers + get16(pkt + 8) + get16(pkt + 10);
	for (size_t i = 0; i < records; i++)
		if ((why = read_rr(pkt, len, &off, i < answers)) != NULL)
			return why;
	return NULL;
}

/* ---- libopendkim's key queries ---- */

struct dkim_verifier {
	DKIM_LIB *lib;
	struct dns_lookup dns;
};

/* one query: libopendkim's reply buffer and what waitreply reports */
struct key_query {
	char *name;
	unsigned char *buf;
	size_t cap;
	bool done;
	int status; /* DKIM_DNS_* */
	size_t len;
	int dnssec; /* DKIM_DNSSEC_* */
};

/* reply_from - the resolver's own packet into q->buf when it is sound; its length or 0 */
static size_t reply_from(struct key_query *q, const struct dns_answer *a)
{
	/* a DNSSEC-bogus packet still holds its records: PERMFAIL never uses it */
	if (a->status == DNS_PERMFAIL || a->packet == NULL || a->packet_len > q->cap ||
	    dkim_verify_reply_check(a->packet, a->packet_len, q->name) != NULL)
		return 0;
	memcpy(q->buf, a->packet, a->packet_len);
	return a->packet_len;
}

/*
 * reply_for - the reply to q in q->buf: the resolver's packet, else one
 * built from its records (a table-backed lookup has no packet). A reply
 * too large for libopendkim's buffer holds no usable key (RFC 6376
 * §3.6.2.2 wants one record): it goes as NODATA, "no key".
 */
static size_t reply_for(struct key_query *q, const struct dns_answer *a)
{
	struct dns_answer none = {.status = DNS_NODATA};
	size_t n = reply_from(q, a);

	if (n == 0)
		n = dkim_verify_reply_build(q->name, a, q->buf, q->cap);
	if (n == 0)
		n = dkim_verify_reply_build(q->name, &none, q->buf, q->cap);
	return n;
}

/* name_valid - q's name can be asked at all */
static bool name_valid(const char *name)
{
	unsigned char scratch[PKT_NAME_MAX + 1];
	struct pkt w = {.p = scratch, .cap = sizeof(scratch)};

	return pkt_put_name(&w, name);
}

/*
 * key_query_run - ask the resolver. libopendkim reads DKIM_DNS_EXPIRED and
 * DKIM_DNS_ERROR as a key it could not fetch (temperror, RFC 6376 §6.1.2
 * step 3) and NXDOMAIN or an empty answer as no key (permerror). A name
 * that cannot exist (an empty label in s=) is no key: it is answered as
 * NXDOMAIN for the root, since it has no wire form.
 */
static void key_query_run(const struct dkim_verifier *v, struct key_query *q)
{
	struct dns_answer a = {0};

	q->dnssec = DKIM_DNSSEC_UNKNOWN;
	if (!name_valid(q->name)) {
		a.status = DNS_NXDOMAIN;
		q->len = dkim_verify_reply_build("", &a, q->buf, q->cap);
	} else if (v->dns.query(v->dns.ctx, q->name, DNS_TYPE_TXT, &a) != 0) {
		q->status = DKIM_DNS_ERROR;
	} else if (a.status == DNS_TEMPFAIL) {
		q->status = DKIM_DNS_EXPIRED;
	} else {
		q->len = reply_for(q, &a);
		if (a.secure && a.status == DNS_OK)
			q->dnssec = DKIM_DNSSEC_SECURE;
	}
	if (q->status == DKIM_DNS_SUCCESS && q->len == 0)
		q->status = DKIM_DNS_ERROR;
	dns_answer_free(&a);
}

/* query_start - only note the question: the asking is done in waitreply */
static int query_start(void *srv, int type, unsigned char *name, unsigned char *buf, size_t cap,
                       void **qh)
{
	struct key_query *q;

	(void)srv;
	if (type != DNS_TYPE_TXT || name == NULL || buf == NULL || cap == 0)
		return DKIM_DNS_ERROR;
	q = xcalloc(1, sizeof(*q));
	q->name = xstrdup((const char *)name);
	q->buf = buf;
	q->cap = cap;
	q->status = DKIM_DNS_SUCCESS;
	*qh = q;
	return DKIM_DNS_SUCCESS;
}

/*
 * query_waitreply - libopendkim's timeout is not used: a dns_lookup answers
 * within the resolver's own deadline (dns.h), a late answer is TEMPFAIL.
 */
static int query_waitreply(void *srv, void *qh, struct timeval *timeout, size_t *bytes, int *error,
                           int *dnssec)
{
	struct key_query *q = qh;

	(void)timeout;
	if (!q->done) {
		key_query_run(srv, q);
		q->done = true;
	}
	if (bytes)
		*bytes = q->len;
	if (error)
		*error = 0;
	if (dnssec)
		*dnssec = q->dnssec;
	return q->status;
}

static int query_cancel(void *srv, void *qh)
{
	struct key_query *q = qh;

	(void)srv;
	if (q) {
		free(q->name);
		free(q);
	}
	return DKIM_DNS_SUCCESS;
}

/* set_dns_hooks - every key query goes to v->dns; v is the service handle */
static void set_dns_hooks(struct dkim_verifier *v)
{
	(void)dkim_dns_set_query_service(v->lib, v);
	dkim_dns_set_query_start(v->lib, query_start);
	dkim_dns_set_query_waitreply(v->lib, query_waitreply);
	dkim_dns_set_query_cancel(v->lib, query_cancel);
	/* the defaults take the service handle for a res_state: never on v */
	dkim_dns_set_init(v->lib, NULL);
	dkim_dns_set_close(v->lib, NULL);
	dkim_dns_set_nslist(v->lib, NULL);
	dkim_dns_set_config(v->lib, NULL);
	dkim_dns_set_trustanchor(v->lib, NULL);
}

/*
 * set_options - BADSIGHANDLES: a malformed DKIM-Signature is listed with its
 * error rather than dropped, so it is seen; VERIFYONE stays off, so every
 * signature is checked, not only up to the first good one (RFC 6376 §6.1).
 */
static bool set_options(DKIM_LIB *lib)
{
	uint32_t flags = DKIM_LIBFLAGS_BADSIGHANDLES;
	unsigned minbits = DKIM_VERIFY_MIN_RSA_BITS;

	return dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags)) ==
	           DKIM_STAT_OK &&
	       dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &minbits, sizeof(minbits)) ==
	           DKIM_STAT_OK;
}

struct dkim_verifier *dkim_verifier_new(const struct dns_lookup *dns, char **error_r)
{
	struct dkim_verifier *v = xcalloc(1, sizeof(*v));

	v->dns = *dns;
	v->lib = dkim_init(NULL, NULL);
	if (v->lib == NULL) {
		*error_r = xstrdup("libopendkim: dkim_init failed");
		free(v);
		return NULL;
	}
	if (!set_options(v->lib)) {
		*error_r = xstrdup("libopendkim: an option was refused");
		dkim_close(v->lib);
		free(v);
		return NULL;
	}
	set_dns_hooks(v);
	return v;
}

void dkim_verifier_free(struct dkim_verifier *v)
{
	if (v == NULL)
		return;
	dkim_close(v->lib);
	free(v);
}

/* ---- the message ---- */

/* lwsp - a line starting with one of these continues a header field, as libopendkim reads it */
static bool lwsp(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

static bool space(char c)
{
	return lwsp(c) || c == '\r' || c == '\n';
}

/* field_end - just past the header field at off: its CR LF and continuation lines */
static size_t field_end(const char *msg, size_t len, size_t off)
{
	for (;;) {
		const char *crlf = memmem(msg + off, len - off, "\r\n", 2);

		if (crlf == NULL)
			return len;
		off = (size_t)(crlf - msg) + 2;
		if (off >= len || !lwsp(msg[off]))
			return off;
	}
}

/* is_signature - the field is a DKIM-Signature: its name, trailing space dropped, in any case */
static bool is_signature(const char *field, size_t n)
{
	const char *colon = memchr(field, ':', n);
	size_t name;

	if (colon == NULL)
		return false;
	name = (size_t)(colon - field);
	while (name > 0 && space(field[name - 1]))
		name--;
	return name == strlen(DKIM_SIGNHEADER) && strncasecmp(field, DKIM_SIGNHEADER, name) == 0;
}

/* chunk - n bytes to libopendkim; none is no call (a zero-length chunk means the end) */
static DKIM_STAT chunk(DKIM *d, const char *p, size_t n)
{
	/* libopendkim takes the bytes as unsigned char * and only reads them */
	return n ? dkim_chunk(d, (unsigned char *)p, n) : DKIM_STAT_OK;
}

struct fed {
	size_t nsigs; /* DKIM-Signature fields in the header */
	size_t body;  /* offset of the body; len when there is none */
};

/*
 * feed - the message to libopendkim, leaving out the DKIM-Signature fields
 * past DKIM_VERIFY_MAX_SIGS: each costs a key query and a hash, so an
 * attacker could otherwise buy unbounded work with header bytes (RFC 6376
 * §6.1 lets a verifier limit the signatures it tries). Fields are split
 * as libopendkim splits them, and a field it would drop as malformed still
 * counts, so it never sees more signatures than counted here.
 */
static DKIM_STAT feed(DKIM *d, const char *msg, size_t len, struct fed *f)
{
	size_t off = 0, run = 0;
	DKIM_STAT st;

	f->nsigs = 0;
	f->body = len;
	while (off < len && !(len - off >= 2 && msg[off] == '\r' && msg[off + 1] == '\n')) {
		size_t end = field_end(msg, len, off);

		if (is_signature(msg + off, end - off) && ++f->nsigs > DKIM_VERIFY_MAX_SIGS) {
			if ((st = chunk(d, msg + run, off - run)) != DKIM_STAT_OK)
				return st;
			run = end;
		}
		off = end;
	}
	f->body = off < len ? off + 2 : len;
	return chunk(d, msg + run, len - run);
}

/* finished - st leaves every signature with a state of its own to report */
static bool finished(DKIM_STAT st)
{
	switch (st) {
	case DKIM_STAT_OK:
	case DKIM_STAT_NOSIG:
	case DKIM_STAT_BADSIG:
	case DKIM_STAT_NOKEY:
	case DKIM_STAT_KEYFAIL:
	case DKIM_STAT_REVOKED:
	case DKIM_STAT_CANTVRFY:
		return true;
	}
	return false;
}

static char *lib_error(DKIM *d, DKIM_STAT st)
{
	const char *what = dkim_getresultstr(st), *detail = d ? dkim_geterror(d) : NULL;

	return xasprintf("libopendkim: %s%s%s", what ? what : "error", detail ? ": " : "",
	                 detail ? detail : "");
}

/* ---- one signature ---- */

/* the result of each libopendkim signature error; the rest are syntax: neutral */
static const struct {
	int error;
	enum dkim_sig_result result;
} error_results[] = {
    /* the key could not be fetched now (RFC 6376 §6.1.2 step 3) */
    {.error = DKIM_SIGERROR_KEYFAIL, .result = DKIMR_TEMPERROR},
    /* no key, or a key record that cannot be used (RFC 6376 §6.1.2) */
    {.error = DKIM_SIGERROR_NOKEY, .result = DKIMR_PERMERROR},
    {.error = DKIM_SIGERROR_DNSSYNTAX, .result = DKIMR_PERMERROR},
    {.error = DKIM_SIGERROR_MULTIREPLY, .result = DKIMR_PERMERROR},
    {.error = DKIM_SIGERROR_KEYVERSION, .result = DKIMR_PERMERROR},
    {.error = DKIM_SIGERROR_KEYUNKNOWNHASH, .result = DKIMR_PERMERROR},
    {.error = DKIM_SIGERROR_KEYHASHMISMATCH, .result = DKIMR_PERMERROR},
    {.error = DKIM_SIGERROR_NOTEMAILKEY, .result = DKIMR_PERMERROR},
    {.error = DKIM_SIGERROR_KEYTYPEMISSING, .result = DKIMR_PERMERROR},
    {.error = DKIM_SIGERROR_KEYTYPEUNKNOWN, .result = DKIMR_PERMERROR},
    {.error = DKIM_SIGERROR_KEYREVOKED, .result = DKIMR_PERMERROR},
    {.error = DKIM_SIGERROR_KEYDECODE, .result = DKIMR_PERMERROR},
    /* checked and found wanting (RFC 6376 §3.5 t= x=, §6.1.3; RFC 8301 §3.2) */
    {.error = DKIM_SIGERROR_BADSIG, .result = DKIMR_FAIL},
    {.error = DKIM_SIGERROR_EXPIRED, .result = DKIMR_FAIL},
    {.error = DKIM_SIGERROR_FUTURE, .result = DKIMR_FAIL},
    {.error = DKIM_SIGERROR_KEYTOOSMALL, .result = DKIMR_FAIL},
    {.error = DKIM_SIGERROR_TOOLARGE_L, .result = DKIMR_FAIL},
    {.error = DKIM_SIGERROR_SUBDOMAIN, .result = DKIMR_FAIL},
    {.error = DKIM_SIGERROR_MBSFAILED, .result = DKIMR_FAIL},
    {.error = DKIM_SIGERROR_CONDITIONAL, .result = DKIMR_FAIL},
};

/* error_result - RFC 8601 §2.7.1: syntax errors are "neutral" */
static enum dkim_sig_result error_result(int err)
{
	for (size_t i = 0; i < sizeof(error_results) / sizeof(error_results[0]); i++)
		if (error_results[i].error == err)
			return error_results[i].result;
	return DKIMR_NEUTRAL;
}

static const char *error_text(int err)
{
	const char *s = dkim_sig_geterrorstr(err);

	return s ? s : "unknown signature error";
}

/* weak_rsa - an RSA key was loaded and is too short (RFC 8301 §3.2) */
static bool weak_rsa(DKIM_SIGINFO *sig, unsigned bits)
{
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;

	dkim_sig_getsignalg(sig, &alg);
	return alg != DKIM_SIGN_ED25519SHA256 && bits > 0 && bits < DKIM_VERIFY_MIN_RSA_BITS;
}

/* verified - the result of a signature that checked out */
static enum dkim_sig_result verified(DKIM_SIGINFO *sig, const char **reason)
{
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;

	dkim_sig_getsignalg(sig, &alg);
	/* RFC 8301 §3.1: rsa-sha1 MUST NOT be used for verifying */
	if (alg == DKIM_SIGN_RSASHA1) {
		*reason = "rsa-sha1 is not acceptable (RFC 8301)";
		return DKIMR_POLICY;
	}
	*reason = "ok";
	return DKIMR_PASS;
}

/* classify - the RFC 8601 result of sig and why */
static enum dkim_sig_result classify(DKIM_SIGINFO *sig, unsigned bits, const char **reason)
{
	unsigned flags = dkim_sig_getflags(sig);
	int err = dkim_sig_geterror(sig), bh = dkim_sig_getbh(sig);

	if (flags & DKIM_SIGFLAG_IGNORE) {
		*reason = "signature ignored";
		return DKIMR_NEUTRAL;
	}
	if (weak_rsa(sig, bits)) {
		*reason = "RSA key shorter than 1024 bits (RFC 8301)";
		return DKIMR_FAIL;
	}
	if (err == DKIM_SIGERROR_BADSIG && bh == DKIM_SIGBH_MISMATCH) {
		*reason = "body hash did not verify";
		return DKIMR_FAIL;
	}
	if (err != DKIM_SIGERROR_OK && err != DKIM_SIGERROR_UNKNOWN) {
		*reason = error_text(err);
		return error_result(err);
	}
	/* libopendkim stopped before this one (a library error, see out->error) */
	if (!(flags & DKIM_SIGFLAG_PASSED) || bh != DKIM_SIGBH_MATCH) {
		*reason = "not evaluated";
		return DKIMR_TEMPERROR;
	}
	return verified(sig, reason);
}

static const char *sig_tag(DKIM_SIGINFO *sig, const char *tag)
{
	const unsigned char *v = dkim_sig_gettagvalue(sig, 0, (unsigned char *)tag);

	return v ? (const char *)v : "";
}

static char *lower_dup(const char *s)
{
	char *d = xstrdup(s);

	for (char *p = d; *p; p++)
		*p = lower(*p);
	return d;
}

/*
 * unsigned_tail - canonical body bytes past what sig signed; -1 without l=.
 * libopendkim counts the signed bytes, but its total is of the raw body,
 * which canonicalization shortens (trailing blanks, blank lines): the
 * canonical total is measured here.
 */
static long long unsigned_tail(DKIM *d, DKIM_SIGINFO *sig, const char *body, size_t blen)
{
	ssize_t signed_len, limit;
	dkim_canon_t hc, bc;
	size_t total;

	if (dkim_sig_getcanonlen(d, sig, NULL, &signed_len, &limit) != DKIM_STAT_OK || limit < 0 ||
	    signed_len < 0)
		return -1;
	dkim_sig_getcanons(sig, &hc, &bc);
	total = dkim_verify_body_canonlen(body, blen, bc == DKIM_CANON_RELAXED);
	return total > (size_t)signed_len ? (long long)(total - (size_t)signed_len) : 0;
}

static void sig_outcome(DKIM *d, DKIM_SIGINFO *sig, const char *body, size_t blen,
                        struct dkim_sig_outcome *o)
{
	const unsigned char *domain = dkim_sig_getdomain(sig), *sel = dkim_sig_getselector(sig);
	const char *reason;
	unsigned bits = 0;

	o->domain = lower_dup(domain ? (const char *)domain : sig_tag(sig, "d"));
	o->selector = xstrdup(sel ? (const char *)sel : sig_tag(sig, "s"));
	o->algorithm = xstrdup(sig_tag(sig, "a"));
	if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		o->key_bits = bits;
	o->unsigned_tail = unsigned_tail(d, sig, body, blen);
	o->result = classify(sig, o->key_bits, &reason);
	o->reason = xstrdup(reason);
}

/* collect - an outcome for each signature libopendkim listed */
static void collect(DKIM *d, const char *body, size_t blen, struct dkim_outcome *out)
{
	DKIM_SIGINFO **sigs = NULL;
	int n = 0;

	if (dkim_getsiglist(d, &sigs, &n) != DKIM_STAT_OK || sigs == NULL || n <= 0)
		return;
	out->sigs = xcalloc((size_t)n, sizeof(*out->sigs));
	for (int i = 0; i < n; i++)
		sig_outcome(d, sigs[i], body, blen, &out->sigs[out->count++]);
}

void dkim_verify_message(struct dkim_verifier *v, const char *msg, size_t len,
                         struct dkim_outcome *out)
{
	struct fed f = {0};
	DKIM_STAT st;
	DKIM *d;

	memset(out, 0, sizeof(*out));
	d = dkim_verify(v->lib, (const unsigned char *)"sekisho", NULL, &st);
	if (d == NULL) {
		out->error = lib_error(NULL, st);
		return;
	}
	st = feed(d, msg, len, &f);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(d, NULL, 0);
	if (st == DKIM_STAT_OK)
		st = dkim_eom(d, NULL);
	out->limit_exceeded = f.nsigs > DKIM_VERIFY_MAX_SIGS;
	if (!finished(st))
		out->error = lib_error(d, st);
	collect(d, msg + f.body, len - f.body, out);
	dkim_free(d);
}

void dkim_outcome_free(struct dkim_outcome *o)
{
	for (size_t i = 0; i < o->count; i++) {
		free(o->sigs[i].domain);
		free(o->sigs[i].selector);
		free(o->sigs[i].algorithm);
		free(o->sigs[i].reason);
	}
	free(o->sigs);
	free(o->error);
	memset(o, 0, sizeof(*o));
}

const char *dkim_sig_result_name(enum dkim_sig_result r)
{
	switch (r) {
	case DKIMR_PASS:
		return "pass";
	case DKIMR_FAIL:
		return "fail";
	case DKIMR_NEUTRAL:
		return "neutral";
	case DKIMR_TEMPERROR:
		return "temperror";
	case DKIMR_PERMERROR:
		return "permerror";
	case DKIMR_POLICY:
		return "policy";
	}
	return "permerror";
}

/* ---- facts ---- */

static void record_sig(const struct dkim_sig_outcome *s, struct facts *f)
{
	facts_add_str(f, "dkim.result", dkim_sig_result_name(s->result));
	facts_add_str(f, "dkim.domain", s->domain);
	facts_add_str(f, "dkim.selector", s->selector);
	facts_add_str(f, "dkim.algorithm", s->algorithm);
	facts_add_str(f, "dkim.reason", s->reason);
	facts_add_num(f, "dkim.key_bits", s->key_bits);
	if (s->result != DKIMR_PASS)
		return;
	facts_add_str(f, "dkim.pass_domain", s->domain);
	if (s->unsigned_tail > 0)
		facts_add_num(f, "dkim.partial", (double)s->unsigned_tail);
}

void dkim_record_facts(const struct dkim_outcome *o, struct facts *facts)
{
	if (o->count == 0)
		facts_add_str(facts, "dkim.result", o->error ? "temperror" : "none");
	for (size_t i = 0; i < o->count; i++)
		record_sig(&o->sigs[i], facts);
	/* in dkim.error too: a field the rules know (rules/rule_parser.c) */
	if (o->limit_exceeded) {
		facts_add_str(facts, "dkim.limit_exceeded", "yes");
		facts_add_str(facts, "dkim.error", DKIM_VERIFY_LIMIT_ERROR);
	}
	if (o->error)
		facts_add_str(facts, "dkim.error", o->error);
}

/* ---- canonical body length (RFC 6376 §3.4.3, §3.4.4) ---- */

/*
 * relaxed_line_len - a line with runs of WSP as one SP and, when it ends
 * in CR LF, none at its end; a last line without CR LF keeps a trailing
 * run as one SP, as dkimpy canonicalizes (unseen in SMTP mail, which
 * always ends in CR LF)
 */
static size_t relaxed_line_len(const char *line, size_t n, bool terminated)
{
	size_t out = 0;
	bool wsp = false;

	for (size_t i = 0; i < n; i++) {
		if (line[i] == ' ' || line[i] == '\t') {
			wsp = true;
			continue;
		}
		out += wsp ? 2 : 1;
		wsp = false;
	}
	return out + (wsp && !terminated);
}

size_t dkim_verify_body_canonlen(const char *body, size_t len, bool relaxed)
{
	size_t total = 0, blank = 0, i = 0;

	while (i < len) {
		const char *crlf = memmem(body + i, len - i, "\r\n", 2);
		size_t end = crlf ? (size_t)(crlf - body) : len;
		size_t n = relaxed ? relaxed_line_len(body + i, end - i, crlf != NULL) : end - i;

		/* empty lines count only once something follows them: trailing
		 * ones are dropped; a last line without CR LF gets one */
		if (n == 0) {
			blank += 2;
		} else {
			total += blank + n + 2;
			blank = 0;
		}
		i = crlf ? end + 2 : len;
	}
	/* an empty body is CR LF in simple form, nothing in relaxed */
	if (total == 0)
		return relaxed ? 0 : 2;
	return total;
}
