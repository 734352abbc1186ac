/*
 * test_conf - sekisho.conf: value types, syntax, errors, defaults, matching.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/conf_value.h"
#include "tests/unit/check.h"

/* --- value parsers ------------------------------------------------------- */

static const struct bool_case {
	const char *text;
	int want; /* 1, 0, or -1 for an error */
} bool_cases[] = {
    {"yes", 1}, {"YES", 1}, {"true", 1},  {"True", 1}, {"on", 1},    {"1", 1},
    {"no", 0},  {"No", 0},  {"false", 0}, {"off", 0},  {"OFF", 0},   {"0", 0},
    {"", -1},   {"y", -1},  {"yess", -1}, {"2", -1},   {" yes", -1}, {"enabled", -1},
};

static void test_bool(void)
{
	for (size_t i = 0; i < sizeof(bool_cases) / sizeof(bool_cases[0]); i++) {
		const struct bool_case *c = &bool_cases[i];
		const char *error = NULL;
		bool b = false;
		int rc = conf_value_bool(c->text, &b, &error);

		CHECK_INT(rc, c->want < 0 ? -1 : 0);
		if (c->want >= 0)
			CHECK_INT(b, c->want);
		else
			CHECK_STR(error, "not yes or no");
	}
}

enum num_kind { NUM_INT, NUM_SIZE, NUM_DURATION };

static const struct num_case {
	enum num_kind kind;
	const char *text;
	long min, max;
	long want;
	const char *error; /* NULL: must succeed with want */
} num_cases[] = {
    {NUM_INT, "0", 0, 10, 0, NULL},
    {NUM_INT, "10", 0, 10, 10, NULL},
    {NUM_INT, "007", 0, 10, 7, NULL},
    {NUM_INT, "-5", -10, 10, -5, NULL},
    {NUM_INT, "11", 0, 10, 0, "out of range"},
    {NUM_INT, "-1", 0, 10, 0, "out of range"},
    {NUM_INT, "", 0, 10, 0, "not a whole number"},
    {NUM_INT, "-", 0, 10, 0, "not a whole number"},
    {NUM_INT, "+5", 0, 10, 0, "not a whole number"},
    {NUM_INT, "5 ", 0, 10, 0, "not a whole number"},
    {NUM_INT, "0x10", 0, 100, 0, "not a whole number"},
    {NUM_INT, "1e3", 0, 10000, 0, "not a whole number"},
    {NUM_INT, "abc", 0, 10, 0, "not a whole number"},
    {NUM_INT, "9223372036854775807", 0, LONG_MAX, LONG_MAX, NULL},
    {NUM_INT, "9223372036854775808", 0, LONG_MAX, 0, "out of range"},
    {NUM_INT, "99999999999999999999999999", 0, LONG_MAX, 0, "out of range"},

    {NUM_SIZE, "1024", 1, LONG_MAX, 1024, NULL},
    {NUM_SIZE, "512k", 1, LONG_MAX, 512 * 1024, NULL},
    {NUM_SIZE, "512K", 1, LONG_MAX, 512 * 1024, NULL},
    {NUM_SIZE, "10M", 1, LONG_MAX, 10L * 1024 * 1024, NULL},
    {NUM_SIZE, "10m", 1, LONG_MAX, 10L * 1024 * 1024, NULL},
    {NUM_SIZE, "1G", 1, LONG_MAX, 1024L * 1024 * 1024, NULL},
    {NUM_SIZE, "2g", 1, LONG_MAX, 2048L * 1024 * 1024, NULL},
    {NUM_SIZE, "0", 0, 10, 0, NULL},
    {NUM_SIZE, "1K", 1025, LONG_MAX, 0, "out of range"},
    {NUM_SIZE, "3G", 1, 2048L * 1024 * 1024, 0, "out of range"},
    {NUM_SIZE, "8589934591G", 1, LONG_MAX, 8589934591L * 1024 * 1024 * 1024, NULL},
    {NUM_SIZE, "8589934592G", 1, LONG_MAX, 0, "out of range"},
    {NUM_SIZE, "99999999999999999999K", 1, LONG_MAX, 0, "out of range"},
    {NUM_SIZE, "10MB", 1, LONG_MAX, 0, "not a size"},
    {NUM_SIZE, "10T", 1, LONG_MAX, 0, "not a size"},
    {NUM_SIZE, "10 M", 1, LONG_MAX, 0, "not a size"},
    {NUM_SIZE, "M", 1, LONG_MAX, 0, "not a size"},
    {NUM_SIZE, "-1", 0, LONG_MAX, 0, "not a size"},
    {NUM_SIZE, "1.5M", 1, LONG_MAX, 0, "not a size"},
    {NUM_SIZE, "", 1, LONG_MAX, 0, "not a size"},

    {NUM_DURATION, "30", 0, LONG_MAX, 30, NULL},
    {NUM_DURATION, "30s", 0, LONG_MAX, 30, NULL},
    {NUM_DURATION, "30S", 0, LONG_MAX, 30, NULL},
    {NUM_DURATION, "5m", 0, LONG_MAX, 300, NULL},
    {NUM_DURATION, "2h", 0, LONG_MAX, 7200, NULL},
    {NUM_DURATION, "1d", 0, LONG_MAX, 86400, NULL},
    {NUM_DURATION, "0", 0, 3600, 0, NULL},
    {NUM_DURATION, "1h", 1, 3600, 3600, NULL},
    {NUM_DURATION, "61m", 1, 3600, 0, "out of range"},
    {NUM_DURATION, "0s", 1, 3600, 0, "out of range"},
    {NUM_DURATION, "106751991167300d", 0, LONG_MAX, 106751991167300L * 86400, NULL},
    {NUM_DURATION, "106751991167301d", 0, LONG_MAX, 0, "out of range"},
    {NUM_DURATION, "1w", 0, LONG_MAX, 0, "not a duration"},
    {NUM_DURATION, "1ms", 0, LONG_MAX, 0, "not a duration"},
    {NUM_DURATION, "s", 0, LONG_MAX, 0, "not a duration"},
    {NUM_DURATION, "-1s", 0, LONG_MAX, 0, "not a duration"},
    {NUM_DURATION, "", 0, LONG_MAX, 0, "not a duration"},
};

