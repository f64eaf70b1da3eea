/* handler_lua.c - the lua handler kind: a Lua file's handler(event,
 * context) run in process, in a sandboxed state (luabox.c), with the
 * version's timeout, memory cap and concurrency limit.
 *
 * States. Each worker keeps, per Lua function version, a pool of warm
 * states: a call takes one (or makes one: a cold start, logged with its
 * time) and gives it back when the call went well. A state is dropped
 * after an error, a timeout or its memory cap (it may be half-way through
 * anything), when the pool already holds warm_states idle ones, or once it
 * sat idle idle_s seconds. Pools are found by the version's state key (a
 * digest of the function, version, file, handler name and source), not
 * by the config's pointers, so a reload that keeps a version as it was
 * keeps its warm states, and a changed file starts cold.
 *
 * Lua runs synchronously on the worker's thread: while a function runs,
 * the worker serves nothing else. Its timeout bounds that, and so a
 * request never waits for a concurrency slot here: a full version answers
 * 429 at once (waiting would block the very worker whose call has to end
 * to free the slot, when that call runs on it). */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "conn.h"
#include "fncall.h"
#include "handler.h"
#include "lambda_event.h"
#include "log.h"
#include "luabox.h"
#include "request.h"
#include "util.h"
#include "worker.h"

/* Calls pooled per worker thread with their buffer and event. */
#define CALL_POOL_MAX 64

/* One idle state and since when (now_ms clock). */
struct idle_state {
    struct luabox *box;
    uint64_t since_ms;
};

/* A worker's states of one Lua function version. */
struct lua_pool {
    unsigned char key[32];
    uint32_t memory_mb;      /* the cap the states were made with */
    uint32_t warm_states;    /* from the newest config that used the pool */
    uint32_t idle_s;         /* same */
    struct idle_state *idle; /* a stack: the newest on top is reused first, the rest age out */
    size_t nidle, cap;
    unsigned busy; /* states out on a call */
    uint64_t cold_starts;
    char label[96]; /* "function:version" */
    struct lua_pool *next;
};

/* One request's call. */
struct lua_call {
    struct request *req;
    struct evbuffer *body;
    struct event run; /* assigned once per pooled call: runs the function from the loop */
    int scheduled;
    struct lua_call *next_free;
};

static _Thread_local struct lua_pool *tl_pools;
static _Thread_local struct event *tl_reaper;   /* drops states idle for too long */
static _Thread_local uint64_t tl_reaper_due_ms; /* when it fires (now_ms clock), while pending */
static _Thread_local struct lua_call *tl_call_pool;
static _Thread_local unsigned tl_call_pool_len;

static void l_run_cb(evutil_socket_t fd, short what, void *arg);
static void reaper_cb(evutil_socket_t fd, short what, void *arg);

/* ------------------------------------------------------------ pools */

static struct lua_pool *pool_find(const struct fn_version *v)
{
    struct lua_pool *p;

    for (p = tl_pools; p; p = p->next)
        if (p->memory_mb == v->memory_mb && memcmp(p->key, v->lua.key, sizeof(p->key)) == 0)
            break;
    return p;
}

/* The pool of v on this worker, made on first use; NULL when out of memory. */
static struct lua_pool *pool_get(const struct fn_version *v)
{
    struct lua_pool *p = pool_find(v);

    if (!p) {
        p = calloc(1, sizeof(*p));
        if (!p)
            return NULL;
        memcpy(p->key, v->lua.key, sizeof(p->key));
        p->memory_mb = v->memory_mb;
        fmt_buf(p->label, sizeof(p->label), "%s:%s", v->fn->name, v->name);
        p->next = tl_pools;
        tl_pools = p;
    }
    /* the newest config's settings (they do not change what a state is) */
    p->warm_states = v->lua.warm_states;
    p->idle_s = v->lua.idle_s;
    return p;
}

static void pool_unlink_free(struct lua_pool *p)
{
    struct lua_pool **pp = &tl_pools;

    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (*pp)
        *pp = p->next;
    for (size_t i = 0; i < p->nidle; i++)
        luabox_free(p->idle[i].box);
    free(p->idle);
    free(p);
}

