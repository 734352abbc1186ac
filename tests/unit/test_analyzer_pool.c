/*
 * test_analyzer_pool - the facts wire format, and the analyzer pool with
 * real supervisor and worker processes running fake analyzer ops whose
 * behaviour the message picks: "ok", "crash", "hang", "socket", "big",
 * "slow", "write", "many", "echo:<bytes>".
 *
 * The fake generation puts its number in a fact, so a test can tell which
 * generation answered. State the test and the workers share (the pid of a
 * slow worker) lives in a shared anonymous mapping, which fork keeps and
 * the sandbox does not touch.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analyzer/pool.h"
#include "analyzer/sandbox.h"
#include "analyzer/supervisor.h"
#include "analyzer/wire.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "filters/facts.h"
#include "tests/unit/check.h"

#define BIG_VALUE (8u << 20)

struct shared {
	volatile pid_t slow_worker;
	volatile pid_t supervisor;
};

static struct shared *shared;
static unsigned fake_workers = 2;
static unsigned fake_max_jobs;
static unsigned fake_cpu_seconds = 60;
static unsigned long fake_loads; /* in each supervisor: generations loaded */

/* ---- the fake analyzer ---- */

struct fake_gen {
	unsigned long number;
};

static void *fake_new(const char *config_path, char **error_r)
{
	struct fake_gen *g;

	if (strcmp(config_path, "fail") == 0) {
		*error_r = xstrdup("told to fail");
		return NULL;
	}
	g = xmalloc(sizeof(*g));
	g->number = ++fake_loads;
	return g;
}

static void fake_free(void *gen)
{
	free(gen);
}

static void fake_settings(void *gen, struct analyzer_settings *out)
{
	*out = (struct analyzer_settings){
	    .workers = fake_workers,
	    .max_jobs = fake_max_jobs,
	    .sandbox = {.memory_bytes = 1ul << 30, .cpu_seconds = fake_cpu_seconds},
	};
}

static char fake_tmpdir[256];

static void fake_init(void *gen, const char *tmpdir)
{
	snprintf(fake_tmpdir, sizeof(fake_tmpdir), "%s", tmpdir);
}

static const char *try_create(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);

	if (fd < 0)
		return "denied";
	close(fd);
	unlink(path);
	return "created";
}

static void fake_write(struct facts *out)
{
	char inside[300];

	snprintf(inside, sizeof(inside), "%s/scratch", fake_tmpdir);
	facts_add_str(out, "test.inside", try_create(inside));
	facts_add_str(out, "test.outside", try_create("/tmp/test_analyzer_pool_escape"));
	facts_add_str(out, "test.cwd_is_tmpdir", try_create("relative"));
}

static void fake_big(struct facts *out)
{
	char *value = xmalloc(BIG_VALUE);

	memset(value, 'x', BIG_VALUE);
	facts_add(out, "test.big", value, BIG_VALUE);
	free(value);
}

/*
 * bulk_fact - a fact of count values "v", built in one go: facts_add
 * grows the value array one slot at a time, which ASan's realloc makes
 * quadratic
 */
static void bulk_fact(struct facts *f, const char *name, size_t count)
{
	struct fact *fact;

	f->items = xrealloc(f->items, (f->count + 1) * sizeof(*f->items));
	fact = &f->items[f->count++];
	*fact = (struct fact){.name = xstrdup(name), .count = count};
	fact->values = xcalloc(count, sizeof(*fact->values));
	for (size_t i = 0; i < count; i++)
		fact->values[i] = xstrdup("v");
}

/* fake_many - more values than a reply may carry */
static void fake_many(struct facts *out)
{
	bulk_fact(out, "test.even", WIRE_MAX_ITEMS / 2 + 5);
	bulk_fact(out, "test.odd", WIRE_MAX_ITEMS / 2 + 5);
}

/* fake_burn - use a little over a second of CPU */
static void fake_burn(void)
{
	clock_t start = clock();

	while (clock() - start < CLOCKS_PER_SEC * 11 / 10)
		;
}

static void fake_sleep(time_t seconds)
{
	struct timespec pause = {.tv_sec = seconds};

	nanosleep(&pause, NULL);
}

