/*
 * test_av - ClamAV through filters/av.c: the project's test signatures
 * (test-corpus/clamav), archives and messages built here in memory, the
 * limits that must never come back clean, and clamd, real and fake.
 *
 * Run by automake from the build directory: the signatures are found
 * through $srcdir. The real-clamd test is skipped, with a note, when
 * /usr/sbin/clamd is not installed; it starts its own clamd on a socket
 * in a temporary directory and stops it by its process id.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "filters/av.h"
#include "filters/facts.h"
#include "tests/unit/check.h"

#define CLAMD       "/usr/sbin/clamd"
#define EICAR_NAME  "Sekisho.Test.Eicar.UNOFFICIAL"
#define MARKER      "SEKISHO-TEST-MALWARE-MARKER-7f3a"
#define HDB_CONTENT "sekisho hdb test file\n"

static char db_dir[PATH_MAX];

/* eicar - the EICAR test string, in two halves so this file is not itself one */
static const char *eicar(void)
{
	return "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR"
	       "-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
}

static struct av_engine *libclamav_engine(struct av_settings s)
{
	struct av_engine *e;
	char *error = NULL;

	s.clamav = "libclamav";
	s.db_dir = s.db_dir ? s.db_dir : db_dir;
	e = av_engine_new(&s, &error);
	if (!e)
		fprintf(stderr, "av_engine_new: %s\n", error ? error : "(no error)");
	free(error);
	return e;
}

static struct av_result scan(struct av_engine *e, const void *data, size_t len)
{
	struct av_result r;

	av_scan(e, data, len, &r);
	return r;
}

static struct av_result scan_buf(struct av_engine *e, const struct buf *b)
{
	return scan(e, b->data, b->len);
}

/* ---- archives and messages made here ------------------------------------- */

static uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

static void put16(struct buf *b, unsigned v)
{
	unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
	buf_append(b, x, 2);
}

static void put32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
	                      (unsigned char)(v >> 24)};
	buf_append(b, x, 4);
}

struct zip_entry {
	const char *name;
	unsigned method; /* 0 stored, 8 deflated */
	uint32_t crc, usize;
	const void *data; /* as stored */
	uint32_t csize;
};

/* zip_header - the fields local and central headers share, from "version needed" on */
static void zip_header(struct buf *out, const struct zip_entry *z)
{
	put16(out, 20); /* version needed */
	put16(out, 0);  /* flags */
	put16(out, z->method);
	put16(out, 0);    /* time */
	put16(out, 0x21); /* date: 1980-01-01 */
	put32(out, z->crc);
	put32(out, z->csize);
	put32(out, z->usize);
	put16(out, (unsigned)strlen(z->name));
	put16(out, 0); /* extra */
}

/* zip_one - a zip archive holding the one entry z */
static void zip_one(struct buf *out, const struct zip_entry *z)
{
	size_t central, central_size;

	buf_reset(out);
	put32(out, 0x04034b50);
	zip_header(out, z);
	buf_append_str(out, z->name);
	buf_append(out, z->data, z->csize);
	central = out->len;
	put32(out, 0x02014b50);
	put16(out, 20); /* version made by */
	zip_header(out, z);
	put16(out, 0); /* comment */
	put16(out, 0); /* disk */
	put16(out, 0); /* internal attributes */
	put32(out, 0); /* external attributes */
	put32(out, 0); /* local header offset */
	buf_append_str(out, z->name);
	central_size = out->len - central;
	put32(out, 0x06054b50);
	put16(out, 0); /* this disk */
	put16(out, 0); /* disk of the central directory */
	put16(out, 1); /* entries here */
	put16(out, 1); /* entries in all */
	put32(out, (uint32_t)central_size);
	put32(out, (uint32_t)central);
	put16(out, 0); /* comment */
}

/* zip_stored - out becomes a zip of data stored under name */
static void zip_stored(struct buf *out, const char *name, const void *data, size_t len)
{
	struct zip_entry z = {.name = name,
	                      .crc = crc32_update(0, data, len),
	                      .usize = (uint32_t)len,
	                      .data = data,
	                      .csize = (uint32_t)len};
	struct buf copy;

	/* data may be out's own contents (a zip in a zip) */
	buf_init(&copy);
	buf_append(&copy, data, len);
	z.data = copy.data;
	zip_one(out, &z);
	buf_free(&copy);
}

struct bits {
	struct buf *out;
	uint32_t acc;
	int n;
};

/* bits_put - value's low n bits, least significant first (RFC 1951 section 3.1.1) */
static void bits_put(struct bits *b, uint32_t value, int n)
{
	for (int i = 0; i < n; i++) {
		b->acc |= ((value >> i) & 1) << b->n;
		if (++b->n == 8) {
			buf_append_char(b->out, (char)b->acc);
			b->acc = 0;
			b->n = 0;
		}
	}
}