/* Arms the reaper for the earliest expiry of an idle state, if any. */
static void reaper_arm(struct worker *w)
{
    uint64_t now = now_ms(), first = UINT64_MAX;
    struct timeval tv;

    for (struct lua_pool *p = tl_pools; p; p = p->next)
        if (p->nidle) {
            /* idle[0] is the oldest: pushes are in time order */
            uint64_t due = p->idle[0].since_ms + (uint64_t)p->idle_s * 1000;
            if (due < first)
                first = due;
        }
    if (first == UINT64_MAX) {
        if (tl_reaper)
            evtimer_del(tl_reaper);
        return;
    }
    if (!tl_reaper) {
        if (!w)
            return;
        tl_reaper = evtimer_new(worker_base(w), reaper_cb, NULL);
        if (!tl_reaper)
            return; /* idle states then live until their pool is used again */
    }
    tl_reaper_due_ms = first;
    first = first > now ? first - now : 0;
    tv.tv_sec = (time_t)(first / 1000);
    tv.tv_usec = (suseconds_t)(first % 1000) * 1000;
    evtimer_add(tl_reaper, &tv);
}

/* Drops every idle state past its pool's idle_s, and pools left empty. */
static void reap(void)
{
    uint64_t now = now_ms();
    struct lua_pool *p = tl_pools, *next;

    for (; p; p = next) {
        size_t n = 0;
        next = p->next;
        while (n < p->nidle && p->idle[n].since_ms + (uint64_t)p->idle_s * 1000 <= now)
            luabox_free(p->idle[n++].box);
        if (n) {
            memmove(p->idle, p->idle + n, (p->nidle - n) * sizeof(*p->idle));
            p->nidle -= n;
            log_info("lua %s: dropped %zu idle state%s (idle for %u s)", p->label, n,
                     n == 1 ? "" : "s", p->idle_s);
        }
        if (!p->nidle && !p->busy)
            pool_unlink_free(p);
    }
}

/* A warm state of p, or NULL. */
static struct luabox *pool_take(struct lua_pool *p)
{
    if (!p->nidle)
        return NULL;
    p->busy++;
    return p->idle[--p->nidle].box;
}

/* A state back from a call: kept when there is room, else freed. */
static void pool_put(struct lua_pool *p, struct luabox *b, struct worker *w)
{
    p->busy--;
    if (p->nidle >= p->warm_states) {
        luabox_free(b);
        return;
    }
    if (p->nidle == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4;
        struct idle_state *n = realloc(p->idle, cap * sizeof(*n));
        if (!n) {
            luabox_free(b);
            return;
        }
        p->idle = n;
        p->cap = cap;
    }
    /* much garbage left: collect it now, between calls, so that it never
     * counts against the next call's cap */
    if (luabox_memory(b) > (size_t)p->memory_mb * (1024 * 1024 / 2))
        luabox_collect(b);
    p->idle[p->nidle].box = b;
    p->idle[p->nidle].since_ms = now_ms();
    p->nidle++;
    /* The reaper may fire early (it re-arms itself for what is left), never
     * late: it is armed again only when this state is due before it. */
    if (!tl_reaper || !evtimer_pending(tl_reaper, NULL) ||
        p->idle[p->nidle - 1].since_ms + (uint64_t)p->idle_s * 1000 < tl_reaper_due_ms)
        reaper_arm(w);
}

/* A state given up (error, timeout, cap): only the busy count changes. */
static void pool_drop(struct lua_pool *p, struct luabox *b)
{
    p->busy--;
    luabox_free(b);
}

/* ------------------------------------------------------------ calls */

static struct lua_call *call_new(struct request *req)
{
    struct lua_call *c = tl_call_pool;

    if (c) {
        tl_call_pool = c->next_free;
        tl_call_pool_len--;
    } else {
        c = calloc(1, sizeof(*c));
        if (!c)
            return NULL;
        c->body = evbuffer_new();
        if (!c->body || event_assign(&c->run, worker_base(req->worker), -1, 0, l_run_cb, c) < 0) {
            if (c->body)
                evbuffer_free(c->body);
            free(c);
            return NULL;
        }
    }
    c->req = req;
    c->scheduled = 0;
    c->next_free = NULL;
    return c;
}

static void call_destroy(struct lua_call *c)
{
    event_del(&c->run);
    evbuffer_free(c->body);
    free(c);
}

static void call_free(struct lua_call *c)
{
    c->req->handler_state = NULL;
    event_del(&c->run);
    evbuffer_drain(c->body, evbuffer_get_length(c->body));
    c->req = NULL;
    if (tl_call_pool_len >= CALL_POOL_MAX) {
        call_destroy(c);
        return;
    }
    c->next_free = tl_call_pool;
    tl_call_pool = c;
    tl_call_pool_len++;
}

/* The request's start as wall-clock milliseconds (the event's timeEpoch):
 * the loop's cached wall clock less the request's age on the monotonic
 * clock start_us is measured on. */
