/* handler_invoke.c - the invoke handler kind: the request becomes an API
 * Gateway proxy event, POSTed to a Lambda Invoke API endpoint (a function
 * emulator: the Runtime Interface Emulator, sam local start-lambda,
 * serverless-offline, LocalStack) over pooled keep-alive connections, and
 * the function's result becomes the response.
 *
 * Unlike the http kind nothing is streamed: an event needs the whole body
 * and a result is one JSON document, so both are collected (bounded by
 * max_body_bytes and INVOKE_MAX_RESULT) and the work happens in steps:
 *   I_BODY   -> collecting the request body (fncall_body_add)
 *   I_START  -> body complete, taking a concurrency slot on the next turn
 *   I_QUEUED -> waiting for a slot (fncall_acquire returned 0)
 *   I_SENT   -> invocation sent, reading the endpoint's answer
 *   I_DETACHED -> the client got 504, the function still runs: it keeps
 *              its concurrency slot until the endpoint answers or closes
 *              (at most DETACHED_MAX_MS), so that an emulator that runs
 *              one invocation at a time never gets a second one
 * One timer per request serves every step: the next turn of the loop in
 * I_START, the wait for a slot in I_QUEUED (429 when it runs out), the
 * function's timeout in I_SENT (504) and the wait in I_DETACHED. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "conn.h"
#include "fncall.h"
#include "handler.h"
#include "http_parser.h"
#include "lambda_event.h"
#include "log.h"
#include "request.h"
#include "stream.h"
#include "upstream.h"
#include "util.h"
#include "worker.h"

/* A response head from an endpoint larger than this is refused (502). */
#define INVOKE_MAX_HEAD 65536
/* The largest result taken: Lambda's own limit for a synchronous
 * invocation's response payload. */
#define INVOKE_MAX_RESULT (6u * 1024 * 1024)
/* How long a timed-out call keeps its slot waiting for the endpoint to
 * answer: an endpoint silent that long after the timeout is taken for
 * stuck, and its slot is given back rather than held for good. */
#define DETACHED_MAX_MS 60000

enum istate { I_BODY, I_START, I_QUEUED, I_SENT, I_DETACHED };

enum rbody { RB_NONE, RB_LENGTH, RB_CHUNKED, RB_CLOSE };

/* One request's invocation. */
struct invocation {
    /* kept across reuse from the pool: */
    struct event timer;      /* assigned once, on its thread's loop */
    struct evbuffer *body;   /* the request body, then the event sent */
    struct evbuffer *result; /* the endpoint's response body */
    /* cleared for each request from here on: */
    struct invocation *next_free;
    struct invocation *dprev, *dnext; /* I_DETACHED: the thread's list */
    struct fncall_slot slot;          /* I_DETACHED: the slot it keeps */
    struct request *req;              /* NULL once detached */
    struct upstream_conn *uc;
    enum istate state;
    enum rbody rbody;
    uint64_t rleft; /* RB_LENGTH: bytes still to read */
    struct http_chunked rchunked;
    size_t head_scan;
    int status;    /* the endpoint's status */
    int head_done; /* its response head was read */
    int resp_keep_alive;
    int have_slot;   /* holds a concurrency slot (fncall_release owed) */
    int event_built; /* body holds the event JSON now */
    int retried;
    int got_bytes;     /* a response byte arrived on this connection */
    char fn_error[32]; /* X-Amz-Function-Error's value; "" when absent */
};

static void i_readcb(struct stream *st, void *arg);
static void i_eventcb(struct stream *st, short what, void *arg);
static void i_timercb(evutil_socket_t fd, short what, void *arg);
static void i_slot_ready(struct request *req);

/* Invocations are pooled per worker thread, as the http kind's exchanges
 * are: a pooled one keeps its timer assigned to the right loop. */
