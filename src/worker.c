/* worker.c - worker threads: event loop, listeners, config generations. */
#include "worker.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "authz.h"
#include "conn.h"
#include "fncall.h"
#include "handler.h"
#include "stream.h"
#include "log.h"
#include "upstream.h"
#include "util.h"

/* After accept() fails for lack of descriptors, wait this long before
 * accepting again instead of spinning on the same error. */
#define ACCEPT_BACKOFF_MS 100

struct worker {
    unsigned id;
    pthread_t thread;
    int started;
    struct event_base *base;
    struct evconnlistener **listeners;
    size_t nlisteners;
    struct bound *bound; /* [i] for listeners[i]; kept after they close */
    size_t nbound;
    struct event *accept_resume;
    struct wsnap *snap;    /* generation new requests get */
    struct wsnap *retired; /* older generations with requests still running */
    struct upstream_pools *pools;
    struct authz_worker *authz;
    uint64_t rng[4];
    time_t date_sec;
    char date[40];
    struct evbuffer *scratch;
    struct conn *conns;
    unsigned nconns;
    int stopping;
    struct event *stop_deadline;

    /* mailbox from the main thread; the lock is never taken on the
     * request path, only when a message arrives */
    pthread_mutex_t mbox_lock;
    struct config *mbox_cfg;
    int mbox_stop;
    int mbox_keys;
    uint64_t mbox_flush[WORKER_FLUSH_WORDS]; /* authorizer ids whose cache to drop */
    int mbox_fncall; /* function-call slots freed elsewhere (fncall.c) */
    int wake_fd[2];
    struct event *wake_ev;
};

/* What a listener was bound with. A reload does not rebind listeners,
 * and a reload that changes listen[] only warns (main.c): so a listener
 * finds its entry in the current snapshot by address, for the
 * certificates to use now, and whether it speaks TLS at all is fixed by
 * the config it was bound with (tls: that context, one reference, used
 * when the current snapshot has no TLS entry for the address). */
struct bound {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    SSL_CTX *tls; /* NULL: a plain listener */
};

/* Connections open across all workers, for limits.max_connections. One
 * atomic operation per connection, none per request. */
static atomic_uint open_connections;

/* ------------------------------------------------------------ generations */

static struct wsnap *wsnap_new(struct config *cfg)
{
    struct wsnap *s = calloc(1, sizeof(*s));

    if (s)
        s->cfg = config_ref(cfg);
    return s;
}

static void wsnap_free(struct wsnap *s)
{
    config_unref(s->cfg);
    free(s);
}

const struct config *worker_config(const struct worker *w)
{
    return w->snap->cfg;
}

struct wsnap *worker_snap_hold(struct worker *w)
{
    w->snap->users++;
    return w->snap;
}

void worker_snap_release(struct worker *w, struct wsnap *s)
{
    struct wsnap **pp;

    s->users--;
    if (s == w->snap || s->users > 0)
        return;
    for (pp = &w->retired; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            wsnap_free(s);
            return;
        }
    }
}

static void worker_switch(struct worker *w, struct config *cfg)
{
    struct wsnap *s = wsnap_new(cfg);

    config_unref(cfg); /* the mailbox's reference; the generation took its own */
    if (!s) {
        log_error("worker %u: out of memory switching to the new config", w->id);
        return;
    }
    if (w->snap->users == 0) {
        wsnap_free(w->snap);
    } else {
        w->snap->next = w->retired;
        w->retired = w->snap;
    }
    w->snap = s;
}

/* ------------------------------------------------------------ accepting */

/* The TLS context for a connection accepted on l: the current
 * snapshot's for its address (new certificates after a reload), or NULL
 * for a plain listener. */
