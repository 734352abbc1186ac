/*
 * smtp_data - the message bytes of DATA and BDAT, strictly.
 *
 * DATA (RFC 5321 section 4.1.1.4): lines end in CR LF only; a line that is
 * a single "." ends the message; a leading "." is removed (section 4.5.2).
 * A bare CR or a bare LF anywhere is refused outright, so no sequence such
 * as "\n.\n", "\r\n.\n" or "\n.\r\n" can end a message early for us or for
 * the next hop (the SMTP smuggling class, CVE-2023-51764). The decoder
 * is incremental and never reads past the terminator: what follows is the
 * client's next pipelined command.
 *
 * The same CR LF rule is checked on BDAT chunks (RFC 3030), which carry no
 * terminator of their own, because we forward with DATA.
 */
#ifndef SEKISHO_SMTP_DATA_H
#define SEKISHO_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

enum smtp_data_result {
	SMTP_DATA_MORE,		/* everything used; the terminator is still ahead */
	SMTP_DATA_DONE,		/* the terminator was read */
	SMTP_DATA_BARE_EOL,	/* a bare CR or LF: refuse the message and close */
};

struct smtp_data {
	int state;
	size_t limit;		/* message_size_limit */
	size_t size;		/* message bytes seen, kept or not */
	bool too_big;		/* size went over limit: bytes no longer kept */
	struct buf *out;	/* the message, dot-unstuffed, CR LF kept */
};

void smtp_data_init(struct smtp_data *d, struct buf *out, size_t limit);

/*
 * smtp_data_feed - decode len bytes at p; *used_r says how many were part
 * of the message (all of them unless the result is DONE or BARE_EOL).
 */
enum smtp_data_result smtp_data_feed(struct smtp_data *d, const char *p, size_t len,
				     size_t *used_r);

/* CR LF checking across BDAT chunks */
struct smtp_crlf_check {
	bool pending_cr;
	bool bad;
};

void smtp_crlf_check_feed(struct smtp_crlf_check *chk, const char *p, size_t len);
/* smtp_crlf_check_end - true when everything seen ended its lines in CR LF */
bool smtp_crlf_check_end(struct smtp_crlf_check *chk);

/*
 * smtp_data_stuff - append msg for sending after DATA: leading dots doubled,
 * a final CR LF added when missing, then the "." line.
 */
void smtp_data_stuff(struct buf *out, const char *msg, size_t len);

#endif
