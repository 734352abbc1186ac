/*
 * siphash - SipHash-2-4 (Aumasson and Bernstein), a keyed 64-bit hash.
 *
 * For hash tables whose keys an outsider chooses (rate limit keys are
 * sender addresses and HELO names): with a random key per process nobody
 * can craft keys that all land in one bucket.
 */
#ifndef SEKISHO_SIPHASH_H
#define SEKISHO_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash24(const unsigned char key[16], const void *data, size_t len);

#endif
