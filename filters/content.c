/*
 * content - every fact the message's own bytes give (see content.h).
 *
 * Antivirus: libclamav scans the raw message once with its own MIME,
 * archive and document parsers, so a part our walk and ClamAV's walk see
 * differently is still scanned; the candidate parts that only our
 * fallback scan of a broken structure found are scanned on their own as
 * well. With clamd the daemon streams the message to clamd itself (the
 * analyzers have no sockets); the analyzers then run with antivirus off.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "common/xalloc.h"
#include "filters/attachment.h"
#include "filters/content.h"
#include "filters/filetype.h"

struct content_engine {
	struct content_settings settings;
	struct filetype_detector *types;
	struct av_engine *av;		/* NULL: antivirus off */
	struct url_scanner *urls;
	char *describe;
};

struct analysis {
	struct content_engine *e;
	struct facts *facts;
	struct content_report *report;
	struct attachment_ctx files;
	struct url_scan *urls;
};

void content_settings_from_conf(const struct conf *c, struct content_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->mime = message_default_limits;
	s->mime.max_parts = (size_t)c->mime_max_parts;
	s->mime.max_depth = (size_t)c->mime_max_depth;
	s->mime.max_decoded = (size_t)c->attachment_max_size;
	s->archive.max_members = (size_t)c->archive_max_members;
	s->archive.max_member_size = (size_t)c->attachment_max_size;
	s->archive.max_total = (size_t)c->archive_max_total;
	s->archive_max_depth = (size_t)c->archive_max_depth;
	s->av.clamav = c->clamav;
	s->av.db_dir = c->clamav_db;
	s->av.max_filesize = (size_t)c->clamav_max_filesize;
	s->av.max_scansize = (size_t)c->clamav_max_scansize;
	s->av.max_files = (unsigned)c->clamav_max_files;
	s->av.max_recursion = (unsigned)c->clamav_max_recursion;
	s->av.max_scantime_ms = (unsigned)(c->clamav_max_scantime * 1000);
	s->av.clamd_timeout_ms = (unsigned)(c->clamav_max_scantime * 1000 + 10000);
	s->urls.max = (size_t)c->url_max;
	s->urls.shorteners = &c->url_shorteners;
	s->urls.protect = &c->protect_domains;
	s->urls.psl_file = c->psl_file;
}

struct content_engine *content_engine_new(const struct content_settings *s, char **error_r)
{
	struct content_engine *e = xcalloc(1, sizeof(*e));

	e->settings = *s;
	e->types = filetype_new(error_r);
	if (!e->types) {
		free(e);
		return NULL;
	}
	e->urls = url_scanner_new(&s->urls, error_r);
	if (!e->urls) {
		filetype_free(e->types);
		free(e);
		return NULL;
	}
	if (s->av.clamav && s->av.clamav[0] && strcmp(s->av.clamav, "off") != 0) {
		e->av = av_engine_new(&s->av, error_r);
		if (!e->av) {
			url_scanner_free(e->urls);
			filetype_free(e->types);
			free(e);
			return NULL;
		}
	}
	e->describe = e->av ? xstrdup(av_engine_describe(e->av)) : xstrdup("antivirus off");
	/* the strings belong to the caller's configuration */
	e->settings.av.clamav = NULL;
	e->settings.av.db_dir = NULL;
	memset(&e->settings.urls, 0, sizeof(e->settings.urls));
	return e;
}

void content_engine_free(struct content_engine *e)
{
	if (!e)
		return;
	filetype_free(e->types);
	av_engine_free(e->av);
	url_scanner_free(e->urls);
	free(e->describe);
	free(e);
}

bool content_engine_stale(struct content_engine *e)
{
	return e->av && av_engine_stale(e->av);
}

void content_engine_set_tmpdir(struct content_engine *e, const char *dir)
{
	if (e->av)
		av_engine_set_tmpdir(e->av, dir);
}

const char *content_engine_describe(const struct content_engine *e)
{
	return e->describe;
}

static void parts_free(struct content_report_part **parts, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free((*parts)[i].path);
		free((*parts)[i].label);
		facts_clear(&(*parts)[i].facts);
	}
	free(*parts);
	*parts = NULL;
	*n = 0;
}

void content_report_free(struct content_report *r)
{
	parts_free(&r->parts, &r->count);
	parts_free(&r->links, &r->nlinks);
}

void content_report_add_link(struct content_report *r, const char *url, const struct facts *f)
{
	struct content_report_part *link;

	r->links = xrealloc(r->links, (r->nlinks + 1) * sizeof(*r->links));
	link = &r->links[r->nlinks++];
	*link = (struct content_report_part){
	    .path = xasprintf("link %zu", r->nlinks),
	    .label = xstrdup(url),
	};
	facts_init(&link->facts);
	facts_merge(&link->facts, f);
}

/*
 * report_add - a part for the report, placed before the members of an
 * archive that attachment_inspect reported first.
 */
