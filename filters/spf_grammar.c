/*
 * spf_grammar - the grammar of an SPF record (RFC 7208 §4.6.1, §5, §6,
 * §7.1), checked before libspf2 sees the record (see spf_check.h,
 * spf_record_syntax_ok). Debian's libspf2 lacks the fix for a macro
 * parsing underflow (CVE-2023-42118), so macros are checked strictly here;
 * the rest only as far as libspf2 needs.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "filters/spf_check.h"

bool spf_is_record(const char *text)
{
	return strncasecmp(text, "v=spf1", 6) == 0 && (text[6] == ' ' || text[6] == '\0');
}

/* §7.1 minus c, r and t, which belong to explanations (never fetched here) */
static const char macro_letters[] = "slodiphv";
static const char macro_delimiters[] = ".-+,/_=";

/* fail - false, with why (why may be NULL) */
static bool fail(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return false;
}

/* in_set - whether c is one of set (never for NUL) */
static bool in_set(const char *set, char c)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* transformer_ok - the *DIGIT of transformers: none, or 1 to 128 (the labels a name can have) */
static bool transformer_ok(const char *s, size_t n, size_t *len, const char **why)
{
	unsigned value = 0;
	size_t i = 0;

	while (i < n && isdigit((unsigned char)s[i])) {
		if (i == 3)
			return fail(why, "malformed macro: more than 3 transformer digits");
		value = value * 10 + (unsigned)(s[i++] - '0');
	}
	if (i > 0 && (value == 0 || value > 128))
		return fail(why, "malformed macro: transformer digits not 1 to 128");
	*len = i;
	return true;
}

/* macro_expand_ok - the macro-expand at s[0] == '%'; *len gets its length */
static bool macro_expand_ok(const char *s, size_t n, size_t *len, const char **why)
{
	size_t i = 2, digits;

	if (n < 2)
		return fail(why, "malformed macro: lone % at the end");
	if (s[1] == '%' || s[1] == '_' || s[1] == '-') {
		*len = 2;
		return true;
	}
	if (s[1] != '{')
		return fail(why, "malformed macro: % not followed by {, %, _ or -");
	if (i >= n)
		return fail(why, "malformed macro: %{ without a letter");
	if (!in_set(macro_letters, (char)tolower((unsigned char)s[i])))
		return fail(why, in_set("crtCRT", s[i])
		                     ? "malformed macro: c, r and t are for explanations only"
		                     : "malformed macro: unknown macro letter");
	if (!transformer_ok(s + i + 1, n - i - 1, &digits, why))
		return false;
	i += 1 + digits;
	if (i < n && (s[i] == 'r' || s[i] == 'R'))
		i++;
	while (i < n && in_set(macro_delimiters, s[i]))
		i++;
	if (i >= n)
		return fail(why, "malformed macro: %{ without }");
	if (s[i] != '}')
		return fail(why, "malformed macro: bad delimiter in %{...}");
	*len = i + 1;
	return true;
}

/*
 * macro_string_ok - macro-string (§7.1); literals were checked with the
 * record. *end gets where the last macro-expand ends (0: none).
 */
static bool macro_string_ok(const char *s, size_t n, int *macros, size_t *end, const char **why)
{
	size_t i = 0, len;

	*end = 0;
	while (i < n) {
		if (s[i] != '%') {
			i++;
			continue;
		}
		if (!macro_expand_ok(s + i, n - i, &len, why))
			return false;
		if (s[i + 1] == '{' && ++*macros > SPF_TERM_MAX_MACROS)
			return fail(why, "malformed macro: too many macros in one term");
		i += len;
		*end = i;
	}
	return true;
}

/*
 * toplabel_ok - toplabel (§7.1): letters and digits with a letter, or
 * letters, digits and inner hyphens with a hyphen
 */
static bool toplabel_ok(const char *s, size_t n)
{
	bool alpha = false, hyphen = false;

	if (n == 0 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-')
			hyphen = true;
		else if (isalpha((unsigned char)s[i]))
			alpha = true;
		else if (!isdigit((unsigned char)s[i]))
			return false;
	}
	return alpha || hyphen;
}

