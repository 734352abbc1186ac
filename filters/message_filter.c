/*
 * message_filter - the filter that reads the message itself (message.c).
 */
#include "config.h"

#include "filters/filter.h"
#include "filters/message.h"

static void message_on_message(const struct filter_input *in, struct facts *facts)
{
	message_facts(in->msg, in->len, NULL, facts);
}

const struct filter filter_message = {
	.name = "message",
	.on_message = message_on_message,
};
