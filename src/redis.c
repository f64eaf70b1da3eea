/* redis.c - a worker's Redis client: hiredis on its event loop, our timeouts and reconnects. */
#include "redis.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include "log.h"
#include "util.h"

#define REDIS_DEFAULT_PORT 6379
#define REDIS_NAME_MAX 300 /* "[host]:port" for log lines */
#define REDIS_DEFAULT_TIMEOUT_MS 200
/* Connecting plus the handshake get at least this long: a slow first
 * round trip is no reason to give up, and nobody waits on it anyway. */
#define REDIS_CONNECT_TIMEOUT_MIN_MS 1000
#define REDIS_BACKOFF_MIN_MS 100
#define REDIS_BACKOFF_MAX_MS 5000
/* This many timeouts in a row and the connection is taken for stuck. */
#define REDIS_MAX_TIMEOUTS 3
/* Commands sent and not yet answered; beyond it GETs answer -1 and SETs
 * are dropped, so a stalled server cannot make hiredis buffer without end. */
#define REDIS_MAX_INFLIGHT 4096

/* Handshake steps, passed to hiredis as the privdata of their commands. */
enum redis_step { STEP_AUTH = 1, STEP_SELECT, STEP_PING };

/*
 * An operation has up to three owners and is freed when the last lets go:
 *  - waiting: it is on the client's list and its callback is still due;
 *  - delivering: its callback is running right now;
 *  - in_hiredis: hiredis holds it as privdata and will hand it back once,
 *    with the reply or with NULL when the context goes away.
 * Timeouts, cancels and dropped connections end "waiting" early; hiredis
 * letting go may come later, which is why cancel cannot free at once.
 */
struct redis_op {
    struct redis_client *c; /* set while waiting */
    struct redis_op *prev, *next;
    struct event *ev; /* the timeout, or the deferred "unavailable" answer */
    redis_get_cb *cb;        /* a GET's, or NULL */
    redis_reply_cb *reply_cb; /* a command's (redis_command), or NULL */
    void *arg;
    unsigned waiting : 1;
    unsigned delivering : 1;
    unsigned in_hiredis : 1;
    unsigned fail_now : 1; /* ev is (or was) activated to answer -1 */
};

struct redis_client {
    struct event_base *base;
    char name[REDIS_NAME_MAX];
    char *ip; /* numeric; NULL when the name did not resolve */
    int port;
    char *password; /* NULL when none */
    size_t password_len;
    unsigned db;
    char *prefix;
    size_t prefix_len;
    uint32_t timeout_ms;

    redisAsyncContext *ac; /* NULL while disconnected */
    int ready;             /* handshake done: commands may go out */
    int freeing;
    int down_logged; /* the outage was reported; say so when it ends */
    unsigned backoff_ms;
    unsigned timeouts; /* consecutive */
    unsigned inflight;
    struct event *reconnect_ev;
    struct event *connect_ev; /* connect + handshake deadline */
    struct redis_op *ops;     /* waiting operations */
    struct redis_stats stats;
};

static struct timeval ms_to_tv(unsigned ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    return tv;
}

/* ------------------------------------------------------------ operations */

static void op_release(struct redis_op *op)
{
    if (op->waiting || op->delivering || op->in_hiredis)
        return;
    event_free(op->ev);
    free(op);
}

static void op_unlink(struct redis_op *op)
{
    struct redis_client *c = op->c;

    if (op->prev)
        op->prev->next = op->next;
    else
        c->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->prev = op->next = NULL;
    op->waiting = 0;
    op->c = NULL;
}

/* Calls the op's callback once. The op is off the list before the call,
 * so whatever the callback does to the client (even freeing it) cannot
 * reach it; afterwards only the op itself is touched. */
static void op_deliver(struct redis_op *op, int found, const char *val, size_t len)
{
    struct redis_client *c = op->c;

    event_del(op->ev);
    if (found > 0)
        c->stats.hits++;
    else if (found == 0)
        c->stats.misses++;
    else
        c->stats.unavailable++;
    op_unlink(op);
    op->delivering = 1;
    if (op->cb)
        op->cb(op->arg, found, val, len);
    else if (op->reply_cb && found < 0)
        op->reply_cb(op->arg, NULL);
    op->delivering = 0;
    op_release(op);
}

