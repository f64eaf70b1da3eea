/* handler_http.c - the http handler kind: reverse proxy over pooled
 * keep-alive connections, bodies streamed both ways with backpressure. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "breaker.h"
#include "conn.h"
#include "handler.h"
#include "http_parser.h"
#include "log.h"
#include "proxy_head.h"
#include "request.h"
#include "stream.h"
#include "upstream.h"
#include "util.h"
#include "worker.h"

/* A response head from an upstream larger than this is refused (502). */
#define UPSTREAM_MAX_HEAD 65536
/* Request body queued towards the upstream before the client is paused. */
#define UPSTREAM_OUT_HIGH (1024 * 1024)
#define UPSTREAM_OUT_LOW (256 * 1024)
/* A request body up to this size is kept until the response begins, so
 * that a request sent on a dead pooled connection can be sent again. */
#define REPLAY_MAX (64 * 1024)

enum xstate {
    X_WAIT_HEAD, /* request sent (or being sent), no response byte yet */
    X_BODY,      /* response head forwarded, body streaming */
};

enum rbody { RB_NONE, RB_LENGTH, RB_CHUNKED, RB_CLOSE };

/* One request's exchange with an upstream. */
struct exchange {
    struct request *req;
    struct upstream_pool *pool;
    struct upstream_conn *uc;
    struct event timer;  /* assigned once per pooled exchange */
    struct event ctimer; /* connect timeout, or the breaker's 503; assigned once too */
    struct exchange *next_free;
    enum xstate state;
    enum rbody rbody;
    uint64_t rleft;              /* RB_LENGTH: bytes still to forward */
    struct http_chunked rchunked;
    size_t head_scan;
    int client_chunked;          /* re-encode the body as chunked to the client */
    int upstream_body_chunked;   /* the request body goes upstream chunked */
    int retried;
    int got_bytes;               /* any response byte arrived on this connection */
    int resp_keep_alive;
    int sent_all;                /* the whole request body went into the upstream buffer */
    int connecting;              /* a new connection's connect is under way */
    int denied;                  /* the circuit breaker is open: answer 503 */
    uint32_t retry_after_s;      /* denied: for Retry-After */
    struct breaker *breaker;     /* NULL: no breaker on this handler */
    int probe;                   /* this request is the half-open breaker's probe */
    int judged;                  /* the breaker heard this request's outcome */
    int replay_ok;               /* every body byte sent so far is in replay */
    struct evbuffer *replay;     /* body bytes as sent, for a retry (or NULL) */
};

static void x_readcb(struct stream *st, void *arg);
static void x_writecb(struct stream *st, void *arg);
static void x_eventcb(struct stream *st, short what, void *arg);
static void x_timercb(evutil_socket_t fd, short what, void *arg);
static void x_ctimercb(evutil_socket_t fd, short what, void *arg);

/* Exchanges are pooled per worker thread (each worker has its own loop,
 * so a pooled exchange's timer stays assigned to the right base). */
#define EXCHANGE_POOL_MAX 256
static _Thread_local struct exchange *exchange_pool;
static _Thread_local unsigned exchange_pool_len;

static struct exchange *x_new(struct request *req)
{
    struct exchange *x = exchange_pool;

    if (x) {
        exchange_pool = x->next_free;
        exchange_pool_len--;
    } else {
        x = malloc(sizeof(*x));
        if (!x)
            return NULL;
        if (event_assign(&x->timer, worker_base(req->worker), -1, 0, x_timercb, x) < 0 ||
            event_assign(&x->ctimer, worker_base(req->worker), -1, 0, x_ctimercb, x) < 0) {
            free(x);
            return NULL;
        }
    }
    /* everything but the assigned timers starts cleared */
    memset(x, 0, offsetof(struct exchange, timer));
    memset(&x->next_free, 0, sizeof(*x) - offsetof(struct exchange, next_free));
    x->req = req;
    return x;
}

