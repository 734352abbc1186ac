/*
 * qstore - the quarantine: held messages on disk, indexed in SQLite.
 *
 * A message file is written, fsync'd and linked into messages/ (and the
 * folder fsync'd) before its row is inserted, so a row never names a file
 * a crash could lose: a crash in between leaves an orphan file, never a
 * dangling row. Every state change is one conditional UPDATE or DELETE, so
 * two administrators releasing the same message cannot both succeed.
 *
 * One struct qstore is shared by the daemon's session threads. Every use
 * of the connection holds q->lock: prepared statements and
 * sqlite3_changes() belong to the connection, so SQLite's own mutex alone
 * would let one thread read another's change count. Other processes (the
 * CLI) are kept apart by SQLite's file locks and the busy timeout.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fileio.h"
#include "common/xalloc.h"
#include "quarantine/qstore.h"

#define QSTORE_SCHEMA_VERSION 1
#define QSTORE_ID_MAX	      64
#define QSTORE_READ_MAX	      (1LL << 30)
#define QSTORE_BUSY_MS	      5000

struct qstore {
	sqlite3 *db;
	char *dir;
	char *msgdir;
	char *audit_path;
	pthread_mutex_t lock;
};

static const char schema_sql[] = "CREATE TABLE IF NOT EXISTS messages ("
				 " id TEXT PRIMARY KEY,"
				 " time INTEGER NOT NULL,"
				 " client_ip TEXT,"
				 " helo TEXT,"
				 " mail_from TEXT,"
				 " rcpts TEXT,"
				 " subject TEXT,"
				 " size INTEGER,"
				 " score REAL,"
				 " rules TEXT,"
				 " reason TEXT,"
				 " status TEXT NOT NULL DEFAULT 'held',"
				 " status_time INTEGER,"
				 " status_by TEXT);"
				 "CREATE INDEX IF NOT EXISTS messages_time ON messages(time);"
				 "CREATE INDEX IF NOT EXISTS messages_status ON messages(status);"
				 "PRAGMA user_version = 1;";

#define ENTRY_COLUMNS                                                                              \
	"id, time, client_ip, helo, mail_from, rcpts, subject, size, score, rules, reason, "       \
	"status, status_time, status_by"

static const char *const status_names[] = {
	[QSTATUS_HELD] = "held",
	[QSTATUS_RELEASING] = "releasing",
	[QSTATUS_RELEASED] = "released",
	[QSTATUS_DELETED] = "deleted",
};

/* id_check - our transaction ids only: [A-Za-z0-9._-], no leading dot, <= 64 */
static int id_check(const char *id, char **error_r)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
	size_t n = id ? strspn(id, ok) : 0;
	struct buf b;

	if (id && id[0] != '\0' && id[0] != '.' && id[n] == '\0' && n <= QSTORE_ID_MAX)
		return 0;
	if (id == NULL || id[0] == '\0') {
		*error_r = xstrdup("empty message id");
		return -1;
	}
	buf_init(&b);
	buf_append_str(&b, "invalid message id \"");
	for (size_t i = 0; id[i] && i < QSTORE_ID_MAX + 16; i++)
		buf_append_char(&b, strchr(ok, id[i]) || id[i] == '/' ? id[i] : '?');
	buf_printf(&b, "%s\": expected up to %d of A-Z a-z 0-9 . _ -, not starting with a dot",
		   strlen(id) > QSTORE_ID_MAX + 16 ? "..." : "", QSTORE_ID_MAX);
	*error_r = buf_steal(&b);
	return -1;
}

/* db_fail - *error_r from the connection's last error; -1 for return */
static int db_fail(struct qstore *q, const char *what, char **error_r)
{
	*error_r = xasprintf("quarantine index %s/index.sqlite: %s: %s", q->dir, what,
			     sqlite3_errmsg(q->db));
	return -1;
}

static int db_prepare(struct qstore *q, const char *sql, sqlite3_stmt **st_r, char **error_r)
{
	if (sqlite3_prepare_v2(q->db, sql, -1, st_r, NULL) != SQLITE_OK)
		return db_fail(q, "prepare", error_r);
	return 0;
}