/* bits_code - a Huffman code, most significant bit first */
static void bits_code(struct bits *b, uint32_t code, int n)
{
	for (int i = n - 1; i >= 0; i--)
		bits_put(b, (code >> i) & 1, 1);
}

/*
 * deflate_run - count copies of c (a byte below 144) as one fixed-Huffman
 * block: a literal, then matches of 258 at distance 1. Lets a small
 * archive hold a member far larger than itself, as real ones do.
 */
static void deflate_run(struct buf *out, unsigned char c, size_t count)
{
	struct bits b = {.out = out};
	size_t left = count - 1;

	bits_put(&b, 1, 1);         /* last block */
	bits_put(&b, 1, 2);         /* fixed Huffman codes */
	bits_code(&b, 0x30 + c, 8); /* literal */
	for (; left >= 258; left -= 258) {
		bits_code(&b, 0xc5, 8); /* length 258 (symbol 285) */
		bits_code(&b, 0, 5);    /* distance 1 */
	}
	for (; left > 0; left--)
		bits_code(&b, 0x30 + c, 8);
	bits_code(&b, 0, 7); /* end of block */
	if (b.n)
		buf_append_char(out, (char)b.acc);
}

/* zip_run - out becomes a deflated zip of count bytes c */
static void zip_run(struct buf *out, const char *name, unsigned char c, size_t count)
{
	struct buf data;
	uint32_t crc = 0;
	struct zip_entry z = {.name = name, .method = 8, .usize = (uint32_t)count};

	for (size_t i = 0; i < count; i++)
		crc = crc32_update(crc, &c, 1);
	buf_init(&data);
	deflate_run(&data, c, count);
	z.crc = crc;
	z.data = data.data;
	z.csize = (uint32_t)data.len;
	zip_one(out, &z);
	buf_free(&data);
}

static void base64(struct buf *out, const void *data, size_t len)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0) |
		             (i + 2 < len ? p[i + 2] : 0);
		buf_append_char(out, abc[v >> 18 & 63]);
		buf_append_char(out, abc[v >> 12 & 63]);
		buf_append_char(out, i + 1 < len ? abc[v >> 6 & 63] : '=');
		buf_append_char(out, i + 2 < len ? abc[v & 63] : '=');
		if ((i / 3 + 1) % 19 == 0)
			buf_append_str(out, "\r\n");
	}
	buf_append_str(out, "\r\n");
}

/*
 * message - a mail with att as a base64 attachment. With hidden, it opens
 * with fields ClamAV does not take for mail and has no MIME-Version: all
 * that av_scan_message exists for.
 */
static void message(struct buf *out, const void *att, size_t len, size_t text_lines, bool hidden)
{
	buf_reset(out);
	if (hidden)
		for (int i = 0; i < 40; i++)
			buf_printf(out, "X-Filler-%d: %s\r\n", i,
			           "padding padding padding padding padding padding");
	buf_append_str(out, "From: a@example.test\r\nTo: b@example.test\r\nSubject: report\r\n");
	if (!hidden)
		buf_append_str(out, "MIME-Version: 1.0\r\n");
	buf_append_str(out, "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
	                    "--b1\r\nContent-Type: text/plain\r\n\r\n");
	for (size_t i = 0; i < text_lines; i++)
		buf_printf(out, "Line %zu of a perfectly ordinary message body.\r\n", i);
	buf_append_str(out, "\r\n--b1\r\nContent-Type: application/zip; name=\"r.zip\"\r\n"
	                    "Content-Transfer-Encoding: base64\r\n"
	                    "Content-Disposition: attachment; filename=\"r.zip\"\r\n\r\n");
	base64(out, att, len);
	buf_append_str(out, "--b1--\r\n");
}

/* ---- libclamav ----------------------------------------------------------- */

static void test_settings(void)
{
	static const char *const off[] = {"", "off"};
	struct av_settings s = {.db_dir = db_dir};
	struct av_engine *e;
	char *error;

	for (size_t i = 0; i < 2; i++) {
		s.clamav = off[i];
		CHECK(!av_enabled(&s));
		CHECK(av_engine_new(&s, &error) == NULL);
		CHECK(error == NULL);
	}
	s.clamav = NULL;
	CHECK(!av_enabled(&s));
	static const char *const bad[] = {"clamav",
	                                  "clamd:",
	                                  "clamd:relative.sock",
	                                  "clamd:tcp:localhost:3310",
	                                  "clamd:tcp:127.0.0.1",
	                                  "clamd:tcp:[::1]"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.clamav = bad[i];
		CHECK(av_engine_new(&s, &error) == NULL);
		CHECK(error != NULL);
		free(error);
	}
	s.clamav = "clamd:tcp:[::1]:3310";
	e = av_engine_new(&s, &error);
	CHECK(e && av_engine_is_clamd(e));
	CHECK_STR(e ? av_engine_describe(e) : NULL, "clamd at tcp:[::1]:3310");
	CHECK_INT(e ? av_engine_signatures(e) : 1, 0);
	CHECK(e && !av_engine_stale(e));
	av_engine_free(e);
}

