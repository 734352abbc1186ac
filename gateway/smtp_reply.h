/*
 * smtp_reply - SMTP replies: reading the next hop's, writing our own.
 *
 * A reply from the next hop may reach our client (a recipient the mail
 * store refuses is refused in-line), so its text is cleaned of anything but
 * printable ASCII before we repeat it: a hostile or broken next hop cannot
 * inject CR/LF into our side of the conversation.
 */
#ifndef SEKISHO_SMTP_REPLY_H
#define SEKISHO_SMTP_REPLY_H

#include <stdbool.h>

#include "common/buf.h"
#include "gateway/conn.h"

#define SMTP_REPLY_MAX_LINES 100
#define SMTP_REPLY_LINE_MAX 2048

struct smtp_reply {
	int code;		/* 200..599; 0 = none (transport failure) */
	char enh[16];		/* "2.0.0" if the reply had an enhanced code */
	struct buf text;	/* lines joined by '\n', code and enh removed */
};

void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_free(struct smtp_reply *r);

/* smtp_reply_set - make up a reply of our own ("451", "4.4.1", "text") */
void smtp_reply_set(struct smtp_reply *r, int code, const char *enh, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * smtp_reply_read - read one (possibly multi-line) reply. Returns CONN_OK
 * and fills r, or a transport status; a reply that is not SMTP (bad code,
 * mixed codes, too many or too long lines) is CONN_IO_ERROR.
 */
enum conn_status smtp_reply_read(struct conn *c, long long deadline, struct smtp_reply *r);

/* smtp_reply_last_line - the last line of the text, for logging */
const char *smtp_reply_summary(struct smtp_reply *r);

/*
 * smtp_reply_format - append r as we send it to our client: every line
 * with the code, "-" on all but the last, the enhanced code if default_enh
 * or r has one.
 */
void smtp_reply_format(struct buf *out, const struct smtp_reply *r, const char *default_enh);

static inline bool smtp_reply_ok(const struct smtp_reply *r)
{
	return r->code >= 200 && r->code < 300;
}

#endif
