/*
 * fuzz_spf_record - the SPF record grammar checker, and libspf2 behind it.
 *
 * The input is one TXT string (up to its first NUL). Invariants:
 * spf_record_syntax_ok never crashes; a record it accepts is within the
 * bounds, starts with "v=spf1", holds only printable ASCII, and every '%'
 * in it opens "%%", "%_", "%-" or a "%{...}" closed in the same term; a
 * record it refuses has a reason. Then spf_check runs with a DNS that
 * serves the input as the TXT record of every name and answers every
 * other question, so whatever the grammar lets through is compiled and
 * expanded by libspf2: a refused "v=spf1" record must end in permerror,
 * a string that is no SPF record in none.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/dns.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "filters/spf_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_record;

/* macros_closed - every '%' opens an escape, or a macro closed before the term ends */
static bool macros_closed(const char *s)
{
	for (; *s; s++) {
		if (*s != '%')
			continue;
		s++;
		if (*s == '%' || *s == '_' || *s == '-')
			continue;
		if (*s != '{')
			return false;
		while (*s && *s != '}' && *s != ' ')
			s++;
		if (*s != '}')
			return false;
	}
	return true;
}

/* check_grammar - the contract of spf_record_syntax_ok for rec */
static void check_grammar(const char *rec, bool ok, const char *why)
{
	size_t n = strlen(rec);

	if (!ok) {
		if (!why || !why[0])
			abort();
		return;
	}
	if (why || n > SPF_RECORD_MAX_LEN || strncasecmp(rec, "v=spf1", 6) != 0)
		abort();
	if (rec[6] != '\0' && rec[6] != ' ')
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)rec[i] < 0x20 || (unsigned char)rec[i] > 0x7e)
			abort();
	if (!macros_closed(rec))
		abort();
}

/* txt_rdata - the record as TXT strings of up to 255 octets */
static void txt_rdata(const char *text, struct dns_answer *out)
{
	size_t n = strlen(text), len = 0;
	unsigned char *p = xmalloc(n + n / 255 + 1);

	do {
		size_t chunk = n > 255 ? 255 : n;

		p[len++] = (unsigned char)chunk;
		memcpy(p + len, text, chunk);
		len += chunk;
		text += chunk;
		n -= chunk;
	} while (n > 0);
	out->data[0] = p;
	out->len[0] = len;
}

/* one_record - an answer of one record (data NULL: filled by the caller) */
static void one_record(struct dns_answer *out, const void *data, size_t len)
{
	out->status = DNS_OK;
	out->count = 1;
	out->data = xcalloc(1, sizeof(*out->data));
	out->len = xcalloc(1, sizeof(*out->len));
	if (data) {
		out->data[0] = xmalloc(len);
		memcpy(out->data[0], data, len);
		out->len[0] = len;
	}
}

/* fuzz_query - the input for every TXT name; an answer for every A, MX and PTR */
static int fuzz_query(void *ctx, const char *name, int type, struct dns_answer *out)
{
	static const unsigned char a[4] = {192, 0, 2, 1};
	static const unsigned char mx[] = "\0\012\002mx\004fuzz\007example";
	static const unsigned char ptr[] = "\004host\004fuzz\007example";

	(void)ctx;
	(void)name;
	memset(out, 0, sizeof(*out));
	switch (type) {
	case DNS_TYPE_TXT:
		one_record(out, NULL, 0);
		txt_rdata(fuzz_record, out);
		break;
	case DNS_TYPE_A:
		one_record(out, a, sizeof(a));
		break;
	case DNS_TYPE_MX:
		one_record(out, mx, sizeof(mx));
		break;
	case DNS_TYPE_PTR:
		one_record(out, ptr, sizeof(ptr));
		break;
	default:
		out->status = DNS_NODATA;
		break;
	}
	return 0;
}

/* fuzz_checker - one checker for the whole run */
static struct spf_checker *fuzz_checker(void)
{
	static struct spf_checker *c;
	struct dns_lookup dns = {.query = fuzz_query, .ctx = NULL};
	char *error = NULL;

	if (!c) {
		log_mute(true);
		c = spf_checker_new(&dns, &error);
		if (!c)
			abort();
	}
	return c;
}

/* check_evaluation - spf_check with rec served for the sender's domain */
static void check_evaluation(const char *rec, bool ok, const char *ip)
{
	struct spf_outcome o;
	bool spf = strncasecmp(rec, "v=spf1", 6) == 0 && (rec[6] == '\0' || rec[6] == ' ');

	spf_check(fuzz_checker(), ip, "mta.fuzz.example", "strong-bad+x@fuzz.example", false, &o);
	if (!o.reason || !o.domain || strcmp(o.domain, "fuzz.example") != 0)
		abort();
	if (!spf && o.result != SPFR_NONE)
		abort();
	if (spf && !ok && o.result != SPFR_PERMERROR)
		abort();
	spf_outcome_free(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = "unset";
	char *rec;
	bool ok;

	if (size > 2 * SPF_RECORD_MAX_LEN)
		return 0;
	rec = xstrndup((const char *)data, size);
	ok = spf_record_syntax_ok(rec, &why);
	check_grammar(rec, ok, why);
	fuzz_record = rec;
	check_evaluation(rec, ok, "192.0.2.3");
	check_evaluation(rec, ok, "2001:db8::3");
	fuzz_record = NULL;
	free(rec);
	return 0;
}
