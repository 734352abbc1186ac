/*
 * qstore - the quarantine: held messages on disk, indexed in SQLite.
 *
 * Layout under the quarantine folder:
 *   messages/<id>.eml   the message as it would have been delivered (our
 *                       Received header and the bytes as received),
 *                       mode 0600, fsync'd with its folder before the
 *                       sender gets 250
 *   index.sqlite        one row per message (WAL mode), see qstore.c
 *   audit.log           one line per release and delete: when, who, what
 * The daemon writes; the sekisho CLI reads, releases, deletes and purges.
 * Every function returns 0, or -1 with a malloc'd *error_r.
 */
#ifndef SEKISHO_QSTORE_H
#define SEKISHO_QSTORE_H

#include <stdbool.h>
#include <stddef.h>

struct qstore;

enum qstatus { QSTATUS_HELD, QSTATUS_RELEASING, QSTATUS_RELEASED, QSTATUS_DELETED };

struct qentry {
	char *id;		/* the transaction id, also in logs and replies */
	long long time;		/* unix seconds when quarantined */
	char *client_ip;
	char *helo;
	char *from;		/* envelope sender, "" for <> */
	char **rcpts;		/* envelope recipients */
	size_t nrcpt;
	char *subject;		/* decoded, UTF-8, may be "" */
	long long size;		/* bytes of the stored file */
	double score;
	char *rules;		/* names of the rules hit, space separated */
	char *reason;		/* the quarantine rule's text */
	enum qstatus status;
	long long status_time;
	char *status_by;	/* who released or deleted it */
};

struct qfilter {
	long long since;	/* 0: any time */
	long long older_than;	/* 0: any time; else time < older_than */
	const char *rcpt;	/* substring of any recipient, case-insensitive */
	const char *from;	/* substring of the sender; "<>": the null sender */
	const char *rule;	/* a rule name in rules */
	const char *reason;	/* substring of reason */
	bool include_done;	/* also released and deleted entries */
	long limit;		/* 0: no limit */
};

int qstore_open(const char *dir, struct qstore **q_r, char **error_r);
void qstore_close(struct qstore *q);

/* qstore_put - store message bytes and index e (e->id, e->time set by caller) */
int qstore_put(struct qstore *q, const struct qentry *e, const char *msg, size_t len,
	       char **error_r);

/* qstore_list - matching entries, newest first; free with qentry_free_all */
int qstore_list(struct qstore *q, const struct qfilter *f, struct qentry **entries_r,
		size_t *count_r, char **error_r);
int qstore_get(struct qstore *q, const char *id, struct qentry *e_r, char **error_r);

/* qstore_read - the stored message bytes (malloc'd) */
int qstore_read(struct qstore *q, const char *id, char **data_r, size_t *len_r, char **error_r);

/*
 * qstore_begin_release - atomically move a held entry to "releasing"; a
 * second release of the same id (or of a released one) is refused.
 * Then either qstore_finish_release (released) or qstore_abort_release
 * (back to held, e.g. the next hop refused it).
 */
int qstore_begin_release(struct qstore *q, const char *id, const char *who, char **error_r);
int qstore_finish_release(struct qstore *q, const char *id, const char *who, const char *detail,
			  char **error_r);
int qstore_abort_release(struct qstore *q, const char *id, const char *who, const char *why,
			 char **error_r);

/* qstore_delete - remove the file and mark the entry deleted */
int qstore_delete(struct qstore *q, const char *id, const char *who, char **error_r);

/*
 * qstore_purge - remove the file and the row of an entry quarantined
 * before cutoff, whatever its status; one being released only if its
 * release began before cutoff too (a release left behind by a crash)
 */
int qstore_purge(struct qstore *q, const char *id, long long cutoff, const char *who,
		 char **error_r);

/* qstore_audit - append one line to audit.log */
int qstore_audit(struct qstore *q, const char *who, const char *action, const char *id,
		 const char *detail, char **error_r);

/*
 * qstore_sweep - remove message files older than cutoff that have no index
 * row (a crash between writing the file and indexing it); audited.
 */
int qstore_sweep(struct qstore *q, long long cutoff, const char *who, size_t *removed_r,
		 char **error_r);

void qentry_free(struct qentry *e);
void qentry_free_all(struct qentry *entries, size_t count);

#endif