static void test_numbers(void)
{
	for (size_t i = 0; i < sizeof(num_cases) / sizeof(num_cases[0]); i++) {
		const struct num_case *c = &num_cases[i];
		const char *error = NULL;
		long n = -42;
		int rc;

		if (c->kind == NUM_INT)
			rc = conf_value_int(c->text, c->min, c->max, &n, &error);
		else if (c->kind == NUM_SIZE)
			rc = conf_value_size(c->text, c->min, c->max, &n, &error);
		else
			rc = conf_value_duration(c->text, c->min, c->max, &n, &error);
		if (rc != (c->error ? -1 : 0))
			fprintf(stderr, "  case \"%s\"\n", c->text);
		CHECK_INT(rc, c->error ? -1 : 0);
		CHECK_STR(c->error ? error : NULL, c->error);
		CHECK_INT(n, c->error ? -42 : c->want);
	}
}

static void test_enum(void)
{
	static const char *const names[] = {"none", "may", "required", NULL};
	const char *error = NULL;
	int n = -1;

	CHECK_INT(conf_value_enum("none", names, &n, &error), 0);
	CHECK_INT(n, 0);
	CHECK_INT(conf_value_enum("Required", names, &n, &error), 0);
	CHECK_INT(n, 2);
	CHECK_INT(conf_value_enum("maybe", names, &n, &error), -1);
	CHECK_INT(conf_value_enum("", names, &n, &error), -1);
	CHECK_STR(error, "not one of the names allowed");
	CHECK_INT(n, 2);
}

static const struct words_case {
	const char *text;
	const char *joined; /* the words joined with "|" */
} words_cases[] = {
    {"", ""},       {"   ", ""},
    {"a", "a"},     {"a b", "a|b"},
    {"a,b", "a|b"}, {" a , b,,c\td ", "a|b|c|d"},
    {",,,", ""},    {"127.0.0.1:25, [::1]:25", "127.0.0.1:25|[::1]:25"},
};

static void test_words(void)
{
	char joined[128];

	for (size_t i = 0; i < sizeof(words_cases) / sizeof(words_cases[0]); i++) {
		struct strlist list = {0};

		conf_value_words(words_cases[i].text, &list);
		joined[0] = '\0';
		for (size_t j = 0; j < list.count; j++) {
			if (j)
				strcat(joined, "|");
			strcat(joined, list.items[j]);
		}
		CHECK_STR(joined, words_cases[i].joined);
		conf_value_words_free(&list);
	}
}

static void test_show(void)
{
	char out[32];

	conf_value_show_size(2048L * 1024 * 1024, out, sizeof(out));
	CHECK_STR(out, "2G");
	conf_value_show_size(50L * 1024 * 1024, out, sizeof(out));
	CHECK_STR(out, "50M");
	conf_value_show_size(1024, out, sizeof(out));
	CHECK_STR(out, "1K");
	conf_value_show_size(1000, out, sizeof(out));
	CHECK_STR(out, "1000");
	conf_value_show_duration(3600, out, sizeof(out));
	CHECK_STR(out, "1h");
	conf_value_show_duration(600, out, sizeof(out));
	CHECK_STR(out, "10m");
	conf_value_show_duration(90, out, sizeof(out));
	CHECK_STR(out, "90s");
	conf_value_show_duration(0, out, sizeof(out));
	CHECK_STR(out, "0s");
	conf_value_show_duration(86400, out, sizeof(out));
	CHECK_STR(out, "1d");
}

/* --- whole files ------------------------------------------------------------ */

/* parse - conf_parse on text named "t.conf"; returns the errors or NULL */
static char *parse(const char *text, struct conf **conf_r)
{
	char *errors = NULL;
	struct conf *conf = NULL;
	int rc = conf_parse("t.conf", text, strlen(text), &conf, &errors);

	CHECK(rc == 0 ? conf != NULL && errors == NULL : conf == NULL && errors != NULL);
	if (conf_r)
		*conf_r = conf;
	else
		conf_free(conf);
	return errors;
}

/* expect_errors - text must fail with exactly these errors */
static void expect_errors(const char *text, const char *want)
{
	char *errors = parse(text, NULL);

	CHECK_STR(errors, want);
	free(errors);
}

