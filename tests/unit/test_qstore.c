/*
 * test_qstore - the quarantine store: round trip, filters, the release
 * state machine, id checks, the audit log, concurrent puts and purge.
 */
#include "config.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "common/xalloc.h"
#include "quarantine/qstore.h"
#include "tests/unit/check.h"

static const char msg[] = "Received: from mx.example.test\r\n"
			  "Subject: Hello\r\n"
			  "\r\n"
			  "body\r\n";

static char *make_dir(void)
{
	char tmpl[] = "/tmp/test_qstore.XXXXXX";
	char *dir = mkdtemp(tmpl);

	if (dir == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	return xasprintf("%s/q", dir);	/* qstore_open creates it */
}

static void remove_tree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%.*s'", (int)(strrchr(dir, '/') - dir), dir);

	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
}

static struct qstore *open_store(const char *dir)
{
	struct qstore *q = NULL;
	char *error = NULL;

	if (qstore_open(dir, &q, &error) != 0) {
		fprintf(stderr, "qstore_open: %s\n", error);
		exit(1);
	}
	return q;
}

/* put - one entry; returns qstore_put's result */
static int put(struct qstore *q, const char *id, long long t, const char *from, const char *rcpt,
	       const char *rules, const char *reason)
{
	char *rcpts[2] = {(char *)rcpt, (char *)"second@example.test"};
	struct qentry e = {
		.id = (char *)id,
		.time = t,
		.client_ip = (char *)"192.0.2.7",
		.helo = (char *)"mx.example.test",
		.from = (char *)from,
		.rcpts = rcpts,
		.nrcpt = 2,
		.subject = (char *)"Hello \xe5\xb1\xb1",
		.score = 7.5,
		.rules = (char *)rules,
		.reason = (char *)reason,
	};
	char *error = NULL;
	int rc = qstore_put(q, &e, msg, sizeof(msg) - 1, &error);

	free(error);
	return rc;
}

static size_t count(struct qstore *q, const struct qfilter *f)
{
	struct qentry *v;
	char *error = NULL;
	size_t n;

	if (qstore_list(q, f, &v, &n, &error) != 0) {
		fprintf(stderr, "qstore_list: %s\n", error);
		free(error);
		return (size_t)-1;
	}
	qentry_free_all(v, n);
	return n;
}

static mode_t mode_of(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct stat st;
	mode_t m = stat(path, &st) == 0 ? st.st_mode & 07777 : 0;

	free(path);
	return m;
}

static void test_round_trip(void)
{
	char *dir = make_dir(), *error = NULL, *data = NULL;
	struct qstore *q = open_store(dir);
	struct qfilter all = {0};
	struct qentry e, *v;
	size_t len = 0, n = 0;

	CHECK_INT(put(q, "9f21b7e2939e.1", 1700000000, "a@example.org", "x@example.test",
		      "spf_fail bad_helo", "suspicious"),
		  0);
	CHECK_INT(mode_of(dir, ""), 0700);
	CHECK_INT(mode_of(dir, "messages"), 0700);
	CHECK_INT(mode_of(dir, "messages/9f21b7e2939e.1.eml"), 0600);
	CHECK_INT(mode_of(dir, "index.sqlite"), 0600);
	CHECK_INT(mode_of(dir, "messages/9f21b7e2939e.1.eml.tmp"), 0);
	CHECK_INT(qstore_list(q, &all, &v, &n, &error), 0);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_STR(v[0].id, "9f21b7e2939e.1");
		CHECK_INT(v[0].status, QSTATUS_HELD);
	}
	qentry_free_all(v, n);
	CHECK_INT(qstore_get(q, "9f21b7e2939e.1", &e, &error), 0);
	CHECK_INT(e.time, 1700000000);
	CHECK_STR(e.client_ip, "192.0.2.7");
	CHECK_STR(e.helo, "mx.example.test");
	CHECK_STR(e.from, "a@example.org");
	CHECK_INT(e.nrcpt, 2);
	if (e.nrcpt == 2) {
		CHECK_STR(e.rcpts[0], "x@example.test");
		CHECK_STR(e.rcpts[1], "second@example.test");
	}
	CHECK_STR(e.subject, "Hello \xe5\xb1\xb1");
	CHECK_INT(e.size, sizeof(msg) - 1);
	CHECK(e.score == 7.5);
	CHECK_STR(e.rules, "spf_fail bad_helo");
	CHECK_STR(e.reason, "suspicious");
	qentry_free(&e);
	CHECK_INT(qstore_read(q, "9f21b7e2939e.1", &data, &len, &error), 0);
	CHECK_INT(len, sizeof(msg) - 1);
	CHECK(data && memcmp(data, msg, len) == 0);
	free(data);
	/* a duplicate id never replaces the message already held */
	CHECK_INT(put(q, "9f21b7e2939e.1", 1, "other@x", "y@x", "", ""), -1);
	CHECK_INT(count(q, &all), 1);
	CHECK_INT(qstore_get(q, "nosuch.1", &e, &error), -1);
	CHECK(error && strstr(error, "no message nosuch.1"));
	free(error);
	qstore_close(q);
	/* reopening finds the schema in place */
	q = open_store(dir);
	CHECK_INT(count(q, &all), 1);
	qstore_close(q);
	remove_tree(dir);
	free(dir);
}

