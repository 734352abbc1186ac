/*
 * sandbox - what an analyzer worker gives up before it reads attacker-made
 * bytes. The reasons for each layer are in sandbox.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "analyzer/sandbox.h"
#include "common/xalloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif

/* ---- rlimits ---- */

/* set_limit - soft and hard limit to value, never above the current hard limit */
static int set_limit(int resource, rlim_t value, const char *what, char **error_r)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < value)
		value = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = value;
	if (setrlimit(resource, &rl) != 0) {
		*error_r = xasprintf("cannot limit %s: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

static int set_limits(const struct sandbox_limits *l, char **error_r)
{
	if (set_limit(RLIMIT_CORE, 0, "core size", error_r) < 0 ||
	    set_limit(RLIMIT_FSIZE, SANDBOX_MAX_FILE_BYTES, "file size", error_r) < 0 ||
	    set_limit(RLIMIT_NOFILE, SANDBOX_MAX_OPEN_FILES, "open files", error_r) < 0)
		return -1;
	if (l->cpu_seconds && set_limit(RLIMIT_CPU, l->cpu_seconds, "CPU time", error_r) < 0)
		return -1;
#ifndef SANDBOX_ASAN
	if (l->memory_bytes && set_limit(RLIMIT_AS, l->memory_bytes, "address space", error_r) < 0)
		return -1;
#endif
	return 0;
}

/* ---- Landlock ---- */

/*
 * The kernel's constants, spelt out: the installed linux/landlock.h may be
 * older than the kernel (Debian 12's stops at ABI 2), and the rights of a
 * newer ABI must still be asked for.
 */
#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH      1

#define LL_FS_EXECUTE          (1ull << 0)
#define LL_FS_WRITE_FILE       (1ull << 1)
#define LL_FS_REMOVE_DIR       (1ull << 4)
#define LL_FS_REMOVE_FILE      (1ull << 5)
#define LL_FS_MAKE_CHAR        (1ull << 6)
#define LL_FS_MAKE_DIR         (1ull << 7)
#define LL_FS_MAKE_REG         (1ull << 8)
#define LL_FS_MAKE_SOCK        (1ull << 9)
#define LL_FS_MAKE_FIFO        (1ull << 10)
#define LL_FS_MAKE_BLOCK       (1ull << 11)
#define LL_FS_MAKE_SYM         (1ull << 12)
#define LL_FS_REFER            (1ull << 13) /* ABI 2 */
#define LL_FS_TRUNCATE         (1ull << 14) /* ABI 3 */
#define LL_FS_IOCTL_DEV        (1ull << 15) /* ABI 5 */
#define LL_NET_BIND_TCP        (1ull << 0)  /* ABI 4 */
#define LL_NET_CONNECT_TCP     (1ull << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ull << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL        (1ull << 1)

#define LL_FS_ABI1                                                                                 \
	(LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE |                 \
	 LL_FS_MAKE_CHAR | LL_FS_MAKE_DIR | LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | LL_FS_MAKE_FIFO |   \
	 LL_FS_MAKE_BLOCK | LL_FS_MAKE_SYM)

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

static int landlock_abi(void)
{
#ifdef SYS_landlock_create_ruleset
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);

	return abi > 0 ? (int)abi : 0;
#else
	return 0;
#endif
}

bool sandbox_landlock_available(void)
{
	return landlock_abi() > 0;
}

#ifdef SYS_landlock_create_ruleset

/* landlock_rights - what this ABI lets us deny; reading is not among it */
static struct ll_ruleset_attr landlock_rights(int abi, size_t *size_r)
{
	struct ll_ruleset_attr attr = {.handled_access_fs = LL_FS_ABI1};

	if (abi >= 2)
		attr.handled_access_fs |= LL_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= LL_FS_IOCTL_DEV;
	if (abi >= 4)
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	if (abi >= 6)
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
	/* An older kernel refuses fields it does not know unless they are cut off. */
	*size_r = abi >= 6 ? 24 : abi >= 4 ? 16 : 8;
	return attr;
}

/* landlock_allow - give back access under path; 0, or -1 with errno */
static int landlock_allow(int ruleset, const char *path, uint64_t access)
{
	struct ll_path_beneath_attr rule = {.allowed_access = access};
	int rc;

	rule.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (rule.parent_fd < 0)
		return -1;
	rc = (int)syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &rule, 0);
	close(rule.parent_fd);
	return rc < 0 ? -1 : 0;
}