static void test_signatures(void)
{
	struct av_engine *e = libclamav_engine((struct av_settings){0});
	struct av_result r;
	struct buf b;
	char want[PATH_MAX + 64];

	CHECK(e != NULL);
	if (!e)
		return;
	CHECK(!av_engine_is_clamd(e));
	CHECK_INT(av_engine_signatures(e), 3);
	snprintf(want, sizeof(want), "3 signatures from %s", db_dir);
	CHECK(strncmp(av_engine_describe(e), "libclamav 1.", 12) == 0);
	CHECK(strstr(av_engine_describe(e), want) != NULL);

	r = scan(e, eicar(), strlen(eicar()));
	CHECK_INT(r.status, AV_VIRUS);
	CHECK_STR(r.name, EICAR_NAME);

	buf_init(&b);
	buf_printf(&b, "Some text, then %s, then more text.\n", MARKER);
	r = scan_buf(e, &b);
	CHECK_INT(r.status, AV_VIRUS);
	CHECK_STR(r.name, "Sekisho.Test.Marker.UNOFFICIAL");

	r = scan(e, HDB_CONTENT, strlen(HDB_CONTENT));
	CHECK_INT(r.status, AV_VIRUS);
	CHECK_STR(r.name, "Sekisho.Test.HdbFile.UNOFFICIAL");

	/* the hash is of the whole file: one byte more is another file */
	r = scan(e, HDB_CONTENT "x", strlen(HDB_CONTENT) + 1);
	CHECK_INT(r.status, AV_CLEAN);

	r = scan(e, "Just a clean text.\n", 19);
	CHECK_INT(r.status, AV_CLEAN);
	CHECK_STR(r.name, "");
	r = scan(e, "", 0);
	CHECK_INT(r.status, AV_CLEAN);
	buf_free(&b);
	av_engine_free(e);
}

static void test_archives(void)
{
	struct av_engine *e = libclamav_engine((struct av_settings){0});
	struct av_result r;
	struct buf b;

	if (!e)
		return;
	buf_init(&b);
	zip_stored(&b, "eicar.com", eicar(), strlen(eicar()));
	r = scan_buf(e, &b);
	CHECK_INT(r.status, AV_VIRUS);
	CHECK_STR(r.name, EICAR_NAME);

	zip_stored(&b, "inner.zip", b.data, b.len);
	r = scan_buf(e, &b);
	CHECK_INT(r.status, AV_VIRUS);
	CHECK_STR(r.name, EICAR_NAME);

	zip_stored(&b, "notes.txt", "harmless notes\n", 15);
	zip_stored(&b, "inner.zip", b.data, b.len);
	r = scan_buf(e, &b);
	CHECK_INT(r.status, AV_CLEAN);

	/* the deflate writer above is right: a 100 KB member, well inside the limits */
	zip_run(&b, "run.txt", 'x', 100000);
	CHECK(b.len < 2000);
	r = scan_buf(e, &b);
	CHECK_INT(r.status, AV_CLEAN);
	buf_free(&b);
	av_engine_free(e);
}

static void test_limits(void)
{
	struct av_engine *e = libclamav_engine(
	    (struct av_settings){.max_filesize = 4000, .max_recursion = 3, .max_files = 20});
	struct av_result r;
	struct buf b;

	if (!e)
		return;
	buf_init(&b);
	/* the input itself too big: libclamav gives no name, the callback does */
	for (int i = 0; i < 200; i++)
		buf_append_str(&b, "a clean line of text, repeated\n");
	r = scan_buf(e, &b);
	CHECK_INT(r.status, AV_LIMIT);
	CHECK_STR(r.name, "Heuristics.Limits.Exceeded.MaxFileSize");

	/* a zip member past max_filesize: libclamav cuts it silently; twice, as
	 * the clean cache would have hidden it the second time */
	for (int i = 0; i < 2; i++) {
		zip_run(&b, "padded.exe", 'x', 50000);
		CHECK(b.len < 4000);
		r = scan_buf(e, &b);
		CHECK_INT(r.status, AV_LIMIT);
		CHECK_STR(r.name, "Heuristics.Limits.Exceeded.MaxFileSize");
	}

	/* three levels of zip are within max_recursion 3; six are not */
	buf_reset(&b);
	buf_append_str(&b, "harmless\n");
	for (int depth = 1; depth <= 6; depth++) {
		zip_stored(&b, "level.zip", b.data, b.len);
		r = scan_buf(e, &b);
		CHECK_INT(r.status, depth < 3 ? AV_CLEAN : AV_LIMIT);
		if (depth >= 3)
			CHECK_STR(r.name, "Heuristics.Limits.Exceeded.MaxRecursion");
	}
	buf_free(&b);
	av_engine_free(e);
}

