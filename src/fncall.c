/* fncall.c - shared by the function handlers: body collection, answering
 * with a function's result, and max_concurrency across workers.
 *
 * Concurrency. Each limited (function, version) name has one fncall_limit
 * in a process-wide registry that outlives reloads (as metrics series do),
 * so requests of an old snapshot and of a new one count against the same
 * slots. A slot is taken with a compare-and-swap on `inflight`; a request
 * that finds none waits in its own worker's FIFO for that limit, so the
 * lists themselves are never shared. Other workers only read how many wait
 * on each worker (`waiting`) to choose whom to wake, and wake it through
 * its mailbox (worker_post_fncall). No lock is taken on any request path;
 * an unlimited version touches nothing shared at all.
 *
 * Lost wake-ups are ruled out by ordering: a waiter raises the counts and
 * then looks at `inflight` again; a releaser lowers `inflight` and then
 * looks at the counts (both sequentially consistent), so at least one of
 * them sees the other and a slot never stays free while someone waits. */
#include "fncall.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "http_parser.h"
#include "lambda_event.h"
#include "request.h"
#include "util.h"
#include "worker.h"

/* A queue holds at least this many waiters per worker, whatever the limit. */
#define QUEUE_MIN 16
/* Writing a response head on the stack up to this size. */
#define HEAD_STACK 8192

/* One queued request. */
struct fncall_wait {
    struct request *req;
    fncall_ready_fn *cb;
    struct fncall_wait *prev, *next;
};

/* One worker's waiters for one limit. The list is its worker's alone;
 * `waiting` (its length) is read by the others. One per cache-line pair,
 * so that workers never write the same line. */
struct fncall_queue {
    _Alignas(128) _Atomic uint32_t waiting;
    uint32_t len;
    struct fncall_wait *head, *tail;
    struct fncall_limit *limit;
    /* the worker thread's list of queues that have waiters */
    struct fncall_queue *active_prev, *active_next;
    int active;
};

struct fncall_limit {
    _Atomic uint32_t inflight;   /* slots taken, every worker together */
    _Atomic uint32_t nwaiting;   /* waiters, every worker together */
    _Atomic uint32_t max;        /* the newest attached config's max_concurrency */
    _Atomic uint32_t next;       /* where the next search for a worker to wake starts */
    struct fncall_queue *queues; /* reg.nworkers of them */
    struct fncall_limit *hnext;  /* registry hash chain */
    uint64_t hash;
    char names[]; /* "function\0version\0" */
};

/* The registry: the main thread's (attach, shutdown), under its mutex. */
static struct {
    pthread_mutex_t lock;
    int ready;
    unsigned nworkers;
    struct fncall_limit **table; /* hash chains; ntable a power of two */
    size_t ntable, n;
} reg = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Workers that may be woken, by id: set by a worker when it first queues
 * a request, cleared when its thread ends. Posting to a worker happens
 * under wake_lock, so a worker is never posted to after it cleared its
 * entry (and is freed). Only taken when a slot frees while others wait. */
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct worker **wakeable;

/* This worker thread's part. */
static _Thread_local struct worker *tl_worker;
static _Thread_local unsigned tl_id;
static _Thread_local struct event *tl_grant_ev; /* hands slots to local waiters, from the loop */
static _Thread_local struct fncall_queue *tl_active;

/* ------------------------------------------------------------ registry */

static uint64_t names_hash(const char *fn, const char *ver)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)fn; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    h = (h ^ 0xff) * 0x100000001b3ull; /* a separator no name holds */
    for (const unsigned char *p = (const unsigned char *)ver; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return h;
}

static void limit_free(struct fncall_limit *l)
{
    if (!l)
        return;
    for (unsigned i = 0; i < reg.nworkers; i++) {
        struct fncall_queue *q = &l->queues[i];
        while (q->head) {
            struct fncall_wait *wt = q->head;
            q->head = wt->next;
            free(wt);
        }
    }
    free(l->queues);
    free(l);
}

static struct fncall_limit *limit_new(const char *fn, const char *ver, uint64_t hash)
{
    size_t lf = strlen(fn), lv = strlen(ver);
    struct fncall_limit *l = calloc(1, sizeof(*l) + lf + lv + 2);
    size_t qbytes = reg.nworkers * sizeof(struct fncall_queue);

