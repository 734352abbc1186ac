/*
 * wire - the facts an analyzer worker sends back to the daemon, as bytes.
 *
 * The worker has parsed attacker-made input and may be the attacker's by
 * now, so the daemon decodes its reply as hostile: every count and length
 * is checked against the bytes left and against the fixed limits below
 * before anything is allocated, and a reply is taken whole or not at all.
 *
 * Layout, integers little-endian:
 *
 *	"SKF1"  u32 flags  u32 fact_count
 *	fact_count times:  u16 name_len  name  u32 value_count
 *	                   value_count times:  u32 value_len  value
 *
 * Names are 1..WIRE_MAX_NAME bytes of [a-z0-9._-] in strictly ascending
 * byte order, so no name comes twice and the decoder needs no lookup to
 * know. Values are valid UTF-8 without NUL. The encoder makes any facts
 * fit these rules (bad names dropped, bad bytes as U+FFFD); when the facts
 * exceed the limits it drops the rest and sets WIRE_FLAG_TRUNCATED, which
 * the decoder turns into the fact WIRE_TRUNCATED_FACT, so a rule can fail
 * closed on an analysis that did not fit. The per-file fact sets
 * (facts.h) travel as facts named "file.NNNNN.<name>" and are set apart
 * again on decoding.
 */
#ifndef SEKISHO_WIRE_H
#define SEKISHO_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "filters/facts.h"

#define WIRE_MAX_BYTES (64u << 20) /* a whole reply */
#define WIRE_MAX_ITEMS 100000u     /* facts plus values, in all */
#define WIRE_MAX_NAME  200u

#define WIRE_FLAG_TRUNCATED 0x1u
#define WIRE_TRUNCATED_FACT "analyzer.truncated"

/* wire_encode_facts - append f to out, within the limits */
void wire_encode_facts(const struct facts *f, struct buf *out);

/*
 * wire_decode_facts - add the facts in data to out; -1 when data is
 * malformed or over the limits, and then out is left as it was
 */
int wire_decode_facts(const char *data, size_t len, struct facts *out);

#endif