static void test_scan_time(void)
{
	struct av_engine *e = libclamav_engine((struct av_settings){.max_scantime_ms = 1});
	struct av_result r;
	struct buf b, zip;

	if (!e)
		return;
	buf_init(&b);
	buf_init(&zip);
	zip_run(&zip, "run.txt", 'x', 1 << 20);
	message(&b, zip.data, zip.len, 20000, false);
	r = scan_buf(e, &b);
	CHECK_INT(r.status, AV_LIMIT);
	CHECK_STR(r.name, "Heuristics.Limits.Exceeded.MaxScanTime");
	buf_free(&zip);
	buf_free(&b);
	av_engine_free(e);
}

static void test_messages(void)
{
	struct av_engine *e = libclamav_engine((struct av_settings){0});
	struct av_result r;
	struct buf msg, zip;

	if (!e)
		return;
	buf_init(&msg);
	buf_init(&zip);
	zip_stored(&zip, "eicar.com", eicar(), strlen(eicar()));
	zip_stored(&zip, "inner.zip", zip.data, zip.len);
	for (int hidden = 0; hidden < 2; hidden++) {
		message(&msg, zip.data, zip.len, 10, hidden);
		av_scan_message(e, msg.data, msg.len, &r);
		CHECK_INT(r.status, AV_VIRUS);
		CHECK_STR(r.name, EICAR_NAME);
	}
	/* Why av_scan_message exists: the same bytes through av_scan. */
	r = scan_buf(e, &msg);
	if (r.status == AV_CLEAN)
		printf("test_av: note: av_scan of a message opening with X- fields and no "
		       "MIME-Version is CLEAN (not parsed as mail)\n");

	/* bare LF line ends */
	buf_reset(&msg);
	buf_append_str(&msg, "X-A: 1\nSubject: lf\n\n");
	buf_append_str(&msg, eicar());
	buf_append_str(&msg, "\n");
	av_scan_message(e, msg.data, msg.len, &r);
	CHECK_INT(r.status, AV_VIRUS);

	message(&msg, "PK", 2, 10, true);
	av_scan_message(e, msg.data, msg.len, &r);
	CHECK_INT(r.status, AV_CLEAN);
	av_scan_message(e, "", 0, &r);
	CHECK_INT(r.status, AV_CLEAN);
	buf_free(&zip);
	buf_free(&msg);
	av_engine_free(e);
}

/* ---- signature folders ----------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[2 * PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
	char path[2 * PATH_MAX], text[4096];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", from_dir, name);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	write_file(to_dir, name, text);
}

/* new_error - av_engine_new's error for a libclamav engine on dir */
static char *new_error(const char *dir)
{
	struct av_settings s = {.clamav = "libclamav", .db_dir = dir};
	char *error = NULL;
	struct av_engine *e = av_engine_new(&s, &error);

	CHECK(e == NULL);
	av_engine_free(e);
	return error ? error : xstrdup("");
}

static void test_bad_db(void)
{
	char dir[] = "/tmp/test_av.XXXXXX", prefix[64];
	char *error;

	error = new_error("/nonexistent/sekisho-db");
	CHECK(strncmp(error, "signature database /nonexistent/sekisho-db: ", 44) == 0);
	CHECK(strlen(error) > 44);
	free(error);
	error = new_error("");
	CHECK(strncmp(error, "signature database", 18) == 0);
	free(error);

	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(prefix, sizeof(prefix), "signature database %s: ", dir);
	error = new_error(dir); /* empty */
	CHECK(strncmp(error, prefix, strlen(prefix)) == 0);
	free(error);
	write_file(dir, "broken.ndb", "Sekisho.Test.Broken:0:*:zz-not-hex\n");
	error = new_error(dir);
	CHECK(strncmp(error, prefix, strlen(prefix)) == 0);
	CHECK(strlen(error) > strlen(prefix));
	free(error);
	rm_tree(dir);
}