#define INVOCATION_POOL_MAX 256
static _Thread_local struct invocation *inv_pool;
static _Thread_local unsigned inv_pool_len;
/* Detached invocations, freed when the thread ends if still there. */
static _Thread_local struct invocation *inv_detached;

/* One response head per thread: only used while i_read_head runs. */
static _Thread_local struct http_response_head resp_head;

/* Why a request failed, for req->error: it must outlive the invocation,
 * and a request that fails ends (and is logged) before this thread builds
 * the next reason. */
static _Thread_local char err_text[400];

static struct invocation *inv_new(struct request *req)
{
    struct invocation *x = inv_pool;

    if (x) {
        inv_pool = x->next_free;
        inv_pool_len--;
    } else {
        x = malloc(sizeof(*x));
        if (!x)
            return NULL;
        x->body = evbuffer_new();
        x->result = evbuffer_new();
        if (!x->body || !x->result ||
            event_assign(&x->timer, worker_base(req->worker), -1, 0, i_timercb, x) < 0) {
            if (x->body)
                evbuffer_free(x->body);
            if (x->result)
                evbuffer_free(x->result);
            free(x);
            return NULL;
        }
    }
    memset(&x->next_free, 0, sizeof(*x) - offsetof(struct invocation, next_free));
    x->req = req;
    return x;
}

static void inv_destroy(struct invocation *x)
{
    evbuffer_free(x->body);
    evbuffer_free(x->result);
    free(x);
}

/* Gives back everything x holds (connection, slot or queue place) and x
 * itself. reusable: the connection ended cleanly and may be pooled. */
static void inv_free(struct invocation *x, int reusable)
{
    struct request *req = x->req;

    evtimer_del(&x->timer);
    /* the connection first: its output may still refer to x->body */
    if (x->uc)
        upstream_release(x->uc, reusable);
    if (x->state == I_DETACHED) {
        if (x->dprev)
            x->dprev->dnext = x->dnext;
        else
            inv_detached = x->dnext;
        if (x->dnext)
            x->dnext->dprev = x->dprev;
        fncall_slot_release(&x->slot);
    }
    if (req && x->state == I_QUEUED)
        fncall_cancel(req);
    if (req && x->have_slot)
        fncall_release(req);
    evbuffer_drain(x->body, evbuffer_get_length(x->body));
    evbuffer_drain(x->result, evbuffer_get_length(x->result));
    if (req)
        req->handler_state = NULL;
    if (inv_pool_len < INVOCATION_POOL_MAX) {
        x->next_free = inv_pool;
        inv_pool = x;
        inv_pool_len++;
        return;
    }
    inv_destroy(x);
}

static void invoke_thread_exit(void)
{
    while (inv_detached)
        inv_free(inv_detached, 0);
    while (inv_pool) {
        struct invocation *x = inv_pool;
        inv_pool = x->next_free;
        inv_destroy(x);
    }
    inv_pool_len = 0;
    fncall_thread_exit();
}

/* Ends the request with a sluice answer: status and message for the
 * client, why (kept in err_text or static) for the log. */
static void i_fail(struct invocation *x, int status, const char *message, const char *why)
{
    struct request *req = x->req;

    if (req->upstream_start_us && !req->upstream_end_us)
        req->upstream_end_us = now_us();
    inv_free(x, 0);
    req->error = why;
    if (req->function_error)
        log_warn("request %s: %s (%d)", req->request_id, why, status);
    else
        log_info("request %s: %s (%d)", req->request_id, why, status);
    conn_respond(req, status, message, NULL);
}

static void i_arm_timer(struct invocation *x)
{
    uint32_t ms = x->req->timeout_ms;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(&x->timer, &tv);
}

/* The route's event format. */
static enum payload_version i_payload(const struct request *req)
{
    return req->route ? req->route->payload : PAYLOAD_V2;
}

/* The request's start as wall-clock milliseconds (the event's timeEpoch):
 * the loop's cached wall clock less the request's age on the monotonic
 * clock, which is what start_us is measured on. */
