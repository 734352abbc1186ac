/*
 * sekisho - the administrator's command line.
 *
 * Subcommands are a table, as smtpctl's are: some talk to the running
 * daemon over its control socket (reload, status, stats), the others work on
 * files directly (rules, scan, quarantine).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/conf.h"
#include "common/log.h"
#include "gateway/control.h"

struct cli_command {
	const char *name;
	const char *help;
	int (*run)(const struct cli *cli, int argc, char **argv);
};

/* ask_daemon - one control request; prints the daemon's answer */
static int ask_daemon(const struct cli *cli, const char *request)
{
	struct conf *conf;
	char *reply = NULL, *errors = NULL;
	const char *error = NULL;
	int rc = 1;

	if (conf_load(cli->config_path, &conf, &errors) != 0) {
		fprintf(stderr, "%s", errors);
		free(errors);
		return 1;
	}
	if (conf->control_socket[0] == '\0')
		fprintf(stderr, "sekisho: control_socket is not set in %s\n", conf->path);
	else if (control_request(conf->control_socket, request, &reply, &error) != 0)
		fprintf(stderr, "sekisho: cannot reach sekishod at %s: %s\n", conf->control_socket,
			error);
	else {
		rc = reply[0] && strncmp(reply, "error", 5) != 0 ? 0 : 1;
		fputs(reply, rc == 0 ? stdout : stderr);
		free(reply);
	}
	conf_free(conf);
	return rc;
}

static int cmd_reload(const struct cli *cli, int argc, char **argv)
{
	return ask_daemon(cli, "reload");
}

static int cmd_status(const struct cli *cli, int argc, char **argv)
{
	return ask_daemon(cli, "status");
}

/*
 * cmd_stats - the daemon's counters: a summary for a terminal (every
 * --watch seconds, if asked), or --prometheus for the exposition format
 */
static int cmd_stats(const struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"prometheus", no_argument, NULL, 'p'},
					     {"watch", required_argument, NULL, 'w'},
					     {NULL, 0, NULL, 0}};
	bool prometheus = false;
	long watch = 0;
	char *end;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "pw:", opts, NULL)) != -1) {
		if (opt == 'p') {
			prometheus = true;
		} else if (opt == 'w' && (watch = strtol(optarg, &end, 10)) > 0 && !*end &&
			   watch <= 3600) {
			continue;
		} else {
			fprintf(stderr, "usage: sekisho stats [--prometheus] [--watch SECONDS]\n");
			return 2;
		}
	}
	for (;;) {
		if (watch)
			fputs("\033[H\033[2J", stdout);
		rc = ask_daemon(cli, prometheus ? "metrics" : "stats");
		if (!watch || rc != 0)
			return rc;
		fflush(stdout);
		sleep((unsigned)watch);
	}
}

static int cmd_check(const struct cli *cli, int argc, char **argv)
{
	struct conf *conf;
	char *errors = NULL;

	if (conf_load(cli->config_path, &conf, &errors) != 0) {
		fprintf(stderr, "%s", errors);
		free(errors);
		return 1;
	}
	conf_free(conf);
	printf("configuration OK\n");
	return 0;
}

static const struct cli_command commands[] = {
	{"reload", "reload the running daemon's configuration and rules", cmd_reload},
	{"status", "show the running daemon's state", cmd_status},
	{"stats", "[--prometheus] [--watch SECONDS]: the running daemon's counters", cmd_stats},
	{"check-config", "check the configuration file", cmd_check},
	{"rules", "check | test [--dir DIR]: check the rule files, run their tests", cmd_rules},
	{"scan", "FILE.eml [--explain] [--json] ...: judge a message offline", cmd_scan},
	{"quarantine", "list | show | release | delete | purge | stats", cmd_quarantine},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: sekisho [-c config] command [arguments]\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	struct cli cli = {.config_path = CLI_DEFAULT_CONFIG};
	int opt;

	/* Problems are printed by the commands; library log lines would repeat them. */
	log_open("sekisho", false, NULL);
	while ((opt = getopt(argc, argv, "+c:h")) != -1) {
		if (opt == 'c') {
			cli.config_path = optarg;
			cli.config_given = true;
		} else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			return commands[i].run(&cli, argc - optind, argv + optind);
	fprintf(stderr, "sekisho: unknown command \"%s\"\n", argv[optind]);
	usage(stderr);
	return 2;
}