static void fake_analyze(void *gen, const char *msg, size_t len, struct facts *out)
{
	const struct fake_gen *g = gen;

#define IS(word) (len == strlen(word) && memcmp(msg, word, len) == 0)
	if (IS("crash"))
		abort();
	if (IS("hang"))
		for (;;)
			fake_sleep(3600);
	if (IS("socket"))
		facts_add_num(out, "test.socket", socket(AF_INET, SOCK_STREAM, 0));
	if (IS("slow")) {
		shared->slow_worker = getpid();
		fake_sleep(2);
	}
	if (IS("burn"))
		fake_burn();
	if (IS("big"))
		fake_big(out);
	if (IS("write"))
		fake_write(out);
	if (IS("many"))
		fake_many(out);
	if (len >= 5 && memcmp(msg, "echo:", 5) == 0)
		facts_add(out, "test.echo", msg + 5, len - 5);
#undef IS
	facts_add_num(out, "test.generation", (double)g->number);
	facts_add_num(out, "test.pid", getpid());
	facts_add_num(out, "test.length", (double)len);
}

static const struct analyzer_ops fake_ops = {
    .generation_new = fake_new,
    .generation_free = fake_free,
    .settings = fake_settings,
    .worker_init = fake_init,
    .analyze = fake_analyze,
};

struct spawn_args {
	const char *config;
	int socket_type;
};

/* spawn - fork a supervisor, leaving it only its socket, as an exec would */
static int spawn(void *ctx, pid_t *pid_r)
{
	const struct spawn_args *args = ctx;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, args->socket_type | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		close_range(4, ~0u, 0);
		_exit(supervisor_main(3, &fake_ops, args->config) == 0 ? 0 : 1);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -1;
	}
	shared->supervisor = pid;
	*pid_r = pid;
	return sv[0];
}

static struct spawn_args seqpacket = {"conf", SOCK_SEQPACKET};
static struct spawn_args stream = {"conf", SOCK_STREAM};
static struct spawn_args failing = {"fail", SOCK_SEQPACKET};

static struct analyzer_pool *pool_start(unsigned workers, unsigned max_jobs, unsigned timeout_ms,
                                        struct spawn_args *args)
{
	struct analyzer_pool *p;
	char *error = NULL;

	fake_workers = workers;
	fake_max_jobs = max_jobs;
	p = analyzer_pool_new(spawn, args, timeout_ms, &error);
	if (p == NULL) {
		fprintf(stderr, "analyzer_pool_new: %s\n", error);
		free(error);
	}
	return p;
}

/* ---- helpers ---- */

static const char *value(const struct facts *f, const char *name)
{
	const struct fact *fact = facts_find(f, name);

	return fact && fact->count ? fact->values[0] : NULL;
}

static enum analyzer_status analyze(struct analyzer_pool *p, const char *msg, struct facts *out)
{
	facts_clear(out);
	return analyzer_pool_analyze(p, msg, strlen(msg), out);
}

/* wait_generation - until the pool has generation g, at most 5 s */
static bool wait_generation(struct analyzer_pool *p, unsigned long g)
{
	struct analyzer_pool_stats st;
	struct timespec pause = {.tv_nsec = 10 * 1000 * 1000};

	for (int i = 0; i < 500; i++) {
		analyzer_pool_stats(p, &st);
		if (st.generation == g)
			return true;
		nanosleep(&pause, NULL);
	}
	return false;
}

/* ---- wire ---- */

static void wire_sample(struct facts *f)
{
	facts_init(f);
	facts_add_str(f, "mime.part.type", "text/plain");
	facts_add_str(f, "mime.part.type", "application/zip");
	facts_add_str(f, "av.virus", "Eicar-Signature");
	facts_add_str(f, "header.subject", "請求書のご案内");
	facts_add(f, "bad.utf8",
	          "a\xff"
	          "b\xc3",
	          4);
	facts_add_str(f, "Bad Name!", "dropped");
	facts_add_str(f, "empty.value", "");
}

