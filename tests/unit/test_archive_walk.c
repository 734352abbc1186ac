/*
 * test_archive_walk - members of archives in memory: the formats, nesting,
 * encryption, bombs, limits and broken input.
 *
 * The archives come from tests/unit/data/ (make-fixtures.sh); a deflate
 * bomb and zips with raw names are built here. The last test runs the
 * walks in a child under a seccomp filter that traps any open, stat of a
 * path, fork or exec, as the analyzer's sandbox would.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "common/buf.h"
#include "common/text.h"
#include "filters/archive_walk.h"
#include "tests/unit/check.h"
#include "tests/unit/test_support.h"

#define SEIKYUSHO "\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8" /* 請求書 */

static const struct archive_limits lim = {
    .max_members = 100,
    .max_member_size = 1 << 20,
    .max_total = 64 << 20,
};

struct seen_member {
	char *name;
	struct buf data;
	size_t size, decompressed;
	bool encrypted, truncated, damaged, is_dir;
};

struct seen {
	struct seen_member m[200];
	size_t count;
	bool bad_utf8;
};

/* remember - the callback: copy what it is shown, check the name is UTF-8 */
static void remember(void *ctx, const struct archive_member *m)
{
	struct seen *s = ctx;
	struct seen_member *sm;
	size_t step;

	if (s->count == sizeof(s->m) / sizeof(s->m[0]))
		return;
	sm = &s->m[s->count++];
	sm->name = strdup(m->name);
	buf_init(&sm->data);
	if (m->data)
		buf_append(&sm->data, m->data, m->size);
	sm->size = m->size;
	sm->encrypted = m->encrypted;
	sm->truncated = m->truncated;
	sm->damaged = m->damaged;
	sm->is_dir = m->is_dir;
	sm->decompressed = m->decompressed;
	for (size_t i = 0, n = strlen(m->name); i < n; i += step)
		if (text_utf8_next((const unsigned char *)m->name + i, n - i, &step) < 0)
			s->bad_utf8 = true;
	if ((m->data == NULL) != (m->size == 0))
		s->bad_utf8 = true; /* not UTF-8, but as wrong */
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->count; i++) {
		free(s->m[i].name);
		buf_free(&s->m[i].data);
	}
	s->count = 0;
}

/* find - the member called name, or NULL */
static const struct seen_member *find(const struct seen *s, const char *name)
{
	for (size_t i = 0; i < s->count; i++)
		if (strcmp(s->m[i].name, name) == 0)
			return &s->m[i];
	return NULL;
}

/* data_is - does the member hold exactly text? */
static bool data_is(const struct seen_member *m, const char *text)
{
	return m && m->data.len == strlen(text) && memcmp(m->data.data, text, m->data.len) == 0;
}

/* walk_fixture - walk a fixture into s; the result, or -1 when it is missing */
static int walk_fixture(const char *name, const struct archive_limits *l, struct seen *s,
                        const char **format_r)
{
	struct buf b;
	enum archive_result r;

	if (!read_fixture(name, &b))
		return -1;
	r = archive_walk(b.data, b.len, l, remember, s, format_r);
	buf_free(&b);
	CHECK(!s->bad_utf8);
	return (int)r;
}

/* now - CPU seconds used: a busy machine (make -j check) must not fail a bomb test */
static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_zip_and_nested_zip(void)
{
	struct seen s = {0}, inner = {0};
	const struct seen_member *m;
	const char *format = "unset";

	CHECK_INT(walk_fixture("arch-plain.zip", &lim, &s, &format), ARCHIVE_WALK_OK);
	CHECK_STR(format, "zip");
	CHECK_INT(s.count, 5);
	CHECK(data_is(find(&s, "hello.txt"), "hello, world\n"));
	CHECK(find(&s, "docs/") && find(&s, "docs/")->is_dir && !find(&s, "docs/")->size);
	CHECK(data_is(find(&s, "docs/readme.md"), "# readme\n"));
	CHECK(data_is(find(&s, SEIKYUSHO ".txt"), "seikyusho\n"));
	m = find(&s, "inner.zip");
	CHECK(m && !m->truncated && !m->encrypted && m->size == m->data.len);
	if (m) {
		CHECK_INT(archive_walk(m->data.data, m->data.len, &lim, remember, &inner, &format),
		          ARCHIVE_WALK_OK);
		CHECK_INT(inner.count, 1);
		CHECK(data_is(find(&inner, "inner.txt"), "inner\n"));
	}
	seen_free(&s);
	seen_free(&inner);
}

