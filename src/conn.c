/* conn.c - client connections: heads, bodies, limits, timeouts, keep-alive. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authz.h"
#include "handler.h"
#include "http_parser.h"
#include "log.h"
#include "pipeline.h"
#include "request.h"
#include "respond.h"
#include "stream.h"
#include "worker.h"

/* Output beyond this makes handlers pause; they resume below the low mark.
 * Enough to keep the socket busy, small enough that a slow client reading
 * a 100 MB response costs megabytes, not the response. */
#define OUTPUT_HIGH (1024 * 1024)
#define OUTPUT_LOW (256 * 1024)
/* Input read ahead of the current request (pipelined heads, body bytes
 * the handler has not taken yet). */
#define INPUT_HIGH (256 * 1024)
/* How long a closing connection keeps reading (and discarding) what the
 * client still sends, so our last response is not destroyed by a reset. */
#define LINGER_MS 2000
#define LINGER_MAX_BYTES (1024 * 1024)

/* A client address, for limits.max_connections_per_ip. */
struct ip_key {
    uint8_t addr[16];
    uint8_t family;
};

enum conn_state {
    CONN_IDLE,    /* waiting for the first byte of a request head */
    CONN_HEAD,    /* part of a head received */
    CONN_REQUEST, /* a request is being served */
    CONN_CLOSING, /* flushing the last response, then lingering */
    CONN_LINGER,  /* write side shut, discarding input until EOF or timeout */
};

struct conn {
    struct worker *w;
    struct stream *st;
    uint64_t head_deadline_ms; /* CONN_HEAD: the whole head must be in by then */
    struct request *req;
    struct conn *prev, *next; /* worker's list (worker.c) */
    size_t head_scan;
    size_t lingered;
    enum conn_state state;
    unsigned body_paused : 1;
    unsigned peer_eof : 1;
    unsigned close_after : 1; /* close once the current response is out */
    unsigned kick_pending : 1;
    unsigned ip_counted : 1; /* holds a slot in the per-address count */
    char client_ip[48];
    struct ip_key ipk;
};

static void conn_readcb(struct stream *st, void *arg);
static void conn_writecb(struct stream *st, void *arg);
static void conn_eventcb(struct stream *st, short what, void *arg);
static void conn_try_head(struct conn *c);
static void conn_feed_body(struct conn *c);
static void request_end(struct conn *c, struct request *req);
static void conn_link(struct conn *c);
static void conn_unlink(struct conn *c);

/* ------------------------------------------------------------ helpers */

/* The config new requests get; a request in flight uses its own. */
static const struct config *conn_cfg(struct conn *c)
{
    return worker_config(c->w);
}

/* A read timeout (0 = none) and, always, the idle timeout as the limit
 * for a client that stops reading our output. The read timeout is also
 * how idle, header and linger time limits are kept: one timer per
 * connection fewer, in memory and in work per request. */
static void set_read_timeout_ms(struct conn *c, uint32_t ms)
{
    stream_set_timeouts(c->st, ms, conn_cfg(c)->limits.idle_timeout_ms);
}

/* ------------------------------------------------------------ per address */

/* Open connections per client address, across all workers (SO_REUSEPORT
 * spreads one client's connections over them). One lock per connection
 * opened or closed, none per request. */
#define IP_BUCKETS 4096

struct ip_entry {
    struct ip_key key;
    uint32_t count;
    struct ip_entry *next;
};

static pthread_mutex_t ip_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ip_entry *ip_table[IP_BUCKETS];
static atomic_ulong ip_refused;     /* connections refused by the cap */
static atomic_ulong ip_refused_log; /* now_ms() of the last log line about it */

static int ip_key_from(struct ip_key *k, const struct sockaddr *sa)
{
    memset(k, 0, sizeof(*k));
    if (sa->sa_family == AF_INET) {
        memcpy(k->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        memcpy(k->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    } else {
        return -1;
    }
    k->family = (uint8_t)sa->sa_family;
    return 0;
}

static unsigned ip_hash(const struct ip_key *k)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < sizeof(k->addr); i++)
        h = (h ^ k->addr[i]) * 16777619u;
    return (h ^ k->family) % IP_BUCKETS;
}

/* Takes a slot for k. Returns 0, or -1 when k already holds max (or out
 * of memory). */
