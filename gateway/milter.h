/*
 * milter - the milter front end: Postfix or Sendmail hand us each SMTP
 * session through libmilter, and the same filter pipeline and rules as
 * the SMTP gateway's judge it.
 *
 * It runs in a process of its own (`sekishod -M`, started and watched by
 * milter_front.c), because libmilter keeps global state and takes SIGHUP,
 * SIGTERM and SIGINT for itself: there its signal thread is the only one
 * that waits for signals, and the daemon tells it to reload or stop over
 * the channel on descriptor MILTER_CHANNEL_FD (doc/design-notes.md).
 *
 * libmilter runs the callbacks of different connections in different
 * threads; everything a connection needs is in its struct milter_conn
 * (smfi_setpriv), which holds one snapshot reference for its whole life.
 */
#ifndef SEKISHO_MILTER_H
#define SEKISHO_MILTER_H

#include <stdbool.h>
#include <stddef.h>

#include <libmilter/mfapi.h>

#include "common/netaddr.h"
#include "filters/pipeline.h"
#include "gateway/milter_input.h"
#include "gateway/snapshot.h"

#define MILTER_CHANNEL_FD 3

/* A field from outside that claims to be ours: deleted by name and index. */
struct milter_strip {
	char *name;
	unsigned index;		/* 1: the first field of that name */
};

/* How many fields of one name were seen, for the index smfi_chgheader wants. */
struct milter_name_count {
	char *name;
	unsigned seen;
};

/* Forged fields (X-Sekisho-*, our Authentication-Results) deleted per message at most. */
#define MILTER_MAX_STRIPS 100

struct milter_tx {
	bool active;		/* MAIL seen */
	char id[32];		/* "<connection id>.<seq>": in replies, logs, quarantine */
	char *queue_id;		/* the MTA's ("i"), or NULL */
	char *from;
	char *auth_authen;	/* {auth_authen}: the SMTP AUTH user, or NULL */
	char **rcpts;		/* accepted recipients */
	size_t nrcpt;
	size_t rcpt_refused;
	struct milter_message msg;
	struct milter_name_count *names;
	size_t nnames;
	struct milter_strip *strips;
	size_t nstrips;
	struct pipeline_tx policy;
	long long started_ms;
};

struct milter_conn {
	struct snapshot *snap;
	char id[16];
	unsigned long actions;	/* SMFIF_* the MTA lets us use */
	unsigned long steps;	/* SMFIP_* agreed */
	bool started;		/* connect seen and the pipeline set up */
	char client_ip[NETADDR_TEXT_MAX];
	int client_port;
	char log_ref[80];	/* "milter=ID tx=ID" for the filters' log lines */
	char *client_name;
	char *helo;
	char *tls_version;	/* NULL: no TLS */
	char *tls_cipher;
	struct pipeline policy;
	unsigned tx_seq;
	struct milter_tx tx;
};

/* milter_main - the milter process: serve until told to stop; the exit status */
int milter_main(const char *config_path, int channel_fd);

/* milter_input_for - the filter input of the connection's current state */
void milter_input_for(struct milter_conn *c, struct filter_input *in);

/* milter_reply - smfi_setreply with "code xcode text (ref ref)", text made safe */
void milter_reply(SMFICTX *ctx, const char *code, const char *text, const char *ref);

/* milter_log_tx - the one log line for the transaction */
void milter_log_tx(const struct milter_conn *c, const char *result, const char *reply);

/* milter_policy_eom - judge the message and answer the MTA (milter_policy.c) */
sfsistat milter_policy_eom(struct milter_conn *c, SMFICTX *ctx);

#endif
