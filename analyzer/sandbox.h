/*
 * sandbox - what an analyzer worker gives up before it reads attacker-made
 * bytes: the network, new programs and processes, privileges, writing
 * outside its own temp dir, and unbounded memory and CPU.
 *
 * Layers, each on its own enough to stop something the others miss:
 *
 *  - rlimits: address space (memory_bytes), CPU seconds over the worker's
 *    whole life (cpu_seconds; the daemon's per-message timeout is the fine
 *    bound), file size, open files; no core files, and the process is made
 *    non-dumpable, so mail never lands in a core dump.
 *  - no_new_privs: nothing the worker runs can gain privileges.
 *  - Landlock (when the kernel has it): every right to write, create,
 *    remove, rename, link, truncate, execute or ioctl a device is denied
 *    everywhere except under writable_dir (plus writing /dev/null). Reading
 *    stays allowed: libclamav, libmagic, GMime and glibc load data files
 *    and locale tables lazily, long after the worker starts. With ABI >= 4
 *    TCP bind and connect are denied, with ABI >= 6 signals to processes
 *    outside the worker and abstract unix sockets too.
 *  - seccomp: a deny-list that kills the whole process (SIGSYS) on the
 *    syscalls an exploit needs and a parser never does: sockets, exec,
 *    fork (clone without CLONE_THREAD, or with a namespace flag), ptrace
 *    and other processes' memory, mount and namespaces, the setuid family,
 *    modules, kexec, bpf, perf, userfaultfd, io_uring (its operations are
 *    not seen by seccomp), keyrings, personality, signals to any process but
 *    itself, and the TIOCSTI terminal ioctl. clone3 fails with ENOSYS, which
 *    glibc answers by falling back to clone, whose flags seccomp can see.
 *    Syscalls of a foreign ABI (x32, i386) kill too.
 *
 * Why a deny-list and not an allow-list: an allow-list is stronger (a new
 * kernel syscall stays shut), but the worker runs libclamav, libarchive,
 * libmagic, GMime and GLib, whose syscalls vary with the library version,
 * the file type and the bytecode signatures, and cannot all be exercised
 * here. One syscall missed means every worker dies on some message and the
 * gateway answers 4xx to that mail for good. So the filter denies, with
 * certainty, what turns a parser bug into more than a wrong answer, and
 * Landlock, which is an allow-list for the filesystem, covers files.
 *
 * Under AddressSanitizer RLIMIT_AS is left alone: ASan reserves terabytes
 * of address space. RLIMIT_NPROC is left alone too: it counts every
 * process and thread of the user, daemon included, so no fixed number is
 * right; the seccomp filter stops fork instead.
 *
 * Call sandbox_enter while the process has a single thread: Landlock
 * restricts only the calling thread. It cannot be undone.
 */
#ifndef SEKISHO_SANDBOX_H
#define SEKISHO_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

struct sandbox_limits {
	size_t memory_bytes;      /* RLIMIT_AS, 0 = none */
	unsigned cpu_seconds;     /* RLIMIT_CPU, hard bound on the worker's life; 0 = none */
	const char *writable_dir; /* the only place files may be created, NULL = none */
};

/* Files a worker writes (archive members, ClamAV temp files) stop here. */
#define SANDBOX_MAX_FILE_BYTES (1ull << 30)
#define SANDBOX_MAX_OPEN_FILES 1024

/* sandbox_enter - apply every layer; 0, or -1 with *error_r (caller frees) */
int sandbox_enter(const struct sandbox_limits *l, char **error_r);

/* sandbox_landlock_available - whether the kernel enforces Landlock */
bool sandbox_landlock_available(void);

#endif
