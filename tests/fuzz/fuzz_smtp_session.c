/*
 * fuzz_smtp_session - a whole SMTP session driven by hostile client bytes.
 *
 * The input is what a client sends; a real session runs on one end of a
 * socket pair against the embedded Maildir store, so every command
 * handler, the path parser, DATA and BDAT reading and delivery see it.
 * Crashes and sanitizer reports are the findings; the store is emptied
 * after each input.
 */
#include "config.h"

#define _XOPEN_SOURCE_EXTENDED 1
#include <arpa/inet.h>
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "gateway/smtp_session.h"
#include "gateway/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[] = "/tmp/fuzz_smtp_session.XXXXXX";
static char store[sizeof(root) + 16];

struct client {
	int fd;
	const uint8_t *data;
	size_t size;
};

static int remove_any(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

/* cleanup - the whole scratch folder goes when the process ends */
static void cleanup(void)
{
	nftw(root, remove_any, 16, FTW_DEPTH | FTW_PHYS);
}

static int setup(void)
{
	char path[sizeof(root) + 16];
	struct snapshot *snap;
	char *errors = NULL;
	FILE *f;

	log_mute(true);
	if (mkdtemp(root) == NULL)
		return -1;
	atexit(cleanup);
	snprintf(store, sizeof(store), "%s/store", root);
	snprintf(path, sizeof(path), "%s/conf", root);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	/* With the shipped rules when the source folder is known (make check). */
	const char *srcdir = getenv("srcdir");
	if (srcdir)
		fprintf(f, "rules_dir = %s/rules\nquarantine_dir = %s/quarantine\n", srcdir, root);
	fprintf(f, "myhostname = fuzz.example.test\n"
		   "relay_domains = example.test\n"
		   "mynetworks = 192.0.2.0/25\n"
		   "message_size_limit = 64K\n"
		   "max_recipients = 5\n"
		   "smtpd_timeout = 1s\n"
		   "smtpd_data_timeout = 1s\n"
		   "next_hop = maildir:%s\n", store);
	fclose(f);
	if (snapshot_build(path, &snap, &errors) != 0) {
		fprintf(stderr, "%s", errors);
		return -1;
	}
	snapshot_install(snap);
	return 0;
}

/* client_thread - send the input, then read replies until the session ends */
static void *client_thread(void *arg)
{
	struct client *c = arg;
	char sink[4096];
	size_t off = 0;

	while (off < c->size) {
		ssize_t n = send(c->fd, c->data + off, c->size - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	while (read(c->fd, sink, sizeof(sink)) > 0)
		;
	return NULL;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (ftw->level > 0)
		remove(path);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct sockaddr_storage peer = {0}, local = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&peer;
	struct client c;
	pthread_t tid;
	int sv[2];

	if (!ready)
		ready = setup() == 0 ? 1 : -1;
	if (ready < 0)
		abort();
	if (size > 1 << 16 || size < 1)
		return 0;
	/* The first byte picks a trusted (mynetworks) or an outside client. */
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, data[0] & 1 ? "192.0.2.1" : "192.0.2.200", &sin->sin_addr);
	local = peer;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	c = (struct client){.fd = sv[1], .data = data + 1, .size = size - 1};
	pthread_create(&tid, NULL, client_thread, &c);
	smtp_session_run(sv[0], &peer, &local, -1);
	pthread_join(tid, NULL);
	close(sv[1]);
	nftw(store, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
