/*
 * test_rules - the rule language: lexer and parser errors with their
 * positions, every operator, any-of semantics, stages and the verdict.
 */
#include "config.h"

#include <stdlib.h>

#include "filters/facts.h"
#include "rules/prefilter_cache.h"
#include "rules/rule_eval.h"
#include "rules/rule_lexer.h"
#include "rules/ruleset.h"
#include "tests/unit/check.h"

static struct ruleset *load(const char *text, char **errors)
{
	struct ruleset *rs = NULL;

	*errors = NULL;
	if (ruleset_load_text("t.rules", text, strlen(text), &rs, errors) != 0)
		return NULL;
	return rs;
}

/* ---- errors name file:line:column ------------------------------------ */

struct error_case {
	const char *text;
	const char *error;	/* the first line of the errors */
};

static const struct error_case error_cases[] = {
	{"rule A\n  when helo == x\n  action reject \"no code\"\n",
	 "t.rules:3:17: reject text must start with a 5.x.y enhanced status code"},
	{"rule A\n  when header.subject =~ /inv(oice/i\n  score 1\n",
	 "t.rules:2:35: bad regular expression: missing closing parenthesis"},
	{"rule A\n  when nosuch.field == 1\n  score 1\n", "t.rules:2:8: unknown field \"nosuch.field\""},
	{"rule A\n  when helo ==\n  score 1\n",
	 "t.rules:2:15: expected a value (\"text\" or a word) at the end of the line"},
	{"rule A\n  when (helo == a\n  score 1\n", "t.rules:2:18: expected ) at the end of the line"},
	{"rule A\n  when helo == a b\n  score 1\n",
	 "t.rules:2:18: expected and, or, or the end of the condition, got \"b\""},
	{"rule A\n  when helo == a\n", "t.rules:1:1: rule A has neither score nor action"},
	{"rule A\n  score 1\n", "t.rules:1:1: rule A has no when line"},
	{"rule A\n  when helo in @nolist\n  score 1\n",
	 "t.rules:2:16: unknown list @nolist (lists must be defined before use)"},
	{"  when helo == a\n", "t.rules:1:3: indented line outside a rule or list"},
	{"frobnicate\n", "t.rules:1:1: expected \"rule NAME\", \"limit NAME\" or \"list NAME = ...\" "
			 "at the start of a line"},
	{"limit L\n  key env.from\n  rate 10/1h\n  count connections\n",
	 "t.rules:1:1: limit L counts connections, which come before env.from is known"},
	{"limit L\n  key env.from\n", "t.rules:1:1: limit L has no rate line"},
	{"limit L\n  rate 10/1h\n", "t.rules:1:1: limit L has no key line"},
	{"limit L\n  key env.frm\n  rate 10/1h\n", "t.rules:2:7: unknown key \"env.frm\""},
	{"limit L\n  key helo\n  rate 10/fortnight\n", "t.rules:3:8: expected: rate N/PERIOD"},
	{"limit L\n  key helo\n  rate 10/1h\n  burst 0\n", "t.rules:4:9: expected: burst N"},
	{"limit L\n  key helo\n  rate 10/1h\n  count emails\n",
	 "t.rules:4:9: expected: count connections|messages|recipients"},
	{"rule A\n  when rate.nolimit.exceeded\n  score 1\n",
	 "t.rules:2:8: unknown field \"rate.nolimit.exceeded\" (a limit must be defined before"},
	{"limit L\n  key helo\n  rate 1/s\nrule A\n  when rate.l.bogus\n  score 1\n",
	 "t.rules:5:8: unknown field \"rate.l.bogus\""},
	{"limit L\n  key helo\n  rate 1/s\nlimit L\n  key helo\n  rate 1/s\n",
	 "t.rules:4:7: limit L is defined twice"},
	{"limit L\n  key helo\n  rate 1/s\nrule L\n  when helo == a\n  score 1\n",
	 "t.rules:4:6: L is already the name of a limit"},
	{"limit L\n  key env.rcpt\n  count recipients\n  rate 1/s\n  score 2\n",
	 "t.rules:1:1: rule L reads the facts of L, a recipient limit, which last only while"},
	{"limit L\n  key env.rcpt\n  count recipients\n  rate 1/s\nrule M\n"
	 "  when rate.l.exceeded\n  action quarantine \"x\"\n",
	 "t.rules:5:1: rule M reads the facts of L, a recipient limit"},
	{"limit L\n  key helo\n  rate 1/366d\n  burst 1000000\n",
	 "t.rules:1:1: limit L: period / rate x burst is longer than a key can be remembered"},
	{"limit L\n  key helo\n  rate 10000000/s\n",
	 "t.rules:1:1: limit L: more than 1,000,000 events per second cannot be counted"},
	{"limit L1234567890123456789012345678901234567890123456789012345678901234567890\n"
	 "  key helo\n  rate 1/s\n",
	 "t.rules:1:7: a limit name has at most 64 characters"},
	{"rule A\n  when helo == \"open\n", "t.rules:2:16: unterminated string: expected a closing \""},
	{"rule A\n  when helo =~ /x/q\n  score 1\n",
	 "t.rules:2:19: unknown regular expression flag (expected i, m, s, x or u)"},
	{"rule A\n  when helo == a\n  score lots\n",
	 "t.rules:3:9: expected: score NUMBER (for example 4.5 or -2)"},
	{"rule A\n  when helo == a\n  action explode\n",
	 "t.rules:3:10: expected an action: accept, tag, quarantine, discard, tempfail or reject"},
	{"rule A\n  when helo == a\n  score 1\nrule A\n  when helo == b\n  score 1\n",
	 "t.rules:4:6: rule A is already defined at t.rules:1"},
	{"rule A\n  when helo == a\n  score 1\n  bogus 1\n",
	 "t.rules:4:3: expected desc, when, score, action or test"},
	{"rule A\n  when helo == a\n  action tempfail \"5.7.1 wrong class\"\n",
	 "t.rules:3:19: tempfail text must start with a 4.x.y enhanced status code"},
};

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		char *errors;
		struct ruleset *rs = load(error_cases[i].text, &errors);
		CHECK(rs == NULL);
		if (rs) {
			ruleset_free(rs);
			continue;
		}
		/* The expected line is somewhere in the report. */
		if (strstr(errors, error_cases[i].error) == NULL)
			fprintf(stderr, "case %zu: got:\n%s", i, errors);
		CHECK(strstr(errors, error_cases[i].error) != NULL);
		free(errors);
	}
}

