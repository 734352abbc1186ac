/*
 * milter - the libmilter callbacks and the milter process (see milter.h).
 *
 * Each callback fills the connection's state from what libmilter passes
 * and the macros asked for in negotiate, runs the pipeline stage, and
 * answers: a refusal at connect, HELO, MAIL or RCPT is that callback's
 * reply; the end of the message is milter_policy.c's.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/xalloc.h"
#include "filters/message.h"
#include "gateway/analysis.h"
#include "gateway/daemon.h"
#include "gateway/header_strip.h"
#include "gateway/milter.h"
#include "filters/auth.h"
#include "gateway/verdict.h"

/* Macros asked for at each stage (smfi_setsymlist); the MTA may send fewer. */
static const struct {
	int stage;
	const char *macros;
} wanted_macros[] = {
    {SMFIM_CONNECT, "{client_addr} {client_port} {client_name} {daemon_name} j _"},
    {SMFIM_HELO, "{tls_version} {cipher} {cipher_bits}"},
    {SMFIM_ENVFROM, "i {auth_authen} {auth_type} {mail_addr}"},
    {SMFIM_ENVRCPT, "{rcpt_addr}"},
    {SMFIM_EOM, "i"},
};

#define WANTED_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST)
/* Steps we skip or need no reply for; the MTA may offer fewer. */
/*
 * DATA is answered, not skipped: with the step skipped Postfix still sends
 * that stage's macros, as a lone packet it expects no answer to, and over
 * TCP its next packet then waits for our delayed ACK (40 ms a message).
 */
#define WANTED_STEPS                                                                     \
	(SMFIP_NOUNKNOWN | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC)

/* The daemon asked us to stop (not a signal sent to this process). */
static bool stop_asked;

/* Open connections, so a stop can wait for the ones in flight. */
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conns_done = PTHREAD_COND_INITIALIZER;
static long conns;

static void conns_add(long n)
{
	pthread_mutex_lock(&conns_lock);
	conns += n;
	pthread_cond_broadcast(&conns_done);
	pthread_mutex_unlock(&conns_lock);
}

static struct milter_conn *conn_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

/* macro_dup - a macro's value (malloc'd), or NULL when the MTA sent none */
static char *macro_dup(SMFICTX *ctx, const char *name)
{
	const char *v = smfi_getsymval(ctx, (char *)name);

	return v ? xstrdup(v) : NULL;
}

void milter_input_for(struct milter_conn *c, struct filter_input *in)
{
	memset(in, 0, sizeof(*in));
	if (c->tx.active)
		snprintf(c->log_ref, sizeof(c->log_ref), "milter=%s tx=%s", c->id, c->tx.id);
	else
		snprintf(c->log_ref, sizeof(c->log_ref), "milter=%s", c->id);
	in->log_ref = c->log_ref;
	in->client_ip = c->client_ip;
	in->client_port = c->client_port;
	/* Postfix and Sendmail write "[192.0.2.1]" (or "unknown") when the
	 * address has no name that resolves back to it. */
	if (c->client_name && c->client_name[0] != '[' && strcmp(c->client_name, "unknown") != 0)
		in->client_ptr = c->client_name;
	in->auth_user = c->tx.active ? c->tx.auth_authen : NULL;
	in->helo = c->helo;
	in->tls_version = c->tls_version;
	in->tls_cipher = c->tls_cipher;
	in->from = c->tx.from ? c->tx.from : "";
	snapshot_filter_services(c->snap, in);
}

/* enhanced_code_len - length of a leading "C.SSS.DDD " (RFC 3463) of class c, or 0 */
static size_t enhanced_code_len(const char *text, char c)
{
	size_t n = 0;

	if (text[0] != c || text[1] != '.')
		return 0;
	n = 2;
	for (int part = 0; part < 2; part++) {
		size_t digits = 0;
		while (text[n] >= '0' && text[n] <= '9' && digits < 3) {
			n++;
			digits++;
		}
		if (digits == 0 || (part == 0 && text[n++] != '.'))
			return 0;
	}
	return text[n] == ' ' ? n : 0;
}

