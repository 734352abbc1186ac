/*
 * dns_answer - what an answer holds, and reading its record data
 * (see dns.h). Kept apart from the resolver so that a module's tests can
 * build answers without libunbound.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/dns.h"
#include "common/xalloc.h"

void dns_answer_free(struct dns_answer *a)
{
	for (size_t i = 0; i < a->count; i++)
		free(a->data[i]);
	free(a->data);
	free(a->len);
	free(a->packet);
	free(a->why);
	memset(a, 0, sizeof(*a));
}

const char *dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_TEMPFAIL:
		return "tempfail";
	case DNS_PERMFAIL:
		return "permfail";
	}
	return "permfail";
}

char *dns_txt_join(const unsigned char *rdata, size_t len)
{
	struct buf b;
	size_t i = 0;

	buf_init(&b);
	while (i < len) {
		size_t n = rdata[i++];

		if (n > len - i) {
			buf_free(&b);
			return NULL;
		}
		buf_append(&b, rdata + i, n);
		i += n;
	}
	/* a NUL inside a TXT string would cut the record short unseen */
	if (memchr(b.data ? b.data : "", '\0', b.len)) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

char *dns_name_from_rdata(const unsigned char *rdata, size_t len, size_t off)
{
	struct buf b;
	size_t labels = 0;

	buf_init(&b);
	while (off < len) {
		size_t n = rdata[off++];

		if (n == 0) {
			if (labels == 0)
				buf_append_char(&b, '.');
			return buf_steal(&b);
		}
		/* compression pointers (0xc0) never reach us, and are refused */
		if (n > 63 || n > len - off || b.len + n + 1 > 253) {
			break;
		}
		if (labels++)
			buf_append_char(&b, '.');
		for (size_t i = 0; i < n; i++) {
			unsigned char c = rdata[off + i];
			if (c == '\0' || c == '.') {
				buf_free(&b);
				return NULL;
			}
			buf_append_char(&b, (char)c);
		}
		off += n;
	}
	buf_free(&b);
	return NULL;
}

bool dns_reverse_name(const char *ip, const char *zone, char *out, size_t size)
{
	unsigned char a[16];
	size_t n = 0;

	if (inet_pton(AF_INET, ip, a) == 1)
		return (size_t)snprintf(out, size, "%u.%u.%u.%u.%s", a[3], a[2], a[1], a[0], zone) <
		       size;
	if (inet_pton(AF_INET6, ip, a) != 1)
		return false;
	for (int i = 15; i >= 0 && n + 4 < size; i--)
		n += (size_t)snprintf(out + n, size - n, "%x.%x.", a[i] & 0xf, a[i] >> 4);
	return (size_t)snprintf(out + n, size - n, "%s", zone) < size - n;
}