static void test_stale(void)
{
	char dir[] = "/tmp/test_av.XXXXXX", path[PATH_MAX];
	struct timespec later[2];
	struct av_engine *e;

	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	copy_file(db_dir, dir, "sekisho-test.ndb");
	copy_file(db_dir, dir, "sekisho-test.hdb");
	e = libclamav_engine((struct av_settings){.db_dir = dir});
	CHECK(e != NULL);
	if (e) {
		CHECK_INT(av_engine_signatures(e), 3);
		CHECK(!av_engine_stale(e));
		write_file(dir, "README.txt", "not a signature file\n");
		CHECK(!av_engine_stale(e));
		write_file(dir, "extra.ndb", "Sekisho.Test.Extra:0:*:4142434445464748\n");
		CHECK(av_engine_stale(e));
		av_engine_free(e);
	}
	/* cl_statchkdir compares whole seconds: move the time well away */
	e = libclamav_engine((struct av_settings){.db_dir = dir});
	CHECK(e != NULL);
	if (e) {
		CHECK_INT(av_engine_signatures(e), 4);
		CHECK(!av_engine_stale(e));
		clock_gettime(CLOCK_REALTIME, &later[0]);
		later[0].tv_sec += 10;
		later[1] = later[0];
		snprintf(path, sizeof(path), "%s/sekisho-test.hdb", dir);
		CHECK(utimensat(AT_FDCWD, path, later, 0) == 0);
		CHECK(av_engine_stale(e));
		av_engine_free(e);
	}
	/* a file removed (cl_statchkdir alone does not see it), then the folder */
	e = libclamav_engine((struct av_settings){.db_dir = dir});
	CHECK(e != NULL);
	if (e) {
		CHECK(!av_engine_stale(e));
		snprintf(path, sizeof(path), "%s/extra.ndb", dir);
		CHECK(unlink(path) == 0);
		CHECK(av_engine_stale(e));
		rm_tree(dir);
		CHECK(av_engine_stale(e));
		av_engine_free(e);
	}
	rm_tree(dir);
}

/* ---- the temporary directory -------------------------------------------------- */

static int count_entries(const char *dir)
{
	char cmd[PATH_MAX + 64];
	int n = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "find '%s' -mindepth 1 | wc -l", dir);
	if ((p = popen(cmd, "r"))) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

static void test_tmpdir(void)
{
	char dir[] = "/tmp/test_av.XXXXXX";
	struct timespec past[2] = {{.tv_sec = 946684800}, {.tv_sec = 946684800}};
	struct av_engine *e = libclamav_engine((struct av_settings){0});
	struct av_result r;
	struct buf msg, zip;
	struct stat st;

	if (!e || !mkdtemp(dir)) {
		CHECK(!"engine or mkdtemp");
		av_engine_free(e);
		return;
	}
	buf_init(&msg);
	buf_init(&zip);
	zip_stored(&zip, "eicar.com", eicar(), strlen(eicar()));
	message(&msg, zip.data, zip.len, 10, false);

	/* set after compile, as a forked worker does: the scan works in dir */
	av_engine_set_tmpdir(e, dir);
	CHECK(utimensat(AT_FDCWD, dir, past, 0) == 0);
	av_scan_message(e, msg.data, msg.len, &r);
	CHECK_INT(r.status, AV_VIRUS);
	CHECK(stat(dir, &st) == 0 && st.st_mtime > 946684800);
	CHECK_INT(count_entries(dir), 0);

	/* a directory that cannot be used is an error, never a clean */
	av_engine_set_tmpdir(e, "/nonexistent/sekisho-tmp");
	av_scan_message(e, msg.data, msg.len, &r);
	CHECK_INT(r.status, AV_ERROR);
	CHECK(strstr(r.error, "temporary directory") != NULL);
	r = scan(e, "clean\n", 6);
	CHECK_INT(r.status, AV_ERROR);

	av_engine_set_tmpdir(e, dir);
	r = scan(e, "clean\n", 6);
	CHECK_INT(r.status, AV_CLEAN);
	buf_free(&zip);
	buf_free(&msg);
	av_engine_free(e);
	rm_tree(dir);
}

/*
 * test_lost_temp_file - in a forked child (the engine survives fork, as in
 * the analyzers) whose files may not pass 16 KB: the attachment's temporary
 * file is cut short, its marker never scanned; that is an error, not clean.
 */
