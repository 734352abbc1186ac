/*
 * conf - sekisho.conf: one file of "key = value" lines, as Postfix's main.cf.
 *
 * Syntax: a "#" as the first non-blank byte makes a comment line; blank and
 * comment lines are ignored; a line that starts with whitespace continues
 * the previous "key = value" (joined with one space). A "#" anywhere else is
 * part of the value. Each key may be set once.
 *
 * Loading never stops at the first problem: every line is checked and every
 * problem reported, so one edit-and-check round fixes the file. Control
 * bytes (other than tab, and CR before the newline) are refused anywhere,
 * so an error message or a log line never carries them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/conf.h"
#include "common/conf_value.h"
#include "common/xalloc.h"

#define CONF_FILE_MAX     (1024 * 1024) /* bytes in the whole file */
#define CONF_LINE_MAX     (64 * 1024)   /* bytes in one line, without "\n" */
#define CONF_ERRORS_SHOWN 100           /* the rest are only counted */
#define CONF_QUOTE_MAX    80            /* bytes of user text quoted in messages */
#define CONF_QUOTE_SIZE   (CONF_QUOTE_MAX * 4 + 8)

enum conf_type {
	CONF_STRING,
	CONF_HOSTNAME,
	CONF_BOOL,
	CONF_INT,
	CONF_SIZE,
	CONF_DURATION,
	CONF_ENUM,      /* an int-sized enum field: the index in names */
	CONF_ENUM_NAME, /* a char * field: the name as listed */
	CONF_LISTEN,
	CONF_DOMAINS,
	CONF_CIDRS,
	CONF_NEXTHOP,
	CONF_CLAMAV,
};

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t offset;   /* of the field in struct conf */
	const char *def; /* default as written in the file */
	/* computed default (myhostname): the text, or NULL and *error_r */
	const char *(*def_fn)(char *tmp, size_t size, const char **error_r);
	long min, max;            /* CONF_INT, CONF_SIZE, CONF_DURATION */
	const char *const *names; /* CONF_ENUM, CONF_ENUM_NAME */
	const char *desc;
};

static const char *conf_default_hostname(char *tmp, size_t size, const char **error_r);

static const char *const conf_tls_names[] = {"none", "may", "required", NULL};
static const char *const conf_log_names[] = {"stderr", "syslog", NULL};
static const char *const conf_fail_names[] = {"closed", "open", NULL};
static const char *const conf_milter_quarantine_names[] = {"store", "hold", NULL};
static const char *const conf_facility_names[] = {
    "mail",   "daemon", "user",   "local0", "local1", "local2",
    "local3", "local4", "local5", "local6", "local7", NULL,
};

/* enum fields are stored through an int pointer */
_Static_assert(sizeof(enum tls_policy) == sizeof(int), "enum tls_policy size");
_Static_assert(sizeof(enum log_target) == sizeof(int), "enum log_target size");
_Static_assert(TLS_POLICY_NONE == 0 && TLS_POLICY_MAY == 1 && TLS_POLICY_REQUIRED == 2,
               "conf_tls_names order");
_Static_assert(LOG_TARGET_STDERR == 0 && LOG_TARGET_SYSLOG == 1, "conf_log_names order");
_Static_assert(sizeof(enum ratelimit_fail) == sizeof(int), "enum ratelimit_fail size");
_Static_assert(RATELIMIT_FAIL_CLOSED == 0 && RATELIMIT_FAIL_OPEN == 1, "conf_fail_names order");
_Static_assert(sizeof(enum milter_quarantine) == sizeof(int), "enum milter_quarantine size");
_Static_assert(MILTER_QUARANTINE_STORE == 0 && MILTER_QUARANTINE_HOLD == 1,
               "conf_milter_quarantine_names order");

#define KIB           1024L
#define MIB           (1024L * 1024)
#define GIB           (1024L * 1024 * 1024)
#define CONF_FIELD(f) offsetof(struct conf, f)

