/*
 * smtp_commands - the SMTP command table (RFC 5321 section 4.1).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "gateway/delivery.h"
#include "gateway/policy.h"
#include "gateway/smtp_commands.h"
#include "gateway/smtp_data.h"
#include "gateway/smtp_path.h"

/* skip_space - the argument after one or more spaces */
static const char *skip_space(const char *args, size_t *len)
{
	while (*len && *args == ' ') {
		args++;
		(*len)--;
	}
	return args;
}

/* has_args - anything but spaces after the verb */
static bool has_args(const char *args, size_t len)
{
	skip_space(args, &len);
	return len != 0;
}

/* needs_no_args - reply 501 when a command that takes none got some */
static bool needs_no_args(struct session *s, const char *args, size_t len, const char *verb)
{
	if (!has_args(args, len))
		return true;
	session_reply(s, "501 5.5.4 Syntax: %s", verb);
	return false;
}

static void reset_for_helo(struct session *s, const char *args, size_t len, bool esmtp)
{
	session_end_tx(s, "new HELO");
	free(s->helo);
	s->helo = xstrndup(args, len);
	s->esmtp = esmtp;
}

/* helo_arg - the EHLO/HELO argument, or NULL after a 501 */
static const char *helo_arg(struct session *s, const char *args, size_t *len, const char *verb)
{
	args = skip_space(args, len);
	while (*len && args[*len - 1] == ' ')
		(*len)--;
	if (*len == 0 || memchr(args, '\0', *len) || memchr(args, ' ', *len)) {
		session_reply(s, "501 5.5.4 Syntax: %s hostname", verb);
		return NULL;
	}
	return args;
}

static void cmd_ehlo(struct session *s, const char *args, size_t len)
{
	struct buf *out = &s->conn.out;

	if ((args = helo_arg(s, args, &len, "EHLO")) == NULL)
		return;
	reset_for_helo(s, args, len, true);
	if (!policy_helo(s)) {
		free(s->helo);
		s->helo = NULL;
		return;
	}
	buf_printf(out, "250-%s Hello [%s]\r\n", s->conf->myhostname, s->peer_ip);
	buf_append_str(out, "250-PIPELINING\r\n");
	buf_printf(out, "250-SIZE %ld\r\n", s->conf->message_size_limit);
	buf_append_str(out, "250-8BITMIME\r\n");
	buf_append_str(out, "250-SMTPUTF8\r\n");
	buf_append_str(out, "250-ENHANCEDSTATUSCODES\r\n");
	if (s->snap->tls_server && !s->tls)
		buf_append_str(out, "250-STARTTLS\r\n");
	if (s->conf->chunking)
		buf_append_str(out, "250-CHUNKING\r\n");
	buf_append_str(out, "250 HELP\r\n");
}

static void cmd_helo(struct session *s, const char *args, size_t len)
{
	if ((args = helo_arg(s, args, &len, "HELO")) == NULL)
		return;
	reset_for_helo(s, args, len, false);
	if (!policy_helo(s)) {
		free(s->helo);
		s->helo = NULL;
		return;
	}
	session_reply(s, "250 %s", s->conf->myhostname);
}

static void cmd_starttls(struct session *s, const char *args, size_t len)
{
	enum conn_status st;

	if (s->snap->tls_server == NULL || s->tls) {
		session_reply(s, "502 5.5.1 STARTTLS not available");
		return;
	}
	if (!needs_no_args(s, args, len, "STARTTLS"))
		return;
	session_end_tx(s, "STARTTLS");
	session_reply(s, "220 2.0.0 Ready to start TLS");
	if (conn_flush(&s->conn, clock_deadline(s->conf->smtpd_timeout)) != CONN_OK) {
		s->closing = true;
		return;
	}
	/* RFC 3207 section 4.2 and CVE-2011-0411: what was pipelined in the
	 * clear must not be read as if it came over TLS. */
	conn_discard_input(&s->conn);
	st = conn_tls_accept(&s->conn, s->snap->tls_server, clock_deadline(s->conf->smtpd_timeout));
	if (st != CONN_OK) {
		log_warn("session=%s client=%s TLS handshake failed: %s", s->id, s->peer_ip,
			 conn_status_text(st));
		s->closing = true;
		return;
	}
	s->tls = true;
	free(s->helo);
	s->helo = NULL;
	s->esmtp = false;
	log_info("session=%s client=%s tls=%s cipher=%s", s->id, s->peer_ip,
		 s->conn.tls_version, s->conn.tls_cipher);
}

