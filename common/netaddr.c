/*
 * netaddr - socket addresses as text, and "host:port" as socket addresses.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "common/netaddr.h"
#include "common/xalloc.h"

void netaddr_format(const struct sockaddr *sa, char *out, size_t outlen)
{
	const struct sockaddr_in6 *sin6;

	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
			  (socklen_t)outlen);
		return;
	}
	if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], out,
				  (socklen_t)outlen);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, out, (socklen_t)outlen);
		return;
	}
	snprintf(out, outlen, "%s", sa->sa_family == AF_UNIX ? "unix" : "unknown");
}

int netaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

socklen_t netaddr_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					 : sizeof(struct sockaddr_in);
}

int netaddr_split(const char *text, char **host_r, char **port_r,
		  const char **error_r)
{
	const char *colon, *host = text;
	size_t hostlen;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || close[1] != ':') {
			*error_r = "expected [IPv6 address]:port";
			return -1;
		}
		host = text + 1;
		hostlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL || memchr(text, ':', (size_t)(colon - text))) {
			*error_r = "expected host:port (write IPv6 as [address]:port)";
			return -1;
		}
		hostlen = (size_t)(colon - text);
	}
	if (hostlen == 0 || colon[1] == '\0') {
		*error_r = "expected host:port";
		return -1;
	}
	*host_r = xstrndup(host, hostlen);
	*port_r = xstrdup(colon + 1);
	return 0;
}
