/*
 * header_strip - remove header fields that claim to be ours.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "gateway/header_strip.h"

#define OUR_PREFIX "x-sekisho-"

/* field_end - offset just past the field starting at off (continuations included) */
static size_t field_end(const char *p, size_t len, size_t off)
{
	for (;;) {
		const char *nl = memchr(p + off, '\n', len - off);
		if (nl == NULL)
			return len;
		off = (size_t)(nl - p) + 1;
		if (off >= len || (p[off] != ' ' && p[off] != '\t'))
			return off;
	}
}

/* skip_cfws - past folding white space and (nested) comments, RFC 5322 §3.2.2 */
static size_t skip_cfws(const char *p, size_t off, size_t end)
{
	int depth = 0;

	for (; off < end; off++) {
		char c = p[off];
		if (depth > 0 && c == '\\' && off + 1 < end)
			off++;
		else if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n')
			break;
	}
	return off;
}

/* claims_authserv - is the field an Authentication-Results of authserv_id? */
static bool claims_authserv(const char *p, size_t off, size_t end, const char *authserv_id)
{
	static const char name[] = "authentication-results:";
	size_t n = sizeof(name) - 1, id_len = strlen(authserv_id), at;

	if (end - off <= n || strncasecmp(p + off, name, n) != 0)
		return false;
	/* RFC 8601 §2.2: authserv-id is the value's first token, a domain
	 * name in practice; compare it as one, ignoring case */
	at = skip_cfws(p, off + n, end);
	if (end - at < id_len || strncasecmp(p + at, authserv_id, id_len) != 0)
		return false;
	at += id_len;
	return at == end || strchr(" \t\r\n;(", p[at]) != NULL;
}

/* strip - remove every top-level field that drop() says to */
static size_t strip(struct buf *msg, bool (*drop)(const char *, size_t, size_t, const void *),
		    const void *ctx)
{
	size_t off = 0, removed = 0;

	while (off < msg->len) {
		const char *p = msg->data;
		size_t end;

		if (p[off] == '\r' || p[off] == '\n')
			break;	/* the empty line: end of the header section */
		end = field_end(p, msg->len, off);
		if (drop(p, off, end, ctx)) {
			memmove(msg->data + off, msg->data + end, msg->len - end);
			msg->len -= end - off;
			removed++;
			continue;
		}
		off = end;
	}
	return removed;
}

static bool is_ours(const char *p, size_t off, size_t end, const void *ctx)
{
	size_t plen = strlen(OUR_PREFIX);

	(void)ctx;
	return end - off > plen && strncasecmp(p + off, OUR_PREFIX, plen) == 0;
}

static bool is_our_results(const char *p, size_t off, size_t end, const void *ctx)
{
	return claims_authserv(p, off, end, ctx);
}

size_t header_strip_ours(struct buf *msg)
{
	return strip(msg, is_ours, NULL);
}

size_t header_strip_auth_results(struct buf *msg, const char *authserv_id)
{
	return authserv_id && authserv_id[0] ? strip(msg, is_our_results, authserv_id) : 0;
}

bool header_strip_claimed(const char *field, size_t len, const char *authserv_id)
{
	return is_ours(field, 0, len, NULL) ||
	       (authserv_id && authserv_id[0] && claims_authserv(field, 0, len, authserv_id));
}
