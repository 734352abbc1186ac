/*
 * fuzz_dkim_packet - the DNS reply packets of filters/dkim_verify.c.
 *
 * The input is read three ways:
 *   - as a reply from the resolver: dkim_verify_reply_check must never
 *     crash, and a packet it passes is handed, as a resolver's packet, to
 *     libopendkim's own reply parser through a key query of a verification;
 *   - as TXT rdata (the first byte picks the status and the AD bit): the
 *     reply dkim_verify_reply_build makes of it must pass the check;
 *   - as a name: a reply built for it must pass the check for that name.
 * Invariants: no crash, and whatever the builder writes the reader accepts.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/dns.h"
#include "common/xalloc.h"
#include "filters/dkim_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define QNAME "s._domainkey.example.org"

static const char message[] = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;"
                              " s=s; h=from; bh=AAAA; b=AAAA\r\n"
                              "From: a@example.org\r\n"
                              "\r\n"
                              "body\r\n";

struct fuzz_reply {
	const uint8_t *data;
	size_t size;
};

/* reply_query - every key query gets the input as the resolver's packet */
static int reply_query(void *ctx, const char *name, int type, struct dns_answer *out)
{
	const struct fuzz_reply *r = ctx;

	(void)name;
	(void)type;
	memset(out, 0, sizeof(*out));
	out->status = DNS_OK;
	out->packet = xmalloc(r->size ? r->size : 1);
	memcpy(out->packet, r->data, r->size);
	out->packet_len = r->size;
	return 0;
}

static void as_resolver_reply(const uint8_t *data, size_t size)
{
	static struct fuzz_reply reply;
	static struct dkim_verifier *v;
	struct dkim_outcome o;

	if (dkim_verify_reply_check(data, size, QNAME) != NULL)
		return;
	if (v == NULL) {
		struct dns_lookup lookup = {.query = reply_query, .ctx = &reply};
		char *error = NULL;

		if ((v = dkim_verifier_new(&lookup, &error)) == NULL)
			abort();
	}
	reply = (struct fuzz_reply){.data = data, .size = size};
	dkim_verify_message(v, message, sizeof(message) - 1, &o);
	if (o.count != 1)
		abort();
	dkim_outcome_free(&o);
}

static void as_rdata(const uint8_t *data, size_t size)
{
	static const enum dns_status statuses[] = {DNS_OK, DNS_NODATA, DNS_NXDOMAIN, DNS_TEMPFAIL,
	                                           DNS_PERMFAIL};
	unsigned char *rdata = xmalloc(size ? size : 1), pkt[8192];
	size_t len = size ? size - 1 : 0;
	struct dns_answer a = {.count = 1, .data = &rdata, .len = &len};
	size_t n;

	if (size == 0) {
		free(rdata);
		return;
	}
	a.status = statuses[data[0] % 5];
	a.secure = data[0] & 0x80;
	memcpy(rdata, data + 1, len);
	n = dkim_verify_reply_build(QNAME, &a, pkt, sizeof(pkt));
	/* the question alone always fits; only a big record can overflow */
	if (n == 0 && len < sizeof(pkt) - 64)
		abort();
	if (n > 0 && dkim_verify_reply_check(pkt, n, QNAME) != NULL)
		abort();
	free(rdata);
}

static void as_name(const uint8_t *data, size_t size)
{
	struct dns_answer a = {.status = DNS_NXDOMAIN};
	char *name = xstrndup((const char *)data, size < 300 ? size : 300);
	unsigned char pkt[512];
	size_t n = dkim_verify_reply_build(name, &a, pkt, sizeof(pkt));

	if (n > 0 && dkim_verify_reply_check(pkt, n, name) != NULL)
		abort();
	free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	as_resolver_reply(data, size);
	as_rdata(data, size);
	as_name(data, size);
	return 0;
}