static void test_wire_round_trip(void)
{
	struct facts f, back;
	struct buf b;

	wire_sample(&f);
	buf_init(&b);
	wire_encode_facts(&f, &b);
	facts_init(&back);
	CHECK_INT(wire_decode_facts(b.data, b.len, &back), 0);
	CHECK_INT(back.count, 5);
	CHECK_INT(facts_find(&back, "mime.part.type")->count, 2);
	CHECK_STR(facts_find(&back, "mime.part.type")->values[1], "application/zip");
	CHECK_STR(value(&back, "header.subject"), "請求書のご案内");
	CHECK_STR(value(&back, "bad.utf8"), "a\xef\xbf\xbd"
	                                    "b\xef\xbf\xbd");
	CHECK_STR(value(&back, "empty.value"), "");
	CHECK(facts_find(&back, "bad name!") == NULL);

	/* Into facts already there: values join, nothing is lost. */
	CHECK_INT(wire_decode_facts(b.data, b.len, &back), 0);
	CHECK_INT(back.count, 5);
	CHECK_INT(facts_find(&back, "mime.part.type")->count, 4);
	facts_clear(&back);
	facts_clear(&f);
	buf_free(&b);
}

/* The per-file sets travel as "file.NNNNN." facts and come back as sets. */
static void test_wire_files(void)
{
	struct facts f, back, flat;
	struct buf b;

	facts_init(&f);
	facts_add_str(&f, "attachment.ext", "txt");
	facts_add_str(&f, "attachment.ext", "exe");
	facts_add_str(facts_add_file(&f), "attachment.ext", "txt");
	facts_add_str(facts_add_file(&f), "attachment.ext", "exe");
	facts_add_str(&f.files[1], "attachment.in_archive", "yes");
	facts_add_str(facts_add_link(&f), "url.host", "www.example.com");
	buf_init(&b);
	wire_encode_facts(&f, &b);
	facts_init(&back);
	CHECK_INT(wire_decode_facts(b.data, b.len, &back), 0);
	CHECK_INT(back.count, 1);
	CHECK_INT(facts_find(&back, "attachment.ext")->count, 2);
	CHECK_INT(back.nfiles, 2);
	if (back.nfiles == 2) {
		CHECK_STR(value(&back.files[0], "attachment.ext"), "txt");
		CHECK(facts_find(&back.files[0], "attachment.in_archive") == NULL);
		CHECK_STR(value(&back.files[1], "attachment.ext"), "exe");
		CHECK_STR(value(&back.files[1], "attachment.in_archive"), "yes");
	}
	CHECK_INT(back.nlinks, 1);
	if (back.nlinks == 1)
		CHECK_STR(value(&back.links[0], "url.host"), "www.example.com");
	facts_clear(&back);

	/* Ids need not be dense or numbers: each distinct prefix is one file;
	 * a bare "file.x" (no name after the id) stays an ordinary fact. */
	facts_init(&flat);
	facts_add_str(&flat, "file.zz.attachment.ext", "b");
	facts_add_str(&flat, "file.7.attachment.ext", "a");
	facts_add_str(&flat, "file.7.attachment.name", "a.a");
	facts_add_str(&flat, "file.x", "plain");
	facts_unflatten_files(&flat);
	CHECK_INT(flat.count, 1);
	CHECK_INT(flat.nfiles, 2);
	if (flat.nfiles == 2) {
		CHECK_INT(flat.files[0].count, 2);
		CHECK_STR(value(&flat.files[0], "attachment.name"), "a.a");
		CHECK_STR(value(&flat.files[1], "attachment.ext"), "b");
	}
	facts_clear(&flat);
	facts_clear(&f);
	buf_free(&b);
}

/* decodes_not - data is refused and out left as it was */
static bool decodes_not(const char *data, size_t len)
{
	struct facts out;
	bool refused;

	facts_init(&out);
	facts_add_str(&out, "before", "1");
	refused =
	    wire_decode_facts(data, len, &out) == -1 && out.count == 1 && out.items[0].count == 1;
	facts_clear(&out);
	return refused;
}

