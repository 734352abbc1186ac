/*
 * test_ratelimit - GCRA arithmetic, SipHash, limit blocks in rule files,
 * the memory store under a key flood, the rate filter's facts, and the
 * metrics renderings.
 */
#include "config.h"

#include <stdlib.h>

#include "common/buf.h"
#include "common/metrics.h"
#include "common/siphash.h"
#include "filters/filter.h"
#include "filters/gcra.h"
#include "filters/pipeline.h"
#include "filters/rate_store.h"
#include "rules/rule_eval.h"
#include "rules/rule_limit.h"
#include "rules/ruleset.h"
#include "tests/unit/check.h"

static void test_siphash(void)
{
	unsigned char key[16], msg[15];

	for (int i = 0; i < 16; i++)
		key[i] = (unsigned char)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (unsigned char)i;
	/* The test vector of the SipHash paper (appendix A). */
	CHECK(siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL);
	CHECK(siphash24(key, "", 0) == 0x726fdb47dd0e0e31ULL);
}

static void test_gcra(void)
{
	/* 10 per second, burst 3: three at once, then one per 100 ms. */
	struct gcra_params p = gcra_params_for(10, 1, 3);
	struct gcra_result r;
	long long tat = 0, now = 1000000000;

	CHECK_INT(p.interval, 100000);
	CHECK_INT(p.tolerance, 300000);
	for (int i = 1; i <= 3; i++) {
		tat = gcra_step(tat, now, &p, &r);
		CHECK(r.conforms);
		CHECK_INT(r.count, i);
	}
	long long before = tat;
	tat = gcra_step(tat, now, &p, &r);
	CHECK(!r.conforms);
	CHECK_INT(tat, before);	/* a refused event is not counted */
	CHECK_INT(r.count, 3);
	CHECK_INT(r.retry_after, 100000);
	tat = gcra_step(tat, now + 100000, &p, &r);
	CHECK(r.conforms);
	tat = gcra_step(tat, now + 100000, &p, &r);
	CHECK(!r.conforms);
	/* A drained bucket starts over. */
	tat = gcra_step(tat, now + 10000000, &p, &r);
	CHECK(r.conforms);
	CHECK_INT(r.count, 1);

	double rate, period;
	CHECK(limit_parse_rate("100/1h", &rate, &period) == 0 && rate == 100 && period == 3600);
	CHECK(limit_parse_rate("5/s", &rate, &period) == 0 && rate == 5 && period == 1);
	CHECK(limit_parse_rate("20/10m", &rate, &period) == 0 && period == 600);
	CHECK(limit_parse_rate("1.5/2d", &rate, &period) == 0 && rate == 1.5 && period == 172800);
	CHECK(limit_parse_rate("100", &rate, &period) != 0);
	CHECK(limit_parse_rate("0/1h", &rate, &period) != 0);
	CHECK(limit_parse_rate("10/h5", &rate, &period) != 0);
	CHECK(limit_parse_rate("10/400d", &rate, &period) != 0);
	CHECK(limit_parse_rate("-1/s", &rate, &period) != 0);

	/* Extremes the parser lets through stay in range. */
	p = gcra_params_for(1, 366 * 86400.0, 1e9);
	CHECK(p.interval > 0 && p.tolerance >= p.interval && p.tolerance <= (1LL << 52));
	tat = gcra_step(0, now, &p, &r);
	CHECK(r.conforms);
	p = gcra_params_for(1e9, 1, 1e9);
	CHECK_INT(p.interval, 1);
}

static const char limits_text[] =
	"limit SENDER_FLOOD\n"
	"  desc   \"Too much mail from one sender\"\n"
	"  key    env.from\n"
	"  rate   100/1h\n"
	"  burst  20\n"
	"  when   not client.ip in [192.0.2.0/24]\n"
	"  action tempfail \"4.7.0 Too much mail from this sender\"\n"
	"limit CONN_RATE\n"
	"  key    client.net\n"
	"  count  connections\n"
	"  rate   30/1m\n"
	"limit RCPT_FLOOD\n"
	"  key    client.ip env.rcpt_domain\n"
	"  count  recipients\n"
	"  rate   5/1m\n"
	"  action tempfail \"4.7.1 Too many recipients\"\n"
	"limit SLOW\n"
	"  key    client.ip\n"
	"  count  connections\n"
	"  rate   0.5/1h\n"
	"rule CONN_FLOOD\n"
	"  when   rate.conn_rate.exceeded and rate.conn_rate.count > 10\n"
	"  action tempfail \"4.7.0 Too many connections\"\n";