static void test_defaults(void)
{
	struct conf *c;
	char host[256] = "";
	char *errors = parse("", &c);

	CHECK_STR(errors, NULL);
	if (c == NULL)
		return;
	gethostname(host, sizeof(host) - 1);
	CHECK_STR(c->path, "t.conf");
	CHECK_INT(c->listen.count, 1);
	CHECK_STR(c->listen.items[0], "127.0.0.1:2525");
	CHECK_STR(c->myhostname, host);
	CHECK_STR(c->user, "");
	CHECK_STR(c->pid_file, "");
	CHECK_STR(c->control_socket, "");
	CHECK_INT(c->relay_domains.count, 0);
	CHECK_INT(c->mynetworks.count, 2);
	CHECK_INT(c->mynetworks.items[0].family, AF_INET);
	CHECK_INT(c->mynetworks.items[0].prefix, 8);
	CHECK_INT(c->mynetworks.items[1].family, AF_INET6);
	CHECK_INT(c->mynetworks.items[1].prefix, 128);
	CHECK_INT(c->proxy_protocol_from.count, 0);
	CHECK_INT(c->max_sessions, 100);
	CHECK_INT(c->max_sessions_per_ip, 20);
	CHECK_INT(c->max_recipients, 100);
	CHECK_INT(c->max_errors, 20);
	CHECK_INT(c->max_line_length, 2048);
	CHECK_INT(c->message_size_limit, 50L * 1024 * 1024);
	CHECK_INT(c->smtpd_timeout, 300);
	CHECK_INT(c->smtpd_data_timeout, 180);
	CHECK_INT(c->shutdown_timeout, 30);
	CHECK_STR(c->tls_cert_file, "");
	CHECK_STR(c->tls_key_file, "");
	CHECK(c->chunking);
	CHECK_INT(c->next_hop.kind, NEXTHOP_MAILDIR);
	CHECK_STR(c->next_hop.path, "/var/lib/sekisho/maildir");
	CHECK_STR(c->next_hop.host, NULL);
	CHECK_INT(c->next_hop_tls, TLS_POLICY_MAY);
	CHECK_STR(c->next_hop_tls_ca_file, "");
	CHECK_INT(c->next_hop_connect_timeout, 30);
	CHECK_INT(c->next_hop_command_timeout, 300);
	CHECK_INT(c->next_hop_data_timeout, 600);
	CHECK_INT(c->next_hop_pool_size, 16);
	CHECK_INT(c->next_hop_pool_idle, 60);
	CHECK_INT(c->log, LOG_TARGET_STDERR);
	CHECK_STR(c->syslog_facility, "mail");
	conf_free(c);
}

static void test_values(void)
{
	struct conf *c;
	char *errors = parse("# a full file\n"
	                     "listen = 127.0.0.1:25, [::1]:25 *:2525\n"
	                     "myhostname = MX-1.example.test\n"
	                     "user = sekisho\n"
	                     "pid_file = /run/sekisho.pid\n"
	                     "control_socket = /run/sekisho/control.sock\n"
	                     "relay_domains = Example.TEST, .sub.example.test.\n"
	                     "mynetworks = 10.0.0.0/8, 2001:db8::/32\n"
	                     "proxy_protocol_from = 192.0.2.1\n"
	                     "max_sessions = 100000\n"
	                     "max_sessions_per_ip = 1\n"
	                     "max_recipients = 5000\n"
	                     "max_errors = 1000\n"
	                     "max_line_length = 512\n"
	                     "message_size_limit = 2G\n"
	                     "smtpd_timeout = 1h\n"
	                     "smtpd_data_timeout = 1s\n"
	                     "shutdown_timeout = 0\n"
	                     "tls_cert_file = /etc/ssl/cert.pem\n"
	                     "tls_key_file = /etc/ssl/key.pem\n"
	                     "chunking = off\n"
	                     "next_hop = smtp://mail.example.test:2525\n"
	                     "next_hop_tls = REQUIRED\n"
	                     "next_hop_tls_ca_file = /etc/ssl/ca.pem\n"
	                     "next_hop_connect_timeout = 10m\n"
	                     "next_hop_command_timeout = 2m\n"
	                     "next_hop_data_timeout = 3600\n"
	                     "next_hop_pool_size = 0\n"
	                     "next_hop_pool_idle = 5m\n"
	                     "log = syslog\n"
	                     "syslog_facility = Local3\n",
	                     &c);

	CHECK_STR(errors, NULL);
	free(errors);
	if (c == NULL)
		return;
	CHECK_INT(c->listen.count, 3);
	CHECK_STR(c->listen.items[2], "*:2525");
	CHECK_STR(c->myhostname, "MX-1.example.test");
	CHECK_STR(c->user, "sekisho");
	CHECK_STR(c->pid_file, "/run/sekisho.pid");
	CHECK_STR(c->control_socket, "/run/sekisho/control.sock");
	CHECK_INT(c->relay_domains.count, 2);
	CHECK_STR(c->relay_domains.items[0], "example.test");
	CHECK_STR(c->relay_domains.items[1], ".sub.example.test");
	CHECK_INT(c->mynetworks.count, 2);
	CHECK_INT(c->proxy_protocol_from.count, 1);
	CHECK_INT(c->max_sessions, 100000);
	CHECK_INT(c->max_sessions_per_ip, 1);
	CHECK_INT(c->max_recipients, 5000);
	CHECK_INT(c->max_errors, 1000);
	CHECK_INT(c->max_line_length, 512);
	CHECK_INT(c->message_size_limit, 2048L * 1024 * 1024);
	CHECK_INT(c->smtpd_timeout, 3600);
	CHECK_INT(c->smtpd_data_timeout, 1);
	CHECK_INT(c->shutdown_timeout, 0);
	CHECK_STR(c->tls_cert_file, "/etc/ssl/cert.pem");
	CHECK_STR(c->tls_key_file, "/etc/ssl/key.pem");
	CHECK(!c->chunking);
	CHECK_INT(c->next_hop.kind, NEXTHOP_SMTP);
	CHECK_STR(c->next_hop.host, "mail.example.test");
	CHECK_STR(c->next_hop.port, "2525");
	CHECK_INT(c->next_hop_tls, TLS_POLICY_REQUIRED);
	CHECK_STR(c->next_hop_tls_ca_file, "/etc/ssl/ca.pem");
	CHECK_INT(c->next_hop_connect_timeout, 600);
	CHECK_INT(c->next_hop_command_timeout, 120);
	CHECK_INT(c->next_hop_data_timeout, 3600);
	CHECK_INT(c->next_hop_pool_size, 0);
	CHECK_INT(c->next_hop_pool_idle, 300);
	CHECK_INT(c->log, LOG_TARGET_SYSLOG);
	CHECK_STR(c->syslog_facility, "local3");
	conf_free(c);
}

