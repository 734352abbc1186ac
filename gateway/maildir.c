/*
 * maildir - the embedded store: deliver into a local Maildir per recipient.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/xalloc.h"
#include "gateway/maildir.h"

struct maildir_copy {
	char *tmp_path;
	char *new_path;
	char *new_dir;
	int state;		/* 0 nothing, 1 in tmp, 2 in new */
};

char *maildir_mailbox_name(const char *addr)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyz0123456789.@_+=-";
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; addr[i]; i++) {
		unsigned char c = (unsigned char)addr[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (strchr(safe, c) && !(i == 0 && c == '.'))
			buf_append_char(&b, (char)c);
		else
			buf_printf(&b, "%%%02X", c);
	}
	return buf_steal(&b);
}

/* ensure_dir - mkdir that accepts an existing folder */
static int ensure_dir(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

/* ensure_maildir - root/mailbox/{tmp,new,cur} */
static int ensure_maildir(const char *dir)
{
	static const char *const subdirs[] = {"tmp", "new", "cur"};
	char path[4096];

	if (ensure_dir(dir) != 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, subdirs[i]);
		if (ensure_dir(path) != 0)
			return -1;
	}
	return 0;
}

/* unique_name - time.MusecPpidQn.host, as the Maildir convention asks */
static char *unique_name(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static unsigned long counter;
	struct timeval tv;
	char host[256];
	unsigned long n;

	pthread_mutex_lock(&lock);
	n = ++counter;
	pthread_mutex_unlock(&lock);
	gettimeofday(&tv, NULL);
	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	for (char *p = host; *p; p++)
		if (*p == '/' || *p == ':')
			*p = '_';
	return xasprintf("%lld.M%ldP%ldQ%lu.%s", (long long)tv.tv_sec, (long)tv.tv_usec,
			 (long)getpid(), n, host);
}

/* write_lf - write data with each CR LF turned into LF */
static int write_lf(int fd, const struct buf *data)
{
	struct buf out;
	const char *p = data->data ? data->data : "";
	size_t i = 0, len = data->len;
	int rc = 0;

	buf_init(&out);
	buf_reserve(&out, len);
	while (i < len) {
		const char *cr = memchr(p + i, '\r', len - i);
		size_t end = cr ? (size_t)(cr - p) : len;
		buf_append(&out, p + i, end - i);
		if (cr && end + 1 < len && p[end + 1] == '\n')
			i = end + 1;
		else if (cr) {
			buf_append_char(&out, '\r');
			i = end + 1;
		} else
			i = len;
	}
	rc = fileio_write_all(fd, out.data ? out.data : "", out.len);
	buf_free(&out);
	return rc;
}

/* write_tmp - one copy into tmp/, written and fsync'd */
static int write_tmp(struct maildir_copy *copy, const char *root, const char *addr,
		     const struct buf *header, const struct buf *msg, char **error_r)
{
	char *mailbox = maildir_mailbox_name(addr);
	char *dir = xasprintf("%s/%s", root, mailbox);
	char *name = unique_name();
	int fd = -1, rc = -1;

	free(mailbox);
	if (ensure_maildir(dir) != 0) {
		*error_r = xasprintf("cannot create Maildir %s: %s", dir, strerror(errno));
		goto out;
	}
	copy->tmp_path = xasprintf("%s/tmp/%s", dir, name);
	copy->new_dir = xasprintf("%s/new", dir);
	fd = open(copy->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error_r = xasprintf("cannot create %s: %s", copy->tmp_path, strerror(errno));
		goto out;
	}
	copy->state = 1;
	if (write_lf(fd, header) != 0 || write_lf(fd, msg) != 0 || fsync(fd) != 0) {
		*error_r = xasprintf("cannot write %s: %s", copy->tmp_path, strerror(errno));
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		*error_r = xasprintf("cannot stat %s: %s", copy->tmp_path, strerror(errno));
		goto out;
	}
	copy->new_path = xasprintf("%s/%s,S=%lld", copy->new_dir, name, (long long)st.st_size);
	rc = 0;
out:
	if (fd >= 0 && close(fd) != 0 && rc == 0) {
		*error_r = xasprintf("cannot write %s: %s", copy->tmp_path, strerror(errno));
		rc = -1;
	}
	free(dir);
	free(name);
	return rc;
}

/* undo_copies - remove every copy made so far */
static void undo_copies(struct maildir_copy *copies, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (copies[i].state == 1)
			unlink(copies[i].tmp_path);
		else if (copies[i].state == 2) {
			unlink(copies[i].new_path);
			fileio_fsync_dir(copies[i].new_dir);
		}
	}
}

int maildir_deliver(const char *root, const char *const *addrs, size_t n,
		    const struct buf *header, const struct buf *msg, char **error_r)
{
	struct maildir_copy *copies = xcalloc(n, sizeof(*copies));
	int rc = -1;
	size_t i;

	for (i = 0; i < n; i++)
		if (write_tmp(&copies[i], root, addrs[i], header, msg, error_r) != 0)
			goto out;
	for (i = 0; i < n; i++) {
		if (rename(copies[i].tmp_path, copies[i].new_path) != 0) {
			*error_r = xasprintf("cannot rename into %s: %s", copies[i].new_dir,
					     strerror(errno));
			goto out;
		}
		copies[i].state = 2;
	}
	for (i = 0; i < n; i++) {
		if (fileio_fsync_dir(copies[i].new_dir) != 0) {
			*error_r = xasprintf("cannot sync %s: %s", copies[i].new_dir,
					     strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		undo_copies(copies, n);
	for (i = 0; i < n; i++) {
		free(copies[i].tmp_path);
		free(copies[i].new_path);
		free(copies[i].new_dir);
	}
	free(copies);
	return rc;
}