static void x_free(struct exchange *x, int reusable)
{
    struct request *req = x->req;

    evtimer_del(&x->timer);
    evtimer_del(&x->ctimer);
    if (x->uc)
        upstream_release(x->uc, reusable);
    if (x->replay) {
        evbuffer_free(x->replay);
        x->replay = NULL;
    }
    if (x->probe && !x->judged)
        breaker_cancel_probe(x->breaker);
    req->handler_state = NULL;
    if (exchange_pool_len < EXCHANGE_POOL_MAX) {
        x->next_free = exchange_pool;
        exchange_pool = x;
        exchange_pool_len++;
        return;
    }
    free(x);
}

static void http_thread_exit(void)
{
    while (exchange_pool) {
        struct exchange *x = exchange_pool;
        exchange_pool = x->next_free;
        free(x);
    }
    exchange_pool_len = 0;
}

/* One response head per thread: it is only used while x_read_head runs. */
static _Thread_local struct http_response_head resp_head;

/* Tells the breaker how the request went, once: ok = 0 for a failure of
 * the upstream (no connection, reset, timeout, or a 502/503/504 of its own). */
static void x_judge(struct exchange *x, int ok)
{
    const struct http_breaker_conf *bc = &x->req->version->http.breaker;

    if (!x->breaker || x->judged)
        return;
    x->judged = 1;
    breaker_record(x->breaker, x->probe, ok, now_ms(), bc->failures, bc->cooldown_ms);
}

/* Fails the request with a sluice response when nothing was sent to the
 * client yet, else breaks the client connection (the only honest signal
 * left once a response is under way). */
static void x_fail(struct exchange *x, int status, const char *why)
{
    struct request *req = x->req;

    if (!req->upstream_end_us)
        req->upstream_end_us = now_us();
    if (status == 502 || status == 504)
        x_judge(x, 0);
    x_free(x, 0);
    req->error = why;
    if (req->response_started) {
        conn_abort(req, why);
        return;
    }
    log_info("request %s: %s (%d)", req->request_id, why, status);
    conn_respond(req, status, why, NULL);
}

static void x_arm_timer(struct exchange *x)
{
    uint32_t ms = x->req->timeout_ms;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    evtimer_add(&x->timer, &tv);
}

/* Sends the request head (and body so far) on x->uc. */
static int x_send_head(struct exchange *x)
{
    struct request *req = x->req;
    const struct http_target *t = &req->version->http;
    struct proxy_request_info info;
    struct evbuffer *out = stream_output(x->uc->st);

    memset(&info, 0, sizeof(info));
    info.base_path = (struct slice){ t->base_path, strlen(t->base_path) };
    if (req->match.has_greedy)
        info.path = (struct slice){ req->match.greedy.ptr - 1, req->match.greedy.len + 1 };
    else
        info.path = req->head.path;
    info.query = req->head.query;
    info.authority = (struct slice){ t->authority, strlen(t->authority) };
    info.client_ip = req->client_ip;
    info.proto = conn_is_tls(req) ? "https" : "http";
    info.request_id = req->request_id;
    info.strip = req->cfg->claim_headers;
    info.nstrip = req->cfg->nclaim_headers;
    if (req->auth) {
        info.extra = worker_scratch(req->worker);
        if (authz_claim_headers(req, info.extra) < 0)
            return -1;
    }
    if (req->body_kind == BODY_LENGTH) {
        info.body = PROXY_BODY_LENGTH;
        info.content_length = (uint64_t)req->head.content_length;
    } else if (req->body_kind == BODY_CHUNKED) {
        info.body = PROXY_BODY_CHUNKED;
        x->upstream_body_chunked = 1;
    }
    if (proxy_head_request(out, &req->head, &info) < 0)
        return -1;
    if (x->replay && evbuffer_get_length(x->replay)) {
        /* a retry: the body bytes the dead connection took go again */
        if (evbuffer_add_buffer(out, x->replay) < 0)
            return -1;
    }
    stream_setcb(x->uc->st, x_readcb, x_writecb, x_eventcb, x);
    stream_set_write_low(x->uc->st, UPSTREAM_OUT_LOW);
    stream_set_read_high(x->uc->st, 0);
    stream_set_timeouts(x->uc->st, 0, 0);
    stream_enable_read(x->uc->st);
    stream_flush(x->uc->st);
    return 0;
}

