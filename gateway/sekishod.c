/*
 * sekishod - the sekisho mail gateway daemon.
 *
 * Loads sekisho.conf, binds the listeners as root, drops to the configured
 * user, tells systemd it is ready, and serves SMTP until SIGTERM. SIGHUP
 * or `sekisho reload` reloads the configuration without dropping a
 * session; a configuration that does not load is refused and the running
 * one stays.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/xalloc.h"
#include "analyzer/content_ops.h"
#include "analyzer/supervisor.h"
#include "gateway/analysis.h"
#include "gateway/control.h"
#include "gateway/daemon.h"
#include "gateway/listener.h"
#include "gateway/metrics_http.h"
#include "gateway/milter.h"
#include "gateway/milter_front.h"
#include "gateway/relay_pool.h"
#include "gateway/snapshot.h"
#include "filters/message.h"

#define DEFAULT_CONFIG SYSCONFDIR "/sekisho/sekisho.conf"

static const char *config_path = DEFAULT_CONFIG;
static struct metrics_http *metrics_endpoint;

static void usage(FILE *out)
{
	fprintf(out, "usage: sekishod [-c config] [-n] [-d] [-V]\n"
		     "  -c FILE  configuration file (default " DEFAULT_CONFIG ")\n"
		     "  -n       check the configuration, print \"configuration OK\" or the errors\n"
		     "  -d       log debug detail\n"
		     "  -V       print the version\n");
}

/* restart_needed - keys that only take effect on a restart */
static void warn_restart_keys(const struct conf *old, const struct conf *new)
{
	bool listen_changed = old->listen.count != new->listen.count;

	for (size_t i = 0; !listen_changed && i < old->listen.count; i++)
		listen_changed = strcmp(old->listen.items[i], new->listen.items[i]) != 0;
	if (listen_changed)
		log_warn("reload: listen changed; it takes effect on restart");
	if (strcmp(old->user, new->user) != 0)
		log_warn("reload: user changed; it takes effect on restart");
	if (strcmp(old->control_socket, new->control_socket) != 0)
		log_warn("reload: control_socket changed; it takes effect on restart");
	if (strcmp(old->metrics_listen, new->metrics_listen) != 0)
		log_warn("reload: metrics_listen changed; it takes effect on restart");
	if (strcmp(old->milter_listen, new->milter_listen) != 0)
		log_warn("reload: milter_listen changed; it takes effect on restart");
}

static void do_reload(char **result_r)
{
	struct snapshot *fresh, *old;
	char *errors = NULL;

	daemon_notify("RELOADING=1");
	if (snapshot_build(config_path, &fresh, &errors) != 0) {
		log_err("reload refused, the running configuration stays:\n%s", errors);
		*result_r = xasprintf("error: reload refused, the running configuration stays:\n%s",
				      errors);
		free(errors);
		daemon_notify("READY=1");
		return;
	}
	old = snapshot_acquire();
	warn_restart_keys(old->conf, fresh->conf);
	log_open("sekishod", fresh->conf->log == LOG_TARGET_SYSLOG, fresh->conf->syslog_facility);
	snapshot_install(fresh);
	analysis_reload(fresh->conf);
	log_info("reload: configuration %s loaded (generation %lu)", config_path,
		 fresh->generation);
	*result_r = xasprintf("ok: configuration reloaded (generation %lu)\n", fresh->generation);
	if (milter_front_running()) {
		char *milter = NULL, *both;
		milter_front_reload(&milter);
		both = xasprintf("%s%s\n", *result_r, milter);
		free(milter);
		free(*result_r);
		*result_r = both;
	}
	snapshot_release(old);
	daemon_notify("READY=1");
}

static void do_status(char **result_r)
{
	struct snapshot *snap = snapshot_acquire();
	char *analyzers = analysis_status();
	char *milter = milter_front_running() ? milter_front_status() : NULL;

	*result_r = xasprintf("ok: pid %ld, %ld sessions, configuration generation %lu, %s%s%s\n",
			      (long)getpid(), listener_sessions(), snap ? snap->generation : 0,
			      analyzers, milter ? ", " : "", milter ? milter : "");
	free(milter);
	free(analyzers);
	snapshot_release(snap);
}

