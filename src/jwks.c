/* jwks.c - JWKS documents fetched from URLs, refreshed on the main loop. */
#include "jwks.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch.h"
#include "jose.h"
#include "log.h"
#include "util.h"

/* A JWKS endpoint answers in well under a second; five leave room for a
 * slow network without holding a refetch back for long. */
#define JWKS_FETCH_TIMEOUT_MS 5000
/* Real documents hold a handful of keys (a few KiB); anything near this
 * is not a key set. */
#define JWKS_MAX_BODY (1024 * 1024)
/* First retry after a failed fetch; doubles up to the refresh interval. */
#define JWKS_FIRST_BACKOFF_S 1

struct jwks_source {
    struct jwks_registry *reg;
    char *url;
    char *ca_file; /* NULL: the system store */
    struct jwks_source *next;

    /* main thread only */
    uint32_t refresh_s;
    struct event *timer;   /* the next scheduled fetch (refresh or retry) */
    uint64_t timer_set_ms; /* when it was armed, 0 when it is not */
    uint64_t timer_due_ms;
    int timer_is_retry;
    uint32_t backoff_s; /* 0 after a success */
    struct fetch *fetch;

    /* shared with workers, under lock */
    pthread_mutex_t lock;
    struct jose_keyset *keys;
    int busy;               /* a fetch runs, or has been asked for and will start */
    int wanted;             /* a worker asked; the main loop starts it */
    uint64_t last_start_ms; /* monotonic, for the refetch rate limit */

    atomic_ulong fetches, failures;
};

struct jwks_registry {
    struct event_base *base;
    jwks_notify_cb *notify;
    void *arg;
    struct jwks_source *sources;
    /* Workers wake the main loop through this pipe: the main base is not
     * made with libevent's locks, so they cannot touch its events. */
    int wake_fd[2];
    struct event *wake_ev;
};

static void start_fetch(struct jwks_source *src);

/* ------------------------------------------------------------ timers */

