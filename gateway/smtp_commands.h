/*
 * smtp_commands - the SMTP command table (RFC 5321 section 4.1).
 *
 * One entry per verb: a handler that checks state and syntax (replying on
 * error itself) and does the work. The table is the only place a verb is
 * known, as OpenSMTPD's commands[] is.
 */
#ifndef SEKISHO_SMTP_COMMANDS_H
#define SEKISHO_SMTP_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/smtp_session.h"

/*
 * smtp_command_dispatch - run one command line (CR LF stripped, no CR or
 * LF inside, not NUL-terminated).
 */
void smtp_command_dispatch(struct session *s, const char *line, size_t len);

struct smtp_command {
	const char *verb;
	void (*run)(struct session *s, const char *args, size_t len);
};

/*
 * smtp_command_lookup - the table entry for the verb that starts line
 * (case-insensitive, ended by a space or the end), with what follows it
 * (the leading space included) in *args_r; NULL for an unknown verb.
 */
const struct smtp_command *smtp_command_lookup(const char *line, size_t len,
					       const char **args_r, size_t *args_len_r);

/* smtp_bdat_args_parse - "n" or "n LAST" (RFC 3030); -1 on bad syntax */
int smtp_bdat_args_parse(const char *args, size_t len, uint64_t *size, bool *last);

#endif
