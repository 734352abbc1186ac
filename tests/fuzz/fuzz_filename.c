/*
 * fuzz_filename - decoding attachment names and reading their extensions.
 *
 * The input is the value of a Content-Disposition header field (RFC 2231
 * parameters, continuations, charsets, RFC 2047 words), decoded by GMime
 * as the MIME walk does; the name is then read as filename.c reads it.
 * Invariants: never crash; ext and exts are lowercase letters, digits,
 * '-' or '_' within FILENAME_MAX_EXT_LEN; ext, when set, is the last of
 * exts; only known trick bits are set. The raw input is also analysed
 * directly (made valid UTF-8 first, as GMime's names are).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "filters/filename.h"
#include "filters/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ext(const char *ext)
{
	size_t n = strlen(ext);

	if (n > FILENAME_MAX_EXT_LEN)
		abort();
	for (size_t i = 0; i < n; i++) {
		char c = ext[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			abort();
	}
}

static void analyze(const char *name)
{
	struct filename_info info;

	filename_analyze(name, &info);
	check_ext(info.ext);
	if (info.nexts > FILENAME_MAX_EXTS)
		abort();
	for (size_t i = 0; i < info.nexts; i++) {
		if (!info.exts[i][0])
			abort();
		check_ext(info.exts[i]);
	}
	if (info.ext[0] && (info.nexts == 0 || strcmp(info.ext, info.exts[info.nexts - 1]) != 0))
		abort();
	if (info.tricks & ~(unsigned)(NAME_TRICK_CONTROL * 2 - 1))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *valid;
	GMimeContentDisposition *disp;

	if (size > 65536)
		return 0;
	message_init();
	text = g_strndup((const char *)data, size);
	disp = g_mime_content_disposition_parse(NULL, text);
	if (disp) {
		const char *name = g_mime_content_disposition_get_parameter(disp, "filename");

		if (name) {
			valid = g_utf8_make_valid(name, -1);
			analyze(valid);
			g_free(valid);
		}
		g_object_unref(disp);
	}
	valid = g_utf8_make_valid(text, -1);
	analyze(valid);
	g_free(valid);
	g_free(text);
	return 0;
}
