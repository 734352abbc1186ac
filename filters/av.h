/*
 * av - antivirus: ClamAV in-process (libclamav) or over clamd's INSTREAM.
 *
 * A scan ends in one of four results, and a limit is never a clean:
 *   AV_CLEAN  the whole input was scanned and nothing matched;
 *   AV_VIRUS  a signature matched; name is ClamAV's name for it;
 *   AV_LIMIT  part of the input was not scanned because a limit was
 *             reached; name is the Heuristics.Limits.Exceeded.* name;
 *   AV_ERROR  no verdict (clamd down or silent, no temporary directory,
 *             a temporary file that could not be written); error says
 *             why. Trying again later may succeed.
 * Any name that starts with "Heuristics.Limits.Exceeded." is a limit;
 * every other name, other Heuristics.* included (say, the official
 * database's Heuristics.Phishing.*), is a virus: a rule can tell them
 * apart by the prefix.
 *
 * An engine is built once and then only read: one engine may serve many
 * threads at a time and survives fork() into worker processes. Only
 * av_engine_set_tmpdir changes it, and a worker calls that once, before
 * it scans. A reload builds a new engine; the old one is freed when no
 * scan uses it any more. The engine owns copies of what it keeps of the
 * settings.
 */
#ifndef SEKISHO_AV_H
#define SEKISHO_AV_H

#include <stdbool.h>
#include <stddef.h>

#include "filters/facts.h"

struct av_settings {
	/*
	 * "" or "off": no antivirus (av_engine_new answers NULL, no error);
	 * "libclamav": the in-process engine with the signatures in db_dir;
	 * "clamd:/path/to/socket" or "clamd:tcp:HOST:PORT" (HOST a numeric
	 * IPv4 address or [IPv6] address; no DNS at scan time).
	 */
	const char *clamav;
	const char *db_dir;
	/* libclamav limits; 0 keeps libclamav's default. clamd uses its own. */
	size_t max_filesize, max_scansize; /* bytes */
	unsigned max_files, max_recursion;
	unsigned max_scantime_ms;
	/* clamd: the whole exchange, connect to answer; 0 means 30 s */
	unsigned clamd_timeout_ms;
};

struct av_engine;

enum av_status { AV_CLEAN, AV_VIRUS, AV_LIMIT, AV_ERROR };

struct av_result {
	enum av_status status;
	char name[128];  /* AV_VIRUS and AV_LIMIT */
	char error[256]; /* AV_ERROR */
};

/* av_enabled - whether s asks for any antivirus at all */
bool av_enabled(const struct av_settings *s);

/*
 * av_engine_new - load and compile, or check the clamd address.
 * NULL with *error_r set (free it) when that fails, e.g. "signature
 * database /x: ..."; NULL with *error_r NULL when s turns antivirus off.
 * Call it first while the process has one thread: the first call sets
 * libclamav's global message handler.
 */
struct av_engine *av_engine_new(const struct av_settings *s, char **error_r);
void av_engine_free(struct av_engine *e);

/*
 * av_engine_stale - libclamav: a signature file was added, changed or
 * removed since the load, or the folder cannot be read (a reload will
 * say why). Files libclamav does not load (README, freshclam.dat) do
 * not count. clamd: never (clamd reloads itself).
 */
bool av_engine_stale(struct av_engine *e);

/*
 * av_engine_set_tmpdir - where libclamav unpacks mail parts, archives and
 * OLE2 streams during a scan; every scan makes and removes a directory
 * there. A worker calls it once for its private directory, before any
 * scan. dir is copied. clamd: nothing to do (clamd has its own).
 */
void av_engine_set_tmpdir(struct av_engine *e, const char *dir);

unsigned av_engine_signatures(const struct av_engine *e);
/* av_engine_describe - "libclamav 1.4.6, 3 signatures from DIR" or "clamd at PATH" */
const char *av_engine_describe(const struct av_engine *e);
bool av_engine_is_clamd(const struct av_engine *e);

/* av_scan - scan len bytes of data as they are (a file, an archive) */
void av_scan(struct av_engine *e, const void *data, size_t len, struct av_result *r);

/*
 * av_scan_message - scan an RFC 5322 message so that ClamAV parses it as
 * mail. ClamAV decides "mail" from the first bytes (Received:, From:,
 * Date:, ...) or a MIME-Version / Content-Type pair near the start; a
 * message that opens with another field and lacks MIME-Version would be
 * scanned as plain text, its base64 attachments never decoded. So a
 * Received: line is put in front of msg (not copied: the scanner reads
 * both pieces in turn).
 */
void av_scan_message(struct av_engine *e, const char *msg, size_t len, struct av_result *r);

/*
 * av_record_facts - the result as facts. It adds and never replaces, so
 * the results of several scans (each part, then the whole message)
 * accumulate in one set, and a virus found in one is never hidden by a
 * clean answer from another:
 *   av.scanned         "yes" once ClamAV gave an answer (clean, virus or
 *                      limit); absent when antivirus is off or every
 *                      scan failed, so "not av.scanned" fails closed
 *   av.virus           the name, for each virus (other Heuristics.* too)
 *   av.limit_exceeded  the Heuristics.Limits.Exceeded.* name: part of the
 *                      input was not scanned; not known to be clean
 *   av.error           why a scan gave no answer
 * A value already recorded is not added twice.
 */
void av_record_facts(const struct av_result *r, struct facts *facts);

#endif
