/*
 * fuzz_smtp_path - libFuzzer target for gateway/smtp_path.c.
 *
 * The input goes, unterminated and in a buffer of exactly its size, to
 * smtp_path_parse (every flag combination), smtp_mail_args_parse and
 * smtp_rcpt_args_parse (with and without SMTPUTF8) and smtp_domain_valid.
 * Whatever is accepted must hang together: addr is local@domain, the RFC
 * 5321 limits hold, the address parses again on its own, and allowing
 * SMTPUTF8 never turns an accepted input into a refused one.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xalloc.h"
#include "gateway/smtp_path.h"
#include "tests/fuzz/fuzz_assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* fuzz_ascii - no byte of s is outside ASCII */
static bool fuzz_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* fuzz_check_error - a reply text: "ddd d.d.d text", no CR or LF */
static void fuzz_check_error(const char *error)
{
	FUZZ_ASSERT(error != NULL && strlen(error) > 10);
	FUZZ_ASSERT(error[0] == '5' && error[3] == ' ' && error[5] == '.');
	FUZZ_ASSERT(strpbrk(error, "\r\n") == NULL);
}

/* fuzz_reparse - "<addr>" alone parses to the same parts */
static void fuzz_reparse(const struct smtp_path *p, unsigned flags)
{
	size_t al = strlen(p->addr);
	char *s = xmalloc(al + 2);
	struct smtp_path q;
	const char *error = NULL;

	s[0] = '<';
	memcpy(s + 1, p->addr, al);
	s[al + 1] = '>';
	FUZZ_ASSERT(smtp_path_parse(s, al + 2, flags, &q, &error) ==
		    (int)(al + 2));
	FUZZ_ASSERT(strcmp(q.addr, p->addr) == 0);
	FUZZ_ASSERT(strcmp(q.local, p->local) == 0);
	FUZZ_ASSERT(strcmp(q.domain, p->domain) == 0);
	smtp_path_free(&q);
	free(s);
}

/* fuzz_check_path - the invariants of an accepted path */
static void fuzz_check_path(const struct smtp_path *p, unsigned flags)
{
	size_t ll = strlen(p->local), dl = strlen(p->domain);
	size_t al = strlen(p->addr);

	FUZZ_ASSERT(ll <= 64 && dl <= 255 && al + 2 <= 256);
	if (dl == 0) {
		FUZZ_ASSERT(strcmp(p->addr, p->local) == 0);
		if (ll == 0)
			FUZZ_ASSERT(flags & SMTP_PATH_ALLOW_NULL);
		else
			FUZZ_ASSERT((flags & SMTP_PATH_ALLOW_NO_DOMAIN) &&
				    strcasecmp(p->local, "postmaster") == 0);
	} else {
		FUZZ_ASSERT(ll > 0 && al == ll + 1 + dl);
		FUZZ_ASSERT(memcmp(p->addr, p->local, ll) == 0);
		FUZZ_ASSERT(p->addr[ll] == '@');
		FUZZ_ASSERT(strcmp(p->addr + ll + 1, p->domain) == 0);
		FUZZ_ASSERT(smtp_domain_valid(p->domain, dl,
					      flags & SMTP_PATH_ALLOW_UTF8));
	}
	if (p->utf8)
		FUZZ_ASSERT(flags & SMTP_PATH_ALLOW_UTF8);
	else
		FUZZ_ASSERT(fuzz_ascii(p->addr));
	fuzz_reparse(p, flags);
}

/* fuzz_path - smtp_path_parse with every combination of flags */
static void fuzz_path(const char *s, size_t size)
{
	struct smtp_path p;
	const char *error;
	int n;

	for (unsigned flags = 0; flags < 8; flags++) {
		error = NULL;
		n = smtp_path_parse(s, size, flags, &p, &error);
		if (n < 0) {
			fuzz_check_error(error);
			FUZZ_ASSERT(!p.addr && !p.local && !p.domain);
			continue;
		}
		FUZZ_ASSERT(n >= 2 && (size_t)n <= size && s[n - 1] == '>');
		fuzz_check_path(&p, flags);
		smtp_path_free(&p);
	}
}