/* each numeric key accepts its bounds and refuses one step beyond */
static const struct bound_case {
	const char *line;
	const char *error; /* NULL: accepted */
} bound_cases[] = {
    {"max_sessions = 1", NULL},
    {"max_sessions = 0", "max_sessions: expected a whole number from 1 to 100000, got \"0\""},
    {"max_sessions = 100001",
     "max_sessions: expected a whole number from 1 to 100000, got \"100001\""},
    {"max_sessions = abc", "max_sessions: expected a whole number from 1 to 100000, got \"abc\""},
    {"max_sessions =", "max_sessions: expected a whole number from 1 to 100000, got \"\""},
    {"max_sessions_per_ip = 100000", NULL},
    {"max_sessions_per_ip = 0",
     "max_sessions_per_ip: expected a whole number from 1 to 100000, got \"0\""},
    {"max_recipients = 100001",
     "max_recipients: expected a whole number from 1 to 100000, got \"100001\""},
    {"max_errors = 1001", "max_errors: expected a whole number from 1 to 1000, got \"1001\""},
    {"max_line_length = 65536", NULL},
    {"max_line_length = 511",
     "max_line_length: expected a whole number from 512 to 65536, got \"511\""},
    {"max_line_length = 64K",
     "max_line_length: expected a whole number from 512 to 65536, got \"64K\""},
    {"message_size_limit = 1K", NULL},
    {"message_size_limit = 1023", "message_size_limit: expected a size from 1K to 2G (bytes, or a "
                                  "number with suffix K, M or G), got \"1023\""},
    {"message_size_limit = 2049M", "message_size_limit: expected a size from 1K to 2G (bytes, or a "
                                   "number with suffix K, M or G), got \"2049M\""},
    {"message_size_limit = 10MB", "message_size_limit: expected a size from 1K to 2G (bytes, or a "
                                  "number with suffix K, M or G), got \"10MB\""},
    {"message_size_limit = 10M # ten",
     "message_size_limit: expected a size from 1K to 2G (bytes, or a number with suffix K, M or "
     "G), got \"10M # ten\" (\"#\" starts a comment only at the start of a line)"},
    {"smtpd_timeout = 3600s", NULL},
    {"smtpd_timeout = 0", "smtpd_timeout: expected a duration from 1s to 1h (seconds, or a number "
                          "with suffix s, m, h or d), got \"0\""},
    {"smtpd_timeout = 61m", "smtpd_timeout: expected a duration from 1s to 1h (seconds, or a "
                            "number with suffix s, m, h or d), got \"61m\""},
    {"smtpd_data_timeout = 1d", "smtpd_data_timeout: expected a duration from 1s to 1h (seconds, "
                                "or a number with suffix s, m, h or d), got \"1d\""},
    {"shutdown_timeout = 0s", NULL},
    {"shutdown_timeout = 3601", "shutdown_timeout: expected a duration from 0s to 1h (seconds, or "
                                "a number with suffix s, m, h or d), got \"3601\""},
    {"next_hop_connect_timeout = 600", NULL},
    {"next_hop_connect_timeout = 601",
     "next_hop_connect_timeout: expected a duration from 1s to 10m (seconds, or a number with "
     "suffix s, m, h or d), got \"601\""},
    {"next_hop_command_timeout = 0", "next_hop_command_timeout: expected a duration from 1s to 1h "
                                     "(seconds, or a number with suffix s, m, h or d), got \"0\""},
    {"next_hop_data_timeout = 2h", "next_hop_data_timeout: expected a duration from 1s to 1h "
                                   "(seconds, or a number with suffix s, m, h or d), got \"2h\""},
    {"next_hop_pool_size = 10000", NULL},
    {"next_hop_pool_size = 10001",
     "next_hop_pool_size: expected a whole number from 0 to 10000, got \"10001\""},
    {"next_hop_pool_size = -1",
     "next_hop_pool_size: expected a whole number from 0 to 10000, got \"-1\""},
    {"next_hop_pool_idle = 0", "next_hop_pool_idle: expected a duration from 1s to 1h (seconds, or "
                               "a number with suffix s, m, h or d), got \"0\""},
    {"chunking = maybe", "chunking: expected yes or no, got \"maybe\""},
    {"chunking = YES", NULL},
    {"next_hop_tls = maybe", "next_hop_tls: expected none, may or required, got \"maybe\""},
    {"log = file", "log: expected stderr or syslog, got \"file\""},
    {"syslog_facility = local8",
     "syslog_facility: expected mail, daemon, user, local0, local1, local2, local3, local4, "
     "local5, local6 or local7, got \"local8\""},
    {"myhostname = mx_1.example",
     "myhostname: expected a host name (letters, digits, \"-\" and \".\"), got \"mx_1.example\": "
     "only letters, digits, \"-\" and \".\" are allowed"},
    {"myhostname = mx..example", "myhostname: expected a host name (letters, digits, \"-\" and "
                                 "\".\"), got \"mx..example\": a label is empty"},
    {"myhostname = -mx.example", "myhostname: expected a host name (letters, digits, \"-\" and "
                                 "\".\"), got \"-mx.example\": a label starts or ends with \"-\""},
    {"myhostname = mx.example.", "myhostname: expected a host name (letters, digits, \"-\" and "
                                 "\".\"), got \"mx.example.\": a label is empty"},
    {"myhostname =",
     "myhostname: expected a host name (letters, digits, \"-\" and \".\"), got \"\": empty"},
    {"myhostname = 0123456789012345678901234567890123456789012345678901234567890123.x",
     "myhostname: expected a host name (letters, digits, \"-\" and \".\"), got "
     "\"0123456789012345678901234567890123456789012345678901234567890123.x\": a label is longer "
     "than 63 bytes"},
    {"myhostname = 012345678901234567890123456789012345678901234567890123456789012.x", NULL},
    {"myhostname = "
     "0123456789.0123456789.0123456789.0123456789.0123456789.0123456789.0123456789.0123456789."
     "0123456789.0123456789.0123456789.0123456789.0123456789.0123456789.0123456789.0123456789."
     "0123456789.0123456789.0123456789.0123456789.0123456789.0123456789.0123456789.x",
     "myhostname: expected a host name (letters, digits, \"-\" and \".\"), got "
     "\"0123456789.0123456789.0123456789.0123456789.0123456789.0123456789.0123456789.012\"...: "
     "longer than 253 bytes"},
    {"listen = *:25", NULL},
    {"listen = [::]:25 0.0.0.0:25", NULL},
    {"listen =", NULL},
    {"milter_quarantine = hold", NULL},
    {"milter_quarantine = maybe", "milter_quarantine: expected store or hold, got \"maybe\""},
    {"listen = localhost:25",
     "listen: \"localhost:25\": host names are not allowed, only IP addresses or \"*\""},
    {"listen = 127.0.0.1", "listen: \"127.0.0.1\": missing \":port\""},
    {"listen = :25", "listen: \":25\": missing address before \":port\" (\"*\" means all)"},
    {"listen = 127.0.0.1:0", "listen: \"127.0.0.1:0\": the port must be a number from 1 to 65535"},
    {"listen = 127.0.0.1:65536",
     "listen: \"127.0.0.1:65536\": the port must be a number from 1 to 65535"},
    {"listen = 127.0.0.1:smtp",
     "listen: \"127.0.0.1:smtp\": the port must be a number from 1 to 65535"},
    {"listen = ::1:25", "listen: \"::1:25\": write an IPv6 address in brackets, as in [::1]:25"},
    {"listen = [::1]", "listen: \"[::1]\": missing \":port\""},
    {"listen = [::1:25", "listen: \"[::1:25\": missing \"]\""},
    {"listen = [127.0.0.1]:25", "listen: \"[127.0.0.1]:25\": not an IPv6 address inside \"[]\""},
    {"listen = [::1]25", "listen: \"[::1]25\": expected \":port\" after \"]\""},
    {"relay_domains = *.example.com", "relay_domains: \"*.example.com\": write \".example.com\", "
                                      "not \"*.example.com\", for subdomains"},
    {"relay_domains = exa_mple.com",
     "relay_domains: \"exa_mple.com\": only letters, digits, \"-\" and \".\" are allowed"},
    {"relay_domains = .", "relay_domains: \".\": empty"},
    {"relay_domains = ..example.com", "relay_domains: \"..example.com\": a label is empty"},
    {"mynetworks = 10.0.0.1/8",
     "mynetworks: \"10.0.0.1/8\": address has bits set beyond the prefix length"},
    {"mynetworks = example.com",
     "mynetworks: \"example.com\": not an IPv4 or IPv6 address or network"},
    {"mynetworks =", NULL},
    {"proxy_protocol_from = [::1]/129",
     "proxy_protocol_from: \"[::1]/129\": prefix length must be 0 to 128 for IPv6"},
    {"next_hop = smtp://", "next_hop: missing host, got \"smtp://\""},
    {"next_hop = smtp://mx:0",
     "next_hop: the port must be a number from 1 to 65535, got \"smtp://mx:0\""},
    {"next_hop = smtp://mx_1",
     "next_hop: bad host name (letters, digits, \"-\" and \".\"), got \"smtp://mx_1\""},
    {"next_hop = smtp://300.1.1.1", "next_hop: not a valid IPv4 address, got \"smtp://300.1.1.1\""},
    {"next_hop = smtp://::1",
     "next_hop: write an IPv6 address in brackets, as in [::1]:25, got \"smtp://::1\""},
    {"next_hop = smtp://[mx]:25",
     "next_hop: not an IPv6 address inside \"[]\", got \"smtp://[mx]:25\""},
    {"next_hop = smtp://mx/",
     "next_hop: bad host name (letters, digits, \"-\" and \".\"), got \"smtp://mx/\""},
    {"next_hop = maildir:var/mail",
     "next_hop: the path must be absolute, got \"maildir:var/mail\""},
    {"next_hop = maildir:", "next_hop: the path must be absolute, got \"maildir:\""},
    {"next_hop = lmtp:unix:run/lmtp",
     "next_hop: the path must be absolute, got \"lmtp:unix:run/lmtp\""},
    {"next_hop = "
     "lmtp:unix:/"
     "012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012"
     "3456789/sockets/lmtp",
     "next_hop: the socket path is too long for a unix socket, got "
     "\"lmtp:unix:/012345678901234567890123456789012345678901234567890123456789012345678\"..."},
    {"next_hop = mx.example.com", "next_hop: expected smtp://host[:port], lmtp://host[:port], "
                                  "lmtp:unix:/path or maildir:/path, got \"mx.example.com\""},
    {"next_hop = smtp:[mx.example.com]:25",
     "next_hop: expected smtp://host[:port], lmtp://host[:port], lmtp:unix:/path or maildir:/path, "
     "got \"smtp:[mx.example.com]:25\""},
    {"next_hop =", "next_hop: expected smtp://host[:port], lmtp://host[:port], lmtp:unix:/path or "
                   "maildir:/path, got \"\""},
    {"user =", NULL},
    {"tls_cert_file = /c.pem", "tls_cert_file is set but tls_key_file is not; set both or neither"},
    {"tls_key_file = /k.pem", "tls_key_file is set but tls_cert_file is not; set both or neither"},
};