static void test_filters(void)
{
	char *dir = make_dir(), *error = NULL;
	struct qstore *q = open_store(dir);
	struct qentry *v = NULL;
	size_t n = 0;

	put(q, "a.1", 1000, "Alice@Example.ORG", "bob@corp.test", "spf_fail", "phishy link");
	put(q, "b.1", 2000, "carol@spam.test", "Dave@Corp.test", "spf_fail_soft dnsbl",
	    "listed");
	put(q, "c.1", 3000, "", "erin@other.test", "dnsbl big_score", "Score too high");
	CHECK_INT(qstore_list(q, &(struct qfilter){0}, &v, &n, &error), 0);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_STR(v[0].id, "c.1");	/* newest first */
		CHECK_STR(v[2].id, "a.1");
		CHECK_STR(v[0].from, "");
	}
	qentry_free_all(v, n);
	CHECK_INT(count(q, &(struct qfilter){.since = 2000}), 2);
	CHECK_INT(count(q, &(struct qfilter){.older_than = 2000}), 1);
	CHECK_INT(count(q, &(struct qfilter){.rcpt = "CORP.TEST"}), 2);
	CHECK_INT(count(q, &(struct qfilter){.rcpt = "second@"}), 3);
	CHECK_INT(count(q, &(struct qfilter){.from = "example.org"}), 1);
	CHECK_INT(count(q, &(struct qfilter){.from = "alice@"}), 1);
	CHECK_INT(count(q, &(struct qfilter){.rule = "spf_fail"}), 1);	/* not spf_fail_soft */
	CHECK_INT(count(q, &(struct qfilter){.rule = "dnsbl"}), 2);
	CHECK_INT(count(q, &(struct qfilter){.rule = "DNSBL"}), 2);
	CHECK_INT(count(q, &(struct qfilter){.rule = "big"}), 0);
	CHECK_INT(count(q, &(struct qfilter){.reason = "score"}), 1);
	CHECK_INT(count(q, &(struct qfilter){.reason = "%"}), 0);	/* no LIKE wildcards */
	CHECK_INT(count(q, &(struct qfilter){.limit = 2}), 2);
	CHECK_INT(count(q, &(struct qfilter){.rule = "dnsbl", .since = 2500}), 1);
	CHECK_INT(qstore_delete(q, "b.1", "tester", &error), 0);
	CHECK_INT(count(q, &(struct qfilter){0}), 2);
	CHECK_INT(count(q, &(struct qfilter){.include_done = true}), 3);
	qstore_close(q);
	remove_tree(dir);
	free(dir);
}

