/*
 * registry - the filters, in the order they run.
 */
#include "config.h"

#include "common/clock.h"
#include "common/metrics.h"
#include "filters/filter.h"

static const struct filter *const registry[] = {
	&filter_envelope,
	&filter_ratelimit,
	&filter_dnsbl,
	&filter_spf,
	&filter_message,
	/* after message: the links the analyzers found */
	&filter_uribl,
	/* after spf: DMARC reads the SPF and DKIM facts */
	&filter_dkim,
	&filter_dmarc,
	NULL,
};

void filters_run(enum filter_hook hook, const struct filter_input *in, struct facts *facts)
{
	for (const struct filter *const *f = registry; *f; f++) {
		void (*fn)(const struct filter_input *, struct facts *) = NULL;

		switch (hook) {
		case HOOK_CONNECT:
			fn = (*f)->on_connect;
			break;
		case HOOK_HELO:
			fn = (*f)->on_helo;
			break;
		case HOOK_MAIL:
			fn = (*f)->on_mail;
			break;
		case HOOK_RCPT:
			fn = (*f)->on_rcpt;
			break;
		case HOOK_MESSAGE:
			fn = (*f)->on_message;
			break;
		}
		if (fn) {
			long long start = clock_us();
			fn(in, facts);
			metrics_filter_time((*f)->name, clock_us() - start);
		}
	}
}