static int x_connect(struct exchange *x)
{
    x->uc = upstream_acquire(x->pool);
    if (!x->uc)
        return -1;
    x->got_bytes = 0;
    x->head_scan = 0;
    x->connecting = !x->uc->reused;
    if (x->connecting) {
        uint32_t ms = x->req->version->http.connect_timeout_ms;
        struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
        evtimer_add(&x->ctimer, &tv);
    }
    return x_send_head(x);
}

/* The connection is up: the connect timeout no longer applies. */
static void x_connected(struct exchange *x)
{
    if (x->connecting) {
        x->connecting = 0;
        evtimer_del(&x->ctimer);
    }
}

/* The breaker is open: 503 with Retry-After, from the loop (http_start
 * may not answer itself). */
static void x_deny(struct exchange *x)
{
    struct request *req = x->req;
    char hdr[40];

    fmt_buf(hdr, sizeof(hdr), "Retry-After: %u\r\n", x->retry_after_s);
    req->upstream_end_us = now_us();
    x_free(x, 0);
    req->error = "upstream circuit breaker open";
    req->breaker_open = 1;
    log_debug("request %s: circuit breaker open, 503", req->request_id);
    conn_respond(req, 503, "upstream unavailable (circuit breaker open)", hdr);
}

/* Connect timeout, or a denied request to answer. */
static void x_ctimercb(evutil_socket_t fd, short what, void *arg)
{
    struct exchange *x = arg;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (x->denied) {
        x_deny(x);
        return;
    }
    if (!x->connecting || !x->uc)
        return;
    /* the write callback may not have said so yet (a large body queued) */
    if (getpeername(stream_fd(x->uc->st), (struct sockaddr *)&ss, &len) == 0) {
        x->connecting = 0;
        return;
    }
    x_fail(x, 504, "upstream connect timed out");
}

static int http_start(struct request *req)
{
    struct exchange *x = x_new(req);
    const struct http_target *t = &req->version->http;

    if (!x) {
        req->status = 503;
        req->error = "out of memory";
        return -1;
    }
    req->handler_state = x;
    x->pool = upstream_pool_get_tls(worker_pools(req->worker), (const struct sockaddr *)&t->addr,
                                    t->addrlen, t->tls_ctx, t->host);
    if (!x->pool) {
        x_free(x, 0);
        req->status = 503;
        req->error = "out of memory";
        return -1;
    }
    req->upstream_start_us = now_us();
    x->sent_all = req->body_done; /* no body: nothing more will be sent */
    if (t->breaker.failures && (x->breaker = upstream_pool_breaker(x->pool))) {
        enum breaker_verdict v =
            breaker_allow(x->breaker, now_ms(), t->breaker.cooldown_ms, &x->retry_after_s);
        if (v == BREAKER_DENY) {
            struct timeval now = { 0, 0 };
            x->denied = 1;
            x->breaker = NULL; /* nothing to report */
            evtimer_add(&x->ctimer, &now);
            return 0;
        }
        x->probe = v == BREAKER_PROBE;
    }
    if (x_connect(x) < 0) {
        int e = errno;
        if (e != EMFILE && e != ENFILE && e != ENOMEM)
            x_judge(x, 0);
        x_free(x, 0);
        req->status = 502;
        req->error = e == EMFILE || e == ENFILE ? "out of file descriptors for the upstream"
                                                : "upstream connection failed";
        return -1;
    }
    /* a body small enough is kept for a retry on a dead pooled connection */
    x->replay_ok = req->body_kind == BODY_NONE ||
                   (x->uc->reused && (req->body_kind == BODY_CHUNKED ||
                                      (uint64_t)req->head.content_length <= REPLAY_MAX));
    x_arm_timer(x);
    return 0;
}

/* Keeps a copy of the n body bytes just added at the end of out, while a
 * retry is still possible; gives up on replaying past REPLAY_MAX. */