static void test_parse(void)
{
	struct ruleset *rs = NULL;
	char *errors = NULL;

	CHECK(ruleset_load_text("t.rules", limits_text, strlen(limits_text), &rs, &errors) == 0);
	if (rs == NULL) {
		fprintf(stderr, "%s", errors);
		free(errors);
		return;
	}
	CHECK_INT(rs->nlimits, 4);
	/* A rate under 1 without burst still lets one event through. */
	CHECK(limit_burst(rs->limits[3]) == 1);
	CHECK(limit_burst(rs->limits[0]) == 20);
	CHECK(limit_burst(rs->limits[1]) == 30);
	CHECK_STR(rs->limits[0]->fact, "rate.sender_flood");
	CHECK_INT(rs->limits[0]->count, COUNT_MESSAGES);
	CHECK(rs->limits[0]->rate == 100 && rs->limits[0]->period == 3600);
	CHECK(rs->limits[0]->burst == 20);
	CHECK_INT(rs->limits[1]->key[0], KEY_CLIENT_NET);
	CHECK_INT(rs->limits[2]->nkey, 2);
	/* CONN_RATE has no action or score: facts only, no rule */
	CHECK_INT(rs->count, 3);
	CHECK_STR(rs->rules[0].name, "SENDER_FLOOD");
	CHECK_INT(rs->rules[0].stage, STAGE_MAIL);
	CHECK_INT(rs->rules[0].action, ACTION_TEMPFAIL);
	CHECK_STR(rs->rules[1].name, "RCPT_FLOOD");
	CHECK_INT(rs->rules[1].stage, STAGE_RCPT);
	CHECK_STR(rs->rules[2].name, "CONN_FLOOD");
	CHECK_INT(rs->rules[2].stage, STAGE_CONNECT);

	/* Past the number of limits: refused, nothing used after it is freed. */
	struct buf many;
	buf_init(&many);
	for (int i = 0; i <= RULES_MAX_LIMITS; i++)
		buf_printf(&many, "limit L%d\n  key helo\n  rate 1/s\n  score 1\n", i);
	struct ruleset *none = NULL;
	char *why = NULL;
	CHECK(ruleset_load_text("many.rules", many.data, many.len, &none, &why) != 0);
	CHECK(why && strstr(why, "more than 1000 limits"));
	free(why);
	buf_free(&many);

	/* The limit's when only adds to its exceeded fact. */
	struct facts f;
	struct rule_env env = {0};
	struct verdict v;
	facts_init(&f);
	verdict_init(&v);
	env.tx = &f;
	facts_set(&f, "client.ip", "198.51.100.7");
	CHECK(!rule_matches(&rs->rules[0], &env, &v));
	facts_set(&f, "rate.sender_flood.exceeded", "yes");
	CHECK(rule_matches(&rs->rules[0], &env, &v));
	facts_set(&f, "client.ip", "192.0.2.9");
	CHECK(!rule_matches(&rs->rules[0], &env, &v));
	facts_clear(&f);
	ruleset_free(rs);
}

static void test_memory_store(void)
{
	struct rate_store *s = rate_store_open("memory", 1, 1000, false, NULL);
	struct gcra_params p = gcra_params_for(2, 3600, 2);
	long long count = 0;
	char why[64];

	CHECK_STR(s->kind, "memory");
	CHECK(rate_store_check(s, "a|x", 3, &p, &count, why, sizeof(why)) == RATE_CONFORMS);
	CHECK_INT(count, 1);
	CHECK(rate_store_check(s, "a|x", 3, &p, &count, why, sizeof(why)) == RATE_CONFORMS);
	CHECK(rate_store_check(s, "a|x", 3, &p, &count, why, sizeof(why)) == RATE_EXCEEDED);
	CHECK_INT(count, 2);
	/* another key, and the same text under another limit, count apart */
	CHECK(rate_store_check(s, "a|y", 3, &p, &count, why, sizeof(why)) == RATE_CONFORMS);
	CHECK(rate_store_check(s, "b|x", 3, &p, &count, why, sizeof(why)) == RATE_CONFORMS);

	/* A second open (a reload) sees the same counts. */
	struct rate_store *again = rate_store_open("memory", 1, 1000, false, NULL);
	CHECK(rate_store_check(again, "a|x", 3, &p, &count, why, sizeof(why)) == RATE_EXCEEDED);
	rate_store_close(s);
	CHECK(rate_store_check(again, "a|x", 3, &p, &count, why, sizeof(why)) == RATE_EXCEEDED);

	/* A flood of new keys of a slow limit (one a day, each used once, a
	 * tenth of its burst) stays within the cap (16 per shard with 1,000
	 * keys), and the key a fast limit holds back (full) survives it:
	 * eviction compares how full keys are, not how long they last. */
	struct gcra_params slow = gcra_params_for(1, 86400, 10);
	char key[32];
	for (int i = 0; i < 200000; i++) {
		int n = snprintf(key, sizeof(key), "flood|%d", i);
		rate_store_check(again, key, (size_t)n, &slow, &count, why, sizeof(why));
	}
	CHECK(rate_store_memory_keys() <= 64 * 16);
	CHECK(rate_store_memory_keys() >= 64 * 4);
	CHECK(rate_store_check(again, "a|x", 3, &p, &count, why, sizeof(why)) == RATE_EXCEEDED);
	/* All alike and full: the shards still make room. */
	for (int i = 0; i < 20000; i++) {
		int n = snprintf(key, sizeof(key), "alike|%d", i);
		rate_store_check(again, key, (size_t)n, &p, &count, why, sizeof(why));
		rate_store_check(again, key, (size_t)n, &p, &count, why, sizeof(why));
	}
	CHECK(rate_store_memory_keys() <= 64 * 16);
	rate_store_close(again);

	char *error = NULL;
	CHECK(rate_store_open("mongodb://x", 1, 1000, false, &error) == NULL);
	CHECK(error && strstr(error, "neither memory nor redis://"));
	free(error);
	error = NULL;
	CHECK(rate_store_open("redis://:pw", 1, 1000, false, &error) == NULL);
	free(error);
	error = NULL;
	CHECK(rate_store_open("redis://127.0.0.1:99999", 1, 1000, false, &error) == NULL);
	CHECK(error && strstr(error, "bad port"));
	free(error);
	error = NULL;
	CHECK(rate_store_open("redis+unix:relative", 1, 1000, false, &error) == NULL);
	free(error);
	s = rate_store_open("redis://127.0.0.1:6379/2", 1, 1000, true, NULL);
	CHECK(s && strcmp(s->kind, "redis") == 0 && s->fail_open);
	rate_store_close(s);
}

