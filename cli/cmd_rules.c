/*
 * cmd_rules - `sekisho rules check` and `sekisho rules test`.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "rules/rule_eval.h"

static int rules_check(const struct cli *cli, const char *dir)
{
	struct ruleset *rs = cli_load_rules(cli, dir);
	size_t tests = 0;

	if (rs == NULL)
		return 1;
	for (size_t i = 0; i < rs->count; i++)
		tests += rs->rules[i].ntests;
	printf("rules OK: %zu rules, %zu lists, %zu limits, %zu regular expressions, %zu tests\n",
	       rs->count, rs->nlists, rs->nlimits, rs->nregexes, tests);
	ruleset_free(rs);
	return 0;
}

/* run_test - does the rule match the test's message as the test says? */
static bool run_test(const struct ruleset *rs, const struct rule *r, const struct rule_test *t,
		     struct content_engine *content)
{
	struct scan_envelope env;
	struct scan_result res;
	size_t len;
	char *msg = cli_read_file(t->path, &len);
	bool matched;

	if (msg == NULL)
		return false;
	scan_envelope_defaults(&env);
	if (t->ip)
		env.ip = t->ip;
	if (t->helo)
		env.helo = t->helo;
	if (t->from)
		env.from = t->from;
	env.rcpts[env.nrcpt++] = t->rcpt ? t->rcpt : "user@example.test";
	env.content = content;
	scan_run(rs, &env, msg, len, &res);
	/* Ask the rule itself: an earlier rule may have decided first. */
	struct rule_env renv = {.tx = &res.tx.facts, .session = &res.pipeline.facts,
				.match = res.pipeline.match};
	if (renv.match)
		rule_match_ctx_reset(renv.match);
	matched = rule_matches(r, &renv, &res.tx.verdict);
	scan_result_free(&res);
	free(msg);
	return matched == t->match;
}

static int rules_test(const struct cli *cli, const char *dir, const char *clamav_db)
{
	struct ruleset *rs = cli_load_rules(cli, dir);
	struct content_engine *content = rs ? cli_content_engine(cli, clamav_db) : NULL;
	unsigned passed = 0, failed = 0;

	if (rs == NULL || content == NULL) {
		ruleset_free(rs);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	for (size_t i = 0; i < rs->count; i++) {
		const struct rule *r = &rs->rules[i];
		if (r->ntests == 0)
			printf("warning: %s:%d: rule %s has no test line\n", r->file, r->line, r->name);
		for (size_t t = 0; t < r->ntests; t++) {
			if (run_test(rs, r, &r->tests[t], content)) {
				passed++;
				continue;
			}
			failed++;
			printf("FAIL %s:%d: rule %s should %s %s\n", r->file, r->tests[t].line,
			       r->name, r->tests[t].match ? "match" : "not match", r->tests[t].path);
		}
	}
	content_engine_free(content);
	ruleset_free(rs);
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}

int cmd_rules(const struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {{"dir", required_argument, NULL, 'd'},
						{"clamav-db", required_argument, NULL, 'C'},
						{NULL, 0, NULL, 0}};
	const char *dir = NULL, *clamav_db = NULL, *what;
	int opt;

	if (argc < 2 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "test") != 0)) {
		fprintf(stderr, "usage: sekisho rules check|test [--dir DIR] [--clamav-db DIR]\n");
		return 2;
	}
	what = argv[1];
	argc--;
	argv++;
	optind = 0;	/* 0: a full restart of GNU getopt, permutation included */
	while ((opt = getopt_long(argc, argv, "d:", options, NULL)) != -1) {
		if (opt == 'C') {
			clamav_db = optarg;
			continue;
		}
		if (opt != 'd') {
			fprintf(stderr, "usage: sekisho rules check|test [--dir DIR] [--clamav-db DIR]\n");
			return 2;
		}
		dir = optarg;
	}
	if (optind != argc) {
		fprintf(stderr, "usage: sekisho rules check|test [--dir DIR] [--clamav-db DIR]\n");
		return 2;
	}
	return strcmp(what, "check") == 0 ? rules_check(cli, dir) : rules_test(cli, dir, clamav_db);
}
