#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "util/log.h"

/* https://ssl-config.mozilla.org/ "intermediate" (version 5.7): TLS 1.3
 * with OpenSSL's default suites, and for TLS 1.2 these; the client's
 * preference wins, since all of them are strong. */
#define INTERMEDIATE_TLS12_CIPHERS                                   \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
#define INTERMEDIATE_GROUPS "X25519:prime256v1:secp384r1"

static void log_ssl_error(const char *what, const char *file)
{
	char reason[256] = "unknown error";
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, reason, sizeof reason);
	ERR_clear_error();
	log_error("TLS: %s %s: %s", what, file, reason);
}

static bool set_profile(SSL_CTX *ctx)
{
	/* Tickets would need a key rotated across workers and restarts; the
	 * per-worker session cache resumes sessions without one. */
	SSL_CTX_set_options(ctx,
	                    SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	/* An idle connection keeps no read or write buffer: it is most of what
	 * TLS would otherwise add to an idling client's footprint. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* Under SSL_OP_NO_TICKET, TLS 1.3 would still send tickets for the
	 * session cache, which is per worker: a client coming back on another
	 * worker could not use them. Send none. */
	SSL_CTX_set_num_tickets(ctx, 0);
	static const unsigned char sid_ctx[] = "gannet";
	return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) &&
	       SSL_CTX_set_cipher_list(ctx, INTERMEDIATE_TLS12_CIPHERS) &&
	       SSL_CTX_set1_groups_list(ctx, INTERMEDIATE_GROUPS) && SSL_CTX_set_dh_auto(ctx, 1) &&
	       SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
}

SSL_CTX *tls_ctx_new(const char *cert_file, const char *key_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || !set_profile(ctx)) {
		log_ssl_error("cannot set up", "the server context");
	} else if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		log_ssl_error("cannot use the certificate", cert_file);
	} else if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		log_ssl_error("cannot use the key", key_file);
	} else if (SSL_CTX_check_private_key(ctx) != 1) {
		log_ssl_error("the key does not match the certificate", cert_file);
	} else {
		return ctx;
	}
	SSL_CTX_free(ctx);
	return NULL;
}

void tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
}