static void test_deep_nesting(void)
{
	struct buf text;
	char *errors;

	buf_init(&text);
	buf_append_str(&text, "rule A\n  when ");
	for (int i = 0; i < 1000; i++)
		buf_append_str(&text, "(not ");
	buf_append_str(&text, "helo\n  score 1\n");
	CHECK(load(buf_cstr(&text), &errors) == NULL);
	CHECK(errors && strstr(errors, "nested deeper than 64") != NULL);
	free(errors);
	buf_free(&text);
}

/* ---- evaluation ---------------------------------------------------- */

struct eval_case {
	const char *when;
	bool want;
};

static const char eval_lists[] = "list exe = exe scr com\n"
				 "list nets = 10.0.0.0/8 2001:db8::/32 example.net\n";

static const struct eval_case eval_cases[] = {
	{"helo == mail.example.org", true},
	{"helo == MAIL.EXAMPLE.ORG", true},
	{"helo == other", false},
	{"helo != other", true},
	{"helo", true},
	{"header.x-missing", false},
	{"header.x-missing == a", false},
	{"header.x-missing != a", true},
	{"header.received contains \"relay2\"", true},
	{"header.received == \"from relay1\"", true},
	{"header.received != \"from relay1\"", false},
	{"header.subject =~ /invoice|請求書/i", true},
	{"header.subject =~ /^請求書/", true},
	{"header.subject !~ /請求書/", false},
	{"header.subject =~ /INVOICE/", false},
	{"client.ip in 10.0.0.0/8", true},
	{"client.ip in @nets", true},
	{"client.ip in [192.168.0.0/16 172.16.0.0/12]", false},
	{"client.ip not in @nets", false},
	{"env.from_domain in @nets", true},
	{"header.x-ext in @exe", true},
	{"header.x-ext in [zip rar]", false},
	{"size > 1000", true},
	{"size > 10K", false},
	{"size >= 1500", true},
	{"size < 1500", false},
	{"size <= 1500", true},
	{"helo > 3", false},
	{"helo == a or size > 1000", true},
	{"helo == a and size > 1000", false},
	{"not helo == a", true},
	{"not (helo == a or helo == b) and client.ip in 10.0.0.0/8", true},
	{"env.rcpt == b@example.test", true},
	{"env.rcpt != b@example.test", false},
};