void milter_reply(SMFICTX *ctx, const char *code, const char *text, const char *ref)
{
	char xcode[16];
	size_t n = enhanced_code_len(text, code[0]);
	struct buf b;

	/* the rule's own enhanced code when its class fits the reply; else ours */
	if (n) {
		memcpy(xcode, text, n);
		xcode[n] = '\0';
		text += n + 1;
	} else {
		snprintf(xcode, sizeof(xcode), "%c.7.1", code[0]);
		for (char other = '2'; other <= '5'; other++)
			if ((n = enhanced_code_len(text, other)) != 0)
				text += n + 1;
	}
	buf_init(&b);
	/* libmilter refuses CR and LF, and a lone '%' voids the text (smfi_setreply(3));
	 * it takes 980 bytes at most, the ref included */
	for (const unsigned char *p = (const unsigned char *)text; *p && b.len < 900; p++) {
		if (*p == '%')
			buf_append_str(&b, "%%");
		else
			buf_append_char(&b, *p < ' ' || *p == 0x7f ? ' ' : (char)*p);
	}
	buf_printf(&b, " (ref %s)", ref);
	if (smfi_setreply(ctx, (char *)code, xcode, (char *)buf_cstr(&b)) != MI_SUCCESS)
		log_warn("milter: the MTA refused our reply text");
	buf_free(&b);
}

