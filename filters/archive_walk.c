/*
 * archive_walk - list the members of one archive held in memory.
 *
 * Which readers. zip, 7z, rar, rar5, tar, cpio and ISO 9660, plus cab
 * (Windows opens it natively) and lha (.lzh, still met in Japanese mail);
 * all read by Debian 12's libarchive 3.6.2, under any of the compressions
 * in compressions[]. They are registered one by one, never with
 * archive_read_support_*_all: "all" brings mtree, whose reader opens the
 * files an mtree spec names on the local disk, and compressions such as
 * lzop that libarchive runs as an outside program. A compression whose
 * registration does not answer ARCHIVE_OK (libarchive's way of saying "I
 * will exec a program for this") is left out; the check runs once per
 * process, before any input is seen.
 *
 * Bombs. libarchive skips the unread rest of a member by decompressing it
 * whenever it cannot seek past it (tar.gz, solid 7z and rar), out of our
 * sight: a 1 KB bzip2 stream holds a gigabyte of zeros. So every member
 * is read to its end here, each byte counted against max_total, and the
 * bytes past max_member_size are read into a scratch buffer and dropped.
 * The decompression work of a walk is thus about max_total bytes, whatever
 * the archive claims; once max_total is spent the walk stops (LIMIT), and
 * the member being read is reported truncated. Each member reports the
 * walk's count so far (decompressed), so that a caller sharing one budget
 * among nested walks charges the work done, not just the bytes kept.
 * Encrypted members are not read; skipping them costs no decompression,
 * since nobody can decrypt them.
 *
 * Names. libarchive's UTF-8 form of the stored name where it has one
 * (zip names flagged UTF-8, 7z, rar5, Joliet and Rock Ridge names); else
 * the stored bytes, with each byte that is not part of valid UTF-8
 * replaced by U+FFFD, so an old CP437 or CP932 zip name keeps its ASCII
 * (".exe") and loses the rest. A lone compressed file has no member name
 * unless gzip stored the original one in its header; otherwise it is "".
 * libarchive converts names to the charset of the current locale and
 * drops those it cannot convert (a 7z name in kanji is "" under the C
 * locale), so each walk runs with this thread's locale set to C.UTF-8
 * (uselocale), whatever the process locale is.
 *
 * Sandbox. archive_walk_init, called before the sandbox is closed, does
 * what needs files: it loads the C.UTF-8 locale and the time zone
 * (tzset). libarchive's mktime() for zip times still makes glibc stat
 * /etc/localtime at every member unless TZ is set: the analyzer should
 * set TZ (say TZ=UTC) before it calls archive_walk_init. Otherwise a walk
 * opens no file (strace, and the seccomp test in test_archive_walk); an
 * iconv module libarchive might ask for (none in a UTF-8 locale) would
 * fail to load harmlessly, libarchive using its own UTF-16 conversion.
 *
 * Encryption. A member whose data (or name) is encrypted is reported with
 * encrypted set and no data; listing goes on where the format allows it.
 * When the member list itself is encrypted (7z -mhe, rar -hp) nothing can
 * be listed and the result is ARCHIVE_WALK_ENCRYPTED.
 */
#include "config.h"

#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/buf.h"
#include "common/text.h"
#include "common/xalloc.h"
#include "filters/archive_walk.h"

#define WALK_CHUNK ((size_t)64 * 1024)

#define REPLACEMENT "\xef\xbf\xbd"

/* the compressions libarchive decodes in process (see the file comment) */
static const struct {
	const char *name;
	int code;
	int (*support)(struct archive *);
} compressions[] = {
    {"gzip", ARCHIVE_FILTER_GZIP, archive_read_support_filter_gzip},
    {"bzip2", ARCHIVE_FILTER_BZIP2, archive_read_support_filter_bzip2},
    {"xz", ARCHIVE_FILTER_XZ, archive_read_support_filter_xz},
    {"lzma", ARCHIVE_FILTER_LZMA, archive_read_support_filter_lzma},
    {"lzip", ARCHIVE_FILTER_LZIP, archive_read_support_filter_lzip},
    {"zstd", ARCHIVE_FILTER_ZSTD, archive_read_support_filter_zstd},
    {"lz4", ARCHIVE_FILTER_LZ4, archive_read_support_filter_lz4},
    {"compress", ARCHIVE_FILTER_COMPRESS, archive_read_support_filter_compress},
};
#define N_COMPRESSIONS (sizeof(compressions) / sizeof(compressions[0]))