/* Arms the timer to fire delay_ms from now. */
static void schedule(struct jwks_source *src, uint64_t delay_ms, int is_retry)
{
    struct timeval tv = { (time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000 };

    src->timer_set_ms = now_ms();
    src->timer_due_ms = src->timer_set_ms + delay_ms;
    src->timer_is_retry = is_retry;
    if (evtimer_add(src->timer, &tv) < 0) {
        /* Only on a broken base; the next request_refresh still works. */
        log_error("JWKS %s: cannot schedule the next fetch", src->url);
        src->timer_set_ms = 0;
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    start_fetch(arg);
}

/* ------------------------------------------------------------ fetching */

/* Records the end of a fetch and tells the registry's owner. src must not
 * be touched after notify: the owner may act on it. */
static void fetch_ended(struct jwks_source *src, struct jose_keyset *ks, const char *reason)
{
    struct jwks_registry *reg = src->reg;
    struct jose_keyset *old = NULL;
    int had_keys;

    atomic_fetch_add(&src->fetches, 1);
    pthread_mutex_lock(&src->lock);
    had_keys = src->keys != NULL;
    if (ks) { /* else the last good set stays */
        old = src->keys;
        src->keys = ks;
    }
    src->busy = 0;
    pthread_mutex_unlock(&src->lock);
    /* Workers holding the old set keep their own references. */
    jose_keyset_unref(old);

    if (ks) {
        src->backoff_s = 0;
        log_info("JWKS %s: %zu key(s) loaded", src->url, jose_keyset_count(ks));
        schedule(src, (uint64_t)src->refresh_s * 1000, 0);
    } else {
        atomic_fetch_add(&src->failures, 1);
        src->backoff_s = src->backoff_s ? src->backoff_s * 2 : JWKS_FIRST_BACKOFF_S;
        if (src->backoff_s > src->refresh_s)
            src->backoff_s = src->refresh_s;
        log_warn("JWKS %s: fetch failed: %s; %s, retrying in %u s", src->url, reason,
                 had_keys ? "keeping the last good key set" : "no key set yet",
                 (unsigned)src->backoff_s);
        schedule(src, (uint64_t)src->backoff_s * 1000, 1);
    }
    if (reg->notify)
        reg->notify(reg->arg, src, ks != NULL);
}

static void on_fetched(void *arg, int status, const char *body, size_t len, const char *error)
{
    struct jwks_source *src = arg;
    struct jose_keyset *ks = NULL;
    char why[256], reason[300];
    size_t skipped = 0;

    src->fetch = NULL;
    if (status != 200) {
        if (status)
            fmt_buf(reason, sizeof(reason), "HTTP status %d", status);
        else
            fmt_buf(reason, sizeof(reason), "%s", error);
        goto fail;
    }
    ks = jose_keyset_new();
    if (!ks) {
        fmt_buf(reason, sizeof(reason), "out of memory");
        goto fail;
    }
    /* allow_oct = 0: whoever can answer for this URL (or sit in the path
     * of a plain http fetch) must not be able to hand us an HMAC secret
     * and then sign tokens with it. */
    why[0] = '\0';
    if (jose_keyset_add_jwks(ks, body, len, 0, &skipped, why, sizeof(why)) < 0) {
        fmt_buf(reason, sizeof(reason), "bad JWKS: %s", why);
        goto fail;
    }
    if (jose_keyset_count(ks) == 0) {
        fmt_buf(reason, sizeof(reason), "no usable public key in the JWKS (%zu skipped)", skipped);
        goto fail;
    }
    fetch_ended(src, ks, NULL);
    return;
fail:
    jose_keyset_unref(ks);
    fetch_ended(src, NULL, reason);
}

/* Main thread, from an event callback (so a failure may notify at once). */
static void start_fetch(struct jwks_source *src)
{
    struct fetch_opts o = { .timeout_ms = JWKS_FETCH_TIMEOUT_MS,
                            .max_body = JWKS_MAX_BODY,
                            .ca_file = src->ca_file };
    char err[256];

    if (src->fetch)
        return; /* one at a time; its notify answers every request */
    pthread_mutex_lock(&src->lock);
    src->busy = 1;
    src->wanted = 0;
    src->last_start_ms = now_ms();
    pthread_mutex_unlock(&src->lock);
    evtimer_del(src->timer);
    src->timer_set_ms = 0;
    src->fetch = fetch_get(src->reg->base, src->url, &o, on_fetched, src, err, sizeof(err));
    if (!src->fetch)
        fetch_ended(src, NULL, err);
}

/* Main loop: a worker asked for refetches. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct jwks_registry *reg = arg;
    char buf[64];

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    for (struct jwks_source *src = reg->sources, *next; src; src = next) {
        int wanted;

        next = src->next;
        pthread_mutex_lock(&src->lock);
        wanted = src->wanted;
        src->wanted = 0;
        pthread_mutex_unlock(&src->lock);
        if (wanted)
            start_fetch(src);
    }
}

/* ------------------------------------------------------------ registry */

struct jwks_registry *jwks_registry_new(struct event_base *base, jwks_notify_cb *notify, void *arg)
{
    struct jwks_registry *reg = calloc(1, sizeof(*reg));

    if (!reg)
        return NULL;
    reg->base = base;
    reg->notify = notify;
    reg->arg = arg;
    reg->wake_fd[0] = reg->wake_fd[1] = -1;
    if (pipe2(reg->wake_fd, O_NONBLOCK | O_CLOEXEC) < 0) {
        log_error("JWKS: cannot create a pipe: %s", strerror(errno));
        jwks_registry_free(reg);
        return NULL;
    }
    reg->wake_ev = event_new(base, reg->wake_fd[0], EV_READ | EV_PERSIST, on_wake, reg);
    if (!reg->wake_ev || event_add(reg->wake_ev, NULL) < 0) {
        jwks_registry_free(reg);
        return NULL;
    }
    return reg;
}

static void source_free(struct jwks_source *src)
{
    fetch_cancel(src->fetch);
    if (src->timer)
        event_free(src->timer);
    jose_keyset_unref(src->keys);
    pthread_mutex_destroy(&src->lock);
    free(src->url);
    free(src->ca_file);
    free(src);
}

void jwks_registry_free(struct jwks_registry *reg)
{
    if (!reg)
        return;
    while (reg->sources) {
        struct jwks_source *src = reg->sources;
        reg->sources = src->next;
        source_free(src);
    }
    if (reg->wake_ev)
        event_free(reg->wake_ev);
    if (reg->wake_fd[0] >= 0)
        close(reg->wake_fd[0]);
    if (reg->wake_fd[1] >= 0)
        close(reg->wake_fd[1]);
    free(reg);
}

static int same_ca(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

struct jwks_source *jwks_registry_source(struct jwks_registry *reg, const char *url,
                                         const char *ca_file, uint32_t refresh_s)
{
    struct jwks_source *src;

    /* 0 would refetch in a loop; the config layer bounds it properly. */
    if (refresh_s < 1)
        refresh_s = 1;
    for (src = reg->sources; src; src = src->next) {
        /* the same url trusted through another CA is another source */
        if (strcmp(src->url, url) != 0 || !same_ca(src->ca_file, ca_file))
            continue;
        if (refresh_s < src->refresh_s) {
            src->refresh_s = refresh_s;
            /* A pending refresh moves earlier to honour the new interval;
             * a retry keeps its backoff (it is already shorter). */
            if (src->timer_set_ms && !src->timer_is_retry) {
                uint64_t due = src->timer_set_ms + (uint64_t)refresh_s * 1000, now = now_ms();
                if (due < src->timer_due_ms)
                    schedule(src, due > now ? due - now : 0, 0);
            }
        }
        return src;
    }

    src = calloc(1, sizeof(*src));
    if (!src)
        return NULL;
    src->reg = reg;
    src->refresh_s = refresh_s;
    if (pthread_mutex_init(&src->lock, NULL) != 0) {
        free(src);
        return NULL;
    }
    src->url = strdup(url);
    src->ca_file = ca_file ? strdup(ca_file) : NULL;
    src->timer = evtimer_new(reg->base, on_timer, src);
    if (!src->url || (ca_file && !src->ca_file) || !src->timer) {
        source_free(src);
        return NULL;
    }
    /* The first fetch starts from the loop, so its notify (even for a
     * url fetch_get refuses) never runs inside this call; until then a
     * request_refresh finds it already under way. */
    src->busy = 1;
    src->last_start_ms = now_ms();
    schedule(src, 0, 0);
    src->next = reg->sources;
    reg->sources = src;
    return src;
}

void jwks_registry_prune(struct jwks_registry *reg, int (*keep)(void *arg, struct jwks_source *s),
                         void *arg)
{
    struct jwks_source **pp = &reg->sources;

    while (*pp) {
        struct jwks_source *src = *pp;
        if (keep(arg, src)) {
            pp = &src->next;
            continue;
        }
        *pp = src->next;
        source_free(src);
    }
}

/* ------------------------------------------------------------ any thread */

struct jose_keyset *jwks_source_keys(struct jwks_source *src)
{
    struct jose_keyset *ks;

    pthread_mutex_lock(&src->lock);
    ks = src->keys ? jose_keyset_ref(src->keys) : NULL;
    pthread_mutex_unlock(&src->lock);
    return ks;
}

int jwks_source_request_refresh(struct jwks_source *src)
{
    uint64_t now;
    int rc, wake = 0;

    pthread_mutex_lock(&src->lock);
    /* read under the lock so it is never older than last_start_ms */
    now = now_ms();
    if (src->busy) {
        rc = 1;
    } else if (now - src->last_start_ms < (uint64_t)JWKS_MIN_REFETCH_S * 1000) {
        rc = 0;
    } else {
        /* Claimed here, under the lock, so a burst of unknown kids from
         * every worker makes one fetch. */
        src->busy = 1;
        src->wanted = 1;
        src->last_start_ms = now;
        rc = wake = 1;
    }
    pthread_mutex_unlock(&src->lock);

    if (wake) {
        char c = 1;
        ssize_t n;

        do
            n = write(src->reg->wake_fd[1], &c, 1);
        while (n < 0 && errno == EINTR);
        /* EAGAIN: the pipe already holds wake-ups; one is enough. */
        if (n < 0 && errno != EAGAIN)
            log_error("JWKS %s: cannot wake the main loop: %s", src->url, strerror(errno));
    }
    return rc;
}

const char *jwks_source_url(const struct jwks_source *src)
{
    return src->url;
}

void jwks_source_stats(const struct jwks_source *src, unsigned long *fetches,
                       unsigned long *failures)
{
    if (fetches)
        *fetches = atomic_load(&src->fetches);
    if (failures)
        *failures = atomic_load(&src->failures);
}