static void test_bounds(void)
{
	char text[512], want[1024];

	for (size_t i = 0; i < sizeof(bound_cases) / sizeof(bound_cases[0]); i++) {
		const struct bound_case *c = &bound_cases[i];
		char *errors;

		snprintf(text, sizeof(text), "# line 1\n%s\n", c->line);
		errors = parse(text, NULL);
		if (c->error == NULL) {
			CHECK_STR(errors, NULL);
		} else {
			snprintf(want, sizeof(want), "t.conf:2: %s\n", c->error);
			CHECK_STR(errors, want);
		}
		free(errors);
	}
}

static const struct nexthop_case {
	const char *text;
	enum nexthop_kind kind;
	const char *host, *port, *path;
} nexthop_cases[] = {
    {"smtp://mx.example.com", NEXTHOP_SMTP, "mx.example.com", "25", NULL},
    {"smtp://mx.example.com:2525", NEXTHOP_SMTP, "mx.example.com", "2525", NULL},
    {"SMTP://mx:025", NEXTHOP_SMTP, "mx", "25", NULL},
    {"smtp://192.0.2.25", NEXTHOP_SMTP, "192.0.2.25", "25", NULL},
    {"smtp://192.0.2.25:587", NEXTHOP_SMTP, "192.0.2.25", "587", NULL},
    {"smtp://[2001:db8::25]", NEXTHOP_SMTP, "2001:db8::25", "25", NULL},
    {"smtp://[2001:db8::25]:10025", NEXTHOP_SMTP, "2001:db8::25", "10025", NULL},
    {"lmtp://dovecot", NEXTHOP_LMTP, "dovecot", "24", NULL},
    {"lmtp://dovecot:2424", NEXTHOP_LMTP, "dovecot", "2424", NULL},
    {"lmtp://[::1]", NEXTHOP_LMTP, "::1", "24", NULL},
    {"lmtp:unix:/run/dovecot/lmtp", NEXTHOP_LMTP_UNIX, NULL, NULL, "/run/dovecot/lmtp"},
    {"maildir:/srv/mail", NEXTHOP_MAILDIR, NULL, NULL, "/srv/mail"},
    {"maildir:/srv/my mail", NEXTHOP_MAILDIR, NULL, NULL, "/srv/my mail"},
};

