/*
 * tls - OpenSSL contexts for STARTTLS towards clients and the next hop.
 *
 * Contexts live in the configuration snapshot and are shared read-only by
 * every session using that snapshot. TLS 1.2 is the floor; renegotiation is
 * off (a client-initiated renegotiation is a cheap way to burn our CPU).
 */
#ifndef SEKISHO_TLS_H
#define SEKISHO_TLS_H

#include <openssl/ssl.h>

/* tls_server_ctx - context for our STARTTLS; NULL with *error_r (malloc'd) */
SSL_CTX *tls_server_ctx(const char *cert_file, const char *key_file, char **error_r);

/* tls_client_ctx - context for the next hop; ca_file "" means no verification */
SSL_CTX *tls_client_ctx(const char *ca_file, char **error_r);

#endif
