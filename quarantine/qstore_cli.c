/*
 * qstore_cli - `sekisho quarantine list | show | release | delete | purge | stats`.
 *
 * A table of subcommands, as smtpctl's; each parses its own options with
 * getopt_long, opens the store and reports per message. Everything a
 * sender controls (subjects, headers, addresses) is made safe before it
 * reaches a terminal: control characters (C0, DEL, C1) and invalid UTF-8
 * become '?'; JSON gets \u escapes instead. `show --raw` alone writes the
 * stored bytes as they are.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "quarantine/qstore_cli.h"
#include "common/text.h"

/* What purge removes when no --older-than is given (quarantine_retention). */
static long default_retention;

void quarantine_set_retention(long seconds)
{
	default_retention = seconds;
}

#define EXIT_USAGE   2
#define PROCEED	     (-1)	/* parse_opts: go on with the command */

struct qcli;
struct qopts;

/* A subcommand: its options are parsed before run is called. */
struct qcli_command {
	const char *name;
	const char *args;	/* one line per form */
	const char *help;
	const struct option *options;
	int (*run)(struct qcli *c, struct qopts *o);
};

struct qcli {
	const char *dir;
	struct qstore *q;
	int (*release_fn)(void *ctx, const struct qentry *e, const char *to, const char *msg,
			  size_t len, char **detail_r);
	void *release_ctx;
	char *who;
	const struct qcli_command *cmd;
	bool tty;		/* stderr is a terminal: show progress */
	bool progress_shown;
};

/* What the options of any subcommand set; each accepts only its own. */
struct qopts {
	struct qfilter f;
	bool filtered;		/* a selecting filter was given */
	bool json, headers, raw, all_matching, dry_run;
	const char *to;
	long long older_than;
	char **args;		/* operands */
	int nargs;
};

/* The filter options come first: set_opt counts SINCE..REASON as selecting. */
enum {
	OPT_SINCE = 256,
	OPT_RCPT,
	OPT_FROM,
	OPT_RULE,
	OPT_REASON,
	OPT_LIMIT,
	OPT_ALL,
	OPT_JSON,
	OPT_HEADERS,
	OPT_RAW,
	OPT_TO,
	OPT_ALL_MATCHING,
	OPT_OLDER_THAN,
	OPT_DRY_RUN,
};

#define FILTER_OPTIONS                                                                             \
	{"since", required_argument, NULL, OPT_SINCE},                                             \
	    {"rcpt", required_argument, NULL, OPT_RCPT},                                           \
	    {"from", required_argument, NULL, OPT_FROM},                                           \
	    {"rule", required_argument, NULL, OPT_RULE},                                           \
	    {"reason", required_argument, NULL, OPT_REASON},                                       \
	    {"limit", required_argument, NULL, OPT_LIMIT}