static void test_lost_temp_file(void)
{
	struct av_engine *e = libclamav_engine((struct av_settings){0});
	struct av_result r;
	struct buf msg, text;
	int status = -1;
	pid_t pid;

	if (!e)
		return;
	buf_init(&msg);
	buf_init(&text);
	for (int i = 0; i < 1000; i++)
		buf_append_str(&text, "a line of an attached text file, nothing more\n");
	buf_append_str(&text, MARKER "\n");
	message(&msg, text.data, text.len, 10, false);
	av_scan_message(e, msg.data, msg.len, &r);
	CHECK_INT(r.status, AV_VIRUS);
	CHECK_STR(r.name, "Sekisho.Test.Marker.UNOFFICIAL");
	fflush(NULL);
	if ((pid = fork()) == 0) {
		struct rlimit small = {.rlim_cur = 16384, .rlim_max = 16384};

		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &small);
		av_scan_message(e, msg.data, msg.len, &r);
		if (r.status == AV_ERROR && !strstr(r.error, "could not finish"))
			_exit(10);
		_exit(r.status);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), AV_ERROR);
	buf_free(&text);
	buf_free(&msg);
	av_engine_free(e);
}

/* ---- threads: one engine, many scans at once ------------------------------ */

static void *scan_thread(void *arg)
{
	struct av_engine *e = arg;
	long bad = 0;

	for (int i = 0; i < 50; i++) {
		struct av_result r = scan(e, eicar(), strlen(eicar()));
		struct av_result c = scan(e, "clean text\n", 11);
		bad +=
		    r.status != AV_VIRUS || strcmp(r.name, EICAR_NAME) != 0 || c.status != AV_CLEAN;
	}
	return (void *)bad;
}

static void test_threads(void)
{
	struct av_engine *e = libclamav_engine((struct av_settings){0});
	pthread_t t[4];

	if (!e)
		return;
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, scan_thread, e) == 0);
	for (int i = 0; i < 4; i++) {
		void *bad = NULL;
		pthread_join(t[i], &bad);
		CHECK_INT((long)bad, 0);
	}
	av_engine_free(e);
}

/* ---- facts ---------------------------------------------------------------- */

static const char *value(const struct facts *f, const char *name, size_t i)
{
	const struct fact *fact = facts_find(f, name);

	return fact && i < fact->count ? fact->values[i] : NULL;
}

static void test_facts(void)
{
	struct av_result clean = {.status = AV_CLEAN};
	struct av_result virus = {.status = AV_VIRUS, .name = EICAR_NAME};
	struct av_result limit = {.status = AV_LIMIT,
	                          .name = "Heuristics.Limits.Exceeded.MaxFileSize"};
	struct av_result error = {.status = AV_ERROR, .error = "clamd at /x: no answer"};
	struct facts f;

	facts_init(&f);
	av_record_facts(&error, &f);
	CHECK(facts_find(&f, "av.scanned") == NULL);
	CHECK_STR(value(&f, "av.error", 0), "clamd at /x: no answer");
	facts_clear(&f);

	/* a part with a virus, then a clean whole message: the virus stays */
	av_record_facts(&virus, &f);
	av_record_facts(&clean, &f);
	av_record_facts(&virus, &f);
	av_record_facts(&limit, &f);
	CHECK_STR(value(&f, "av.scanned", 0), "yes");
	CHECK(value(&f, "av.scanned", 1) == NULL);
	CHECK_STR(value(&f, "av.virus", 0), EICAR_NAME);
	CHECK(value(&f, "av.virus", 1) == NULL);
	CHECK_STR(value(&f, "av.limit_exceeded", 0), "Heuristics.Limits.Exceeded.MaxFileSize");
	CHECK(facts_find(&f, "av.error") == NULL);
	facts_clear(&f);

	av_record_facts(&clean, &f);
	CHECK_STR(value(&f, "av.scanned", 0), "yes");
	CHECK(facts_find(&f, "av.virus") == NULL);
	CHECK(facts_find(&f, "av.limit_exceeded") == NULL);
	facts_clear(&f);
}

/* ---- clamd: a fake one for the protocol, a real one for the rest ---------- */

struct fake_clamd {
	int listen_fd;
	const char *answer; /* NULL: accept and then never answer */
	size_t answer_len;
	size_t got; /* bytes of data received in chunks */
};

static int read_full(int fd, void *p, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t k = read(fd, (char *)p + done, n - done);
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	return 0;
}

/* fake_serve - one INSTREAM request, checked, then the canned answer */
static void *fake_serve(void *arg)
{
	struct fake_clamd *f = arg;
	char cmd[10], data[4096];
	int fd = accept(f->listen_fd, NULL, NULL);

	if (fd < 0)
		return NULL;
	if (read_full(fd, cmd, sizeof(cmd)) == 0 && memcmp(cmd, "zINSTREAM", 10) == 0) {
		uint32_t size;
		while (read_full(fd, &size, 4) == 0 && (size = ntohl(size)) > 0) {
			while (size > 0) {
				size_t n = size < sizeof(data) ? size : sizeof(data);
				if (read_full(fd, data, n) != 0)
					break;
				size -= (uint32_t)n;
				f->got += n;
			}
		}
		if (f->answer)
			CHECK(write(fd, f->answer, f->answer_len) == (ssize_t)f->answer_len);
	}
	close(fd);
	return NULL;
}

