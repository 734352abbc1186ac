/*
 * cli - what the sekisho subcommands share.
 */
#ifndef SEKISHO_CLI_H
#define SEKISHO_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "filters/auth.h"
#include "filters/content.h"
#include "filters/pipeline.h"
#include "rules/ruleset.h"

#define CLI_DEFAULT_CONFIG SYSCONFDIR "/sekisho/sekisho.conf"

struct cli {
	const char *config_path;
	bool config_given;	/* -c on the command line */
};

/* cli_load_rules - the rules of dir, or of the configuration's rules_dir */
struct ruleset *cli_load_rules(const struct cli *cli, const char *dir);

/* cli_read_file - a whole file (a message), malloc'd; NULL after an error message */
char *cli_read_file(const char *path, size_t *len_r);

/* The envelope a scan pretends the message came with. */
struct scan_envelope {
	const char *ip;
	const char *helo;
	const char *from;
	const char *rcpts[64];
	size_t nrcpt;
	struct content_engine *content;		/* NULL: header and body facts only */
	struct content_report *report;		/* NULL: no MIME tree wanted */
	const struct auth_services *auth;	/* NULL: no DNS, SPF, DKIM, DMARC */
};

/*
 * cli_content_engine - the content engine the configuration describes
 * (its defaults when no configuration file exists and none was given
 * with -c); clamav_db, when set, turns libclamav on with that database.
 * NULL after an error message.
 */
struct content_engine *cli_content_engine(const struct cli *cli, const char *clamav_db);

/*
 * cli_auth_services - DNS and sender authentication as the configuration
 * describes them (its defaults when there is no file); NULL after an
 * error message.
 */
struct auth_services *cli_auth_services(const struct cli *cli);

void scan_envelope_defaults(struct scan_envelope *env);

/* What a scan found and decided. */
struct scan_result {
	struct pipeline pipeline;
	struct pipeline_tx tx;
	enum rule_action action;
	const struct rule *decider;
	enum rule_stage decided_at;
	const char *refused_rcpts[64];
	const struct rule *refused_by[64];
	size_t nrefused;
};

/* scan_run - the whole pipeline, offline, as the gateway would run it */
void scan_run(const struct ruleset *rs, const struct scan_envelope *env, const char *msg,
	      size_t len, struct scan_result *res);
void scan_result_free(struct scan_result *res);

int cmd_rules(const struct cli *cli, int argc, char **argv);
int cmd_scan(const struct cli *cli, int argc, char **argv);
int cmd_quarantine(const struct cli *cli, int argc, char **argv);

#endif