    if (!l)
        return NULL;
    /* sizeof is a multiple of the alignment, as aligned_alloc wants */
    l->queues = aligned_alloc(_Alignof(struct fncall_queue), qbytes);
    if (!l->queues) {
        free(l);
        return NULL;
    }
    /* all-zero bytes are zero counts and NULL links on every target */
    memset(l->queues, 0, qbytes);
    for (unsigned i = 0; i < reg.nworkers; i++)
        l->queues[i].limit = l;
    l->hash = hash;
    memcpy(l->names, fn, lf + 1);
    memcpy(l->names + lf + 1, ver, lv + 1);
    return l;
}

/* Under the lock: the limit of (fn, ver), made on first use. NULL when
 * out of memory. */
static struct fncall_limit *intern(const char *fn, const char *ver)
{
    uint64_t h = names_hash(fn, ver);
    struct fncall_limit *l;
    size_t lf = strlen(fn);

    for (l = reg.table[h & (reg.ntable - 1)]; l; l = l->hnext)
        if (l->hash == h && strcmp(l->names, fn) == 0 && strcmp(l->names + lf + 1, ver) == 0)
            return l;
    if (reg.n >= reg.ntable * 2) {
        /* grow so chains stay short; a failure only leaves them longer */
        size_t nt = reg.ntable * 2;
        struct fncall_limit **t = calloc(nt, sizeof(*t));
        if (t) {
            for (size_t i = 0; i < reg.ntable; i++)
                while (reg.table[i]) {
                    struct fncall_limit *x = reg.table[i];
                    reg.table[i] = x->hnext;
                    x->hnext = t[x->hash & (nt - 1)];
                    t[x->hash & (nt - 1)] = x;
                }
            free(reg.table);
            reg.table = t;
            reg.ntable = nt;
        }
    }
    l = limit_new(fn, ver, h);
    if (!l)
        return NULL;
    l->hnext = reg.table[h & (reg.ntable - 1)];
    reg.table[h & (reg.ntable - 1)] = l;
    reg.n++;
    return l;
}

int fncall_init(unsigned nworkers)
{
    int rc = -1;

    if (nworkers == 0)
        return -1;
    pthread_mutex_lock(&reg.lock);
    if (!reg.ready) {
        reg.table = calloc(64, sizeof(*reg.table));
        wakeable = calloc(nworkers, sizeof(*wakeable));
        if (reg.table && wakeable) {
            reg.ntable = 64;
            reg.nworkers = nworkers;
            reg.ready = 1;
            rc = 0;
        } else {
            free(reg.table);
            free(wakeable);
            reg.table = NULL;
            wakeable = NULL;
        }
    }
    pthread_mutex_unlock(&reg.lock);
    return rc;
}

void fncall_shutdown(void)
{
    pthread_mutex_lock(&reg.lock);
    for (size_t i = 0; i < reg.ntable; i++)
        while (reg.table[i]) {
            struct fncall_limit *l = reg.table[i];
            reg.table[i] = l->hnext;
            limit_free(l);
        }
    free(reg.table);
    reg.table = NULL;
    reg.ntable = reg.n = 0;
    pthread_mutex_lock(&wake_lock);
    free(wakeable);
    wakeable = NULL;
    pthread_mutex_unlock(&wake_lock);
    reg.nworkers = 0;
    reg.ready = 0;
    pthread_mutex_unlock(&reg.lock);
}

int fncall_attach(struct config *cfg)
{
    int rc = 0;

    pthread_mutex_lock(&reg.lock);
    for (size_t i = 0; reg.ready && i < cfg->nfunctions && rc == 0; i++) {
        const struct function *fn = &cfg->functions[i];
        for (size_t j = 0; j < fn->nversions; j++) {
            struct fn_version *v = &fn->versions[j];
            struct fncall_limit *l;
            if (v->max_concurrency == 0)
                continue;
            l = intern(fn->name, v->name);
            if (!l) {
                rc = -1;
                break;
            }
            atomic_store(&l->max, v->max_concurrency);
            v->limit = l;
        }
    }
    pthread_mutex_unlock(&reg.lock);
    return rc;
}

/* ------------------------------------------------------------ slots */

/* Takes a slot when fewer than max are taken. Returns 1 or 0. */
static int take_slot(struct fncall_limit *l, uint32_t max)
{
    uint32_t n = atomic_load(&l->inflight);

    while (n < max)
        if (atomic_compare_exchange_weak(&l->inflight, &n, n + 1))
            return 1;
    return 0;
}