/* refused - reply and answer for a refusal; "code" by action */
static sfsistat refused(struct milter_conn *c, SMFICTX *ctx, enum rule_action a,
			const char *reject_code, const char *ref)
{
	milter_reply(ctx, a == ACTION_REJECT ? reject_code : "451",
		     verdict_refusal_text(c->policy.decider, a), ref);
	return a == ACTION_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

static bool is_refusal(enum rule_action a)
{
	return a == ACTION_REJECT || a == ACTION_TEMPFAIL;
}

static void tx_clear(struct milter_tx *tx)
{
	if (!tx->active)
		return;
	free(tx->queue_id);
	free(tx->from);
	free(tx->auth_authen);
	for (size_t i = 0; i < tx->nrcpt; i++)
		free(tx->rcpts[i]);
	free(tx->rcpts);
	for (size_t i = 0; i < tx->nnames; i++)
		free(tx->names[i].name);
	free(tx->names);
	for (size_t i = 0; i < tx->nstrips; i++)
		free(tx->strips[i].name);
	free(tx->strips);
	milter_message_free(&tx->msg);
	pipeline_tx_clear(&tx->policy);
	memset(tx, 0, sizeof(*tx));
}

void milter_log_tx(const struct milter_conn *c, const char *result, const char *reply)
{
	const struct milter_tx *tx = &c->tx;
	struct buf line, list;

	buf_init(&line);
	buf_printf(&line, "milter=%s tx=%s", c->id, tx->id);
	log_kv(&line, "queue_id", tx->queue_id ? tx->queue_id : "");
	log_kv(&line, "client", c->client_ip);
	log_kv(&line, "helo", c->helo ? c->helo : "");
	log_kv(&line, "tls", c->tls_version ? c->tls_version : "no");
	if (tx->auth_authen)
		log_kv(&line, "auth_user", tx->auth_authen);
	log_kv(&line, "from", tx->from ? tx->from : "");
	buf_init(&list);
	for (size_t i = 0; i < tx->nrcpt; i++)
		buf_printf(&list, "%s%s", i ? "," : "", tx->rcpts[i]);
	log_kv_len(&line, "rcpts", list.data ? list.data : "", list.len);
	buf_free(&list);
	log_kv_long(&line, "nrcpt", (long long)tx->nrcpt);
	log_kv_long(&line, "refused", (long long)tx->rcpt_refused);
	log_kv_long(&line, "size", (long long)tx->msg.data.len);
	log_kv(&line, "result", result);
	log_kv(&line, "reply", reply);
	verdict_log(&tx->policy.verdict, &tx->policy.facts, &line);
	log_kv_long(&line, "ms", clock_ms() - tx->started_ms);
	log_info("%s", buf_cstr(&line));
	buf_free(&line);
	metrics_message(result);
	if (strcmp(result, "aborted") != 0)
		for (size_t i = 0; i < tx->policy.verdict.nhits; i++)
			metrics_rule_hit(tx->policy.verdict.hits[i]->name);
}

static sfsistat mlfi_negotiate(SMFICTX *ctx, unsigned long actions, unsigned long steps,
			       unsigned long f2, unsigned long f3, unsigned long *actions_r,
			       unsigned long *steps_r, unsigned long *f2_r, unsigned long *f3_r)
{
	struct milter_conn *c = xcalloc(1, sizeof(*c));

	(void)f2;
	(void)f3;
	log_new_id(c->id, sizeof(c->id));
	c->actions = actions & WANTED_ACTIONS;
	c->steps = steps & WANTED_STEPS;
	*actions_r = c->actions;
	*steps_r = c->steps;
	*f2_r = 0;
	*f3_r = 0;
	smfi_setpriv(ctx, c);
	conns_add(1);
	if (c->actions & SMFIF_SETSYMLIST)
		for (size_t i = 0; i < sizeof(wanted_macros) / sizeof(wanted_macros[0]); i++)
			smfi_setsymlist(ctx, wanted_macros[i].stage, (char *)wanted_macros[i].macros);
	return SMFIS_CONTINUE;
}

static sfsistat mlfi_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct milter_conn *c = conn_of(ctx);
	struct filter_input in;
	enum rule_action a;

	if (c == NULL || c->started)
		return SMFIS_TEMPFAIL;
	c->snap = snapshot_acquire();
	if (c->snap == NULL)
		return SMFIS_TEMPFAIL;	/* stopping */
	/* libmilter starts a thread per MTA connection: max_sessions bounds them. */
	pthread_mutex_lock(&conns_lock);
	long open = conns;
	pthread_mutex_unlock(&conns_lock);
	if (open > c->snap->conf->max_sessions) {
		log_warn("milter=%s refused: %ld connections open (max_sessions %ld)", c->id, open,
			 c->snap->conf->max_sessions);
		metrics_session_refused("max_sessions");
		milter_reply(ctx, "451", "4.3.2 Too many connections; try again later", c->id);
		return SMFIS_TEMPFAIL;
	}
	if (milter_input_client(hostaddr, smfi_getsymval(ctx, "{client_addr}"),
				smfi_getsymval(ctx, "{client_port}"), c->client_ip,
				sizeof(c->client_ip), &c->client_port) != 0) {
		log_warn("milter=%s the MTA gave no client address: tempfail", c->id);
		milter_reply(ctx, "451", "4.3.0 Client address unknown; try again later", c->id);
		return SMFIS_TEMPFAIL;
	}
	c->client_name = xstrdup(hostname ? hostname : "");
	pipeline_init(&c->policy, c->snap->rules);
	c->started = true;
	metrics_session_started();
	milter_input_for(c, &in);
	a = pipeline_connect(&c->policy, &in);
	if (!is_refusal(a))
		return SMFIS_CONTINUE;
	log_info("milter=%s client=%s refused at connect by rule %s", c->id, c->client_ip,
		 c->policy.decider->name);
	metrics_session_refused("rule");
	metrics_rule_hit(c->policy.decider->name);
	return refused(c, ctx, a, "554", c->id);
}