static void fill_facts(struct facts *session, struct facts *tx)
{
	facts_set(session, "client.ip", "10.1.2.3");
	facts_set(session, "helo", "mail.example.org");
	facts_set(tx, "env.from_domain", "example.net");
	facts_add_str(tx, "env.rcpt", "a@example.test");
	facts_add_str(tx, "env.rcpt", "b@example.test");
	facts_add_str(tx, "header.received", "from relay1");
	facts_add_str(tx, "header.received", "from relay2");
	facts_set(tx, "header.subject", "請求書 for you");
	facts_set(tx, "header.x-ext", "SCR");
	facts_set(tx, "size", "1500");
}

static void test_eval(void)
{
	struct facts session, tx;

	facts_init(&session);
	facts_init(&tx);
	fill_facts(&session, &tx);
	for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++) {
		struct buf text;
		char *errors;
		struct ruleset *rs;

		buf_init(&text);
		buf_printf(&text, "%srule R\n  when %s\n  score 1\n", eval_lists, eval_cases[i].when);
		rs = load(buf_cstr(&text), &errors);
		if (rs == NULL) {
			fprintf(stderr, "case \"%s\": %s", eval_cases[i].when, errors);
			CHECK(rs != NULL);
			free(errors);
			buf_free(&text);
			continue;
		}
		struct rule_match_ctx *ctx = rule_match_ctx_new(rs->prefilter, rs->nregexes);
		struct rule_env env = {.tx = &tx, .session = &session, .match = ctx};
		struct verdict v;
		verdict_init(&v);
		bool got = rule_matches(&rs->rules[0], &env, &v);
		if (got != eval_cases[i].want)
			fprintf(stderr, "case \"%s\": got %d\n", eval_cases[i].when, got);
		CHECK(got == eval_cases[i].want);
		rule_match_ctx_free(ctx);
		ruleset_free(rs);
		buf_free(&text);
	}
	facts_clear(&session);
	facts_clear(&tx);
}

/* ---- stages, scores, the first deciding rule ------------------------ */

static const char policy[] =
	"rule ALLOW_PARTNER\n"
	"  when client.ip in 192.0.2.0/24\n"
	"  action accept\n"
	"rule BAD_HELO\n"
	"  when helo == localhost\n"
	"  score 2.5\n"
	"rule LURE\n"
	"  desc \"invoice wording\"\n"
	"  when header.subject =~ /invoice/i\n"
	"  score 4\n"
	"  action tag \"lure\"\n"
	"rule HIGH\n"
	"  when score >= 6\n"
	"  action quarantine \"score too high\"\n"
	"rule BOTH\n"
	"  when symbol.LURE and symbol.BAD_HELO\n"
	"  score 1\n";

