/*
 * header_strip - remove header fields that claim to be ours.
 */
#include "config.h"

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

size_t header_strip_ours(struct buf *msg)
{
	size_t off = 0, removed = 0, plen = strlen(OUR_PREFIX);

	while (off < msg->len) {
		const char *p = msg->data;
		size_t end;

		if (p[off] == '\r' || p[off] == '\n')
			break;	/* the empty line: end of the header section */
		end = field_end(p, msg->len, off);
		if (end - off > plen && strncasecmp(p + off, OUR_PREFIX, plen) == 0) {
			memmove(msg->data + off, msg->data + end, msg->len - end);
			msg->len -= end - off;
			removed++;
			continue;
		}
		off = end;
	}
	return removed;
}