static const struct {
	const char *name;
	int code;
	int (*support)(struct archive *);
} formats[] = {
    {"zip", ARCHIVE_FORMAT_ZIP, archive_read_support_format_zip},
    {"7zip", ARCHIVE_FORMAT_7ZIP, archive_read_support_format_7zip},
    {"rar", ARCHIVE_FORMAT_RAR, archive_read_support_format_rar},
    {"rar5", ARCHIVE_FORMAT_RAR_V5, archive_read_support_format_rar5},
    {"tar", ARCHIVE_FORMAT_TAR, archive_read_support_format_tar},
    {"cpio", ARCHIVE_FORMAT_CPIO, archive_read_support_format_cpio},
    {"iso9660", ARCHIVE_FORMAT_ISO9660, archive_read_support_format_iso9660},
    {"cab", ARCHIVE_FORMAT_CAB, archive_read_support_format_cab},
    {"lha", ARCHIVE_FORMAT_LHA, archive_read_support_format_lha},
};
#define N_FORMATS (sizeof(formats) / sizeof(formats[0]))

static bool compression_in_process[N_COMPRESSIONS];
static locale_t utf8_locale;
static pthread_once_t walk_once = PTHREAD_ONCE_INIT;

struct walk {
	struct archive *a;
	const struct archive_limits *lim;
	archive_member_fn fn;
	void *ctx;
	size_t total;        /* bytes decompressed so far */
	unsigned char *data; /* the kept prefix of the member being read */
	size_t cap;
	unsigned char *scratch; /* where bytes past max_member_size go */
	struct buf name;
	bool damaged;
};

/*
 * walk_setup - which compressions register without an outside program,
 * and the UTF-8 locale the walks run in (newlocale reads locale files).
 */
static void walk_setup(void)
{
	for (size_t i = 0; i < N_COMPRESSIONS; i++) {
		struct archive *a = archive_read_new();

		compression_in_process[i] = a && compressions[i].support(a) == ARCHIVE_OK;
		archive_read_free(a);
	}
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	tzset();
}

void archive_walk_init(void)
{
	pthread_once(&walk_once, walk_setup);
}

/* reader_new - a reader for our formats, or for one raw (lone compressed) member */
static struct archive *reader_new(bool raw)
{
	struct archive *a = archive_read_new();

	if (!a)
		return NULL;
	for (size_t i = 0; i < N_COMPRESSIONS; i++)
		if (compression_in_process[i])
			compressions[i].support(a);
	if (raw) {
		archive_read_support_format_raw(a);
		return a;
	}
	for (size_t i = 0; i < N_FORMATS; i++)
		formats[i].support(a);
	return a;
}

/* compression_name - the outermost compression of an open reader, or NULL */
static const char *compression_name(struct archive *a)
{
	int code;

	if (archive_filter_count(a) < 2)
		return NULL;
	code = archive_filter_code(a, 0);
	for (size_t i = 0; i < N_COMPRESSIONS; i++)
		if (compressions[i].code == code)
			return compressions[i].name;
	return NULL;
}

/* format_name - our short name for the format of the entry just read, or NULL */
static const char *format_name(struct archive *a)
{
	int code = archive_format(a) & ARCHIVE_FORMAT_BASE_MASK;

	for (size_t i = 0; i < N_FORMATS; i++)
		if (formats[i].code == code)
			return formats[i].name;
	return NULL;
}

/* magic_format - the format data starts like, by magic number; NULL if none */
static const char *magic_format(const unsigned char *p, size_t len)
{
	static const struct {
		size_t off;
		const char *magic;
		size_t len;
		const char *name;
	} magics[] = {
	    {0, "PK\x03\x04", 4, "zip"},
	    {0, "PK\x05\x06", 4, "zip"}, /* empty */
	    {0, "PK\x07\x08", 4, "zip"}, /* spanned */
	    {0, "7z\xbc\xaf\x27\x1c", 6, "7zip"},
	    {0, "Rar!\x1a\x07\x01\x00", 8, "rar5"},
	    {0, "Rar!\x1a\x07\x00", 7, "rar"},
	    {257, "ustar", 5, "tar"},
	    {0, "070701", 6, "cpio"},
	    {0, "070702", 6, "cpio"},
	    {0, "070707", 6, "cpio"},
	    {0x8001, "CD001", 5, "iso9660"},
	    {0x8801, "CD001", 5, "iso9660"},
	    {0x9001, "CD001", 5, "iso9660"},
	    {0, "MSCF\0\0\0\0", 8, "cab"},
	    {0, "\x1f\x8b", 2, "gzip"},
	    {0, "BZh", 3, "bzip2"},
	    {0, "\3757zXZ\0", 6, "xz"},
	    {0, "LZIP", 4, "lzip"},
	    {0, "\x28\xb5\x2f\xfd", 4, "zstd"},
	    {0, "\x04\x22\x4d\x18", 4, "lz4"},
	    {0, "\x1f\x9d", 2, "compress"},
	};

	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (len >= magics[i].off + magics[i].len &&
		    memcmp(p + magics[i].off, magics[i].magic, magics[i].len) == 0)
			return magics[i].name;
	/* lha: "-lh?-" or "-lz?-" after two header bytes */
	if (len >= 7 && p[2] == '-' && p[3] == 'l' && (p[4] == 'h' || p[4] == 'z') && p[6] == '-')
		return "lha";
	return NULL;
}