static void test_nexthop(void)
{
	char text[256];

	for (size_t i = 0; i < sizeof(nexthop_cases) / sizeof(nexthop_cases[0]); i++) {
		const struct nexthop_case *c = &nexthop_cases[i];
		struct conf *conf;
		char *errors;

		snprintf(text, sizeof(text), "next_hop = %s\n", c->text);
		errors = parse(text, &conf);
		CHECK_STR(errors, NULL);
		free(errors);
		if (conf == NULL)
			continue;
		CHECK_INT(conf->next_hop.kind, c->kind);
		CHECK_STR(conf->next_hop.host, c->host);
		CHECK_STR(conf->next_hop.port, c->port);
		CHECK_STR(conf->next_hop.path, c->path);
		conf_free(conf);
	}
}

/* syntax: comments, blank lines, continuation, whitespace around "=" */
static void test_syntax(void)
{
	struct conf *c;
	char *errors = parse("\n"
	                     "   # an indented comment is still a comment\n"
	                     "#max_sessions = 1\n"
	                     "\tmynetworks = 10.0.0.0/8\n"
	                     "   192.168.0.0/16\n"
	                     "max_errors = 3\n",
	                     NULL);

	CHECK_STR(errors, "t.conf:4: line starts with whitespace but does not "
	                  "continue a \"key = value\" line\n");
	free(errors);

	errors = parse("mynetworks = 10.0.0.0/8,\n"
	               "    192.168.0.0/16\n"
	               "# a comment inside the value is skipped\n"
	               "\n"
	               "\t[::1]/128\n"
	               "max_sessions=7\r\n"
	               "max_errors   =   3   \n"
	               "relay_domains = a.example\n"
	               "  b.example\n"
	               "user = mail\n"
	               "   # an indented comment ends nothing\n"
	               "     man\n",
	               &c);
	CHECK_STR(errors, NULL);
	free(errors);
	if (c == NULL)
		return;
	CHECK_INT(c->mynetworks.count, 3);
	CHECK_INT(c->max_sessions, 7);
	CHECK_INT(c->max_errors, 3);
	CHECK_INT(c->relay_domains.count, 2);
	CHECK_STR(c->user, "mail man");
	conf_free(c);

	/* the last line needs no newline */
	errors = parse("max_sessions = 9", &c);
	CHECK_STR(errors, NULL);
	CHECK(c && c->max_sessions == 9);
	conf_free(c);
	expect_errors("max_sessions = 9\nmax_errors = x",
	              "t.conf:2: max_errors: "
	              "expected a whole number from 1 to 1000, got \"x\"\n");
}

