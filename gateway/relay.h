/*
 * relay - the SMTP or LMTP client towards the next hop.
 *
 * Commands are mirrored as Postfix's before-queue proxy does: the
 * downstream transaction opens at MAIL, each RCPT is asked of the next hop
 * in-line, the message follows the client's end of data. Every function
 * returns 0 with the next hop's reply in *reply, or -1 when the connection
 * failed, with a made-up 4xx reply that says so (never a 250): the caller
 * closes the relay then. A relay owns its connection.
 */
#ifndef SEKISHO_RELAY_H
#define SEKISHO_RELAY_H

#include <stdbool.h>

#include "gateway/conn.h"
#include "gateway/smtp_reply.h"
#include "gateway/snapshot.h"
#include "gateway/tx.h"

enum relay_cap {
	RELAY_CAP_SIZE = 1 << 0,
	RELAY_CAP_8BITMIME = 1 << 1,
	RELAY_CAP_SMTPUTF8 = 1 << 2,
	RELAY_CAP_STARTTLS = 1 << 3,
	RELAY_CAP_PIPELINING = 1 << 4,
};

struct relay {
	struct conn conn;
	bool lmtp;
	unsigned caps;
	bool in_tx;		/* MAIL sent, transaction not finished */
	bool reused;		/* came from the pool */
	char *key;		/* snapshot nexthop_key it was opened for */
	long long idle_since;
	char peer[128];		/* for logs: "host:port" or the socket path */
	struct relay *next;	/* pool list */
};

/* relay_open - connect, greet, EHLO/LHLO and STARTTLS as configured */
int relay_open(const struct snapshot *snap, struct relay **relay_r, struct smtp_reply *reply);
int relay_mail(struct relay *r, const struct snapshot *snap, const struct tx *tx,
	       struct smtp_reply *reply);
int relay_rcpt(struct relay *r, const struct snapshot *snap, const char *addr,
	       struct smtp_reply *reply);

/*
 * relay_data - send DATA, the header we add, the message, and read the
 * reply: one, or for LMTP one per accepted recipient (replies[0..nrcpt)).
 */
int relay_data(struct relay *r, const struct snapshot *snap, const struct buf *header,
	       const struct buf *msg, size_t nrcpt, struct smtp_reply *replies);

/* relay_rset - end an unfinished transaction so the connection is reusable */
int relay_rset(struct relay *r, const struct snapshot *snap);
void relay_close(struct relay *r);

/* relay_quit - polite QUIT without waiting long for the answer, then close */
void relay_quit(struct relay *r);

#endif
