/* upstream.c - kept-alive upstream connections, pooled per address and
 * TLS identity. */
#include "upstream.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <openssl/ssl.h>

#include "breaker.h"
#include "stream.h"

/* Idle connections older than this are closed: many servers drop idle
 * keep-alive connections after a few seconds (Node.js: 5 s), and a pooled
 * connection the server is about to close is the one that fails a request. */
#define UPSTREAM_IDLE_TIMEOUT_S 4
/* Idle connections kept per pool; more are closed on release. */
#define UPSTREAM_MAX_IDLE 1024

struct upstream_pool {
    struct upstream_pools *owner;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    SSL_CTX *tls;               /* NULL: plain TCP; else one reference */
    char *tls_host;             /* SNI and the name the certificate must carry */
    struct upstream_conn *idle; /* most recently used first */
    unsigned nidle;
    unsigned long opened;
    struct breaker *breaker; /* process-wide, not owned */
    struct upstream_pool *next;
};

struct upstream_pools {
    struct event_base *base;
    struct upstream_pool *pools;
};

struct upstream_pools *upstream_pools_new(struct event_base *base)
{
    struct upstream_pools *ps = calloc(1, sizeof(*ps));

    if (ps)
        ps->base = base;
    return ps;
}

static void idle_unlink(struct upstream_conn *uc)
{
    struct upstream_pool *p = uc->pool;

    if (uc->prev)
        uc->prev->next = uc->next;
    else
        p->idle = uc->next;
    if (uc->next)
        uc->next->prev = uc->prev;
    uc->prev = uc->next = NULL;
    p->nidle--;
}

static void conn_close(struct upstream_conn *uc)
{
    stream_free(uc->st);
    free(uc);
}

void upstream_pools_close_idle(struct upstream_pools *ps)
{
    if (!ps)
        return;
    for (struct upstream_pool *p = ps->pools; p; p = p->next)
        while (p->idle) {
            struct upstream_conn *uc = p->idle;
            idle_unlink(uc);
            conn_close(uc);
        }
}

void upstream_pools_free(struct upstream_pools *ps)
{
    if (!ps)
        return;
    upstream_pools_close_idle(ps);
    while (ps->pools) {
        struct upstream_pool *p = ps->pools;
        ps->pools = p->next;
        SSL_CTX_free(p->tls);
        free(p->tls_host);
        free(p);
    }
    free(ps);
}

struct upstream_pool *upstream_pool_get(struct upstream_pools *ps, const struct sockaddr *addr,
                                        socklen_t addrlen)
{
    return upstream_pool_get_tls(ps, addr, addrlen, NULL, NULL);
}

struct upstream_pool *upstream_pool_get_tls(struct upstream_pools *ps, const struct sockaddr *addr,
                                            socklen_t addrlen, SSL_CTX *tls, const char *tls_host)
{
    struct upstream_pool *p;

    for (p = ps->pools; p; p = p->next)
        if (p->addrlen == addrlen && memcmp(&p->addr, addr, addrlen) == 0 && p->tls == tls &&
            (!tls || strcmp(p->tls_host, tls_host) == 0))
            return p;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (tls) {
        if (!(p->tls_host = strdup(tls_host))) {
            free(p);
            return NULL;
        }
        SSL_CTX_up_ref(tls);
        p->tls = tls;
    }
    p->owner = ps;
    memcpy(&p->addr, addr, addrlen);
    p->addrlen = addrlen;
    p->next = ps->pools;
    ps->pools = p;
    return p;
}

/* An idle connection must stay silent: bytes or EOF mean the server
 * closed it or broke the protocol, so it can never be lent again. */
static void idle_readcb(struct stream *st, void *arg)
{
    struct upstream_conn *uc = arg;
    idle_unlink(uc);
    conn_close(uc);
}

static void idle_eventcb(struct stream *st, short what, void *arg)
{
    struct upstream_conn *uc = arg;
    idle_unlink(uc);
    conn_close(uc);
}

struct upstream_conn *upstream_acquire(struct upstream_pool *p)
{
    struct upstream_conn *uc = p->idle;

    if (uc) {
        idle_unlink(uc);
        if (stream_buffers(uc->st) < 0) {
            conn_close(uc);
            errno = ENOMEM;
            return NULL;
        }
        uc->reused = 1;
        stream_set_timeouts(uc->st, 0, 0);
        return uc;
    }
    uc = calloc(1, sizeof(*uc));
    if (!uc)
        return NULL;
    uc->pool = p;
    uc->st = stream_connect(p->owner->base, (struct sockaddr *)&p->addr, p->addrlen);
    if (!uc->st) {
        int e = errno;
        free(uc);
        errno = e;
        return NULL;
    }
    if (p->tls && stream_start_tls_client(uc->st, p->tls, p->tls_host) < 0) {
        conn_close(uc);
        errno = ENOMEM;
        return NULL;
    }
    p->opened++;
    return uc;
}

void upstream_release(struct upstream_conn *uc, int reusable)
{
    struct upstream_pool *p;

    if (!uc)
        return;
    p = uc->pool;
    uc->requests++;
    if (!reusable || p->nidle >= UPSTREAM_MAX_IDLE || stream_input_length(uc->st) ||
        stream_output_length(uc->st)) {
        conn_close(uc);
        return;
    }
    stream_setcb(uc->st, idle_readcb, NULL, idle_eventcb, uc);
    stream_set_timeouts(uc->st, UPSTREAM_IDLE_TIMEOUT_S * 1000, 0);
    stream_set_read_high(uc->st, 0);
    stream_enable_read(uc->st);
    stream_idle(uc->st);
    uc->prev = NULL;
    uc->next = p->idle;
    if (p->idle)
        p->idle->prev = uc;
    p->idle = uc;
    p->nidle++;
}

unsigned long upstream_pool_opened(const struct upstream_pool *p)
{
    return p->opened;
}

struct breaker *upstream_pool_breaker(struct upstream_pool *p)
{
    if (!p->breaker)
        p->breaker = breaker_get((const struct sockaddr *)&p->addr, p->addrlen);
    return p->breaker;
}