/* tar under gzip and zstd, and cpio: the same three members */
static void test_tar_and_cpio(void)
{
	static const struct {
		const char *file, *format, *dir;
	} cases[] = {
	    {"arch-plain.tar.gz", "tar", "docs/"},
	    {"arch-plain.tar.zst", "tar", "docs/"},
	    {"arch-plain.cpio", "cpio", "docs"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct seen s = {0};
		const char *format = NULL;

		CHECK_INT(walk_fixture(cases[i].file, &lim, &s, &format), ARCHIVE_WALK_OK);
		CHECK_STR(format, cases[i].format);
		CHECK_INT(s.count, 3);
		CHECK(data_is(find(&s, "hello.txt"), "hello, world\n"));
		CHECK(data_is(find(&s, "docs/readme.md"), "# readme\n"));
		CHECK(find(&s, cases[i].dir) && find(&s, cases[i].dir)->is_dir);
		seen_free(&s);
	}
}

/* a lone compressed file is one member; gzip may name it */
static void test_lone_compressed(void)
{
	static const struct {
		const char *file, *format, *name;
	} cases[] = {
	    {"arch-lone.txt.gz", "gzip", "hello.txt"},
	    {"arch-lone.txt.bz2", "bzip2", ""},
	    {"arch-lone.txt.xz", "xz", ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct seen s = {0};
		const char *format = NULL;

		CHECK_INT(walk_fixture(cases[i].file, &lim, &s, &format), ARCHIVE_WALK_OK);
		CHECK_STR(format, cases[i].format);
		CHECK_INT(s.count, 1);
		CHECK(data_is(find(&s, cases[i].name), "hello, world\n"));
		seen_free(&s);
	}
}

static void test_7z(void)
{
	struct seen s = {0}, inner = {0};
	const struct seen_member *m;
	const char *format = NULL;

	CHECK_INT(walk_fixture("arch-plain.7z", &lim, &s, &format), ARCHIVE_WALK_OK);
	CHECK_STR(format, "7zip");
	CHECK_INT(s.count, 5);
	CHECK(data_is(find(&s, "hello.txt"), "hello, world\n"));
	CHECK(data_is(find(&s, SEIKYUSHO ".txt"), "seikyusho\n"));
	m = find(&s, "inner.zip");
	if (m) {
		CHECK_INT(archive_walk(m->data.data, m->data.len, &lim, remember, &inner, NULL),
		          ARCHIVE_WALK_OK);
		CHECK(data_is(find(&inner, "inner.txt"), "inner\n"));
	}
	CHECK(m != NULL);
	seen_free(&s);
	seen_free(&inner);
}

/*
 * an ISO 9660 image, stored gzipped (it is mostly zeros): libarchive reads
 * the image through the compression, like a tar.gz
 */
static void test_iso(void)
{
	struct seen s = {0};
	const char *format = NULL;

	CHECK_INT(walk_fixture("arch-disk.iso.gz", &lim, &s, &format), ARCHIVE_WALK_OK);
	CHECK_STR(format, "iso9660");
	CHECK(data_is(find(&s, "hello.txt"), "hello, world\n"));
	CHECK(data_is(find(&s, "readme.md"), "# readme\n"));
	CHECK(data_is(find(&s, SEIKYUSHO ".txt"), "seikyusho\n")); /* from Joliet or Rock Ridge */
	seen_free(&s);
}

/* encrypted members are listed without data, and the members after them read */
static void test_encrypted_members(void)
{
	static const char *const files[] = {"arch-zipcrypto.zip", "arch-aes.zip"};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct seen s = {0};
		const struct seen_member *secret;

		CHECK_INT(walk_fixture(files[i], &lim, &s, NULL), ARCHIVE_WALK_OK);
		CHECK_INT(s.count, 3);
		secret = find(&s, "secret.txt");
		CHECK(secret && secret->encrypted && secret->data.len == 0 && !secret->damaged);
		CHECK(data_is(find(&s, "tree/hello.txt"), "hello, world\n"));
		CHECK(data_is(find(&s, "after.txt"), "after the secret\n"));
		CHECK(find(&s, "after.txt") && !find(&s, "after.txt")->encrypted);
		seen_free(&s);
	}
}

static void test_encrypted_7z(void)
{
	struct seen s = {0};
	const char *format = NULL;

	CHECK_INT(walk_fixture("arch-enc.7z", &lim, &s, &format), ARCHIVE_WALK_OK);
	CHECK_STR(format, "7zip");
	CHECK_INT(s.count, 2);
	CHECK(find(&s, "secret.txt") && find(&s, "secret.txt")->encrypted);
	CHECK(find(&s, "after.txt") && find(&s, "after.txt")->encrypted);
	seen_free(&s);
	/* -mhe: the names are encrypted too, so there is nothing to list */
	CHECK_INT(walk_fixture("arch-enchdr.7z", &lim, &s, &format), ARCHIVE_WALK_ENCRYPTED);
	CHECK_STR(format, "7zip");
	CHECK_INT(s.count, 0);
	seen_free(&s);
}

/* RAR 2.9 (RAR4), hand-made: a stored archive, and one with an encrypted member */
static void test_rar(void)
{
	struct seen s = {0};
	const char *format = NULL;
	const struct seen_member *secret;

	CHECK_INT(walk_fixture("arch-plain.rar", &lim, &s, &format), ARCHIVE_WALK_OK);
	CHECK_STR(format, "rar");
	CHECK_INT(s.count, 2);
	CHECK(data_is(find(&s, "hello.txt"), "hello, world\n"));
	CHECK(data_is(find(&s, "docs/readme.md"), "# readme\n"));
	seen_free(&s);
	CHECK_INT(walk_fixture("arch-enc.rar", &lim, &s, &format), ARCHIVE_WALK_OK);
	CHECK_INT(s.count, 3);
	secret = find(&s, "secret.txt");
	CHECK(secret && secret->encrypted && secret->data.len == 0);
	CHECK(data_is(find(&s, "after.txt"), "after the secret\n"));
	seen_free(&s);
}

/* bombs - each a GiB of zeros in about a KB; the walk must stop at max_total, fast */
static void test_bombs(void)
{
	static const char *const files[] = {"arch-bomb-bzip2.zip", "arch-bomb.tar.bz2"};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct seen s = {0};
		double t0 = now(), secs;

		CHECK_INT(walk_fixture(files[i], &lim, &s, NULL), ARCHIVE_WALK_LIMIT);
		secs = now() - t0;
		CHECK(secs < 1.0);
		CHECK_INT(s.count, 1);
		CHECK(s.count && s.m[0].truncated && s.m[0].size == lim.max_member_size);
		if (secs >= 1.0)
			fprintf(stderr, "  (%s took %.2fs of CPU)\n", files[i], secs);
		seen_free(&s);
	}
}

