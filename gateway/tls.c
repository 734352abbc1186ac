/*
 * tls - OpenSSL contexts for STARTTLS towards clients and the next hop.
 */
#include "config.h"

#include <openssl/err.h>

#include "common/xalloc.h"
#include "gateway/tls.h"

/* tls_error - the last OpenSSL error, prefixed by what we were doing */
static char *tls_error(const char *what, const char *file)
{
	char detail[256];
	unsigned long e = ERR_peek_last_error();

	ERR_error_string_n(e, detail, sizeof(detail));
	ERR_clear_error();
	return xasprintf("%s %s: %s", what, file, e ? detail : "unknown error");
}

static SSL_CTX *tls_ctx_new(const SSL_METHOD *method)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

SSL_CTX *tls_server_ctx(const char *cert_file, const char *key_file, char **error_r)
{
	SSL_CTX *ctx = tls_ctx_new(TLS_server_method());

	if (ctx == NULL) {
		*error_r = tls_error("cannot create TLS context for", cert_file);
		return NULL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		*error_r = tls_error("cannot load certificate", cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		*error_r = tls_error("cannot load private key", key_file);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = tls_error("private key does not match certificate", cert_file);
		goto fail;
	}
	/* Sessions are short; tickets would only add a key to rotate. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_client_ctx(const char *ca_file, char **error_r)
{
	SSL_CTX *ctx = tls_ctx_new(TLS_client_method());

	if (ctx == NULL) {
		*error_r = tls_error("cannot create TLS context for", "next hop");
		return NULL;
	}
	if (ca_file && ca_file[0] &&
	    SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		*error_r = tls_error("cannot load CA file", ca_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}
