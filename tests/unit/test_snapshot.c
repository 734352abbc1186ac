/*
 * test_snapshot - reference counting across reloads, and a refused reload.
 *
 * Run under ASan, a snapshot freed too early is a use-after-free report;
 * one never freed is a leak report.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "gateway/snapshot.h"
#include "tests/unit/check.h"

static char dir[] = "/tmp/test_snapshot.XXXXXX";
static char conf_path[64];

static void write_conf(const char *text)
{
	FILE *f = fopen(conf_path, "w");

	if (f == NULL) {
		perror(conf_path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static struct snapshot *build(void)
{
	struct snapshot *snap = NULL;
	char *errors = NULL;

	if (snapshot_build(conf_path, &snap, &errors) != 0) {
		free(errors);
		return NULL;
	}
	return snap;
}

static void test_refcounts(void)
{
	struct snapshot *first, *second, *held;

	write_conf("myhostname = a.example.test\nmax_recipients = 5\n");
	first = build();
	CHECK(first != NULL);
	snapshot_install(first);			/* the current pointer's ref */
	held = snapshot_acquire();			/* a session in flight */
	CHECK(held == first);
	CHECK_INT(__atomic_load_n(&first->refs, __ATOMIC_RELAXED), 2);
	CHECK_INT(first->generation, 1);

	write_conf("myhostname = b.example.test\nmax_recipients = 9\n");
	second = build();
	CHECK(second != NULL);
	snapshot_install(second);
	/* The session keeps its snapshot, whole, until it ends. */
	CHECK_INT(__atomic_load_n(&first->refs, __ATOMIC_RELAXED), 1);
	CHECK_INT(held->conf->max_recipients, 5);
	CHECK_STR(held->conf->myhostname, "a.example.test");

	struct snapshot *now = snapshot_acquire();
	CHECK(now == second);
	CHECK_INT(now->conf->max_recipients, 9);
	CHECK_INT(now->generation, 2);
	snapshot_release(now);
	snapshot_release(held);				/* frees the first */
}

static void test_refused_reload(void)
{
	struct snapshot *now;

	write_conf("max_recipients = lots\n");
	CHECK(build() == NULL);
	write_conf("rules_dir = /nonexistent/rules\n");
	CHECK(build() == NULL);
	now = snapshot_acquire();
	CHECK(now != NULL && now->conf->max_recipients == 9);
	snapshot_release(now);
}

static void *churn(void *arg)
{
	for (int i = 0; i < 2000; i++) {
		struct snapshot *s = snapshot_acquire();
		if (s == NULL || s->conf->max_recipients < 1)
			abort();
		snapshot_release(s);
	}
	return arg;
}

/* test_concurrent - sessions acquire and release while reloads swap */
static void test_concurrent(void)
{
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, churn, NULL);
	for (int i = 0; i < 20; i++) {
		struct snapshot *s;
		write_conf(i % 2 ? "max_recipients = 7\n" : "max_recipients = 8\n");
		if ((s = build()) != NULL)
			snapshot_install(s);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(snapshot_acquire() != NULL);
	/* One ref from the line above, one of the current pointer. */
	struct snapshot *s = snapshot_acquire();
	CHECK_INT(__atomic_load_n(&s->refs, __ATOMIC_RELAXED), 3);
	snapshot_release(s);
	snapshot_release(s);
}

int main(void)
{
	log_mute(true);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(conf_path, sizeof(conf_path), "%s/sekisho.conf", dir);
	test_refcounts();
	test_refused_reload();
	test_concurrent();
	snapshot_shutdown();
	unlink(conf_path);
	rmdir(dir);
	return check_summary("test_snapshot");
}
