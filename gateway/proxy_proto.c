/*
 * proxy_proto - HAProxy PROXY protocol v1 (text) and v2 (binary) headers.
 *
 * Spec: haproxy's doc/proxy-protocol.txt. The parser is strict: a peer
 * that gets the header wrong is refused rather than guessed at, since the
 * header decides which client address every later check sees. It is also
 * incremental: while data[0..len) can still grow into a valid header the
 * answer is PROXY_NEED_MORE, and as soon as it cannot, PROXY_ERROR. Nothing
 * at or past data[len] is ever read.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "gateway/proxy_proto.h"

#define V1_MAX		107	/* longest v1 line, CRLF included (spec 2.1) */
#define V1_ADDR4_MAX	15	/* "255.255.255.255" */
#define V1_ADDR6_MAX	45	/* 6 groups and a dotted quad */
#define V1_PORT_MAX	5	/* "65535" */
#define V1_FIELDS	4	/* source, destination and their ports */

#define V2_SIG_LEN	12
#define V2_HDR_LEN	16	/* signature, ver/cmd, fam, 2-byte length */
#define V2_MAX_BODY	4096	/* our cap on the length field */
#define V2_VERSION	0x20
#define V2_CMD_LOCAL	0x00
#define V2_CMD_PROXY	0x01
#define V2_TCP4		0x11
#define V2_UDP4		0x12
#define V2_TCP6		0x21
#define V2_UDP6		0x22
#define V2_UNIX_STREAM	0x31
#define V2_UNIX_DGRAM	0x32
#define V2_TCP4_LEN	12	/* 2 x 4-byte address, 2 x port */
#define V2_TCP6_LEN	36	/* 2 x 16-byte address, 2 x port */

static const unsigned char v2_sig[V2_SIG_LEN] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
};

/* the cut of a v1 "SRC DST SPORT DPORT" tail; count is the current field */
struct v1_fields {
	const unsigned char *p[V1_FIELDS];
	size_t n[V1_FIELDS];
	int count;
};

/* proxy_fail - refuse the header, saying why */
static enum proxy_result proxy_fail(const char **error_r, const char *why)
{
	*error_r = why;
	return PROXY_ERROR;
}

/* proxy_refuse - as proxy_fail, for the helpers that return 0 / -1 */
static int proxy_refuse(const char **error_r, const char *why)
{
	*error_r = why;
	return -1;
}

/* min_len - the smaller of two lengths */
static size_t min_len(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* sa_set_in - store an IPv4 address and a port (both network order) */
static void sa_set_in(struct sockaddr_storage *ss, const void *addr,
		      const void *port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, addr, 4);
	memcpy(&sin->sin_port, port, 2);
}

/* sa_set_in6 - store an IPv6 address and a port (both network order) */
static void sa_set_in6(struct sockaddr_storage *ss, const void *addr,
		       const void *port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, addr, 16);
	memcpy(&sin6->sin6_port, port, 2);
}

/* v1_find_crlf - find the CRLF in the first 107 bytes; *end_r: line length */
static enum proxy_result v1_find_crlf(const unsigned char *d, size_t len,
				      size_t *end_r, const char **error_r)
{
	size_t n = min_len(len, V1_MAX - 1);	/* room for the LF after */
	size_t i;

	for (i = 0; i < n; i++) {
		if (d[i] == '\n')
			return proxy_fail(error_r, "PROXY v1: bare LF");
		if (d[i] != '\r')
			continue;
		*end_r = i;
		if (i + 1 == len)
			return PROXY_NEED_MORE;
		if (d[i + 1] != '\n')
			return proxy_fail(error_r, "PROXY v1: CR not followed by LF");
		return PROXY_OK;
	}
	if (len >= V1_MAX - 1)
		return proxy_fail(error_r, "PROXY v1: no CRLF within 107 bytes");
	*end_r = len;
	return PROXY_NEED_MORE;
}

/* v1_field_ok - may byte c appear in field number k of this family? */
static int v1_field_ok(unsigned char c, int k, int family)
{
	int digit = c >= '0' && c <= '9';
	int hex = (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

	if (k >= 2)
		return digit;
	if (family == AF_INET)
		return digit || c == '.';
	return digit || hex || c == ':' || c == '.';
}

/* v1_field_max - the longest field number k may be */
static size_t v1_field_max(int k, int family)
{
	if (k >= 2)
		return V1_PORT_MAX;
	return family == AF_INET ? V1_ADDR4_MAX : V1_ADDR6_MAX;
}

/* v1_split - cut the tail at single spaces, checking every byte as it goes */
static int v1_split(const unsigned char *s, size_t n, int family,
		    struct v1_fields *f, const char **error_r)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	f->p[0] = s;
	for (i = 0; i < n; i++) {
		if (s[i] == ' ') {
			if (f->n[f->count] == 0 || f->count == V1_FIELDS - 1)
				return proxy_refuse(error_r, "PROXY v1: misplaced space");
			f->p[++f->count] = s + i + 1;
			continue;
		}
		if (!v1_field_ok(s[i], f->count, family) ||
		    ++f->n[f->count] > v1_field_max(f->count, family))
			return proxy_refuse(error_r, "PROXY v1: malformed address or port");
	}
	return 0;
}