/* put16, put32 - little-endian numbers appended to b */
static void put16(struct buf *b, uint32_t v)
{
	buf_append_char(b, (char)v);
	buf_append_char(b, (char)(v >> 8));
}

static void put32(struct buf *b, uint32_t v)
{
	put16(b, v & 0xffff);
	put16(b, v >> 16);
}

/* crc32 - of p[0..n), the zip way (bit by bit: these are small) */
static uint32_t crc32_of(const void *p, size_t n)
{
	uint32_t crc = 0xffffffffU;

	for (size_t i = 0; i < n; i++) {
		crc ^= ((const unsigned char *)p)[i];
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320U : crc >> 1;
	}
	return ~crc;
}

struct zip_item {
	const char *name;
	uint16_t method, flags;
	uint32_t crc, csize, usize, offset;
};

/* zip_header - a local (sig 0x04034b50) or central (0x02014b50) header for it */
static void zip_header(struct buf *b, const struct zip_item *it, bool central)
{
	put32(b, central ? 0x02014b50 : 0x04034b50);
	if (central)
		put16(b, 20);
	put16(b, 20);
	put16(b, it->flags);
	put16(b, it->method);
	put32(b, 0x58210000); /* 2024-01-01 00:00 */
	put32(b, it->crc);
	put32(b, it->csize);
	put32(b, it->usize);
	put16(b, (uint32_t)strlen(it->name));
	put16(b, 0);
	if (central) {
		put32(b, 0); /* comment length, disk number */
		put32(b, 0); /* attributes */
		put16(b, 0);
		put32(b, it->offset);
	}
	buf_append_str(b, it->name);
}