/* domain_spec_ok - domain-spec = macro-string domain-end (§7.1) */
static bool domain_spec_ok(const char *s, size_t n, int *macros, const char **why)
{
	size_t end;
	const char *dot;

	if (n == 0)
		return fail(why, "empty domain-spec");
	if (!macro_string_ok(s, n, macros, &end, why))
		return false;
	/* domain-end = ( "." toplabel [ "." ] ) / macro-expand */
	if (end == n)
		return true;
	if (s[n - 1] == '.')
		n--;
	dot = n > end ? memrchr(s + end, '.', n - end) : NULL;
	if (!dot || !toplabel_ok(dot + 1, (size_t)(s + n - dot - 1)))
		return fail(why, "domain-spec does not end in a top label or a macro");
	return true;
}

/* cidr_suffix - length of a trailing "/" 1*DIGIT, found the way libspf2 finds it */
static size_t cidr_suffix(const char *s, size_t n)
{
	size_t i = n;

	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	return i < n && i > 0 && s[i - 1] == '/' ? n - i + 1 : 0;
}

/* cidr_ok - ip4-cidr-length or ip6-cidr-length after its "/" (§5.6): no leading zero */
static bool cidr_ok(const char *s, size_t n, unsigned max)
{
	unsigned value = 0;

	if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++)
		value = value * 10 + (unsigned)(s[i] - '0');
	return value <= max;
}

/* strip_dual_cidr - take a valid dual-cidr-length (§5.6) off the end of s[0..*n) */
static bool strip_dual_cidr(const char *s, size_t *n, const char **why)
{
	size_t k = cidr_suffix(s, *n);

	if (k && *n > k && s[*n - k - 1] == '/') {
		if (!cidr_ok(s + *n - k + 1, k - 1, 128))
			return fail(why, "bad IPv6 CIDR length");
		*n -= k + 1;
		k = cidr_suffix(s, *n);
	}
	if (k) {
		if (!cidr_ok(s + *n - k + 1, k - 1, 32))
			return fail(why, "bad IPv4 CIDR length");
		*n -= k;
	}
	return true;
}

/* ip4_network_ok - four qnum (§5.6): 0 to 255, no leading zero */
static bool ip4_network_ok(const char *s, size_t n)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start;
		unsigned value = 0;

		if (part > 0 && (i >= n || s[i++] != '.'))
			return false;
		start = i;
		while (i < n && i - start < 3 && isdigit((unsigned char)s[i]))
			value = value * 10 + (unsigned)(s[i++] - '0');
		if (i == start || value > 255 || (s[start] == '0' && i - start > 1))
			return false;
	}
	return i == n;
}

/* ip6_network_ok - an address of RFC 4291 §2.2 */
static bool ip6_network_ok(const char *s, size_t n)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/* The mechanisms (§5): each checks what follows its name. */

/* args_none - "all" (§5.1) */
static bool args_none(const char *s, size_t n, int *macros, const char **why)
{
	(void)s;
	(void)macros;
	return n == 0 || fail(why, "all takes no argument");
}

/* args_domain - ":" domain-spec, for include (§5.2) and exists (§5.7) */
static bool args_domain(const char *s, size_t n, int *macros, const char **why)
{
	if (n == 0 || s[0] != ':')
		return fail(why, "mechanism needs \":domain-spec\"");
	return domain_spec_ok(s + 1, n - 1, macros, why);
}

/* args_opt_domain - [ ":" domain-spec ], for ptr (§5.5) */
static bool args_opt_domain(const char *s, size_t n, int *macros, const char **why)
{
	if (n == 0)
		return true;
	if (s[0] != ':')
		return fail(why, "unexpected text after mechanism");
	return domain_spec_ok(s + 1, n - 1, macros, why);
}

/* args_domain_cidr - [ ":" domain-spec ] [ dual-cidr-length ], for a and mx (§5.3, §5.4) */
static bool args_domain_cidr(const char *s, size_t n, int *macros, const char **why)
{
	if (!strip_dual_cidr(s, &n, why))
		return false;
	return args_opt_domain(s, n, macros, why);
}

