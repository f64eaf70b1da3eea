/* upstream.h - per-worker pools of kept-alive connections to upstream
 * servers, keyed by address (and, for TLS, context and host name). A connection is either lent to
 * one exchange or idle in its pool; an idle one that the server closes (or that sends anything) is
 * dropped at once, and one idle too long is closed. */
#ifndef SLUICE_UPSTREAM_H
#define SLUICE_UPSTREAM_H

#include <sys/socket.h>

struct event_base;
struct stream;
struct upstream_pools;
struct upstream_pool;
struct breaker;
typedef struct ssl_ctx_st SSL_CTX;

struct upstream_conn {
    struct stream *st;
    struct upstream_pool *pool;
    struct upstream_conn *prev, *next; /* idle list links */
    unsigned reused : 1;               /* came from the idle list */
    unsigned requests;                 /* exchanges served so far */
};

/* Returns an empty set of pools on base, or NULL when out of memory. */
struct upstream_pools *upstream_pools_new(struct event_base *base);

/* Closes every idle connection and frees the pools. Connections lent out
 * must have been released first. NULL is a no-op. */
void upstream_pools_free(struct upstream_pools *ps);

/* Closes idle connections (worker shutdown). */
void upstream_pools_close_idle(struct upstream_pools *ps);

/* Returns the pool of plain connections to addr, creating it on first
 * use; NULL when out of memory. Pools live as long as ps, across config
 * reloads. */
struct upstream_pool *upstream_pool_get(struct upstream_pools *ps, const struct sockaddr *addr,
                                        socklen_t addrlen);
/* The same for TLS when tls is not NULL: connections use that client
 * context (the pool takes a reference) with tls_host as SNI and as the
 * name the certificate must carry. Plain and TLS, or TLS with another
 * context or host, are different pools. */
struct upstream_pool *upstream_pool_get_tls(struct upstream_pools *ps, const struct sockaddr *addr,
                                            socklen_t addrlen, SSL_CTX *tls, const char *tls_host);

/* Lends a connection: the most recently idle one, or a new one whose
 * connect has started (bytes written before it completes are queued).
 * The caller sets the stream's callbacks. Returns NULL with errno set
 * when no socket could be made (e.g. EMFILE) or the connect failed at once. */
struct upstream_conn *upstream_acquire(struct upstream_pool *p);

/* Gives a connection back. reusable = 1 parks it idle (its buffers must be
 * empty); 0 closes it. NULL is a no-op. */
void upstream_release(struct upstream_conn *uc, int reusable);

/* The process-wide circuit breaker of the pool's address (breaker.h),
 * looked up on first use; NULL when out of memory. */
struct breaker *upstream_pool_breaker(struct upstream_pool *p);

/* Number of connections ever opened by a pool (for tests and metrics). */
unsigned long upstream_pool_opened(const struct upstream_pool *p);

#endif
