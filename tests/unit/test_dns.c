/*
 * test_dns - reading record data, and the resolver against two tiny
 * servers on loopback: one that answers every A query with 127.0.0.2 (and
 * every other type with NXDOMAIN), one that never answers. Deadlines,
 * concurrent queries and teardown with a query in flight are the point.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/dns.h"
#include "tests/unit/check.h"

/* ---- record data ---- */

static void test_txt_join(void)
{
	static const unsigned char two[] = "\x05v=spf\x06" "1 -all";
	static const unsigned char cut[] = "\x09v=spf1";
	static const unsigned char nul[] = "\x03" "a\0b";
	char *s;

	s = dns_txt_join(two, sizeof(two) - 1);
	CHECK_STR(s, "v=spf1 -all");
	free(s);
	s = dns_txt_join((const unsigned char *)"", 0);
	CHECK_STR(s, "");
	free(s);
	CHECK(dns_txt_join(cut, sizeof(cut) - 1) == NULL);
	CHECK(dns_txt_join(nul, 4) == NULL);
}

static void test_name_from_rdata(void)
{
	static const unsigned char mx[] = "\x00\x0a\x02mx\x07" "example\x03org\x00";
	static const unsigned char root[] = "\x00";
	static const unsigned char ptr_bad[] = "\xc0\x0c";
	static const unsigned char dot[] = "\x03" "a.b\x00";
	static const unsigned char unterminated[] = "\x02mx";
	char *s;

	s = dns_name_from_rdata(mx, sizeof(mx) - 1, 2);
	CHECK_STR(s, "mx.example.org");
	free(s);
	s = dns_name_from_rdata(root, 1, 0);
	CHECK_STR(s, ".");
	free(s);
	CHECK(dns_name_from_rdata(ptr_bad, 2, 0) == NULL);
	CHECK(dns_name_from_rdata(dot, 5, 0) == NULL);
	CHECK(dns_name_from_rdata(unterminated, 3, 0) == NULL);
	CHECK(dns_name_from_rdata(mx, sizeof(mx) - 1, 100) == NULL);
	CHECK_STR(dns_status_name(DNS_NXDOMAIN), "nxdomain");
	CHECK_STR(dns_status_name(DNS_TEMPFAIL), "tempfail");
}

/* ---- a tiny server ---- */

struct server {
	int fd;
	int port;
	bool answer;
	pthread_t thread;
};

/* reply - the query with QR set and, for A, one answer 127.0.0.2 */
static size_t reply(unsigned char *q, size_t n, unsigned char *out)
{
	size_t off = 12;
	unsigned type;

	while (off < n && q[off])
		off += q[off] + 1u;
	if (off + 5 > n)
		return 0;
	type = (unsigned)q[off + 1] << 8 | q[off + 2];
	memcpy(out, q, off + 5);
	out[2] = 0x81;			/* QR, RD */
	out[3] = type == 1 ? 0x80 : 0x83;	/* RA; NXDOMAIN for the rest */
	out[6] = 0;
	out[7] = type == 1;
	out[8] = out[9] = out[10] = out[11] = 0;
	if (type != 1)
		return off + 5;
	static const unsigned char rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 2};
	memcpy(out + off + 5, rr, sizeof(rr));
	return off + 5 + sizeof(rr);
}

static void *serve(void *opaque)
{
	struct server *s = opaque;
	unsigned char q[512], out[600];
	struct sockaddr_in from;
	socklen_t fl;

	for (;;) {
		fl = sizeof(from);
		ssize_t n = recvfrom(s->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n <= 0)
			return NULL;
		if (q[0] == 'Q' && n == 1)
			return NULL;
		size_t len = s->answer ? reply(q, (size_t)n, out) : 0;
		if (len)
			sendto(s->fd, out, len, 0, (struct sockaddr *)&from, fl);
	}
}

static void server_start(struct server *s, bool answer)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	s->answer = answer;
	s->fd = socket(AF_INET, SOCK_DGRAM, 0);
	bind(s->fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(s->fd, (struct sockaddr *)&a, &len);
	s->port = ntohs(a.sin_port);
	pthread_create(&s->thread, NULL, serve, s);
}