/*
 * render_stats - our counters and, with the milter on, the milter
 * process's: in the exposition format as sekisho_milter_* families, for a
 * terminal under a heading of their own
 */
static char *render_stats(bool prometheus)
{
	char *own = prometheus ? metrics_prometheus(listener_sessions())
			       : metrics_summary(listener_sessions());
	char *milter = milter_front_running() ? milter_front_metrics(prometheus) : NULL;
	struct buf out;

	if (milter == NULL)
		return own;
	buf_init(&out);
	buf_append_str(&out, own);
	if (prometheus) {
		metrics_rename(&out, milter, "sekisho_", "sekisho_milter_");
	} else {
		buf_append_str(&out, "\nmilter front end (its own process):\n");
		buf_append_str(&out, milter);
	}
	free(own);
	free(milter);
	return buf_steal(&out);
}

/* nexthop_text - the next hop as the administrator wrote it */
static const char *nexthop_text(const struct conf *conf)
{
	static char text[512];
	const struct nexthop *nh = &conf->next_hop;

	if (nh->kind == NEXTHOP_MAILDIR)
		snprintf(text, sizeof(text), "maildir:%s", nh->path);
	else if (nh->kind == NEXTHOP_LMTP_UNIX)
		snprintf(text, sizeof(text), "lmtp:unix:%s", nh->path);
	else
		snprintf(text, sizeof(text), strchr(nh->host, ':') ? "%s://[%s]:%s" : "%s://%s:%s",
			 nh->kind == NEXTHOP_SMTP ? "smtp" : "lmtp", nh->host, nh->port);
	return text;
}

/* setup - everything done as root before privileges are dropped */
static int setup(const struct conf *conf, struct listener_set *set, int *control_fd)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char *error = NULL;

	if (conf->user[0] && daemon_lookup_user(conf->user, &uid, &gid) != 0) {
		log_err("user %s: no such user", conf->user);
		return -1;
	}
	if (listener_bind(&conf->listen, set, &error) != 0)
		goto fail;
	if (conf->next_hop.kind == NEXTHOP_MAILDIR &&
	    daemon_prepare_dir(conf->next_hop.path, uid, gid, &error) != 0)
		goto fail;
	if (conf->quarantine_dir[0] &&
	    daemon_prepare_dir(conf->quarantine_dir, uid, gid, &error) != 0)
		goto fail;
	if (conf->milter_listen[0] && milter_front_prepare(conf->milter_listen, uid, gid, &error))
		goto fail;
	*control_fd = -1;
	if (conf->control_socket[0]) {
		char *dir = xstrdup(conf->control_socket);
		char *slash = strrchr(dir, '/');
		struct stat st;
		/* Only a folder we make is ours to own: an existing one (/run,
		 * /tmp) is the administrator's and is left as it is. */
		if (slash && slash != dir) {
			*slash = '\0';
			if (stat(dir, &st) != 0 && errno == ENOENT)
				daemon_prepare_dir(dir, uid, gid, &error);
			free(error);
			error = NULL;
		}
		free(dir);
		*control_fd = control_open(conf->control_socket, uid, gid, &error);
		if (*control_fd < 0)
			goto fail;
	}
	if (conf->metrics_listen[0] &&
	    (metrics_endpoint = metrics_http_start(conf->metrics_listen, render_stats, &error)) == NULL)
		goto fail;
	if (conf->pid_file[0] && daemon_write_pid_file(conf->pid_file, &error) != 0)
		goto fail;
	if (conf->user[0] && geteuid() != uid &&
	    daemon_drop_privileges(conf->user, uid, gid, &error) != 0)
		goto fail;
	if (!conf->user[0] && geteuid() == 0)
		log_warn("running as root: set user = in %s", config_path);
	return 0;
fail:
	log_err("%s", error);
	free(error);
	return -1;
}

/* run_supervisor - sekishod -A: the analyzer supervisor (analysis.h) */
static int run_supervisor(void)
{
	struct conf *conf;
	char *errors = NULL;

	if (conf_load(config_path, &conf, &errors) != 0) {
		fprintf(stderr, "%s", errors);
		free(errors);
		return 1;
	}
	log_open("sekishod-analyzer", conf->log == LOG_TARGET_SYSLOG, conf->syslog_facility);
	conf_free(conf);
	return supervisor_main(ANALYZER_SUPERVISOR_FD, &content_analyzer_ops, config_path);
}