static void x_keep_for_replay(struct exchange *x, struct evbuffer *out, size_t n)
{
    struct evbuffer_ptr pos;
    struct evbuffer_iovec v[8];
    size_t have = x->replay ? evbuffer_get_length(x->replay) : 0;
    int nv;

    if (!x->replay_ok || x->retried || x->got_bytes || !n)
        return;
    if (have + n > REPLAY_MAX || (!x->replay && !(x->replay = evbuffer_new())) ||
        evbuffer_ptr_set(out, &pos, evbuffer_get_length(out) - n, EVBUFFER_PTR_SET) < 0)
        goto give_up;
    while (n) {
        nv = evbuffer_peek(out, (ev_ssize_t)n, &pos, v, 8);
        if (nv <= 0)
            goto give_up;
        for (int i = 0; i < nv && i < 8 && n; i++) {
            size_t take = v[i].iov_len < n ? v[i].iov_len : n;
            if (evbuffer_add(x->replay, v[i].iov_base, take) < 0)
                goto give_up;
            n -= take;
            if (evbuffer_ptr_set(out, &pos, take, EVBUFFER_PTR_ADD) < 0 && n)
                goto give_up;
        }
    }
    return;
give_up:
    x->replay_ok = 0;
    if (x->replay) {
        evbuffer_free(x->replay);
        x->replay = NULL;
    }
}

/* Request body bytes from the client go upstream, re-framed. */
static void http_body(struct request *req, struct evbuffer *buf, int done)
{
    struct exchange *x = req->handler_state;
    struct evbuffer *out;
    size_t n = evbuffer_get_length(buf), before;

    if (!x || !x->uc) {
        evbuffer_drain(buf, n);
        return;
    }
    out = stream_output(x->uc->st);
    before = evbuffer_get_length(out);
    if (x->upstream_body_chunked) {
        if (n) {
            evbuffer_add_printf(out, "%zx\r\n", n);
            evbuffer_remove_buffer(buf, out, n);
            evbuffer_add(out, "\r\n", 2);
        }
        if (done)
            evbuffer_add(out, "0\r\n\r\n", 5);
    } else if (n) {
        evbuffer_remove_buffer(buf, out, n);
    }
    if (done)
        x->sent_all = 1;
    x_keep_for_replay(x, out, evbuffer_get_length(out) - before);
    stream_flush(x->uc->st);
    if (evbuffer_get_length(out) >= UPSTREAM_OUT_HIGH)
        conn_body_pause(req);
}

/* The upstream took request body bytes: let the client send more. */
static void x_writecb(struct stream *st, void *arg)
{
    struct exchange *x = arg;

    x_connected(x);
    if (!x->sent_all)
        conn_body_resume(x->req);
}

/* Finishes the exchange after the last response byte. */
static void x_done(struct exchange *x)
{
    struct request *req = x->req;
    struct evbuffer *in = stream_input(x->uc->st);
    /* the connection is only reusable when both messages ended cleanly */
    int reusable = x->resp_keep_alive && req->body_done && x->sent_all &&
                   evbuffer_get_length(in) == 0;

    if (x->client_chunked)
        evbuffer_add(conn_output(req), "0\r\n\r\n", 5);
    req->upstream_end_us = now_us();
    x_free(x, reusable);
    conn_response_done(req);
}

/* Moves response body bytes to the client. Returns 1 when the body is
 * complete, 0 when more is needed, -1 on bad framing. */
static int x_forward_body(struct exchange *x, int eof)
{
    struct request *req = x->req;
    struct evbuffer *in = stream_input(x->uc->st);
    struct evbuffer *out = conn_output(req);
    size_t n;

    switch (x->rbody) {
    case RB_NONE:
        return 1;
    case RB_LENGTH:
        n = evbuffer_get_length(in);
        if (n > x->rleft)
            n = (size_t)x->rleft;
        if (n) {
            evbuffer_remove_buffer(in, out, n);
            x->rleft -= n;
            req->bytes_out += n;
        }
        if (x->rleft == 0)
            return 1;
        return eof ? -1 : 0;
    case RB_CHUNKED: {
        struct evbuffer *tmp = worker_scratch(req->worker);
        size_t moved = 0;
        int rc = http_chunked_decode(&x->rchunked, in, tmp, SIZE_MAX, &moved);
        if (moved) {
            if (x->client_chunked) {
                evbuffer_add_printf(out, "%zx\r\n", moved);
                evbuffer_remove_buffer(tmp, out, moved);
                evbuffer_add(out, "\r\n", 2);
            } else {
                evbuffer_remove_buffer(tmp, out, moved);
            }
            req->bytes_out += moved;
        }
        if (rc < 0)
            return -1;
        if (rc == 0 && eof)
            return -1;
        return rc;
    }
    case RB_CLOSE:
        n = evbuffer_get_length(in);
        if (n) {
            if (x->client_chunked) {
                evbuffer_add_printf(out, "%zx\r\n", n);
                evbuffer_remove_buffer(in, out, n);
                evbuffer_add(out, "\r\n", 2);
            } else {
                evbuffer_remove_buffer(in, out, n);
            }
            req->bytes_out += n;
        }
        return eof ? 1 : 0;
    }
    return -1;
}