static void wire_fact(struct buf *b, const char *name, const char *v, size_t vlen)
{
	uint16_t n = (uint16_t)strlen(name);
	uint32_t one = 1, len = (uint32_t)vlen;

	buf_append(b, &n, 2); /* the test runs little-endian */
	buf_append_str(b, name);
	buf_append(b, &one, 4);
	buf_append(b, &len, 4);
	buf_append(b, v, vlen);
}

static void wire_head(struct buf *b, uint32_t flags, uint32_t count)
{
	buf_reset(b);
	buf_append(b, "SKF1", 4);
	buf_append(b, &flags, 4);
	buf_append(b, &count, 4);
}

static void test_wire_hostile(void)
{
	struct facts f;
	struct buf b, good;
	uint32_t huge = 0xffffffffu;

	wire_sample(&f);
	buf_init(&good);
	wire_encode_facts(&f, &good);
	facts_clear(&f);
	for (size_t cut = 0; cut < good.len; cut++)
		CHECK(decodes_not(good.data, cut));
	buf_append_char(&good, 0);
	CHECK(decodes_not(good.data, good.len)); /* trailing byte */

	buf_init(&b);
	wire_head(&b, 0, 2);
	wire_fact(&b, "b.name", "x", 1);
	wire_fact(&b, "a.name", "x", 1);
	CHECK(decodes_not(b.data, b.len)); /* out of order */
	wire_head(&b, 0, 2);
	wire_fact(&b, "a.name", "x", 1);
	wire_fact(&b, "a.name", "y", 1);
	CHECK(decodes_not(b.data, b.len)); /* twice */
	wire_head(&b, 0, 1);
	wire_fact(&b, "Upper", "x", 1);
	CHECK(decodes_not(b.data, b.len));
	wire_head(&b, 0, 1);
	wire_fact(&b, "nul.value", "a\0b", 3);
	CHECK(decodes_not(b.data, b.len));
	wire_head(&b, 0, 1);
	wire_fact(&b, "bad.utf8", "\xc0\xaf", 2);
	CHECK(decodes_not(b.data, b.len));
	wire_head(&b, 0x80, 0);
	CHECK(decodes_not(b.data, b.len)); /* unknown flag */
	wire_head(&b, 0, WIRE_MAX_ITEMS + 1);
	CHECK(decodes_not(b.data, b.len));
	wire_head(&b, 0, 1);
	buf_append(&b,
	           "\x01\x00"
	           "a",
	           3);
	buf_append(&b, &huge, 4); /* 4 G values promised */
	CHECK(decodes_not(b.data, b.len));
	wire_head(&b, WIRE_FLAG_TRUNCATED, 0);
	CHECK_INT(wire_decode_facts(b.data, b.len, &f), 0);
	CHECK_STR(value(&f, WIRE_TRUNCATED_FACT), "1");
	facts_clear(&f);
	buf_free(&b);
	buf_free(&good);
}

/* test_wire_mutations - flipped bytes never crash the decoder (run under ASan) */
static void test_wire_mutations(void)
{
	unsigned long long x = 88172645463325252ull;
	struct facts f;
	struct buf good;
	int refused = 0;

	wire_sample(&f);
	buf_init(&good);
	wire_encode_facts(&f, &good);
	for (int round = 0; round < 20000; round++) {
		char *copy = xmalloc(good.len);
		struct facts out;
		memcpy(copy, good.data, good.len);
		for (int k = 0; k < 1 + round % 4; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			copy[x % good.len] = (char)(x >> 32);
		}
		facts_init(&out);
		refused += wire_decode_facts(copy, good.len, &out) < 0;
		facts_clear(&out);
		free(copy);
	}
	CHECK(refused > 0);
	facts_clear(&f);
	buf_free(&good);
}

/* many_names - a reply of count facts with one value each, built by hand */
static void many_names(struct buf *b, unsigned count)
{
	char name[32];

	wire_head(b, 0, count);
	for (unsigned i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "n%06u", i);
		wire_fact(b, name, "v", 1);
	}
}

