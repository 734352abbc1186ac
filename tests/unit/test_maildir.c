/*
 * test_maildir - mailbox names and all-or-nothing delivery.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "gateway/maildir.h"
#include "tests/unit/check.h"

static void test_names(void)
{
	static const struct {
		const char *addr, *name;
	} cases[] = {
		{"User@Example.TEST", "user@example.test"},
		{"../../etc/passwd", "%2E.%2F..%2Fetc%2Fpasswd"},
		{".hidden@x", "%2Ehidden@x"},
		{"\"a b\"@x", "%22a%20b%22@x"},
		{"\xe5\xb1\xb1@x", "%E5%B1%B1@x"},
		{"a+tag@x", "a+tag@x"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *name = maildir_mailbox_name(cases[i].addr);
		CHECK_STR(name, cases[i].name);
		CHECK(strchr(name, '/') == NULL);
		free(name);
	}
}

/* count_files - regular entries in dir, or -1 if it cannot be read */
static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* read_only_file - the one file in dir, whole */
static char *read_only_file(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char *path = NULL, *data = NULL;
	FILE *f;
	long size;

	while (d && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			path = xasprintf("%s/%s", dir, de->d_name);
	if (d)
		closedir(d);
	if (path == NULL || (f = fopen(path, "rb")) == NULL) {
		free(path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	data = xcalloc(1, (size_t)size + 1);
	if (fread(data, 1, (size_t)size, f) != (size_t)size)
		data[0] = '\0';
	fclose(f);
	CHECK(strstr(path, ",S=") != NULL);
	free(path);
	return data;
}

static void test_deliver(const char *root)
{
	const char *addrs[] = {"one@example.test", "Two@Example.test"};
	struct buf header, msg;
	char *error = NULL, *dir, *content;

	buf_init(&header);
	buf_init(&msg);
	buf_append_str(&header, "Received: from x\r\n\tby y; date\r\n");
	buf_append_str(&msg, "Subject: t\r\n\r\nline\r\nkeep\rcr\r\n");
	CHECK_INT(maildir_deliver(root, addrs, 2, &header, &msg, &error), 0);
	CHECK(error == NULL);
	dir = xasprintf("%s/two@example.test/new", root);
	content = read_only_file(dir);
	CHECK_STR(content, "Received: from x\n\tby y; date\nSubject: t\n\nline\nkeep\rcr\n");
	free(content);
	free(dir);
	dir = xasprintf("%s/one@example.test/tmp", root);
	CHECK_INT(count_files(dir), 0);
	free(dir);
	buf_free(&header);
	buf_free(&msg);
}

/* test_all_or_nothing - one recipient fails: no copy stays anywhere */
static void test_all_or_nothing(const char *root)
{
	const char *addrs[] = {"good@example.test", "blocked@example.test"};
	struct buf header, msg;
	char *error = NULL, *path;
	FILE *f;

	/* A plain file where the second mailbox folder should be. */
	path = xasprintf("%s/blocked@example.test", root);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	free(path);
	buf_init(&header);
	buf_init(&msg);
	buf_append_str(&msg, "x\r\n");
	CHECK_INT(maildir_deliver(root, addrs, 2, &header, &msg, &error), -1);
	CHECK(error != NULL);
	free(error);
	path = xasprintf("%s/good@example.test/new", root);
	CHECK_INT(count_files(path), 0);
	free(path);
	path = xasprintf("%s/good@example.test/tmp", root);
	CHECK_INT(count_files(path), 0);
	free(path);
	buf_free(&header);
	buf_free(&msg);
}

int main(void)
{
	char root[] = "/tmp/test_maildir.XXXXXX";
	char *cmd;

	test_names();
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_deliver(root);
	test_all_or_nothing(root);
	cmd = xasprintf("rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", root);
	free(cmd);
	return check_summary("test_maildir");
}
