/*
 * filename - what an attachment's name claims, and the tricks it plays.
 *
 * Mail clients and Windows decide what a file is from its name, so the
 * name is read the way they read it, not the way it looks on screen:
 *   - the path is dropped (after the last '/' or '\');
 *   - invisible characters (bidirectional controls such as U+202E RIGHT-
 *     TO-LEFT OVERRIDE, zero-width spaces, soft hyphens) are removed: they
 *     change how the name is shown, never its extension;
 *   - trailing dots and spaces are removed, as Windows does.
 * Then the last extension (ext: what Windows opens the file as, after the
 * last real '.') and every extension a reader sees (exts, as "pdf" and
 * "exe" in "invoice.pdf.exe", where look-alike dots such as U+2024,
 * U+FF0E, U+3002 or U+FE52 count as dots) are taken, lowercased. A segment only counts
 * as an extension when it is 1 to FILENAME_MAX_EXT_LEN letters, digits,
 * '-' or '_', so "Re. the meeting.txt" has the single extension "txt".
 *
 * Tricks found on the way (any may be set):
 *   rtlo          a bidirectional control character (override, embedding,
 *                 isolate or mark) anywhere in the name
 *   invisible     a zero-width or other invisible character
 *   lookalike_dot a character drawn like a dot used as one
 *   spaces        a run of FILENAME_SPACE_RUN or more spaces before an
 *                 extension, pushing it out of sight
 *   trailing      dots or spaces after the last extension
 *   control       a control character (tab, line end, ...) in the name
 * The input must be valid UTF-8 (GMime's decoded names are made valid).
 */
#ifndef SEKISHO_FILENAME_H
#define SEKISHO_FILENAME_H

#include <stddef.h>

#define FILENAME_MAX_EXTS    8	/* extensions kept, the last ones */
#define FILENAME_MAX_EXT_LEN 10
#define FILENAME_SPACE_RUN   5

enum filename_trick {
	NAME_TRICK_RTLO = 1 << 0,
	NAME_TRICK_INVISIBLE = 1 << 1,
	NAME_TRICK_LOOKALIKE_DOT = 1 << 2,
	NAME_TRICK_SPACES = 1 << 3,
	NAME_TRICK_TRAILING = 1 << 4,
	NAME_TRICK_CONTROL = 1 << 5,
};

struct filename_info {
	char ext[FILENAME_MAX_EXT_LEN + 1];	/* "" when there is none */
	char exts[FILENAME_MAX_EXTS][FILENAME_MAX_EXT_LEN + 1];	/* in name order */
	size_t nexts;
	unsigned tricks;	/* enum filename_trick bits */
};

/* filename_analyze - fill info for name (UTF-8, NUL-terminated) */
void filename_analyze(const char *name, struct filename_info *info);

/* filename_trick_name - the fact value for one trick bit, e.g. "rtlo" */
const char *filename_trick_name(unsigned trick);

#endif