/* Forwards what the upstream sent, pausing when the client is slow. */
static void x_pump(struct exchange *x, int eof)
{
    int rc = x_forward_body(x, eof);

    if (rc < 0) {
        x_fail(x, 502, "upstream response body ended early or was malformed");
        return;
    }
    if (rc == 1) {
        x_done(x);
        return;
    }
    conn_flush(x->req);
    if (conn_output_full(x->req))
        stream_disable_read(x->uc->st);
}

/* Parses the response head and writes the client's. Returns 1 when the
 * head was handled, 0 when more bytes are needed, -1 after failing. */
static int x_read_head(struct exchange *x)
{
    struct request *req = x->req;
    struct evbuffer *in = stream_input(x->uc->st);
    struct http_response_head *rh;
    struct proxy_response_info ri;
    size_t len = evbuffer_get_length(in), end, before;
    const char *p;
    int head_req = req->head.method_id == HTTP_M_HEAD;

    for (;;) {
        size_t take = len < UPSTREAM_MAX_HEAD ? len : UPSTREAM_MAX_HEAD;
        p = (const char *)evbuffer_pullup(in, (ev_ssize_t)take);
        end = http_head_end(p, take, &x->head_scan);
        if (end == 0) {
            if (len >= UPSTREAM_MAX_HEAD) {
                x_fail(x, 502, "upstream response head too large");
                return -1;
            }
            return 0;
        }
        rh = &resp_head;
        if (http_parse_response(p, end, rh) < 0) {
            x_fail(x, 502, "malformed response from upstream");
            return -1;
        }
        if (rh->status >= 100 && rh->status < 200) {
            /* interim responses: 101 would switch protocols, which this
             * proxy does not do; others are dropped */
            if (rh->status == 101) {
                x_fail(x, 502, "upstream switched protocols");
                return -1;
            }
            evbuffer_drain(in, end);
            x->head_scan = 0;
            len = evbuffer_get_length(in);
            continue;
        }
        break;
    }

    x->resp_keep_alive = rh->keep_alive;
    if (head_req || rh->status == 204 || rh->status == 304) {
        x->rbody = RB_NONE;
    } else if (rh->chunked) {
        x->rbody = RB_CHUNKED;
        http_chunked_init(&x->rchunked, UPSTREAM_MAX_HEAD);
    } else if (rh->content_length >= 0) {
        x->rbody = RB_LENGTH;
        x->rleft = (uint64_t)rh->content_length;
    } else {
        x->rbody = RB_CLOSE;
        x->resp_keep_alive = 0;
    }

    memset(&ri, 0, sizeof(ri));
    ri.request_id = req->request_id;
    ri.version = req->version->name;
    ri.client_minor = req->head.version_minor;
    ri.head_request = head_req;
    switch (x->rbody) {
    case RB_NONE:
        ri.framing = PROXY_RESP_NO_BODY;
        break;
    case RB_LENGTH:
        ri.framing = PROXY_RESP_LENGTH;
        break;
    case RB_CHUNKED:
    case RB_CLOSE:
        if (req->head.version_minor >= 1) {
            ri.framing = PROXY_RESP_CHUNKED;
            x->client_chunked = 1;
        } else {
            ri.framing = PROXY_RESP_CLOSE;
            req->keep_alive = 0;
        }
        break;
    }
    x_judge(x, rh->status < 502 || rh->status > 504);
    if (x->replay) {
        evbuffer_free(x->replay); /* no retry once the upstream answered */
        x->replay = NULL;
    }
    x->replay_ok = 0;
    conn_response_started(req, rh->status);
    if (!req->body_done)
        req->keep_alive = 0; /* answered before the body ended: cannot reuse */
    ri.keep_alive = req->keep_alive;
    before = evbuffer_get_length(conn_output(req));
    if (proxy_head_response(conn_output(req), rh, &ri) < 0) {
        x_fail(x, 503, "out of memory");
        return -1;
    }
    req->bytes_out += evbuffer_get_length(conn_output(req)) - before;
    evbuffer_drain(in, end);
    x->state = X_BODY;
    evtimer_del(&x->timer);
    /* from here the timeout bounds silence between body reads */
    stream_set_timeouts(x->uc->st, req->timeout_ms, 0);
    return 1;
}

