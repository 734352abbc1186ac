/*
 * control - the daemon's unix control socket, for the sekisho CLI.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/xalloc.h"
#include "gateway/conn.h"
#include "gateway/control.h"

#define CONTROL_TIMEOUT 5

static int unix_address(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -1;
	strcpy(sun->sun_path, path);
	return 0;
}

int control_open(const char *path, uid_t owner, gid_t group, char **error_r)
{
	struct sockaddr_un sun;
	int fd;

	if (unix_address(path, &sun) != 0) {
		*error_r = xasprintf("control_socket %s: path too long", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		*error_r = xasprintf("control_socket %s: %s", path, strerror(errno));
		return -1;
	}
	/* A stale socket from a crashed run would make bind fail. */
	unlink(path);
	mode_t old = umask(0077);
	int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc != 0 || listen(fd, 16) != 0 || chown(path, owner, group) != 0) {
		*error_r = xasprintf("control_socket %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void control_serve(int lfd, void (*reload)(char **result_r), void (*status)(char **result_r),
		   char *(*stats)(bool prometheus))
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	long long deadline = clock_deadline(CONTROL_TIMEOUT);
	struct conn c;
	const char *line;
	size_t len;
	char *result = NULL;

	if (fd < 0)
		return;
	conn_init(&c, fd);
	conn_set_socket_options(fd);
	if (conn_read_line(&c, 256, deadline, &line, &len) == CONN_OK && len <= 256) {
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len == 6 && memcmp(line, "reload", 6) == 0)
			reload(&result);
		else if (len == 6 && memcmp(line, "status", 6) == 0)
			status(&result);
		else if (len == 5 && memcmp(line, "stats", 5) == 0)
			result = stats(false);
		else if (len == 7 && memcmp(line, "metrics", 7) == 0)
			result = stats(true);
		else
			result = xstrdup("error: unknown request (try reload, status, stats or "
					 "metrics)\n");
		conn_write(&c, result, strlen(result));
		conn_flush(&c, deadline);
	}
	free(result);
	conn_close(&c);
}

int control_request(const char *path, const char *request, char **reply_r,
		    const char **error_r)
{
	struct sockaddr_un sun;
	long long deadline = clock_deadline(60);
	struct conn c;
	enum conn_status st;
	int fd;

	if (unix_address(path, &sun) != 0) {
		*error_r = "control socket path too long";
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		*error_r = strerror(errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	conn_init(&c, fd);
	conn_set_socket_options(fd);
	conn_write(&c, request, strlen(request));
	conn_write(&c, "\n", 1);
	st = conn_flush(&c, deadline);
	while (st == CONN_OK)
		st = conn_fill(&c, deadline);
	if (st != CONN_EOF) {
		*error_r = conn_status_text(st);
		conn_close(&c);
		return -1;
	}
	buf_cstr(&c.in);
	*reply_r = xstrndup(conn_peek(&c), conn_pending(&c));
	conn_close(&c);
	return 0;
}