/* A command's reply: like op_deliver, with the reply itself. */
static void op_deliver_reply(struct redis_op *op, const redisReply *reply)
{
    struct redis_client *c = op->c;

    event_del(op->ev);
    c->stats.hits++;
    op_unlink(op);
    op->delivering = 1;
    op->reply_cb(op->arg, reply);
    op->delivering = 0;
    op_release(op);
}

/* Answers -1 from the event loop, never from the caller's stack. */
static void op_fail_later(struct redis_op *op)
{
    if (op->fail_now)
        return;
    op->fail_now = 1;
    event_del(op->ev);
    event_active(op->ev, EV_TIMEOUT, 1);
}

/* ------------------------------------------------------------ event glue */

/*
 * hiredis's own adapters/libevent.h, plus one check. hiredis 0.14 aborts
 * the process (assert) when a reply arrives that no command asked for; a
 * server that sends one must cost us the connection, not the gateway. So
 * every read is vetted first: bytes that come while no command is waiting
 * (or are left over after the last awaited reply, see reply_unasked()) are
 * such replies, and the connection is dropped before hiredis parses them.
 */
struct redis_glue {
    redisAsyncContext *ac;
    struct event *rev, *wev;
};

static void client_detach(struct redis_client *c, int free_ac);
static void client_log_down(struct redis_client *c, const char *why);
static struct redis_client *client_of(const redisAsyncContext *ac);

