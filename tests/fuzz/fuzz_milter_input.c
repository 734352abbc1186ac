/*
 * fuzz_milter_input - libFuzzer target for gateway/milter_input.c.
 *
 * The input is a script of records separated by NUL bytes, as an MTA
 * could send them: "Hname\001value" a header field, "E" the end of the
 * header, "Bbytes" a body chunk, anything else an envelope address and a
 * {client_addr} / {client_port} macro pair (split at the first space).
 * The first byte picks SMFIP_HDR_LEADSPC. Whatever comes out must hang
 * together: an address without brackets, controls or spaces, a client
 * address that is an IP address, and a message within its limit whose
 * header section has CR LF line ends, no empty line, and only lines that
 * are a field or its continuation.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "gateway/milter_input.h"
#include "tests/fuzz/fuzz_assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LIMIT 4096

static void check_addr(const char *rec)
{
	char *a = milter_input_addr(rec);

	if (a == NULL)
		return;
	FUZZ_ASSERT(strlen(a) <= 1024);
	for (const char *p = a; *p; p++)
		FUZZ_ASSERT((unsigned char)*p > ' ' && *p != 0x7f && *p != '<' && *p != '>');
	free(a);
}

static void check_client(const char *rec)
{
	char *copy = xstrdup(rec), *space = strchr(copy, ' ');
	char ip[64];
	unsigned char raw[16];
	int port = -1;

	if (space)
		*space++ = '\0';
	if (milter_input_client(NULL, copy, space, ip, sizeof(ip), &port) == 0) {
		FUZZ_ASSERT(inet_pton(AF_INET, ip, raw) == 1 || inet_pton(AF_INET6, ip, raw) == 1);
		FUZZ_ASSERT(port >= 0 && port <= 65535);
	}
	free(copy);
}

/* check_header - the header section as milter_input.h promises */
static void check_header(const struct milter_message *m)
{
	const char *p = m->data.data, *end;

	FUZZ_ASSERT(m->data.len <= m->limit);
	if (m->data.len == 0)
		return;
	end = p + m->data.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;	/* the body's last line */
		FUZZ_ASSERT(nl > p && nl[-1] == '\r');
		if (nl == p + 1)
			return;	/* the empty line: the body follows, as sent */
		FUZZ_ASSERT(p == m->data.data ? memchr(p, ':', (size_t)(nl - p)) != NULL
					      : (*p == ' ' || *p == '\t' ||
						 memchr(p, ':', (size_t)(nl - p)) != NULL));
		p = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct milter_message m;
	char *text;
	bool leadspc;
	size_t off, len;

	if (size == 0)
		return 0;
	leadspc = data[0] & 1;
	text = xmalloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	milter_message_init(&m, FUZZ_LIMIT);
	for (char *rec = text; rec < text + size - 1; rec += strlen(rec) + 1) {
		char *sep;
		if (rec[0] == 'H' && (sep = strchr(rec, '\001')) != NULL) {
			*sep = '\0';
			milter_message_header(&m, rec + 1, sep + 1, leadspc, &off, &len);
			FUZZ_ASSERT(off + len <= m.data.len);
			*sep = '\001';
		} else if (rec[0] == 'E') {
			milter_message_eoh(&m);
		} else if (rec[0] == 'B') {
			milter_message_body(&m, (const unsigned char *)rec + 1, strlen(rec + 1));
		} else {
			check_addr(rec);
			check_client(rec);
		}
	}
	if (!m.over)
		check_header(&m);
	milter_message_free(&m);
	free(text);
	return 0;
}
