/*
 * content - every fact the message's own bytes give: header fields, text
 * bodies, MIME structure, attachments (names, true types, archives,
 * macros) and antivirus.
 *
 * This is the code that parses attacker-made bytes. The daemon runs it
 * only in the sandboxed analyzer processes (analyzer/); `sekisho scan`
 * runs it in-process. Both give the same facts for the same message.
 *
 * A content engine holds what every analysis shares and what is costly to
 * build: the libmagic database and the compiled ClamAV engine. It is made
 * once per generation (before the analyzers fork, so its memory is shared)
 * and used by one thread at a time per process.
 *
 * Facts, beyond those of message.h:
 *   attachment.name            decoded file name (RFC 2231, RFC 2047)
 *   attachment.ext             last extension Windows would use (filename.h)
 *   attachment.exts            every extension a reader sees
 *   attachment.name_trick      rtlo, invisible, lookalike_dot, spaces, ...
 *   attachment.declared_type   the Content-Type the sender declared
 *   attachment.type            the true type, from the content (libmagic)
 *   attachment.size            decoded bytes
 *   attachment.in_archive      "yes" for archive members, else "no"
 *   attachment.archive_depth   0 for MIME parts, 1 inside an archive, ...
 *   attachment.encrypted       "yes": an encrypted archive or member
 *   attachment.executable      "yes": executable content (PE, ELF, ...)
 *   attachment.type_mismatch   "yes": executable content behind a
 *                              harmless-looking extension
 *   archive.limit_exceeded     why an archive was not listed whole
 *   archive.corrupt            "yes": an archive that could not be read
 *   office.macros              "yes": VBA in an OLE2 or OOXML document
 *   av.*                       antivirus (av.h)
 *   url.*                      links (url_scan.h)
 * Every file counts: MIME leaves with a name, an attachment disposition, a
 * type that is not text/plain or text/html, or executable content, and
 * every member of an archive (to archive_max_depth levels).
 */
#ifndef SEKISHO_CONTENT_H
#define SEKISHO_CONTENT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/conf.h"
#include "filters/archive_walk.h"
#include "filters/av.h"
#include "filters/facts.h"
#include "filters/message.h"
#include "filters/url_scan.h"

struct content_settings {
	struct message_limits mime;
	struct archive_limits archive;
	size_t archive_max_depth;	/* archives inside archives */
	struct av_settings av;
	struct url_scan_settings urls;	/* the lists belong to the configuration */
};

/* content_settings_from_conf - the settings sekisho.conf gives */
void content_settings_from_conf(const struct conf *conf, struct content_settings *s);

struct content_engine;

/* content_engine_new - NULL and *error_r when libmagic or ClamAV will not load */
struct content_engine *content_engine_new(const struct content_settings *s, char **error_r);
void content_engine_free(struct content_engine *e);

/* content_engine_stale - the signature database changed since it loaded */
bool content_engine_stale(struct content_engine *e);

/* content_engine_set_tmpdir - where ClamAV may unpack, in this process */
void content_engine_set_tmpdir(struct content_engine *e, const char *dir);

const char *content_engine_describe(const struct content_engine *e);

/* one line of the MIME tree, for `sekisho scan --explain` */
struct content_report_part {
	char *path;		/* "1.2", "1.2/invoice.zip/setup.exe" */
	size_t depth;		/* for indentation */
	char *label;		/* "multipart/mixed", "application/pdf invoice.pdf" */
	struct facts facts;	/* the facts this part gave */
};

struct content_report {
	struct content_report_part *parts;
	size_t count;
	struct content_report_part *links;	/* every link: label is the URL */
	size_t nlinks;
};

void content_report_free(struct content_report *r);

/* content_report_add_link - one link and its facts (copied) */
void content_report_add_link(struct content_report *r, const char *url, const struct facts *f);

/* content_analyze - the facts of msg[0..len); report may be NULL */
void content_analyze(struct content_engine *e, const char *msg, size_t len, struct facts *facts,
		     struct content_report *report);

#endif