static int db_exec(struct qstore *q, const char *sql, char **error_r)
{
	if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(q, strlen(sql) > 40 ? "creating the schema" : sql, error_r);
	return 0;
}

/* db_int - the first column of a one-row query, e.g. a PRAGMA */
static int db_int(struct qstore *q, const char *sql, long long *v_r, char **error_r)
{
	sqlite3_stmt *st;
	int rc;

	if (db_prepare(q, sql, &st, error_r) != 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v_r = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return db_fail(q, sql, error_r);
	return 0;
}

/* db_schema - create the table on first use; refuse a newer schema */
static int db_schema(struct qstore *q, char **error_r)
{
	long long version;

	if (db_exec(q, "BEGIN IMMEDIATE", error_r) != 0)
		return -1;
	if (db_int(q, "PRAGMA user_version", &version, error_r) != 0)
		goto fail;
	if (version > QSTORE_SCHEMA_VERSION) {
		*error_r = xasprintf("quarantine index %s/index.sqlite has schema version %lld; "
				     "this sekisho knows up to %d",
				     q->dir, version, QSTORE_SCHEMA_VERSION);
		goto fail;
	}
	if (version < QSTORE_SCHEMA_VERSION && db_exec(q, schema_sql, error_r) != 0)
		goto fail;
	if (db_exec(q, "COMMIT", error_r) != 0)
		goto fail;
	return 0;
fail:
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* db_setup - durability before we answer 250: WAL and a full fsync per commit */
static int db_setup(struct qstore *q, char **error_r)
{
	sqlite3_stmt *st;
	int rc;

	sqlite3_busy_timeout(q->db, QSTORE_BUSY_MS);
	if (db_prepare(q, "PRAGMA journal_mode=WAL", &st, error_r) != 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
		rc = SQLITE_ERROR;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		*error_r = xasprintf("quarantine index %s/index.sqlite: cannot enable WAL mode",
				     q->dir);
		return -1;
	}
	if (db_exec(q, "PRAGMA synchronous=FULL", error_r) != 0)
		return -1;
	return db_schema(q, error_r);
}

/* ensure_dir - mkdir 0700 that accepts an existing folder */
static int ensure_dir(const char *path, char **error_r)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	*error_r = xasprintf("cannot create quarantine folder %s: %s", path,
			     errno == EEXIST ? "not a folder" : strerror(errno));
	return -1;
}

/*
 * open_index - create index.sqlite 0600 ourselves, so SQLite (which gives
 * its -wal and -shm files the database file's mode) never makes them
 * readable to others whatever the umask.
 */
static int open_index(struct qstore *q, char **error_r)
{
	char *path = xasprintf("%s/index.sqlite", q->dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc;

	if (fd < 0) {
		*error_r = xasprintf("cannot open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	close(fd);
	rc = sqlite3_open_v2(path, &q->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		*error_r = xasprintf("cannot open %s: %s", path,
				     q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
		free(path);
		return -1;
	}
	free(path);
	return db_setup(q, error_r);
}

int qstore_open(const char *dir, struct qstore **q_r, char **error_r)
{
	struct qstore *q = xcalloc(1, sizeof(*q));

	q->dir = xstrdup(dir);
	q->msgdir = xasprintf("%s/messages", dir);
	q->audit_path = xasprintf("%s/audit.log", dir);
	pthread_mutex_init(&q->lock, NULL);
	if (ensure_dir(q->dir, error_r) != 0 || ensure_dir(q->msgdir, error_r) != 0 ||
	    open_index(q, error_r) != 0) {
		qstore_close(q);
		return -1;
	}
	*q_r = q;
	return 0;
}

void qstore_close(struct qstore *q)
{
	if (q == NULL)
		return;
	sqlite3_close_v2(q->db);
	pthread_mutex_destroy(&q->lock);
	free(q->dir);
	free(q->msgdir);
	free(q->audit_path);
	free(q);
}

/* write_tmp - the message into a new file, on disk before we return */
static int write_tmp(const char *path, const char *msg, size_t len, char **error_r)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		*error_r = xasprintf("cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	if (fileio_write_all(fd, msg, len) != 0 || fsync(fd) != 0) {
		*error_r = xasprintf("cannot write %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) != 0) {
		*error_r = xasprintf("cannot write %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

/*
 * store_file - messages/<id>.eml, durable. link() rather than rename():
 * it refuses to replace an existing file, so a duplicate id can never
 * overwrite a message already held.
 */
static int store_file(struct qstore *q, const char *id, const char *msg, size_t len,
		      char **error_r)
{
	char *tmp = xasprintf("%s/%s.eml.tmp", q->msgdir, id);
	char *path = xasprintf("%s/%s.eml", q->msgdir, id);
	int rc = -1;

	if (write_tmp(tmp, msg, len, error_r) != 0)
		goto out;
	if (link(tmp, path) != 0) {
		*error_r = errno == EEXIST ? xasprintf("message %s is already in the quarantine", id)
					   : xasprintf("cannot create %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	unlink(tmp);
	if (fileio_fsync_dir(q->msgdir) != 0) {
		*error_r = xasprintf("cannot sync %s: %s", q->msgdir, strerror(errno));
		unlink(path);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	free(path);
	return rc;
}

/* join_rcpts - newline-joined; refuses a recipient that holds a newline */
static char *join_rcpts(const struct qentry *e)
{
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < e->nrcpt; i++) {
		if (strchr(e->rcpts[i], '\n')) {
			buf_free(&b);
			return NULL;
		}
		buf_printf(&b, "%s%s", i ? "\n" : "", e->rcpts[i]);
	}
	return buf_steal(&b);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_TRANSIENT);
}

/* insert_row - the index entry for a message already on disk */
static int insert_row(struct qstore *q, const struct qentry *e, const char *rcpts, size_t len,
		      char **error_r)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&q->lock);
	rc = db_prepare(q,
			"INSERT INTO messages (" ENTRY_COLUMNS ") VALUES "
			"(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'held', NULL, NULL)",
			&st, error_r);
	if (rc == 0) {
		bind_text(st, 1, e->id);
		sqlite3_bind_int64(st, 2, e->time);
		bind_text(st, 3, e->client_ip);
		bind_text(st, 4, e->helo);
		bind_text(st, 5, e->from);
		bind_text(st, 6, rcpts);
		bind_text(st, 7, e->subject);
		sqlite3_bind_int64(st, 8, (sqlite3_int64)len);
		sqlite3_bind_double(st, 9, e->score);
		bind_text(st, 10, e->rules);
		bind_text(st, 11, e->reason);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(q, "insert", error_r);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

int qstore_put(struct qstore *q, const struct qentry *e, const char *msg, size_t len,
	       char **error_r)
{
	char *rcpts, *path;

	if (id_check(e->id, error_r) != 0)
		return -1;
	rcpts = join_rcpts(e);
	if (rcpts == NULL) {
		*error_r = xasprintf("message %s: a recipient holds a newline", e->id);
		return -1;
	}
	if (store_file(q, e->id, msg, len, error_r) != 0) {
		free(rcpts);
		return -1;
	}
	if (insert_row(q, e, rcpts, len, error_r) != 0) {
		path = xasprintf("%s/%s.eml", q->msgdir, e->id);
		unlink(path);
		fileio_fsync_dir(q->msgdir);
		free(path);
		free(rcpts);
		return -1;
	}
	free(rcpts);
	return 0;
}

static enum qstatus status_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (s && strcmp(s, status_names[i]) == 0)
			return (enum qstatus)i;
	return QSTATUS_HELD;
}

static char *column_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return xstrdup(s ? (const char *)s : "");
}

/* split_rcpts - the newline-joined column back into an array */
static void split_rcpts(struct qentry *e, const char *s)
{
	const char *p = s, *nl;

	e->nrcpt = 0;
	e->rcpts = NULL;
	if (*s == '\0')
		return;
	e->nrcpt = 1;
	for (const char *c = s; *c; c++)
		e->nrcpt += *c == '\n';
	e->rcpts = xcalloc(e->nrcpt, sizeof(*e->rcpts));
	for (size_t i = 0; i < e->nrcpt; i++) {
		nl = strchr(p, '\n');
		e->rcpts[i] = nl ? xstrndup(p, (size_t)(nl - p)) : xstrdup(p);
		p = nl ? nl + 1 : p;
	}
}

/* row_entry - one row, in ENTRY_COLUMNS order, into e */
static void row_entry(sqlite3_stmt *st, struct qentry *e)
{
	const unsigned char *rcpts = sqlite3_column_text(st, 5);

	memset(e, 0, sizeof(*e));
	e->id = column_dup(st, 0);
	e->time = sqlite3_column_int64(st, 1);
	e->client_ip = column_dup(st, 2);
	e->helo = column_dup(st, 3);
	e->from = column_dup(st, 4);
	split_rcpts(e, rcpts ? (const char *)rcpts : "");
	e->subject = column_dup(st, 6);
	e->size = sqlite3_column_int64(st, 7);
	e->score = sqlite3_column_double(st, 8);
	e->rules = column_dup(st, 9);
	e->reason = column_dup(st, 10);
	e->status = status_parse((const char *)sqlite3_column_text(st, 11));
	e->status_time = sqlite3_column_int64(st, 12);
	e->status_by = column_dup(st, 13);
}

/*
 * list_sql - the query for f. Parameters are numbered by purpose, so
 * list_bind can bind them all; unused ones are simply never referenced.
 * lower() folds ASCII only, which is what addresses and rule names need.
 */
static char *list_sql(const struct qfilter *f)
{
	struct buf b;

	buf_init(&b);
	buf_append_str(&b, "SELECT " ENTRY_COLUMNS " FROM messages WHERE 1");
	if (f->since)
		buf_append_str(&b, " AND time >= ?1");
	if (f->older_than)
		buf_append_str(&b, " AND time < ?2");
	if (f->rcpt)
		buf_append_str(&b, " AND instr(lower(rcpts), lower(?3)) > 0");
	if (f->from && strcmp(f->from, "<>") == 0)
		buf_append_str(&b, " AND mail_from = ''");	/* the null sender */
	else if (f->from)
		buf_append_str(&b, " AND instr(lower(mail_from), lower(?4)) > 0");
	if (f->rule)
		buf_append_str(&b, " AND instr(' ' || lower(rules) || ' ',"
				   " ' ' || lower(?5) || ' ') > 0");
	if (f->reason)
		buf_append_str(&b, " AND instr(lower(reason), lower(?6)) > 0");
	if (!f->include_done)
		buf_append_str(&b, " AND status IN ('held', 'releasing')");
	buf_append_str(&b, " ORDER BY time DESC, rowid DESC");
	if (f->limit > 0)
		buf_append_str(&b, " LIMIT ?7");
	return buf_steal(&b);
}

static void list_bind(sqlite3_stmt *st, const struct qfilter *f)
{
	sqlite3_bind_int64(st, 1, f->since);
	sqlite3_bind_int64(st, 2, f->older_than);
	bind_text(st, 3, f->rcpt);
	bind_text(st, 4, f->from);
	bind_text(st, 5, f->rule);
	bind_text(st, 6, f->reason);
	sqlite3_bind_int64(st, 7, f->limit);
}

/* list_rows - step st into a growing array */
static int list_rows(struct qstore *q, sqlite3_stmt *st, struct qentry **entries_r,
		     size_t *count_r, char **error_r)
{
	struct qentry *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		row_entry(st, &v[n++]);
	}
	if (rc != SQLITE_DONE) {
		qentry_free_all(v, n);
		return db_fail(q, "list", error_r);
	}
	*entries_r = v;
	*count_r = n;
	return 0;
}

int qstore_list(struct qstore *q, const struct qfilter *f, struct qentry **entries_r,
		size_t *count_r, char **error_r)
{
	char *sql = list_sql(f);
	sqlite3_stmt *st;
	int rc;

	*entries_r = NULL;
	*count_r = 0;
	pthread_mutex_lock(&q->lock);
	rc = db_prepare(q, sql, &st, error_r);
	if (rc == 0) {
		list_bind(st, f);
		rc = list_rows(q, st, entries_r, count_r, error_r);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&q->lock);
	free(sql);
	return rc;
}

/* get_locked - qstore_get with q->lock held; 1 if there is no such id */
static int get_locked(struct qstore *q, const char *id, struct qentry *e_r, char **error_r)
{
	sqlite3_stmt *st;
	int rc;

	if (db_prepare(q, "SELECT " ENTRY_COLUMNS " FROM messages WHERE id = ?1", &st,
		       error_r) != 0)
		return -1;
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row_entry(st, e_r);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return db_fail(q, "get", error_r);
}

int qstore_get(struct qstore *q, const char *id, struct qentry *e_r, char **error_r)
{
	int rc;

	if (id_check(id, error_r) != 0)
		return -1;
	pthread_mutex_lock(&q->lock);
	rc = get_locked(q, id, e_r, error_r);
	pthread_mutex_unlock(&q->lock);
	if (rc == 1)
		*error_r = xasprintf("no message %s in the quarantine", id);
	return rc == 0 ? 0 : -1;
}

/* read_fd - the whole file, refusing more than QSTORE_READ_MAX */
static int read_fd(int fd, const char *path, char **data_r, size_t *len_r, char **error_r)
{
	struct stat st;
	size_t len = 0, cap;
	char *data;
	ssize_t n;

	if (fstat(fd, &st) != 0) {
		*error_r = xasprintf("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > QSTORE_READ_MAX) {
		*error_r = xasprintf("cannot read %s: %s", path,
				     S_ISREG(st.st_mode) ? "larger than 1 GiB" : "not a regular file");
		return -1;
	}
	cap = (size_t)st.st_size + 1;
	data = xmalloc(cap);
	while ((n = read(fd, data + len, cap - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = xasprintf("cannot read %s: %s", path, strerror(errno));
			free(data);
			return -1;
		}
		len += (size_t)n;
		if (len == cap - 1)
			break;	/* a file that grew is read as it was */
	}
	data[len] = '\0';
	*data_r = data;
	*len_r = len;
	return 0;
}

int qstore_read(struct qstore *q, const char *id, char **data_r, size_t *len_r, char **error_r)
{
	char *path;
	int fd, rc;

	if (id_check(id, error_r) != 0)
		return -1;
	path = xasprintf("%s/%s.eml", q->msgdir, id);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		*error_r = errno == ENOENT
				   ? xasprintf("message %s is not on disk (deleted or purged)", id)
				   : xasprintf("cannot open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	rc = read_fd(fd, path, data_r, len_r, error_r);
	close(fd);
	free(path);
	return rc;
}

static const char *fmt_time(long long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "@%lld", t);
	return out;
}

/*
 * refusal - why a conditional change matched no row, from the row's
 * current state (q->lock held). held_why is the reason when it is held.
 */
static char *refusal(struct qstore *q, const char *verb, const char *id, const char *held_why)
{
	struct qentry e;
	char *error = NULL, when[32];
	int rc = get_locked(q, id, &e, &error);

	if (rc < 0)
		return error;
	if (rc == 1)
		return xasprintf("no message %s in the quarantine", id);
	fmt_time(e.status_time, when);
	switch (e.status) {
	case QSTATUS_RELEASED:
		error = xasprintf("cannot %s %s: it was already released (%s by %s)", verb, id,
				  when, e.status_by);
		break;
	case QSTATUS_RELEASING:
		error = xasprintf("cannot %s %s: it is being released (since %s by %s)", verb, id,
				  when, e.status_by);
		break;
	case QSTATUS_DELETED:
		error = xasprintf("cannot %s %s: it was deleted (%s by %s)", verb, id, when,
				  e.status_by);
		break;
	default:
		error = xasprintf("cannot %s %s: %s", verb, id, held_why);
	}
	qentry_free(&e);
	return error;
}

/*
 * change_status - UPDATE id to status `to` if its status is one of
 * `from` (an SQL list). On no match, *error_r explains, using held_why.
 */
static int change_status(struct qstore *q, const char *id, const char *who, const char *from,
			 enum qstatus to, const char *verb, const char *held_why, char **error_r)
{
	char *sql = xasprintf("UPDATE messages SET status = ?1, status_time = ?2, status_by = ?3"
			      " WHERE id = ?4 AND status IN (%s)",
			      from);
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&q->lock);
	rc = db_prepare(q, sql, &st, error_r);
	if (rc == 0) {
		sqlite3_bind_text(st, 1, status_names[to], -1, SQLITE_STATIC);
		if (to == QSTATUS_HELD) {
			sqlite3_bind_null(st, 2);
			sqlite3_bind_null(st, 3);
		} else {
			sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
			bind_text(st, 3, who);
		}
		bind_text(st, 4, id);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(q, "update", error_r);
		else if (sqlite3_changes(q->db) == 0) {
			*error_r = refusal(q, verb, id, held_why);
			rc = -1;
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&q->lock);
	free(sql);
	return rc;
}

/* audited - the audit line after a change that happened; its failure is still reported */
static int audited(struct qstore *q, const char *who, const char *action, const char *id,
		   const char *detail, char **error_r)
{
	char *error = NULL;

	if (qstore_audit(q, who, action, id, detail, &error) == 0)
		return 0;
	*error_r = xasprintf("%s %s done, but the audit line was not written: %s", action, id,
			     error);
	free(error);
	return -1;
}

int qstore_begin_release(struct qstore *q, const char *id, const char *who, char **error_r)
{
	if (id_check(id, error_r) != 0)
		return -1;
	return change_status(q, id, who, "'held'", QSTATUS_RELEASING, "release", "", error_r);
}

int qstore_finish_release(struct qstore *q, const char *id, const char *who, const char *detail,
			  char **error_r)
{
	if (id_check(id, error_r) != 0)
		return -1;
	if (change_status(q, id, who, "'releasing'", QSTATUS_RELEASED, "finish releasing",
			  "it is not being released", error_r) != 0)
		return -1;
	return audited(q, who, "release", id, detail, error_r);
}

int qstore_abort_release(struct qstore *q, const char *id, const char *who, const char *why,
			 char **error_r)
{
	if (id_check(id, error_r) != 0)
		return -1;
	if (change_status(q, id, who, "'releasing'", QSTATUS_HELD, "abort releasing",
			  "it is not being released", error_r) != 0)
		return -1;
	return audited(q, who, "release-failed", id, why, error_r);
}

/* unlink_message - remove messages/<id>.eml; a missing file is fine */
static int unlink_message(struct qstore *q, const char *id, char **error_r)
{
	char *path = xasprintf("%s/%s.eml", q->msgdir, id);

	if (unlink(path) != 0 && errno != ENOENT) {
		*error_r = xasprintf("cannot remove %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	fileio_fsync_dir(q->msgdir);
	return 0;
}

/*
 * qstore_delete - mark first, then unlink: the conditional UPDATE is what
 * keeps a delete from pulling the file out from under a release.
 */
int qstore_delete(struct qstore *q, const char *id, const char *who, char **error_r)
{
	if (id_check(id, error_r) != 0)
		return -1;
	if (change_status(q, id, who, "'held', 'released'", QSTATUS_DELETED, "delete", "",
			  error_r) != 0)
		return -1;
	if (unlink_message(q, id, error_r) != 0)
		return -1;
	return audited(q, who, "delete", id, "", error_r);
}

/* purge_row - DELETE the row if it qualifies (q->lock held) */
static int purge_row(struct qstore *q, const char *id, long long cutoff, char **error_r)
{
	sqlite3_stmt *st;
	int rc;

	if (db_prepare(q,
		       "DELETE FROM messages WHERE id = ?1 AND time < ?2 AND"
		       " (status != 'releasing' OR status_time < ?2)",
		       &st, error_r) != 0)
		return -1;
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, cutoff);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(q, "purge", error_r);
	if (rc == 0 && sqlite3_changes(q->db) == 0) {
		*error_r = refusal(q, "purge", id, "it is newer than the cutoff");
		rc = -1;
	}
	sqlite3_finalize(st);
	return rc;
}

int qstore_purge(struct qstore *q, const char *id, long long cutoff, const char *who,
		 char **error_r)
{
	char detail[64], when[32];
	int rc;

	if (id_check(id, error_r) != 0)
		return -1;
	pthread_mutex_lock(&q->lock);
	rc = purge_row(q, id, cutoff, error_r);
	pthread_mutex_unlock(&q->lock);
	if (rc != 0 || unlink_message(q, id, error_r) != 0)
		return -1;
	snprintf(detail, sizeof(detail), "older than %s", fmt_time(cutoff, when));
	return audited(q, who, "purge", id, detail, error_r);
}

/* audit_value - key="value" with ", \ and control characters escaped */
static void audit_value(struct buf *b, const char *key, const char *v)
{
	buf_printf(b, " %s=\"", key);
	for (const unsigned char *p = (const unsigned char *)(v ? v : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			buf_printf(b, "\\x%02x", *p);
		else
			buf_append_char(b, (char)*p);
	}
	buf_append_char(b, '"');
}

/* qstore_audit - one write(2) per line, so lines from several processes never mix */
int qstore_audit(struct qstore *q, const char *who, const char *action, const char *id,
		 const char *detail, char **error_r)
{
	char when[32];
	struct buf b;
	int fd, rc;

	buf_init(&b);
	buf_append_str(&b, fmt_time((long long)time(NULL), when));
	audit_value(&b, "who", who);
	audit_value(&b, "action", action);
	audit_value(&b, "id", id);
	audit_value(&b, "detail", detail);
	buf_append_char(&b, '\n');
	fd = open(q->audit_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	rc = fd < 0 ? -1 : fileio_write_all(fd, b.data, b.len);
	if (rc != 0)
		*error_r = xasprintf("cannot write %s: %s", q->audit_path, strerror(errno));
	if (fd >= 0 && close(fd) != 0 && rc == 0) {
		*error_r = xasprintf("cannot write %s: %s", q->audit_path, strerror(errno));
		rc = -1;
	}
	buf_free(&b);
	return rc;
}

/* orphan_id - the id a file in messages/ is named for, or NULL */
static char *orphan_id(const char *name)
{
	static const char *const suffixes[] = {".eml.tmp", ".eml"};
	size_t n = strlen(name);
	char *error = NULL;

	for (size_t i = 0; i < 2; i++) {
		size_t sl = strlen(suffixes[i]);
		if (n <= sl || strcmp(name + n - sl, suffixes[i]) != 0)
			continue;
		char *id = xstrndup(name, n - sl);
		if (id_check(id, &error) == 0)
			return id;
		free(error);
		free(id);
		return NULL;
	}
	return NULL;
}

int qstore_sweep(struct qstore *q, long long cutoff, const char *who, size_t *removed_r,
		 char **error_r)
{
	DIR *d = opendir(q->msgdir);
	struct dirent *de;
	char *error = NULL;

	*removed_r = 0;
	if (d == NULL) {
		*error_r = xasprintf("cannot read %s: %s", q->msgdir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char *id = orphan_id(de->d_name), *path;
		struct qentry e;
		struct stat st;
		int found;

		if (id == NULL)
			continue;
		path = xasprintf("%s/%s", q->msgdir, de->d_name);
		pthread_mutex_lock(&q->lock);
		found = get_locked(q, id, &e, &error);
		pthread_mutex_unlock(&q->lock);
		if (found == 0)
			qentry_free(&e);
		else if (found == 1 && lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
			 (long long)st.st_mtime < cutoff && unlink(path) == 0) {
			(*removed_r)++;
			qstore_audit(q, who, "sweep", id, "file without an index row removed", &error);
		}
		free(error);
		error = NULL;
		free(path);
		free(id);
	}
	closedir(d);
	if (*removed_r)
		fileio_fsync_dir(q->msgdir);
	return 0;
}

void qentry_free(struct qentry *e)
{
	if (e == NULL)
		return;
	free(e->id);
	free(e->client_ip);
	free(e->helo);
	free(e->from);
	for (size_t i = 0; i < e->nrcpt; i++)
		free(e->rcpts[i]);
	free(e->rcpts);
	free(e->subject);
	free(e->rules);
	free(e->reason);
	free(e->status_by);
	memset(e, 0, sizeof(*e));
}

void qentry_free_all(struct qentry *entries, size_t count)
{
	for (size_t i = 0; i < count; i++)
		qentry_free(&entries[i]);
	free(entries);
}