static int unix_listener(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 4) != 0) {
		CHECK(!"unix listener");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static struct av_engine *clamd_engine(const char *target, unsigned timeout_ms)
{
	char spec[PATH_MAX + 16];
	struct av_settings s = {.clamav = spec, .clamd_timeout_ms = timeout_ms};
	char *error = NULL;
	struct av_engine *e;

	snprintf(spec, sizeof(spec), "clamd:%s", target);
	e = av_engine_new(&s, &error);
	CHECK(e != NULL);
	if (!e)
		fprintf(stderr, "clamd engine: %s\n", error ? error : "?");
	free(error);
	return e;
}

static void test_clamd_protocol(void)
{
	static const struct {
		const char *answer;
		size_t len;
		enum av_status status;
		const char *name;
	} cases[] = {
	    {"stream: OK\0", 11, AV_CLEAN, ""},
	    {"stream: Foo.Bar FOUND\0", 22, AV_VIRUS, "Foo.Bar"},
	    {"stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND\0", 54, AV_LIMIT,
	     "Heuristics.Limits.Exceeded.MaxFileSize"},
	    {"INSTREAM size limit exceeded. ERROR\0", 36, AV_LIMIT,
	     "Heuristics.Limits.Exceeded.StreamMaxLength"},
	    {"stream: Can't allocate memory ERROR\0", 36, AV_ERROR, ""},
	    {"stream: OK", 10, AV_CLEAN, ""}, /* no NUL, then EOF */
	    {"stream: FOUND\0", 14, AV_ERROR, ""},
	    {"UNKNOWN COMMAND\0", 16, AV_ERROR, ""},
	    {"", 0, AV_ERROR, ""}, /* closed, no answer */
	};
	char dir[] = "/tmp/test_av.XXXXXX", path[PATH_MAX];
	struct av_engine *e;

	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/fake.sock", dir);
	e = clamd_engine(path, 2000);
	for (size_t i = 0; e && i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_clamd f = {.listen_fd = unix_listener(path),
		                       .answer = cases[i].answer,
		                       .answer_len = cases[i].len};
		struct av_result r;
		pthread_t t;

		pthread_create(&t, NULL, fake_serve, &f);
		av_scan_message(e, "Subject: x\r\n\r\nhello\r\n", 21, &r);
		pthread_join(t, NULL);
		close(f.listen_fd);
		CHECK_INT(r.status, cases[i].status);
		CHECK_STR(r.name, cases[i].name);
		CHECK(r.status != AV_ERROR || r.error[0]);
		CHECK(cases[i].len == 0 || f.got > 21); /* our Received: line came first */
	}
	av_engine_free(e);
	unlink(path);

	/* nobody listening: an error at once */
	e = clamd_engine(path, 2000);
	if (e) {
		long long t0 = clock_ms();
		struct av_result r = scan(e, "x", 1);
		CHECK_INT(r.status, AV_ERROR);
		CHECK(strstr(r.error, "cannot connect") != NULL);
		CHECK(clock_ms() - t0 < 2000);
		av_engine_free(e);
	}

	/* listening but never answering: an error at the deadline, not a hang */
	e = clamd_engine(path, 300);
	if (e) {
		int fd = unix_listener(path);
		struct buf big;
		long long t0 = clock_ms(), took;
		struct av_result r;

		buf_init(&big);
		for (int i = 0; i < 4096; i++)
			buf_append_str(
			    &big, "0123456789abcdef0123456789abcdef0123456789abcdef01234567\n");
		r = scan(e, big.data, big.len);
		took = clock_ms() - t0;
		CHECK_INT(r.status, AV_ERROR);
		CHECK(strstr(r.error, "timed out") || strstr(r.error, "no answer"));
		CHECK(took >= 250 && took < 3000);
		printf("test_av: silent clamd: error after %lld ms: %s\n", took, r.error);
		close(fd);
		buf_free(&big);
		av_engine_free(e);
	}
	rm_tree(dir);
}

/* free_port - a TCP port on 127.0.0.1 that was free a moment ago */
static int free_port(void)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(in);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&in, sizeof(in)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&in, &len) == 0)
		port = ntohs(in.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* start_clamd - clamd on dir/clamd.sock (and TCP port) with the test signatures */
static pid_t start_clamd(const char *dir, int port)
{
	char conf[PATH_MAX], sock[PATH_MAX], text[4 * PATH_MAX];
	pid_t pid;

	snprintf(sock, sizeof(sock), "%s/clamd.sock", dir);
	snprintf(text, sizeof(text),
	         "LocalSocket %s\nTCPSocket %d\nTCPAddr 127.0.0.1\nDatabaseDirectory %s\n"
	         "TemporaryDirectory %s\nLogFile %s/clamd.log\nForeground yes\nDisableCache yes\n"
	         "AlertExceedsMax yes\nStreamMaxLength 1M\n",
	         sock, port, db_dir, dir, dir);
	write_file(dir, "clamd.conf", text);
	snprintf(conf, sizeof(conf), "%s/clamd.conf", dir);
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		execl(CLAMD, "clamd", "-c", conf, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* wait_clamd - until clamd answers on the socket (30 s at most) */
static bool wait_clamd(pid_t pid, struct av_engine *e)
{
	for (int i = 0; i < 600; i++) {
		struct av_result r = scan(e, "ping\n", 5);
		if (r.status == AV_CLEAN)
			return true;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		usleep(50000);
	}
	return false;
}

static void clamd_checks(struct av_engine *e, struct av_engine *tcp)
{
	struct av_result r;
	struct buf msg, zip;

	buf_init(&msg);
	buf_init(&zip);
	r = scan(e, eicar(), strlen(eicar()));
	CHECK_INT(r.status, AV_VIRUS);
	CHECK_STR(r.name, EICAR_NAME);
	r = scan(e, "Just a clean text.\n", 19);
	CHECK_INT(r.status, AV_CLEAN);

	zip_stored(&zip, "eicar.com", eicar(), strlen(eicar()));
	zip_stored(&zip, "inner.zip", zip.data, zip.len);
	message(&msg, zip.data, zip.len, 10, true);
	av_scan_message(e, msg.data, msg.len, &r);
	CHECK_INT(r.status, AV_VIRUS);
	CHECK_STR(r.name, EICAR_NAME);
	if (tcp) {
		av_scan_message(tcp, msg.data, msg.len, &r);
		CHECK_INT(r.status, AV_VIRUS);
		CHECK_STR(r.name, EICAR_NAME);
	}

	/* past StreamMaxLength (1M): a limit, read while we were still sending */
	message(&msg, "PK", 2, 40000, false);
	CHECK(msg.len > (1 << 20));
	av_scan_message(e, msg.data, msg.len, &r);
	CHECK_INT(r.status, AV_LIMIT);
	CHECK_STR(r.name, "Heuristics.Limits.Exceeded.StreamMaxLength");
	buf_free(&zip);
	buf_free(&msg);
}

static void test_clamd(void)
{
	char dir[] = "/tmp/test_av.XXXXXX", sock[PATH_MAX], tcp_spec[64];
	struct av_engine *e, *tcp;
	int port = free_port();
	pid_t pid;

	if (access(CLAMD, X_OK) != 0) {
		printf("test_av: note: %s is not installed; clamd test skipped\n", CLAMD);
		return;
	}
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(sock, sizeof(sock), "%s/clamd.sock", dir);
	snprintf(tcp_spec, sizeof(tcp_spec), "tcp:127.0.0.1:%d", port);
	e = clamd_engine(sock, 5000);
	tcp = clamd_engine(tcp_spec, 5000);
	pid = start_clamd(dir, port);
	CHECK(pid > 0);
	if (e && pid > 0 && wait_clamd(pid, e)) {
		struct av_result r;
		long long t0;

		clamd_checks(e, tcp);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
		t0 = clock_ms();
		r = scan(e, eicar(), strlen(eicar()));
		t0 = clock_ms() - t0;
		CHECK_INT(r.status, AV_ERROR);
		CHECK(strstr(r.error, "cannot connect") != NULL);
		CHECK(t0 < 2000);
		printf("test_av: clamd killed: error after %lld ms: %s\n", t0, r.error);
	} else {
		CHECK(!"clamd did not start (see its clamd.log)");
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	av_engine_free(e);
	av_engine_free(tcp);
	rm_tree(dir);
}

int main(void)
{
	const char *srcdir = getenv("srcdir");
	char path[PATH_MAX];

	log_mute(true);
	snprintf(path, sizeof(path), "%s/test-corpus/clamav", srcdir ? srcdir : ".");
	if (!realpath(path, db_dir)) {
		fprintf(stderr, "test_av: no test signatures at %s\n", path);
		return 1;
	}
	test_settings();
	test_signatures();
	test_archives();
	test_limits();
	test_scan_time();
	test_messages();
	test_bad_db();
	test_stale();
	test_tmpdir();
	test_lost_temp_file();
	test_threads();
	test_facts();
	test_clamd_protocol();
	test_clamd();
	return check_summary("test_av");
}