static uint64_t i_request_epoch_ms(const struct request *req)
{
    struct timeval tv;
    uint64_t wall, age;

    event_base_gettimeofday_cached(worker_base(req->worker), &tv);
    wall = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
    age = (now_us() - req->start_us) / 1000;
    return wall > age ? wall - age : wall;
}

static int dump_to_evbuffer(const char *buf, size_t size, void *data)
{
    return evbuffer_add(data, buf, size);
}

/* Turns the body collected in x->body into the event JSON, in place.
 * Returns 0, or -1 when out of memory. */
static int i_build_event(struct invocation *x)
{
    struct request *req = x->req;
    size_t len = evbuffer_get_length(x->body);
    const unsigned char *body = len ? evbuffer_pullup(x->body, -1) : NULL;
    json_t *ev;
    int rc;

    if (len && !body)
        return -1;
    ev = lambda_event_build(req, i_payload(req), body, len, i_request_epoch_ms(req));
    if (!ev)
        return -1;
    evbuffer_drain(x->body, len);
    rc = json_dump_callback(ev, dump_to_evbuffer, x->body, JSON_COMPACT);
    json_decref(ev);
    if (rc < 0)
        return -1;
    x->event_built = 1;
    return 0;
}

/* Takes a connection and sends the invocation on it. Returns 0, or -1
 * with errno set when no connection could be had or out of memory. */
static int i_send(struct invocation *x)
{
    static const char h1[] = " HTTP/1.1\r\nHost: ",
                      h2[] = "\r\nContent-Type: application/json\r\n"
                             "X-Amz-Invocation-Type: RequestResponse\r\n"
                             "X-Amz-Log-Type: None\r\nx-request-id: ",
                      h3[] = "\r\nContent-Length: ";
    struct request *req = x->req;
    const struct invoke_target *t = &req->version->invoke;
    struct upstream_pool *pool;
    size_t plen = strlen(t->path), alen = strlen(t->authority), rlen = strlen(req->request_id);
    char stack[1024];
    size_t bound = 5 + plen + sizeof(h1) + alen + sizeof(h2) + rlen + sizeof(h3) + U64_DEC_MAX + 4;
    struct evbuffer *out;
    char *start, *p;

    pool =
        upstream_pool_get(worker_pools(req->worker), (const struct sockaddr *)&t->addr, t->addrlen);
    if (!pool) {
        errno = ENOMEM;
        return -1;
    }
    x->uc = upstream_acquire(pool);
    if (!x->uc)
        return -1;
    x->got_bytes = 0;
    x->head_scan = 0;
    out = stream_output(x->uc->st);
    start = evb_write_begin(out, stack, sizeof(stack), bound);
    if (!start) {
        errno = ENOMEM;
        return -1;
    }
    p = put_lit(start, "POST ");
    p = put_mem(p, t->path, plen);
    p = put_mem(p, h1, sizeof(h1) - 1);
    p = put_mem(p, t->authority, alen);
    p = put_mem(p, h2, sizeof(h2) - 1);
    p = put_mem(p, req->request_id, rlen);
    p = put_mem(p, h3, sizeof(h3) - 1);
    p += u64_to_dec(p, evbuffer_get_length(x->body));
    p = put_lit(p, "\r\n\r\n");
    /* the event goes out by reference, not copied: x->body stays intact
     * for a retry and is not touched until the connection is released */
    if (evb_write_end(out, stack, start, (size_t)(p - start), bound) < 0 ||
        evbuffer_add_buffer_reference(out, x->body) < 0) {
        errno = ENOMEM;
        return -1;
    }
    stream_setcb(x->uc->st, i_readcb, NULL, i_eventcb, x);
    stream_set_read_high(x->uc->st, 0);
    stream_set_timeouts(x->uc->st, 0, 0);
    stream_enable_read(x->uc->st);
    stream_flush(x->uc->st);
    return 0;
}