static sfsistat mlfi_helo(SMFICTX *ctx, char *helohost)
{
	struct milter_conn *c = conn_of(ctx);
	struct filter_input in;
	enum rule_action a;

	if (c == NULL || !c->started)
		return SMFIS_TEMPFAIL;
	free(c->helo);
	free(c->tls_version);
	free(c->tls_cipher);
	c->helo = xstrdup(helohost ? helohost : "");
	c->tls_version = macro_dup(ctx, "{tls_version}");
	c->tls_cipher = macro_dup(ctx, "{cipher}");
	milter_input_for(c, &in);
	a = pipeline_helo(&c->policy, &in);
	if (!is_refusal(a))
		return SMFIS_CONTINUE;
	log_info("milter=%s client=%s helo refused by rule %s", c->id, c->client_ip,
		 c->policy.decider->name);
	return refused(c, ctx, a, "550", c->id);
}

static sfsistat mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct milter_conn *c = conn_of(ctx);
	struct milter_tx *tx;
	struct filter_input in;
	enum rule_action a;
	sfsistat st;

	if (c == NULL || !c->started)
		return SMFIS_TEMPFAIL;
	tx = &c->tx;
	tx_clear(tx);
	tx->active = true;
	tx->started_ms = clock_ms();
	snprintf(tx->id, sizeof(tx->id), "%s.%u", c->id, ++c->tx_seq);
	milter_message_init(&tx->msg, (size_t)c->snap->conf->message_size_limit);
	pipeline_tx_begin(&c->policy, &tx->policy);
	tx->queue_id = macro_dup(ctx, "i");
	tx->auth_authen = macro_dup(ctx, "{auth_authen}");
	tx->from = milter_input_addr(argv ? argv[0] : NULL);
	if (tx->from == NULL) {
		log_warn("milter=%s tx=%s malformed sender from the MTA: tempfail", c->id, tx->id);
		milter_reply(ctx, "451", "4.5.2 Sender address not understood", tx->id);
		milter_log_tx(c, "refused", "sender address not understood");
		tx_clear(tx);
		return SMFIS_TEMPFAIL;
	}
	milter_input_for(c, &in);
	a = pipeline_mail(&c->policy, &tx->policy, &in);
	if (!is_refusal(a))
		return SMFIS_CONTINUE;
	log_info("milter=%s tx=%s from=%s refused by rule %s", c->id, tx->id, tx->from,
		 c->policy.decider->name);
	st = refused(c, ctx, a, "550", tx->id);
	/* The MTA aborts next; the transaction ends here, as refused, not aborted. */
	milter_log_tx(c, "refused", "refused by policy");
	tx_clear(tx);
	return st;
}

static sfsistat mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct milter_conn *c = conn_of(ctx);
	struct filter_input in;
	enum rule_action a;
	char *rcpt;

	if (c == NULL || !c->tx.active)
		return SMFIS_TEMPFAIL;
	rcpt = milter_input_addr(argv ? argv[0] : NULL);
	if (rcpt == NULL || rcpt[0] == '\0') {
		free(rcpt);
		c->tx.rcpt_refused++;
		milter_reply(ctx, "451", "4.5.3 Recipient address not understood", c->tx.id);
		return SMFIS_TEMPFAIL;
	}
	milter_input_for(c, &in);
	in.rcpt = rcpt;
	a = pipeline_rcpt(&c->policy, &c->tx.policy, &in);
	if (is_refusal(a)) {
		log_info("milter=%s tx=%s rcpt=%s refused by rule %s", c->id, c->tx.id, rcpt,
			 c->policy.decider->name);
		free(rcpt);
		c->tx.rcpt_refused++;
		return refused(c, ctx, a, "550", c->tx.id);
	}
	c->tx.rcpts = xrealloc(c->tx.rcpts, (c->tx.nrcpt + 1) * sizeof(*c->tx.rcpts));
	c->tx.rcpts[c->tx.nrcpt++] = rcpt;
	return SMFIS_CONTINUE;
}

