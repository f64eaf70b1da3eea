/* authz.h - the authorize stage of the pipeline: finds the caller's
 * identity (token) where the route's authorizer says, answers from the
 * worker's result cache, else from the shared cache in Redis, else by
 * verifying, and checks the route's scopes. May have to wait (Redis
 * lookup, JWKS refetch): then the pipeline continues later. Each worker
 * owns its cache, Redis client and waiting requests: no locks. */
#ifndef SLUICE_AUTHZ_H
#define SLUICE_AUTHZ_H

#include <stddef.h>

struct config;
struct event_base;
struct request;
struct authz_worker;
struct evbuffer;
struct redis_client;

/* Per-worker state for cfg (its redis settings). NULL when out of memory. */
struct authz_worker *authz_worker_new(struct event_base *base, const struct config *cfg);
/* Frees it; requests still waiting must have been cancelled. NULL is a no-op. */
void authz_worker_free(struct authz_worker *aw);
/* A new config is in force: reconnects Redis when its settings changed. */
void authz_worker_reconfigure(struct authz_worker *aw, const struct config *cfg);
/* A JWKS document changed (or a fetch ended): requests waiting for keys
 * are verified again now. */
void authz_worker_keys_changed(struct authz_worker *aw);
/* A worker thread ends: frees what the stage keeps per thread. */
void authz_thread_exit(void);

/* The worker's Redis client (one connection a worker, shared with the
 * throttle stage), or NULL without Redis. Owned by aw. */
struct redis_client *authz_worker_redis_client(struct authz_worker *aw);

/* Drops every cached result of authorizer id (admin cache flush). */
void authz_worker_flush(struct authz_worker *aw, unsigned authorizer_id);

enum authz_outcome {
    AUTHZ_PASS,     /* allowed (or no authorizer): go on with the pipeline */
    AUTHZ_ANSWERED, /* refused: a response was sent, the request has ended */
    AUTHZ_WAIT,     /* pipeline_authorized() will be called later */
};

/* Runs the stage for req (route decided). */
enum authz_outcome authz_run(struct request *req);

/* The request ends while waiting (client gone, timeout): forget it, also
 * a throttle decision under way (throttle_cancel()). Safe to call for any
 * request. */
void authz_cancel(struct request *req);

/* Releases what the stage attached to req (its result). */
void authz_release(struct request *req);

/* Writes "name: value\r\n" lines for the authorizer's claims_to_headers
 * from the request's verified claims to out. Values that are not strings
 * are sent as compact JSON; values with control characters are dropped.
 * Returns 0 or -1 (out of memory). */
int authz_claim_headers(const struct request *req, struct evbuffer *out);

#endif
