/*
 * fileio - the two steps of putting a file on disk for good.
 */
#ifndef SEKISHO_FILEIO_H
#define SEKISHO_FILEIO_H

#include <stddef.h>

/* fileio_write_all - write every byte, retrying short writes; 0 or -1 (errno) */
int fileio_write_all(int fd, const void *data, size_t len);

/* fileio_fsync_dir - make a rename or unlink in dir durable; 0 or -1 (errno) */
int fileio_fsync_dir(const char *dir);

#endif