static SSL_CTX *listener_tls(struct worker *w, struct evconnlistener *l)
{
    const struct config *cfg = w->snap->cfg;
    const struct bound *b;
    size_t i = 0;

    while (i < w->nlisteners && w->listeners[i] != l)
        i++;
    if (i == w->nlisteners || !w->bound[i].tls)
        return NULL;
    b = &w->bound[i];
    /* same order as bound unless listen[] changed: try i first */
    if (i < cfg->nlisten && cfg->listen[i].tls && cfg->listen[i].addrlen == b->addrlen &&
        memcmp(&cfg->listen[i].addr, &b->addr, b->addrlen) == 0)
        return cfg->listen[i].tls;
    for (size_t j = 0; j < cfg->nlisten; j++)
        if (cfg->listen[j].tls && cfg->listen[j].addrlen == b->addrlen &&
            memcmp(&cfg->listen[j].addr, &b->addr, b->addrlen) == 0)
            return cfg->listen[j].tls;
    return b->tls;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    struct worker *w = arg;
    unsigned max = w->snap->cfg->limits.max_connections;
    struct conn *c;
    SSL_CTX *tls;

    if (atomic_load_explicit(&open_connections, memory_order_relaxed) >= max) {
        /* over the limit: close at once rather than queue work we
         * promised not to take */
        close(fd);
        return;
    }
    c = conn_new(w, fd, sa, (socklen_t)salen);
    tls = c ? listener_tls(w, l) : NULL;
    if (tls && conn_start_tls(c, tls) < 0)
        conn_close(c);
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    if (w->stopping)
        return;
    for (size_t i = 0; i < w->nlisteners; i++)
        evconnlistener_enable(w->listeners[i]);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct worker *w = arg;
    int e = EVUTIL_SOCKET_ERROR();
    struct timeval tv = { 0, ACCEPT_BACKOFF_MS * 1000 };

    log_error("worker %u: accept failed: %s", w->id, evutil_socket_error_to_string(e));
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        for (size_t i = 0; i < w->nlisteners; i++)
            evconnlistener_disable(w->listeners[i]);
        evtimer_add(w->accept_resume, &tv);
    }
}

static int worker_listen(struct worker *w, const struct config *cfg, char *err, size_t errlen)
{
    unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE |
                     LEV_OPT_REUSEABLE_PORT | LEV_OPT_DISABLED;

    w->listeners = calloc(cfg->nlisten, sizeof(*w->listeners));
    w->bound = calloc(cfg->nlisten, sizeof(*w->bound));
    if (!w->listeners || !w->bound) {
        fmt_buf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < cfg->nlisten; i++) {
        const struct listen_conf *lc = &cfg->listen[i];
        w->listeners[i] = evconnlistener_new_bind(w->base, accept_cb, w, flags, 1024,
                                                  (const struct sockaddr *)&lc->addr,
                                                  (int)lc->addrlen);
        if (!w->listeners[i]) {
            fmt_buf(err, errlen, "cannot listen on %s: %s", lc->address, strerror(errno));
            return -1;
        }
        w->bound[i].addr = lc->addr;
        w->bound[i].addrlen = lc->addrlen;
        if (lc->tls && SSL_CTX_up_ref(lc->tls) == 1)
            w->bound[i].tls = lc->tls;
        else if (lc->tls) {
            evconnlistener_free(w->listeners[i]);
            fmt_buf(err, errlen, "cannot listen on %s: out of memory", lc->address);
            return -1;
        }
        w->nbound++;
        w->nlisteners++;
        evconnlistener_set_error_cb(w->listeners[i], accept_error_cb);
    }
    return 0;
}

/* ------------------------------------------------------------ mailbox */

static void worker_begin_stop(struct worker *w);

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    char buf[64];
    struct config *cfg;
    int stop, keys, fncall;
    uint64_t flush[WORKER_FLUSH_WORDS];

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&w->mbox_lock);
    cfg = w->mbox_cfg;
    w->mbox_cfg = NULL;
    stop = w->mbox_stop;
    keys = w->mbox_keys;
    w->mbox_keys = 0;
    memcpy(flush, w->mbox_flush, sizeof(flush));
    memset(w->mbox_flush, 0, sizeof(w->mbox_flush));
    fncall = w->mbox_fncall;
    w->mbox_fncall = 0;
    pthread_mutex_unlock(&w->mbox_lock);
    if (cfg) {
        worker_switch(w, cfg);
        authz_worker_reconfigure(w->authz, w->snap->cfg);
    }
    if (keys)
        authz_worker_keys_changed(w->authz);
    for (unsigned id = 0; id < WORKER_FLUSH_WORDS * 64; id++)
        if (flush[id / 64] & (1ull << (id % 64)))
            authz_worker_flush(w->authz, id);
    if (fncall)
        fncall_worker_wake(w);
    if (stop && !w->stopping)
        worker_begin_stop(w);
}

