/*
 * cmd_scan - `sekisho scan FILE.eml`: the whole pipeline, offline.
 *
 * Prints the action and the rules hit; --explain adds the MIME tree with
 * every part's facts (archive members below their archive), every fact
 * and each hit rule's description; --json prints the same as one JSON
 * object. The content is analysed in-process, with the configuration's
 * content settings; --clamav-db DIR turns libclamav on with DIR; --dns
 * adds the DNS checks (DNSBL, SPF, DKIM, DMARC) with the configuration's
 * resolver, which a scan otherwise leaves out to stay offline.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/text.h"

#define EXPLAIN_VALUE_MAX 200

static const char usage_text[] =
	"usage: sekisho scan FILE.eml [--from ADDR] [--rcpt ADDR]... [--ip IP] [--helo NAME]\n"
	"                    [--dir RULES_DIR] [--clamav-db DIR] [--dns] [--explain] [--json]\n"
	"                    [--repeat N] [--no-prefilter]   (for benchmarks)\n";

/* print_value - one fact value on a line, cut and with control bytes shown */
static void print_value(const char *v)
{
	size_t n = 0;

	for (; *v && n < EXPLAIN_VALUE_MAX; v++, n++) {
		unsigned char c = (unsigned char)*v;
		if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\r')
			fputs("\\r", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	if (*v)
		printf("... (%zu bytes)", n + strlen(v));
	putchar('\n');
}

static void print_facts(const char *title, const struct facts *f)
{
	printf("%s:\n", title);
	for (size_t i = 0; i < f->count; i++)
		for (size_t v = 0; v < f->items[i].count; v++) {
			printf("  %s = ", f->items[i].name);
			print_value(f->items[i].values[v]);
		}
}

/* print_tree - the MIME tree, each part with the facts it gave */
static void print_tree(const struct content_report *report)
{
	printf("MIME tree:\n");
	for (size_t i = 0; i < report->count; i++) {
		const struct content_report_part *part = &report->parts[i];
		int indent = 2 + 2 * (int)part->depth;

		printf("%*s%s  ", indent, "", part->path);
		print_value(part->label);
		for (size_t f = 0; f < part->facts.count; f++)
			for (size_t v = 0; v < part->facts.items[f].count; v++) {
				printf("%*s  %s = ", indent, "", part->facts.items[f].name);
				print_value(part->facts.items[f].values[v]);
			}
	}
}

/* print_links - every link with its facts */
static void print_links(const struct content_report *report)
{
	if (report->nlinks == 0)
		return;
	printf("links:\n");
	for (size_t i = 0; i < report->nlinks; i++) {
		const struct content_report_part *link = &report->links[i];

		printf("  %s  ", link->path);
		print_value(link->label);
		for (size_t f = 0; f < link->facts.count; f++)
			for (size_t v = 0; v < link->facts.items[f].count; v++) {
				printf("    %s = ", link->facts.items[f].name);
				print_value(link->facts.items[f].values[v]);
			}
	}
}

static void print_text(const struct scan_result *res, const struct content_report *report,
		       bool explain)
{
	const struct verdict *v = &res->tx.verdict;

	if (explain) {
		print_tree(report);
		print_links(report);
		print_facts("session facts", &res->pipeline.facts);
		print_facts("message facts", &res->tx.facts);
		printf("rules hit:\n");
		for (size_t i = 0; i < v->nhits; i++) {
			const struct rule *r = v->hits[i];
			printf("  %-24s %s:%d  stage=%s", r->name, r->file, r->line,
			       rule_stage_name(r->stage));
			if (r->has_score)
				printf("  score=%+g", r->score);
			if (r->action != ACTION_NONE)
				printf("  action=%s", rule_action_name(r->action));
			if (r->desc)
				printf("  \"%s\"", r->desc);
			putchar('\n');
		}
		for (size_t i = 0; i < res->nrefused; i++)
			printf("recipient %s refused by rule %s\n", res->refused_rcpts[i],
			       res->refused_by[i] ? res->refused_by[i]->name : "?");
	}
	printf("action: %s\n", rule_action_name(res->action == ACTION_NONE ? ACTION_ACCEPT
									: res->action));
	if (res->decider)
		printf("decided by: %s at %s%s%s\n", res->decider->name,
		       rule_stage_name(res->decided_at), res->decider->action_text ? ": " : "",
		       res->decider->action_text ? res->decider->action_text : "");
	printf("score: %.2f\n", v->score);
	printf("rules:");
	for (size_t i = 0; i < v->nhits; i++)
		printf(" %s", v->hits[i]->name);
	putchar('\n');
}

static void json_facts(struct buf *out, const struct facts *a, const struct facts *b)
{
	const struct facts *sets[2] = {a, b};
	bool first = true;

	buf_append_char(out, '{');
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < sets[s]->count; i++) {
			buf_append_str(out, first ? "" : ",");
			first = false;
			text_json(out, sets[s]->items[i].name);
			buf_append_str(out, ":[");
			for (size_t v = 0; v < sets[s]->items[i].count; v++) {
				buf_append_str(out, v ? "," : "");
				text_json(out, sets[s]->items[i].values[v]);
			}
			buf_append_char(out, ']');
		}
	buf_append_char(out, '}');
}

static void json_tree(struct buf *out, const struct content_report *report)
{
	struct facts none;

	facts_init(&none);
	buf_append_str(out, ",\"parts\":[");
	for (size_t i = 0; i < report->count; i++) {
		buf_append_str(out, i ? ",{\"path\":" : "{\"path\":");
		text_json(out, report->parts[i].path);
		buf_printf(out, ",\"depth\":%zu,\"label\":", report->parts[i].depth);
		text_json(out, report->parts[i].label);
		buf_append_str(out, ",\"facts\":");
		json_facts(out, &report->parts[i].facts, &none);
		buf_append_char(out, '}');
	}
	buf_append_str(out, "],\"links\":[");
	for (size_t i = 0; i < report->nlinks; i++) {
		buf_append_str(out, i ? ",{\"url\":" : "{\"url\":");
		text_json(out, report->links[i].label);
		buf_append_str(out, ",\"facts\":");
		json_facts(out, &report->links[i].facts, &none);
		buf_append_char(out, '}');
	}
	buf_append_char(out, ']');
}

static void print_json(const struct scan_result *res, const struct content_report *report)
{
	const struct verdict *v = &res->tx.verdict;
	struct buf out;

	buf_init(&out);
	buf_append_str(&out, "{\"action\":");
	text_json(&out, rule_action_name(res->action == ACTION_NONE ? ACTION_ACCEPT
								       : res->action));
	buf_append_str(&out, ",\"decided_by\":");
	if (res->decider)
		text_json(&out, res->decider->name);
	else
		buf_append_str(&out, "null");
	buf_printf(&out, ",\"score\":%.2f,\"rules\":[", v->score);
	for (size_t i = 0; i < v->nhits; i++) {
		const struct rule *r = v->hits[i];
		buf_append_str(&out, i ? ",{\"name\":" : "{\"name\":");
		text_json(&out, r->name);
		buf_printf(&out, ",\"score\":%g,\"action\":", r->has_score ? r->score : 0.0);
		text_json(&out, rule_action_name(r->action));
		buf_append_str(&out, ",\"stage\":");
		text_json(&out, rule_stage_name(r->stage));
		buf_append_str(&out, ",\"desc\":");
		text_json(&out, r->desc ? r->desc : "");
		buf_append_char(&out, '}');
	}
	buf_append_str(&out, "],\"refused_rcpts\":[");
	for (size_t i = 0; i < res->nrefused; i++) {
		buf_append_str(&out, i ? "," : "");
		text_json(&out, res->refused_rcpts[i]);
	}
	buf_append_str(&out, "],\"facts\":");
	json_facts(&out, &res->pipeline.facts, &res->tx.facts);
	json_tree(&out, report);
	buf_append_str(&out, "}\n");
	fwrite(out.data, 1, out.len, stdout);
	buf_free(&out);
}

/* time_scans - run the scan repeat times and say how long one took */
static void time_scans(const struct ruleset *rs, const struct scan_envelope *env,
		       const char *msg, size_t len, long repeat)
{
	struct scan_result res;
	long long start = clock_ms();

	for (long i = 0; i < repeat; i++) {
		scan_run(rs, env, msg, len, &res);
		scan_result_free(&res);
	}
	long long ms = clock_ms() - start;
	fprintf(stderr, "scans: %ld in %lld ms, %.3f ms each, %.1f per second\n", repeat, ms,
		(double)ms / (double)repeat, ms ? (double)repeat * 1000.0 / (double)ms : 0.0);
}

int cmd_scan(const struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"from", required_argument, NULL, 'f'}, {"rcpt", required_argument, NULL, 'r'},
		{"ip", required_argument, NULL, 'i'},	{"helo", required_argument, NULL, 'H'},
		{"dir", required_argument, NULL, 'd'},	{"explain", no_argument, NULL, 'e'},
		{"json", no_argument, NULL, 'j'},	{"repeat", required_argument, NULL, 'n'},
		{"no-prefilter", no_argument, NULL, 'P'},
		{"clamav-db", required_argument, NULL, 'C'}, {"dns", no_argument, NULL, 'D'},
		{NULL, 0, NULL, 0},
	};
	struct content_report report = {0};
	const char *clamav_db = NULL;
	struct scan_envelope env;
	struct scan_result res;
	const char *dir = NULL;
	bool explain = false, json = false, prefilter = true, dns = false;
	struct auth_services *auth = NULL;
	long repeat = 1;
	int opt;

	scan_envelope_defaults(&env);
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'f': env.from = optarg; break;
		case 'i': env.ip = optarg; break;
		case 'H': env.helo = optarg; break;
		case 'd': dir = optarg; break;
		case 'e': explain = true; break;
		case 'j': json = true; break;
		case 'P': prefilter = false; break;
		case 'C': clamav_db = optarg; break;
		case 'D': dns = true; break;
		case 'n':
			repeat = strtol(optarg, NULL, 10);
			if (repeat < 1 || repeat > 1000000) {
				fprintf(stderr, "sekisho: --repeat takes 1 to 1000000\n");
				return 2;
			}
			break;
		case 'r':
			if (env.nrcpt == sizeof(env.rcpts) / sizeof(env.rcpts[0])) {
				fprintf(stderr, "sekisho: at most 64 --rcpt\n");
				return 2;
			}
			env.rcpts[env.nrcpt++] = optarg;
			break;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (env.nrcpt == 0)
		env.rcpts[env.nrcpt++] = "user@example.test";
	struct ruleset *rs = cli_load_rules(cli, dir);
	size_t len;
	char *msg = rs ? cli_read_file(argv[optind], &len) : NULL;
	if (msg == NULL) {
		ruleset_free(rs);
		return 1;
	}
	env.content = cli_content_engine(cli, clamav_db);
	if (env.content == NULL) {
		ruleset_free(rs);
		free(msg);
		return 1;
	}
	if (dns && !(auth = cli_auth_services(cli))) {
		content_engine_free(env.content);
		ruleset_free(rs);
		free(msg);
		return 1;
	}
	env.auth = auth;
	if (!prefilter)
		ruleset_drop_prefilter(rs);
	if (repeat > 1)
		time_scans(rs, &env, msg, len, repeat);
	env.report = &report;
	scan_run(rs, &env, msg, len, &res);
	if (json)
		print_json(&res, &report);
	else
		print_text(&res, &report, explain);
	scan_result_free(&res);
	content_report_free(&report);
	content_engine_free(env.content);
	auth_services_free(auth);
	ruleset_free(rs);
	free(msg);
	return 0;
}