/* A slot is ours: build the event (once) and send it. */
static void i_invoke(struct invocation *x)
{
    struct request *req = x->req;

    if (!x->event_built && i_build_event(x) < 0) {
        i_fail(x, 503, "out of memory", "out of memory building the event");
        return;
    }
    x->state = I_SENT;
    req->upstream_start_us = now_us();
    if (i_send(x) < 0) {
        int e = errno;
        i_fail(x, 502, "function endpoint connection failed",
               e == EMFILE || e == ENFILE ? "out of file descriptors for the function endpoint"
               : e == ENOMEM              ? "out of memory sending the invocation"
               : e == ECONNREFUSED        ? "function endpoint refused or reset the connection"
                                          : "function endpoint connection failed");
        return;
    }
    i_arm_timer(x);
}

/* The body is complete: take a slot, wait for one, or answer 429. */
static void i_proceed(struct invocation *x)
{
    struct request *req = x->req;

    switch (fncall_acquire(req, i_slot_ready)) {
    case 1:
        x->have_slot = 1;
        i_invoke(x);
        return;
    case 0:
        x->state = I_QUEUED;
        i_arm_timer(x); /* the wait is bounded by the request's timeout too */
        return;
    default:
        inv_free(x, 0);
        req->error = "the function's concurrency limit is reached and its queue is full";
        fncall_respond_throttled(req);
        return;
    }
}

static void i_slot_ready(struct request *req)
{
    struct invocation *x = req->handler_state;

    evtimer_del(&x->timer);
    x->have_slot = 1;
    x->state = I_START; /* no longer queued */
    i_invoke(x);
}

static int invoke_start(struct request *req)
{
    struct invocation *x = inv_new(req);

    if (!x) {
        req->status = 503;
        req->error = "out of memory";
        return -1;
    }
    req->handler_state = x;
    if (req->body_done) {
        /* Nothing more will come through invoke_body(). Go on from the
         * loop: start() may not answer (the pipeline goes on with req after
         * it), and the next steps may answer at once (429, 502). */
        x->state = I_START;
        event_active(&x->timer, EV_TIMEOUT, 1);
    } else {
        x->state = I_BODY;
    }
    return 0;
}

static void invoke_body(struct request *req, struct evbuffer *buf, int done)
{
    struct invocation *x = req->handler_state;

    if (!x || x->state != I_BODY) {
        evbuffer_drain(buf, evbuffer_get_length(buf));
        return;
    }
    if (fncall_body_add(req, x->body, buf) < 0) {
        inv_free(x, 0);
        conn_respond(req, 413, "request body too large", NULL);
        return;
    }
    if (done) {
        x->state = I_START;
        i_proceed(x);
    }
}

/* ------------------------------------------------------------ the answer */

/* err_text quotes what a function or an endpoint said: control bytes
 * become spaces, so that a message (a stack trace with newlines) stays
 * one line of the error log. */