/* refused - the operation failed with an error containing want */
static bool refused(int rc, char *error, const char *want)
{
	bool ok = rc == -1 && error && strstr(error, want);

	if (!ok)
		fprintf(stderr, "want an error with \"%s\", got rc %d \"%s\"\n", want, rc,
			error ? error : "(none)");
	free(error);
	return ok;
}

/* REFUSED - call (which sets the local error) fails with an error containing want */
#define REFUSED(call, want)                                                                        \
	do {                                                                                       \
		int rc_ = (call);                                                                  \
		CHECK(refused(rc_, error, want));                                                  \
		error = NULL;                                                                      \
	} while (0)

static void test_release(void)
{
	char *dir = make_dir(), *error = NULL, *data;
	struct qstore *q = open_store(dir);
	struct qentry e;
	size_t len;

	put(q, "r.1", 1000, "a@x", "b@x", "", "");
	put(q, "r.2", 1000, "a@x", "b@x", "", "");
	CHECK_INT(qstore_begin_release(q, "r.1", "alice", &error), 0);
	REFUSED(qstore_begin_release(q, "r.1", "bob", &error), "is being released");
	CHECK_INT(qstore_abort_release(q, "r.1", "alice", "451 try later", &error), 0);
	CHECK_INT(qstore_get(q, "r.1", &e, &error), 0);
	CHECK_INT(e.status, QSTATUS_HELD);
	qentry_free(&e);
	REFUSED(qstore_abort_release(q, "r.1", "alice", "again", &error), "not being released");
	CHECK_INT(qstore_begin_release(q, "r.1", "alice", &error), 0);
	REFUSED(qstore_delete(q, "r.1", "bob", &error), "is being released");
	CHECK_INT(qstore_finish_release(q, "r.1", "alice", "250 2.0.0 Ok", &error), 0);
	CHECK_INT(qstore_get(q, "r.1", &e, &error), 0);
	CHECK_INT(e.status, QSTATUS_RELEASED);
	CHECK_STR(e.status_by, "alice");
	CHECK(e.status_time > 0);
	qentry_free(&e);
	REFUSED(qstore_begin_release(q, "r.1", "bob", &error), "already released");
	CHECK_INT(qstore_delete(q, "r.2", "bob", &error), 0);
	CHECK_INT(mode_of(dir, "messages/r.2.eml"), 0);
	REFUSED(qstore_begin_release(q, "r.2", "alice", &error), "was deleted");
	REFUSED(qstore_read(q, "r.2", &data, &len, &error), "not on disk");
	REFUSED(qstore_delete(q, "r.2", "bob", &error), "was deleted");
	REFUSED(qstore_begin_release(q, "unknown.9", "alice", &error), "no message unknown.9");
	qstore_close(q);
	remove_tree(dir);
	free(dir);
}

static void test_bad_ids(void)
{
	static const char *const bad[] = {"../x", ".x", "a/b", "", "a b", "a\nb", "..", "x\\y"};
	char *dir = make_dir(), *error = NULL, *data, long_id[80];
	struct qstore *q = open_store(dir);
	struct qentry e;
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(put(q, bad[i], 1, "a@x", "b@x", "", ""), -1);
		REFUSED(qstore_get(q, bad[i], &e, &error), "message id");
		REFUSED(qstore_read(q, bad[i], &data, &len, &error), "message id");
		REFUSED(qstore_begin_release(q, bad[i], "t", &error), "message id");
		REFUSED(qstore_delete(q, bad[i], "t", &error), "message id");
		REFUSED(qstore_purge(q, bad[i], 10, "t", &error), "message id");
	}
	CHECK(qstore_get(q, NULL, &e, &error) == -1);
	free(error);
	memset(long_id, 'a', 65);
	long_id[65] = '\0';
	CHECK_INT(put(q, long_id, 1, "a@x", "b@x", "", ""), -1);
	long_id[64] = '\0';
	CHECK_INT(put(q, long_id, 1, "a@x", "b@x", "", ""), 0);
	CHECK_INT(put(q, "ok-id_1.2", 1, "a@x", "b@x", "", ""), 0);
	CHECK_INT(count(q, &(struct qfilter){0}), 2);
	qstore_close(q);
	remove_tree(dir);
	free(dir);
}