/* every error is reported, with its line, in file order */
static void test_errors(void)
{
	expect_errors(
	    "max_sessions = abc\n"       /* 1 */
	    "foo = 1\n"                  /* 2 */
	    "max_session = 3\n"          /* 3 */
	    "max_sessions = 4\n"         /* 4 */
	    "Max_Errors = 3\n"           /* 5 */
	    "  continues the bad line\n" /* 6 */
	    "smtpd_tls_cert_file = /x\n" /* 7 */
	    "just words\n"               /* 8 */
	    "\n"                         /* 9 */
	    "= 5\n"                      /* 10 */
	    "max-errors = 3\n"           /* 11 */
	    "smtpd_timeout = 5\n"        /* 12 */
	    "  minutes\n",               /* 13 */
	    "t.conf:1: max_sessions: expected a whole number from 1 to 100000, got \"abc\"\n"
	    "t.conf:2: unknown key \"foo\"\n"
	    "t.conf:3: unknown key \"max_session\"; did you mean \"max_sessions\"?\n"
	    "t.conf:4: max_sessions: already set at line 1\n"
	    "t.conf:5: bad key \"Max_Errors\" (keys are lowercase letters, digits and \"_\"); did "
	    "you mean \"max_errors\"?\n"
	    "t.conf:7: unknown key \"smtpd_tls_cert_file\"; did you mean \"tls_cert_file\"?\n"
	    "t.conf:8: expected \"key = value\", got \"just words\"\n"
	    "t.conf:10: missing key before \"=\"\n"
	    "t.conf:11: bad key \"max-errors\" (keys are lowercase letters, digits and \"_\"); did "
	    "you mean \"max_errors\"?\n"
	    "t.conf:12: smtpd_timeout: expected a duration from 1s to 1h (seconds, or a number "
	    "with suffix s, m, h or d), got \"5 minutes\"\n");

	/* a continued value is reported at its first line */
	expect_errors("relay_domains = a.example,\n"
	              "   b_example\n",
	              "t.conf:1: relay_domains: \"b_example\": only letters, digits, \"-\" and "
	              "\".\" are allowed\n");

	/* several bad items of one list are all reported */
	expect_errors("listen = localhost:25 127.0.0.1:2525 [::1]:0\n",
	              "t.conf:1: listen: \"localhost:25\": host names are not allowed, only IP "
	              "addresses or \"*\"\n"
	              "t.conf:1: listen: \"[::1]:0\": the port must be a number from 1 to 65535\n");

	/* a duplicate is reported even when the first value was bad */
	expect_errors("log = file\nlog = syslog\n",
	              "t.conf:1: log: expected stderr or syslog, got \"file\"\n"
	              "t.conf:2: log: already set at line 1\n");

	/* no suggestion for a name that is nothing like a key, or too long */
	expect_errors(
	    "foo = 1\nxyzzy_plugh = 2\n"
	    "max_sessions_per_ip_and_more_words_for_fifty_bytes = 1\n",
	    "t.conf:1: unknown key \"foo\"\n"
	    "t.conf:2: unknown key \"xyzzy_plugh\"\n"
	    "t.conf:3: unknown key \"max_sessions_per_ip_and_more_words_for_fifty_bytes\"\n");

	/* user text in messages is escaped and cut short */
	expect_errors("max_sessions = \"\\\xc3\xa9\n",
	              "t.conf:1: max_sessions: expected a whole number from 1 to 100000, got "
	              "\"\\\"\\\\\\xc3\\xa9\"\n");
	expect_errors("max_sessions = "
	              "0123456789012345678901234567890123456789012345678901234567890123456789012345"
	              "678901234567890123456789\n",
	              "t.conf:1: max_sessions: expected a whole number from 1 to 100000, got "
	              "\"01234567890123456789012345678901234567890123456789012345678901234567890123"
	              "456789\"...\n");
}

static void test_bad_bytes(void)
{
	static const char nul[] = "max_sessions = 5\nuser = a\0b\nmax_errors = 3\n";
	struct conf *c;
	char *errors = NULL;
	char *text;
	size_t len;

	CHECK_INT(conf_parse("t.conf", nul, sizeof(nul) - 1, &c, &errors), -1);
	CHECK_STR(errors, "t.conf:2: NUL byte in line\n");
	free(errors);

	expect_errors("max_sessions = 5\x1b[31m\nlog = syslog\x7f\n",
	              "t.conf:1: control character 0x1b in line\n"
	              "t.conf:2: control character 0x7f in line\n");
	expect_errors("mynetworks = 10.0.0.0/8\n\t192.168.0.0/16\r\rx\nmax_errors = 2\n",
	              "t.conf:2: control character 0x0d in line\n");

	/* a line of 64 KiB is fine, one byte more is not */
	len = 64 * 1024;
	text = malloc(len + 64);
	memset(text, ' ', len + 64);
	memcpy(text, "user = x", 8);
	text[len] = '\n';
	memcpy(text + len + 1, "max_errors = 5\n", 16);
	errors = parse(text, &c);
	CHECK_STR(errors, NULL);
	conf_free(c);
	free(errors);
	memset(text, ' ', len + 64);
	memcpy(text, "user = x", 8);
	text[len + 1] = '\n';
	memcpy(text + len + 2, "max_errors = 0\n", 16);
	errors = parse(text, &c);
	CHECK_STR(errors,
	          "t.conf:1: line longer than 65536 bytes\n"
	          "t.conf:2: max_errors: expected a whole number from 1 to 1000, got \"0\"\n");
	free(errors);
	free(text);

	/* a file over 1 MiB is refused whole */
	len = 1024 * 1024 + 1;
	text = malloc(len);
	memset(text, '\n', len);
	CHECK_INT(conf_parse("t.conf", text, len, &c, &errors), -1);
	CHECK_STR(errors, "t.conf: larger than 1 MiB\n");
	free(errors);
	CHECK_INT(conf_parse("t.conf", text, len - 1, &c, &errors), 0);
	conf_free(c);
	free(text);
}