static uint32_t queue_cap(uint32_t max)
{
    uint64_t cap = (uint64_t)max * 4;

    if (cap < QUEUE_MIN)
        cap = QUEUE_MIN;
    return cap > FNCALL_QUEUE_MAX ? FNCALL_QUEUE_MAX : (uint32_t)cap;
}

static void grant_cb(evutil_socket_t fd, short what, void *arg);

/* Makes this thread wakeable as worker w (once). Returns 0 or -1. */
static int thread_register(struct worker *w)
{
    if (tl_grant_ev)
        return 0;
    tl_grant_ev = event_new(worker_base(w), -1, 0, grant_cb, NULL);
    if (!tl_grant_ev)
        return -1;
    tl_worker = w;
    tl_id = worker_id(w);
    pthread_mutex_lock(&wake_lock);
    if (wakeable && tl_id < reg.nworkers)
        wakeable[tl_id] = w;
    pthread_mutex_unlock(&wake_lock);
    return 0;
}

/* Hands slots to this thread's waiters soon, from the event loop: never
 * from inside the call that freed the slot, which is in the middle of
 * ending another request. */
static void grant_soon(void)
{
    if (tl_grant_ev)
        event_active(tl_grant_ev, EV_TIMEOUT, 1);
}

static void queue_activate(struct fncall_queue *q)
{
    if (q->active)
        return;
    q->active = 1;
    q->active_prev = NULL;
    q->active_next = tl_active;
    if (tl_active)
        tl_active->active_prev = q;
    tl_active = q;
}

static void queue_deactivate(struct fncall_queue *q)
{
    if (!q->active)
        return;
    if (q->active_prev)
        q->active_prev->active_next = q->active_next;
    else
        tl_active = q->active_next;
    if (q->active_next)
        q->active_next->active_prev = q->active_prev;
    q->active_prev = q->active_next = NULL;
    q->active = 0;
}

/* Takes wt out of q and frees it. */
static void queue_remove(struct fncall_queue *q, struct fncall_wait *wt)
{
    struct fncall_limit *l = q->limit;

    if (wt->prev)
        wt->prev->next = wt->next;
    else
        q->head = wt->next;
    if (wt->next)
        wt->next->prev = wt->prev;
    else
        q->tail = wt->prev;
    q->len--;
    atomic_fetch_sub(&q->waiting, 1);
    atomic_fetch_sub(&l->nwaiting, 1);
    if (!q->head)
        queue_deactivate(q);
    free(wt);
}

/* A slot of l may be free while requests wait: the next worker with
 * waiters, round robin from where the last search stopped, gets it: this
 * one through its own loop, another through its mailbox. Round robin, not
 * this worker first: a busy worker serving its own queue on every release
 * would starve the others' waiters until they time out. */
static void hand_on(struct fncall_limit *l, unsigned self)
{
    unsigned n = reg.nworkers, start;

    if (atomic_load(&l->nwaiting) == 0)
        return;
    start = n > 1 ? atomic_fetch_add(&l->next, 1) % n : 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned k = (start + i) % n;
        if (atomic_load(&l->queues[k].waiting) == 0)
            continue;
        if (k == self) {
            grant_soon();
            return;
        }
        pthread_mutex_lock(&wake_lock);
        if (wakeable && wakeable[k])
            worker_post_fncall(wakeable[k]);
        pthread_mutex_unlock(&wake_lock);
        return;
    }
}

/* Serves this thread's waiters while slots are free: one grant at a time,
 * looking at the list again after each callback, since a callback may
 * answer, release and cancel and so change the lists. */
static void grant_all(void)
{
    int progress = 1;

    while (progress) {
        progress = 0;
        for (struct fncall_queue *q = tl_active; q; q = q->active_next) {
            struct fncall_wait *wt = q->head;
            struct fncall_limit *l = q->limit;
            struct request *req;
            fncall_ready_fn *cb;

            if (!wt || !take_slot(l, wt->req->version->max_concurrency))
                continue;
            req = wt->req;
            cb = wt->cb;
            queue_remove(q, wt);
            cb(req);
            /* this worker's waiters are all served and slots are still
             * free while others wait elsewhere: pass the wake-up on */
            if (!q->head && atomic_load(&l->inflight) < atomic_load(&l->max))
                hand_on(l, tl_id);
            progress = 1;
            break;
        }
    }
}

