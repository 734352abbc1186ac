/*
 * test_smtp_commands - verb lookup and BDAT arguments.
 */
#include "config.h"

#include "gateway/smtp_commands.h"
#include "tests/unit/check.h"

struct lookup_case {
	const char *line;
	const char *verb;	/* NULL: unknown */
	const char *args;
};

static const struct lookup_case lookups[] = {
	{"EHLO client.example", "EHLO", " client.example"},
	{"ehlo client.example", "EHLO", " client.example"},
	{"MaIl FROM:<a@b>", "MAIL", " FROM:<a@b>"},
	{"RCPT TO:<a@b>", "RCPT", " TO:<a@b>"},
	{"DATA", "DATA", ""},
	{"QUIT", "QUIT", ""},
	{"STARTTLS", "STARTTLS", ""},
	{"BDAT 10 LAST", "BDAT", " 10 LAST"},
	{"PROXY TCP4 1.2.3.4 5.6.7.8 1 2", "PROXY", " TCP4 1.2.3.4 5.6.7.8 1 2"},
	{"MAILX FROM:<a@b>", NULL, NULL},
	{"MAI", NULL, NULL},
	{"", NULL, NULL},
	{" EHLO x", NULL, NULL},
	{"STARTTLSX", NULL, NULL},
	{"EHLO\tx", NULL, NULL},
};

static void test_lookup(void)
{
	for (size_t i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++) {
		const struct lookup_case *c = &lookups[i];
		const char *args = NULL;
		size_t alen = 0;
		const struct smtp_command *cmd =
			smtp_command_lookup(c->line, strlen(c->line), &args, &alen);

		if (c->verb == NULL) {
			CHECK(cmd == NULL);
			continue;
		}
		CHECK(cmd != NULL);
		if (cmd == NULL)
			continue;
		CHECK_STR(cmd->verb, c->verb);
		CHECK_INT(alen, strlen(c->args));
		CHECK(memcmp(args, c->args, alen) == 0);
	}
}

struct bdat_case {
	const char *args;
	int rc;
	unsigned long long size;
	bool last;
};

static const struct bdat_case bdats[] = {
	{" 0", 0, 0, false},
	{" 1000", 0, 1000, false},
	{" 1000 LAST", 0, 1000, true},
	{" 5 last", 0, 5, true},
	{"  7   LAST", 0, 7, true},
	{" 18446744073709551615", 0, 18446744073709551615ULL, false},
	{" 18446744073709551616", -1, 0, false},
	{"", -1, 0, false},
	{" LAST", -1, 0, false},
	{" -1", -1, 0, false},
	{" 10 FIRST", -1, 0, false},
	{" 10 LAST x", -1, 0, false},
	{" 10x", -1, 0, false},
};

static void test_bdat(void)
{
	for (size_t i = 0; i < sizeof(bdats) / sizeof(bdats[0]); i++) {
		const struct bdat_case *c = &bdats[i];
		uint64_t size = 0;
		bool last = false;
		int rc = smtp_bdat_args_parse(c->args, strlen(c->args), &size, &last);

		CHECK_INT(rc, c->rc);
		if (rc == 0) {
			CHECK(size == c->size);
			CHECK_INT(last, c->last);
		}
	}
}

int main(void)
{
	test_lookup();
	test_bdat();
	return check_summary("test_smtp_commands");
}
