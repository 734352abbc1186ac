/*
 * test_support - helpers the unit tests of the file parsers share.
 */
#ifndef SEKISHO_TEST_SUPPORT_H
#define SEKISHO_TEST_SUPPORT_H

#include <stdbool.h>

#include "common/buf.h"

/* read_fixture - tests/unit/data/name into b; false (and a failed check) if missing */
bool read_fixture(const char *name, struct buf *b);

/*
 * trap_file_syscalls - from now on, opening a file, a stat by path, fork,
 * clone, exec or a socket raise SIGSYS (and the process exits 3); false
 * where seccomp is missing. For a forked child that parses test input.
 */
bool trap_file_syscalls(void);

#endif
