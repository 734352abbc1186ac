/*
 * metrics_http - the Prometheus scrape endpoint, on libmicrohttpd.
 */
#include "config.h"

#include <microhttpd.h>

#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "common/netaddr.h"
#include "common/xalloc.h"
#include "gateway/metrics_http.h"

struct metrics_http {
	struct MHD_Daemon *daemon;
	char *(*render)(bool prometheus);
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *text)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *data,
			     size_t *data_size, void **state)
{
	struct metrics_http *m = cls;

	(void)version, (void)data;
	/* The first call only announces the request; answer on the second. */
	if (*state == NULL) {
		*state = (void *)1;
		return MHD_YES;
	}
	if (*data_size)
		return MHD_NO;	/* a body on a GET: drop the connection */
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, xstrdup("only GET /metrics\n"));
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, xstrdup("not found: try /metrics\n"));
	return reply(c, MHD_HTTP_OK, m->render(true));
}

struct metrics_http *metrics_http_start(const char *listen, char *(*render)(bool prometheus),
					char **error_r)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	struct metrics_http *m;
	char *host = NULL, *port = NULL;
	const char *why = NULL;
	int rc;

	if (netaddr_split(listen, &host, &port, &why) != 0) {
		*error_r = xasprintf("metrics_listen %s: %s", listen, why);
		return NULL;
	}
	if ((rc = getaddrinfo(strcmp(host, "*") == 0 ? "0.0.0.0" : host, port, &hints, &ai)) != 0) {
		*error_r = xasprintf("metrics_listen %s: %s (write an address and a port, "
				     "127.0.0.1:9125)", listen, gai_strerror(rc));
		free(host);
		free(port);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->render = render;
	m->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			(ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
		(uint16_t)atoi(port), NULL, NULL, serve, m, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
		MHD_OPTION_CONNECTION_LIMIT, 16U, MHD_OPTION_PER_IP_CONNECTION_LIMIT, 4U,
		MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)32768, MHD_OPTION_END);
	freeaddrinfo(ai);
	free(host);
	if (m->daemon == NULL) {
		*error_r = xasprintf("metrics_listen %s: cannot listen (in use, or not an address "
				     "of this host)", listen);
		free(port);
		free(m);
		return NULL;
	}
	free(port);
	return m;
}

const char *metrics_http_check(const char *listen)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	char *host = NULL, *port = NULL;
	const char *why = NULL;

	if (netaddr_split(listen, &host, &port, &why) != 0)
		return why;
	if (getaddrinfo(strcmp(host, "*") == 0 ? "0.0.0.0" : host, port, &hints, &ai) != 0)
		why = "expected a numeric address and a port, as 127.0.0.1:9125";
	if (ai)
		freeaddrinfo(ai);
	free(host);
	free(port);
	return why;
}

void metrics_http_stop(struct metrics_http *m)
{
	if (m == NULL)
		return;
	MHD_stop_daemon(m->daemon);
	free(m);
}