static void grant_cb(evutil_socket_t fd, short what, void *arg)
{
    grant_all();
}

void fncall_worker_wake(struct worker *w)
{
    if (tl_worker == w)
        grant_all();
}

int fncall_acquire(struct request *req, fncall_ready_fn *cb)
{
    const struct fn_version *v = req->version;
    struct fncall_limit *l = v->limit;
    uint32_t max = v->max_concurrency;
    struct fncall_queue *q;
    struct fncall_wait *wt;

    if (!l || max == 0)
        return 1;
    /* the fast path only when nobody waits: a newcomer must not overtake */
    if (atomic_load(&l->nwaiting) == 0 && take_slot(l, max))
        return 1;
    q = &l->queues[worker_id(req->worker)];
    if (q->len >= queue_cap(max) || thread_register(req->worker) < 0)
        return -1;
    wt = calloc(1, sizeof(*wt));
    if (!wt)
        return -1;
    wt->req = req;
    wt->cb = cb;
    wt->prev = q->tail;
    if (q->tail)
        q->tail->next = wt;
    else
        q->head = wt;
    q->tail = wt;
    q->len++;
    queue_activate(q);
    atomic_fetch_add(&q->waiting, 1);
    atomic_fetch_add(&l->nwaiting, 1);
    /* a slot freed between the look above and the counts going up was
     * released by someone who saw nobody waiting: look again */
    if (atomic_load(&l->inflight) < max)
        grant_soon();
    return 0;
}

void fncall_release(struct request *req)
{
    struct fncall_slot slot;

    fncall_detach(req, &slot);
    fncall_slot_release(&slot);
}

void fncall_detach(struct request *req, struct fncall_slot *slot)
{
    const struct fn_version *v = req->version;

    /* the limit, not the version: a detached call outlives the request's
     * snapshot, the registry's limit outlives every snapshot */
    slot->limit = v && v->max_concurrency ? v->limit : NULL;
    slot->worker = worker_id(req->worker);
}

void fncall_slot_release(struct fncall_slot *slot)
{
    struct fncall_limit *l = slot->limit;

    if (!l)
        return;
    slot->limit = NULL;
    atomic_fetch_sub(&l->inflight, 1);
    hand_on(l, slot->worker);
}

void fncall_cancel(struct request *req)
{
    const struct fn_version *v = req->version;
    struct fncall_limit *l = v ? v->limit : NULL;
    struct fncall_queue *q;
    unsigned self;

    if (!l || v->max_concurrency == 0)
        return;
    self = worker_id(req->worker);
    q = &l->queues[self];
    /* from the head: timeouts, the usual reason, hit the oldest first */
    for (struct fncall_wait *wt = q->head; wt; wt = wt->next) {
        if (wt->req != req)
            continue;
        queue_remove(q, wt);
        /* a wake-up meant for this request must not be lost with it */
        if (atomic_load(&l->inflight) < atomic_load(&l->max))
            hand_on(l, self);
        return;
    }
}

void fncall_thread_exit(void)
{
    pthread_mutex_lock(&wake_lock);
    if (wakeable && tl_worker && tl_id < reg.nworkers)
        wakeable[tl_id] = NULL;
    pthread_mutex_unlock(&wake_lock);
    /* requests were all aborted before this (and left their queues) */
    while (tl_active) {
        struct fncall_queue *q = tl_active;
        while (q->head)
            queue_remove(q, q->head);
        queue_deactivate(q);
    }
    if (tl_grant_ev)
        event_free(tl_grant_ev);
    tl_grant_ev = NULL;
    tl_worker = NULL;
}

/* ------------------------------------------------------------ bodies */

