/* tls.h - server TLS contexts for listeners (certificates chosen by SNI,
 * TLS 1.2/1.3 only, ALPN http/1.1) and client contexts for https
 * upstreams. Built at config load (a snapshot owns them), used by worker
 * threads to start TLS on their sockets. */
#ifndef SLUICE_TLS_H
#define SLUICE_TLS_H

#include <stddef.h>

typedef struct ssl_ctx_st SSL_CTX;

/* One certificate: the names it serves (NULL/0 for the default one;
 * "*.example" matches exactly one label), its chain file and key file. */
struct tls_cert_conf {
    char **names;
    size_t nnames;
    char *cert;
    char *key;
};

/* Builds a server context from certs[0] (the default) and certs[1..n-1]
 * (picked by SNI). Each chain and key is read and checked now: a file
 * that cannot be read, a certificate that has expired or a key that does
 * not match is refused. Returns the context (the caller owns one
 * reference: SSL_CTX_free) or NULL with a one-line reason in why naming
 * the file. */
SSL_CTX *tls_server_ctx_new(const struct tls_cert_conf *certs, size_t n, char *why, size_t whylen);

/* The client context for upstreams verified against ca_file (only
 * certificates under it are accepted) or, when ca_file is NULL, the
 * system store: TLS 1.2+, peer verification on. The file is read now
 * (again only when it changed since the last call): one that cannot be
 * read or holds no certificate is refused. Returns a new reference
 * (SSL_CTX_free) or NULL with a one-line reason in why. Thread-safe. */
SSL_CTX *tls_client_ctx_get(const char *ca_file, char *why, size_t whylen);

/* Drops the cache's references (process exit; leak checkers). */
void tls_client_cache_free(void);

#endif
