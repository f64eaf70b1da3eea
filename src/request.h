/* request.h - one request travelling the pipeline: what the client sent,
 * what routing and version picking decided, the handler's progress and the
 * figures the access log records. Owned by its connection (conn.c); one is
 * active per connection at a time, so pipelined requests wait their turn. */
#ifndef SLUICE_REQUEST_H
#define SLUICE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "http_parser.h"
#include "router.h"

struct conn;
struct worker;
struct wsnap;
struct evbuffer;
struct authz_result;
struct redis_op;
struct fetch;

#define REQUEST_ID_MAX 64

enum body_kind { BODY_NONE = 0, BODY_LENGTH, BODY_CHUNKED };

struct request {
    struct conn *conn;
    struct worker *worker;
    struct wsnap *snap;        /* config generation this request runs on */
    const struct config *cfg;  /* snap's config */

    /* what the client sent; head slices point into head_buf */
    char *head_buf;  /* kept (with its capacity) when the request is pooled */
    size_t head_len, head_cap;
    char client_ip[48];
    char request_id[REQUEST_ID_MAX + 1];

    /* decisions */
    const struct route *route;
    const struct alias *alias;
    const struct fn_version *version;
    uint32_t timeout_ms;
    uint8_t pick; /* enum pick_reason (alias.h): why this version, once set */

    /* authorize stage (authz.c) */
    struct authz_result *auth;  /* the verified identity, NULL without authorizer */
    const char *auth_cache;     /* "hit", "miss" or "none" for the access log */
    const char *auth_source;    /* on a hit: "local" or "redis" */
    uint64_t authz_start_us, authz_end_us;
    struct authz_wait {
        int kind;               /* what the request waits for, 0 = nothing */
        struct redis_op *op;    /* Redis lookup under way */
        struct fetch *fetch;    /* a function authorizer's invocation under way */
        uint64_t deadline_ms;   /* JWKS wait: give up after this */
        struct request *prev, *next; /* the worker's list of JWKS waits */
        int keys_retried;       /* already waited once for new keys */
        unsigned char key[32];  /* cache key */
    } authz_wait;

    /* throttle stage (throttle.c) */
    const char *throttled;           /* refused by: "route", "alias", "plan", "quota" */
    const struct usage_plan *plan;   /* the x-api-key's plan, on usage_plan_required routes */
    size_t plan_key;                 /* the key's index in plan->keys */
    struct redis_op *throttle_op;    /* Redis decision under way */
    void (*throttle_done)(struct request *req); /* continues the pipeline after it */

    /* request body from the client */
    enum body_kind body_kind;
    uint64_t body_left;      /* BODY_LENGTH: bytes still to read */
    uint64_t body_received;  /* decoded body bytes so far */
    struct http_chunked chunked;
    unsigned body_done : 1;  /* the whole body has been read (or there is none) */
    unsigned body_sink : 1;  /* a handler takes body bytes (else they wait) */

    /* response */
    int status;                /* status sent (or being sent) to the client */
    unsigned response_started : 1; /* head written to the client */
    unsigned response_done : 1;    /* last byte queued to the client */
    unsigned keep_alive : 1;       /* connection may serve another request */
    unsigned function_error : 1;   /* set by invoke/lua handlers (issue 5): the function
                                    * itself failed; counted by metrics */
    unsigned cold_start : 1;       /* a lua handler made a new state for this request */
    unsigned breaker_open : 1;     /* answered 503 by an open circuit breaker
                                    * (handler_http.c); counted by metrics */
    const char *error;             /* why the request failed, for the log */

    /* figures */
    uint64_t start_us;
    uint64_t upstream_start_us, upstream_end_us;
    uint64_t bytes_in, bytes_out;

    /* the handler's own state (handler_http.c: its upstream exchange) */
    void *handler_state;

    /* The large parts come last: a pooled request is zeroed only up to
     * here, and these are filled by the parser and the router. */
    struct http_request_head head;
    struct router_match match;
};

/* Bytes of struct request a new request clears. */
#define REQUEST_CLEAR_BYTES offsetof(struct request, head)

#endif
