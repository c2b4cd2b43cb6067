/* TLS settings: one server context per certificate, with Mozilla's
 * "intermediate" profile (TLS 1.2 and 1.3, forward-secret AEAD ciphers
 * only). The master loads it before the workers fork and again on SIGHUP;
 * each connection takes an SSL object from it (net/conn). */
#ifndef GANNET_NET_TLS_H
#define GANNET_NET_TLS_H

typedef struct ssl_ctx_st SSL_CTX;

/* Reads the PEM certificate chain and private key; NULL (and a log line
 * naming the file and OpenSSL's reason) when they cannot be used. */
SSL_CTX *tls_ctx_new(const char *cert_file, const char *key_file);
void tls_ctx_free(SSL_CTX *ctx);

#endif