static int ip_acquire(const struct ip_key *k, uint32_t max)
{
    struct ip_entry **pp = &ip_table[ip_hash(k)], *e;
    int rc = 0;

    pthread_mutex_lock(&ip_lock);
    for (e = *pp; e; e = e->next)
        if (memcmp(&e->key, k, sizeof(*k)) == 0)
            break;
    if (!e && (e = calloc(1, sizeof(*e)))) {
        e->key = *k;
        e->next = *pp;
        *pp = e;
    }
    if (!e || e->count >= max)
        rc = -1;
    else
        e->count++;
    pthread_mutex_unlock(&ip_lock);
    return rc;
}

static void ip_release(const struct ip_key *k)
{
    struct ip_entry **pp = &ip_table[ip_hash(k)], *e;

    pthread_mutex_lock(&ip_lock);
    for (; (e = *pp); pp = &e->next)
        if (memcmp(&e->key, k, sizeof(*k)) == 0) {
            if (--e->count == 0) {
                *pp = e->next;
                free(e);
            }
            break;
        }
    pthread_mutex_unlock(&ip_lock);
}

/* Logs refusals at most once a second, with how many there were. */
static void ip_refused_note(const char *ip, uint32_t max)
{
    unsigned long n = atomic_fetch_add(&ip_refused, 1) + 1;
    unsigned long now = (unsigned long)now_ms(), last = atomic_load(&ip_refused_log);

    if (now - last >= 1000 && atomic_compare_exchange_strong(&ip_refused_log, &last, now))
        log_warn("%s: over limits.max_connections_per_ip (%u): connection closed "
                 "(%lu refused so far)",
                 ip, max, n);
}

/* ------------------------------------------------------------ lifecycle */

struct conn *conn_new(struct worker *w, int fd, const struct sockaddr *sa, socklen_t salen)
{
    struct conn *c = calloc(1, sizeof(*c));
    uint32_t max;
    int one = 1;

    if (!c) {
        close(fd);
        return NULL;
    }
    c->w = w;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->client_ip,
                  sizeof(c->client_ip));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, c->client_ip,
                  sizeof(c->client_ip));
    else
        memcpy(c->client_ip, "unknown", 8);
    max = conn_cfg(c)->limits.max_connections_per_ip; /* 0: no cap, nothing counted */
    if (max && ip_key_from(&c->ipk, sa) == 0) {
        if (ip_acquire(&c->ipk, max) < 0) {
            /* closed at once: a client holding this many sockets gets
             * no more work out of us */
            ip_refused_note(c->client_ip, max);
            close(fd);
            free(c);
            return NULL;
        }
        c->ip_counted = 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->st = stream_new(worker_base(w), fd);
    if (!c->st) {
        if (c->ip_counted)
            ip_release(&c->ipk);
        close(fd);
        free(c);
        return NULL;
    }
    stream_setcb(c->st, conn_readcb, conn_writecb, conn_eventcb, c);
    stream_set_read_high(c->st, INPUT_HIGH);
    stream_set_write_low(c->st, OUTPUT_LOW);
    c->state = CONN_IDLE;
    set_read_timeout_ms(c, conn_cfg(c)->limits.idle_timeout_ms);
    stream_enable_read(c->st);
    conn_link(c);
    worker_conn_count(w, +1);
    return c;
}

static void conn_free(struct conn *c)
{
    if (c->req) {
        struct request *req = c->req;
        const struct handler_kind_ops *ops;
        if (req->handler_state && req->version && (ops = handler_ops(req->version->kind)))
            ops->abort(req);
        if (!req->response_done && req->status == 0)
            req->status = 499; /* client closed the connection first */
        request_end(c, req);
    }
    conn_unlink(c);
    worker_conn_count(c->w, -1);
    if (c->ip_counted)
        ip_release(&c->ipk);
    stream_free(c->st);
    free(c);
}

void conn_close(struct conn *c)
{
    conn_free(c);
}

/* Shuts our side and discards what the client still sends for a moment:
 * closing with unread input would reset the connection and could destroy
 * the response we just sent before the client reads it. */