static void test_wire_limits(void)
{
	struct facts f, back;
	struct buf b;
	long long start;

	/* 4 facts of 40000 values: 100000 items take two and a half of them. */
	facts_init(&f);
	bulk_fact(&f, "a", 40000);
	bulk_fact(&f, "b", 40000);
	bulk_fact(&f, "c", 40000);
	bulk_fact(&f, "d", 40000);
	buf_init(&b);
	wire_encode_facts(&f, &b);
	facts_init(&back);
	CHECK_INT(wire_decode_facts(b.data, b.len, &back), 0);
	CHECK_INT(back.count, 4);
	CHECK_INT(facts_find(&back, "b")->count, 40000);
	CHECK_INT(facts_find(&back, "c")->count, WIRE_MAX_ITEMS - 2 * 40001 - 1);
	CHECK(facts_find(&back, "d") == NULL);
	CHECK_STR(value(&back, WIRE_TRUNCATED_FACT), "1");
	facts_clear(&back);
	facts_clear(&f);

	/* As many names as allowed, from a hostile worker: quick, not quadratic. */
	many_names(&b, WIRE_MAX_ITEMS / 2);
	facts_add_str(&back, "n000007", "already");
	start = clock_ms();
	CHECK_INT(wire_decode_facts(b.data, b.len, &back), 0);
	CHECK(clock_ms() - start < 2000);
	CHECK_INT(back.count, WIRE_MAX_ITEMS / 2);
	CHECK_INT(facts_find(&back, "n000007")->count, 2);
	facts_clear(&back);
	many_names(&b, WIRE_MAX_ITEMS / 2 + 1);
	CHECK(decodes_not(b.data, b.len));
	buf_free(&b);
}

/* ---- the pool ---- */

static void test_ordinary(struct analyzer_pool *p)
{
	struct facts out;
	int ok = 0;

	facts_init(&out);
	for (int i = 0; i < 20; i++)
		ok += analyze(p, "ok", &out) == ANALYZER_OK && value(&out, "test.generation") &&
		      strcmp(value(&out, "test.length"), "2") == 0;
	CHECK_INT(ok, 20);
	CHECK_INT(analyze(p, "echo:caf\xc3\xa9 \xff", &out), ANALYZER_OK);
	CHECK_STR(value(&out, "test.echo"), "café \xef\xbf\xbd");
	facts_clear(&out);
	CHECK_INT(analyzer_pool_analyze(p, "", 0, &out), ANALYZER_OK);
	CHECK_STR(value(&out, "test.length"), "0");
	CHECK_INT(analyze(p, "big", &out), ANALYZER_OK);
	CHECK(facts_find(&out, "test.big") && strlen(value(&out, "test.big")) == BIG_VALUE);
	CHECK_INT(analyze(p, "many", &out), ANALYZER_OK);
	CHECK_STR(value(&out, WIRE_TRUNCATED_FACT), "1");
	facts_clear(&out);
}

static void test_worker_sandbox(struct analyzer_pool *p)
{
	struct facts out;

	facts_init(&out);
	CHECK_INT(analyze(p, "write", &out), ANALYZER_OK);
	CHECK_STR(value(&out, "test.inside"), "created");
	CHECK_STR(value(&out, "test.cwd_is_tmpdir"), "created");
	if (sandbox_landlock_available())
		CHECK_STR(value(&out, "test.outside"), "denied");
	CHECK(access("/tmp/test_analyzer_pool_escape", F_OK) != 0);

	CHECK_INT(analyze(p, "socket", &out), ANALYZER_CRASHED);
	CHECK(facts_find(&out, "test.socket") == NULL);
	CHECK_INT(analyze(p, "ok", &out), ANALYZER_OK);
	facts_clear(&out);
}

static void test_crash(struct analyzer_pool *p)
{
	struct analyzer_pool_stats before, after;
	struct facts out;

	facts_init(&out);
	analyzer_pool_stats(p, &before);
	CHECK_INT(analyze(p, "crash", &out), ANALYZER_CRASHED);
	CHECK_INT(out.count, 0);
	CHECK_INT(analyze(p, "ok", &out), ANALYZER_OK);
	CHECK_INT(analyze(p, "crash", &out), ANALYZER_CRASHED);
	CHECK_INT(analyze(p, "ok", &out), ANALYZER_OK);
	analyzer_pool_stats(p, &after);
	CHECK_INT(after.crashes - before.crashes, 2);
	facts_clear(&out);
}