/* name_index - count one more field called name; its index among those */
static unsigned name_index(struct milter_tx *tx, const char *name)
{
	for (size_t i = 0; i < tx->nnames; i++)
		if (strcasecmp(tx->names[i].name, name) == 0)
			return ++tx->names[i].seen;
	tx->names = xrealloc(tx->names, (tx->nnames + 1) * sizeof(*tx->names));
	tx->names[tx->nnames++] = (struct milter_name_count){.name = xstrdup(name), .seen = 1};
	return 1;
}

/* no_reply - what a step answers when the MTA agreed it needs no reply */
static sfsistat no_reply(const struct milter_conn *c, unsigned long step)
{
	return (c->steps & step) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	struct milter_conn *c = conn_of(ctx);
	struct milter_tx *tx;
	const char *field;
	size_t off, len;
	bool ours, results;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (!c->tx.active || name == NULL || value == NULL)
		return no_reply(c, SMFIP_NR_HDR);
	tx = &c->tx;
	milter_message_header(&tx->msg, name, value, c->steps & SMFIP_HDR_LEADSPC, &off, &len);
	field = tx->msg.data.data + off;
	/* Fields are deleted by name and index among that name (smfi_chgheader(3)),
	 * so every Authentication-Results is counted, not only ours. */
	ours = len && header_strip_claimed(field, len, NULL);
	results = strcasecmp(name, "Authentication-Results") == 0;
	if (ours || results) {
		unsigned index = name_index(tx, name);
		if (ours || (len && header_strip_claimed(field, len, c->snap->auth->authserv_id))) {
			/* Each is an edit at the MTA, and a search here: a message
			 * made of them is refused, not edited. */
			if (tx->nstrips >= MILTER_MAX_STRIPS) {
				tx->msg.over = true;
				return no_reply(c, SMFIP_NR_HDR);
			}
			tx->strips = xrealloc(tx->strips, (tx->nstrips + 1) * sizeof(*tx->strips));
			tx->strips[tx->nstrips++] =
			    (struct milter_strip){.name = xstrdup(name), .index = index};
		}
	}
	return no_reply(c, SMFIP_NR_HDR);
}