static void conn_linger(struct conn *c)
{
    if (c->peer_eof || stream_shutdown_write(c->st) < 0) {
        conn_free(c);
        return;
    }
    c->state = CONN_LINGER;
    if (stream_input_length(c->st))
        evbuffer_drain(stream_input(c->st), stream_input_length(c->st));
    stream_set_timeouts(c->st, LINGER_MS, 0);
    stream_set_read_high(c->st, 0);
    stream_enable_read(c->st);
}

/* Closes once everything queued has been written. */
static void conn_close_after_flush(struct conn *c)
{
    c->state = CONN_CLOSING;
    stream_disable_read(c->st);
    stream_flush(c->st);
    if (stream_output_length(c->st) == 0) {
        conn_linger(c);
        return;
    }
    /* the write callback fires when the output is empty */
    stream_set_write_low(c->st, 0);
}

void conn_shutdown(struct conn *c)
{
    if (c->state == CONN_IDLE && stream_input_length(c->st) == 0) {
        conn_free(c);
        return;
    }
    c->close_after = 1;
}

/* ------------------------------------------------------------ requests */

/* Requests are pooled per worker thread: a request is about 4 KB, and
 * clearing and allocating that per request cost more than all the parsing.
 * Only the small state part is cleared on reuse. */
#define REQUEST_POOL_MAX 256
static _Thread_local struct request *request_pool;
static _Thread_local unsigned request_pool_len;

static struct request *request_new(struct conn *c, const char *head, size_t len)
{
    struct request *req = request_pool;

    if (req) {
        request_pool = req->handler_state; /* the free list's link */
        request_pool_len--;
    } else {
        req = malloc(sizeof(*req));
        if (!req)
            return NULL;
        req->head_buf = NULL;
        req->head_cap = 0;
    }
    {
        char *buf = req->head_buf;
        size_t cap = req->head_cap;
        memset(req, 0, REQUEST_CLEAR_BYTES);
        req->head_buf = buf;
        req->head_cap = cap;
    }
    if (req->head_cap < len) {
        char *nb = malloc(len < 1024 ? 1024 : len);
        if (!nb) {
            free(req->head_buf);
            free(req);
            return NULL;
        }
        free(req->head_buf);
        req->head_buf = nb;
        req->head_cap = len < 1024 ? 1024 : len;
    }
    memcpy(req->head_buf, head, len);
    req->head_len = len;
    req->conn = c;
    req->worker = c->w;
    req->snap = worker_snap_hold(c->w);
    req->cfg = req->snap->cfg;
    req->start_us = now_us();
    memcpy(req->client_ip, c->client_ip, sizeof(req->client_ip));
    return req;
}

/* Records the request and releases it. The connection goes on. */
static void request_end(struct conn *c, struct request *req)
{
    authz_cancel(req); /* it may still wait for Redis or keys */
    pipeline_record(req);
    authz_release(req);
    worker_snap_release(c->w, req->snap);
    c->req = NULL;
    if (request_pool_len < REQUEST_POOL_MAX && req->head_cap <= 65536) {
        req->handler_state = request_pool;
        request_pool = req;
        request_pool_len++;
        return;
    }
    free(req->head_buf);
    free(req);
}

void conn_thread_exit(void)
{
    while (request_pool) {
        struct request *req = request_pool;
        request_pool = req->handler_state;
        free(req->head_buf);
        free(req);
    }
    request_pool_len = 0;
}

/* Runs the connection's read callback from the event loop soon, for
 * pipelined bytes already buffered: doing it from here could recurse once
 * per pipelined request. */
static void conn_kick(struct conn *c)
{
    if (stream_input_length(c->st))
        stream_trigger_read(c->st);
}

/* The response is complete (and the body read, or the connection is
 * closing): record it and wait for the next request or close. */
static void conn_request_finished(struct conn *c)
{
    struct request *req = c->req;
    int keep = req->keep_alive && req->body_done && !c->close_after && !c->peer_eof &&
               !worker_stopping(c->w);

    req->response_done = 1;
    request_end(c, req);
    stream_flush(c->st);
    if (!keep) {
        conn_close_after_flush(c);
        return;
    }
    c->state = CONN_IDLE;
    c->body_paused = 0;
    set_read_timeout_ms(c, conn_cfg(c)->limits.idle_timeout_ms);
    stream_enable_read(c->st);
    stream_idle(c->st); /* keeps what is not empty: pipelined input, unsent output */
    conn_kick(c);
}

