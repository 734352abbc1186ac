/*
 * replay_main - run a libFuzzer target over its seed corpus without libFuzzer.
 *
 * Builds without clang link each fuzz target against this driver so that
 * `make check` replays tests/fuzz/corpus/<target>/ (and any files or folders
 * named on the command line) through the same entry point, under the
 * sanitizers when the build has them.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long size;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0) {
		perror(path);
		if (f)
			fclose(f);
		return -1;
	}
	rewind(f);
	data = malloc((size_t)size + 1);
	if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
		perror(path);
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)size);
	free(data);
	return 0;
}

static int replay_path(const char *path, int *count)
{
	struct stat st;
	DIR *dir;
	struct dirent *de;
	char child[4096];
	int rc = 0;

	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	if ((dir = opendir(path)) == NULL) {
		perror(path);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
		if (replay_path(child, count) != 0)
			rc = -1;
	}
	closedir(dir);
	return rc;
}

int main(int argc, char **argv)
{
	char corpus[4096];
	const char *name = strrchr(argv[0], '/');
	const char *srcdir = getenv("srcdir");
	int count = 0, rc = 0;

	name = name ? name + 1 : argv[0];
	if (strncmp(name, "lt-", 3) == 0)
		name += 3;
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			if (replay_path(argv[i], &count) != 0)
				rc = 1;
	} else {
		snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus/%s",
			 srcdir ? srcdir : ".", name);
		if (replay_path(corpus, &count) != 0)
			rc = 1;
	}
	printf("%s: replayed %d inputs\n", name, count);
	return rc;
}