bool archive_walk_looks_like_archive(const void *data, size_t len)
{
	return data && magic_format(data, len) != NULL;
}

const char *archive_walk_result_name(enum archive_result r)
{
	switch (r) {
	case ARCHIVE_WALK_OK:
		return "ok";
	case ARCHIVE_WALK_NOT_ARCHIVE:
		return "not_archive";
	case ARCHIVE_WALK_CORRUPT:
		return "corrupt";
	case ARCHIVE_WALK_LIMIT:
		return "limit";
	case ARCHIVE_WALK_ENCRYPTED:
		return "encrypted";
	}
	return "unknown";
}

/* utf8_clean - s into out, each byte not in valid UTF-8 (or a NUL) as U+FFFD */
static void utf8_clean(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, step;

	while (i < n) {
		if (text_utf8_next(p + i, n - i, &step) <= 0) {
			buf_append(out, REPLACEMENT, 3);
			i++;
			continue;
		}
		buf_append(out, p + i, step);
		i += step;
	}
}

/*
 * gzip_name - the original name a gzip header stores (RFC 1952 §2.3.1:
 * FEXTRA comes before FNAME), or NULL; *len_r is its length.
 */
static const char *gzip_name(const unsigned char *p, size_t len, size_t *len_r)
{
	size_t at = 10;
	const unsigned char *end;

	if (len < 10 || p[0] != 0x1f || p[1] != 0x8b || !(p[3] & 0x08))
		return NULL;
	if (p[3] & 0x04) {
		if (len < 12)
			return NULL;
		at = 12 + (size_t)(p[10] | p[11] << 8);
	}
	if (at >= len || !(end = memchr(p + at, '\0', len - at)))
		return NULL;
	*len_r = (size_t)(end - (p + at));
	return (const char *)p + at;
}

/* member_name - the entry's name for the callback (see the file comment) */
static const char *member_name(struct walk *w, struct archive_entry *e)
{
	const char *s = archive_entry_pathname_utf8(e);

	if (!s)
		s = archive_entry_pathname(e);
	buf_reset(&w->name);
	if (s)
		utf8_clean(&w->name, s, strlen(s));
	return buf_cstr(&w->name);
}

/* keep_room - room for n more bytes after the first have bytes of the kept prefix */
static unsigned char *keep_room(struct walk *w, size_t have, size_t n)
{
	if (w->cap - have < n) {
		size_t cap = w->cap ? w->cap : WALK_CHUNK;

		while (cap - have < n)
			cap *= 2;
		w->data = xrealloc(w->data, cap);
		w->cap = cap;
	}
	return w->data + have;
}

/*
 * read_member - decompress the current member to its end, keeping its
 * first max_member_size bytes in m. False when max_total ran out.
 */
static bool read_member(struct walk *w, struct archive_member *m)
{
	size_t kept = 0;

	for (;;) {
		size_t room = w->lim->max_member_size - kept,
		       want = room < WALK_CHUNK ? room : WALK_CHUNK;
		unsigned char *to = want ? keep_room(w, kept, want) : w->scratch;
		la_ssize_t n = archive_read_data(w->a, to, want ? want : WALK_CHUNK);

		if (n == 0)
			break;
		if (n < 0) {
			m->damaged = w->damaged = true;
			break;
		}
		if ((size_t)n > w->lim->max_total - w->total) {
			if (want)
				kept += w->lim->max_total - w->total;
			w->total = w->lim->max_total;
			m->truncated = true;
			m->data = kept ? w->data : NULL;
			m->size = kept;
			return false;
		}
		w->total += (size_t)n;
		if (want)
			kept += (size_t)n;
		else
			m->truncated = true;
	}
	m->data = kept ? w->data : NULL;
	m->size = kept;
	return true;
}