static sfsistat mlfi_eoh(SMFICTX *ctx)
{
	struct milter_conn *c = conn_of(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (c->tx.active)
		milter_message_eoh(&c->tx.msg);
	return no_reply(c, SMFIP_NR_EOH);
}

static sfsistat mlfi_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct milter_conn *c = conn_of(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (c->tx.active && chunk)
		milter_message_body(&c->tx.msg, chunk, len);
	return no_reply(c, SMFIP_NR_BODY);
}

static sfsistat mlfi_eom(SMFICTX *ctx)
{
	struct milter_conn *c = conn_of(ctx);
	sfsistat st;

	if (c == NULL || !c->tx.active) {
		if (c)
			milter_reply(ctx, "451", "4.3.0 Message arrived out of order", c->id);
		return SMFIS_TEMPFAIL;
	}
	st = milter_policy_eom(c, ctx);
	tx_clear(&c->tx);
	return st;
}

static sfsistat mlfi_abort(SMFICTX *ctx)
{
	struct milter_conn *c = conn_of(ctx);

	if (c && c->tx.active) {
		milter_log_tx(c, "aborted", "the MTA ended the transaction");
		tx_clear(&c->tx);
	}
	return SMFIS_CONTINUE;
}

static sfsistat mlfi_close(SMFICTX *ctx)
{
	struct milter_conn *c = conn_of(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	mlfi_abort(ctx);
	if (c->started)
		pipeline_free(&c->policy);
	snapshot_release(c->snap);
	free(c->client_name);
	free(c->helo);
	free(c->tls_version);
	free(c->tls_cipher);
	free(c);
	smfi_setpriv(ctx, NULL);
	conns_add(-1);
	return SMFIS_CONTINUE;
}

static struct smfiDesc milter_desc = {
    .xxfi_name = "sekisho",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = WANTED_ACTIONS,
    .xxfi_connect = mlfi_connect,
    .xxfi_helo = mlfi_helo,
    .xxfi_envfrom = mlfi_envfrom,
    .xxfi_envrcpt = mlfi_envrcpt,
    .xxfi_header = mlfi_header,
    .xxfi_eoh = mlfi_eoh,
    .xxfi_body = mlfi_body,
    .xxfi_eom = mlfi_eom,
    .xxfi_abort = mlfi_abort,
    .xxfi_close = mlfi_close,
    .xxfi_negotiate = mlfi_negotiate,
};

/* --- the process ----------------------------------------------------------- */

struct channel {
	const char *config_path;
	int fd;
};

/* reply_line - one line back to the daemon (newlines inside become "; ") */
static void reply_line(int fd, const char *text)
{
	struct buf b;

	buf_init(&b);
	for (const char *p = text; *p; p++) {
		if (*p == '\n' && p[1])
			buf_append_str(&b, "; ");
		else if (*p != '\n')
			buf_append_char(&b, *p);
	}
	buf_append_char(&b, '\n');
	(void)!write(fd, b.data, b.len);
	buf_free(&b);
}

/* reload - the daemon's SIGHUP or `sekisho reload`: as do_reload in sekishod.c */
static void reload(const struct channel *ch)
{
	struct snapshot *fresh;
	char *errors = NULL, *reply;

	if (snapshot_build(ch->config_path, &fresh, &errors) != 0) {
		log_err("milter: reload refused, the running configuration stays:\n%s", errors);
		reply = xasprintf("error: milter reload refused: %s", errors);
		free(errors);
	} else {
		log_open("sekishod-milter", fresh->conf->log == LOG_TARGET_SYSLOG,
			 fresh->conf->syslog_facility);
		snapshot_install(fresh);
		analysis_reload(fresh->conf);
		log_info("milter: reload: configuration %s loaded (generation %lu)",
			 ch->config_path, fresh->generation);
		reply = xasprintf("ok: milter reloaded (generation %lu)", fresh->generation);
	}
	reply_line(ch->fd, reply);
	free(reply);
}

/* send_metrics - 'S' or 'P': our counters as lines, then a line "." */
static void send_metrics(const struct channel *ch, bool prometheus)
{
	long open;
	char *text;

	pthread_mutex_lock(&conns_lock);
	open = conns;
	pthread_mutex_unlock(&conns_lock);
	text = prometheus ? metrics_prometheus(open) : metrics_summary(open);
	(void)!write(ch->fd, text, strlen(text));
	(void)!write(ch->fd, ".\n", 2);
	free(text);
}

/* channel_thread - 'H': reload; 'S', 'P': counters; 'T' or the daemon gone: stop */
static void *channel_thread(void *arg)
{
	const struct channel *ch = arg;
	char what;
	ssize_t n;

	for (;;) {
		n = read(ch->fd, &what, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 1 && what == 'H') {
			reload(ch);
			continue;
		}
		if (n == 1 && (what == 'S' || what == 'P')) {
			send_metrics(ch, what == 'P');
			continue;
		}
		break;
	}
	log_info(n == 1 ? "milter: stopping" : "milter: the daemon went away; stopping");
	__atomic_store_n(&stop_asked, true, __ATOMIC_RELEASE);
	smfi_stop();
	return NULL;
}

/* wait_conns - until every connection closed or the deadline passed; those still open */
static long wait_conns(long long deadline)
{
	long open;

	pthread_mutex_lock(&conns_lock);
	while (conns > 0 && clock_ms() < deadline) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&conns_done, &conns_lock, &ts);
	}
	if (conns > 0)
		log_warn("milter: %ld connections still open at the end of the grace", conns);
	open = conns;
	pthread_mutex_unlock(&conns_lock);
	return open;
}

