/*
 * netaddr - socket addresses as text, and "host:port" as socket addresses.
 */
#ifndef SEKISHO_NETADDR_H
#define SEKISHO_NETADDR_H

#include <stddef.h>
#include <sys/socket.h>

#define NETADDR_TEXT_MAX 64

/* netaddr_format - "192.0.2.1" or "2001:db8::1"; an IPv4-mapped IPv6
 * address is shown as the IPv4 address the client really has */
void netaddr_format(const struct sockaddr *sa, char *out, size_t outlen);
int netaddr_port(const struct sockaddr *sa);
socklen_t netaddr_len(const struct sockaddr *sa);

/*
 * netaddr_split - split "192.0.2.1:25", "[2001:db8::1]:25" or "*:25" into
 * malloc'd host ("*" kept) and port. Returns 0, or -1 with *error_r.
 */
int netaddr_split(const char *text, char **host_r, char **port_r,
		  const char **error_r);

#endif
