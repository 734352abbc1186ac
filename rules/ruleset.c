/*
 * ruleset - the compiled rule files: lists, rules, and their regexes.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "rules/rule_limit.h"
#include "rules/rule_parser.h"
#include "rules/rule_regex.h"
#include "rules/ruleset.h"

static const char *const stage_names[] = {
	[STAGE_CONNECT] = "connect", [STAGE_HELO] = "helo", [STAGE_MAIL] = "mail",
	[STAGE_RCPT] = "rcpt",	     [STAGE_DATA] = "data", [STAGE_SCORE] = "score",
};

const char *rule_stage_name(enum rule_stage s)
{
	return s < STAGE_COUNT ? stage_names[s] : "?";
}

static void list_free(struct rule_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i]);
	free(list->items);
	cidr_list_free(&list->cidrs);
	free(list->name);
	free(list);
}

void rule_free_fields(struct rule *r)
{
	rule_expr_free(r->when);
	for (size_t t = 0; t < r->ntests; t++) {
		free(r->tests[t].path);
		free(r->tests[t].ip);
		free(r->tests[t].helo);
		free(r->tests[t].from);
		free(r->tests[t].rcpt);
	}
	free(r->tests);
	free(r->name);
	free(r->desc);
	free(r->file);
	free(r->action_text);
}

void ruleset_free(struct ruleset *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->count; i++)
		rule_free_fields(&rs->rules[i]);
	free(rs->rules);
	for (size_t i = 0; i < rs->nlists; i++)
		list_free(rs->lists[i]);
	free(rs->lists);
	rule_prefilter_free(rs->prefilter);
	for (size_t i = 0; i < rs->nlimits; i++)
		rate_limit_free(rs->limits[i]);
	free(rs->limits);
	for (size_t i = 0; i < rs->nregexes; i++)
		rule_regex_free(rs->regexes[i]);
	free(rs->regexes);
	free(rs);
}

/* read_file - a whole rule file, within the size limit */
static int read_file(const char *path, struct buf *out, struct buf *errors)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	char chunk[65536];
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		buf_printf(errors, "%s: %s\n", path, fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		buf_append(out, chunk, (size_t)n);
		if (out->len > RULES_MAX_FILE_SIZE) {
			buf_printf(errors, "%s: larger than %d bytes\n", path, RULES_MAX_FILE_SIZE);
			close(fd);
			return -1;
		}
	}
	close(fd);
	if (n < 0) {
		buf_printf(errors, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int rules_file_filter(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return de->d_name[0] != '.' && n > 6 && strcmp(de->d_name + n - 6, ".rules") == 0;
}

/* finish - build the prefilter, or hand back the errors */
static int finish(struct ruleset *rs, struct buf *errors, struct ruleset **rs_r, char **errors_r)
{
	if (errors->len) {
		ruleset_free(rs);
		*errors_r = buf_steal(errors);
		return -1;
	}
	rs->prefilter = rule_prefilter_build(rs->regexes, rs->nregexes);
	buf_free(errors);
	*rs_r = rs;
	return 0;
}

int ruleset_load_text(const char *name, const char *text, size_t len, struct ruleset **rs_r,
		      char **errors_r)
{
	struct ruleset *rs = xcalloc(1, sizeof(*rs));
	struct buf errors;

	buf_init(&errors);
	rule_parse_file(rs, name, text, len, &errors);
	return finish(rs, &errors, rs_r, errors_r);
}

int ruleset_load_dir(const char *dir, struct ruleset **rs_r, char **errors_r)
{
	struct ruleset *rs = xcalloc(1, sizeof(*rs));
	struct dirent **names = NULL;
	struct buf errors, text;
	int n = scandir(dir, &names, rules_file_filter, alphasort);

	buf_init(&errors);
	buf_init(&text);
	if (n < 0)
		buf_printf(&errors, "%s: %s\n", dir, strerror(errno));
	for (int i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]->d_name);
		buf_reset(&text);
		if (read_file(path, &text, &errors) == 0)
			rule_parse_file(rs, path, text.data ? text.data : "", text.len, &errors);
		free(path);
		free(names[i]);
	}
	free(names);
	buf_free(&text);
	return finish(rs, &errors, rs_r, errors_r);
}

void ruleset_drop_prefilter(struct ruleset *rs)
{
	rule_prefilter_free(rs->prefilter);
	rs->prefilter = NULL;
	for (size_t i = 0; i < rs->nregexes; i++)
		rs->regexes[i]->prefiltered = false;
}