/*
 * has_data - does the entry carry bytes of its own? Not a directory, a
 * symbolic link (its target is in the header) or a device, nor a hard
 * link without data (rar5 refuses to read those, tar gives nothing).
 * An entry of no stated type is read, in case the format left it unset.
 */
static bool has_data(struct archive_entry *e)
{
	mode_t type = archive_entry_filetype(e);

	if (type != AE_IFREG && type != 0)
		return false;
	return !archive_entry_hardlink(e) || archive_entry_size(e) > 0;
}

/* walk_entries - the member loop; the reader is open */
static enum archive_result walk_entries(struct walk *w, const char *raw_name)
{
	struct archive_entry *e;
	size_t headers = 0;

	for (;;) {
		struct archive_member m = {0};
		bool more = true;
		int r = archive_read_next_header(w->a, &e);

		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_FATAL) {
			if (headers == 0 && archive_read_has_encrypted_entries(w->a) > 0)
				return ARCHIVE_WALK_ENCRYPTED;
			return ARCHIVE_WALK_CORRUPT;
		}
		/* every header counts, RETRY and FAILED too, so the loop ends */
		if (headers++ == w->lim->max_members)
			return ARCHIVE_WALK_LIMIT;
		if (r == ARCHIVE_RETRY)
			continue;
		m.name = raw_name ? raw_name : member_name(w, e);
		m.is_dir = archive_entry_filetype(e) == AE_IFDIR;
		m.encrypted = archive_entry_is_encrypted(e);
		if (r == ARCHIVE_FAILED)
			m.damaged = w->damaged = true;
		else if (has_data(e) && !m.encrypted)
			more = read_member(w, &m);
		m.decompressed = w->total;
		if (w->fn)
			w->fn(w->ctx, &m);
		if (!more)
			return ARCHIVE_WALK_LIMIT;
	}
	return w->damaged ? ARCHIVE_WALK_CORRUPT : ARCHIVE_WALK_OK;
}

/* open_reader - w->a open on data; false (w->a NULL) when nothing bids */
static bool open_reader(struct walk *w, const void *data, size_t len, bool raw)
{
	w->a = reader_new(raw);
	if (!w->a)
		return false;
	if (archive_read_open_memory(w->a, (void *)(uintptr_t)data, len) == ARCHIVE_OK)
		return true;
	archive_read_free(w->a);
	w->a = NULL;
	return false;
}

/* walk_run - try the archive formats, then one compressed raw member */
static enum archive_result walk_run(struct walk *w, const void *data, size_t len,
                                    const char **format_r)
{
	enum archive_result r;
	const char *name, *raw_name = NULL;
	size_t name_len;

	if (open_reader(w, data, len, false)) {
		r = walk_entries(w, NULL);
		*format_r = format_name(w->a);
		return r;
	}
	/* libarchive cannot open a compressed stream cut short: the magic number tells */
	if (!open_reader(w, data, len, true))
		return magic_format(data, len) ? ARCHIVE_WALK_CORRUPT : ARCHIVE_WALK_NOT_ARCHIVE;
	if (!(*format_r = compression_name(w->a)))
		return ARCHIVE_WALK_NOT_ARCHIVE;
	buf_reset(&w->name);
	if ((name = gzip_name(data, len, &name_len)))
		utf8_clean(&w->name, name, name_len);
	raw_name = buf_cstr(&w->name);
	return walk_entries(w, raw_name);
}

enum archive_result archive_walk(const void *data, size_t len, const struct archive_limits *lim,
                                 archive_member_fn fn, void *ctx, const char **format_r)
{
	struct walk w = {.lim = lim, .fn = fn, .ctx = ctx};
	const char *format = NULL;
	enum archive_result r;

	locale_t caller = (locale_t)0;

	archive_walk_init();
	if (!data || len == 0) {
		if (format_r)
			*format_r = NULL;
		return ARCHIVE_WALK_NOT_ARCHIVE;
	}
	w.scratch = xmalloc(WALK_CHUNK);
	buf_init(&w.name);
	if (utf8_locale)
		caller = uselocale(utf8_locale);
	r = walk_run(&w, data, len, &format);
	if (r != ARCHIVE_WALK_NOT_ARCHIVE && !format)
		format = magic_format(data, len);
	if (format_r)
		*format_r = r == ARCHIVE_WALK_NOT_ARCHIVE ? NULL : format;
	archive_read_free(w.a);
	if (utf8_locale)
		uselocale(caller);
	buf_free(&w.name);
	free(w.data);
	free(w.scratch);
	return r;
}