static int bytes_unasked(redisAsyncContext *ac)
{
    char b;

    if (ac->replies.head || !(ac->c.flags & REDIS_CONNECTED))
        return 0;
    if (ac->c.reader && ac->c.reader->len > ac->c.reader->pos)
        return 1;
    return recv(ac->c.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

static void on_glue_read(evutil_socket_t fd, short what, void *arg)
{
    struct redis_glue *g = arg;
    struct redis_client *c = client_of(g->ac);

    if (c && bytes_unasked(g->ac)) {
        client_log_down(c, "answered what nobody asked");
        /* outside hiredis: frees the context, this event included */
        client_detach(c, 1);
        return;
    }
    redisAsyncHandleRead(g->ac);
}

static void on_glue_write(evutil_socket_t fd, short what, void *arg)
{
    struct redis_glue *g = arg;

    redisAsyncHandleWrite(g->ac);
}

static void glue_add_read(void *p)
{
    event_add(((struct redis_glue *)p)->rev, NULL);
}

static void glue_del_read(void *p)
{
    event_del(((struct redis_glue *)p)->rev);
}

static void glue_add_write(void *p)
{
    event_add(((struct redis_glue *)p)->wev, NULL);
}

static void glue_del_write(void *p)
{
    event_del(((struct redis_glue *)p)->wev);
}

/* Called by hiredis when it frees the context, possibly from inside
 * on_glue_read(): libevent allows freeing an event in its own callback. */
static void glue_cleanup(void *p)
{
    struct redis_glue *g = p;

    event_free(g->rev);
    event_free(g->wev);
    free(g);
}

static int glue_attach(redisAsyncContext *ac, struct event_base *base)
{
    struct redis_glue *g = calloc(1, sizeof(*g));

    if (!g)
        return -1;
    g->ac = ac;
    g->rev = event_new(base, ac->c.fd, EV_READ, on_glue_read, g);
    g->wev = event_new(base, ac->c.fd, EV_WRITE, on_glue_write, g);
    if (!g->rev || !g->wev) {
        if (g->rev)
            event_free(g->rev);
        if (g->wev)
            event_free(g->wev);
        free(g);
        return -1;
    }
    ac->ev.addRead = glue_add_read;
    ac->ev.delRead = glue_del_read;
    ac->ev.addWrite = glue_add_write;
    ac->ev.delWrite = glue_del_write;
    ac->ev.cleanup = glue_cleanup;
    ac->ev.data = g;
    event_add(g->rev, NULL);
    event_add(g->wev, NULL);
    return 0;
}

/* Inside a reply callback: no command waits any more, yet the reader
 * holds more bytes. Dropping here (hiredis frees the context as soon as
 * the callback returns) keeps hiredis from parsing them. */
static int reply_unasked(redisAsyncContext *ac, struct redis_client *c)
{
    if (!bytes_unasked(ac))
        return 0;
    client_log_down(c, "answered what nobody asked");
    client_detach(c, 1);
    return 1;
}

/* ------------------------------------------------------------ connection */

static void client_schedule_reconnect(struct redis_client *c)
{
    struct timeval tv = ms_to_tv(c->backoff_ms);

    if (c->freeing || !c->ip)
        return;
    event_add(c->reconnect_ev, &tv);
    c->backoff_ms =
        c->backoff_ms >= REDIS_BACKOFF_MAX_MS / 2 ? REDIS_BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* One warning per outage; the retries that follow only at debug level. */
static void client_log_down(struct redis_client *c, const char *why)
{
    if (!c->down_logged) {
        log_warn("redis %s: %s; serving without Redis until it is back", c->name,
                 why ? why : "unavailable");
        c->down_logged = 1;
    } else {
        log_debug("redis %s: %s", c->name, why ? why : "unavailable");
    }
}

/* Forgets the current context: every waiting op answers -1 on the next
 * loop turn and a reconnect is scheduled. free_ac says whether we end the
 * context (we chose to drop it) or hiredis is already ending it (a
 * callback reported the loss; freeing it again would be a double free).
 * The context's data is cleared first so the NULL-reply callbacks hiredis
 * runs while tearing it down, now or after the current callback returns,
 * see an orphan and only release their ops. */
static void client_detach(struct redis_client *c, int free_ac)
{
    redisAsyncContext *ac = c->ac;
    struct redis_op *op;

    if (c->ready)
        c->stats.disconnects++;
    c->ac = NULL;
    c->ready = 0;
    c->timeouts = 0;
    c->inflight = 0;
    event_del(c->connect_ev);
    if (ac) {
        ac->data = NULL;
        if (free_ac)
            redisAsyncFree(ac);
    }
    for (op = c->ops; op; op = op->next)
        op_fail_later(op);
    client_schedule_reconnect(c);
}

/* The context behind a hiredis callback, when it is still the current
 * one of a live client; NULL for contexts we have let go of. */
static struct redis_client *client_of(const redisAsyncContext *ac)
{
    struct redis_client *c = ac->data;

    return c && c->ac == ac ? c : NULL;
}

static void on_handshake_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_client *c = client_of(ac);
    const redisReply *reply = r;
    intptr_t step = (intptr_t)privdata;
    const char *what = step == STEP_AUTH ? "AUTH" : step == STEP_SELECT ? "SELECT" : "PING";
    const char *want = step == STEP_PING ? "PONG" : "OK";
    char why[256];

    if (!c)
        return;
    if (!reply) {
        client_log_down(c, ac->c.errstr[0] ? ac->c.errstr : "connection lost");
        client_detach(c, 0);
        return;
    }
    if (reply->type != REDIS_REPLY_STATUS || strcmp(reply->str, want) != 0) {
        if (reply->type == REDIS_REPLY_ERROR)
            fmt_buf(why, sizeof(why), "%s refused: %.200s", what, reply->str);
        else
            fmt_buf(why, sizeof(why), "unexpected answer to %s", what);
        client_log_down(c, why);
        /* We are inside a hiredis callback: redisAsyncFree() only marks
         * the context and hiredis frees it once we return. */
        client_detach(c, 1);
        return;
    }
    if (step != STEP_PING || reply_unasked(ac, c))
        return;
    event_del(c->connect_ev);
    c->ready = 1;
    c->backoff_ms = REDIS_BACKOFF_MIN_MS;
    c->stats.connects++;
    if (c->down_logged)
        log_info("redis %s: connected again", c->name);
    else
        log_debug("redis %s: connected", c->name);
    c->down_logged = 0;
}

/* Connected (or not). The handshake ends with a PING so that "ready"
 * means the server answers, not merely that the kernel accepted: a
 * stopped server would otherwise look ready after every reconnect. */
static void on_connect(const redisAsyncContext *cac, int status)
{
    struct redis_client *c = client_of(cac);
    redisAsyncContext *ac;
    int ok = 1;

    if (!c)
        return;
    if (status != REDIS_OK) {
        client_log_down(c, cac->c.errstr[0] ? cac->c.errstr : "cannot connect");
        /* hiredis frees the context once we return */
        client_detach(c, 0);
        return;
    }
    ac = c->ac;
    if (c->password)
        ok = redisAsyncCommand(ac, on_handshake_reply, (void *)(intptr_t)STEP_AUTH, "AUTH %b",
                               c->password, c->password_len) == REDIS_OK;
    if (ok && c->db)
        ok = redisAsyncCommand(ac, on_handshake_reply, (void *)(intptr_t)STEP_SELECT, "SELECT %u",
                               c->db) == REDIS_OK;
    if (ok)
        ok = redisAsyncCommand(ac, on_handshake_reply, (void *)(intptr_t)STEP_PING, "PING") ==
             REDIS_OK;
    if (!ok) {
        /* hiredis 0.14 goes on using the context after this callback, so
         * it cannot be freed here: let the deadline fire now instead. */
        struct timeval now = { 0, 0 };
        client_log_down(c, "cannot send the handshake");
        event_add(c->connect_ev, &now);
    }
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
    struct redis_client *c = client_of(cac);

    if (!c)
        return;
    client_log_down(c, cac->c.errstr[0] ? cac->c.errstr : "connection closed");
    client_detach(c, 0);
}

static void client_connect(struct redis_client *c)
{
    redisAsyncContext *ac;
    struct timeval tv;
    unsigned ms;

    if (c->freeing || c->ac || !c->ip)
        return;
    /* The address is numeric, so this never waits on a resolver. */
    ac = redisAsyncConnect(c->ip, c->port);
    if (!ac) {
        client_log_down(c, "out of memory");
        client_schedule_reconnect(c);
        return;
    }
    if (ac->err) {
        client_log_down(c, ac->c.errstr[0] ? ac->c.errstr : "cannot connect");
        redisAsyncFree(ac);
        client_schedule_reconnect(c);
        return;
    }
    if (glue_attach(ac, c->base) != 0) {
        client_log_down(c, "cannot attach to the event loop");
        redisAsyncFree(ac);
        client_schedule_reconnect(c);
        return;
    }
    ac->data = c;
    c->ac = ac;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    ms =
        c->timeout_ms > REDIS_CONNECT_TIMEOUT_MIN_MS ? c->timeout_ms : REDIS_CONNECT_TIMEOUT_MIN_MS;
    tv = ms_to_tv(ms);
    event_add(c->connect_ev, &tv);
}

static void on_reconnect_timer(evutil_socket_t fd, short what, void *arg)
{
    client_connect(arg);
}

/* Not ready in time (a silent server, a black-holed SYN), or the
 * handshake could not be sent: give this attempt up. Runs from the event
 * loop, outside hiredis, so the context can be freed right here. */
static void on_connect_timer(evutil_socket_t fd, short what, void *arg)
{
    struct redis_client *c = arg;

    if (!c->ac || c->ready)
        return;
    client_log_down(c, "no answer while connecting");
    client_detach(c, 1);
}

/* ------------------------------------------------------------ commands */

/* The common part of a reply to an op: bookkeeping, a lost connection,
 * an unasked reply, an op nobody waits for any more. Returns 1 when the
 * reply is for the op's caller, 0 when it has been dealt with here. */
static int reply_for_caller(redisAsyncContext *ac, struct redis_op *op, const redisReply *reply)
{
    struct redis_client *c = client_of(ac);

    op->in_hiredis = 0;
    if (!c) {
        /* a context we dropped: the op was answered already */
        op_release(op);
        return 0;
    }
    if (!reply) {
        /* hiredis is tearing the connection down (it failed) */
        client_log_down(c, ac->c.errstr[0] ? ac->c.errstr : "connection lost");
        client_detach(c, 0);
        op_release(op);
        return 0;
    }
    c->timeouts = 0;
    if (c->inflight)
        c->inflight--;
    if (reply_unasked(ac, c) || !op->waiting || op->fail_now) {
        /* answered -1 already, or the caller left: nobody to tell */
        op_release(op);
        return 0;
    }
    return 1;
}

static void on_get_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_op *op = privdata;
    const redisReply *reply = r;

    if (!reply_for_caller(ac, op, reply))
        return;
    if (reply->type == REDIS_REPLY_STRING)
        op_deliver(op, 1, reply->str, reply->len);
    else if (reply->type == REDIS_REPLY_NIL)
        op_deliver(op, 0, NULL, 0);
    else
        op_deliver(op, -1, NULL, 0);
}

static void on_cmd_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_op *op = privdata;

    if (reply_for_caller(ac, op, r))
        op_deliver_reply(op, r);
}

