/*
 * content_ops - what the sandboxed analyzers do (see content_ops.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "analyzer/content_ops.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "filters/content.h"

/* CPU seconds a worker may use in its whole life (RLIMIT_CPU) */
#define WORKER_CPU_SECONDS 3600

struct generation {
	struct content_engine *engine;
	struct analyzer_settings settings;
};

static void *generation_new(const char *config_path, char **error_r)
{
	struct content_settings cs;
	struct generation *g;
	struct conf *conf;
	char *errors = NULL;

	if (conf_load(config_path, &conf, &errors) != 0) {
		*error_r = xasprintf("%s", errors);
		free(errors);
		return NULL;
	}
	content_settings_from_conf(conf, &cs);
	if (strncmp(cs.av.clamav, "clamd:", 6) == 0)
		cs.av.clamav = "off";
	g = xcalloc(1, sizeof(*g));
	g->engine = content_engine_new(&cs, error_r);
	if (!g->engine) {
		free(g);
		conf_free(conf);
		return NULL;
	}
	g->settings.workers = (unsigned)conf->analyzers;
	g->settings.max_jobs = (unsigned)conf->analyzer_max_jobs;
	g->settings.sandbox.memory_bytes = (size_t)conf->analyzer_memory;
	g->settings.sandbox.cpu_seconds = WORKER_CPU_SECONDS;
	log_info("analyzers: %ld workers, %s", conf->analyzers,
		 content_engine_describe(g->engine));
	conf_free(conf);
	return g;
}

static void generation_free(void *opaque)
{
	struct generation *g = opaque;

	content_engine_free(g->engine);
	free(g);
}

static bool generation_stale(void *opaque)
{
	struct generation *g = opaque;

	return content_engine_stale(g->engine);
}

static void settings(void *opaque, struct analyzer_settings *out)
{
	struct generation *g = opaque;

	*out = g->settings;
}

static void worker_init(void *opaque, const char *tmpdir)
{
	struct generation *g = opaque;

	content_engine_set_tmpdir(g->engine, tmpdir);
}

static void analyze(void *opaque, const char *msg, size_t len, struct facts *out)
{
	struct generation *g = opaque;

	content_analyze(g->engine, msg, len, out, NULL);
}

const struct analyzer_ops content_analyzer_ops = {
	.generation_new = generation_new,
	.generation_free = generation_free,
	.generation_stale = generation_stale,
	.settings = settings,
	.worker_init = worker_init,
	.analyze = analyze,
};
