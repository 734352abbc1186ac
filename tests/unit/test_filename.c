/*
 * test_filename - how attachment names are read: extensions and tricks.
 */
#include "config.h"

#include <string.h>

#include "filters/filename.h"
#include "tests/unit/check.h"

static struct filename_info info;

static void analyze(const char *name)
{
	filename_analyze(name, &info);
}

static const char *exts(void)
{
	static char joined[128];

	joined[0] = '\0';
	for (size_t i = 0; i < info.nexts; i++) {
		if (i)
			strcat(joined, " ");
		strcat(joined, info.exts[i]);
	}
	return joined;
}

static void test_plain_names(void)
{
	analyze("report.PDF");
	CHECK_STR(info.ext, "pdf");
	CHECK_STR(exts(), "pdf");
	CHECK_INT(info.tricks, 0);

	analyze("invoice.pdf.exe");
	CHECK_STR(info.ext, "exe");
	CHECK_STR(exts(), "pdf exe");
	CHECK_INT(info.tricks, 0);

	analyze("Re. the meeting.txt");
	CHECK_STR(info.ext, "txt");
	CHECK_STR(exts(), "txt");

	analyze("no extension");
	CHECK_STR(info.ext, "");
	CHECK_INT(info.nexts, 0);

	analyze("");
	CHECK_STR(info.ext, "");

	analyze("C:\\Users\\x\\setup.EXE");
	CHECK_STR(info.ext, "exe");

	analyze("../../etc/run.sh");
	CHECK_STR(info.ext, "sh");

	/* a "segment" too long or with other characters is no extension */
	analyze("archive.thisistoolong");
	CHECK_STR(info.ext, "");
	analyze("a.b c");
	CHECK_STR(info.ext, "");
}

static void test_tricks(void)
{
	/* "invoice<U+202E>fdp.exe" shows as "invoiceexe.pdf" */
	analyze("invoice\xe2\x80\xae" "fdp.exe");
	CHECK_STR(info.ext, "exe");
	CHECK(info.tricks & NAME_TRICK_RTLO);

	analyze("document.pdf                                        .exe");
	CHECK_STR(info.ext, "exe");
	CHECK_STR(exts(), "pdf exe");
	CHECK(info.tricks & NAME_TRICK_SPACES);

	/* four spaces are a style, not a trick */
	analyze("my    file.txt");
	CHECK_INT(info.tricks, 0);

	/* ideographic spaces count as spaces */
	analyze("a.pdf\xe3\x80\x80\xe3\x80\x80\xe3\x80\x80\xe3\x80\x80\xe3\x80\x80.exe");
	CHECK(info.tricks & NAME_TRICK_SPACES);

	/* Windows drops trailing dots and spaces: "evil.exe. ." runs */
	analyze("evil.exe. . ");
	CHECK_STR(info.ext, "exe");
	CHECK(info.tricks & NAME_TRICK_TRAILING);

	/* a one-dot leader looks like a dot: a reader sees .pdf, Windows .exe */
	analyze("statement\xe2\x80\xa4pdf.exe");
	CHECK_STR(info.ext, "exe");
	CHECK_STR(exts(), "pdf exe");
	CHECK(info.tricks & NAME_TRICK_LOOKALIKE_DOT);

	/* ...and a look-alike dot last is no extension to Windows */
	analyze("photo\xef\xbc\x8ejpg");
	CHECK_STR(info.ext, "");
	CHECK_STR(exts(), "jpg");

	analyze("x.e\xe2\x80\x8bxe");
	CHECK_STR(info.ext, "exe");
	CHECK(info.tricks & NAME_TRICK_INVISIBLE);

	analyze("bad\tname.exe");
	CHECK(info.tricks & NAME_TRICK_CONTROL);

	CHECK_STR(filename_trick_name(NAME_TRICK_RTLO), "rtlo");
	CHECK_STR(filename_trick_name(NAME_TRICK_SPACES), "spaces");
}

static void test_many_extensions(void)
{
	analyze("a.b1.b2.b3.b4.b5.b6.b7.b8.b9.b10.exe");
	CHECK_INT(info.nexts, FILENAME_MAX_EXTS);
	CHECK_STR(info.exts[FILENAME_MAX_EXTS - 1], "exe");
	CHECK_STR(info.ext, "exe");
}

int main(void)
{
	test_plain_names();
	test_tricks();
	test_many_extensions();
	return check_summary("test_filename");
}