static void on_set_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_client *c = client_of(ac);
    const redisReply *reply = r;

    if (!c)
        return;
    if (!reply) {
        client_log_down(c, ac->c.errstr[0] ? ac->c.errstr : "connection lost");
        client_detach(c, 0);
        return;
    }
    c->timeouts = 0;
    if (c->inflight)
        c->inflight--;
    if (reply_unasked(ac, c))
        return;
    if (reply->type == REDIS_REPLY_ERROR)
        log_debug("redis %s: SET refused: %.200s", c->name, reply->str);
}

/* The op's own timer: either its timeout or the deferred -1. */
static void on_op_timer(evutil_socket_t fd, short what, void *arg)
{
    struct redis_op *op = arg;
    struct redis_client *c = op->c;

    if (!op->fail_now && op->in_hiredis && ++c->timeouts >= REDIS_MAX_TIMEOUTS) {
        client_log_down(c, "not answering (timeouts)");
        /* fails the other waiting ops too; this one is answered below */
        client_detach(c, 1);
    }
    op_deliver(op, -1, NULL, 0);
}

/* A waiting op on c's list, its timer not armed yet. NULL: out of memory. */
static struct redis_op *op_new(struct redis_client *c, redis_get_cb *cb, redis_reply_cb *reply_cb,
                               void *arg)
{
    struct redis_op *op = calloc(1, sizeof(*op));

    if (!op)
        return NULL;
    op->ev = event_new(c->base, -1, 0, on_op_timer, op);
    if (!op->ev) {
        free(op);
        return NULL;
    }
    op->c = c;
    op->cb = cb;
    op->reply_cb = reply_cb;
    op->arg = arg;
    op->waiting = 1;
    op->next = c->ops;
    if (c->ops)
        c->ops->prev = op;
    c->ops = op;
    return op;
}