/* Answers a request that could not even be parsed, then closes. */
static void conn_reject(struct conn *c, int status, const char *message)
{
    struct evbuffer *out = stream_output(c->st);
    char id[REQUEST_ID_MAX + 1];
    struct respond_info ri = { 0 };

    pipeline_new_request_id(c->w, NULL, id, sizeof(id));
    ri.status = status;
    ri.message = message;
    ri.request_id = id;
    ri.client_minor = 1;
    ri.keep_alive = 0;
    ri.date = worker_http_date(c->w);
    respond_write(out, &ri);
    log_info("%s: %d %s (request %s)", c->client_ip, status, message, id);
    conn_close_after_flush(c);
}

/* Sets up the body reader from the parsed head. */
static void request_body_init(struct request *req)
{
    const struct http_request_head *h = &req->head;

    if (h->chunked) {
        req->body_kind = BODY_CHUNKED;
        http_chunked_init(&req->chunked, req->cfg->limits.max_header_bytes);
    } else if (h->content_length > 0) {
        req->body_kind = BODY_LENGTH;
        req->body_left = (uint64_t)h->content_length;
    } else {
        req->body_kind = BODY_NONE;
        req->body_done = 1;
    }
}

static void conn_try_head(struct conn *c)
{
    struct evbuffer *in = stream_input(c->st);
    const struct config *cfg = conn_cfg(c);
    size_t len, cap, end;
    const char *p;
    struct request *req;
    struct http_parse_limits lim;
    int status;

    /* RFC 9112 2.2: ignore empty lines before a request line */
    while ((len = evbuffer_get_length(in)) > 0) {
        unsigned char ch[2];
        evbuffer_copyout(in, ch, len >= 2 ? 2 : 1);
        if (len >= 2 && ch[0] == '\r' && ch[1] == '\n' && c->head_scan == 0)
            evbuffer_drain(in, 2);
        else if (len == 1 && ch[0] == '\r' && c->head_scan == 0)
            return;
        else
            break;
    }
    if (len == 0)
        return;
    if (c->state == CONN_IDLE) {
        c->state = CONN_HEAD;
        c->head_deadline_ms = now_ms() + cfg->limits.header_timeout_ms;
    }
    cap = (size_t)cfg->limits.max_header_bytes;
    p = (const char *)evbuffer_pullup(in, (ev_ssize_t)(len < cap ? len : cap));
    if (!p) {
        conn_free(c);
        return;
    }
    end = http_head_end(p, len < cap ? len : cap, &c->head_scan);
    if (end == 0) {
        size_t seen = len < cap ? len : cap;
        uint64_t now = now_ms();
        if (!memchr(p, '\n', seen) && seen > (size_t)cfg->limits.max_uri_bytes + 32)
            conn_reject(c, 414, "request-target too long");
        else if (len >= cap)
            conn_reject(c, 431, "request header fields too large");
        else if (now >= c->head_deadline_ms)
            conn_reject(c, 408, "request header timed out");
        else /* a slow client gets what is left of the deadline, no more */
            set_read_timeout_ms(c, (uint32_t)(c->head_deadline_ms - now));
        return;
    }
    c->head_scan = 0;
    set_read_timeout_ms(c, 0);
    req = request_new(c, p, end);
    if (!req) {
        conn_reject(c, 503, "out of memory");
        return;
    }
    evbuffer_drain(in, end);
    stream_read_resume(c->st);
    c->req = req;
    c->state = CONN_REQUEST;
    req->bytes_in = end;
    lim.max_uri_bytes = req->cfg->limits.max_uri_bytes;
    status = http_parse_request(req->head_buf, req->head_len, &lim, &req->head);
    if (status) {
        /* the framing is unknown: nothing after this can be trusted; and
         * the half-parsed head must not show an earlier request's fields */
        memset(&req->head, 0, offsetof(struct http_request_head, headers));
        req->head.nheaders = 0;
        req->head.host = SLICE_NULL;
        req->head.content_length = -1;
        req->status = status;
        req->error = "malformed request";
        pipeline_new_request_id(c->w, NULL, req->request_id, sizeof(req->request_id));
        req->head.version_minor = 1;
        req->keep_alive = 0;
        req->body_done = 1;
        conn_respond(req, status, status == 400 ? "bad request" : http_status_reason(status), NULL);
        return;
    }
    req->keep_alive = req->head.keep_alive;
    request_body_init(req);
    if (req->body_kind == BODY_LENGTH || req->body_kind == BODY_CHUNKED)
        set_read_timeout_ms(c, req->cfg->limits.body_timeout_ms);
    pipeline_start(req);
}

