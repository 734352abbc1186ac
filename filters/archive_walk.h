/*
 * archive_walk - list the members of one archive held in memory.
 *
 * libarchive reads zip, 7z, rar, rar5, tar, cpio, ISO 9660, cab and lha,
 * plain or under gzip, bzip2, xz, lzma, lzip, zstd, lz4 or compress; a
 * lone compressed file (report.pdf.gz) is one member. Nothing is written
 * to disk and nothing is run: compressions libarchive would hand to an
 * outside program (lzop, lrzip, grzip) are not offered to it.
 *
 * One level only: a member that is itself an archive is handed over as
 * bytes, and the caller decides whether to walk it, so the caller owns
 * the depth limit. Every byte decompressed counts against max_total,
 * including bytes past max_member_size that are read only to be dropped,
 * so a bomb costs at most max_total bytes of work (see archive_walk.c).
 */
#ifndef SEKISHO_ARCHIVE_WALK_H
#define SEKISHO_ARCHIVE_WALK_H

#include <stdbool.h>
#include <stddef.h>

struct archive_limits {
	size_t max_members;     /* members listed at most */
	size_t max_member_size; /* bytes decompressed per member kept */
	size_t max_total;       /* bytes decompressed in all */
};

/*
 * One member, as handed to the callback. It and everything it points to
 * belong to archive_walk and are valid only during that call.
 */
struct archive_member {
	const char *name;          /* as stored, valid UTF-8 (archive_walk.c); never NULL */
	const unsigned char *data; /* decompressed; NULL when there is none (below) */
	size_t size;               /* bytes at data */
	bool encrypted;            /* data (or name) encrypted: data is NULL */
	bool truncated;            /* data is a prefix (max_member_size or max_total) */
	bool damaged;              /* reading failed part way: data is what came first */
	bool is_dir;               /* data is NULL; so for links and devices */
	/* bytes this walk has decompressed so far, this member's included: the
	 * walk's cost, for a budget shared by walks (more than the bytes kept) */
	size_t decompressed;
};

enum archive_result {
	ARCHIVE_WALK_OK,          /* every member listed */
	ARCHIVE_WALK_NOT_ARCHIVE, /* no format or compression libarchive reads */
	ARCHIVE_WALK_CORRUPT,     /* broken, or a member damaged: what came first listed */
	ARCHIVE_WALK_LIMIT,       /* max_members or max_total cut the walk */
	ARCHIVE_WALK_ENCRYPTED,   /* the member list itself is encrypted (7z -mhe, rar -hp) */
};

/*
 * archive_walk_init - once, before the sandbox: loads what needs files
 * (see archive_walk.c). archive_walk calls it too, for tests and tools.
 */
void archive_walk_init(void);

typedef void (*archive_member_fn)(void *ctx, const struct archive_member *m);

/*
 * archive_walk - call fn for each member of the archive in data[0..len).
 * *format_r (when format_r is not NULL) is set to a static short name:
 * "zip", "7zip", "rar", "rar5", "tar", "cpio", "iso9660", "cab", "lha",
 * or for a lone compressed file the compression: "gzip", "bzip2", "xz",
 * "lzma", "lzip", "zstd", "lz4", "compress"; NULL when not an archive.
 */
enum archive_result archive_walk(const void *data, size_t len, const struct archive_limits *lim,
                                 archive_member_fn fn, void *ctx, const char **format_r);

/* archive_walk_result_name - "ok", "not_archive", "corrupt", "limit", "encrypted" */
const char *archive_walk_result_name(enum archive_result r);

/*
 * archive_walk_looks_like_archive - does data start like one of the
 * formats above? A cheap test by magic numbers before paying for a walk.
 * It misses what only a full reader finds: a zip appended to an
 * executable (self-extracting), a tar without the ustar magic.
 */
bool archive_walk_looks_like_archive(const void *data, size_t len);

#endif
