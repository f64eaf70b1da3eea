/* tls.c - server TLS contexts for listeners, client contexts for
 * upstreams (see tls.h). */
#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util.h"

/* TLS 1.2 suites: forward secrecy (ECDHE) and AEAD only. TLS 1.3 suites
 * are all AEAD with forward secrecy; OpenSSL's default list is kept. */
#define TLS12_CIPHERS                                                                              \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* The SNI table hangs off the default context as ex_data, so it lives
 * exactly as long as that context: a connection still in its handshake
 * holds the context (SSL_new takes a reference) after a reload freed the
 * snapshot that built it. */
struct sni_entry {
    char *name; /* lower case; "*.x" for a wildcard */
    SSL_CTX *ctx;
};
struct sni_table {
    size_t n;
    struct sni_entry *e;
    size_t nctx;
    SSL_CTX **ctxs; /* one reference each */
};

static int sni_index = -1;
static pthread_once_t sni_once = PTHREAD_ONCE_INIT;

static void sni_table_free(struct sni_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->e[i].name);
    free(t->e);
    for (size_t i = 0; i < t->nctx; i++)
        SSL_CTX_free(t->ctxs[i]);
    free(t->ctxs);
    free(t);
}

static void sni_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    sni_table_free(ptr);
}

static void sni_index_init(void)
{
    sni_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, sni_ex_free);
}

static void openssl_reason(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_last_error();

    if (e == 0)
        fmt_buf(buf, cap, "unknown error");
    else
        ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
}

/* 1 when host (from SNI) is served by pattern: exact, or "*.rest" with
 * exactly one label before rest. Case-insensitive. */
static int name_match(const char *pattern, const char *host)
{
    const char *dot;

    if (pattern[0] != '*')
        return strcasecmp(pattern, host) == 0;
    dot = strchr(host, '.');
    return dot && dot != host && strcasecmp(pattern + 1, dot) == 0;
}