/* The command went to hiredis (sent is 1): arm the op's timeout; else
 * answer "unavailable" from the loop. */
static void op_sent(struct redis_op *op, int sent)
{
    struct timeval tv;

    if (!sent) {
        op_fail_later(op);
        return;
    }
    op->in_hiredis = 1;
    op->c->inflight++;
    tv = ms_to_tv(op->c->timeout_ms);
    event_add(op->ev, &tv);
}

struct redis_op *redis_get(struct redis_client *c, const char *key, size_t keylen, redis_get_cb *cb,
                           void *arg)
{
    struct redis_op *op;

    if (!c || c->freeing || !cb || !(op = op_new(c, cb, NULL, arg)))
        return NULL;
    c->stats.gets++;
    op_sent(op, c->ready && c->inflight < REDIS_MAX_INFLIGHT &&
                    redisAsyncCommand(c->ac, on_get_reply, op, "GET %b%b", c->prefix,
                                      c->prefix_len, key ? key : "", key ? keylen : 0) == REDIS_OK);
    return op;
}

struct redis_op *redis_command(struct redis_client *c, redis_reply_cb *cb, void *arg, int argc,
                               const char **argv, const size_t *argvlen)
{
    struct redis_op *op;

    if (!c || c->freeing || !cb || argc < 1 || !(op = op_new(c, NULL, cb, arg)))
        return NULL;
    op_sent(op, c->ready && c->inflight < REDIS_MAX_INFLIGHT &&
                    redisAsyncCommandArgv(c->ac, on_cmd_reply, op, argc, argv, argvlen) ==
                        REDIS_OK);
    return op;
}

const char *redis_client_prefix(const struct redis_client *c)
{
    return c->prefix;
}

void redis_op_cancel(struct redis_op *op)
{
    if (!op || !op->waiting)
        return;
    event_del(op->ev);
    op_unlink(op);
    op_release(op);
}

