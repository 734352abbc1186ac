/*
 * milter_input - what the MTA tells the milter, made into what the
 * pipeline reads: envelope addresses from the MAIL and RCPT arguments,
 * the client's address from the connect callback or its macros, and the
 * message rebuilt from the header and body callbacks.
 *
 * All of it is written by the MTA from what an SMTP client sent, so none
 * of it is trusted: a malformed address or client is refused here (the
 * caller then tempfails), and a message over its size or field limits or
 * with a malformed field name is marked over (the caller rejects it).
 */
#ifndef SEKISHO_MILTER_INPUT_H
#define SEKISHO_MILTER_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common/buf.h"

/* Header fields a message may have before it is refused. */
#define MILTER_MAX_FIELDS 10000

/*
 * milter_input_addr - "<a@b>" (or a bare a@b, as Sendmail may give) to a
 * malloc'd "a@b"; "<>" gives "". NULL when it is not one address: control
 * bytes, unbalanced brackets, more than 1024 bytes.
 */
char *milter_input_addr(const char *arg);

/*
 * milter_input_client - the client's IP address (text) and port: from
 * the socket address libmilter passes, else from the {client_addr} and
 * {client_port} macros. -1 when neither names an IP address.
 */
int milter_input_client(const struct sockaddr *sa, const char *macro_addr,
			const char *macro_port, char *ip, size_t iplen, int *port_r);

struct milter_message {
	struct buf data;	/* header, empty line, body: CR LF line ends */
	size_t limit;		/* message_size_limit */
	size_t fields;
	bool over;		/* past limit or MILTER_MAX_FIELDS, or a bad field name: refused */
	bool body;		/* the empty line is written */
};

void milter_message_init(struct milter_message *m, size_t limit);
void milter_message_reset(struct milter_message *m);
void milter_message_free(struct milter_message *m);

/*
 * milter_message_header - append "name:value" as one field. Line breaks
 * inside value (LF or CR LF: MTAs send folded fields with LF) become
 * CR LF, and a line within it that does not start with white space gets
 * a space (it would otherwise be a field of its own, or end the header).
 * A name that is not RFC 5322 ftext refuses the message (over).
 * leadspc: value keeps its leading white space (SMFIP_HDR_LEADSPC);
 * otherwise one space is put after the colon. *off_r, *len_r: where the
 * field is in data (len 0 when it did not fit).
 */
void milter_message_header(struct milter_message *m, const char *name, const char *value,
			   bool leadspc, size_t *off_r, size_t *len_r);

/* milter_message_eoh - the empty line after the header */
void milter_message_eoh(struct milter_message *m);

/* milter_message_body - a body chunk as the MTA sent it */
void milter_message_body(struct milter_message *m, const unsigned char *chunk, size_t len);

#endif