static void test_filter(void)
{
	struct ruleset *rs = NULL;
	char *errors = NULL;
	struct facts f;

	metrics_reset();
	CHECK(ruleset_load_text("t.rules", limits_text, strlen(limits_text), &rs, &errors) == 0);
	if (rs == NULL) {
		free(errors);
		return;
	}
	struct filter_input in = {.log_ref = "session=test", .client_ip = "203.0.113.77",
				  .from = "Flood@Example.TEST", .rcpt = "a@dest.test",
				  .rate_store = rate_store_open("memory", 1, 1000, false, NULL),
				  .limits = rs->limits, .nlimits = rs->nlimits};
	facts_init(&f);
	for (int i = 0; i < 20; i++)
		filter_ratelimit.on_mail(&in, &f);
	CHECK(facts_find(&f, "rate.sender_flood.exceeded") == NULL);
	CHECK_STR(facts_find(&f, "rate.sender_flood.key")->values[0], "flood@example.test");
	CHECK_STR(facts_find(&f, "rate.sender_flood.count")->values[0], "20");
	filter_ratelimit.on_mail(&in, &f);
	CHECK(facts_find(&f, "rate.sender_flood.exceeded") != NULL);

	filter_ratelimit.on_connect(&in, &f);
	CHECK_STR(facts_find(&f, "rate.conn_rate.key")->values[0], "203.0.113.0/24");
	in.client_ip = "2001:db8:1:2:3:4:5:6";
	filter_ratelimit.on_connect(&in, &f);
	CHECK_STR(facts_find(&f, "rate.conn_rate.key")->values[0], "2001:db8:1:2::/64");

	/* Recipient limits: the facts are the asked recipient's, and gone at the end. */
	in.client_ip = "203.0.113.77";
	for (int i = 0; i < 6; i++)
		filter_ratelimit.on_rcpt(&in, &f);
	CHECK(facts_find(&f, "rate.rcpt_flood.exceeded") != NULL);
	CHECK_STR(facts_find(&f, "rate.rcpt_flood.key")->values[0], "203.0.113.77|dest.test");
	in.rcpt = "b@other.test";
	filter_ratelimit.on_rcpt(&in, &f);
	CHECK(facts_find(&f, "rate.rcpt_flood.exceeded") == NULL);
	filter_ratelimit.on_message(&in, &f);
	CHECK(facts_find(&f, "rate.rcpt_flood.key") == NULL);
	CHECK(facts_find(&f, "rate.sender_flood.key") != NULL);

	/* An unreachable Redis: fail closed sets exceeded, fail open does not. */
	struct rate_store *down = rate_store_open("redis://127.0.0.2:1", 1, 1000, false, NULL);
	rate_store_close(in.rate_store);
	in.rate_store = down;
	facts_clear(&f);
	facts_init(&f);
	filter_ratelimit.on_mail(&in, &f);
	CHECK(facts_find(&f, "rate.sender_flood.error") != NULL);
	CHECK(facts_find(&f, "rate.sender_flood.exceeded") != NULL);
	down->fail_open = true;
	filter_ratelimit.on_mail(&in, &f);
	CHECK(facts_find(&f, "rate.sender_flood.error") != NULL);
	CHECK(facts_find(&f, "rate.sender_flood.exceeded") == NULL);
	rate_store_close(down);

	char *text = metrics_prometheus(3);
	/* Over a limit is a fact; a trip is the limit's rule acting (below). */
	CHECK(strstr(text, "sekisho_limit_tripped_total{") == NULL);
	CHECK(strstr(text, "sekisho_limit_backend_errors_total 2\n") != NULL);
	CHECK(strstr(text, "sekisho_sessions_active 3\n") != NULL);
	free(text);
	facts_clear(&f);

	/* Through the pipeline: the limit's rule tempfails the 21st MAIL and
	 * counts one trip; an exempt client (the block's when) is over the
	 * limit but not refused, and no trip is counted for it. */
	struct rate_store *store = rate_store_open("memory", 1, 1000, false, NULL);
	struct filter_input pin = {.log_ref = "session=pipe", .client_ip = "198.51.100.3",
				   .from = "piped@example.test", .rate_store = store,
				   .limits = rs->limits, .nlimits = rs->nlimits};
	struct pipeline pl;
	struct pipeline_tx ptx;
	enum rule_action a = ACTION_NONE;
	pipeline_init(&pl, rs);
	pipeline_connect(&pl, &pin);
	for (int i = 0; i < 21; i++) {
		pipeline_tx_begin(&pl, &ptx);
		a = pipeline_mail(&pl, &ptx, &pin);
		pipeline_tx_clear(&ptx);
	}
	CHECK_INT(a, ACTION_TEMPFAIL);
	pipeline_free(&pl);
	pin.client_ip = "192.0.2.8";
	pipeline_init(&pl, rs);
	pipeline_connect(&pl, &pin);
	pipeline_tx_begin(&pl, &ptx);
	CHECK_INT(pipeline_mail(&pl, &ptx, &pin), ACTION_NONE);
	CHECK(facts_find(&ptx.facts, "rate.sender_flood.exceeded") != NULL);
	pipeline_tx_clear(&ptx);
	pipeline_free(&pl);
	rate_store_close(store);
	text = metrics_prometheus(0);
	CHECK(strstr(text, "sekisho_limit_tripped_total{limit=\"SENDER_FLOOD\"} 1\n") != NULL);
	free(text);
	text = metrics_summary(0);
	CHECK(strstr(text, "piped@example.test") != NULL);
	free(text);
	ruleset_free(rs);
}