void redis_setex(struct redis_client *c, const char *key, size_t keylen, const char *val,
                 size_t vallen, unsigned ttl_s)
{
    /* EX 0 is an error to Redis; nothing to store then */
    if (!c || !c->ready || c->freeing || ttl_s == 0 || c->inflight >= REDIS_MAX_INFLIGHT)
        return;
    if (redisAsyncCommand(c->ac, on_set_reply, NULL, "SET %b%b %b EX %u", c->prefix, c->prefix_len,
                          key ? key : "", key ? keylen : 0, val ? val : "", val ? vallen : 0,
                          ttl_s) == REDIS_OK)
        c->inflight++;
}

/* ------------------------------------------------------------ lifetime */

/* hiredis would resolve a name itself, blocking the worker on every
 * reconnect; resolve once here (start-up or reload, like addr.c) and give
 * hiredis the numeric address. Returns a malloc'ed string or NULL. */
static char *resolve_numeric(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    struct addrinfo hints, *res = NULL, *ai, *pick = NULL;
    char ip[INET6_ADDRSTRLEN];
    char *out = NULL;

    if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1)
        return strdup(host);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return NULL;
    /* IPv4 first, as hiredis itself would try it */
    for (ai = res; ai && !pick; ai = ai->ai_next)
        if (ai->ai_family == AF_INET)
            pick = ai;
    if (!pick)
        pick = res;
    if (getnameinfo(pick->ai_addr, pick->ai_addrlen, ip, sizeof(ip), NULL, 0, NI_NUMERICHOST) == 0)
        out = strdup(ip);
    freeaddrinfo(res);
    return out;
}

struct redis_client *redis_client_new(struct event_base *base, const struct redis_conf *rc)
{
    struct redis_client *c;
    const char *host = rc->host && rc->host[0] ? rc->host : "127.0.0.1";
    const char *prefix = rc->prefix ? rc->prefix : "";

    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->base = base;
    c->port = rc->port ? rc->port : REDIS_DEFAULT_PORT;
    c->db = rc->db;
    c->timeout_ms = rc->timeout_ms ? rc->timeout_ms : REDIS_DEFAULT_TIMEOUT_MS;
    c->backoff_ms = REDIS_BACKOFF_MIN_MS;
    if (strchr(host, ':'))
        fmt_buf(c->name, sizeof(c->name), "[%s]:%d", host, c->port);
    else
        fmt_buf(c->name, sizeof(c->name), "%s:%d", host, c->port);
    c->prefix_len = strlen(prefix);
    c->prefix = strdup(prefix);
    if (rc->password && rc->password[0]) {
        c->password_len = strlen(rc->password);
        c->password = strdup(rc->password);
        if (!c->password)
            goto fail;
    }
    c->reconnect_ev = evtimer_new(base, on_reconnect_timer, c);
    c->connect_ev = evtimer_new(base, on_connect_timer, c);
    if (!c->prefix || !c->reconnect_ev || !c->connect_ev)
        goto fail;
    c->ip = resolve_numeric(host);
    if (!c->ip)
        log_warn("redis %s: cannot resolve the host; serving without Redis", c->name);
    client_connect(c);
    return c;

fail:
    if (c->reconnect_ev)
        event_free(c->reconnect_ev);
    if (c->connect_ev)
        event_free(c->connect_ev);
    free(c->prefix);
    free(c->password);
    free(c);
    return NULL;
}

void redis_client_free(struct redis_client *c)
{
    redisAsyncContext *ac;

    /* a callback run below may call us again: the first call finishes */
    if (!c || c->freeing)
        return;
    c->freeing = 1;
    event_del(c->reconnect_ev);
    event_del(c->connect_ev);
    ac = c->ac;
    if (ac) {
        c->ac = NULL;
        c->ready = 0;
        /* From inside a hiredis callback this only marks the context and
         * hiredis frees it after that callback; either way its NULL-reply
         * callbacks find no client and only release their ops. */
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    while (c->ops)
        op_deliver(c->ops, -1, NULL, 0);
    event_free(c->reconnect_ev);
    event_free(c->connect_ev);
    free(c->ip);
    free(c->prefix);
    if (c->password) {
        /* do not leave the secret in freed memory */
        explicit_bzero(c->password, c->password_len);
        free(c->password);
    }
    free(c);
}

int redis_client_ready(const struct redis_client *c)
{
    return c && c->ready;
}

void redis_client_stats(const struct redis_client *c, struct redis_stats *out)
{
    if (c)
        *out = c->stats;
    else
        memset(out, 0, sizeof(*out));
}