static const struct option list_options[] = {
	FILTER_OPTIONS,
	{"all", no_argument, NULL, OPT_ALL},
	{"json", no_argument, NULL, OPT_JSON},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static const struct option show_options[] = {
	{"headers", no_argument, NULL, OPT_HEADERS},
	{"raw", no_argument, NULL, OPT_RAW},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static const struct option release_options[] = {
	FILTER_OPTIONS,
	{"to", required_argument, NULL, OPT_TO},
	{"all-matching", no_argument, NULL, OPT_ALL_MATCHING},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static const struct option purge_options[] = {
	{"older-than", required_argument, NULL, OPT_OLDER_THAN},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static const struct option no_options[] = {
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static volatile sig_atomic_t interrupted;

/* progress_clear - wipe the progress line before anything else is printed */
static void progress_clear(struct qcli *c)
{
	if (!c->progress_shown)
		return;
	fputs("\r\033[K", stderr);
	c->progress_shown = false;
}

/* progress - "what n/total" on a terminal, redrawn in place; nothing otherwise */
static void progress(struct qcli *c, const char *what, size_t n, size_t total)
{
	if (!c->tty)
		return;
	fprintf(stderr, "\r%s %zu/%zu", what, n, total);
	c->progress_shown = true;
}

static void __attribute__((format(printf, 2, 3))) say(struct qcli *c, const char *fmt, ...)
{
	va_list ap;

	progress_clear(c);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static void __attribute__((format(printf, 2, 3))) complain(struct qcli *c, const char *fmt, ...)
{
	va_list ap;

	progress_clear(c);
	fflush(stdout);
	fprintf(stderr, "sekisho quarantine %s: ", c->cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *status_name(enum qstatus s)
{
	static const char *const names[] = {"held", "releasing", "released", "deleted"};

	return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* parse_when - a DATE, or a DURATION back from now; never below 1 (0 means "any") */
static int parse_when(struct qcli *c, const char *opt, const char *arg, long long *t_r)
{
	long long secs;

	if (text_date(arg, t_r) == 0) {
	} else if (text_duration(arg, &secs) == 0) {
		*t_r = (long long)time(NULL) - secs;
	} else {
		complain(c, "%s \"%s\": expected a duration (90m, 12h, 30d, 3600s) or a date "
			    "(YYYY-MM-DD, UTC)",
			 opt, arg);
		return -1;
	}
	if (*t_r < 1)
		*t_r = 1;
	return 0;
}

static int parse_limit(struct qcli *c, const char *arg, long *limit_r)
{
	char *end;

	errno = 0;
	*limit_r = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || *limit_r <= 0) {
		complain(c, "--limit \"%s\": expected a positive number", arg);
		return -1;
	}
	return 0;
}

/* set_text - a string filter; an empty one would match everything */
static int set_text(struct qcli *c, const char *opt, const char *arg, const char **v_r)
{
	if (*arg == '\0') {
		complain(c, "%s needs a non-empty value", opt);
		return -1;
	}
	*v_r = arg;
	return 0;
}

/* set_opt - record one option; -1 after a message about its value */
static int set_opt(struct qcli *c, struct qopts *o, int opt, const char *arg)
{
	o->filtered |= opt >= OPT_SINCE && opt <= OPT_REASON;
	switch (opt) {
	case OPT_SINCE:
		return parse_when(c, "--since", arg, &o->f.since);
	case OPT_RCPT:
		return set_text(c, "--rcpt", arg, &o->f.rcpt);
	case OPT_FROM:
		return set_text(c, "--from", arg, &o->f.from);
	case OPT_RULE:
		return set_text(c, "--rule", arg, &o->f.rule);
	case OPT_REASON:
		return set_text(c, "--reason", arg, &o->f.reason);
	case OPT_LIMIT:
		return parse_limit(c, arg, &o->f.limit);
	case OPT_TO:
		if (arg[0] == '\0' || strpbrk(arg, " \t\r\n<>") != NULL) {
			complain(c, "--to \"%s\": expected a bare address like user@example.org",
				 arg);
			return -1;
		}
		o->to = arg;
		return 0;
	case OPT_OLDER_THAN:
		return parse_when(c, "--older-than", arg, &o->older_than);
	}
	o->f.include_done |= opt == OPT_ALL;
	o->json |= opt == OPT_JSON;
	o->headers |= opt == OPT_HEADERS;
	o->raw |= opt == OPT_RAW;
	o->all_matching |= opt == OPT_ALL_MATCHING;
	o->dry_run |= opt == OPT_DRY_RUN;
	return 0;
}

/* print_forms - one line per form of the command (args holds one per line) */
static void print_forms(FILE *out, const char *prefix, const struct qcli_command *cmd)
{
	for (const char *p = cmd->args;; p++) {
		size_t n = strcspn(p, "\n");
		fprintf(out, "%s%s%s%.*s\n", prefix, cmd->name, n ? " " : "", (int)n, p);
		p += n;
		if (*p == '\0')
			break;
	}
}

static int cmd_usage(struct qcli *c, FILE *out)
{
	print_forms(out, "usage: sekisho quarantine ", c->cmd);
	return out == stdout ? 0 : EXIT_USAGE;
}

/* parse_opts - PROCEED, or the exit code (help shown, or a usage error) */
static int parse_opts(struct qcli *c, const struct option *lo, int argc, char **argv,
		      struct qopts *o)
{
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 0;	/* GNU: start over, the caller may have used getopt */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (opt == 'h')
			return cmd_usage(c, stdout);
		if (opt == '?' || opt == ':') {
			complain(c, "%s \"%s\"", opt == ':' ? "missing value for" : "unknown option",
				 argv[optind - 1]);
			return cmd_usage(c, stderr);
		}
		if (set_opt(c, o, opt, optarg) != 0)
			return EXIT_USAGE;
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	return PROCEED;
}

/* store_open - the store, if it exists: the CLI never creates a quarantine */
static int store_open(struct qcli *c)
{
	struct stat st;
	char *error = NULL;

	if (c->q)
		return 0;
	if (stat(c->dir, &st) != 0) {
		complain(c, "no quarantine at %s: %s", c->dir, strerror(errno));
		return -1;
	}
	if (qstore_open(c->dir, &c->q, &error) != 0) {
		complain(c, "%s", error);
		free(error);
		return -1;
	}
	return 0;
}

/* select_entries - store_open and qstore_list; -1 after a message */
static int select_entries(struct qcli *c, const struct qfilter *f, struct qentry **v_r,
			  size_t *n_r)
{
	char *error = NULL;

	if (store_open(c) != 0)
		return -1;
	if (qstore_list(c->q, f, v_r, n_r, &error) != 0) {
		complain(c, "%s", error);
		free(error);
		return -1;
	}
	return 0;
}

/* first_rcpt - "a@b" or "a@b (+2)" */
static char *first_rcpt(const struct qentry *e)
{
	if (e->nrcpt == 0)
		return xstrdup("");
	if (e->nrcpt == 1)
		return xstrdup(e->rcpts[0]);
	return xasprintf("%s (+%zu)", e->rcpts[0], e->nrcpt - 1);
}

/* list_row - one line of the table */
static void list_row(struct buf *b, const struct qentry *e, size_t idw, bool status)
{
	char when[40], score[32], *rcpt = first_rcpt(e);

	text_cell(b, e->id, idw, true);
	buf_append_str(b, "  ");
	if (status)
		buf_printf(b, "%-9s  ", status_name(e->status));
	buf_printf(b, "%s  ", text_time(e->time, TEXT_TIME_TABLE, when));
	text_cell(b, e->from[0] ? e->from : "<>", 26, true);
	buf_append_str(b, "  ");
	text_cell(b, rcpt, 26, true);
	snprintf(score, sizeof(score), "%6.1f  ", e->score);
	buf_append_str(b, score);
	text_cell(b, e->rules, 22, true);
	buf_append_str(b, "  ");
	text_cell(b, e->subject, 40, false);
	buf_append_char(b, '\n');
	free(rcpt);
}

static void list_table(const struct qentry *v, size_t n, bool status)
{
	size_t idw = 2;
	struct buf b;

	for (size_t i = 0; i < n; i++) {
		idw = strlen(v[i].id) > idw ? strlen(v[i].id) : idw;
		status |= v[i].status != QSTATUS_HELD;	/* a release in flight shows */
	}
	buf_init(&b);
	buf_printf(&b, "%-*s  %s%-16s  %-26s  %-26s  %6s  %-22s  %s\n", (int)idw, "ID",
		   status ? "STATUS     " : "", "TIME (UTC)", "FROM", "TO", "SCORE", "RULES",
		   "SUBJECT");
	for (size_t i = 0; i < n; i++)
		list_row(&b, &v[i], idw, status);
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

/* json_words - the space-separated rules as an array */
static void json_words(struct buf *b, const char *s)
{
	const char *p = s;
	bool first = true;

	buf_append_char(b, '[');
	while (*p) {
		size_t n = strcspn(p, " ");
		if (n > 0) {
			char *w = xstrndup(p, n);
			buf_append_str(b, first ? "" : ", ");
			text_json(b, w);
			free(w);
			first = false;
		}
		p += n + (p[n] == ' ');
	}
	buf_append_char(b, ']');
}

/* json_field - , "key": "value" */
static void json_field(struct buf *b, const char *key, const char *value)
{
	buf_printf(b, ", \"%s\": ", key);
	text_json(b, value);
}

static void json_entry(struct buf *b, const struct qentry *e)
{
	char when[40];

	buf_append_str(b, "{\"id\": ");
	text_json(b, e->id);
	json_field(b, "time", text_time(e->time, TEXT_TIME_ISO, when));
	json_field(b, "client_ip", e->client_ip);
	json_field(b, "helo", e->helo);
	json_field(b, "from", e->from);
	buf_append_str(b, ", \"rcpts\": [");
	for (size_t i = 0; i < e->nrcpt; i++) {
		buf_append_str(b, i ? ", " : "");
		text_json(b, e->rcpts[i]);
	}
	buf_append_char(b, ']');
	json_field(b, "subject", e->subject);
	buf_printf(b, ", \"size\": %lld, \"score\": ", e->size);
	if (isfinite(e->score))
		buf_printf(b, "%.15g", e->score);
	else
		buf_append_str(b, "null");
	buf_append_str(b, ", \"rules\": ");
	json_words(b, e->rules);
	json_field(b, "reason", e->reason);
	json_field(b, "status", status_name(e->status));
	if (e->status == QSTATUS_HELD) {
		buf_append_str(b, ", \"status_time\": null, \"status_by\": null}");
		return;
	}
	json_field(b, "status_time", text_time(e->status_time, TEXT_TIME_ISO, when));
	json_field(b, "status_by", e->status_by);
	buf_append_char(b, '}');
}

static void list_json(const struct qentry *v, size_t n)
{
	struct buf b;

	buf_init(&b);
	buf_append_str(&b, "[");
	for (size_t i = 0; i < n; i++) {
		buf_append_str(&b, i ? ",\n  " : "\n  ");
		json_entry(&b, &v[i]);
	}
	buf_append_str(&b, n ? "\n]\n" : "]\n");
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

static int cmd_list(struct qcli *c, struct qopts *o)
{
	struct qentry *v;
	size_t n;

	if (o->nargs != 0)
		return cmd_usage(c, stderr);
	if (select_entries(c, &o->f, &v, &n) != 0)
		return 1;
	if (o->json)
		list_json(v, n);
	else if (n == 0)
		fprintf(stderr, "no %smessages match\n", o->f.include_done ? "" : "held ");
	else
		list_table(v, n, o->f.include_done);
	qentry_free_all(v, n);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

/* header_len - the header section: up to and including the line before the blank one */
static size_t header_len(const char *msg, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (msg[i] != '\n')
			continue;
		if (msg[i + 1] == '\n' || (msg[i + 1] == '\r' && i + 2 < len && msg[i + 2] == '\n'))
			return i + 1;
	}
	return len;
}

/* field - "label:  value", the value made safe */
static void __attribute__((format(printf, 3, 4)))
field(struct buf *b, const char *label, const char *fmt, ...)
{
	struct buf v;
	va_list ap;

	buf_init(&v);
	va_start(ap, fmt);
	buf_vprintf(&v, fmt, ap);
	va_end(ap);
	buf_printf(b, "%-13s", label);
	text_cell(b, buf_cstr(&v), 0, false);
	buf_append_char(b, '\n');
	buf_free(&v);
}

static void show_meta(struct buf *b, const struct qentry *e)
{
	char when[40], size[32];

	field(b, "id:", "%s", e->id);
	field(b, "status:", "%s", status_name(e->status));
	field(b, "quarantined:", "%s", text_time(e->time, TEXT_TIME_LONG, when));
	field(b, "client:", "%s (helo %s)", e->client_ip, e->helo);
	field(b, "from:", "<%s>", e->from);
	for (size_t i = 0; i < e->nrcpt; i++)
		field(b, i ? "" : "to:", "<%s>", e->rcpts[i]);
	field(b, "subject:", "%s", e->subject);
	if (e->size < 1024)
		field(b, "size:", "%lld bytes", e->size);
	else
		field(b, "size:", "%s (%lld bytes)", text_size(e->size, size), e->size);
	field(b, "score:", "%.2f", e->score);
	field(b, "rules:", "%s", e->rules);
	field(b, "reason:", "%s", e->reason);
	if (e->status != QSTATUS_HELD)
		field(b, "changed:", "%s %s by %s", status_name(e->status),
		      text_time(e->status_time, TEXT_TIME_LONG, when), e->status_by);
}

/* show_message - metadata and/or the header section, made safe */
static int show_message(struct qcli *c, const char *id, bool meta)
{
	struct qentry e = {0};
	char *error = NULL, *msg = NULL;
	size_t len = 0;
	struct buf b;
	int rc = 0;

	buf_init(&b);
	if (meta && qstore_get(c->q, id, &e, &error) != 0) {
		rc = 1;
	} else if (qstore_read(c->q, id, &msg, &len, &error) != 0) {
		rc = meta && e.status == QSTATUS_DELETED ? 0 : 1;
	}
	if (meta && e.id)
		show_meta(&b, &e);
	if (msg) {
		buf_append_str(&b, meta ? "\n" : "");
		text_safe(&b, msg, header_len(msg, len), true);
	} else if (rc == 0) {
		buf_append_str(&b, "\n(the message file was removed when it was deleted)\n");
	}
	fwrite(b.data ? b.data : "", 1, b.len, stdout);
	if (rc != 0)
		complain(c, "%s", error);
	free(error);
	free(msg);
	qentry_free(&e);
	buf_free(&b);
	return rc;
}

static int show_raw(struct qcli *c, const char *id)
{
	char *error = NULL, *msg;
	size_t len;
	int rc = 0;

	if (qstore_read(c->q, id, &msg, &len, &error) != 0) {
		complain(c, "%s", error);
		free(error);
		return 1;
	}
	if (fwrite(msg, 1, len, stdout) != len || fflush(stdout) != 0) {
		complain(c, "cannot write the message: %s", strerror(errno));
		rc = 1;
	}
	free(msg);
	return rc;
}

static int cmd_show(struct qcli *c, struct qopts *o)
{
	if (o->nargs != 1 || (o->headers && o->raw))
		return cmd_usage(c, stderr);
	if (store_open(c) != 0)
		return 1;
	if (o->raw)
		return show_raw(c, o->args[0]);
	return show_message(c, o->args[0], !o->headers);
}

/* delivered - the detail for the audit line: where it went and what the next hop said */
static char *delivered(const char *to, const char *detail)
{
	if (to)
		return xasprintf("to <%s> instead of the original recipients: %s", to, detail);
	return xstrdup(detail);
}

/* release_back - delivery failed: back to held, and say so */
static void release_back(struct qcli *c, const char *id, const char *to, const char *why)
{
	char *error = NULL, *audit = delivered(to, why);

	complain(c, "release of %s failed: %s; it stays in quarantine", id, why);
	if (qstore_abort_release(c->q, id, c->who, audit, &error) != 0) {
		complain(c, "%s", error);
		free(error);
	}
	free(audit);
}

/* release_send - read it and hand it to release_fn; 0 with *detail_r, or -1 with it */
static int release_send(struct qcli *c, const char *id, const char *to, char **detail_r)
{
	struct qentry e;
	char *msg;
	size_t len;
	int rc;

	*detail_r = NULL;
	if (qstore_get(c->q, id, &e, detail_r) != 0)
		return -1;
	if (qstore_read(c->q, id, &msg, &len, detail_r) != 0) {
		qentry_free(&e);
		return -1;
	}
	rc = c->release_fn(c->release_ctx, &e, to, msg, len, detail_r);
	if (*detail_r == NULL)
		*detail_r = xstrdup(rc == 0 ? "delivered" : "the next hop refused it");
	free(msg);
	qentry_free(&e);
	return rc == 0 ? 0 : -1;
}

/* release_one - begin, deliver, finish or abort; 0 if it went out and was recorded */
static int release_one(struct qcli *c, const char *id, const char *to)
{
	char *error = NULL, *detail = NULL, *audit;
	int rc = 1;

	if (qstore_begin_release(c->q, id, c->who, &error) != 0) {
		complain(c, "%s", error);
		free(error);
		return 1;
	}
	if (release_send(c, id, to, &detail) != 0) {
		release_back(c, id, to, detail);
		free(detail);
		return 1;
	}
	say(c, "released %s%s%s: %s\n", id, to ? " to " : "", to ? to : "", detail);
	audit = delivered(to, detail);
	if (qstore_finish_release(c->q, id, c->who, audit, &error) != 0)
		complain(c, "%s", error);
	else
		rc = 0;
	free(error);
	free(audit);
	free(detail);
	return rc;
}

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/*
 * catch_interrupts - a first ^C lets the message in flight finish (so it
 * is not left "releasing"); SA_RESETHAND lets a second one kill.
 */
static void catch_interrupts(bool on)
{
	static struct sigaction old_int, old_term;
	struct sigaction sa = {.sa_handler = on_interrupt, .sa_flags = SA_RESTART | SA_RESETHAND};

	if (on) {
		interrupted = 0;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
	} else {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
}

static int release_matching(struct qcli *c, struct qopts *o)
{
	struct qentry *v;
	size_t n, done = 0, failed = 0;

	if (select_entries(c, &o->f, &v, &n) != 0)
		return 1;
	if (n == 0)
		fprintf(stderr, "no held messages match\n");
	catch_interrupts(true);
	for (size_t i = 0; i < n && !interrupted; i++) {
		progress(c, "releasing", i + 1, n);
		if (o->dry_run)
			say(c, "would release %s (%s)\n", v[i].id, v[i].from[0] ? v[i].from : "<>");
		else if (release_one(c, v[i].id, o->to) != 0)
			failed++;
		done++;
	}
	catch_interrupts(false);
	progress_clear(c);
	if (interrupted)
		complain(c, "interrupted after %zu of %zu messages", done, n);
	if (o->dry_run)
		say(c, "%zu messages would be released\n", n);
	else if (n > 1)
		say(c, "%zu released, %zu failed, %zu not tried\n", done - failed, failed,
		    n - done);
	qentry_free_all(v, n);
	return failed || interrupted ? 1 : 0;
}

static int cmd_release(struct qcli *c, struct qopts *o)
{
	int rc = 0;

	if (o->all_matching != (o->nargs == 0))
		return cmd_usage(c, stderr);
	if (!o->all_matching && (o->filtered || o->dry_run || o->f.limit))
		return cmd_usage(c, stderr);
	if (c->release_fn == NULL) {
		complain(c, "releasing is not available here");
		return 1;
	}
	if (o->all_matching && !o->filtered) {
		complain(c, "refusing to release every held message without a filter; "
			    "--since 1970-01-01 selects them all");
		return EXIT_USAGE;
	}
	if (store_open(c) != 0)
		return 1;
	if (o->all_matching)
		return release_matching(c, o);
	for (int i = 0; i < o->nargs; i++)
		rc |= release_one(c, o->args[i], o->to);
	return rc;
}

/* for_each_id - run op on every ID argument; say what was done or why not */
static int for_each_id(struct qcli *c, struct qopts *o,
		       int (*op)(struct qcli *c, const char *id, char **error_r), const char *done)
{
	char *error = NULL;
	int rc = 0;

	if (o->nargs == 0)
		return cmd_usage(c, stderr);
	if (store_open(c) != 0)
		return 1;
	for (int i = 0; i < o->nargs; i++) {
		if (op(c, o->args[i], &error) == 0) {
			say(c, "%s %s\n", done, o->args[i]);
			continue;
		}
		complain(c, "%s", error);
		free(error);
		error = NULL;
		rc = 1;
	}
	return rc;
}

static int delete_one(struct qcli *c, const char *id, char **error_r)
{
	return qstore_delete(c->q, id, c->who, error_r);
}

static int cmd_delete(struct qcli *c, struct qopts *o)
{
	return for_each_id(c, o, delete_one, "deleted");
}

static int unstick_one(struct qcli *c, const char *id, char **error_r)
{
	return qstore_abort_release(c->q, id, c->who,
				    "release interrupted; put back by the operator", error_r);
}

/*
 * cmd_unstick - put an entry a crashed release left "releasing" back to
 * held. Only for when no release is running: the message may or may not
 * have reached the next hop, so check its log before releasing again.
 */
static int cmd_unstick(struct qcli *c, struct qopts *o)
{
	return for_each_id(c, o, unstick_one, "held again:");
}

/* purge_all - remove each selected entry's file and row */
static int purge_all(struct qcli *c, const struct qentry *v, size_t n, long long cutoff)
{
	long long bytes = 0;
	size_t purged = 0;
	char *error = NULL, size[32];

	for (size_t i = 0; i < n; i++) {
		progress(c, "purging", i + 1, n);
		if (qstore_purge(c->q, v[i].id, cutoff, c->who, &error) != 0) {
			complain(c, "%s", error);
			free(error);
			error = NULL;
			continue;
		}
		purged++;
		bytes += v[i].status == QSTATUS_DELETED ? 0 : v[i].size;
	}
	progress_clear(c);
	say(c, "purged %zu of %zu entries, %s freed\n", purged, n, text_size(bytes, size));
	return purged == n ? 0 : 1;
}

/*
 * cmd_purge - files and rows of every entry quarantined before the cutoff,
 * whatever its status: what is still held then is given up on. The audit
 * log keeps one line per purged id.
 */
static int cmd_purge(struct qcli *c, struct qopts *o)
{
	struct qentry *v;
	char when[40];
	size_t n;
	int rc = 0;

	if (o->older_than == 0 && default_retention > 0)
		o->older_than = (long long)time(NULL) - default_retention;
	if (o->nargs != 0 || o->older_than == 0)
		return cmd_usage(c, stderr);
	o->f.older_than = o->older_than;
	o->f.include_done = true;
	if (select_entries(c, &o->f, &v, &n) != 0)
		return 1;
	if (o->dry_run) {
		for (size_t i = 0; i < n; i++)
			say(c, "would purge %s (%s, %s)\n", v[i].id, status_name(v[i].status),
			    text_time(v[i].time, TEXT_TIME_TABLE, when));
		say(c, "%zu entries quarantined before %s would be purged\n", n,
		    text_time(o->older_than, TEXT_TIME_LONG, when));
	} else {
		size_t swept = 0;
		char *error = NULL;
		rc = purge_all(c, v, n, o->older_than);
		if (qstore_sweep(c->q, o->older_than, c->who, &swept, &error) != 0) {
			complain(c, "%s", error);
			free(error);
			rc = 1;
		} else if (swept) {
			say(c, "removed %zu message files that had no index entry\n", swept);
		}
	}
	qentry_free_all(v, n);
	return rc;
}

struct rule_count {
	char *name;
	size_t count;
};

static void count_rule(struct rule_count **v, size_t *n, const char *name, size_t len)
{
	for (size_t i = 0; i < *n; i++) {
		if (strlen((*v)[i].name) == len && memcmp((*v)[i].name, name, len) == 0) {
			(*v)[i].count++;
			return;
		}
	}
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].name = xstrndup(name, len);
	(*v)[(*n)++].count = 1;
}

static int by_count(const void *a, const void *b)
{
	const struct rule_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* top_rules - the five rules hit most often across the entries */
static void top_rules(struct buf *b, const struct qentry *v, size_t n)
{
	struct rule_count *counts = NULL;
	size_t nrules = 0;

	for (size_t i = 0; i < n; i++) {
		for (const char *p = v[i].rules; *p;) {
			size_t len = strcspn(p, " ");
			if (len)
				count_rule(&counts, &nrules, p, len);
			p += len + (p[len] == ' ');
		}
	}
	qsort(counts, nrules, sizeof(*counts), by_count);
	buf_append_str(b, "top rules:\n");
	for (size_t i = 0; i < nrules; i++) {
		if (i < 5) {
			buf_printf(b, "  %8zu  ", counts[i].count);
			text_cell(b, counts[i].name, 0, false);
			buf_append_char(b, '\n');
		}
		free(counts[i].name);
	}
	if (nrules == 0)
		buf_append_str(b, "  (none)\n");
	free(counts);
}

static void stats_span(struct buf *b, const struct qentry *v, size_t n)
{
	char when[40];

	if (n == 0)
		return;
	/* v is newest first */
	buf_printf(b, "oldest:    %s  %s\n", text_time(v[n - 1].time, TEXT_TIME_LONG, when),
		   v[n - 1].id);
	buf_printf(b, "newest:    %s  %s\n", text_time(v[0].time, TEXT_TIME_LONG, when),
		   v[0].id);
}

static int cmd_stats(struct qcli *c, struct qopts *o)
{
	struct qfilter f = {.include_done = true};
	size_t n, count[4] = {0}, files = 0;
	long long bytes = 0;
	struct qentry *v;
	char size[32];
	struct buf b;

	if (o->nargs != 0)
		return cmd_usage(c, stderr);
	if (select_entries(c, &f, &v, &n) != 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		count[v[i].status & 3]++;
		files += v[i].status != QSTATUS_DELETED;
		bytes += v[i].status != QSTATUS_DELETED ? v[i].size : 0;
	}
	buf_init(&b);
	buf_printf(&b, "entries:   %zu (held %zu, releasing %zu, released %zu, deleted %zu)\n",
		   n, count[QSTATUS_HELD], count[QSTATUS_RELEASING], count[QSTATUS_RELEASED],
		   count[QSTATUS_DELETED]);
	buf_printf(&b, "on disk:   %s in %zu file%s\n", text_size(bytes, size), files,
		   files == 1 ? "" : "s");
	stats_span(&b, v, n);
	top_rules(&b, v, n);
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
	qentry_free_all(v, n);
	return 0;
}

static const struct qcli_command commands[] = {
	{"list",
	 "[--since DURATION|DATE] [--rcpt S] [--from S] [--rule NAME] [--reason S] [--limit N]"
	 " [--all] [--json]",
	 "held messages, newest first (--all: released and deleted too)", list_options, cmd_list},
	{"show", "ID [--headers | --raw]", "a message's details and headers, or its bytes",
	 show_options, cmd_show},
	{"release", "ID... [--to ADDR]\n--all-matching FILTER... [--to ADDR] [--dry-run]",
	 "deliver through the next hop (FILTER: --since, --rcpt, --from, --rule, --reason,"
	 " --limit)",
	 release_options, cmd_release},
	{"delete", "ID...", "remove a message for good", no_options, cmd_delete},
	{"unstick", "ID...", "put back to held an entry an interrupted release left releasing",
	 no_options, cmd_unstick},
	{"purge", "[--older-than DURATION|DATE] [--dry-run]",
	 "remove every entry (file and index row) quarantined before then", purge_options,
	 cmd_purge},
	{"stats", "", "counts, size on disk, time span, top rules", no_options, cmd_stats},
};

static const struct qcli_command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
	return NULL;
}

static int usage(FILE *out)
{
	fprintf(out, "usage: sekisho quarantine command [arguments]\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		print_forms(out, "  ", &commands[i]);
		fprintf(out, "        %s\n", commands[i].help);
	}
	fprintf(out, "DURATION: a number and s, m, h or d (90m, 30d); DATE: YYYY-MM-DD (UTC)\n");
	return out == stdout ? 0 : EXIT_USAGE;
}

static char *who_am_i_now(void);

static char *operator_name;

void quarantine_set_operator(void)
{
	free(operator_name);
	operator_name = NULL;
	operator_name = who_am_i_now();
}

/* who_am_i - for the audit log: who ran the command, fixed before any
 * change of user (quarantine_set_operator), else worked out now */
static char *who_am_i(void)
{
	return operator_name ? xstrdup(operator_name) : who_am_i_now();
}

/* who_am_i_now - the sudo user if any, and always the real uid */
static char *who_am_i_now(void)
{
	const char *sudo = getenv("SUDO_USER");
	unsigned long uid = (unsigned long)getuid();
	struct passwd *pw;

	if (sudo && *sudo)
		return xasprintf("%s (sudo, uid %lu)", sudo, uid);
	pw = getpwuid((uid_t)uid);
	return xasprintf("%s (uid %lu)", pw ? pw->pw_name : "unknown", uid);
}

int quarantine_main(int argc, char **argv, const char *quarantine_dir,
		    int (*release_fn)(void *ctx, const struct qentry *e, const char *to,
				      const char *msg, size_t len, char **detail_r),
		    void *release_ctx)
{
	const struct qcli_command *cmd;
	struct qopts o;
	struct qcli c = {
		.dir = quarantine_dir,
		.release_fn = release_fn,
		.release_ctx = release_ctx,
	};
	int rc;

	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)
		return usage(stdout);
	cmd = find_command(argv[1]);
	if (cmd == NULL) {
		fprintf(stderr, "sekisho quarantine: unknown command \"%s\"\n", argv[1]);
		return usage(stderr);
	}
	c.cmd = cmd;
	rc = parse_opts(&c, cmd->options, argc - 1, argv + 1, &o);
	if (rc != PROCEED)
		return rc;
	c.who = who_am_i();
	c.tty = isatty(STDERR_FILENO) == 1;
	rc = cmd->run(&c, &o);
	progress_clear(&c);
	qstore_close(c.q);
	free(c.who);
	return rc;
}