static int sni_cb(SSL *ssl, int *alert, void *arg)
{
    const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    struct sni_table *t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), sni_index);

    (void)alert, (void)arg;
    if (!host || !t)
        return SSL_TLSEXT_ERR_NOACK; /* the default certificate */
    /* exact names first, then wildcards: the table is in that order */
    for (size_t i = 0; i < t->n; i++) {
        if (name_match(t->e[i].name, host)) {
            if (!SSL_set_SSL_CTX(ssl, t->e[i].ctx))
                return SSL_TLSEXT_ERR_ALERT_FATAL;
            return SSL_TLSEXT_ERR_OK;
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

/* ALPN: http/1.1 is the only protocol served. A client that offers ALPN
 * without http/1.1 (only "h2", say) gets the fatal no_application_protocol
 * alert, as RFC 7301 section 3.2 says a server SHALL; a client that offers
 * no ALPN at all gets HTTP/1.1 with no ALPN in the answer. */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char ours[] = "\x08http/1.1";
    unsigned char *sel;

    (void)ssl, (void)arg;
    if (SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* A context with our protocol settings and one certificate, or NULL. */
static SSL_CTX *ctx_one(const struct tls_cert_conf *cc, char *why, size_t whylen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    char r[256];
    X509 *x;

    if (!ctx) {
        openssl_reason(r, sizeof(r));
        fmt_buf(why, whylen, "cannot create a TLS context: %s", r);
        return NULL;
    }
    /* TLS 1.0 and 1.1 are deprecated (RFC 8996) */
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
        openssl_reason(r, sizeof(r));
        fmt_buf(why, whylen, "cannot set TLS versions or ciphers: %s", r);
        goto fail;
    }
    /* IGNORE_UNEXPECTED_EOF: a peer closing without close_notify is an end
     * of stream, as for plain TCP; HTTP framing finds truncated messages */
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* the output evbuffer's first chunk may move and grow between a write
     * that wants retrying and the retry */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
    if (SSL_CTX_use_certificate_chain_file(ctx, cc->cert) != 1) {
        openssl_reason(r, sizeof(r));
        fmt_buf(why, whylen, "cannot load certificate %s: %s", cc->cert, r);
        goto fail;
    }
    x = SSL_CTX_get0_certificate(ctx);
    if (x && X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
        fmt_buf(why, whylen, "certificate %s has expired", cc->cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cc->key, SSL_FILETYPE_PEM) != 1) {
        openssl_reason(r, sizeof(r));
        fmt_buf(why, whylen, "cannot load key %s: %s", cc->key, r);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        fmt_buf(why, whylen, "key %s does not match certificate %s", cc->key, cc->cert);
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

SSL_CTX *tls_server_ctx_new(const struct tls_cert_conf *certs, size_t n, char *why, size_t whylen)
{
    SSL_CTX *def;
    struct sni_table *t = NULL;
    size_t total = 0;

    pthread_once(&sni_once, sni_index_init);
    if (sni_index < 0 || n == 0) {
        fmt_buf(why, whylen, "cannot create a TLS context");
        return NULL;
    }
    if (!(def = ctx_one(&certs[0], why, whylen)))
        return NULL;
    if (n == 1)
        return def;
    for (size_t i = 1; i < n; i++)
        total += certs[i].nnames;
    t = calloc(1, sizeof(*t));
    if (!t || !(t->e = calloc(total ? total : 1, sizeof(*t->e))) ||
        !(t->ctxs = calloc(n - 1, sizeof(*t->ctxs)))) {
        fmt_buf(why, whylen, "out of memory");
        goto fail;
    }
    for (size_t i = 1; i < n; i++) {
        SSL_CTX *c = ctx_one(&certs[i], why, whylen);
        if (!c)
            goto fail;
        t->ctxs[t->nctx++] = c;
    }
    /* exact names first, then wildcards, each in the order written: the
     * first listed certificate wins between equal names */
    for (int wild = 0; wild < 2; wild++) {
        for (size_t i = 1; i < n; i++) {
            for (size_t j = 0; j < certs[i].nnames; j++) {
                char *s;
                if ((certs[i].names[j][0] == '*') != wild)
                    continue;
                if (!(s = strdup(certs[i].names[j]))) {
                    fmt_buf(why, whylen, "out of memory");
                    goto fail;
                }
                for (char *p = s; *p; p++)
                    if (*p >= 'A' && *p <= 'Z')
                        *p = (char)(*p - 'A' + 'a');
                t->e[t->n].name = s;
                t->e[t->n++].ctx = t->ctxs[i - 1];
            }
        }
    }
    if (!SSL_CTX_set_ex_data(def, sni_index, t)) {
        fmt_buf(why, whylen, "out of memory");
        goto fail;
    }
    SSL_CTX_set_tlsext_servername_callback(def, sni_cb);
    return def;
fail:
    sni_table_free(t);
    SSL_CTX_free(def);
    return NULL;
}

/* ------------------------------------------------------------ clients */

/* Client contexts, one per CA file (and one for the system store), shared
 * by every snapshot that names it. An entry is rebuilt when its file
 * changed since (a reload picks up a new CA); the old context lives on in
 * the snapshots and connections that hold it. */
struct client_entry {
    char *ca_file; /* NULL: the system store */
    struct timespec mtime;
    off_t size;
    SSL_CTX *ctx; /* one reference, the cache's */
    struct client_entry *next;
};

static pthread_mutex_t client_lock = PTHREAD_MUTEX_INITIALIZER;
static struct client_entry *client_cache;

static SSL_CTX *client_ctx_build(const char *ca_file, char *why, size_t whylen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    char reason[200];

    if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        openssl_reason(reason, sizeof(reason));
        fmt_buf(why, whylen, "cannot create a TLS client context: %s", reason);
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* as for servers: an upstream closing without close_notify ends the
     * stream (many do; HTTP framing finds truncated messages), and
     * stream.c writes from an evbuffer that may move before a retry */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* a CA file pins: the system store is not consulted then */
    if (ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1
                : SSL_CTX_set_default_verify_paths(ctx) != 1) {
        openssl_reason(reason, sizeof(reason));
        if (ca_file)
            fmt_buf(why, whylen, "cannot load CA file %s: %s", ca_file, reason);
        else
            fmt_buf(why, whylen, "cannot load the system CA store: %s", reason);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

SSL_CTX *tls_client_ctx_get(const char *ca_file, char *why, size_t whylen)
{
    struct client_entry *e;
    struct stat st;
    SSL_CTX *ctx = NULL;

    memset(&st, 0, sizeof(st));
    if (ca_file && stat(ca_file, &st) < 0) {
        fmt_buf(why, whylen, "cannot read CA file %s: %s", ca_file, strerror(errno));
        return NULL;
    }
    pthread_mutex_lock(&client_lock);
    for (e = client_cache; e; e = e->next)
        if ((!ca_file && !e->ca_file) ||
            (ca_file && e->ca_file && strcmp(ca_file, e->ca_file) == 0))
            break;
    if (e && (!ca_file || (e->size == st.st_size && e->mtime.tv_sec == st.st_mtim.tv_sec &&
                           e->mtime.tv_nsec == st.st_mtim.tv_nsec))) {
        ctx = e->ctx;
        SSL_CTX_up_ref(ctx);
        goto out;
    }
    ctx = client_ctx_build(ca_file, why, whylen);
    if (!ctx)
        goto out;
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e || (ca_file && !(e->ca_file = strdup(ca_file)))) {
            free(e);
            goto out; /* uncached, still usable */
        }
        e->next = client_cache;
        client_cache = e;
    } else {
        SSL_CTX_free(e->ctx);
    }
    e->ctx = ctx;
    e->mtime = st.st_mtim;
    e->size = st.st_size;
    SSL_CTX_up_ref(ctx);
out:
    pthread_mutex_unlock(&client_lock);
    return ctx;
}

void tls_client_cache_free(void)
{
    pthread_mutex_lock(&client_lock);
    while (client_cache) {
        struct client_entry *e = client_cache;
        client_cache = e->next;
        SSL_CTX_free(e->ctx);
        free(e->ca_file);
        free(e);
    }
    pthread_mutex_unlock(&client_lock);
}