/* one key per two or three lines: easier to scan than one field per line */
/* clang-format off */
static const struct conf_key conf_keys[] = {
	/* listening and identity */
	{ .name = "listen", .type = CONF_LISTEN, .offset = CONF_FIELD(listen),
	  .def = "127.0.0.1:2525", .desc = "addresses to accept SMTP on" },
	{ .name = "myhostname", .type = CONF_HOSTNAME, .offset = CONF_FIELD(myhostname),
	  .def_fn = conf_default_hostname,
	  .desc = "name in the greeting, EHLO reply and Received header" },
	{ .name = "user", .type = CONF_STRING, .offset = CONF_FIELD(user), .def = "",
	  .desc = "user to run as after binding the listeners" },
	{ .name = "pid_file", .type = CONF_STRING, .offset = CONF_FIELD(pid_file),
	  .def = "", .desc = "file to write the daemon's process id to" },
	{ .name = "control_socket", .type = CONF_STRING,
	  .offset = CONF_FIELD(control_socket), .def = "",
	  .desc = "unix socket for sekisho reload and status" },
	{ .name = "milter_listen", .type = CONF_STRING, .offset = CONF_FIELD(milter_listen),
	  .def = "", .desc = "milter socket (inet:PORT@HOST or unix:/path); empty: no milter" },
	{ .name = "milter_quarantine", .type = CONF_ENUM,
	  .offset = CONF_FIELD(milter_quarantine), .def = "store",
	  .names = conf_milter_quarantine_names,
	  .desc = "milter quarantine: our store (then discard) or the MTA's hold queue" },

	/* policy */
	{ .name = "rules_dir", .type = CONF_STRING, .offset = CONF_FIELD(rules_dir),
	  .def = "", .desc = "folder of *.rules files; empty: no rules, relay only" },
	{ .name = "quarantine_dir", .type = CONF_STRING, .offset = CONF_FIELD(quarantine_dir),
	  .def = "", .desc = "quarantine store; empty: quarantine actions tempfail" },
	{ .name = "quarantine_retention", .type = CONF_DURATION,
	  .offset = CONF_FIELD(quarantine_retention), .def = "30d", .min = 3600,
	  .max = 3650L * 86400, .desc = "how long purge keeps quarantined mail" },

	/* content inspection */
	{ .name = "analyzers", .type = CONF_INT, .offset = CONF_FIELD(analyzers),
	  .def = "4", .min = 1, .max = 256,
	  .desc = "sandboxed analyzer processes that parse message content" },
	{ .name = "analyzer_timeout", .type = CONF_DURATION,
	  .offset = CONF_FIELD(analyzer_timeout), .def = "180s", .min = 1, .max = 3600,
	  .desc = "longest analysis of one message; past it the message gets 451" },
	{ .name = "analyzer_memory", .type = CONF_SIZE, .offset = CONF_FIELD(analyzer_memory),
	  .def = "2G", .min = 64 * MIB, .max = 64 * GIB,
	  .desc = "address space limit of each analyzer process" },
	{ .name = "analyzer_max_jobs", .type = CONF_INT,
	  .offset = CONF_FIELD(analyzer_max_jobs), .def = "1000", .min = 0, .max = 100000000,
	  .desc = "messages an analyzer handles before it is replaced; 0: never" },
	{ .name = "mime_max_parts", .type = CONF_INT, .offset = CONF_FIELD(mime_max_parts),
	  .def = "1000", .min = 1, .max = 100000, .desc = "MIME parts walked per message" },
	{ .name = "mime_max_depth", .type = CONF_INT, .offset = CONF_FIELD(mime_max_depth),
	  .def = "20", .min = 1, .max = 100, .desc = "MIME nesting walked" },
	{ .name = "attachment_max_size", .type = CONF_SIZE,
	  .offset = CONF_FIELD(attachment_max_size), .def = "32M", .min = KIB, .max = 2 * GIB,
	  .desc = "decoded bytes inspected per attachment or archive member" },
	{ .name = "archive_max_depth", .type = CONF_INT,
	  .offset = CONF_FIELD(archive_max_depth), .def = "5", .min = 0, .max = 32,
	  .desc = "archives inside archives listed" },
	{ .name = "archive_max_members", .type = CONF_INT,
	  .offset = CONF_FIELD(archive_max_members), .def = "1000", .min = 1, .max = 1000000,
	  .desc = "archive members listed per message" },
	{ .name = "archive_max_total", .type = CONF_SIZE,
	  .offset = CONF_FIELD(archive_max_total), .def = "256M", .min = KIB, .max = 16 * GIB,
	  .desc = "bytes decompressed from archives per message" },
	{ .name = "clamav", .type = CONF_CLAMAV, .offset = CONF_FIELD(clamav), .def = "off",
	  .desc = "antivirus: off, libclamav (in the analyzers) or clamd:/path/to/socket" },
	{ .name = "clamav_db", .type = CONF_STRING, .offset = CONF_FIELD(clamav_db),
	  .def = "/var/lib/clamav", .desc = "ClamAV signature folder for libclamav" },
	{ .name = "clamav_max_filesize", .type = CONF_SIZE,
	  .offset = CONF_FIELD(clamav_max_filesize), .def = "25M", .min = KIB, .max = 2 * GIB,
	  .desc = "largest file ClamAV scans; larger is reported, not passed" },
	{ .name = "clamav_max_scansize", .type = CONF_SIZE,
	  .offset = CONF_FIELD(clamav_max_scansize), .def = "100M", .min = KIB, .max = 4 * GIB,
	  .desc = "bytes ClamAV scans per message" },
	{ .name = "clamav_max_files", .type = CONF_INT,
	  .offset = CONF_FIELD(clamav_max_files), .def = "10000", .min = 1, .max = 1000000,
	  .desc = "files ClamAV scans per message" },
	{ .name = "clamav_max_recursion", .type = CONF_INT,
	  .offset = CONF_FIELD(clamav_max_recursion), .def = "17", .min = 1, .max = 64,
	  .desc = "nesting ClamAV unpacks" },
	{ .name = "clamav_max_scantime", .type = CONF_DURATION,
	  .offset = CONF_FIELD(clamav_max_scantime), .def = "120s", .min = 1, .max = 3600,
	  .desc = "ClamAV time per message" },

	/* sender authentication and DNS */
	{ .name = "dns_forward", .type = CONF_STRING, .offset = CONF_FIELD(dns_forward),
	  .def = "", .desc = "resolvers to ask (\"127.0.0.1@5353 [::1]@53\"); empty: resolv.conf" },
	{ .name = "dns_timeout", .type = CONF_DURATION, .offset = CONF_FIELD(dns_timeout),
	  .def = "5s", .min = 1, .max = 60, .desc = "longest wait for one DNS answer" },
	{ .name = "dns_trust_anchor", .type = CONF_STRING,
	  .offset = CONF_FIELD(dns_trust_anchor), .def = "",
	  .desc = "DNSSEC trust anchor file (DS or DNSKEY records); empty: no validation" },
	{ .name = "authserv_id", .type = CONF_STRING, .offset = CONF_FIELD(authserv_id),
	  .def = "", .desc = "our name in Authentication-Results; empty: myhostname" },
	{ .name = "spf", .type = CONF_BOOL, .offset = CONF_FIELD(spf), .def = "yes",
	  .desc = "check SPF for MAIL FROM and HELO" },
	{ .name = "dkim", .type = CONF_BOOL, .offset = CONF_FIELD(dkim), .def = "yes",
	  .desc = "verify DKIM signatures" },
	{ .name = "dmarc", .type = CONF_BOOL, .offset = CONF_FIELD(dmarc), .def = "yes",
	  .desc = "evaluate DMARC (needs spf and dkim)" },
	{ .name = "psl_file", .type = CONF_STRING, .offset = CONF_FIELD(psl_file),
	  .def = "/usr/share/publicsuffix/public_suffix_list.dat",
	  .desc = "the public suffix list, for organizational domains" },
	{ .name = "dnsbl", .type = CONF_DOMAINS, .offset = CONF_FIELD(dnsbl), .def = "",
	  .desc = "DNS block lists the client address is looked up in" },

	/* links in messages */
	{ .name = "url_max", .type = CONF_INT, .offset = CONF_FIELD(url_max), .def = "1000",
	  .min = 1, .max = 100000, .desc = "links inspected per message" },
	{ .name = "protect_domains", .type = CONF_DOMAINS,
	  .offset = CONF_FIELD(protect_domains), .def = "",
	  .desc = "domains whose look-alikes in links are flagged (url.confusable)" },
	{ .name = "url_shorteners", .type = CONF_DOMAINS, .offset = CONF_FIELD(url_shorteners),
	  .def = "bit.ly tinyurl.com t.co goo.gl ow.ly is.gd buff.ly rebrand.ly cutt.ly "
		 "shorturl.at tiny.cc rb.gy t.ly bit.do lnkd.in s.id v.gd qr.net x.gd",
	  .desc = "link shortening services (url.shortener)" },
	{ .name = "uribl", .type = CONF_DOMAINS, .offset = CONF_FIELD(uribl), .def = "",
	  .desc = "DNS lists the domains of links are looked up in (URIBL, SURBL)" },
	{ .name = "uribl_max_lookups", .type = CONF_INT, .offset = CONF_FIELD(uribl_max_lookups),
	  .def = "20", .min = 0, .max = 1000, .desc = "link domains looked up per message" },

	/* who may send what */
	{ .name = "relay_domains", .type = CONF_DOMAINS,
	  .offset = CONF_FIELD(relay_domains), .def = "",
	  .desc = "domains any client may send to" },
	{ .name = "mynetworks", .type = CONF_CIDRS, .offset = CONF_FIELD(mynetworks),
	  .def = "127.0.0.0/8 [::1]/128", .desc = "clients that may relay to any domain" },
	{ .name = "proxy_protocol_from", .type = CONF_CIDRS,
	  .offset = CONF_FIELD(proxy_protocol_from), .def = "",
	  .desc = "peers that must send a PROXY protocol header" },

	/* limits */
	{ .name = "max_sessions", .type = CONF_INT, .offset = CONF_FIELD(max_sessions),
	  .def = "100", .min = 1, .max = 100000, .desc = "concurrent SMTP sessions" },
	{ .name = "max_sessions_per_ip", .type = CONF_INT,
	  .offset = CONF_FIELD(max_sessions_per_ip), .def = "20", .min = 1, .max = 100000,
	  .desc = "concurrent sessions per client address" },
	{ .name = "max_recipients", .type = CONF_INT, .offset = CONF_FIELD(max_recipients),
	  .def = "100", .min = 1, .max = 100000, .desc = "recipients per message" },
	{ .name = "max_errors", .type = CONF_INT, .offset = CONF_FIELD(max_errors),
	  .def = "20", .min = 1, .max = 1000,
	  .desc = "error replies before the session is closed with 421" },
	{ .name = "max_line_length", .type = CONF_INT,
	  .offset = CONF_FIELD(max_line_length), .def = "2048", .min = 512, .max = 65536,
	  .desc = "bytes in a command line, CRLF included" },
	{ .name = "message_size_limit", .type = CONF_SIZE,
	  .offset = CONF_FIELD(message_size_limit), .def = "50M", .min = KIB,
	  .max = 2 * GIB, .desc = "largest message accepted (SIZE)" },
	{ .name = "smtpd_timeout", .type = CONF_DURATION,
	  .offset = CONF_FIELD(smtpd_timeout), .def = "300s", .min = 1, .max = 3600,
	  .desc = "each command read and reply write" },
	{ .name = "smtpd_data_timeout", .type = CONF_DURATION,
	  .offset = CONF_FIELD(smtpd_data_timeout), .def = "180s", .min = 1, .max = 3600,
	  .desc = "each read of DATA or BDAT content" },
	{ .name = "shutdown_timeout", .type = CONF_DURATION,
	  .offset = CONF_FIELD(shutdown_timeout), .def = "30s", .min = 0, .max = 3600,
	  .desc = "grace for sessions in flight on SIGTERM" },
	{ .name = "greet_pause", .type = CONF_DURATION, .offset = CONF_FIELD(greet_pause),
	  .def = "0s", .min = 0, .max = 60,
	  .desc = "wait before the greeting; a client that speaks first is an early talker" },

	/* rate limits */
	{ .name = "ratelimit_backend", .type = CONF_STRING,
	  .offset = CONF_FIELD(ratelimit_backend), .def = "memory",
	  .desc = "where limit counters live: memory, or redis://host:port[/db] for several nodes" },
	{ .name = "ratelimit_fail", .type = CONF_ENUM, .offset = CONF_FIELD(ratelimit_fail),
	  .def = "closed", .names = conf_fail_names,
	  .desc = "when Redis cannot answer: closed (the limit counts as exceeded) or open" },
	{ .name = "ratelimit_timeout", .type = CONF_DURATION,
	  .offset = CONF_FIELD(ratelimit_timeout), .def = "1s", .min = 1, .max = 60,
	  .desc = "longest wait for Redis to connect or answer" },
	{ .name = "ratelimit_max_keys", .type = CONF_INT,
	  .offset = CONF_FIELD(ratelimit_max_keys), .def = "200000", .min = 1000,
	  .max = 100000000, .desc = "keys the memory backend keeps (the least limited go first)" },

	/* monitoring */
	{ .name = "metrics_listen", .type = CONF_STRING, .offset = CONF_FIELD(metrics_listen),
	  .def = "", .desc = "address:port of the Prometheus metrics endpoint; empty: none" },

	/* TLS for clients */
	{ .name = "tls_cert_file", .type = CONF_STRING, .offset = CONF_FIELD(tls_cert_file),
	  .def = "", .desc = "PEM certificate chain for STARTTLS" },
	{ .name = "tls_key_file", .type = CONF_STRING, .offset = CONF_FIELD(tls_key_file),
	  .def = "", .desc = "PEM private key for STARTTLS" },
	{ .name = "chunking", .type = CONF_BOOL, .offset = CONF_FIELD(chunking),
	  .def = "yes", .desc = "announce CHUNKING (BDAT)" },

	/* next hop */
	{ .name = "next_hop", .type = CONF_NEXTHOP, .offset = CONF_FIELD(next_hop),
	  .def = "maildir:/var/lib/sekisho/maildir",
	  .desc = "where accepted mail goes, in-line" },
	{ .name = "next_hop_tls", .type = CONF_ENUM, .offset = CONF_FIELD(next_hop_tls),
	  .def = "may", .names = conf_tls_names,
	  .desc = "STARTTLS to an SMTP or LMTP next hop" },
	{ .name = "next_hop_tls_ca_file", .type = CONF_STRING,
	  .offset = CONF_FIELD(next_hop_tls_ca_file), .def = "",
	  .desc = "CA bundle to verify the next hop against" },
	{ .name = "next_hop_connect_timeout", .type = CONF_DURATION,
	  .offset = CONF_FIELD(next_hop_connect_timeout), .def = "30s", .min = 1,
	  .max = 600, .desc = "connecting to the next hop" },
	{ .name = "next_hop_command_timeout", .type = CONF_DURATION,
	  .offset = CONF_FIELD(next_hop_command_timeout), .def = "300s", .min = 1,
	  .max = 3600, .desc = "each next hop reply" },
	{ .name = "next_hop_data_timeout", .type = CONF_DURATION,
	  .offset = CONF_FIELD(next_hop_data_timeout), .def = "600s", .min = 1, .max = 3600,
	  .desc = "the reply to the end of the message" },
	{ .name = "next_hop_pool_size", .type = CONF_INT,
	  .offset = CONF_FIELD(next_hop_pool_size), .def = "16", .min = 0, .max = 10000,
	  .desc = "idle next hop connections kept" },
	{ .name = "next_hop_pool_idle", .type = CONF_DURATION,
	  .offset = CONF_FIELD(next_hop_pool_idle), .def = "60s", .min = 1, .max = 3600,
	  .desc = "how long an idle connection is kept" },

	/* logging */
	{ .name = "log", .type = CONF_ENUM, .offset = CONF_FIELD(log), .def = "stderr",
	  .names = conf_log_names, .desc = "where log lines go" },
	{ .name = "syslog_facility", .type = CONF_ENUM_NAME,
	  .offset = CONF_FIELD(syslog_facility), .def = "mail",
	  .names = conf_facility_names, .desc = "syslog facility when log = syslog" },
};
/* clang-format on */

