/*
 * cidr - IPv4/IPv6 network lists such as mynetworks and proxy_protocol_from.
 *
 * Addresses are compared as network bytes. A client address is matched in
 * both of its spellings: an IPv4-mapped IPv6 address (::ffff:192.0.2.1)
 * against IPv4 networks, and an IPv4 address against IPv6 networks as its
 * mapped form, so a dual-stack listener and an IPv4 listener agree.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/cidr.h"
#include "common/xalloc.h"

/* longest text worth trying: a bracketed IPv6 address and "/128" */
#define CIDR_TEXT_MAX (INET6_ADDRSTRLEN + 2 + 4)

static const unsigned char cidr_mapped_prefix[12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

/* cidr_parse_prefix - decimal prefix length after the "/", at most max */
static int cidr_parse_prefix(const char *text, unsigned max, unsigned *out, const char **error_r)
{
	unsigned n = 0;

	if (*text == '\0') {
		*error_r = "missing prefix length after \"/\"";
		return -1;
	}
	for (; *text; text++) {
		if (*text < '0' || *text > '9') {
			*error_r = "prefix length is not a number";
			return -1;
		}
		n = n * 10 + (unsigned)(*text - '0');
		if (n > max) {
			*error_r = max == 32 ? "prefix length must be 0 to 32 for IPv4"
			                     : "prefix length must be 0 to 128 for IPv6";
			return -1;
		}
	}
	*out = n;
	return 0;
}

/* cidr_host_bits_clear - are all bits after the prefix zero? */
static bool cidr_host_bits_clear(const unsigned char *addr, unsigned prefix, unsigned bits)
{
	for (unsigned i = prefix; i < bits; i++)
		if (addr[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* cidr_split - find the address text and the prefix text in buf */
static int cidr_split(char *buf, char **addr_r, char **prefix_r, bool *bracketed_r,
                      const char **error_r)
{
	char *slash, *close;

	*bracketed_r = buf[0] == '[';
	if (*bracketed_r) {
		if ((close = strchr(buf, ']')) == NULL) {
			*error_r = "missing \"]\"";
			return -1;
		}
		*close = '\0';
		*addr_r = buf + 1;
		if (close[1] != '\0' && close[1] != '/') {
			*error_r = "unexpected text after \"]\"";
			return -1;
		}
		*prefix_r = close[1] == '/' ? close + 2 : NULL;
		return 0;
	}
	*addr_r = buf;
	if ((slash = strchr(buf, '/')) != NULL)
		*slash = '\0';
	*prefix_r = slash ? slash + 1 : NULL;
	return 0;
}

int cidr_parse(const char *text, struct cidr *out, const char **error_r)
{
	char buf[CIDR_TEXT_MAX + 1], *addr, *prefix;
	bool bracketed;
	unsigned bits;

	if (strlen(text) > CIDR_TEXT_MAX) {
		*error_r = "not an IPv4 or IPv6 address or network";
		return -1;
	}
	strcpy(buf, text);
	if (cidr_split(buf, &addr, &prefix, &bracketed, error_r) != 0)
		return -1;
	memset(out, 0, sizeof(*out));
	if (!bracketed && inet_pton(AF_INET, addr, out->addr) == 1) {
		out->family = AF_INET;
	} else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
		out->family = AF_INET6;
	} else {
		*error_r = bracketed ? "not an IPv6 address inside \"[]\""
		                     : "not an IPv4 or IPv6 address or network";
		return -1;
	}
	bits = out->family == AF_INET ? 32 : 128;
	out->prefix = bits;
	if (prefix && cidr_parse_prefix(prefix, bits, &out->prefix, error_r) != 0)
		return -1;
	if (!cidr_host_bits_clear(out->addr, out->prefix, bits)) {
		*error_r = "address has bits set beyond the prefix length";
		return -1;
	}
	return 0;
}

int cidr_list_add(struct cidr_list *list, const char *text, const char **error_r)
{
	struct cidr net;

	if (cidr_parse(text, &net, error_r) != 0)
		return -1;
	list->items = xrealloc(list->items, (list->count + 1) * sizeof(net));
	list->items[list->count++] = net;
	return 0;
}

void cidr_list_free(struct cidr_list *list)
{
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

/* cidr_prefix_match - do the first prefix bits of a and b agree? */
static bool cidr_prefix_match(const unsigned char *a, const unsigned char *b, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;
	unsigned char mask;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/*
 * cidr_sockaddr_bytes - the address of sa as 16 bytes of IPv6 (IPv4 is
 * written in its mapped form). Returns false for other families.
 */
static bool cidr_sockaddr_bytes(const struct sockaddr *sa, unsigned char out[16])
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		memcpy(out, cidr_mapped_prefix, sizeof(cidr_mapped_prefix));
		memcpy(out + 12, &sin->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		memcpy(out, &sin6->sin6_addr, 16);
		return true;
	}
	return false;
}

bool cidr_match(const struct cidr *net, const struct sockaddr *sa)
{
	unsigned char addr[16];

	if (sa == NULL || !cidr_sockaddr_bytes(sa, addr))
		return false;
	if (net->family == AF_INET6)
		return cidr_prefix_match(net->addr, addr, net->prefix);
	if (memcmp(addr, cidr_mapped_prefix, sizeof(cidr_mapped_prefix)) != 0)
		return false;
	return cidr_prefix_match(net->addr, addr + 12, net->prefix);
}

bool cidr_list_match(const struct cidr_list *list, const struct sockaddr *sa)
{
	for (size_t i = 0; i < list->count; i++)
		if (cidr_match(&list->items[i], sa))
			return true;
	return false;
}