/* Passes request body bytes from the input to the handler. */
static void conn_feed_body(struct conn *c)
{
    struct request *req = c->req;
    struct evbuffer *in = stream_input(c->st);
    struct evbuffer *tmp;
    const struct handler_kind_ops *ops;
    uint64_t max = req->cfg->limits.max_body_bytes;

    if (req->body_done || !req->body_sink || c->body_paused)
        return;
    tmp = worker_scratch(c->w);
    if (req->body_kind == BODY_LENGTH) {
        size_t n = evbuffer_get_length(in);
        if (n > req->body_left)
            n = (size_t)req->body_left;
        if (n)
            evbuffer_remove_buffer(in, tmp, n);
        req->body_left -= n;
        req->body_received += n;
        req->bytes_in += n;
        if (req->body_left == 0)
            req->body_done = 1;
    } else {
        size_t moved = 0, before = evbuffer_get_length(in);
        int rc = http_chunked_decode(&req->chunked, in, tmp, SIZE_MAX, &moved);
        req->body_received += moved;
        req->bytes_in += before - evbuffer_get_length(in);
        if (rc < 0) {
            evbuffer_drain(tmp, evbuffer_get_length(tmp));
            ops = handler_ops(req->version->kind);
            ops->abort(req);
            req->keep_alive = 0;
            if (req->response_started)
                conn_abort(req, "bad chunked request body");
            else
                conn_respond(req, 400, "bad chunked request body", NULL);
            return;
        }
        if (rc == 1)
            req->body_done = 1;
        if (req->body_received > max) {
            evbuffer_drain(tmp, evbuffer_get_length(tmp));
            ops = handler_ops(req->version->kind);
            ops->abort(req);
            req->keep_alive = 0;
            if (req->response_started)
                conn_abort(req, "request body too large");
            else
                conn_respond(req, 413, "request body too large", NULL);
            return;
        }
    }
    if (req->body_done)
        set_read_timeout_ms(c, 0);
    stream_read_resume(c->st);
    ops = handler_ops(req->version->kind);
    if (evbuffer_get_length(tmp) || req->body_done)
        ops->body(req, tmp, req->body_done);
    /* the handler took what it could; anything left waits in our input */
}

/* ------------------------------------------------------------ callbacks */

static void conn_readcb(struct stream *st, void *arg)
{
    struct conn *c = arg;

    switch (c->state) {
    case CONN_IDLE:
    case CONN_HEAD:
        conn_try_head(c);
        break;
    case CONN_REQUEST:
        if (c->req)
            conn_feed_body(c);
        break;
    case CONN_CLOSING:
        break;
    case CONN_LINGER: {
        struct evbuffer *in = stream_input(st);
        c->lingered += evbuffer_get_length(in);
        evbuffer_drain(in, evbuffer_get_length(in));
        if (c->lingered > LINGER_MAX_BYTES)
            conn_free(c);
        break;
    }
    }
}

static void conn_writecb(struct stream *st, void *arg)
{
    struct conn *c = arg;
    const struct handler_kind_ops *ops;

    if (c->state == CONN_CLOSING) {
        if (stream_output_length(st) == 0)
            conn_linger(c);
        return;
    }
    if (c->state == CONN_REQUEST && c->req && c->req->handler_state && c->req->version) {
        ops = handler_ops(c->req->version->kind);
        ops->writable(c->req);
    }
}

static void conn_eventcb(struct stream *st, short what, void *arg)
{
    struct conn *c = arg;

    if (c->state == CONN_LINGER) {
        conn_free(c);
        return;
    }
    if ((what & STREAM_EOF) && c->req && c->req->body_done) {
        /* the client half-closed after a complete request: answer it */
        c->peer_eof = 1;
        stream_disable_read(st);
        return;
    }
    if ((what & STREAM_TIMEOUT) && c->state == CONN_HEAD) {
        conn_reject(c, 408, "request header timed out");
        return;
    }
    if ((what & STREAM_TIMEOUT) && (what & STREAM_READING) && c->req &&
        !c->req->response_started) {
        struct request *req = c->req;
        const struct handler_kind_ops *ops = handler_ops(req->version ? req->version->kind : 0);
        if (req->handler_state && ops)
            ops->abort(req);
        req->keep_alive = 0;
        conn_respond(req, 408, "request body timed out", NULL);
        return;
    }
    if (c->req && !c->req->error)
        c->req->error = (what & STREAM_TIMEOUT) ? "client timed out" : "client closed connection";
    conn_free(c);
}