/* read_audit - audit.log, whole */
static char *read_audit(const char *dir)
{
	char *path = xasprintf("%s/audit.log", dir), *data = xcalloc(1, 65536);
	FILE *f = fopen(path, "r");

	if (f) {
		size_t n = fread(data, 1, 65535, f);
		data[n] = '\0';
		fclose(f);
	}
	free(path);
	return data;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_audit(void)
{
	char *dir = make_dir(), *error = NULL, *log;
	struct qstore *q = open_store(dir);

	put(q, "au.1", 1000, "a@x", "b@x", "", "");
	put(q, "au.2", 1000, "a@x", "b@x", "", "");
	qstore_begin_release(q, "au.1", "alice (uid 1000)", &error);
	qstore_abort_release(q, "au.1", "alice (uid 1000)", "451 4.3.0 \"busy\"\r\nX: y",
			     &error);
	qstore_begin_release(q, "au.1", "alice (uid 1000)", &error);
	qstore_finish_release(q, "au.1", "alice (uid 1000)", "250 2.0.0 Ok", &error);
	qstore_delete(q, "au.2", "evil\nwho=root", &error);
	CHECK(error == NULL);
	log = read_audit(dir);
	CHECK_INT(count_lines(log), 3);
	CHECK(strstr(log, " who=\"alice (uid 1000)\" action=\"release-failed\" id=\"au.1\" "
			  "detail=\"451 4.3.0 \\\"busy\\\"\\x0d\\x0aX: y\"\n") != NULL);
	CHECK(strstr(log, "action=\"release\" id=\"au.1\" detail=\"250 2.0.0 Ok\"\n") != NULL);
	CHECK(strstr(log, "who=\"evil\\x0awho=root\" action=\"delete\" id=\"au.2\"") != NULL);
	CHECK(log[0] >= '2' && log[4] == '-' && log[10] == 'T' && log[19] == 'Z');
	CHECK_INT(mode_of(dir, "audit.log"), 0600);
	free(log);
	qstore_close(q);
	remove_tree(dir);
	free(dir);
}

struct put_job {
	struct qstore *q;
	int thread;
	int failures;
};

static void *put_thread(void *arg)
{
	struct put_job *job = arg;
	char id[32];

	for (int i = 0; i < 25; i++) {
		snprintf(id, sizeof(id), "t%d.%d", job->thread, i);
		if (put(job->q, id, 1000 + i, "a@x", "b@x", "r", "") != 0)
			job->failures++;
	}
	return NULL;
}

static void test_concurrent(void)
{
	char *dir = make_dir();
	struct qstore *q = open_store(dir);
	struct put_job jobs[4];
	pthread_t threads[4];
	int failures = 0;

	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct put_job){.q = q, .thread = i};
		pthread_create(&threads[i], NULL, put_thread, &jobs[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
		failures += jobs[i].failures;
	}
	CHECK_INT(failures, 0);
	CHECK_INT(count(q, &(struct qfilter){0}), 100);
	CHECK_INT(count(q, &(struct qfilter){.rcpt = "b@x", .since = 1024}), 4);
	qstore_close(q);
	remove_tree(dir);
	free(dir);
}

static void test_purge(void)
{
	char *dir = make_dir(), *error = NULL, *log;
	struct qstore *q = open_store(dir);
	long long now = (long long)time(NULL), cutoff = now - 30 * 86400;

	put(q, "old.1", now - 40 * 86400, "a@x", "b@x", "", "");
	put(q, "old.2", now - 40 * 86400, "a@x", "b@x", "", "");
	put(q, "old.3", now - 40 * 86400, "a@x", "b@x", "", "");
	put(q, "new.1", now - 86400, "a@x", "b@x", "", "");
	qstore_delete(q, "old.2", "t", &error);
	qstore_begin_release(q, "old.3", "t", &error);	/* a release in flight now */
	CHECK_INT(count(q, &(struct qfilter){.older_than = cutoff, .include_done = true}), 3);
	CHECK_INT(qstore_purge(q, "old.1", cutoff, "t", &error), 0);
	CHECK_INT(qstore_purge(q, "old.2", cutoff, "t", &error), 0);
	REFUSED(qstore_purge(q, "old.3", cutoff, "t", &error), "being released");
	REFUSED(qstore_purge(q, "new.1", cutoff, "t", &error), "newer than the cutoff");
	CHECK_INT(mode_of(dir, "messages/old.1.eml"), 0);
	CHECK_INT(mode_of(dir, "messages/new.1.eml"), 0600);
	CHECK_INT(mode_of(dir, "messages/old.3.eml"), 0600);
	CHECK_INT(count(q, &(struct qfilter){.include_done = true}), 2);
	/* a release left "releasing" by a crash long ago goes too */
	CHECK_INT(qstore_purge(q, "old.3", now + 60, "t", &error), 0);
	log = read_audit(dir);
	CHECK(strstr(log, "action=\"purge\" id=\"old.1\"") != NULL);
	free(log);
	qstore_close(q);
	remove_tree(dir);
	free(dir);
}

/* test_limits - a newer schema is refused; an oversized file is not read */
/* test_sweep - old files with no index row go; indexed and fresh ones stay */
static void test_sweep(void)
{
	char *dir = make_dir(), *error = NULL, *path;
	struct qstore *q = open_store(dir);
	long long now = (long long)time(NULL);
	struct utimbuf old = {.actime = now - 86400, .modtime = now - 86400};
	size_t removed = 0;
	FILE *f;

	put(q, "kept.1", now - 86400, "a@x", "b@x", "", "");
	utime(path = xasprintf("%s/messages/kept.1.eml", dir), &old);
	free(path);
	for (int i = 0; i < 3; i++) {
		const char *names[] = {"orphan.1.eml", "orphan.2.eml.tmp", "fresh.1.eml"};
		path = xasprintf("%s/messages/%s", dir, names[i]);
		f = fopen(path, "w");
		CHECK(f != NULL);
		if (f)
			fclose(f);
		if (i < 2)
			utime(path, &old);
		free(path);
	}
	CHECK_INT(qstore_sweep(q, now - 3600, "t", &removed, &error), 0);
	CHECK_INT(removed, 2);
	CHECK_INT(mode_of(dir, "messages/orphan.1.eml"), 0);
	CHECK_INT(mode_of(dir, "messages/orphan.2.eml.tmp"), 0);
	CHECK(mode_of(dir, "messages/fresh.1.eml") != 0);
	CHECK_INT(mode_of(dir, "messages/kept.1.eml"), 0600);
	qstore_close(q);
	remove_tree(dir);
	free(dir);
}

static void test_limits(void)
{
	char *dir = make_dir(), *error = NULL, *path, *data;
	struct qstore *q = open_store(dir);
	sqlite3 *db;
	size_t len;

	put(q, "big.1", 1, "a@x", "b@x", "", "");
	path = xasprintf("%s/messages/big.1.eml", dir);
	CHECK_INT(truncate(path, (1LL << 30) + 1), 0);
	REFUSED(qstore_read(q, "big.1", &data, &len, &error), "larger than 1 GiB");
	free(path);
	qstore_close(q);
	path = xasprintf("%s/index.sqlite", dir);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(path);
	q = NULL;
	REFUSED(qstore_open(dir, &q, &error), "schema version 99");
	CHECK(q == NULL);
	remove_tree(dir);
	free(dir);
}

int main(void)
{
	test_round_trip();
	test_filters();
	test_release();
	test_bad_ids();
	test_audit();
	test_concurrent();
	test_purge();
	test_sweep();
	test_limits();
	return check_summary("test_qstore");
}