/* zip_build - a zip of n members, data[i] being member i's stored bytes */
static void zip_build(struct buf *b, struct zip_item *it, const struct buf *data, size_t n)
{
	size_t cd;

	buf_init(b);
	for (size_t i = 0; i < n; i++) {
		it[i].offset = (uint32_t)b->len;
		it[i].csize = (uint32_t)data[i].len;
		zip_header(b, &it[i], false);
		buf_append(b, data[i].data, data[i].len);
	}
	cd = b->len;
	for (size_t i = 0; i < n; i++)
		zip_header(b, &it[i], true);
	put32(b, 0x06054b50);
	put32(b, 0);
	put16(b, (uint32_t)n);
	put16(b, (uint32_t)n);
	put32(b, (uint32_t)(b->len - cd));
	put32(b, (uint32_t)cd);
	put16(b, 0);
}

struct bits {
	struct buf *b;
	uint32_t acc;
	int n;
};

/* bits_put - n bits of v, least significant first (RFC 1951 §3.1.1) */
static void bits_put(struct bits *w, uint32_t v, int n)
{
	w->acc |= v << w->n;
	w->n += n;
	while (w->n >= 8) {
		buf_append_char(w->b, (char)(w->acc & 0xff));
		w->acc >>= 8;
		w->n -= 8;
	}
}

/* bits_code - a Huffman code of n bits, most significant first */
static void bits_code(struct bits *w, uint32_t code, int n)
{
	for (int i = n - 1; i >= 0; i--)
		bits_put(w, (code >> i) & 1, 1);
}

/*
 * deflate_zeros - a fixed-Huffman deflate stream of 1 + 258 * pairs zero
 * bytes: a literal 0, then pairs of (length 258, distance 1), 13 bits each.
 */
static void deflate_zeros(struct buf *out, size_t pairs)
{
	struct bits w = {.b = out};

	bits_put(&w, 1, 1);     /* BFINAL */
	bits_put(&w, 1, 2);     /* BTYPE 01: fixed codes */
	bits_code(&w, 0x30, 8); /* literal 0 */
	for (size_t i = 0; i < pairs; i++) {
		bits_code(&w, 0xc5, 8); /* symbol 285: length 258 */
		bits_code(&w, 0, 5);    /* distance code 0: 1 */
	}
	bits_code(&w, 0, 7); /* end of block */
	bits_put(&w, 0, 7);  /* flush */
}

