/*
 * scan_run - the gateway's pipeline, offline, for `sekisho scan` and
 * `sekisho rules test`.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/conf.h"
#include "filters/message.h"

/* content - filter_input's content reader: the analysis, in-process */
static bool content(void *ctx, const char *msg, size_t len, struct facts *facts)
{
	const struct scan_envelope *env = ctx;

	content_analyze(env->content, msg, len, facts, env->report);
	return true;
}

/* load_conf - the configuration file, or the defaults when there is none */
static struct conf *load_conf(const struct cli *cli)
{
	struct conf *conf = NULL;
	char *errors = NULL;
	int rc;

	if (cli->config_given || access(cli->config_path, F_OK) == 0)
		rc = conf_load(cli->config_path, &conf, &errors);
	else
		rc = conf_parse("defaults", "", 0, &conf, &errors);
	if (rc != 0) {
		fprintf(stderr, "%s", errors);
		free(errors);
		return NULL;
	}
	return conf;
}

struct auth_services *cli_auth_services(const struct cli *cli)
{
	struct conf *conf = load_conf(cli);
	struct auth_services *auth;
	char *errors = NULL;

	if (!conf)
		return NULL;
	auth = auth_services_new(conf, &errors);
	if (!auth) {
		fprintf(stderr, "sekisho: %s\n", errors);
		free(errors);
	}
	conf_free(conf);
	return auth;
}

struct content_engine *cli_content_engine(const struct cli *cli, const char *clamav_db)
{
	struct content_settings cs;
	struct content_engine *engine;
	struct conf *conf = load_conf(cli);
	char *errors = NULL;

	if (!conf)
		return NULL;
	content_settings_from_conf(conf, &cs);
	if (clamav_db) {
		cs.av.clamav = "libclamav";
		cs.av.db_dir = clamav_db;
	}
	engine = content_engine_new(&cs, &errors);
	if (!engine) {
		fprintf(stderr, "sekisho: %s\n", errors);
		free(errors);
	}
	conf_free(conf);
	return engine;
}

void scan_envelope_defaults(struct scan_envelope *env)
{
	memset(env, 0, sizeof(*env));
	env->ip = "198.51.100.1";
	env->helo = "client.example.org";
	env->from = "sender@example.org";
}

/* decide - the first refusal decides, as in the session; the scan goes on
 * so that every fact is there to see (and to test rules against) */
static void decide(struct scan_result *res, enum rule_action a, enum rule_stage stage)
{
	if ((a != ACTION_REJECT && a != ACTION_TEMPFAIL) || res->action != ACTION_NONE)
		return;
	res->action = a;
	res->decider = res->pipeline.decider;
	res->decided_at = stage;
}

void scan_run(const struct ruleset *rs, const struct scan_envelope *env, const char *msg,
	      size_t len, struct scan_result *res)
{
	struct filter_input in = {
		.client_ip = env->ip, .client_port = 0, .helo = env->helo, .from = env->from,
	};
	const char *accepted[64];
	size_t naccepted = 0;
	enum rule_action a;

	memset(res, 0, sizeof(*res));
	message_init();
	if (env->content) {
		in.content = content;
		in.content_ctx = (void *)env;
	}
	in.auth = env->auth;
	pipeline_init(&res->pipeline, rs);
	decide(res, pipeline_connect(&res->pipeline, &in), STAGE_CONNECT);
	decide(res, pipeline_helo(&res->pipeline, &in), STAGE_HELO);
	pipeline_tx_begin(&res->pipeline, &res->tx);
	decide(res, pipeline_mail(&res->pipeline, &res->tx, &in), STAGE_MAIL);
	for (size_t i = 0; i < env->nrcpt; i++) {
		in.rcpt = env->rcpts[i];
		if (pipeline_rcpt(&res->pipeline, &res->tx, &in) == ACTION_NONE) {
			accepted[naccepted++] = env->rcpts[i];
		} else {
			res->refused_rcpts[res->nrefused] = env->rcpts[i];
			res->refused_by[res->nrefused++] = res->pipeline.decider;
		}
	}
	if (env->nrcpt && naccepted == 0) {
		res->pipeline.decider = res->refused_by[0];
		decide(res, ACTION_REJECT, STAGE_RCPT);
		/* Judge the message anyway, for its facts. */
		memcpy(accepted, env->rcpts, env->nrcpt * sizeof(*accepted));
		naccepted = env->nrcpt;
	}
	in.rcpt = NULL;
	in.rcpts = accepted;
	in.nrcpt = naccepted;
	in.msg = msg;
	in.len = len;
	a = pipeline_message(&res->pipeline, &res->tx, &in);
	if (res->action == ACTION_NONE) {
		res->action = a;
		res->decider = res->tx.verdict.decider;
		res->decided_at = res->decider ? res->decider->stage : STAGE_SCORE;
	}
}

void scan_result_free(struct scan_result *res)
{
	pipeline_tx_clear(&res->tx);
	pipeline_free(&res->pipeline);
}

char *cli_read_file(const char *path, size_t *len_r)
{
	struct buf b;
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "sekisho: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		buf_append(&b, chunk, (size_t)n);
		if (b.len > 1024L * 1024 * 1024) {
			fprintf(stderr, "sekisho: %s: larger than 1 GiB\n", path);
			n = -1;
			errno = EFBIG;
			break;
		}
	}
	close(fd);
	if (n < 0) {
		fprintf(stderr, "sekisho: %s: %s\n", path, strerror(errno));
		buf_free(&b);
		return NULL;
	}
	*len_r = b.len;
	return buf_steal(&b);
}

struct ruleset *cli_load_rules(const struct cli *cli, const char *dir)
{
	struct ruleset *rs = NULL;
	struct conf *conf = NULL;
	char *errors = NULL;
	char *owned = NULL;

	if (dir == NULL) {
		if (conf_load(cli->config_path, &conf, &errors) != 0) {
			fprintf(stderr, "%s", errors);
			free(errors);
			return NULL;
		}
		if (conf->rules_dir[0] == '\0') {
			fprintf(stderr, "sekisho: rules_dir is not set in %s (or use --dir)\n",
				cli->config_path);
			conf_free(conf);
			return NULL;
		}
		dir = owned = strdup(conf->rules_dir);
		conf_free(conf);
	}
	if (ruleset_load_dir(dir, &rs, &errors) != 0) {
		fputs(errors, stderr);
		free(errors);
		rs = NULL;
	}
	free(owned);
	return rs;
}