static void test_hang(struct analyzer_pool *p)
{
	struct analyzer_pool_stats st;
	struct facts out;
	long long start;

	facts_init(&out);
	analyzer_pool_set_timeout(p, 300);
	start = clock_ms();
	CHECK_INT(analyze(p, "hang", &out), ANALYZER_TIMEOUT);
	CHECK(clock_ms() - start >= 300 && clock_ms() - start < 1500);
	analyzer_pool_set_timeout(p, 5000);
	CHECK_INT(analyze(p, "ok", &out), ANALYZER_OK);
	CHECK_INT(analyze(p, "ok", &out), ANALYZER_OK);
	analyzer_pool_stats(p, &st);
	CHECK_INT(st.timeouts, 1);
	facts_clear(&out);
}

struct slow_job {
	struct analyzer_pool *p;
	enum analyzer_status status;
};

static void *run_slow(void *arg)
{
	struct slow_job *job = arg;
	struct facts out;

	facts_init(&out);
	job->status = analyze(job->p, "slow", &out);
	facts_clear(&out);
	return NULL;
}

static void test_killed_mid_job(struct analyzer_pool *p)
{
	struct slow_job job = {.p = p};
	struct timespec pause = {.tv_nsec = 5 * 1000 * 1000};
	struct facts out;
	pthread_t t;
	int ok = 0;

	facts_init(&out);
	shared->slow_worker = 0;
	pthread_create(&t, NULL, run_slow, &job);
	for (int i = 0; i < 400 && shared->slow_worker == 0; i++)
		nanosleep(&pause, NULL);
	CHECK(shared->slow_worker > 0 && kill(shared->slow_worker, SIGKILL) == 0);
	for (int i = 0; i < 10; i++)
		ok += analyze(p, "ok", &out) == ANALYZER_OK;
	pthread_join(t, NULL);
	CHECK_INT(job.status, ANALYZER_CRASHED);
	CHECK_INT(ok, 10);
	facts_clear(&out);
}

static void test_recycling(void)
{
	struct analyzer_pool *p = pool_start(2, 3, 5000, &stream);
	struct facts out;
	long pids[50];
	int ok = 0, distinct = 0;

	CHECK(p != NULL);
	if (p == NULL)
		return;
	facts_init(&out);
	for (int i = 0; i < 50; i++) {
		ok += analyze(p, "ok", &out) == ANALYZER_OK;
		pids[i] = value(&out, "test.pid") ? atol(value(&out, "test.pid")) : 0;
		int seen = 0;
		for (int j = 0; j < i; j++)
			seen |= pids[j] == pids[i];
		distinct += !seen;
	}
	CHECK_INT(ok, 50);
	CHECK(distinct >= 50 / 3);
	facts_clear(&out);
	analyzer_pool_free(p);
}

/* test_cpu_allowance - a worker past half its CPU seconds retires after the job */
static void test_cpu_allowance(void)
{
	struct analyzer_pool *p;
	struct facts out;
	char first[32] = "";

	fake_cpu_seconds = 2;
	p = pool_start(1, 0, 5000, &seqpacket);
	fake_cpu_seconds = 60;
	CHECK(p != NULL);
	if (p == NULL)
		return;
	facts_init(&out);
	CHECK_INT(analyze(p, "ok", &out), ANALYZER_OK);
	snprintf(first, sizeof(first), "%s", value(&out, "test.pid"));
	CHECK_INT(analyze(p, "burn", &out), ANALYZER_OK);
	CHECK_STR(value(&out, "test.pid"), first);
	CHECK_INT(analyze(p, "ok", &out), ANALYZER_OK);
	CHECK(strcmp(value(&out, "test.pid"), first) != 0);
	facts_clear(&out);
	analyzer_pool_free(p);
}

struct load {
	struct analyzer_pool *p;
	int ok, stale;
};

