/* breaker.c - per-upstream circuit breakers shared by all workers. */
#include "breaker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

enum bstate { B_CLOSED, B_OPEN, B_HALF_OPEN };

struct breaker {
    _Atomic int state;
    _Atomic uint32_t fails;  /* consecutive failures while closed */
    pthread_mutex_t lock;    /* state changes */
    uint64_t open_until_ms;  /* B_OPEN */
    uint64_t probe_until_ms; /* B_HALF_OPEN: a lost probe is replaced after this */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char name[64];
    struct breaker *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct breaker *registry;

static const char *const state_names[] = { "closed", "open", "half-open" };

struct breaker *breaker_new(const char *name)
{
    struct breaker *b = calloc(1, sizeof(*b));

    if (!b)
        return NULL;
    if (pthread_mutex_init(&b->lock, NULL) != 0) {
        free(b);
        return NULL;
    }
    atomic_init(&b->state, B_CLOSED);
    atomic_init(&b->fails, 0);
    snprintf(b->name, sizeof(b->name), "%s", name ? name : "?");
    return b;
}

void breaker_free(struct breaker *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static void addr_name(const struct sockaddr *sa, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        snprintf(out, len, "%s:%u", ip, ntohs(s4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        snprintf(out, len, "[%s]:%u", ip, ntohs(s6->sin6_port));
    } else {
        snprintf(out, len, "?");
    }
}

struct breaker *breaker_get(const struct sockaddr *sa, socklen_t salen)
{
    struct breaker *b;
    char name[64];

    if (salen > sizeof(b->addr))
        return NULL;
    pthread_mutex_lock(&registry_lock);
    for (b = registry; b; b = b->next)
        if (b->addrlen == salen && memcmp(&b->addr, sa, salen) == 0)
            break;
    if (!b) {
        addr_name(sa, name, sizeof(name));
        b = breaker_new(name);
        if (b) {
            memcpy(&b->addr, sa, salen);
            b->addrlen = salen;
            b->next = registry;
            registry = b;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    return b;
}

static uint32_t secs_left(uint64_t until, uint64_t now)
{
    uint64_t ms = until > now ? until - now : 0;
    uint64_t s = (ms + 999) / 1000;
    return s ? (uint32_t)s : 1;
}

enum breaker_verdict breaker_allow(struct breaker *b, uint64_t now_ms, uint32_t cooldown_ms,
                                   uint32_t *retry_after_s)
{
    enum breaker_verdict v = BREAKER_ALLOW;

    if (atomic_load_explicit(&b->state, memory_order_acquire) == B_CLOSED)
        return BREAKER_ALLOW;
    pthread_mutex_lock(&b->lock);
    switch (atomic_load(&b->state)) {
    case B_CLOSED:
        break;
    case B_OPEN:
        if (now_ms < b->open_until_ms) {
            v = BREAKER_DENY;
            if (retry_after_s)
                *retry_after_s = secs_left(b->open_until_ms, now_ms);
            break;
        }
        atomic_store(&b->state, B_HALF_OPEN);
        b->probe_until_ms = now_ms + (cooldown_ms > 1000 ? cooldown_ms : 1000);
        log_info("circuit breaker %s: half-open, letting one probe through", b->name);
        v = BREAKER_PROBE;
        break;
    case B_HALF_OPEN:
        if (now_ms >= b->probe_until_ms) {
            /* the probe never reported back: send another */
            b->probe_until_ms = now_ms + (cooldown_ms > 1000 ? cooldown_ms : 1000);
            v = BREAKER_PROBE;
            break;
        }
        v = BREAKER_DENY;
        if (retry_after_s)
            *retry_after_s = 1;
        break;
    }
    pthread_mutex_unlock(&b->lock);
    return v;
}

void breaker_record(struct breaker *b, int probe, int ok, uint64_t now_ms, uint32_t failures,
                    uint32_t cooldown_ms)
{
    int st = atomic_load_explicit(&b->state, memory_order_acquire);

    /* the common case, a success on a closed breaker, takes no lock */
    if (ok && st == B_CLOSED && !probe) {
        if (atomic_load_explicit(&b->fails, memory_order_relaxed))
            atomic_store_explicit(&b->fails, 0, memory_order_relaxed);
        return;
    }
    pthread_mutex_lock(&b->lock);
    st = atomic_load(&b->state);
    if (st == B_CLOSED) {
        if (ok) {
            atomic_store(&b->fails, 0);
        } else if (failures && atomic_fetch_add(&b->fails, 1) + 1 >= failures) {
            atomic_store(&b->fails, 0);
            b->open_until_ms = now_ms + cooldown_ms;
            atomic_store_explicit(&b->state, B_OPEN, memory_order_release);
            log_warn("circuit breaker %s: open after %u consecutive failures, cooling down "
                     "for %u ms",
                     b->name, failures, cooldown_ms);
        }
    } else if (st == B_HALF_OPEN && probe) {
        if (ok) {
            atomic_store(&b->fails, 0);
            atomic_store_explicit(&b->state, B_CLOSED, memory_order_release);
            log_warn("circuit breaker %s: closed, the probe succeeded", b->name);
        } else {
            b->open_until_ms = now_ms + cooldown_ms;
            atomic_store_explicit(&b->state, B_OPEN, memory_order_release);
            log_warn("circuit breaker %s: open again, the probe failed; cooling down for %u ms",
                     b->name, cooldown_ms);
        }
    }
    /* results of requests let through before the breaker opened, or of
     * requests other than the probe, do not move an open breaker */
    pthread_mutex_unlock(&b->lock);
}

void breaker_cancel_probe(struct breaker *b)
{
    pthread_mutex_lock(&b->lock);
    if (atomic_load(&b->state) == B_HALF_OPEN)
        b->probe_until_ms = 0; /* the next request probes */
    pthread_mutex_unlock(&b->lock);
}

const char *breaker_state_name(const struct breaker *b)
{
    int st = atomic_load(&((struct breaker *)b)->state);
    return state_names[st];
}