/* v1_addr - parse an address of the named family into ss */
static int v1_addr(const unsigned char *p, size_t n, int family,
		   struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char text[V1_ADDR6_MAX + 1];

	memcpy(text, p, n);	/* n is bounded by v1_split */
	text[n] = '\0';
	ss->ss_family = family;
	if (family == AF_INET)
		return inet_pton(AF_INET, text, &sin->sin_addr) == 1 ? 0 : -1;
	return inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1 ? 0 : -1;
}

/* v1_port - parse a decimal port without sign or leading zero into ss */
static int v1_port(const unsigned char *p, size_t n,
		   struct sockaddr_storage *ss)
{
	unsigned long port = 0;
	uint16_t net;
	size_t i;

	if (n == 0 || (n > 1 && p[0] == '0'))
		return -1;
	for (i = 0; i < n; i++)
		port = port * 10 + (unsigned long)(p[i] - '0');
	if (port > 65535)
		return -1;
	net = htons((uint16_t)port);
	if (ss->ss_family == AF_INET)
		memcpy(&((struct sockaddr_in *)ss)->sin_port, &net, 2);
	else
		memcpy(&((struct sockaddr_in6 *)ss)->sin6_port, &net, 2);
	return 0;
}

/* v1_tcp - check "SRC DST SPORT DPORT"; when complete, fill info */
static int v1_tcp(const unsigned char *s, size_t n, int family, int complete,
		  struct proxy_info *info, const char **error_r)
{
	struct v1_fields f;

	if (v1_split(s, n, family, &f, error_r) < 0)
		return -1;
	if (!complete)
		return 0;
	if (f.count != V1_FIELDS - 1 || f.n[V1_FIELDS - 1] == 0)
		return proxy_refuse(error_r, "PROXY v1: missing fields");
	if (v1_addr(f.p[0], f.n[0], family, &info->src) < 0)
		return proxy_refuse(error_r, "PROXY v1: bad source address");
	if (v1_addr(f.p[1], f.n[1], family, &info->dst) < 0)
		return proxy_refuse(error_r, "PROXY v1: bad destination address");
	if (v1_port(f.p[2], f.n[2], &info->src) < 0)
		return proxy_refuse(error_r, "PROXY v1: bad source port");
	if (v1_port(f.p[3], f.n[3], &info->dst) < 0)
		return proxy_refuse(error_r, "PROXY v1: bad destination port");
	return 0;
}

/* v1_proto - check the protocol word and what follows it */
static int v1_proto(const unsigned char *s, size_t n, int complete,
		    struct proxy_info *info, const char **error_r)
{
	static const struct {
		const char *word;
		int family;
	} protos[] = {
		{ "TCP4 ", AF_INET },
		{ "TCP6 ", AF_INET6 },
		{ "UNKNOWN", AF_UNSPEC },	/* the rest is ignored */
	};
	size_t i, k;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		k = strlen(protos[i].word);
		if (memcmp(s, protos[i].word, min_len(n, k)) != 0)
			continue;
		if (n < k && complete)
			return proxy_refuse(error_r, "PROXY v1: truncated protocol");
		if (n < k)
			return 0;
		if (protos[i].family != AF_UNSPEC)
			return v1_tcp(s + k, n - k, protos[i].family, complete,
				      info, error_r);
		if (n > k && s[k] != ' ')
			break;
		info->local = complete;
		return 0;
	}
	return proxy_refuse(error_r, "PROXY v1: unknown protocol");
}

/* v1_line - check the line d[0..n); complete when its CRLF has been seen */
static int v1_line(const unsigned char *d, size_t n, int complete,
		   struct proxy_info *info, const char **error_r)
{
	static const char sig[] = "PROXY ";
	size_t k = sizeof(sig) - 1;

	if (memcmp(d, sig, min_len(n, k)) != 0)
		return proxy_refuse(error_r, "PROXY: not a PROXY protocol header");
	if (n < k && complete)
		return proxy_refuse(error_r, "PROXY v1: truncated header");
	if (n < k)
		return 0;
	return v1_proto(d + k, n - k, complete, info, error_r);
}

