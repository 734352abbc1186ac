/*
 * test_office - VBA projects in OLE2 files, hostile ones included, and
 * the OOXML member names that mean macros.
 *
 * Well-formed files come from tests/unit/data/ (make-ole2.py writes them
 * and olefile reads them back); the malformed ones are built here.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "common/buf.h"
#include "filters/archive_walk.h"
#include "filters/office.h"
#include "tests/unit/check.h"
#include "tests/unit/test_support.h"

#define FREESECT   0xffffffffU
#define ENDOFCHAIN 0xfffffffeU
#define FATSECT    0xfffffffdU

enum { STORAGE = 1, STREAM = 2, ROOT = 5 };

struct entry {
	const char *name; /* each byte one UTF-16 code unit */
	int type;
};

static void put32(struct buf *b, size_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b->data[off + i] = (char)(v >> (8 * i));
}

static void put16(struct buf *b, size_t off, uint32_t v)
{
	b->data[off] = (char)v;
	b->data[off + 1] = (char)(v >> 8);
}

/* fat_set - the FAT entry for sector s, in a file from ole_build */
static void fat_set(struct buf *b, unsigned shift, uint32_t s, uint32_t v)
{
	size_t ssize = (size_t)1 << shift, per = ssize / 4;

	put32(b, (s / per + 1) * ssize + (s % per) * 4, v);
}

/* put_entry - directory entry e at off; a root when e is NULL */
static void put_entry(struct buf *b, size_t off, const struct entry *e)
{
	const char *name = e ? e->name : "Root Entry";
	size_t n = strlen(name);

	for (size_t i = 0; i < n && i < 32; i++)
		put16(b, off + 2 * i, (unsigned char)name[i]);
	put16(b, off + 64, n < 32 ? (uint32_t)(n + 1) * 2 : 64);
	b->data[off + 66] = (char)(e ? e->type : ROOT);
	b->data[off + 67] = 1;
	put32(b, off + 68, FREESECT);
	put32(b, off + 72, FREESECT);
	put32(b, off + 76, FREESECT);
	put32(b, off + 116, ENDOFCHAIN);
}

/*
 * ole_build - a compound file with 1 << shift byte sectors: the FAT
 * sectors, then the directory (a root, then the n entries, flat: the
 * reader never follows the tree). Returns the first directory sector.
 */
static uint32_t ole_build(struct buf *b, unsigned shift, const struct entry *e, size_t n)
{
	size_t ssize = (size_t)1 << shift, per = ssize / 4, per_dir = ssize / 128;
	size_t ndir = (n + 1 + per_dir - 1) / per_dir, nfat = 1;

	while (nfat * per < nfat + ndir)
		nfat++;
	buf_init(b);
	buf_reserve(b, (1 + nfat + ndir) * ssize);
	memset(b->data, 0, (1 + nfat + ndir) * ssize);
	b->len = (1 + nfat + ndir) * ssize;
	memcpy(b->data, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8);
	put16(b, 24, 0x3e);
	put16(b, 26, shift == 12 ? 4 : 3);
	put16(b, 28, 0xfffe);
	put16(b, 30, shift);
	put16(b, 32, 6);
	put32(b, 40, shift == 12 ? (uint32_t)ndir : 0);
	put32(b, 44, (uint32_t)nfat);
	put32(b, 48, (uint32_t)nfat);
	put32(b, 56, 4096);
	put32(b, 60, ENDOFCHAIN);
	put32(b, 68, ENDOFCHAIN);
	for (size_t i = 0; i < 109; i++)
		put32(b, 76 + 4 * i, i < nfat ? (uint32_t)i : FREESECT);
	for (size_t s = 0; s < nfat * per; s++)
		fat_set(b, shift, (uint32_t)s,
		        s < nfat               ? FATSECT
		        : s + 1 < nfat + ndir  ? (uint32_t)s + 1
		        : s + 1 == nfat + ndir ? ENDOFCHAIN
		                               : FREESECT);
	put_entry(b, (nfat + 1) * ssize, NULL);
	for (size_t i = 0; i < n; i++)
		put_entry(b, (nfat + 1) * ssize + (i + 1) * 128, &e[i]);
	return (uint32_t)nfat;
}

/* built - office_ole_has_vba of a file with these entries */
static bool built(unsigned shift, const struct entry *e, size_t n)
{
	struct buf b;
	bool found;

	ole_build(&b, shift, e, n);
	found = office_ole_has_vba(b.data, b.len);
	buf_free(&b);
	return found;
}