static void report_add(struct content_report *r, const char *path, size_t depth,
		       const char *label, const struct facts *facts)
{
	size_t at = r->count, n = strlen(path);

	while (at > 0 && strncmp(r->parts[at - 1].path, path, n) == 0 &&
	       r->parts[at - 1].path[n] == '/')
		at--;
	r->parts = xrealloc(r->parts, (r->count + 1) * sizeof(*r->parts));
	memmove(&r->parts[at + 1], &r->parts[at], (r->count - at) * sizeof(*r->parts));
	r->parts[at] = (struct content_report_part){
	    .path = xstrdup(path),
	    .depth = depth,
	    .label = xstrdup(label),
	};
	facts_init(&r->parts[at].facts);
	facts_merge(&r->parts[at].facts, facts);
	r->count++;
}

/* file_done - one file's facts: into the message's, and the report */
static void file_done(void *opaque, const char *path, size_t depth, const char *label,
		      struct facts *facts)
{
	struct analysis *a = opaque;

	facts_merge(a->facts, facts);
	facts_merge(facts_add_file(a->facts), facts);
	if (a->report)
		report_add(a->report, path, depth, label, facts);
}

/* html_attachment - an HTML file that is not a text/html body part (those
 * come through body.html): its links count like the body's */
static bool html_attachment(const struct mime_part_info *p)
{
	const char *name = p->filename, *dot = name ? strrchr(name, '.') : NULL;

	if (strcmp(p->content_type, "text/html") == 0)
		return false;
	return dot && (g_ascii_strcasecmp(dot, ".html") == 0 || g_ascii_strcasecmp(dot, ".htm") == 0 ||
		       g_ascii_strcasecmp(dot, ".shtml") == 0 || g_ascii_strcasecmp(dot, ".xhtml") == 0 ||
		       g_ascii_strcasecmp(dot, ".svg") == 0);
}

/* is_attachment - does a MIME leaf count as a file? (see content.h) */
static bool is_attachment(const struct mime_part_info *p)
{
	if (p->filename || (p->disposition && strcmp(p->disposition, "attachment") == 0))
		return true;
	return strcmp(p->content_type, "text/plain") != 0 &&
	       strcmp(p->content_type, "text/html") != 0;
}

static void av_scan_bytes(struct analysis *a, const void *data, size_t len, struct facts *f)
{
	struct av_result r;

	av_scan(a->e->av, data, len, &r);
	av_record_facts(&r, f);
}

/* on_part - the visitor of the MIME walk */
static void on_part(void *opaque, const struct mime_part_info *p)
{
	struct analysis *a = opaque;
	struct filetype t;
	struct attachment_file file = {
	    .path = p->path,
	    .depth = p->depth,
	    .name = p->filename,
	    .declared_type = p->content_type,
	    .data = p->data,
	    .size = p->size,
	    .real_size = p->size,
	    .truncated = p->truncated,
	};

	if (!p->leaf) {
		struct facts none;

		if (a->report) {
			facts_init(&none);
			report_add(a->report, p->path, p->depth, p->content_type, &none);
		}
		return;
	}
	if (p->candidate && a->e->av) {
		struct facts f;

		facts_init(&f);
		av_scan_bytes(a, p->data, p->size, &f);
		facts_merge(a->facts, &f);
		facts_clear(&f);
	}
	if (html_attachment(p))
		url_scan_html(a->urls, (const char *)p->data, p->size);
	filetype_detect(a->e->types, p->data, p->size, &t);
	if (is_attachment(p) || t.executable) {
		file.type = &t;
		attachment_inspect(&a->files, &file);
	} else if (a->report) {
		struct facts none;

		facts_init(&none);
		report_add(a->report, p->path, p->depth, p->content_type, &none);
	}
}

/* scan_bodies - the links of every body, already UTF-8 (message.c) */
static void scan_bodies(struct url_scan *urls, const struct facts *facts)
{
	const struct fact *html = facts_find(facts, "body.html");
	const struct fact *text = facts_find(facts, "body.text");

	for (size_t i = 0; html && i < html->count; i++)
		url_scan_html(urls, html->values[i], strlen(html->values[i]));
	for (size_t i = 0; text && i < text->count; i++)
		url_scan_text(urls, text->values[i], strlen(text->values[i]));
}

void content_analyze(struct content_engine *e, const char *msg, size_t len, struct facts *facts,
		     struct content_report *report)
{
	struct analysis a = {
	    .e = e,
	    .facts = facts,
	    .report = report,
	    .files = {
		.types = e->types,
		.limits = &e->settings.archive,
		.max_depth = e->settings.archive_max_depth,
		.file = file_done,
	    },
	};
	struct message_visitor visitor = {.part = on_part, .ctx = &a};

	a.files.ctx = &a;
	a.urls = url_scan_begin(e->urls, report);
	message_walk(msg, len, &e->settings.mime, &visitor, facts);
	scan_bodies(a.urls, facts);
	url_scan_end(a.urls, facts);
	if (e->av)
		av_scan_bytes(&a, msg, len, facts);
}
