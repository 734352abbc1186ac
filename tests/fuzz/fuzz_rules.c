/*
 * fuzz_rules - the rule parser on hostile rule files, then evaluation.
 *
 * A rule file comes from the security team, but a broken one must give
 * errors, never a crash; whatever loads is run over a fixed set of facts
 * through every stage.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "common/log.h"
#include "filters/facts.h"
#include "rules/rule_eval.h"
#include "rules/ruleset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ruleset *rs = NULL;
	char *errors = NULL;
	struct facts session, tx;

	log_mute(true);
	if (size > 1 << 16)
		return 0;
	if (ruleset_load_text("fuzz.rules", (const char *)data, size, &rs, &errors) != 0) {
		if (errors == NULL || errors[0] == '\0')
			abort();	/* a refusal always says why */
		free(errors);
		return 0;
	}
	facts_init(&session);
	facts_init(&tx);
	facts_set(&session, "client.ip", "192.0.2.1");
	facts_set(&session, "helo", "mail.example.org");
	facts_set(&tx, "env.from", "a@example.net");
	facts_add_str(&tx, "env.rcpt", "b@example.test");
	facts_add_str(&tx, "header.subject", "請求書 invoice");
	facts_add_str(&tx, "body.text", "some body text \xff with bad UTF-8");
	facts_set(&tx, "size", "12345");
	struct rule_match_ctx *ctx = rule_match_ctx_new(rs->prefilter, rs->nregexes);
	struct rule_env env = {.tx = &tx, .session = &session, .match = ctx};
	struct verdict v;
	verdict_init(&v);
	for (enum rule_stage s = STAGE_CONNECT; s < STAGE_COUNT; s++)
		rules_run_stage(rs, s, &env, &v);
	verdict_free(&v);
	rule_match_ctx_free(ctx);
	facts_clear(&session);
	facts_clear(&tx);
	ruleset_free(rs);
	return 0;
}