/* fuzz_mail - smtp_mail_args_parse; returns whether it accepted */
static bool fuzz_mail(const char *s, size_t size, bool allow_utf8,
		      char **addr_r)
{
	unsigned flags = SMTP_PATH_ALLOW_NULL |
			 (allow_utf8 ? SMTP_PATH_ALLOW_UTF8 : 0);
	struct smtp_mail_params mp;
	struct smtp_path p;
	const char *error = NULL;

	if (smtp_mail_args_parse(s, size, allow_utf8, &p, &mp, &error) < 0) {
		fuzz_check_error(error);
		FUZZ_ASSERT(!p.addr && !p.local && !p.domain);
		return false;
	}
	fuzz_check_path(&p, flags);
	FUZZ_ASSERT(mp.body <= SMTP_BODY_BINARYMIME);
	FUZZ_ASSERT(!mp.smtputf8 || allow_utf8);
	FUZZ_ASSERT(!p.utf8 || mp.smtputf8);
	FUZZ_ASSERT(mp.has_size || mp.size == 0);
	*addr_r = xstrdup(p.addr);
	smtp_path_free(&p);
	return true;
}

/* fuzz_rcpt - smtp_rcpt_args_parse; returns whether it accepted */
static bool fuzz_rcpt(const char *s, size_t size, bool utf8, char **addr_r)
{
	unsigned flags = SMTP_PATH_ALLOW_NO_DOMAIN |
			 (utf8 ? SMTP_PATH_ALLOW_UTF8 : 0);
	struct smtp_path p;
	const char *error = NULL;

	if (smtp_rcpt_args_parse(s, size, utf8, &p, &error) < 0) {
		fuzz_check_error(error);
		FUZZ_ASSERT(!p.addr && !p.local && !p.domain);
		return false;
	}
	fuzz_check_path(&p, flags);
	*addr_r = xstrdup(p.addr);
	smtp_path_free(&p);
	return true;
}

/* fuzz_args - what SMTPUTF8 may change: it only ever allows more */
static void fuzz_args(const char *s, size_t size,
		      bool (*parse)(const char *, size_t, bool, char **))
{
	char *plain = NULL, *utf8 = NULL;
	bool ok_plain = parse(s, size, false, &plain);
	bool ok_utf8 = parse(s, size, true, &utf8);

	if (ok_plain) {
		FUZZ_ASSERT(ok_utf8 && strcmp(plain, utf8) == 0);
		FUZZ_ASSERT(fuzz_ascii(plain));
	}
	free(plain);
	free(utf8);
}

/* fuzz_domain - smtp_domain_valid, and that a valid domain makes a path */
static void fuzz_domain(const char *s, size_t size)
{
	bool plain = smtp_domain_valid(s, size, false);
	bool utf8 = smtp_domain_valid(s, size, true);
	struct smtp_path p;
	const char *error;
	char *path;

	FUZZ_ASSERT(!plain || utf8);
	if (!utf8 || size + 4 > 256)
		return;
	path = xmalloc(size + 4);
	memcpy(path, "<a@", 3);
	memcpy(path + 3, s, size);
	path[size + 3] = '>';
	FUZZ_ASSERT(smtp_path_parse(path, size + 4, SMTP_PATH_ALLOW_UTF8, &p,
				    &error) == (int)(size + 4));
	FUZZ_ASSERT(p.utf8 == !plain);
	smtp_path_free(&p);
	free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exactly size bytes, so a read past the end trips ASan */
	char *s = xmalloc(size);

	if (size > 0)
		memcpy(s, data, size);
	fuzz_path(s, size);
	fuzz_args(s, size, fuzz_mail);
	fuzz_args(s, size, fuzz_rcpt);
	fuzz_domain(s, size);
	free(s);
	return 0;
}