static void *run_load(void *arg)
{
	struct load *l = arg;
	struct analyzer_pool_stats st;
	struct facts out;

	facts_init(&out);
	for (int i = 0; i < 60; i++) {
		analyzer_pool_stats(l->p, &st);
		if (analyze(l->p, "ok", &out) != ANALYZER_OK)
			continue;
		l->ok++;
		/* Once the pool has generation 2, no job may go to generation 1. */
		if (st.generation == 2 && strcmp(value(&out, "test.generation"), "2") != 0)
			l->stale++;
	}
	facts_clear(&out);
	return NULL;
}

static void test_reload_under_load(void)
{
	struct analyzer_pool *p = pool_start(3, 0, 5000, &stream);
	struct load loads[4];
	pthread_t t[4];
	struct facts out;
	struct analyzer_pool_stats st;
	struct timespec pause = {.tv_nsec = 2 * 1000 * 1000};
	int ok = 0;

	CHECK(p != NULL);
	if (p == NULL)
		return;
	CHECK(wait_generation(p, 1));
	for (int i = 0; i < 4; i++) {
		loads[i] = (struct load){.p = p};
		pthread_create(&t[i], NULL, run_load, &loads[i]);
	}
	do {
		nanosleep(&pause, NULL);
		analyzer_pool_stats(p, &st);
	} while (st.jobs < 40);
	analyzer_pool_reload(p);
	CHECK(wait_generation(p, 2));
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(loads[i].ok, 60);
		CHECK_INT(loads[i].stale, 0);
	}
	facts_init(&out);
	for (int i = 0; i < 10; i++)
		ok += analyze(p, "ok", &out) == ANALYZER_OK &&
		      strcmp(value(&out, "test.generation"), "2") == 0;
	CHECK_INT(ok, 10);
	analyzer_pool_stats(p, &st);
	CHECK_INT(st.idle + st.busy, 3); /* the old generation is gone */
	CHECK_INT(st.crashes + st.timeouts, 0);
	facts_clear(&out);
	analyzer_pool_free(p);
}

static void test_supervisor_dies(struct analyzer_pool *p)
{
	struct facts out;
	enum analyzer_status status = ANALYZER_UNAVAILABLE;

	facts_init(&out);
	CHECK(kill(shared->supervisor, SIGKILL) == 0);
	/* Its workers die with it; a new supervisor comes after a pause. */
	for (int i = 0; i < 10 && status != ANALYZER_OK; i++)
		status = analyze(p, "ok", &out);
	CHECK_INT(status, ANALYZER_OK);
	CHECK_STR(value(&out, "test.generation"), "1");
	facts_clear(&out);
}

static void test_unavailable(void)
{
	struct analyzer_pool *p = pool_start(1, 0, 300, &failing);
	struct facts out;
	long long start = clock_ms();

	CHECK(p != NULL);
	if (p == NULL)
		return;
	facts_init(&out);
	CHECK_INT(analyze(p, "ok", &out), ANALYZER_UNAVAILABLE);
	CHECK(clock_ms() - start < 1500);
	CHECK_INT(out.count, 0);
	analyzer_pool_free(p);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	remove(path);
	return 0;
}

int main(void)
{
	/* A SIGKILLed supervisor cannot remove its temp dir; keep it in ours. */
	char tmpdir[] = "/tmp/test_analyzer_pool.XXXXXX";
	struct analyzer_pool *p;

	log_mute(getenv("TEST_ANALYZER_LOG") == NULL);
	if (mkdtemp(tmpdir) == NULL || setenv("TMPDIR", tmpdir, 1) != 0)
		return 1;
	shared =
	    mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return 1;
	test_wire_round_trip();
	test_wire_files();
	test_wire_hostile();
	test_wire_mutations();
	test_wire_limits();

	p = pool_start(2, 0, 5000, &seqpacket);
	CHECK(p != NULL);
	if (p) {
		test_ordinary(p);
		test_worker_sandbox(p);
		test_crash(p);
		test_hang(p);
		test_killed_mid_job(p);
		test_supervisor_dies(p);
		analyzer_pool_free(p);
	}
	test_recycling();
	test_cpu_allowance();
	test_reload_under_load();
	test_unavailable();
	munmap(shared, sizeof(*shared));
	nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return check_summary("test_analyzer_pool");
}