static void x_readcb(struct stream *st, void *arg)
{
    struct exchange *x = arg;

    x->got_bytes = 1;
    x_connected(x);
    if (x->state == X_WAIT_HEAD) {
        if (x_read_head(x) <= 0)
            return;
    }
    x_pump(x, 0);
}

/* A pooled connection that the server closed while it sat idle shows up
 * as an error before any response byte: that request never reached the
 * application, so it is safe to send it once more on another connection
 * (pooled or new) when all of its body sent so far was kept (replay). */
static int x_can_retry(struct exchange *x)
{
    return x->uc && x->uc->reused && !x->got_bytes && !x->retried && x->replay_ok &&
           x->state == X_WAIT_HEAD;
}

static void x_eventcb(struct stream *st, short what, void *arg)
{
    struct exchange *x = arg;
    struct request *req = x->req;

    if (x_can_retry(x) && (what & (STREAM_EOF | STREAM_ERROR))) {
        upstream_release(x->uc, 0);
        x->uc = NULL;
        x->retried = 1;
        log_debug("request %s: pooled upstream connection was closed, retrying", req->request_id);
        if (x_connect(x) == 0) {
            if (x->replay) {
                evbuffer_free(x->replay); /* handed over to the new connection */
                x->replay = NULL;
            }
            x->replay_ok = 0;
            return;
        }
        x_fail(x, 502, "upstream connection failed");
        return;
    }
    if (what & STREAM_TIMEOUT) {
        x_fail(x, 504, "upstream timed out");
        return;
    }
    if (x->state == X_BODY && (what & STREAM_EOF)) {
        x_pump(x, 1);
        return;
    }
    if (x->state == X_WAIT_HEAD && (what & STREAM_EOF) && stream_input_length(st)) {
        x_fail(x, 502, "malformed response from upstream");
        return;
    }
    if ((what & STREAM_ERROR) && !x->got_bytes && stream_is_tls(st) &&
        stream_error(st) == EPROTO) {
        const char *v = stream_tls_verify_error(st);
        log_warn("request %s: TLS handshake with upstream %s failed: %s", req->request_id,
                 req->version->http.url, v ? v : "protocol error");
        x_fail(x, 502, v ? "upstream certificate refused" : "upstream TLS handshake failed");
        return;
    }
    x_fail(x, 502, (what & STREAM_ERROR) && !x->got_bytes && x->uc && !x->uc->reused &&
                           !x->uc->requests
                       ? "upstream connection refused or reset"
                       : "upstream closed the connection");
}

static void x_timercb(evutil_socket_t fd, short what, void *arg)
{
    struct exchange *x = arg;
    x_fail(x, 504, "upstream timed out");
}

static void http_writable(struct request *req)
{
    struct exchange *x = req->handler_state;

    if (!x || x->state != X_BODY)
        return;
    stream_enable_read(x->uc->st);
    /* bytes may already wait in the input buffer: move them now */
    if (stream_input_length(x->uc->st))
        x_pump(x, 0);
}

static void http_abort(struct request *req)
{
    struct exchange *x = req->handler_state;

    if (x) {
        if (!req->upstream_end_us)
            req->upstream_end_us = now_us();
        x_free(x, 0);
    }
}

const struct handler_kind_ops handler_http_ops = {
    .name = "http",
    .start = http_start,
    .body = http_body,
    .writable = http_writable,
    .abort = http_abort,
    .thread_exit = http_thread_exit,
};
