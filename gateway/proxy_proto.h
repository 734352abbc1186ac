/*
 * proxy_proto - HAProxy PROXY protocol v1 (text) and v2 (binary) headers.
 *
 * A load balancer in front of several gateways prepends one header to each
 * connection naming the real client. The parser is incremental: it is fed
 * what has been read so far and says whether it needs more bytes. It never
 * reads past the header, so the bytes after it stay for the SMTP session.
 * Spec: haproxy's doc/proxy-protocol.txt.
 */
#ifndef SEKISHO_PROXY_PROTO_H
#define SEKISHO_PROXY_PROTO_H

#include <stddef.h>
#include <sys/socket.h>

enum proxy_result {
	PROXY_NEED_MORE,	/* a valid prefix so far; read more */
	PROXY_OK,		/* *consumed_r bytes form a complete header */
	PROXY_ERROR,		/* not a valid header; *error_r says why */
};

struct proxy_info {
	int local;		/* 1: "LOCAL"/"UNKNOWN" (keep the socket's own address) */
	struct sockaddr_storage src;	/* the real client when !local */
	struct sockaddr_storage dst;	/* the address it connected to when !local */
};

/*
 * proxy_parse - look at data[0..len). A v1 header is at most 107 bytes, a
 * v2 header 16 bytes plus its length field (accepted up to 4096 bytes; TLVs
 * are skipped). Only TCP over IPv4/IPv6 and LOCAL/UNKNOWN are accepted.
 */
enum proxy_result proxy_parse(const unsigned char *data, size_t len,
			      struct proxy_info *info, size_t *consumed_r,
			      const char **error_r);

#endif
