/*
 * test_sandbox - the analyzer sandbox holds. Each case runs in a forked
 * child that enters the sandbox and then tries one thing; the parent looks
 * at how the child ended (a SIGSYS means seccomp killed it).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analyzer/sandbox.h"
#include "common/log.h"
#include "tests/unit/check.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define MEMORY_LIMIT (1ul << 30)

static char writable[] = "/tmp/test_sandbox_rw.XXXXXX";
static char readonly[] = "/tmp/test_sandbox_ro.XXXXXX";
/* in - dir/name; the last four results stay valid */
static const char *in(const char *dir, const char *name)
{
	static char paths[4][512];
	static unsigned next;
	char *p = paths[next++ % 4];

	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	return p;
}

/* sandboxed - how fn ended, run after sandbox_enter in a child */
static int sandboxed(int (*fn)(void), unsigned cpu_seconds)
{
	struct sandbox_limits l = {
	    .memory_bytes = MEMORY_LIMIT,
	    .cpu_seconds = cpu_seconds,
	    .writable_dir = writable,
	};
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		char *error = NULL;
		if (sandbox_enter(&l, &error) < 0) {
			fprintf(stderr, "sandbox_enter: %s\n", error);
			_exit(99);
		}
		_exit(fn());
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static bool killed_by(int status, int sig)
{
	return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == sig;
}

static bool exited_ok(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- what seccomp must kill ---- */

static int try_socket(void)
{
	return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 1;
}

static int try_socketpair(void)
{
	int sv[2];

	return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

static int try_execve(void)
{
	char *argv[] = {"true", NULL}, *envp[] = {NULL};

	execve("/bin/true", argv, envp);
	return 1;
}

static int try_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	return pid > 0 ? 0 : 1;
}

static int try_kill_parent(void)
{
	return kill(getppid(), 0);
}

static int try_kill_everyone(void)
{
	return kill(-1, 0);
}

static int try_unshare(void)
{
	return unshare(CLONE_NEWUSER);
}

static int try_ptrace(void)
{
	return (int)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static int try_io_uring(void)
{
	return (int)syscall(SYS_io_uring_setup, 1, NULL);
}

static int try_setuid(void)
{
	return setuid(0);
}

static void test_seccomp_kills(void)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} cases[] = {
	    {"socket", try_socket},           {"socketpair", try_socketpair},
	    {"execve", try_execve},           {"fork", try_fork},
	    {"kill parent", try_kill_parent}, {"kill -1", try_kill_everyone},
	    {"unshare", try_unshare},         {"ptrace", try_ptrace},
	    {"io_uring", try_io_uring},       {"setuid", try_setuid},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int status = sandboxed(cases[i].fn, 10);
		if (!killed_by(status, SIGSYS))
			fprintf(stderr, "test_sandbox: %s was not killed (status %#x)\n",
			        cases[i].name, status);
		CHECK(killed_by(status, SIGSYS));
	}
}

/* ---- what must still work ---- */

static int filter_is_on(void)
{
	char text[8192];
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof(text) - 1);

	if (n <= 0)
		return 1;
	text[n] = '\0';
	if (strstr(text, "\nSeccomp:\t2\n") == NULL)
		return 2;
	return strstr(text, "\nNoNewPrivs:\t1\n") ? 0 : 3;
}

static int ordinary_work(void)
{
	char *big = malloc(16 << 20), text[64];
	int fd = open(in(readonly, "data"), O_RDONLY);

	if (big == NULL)
		return 1;
	memset(big, 'x', 16 << 20);
	free(big);
	if (fd < 0 || read(fd, text, sizeof(text)) != 5 || memcmp(text, "hello", 5) != 0)
		return 2;
	close(fd);
	/* A thread: clone3 says ENOSYS and glibc falls back to clone. */
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return 3;
	if (kill(getpid(), 0) != 0)
		return 4;
	fd = open("/dev/null", O_WRONLY);
	return fd >= 0 && write(fd, "x", 1) == 1 ? 0 : 5;
}

static void *thread_body(void *arg)
{
	return arg;
}

static int start_thread(void)
{
	static int token;
	pthread_t t;
	void *result = NULL;

	if (pthread_create(&t, NULL, thread_body, &token) != 0 || pthread_join(t, &result) != 0)
		return 1;
	return result == &token ? 0 : 2;
}

static int limits_are_set(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_max != 0)
		return 1;
	if (getrlimit(RLIMIT_CPU, &rl) != 0 || rl.rlim_max != 10)
		return 2;
#ifndef UNDER_ASAN
	if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_max != MEMORY_LIMIT)
		return 3;
	/* Past the limit, memory is refused rather than taken. */
	if (mmap(NULL, 2 * MEMORY_LIMIT, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) !=
	    MAP_FAILED)
		return 4;
#endif
	return 0;
}

static int spin(void)
{
	for (volatile unsigned long i = 0;; i++)
		;
	return 1;
}

static void test_still_works(void)
{
	CHECK(exited_ok(sandboxed(filter_is_on, 10)));
	CHECK(exited_ok(sandboxed(ordinary_work, 10)));
	CHECK(exited_ok(sandboxed(start_thread, 10)));
	CHECK(exited_ok(sandboxed(limits_are_set, 10)));
	/* The CPU bound ends a worker that never stops. */
	CHECK(killed_by(sandboxed(spin, 1), SIGKILL));
}

/* ---- Landlock ---- */

static int write_inside(void)
{
	int fd = open(in(writable, "new"), O_CREAT | O_WRONLY | O_EXCL, 0600);

	if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) != 0)
		return 1;
	if (rename(in(writable, "new"), in(writable, "renamed")) != 0)
		return 2;
	if (mkdir(in(writable, "sub"), 0700) != 0 || rmdir(in(writable, "sub")) != 0)
		return 3;
	return unlink(in(writable, "renamed")) == 0 ? 0 : 4;
}

static int write_outside(void)
{
	if (open(in(readonly, "new"), O_CREAT | O_WRONLY, 0600) >= 0 || errno != EACCES)
		return 1;
	if (open(in(readonly, "data"), O_WRONLY) >= 0 || errno != EACCES)
		return 2;
	if (truncate(in(readonly, "data"), 0) == 0)
		return 3;
	if (unlink(in(readonly, "data")) == 0 || mkdir(in(readonly, "sub"), 0700) == 0)
		return 4;
	if (symlink("/etc/passwd", in(readonly, "link")) == 0)
		return 5;
	return open("/tmp/test_sandbox_escape", O_CREAT | O_WRONLY, 0600) < 0 ? 0 : 6;
}

static void test_landlock(void)
{
	if (!sandbox_landlock_available()) {
		printf("test_sandbox: note: the kernel has no Landlock; only seccomp and rlimits "
		       "checked\n");
		return;
	}
	CHECK_INT(WEXITSTATUS(sandboxed(write_inside, 10)), 0);
	CHECK_INT(WEXITSTATUS(sandboxed(write_outside, 10)), 0);
	CHECK(access("/tmp/test_sandbox_escape", F_OK) != 0);
	CHECK(access(in(readonly, "data"), F_OK) == 0);
}

int main(void)
{
	FILE *f;

	log_mute(true);
	if (mkdtemp(writable) == NULL || mkdtemp(readonly) == NULL)
		return 1;
	f = fopen(in(readonly, "data"), "w");
	if (f == NULL || fputs("hello", f) < 0 || fclose(f) != 0)
		return 1;
	test_seccomp_kills();
	test_still_works();
	test_landlock();
	unlink(in(readonly, "data"));
	rmdir(readonly);
	rmdir(writable);
	return check_summary("test_sandbox");
}