/* a GiB of zeros deflated (6.8 MB: fixed codes are no better), made here */
static void test_deflate_bomb(void)
{
	size_t pairs = ((size_t)1 << 30) / 258;
	struct zip_item it[2] = {
	    {.name = "zeros.bin", .method = 8, .usize = (uint32_t)(1 + 258 * pairs)},
	    {.name = "after.txt", .method = 0, .usize = 6, .crc = crc32_of("after\n", 6)},
	};
	struct buf data[2], zip;
	struct seen s = {0};
	double t0, secs;

	buf_init(&data[0]);
	buf_init(&data[1]);
	deflate_zeros(&data[0], pairs);
	buf_append_str(&data[1], "after\n");
	zip_build(&zip, it, data, 2);
	t0 = now();
	CHECK_INT(archive_walk(zip.data, zip.len, &lim, remember, &s, NULL), ARCHIVE_WALK_LIMIT);
	secs = now() - t0;
	CHECK(secs < 1.0);
	CHECK_INT(s.count, 1);
	CHECK(s.count && s.m[0].truncated && s.m[0].size == lim.max_member_size);
	CHECK(s.count && s.m[0].decompressed == lim.max_total); /* the cost, not the bytes kept */
	printf("test_archive_walk: 1 GiB deflate bomb (%zu bytes) stopped in %.3fs of CPU\n",
	       zip.len, secs);
	seen_free(&s);
	buf_free(&zip);
	buf_free(&data[0]);
	buf_free(&data[1]);
}

static void test_limits(void)
{
	struct archive_limits l = lim;
	struct seen s = {0};
	const struct seen_member *m;

	l.max_members = 2; /* five members: cut after two */
	CHECK_INT(walk_fixture("arch-plain.zip", &l, &s, NULL), ARCHIVE_WALK_LIMIT);
	CHECK_INT(s.count, 2);
	seen_free(&s);
	l.max_members = 5; /* exactly enough */
	CHECK_INT(walk_fixture("arch-plain.zip", &l, &s, NULL), ARCHIVE_WALK_OK);
	seen_free(&s);

	l = lim;
	l.max_member_size = 4; /* every member cut, the walk goes on */
	CHECK_INT(walk_fixture("arch-plain.zip", &l, &s, NULL), ARCHIVE_WALK_OK);
	CHECK_INT(s.count, 5);
	m = find(&s, "hello.txt");
	CHECK(data_is(m, "hell") && m->truncated);
	seen_free(&s);
	l.max_member_size = 13; /* hello.txt fits exactly */
	CHECK_INT(walk_fixture("arch-plain.zip", &l, &s, NULL), ARCHIVE_WALK_OK);
	m = find(&s, "hello.txt");
	CHECK(data_is(m, "hello, world\n") && !m->truncated);
	seen_free(&s);
	l.max_member_size = 0; /* count only; the bytes dropped still cost */
	CHECK_INT(walk_fixture("arch-plain.zip", &l, &s, NULL), ARCHIVE_WALK_OK);
	CHECK_INT(s.count, 5);
	CHECK(s.count && s.m[0].size == 0 && s.m[0].truncated && s.m[0].decompressed == 13);
	CHECK(s.count == 5 && s.m[4].decompressed == 13 + 9 + 10 + 122);
	seen_free(&s);

	l = lim;
	l.max_total = 20; /* hello.txt (13) fits, readme.md (9) does not */
	CHECK_INT(walk_fixture("arch-plain.zip", &l, &s, NULL), ARCHIVE_WALK_LIMIT);
	CHECK_INT(s.count, 3);
	CHECK(data_is(find(&s, "hello.txt"), "hello, world\n"));
	m = find(&s, "docs/readme.md");
	CHECK(data_is(m, "# readm") && m->truncated);
	seen_free(&s);
}