static void test_verdict(void)
{
	struct facts session, tx;
	struct verdict v;
	char *errors;
	struct ruleset *rs = load(policy, &errors);

	CHECK(rs != NULL);
	if (rs == NULL) {
		fprintf(stderr, "%s", errors);
		free(errors);
		return;
	}
	CHECK_INT(rs->rules[0].stage, STAGE_CONNECT);
	CHECK_INT(rs->rules[1].stage, STAGE_HELO);
	CHECK_INT(rs->rules[2].stage, STAGE_DATA);
	CHECK_INT(rs->rules[3].stage, STAGE_SCORE);
	CHECK_INT(rs->rules[4].stage, STAGE_SCORE);

	struct rule_match_ctx *ctx = rule_match_ctx_new(rs->prefilter, rs->nregexes);
	struct rule_env env = {.tx = &tx, .session = &session, .match = ctx};
	facts_init(&session);
	facts_init(&tx);
	facts_set(&session, "client.ip", "203.0.113.9");
	facts_set(&session, "helo", "localhost");
	facts_set(&tx, "header.subject", "Your INVOICE");
	verdict_init(&v);
	for (enum rule_stage s = STAGE_CONNECT; s < STAGE_COUNT; s++)
		rules_run_stage(rs, s, &env, &v);
	CHECK_INT(v.action, ACTION_QUARANTINE);
	CHECK(v.decider == &rs->rules[3]);
	CHECK(v.score > 6.49 && v.score < 6.51);
	CHECK_INT(v.nhits, 3);	/* BAD_HELO, LURE, HIGH; BOTH comes after the decision */
	verdict_free(&v);

	/* The partner's client address is accepted at connect: nothing else runs. */
	facts_set(&session, "client.ip", "192.0.2.10");
	verdict_init(&v);
	for (enum rule_stage s = STAGE_CONNECT; s < STAGE_COUNT; s++)
		rules_run_stage(rs, s, &env, &v);
	CHECK_INT(v.action, ACTION_ACCEPT);
	CHECK_INT(v.nhits, 1);
	verdict_free(&v);

	/* Only the tag: the message is delivered with the tag. */
	facts_set(&session, "client.ip", "203.0.113.9");
	facts_set(&session, "helo", "mx.example.org");
	verdict_init(&v);
	for (enum rule_stage s = STAGE_CONNECT; s < STAGE_COUNT; s++)
		rules_run_stage(rs, s, &env, &v);
	CHECK_INT(v.action, ACTION_TAG);
	CHECK(v.score > 3.99 && v.score < 4.01);
	verdict_free(&v);

	rule_match_ctx_free(ctx);
	facts_clear(&session);
	facts_clear(&tx);
	ruleset_free(rs);
}

/* ---- the Vectorscan prefilter never hides a match ------------------- */

static void test_prefilter(void)
{
	struct buf text;
	char *errors;
	struct ruleset *rs;
	struct facts tx;

	buf_init(&text);
	for (int i = 0; i < 300; i++)
		buf_printf(&text, "rule R%d\n  when body.text =~ /needle%d(x|y)?\\b/i\n  score 1\n", i, i);
	buf_append_str(&text, "rule DOT\n  when body.text =~ /a.b/\n  score 1\n");
	buf_append_str(&text, "rule CYR\n  when body.text =~ /привет/i\n  score 1\n");
	rs = load(buf_cstr(&text), &errors);
	CHECK(rs != NULL && rs->prefilter != NULL);
	if (rs == NULL) {
		fprintf(stderr, "%s", errors);
		free(errors);
		buf_free(&text);
		return;
	}
	facts_init(&tx);
	facts_add_str(&tx, "body.text", "hay NEEDLE17 hay aéb ПРИВЕТ");
	facts_add_str(&tx, "body.text", "bad utf-8 \xff needle250y");
	struct rule_match_ctx *ctx = rule_match_ctx_new(rs->prefilter, rs->nregexes);
	struct rule_env env = {.tx = &tx, .match = ctx};
	struct verdict v;
	verdict_init(&v);
	rules_run_stage(rs, STAGE_DATA, &env, &v);
	CHECK_INT(v.nhits, 4);
	CHECK(v.nhits == 4 && strcmp(v.hits[0]->name, "R17") == 0 &&
	      strcmp(v.hits[1]->name, "R250") == 0 && strcmp(v.hits[2]->name, "DOT") == 0 &&
	      strcmp(v.hits[3]->name, "CYR") == 0);
	verdict_free(&v);
	rule_match_ctx_free(ctx);
	facts_clear(&tx);
	ruleset_free(rs);
	buf_free(&text);
}

