/*
 * attachment - the facts of one file: a MIME leaf or an archive member.
 *
 * Name (filename.h), true type (filetype.h), macros (office.h), and for
 * archives every member, recursively up to max_depth levels, each member
 * a file like any other. The facts of each file go to a set of its own,
 * so `sekisho scan --explain` can show them per part; the caller merges
 * them into the message's facts.
 */
#ifndef SEKISHO_ATTACHMENT_H
#define SEKISHO_ATTACHMENT_H

#include <stdbool.h>
#include <stddef.h>

#include "filters/archive_walk.h"
#include "filters/facts.h"
#include "filters/filetype.h"

struct attachment_ctx {
	struct filetype_detector *types;
	const struct archive_limits *limits;
	size_t max_depth;		/* archive levels listed */
	size_t archive_bytes;		/* decompressed so far in this message */
	size_t archive_members;		/* members listed so far in this message */
	/* each file's facts; path like "1.2/invoice.zip/setup.exe" */
	void (*file)(void *ctx, const char *path, size_t depth, const char *label,
		     struct facts *facts);
	void *ctx;
};

struct attachment_file {
	const char *path;
	size_t depth;			/* in the MIME tree, for the report */
	const char *name;		/* UTF-8 or NULL */
	const char *declared_type;	/* NULL inside archives */
	const unsigned char *data;
	size_t size;			/* bytes in data */
	size_t real_size;		/* the file's size, when data was cut short */
	bool truncated;
	bool encrypted;
	unsigned archive_depth;		/* 0: a MIME part */
	const struct filetype *type;	/* already detected, or NULL */
};

/* attachment_inspect - facts of f (and its members) through ctx->file */
void attachment_inspect(struct attachment_ctx *ctx, const struct attachment_file *f);

#endif