static void test_metrics(void)
{
	metrics_reset();
	metrics_message("delivered");
	metrics_message("delivered");
	metrics_message("rejected");
	metrics_action("tag");
	metrics_action("none");
	metrics_action("reject");
	metrics_rule_hit("A\"B\\C");
	metrics_filter_time("spf", 700);
	metrics_filter_time("spf", 3000000);
	metrics_nexthop_error("connect");
	char *text = metrics_prometheus(0);
	CHECK(strstr(text, "sekisho_messages_total{result=\"delivered\"} 2\n") != NULL);
	CHECK(strstr(text, "sekisho_messages_total{result=\"rejected\"} 1\n") != NULL);
	CHECK(strstr(text, "sekisho_actions_total{action=\"tag\"} 1\n") != NULL);
	CHECK(strstr(text, "sekisho_actions_total{action=\"reject\"} 1\n") != NULL);
	CHECK(strstr(text, "sekisho_actions_total{action=\"none\"} 1\n") != NULL);
	CHECK(strstr(text, "sekisho_rule_hits_total{rule=\"A\\\"B\\\\C\"} 1\n") != NULL);
	CHECK(strstr(text, "sekisho_filter_seconds_bucket{filter=\"spf\",le=\"0.001\"} 1\n") != NULL);
	CHECK(strstr(text, "sekisho_filter_seconds_bucket{filter=\"spf\",le=\"5\"} 2\n") != NULL);
	CHECK(strstr(text, "sekisho_filter_seconds_count{filter=\"spf\"} 2\n") != NULL);
	CHECK(strstr(text, "sekisho_nexthop_errors_total{stage=\"connect\"} 1\n") != NULL);
	free(text);
	/* Space-Saving keeps the heavy hitter among many one-off keys. */
	char key[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "once-%d", i);
		metrics_limit_tripped("L", key);
		if (i % 4 == 0)
			metrics_limit_tripped("L", "heavy@example.test");
	}
	text = metrics_summary(0);
	const char *top = strstr(text, "most-limited keys:\n");
	CHECK(top && strstr(top, "heavy@example.test") &&
	      strstr(top, "heavy@example.test") < strstr(top, "once-"));
	free(text);
	metrics_reset();
}

int main(void)
{
	test_siphash();
	test_gcra();
	test_parse();
	test_memory_store();
	test_filter();
	test_metrics();
	return check_summary("test_ratelimit");
}
