/*
 * cidr - IPv4/IPv6 network lists such as mynetworks and proxy_protocol_from.
 *
 * An IPv4-mapped IPv6 client address (::ffff:192.0.2.1) matches IPv4
 * networks, so the answer does not depend on how a listener was bound.
 */
#ifndef SEKISHO_CIDR_H
#define SEKISHO_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct cidr {
	int family;		  /* AF_INET or AF_INET6 */
	unsigned char addr[16];	  /* network bytes, host bits cleared */
	unsigned prefix;	  /* 0..32 or 0..128 */
};

struct cidr_list {
	struct cidr *items;
	size_t count;
};

/*
 * cidr_parse - parse "192.0.2.0/24", "192.0.2.1", "2001:db8::/32",
 * "[2001:db8::]/32" or "[::1]". Host bits set beyond the prefix are an
 * error (a likely typo), as is a prefix out of range. Returns 0, or -1
 * with a static description in *error_r.
 */
int cidr_parse(const char *text, struct cidr *out, const char **error_r);

/* cidr_list_add - parse text and append it; same errors as cidr_parse */
int cidr_list_add(struct cidr_list *list, const char *text, const char **error_r);
void cidr_list_free(struct cidr_list *list);

bool cidr_match(const struct cidr *net, const struct sockaddr *sa);
bool cidr_list_match(const struct cidr_list *list, const struct sockaddr *sa);

#endif
