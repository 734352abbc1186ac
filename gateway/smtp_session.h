/*
 * smtp_session - one client connection, from accept to close.
 *
 * The connection context: who the client is, what it said in HELO, whether
 * TLS is on, how many errors it made, and the current transaction (tx).
 * Each session runs in its own thread and holds one snapshot reference
 * for its whole life.
 */
#ifndef SEKISHO_SMTP_SESSION_H
#define SEKISHO_SMTP_SESSION_H

#include <stdbool.h>
#include <sys/socket.h>

#include "common/netaddr.h"
#include "filters/pipeline.h"
#include "gateway/conn.h"
#include "gateway/relay.h"
#include "gateway/smtp_data.h"
#include "gateway/snapshot.h"
#include "gateway/tx.h"

struct session {
	struct snapshot *snap;
	const struct conf *conf;	/* snap->conf */
	struct conn conn;
	char id[16];			/* random, names the session in logs */
	struct sockaddr_storage peer;	/* the real client (after PROXY) */
	struct sockaddr_storage local;
	char peer_ip[NETADDR_TEXT_MAX];
	char log_ref[80];		/* "session=ID tx=ID" for the filters' log lines */
	bool early_talker;		/* spoke before the greeting */
	bool proxied;			/* peer came from a PROXY header */
	char *helo;
	bool esmtp;
	bool tls;			/* STARTTLS done */
	bool smtputf8_used;
	unsigned errors;
	bool closing;			/* reply sent that ends the session */
	unsigned tx_seq;
	struct tx tx;
	struct relay *relay;		/* next-hop connection, kept across tx */
	struct pipeline policy;		/* session facts and verdict, rules */
	/* BDAT (RFC 3030) state of the current transaction */
	bool bdat;
	bool bdat_failed;
	int bdat_fail_code;
	struct smtp_crlf_check bdat_crlf;
	size_t bdat_size;
};

/*
 * smtp_session_run - serve the client on fd until it leaves. Takes
 * ownership of fd; peer and local are the socket's addresses.
 */
void smtp_session_run(int fd, const struct sockaddr_storage *peer,
		      const struct sockaddr_storage *local, int shutdown_fd);

/* session_reply - queue a reply line (CR LF added); counts 4xx/5xx as errors */
void session_reply(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* session_reply_with - queue a reply made elsewhere (the next hop's) */
void session_reply_with(struct session *s, const struct smtp_reply *r, const char *default_enh);

/* session_log_tx - the one log line for the transaction, then clear it */
void session_log_tx(struct session *s, const char *result, const char *reply);

/* session_end_tx - abort the current transaction (RSET, HELO, QUIT) */
void session_end_tx(struct session *s, const char *why);

#endif