static int landlock_fill(int ruleset, uint64_t handled, const char *writable_dir, char **error_r)
{
	/* Libraries open /dev/null for writing now and then; it is harmless. */
	uint64_t devnull = handled & (LL_FS_WRITE_FILE | LL_FS_TRUNCATE);

	if (writable_dir && landlock_allow(ruleset, writable_dir,
	                                   handled & ~(LL_FS_EXECUTE | LL_FS_IOCTL_DEV)) < 0) {
		*error_r = xasprintf("landlock rule for %s: %s", writable_dir, strerror(errno));
		return -1;
	}
	if (landlock_allow(ruleset, "/dev/null", devnull) < 0 && errno != ENOENT) {
		*error_r = xasprintf("landlock rule for /dev/null: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* landlock_restrict - deny writes outside writable_dir; no-op without Landlock */
static int landlock_restrict(const char *writable_dir, char **error_r)
{
	int abi = landlock_abi(), ruleset, rc;
	struct ll_ruleset_attr attr;
	size_t size;

	if (abi == 0)
		return 0;
	attr = landlock_rights(abi, &size);
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (ruleset < 0) {
		*error_r = xasprintf("landlock ruleset (ABI %d): %s", abi, strerror(errno));
		return -1;
	}
	rc = landlock_fill(ruleset, attr.handled_access_fs, writable_dir, error_r);
	if (rc == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
		*error_r = xasprintf("landlock restrict: %s", strerror(errno));
		rc = -1;
	}
	close(ruleset);
	return rc;
}

#else

static int landlock_restrict(const char *writable_dir, char **error_r)
{
	return 0;
}

#endif

/* ---- seccomp ---- */

/* clang-format off */

/* Killed on sight: no parser needs them, every escape does. */
static const char *const fatal_syscalls[] = {
	/* network */
	"socket", "socketpair", "socketcall", "connect", "bind", "listen", "accept", "accept4",
	/* new programs and processes */
	"execve", "execveat", "fork", "vfork", "unshare", "setns",
	/* other processes */
	"ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "kcmp",
	"pidfd_getfd", "pidfd_send_signal", "process_mrelease",
	/* the filesystem tree */
	"mount", "umount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount",
	"fspick", "move_mount", "open_tree", "mount_setattr", "mknod", "mknodat",
	"open_by_handle_at", "name_to_handle_at", "fanotify_init", "quotactl", "quotactl_fd",
	/* identity */
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid",
	"setfsgid", "setgroups", "capset",
	/* the kernel itself */
	"kexec_load", "kexec_file_load", "bpf", "init_module", "finit_module", "delete_module",
	"keyctl", "add_key", "request_key", "perf_event_open", "userfaultfd", "personality",
	"io_uring_setup", "io_uring_enter", "io_uring_register", "iopl", "ioperm", "modify_ldt",
	"reboot", "swapon", "swapoff", "syslog", "acct", "settimeofday", "clock_settime",
	"adjtimex", "clock_adjtime", "sethostname", "setdomainname", "uselib", "vhangup",
	"lookup_dcookie", "nfsservctl",
};

/* Signals only to itself: a worker has no business with anyone else. */
static const char *const self_signal_syscalls[] = {
	"kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
};

/* Namespace flags are refused even on a thread (clone(2) allows some combinations). */
static const unsigned long namespace_flags[] = {
	CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
	CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
};

/* clang-format on */

/* rule - add one rule for the syscall called name, if this machine has it */
static int rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned count,
                const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);

	/* Unknown to libseccomp, or not a syscall on this architecture. */
	if (nr == __NR_SCMP_ERROR || nr < 0)
		return 0;
	return seccomp_rule_add_array(ctx, action, nr, count, cmp);
}

static int clone_rules(scmp_filter_ctx ctx)
{
	/* Threads are fine (libraries may start them); a new process is not. */
	struct scmp_arg_cmp no_thread = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0);
	int rc = rule(ctx, SCMP_ACT_KILL_PROCESS, "clone", 1, &no_thread);

	for (size_t i = 0; rc == 0 && i < sizeof(namespace_flags) / sizeof(*namespace_flags); i++) {
		struct scmp_arg_cmp ns =
		    SCMP_A0(SCMP_CMP_MASKED_EQ, namespace_flags[i], namespace_flags[i]);
		rc = rule(ctx, SCMP_ACT_KILL_PROCESS, "clone", 1, &ns);
	}
	/* clone3 passes its flags in memory seccomp cannot read. */
	if (rc == 0)
		rc = rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
	return rc;
}

static int signal_and_ioctl_rules(scmp_filter_ctx ctx)
{
	/* Any other value, upper bits included, means someone else. */
	struct scmp_arg_cmp other = SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)getpid());
	/* The kernel reads only the low 32 bits of an ioctl request. */
	struct scmp_arg_cmp sti = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI);
	struct scmp_arg_cmp linux_console = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX);
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(self_signal_syscalls) / sizeof(char *); i++)
		rc = rule(ctx, SCMP_ACT_KILL_PROCESS, self_signal_syscalls[i], 1, &other);
	if (rc == 0)
		rc = rule(ctx, SCMP_ACT_KILL_PROCESS, "ioctl", 1, &sti);
	if (rc == 0)
		rc = rule(ctx, SCMP_ACT_KILL_PROCESS, "ioctl", 1, &linux_console);
	return rc;
}

static int seccomp_rules(scmp_filter_ctx ctx)
{
	int rc;

	/* A foreign ABI (int 0x80, x32) would walk around a deny-list. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (size_t i = 0; rc == 0 && i < sizeof(fatal_syscalls) / sizeof(*fatal_syscalls); i++)
		rc = rule(ctx, SCMP_ACT_KILL_PROCESS, fatal_syscalls[i], 0, NULL);
	if (rc == 0)
		rc = clone_rules(ctx);
	if (rc == 0)
		rc = signal_and_ioctl_rules(ctx);
	return rc;
}

static int seccomp_restrict(char **error_r)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc;

	if (ctx == NULL) {
		*error_r = xstrdup("seccomp_init failed");
		return -1;
	}
	rc = seccomp_rules(ctx);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		*error_r = xasprintf("seccomp filter: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

int sandbox_enter(const struct sandbox_limits *l, char **error_r)
{
	if (set_limits(l, error_r) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		*error_r = xasprintf("no_new_privs: %s", strerror(errno));
		return -1;
	}
	/* Not dumpable: no core of a message, and no same-user debugger. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		*error_r = xasprintf("dumpable: %s", strerror(errno));
		return -1;
	}
	if (landlock_restrict(l->writable_dir, error_r) < 0)
		return -1;
	return seccomp_restrict(error_r);
}
