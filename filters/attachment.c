/*
 * attachment - the facts of one file (see attachment.h).
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "common/buf.h"
#include "filters/attachment.h"
#include "filters/filename.h"
#include "filters/office.h"

struct member_walk {
	struct attachment_ctx *ctx;
	const struct attachment_file *parent;
	struct facts *parent_facts;
	size_t index;
};

static void add_yes(struct facts *f, const char *name)
{
	facts_set(f, name, "yes");
}

static void name_facts(const char *name, struct facts *f)
{
	struct filename_info info;

	facts_add_str(f, "attachment.name", name);
	filename_analyze(name, &info);
	if (info.ext[0])
		facts_add_str(f, "attachment.ext", info.ext);
	for (size_t i = 0; i < info.nexts; i++)
		facts_add_str(f, "attachment.exts", info.exts[i]);
	for (unsigned bit = 1; bit <= NAME_TRICK_CONTROL; bit <<= 1)
		if (info.tricks & bit)
			facts_add_str(f, "attachment.name_trick", filename_trick_name(bit));
}

static void type_facts(const struct attachment_file *file, const struct filetype *t,
		       struct facts *f)
{
	struct filename_info info;

	facts_add_str(f, "attachment.type", t->mime);
	if (t->executable)
		add_yes(f, "attachment.executable");
	if (!file->name || !(t->executable || t->script))
		return;
	filename_analyze(file->name, &info);
	if (filetype_ext_mismatch(info.ext, t))
		add_yes(f, "attachment.type_mismatch");
}

/* label - what the report shows for the file */
static char *label(const struct attachment_file *file, const struct filetype *t)
{
	return g_strdup_printf("%s%s%s", file->declared_type ? file->declared_type : t->mime,
			       file->name ? " " : "", file->name ? file->name : "");
}

static void inspect_member(void *opaque, const struct archive_member *m);

/* archive_facts - list the members of an archive file, one level down */
static void archive_facts(struct attachment_ctx *ctx, const struct attachment_file *file,
			  struct facts *f)
{
	struct member_walk mw = {.ctx = ctx, .parent = file, .parent_facts = f};
	struct archive_limits lim = *ctx->limits;
	const char *format = NULL;

	if (file->archive_depth >= ctx->max_depth) {
		facts_add_str(f, "archive.limit_exceeded", "depth");
		return;
	}
	/* the message's budget is shared by every archive in it */
	lim.max_total = ctx->archive_bytes < lim.max_total ? lim.max_total - ctx->archive_bytes : 0;
	lim.max_members = ctx->archive_members < lim.max_members
				  ? lim.max_members - ctx->archive_members
				  : 0;
	switch (archive_walk(file->data, file->size, &lim, inspect_member, &mw, &format)) {
	case ARCHIVE_WALK_OK:
	case ARCHIVE_WALK_NOT_ARCHIVE:
		break;
	case ARCHIVE_WALK_CORRUPT:
		add_yes(f, "archive.corrupt");
		break;
	case ARCHIVE_WALK_LIMIT:
		facts_add_str(f, "archive.limit_exceeded", "size");
		break;
	case ARCHIVE_WALK_ENCRYPTED:
		/* the member list itself is hidden: nothing inside can be judged */
		add_yes(f, "attachment.encrypted");
		break;
	}
	if (format)
		facts_add_str(f, "archive.format", format);
}

static void inspect_member(void *opaque, const struct archive_member *m)
{
	struct member_walk *mw = opaque;
	char *name = g_utf8_make_valid(m->name, -1);
	char *path = g_strdup_printf("%s/%s", mw->parent->path, name);
	struct attachment_file member = {
	    .path = path,
	    .depth = mw->parent->depth + 1,
	    .name = name,
	    .data = m->data,
	    .size = m->data ? m->size : 0,
	    .real_size = m->size,
	    .truncated = m->truncated,
	    .encrypted = m->encrypted,
	    .archive_depth = mw->parent->archive_depth + 1,
	};

	mw->ctx->archive_members++;
	mw->ctx->archive_bytes += member.size;
	if (m->encrypted)
		add_yes(mw->parent_facts, "attachment.encrypted");
	if (office_ooxml_member_is_vba(m->name))
		add_yes(mw->parent_facts, "office.macros");
	if (!m->is_dir)
		attachment_inspect(mw->ctx, &member);
	g_free(path);
	g_free(name);
}

void attachment_inspect(struct attachment_ctx *ctx, const struct attachment_file *file)
{
	struct filetype t;
	struct facts f;
	char *text;

	facts_init(&f);
	if (file->name)
		name_facts(file->name, &f);
	if (file->declared_type)
		facts_add_str(&f, "attachment.declared_type", file->declared_type);
	facts_add_num(&f, "attachment.size", (double)(file->truncated ? file->real_size : file->size));
	facts_add_str(&f, "attachment.in_archive", file->archive_depth ? "yes" : "no");
	facts_add_num(&f, "attachment.archive_depth", file->archive_depth);
	if (file->encrypted)
		add_yes(&f, "attachment.encrypted");
	if (file->type)
		t = *file->type;
	else
		filetype_detect(ctx->types, file->data, file->size, &t);
	type_facts(file, &t, &f);
	if (t.ole2 && office_ole_has_vba(file->data, file->size))
		add_yes(&f, "office.macros");
	if (t.archive || t.disk_image || t.ooxml)
		archive_facts(ctx, file, &f);
	text = label(file, &t);
	ctx->file(ctx->ctx, file->path, file->depth, text, &f);
	g_free(text);
	facts_clear(&f);
}