#define CONF_NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

struct conf_parser {
	const char *name; /* file name for messages */
	struct conf *conf;
	unsigned set_line[CONF_NKEYS]; /* where each key was set; 0 = not */
	struct buf errors;
	unsigned nerrors;
	struct buf line;  /* the logical line being gathered */
	unsigned line_no; /* its first line; 0 = none */
	bool line_bad;    /* already reported: skip it */
};

static void conf_error(struct conf_parser *p, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* conf_error - record "file:line: message", or "file: message" for line 0 */
static void conf_error(struct conf_parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (++p->nerrors > CONF_ERRORS_SHOWN)
		return;
	if (line)
		buf_printf(&p->errors, "%s:%u: ", p->name, line);
	else
		buf_printf(&p->errors, "%s: ", p->name);
	va_start(ap, fmt);
	buf_vprintf(&p->errors, fmt, ap);
	va_end(ap);
	buf_append_char(&p->errors, '\n');
}

/*
 * conf_quote - s in double quotes for a message: at most CONF_QUOTE_MAX
 * bytes, with quotes, backslashes and bytes outside printable ASCII escaped.
 * out must hold CONF_QUOTE_SIZE bytes.
 */
static const char *conf_quote(char *out, const char *s)
{
	size_t n = 0, i;

	out[n++] = '"';
	for (i = 0; s[i] && i < CONF_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			n += (size_t)sprintf(out + n, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			n += (size_t)sprintf(out + n, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	out[n++] = '"';
	strcpy(out + n, s[i] ? "..." : "");
	return out;
}

/* conf_hint - a note for a value that seems to hold a trailing comment */
static const char *conf_hint(const char *value)
{
	return strchr(value, '#') ? " (\"#\" starts a comment only at the start of a line)" : "";
}

/* conf_expected - "key: expected <what>, got "value"" */
static void conf_expected(struct conf_parser *p, unsigned line, const struct conf_key *key,
                          const char *what, const char *value)
{
	char q[CONF_QUOTE_SIZE];

	conf_error(p, line, "%s: expected %s, got %s%s", key->name, what, conf_quote(q, value),
	           conf_hint(value));
}

/* conf_item_error - "key: "item": reason" for one word of a list */
static void conf_item_error(struct conf_parser *p, unsigned line, const struct conf_key *key,
                            const char *item, const char *reason)
{
	char q[CONF_QUOTE_SIZE];

	conf_error(p, line, "%s: %s: %s", key->name, conf_quote(q, item), reason);
}

/* --- value types -------------------------------------------------------- */

static int conf_set_string(struct conf_parser *p, unsigned line, const struct conf_key *key,
                           const char *value, void *field)
{
	*(char **)field = xstrdup(value);
	return 0;
}

/* conf_set_clamav - "off", "libclamav" or "clamd:/path/to/socket" */
static int conf_set_clamav(struct conf_parser *p, unsigned line, const struct conf_key *key,
                           const char *value, void *field)
{
	char q[CONF_QUOTE_SIZE];

	if (strcmp(value, "off") != 0 && strcmp(value, "libclamav") != 0 &&
	    !(strncmp(value, "clamd:/", 7) == 0 && value[7])) {
		conf_error(p, line, "%s: expected off, libclamav or clamd:/path/to/socket, got %s",
		           key->name, conf_quote(q, value));
		return -1;
	}
	*(char **)field = xstrdup(value);
	return 0;
}

/* conf_release_string - free a char * field */
static void conf_release_string(void *field)
{
	free(*(char **)field);
	*(char **)field = NULL;
}

/* conf_set_hostname - a host name for myhostname */
static int conf_set_hostname(struct conf_parser *p, unsigned line, const struct conf_key *key,
                             const char *value, void *field)
{
	const char *why;
	char q[CONF_QUOTE_SIZE];

	if (conf_value_hostname(value, &why) != 0) {
		conf_error(p, line,
		           "%s: expected a host name (letters, digits, "
		           "\"-\" and \".\"), got %s: %s",
		           key->name, conf_quote(q, value), why);
		return -1;
	}
	*(char **)field = xstrdup(value);
	return 0;
}

/* conf_set_bool - yes or no */
static int conf_set_bool(struct conf_parser *p, unsigned line, const struct conf_key *key,
                         const char *value, void *field)
{
	const char *why;

	if (conf_value_bool(value, field, &why) != 0) {
		conf_expected(p, line, key, "yes or no", value);
		return -1;
	}
	return 0;
}

/* conf_set_int - a whole number within the key's bounds */
static int conf_set_int(struct conf_parser *p, unsigned line, const struct conf_key *key,
                        const char *value, void *field)
{
	const char *why;
	char what[128];

	if (conf_value_int(value, key->min, key->max, field, &why) != 0) {
		snprintf(what, sizeof(what), "a whole number from %ld to %ld", key->min, key->max);
		conf_expected(p, line, key, what, value);
		return -1;
	}
	return 0;
}

/* conf_set_scaled - a size ("50M") or a duration ("5m") within bounds */
static int conf_set_scaled(struct conf_parser *p, unsigned line, const struct conf_key *key,
                           const char *value, void *field)
{
	bool size = key->type == CONF_SIZE;
	void (*show)(long, char *, size_t) = size ? conf_value_show_size : conf_value_show_duration;
	char what[160], min[32], max[32];
	const char *why;

	if ((size ? conf_value_size : conf_value_duration)(value, key->min, key->max, field,
	                                                   &why) == 0)
		return 0;
	show(key->min, min, sizeof(min));
	show(key->max, max, sizeof(max));
	snprintf(what, sizeof(what),
	         size ? "a size from %s to %s (bytes, or a number with suffix K, M or G)"
	              : "a duration from %s to %s (seconds, or a number with suffix s, m, h or d)",
	         min, max);
	conf_expected(p, line, key, what, value);
	return -1;
}

/* conf_enum_expected - "expected a, b or c, got ..." */
static void conf_enum_expected(struct conf_parser *p, unsigned line, const struct conf_key *key,
                               const char *value)
{
	struct buf what;

	buf_init(&what);
	for (size_t i = 0; key->names[i]; i++)
		buf_printf(&what, "%s%s",
		           i == 0              ? ""
		           : key->names[i + 1] ? ", "
		                               : " or ",
		           key->names[i]);
	conf_expected(p, line, key, buf_cstr(&what), value);
	buf_free(&what);
}

/* conf_set_enum - one of key->names, stored as its index */
static int conf_set_enum(struct conf_parser *p, unsigned line, const struct conf_key *key,
                         const char *value, void *field)
{
	const char *why;

	if (conf_value_enum(value, key->names, field, &why) != 0) {
		conf_enum_expected(p, line, key, value);
		return -1;
	}
	return 0;
}

/* conf_set_enum_name - one of key->names, stored as the name */
static int conf_set_enum_name(struct conf_parser *p, unsigned line, const struct conf_key *key,
                              const char *value, void *field)
{
	const char *why;
	int i;

	if (conf_value_enum(value, key->names, &i, &why) != 0) {
		conf_enum_expected(p, line, key, value);
		return -1;
	}
	*(char **)field = xstrdup(key->names[i]);
	return 0;
}

/* conf_set_listen - one or more IP:port listen addresses */
static int conf_set_listen(struct conf_parser *p, unsigned line, const struct conf_key *key,
                           const char *value, void *field)
{
	struct strlist list = {0};
	const char *why;
	int rc = 0;

	/* empty: no SMTP listener (milter_listen alone, checked by the daemon) */
	conf_value_words(value, &list);
	for (size_t i = 0; i < list.count; i++) {
		if (conf_value_listen(list.items[i], &why) != 0) {
			conf_item_error(p, line, key, list.items[i], why);
			rc = -1;
		}
	}
	if (rc != 0)
		conf_value_words_free(&list);
	else
		*(struct strlist *)field = list;
	return rc;
}

/* conf_set_domains - relay domains, lowercased, without trailing dot */
static int conf_set_domains(struct conf_parser *p, unsigned line, const struct conf_key *key,
                            const char *value, void *field)
{
	struct strlist list = {0};
	const char *why;
	char *domain;
	int rc = 0;

	conf_value_words(value, &list);
	for (size_t i = 0; i < list.count; i++) {
		if (conf_value_domain(list.items[i], &domain, &why) != 0) {
			conf_item_error(p, line, key, list.items[i], why);
			rc = -1;
			continue;
		}
		free(list.items[i]);
		list.items[i] = domain;
	}
	if (rc != 0)
		conf_value_words_free(&list);
	else
		*(struct strlist *)field = list;
	return rc;
}

/* conf_release_strlist - free a struct strlist field */
static void conf_release_strlist(void *field)
{
	conf_value_words_free(field);
}

/* conf_set_cidrs - a list of networks */
static int conf_set_cidrs(struct conf_parser *p, unsigned line, const struct conf_key *key,
                          const char *value, void *field)
{
	struct strlist words = {0};
	struct cidr_list list = {0};
	const char *why;
	int rc = 0;

	conf_value_words(value, &words);
	for (size_t i = 0; i < words.count; i++) {
		if (cidr_list_add(&list, words.items[i], &why) != 0) {
			conf_item_error(p, line, key, words.items[i], why);
			rc = -1;
		}
	}
	conf_value_words_free(&words);
	if (rc != 0)
		cidr_list_free(&list);
	else
		*(struct cidr_list *)field = list;
	return rc;
}

/* conf_release_cidrs - free a struct cidr_list field */
static void conf_release_cidrs(void *field)
{
	cidr_list_free(field);
}

/* conf_set_nexthop - smtp://, lmtp://, lmtp:unix: or maildir: */
static int conf_set_nexthop(struct conf_parser *p, unsigned line, const struct conf_key *key,
                            const char *value, void *field)
{
	const char *why;
	char q[CONF_QUOTE_SIZE];

	if (conf_value_nexthop(value, field, &why) != 0) {
		conf_error(p, line, "%s: %s, got %s", key->name, why, conf_quote(q, value));
		return -1;
	}
	return 0;
}

/* conf_release_nexthop - free a struct nexthop field */
static void conf_release_nexthop(void *field)
{
	conf_value_nexthop_free(field);
}

struct conf_type_ops {
	/* parse value into field, or report with conf_error and return -1 */
	int (*set)(struct conf_parser *p, unsigned line, const struct conf_key *key,
	           const char *value, void *field);
	void (*release)(void *field); /* NULL: nothing allocated */
};

static const struct conf_type_ops conf_types[] = {
    [CONF_STRING] = {conf_set_string, conf_release_string},
    [CONF_HOSTNAME] = {conf_set_hostname, conf_release_string},
    [CONF_BOOL] = {conf_set_bool, NULL},
    [CONF_INT] = {conf_set_int, NULL},
    [CONF_SIZE] = {conf_set_scaled, NULL},
    [CONF_DURATION] = {conf_set_scaled, NULL},
    [CONF_ENUM] = {conf_set_enum, NULL},
    [CONF_ENUM_NAME] = {conf_set_enum_name, conf_release_string},
    [CONF_LISTEN] = {conf_set_listen, conf_release_strlist},
    [CONF_DOMAINS] = {conf_set_domains, conf_release_strlist},
    [CONF_CIDRS] = {conf_set_cidrs, conf_release_cidrs},
    [CONF_NEXTHOP] = {conf_set_nexthop, conf_release_nexthop},
    [CONF_CLAMAV] = {conf_set_clamav, conf_release_string},
};

/* --- keys ----------------------------------------------------------------- */

static void *conf_field(struct conf *conf, const struct conf_key *key)
{
	return (char *)conf + key->offset;
}

/* conf_key_find - the table entry named by the len bytes at name */
static const struct conf_key *conf_key_find(const char *name, size_t len)
{
	for (size_t i = 0; i < CONF_NKEYS; i++)
		if (strlen(conf_keys[i].name) == len && memcmp(conf_keys[i].name, name, len) == 0)
			return &conf_keys[i];
	return NULL;
}

/* conf_distance - edit distance of the alen bytes at a and b; b is a key */
static size_t conf_distance(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b), row[64], diag, up;

	for (size_t j = 0; j <= blen; j++)
		row[j] = j;
	for (size_t i = 1; i <= alen; i++) {
		diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= blen; j++) {
			size_t best = diag + (a[i - 1] != b[j - 1]);

			up = row[j];
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[blen];
}

/* conf_closest - the key fewest edits away, if that is at most a third of name */
static const char *conf_closest(const char *name, size_t len)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, d;

	for (size_t i = 0; i < CONF_NKEYS; i++) {
		d = conf_distance(name, len, conf_keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = conf_keys[i].name;
		}
	}
	return best_d <= 3 && best_d * 3 <= len ? best : NULL;
}

/*
 * conf_suggest - the known key meant by a mistyped one: within a few edits
 * (case aside), or a known key that ends it after "_" (Postfix's
 * "smtpd_tls_cert_file" for our "tls_cert_file").
 */
static const char *conf_suggest(const char *name, size_t len)
{
	char lower[49];
	const char *near;
	size_t klen;

	if (len >= sizeof(lower))
		return NULL;
	for (size_t i = 0; i < len; i++)
		lower[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
	lower[len] = '\0';
	if ((near = conf_closest(lower, len)) != NULL)
		return near;
	for (size_t i = 0; i < CONF_NKEYS; i++) {
		klen = strlen(conf_keys[i].name);
		if (klen < len && lower[len - klen - 1] == '_' &&
		    strcmp(lower + len - klen, conf_keys[i].name) == 0)
			return conf_keys[i].name;
	}
	return NULL;
}

/* conf_key_char - may c appear in a key? */
static bool conf_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* conf_key_error - an unknown or malformed key, with a suggestion */
static void conf_key_error(struct conf_parser *p, unsigned line, const char *name, size_t len,
                           bool wellformed)
{
	char q[CONF_QUOTE_SIZE], *copy;
	const char *near;

	if (p->nerrors >= CONF_ERRORS_SHOWN) {
		p->nerrors++; /* not shown: spare the search for a suggestion */
		return;
	}
	copy = xstrndup(name, len);
	near = conf_suggest(name, len);
	conf_error(p, line, "%s key %s%s%s%s%s", wellformed ? "unknown" : "bad",
	           conf_quote(q, copy),
	           wellformed ? "" : " (keys are lowercase letters, digits and \"_\")",
	           near ? "; did you mean \"" : "", near ? near : "", near ? "\"?" : "");
	free(copy);
}

/* --- lines ---------------------------------------------------------------- */

/* conf_space - blank within a line: space or tab */
static bool conf_space(char c)
{
	return c == ' ' || c == '\t';
}

/* conf_assignment - one logical "key = value" line, starting at line */
static void conf_assignment(struct conf_parser *p, unsigned line, const char *text)
{
	const char *eq = strchr(text, '='), *value;
	char q[CONF_QUOTE_SIZE];
	const struct conf_key *key;
	size_t len, i;

	if (eq == NULL) {
		conf_error(p, line, "expected \"key = value\", got %s", conf_quote(q, text));
		return;
	}
	for (len = (size_t)(eq - text); len > 0 && conf_space(text[len - 1]); len--)
		;
	for (value = eq + 1; conf_space(*value); value++)
		;
	if (len == 0) {
		conf_error(p, line, "missing key before \"=\"");
		return;
	}
	for (i = 0; i < len && conf_key_char(text[i]); i++)
		;
	if (i < len || (key = conf_key_find(text, len)) == NULL) {
		conf_key_error(p, line, text, len, i == len);
		return;
	}
	i = (size_t)(key - conf_keys);
	if (p->set_line[i]) {
		conf_error(p, line, "%s: already set at line %u", key->name, p->set_line[i]);
		return;
	}
	p->set_line[i] = line;
	conf_types[key->type].set(p, line, key, value, conf_field(p->conf, key));
}

/* conf_flush - parse the logical line gathered so far, if any */
static void conf_flush(struct conf_parser *p)
{
	if (p->line_no && !p->line_bad)
		conf_assignment(p, p->line_no, buf_cstr(&p->line));
	buf_reset(&p->line);
	p->line_no = 0;
	p->line_bad = false;
}

/* conf_line_check - why the physical line s cannot be read, or NULL */
static const char *conf_line_check(const char *s, size_t len, char *why, size_t size)
{
	if (len > CONF_LINE_MAX) {
		snprintf(why, size, "line longer than %d bytes", CONF_LINE_MAX);
		return why;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0') {
			snprintf(why, size, "NUL byte in line");
			return why;
		}
		if ((c < 0x20 && c != '\t' && !(c == '\r' && i == len - 1)) || c == 0x7f) {
			snprintf(why, size, "control character 0x%02x in line", c);
			return why;
		}
	}
	return NULL;
}

/* conf_bad_line - report a physical line; swallow the logical line it is in */
static void conf_bad_line(struct conf_parser *p, unsigned no, const char *s, size_t len,
                          const char *why)
{
	conf_error(p, no, "%s", why);
	if (!(len > 0 && conf_space(s[0]) && p->line_no)) {
		conf_flush(p);
		p->line_no = no;
	}
	p->line_bad = true;
}

/* conf_physical_line - one line of the file, without its "\n" */
static void conf_physical_line(struct conf_parser *p, unsigned no, const char *s, size_t len)
{
	char why[64];
	size_t i = 0;

	if (conf_line_check(s, len, why, sizeof(why)) != NULL) {
		conf_bad_line(p, no, s, len, why);
		return;
	}
	while (len > 0 && (conf_space(s[len - 1]) || s[len - 1] == '\r'))
		len--;
	while (i < len && conf_space(s[i]))
		i++;
	if (i == len || s[i] == '#')
		return;
	if (i == 0) {
		conf_flush(p);
		p->line_no = no;
		buf_append(&p->line, s, len);
	} else if (p->line_no == 0) {
		conf_bad_line(p, no, s, len,
		              "line starts with whitespace but "
		              "does not continue a \"key = value\" line");
	} else if (!p->line_bad) {
		buf_append_char(&p->line, ' ');
		buf_append(&p->line, s + i, len - i);
	}
}

/* conf_lines - feed every line of text to conf_physical_line */
static void conf_lines(struct conf_parser *p, const char *text, size_t len)
{
	const char *nl;
	unsigned no = 0;

	while (len > 0) {
		nl = memchr(text, '\n', len);
		no++;
		conf_physical_line(p, no, text, nl ? (size_t)(nl - text) : len);
		if (nl == NULL)
			break;
		len -= (size_t)(nl - text) + 1;
		text = nl + 1;
	}
	conf_flush(p);
}

/* --- defaults and cross-checks -------------------------------------------- */

/* conf_default_hostname - the system host name, if it is a usable one */
static const char *conf_default_hostname(char *tmp, size_t size, const char **error_r)
{
	const char *why;

	if (gethostname(tmp, size) != 0) {
		*error_r = "cannot get the system host name";
		return NULL;
	}
	tmp[size - 1] = '\0';
	if (conf_value_hostname(tmp, &why) != 0) {
		*error_r = "the system host name is not a valid domain name";
		return NULL;
	}
	return tmp;
}

/* conf_defaults - give every key the file did not set its default */
static void conf_defaults(struct conf_parser *p)
{
	const struct conf_key *key;
	const char *text, *why;
	char tmp[256];

	for (size_t i = 0; i < CONF_NKEYS; i++) {
		if (p->set_line[i])
			continue;
		key = &conf_keys[i];
		text = key->def_fn ? key->def_fn(tmp, sizeof(tmp), &why) : key->def;
		if (text == NULL) {
			conf_error(p, 0, "%s: %s; set %s in the file", key->name, why, key->name);
			continue;
		}
		conf_types[key->type].set(p, 0, key, text, conf_field(p->conf, key));
	}
}

/* conf_key_line - where the key named name was set (0: not in the file) */
static unsigned conf_key_line(const struct conf_parser *p, const char *name)
{
	return p->set_line[conf_key_find(name, strlen(name)) - conf_keys];
}

/* conf_cross_check - rules that involve more than one key */
static void conf_cross_check(struct conf_parser *p)
{
	const struct conf *c = p->conf;
	bool cert = c->tls_cert_file && *c->tls_cert_file;
	bool key = c->tls_key_file && *c->tls_key_file;

	if (cert && !key)
		conf_error(p, conf_key_line(p, "tls_cert_file"),
		           "tls_cert_file is set but tls_key_file is not; set both or neither");
	if (key && !cert)
		conf_error(p, conf_key_line(p, "tls_key_file"),
		           "tls_key_file is set but tls_cert_file is not; set both or neither");
}

/* --- loading -------------------------------------------------------------- */

/* conf_finish - hand over the conf, or the errors */
static int conf_finish(struct conf_parser *p, struct conf **conf_r, char **errors_r)
{
	buf_free(&p->line);
	if (p->nerrors > CONF_ERRORS_SHOWN)
		buf_printf(&p->errors, "%s: %u more errors not shown\n", p->name,
		           p->nerrors - CONF_ERRORS_SHOWN);
	if (p->nerrors) {
		conf_free(p->conf);
		*conf_r = NULL;
		*errors_r = buf_steal(&p->errors);
		return -1;
	}
	buf_free(&p->errors);
	*conf_r = p->conf;
	*errors_r = NULL;
	return 0;
}

int conf_parse(const char *name, const char *text, size_t len, struct conf **conf_r,
               char **errors_r)
{
	struct conf_parser p = {.name = name};

	buf_init(&p.errors);
	buf_init(&p.line);
	p.conf = xcalloc(1, sizeof(*p.conf));
	p.conf->path = xstrdup(name);
	if (len > CONF_FILE_MAX) {
		conf_error(&p, 0, "larger than 1 MiB");
		return conf_finish(&p, conf_r, errors_r);
	}
	conf_lines(&p, text, len);
	conf_defaults(&p);
	conf_cross_check(&p);
	return conf_finish(&p, conf_r, errors_r);
}

/* conf_read_fd - the whole file, at most CONF_FILE_MAX + 1 bytes */
static int conf_read_fd(int fd, struct buf *text)
{
	ssize_t n;

	while (text->len <= CONF_FILE_MAX) {
		buf_reserve(text, 64 * 1024);
		n = read(fd, text->data + text->len, text->cap - text->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		text->len += (size_t)n;
	}
	return 0;
}

/* conf_read - the file at path into text, or a "path: message" in errors */
static int conf_read(const char *path, struct buf *text, struct buf *errors)
{
	struct stat st;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		buf_printf(errors, "%s: cannot open: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0)
		buf_printf(errors, "%s: cannot stat: %s\n", path, strerror(errno));
	else if (S_ISDIR(st.st_mode))
		buf_printf(errors, "%s: is a directory, not a configuration file\n", path);
	else if (!S_ISREG(st.st_mode))
		buf_printf(errors, "%s: not a regular file\n", path);
	else if (st.st_size > CONF_FILE_MAX)
		buf_printf(errors, "%s: larger than 1 MiB\n", path);
	else if (conf_read_fd(fd, text) != 0)
		buf_printf(errors, "%s: cannot read: %s\n", path, strerror(errno));
	else
		rc = 0;
	close(fd);
	return rc;
}

int conf_load(const char *path, struct conf **conf_r, char **errors_r)
{
	struct buf text, errors;
	int rc;

	buf_init(&text);
	buf_init(&errors);
	if (conf_read(path, &text, &errors) != 0) {
		buf_free(&text);
		*conf_r = NULL;
		*errors_r = buf_steal(&errors);
		return -1;
	}
	rc = conf_parse(path, text.data ? text.data : "", text.len, conf_r, errors_r);
	buf_free(&text);
	return rc;
}

void conf_free(struct conf *conf)
{
	const struct conf_key *key;

	if (conf == NULL)
		return;
	for (size_t i = 0; i < CONF_NKEYS; i++) {
		key = &conf_keys[i];
		if (conf_types[key->type].release)
			conf_types[key->type].release(conf_field(conf, key));
	}
	free(conf->path);
	free(conf);
}

bool conf_relay_domain_match(const struct conf *conf, const char *domain)
{
	size_t len = strlen(domain), dlen;
	const char *d;

	if (len > 0 && domain[len - 1] == '.')
		len--;
	for (size_t i = 0; len > 0 && i < conf->relay_domains.count; i++) {
		d = conf->relay_domains.items[i];
		dlen = strlen(d);
		if (d[0] == '.' ? len > dlen && strncasecmp(domain + len - dlen, d, dlen) == 0
		                : len == dlen && strncasecmp(domain, d, len) == 0)
			return true;
	}
	return false;
}

void strlist_copy(struct strlist *dst, const struct strlist *src)
{
	dst->items = xcalloc(src->count + 1, sizeof(*dst->items));
	dst->count = 0;
	for (size_t i = 0; i < src->count; i++)
		dst->items[dst->count++] = xstrdup(src->items[i]);
}

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}
