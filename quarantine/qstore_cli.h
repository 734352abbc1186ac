/*
 * qstore_cli - the `sekisho quarantine ...` subcommands.
 *
 * list, show, release, delete, purge and stats over the quarantine store
 * (qstore.h). The caller supplies the way out: release_fn delivers one
 * message (to the original recipients, or to `to` when that is not NULL)
 * and returns 0 with the next hop's reply in *detail_r, or -1 with the
 * reason; *detail_r is malloc'd in both cases and freed here.
 * Exit codes: 0 done, 1 failure (any message that could not be handled),
 * 2 usage.
 */
#ifndef SEKISHO_QSTORE_CLI_H
#define SEKISHO_QSTORE_CLI_H

#include <stddef.h>

#include "quarantine/qstore.h"

/* quarantine_main - argv[0] is "quarantine", argv[1] the subcommand */
int quarantine_main(int argc, char **argv, const char *quarantine_dir,
		    int (*release_fn)(void *ctx, const struct qentry *e, const char *to,
				      const char *msg, size_t len, char **detail_r),
		    void *release_ctx);

/*
 * quarantine_set_operator - remember who runs the command now, for the
 * audit log, before the caller changes to the daemon's user.
 */
void quarantine_set_operator(void);

/* quarantine_set_retention - what purge removes without --older-than */
void quarantine_set_retention(long seconds);

#endif