/* listeners_ok - milter and metrics addresses that make sense, and an SMTP
 * listener, a milter or both to serve; else say why not */
static bool listeners_ok(const struct conf *conf)
{
	const char *why;

	if (conf->milter_listen[0] && (why = milter_front_check(conf->milter_listen))) {
		fprintf(stderr, "%s: milter_listen \"%s\": %s\n", config_path,
			conf->milter_listen, why);
		return false;
	}
	if (conf->metrics_listen[0] && (why = metrics_http_check(conf->metrics_listen))) {
		fprintf(stderr, "%s: metrics_listen \"%s\": %s\n", config_path,
			conf->metrics_listen, why);
		return false;
	}
	if (conf->listen.count == 0 && !conf->milter_listen[0]) {
		fprintf(stderr, "%s: listen is empty and milter_listen is not set: nothing "
				"to serve\n", config_path);
		return false;
	}
	return true;
}

/* start_milter - with milter_listen, the milter process (milter_front.h) */
static int start_milter(const struct conf *conf)
{
	char *error = NULL;

	if (!conf->milter_listen[0])
		return 0;
	if (milter_front_start(config_path, &error) == 0)
		return 0;
	log_err("milter: %s", error);
	free(error);
	return -1;
}

int main(int argc, char **argv)
{
	struct listener_set set = {0};
	struct listener_hooks hooks = {.reload = do_reload, .status = do_status,
				       .stats = render_stats, .stopping = milter_front_stop_begin};
	struct snapshot *snap;
	char *errors = NULL;
	bool check_only = false, supervisor = false, milter = false;
	int opt;

	while ((opt = getopt(argc, argv, "c:ndVhAM")) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'n':
			check_only = true;
			break;
		case 'd':
			log_set_debug(true);
			break;
		case 'A':
			/* the analyzer supervisor, started by the daemon (analysis.h) */
			supervisor = true;
			break;
		case 'M':
			/* the milter process, started by the daemon (milter_front.h) */
			milter = true;
			break;
		case 'V':
			printf("sekishod %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (supervisor)
		return run_supervisor();
	if (milter)
		return milter_main(config_path, MILTER_CHANNEL_FD);
	if (snapshot_build(config_path, &snap, &errors) != 0) {
		fprintf(stderr, "%s", errors);
		if (errors[0] && errors[strlen(errors) - 1] != '\n')
			fputc('\n', stderr);
		free(errors);
		return 1;
	}
	if (!listeners_ok(snap->conf)) {
		snapshot_release(snap);
		return 1;
	}
	if (check_only) {
		printf("configuration OK\n");
		snapshot_release(snap);
		return 0;
	}
	log_open("sekishod", snap->conf->log == LOG_TARGET_SYSLOG, snap->conf->syslog_facility);
	message_init();
	daemon_block_signals();
	if (setup(snap->conf, &set, &hooks.control_fd) != 0) {
		snapshot_release(snap);
		return 1;
	}
	/* Only SMTP sessions use the daemon's own analyzers; the milter has its own. */
	if (snap->conf->listen.count && analysis_start(config_path, snap->conf, &errors) != 0) {
		log_err("cannot start the analyzers: %s", errors);
		free(errors);
		snapshot_release(snap);
		return 1;
	}
	snapshot_install(snap);
	if (start_milter(snap->conf) != 0) {
		analysis_stop();
		snapshot_shutdown();
		return 1;
	}
	hooks.wake_fd = daemon_start_signal_thread();
	if (hooks.wake_fd < 0) {
		log_err("cannot start the signal thread");
		return 1;
	}
	log_info("sekishod %s ready, next hop %s", PACKAGE_VERSION, nexthop_text(snap->conf));
	daemon_notify("READY=1");
	listener_run(&set, &hooks);
	daemon_notify("STOPPING=1");
	snap = snapshot_acquire();
	milter_front_stop_wait(snap ? snap->conf->shutdown_timeout : 30);
	snapshot_release(snap);
	relay_pool_drain();
	metrics_http_stop(metrics_endpoint);
	analysis_stop();
	snapshot_shutdown();
	log_info("sekishod stopped");
	return 0;
}