/* args_ip4 - ":" ip4-network [ ip4-cidr-length ] (§5.6) */
static bool args_ip4(const char *s, size_t n, int *macros, const char **why)
{
	size_t k;

	(void)macros;
	if (n == 0 || s[0] != ':')
		return fail(why, "ip4 needs \":address\"");
	k = cidr_suffix(s, n);
	if (k && !cidr_ok(s + n - k + 1, k - 1, 32))
		return fail(why, "bad IPv4 CIDR length");
	return ip4_network_ok(s + 1, n - 1 - k) || fail(why, "bad ip4 address");
}

/* args_ip6 - ":" ip6-network [ ip6-cidr-length ] (§5.6) */
static bool args_ip6(const char *s, size_t n, int *macros, const char **why)
{
	size_t k;

	(void)macros;
	if (n == 0 || s[0] != ':')
		return fail(why, "ip6 needs \":address\"");
	k = cidr_suffix(s, n);
	if (k && !cidr_ok(s + n - k + 1, k - 1, 128))
		return fail(why, "bad IPv6 CIDR length");
	return ip6_network_ok(s + 1, n - 1 - k) || fail(why, "bad ip6 address");
}

static const struct {
	const char *name;
	bool (*args_ok)(const char *s, size_t n, int *macros, const char **why);
} mechanisms[] = {
    {"all", args_none},       {"include", args_domain}, {"a", args_domain_cidr},
    {"mx", args_domain_cidr}, {"ptr", args_opt_domain}, {"ip4", args_ip4},
    {"ip6", args_ip6},        {"exists", args_domain},
};

/* name_is - s[0..n) is name, ignoring case (ABNF strings are) */
static bool name_is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/* name_len - name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) (§6) */
static size_t name_len(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !isalpha((unsigned char)s[0]))
		return 0;
	while (i < n && (isalnum((unsigned char)s[i]) || in_set("-_.", s[i])))
		i++;
	return i;
}

/* modifier_ok - name=value (§6); redirect and exp take a domain-spec, once each (§6) */
static bool modifier_ok(const char *name, size_t nlen, const char *val, size_t vlen, unsigned *seen,
                        int *macros, const char **why)
{
	unsigned bit = name_is(name, nlen, "redirect") ? 1 : name_is(name, nlen, "exp") ? 2 : 0;
	size_t end;

	if (bit == 0)
		return macro_string_ok(val, vlen, macros, &end, why);
	if (*seen & bit)
		return fail(why, bit == 1 ? "redirect= given twice" : "exp= given twice");
	*seen |= bit;
	return domain_spec_ok(val, vlen, macros, why);
}

/* term_ok - directive or modifier (§4.6.1) */
static bool term_ok(const char *s, size_t n, unsigned *seen, const char **why)
{
	bool qualified = in_set("+-?~", s[0]);
	int macros = 0;
	size_t k;

	if (qualified) {
		s++;
		n--;
	}
	k = name_len(s, n);
	if (k == 0)
		return fail(why, "a term must start with a name");
	if (k < n && s[k] == '=') {
		if (qualified)
			return fail(why, "a modifier takes no qualifier");
		return modifier_ok(s, k, s + k + 1, n - k - 1, seen, &macros, why);
	}
	for (size_t i = 0; i < sizeof(mechanisms) / sizeof(mechanisms[0]); i++)
		if (name_is(s, k, mechanisms[i].name))
			return mechanisms[i].args_ok(s + k, n - k, &macros, why);
	return fail(why, "unknown mechanism");
}

bool spf_record_syntax_ok(const char *record, const char **why)
{
	size_t n = strnlen(record, SPF_RECORD_MAX_LEN + 1), terms = 0;
	unsigned seen = 0;
	const char *p;

	if (n > SPF_RECORD_MAX_LEN)
		return fail(why, "record too long");
	if (!spf_is_record(record))
		return fail(why, "not an SPF record (no \"v=spf1\")");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)record[i] < 0x20 || (unsigned char)record[i] > 0x7e)
			return fail(why, "control or non-ASCII character");
	for (p = record + 6; *p;) {
		size_t len;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		len = strcspn(p, " ");
		if (++terms > SPF_RECORD_MAX_TERMS)
			return fail(why, "too many terms");
		if (len > SPF_TERM_MAX_LEN)
			return fail(why, "term too long");
		if (!term_ok(p, len, &seen, why))
			return false;
		p += len;
	}
	if (why)
		*why = NULL;
	return true;
}
