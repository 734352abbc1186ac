/*
 * fuzz_smtp_data - the DATA decoder, whole and in pieces.
 *
 * Invariants: feeding the same bytes in one piece or in pieces gives the
 * same result and the same message; a decoded message holds no bare CR or
 * LF; stuffing it again and decoding gives it back.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/smtp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum smtp_data_result decode(const uint8_t *data, size_t size, size_t step,
				    struct buf *out, size_t *consumed)
{
	struct smtp_data d;
	enum smtp_data_result r = SMTP_DATA_MORE;
	size_t off = 0, used;

	smtp_data_init(&d, out, 1 << 20);
	while (off < size && r == SMTP_DATA_MORE) {
		size_t n = size - off < step ? size - off : step;
		r = smtp_data_feed(&d, (const char *)data + off, n, &used);
		off += used;
	}
	*consumed = off;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole, pieces, wire, again;
	size_t used_whole, used_pieces, used_again;
	enum smtp_data_result r1, r2;

	if (size > 1 << 16)
		return 0;
	buf_init(&whole);
	buf_init(&pieces);
	r1 = decode(data, size, size ? size : 1, &whole, &used_whole);
	r2 = decode(data, size, 7, &pieces, &used_pieces);
	if (r1 != r2 || used_whole != used_pieces || whole.len != pieces.len ||
	    (whole.len && memcmp(whole.data, pieces.data, whole.len) != 0))
		abort();
	if (r1 == SMTP_DATA_DONE) {
		struct smtp_crlf_check chk = {0};
		smtp_crlf_check_feed(&chk, whole.data ? whole.data : "", whole.len);
		if (!smtp_crlf_check_end(&chk))
			abort();
		buf_init(&wire);
		buf_init(&again);
		smtp_data_stuff(&wire, whole.data ? whole.data : "", whole.len);
		if (decode((const uint8_t *)wire.data, wire.len, wire.len, &again, &used_again) !=
			    SMTP_DATA_DONE ||
		    used_again != wire.len || again.len != whole.len ||
		    (whole.len && memcmp(again.data, whole.data, whole.len) != 0))
			abort();
		buf_free(&wire);
		buf_free(&again);
	}
	buf_free(&whole);
	buf_free(&pieces);
	return 0;
}