/*
 * no_delay_for_clients - TCP_NODELAY on libmilter's listening socket, which
 * Linux passes on to every accepted connection. At the end of a message we
 * answer with several small writes (header edits, then the verdict); with
 * Nagle each one after the first waits for the MTA's delayed ACK, ~40 ms a
 * message. libmilter does not hand out its socket, so it is found among
 * ours: the only listening TCP socket in this process.
 */
static void no_delay_for_clients(void)
{
	int one = 1;

	for (int fd = 3; fd < 1024; fd++) {
		int listening = 0, proto = 0;
		socklen_t len = sizeof(int);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
			continue;
		len = sizeof(int);
		if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 && proto == IPPROTO_TCP)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
}

/* open_socket - bind milter_listen; a unix socket is left to its folder's mode */
static int open_socket(const struct conf *conf)
{
	mode_t old;
	int rc;

	if (smfi_setconn(conf->milter_listen) != MI_SUCCESS)
		return -1;
	smfi_setbacklog(128);
	smfi_settimeout((int)conf->smtpd_timeout);
	old = umask(0111);
	rc = smfi_opensocket(true);
	umask(old);
	if (rc == MI_SUCCESS)
		no_delay_for_clients();
	return rc == MI_SUCCESS ? 0 : -1;
}

int milter_main(const char *config_path, int channel_fd)
{
	static struct channel ch;
	struct snapshot *snap;
	char *errors = NULL;
	pthread_t tid;
	long grace;
	int rc;

	/* Before any thread: only libmilter's signal thread waits for signals here. */
	daemon_block_signals();
	if (snapshot_build(config_path, &snap, &errors) != 0) {
		reply_line(channel_fd, errors);
		fprintf(stderr, "%s", errors);
		free(errors);
		return 1;
	}
	log_open("sekishod-milter", snap->conf->log == LOG_TARGET_SYSLOG,
		 snap->conf->syslog_facility);
	message_init();
	if (smfi_register(milter_desc) != MI_SUCCESS || open_socket(snap->conf) != 0) {
		log_err("milter: cannot listen on %s", snap->conf->milter_listen);
		errors = xasprintf("error: cannot listen on milter_listen %s",
				   snap->conf->milter_listen);
		reply_line(channel_fd, errors);
		free(errors);
		snapshot_release(snap);
		return 1;
	}
	if (analysis_start(config_path, snap->conf, &errors) != 0) {
		log_err("milter: cannot start the analyzers: %s", errors);
		reply_line(channel_fd, "error: the milter cannot start its analyzers");
		free(errors);
		snapshot_release(snap);
		return 1;
	}
	snapshot_install(snap);
	ch = (struct channel){.config_path = config_path, .fd = channel_fd};
	if (pthread_create(&tid, NULL, channel_thread, &ch) != 0) {
		log_err("milter: cannot start the channel thread");
		return 1;
	}
	pthread_detach(tid);
	log_info("milter: listening on %s", snap->conf->milter_listen);
	reply_line(channel_fd, "ready");
	rc = smfi_main();
	if (!__atomic_load_n(&stop_asked, __ATOMIC_ACQUIRE))
		log_warn("milter: stopped by a signal sent to the milter process itself (libmilter "
			 "stops on SIGHUP, SIGTERM and SIGINT); send signals to the daemon, whose "
			 "pid is in pid_file; the daemon starts the milter again");
	snap = snapshot_acquire();
	grace = snap->conf->shutdown_timeout;
	snapshot_release(snap);
	if (wait_conns(clock_deadline(grace)) > 0) {
		/* Their threads still use the analyzers and the snapshot: do not
		 * free them under their feet. The MTA tempfails what was open. */
		log_warn("milter: stopped with connections open");
		_exit(0);
	}
	analysis_stop();
	snapshot_shutdown();
	log_info("milter: stopped");
	return rc == MI_SUCCESS ? 0 : 1;
}
