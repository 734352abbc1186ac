/*
 * sekisho - the administrator's command line.
 *
 * At this stage: talk to the running daemon over its control socket
 * (reload, status) and check a configuration file. Commands are a table,
 * as smtpctl's are, so later subcommands (rules, scan, quarantine) slot in.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "gateway/control.h"

#define DEFAULT_CONFIG SYSCONFDIR "/sekisho/sekisho.conf"

struct cli_command {
	const char *name;
	const char *help;
	int (*run)(const struct conf *conf, const char *config_path);
};

/* ask_daemon - one control request; prints the daemon's answer */
static int ask_daemon(const struct conf *conf, const char *request)
{
	char *reply = NULL;
	const char *error = NULL;
	int rc;

	if (conf->control_socket[0] == '\0') {
		fprintf(stderr, "sekisho: control_socket is not set in %s\n", conf->path);
		return 1;
	}
	if (control_request(conf->control_socket, request, &reply, &error) != 0) {
		fprintf(stderr, "sekisho: cannot reach sekishod at %s: %s\n", conf->control_socket,
			error);
		return 1;
	}
	fputs(reply, strncmp(reply, "ok", 2) == 0 ? stdout : stderr);
	rc = strncmp(reply, "ok", 2) == 0 ? 0 : 1;
	free(reply);
	return rc;
}

static int cmd_reload(const struct conf *conf, const char *config_path)
{
	return ask_daemon(conf, "reload");
}

static int cmd_status(const struct conf *conf, const char *config_path)
{
	return ask_daemon(conf, "status");
}

static int cmd_check(const struct conf *conf, const char *config_path)
{
	printf("configuration OK\n");
	return 0;
}

static const struct cli_command commands[] = {
	{"reload", "reload the running daemon's configuration", cmd_reload},
	{"status", "show the running daemon's state", cmd_status},
	{"check-config", "check the configuration file", cmd_check},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: sekisho [-c config] command\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	const char *config_path = DEFAULT_CONFIG;
	struct conf *conf;
	char *errors = NULL;
	int opt, rc;

	while ((opt = getopt(argc, argv, "+c:h")) != -1) {
		if (opt == 'c') {
			config_path = optarg;
		} else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		if (conf_load(config_path, &conf, &errors) != 0) {
			fprintf(stderr, "%s", errors);
			free(errors);
			return 1;
		}
		rc = commands[i].run(conf, config_path);
		conf_free(conf);
		return rc;
	}
	fprintf(stderr, "sekisho: unknown command \"%s\"\n", argv[optind]);
	usage(stderr);
	return 2;
}