/* ---- file fields are judged one file at a time ----------------------- */

struct per_file_case {
	const char *when;
	bool want;
};

/* two files: report.pdf.txt (harmless) and setup.exe (zip-packed, 2 MB) */
static const struct per_file_case per_file_cases[] = {
	{"attachment.exts == pdf and attachment.ext == exe", false},
	{"attachment.exts == pdf and attachment.ext == txt", true},
	{"attachment.ext == exe and attachment.size > 1M", true},
	{"attachment.ext == txt and attachment.size > 1M", false},
	{"attachment.name =~ /^setup/ and attachment.in_archive == yes", true},
	{"attachment.name =~ /^report/ and attachment.in_archive == yes", false},
	{"attachment.ext == exe and header.subject =~ /invoice/i", true},
	{"attachment.ext == txt and not attachment.in_archive == yes", true},
	{"not attachment.ext == exe", true},	/* the .txt file is not an exe */
	{"attachment.ext == exe or attachment.ext == zip", true},
};

static void add_file(struct facts *tx, const char *name, const char *ext, const char *exts2,
		     const char *size, const char *in_archive)
{
	struct facts *file = facts_add_file(tx);
	struct facts *both[2] = {tx, file};

	for (int i = 0; i < 2; i++) {
		facts_add_str(both[i], "attachment.name", name);
		facts_add_str(both[i], "attachment.ext", ext);
		if (exts2)
			facts_add_str(both[i], "attachment.exts", exts2);
		facts_add_str(both[i], "attachment.exts", ext);
		facts_add_str(both[i], "attachment.size", size);
		facts_add_str(both[i], "attachment.in_archive", in_archive);
	}
}

static bool per_file_match(const char *when, const struct facts *tx)
{
	struct buf text;
	char *errors;
	struct ruleset *rs;
	bool got = false;

	buf_init(&text);
	buf_printf(&text, "rule R\n  when %s\n  score 1\n", when);
	rs = load(buf_cstr(&text), &errors);
	CHECK(rs != NULL && rs->rules[0].scope != SCOPE_MESSAGE);
	if (rs) {
		struct rule_match_ctx *ctx = rule_match_ctx_new(rs->prefilter, rs->nregexes);
		struct rule_env env = {.tx = tx, .match = ctx};
		struct verdict v;

		verdict_init(&v);
		got = rule_matches(&rs->rules[0], &env, &v);
		rule_match_ctx_free(ctx);
		ruleset_free(rs);
	} else {
		fprintf(stderr, "%s", errors);
		free(errors);
	}
	buf_free(&text);
	return got;
}

static void test_per_file(void)
{
	struct facts tx, none;

	facts_init(&tx);
	facts_add_str(&tx, "header.subject", "Your invoice");
	add_file(&tx, "report.pdf.txt", "txt", "pdf", "1000", "no");
	add_file(&tx, "setup.exe", "exe", NULL, "2000000", "yes");
	for (size_t i = 0; i < sizeof(per_file_cases) / sizeof(per_file_cases[0]); i++) {
		bool got = per_file_match(per_file_cases[i].when, &tx);
		if (got != per_file_cases[i].want)
			fprintf(stderr, "per-file case \"%s\": got %d\n", per_file_cases[i].when, got);
		CHECK(got == per_file_cases[i].want);
	}
	/* no file at all: judged once, with no file values */
	facts_init(&none);
	CHECK(!per_file_match("attachment.ext == exe", &none));
	CHECK(per_file_match("not attachment.ext == exe", &none));
	facts_clear(&tx);
}

