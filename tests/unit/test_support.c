/*
 * test_support - helpers the unit tests of the file parsers share.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <signal.h>
#include <fcntl.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "tests/unit/check.h"
#include "tests/unit/test_support.h"

/* read_fixture - tests/unit/data/name into b; false (and a failed check) if missing */
bool read_fixture(const char *name, struct buf *b)
{
	const char *srcdir = getenv("srcdir");
	char path[4096], chunk[8192];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/tests/unit/data/%s", srcdir ? srcdir : ".", name);
	buf_init(b);
	if (!(f = fopen(path, "rb"))) {
		perror(path);
		CHECK(!"fixture missing");
		return false;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(b, chunk, n);
	fclose(f);
	return true;
}

/* on_sigsys - a trapped system call: name it and fail the child */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "sandbox: trapped system call %d\n", si->si_syscall);

	(void)!write(STDERR_FILENO, msg, (size_t)n);
	_exit(3);
}

/*
 * trap_file_syscalls - from now on, opening a file, a stat by path, fork,
 * clone, exec or a socket raise SIGSYS; false where seccomp is missing.
 */
bool trap_file_syscalls(void)
{
#if defined(__x86_64__) && defined(SECCOMP_RET_TRAP)
	static const uint32_t denied[] = {
	    SYS_open,    SYS_openat,   SYS_creat, SYS_stat,  SYS_lstat, SYS_access, SYS_faccessat,
	    SYS_execve,  SYS_execveat, SYS_fork,  SYS_vfork, SYS_clone, SYS_socket, SYS_connect,
#ifdef SYS_clone3
	    SYS_clone3,
#endif
#ifdef SYS_openat2
	    SYS_openat2,
#endif
	};
	enum { K = sizeof(denied) / sizeof(denied[0]), ALLOW = 3 + K + 3, TRAP = ALLOW + 1 };
	struct sock_filter f[TRAP + 1];
	struct sock_fprog prog = {.len = TRAP + 1, .filter = f};
	struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
	size_t n = 0;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	                                      offsetof(struct seccomp_data, arch));
	f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0,
	                                    ALLOW - n - 1);
	n++;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	                                      offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < K; i++, n++)
		f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, denied[i],
		                                    TRAP - n - 1, 0);
	/* fstat is newfstatat(fd, "", AT_EMPTY_PATH); a stat by path starts at AT_FDCWD */
	f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_newfstatat, 0,
	                                    ALLOW - n - 1);
	n++;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	                                      offsetof(struct seccomp_data, args[0]));
	f[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)AT_FDCWD,
	                                    TRAP - n - 1, ALLOW - n - 1);
	n++;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
	return sigaction(SIGSYS, &sa, NULL) == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	       prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
#else
	return false;
#endif
}
