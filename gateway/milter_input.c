/*
 * milter_input - what the MTA tells the milter (see milter_input.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/netaddr.h"
#include "common/xalloc.h"
#include "gateway/milter_input.h"

#define ADDR_MAX 1024

char *milter_input_addr(const char *arg)
{
	size_t len;

	if (arg == NULL)
		return NULL;
	len = strlen(arg);
	if (len > ADDR_MAX)
		return NULL;
	if (len && arg[0] == '<') {
		if (len < 2 || arg[len - 1] != '>')
			return NULL;
		arg++;
		len -= 2;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)arg[i];
		/* inside the brackets: no more brackets, no controls, no space */
		if (c <= ' ' || c == 0x7f || c == '<' || c == '>')
			return NULL;
	}
	return xstrndup(arg, len);
}

/* macro_ip - a {client_addr} value as canonical text; -1 if it is no IP address */
static int macro_ip(const char *text, char *ip, size_t iplen)
{
	unsigned char raw[sizeof(struct in6_addr)];
	const char *v6 = text;

	if (text == NULL)
		return -1;
	/* Sendmail writes IPv6 clients as "IPv6:..." */
	if (strncasecmp(v6, "IPv6:", 5) == 0)
		v6 += 5;
	if (inet_pton(AF_INET, text, raw) == 1)
		return inet_ntop(AF_INET, raw, ip, (socklen_t)iplen) ? 0 : -1;
	if (inet_pton(AF_INET6, v6, raw) == 1)
		return inet_ntop(AF_INET6, raw, ip, (socklen_t)iplen) ? 0 : -1;
	return -1;
}

static int macro_port(const char *text)
{
	char *end;
	long n;

	if (text == NULL || text[0] < '0' || text[0] > '9')
		return 0;
	n = strtol(text, &end, 10);
	return *end == '\0' && n > 0 && n <= 65535 ? (int)n : 0;
}

int milter_input_client(const struct sockaddr *sa, const char *macro_addr,
			const char *macro_port_text, char *ip, size_t iplen, int *port_r)
{
	if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
		netaddr_format(sa, ip, iplen);
		*port_r = netaddr_port(sa);
		return 0;
	}
	if (macro_ip(macro_addr, ip, iplen) != 0)
		return -1;
	*port_r = macro_port(macro_port_text);
	return 0;
}

void milter_message_init(struct milter_message *m, size_t limit)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->data);
	m->limit = limit;
}

void milter_message_reset(struct milter_message *m)
{
	buf_reset(&m->data);
	m->fields = 0;
	m->over = false;
	m->body = false;
}

void milter_message_free(struct milter_message *m)
{
	buf_free(&m->data);
}

/* room - can n more bytes be kept? If not, the message is over its limit */
static bool room(struct milter_message *m, size_t n)
{
	if (!m->over && n <= m->limit && m->data.len <= m->limit - n)
		return true;
	m->over = true;
	return false;
}

/* field_name_ok - RFC 5322 §3.6.8 ftext: printable US-ASCII but ":" */
static bool field_name_ok(const char *name, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] <= ' ' || (unsigned char)name[i] >= 0x7f ||
		    name[i] == ':')
			return false;
	return true;
}

void milter_message_header(struct milter_message *m, const char *name, const char *value,
			   bool leadspc, size_t *off_r, size_t *len_r)
{
	size_t nlen = strlen(name), vlen = strlen(value), start = m->data.len;

	*off_r = start;
	*len_r = 0;
	/* A line break that ends the value would end the field twice. */
	while (vlen && (value[vlen - 1] == '\n' || value[vlen - 1] == '\r'))
		vlen--;
	/* a value can at most triple (every LF gets a CR and a space) */
	if (m->body || ++m->fields > MILTER_MAX_FIELDS || vlen > m->limit ||
	    !field_name_ok(name, nlen) || !room(m, nlen + 3 * vlen + 4)) {
		m->over = true;
		return;
	}
	buf_append(&m->data, name, nlen);
	buf_append_str(&m->data, leadspc ? ":" : ": ");
	for (size_t i = 0; i < vlen; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			buf_append_char(&m->data, '\r');
		buf_append_char(&m->data, value[i]);
		/* A line that does not start with white space would be a field of its
		 * own (or, empty, the end of the header): keep it a continuation. */
		if (value[i] == '\n' && value[i + 1] != ' ' && value[i + 1] != '\t')
			buf_append_char(&m->data, ' ');
	}
	buf_append_str(&m->data, "\r\n");
	*len_r = m->data.len - start;
}

void milter_message_eoh(struct milter_message *m)
{
	if (m->body)
		return;
	m->body = true;
	if (room(m, 2))
		buf_append_str(&m->data, "\r\n");
}

void milter_message_body(struct milter_message *m, const unsigned char *chunk, size_t len)
{
	milter_message_eoh(m);
	if (room(m, len))
		buf_append(&m->data, chunk, len);
}