/* v1_parse - a text header: "PROXY TCP4 src dst sport dport\r\n" */
static enum proxy_result v1_parse(const unsigned char *d, size_t len,
				  struct proxy_info *info, size_t *consumed_r,
				  const char **error_r)
{
	enum proxy_result r;
	size_t end = 0;

	r = v1_find_crlf(d, len, &end, error_r);
	if (r == PROXY_ERROR)
		return r;
	if (v1_line(d, end, r == PROXY_OK, info, error_r) < 0)
		return PROXY_ERROR;
	if (r == PROXY_OK)
		*consumed_r = end + 2;
	return r;
}

/* v2_check_cmd - version 2 with command LOCAL or PROXY only */
static int v2_check_cmd(unsigned char ver_cmd, const char **error_r)
{
	if ((ver_cmd & 0xF0) != V2_VERSION)
		return proxy_refuse(error_r, "PROXY v2: unsupported version");
	if ((ver_cmd & 0x0F) > V2_CMD_PROXY)
		return proxy_refuse(error_r, "PROXY v2: unknown command");
	return 0;
}

/* v2_check_family - for PROXY, only TCP over IPv4 or IPv6 (LOCAL ignores it) */
static int v2_check_family(unsigned char ver_cmd, unsigned char fam,
			   const char **error_r)
{
	if ((ver_cmd & 0x0F) == V2_CMD_LOCAL)
		return 0;
	switch (fam) {
	case V2_TCP4:
	case V2_TCP6:
		return 0;
	case V2_UDP4:
	case V2_UDP6:
		return proxy_refuse(error_r, "PROXY v2: UDP is not supported");
	case V2_UNIX_STREAM:
	case V2_UNIX_DGRAM:
		return proxy_refuse(error_r,
			"PROXY v2: unix sockets are not supported");
	default:
		return proxy_refuse(error_r,
			"PROXY v2: unsupported address family");
	}
}

/* v2_addr_len - bytes of addresses the body must hold */
static size_t v2_addr_len(unsigned char ver_cmd, unsigned char fam)
{
	if ((ver_cmd & 0x0F) == V2_CMD_LOCAL)
		return 0;
	return fam == V2_TCP4 ? V2_TCP4_LEN : V2_TCP6_LEN;
}

/* v2_fill - copy the addresses; TLVs after them are skipped */
static void v2_fill(const unsigned char *d, struct proxy_info *info)
{
	const unsigned char *a = d + V2_HDR_LEN;

	if ((d[12] & 0x0F) == V2_CMD_LOCAL) {
		info->local = 1;
		return;
	}
	if (d[13] == V2_TCP4) {
		sa_set_in(&info->src, a, a + 8);
		sa_set_in(&info->dst, a + 4, a + 10);
		return;
	}
	sa_set_in6(&info->src, a, a + 32);
	sa_set_in6(&info->dst, a + 16, a + 34);
}

/* v2_parse - a binary header: signature, ver/cmd, family, length, body */
static enum proxy_result v2_parse(const unsigned char *d, size_t len,
				  struct proxy_info *info, size_t *consumed_r,
				  const char **error_r)
{
	size_t body;

	if (memcmp(d, v2_sig, min_len(len, V2_SIG_LEN)) != 0)
		return proxy_fail(error_r, "PROXY v2: bad signature");
	if (len > 12 && v2_check_cmd(d[12], error_r) < 0)
		return PROXY_ERROR;
	if (len > 13 && v2_check_family(d[12], d[13], error_r) < 0)
		return PROXY_ERROR;
	if (len < V2_HDR_LEN)
		return PROXY_NEED_MORE;
	body = (size_t)d[14] << 8 | d[15];
	if (body > V2_MAX_BODY)
		return proxy_fail(error_r, "PROXY v2: header too long");
	if (body < v2_addr_len(d[12], d[13]))
		return proxy_fail(error_r, "PROXY v2: length too short for addresses");
	if (len < V2_HDR_LEN + body)
		return PROXY_NEED_MORE;
	v2_fill(d, info);
	*consumed_r = V2_HDR_LEN + body;
	return PROXY_OK;
}

enum proxy_result proxy_parse(const unsigned char *data, size_t len,
			      struct proxy_info *info, size_t *consumed_r,
			      const char **error_r)
{
	memset(info, 0, sizeof(*info));
	*consumed_r = 0;
	*error_r = NULL;
	if (len == 0)
		return PROXY_NEED_MORE;
	if (data[0] == 'P')
		return v1_parse(data, len, info, consumed_r, error_r);
	if (data[0] == v2_sig[0])
		return v2_parse(data, len, info, consumed_r, error_r);
	return proxy_fail(error_r, "PROXY: not a PROXY protocol header");
}
