/*
 * conf - sekisho.conf: one file of "key = value" lines, as Postfix's main.cf.
 *
 * Every key is declared once in a table (conf.c) with its type, default and
 * bounds. Loading checks every line and reports each problem as
 * "file:line: message"; an unknown key or a bad value refuses the whole
 * file. A loaded struct conf is immutable and owned by whoever loaded it.
 */
#ifndef SEKISHO_CONF_H
#define SEKISHO_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cidr.h"

enum nexthop_kind {
	NEXTHOP_SMTP,	      /* smtp://host:port */
	NEXTHOP_LMTP,	      /* lmtp://host:port */
	NEXTHOP_LMTP_UNIX,    /* lmtp:unix:/path */
	NEXTHOP_MAILDIR,      /* maildir:/path */
};

struct nexthop {
	enum nexthop_kind kind;
	char *host;	/* smtp, lmtp: name or address, IPv6 without brackets */
	char *port;	/* smtp, lmtp: decimal port ("25" if omitted for smtp, "24" for lmtp) */
	char *path;	/* lmtp:unix socket path, maildir root folder */
};

enum tls_policy { TLS_POLICY_NONE, TLS_POLICY_MAY, TLS_POLICY_REQUIRED };
enum log_target { LOG_TARGET_STDERR, LOG_TARGET_SYSLOG };
enum ratelimit_fail { RATELIMIT_FAIL_CLOSED, RATELIMIT_FAIL_OPEN };
enum milter_quarantine { MILTER_QUARANTINE_STORE, MILTER_QUARANTINE_HOLD };

struct strlist {
	char **items;
	size_t count;
};

struct conf {
	char *path;			/* the file it was loaded from */

	/* listening and identity */
	struct strlist listen;		/* "127.0.0.1:2525", "[::1]:2525", "*:25" */
	char *myhostname;		/* default: the system's host name */
	char *user;			/* drop to this user after binding; "" = stay */
	char *pid_file;			/* "" = none */
	char *control_socket;		/* "" = none */
	char *milter_listen;		/* "inet:8891@127.0.0.1", "unix:/path"; "" = no milter */
	enum milter_quarantine milter_quarantine;	/* where a milter quarantines */

	/* policy */
	char *rules_dir;		/* "" = no rules */
	char *quarantine_dir;		/* "" = no quarantine store */
	long quarantine_retention;	/* seconds */

	/* content inspection (analyzers, attachments, antivirus) */
	long analyzers;
	long analyzer_timeout;
	long analyzer_memory;
	long analyzer_max_jobs;
	long mime_max_parts;
	long mime_max_depth;
	long attachment_max_size;
	long archive_max_depth;
	long archive_max_members;
	long archive_max_total;
	char *clamav;			/* "off", "libclamav", "clamd:/path" */
	char *clamav_db;
	long clamav_max_filesize;
	long clamav_max_scansize;
	long clamav_max_files;
	long clamav_max_recursion;
	long clamav_max_scantime;

	/* sender authentication and DNS */
	char *dns_forward;		/* "" = the system's resolv.conf */
	long dns_timeout;		/* seconds per query */
	char *dns_trust_anchor;		/* "" = no DNSSEC validation */
	char *authserv_id;		/* "" = myhostname */
	bool spf;
	bool dkim;
	bool dmarc;
	char *psl_file;			/* the public suffix list */
	struct strlist dnsbl;		/* zones the client address is looked up in */
	/* links in messages */
	long url_max;			/* links inspected per message */
	struct strlist protect_domains;	/* whose look-alikes are flagged */
	struct strlist url_shorteners;
	struct strlist uribl;		/* zones link domains are looked up in */
	long uribl_max_lookups;		/* domains looked up per message */
	/* who may send what */
	struct strlist relay_domains;	/* lowercased; ".example.com" also matches subdomains */
	struct cidr_list mynetworks;	/* may relay anywhere */
	struct cidr_list proxy_protocol_from;

	/* limits (durations in seconds, sizes in bytes) */
	long max_sessions;
	long max_sessions_per_ip;
	long max_recipients;
	long max_errors;
	long max_line_length;		/* command lines, CRLF included */
	long message_size_limit;
	long smtpd_timeout;		/* each command read, each reply write */
	long smtpd_data_timeout;	/* each DATA or BDAT read */
	long shutdown_timeout;		/* SIGTERM grace for sessions in flight */
	long greet_pause;		/* seconds to wait for an early talker before 220 */

	/* rate limits (the limits themselves are in the rule files) */
	char *ratelimit_backend;	/* "memory", "redis://host:port/db", "redis+unix:/path" */
	enum ratelimit_fail ratelimit_fail;
	long ratelimit_timeout;		/* seconds for a Redis connect or reply */
	long ratelimit_max_keys;	/* keys the memory backend keeps */

	/* monitoring */
	char *metrics_listen;		/* "127.0.0.1:9125"; "" = no metrics endpoint */

	/* TLS for clients */
	char *tls_cert_file;		/* both set: STARTTLS announced */
	char *tls_key_file;
	bool chunking;			/* announce CHUNKING (BDAT) */

	/* next hop */
	struct nexthop next_hop;
	enum tls_policy next_hop_tls;
	char *next_hop_tls_ca_file;	/* "" = do not verify the certificate */
	long next_hop_connect_timeout;
	long next_hop_command_timeout;
	long next_hop_data_timeout;
	long next_hop_pool_size;	/* idle connections kept for reuse */
	long next_hop_pool_idle;	/* seconds an idle connection is kept */

	/* logging */
	enum log_target log;
	char *syslog_facility;		/* "mail", "local0".."local7", ... */
};

/*
 * conf_load - read and check the file at path. On success returns 0 and a
 * new conf in *conf_r. On failure returns -1 and, in *errors_r, a malloc'd
 * text of one "file:line: message" line per problem (the caller frees it).
 */
int conf_load(const char *path, struct conf **conf_r, char **errors_r);

/* conf_parse - the same from bytes in memory; name is used in messages */
int conf_parse(const char *name, const char *text, size_t len,
	       struct conf **conf_r, char **errors_r);

void conf_free(struct conf *conf);

/* strlist_copy - dst gets its own copy of src's items; strlist_free frees them */
void strlist_copy(struct strlist *dst, const struct strlist *src);
void strlist_free(struct strlist *l);

/* conf_relay_domain_match - is domain (any case) one of relay_domains? */
bool conf_relay_domain_match(const struct conf *conf, const char *domain);

#endif