/* ------------------------------------------------------------ answering */

struct evbuffer *conn_output(struct request *req)
{
    return stream_output(req->conn->st);
}

void conn_respond(struct request *req, int status, const char *message, const char *extra_headers)
{
    struct conn *c = req->conn;
    struct respond_info ri = { 0 };
    long n;

    if (!req->body_done)
        req->keep_alive = 0; /* unread body bytes: the connection cannot be reused */
    if (c->close_after || worker_stopping(c->w))
        req->keep_alive = 0;
    ri.status = status;
    ri.message = message;
    ri.request_id = req->request_id;
    ri.version = req->version ? req->version->name : NULL;
    ri.extra_headers = extra_headers;
    ri.date = worker_http_date(c->w);
    ri.client_minor = req->head.version_minor;
    ri.keep_alive = req->keep_alive;
    ri.head_only = req->head.method_id == HTTP_M_HEAD;
    n = respond_write(stream_output(c->st), &ri);
    req->status = status;
    req->response_started = 1;
    if (n > 0)
        req->bytes_out += (uint64_t)n;
    if (!req->error && status >= 400)
        req->error = message;
    conn_request_finished(c);
}

void conn_response_started(struct request *req, int status)
{
    req->status = status;
    req->response_started = 1;
    if (req->conn->close_after || worker_stopping(req->worker))
        req->keep_alive = 0;
}

void conn_flush(struct request *req)
{
    stream_flush(req->conn->st);
}

void conn_response_done(struct request *req)
{
    conn_request_finished(req->conn);
}

int conn_output_full(struct request *req)
{
    return stream_output_length(req->conn->st) >= OUTPUT_HIGH;
}

void conn_body_pause(struct request *req)
{
    req->conn->body_paused = 1;
    stream_disable_read(req->conn->st);
}

void conn_body_resume(struct request *req)
{
    struct conn *c = req->conn;

    if (!c->body_paused)
        return;
    c->body_paused = 0;
    if (!c->peer_eof)
        stream_enable_read(c->st);
    conn_feed_body(c);
}

void conn_send_continue(struct request *req)
{
    struct conn *c = req->conn;

    if (!req->head.expect_continue || req->body_done || req->head.version_minor == 0)
        return;
    if (stream_input_length(c->st))
        return; /* the client did not wait for us */
    evbuffer_add(stream_output(c->st), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    stream_flush(c->st);
}

void conn_begin_body(struct request *req)
{
    req->body_sink = 1;
    conn_feed_body(req->conn);
}

void conn_abort(struct request *req, const char *why)
{
    struct conn *c = req->conn;

    if (!req->error)
        req->error = why;
    log_warn("request %s: %s", req->request_id, why);
    if (!req->response_done && req->status == 0)
        req->status = 502;
    req->handler_state = NULL; /* the handler released its state before calling us */
    conn_free(c);
}

/* ------------------------------------------------------------ worker list */

static void conn_link(struct conn *c)
{
    struct conn **head = worker_conn_list(c->w);

    c->prev = NULL;
    c->next = *head;
    if (*head)
        (*head)->prev = c;
    *head = c;
}

static void conn_unlink(struct conn *c)
{
    struct conn **head = worker_conn_list(c->w);

    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

void conn_shutdown_all(struct conn **list)
{
    struct conn *c = *list, *next;

    for (; c; c = next) {
        next = c->next;
        conn_shutdown(c);
    }
}

int conn_start_tls(struct conn *c, struct ssl_ctx_st *ctx)
{
    /* a handshake is part of getting the first request's head: it gets
     * the header timeout, whole, however slowly its bytes come */
    return stream_start_tls(c->st, ctx, conn_cfg(c)->limits.header_timeout_ms);
}

int conn_is_tls(const struct request *req)
{
    return stream_is_tls(req->conn->st);
}
