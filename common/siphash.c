/*
 * siphash - SipHash-2-4, as in the paper's reference implementation.
 */
#include "config.h"

#include <string.h>

#include "common/siphash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                      \
	do {                                                                          \
		v0 += v1;                                                             \
		v1 = ROTL(v1, 13);                                                    \
		v1 ^= v0;                                                             \
		v0 = ROTL(v0, 32);                                                    \
		v2 += v3;                                                             \
		v3 = ROTL(v3, 16);                                                    \
		v3 ^= v2;                                                             \
		v0 += v3;                                                             \
		v3 = ROTL(v3, 21);                                                    \
		v3 ^= v0;                                                             \
		v2 += v1;                                                             \
		v1 = ROTL(v1, 17);                                                    \
		v1 ^= v2;                                                             \
		v2 = ROTL(v2, 32);                                                    \
	} while (0)

static uint64_t load_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t siphash24(const unsigned char key[16], const void *data, size_t len)
{
	const unsigned char *in = data;
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t whole = len - len % 8;
	unsigned char tail[8] = {0};

	for (size_t i = 0; i < whole; i += 8) {
		m = load_le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	if (len % 8)
		memcpy(tail, in + whole, len % 8);
	b |= load_le64(tail);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}
