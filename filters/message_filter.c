/*
 * message_filter - the filter that reads the message itself, through
 * filter_input's content reader (content.h, in the analyzers) or message.c.
 */
#include "config.h"

#include "filters/filter.h"
#include "filters/message.h"

static void message_on_message(const struct filter_input *in, struct facts *facts)
{
	if (in->content)
		in->content(in->content_ctx, in->msg, in->len, facts);
	else
		message_facts(in->msg, in->len, NULL, facts);
}

const struct filter filter_message = {
	.name = "message",
	.on_message = message_on_message,
};
