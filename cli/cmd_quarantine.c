/*
 * cmd_quarantine - `sekisho quarantine ...`, releasing through the next hop.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/xalloc.h"
#include "gateway/daemon.h"
#include "gateway/inject.h"
#include "gateway/snapshot.h"
#include "quarantine/qstore_cli.h"

/* release - deliver straight to the next hop: the rules do not see it again */
static int release(void *ctx, const struct qentry *e, const char *to, const char *msg,
		   size_t len, char **detail_r)
{
	const struct snapshot *snap = ctx;
	const char *one[1] = {to};

	if (to)
		return inject_message(snap, e->from, one, 1, msg, len, detail_r);
	return inject_message(snap, e->from, (const char *const *)e->rcpts, e->nrcpt, msg, len,
			      detail_r);
}

static int become_user(const char *name)
{
	uid_t uid;
	gid_t gid;
	char *error = NULL;

	if (daemon_lookup_user(name, &uid, &gid) != 0) {
		fprintf(stderr, "sekisho: user %s: no such user\n", name);
		return -1;
	}
	if (daemon_drop_privileges(name, uid, gid, &error) != 0) {
		fprintf(stderr, "sekisho: %s\n", error);
		free(error);
		return -1;
	}
	return 0;
}

int cmd_quarantine(const struct cli *cli, int argc, char **argv)
{
	struct snapshot *snap;
	char *errors = NULL;
	int rc;

	if (snapshot_build(cli->config_path, &snap, &errors) != 0) {
		fprintf(stderr, "%s", errors);
		free(errors);
		return 1;
	}
	if (snap->conf->quarantine_dir[0] == '\0') {
		fprintf(stderr, "sekisho: quarantine_dir is not set in %s\n", cli->config_path);
		snapshot_release(snap);
		return 1;
	}
	/* As root, work as the daemon's user: files it makes (released mail in
	 * the Maildir store, the audit log) must be the daemon's, not root's. */
	quarantine_set_operator();
	quarantine_set_retention(snap->conf->quarantine_retention);
	if (geteuid() == 0 && snap->conf->user[0] && become_user(snap->conf->user) != 0) {
		snapshot_release(snap);
		return 1;
	}
	rc = quarantine_main(argc, argv, snap->conf->quarantine_dir, release, snap);
	snapshot_release(snap);
	return rc;
}