/* cut and damaged archives: no crash, CORRUPT once the format is known */
static void test_corrupt(void)
{
	static const char *const files[] = {"arch-plain.zip", "arch-plain.tar.gz", "arch-plain.7z",
	                                    "arch-zipcrypto.zip", "arch-lone.txt.gz"};
	struct buf b;
	struct seen s = {0};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (!read_fixture(files[i], &b))
			continue;
		for (size_t n = 0; n < b.len; n++) {
			char *copy = malloc(n ? n : 1); /* exact size, so ASan sees any overread */
			int r;

			memcpy(copy, b.data, n);
			r = (int)archive_walk(copy, n, &lim, remember, &s, NULL);
			CHECK(r == ARCHIVE_WALK_NOT_ARCHIVE || r == ARCHIVE_WALK_CORRUPT ||
			      r == ARCHIVE_WALK_OK || r == ARCHIVE_WALK_ENCRYPTED);
			CHECK(!s.bad_utf8);
			seen_free(&s);
			free(copy);
		}
		/* cut in half: the format is known, its members are not all there */
		CHECK_INT(archive_walk(b.data, b.len / 2, &lim, remember, &s, NULL),
		          ARCHIVE_WALK_CORRUPT);
		seen_free(&s);
		buf_free(&b);
	}
}

/* a member whose bytes do not match its CRC is damaged, and so is the walk */
static void test_bad_crc(void)
{
	struct zip_item it[2] = {
	    {.name = "a.txt", .usize = 6, .crc = crc32_of("hello\n", 6) ^ 1},
	    {.name = "b.txt", .usize = 6, .crc = crc32_of("world\n", 6)},
	};
	struct buf data[2], zip;
	struct seen s = {0};

	buf_init(&data[0]);
	buf_init(&data[1]);
	buf_append_str(&data[0], "hello\n");
	buf_append_str(&data[1], "world\n");
	zip_build(&zip, it, data, 2);
	CHECK_INT(archive_walk(zip.data, zip.len, &lim, remember, &s, NULL), ARCHIVE_WALK_CORRUPT);
	CHECK_INT(s.count, 2);
	CHECK(find(&s, "a.txt") && find(&s, "a.txt")->damaged);
	CHECK(data_is(find(&s, "b.txt"), "world\n") && !find(&s, "b.txt")->damaged);
	seen_free(&s);
	buf_free(&zip);
	buf_free(&data[0]);
	buf_free(&data[1]);
}

/* names that are not UTF-8 (an old CP932 zip) keep their ASCII, and stay valid UTF-8 */
static void test_raw_names(void)
{
	struct zip_item it[] = {
	    {.name = "\x90\xbf\x8b\x81\x8f\x91.exe", .usize = 2, .crc = crc32_of("MZ", 2)},
	    {.name = "ok-\xc3\xa9.txt", .usize = 2, .crc = crc32_of("MZ", 2)},
	};
	struct buf data[2], zip;
	struct seen s = {0};

	for (int i = 0; i < 2; i++) {
		buf_init(&data[i]);
		buf_append_str(&data[i], "MZ");
	}
	zip_build(&zip, it, data, 2);
	CHECK_INT(archive_walk(zip.data, zip.len, &lim, remember, &s, NULL), ARCHIVE_WALK_OK);
	CHECK_INT(s.count, 2);
	CHECK(!s.bad_utf8);
	CHECK(s.count == 2 && strlen(s.m[0].name) > 4 &&
	      strcmp(s.m[0].name + strlen(s.m[0].name) - 4, ".exe") == 0);
	CHECK(s.count == 2 && strstr(s.m[0].name, "\xef\xbf\xbd") != NULL);
	CHECK(find(&s, "ok-\xc3\xa9.txt") != NULL); /* UTF-8 without the flag: kept */
	seen_free(&s);
	buf_free(&zip);
	buf_free(&data[0]);
	buf_free(&data[1]);
}