static const char *i_scrub(char *s)
{
    for (unsigned char *p = (unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return s;
}

/* The error the function reported (X-Amz-Function-Error) with the
 * errorType and errorMessage of its body when there are, into err_text. */
static const char *i_function_error_text(struct invocation *x, const char *text, size_t len)
{
    json_t *v = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(v, "errorType"));
    const char *msg = json_string_value(json_object_get(v, "errorMessage"));

    fmt_buf(err_text, sizeof(err_text), "function error (%s)%s%.60s%s%.200s", x->fn_error,
            type || msg ? ": " : "", type ? type : "", type && msg ? ": " : "", msg ? msg : "");
    json_decref(v);
    return i_scrub(err_text);
}

/* What went wrong when the endpoint answered other than 200, into err_text. */
static const char *i_endpoint_error_text(struct invocation *x, const char *text, size_t len)
{
    const struct invoke_target *t = &x->req->version->invoke;
    json_t *v = json_loadb(text, len, 0, NULL);
    const char *msg = json_string_value(json_object_get(v, "message"));

    /* AWS's error bodies say "message" or "Message"; emulators follow */
    if (!msg)
        msg = json_string_value(json_object_get(v, "Message"));
    if (!msg)
        msg = json_string_value(json_object_get(v, "errorMessage"));
    if (x->status == 404)
        fmt_buf(err_text, sizeof(err_text), "function %.170s not found at %.100s%s%.100s",
                t->function_name, t->endpoint, msg ? ": " : "", msg ? msg : "");
    else
        fmt_buf(err_text, sizeof(err_text), "function endpoint answered %d%s%.200s", x->status,
                msg ? ": " : "", msg ? msg : "");
    json_decref(v);
    return i_scrub(err_text);
}

/* The whole answer is in: give back the connection and the slot, then
 * answer the client. */
static void i_done(struct invocation *x)
{
    struct request *req = x->req;
    struct evbuffer *in = stream_input(x->uc->st);
    size_t len = evbuffer_get_length(x->result);
    const char *text = len ? (const char *)evbuffer_pullup(x->result, -1) : "";
    struct lambda_result r;

    req->upstream_end_us = now_us();
    /* the slot and the connection are free for others before the client
     * is answered */
    upstream_release(x->uc, x->resp_keep_alive && evbuffer_get_length(in) == 0);
    x->uc = NULL;
    if (x->have_slot) {
        fncall_release(req);
        x->have_slot = 0;
    }
    if (!text) {
        i_fail(x, 503, "out of memory", "out of memory reading the function's result");
        return;
    }
    if (x->fn_error[0]) {
        req->function_error = 1;
        i_fail(x, 502, "Internal server error", i_function_error_text(x, text, len));
        return;
    }
    if (x->status != 200) {
        i_fail(x, 502,
               x->status == 404   ? "function not found at its endpoint"
               : x->status == 429 ? "function endpoint throttled the invocation"
                                  : "function invocation failed",
               i_endpoint_error_text(x, text, len));
        return;
    }
    if (lambda_result_parse(text, len, i_payload(req), &r) < 0) {
        req->function_error = 1;
        fmt_buf(err_text, sizeof(err_text), "malformed function result: %s", r.error);
        lambda_result_clear(&r);
        i_fail(x, 502, "Internal server error", i_scrub(err_text));
        return;
    }
    inv_free(x, 0);
    fncall_respond(req, &r);
    lambda_result_clear(&r);
}

/* Moves body bytes of the answer into x->result. Returns 1 when it is
 * complete, 0 when more is needed, -1 when it is malformed, cut short or
 * too large (then *why says which). */
static int i_read_body(struct invocation *x, int eof, const char **why)
{
    struct evbuffer *in = stream_input(x->uc->st);
    size_t n;
    int rc = 0;

    *why = "function endpoint's response ended early or was malformed";
    switch (x->rbody) {
    case RB_NONE:
        return 1;
    case RB_LENGTH:
        n = evbuffer_get_length(in);
        if (n > x->rleft)
            n = (size_t)x->rleft;
        if (n && evbuffer_remove_buffer(in, x->result, n) != (int)n)
            return -1;
        x->rleft -= n;
        rc = x->rleft == 0 ? 1 : eof ? -1 : 0;
        break;
    case RB_CHUNKED:
        rc = http_chunked_decode(&x->rchunked, in, x->result, SIZE_MAX, NULL);
        if (rc == 0 && eof)
            rc = -1;
        break;
    case RB_CLOSE:
        if (evbuffer_add_buffer(x->result, in) < 0)
            return -1;
        rc = eof ? 1 : 0;
        break;
    }
    if (rc >= 0 && evbuffer_get_length(x->result) > INVOKE_MAX_RESULT) {
        *why = "function result larger than 6 MiB";
        return -1;
    }
    return rc;
}

/* Reads the answer's head. Returns 1 when it was read, 0 when more bytes
 * are needed, -1 after failing the request. */
static int i_read_head(struct invocation *x)
{
    struct evbuffer *in = stream_input(x->uc->st);
    struct http_response_head *rh = &resp_head;
    size_t len, end;
    const char *p;

    for (;;) {
        size_t take;
        len = evbuffer_get_length(in);
        take = len < INVOKE_MAX_HEAD ? len : INVOKE_MAX_HEAD;
        p = (const char *)evbuffer_pullup(in, (ev_ssize_t)take);
        end = http_head_end(p, take, &x->head_scan);
        if (end == 0) {
            if (len >= INVOKE_MAX_HEAD) {
                i_fail(x, 502, "function invocation failed",
                       "function endpoint's response head too large");
                return -1;
            }
            return 0;
        }
        if (http_parse_response(p, end, rh) < 0) {
            i_fail(x, 502, "function invocation failed",
                   "malformed response from the function endpoint");
            return -1;
        }
        if (rh->status >= 200)
            break;
        if (rh->status == 101) {
            i_fail(x, 502, "function invocation failed", "function endpoint switched protocols");
            return -1;
        }
        /* 100 Continue and other interim answers carry nothing for us */
        evbuffer_drain(in, end);
        x->head_scan = 0;
    }
    x->status = rh->status;
    x->resp_keep_alive = rh->keep_alive;
    for (size_t i = 0; i < rh->nheaders; i++) {
        const struct http_header *hd = &rh->headers[i];
        if (hd->name.len == 20 && ascii_eq_lc(hd->name.ptr, "x-amz-function-error", 20)) {
            /* a value is "Unhandled" or "Handled"; an empty one still
             * says the function failed */
            size_t n =
                hd->value.len < sizeof(x->fn_error) - 1 ? hd->value.len : sizeof(x->fn_error) - 1;
            if (n == 0)
                memcpy(x->fn_error, "Unhandled", 10);
            else {
                memcpy(x->fn_error, hd->value.ptr, n);
                x->fn_error[n] = '\0';
            }
        }
    }
    if (rh->status == 204 || rh->status == 304) {
        x->rbody = RB_NONE;
    } else if (rh->chunked) {
        x->rbody = RB_CHUNKED;
        http_chunked_init(&x->rchunked, INVOKE_MAX_HEAD);
    } else if (rh->content_length >= 0) {
        if ((uint64_t)rh->content_length > INVOKE_MAX_RESULT) {
            i_fail(x, 502, "function invocation failed", "function result larger than 6 MiB");
            return -1;
        }
        x->rbody = RB_LENGTH;
        x->rleft = (uint64_t)rh->content_length;
    } else {
        x->rbody = RB_CLOSE;
        x->resp_keep_alive = 0;
    }
    evbuffer_drain(in, end);
    x->head_done = 1;
    return 1;
}

/* Reads what arrived; eof: the endpoint closed its side. */
static void i_pump(struct invocation *x, int eof)
{
    const char *why;
    int rc;

    if (!x->head_done) {
        rc = i_read_head(x);
        if (rc < 0)
            return;
        if (rc == 0) {
            if (eof)
                i_fail(x, 502, "function invocation failed",
                       stream_input_length(x->uc->st)
                           ? "malformed response from the function endpoint"
                           : "function endpoint closed the connection");
            return;
        }
    }
    rc = i_read_body(x, eof, &why);
    if (rc < 0)
        i_fail(x, 502, "function invocation failed", why);
    else if (rc == 1)
        i_done(x);
}

static void i_readcb(struct stream *st, void *arg)
{
    struct invocation *x = arg;

    if (x->state == I_DETACHED) {
        /* the function ended at last: its answer has no one to go to */
        inv_free(x, 0);
        return;
    }
    x->got_bytes = 1;
    i_pump(x, 0);
}

/* A pooled connection the endpoint closed while it sat idle fails before
 * any answer byte: the invocation never reached the function, so it is
 * sent once more on a fresh connection (the event is still in x->body).
 * A fresh connection failing that way is not retried: there the function
 * may have run. */
static int i_can_retry(struct invocation *x)
{
    return x->uc && x->uc->reused && !x->got_bytes && !x->retried;
}

static void i_eventcb(struct stream *st, short what, void *arg)
{
    struct invocation *x = arg;
    struct request *req = x->req;

    if (x->state == I_DETACHED) {
        inv_free(x, 0);
        return;
    }
    if (i_can_retry(x) && (what & (STREAM_EOF | STREAM_ERROR))) {
        upstream_release(x->uc, 0);
        x->uc = NULL;
        x->retried = 1;
        log_debug("request %s: pooled function endpoint connection was closed, retrying",
                  req->request_id);
        if (i_send(x) == 0)
            return;
        i_fail(x, 502, "function endpoint connection failed",
               "function endpoint connection failed");
        return;
    }
    if (what & STREAM_EOF) {
        i_pump(x, 1);
        return;
    }
    i_fail(x, 502, "function endpoint connection failed",
           !x->got_bytes && x->uc && !x->uc->reused && !x->uc->requests
               ? "function endpoint refused or reset the connection"
               : "function endpoint closed the connection");
}

/* The function outlived its timeout: the client gets 504 now, while x
 * stays with the connection and the slot until the endpoint answers. */
static void i_detach(struct invocation *x)
{
    struct request *req = x->req;
    struct timeval tv = { DETACHED_MAX_MS / 1000, (DETACHED_MAX_MS % 1000) * 1000 };

    req->upstream_end_us = now_us();
    fncall_detach(req, &x->slot);
    x->have_slot = 0;
    x->state = I_DETACHED;
    x->req = NULL;
    req->handler_state = NULL;
    x->dprev = NULL;
    x->dnext = inv_detached;
    if (inv_detached)
        inv_detached->dprev = x;
    inv_detached = x;
    evtimer_add(&x->timer, &tv);
    req->error = "function timed out (its concurrency slot is kept until it ends)";
    log_info("request %s: %s (504)", req->request_id, req->error);
    conn_respond(req, 504, "function timed out", NULL);
}

static void i_timercb(evutil_socket_t fd, short what, void *arg)
{
    struct invocation *x = arg;
    struct request *req = x->req;

    switch (x->state) {
    case I_START:
        i_proceed(x);
        return;
    case I_QUEUED:
        inv_free(x, 0); /* leaves the queue */
        req->error = "waited the whole timeout for a function concurrency slot";
        fncall_respond_throttled(req);
        return;
    case I_SENT:
        /* Lambda counts a timeout as the function's error */
        req->function_error = 1;
        if (x->have_slot && req->version->max_concurrency && req->version->limit) {
            i_detach(x);
            return;
        }
        i_fail(x, 504, "function timed out", "function timed out");
        return;
    case I_DETACHED:
        log_warn("function endpoint still silent %d s after a timeout: its concurrency slot "
                 "is given back",
                 DETACHED_MAX_MS / 1000);
        inv_free(x, 0);
        return;
    case I_BODY:
        return; /* not armed while the body arrives (conn.c times that) */
    }
}

/* The whole answer goes out at once: nothing to resume. */
static void invoke_writable(struct request *req)
{
}

static void invoke_abort(struct request *req)
{
    struct invocation *x = req->handler_state;

    if (x) {
        if (req->upstream_start_us && !req->upstream_end_us)
            req->upstream_end_us = now_us();
        inv_free(x, 0);
    }
}

const struct handler_kind_ops handler_invoke_ops = {
    .name = "invoke",
    .start = invoke_start,
    .body = invoke_body,
    .writable = invoke_writable,
    .abort = invoke_abort,
    .thread_exit = invoke_thread_exit,
};