int fncall_body_add(struct request *req, struct evbuffer *dst, struct evbuffer *src)
{
    size_t n = evbuffer_get_length(src);

    if ((uint64_t)evbuffer_get_length(dst) + n > req->cfg->limits.max_body_bytes ||
        evbuffer_add_buffer(dst, src) < 0) {
        evbuffer_drain(src, evbuffer_get_length(src));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ answers */

/* 1 when a function may not set header n: hop-by-hop and framing headers
 * (the body's framing is ours), and those sluice writes itself. */
static int header_dropped(struct slice n)
{
    switch (n.len) {
    case 4:
        return ascii_eq_lc(n.ptr, "date", 4);
    case 12:
        return ascii_eq_lc(n.ptr, "x-request-id", 12);
    case 14:
        return ascii_eq_lc(n.ptr, "content-length", 14);
    case 25:
        return ascii_eq_lc(n.ptr, "x-sluice-function-version", 25);
    default:
        return http_header_is_hop_by_hop(n);
    }
}

void fncall_respond(struct request *req, const struct lambda_result *r)
{
    char stack[HEAD_STACK];
    struct evbuffer *out = conn_output(req);
    int status = r->status;
    int no_body = req->head.method_id == HTTP_M_HEAD || status == 204 || status == 304;
    const char *date = worker_http_date(req->worker);
    const char *reason, *version = req->version ? req->version->name : NULL;
    size_t bound, rid_len = strlen(req->request_id);
    char *start, *p;

    if (status < 200 || status > 599) {
        /* 1xx cannot end a response; other numbers are no HTTP status */
        req->function_error = 1;
        req->error = "function result has a statusCode outside 200-599";
        conn_respond(req, 502, "Internal server error", NULL);
        return;
    }
    reason = http_status_reason(status);
    if (!req->body_done)
        req->keep_alive = 0;            /* unread body bytes: the connection cannot be reused */
    conn_response_started(req, status); /* may clear keep_alive (shutdown) */

    /* 256: the fixed text (about 150 bytes) and the numbers at their longest */
    bound = 256 + strlen(reason) + rid_len + strlen(date) + (version ? strlen(version) : 0);
    for (size_t i = 0; i < r->nheaders; i++)
        bound += strlen(r->headers[i].name) + strlen(r->headers[i].value) + 4;
    start = evb_write_begin(out, stack, sizeof(stack), bound);
    if (!start) {
        conn_abort(req, "out of memory writing a function's response");
        return;
    }
    p = req->head.version_minor ? put_lit(start, "HTTP/1.1 ") : put_lit(start, "HTTP/1.0 ");
    p += i64_to_dec(p, status);
    *p++ = ' ';
    p = put_mem(p, reason, strlen(reason));
    p = put_lit(p, "\r\n");
    /* names and values were checked by lambda_result_parse (tokens; no
     * CR, LF or NUL), so they go out as they are */
    for (size_t i = 0; i < r->nheaders; i++) {
        struct slice n = { r->headers[i].name, strlen(r->headers[i].name) };
        struct slice v = { r->headers[i].value, strlen(r->headers[i].value) };
        if (n.len == 0 || header_dropped(n))
            continue;
        p = put_slice(p, n);
        p = put_lit(p, ": ");
        p = put_slice(p, v);
        p = put_lit(p, "\r\n");
    }
    /* a HEAD answer states the length a GET would have had; 204 and 304
     * carry none */
    if (status != 204 && status != 304) {
        p = put_lit(p, "Content-Length: ");
        p += u64_to_dec(p, r->body_len);
        p = put_lit(p, "\r\n");
    }
    p = put_lit(p, "Date: ");
    p = put_mem(p, date, strlen(date));
    p = put_lit(p, "\r\nx-request-id: ");
    p = put_mem(p, req->request_id, rid_len);
    p = put_lit(p, "\r\n");
    if (version) {
        p = put_lit(p, "x-sluice-function-version: ");
        p = put_mem(p, version, strlen(version));
        p = put_lit(p, "\r\n");
    }
    if (!req->keep_alive)
        p = put_lit(p, "Connection: close\r\n");
    else if (req->head.version_minor == 0)
        p = put_lit(p, "Connection: keep-alive\r\n");
    p = put_lit(p, "\r\n");
    if (evb_write_end(out, stack, start, (size_t)(p - start), bound) < 0 ||
        (!no_body && r->body_len && evbuffer_add(out, r->body, r->body_len) < 0)) {
        conn_abort(req, "out of memory writing a function's response");
        return;
    }
    req->bytes_out += (size_t)(p - start) + (no_body ? 0 : r->body_len);
    conn_response_done(req);
}

void fncall_respond_throttled(struct request *req)
{
    conn_respond(req, 429, "too many requests: the function's concurrency limit is reached",
                 "Retry-After: 1\r\n");
}