static uint64_t request_epoch_ms(const struct request *req)
{
    struct timeval tv;
    uint64_t wall, age;

    event_base_gettimeofday_cached(worker_base(req->worker), &tv);
    wall = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
    age = (now_us() - req->start_us) / 1000;
    return wall > age ? wall - age : wall;
}

static enum payload_version call_payload(const struct request *req)
{
    return req->route ? req->route->payload : PAYLOAD_V2;
}

/* How a call failed: what the client is told, what the access log says
 * (static text: it outlives this call), whether the function is to blame. */
struct failure {
    int status;
    const char *message;
    const char *reason;
    int function_error;
};

static const struct failure F_ERROR = { 502, "Internal server error", "function error", 1 };
static const struct failure F_TIMEOUT = { 504, "function timed out", "function timed out", 1 };
static const struct failure F_MEMORY = { 502, "Internal server error",
                                         "function reached its memory limit", 1 };
static const struct failure F_RESULT = { 502, "Internal server error", "malformed function result",
                                         1 };
static const struct failure F_OOM = { 503, "out of memory", "out of memory", 0 };

/* Ends the request with a sluice answer. A function's own failure is
 * logged as an error with why (the traceback), sluice's as a warning. */
static void l_fail(struct lua_call *c, const struct failure *f, const char *why)
{
    struct request *req = c->req;

    if (req->upstream_start_us && !req->upstream_end_us)
        req->upstream_end_us = now_us();
    call_free(c);
    if (f->function_error)
        req->function_error = 1;
    req->error = f->reason;
    if (f->function_error)
        log_error("lua %s:%s: request %s: %s", req->version->fn->name, req->version->name,
                  req->request_id, why);
    else
        log_warn("lua %s:%s: request %s: %s", req->version->fn->name, req->version->name,
                 req->request_id, why);
    conn_respond(req, f->status, f->message, NULL);
}

/* A warm state, or a new one (a cold start, logged). NULL when no state
 * could be made, with why in *st and err (the request is not answered). */
static struct luabox *call_state(struct lua_call *c, struct lua_pool *p, uint64_t deadline_us,
                                 enum luabox_status *st, char *err, size_t errlen)
{
    struct request *req = c->req;
    const struct fn_version *v = req->version;
    struct luabox_spec spec = { .source = v->lua.source,
                                .source_len = v->lua.source_len,
                                .path = v->lua.file,
                                .handler = v->lua.handler,
                                .memory_limit = (size_t)v->memory_mb * 1024 * 1024,
                                .label = p->label };
    struct luabox *b = pool_take(p);
    uint64_t t0;

    if (b)
        return b;
    t0 = now_us();
    b = luabox_new(&spec, deadline_us, st, err, errlen);
    p->cold_starts++;
    req->cold_start = 1;
    if (!b)
        return NULL;
    p->busy++;
    log_info("lua %s: cold start for request %s: %.3f ms, %zu KiB, worker %u (cold start %llu "
             "of this version on this worker)",
             p->label, req->request_id, (double)(now_us() - t0) / 1000.0, luabox_memory(b) / 1024,
             worker_id(req->worker), (unsigned long long)p->cold_starts);
    return b;
}

/* fncall_acquire's callback for a queued request: never called, as a
 * queued request leaves the queue at once (l_invoke); were it called, the
 * slot would go back. */
static void l_slot_ready(struct request *req)
{
    fncall_release(req);
}