static void server_stop(struct server *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sendto(fd, "Q", 1, 0, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static struct dns_resolver *resolver_for(const struct server *s, unsigned timeout_ms)
{
	char forward[64];
	char *error = NULL;
	struct dns_resolver_settings set = {.forward = forward, .timeout_ms = timeout_ms,
					    .allow_special_names = true};
	struct dns_resolver *r;

	snprintf(forward, sizeof(forward), "127.0.0.1@%d", s->port);
	r = dns_resolver_new(&set, &error);
	if (!r)
		fprintf(stderr, "test_dns: %s\n", error);
	free(error);
	return r;
}

static void test_answers(void)
{
	struct server s;
	struct dns_resolver *r;
	struct dns_answer a;

	server_start(&s, true);
	r = resolver_for(&s, 3000);
	CHECK(r != NULL);
	if (r) {
		struct dns_lookup l = dns_resolver_lookup(r);
		CHECK_INT(l.query(l.ctx, "host.example.test", DNS_TYPE_A, &a), 0);
		CHECK_INT(a.status, DNS_OK);
		CHECK_INT(a.count, 1);
		CHECK(a.count == 1 && a.len[0] == 4 && a.data[0][0] == 127 && a.data[0][3] == 2);
		CHECK(a.packet != NULL && a.packet_len > 12);
		dns_answer_free(&a);
		dns_resolver_query(r, "host.example.test", DNS_TYPE_TXT, &a);
		CHECK_INT(a.status, DNS_NXDOMAIN);
		CHECK(a.why != NULL);
		dns_answer_free(&a);
		dns_resolver_query(r, "bad name", DNS_TYPE_A, &a);
		CHECK_INT(a.status, DNS_PERMFAIL);
		dns_answer_free(&a);
	}
	dns_resolver_free(r);
	server_stop(&s);
}

struct job {
	struct dns_resolver *r;
	int ok;
};

static void *ask_many(void *opaque)
{
	struct job *j = opaque;
	char name[64];

	for (int i = 0; i < 50; i++) {
		struct dns_answer a;
		snprintf(name, sizeof(name), "h%d.example.test", i);
		dns_resolver_query(j->r, name, DNS_TYPE_A, &a);
		j->ok += a.status == DNS_OK;
		dns_answer_free(&a);
	}
	return NULL;
}

/* eight threads at once through one resolver */
static void test_threads(void)
{
	struct server s;
	struct job jobs[8];
	pthread_t t[8];
	struct dns_resolver *r;

	server_start(&s, true);
	r = resolver_for(&s, 5000);
	for (int i = 0; r && i < 8; i++) {
		jobs[i] = (struct job){.r = r};
		pthread_create(&t[i], NULL, ask_many, &jobs[i]);
	}
	for (int i = 0; r && i < 8; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(jobs[i].ok, 50);
	}
	dns_resolver_free(r);
	server_stop(&s);
}

/* a server that never answers: a temporary failure at the deadline */
static void test_deadline(void)
{
	struct server s;
	struct dns_resolver *r;
	struct dns_answer a;
	long long start;

	server_start(&s, false);
	r = resolver_for(&s, 400);
	if (r) {
		for (int i = 0; i < 3; i++) {
			start = clock_ms();
			dns_resolver_query(r, "slow.example.test", DNS_TYPE_TXT, &a);
			long long took = clock_ms() - start;
			CHECK_INT(a.status, DNS_TEMPFAIL);
			CHECK_STR(a.why, "timeout");
			CHECK(took >= 350 && took < 2000);
			dns_answer_free(&a);
		}
	}
	/* freed with the abandoned queries still in libunbound's hands */
	dns_resolver_free(r);
	server_stop(&s);
}

int main(void)
{
	test_txt_join();
	test_name_from_rdata();
	test_answers();
	test_threads();
	test_deadline();
	return check_summary("test_dns");
}
