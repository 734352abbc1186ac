/*
 * relay_pool - idle next-hop connections kept for the next session.
 *
 * Opening a connection to the next hop costs a TCP handshake, a greeting,
 * EHLO and maybe TLS; reusing one costs nothing. A connection goes back to
 * the pool only between transactions, and is taken only for the same next
 * hop and TLS policy (the snapshot's nexthop_key). A pooled connection the
 * next hop has meanwhile closed is noticed on use; the caller retries once
 * on a fresh connection.
 */
#ifndef SEKISHO_RELAY_POOL_H
#define SEKISHO_RELAY_POOL_H

#include "gateway/relay.h"

/* relay_pool_get - an idle connection for key younger than max_idle seconds */
struct relay *relay_pool_get(const char *key, long max_idle);

/* relay_pool_put - keep r for reuse (or close it if the pool is full) */
void relay_pool_put(struct relay *r, long max_size, long max_idle);

/* relay_pool_drain - close every pooled connection */
void relay_pool_drain(void);

#endif