static void worker_wake(struct worker *w)
{
    char c = 1;
    ssize_t n;

    do
        n = write(w->wake_fd[1], &c, 1);
    while (n < 0 && errno == EINTR);
    /* EAGAIN: the pipe is full of wake-ups already; one is enough */
}

void worker_post_reload(struct worker *w, struct config *cfg)
{
    struct config *old;

    pthread_mutex_lock(&w->mbox_lock);
    old = w->mbox_cfg;
    w->mbox_cfg = config_ref(cfg);
    pthread_mutex_unlock(&w->mbox_lock);
    config_unref(old); /* a newer reload superseded one not yet taken */
    worker_wake(w);
}

void worker_post_keys_changed(struct worker *w)
{
    pthread_mutex_lock(&w->mbox_lock);
    w->mbox_keys = 1;
    pthread_mutex_unlock(&w->mbox_lock);
    worker_wake(w);
}

void worker_post_flush(struct worker *w, unsigned authorizer_id)
{
    if (authorizer_id >= WORKER_FLUSH_WORDS * 64)
        return;
    pthread_mutex_lock(&w->mbox_lock);
    w->mbox_flush[authorizer_id / 64] |= 1ull << (authorizer_id % 64);
    pthread_mutex_unlock(&w->mbox_lock);
    worker_wake(w);
}

void worker_post_fncall(struct worker *w)
{
    pthread_mutex_lock(&w->mbox_lock);
    w->mbox_fncall = 1;
    pthread_mutex_unlock(&w->mbox_lock);
    worker_wake(w);
}

void worker_post_stop(struct worker *w)
{
    pthread_mutex_lock(&w->mbox_lock);
    w->mbox_stop = 1;
    pthread_mutex_unlock(&w->mbox_lock);
    worker_wake(w);
}

/* ------------------------------------------------------------ stopping */

static void stop_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;

    if (w->nconns)
        log_warn("worker %u: shutdown deadline reached, closing %u connection(s)", w->id,
                 w->nconns);
    while (w->conns)
        conn_close(w->conns);
    event_base_loopexit(w->base, NULL);
}

static void worker_begin_stop(struct worker *w)
{
    uint32_t ms = w->snap->cfg->limits.shutdown_timeout_ms;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    w->stopping = 1;
    for (size_t i = 0; i < w->nlisteners; i++)
        evconnlistener_free(w->listeners[i]);
    w->nlisteners = 0;
    conn_shutdown_all(&w->conns);
    upstream_pools_close_idle(w->pools);
    if (w->nconns == 0) {
        event_base_loopexit(w->base, NULL);
        return;
    }
    evtimer_add(w->stop_deadline, &tv);
}

int worker_stopping(const struct worker *w)
{
    return w->stopping;
}

struct conn **worker_conn_list(struct worker *w)
{
    return &w->conns;
}

void worker_conn_count(struct worker *w, int delta)
{
    if (delta > 0) {
        w->nconns++;
        atomic_fetch_add_explicit(&open_connections, 1, memory_order_relaxed);
        return;
    }
    w->nconns--;
    atomic_fetch_sub_explicit(&open_connections, 1, memory_order_relaxed);
    if (w->stopping && w->nconns == 0)
        event_base_loopexit(w->base, NULL);
}

/* ------------------------------------------------------------ utilities */

unsigned worker_id(const struct worker *w)
{
    return w->id;
}

struct event_base *worker_base(struct worker *w)
{
    return w->base;
}

struct upstream_pools *worker_pools(struct worker *w)
{
    return w->pools;
}

struct authz_worker *worker_authz(struct worker *w)
{
    return w->authz;
}

