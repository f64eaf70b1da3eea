/* worker.h - a worker thread: its own event loop, its own SO_REUSEPORT
 * listeners, upstream pools and random source. Nothing here is shared with
 * other workers except the config snapshot (by reference count) and the
 * connection count; the main thread talks to a worker only through its
 * mailbox (reload, stop). */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include <stdint.h>

#include "config.h"

struct worker;
struct event_base;
struct upstream_pools;
struct authz_worker;
struct conn;
struct evbuffer;

/* A config generation as one worker uses it: requests hold it (a plain
 * counter, this thread only) so the snapshot outlives every request that
 * started on it, without an atomic operation per request. */
struct wsnap {
    struct config *cfg;
    unsigned users;
    struct wsnap *next; /* retired generations still in use */
};

/* Creates worker id (0-based) on cfg (takes its own reference) and binds
 * its listeners. Returns NULL with a reason in err when a listener cannot
 * be bound or out of memory. Not started yet. */
struct worker *worker_new(unsigned id, struct config *cfg, char *err, size_t errlen);

/* Starts the worker's thread. Returns 0 or -1. */
int worker_start(struct worker *w);

/* From the main thread: hands a new snapshot to the worker (it takes its
 * own reference). Requests already running finish on the old one. */
void worker_post_reload(struct worker *w, struct config *cfg);

/* From the main thread: JWKS keys changed; requests waiting for keys
 * are verified again. */
void worker_post_keys_changed(struct worker *w);

/* Authorizer ids a cache flush can name (config caps authorizers below it). */
#define WORKER_FLUSH_WORDS ((CONFIG_MAX_AUTHORIZERS + 63) / 64)

/* From the main thread: drop the worker's cached results of authorizer
 * authorizer_id (admin cache flush). Ids past WORKER_FLUSH_WORDS * 64 are
 * ignored. */
void worker_post_flush(struct worker *w, unsigned authorizer_id);

/* From any thread (another worker): a function-call slot was freed while
 * requests of w wait for one; w hands free slots to them
 * (fncall_worker_wake). Posts before w runs its mailbox coalesce. */
void worker_post_fncall(struct worker *w);

/* From the main thread: stop accepting, finish requests in flight (at
 * most the config's shutdown_timeout_ms), then end the thread. */
void worker_post_stop(struct worker *w);

/* Waits for the thread to end and frees the worker. NULL is a no-op. */
void worker_join_free(struct worker *w);

/* ---- for the connection and the pipeline, on the worker's thread ---- */

struct event_base *worker_base(struct worker *w);
struct upstream_pools *worker_pools(struct worker *w);
struct authz_worker *worker_authz(struct worker *w);
/* The config new requests get (not held: use it only within this call). */
const struct config *worker_config(const struct worker *w);
/* The current generation, held for a new request (users + 1). */
struct wsnap *worker_snap_hold(struct worker *w);
/* Releases a hold; frees a retired generation with its last user. */
void worker_snap_release(struct worker *w, struct wsnap *s);
/* The worker's id, 0-based, as given to worker_new(): an index for per-worker
 * slots such as metrics cells. Any thread. */
unsigned worker_id(const struct worker *w);
/* A uniformly random 64-bit value (per-worker generator). */
uint64_t worker_random(struct worker *w);
/* The current time as an HTTP date, recomputed at most once a second. */
const char *worker_http_date(struct worker *w);
/* A scratch buffer for body bytes in transit (empty between uses). */
struct evbuffer *worker_scratch(struct worker *w);
/* 1 while the worker is stopping: connections close after their request. */
int worker_stopping(const struct worker *w);
/* Connection bookkeeping (conn.c): the head of the worker's list of
 * connections, and the count that max_connections and shutdown watch. */
struct conn **worker_conn_list(struct worker *w);
void worker_conn_count(struct worker *w, int delta);

#endif