static bool need_helo(struct session *s)
{
	if (s->helo)
		return true;
	session_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
	return false;
}

static void cmd_mail(struct session *s, const char *args, size_t len)
{
	struct smtp_reply reply;
	const char *error = NULL;

	if (!need_helo(s))
		return;
	if (s->tx.active) {
		session_reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (len < 6 || strncasecmp(args, " FROM:", 6) != 0) {
		session_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if (smtp_mail_args_parse(args + 6, len - 6, s->esmtp, &s->tx.from, &s->tx.params,
				 &error) != 0) {
		smtp_path_free(&s->tx.from);
		session_reply(s, "%s", error);
		return;
	}
	if (s->tx.params.has_size && s->tx.params.size > (uint64_t)s->conf->message_size_limit) {
		smtp_path_free(&s->tx.from);
		session_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	tx_begin(&s->tx, s->id, ++s->tx_seq);
	if (!policy_mail(s)) {
		session_log_tx(s, "refused", "refused by policy");
		tx_clear(&s->tx);
		return;
	}
	smtp_reply_init(&reply);
	delivery_mail(s, &reply);
	if (smtp_reply_ok(&reply)) {
		session_reply(s, "250 2.1.0 Ok");
	} else {
		session_reply_with(s, &reply, reply.code >= 500 ? "5.0.0" : "4.0.0");
		session_log_tx(s, "refused", buf_cstr(&reply.text));
		delivery_abort(s);
		tx_clear(&s->tx);
	}
	smtp_reply_free(&reply);
}

/* may_relay_to - RFC 5321 section 3.6.2 "never an open relay" */
static bool may_relay_to(struct session *s, const struct smtp_path *rcpt)
{
	if (rcpt->domain[0] == '\0')
		return true;	/* <postmaster>: that is us */
	if (cidr_list_match(&s->conf->mynetworks, (struct sockaddr *)&s->peer))
		return true;
	return conf_relay_domain_match(s->conf, rcpt->domain);
}

static void cmd_rcpt(struct session *s, const char *args, size_t len)
{
	struct smtp_path rcpt = {0};
	struct smtp_reply reply;
	const char *error = NULL;

	if (!s->tx.active) {
		session_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (len < 4 || strncasecmp(args, " TO:", 4) != 0) {
		session_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	if (smtp_rcpt_args_parse(args + 4, len - 4, s->tx.params.smtputf8, &rcpt, &error) != 0) {
		smtp_path_free(&rcpt);
		s->tx.rcpt_refused++;
		session_reply(s, "%s", error);
		return;
	}
	if (s->tx.nrcpt >= (size_t)s->conf->max_recipients) {
		s->tx.rcpt_refused++;
		session_reply(s, "452 4.5.3 Error: too many recipients");
	} else if (!may_relay_to(s, &rcpt)) {
		s->tx.rcpt_refused++;
		session_reply(s, "554 5.7.1 <%s>: Relay access denied", rcpt.addr);
	} else if (!policy_rcpt(s, rcpt.addr)) {
		s->tx.rcpt_refused++;
	} else {
		smtp_reply_init(&reply);
		delivery_rcpt(s, rcpt.addr, &reply);
		if (smtp_reply_ok(&reply)) {
			tx_add_rcpt(&s->tx, &rcpt);
			session_reply(s, "250 2.1.5 Ok");
		} else {
			s->tx.rcpt_refused++;
			session_reply_with(s, &reply, reply.code >= 500 ? "5.0.0" : "4.0.0");
		}
		smtp_reply_free(&reply);
	}
	smtp_path_free(&rcpt);
}

/* finish_message - deliver s->tx.msg and answer the end of data */
static void finish_message(struct session *s)
{
	struct smtp_reply reply;
	struct buf header;

	buf_init(&header);
	if (!policy_message(s, &header)) {
		buf_free(&header);
		tx_clear(&s->tx);
		return;
	}
	smtp_reply_init(&reply);
	delivery_data(s, &header, &reply);
	buf_free(&header);
	if (smtp_reply_ok(&reply)) {
		session_reply(s, "250 2.0.0 Ok: queued as %s", s->tx.id);
		session_log_tx(s, "delivered", buf_cstr(&reply.text));
	} else {
		session_reply_with(s, &reply, reply.code >= 500 ? "5.0.0" : "4.0.0");
		session_log_tx(s, reply.code >= 500 ? "rejected" : "tempfail",
			       buf_cstr(&reply.text));
	}
	smtp_reply_free(&reply);
	tx_clear(&s->tx);
}

/* message_refused - end the transaction with our own error reply */
static void message_refused(struct session *s, const char *result, const char *reply)
{
	session_reply(s, "%s", reply);
	delivery_abort(s);
	session_log_tx(s, result, reply);
	tx_clear(&s->tx);
}

static bool ready_for_message(struct session *s)
{
	if (!s->tx.active) {
		session_reply(s, "503 5.5.1 Error: need MAIL command");
		return false;
	}
	if (s->tx.nrcpt == 0) {
		session_reply(s, "554 5.5.1 Error: no valid recipients");
		return false;
	}
	return true;
}

static void cmd_data(struct session *s, const char *args, size_t len)
{
	long long deadline;
	struct smtp_data data;
	enum smtp_data_result r = SMTP_DATA_MORE;

	if (!needs_no_args(s, args, len, "DATA"))
		return;
	if (s->bdat) {
		session_reply(s, "503 5.5.1 Error: DATA after BDAT");
		return;
	}
	if (!ready_for_message(s))
		return;
	session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	smtp_data_init(&data, &s->tx.msg, (size_t)s->conf->message_size_limit);
	deadline = clock_deadline(s->conf->smtpd_data_timeout);
	while (r == SMTP_DATA_MORE) {
		size_t used;

		if (conn_pending(&s->conn) == 0) {
			enum conn_status st = conn_flush(&s->conn, deadline);
			if (st == CONN_OK)
				st = conn_fill(&s->conn, deadline);
			if (st != CONN_OK) {
				if (st == CONN_TIMEOUT)
					session_reply(s, "421 4.4.2 %s Error: timeout exceeded",
						      s->conf->myhostname);
				session_end_tx(s, st == CONN_TIMEOUT ? "timeout in DATA"
								     : "connection lost in DATA");
				s->closing = true;
				return;
			}
			deadline = clock_deadline(s->conf->smtpd_data_timeout);
		}
		r = smtp_data_feed(&data, conn_peek(&s->conn), conn_pending(&s->conn), &used);
		conn_skip(&s->conn, used);
	}
	if (r == SMTP_DATA_BARE_EOL) {
		message_refused(s, "rejected",
				"554 5.5.2 Bare CR or LF in message; closing connection");
		s->closing = true;
	} else if (data.too_big) {
		message_refused(s, "rejected", "552 5.3.4 Message size exceeds fixed limit");
	} else {
		finish_message(s);
	}
}

int smtp_bdat_args_parse(const char *args, size_t len, uint64_t *size, bool *last)
{
	size_t i = 0;

	args = skip_space(args, &len);
	*size = 0;
	if (len == 0 || !isdigit((unsigned char)args[0]))
		return -1;
	for (; i < len && isdigit((unsigned char)args[i]); i++) {
		uint64_t digit = (uint64_t)(args[i] - '0');
		if (*size > (UINT64_MAX - digit) / 10)
			return -1;
		*size = *size * 10 + digit;
	}
	*last = false;
	if (i == len)
		return 0;
	if (args[i] != ' ')
		return -1;
	args += i;
	len -= i;
	args = skip_space(args, &len);
	if (len == 4 && strncasecmp(args, "LAST", 4) == 0) {
		*last = true;
		return 0;
	}
	return -1;
}

/* bdat_read - read exactly size bytes; keep them while the tx is good */
static int bdat_read(struct session *s, uint64_t size, bool keep)
{
	long long deadline = clock_deadline(s->conf->smtpd_data_timeout);

	while (size > 0) {
		size_t n = conn_pending(&s->conn);
		if (n == 0) {
			if (conn_flush(&s->conn, deadline) != CONN_OK ||
			    conn_fill(&s->conn, deadline) != CONN_OK)
				return -1;
			deadline = clock_deadline(s->conf->smtpd_data_timeout);
			continue;
		}
		if (n > size)
			n = (size_t)size;
		s->bdat_size += n;
		if (keep && s->bdat_size <= (size_t)s->conf->message_size_limit) {
			smtp_crlf_check_feed(&s->bdat_crlf, conn_peek(&s->conn), n);
			buf_append(&s->tx.msg, conn_peek(&s->conn), n);
		}
		conn_skip(&s->conn, n);
		size -= n;
	}
	return 0;
}

static void cmd_bdat(struct session *s, const char *args, size_t len)
{
	uint64_t size;
	bool last, ready;

	if (!s->conf->chunking) {
		session_reply(s, "502 5.5.1 BDAT is off here (chunking = no); use DATA");
		return;
	}
	if (smtp_bdat_args_parse(args, len, &size, &last) != 0) {
		/* The chunk size is unknown, so the stream cannot be followed. */
		session_reply(s, "501 5.5.4 Syntax: BDAT size [LAST]; closing connection");
		s->closing = true;
		return;
	}
	ready = s->tx.active && s->tx.nrcpt > 0;
	if (ready && !s->bdat) {
		s->bdat = true;
		s->bdat_failed = false;
		s->bdat_size = 0;
		memset(&s->bdat_crlf, 0, sizeof(s->bdat_crlf));
	}
	if (bdat_read(s, size, ready) != 0) {
		session_end_tx(s, "connection lost in BDAT");
		s->closing = true;
		return;
	}
	if (!ready) {
		/* RFC 3030 section 2: the chunk is read and refused. */
		if (!ready_for_message(s))
			return;
	}
	if (s->bdat_size > (size_t)s->conf->message_size_limit) {
		if (last) {
			s->bdat = false;
			message_refused(s, "rejected", "552 5.3.4 Message size exceeds fixed limit");
		} else {
			session_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		}
		return;
	}
	if (!last) {
		session_reply(s, "250 2.0.0 %llu octets received", (unsigned long long)size);
		return;
	}
	s->bdat = false;
	if (!smtp_crlf_check_end(&s->bdat_crlf))
		message_refused(s, "rejected", "550 5.6.0 Bare CR or LF in message");
	else
		finish_message(s);
}

static void cmd_rset(struct session *s, const char *args, size_t len)
{
	if (!needs_no_args(s, args, len, "RSET"))
		return;
	session_end_tx(s, "RSET");
	session_reply(s, "250 2.0.0 Ok");
}

static void cmd_noop(struct session *s, const char *args, size_t len)
{
	session_reply(s, "250 2.0.0 Ok");
}

static void cmd_quit(struct session *s, const char *args, size_t len)
{
	session_end_tx(s, "QUIT");
	session_reply(s, "221 2.0.0 Bye");
	s->closing = true;
}

static void cmd_vrfy(struct session *s, const char *args, size_t len)
{
	/* RFC 5321 section 3.5.3: never confirm or deny a mailbox. */
	session_reply(s, "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
}

static void cmd_expn(struct session *s, const char *args, size_t len)
{
	session_reply(s, "502 5.5.1 EXPN not available");
}

static void cmd_help(struct session *s, const char *args, size_t len)
{
	session_reply(s, "214-Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT");
	session_reply(s, "214-VRFY HELP STARTTLS");
	session_reply(s, "214 2.0.0 End of HELP");
}

static void cmd_proxy(struct session *s, const char *args, size_t len)
{
	log_warn("session=%s client=%s PROXY header from an address not in proxy_protocol_from",
		 s->id, s->peer_ip);
	session_reply(s, "554 5.7.0 PROXY header not accepted from this address; closing connection");
	s->closing = true;
}

static const struct smtp_command commands[] = {
	{"EHLO", cmd_ehlo},	{"HELO", cmd_helo}, {"MAIL", cmd_mail},
	{"RCPT", cmd_rcpt},	{"DATA", cmd_data}, {"BDAT", cmd_bdat},
	{"RSET", cmd_rset},	{"NOOP", cmd_noop}, {"QUIT", cmd_quit},
	{"VRFY", cmd_vrfy},	{"EXPN", cmd_expn}, {"HELP", cmd_help},
	{"STARTTLS", cmd_starttls}, {"PROXY", cmd_proxy},
};

const struct smtp_command *smtp_command_lookup(const char *line, size_t len,
					       const char **args_r, size_t *args_len_r)
{
	size_t vlen = 0;

	while (vlen < len && line[vlen] != ' ')
		vlen++;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strlen(commands[i].verb) == vlen &&
		    strncasecmp(line, commands[i].verb, vlen) == 0) {
			*args_r = line + vlen;
			*args_len_r = len - vlen;
			return &commands[i];
		}
	}
	return NULL;
}

void smtp_command_dispatch(struct session *s, const char *line, size_t len)
{
	const struct smtp_command *cmd;
	const char *args;
	size_t args_len;

	if (memchr(line, '\0', len)) {
		session_reply(s, "500 5.5.2 Error: NUL byte in command");
		return;
	}
	cmd = smtp_command_lookup(line, len, &args, &args_len);
	if (cmd == NULL) {
		session_reply(s, "500 5.5.2 Error: command not recognized");
		return;
	}
	cmd->run(s, args, args_len);
}
