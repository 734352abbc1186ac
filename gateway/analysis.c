/*
 * analysis - how the daemon gets the facts of a message's content
 * (see analysis.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "analyzer/pool.h"
#include "analyzer/supervisor.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "filters/av.h"
#include "filters/content.h"
#include "gateway/analysis.h"

extern char **environ;


static struct analyzer_pool *pool;
static char *supervisor_config;

/* spawn_supervisor - run ourselves in analyzer mode; the daemon's socket end */
static int spawn_supervisor(void *ctx, pid_t *pid_r)
{
	char *argv[] = {"sekishod", "-c", supervisor_config, "-A", NULL};
	posix_spawn_file_actions_t actions;
	int sv[2], rc;

	(void)ctx;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, sv[1], ANALYZER_SUPERVISOR_FD);
	rc = posix_spawn(pid_r, "/proc/self/exe", &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	close(sv[1]);
	if (rc != 0) {
		log_err("analyzers: cannot start the supervisor: %s", strerror(rc));
		close(sv[0]);
		return -1;
	}
	return sv[0];
}

int analysis_start(const char *config_path, const struct conf *conf, char **error_r)
{
	supervisor_config = xstrdup(config_path);
	pool = analyzer_pool_new(spawn_supervisor, NULL, (unsigned)conf->analyzer_timeout * 1000,
				 error_r);
	return pool ? 0 : -1;
}

void analysis_reload(const struct conf *conf)
{
	if (!pool)
		return;
	analyzer_pool_set_timeout(pool, (unsigned)conf->analyzer_timeout * 1000);
	analyzer_pool_reload(pool);
}

void analysis_stop(void)
{
	if (pool)
		analyzer_pool_free(pool);
	pool = NULL;
	free(supervisor_config);
	supervisor_config = NULL;
}

char *analysis_status(void)
{
	struct analyzer_pool_stats st;

	if (!pool)
		return xstrdup("analyzers: not running");
	analyzer_pool_stats(pool, &st);
	return xasprintf("analyzers: generation %lu, %u idle, %u busy, %lu messages, "
			 "%lu crashed, %lu timed out",
			 st.generation, st.idle, st.busy, st.jobs, st.crashes, st.timeouts);
}

static const char *status_text(enum analyzer_status st)
{
	switch (st) {
	case ANALYZER_OK:
		return "ok";
	case ANALYZER_CRASHED:
		return "analyzer crashed";
	case ANALYZER_TIMEOUT:
		return "analyzer timed out";
	case ANALYZER_UNAVAILABLE:
		return "no analyzer available";
	case ANALYZER_BAD_REPLY:
		return "bad reply from analyzer";
	}
	return "analyzer failed";
}

/* clamd_scan - with clamav = clamd:..., the message goes to clamd from here */
static void clamd_scan(const struct conf *conf, const char *msg, size_t len, struct facts *facts)
{
	struct content_settings cs;
	struct av_result r;
	struct av_engine *av;
	char *error = NULL;

	content_settings_from_conf(conf, &cs);
	av = av_engine_new(&cs.av, &error);
	if (!av) {
		facts_add_str(facts, "av.error", error ? error : "clamd unusable");
		free(error);
		return;
	}
	av_scan(av, msg, len, &r);
	av_record_facts(&r, facts);
	av_engine_free(av);
}

bool analysis_analyze(void *ctx, const char *msg, size_t len, struct facts *facts)
{
	const struct conf *conf = ctx;
	enum analyzer_status st = pool ? analyzer_pool_analyze(pool, msg, len, facts)
				       : ANALYZER_UNAVAILABLE;

	if (st != ANALYZER_OK) {
		facts_add_str(facts, "analysis.error", status_text(st));
		return false;
	}
	if (strncmp(conf->clamav, "clamd:", 6) == 0)
		clamd_scan(conf, msg, len, facts);
	return true;
}