static void test_not_archives(void)
{
	static const char *const texts[] = {"", "hello, world\n", "PK", "7z", "\x1f\x8b"};
	struct seen s = {0};
	const char *format = "unset";

	CHECK_INT(archive_walk(NULL, 0, &lim, remember, &s, &format), ARCHIVE_WALK_NOT_ARCHIVE);
	CHECK(format == NULL);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		format = "unset";
		CHECK(archive_walk(texts[i], strlen(texts[i]), &lim, remember, &s, &format) !=
		      ARCHIVE_WALK_OK);
		CHECK_INT(s.count, 0);
	}
	format = "unset";
	CHECK_INT(walk_fixture("ole-vba.bin", &lim, &s, &format), ARCHIVE_WALK_NOT_ARCHIVE);
	CHECK(format == NULL);
	CHECK_INT(archive_walk("hello", 5, &lim, NULL, NULL, NULL), ARCHIVE_WALK_NOT_ARCHIVE);
	seen_free(&s);
}

static void test_looks_like(void)
{
	static const struct {
		const char *file;
		bool archive;
	} cases[] = {
	    {"arch-plain.zip", true},   {"arch-plain.7z", true},     {"arch-plain.tar.gz", true},
	    {"arch-lone.txt.xz", true}, {"arch-lone.txt.bz2", true}, {"ooxml-hello.docx", true},
	    {"arch-plain.rar", true},   {"ole-vba.bin", false},
	};
	struct buf b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!read_fixture(cases[i].file, &b))
			continue;
		CHECK_INT(archive_walk_looks_like_archive(b.data, b.len), cases[i].archive);
		buf_free(&b);
	}
	CHECK(!archive_walk_looks_like_archive(NULL, 0));
	CHECK(!archive_walk_looks_like_archive("hello", 5));
	CHECK_STR(archive_walk_result_name(ARCHIVE_WALK_OK), "ok");
	CHECK_STR(archive_walk_result_name(ARCHIVE_WALK_LIMIT), "limit");
	CHECK_STR(archive_walk_result_name(ARCHIVE_WALK_ENCRYPTED), "encrypted");
}

/* count - the callback for the sandboxed walks */
static void count(void *ctx, const struct archive_member *m)
{
	(*(size_t *)ctx)++;
}

/* the walks under a filter that traps opens, path stats, forks and execs */
static void test_sandboxed(void)
{
	static const char *const files[] = {
	    "arch-plain.zip",   "arch-plain.tar.gz", "arch-lone.txt.gz", "arch-lone.txt.bz2",
	    "arch-lone.txt.xz", "arch-plain.7z",     "arch-disk.iso.gz", "arch-zipcrypto.zip",
	    "arch-aes.zip",     "arch-enc.7z",       "arch-enchdr.7z",   "arch-bomb-bzip2.zip",
	    "arch-plain.rar",   "arch-enc.rar",      "arch-plain.cpio",  "arch-plain.tar.zst",
	};
	enum { N = sizeof(files) / sizeof(files[0]) };
	struct buf b[N];
	pid_t pid;
	int status = 0;

	/* what the analyzer does before its sandbox (tzset: the init already ran) */
	setenv("TZ", "UTC", 1);
	tzset();
	archive_walk_init();
	for (size_t i = 0; i < N; i++)
		read_fixture(files[i], &b[i]);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		size_t members = 0;

		if (!trap_file_syscalls())
			_exit(77);
		for (size_t i = 0; i < N; i++)
			archive_walk(b[i].data, b[i].len, &lim, count, &members, NULL);
		_exit(members > 20 ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		printf("test_archive_walk: seccomp unavailable, sandboxed walks skipped\n");
	else
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (size_t i = 0; i < N; i++)
		buf_free(&b[i]);
}

int main(void)
{
	test_zip_and_nested_zip();
	test_tar_and_cpio();
	test_lone_compressed();
	test_7z();
	test_iso();
	test_encrypted_members();
	test_encrypted_7z();
	test_rar();
	test_bombs();
	test_deflate_bomb();
	test_limits();
	test_corrupt();
	test_bad_crc();
	test_raw_names();
	test_not_archives();
	test_looks_like();
	test_sandboxed();
	return check_summary("test_archive_walk");
}