/* links: judged one at a time, like files; never both in one rule */
static void test_per_link(void)
{
	struct facts tx;
	struct facts *a, *b;
	char *errors;

	facts_init(&tx);
	facts_add_link(&tx);
	facts_add_link(&tx);
	/* taken after both: adding a set may move the others */
	a = &tx.links[0];
	b = &tx.links[1];
	facts_add_str(a, "url.domain", "good.example");
	facts_add_str(a, "url.uribl", "bl.example");
	facts_add_str(b, "url.domain", "bad.example");
	facts_add_str(b, "url.scheme", "http");
	facts_add_str(&tx, "url.domain", "good.example");
	facts_add_str(&tx, "url.domain", "bad.example");
	facts_add_str(&tx, "url.uribl", "bl.example");
	facts_add_str(&tx, "url.scheme", "http");
	facts_add_str(&tx, "url.count", "2");
	/* the listed link is the allowed one: no match, though some link is
	 * listed and some domain is not allowed */
	CHECK(!per_file_match("url.uribl and url.domain not in [good.example]", &tx));
	CHECK(per_file_match("url.uribl and url.domain not in [other.example]", &tx));
	CHECK(!per_file_match("url.domain == good.example and url.scheme == http", &tx));
	CHECK(per_file_match("url.domain == bad.example and url.scheme == http", &tx));
	/* url.count is the message's, whatever the link */
	CHECK(per_file_match("url.domain == bad.example and url.count > 1", &tx));
	facts_clear(&tx);
	CHECK(load("rule R\n  when url.domain == a.example and attachment.ext == exe\n  score 1\n",
		   &errors) == NULL);
	CHECK(errors && strstr(errors, "asks of one file and one link at once") != NULL);
	free(errors);
}

static void test_tests_and_lists(void)
{
	char *errors;
	struct ruleset *rs = load("list big = a b\n  c d\n"
				  "rule T\n  when helo in @big\n"
				  "    or helo == z\n"
				  "  action reject \"5.7.1 go away\"\n"
				  "  test match ../corpus/x.eml helo=c ip=192.0.2.1\n"
				  "  test nomatch y.eml\n",
				  &errors);

	CHECK(rs != NULL);
	if (rs == NULL) {
		fprintf(stderr, "%s", errors);
		free(errors);
		return;
	}
	CHECK_INT(rs->lists[0]->count, 4);
	CHECK_INT(rs->rules[0].ntests, 2);
	CHECK_STR(rs->rules[0].tests[0].path, "./../corpus/x.eml");
	CHECK_STR(rs->rules[0].tests[0].helo, "c");
	CHECK_STR(rs->rules[0].tests[0].ip, "192.0.2.1");
	CHECK(rs->rules[0].tests[0].match && !rs->rules[0].tests[1].match);
	CHECK_STR(rs->rules[0].action_text, "5.7.1 go away");
	CHECK_INT(rs->rules[0].stage, STAGE_HELO);
	ruleset_free(rs);
}

/* test_cache - a reload of the same expressions takes the compiled database */
static void test_cache(void)
{
	unsigned long before = prefilter_cache_hits();

	test_prefilter();	/* loads the set: compiled, or cached by the first run */
	test_prefilter();	/* the same set again: from the cache, same answers */
	CHECK(prefilter_cache_hits() >= before + 1);
}

int main(void)
{
	test_errors();
	test_deep_nesting();
	test_eval();
	test_verdict();
	test_prefilter();
	test_per_file();
	test_per_link();
	test_cache();
	test_tests_and_lists();
	return check_summary("test_rules");
}