static void test_fixtures(void)
{
	static const struct {
		const char *file;
		bool vba;
	} cases[] = {
	    {"ole-vba.bin", true},        {"ole-vba-excel.bin", true},
	    {"ole-vbaproject.bin", true}, {"ole-macros-only.bin", true},
	    {"ole-novba.bin", false},     {"arch-plain.zip", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;

		if (!read_fixture(cases[i].file, &b))
			continue;
		CHECK_INT(office_ole_has_vba(b.data, b.len), cases[i].vba);
		buf_free(&b);
	}
}

static void test_entry_names(void)
{
	const struct entry doc = {"WordDocument", STREAM};
	static const struct {
		struct entry e;
		bool vba;
	} cases[] = {
	    {{"VBA", STORAGE}, true},
	    {{"vba", STORAGE}, true},
	    {{"Macros", STORAGE}, true},
	    {{"MACROS", STORAGE}, true},
	    {{"_VBA_PROJECT", STREAM}, true},
	    {{"_VBA_PROJECT_CUR", STORAGE}, true},
	    {{"VBA", STREAM}, false}, /* a stream is no project */
	    {{"_VBA_PROJECT", STORAGE}, false},
	    {{"VBA\xe9", STORAGE}, false}, /* U+00E9 after VBA */
	    {{"VBAX", STORAGE}, false},
	    {{"VB", STORAGE}, false},
	    {{"Macro", STORAGE}, false},
	    {{"VBAVBAVBAVBAVBAVBAVBAVBAVBAVBAVB", STORAGE}, false}, /* 32 characters, no NUL */
	    {{"VBA", 0}, false},                                    /* an unused entry */
	    {{"ObjectPool", STORAGE}, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct entry e[2] = {doc, cases[i].e};

		CHECK_INT(built(9, e, 2), cases[i].vba);
		CHECK_INT(built(12, e, 2), cases[i].vba);
		if (built(9, e, 2) != cases[i].vba)
			fprintf(stderr, "  (entry case %zu)\n", i);
	}
}

/* a directory far longer than any real one, the project at its very end */
static void test_long_directory(void)
{
	size_t n = 20000;
	struct entry *e = calloc(n, sizeof(*e));
	struct timespec t0, t1;
	double secs;

	for (size_t i = 0; i < n; i++)
		e[i] = (struct entry){"Stream", STREAM};
	e[n - 1] = (struct entry){"VBA", STORAGE};
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	CHECK(built(9, e, n));
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(secs < 1.0);
	free(e);
}

/* a directory chain that loops back on itself, the project never in it */
static void test_directory_cycle(void)
{
	struct entry e[40];
	struct buf b;
	uint32_t first;

	for (size_t i = 0; i < 40; i++)
		e[i] = (struct entry){"Stream", STREAM};
	first = ole_build(&b, 9, e, 40);
	fat_set(&b, 9, first + 9, first); /* last directory sector -> first */
	CHECK(!office_ole_has_vba(b.data, b.len));
	fat_set(&b, 9, first + 3, first + 3); /* a sector that is its own successor */
	CHECK(!office_ole_has_vba(b.data, b.len));
	buf_free(&b);
}

/* chains and sector numbers that point outside the data */
static void test_wild_numbers(void)
{
	struct entry e[] = {{"Stream", STREAM}, {"VBA", STORAGE}};
	struct buf b;
	uint32_t first = ole_build(&b, 9, e, 2);

	CHECK(office_ole_has_vba(b.data, b.len));
	put32(&b, 48, 0x7fffffff); /* directory start past the end */
	CHECK(!office_ole_has_vba(b.data, b.len));
	put32(&b, 48, 0xfffffffe);
	CHECK(!office_ole_has_vba(b.data, b.len));
	put32(&b, 48, first);
	put32(&b, 76, 0x40000000);                /* the only FAT sector, out of range */
	CHECK(office_ole_has_vba(b.data, b.len)); /* the first directory sector needs no FAT */
	buf_free(&b);
}

/* a DIFAT whose chain is its own successor, full of valid-looking numbers */
static void test_difat_cycle(void)
{
	struct buf b;
	size_t ssize = 512;

	buf_init(&b);
	buf_reserve(&b, 200 * ssize);
	memset(b.data, 0, 200 * ssize);
	b.len = 200 * ssize;
	memcpy(b.data, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8);
	put16(&b, 28, 0xfffe);
	put16(&b, 30, 9);
	put32(&b, 44, 1000);
	put32(&b, 48, 2);
	put32(&b, 68, 1);
	put32(&b, 72, 1000);
	for (size_t i = 0; i < 109; i++)
		put32(&b, 76 + 4 * i, 0);
	put32(&b, 2 * ssize - 4, 1); /* sector 1's link: itself */
	CHECK(!office_ole_has_vba(b.data, b.len));
	put_entry(&b, 3 * ssize, &(struct entry){"VBA", STORAGE});
	CHECK(office_ole_has_vba(b.data, b.len));
	buf_free(&b);
}

static void test_not_ole(void)
{
	struct entry e[] = {{"VBA", STORAGE}};
	struct buf b;

	CHECK(!office_ole_has_vba(NULL, 0));
	CHECK(!office_ole_has_vba("", 0));
	CHECK(!office_ole_has_vba("hello", 5));
	ole_build(&b, 9, e, 1);
	CHECK(office_ole_has_vba(b.data, b.len));
	CHECK(!office_ole_has_vba(b.data, 512)); /* the header alone */
	b.data[28] = 0;                          /* byte order mark */
	CHECK(!office_ole_has_vba(b.data, b.len));
	b.data[28] = (char)0xfe;
	put16(&b, 30, 10); /* a sector size Office never writes */
	CHECK(!office_ole_has_vba(b.data, b.len));
	put16(&b, 30, 9);
	b.data[0] = 'X';
	CHECK(!office_ole_has_vba(b.data, b.len));
	buf_free(&b);
}

/* every prefix of a real file: no crash, and the answer only once the entry is in */
static void test_truncated(void)
{
	struct buf b;
	size_t first_true = 0;

	if (!read_fixture("ole-vba.bin", &b))
		return;
	for (size_t n = 0; n <= b.len; n++) {
		char *copy = malloc(n ? n : 1); /* exact size, so ASan sees any overread */
		bool found;

		memcpy(copy, b.data, n);
		found = office_ole_has_vba(copy, n);
		if (found && !first_true)
			first_true = n;
		free(copy);
	}
	CHECK(first_true > 512 && first_true < b.len);
	buf_free(&b);
}

static void test_ooxml_names(void)
{
	static const struct {
		const char *name;
		bool vba, activex, xlm;
	} cases[] = {
	    {"word/vbaProject.bin", true, false, false},
	    {"xl/vbaProject.bin", true, false, false},
	    {"ppt/VBAPROJECT.BIN", true, false, false},
	    {"vbaProject.bin", true, false, false},
	    {"customXml/deep/vbaproject.bin", true, false, false},
	    {"word\\vbaProject.bin", true, false, false},
	    {"word/xvbaProject.bin", false, false, false},
	    {"word/vbaProject.bin.rels", false, false, false},
	    {"word/_rels/vbaProject.bin.rels", false, false, false},
	    {"word/vbaProjectSignature.bin", false, false, false},
	    {"word/vbaData.xml", false, false, false},
	    {"vbaProject.bin/", false, false, false},
	    {"word/activeX/activeX1.bin", false, true, false},
	    {"xl/ACTIVEX/activeX12.BIN", false, true, false},
	    {"word/activeX/activeX1.xml", false, false, false},
	    {"word/activeX1.bin", false, false, false},
	    {"activeX/x.bin", false, true, false},
	    {"xl/macrosheets/sheet1.xml", false, false, true},
	    {"xl/intlMacrosheets/sheet1.xml", false, false, true},
	    {"xl/macrosheets/_rels/sheet1.xml.rels", false, false, true},
	    {"xl/worksheets/sheet1.xml", false, false, false},
	    {"xl/macrosheets", false, false, false},
	    {"", false, false, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(office_ooxml_member_is_vba(cases[i].name), cases[i].vba);
		CHECK_INT(office_ooxml_member_is_activex(cases[i].name), cases[i].activex);
		CHECK_INT(office_ooxml_member_is_xlm(cases[i].name), cases[i].xlm);
	}
	CHECK(!office_ooxml_member_is_vba(NULL));
	CHECK(!office_ooxml_member_is_activex(NULL));
	CHECK(!office_ooxml_member_is_xlm(NULL));
}

struct docm_seen {
	int vba_names, vba_projects, members;
};

static void docm_member(void *ctx, const struct archive_member *m)
{
	struct docm_seen *seen = ctx;

	seen->members++;
	if (office_ooxml_member_is_vba(m->name))
		seen->vba_names++;
	if (office_ole_has_vba(m->data, m->size))
		seen->vba_projects++;
}

/* the way the caller uses both modules: list the package, ask about each member */
static void test_ooxml_packages(void)
{
	static const struct archive_limits lim = {100, 1 << 20, 16 << 20};
	struct docm_seen docm = {0}, docx = {0};
	struct buf b;

	if (read_fixture("ooxml-hello.docm", &b)) {
		CHECK_INT(archive_walk(b.data, b.len, &lim, docm_member, &docm, NULL),
		          ARCHIVE_WALK_OK);
		buf_free(&b);
	}
	if (read_fixture("ooxml-hello.docx", &b)) {
		CHECK_INT(archive_walk(b.data, b.len, &lim, docm_member, &docx, NULL),
		          ARCHIVE_WALK_OK);
		buf_free(&b);
	}
	CHECK_INT(docm.members, 4);
	CHECK_INT(docm.vba_names, 1);
	CHECK_INT(docm.vba_projects, 1);
	CHECK_INT(docx.members, 3);
	CHECK_INT(docx.vba_names, 0);
	CHECK_INT(docx.vba_projects, 0);
}

int main(void)
{
	test_fixtures();
	test_entry_names();
	test_long_directory();
	test_directory_cycle();
	test_wild_numbers();
	test_difat_cycle();
	test_not_ole();
	test_truncated();
	test_ooxml_names();
	test_ooxml_packages();
	return check_summary("test_office");
}