/* Runs the function and answers. The body is complete. */
static void l_invoke(struct lua_call *c)
{
    struct request *req = c->req;
    const struct fn_version *v = req->version;
    enum payload_version pv = call_payload(req);
    struct luabox_call lc = { .request_id = req->request_id,
                              .function_name = v->fn->name,
                              .function_version = v->name,
                              .memory_mb = v->memory_mb };
    struct lambda_result r;
    struct lua_pool *p;
    struct luabox *b;
    json_t *event, *result = NULL;
    size_t len = evbuffer_get_length(c->body);
    const unsigned char *body = len ? evbuffer_pullup(c->body, -1) : NULL;
    enum luabox_status st;
    char err[1500];

    /* no waiting for a slot: see the top of the file */
    switch (fncall_acquire(req, l_slot_ready)) {
    case 1:
        break;
    case 0:
        fncall_cancel(req);
        /* fall through */
    default:
        call_free(c);
        fncall_respond_throttled(req);
        return;
    }
    req->upstream_start_us = now_us();
    lc.deadline_us = req->upstream_start_us + (uint64_t)req->timeout_ms * 1000;
    p = pool_get(v);
    event = len && !body ? NULL : lambda_event_build(req, pv, body, len, request_epoch_ms(req));
    if (!p || !event) {
        json_decref(event);
        fncall_release(req);
        l_fail(c, &F_OOM, "out of memory building the event");
        return;
    }
    b = call_state(c, p, lc.deadline_us, &st, err, sizeof(err));
    if (!b) {
        /* no state: the function cannot answer (its top level fails) */
        json_decref(event);
        fncall_release(req);
        l_fail(c,
               st == LUABOX_TIMEOUT    ? &F_TIMEOUT
               : st == LUABOX_MEMORY   ? &F_MEMORY
               : st == LUABOX_INTERNAL ? &F_OOM
                                       : &F_ERROR,
               err);
        return;
    }
    st = luabox_call(b, event, &lc, &result, err, sizeof(err));
    json_decref(event);
    fncall_release(req);
    req->upstream_end_us = now_us();

    switch (st) {
    case LUABOX_OK:
        pool_put(p, b, req->worker);
        break;
    case LUABOX_BAD_RESULT:
        /* the state itself is fine */
        pool_put(p, b, req->worker);
        l_fail(c, &F_RESULT, err);
        return;
    case LUABOX_TIMEOUT:
        pool_drop(p, b);
        l_fail(c, &F_TIMEOUT, err);
        return;
    case LUABOX_MEMORY:
        pool_drop(p, b);
        l_fail(c, &F_MEMORY, err[0] ? err : "memory limit reached");
        return;
    case LUABOX_INTERNAL:
        pool_drop(p, b);
        l_fail(c, &F_OOM, err);
        return;
    case LUABOX_ERROR:
    default:
        pool_drop(p, b);
        l_fail(c, &F_ERROR, err);
        return;
    }

    memset(&r, 0, sizeof(r));
    if (lambda_result_from_json(result, pv, &r) < 0) {
        char why[300];
        json_decref(result);
        fmt_buf(why, sizeof(why), "malformed function result: %s", r.error);
        lambda_result_clear(&r);
        l_fail(c, &F_RESULT, why);
        return;
    }
    json_decref(result);
    call_free(c);
    fncall_respond(req, &r);
    lambda_result_clear(&r);
}

/* A call's run event: the body is in. */
static void l_run_cb(evutil_socket_t fd, short what, void *arg)
{
    struct lua_call *c = arg;

    c->scheduled = 0;
    l_invoke(c);
}

static void reaper_cb(evutil_socket_t fd, short what, void *arg)
{
    reap();
    reaper_arm(NULL);
}

/* Runs the call from the loop: start() may not answer (the pipeline goes
 * on with req after it returns), and neither should the body callback. */
static void l_schedule(struct lua_call *c)
{
    if (!c->scheduled) {
        c->scheduled = 1;
        event_active(&c->run, EV_TIMEOUT, 1);
    }
}

/* ------------------------------------------------------------ the kind */

static int lua_start(struct request *req)
{
    struct lua_call *c = call_new(req);

    if (!c) {
        req->status = 503;
        req->error = "out of memory";
        return -1;
    }
    req->handler_state = c;
    if (req->body_done)
        l_schedule(c); /* no body: nothing comes through lua_body() */
    return 0;
}

static void lua_body(struct request *req, struct evbuffer *buf, int done)
{
    struct lua_call *c = req->handler_state;

    if (!c || c->scheduled) {
        evbuffer_drain(buf, evbuffer_get_length(buf));
        return;
    }
    if (fncall_body_add(req, c->body, buf) < 0) {
        call_free(c);
        conn_respond(req, 413, "request body too large", NULL);
        return;
    }
    if (done)
        l_schedule(c);
}

/* The response is written whole at once: nothing to resume. */
static void lua_writable(struct request *req)
{
}

static void lua_abort(struct request *req)
{
    struct lua_call *c = req->handler_state;

    if (c)
        call_free(c);
}

static void lua_thread_exit(void)
{
    while (tl_pools)
        pool_unlink_free(tl_pools);
    if (tl_reaper)
        event_free(tl_reaper);
    tl_reaper = NULL;
    while (tl_call_pool) {
        struct lua_call *c = tl_call_pool;
        tl_call_pool = c->next_free;
        call_destroy(c);
    }
    tl_call_pool_len = 0;
}

const struct handler_kind_ops handler_lua_ops = {
    .name = "lua",
    .start = lua_start,
    .body = lua_body,
    .writable = lua_writable,
    .abort = lua_abort,
    .thread_exit = lua_thread_exit,
};
