/*
 * smtp_path - RFC 5321 section 4.1.2 paths and the MAIL/RCPT parameters.
 *
 * Parses the argument of "MAIL FROM:" and "RCPT TO:" strictly: a path in
 * angle brackets, an optional obsolete source route (accepted and
 * dropped, RFC 5321 section 4.1.1.3 / appendix C), a dot-string or quoted
 * local part, a domain or address literal, then SP-separated esmtp
 * parameters. UTF-8 in local part or domain is accepted only when the
 * caller allows SMTPUTF8 (RFC 6531). Results are malloc'd and owned by the
 * caller (smtp_path_free / smtp_mail_params_free).
 */
#ifndef SEKISHO_SMTP_PATH_H
#define SEKISHO_SMTP_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smtp_path {
	char *addr;	/* "local@domain" as written (quotes kept), "" for <> */
	char *local;	/* local part as written, "" for <> */
	char *domain;	/* domain or "[address literal]" as written, "" for <> */
	bool utf8;	/* non-ASCII bytes present */
};

enum smtp_body { SMTP_BODY_UNSET, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME, SMTP_BODY_BINARYMIME };

struct smtp_mail_params {
	bool has_size;
	uint64_t size;		/* SIZE=n (RFC 1870) */
	enum smtp_body body;	/* BODY= (RFC 6152, RFC 3030) */
	bool smtputf8;		/* SMTPUTF8 (RFC 6531) */
};

enum smtp_path_flags {
	SMTP_PATH_ALLOW_NULL = 1 << 0,	   /* <> is valid (MAIL FROM) */
	SMTP_PATH_ALLOW_UTF8 = 1 << 1,	   /* non-ASCII allowed (SMTPUTF8) */
	SMTP_PATH_ALLOW_NO_DOMAIN = 1 << 2, /* <postmaster> (RCPT TO, RFC 5321 4.5.1) */
};

/*
 * smtp_path_parse - parse one path at the start of s (len bytes, not
 * necessarily NUL-terminated). On success returns the number of bytes
 * consumed (the closing '>' included) and fills *path. On failure returns
 * -1 and sets *error_r to a static reply text such as
 * "501 5.1.7 Bad sender address syntax" (no CRLF).
 * Limits: local part 64 octets, domain 255, whole path 256 (RFC 5321
 * section 4.5.3.1), longer is an error.
 */
int smtp_path_parse(const char *s, size_t len, unsigned flags,
		    struct smtp_path *path, const char **error_r);
void smtp_path_free(struct smtp_path *path);

/*
 * smtp_mail_args_parse - parse what follows "MAIL FROM:" (the path and its
 * parameters). Unknown parameters are refused with 555 5.5.4, a repeated
 * parameter too; SMTPUTF8 is accepted only if allow_utf8 (it was
 * announced), and its presence allows a UTF-8 path.
 */
int smtp_mail_args_parse(const char *args, size_t len, bool allow_utf8,
			 struct smtp_path *path, struct smtp_mail_params *params,
			 const char **error_r);

/*
 * smtp_rcpt_args_parse - parse what follows "RCPT TO:". No RCPT
 * parameters are supported (NOTIFY/ORCPT are refused with 555 5.5.4).
 * utf8 says whether the transaction declared SMTPUTF8.
 */
int smtp_rcpt_args_parse(const char *args, size_t len, bool utf8,
			 struct smtp_path *path, const char **error_r);

/* smtp_domain_valid - RFC 5321 Domain or address-literal, for EHLO args */
bool smtp_domain_valid(const char *s, size_t len, bool allow_utf8);

#endif