static void test_error_limit(void)
{
	char text[150 * 16], *errors, *last;
	size_t len = 0;
	int lines = 0;

	for (int i = 0; i < 150; i++)
		len += (size_t)sprintf(text + len, i % 2 ? "bogus%d\n" : "bogus%d = 1\n", i % 10);
	/* errors past the limit are counted, not written */
	errors = parse(text, NULL);
	for (char *p = errors; p && *p; p++)
		lines += *p == '\n';
	CHECK_INT(lines, 101);
	last = errors ? strstr(errors, "t.conf: 50 more") : NULL;
	CHECK_STR(last, "t.conf: 50 more errors not shown\n");
	free(errors);
}

static const struct relay_case {
	const char *domain;
	bool match;
} relay_cases[] = {
    {"example.com", true},
    {"EXAMPLE.COM", true},
    {"example.com.", true},
    {"www.example.com", false},
    {"xexample.com", false},
    {"example.co", false},
    {"sub.example.org", false},
    {"a.b.SUB.example.org", true},
    {"sub.example.org.", false},
    {"x.sub.example.org.", true},
    {"example.org", false},
    {"xsub.example.org", false},
    {".sub.example.org", false},
    {"example.net", false},
    {"", false},
    {".", false},
    {"[192.0.2.1]", false},
};

static void test_relay_domains(void)
{
	struct conf *c;
	char *errors = parse("relay_domains = Example.COM .SUB.example.org.\n", &c);

	CHECK_STR(errors, NULL);
	free(errors);
	if (c == NULL)
		return;
	for (size_t i = 0; i < sizeof(relay_cases) / sizeof(relay_cases[0]); i++) {
		if (conf_relay_domain_match(c, relay_cases[i].domain) != relay_cases[i].match) {
			fprintf(stderr, "  relay domain \"%s\"\n", relay_cases[i].domain);
			CHECK(!"conf_relay_domain_match");
		}
	}
	conf_free(c);

	errors = parse("", &c);
	CHECK(c && !conf_relay_domain_match(c, "example.com"));
	conf_free(c);
	free(errors);
}

/* --- files ------------------------------------------------------------------ */

static void test_load(void)
{
	char dir[] = "/tmp/test_conf.XXXXXX", path[256], big[512];
	const char *srcdir = getenv("srcdir");
	char shipped[4096];
	struct conf *c;
	char *errors;
	FILE *f;

	if (mkdtemp(dir) == NULL) {
		CHECK(!"mkdtemp");
		return;
	}
	CHECK_INT(conf_load(dir, &c, &errors), -1);
	snprintf(path, sizeof(path), "%s: is a directory, not a configuration file\n", dir);
	CHECK_STR(errors, path);
	CHECK(c == NULL);
	free(errors);

	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	CHECK_INT(conf_load(path, &c, &errors), -1);
	CHECK(errors && strstr(errors, "missing.conf: cannot open: "));
	free(errors);

	CHECK_INT(conf_load("/dev/null", &c, &errors), -1);
	CHECK_STR(errors, "/dev/null: not a regular file\n");
	free(errors);

	snprintf(path, sizeof(path), "%s/ok.conf", dir);
	f = fopen(path, "w");
	fputs("max_sessions = 5\nmax_errors = 0\n", f);
	fclose(f);
	CHECK_INT(conf_load(path, &c, &errors), -1);
	snprintf(big, sizeof(big), "%s:2: max_errors: expected a whole", path);
	CHECK(errors && strncmp(errors, big, strlen(big)) == 0);
	free(errors);

	f = fopen(path, "w");
	fputs("max_sessions = 5\n", f);
	fclose(f);
	CHECK_INT(conf_load(path, &c, &errors), 0);
	CHECK(c && c->max_sessions == 5);
	CHECK_STR(c ? c->path : NULL, path);
	conf_free(c);

	CHECK_INT(truncate(path, 1024 * 1024 + 1), 0);
	CHECK_INT(conf_load(path, &c, &errors), -1);
	snprintf(big, sizeof(big), "%s: larger than 1 MiB\n", path);
	CHECK_STR(errors, big);
	free(errors);
	unlink(path);
	rmdir(dir);

	/* the shipped example passes */
	snprintf(shipped, sizeof(shipped), "%s/etc/sekisho.conf", srcdir ? srcdir : ".");
	CHECK_INT(conf_load(shipped, &c, &errors), 0);
	if (errors)
		fputs(errors, stderr);
	free(errors);
	if (c) {
		CHECK_STR(c->listen.items[0], "127.0.0.1:2525");
		CHECK_STR(c->relay_domains.items[0], "example.test");
		CHECK_STR(c->user, "sekisho");
		CHECK_STR(c->control_socket, "/run/sekisho/control.sock");
		CHECK_INT(c->next_hop.kind, NEXTHOP_MAILDIR);
	}
	conf_free(c);
}

/* each "#key = default" line of the shipped file is a valid setting */
static void test_shipped_defaults(void)
{
	const char *srcdir = getenv("srcdir");
	char path[4096], line[1024];
	struct conf *c;
	char *errors;
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/etc/sekisho.conf", srcdir ? srcdir : ".");
	if ((f = fopen(path, "r")) == NULL) {
		CHECK(!"open etc/sekisho.conf");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] != '#' || line[1] < 'a' || line[1] > 'z' ||
		    (strstr(line, " = ") == NULL && strstr(line, " =\n") == NULL))
			continue;
		n++;
		errors = parse(line + 1, &c);
		CHECK_STR(errors, NULL);
		free(errors);
		conf_free(c);
	}
	fclose(f);
	CHECK_INT(n, 72);
}

int main(void)
{
	test_bool();
	test_numbers();
	test_enum();
	test_words();
	test_show();
	test_defaults();
	test_values();
	test_bounds();
	test_nexthop();
	test_syntax();
	test_errors();
	test_bad_bytes();
	test_error_limit();
	test_relay_domains();
	test_load();
	test_shipped_defaults();
	return check_summary("test_conf");
}