struct evbuffer *worker_scratch(struct worker *w)
{
    return w->scratch;
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: fast, and good enough for traffic splits (not secrets) */
uint64_t worker_random(struct worker *w)
{
    uint64_t *s = w->rng;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void seed_random(struct worker *w)
{
    uint64_t seed[4] = { 0 };
    size_t i;

    if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
        /* no kernel randomness: mix time and id; only splits depend on it */
        seed[0] = (uint64_t)time(NULL) ^ ((uint64_t)w->id << 32);
        seed[1] = (uint64_t)now_us();
    }
    for (i = 0; i < 4; i++) {
        /* splitmix64 step so that no state word is zero */
        uint64_t z = (seed[i] += 0x9e3779b97f4a7c15ull + i);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        w->rng[i] = z ^ (z >> 31);
    }
}

const char *worker_http_date(struct worker *w)
{
    static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct timeval tv;
    struct tm tm;

    event_base_gettimeofday_cached(w->base, &tv);
    if (tv.tv_sec != w->date_sec) {
        w->date_sec = tv.tv_sec;
        gmtime_r(&w->date_sec, &tm);
        fmt_buf(w->date, sizeof(w->date), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
    }
    return w->date;
}

/* ------------------------------------------------------------ lifecycle */

struct worker *worker_new(unsigned id, struct config *cfg, char *err, size_t errlen)
{
    struct worker *w = calloc(1, sizeof(*w));
    struct event_config *ec;

    if (!w) {
        fmt_buf(err, errlen, "out of memory");
        return NULL;
    }
    w->id = id;
    w->wake_fd[0] = w->wake_fd[1] = -1;
    pthread_mutex_init(&w->mbox_lock, NULL);
    seed_random(w);
    /* one thread per loop: libevent's own locks would only cost time */
    ec = event_config_new();
    if (ec) {
        event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
        w->base = event_base_new_with_config(ec);
        event_config_free(ec);
    }
    w->snap = wsnap_new(cfg);
    w->pools = w->base ? upstream_pools_new(w->base) : NULL;
    w->authz = w->base ? authz_worker_new(w->base, cfg) : NULL;
    w->scratch = evbuffer_new();
    if (!w->base || !w->snap || !w->pools || !w->authz || !w->scratch ||
        pipe2(w->wake_fd, O_NONBLOCK | O_CLOEXEC) < 0) {
        fmt_buf(err, errlen, "cannot create worker %u: %s", id, strerror(errno ? errno : ENOMEM));
        worker_join_free(w);
        return NULL;
    }
    w->wake_ev = event_new(w->base, w->wake_fd[0], EV_READ | EV_PERSIST, wake_cb, w);
    w->stop_deadline = evtimer_new(w->base, stop_deadline_cb, w);
    w->accept_resume = evtimer_new(w->base, accept_resume_cb, w);
    if (!w->wake_ev || !w->stop_deadline || !w->accept_resume || event_add(w->wake_ev, NULL) < 0) {
        fmt_buf(err, errlen, "cannot create worker %u: out of memory", id);
        worker_join_free(w);
        return NULL;
    }
    if (worker_listen(w, cfg, err, errlen) < 0) {
        worker_join_free(w);
        return NULL;
    }
    return w;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    event_base_dispatch(w->base);
    /* what is still open ends here, on this thread, so that the requests
     * and exchanges it frees go back to this thread's pools, which are
     * then emptied */
    while (w->conns)
        conn_close(w->conns);
    upstream_pools_close_idle(w->pools);
    conn_thread_exit();
    handler_thread_exit();
    authz_thread_exit();
    stream_thread_exit();
    return NULL;
}

int worker_start(struct worker *w)
{
    for (size_t i = 0; i < w->nlisteners; i++)
        evconnlistener_enable(w->listeners[i]);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return -1;
    w->started = 1;
    return 0;
}

void worker_join_free(struct worker *w)
{
    if (!w)
        return;
    if (w->started)
        pthread_join(w->thread, NULL);
    while (w->conns)
        conn_close(w->conns);
    for (size_t i = 0; i < w->nlisteners; i++)
        evconnlistener_free(w->listeners[i]);
    free(w->listeners);
    if (w->bound)
        for (size_t i = 0; i < w->nbound; i++)
            SSL_CTX_free(w->bound[i].tls);
    free(w->bound);
    upstream_pools_free(w->pools);
    authz_worker_free(w->authz);
    while (w->retired) {
        struct wsnap *s = w->retired;
        w->retired = s->next;
        wsnap_free(s);
    }
    if (w->snap)
        wsnap_free(w->snap);
    config_unref(w->mbox_cfg);
    if (w->scratch)
        evbuffer_free(w->scratch);
    if (w->wake_ev)
        event_free(w->wake_ev);
    if (w->stop_deadline)
        event_free(w->stop_deadline);
    if (w->accept_resume)
        event_free(w->accept_resume);
    if (w->wake_fd[0] >= 0)
        close(w->wake_fd[0]);
    if (w->wake_fd[1] >= 0)
        close(w->wake_fd[1]);
    if (w->base)
        event_base_free(w->base);
    pthread_mutex_destroy(&w->mbox_lock);
    free(w);
}
