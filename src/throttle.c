/* throttle.c - the throttle stage: GCRA token buckets, local or in Redis. */
#include "throttle.h"

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authz.h"
#include "config.h"
#include "conn.h"
#include "redis.h"
#include "redis_scripts.h"
#include "request.h"
#include "util.h"
#include "worker.h"

#define NS_PER_S 1000000000ull
#define REGISTRY_SLOTS 4096
#define QUOTA_COUNT_BITS 40
#define QUOTA_COUNT_MASK ((1ull << QUOTA_COUNT_BITS) - 1)
/* at most a route, an alias and a plan bucket per request */
#define MAX_CHECKS 3
#define PLAN_NAME_MAX 128 /* "plan:" + a plan name (64 at most) + ":" + 16 hex digits */

struct throttle_bucket {
    _Atomic uint64_t tat;   /* theoretical arrival time, ns of CLOCK_MONOTONIC */
    _Atomic uint64_t quota; /* UTC day << 40 | requests counted that day */
    /* the registry's (main thread, under its lock) */
    char *name;           /* also the Redis key after prefix + "throttle:" */
    uint32_t rate, burst; /* the settings the state belongs to */
    uint64_t hash;
    struct throttle_bucket *next;
};

static struct {
    pthread_mutex_t lock;
    struct throttle_bucket *slots[REGISTRY_SLOTS];
} reg = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct check {
    struct throttle_bucket *b;
    const struct throttle_conf *conf;
    const char *label; /* "route", "alias", "plan" */
};

/* ------------------------------------------------------------ GCRA */

int throttle_gcra(uint64_t tat, uint64_t now, uint64_t interval, uint64_t tolerance,
                  uint64_t *new_tat, uint64_t *wait)
{
    uint64_t nt = (tat > now ? tat : now) + interval;

    if (nt - now > tolerance) {
        *wait = nt - now - tolerance;
        return 0;
    }
    *new_tat = nt;
    return 1;
}

uint64_t throttle_retry_after_s(uint64_t wait_ns)
{
    uint64_t s = (wait_ns + NS_PER_S - 1) / NS_PER_S;
    return s ? s : 1;
}

static uint64_t interval_ns(const struct throttle_conf *c)
{
    return NS_PER_S / c->rate_per_s;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Takes a token from b, lock-free. Returns 1, or 0 with *wait (ns). */
static int bucket_take(struct throttle_bucket *b, const struct throttle_conf *c, uint64_t *wait)
{
    uint64_t interval = interval_ns(c), tol = interval * c->burst, now = mono_ns();
    uint64_t tat = atomic_load_explicit(&b->tat, memory_order_relaxed), nt;

    for (;;) {
        if (!throttle_gcra(tat, now, interval, tol, &nt, wait))
            return 0;
        if (atomic_compare_exchange_weak_explicit(&b->tat, &tat, nt, memory_order_relaxed,
                                                  memory_order_relaxed))
            return 1;
    }
}

/* Gives back a token taken by bucket_take() (another bucket refused). */
static void bucket_refund(struct throttle_bucket *b, const struct throttle_conf *c)
{
    atomic_fetch_sub_explicit(&b->tat, interval_ns(c), memory_order_relaxed);
}

static uint64_t utc_day(time_t *secs_left)
{
    time_t t = time(NULL);
    if (secs_left)
        *secs_left = 86400 - t % 86400;
    return (uint64_t)t / 86400;
}

/* Counts one request against the day's quota. Returns 1, or 0 when used up. */
static int quota_take(struct throttle_bucket *b, uint64_t quota)
{
    uint64_t day = utc_day(NULL), v = atomic_load_explicit(&b->quota, memory_order_relaxed), nv;

    for (;;) {
        uint64_t count = (v >> QUOTA_COUNT_BITS) == day ? v & QUOTA_COUNT_MASK : 0;
        if (count >= quota)
            return 0;
        nv = (day << QUOTA_COUNT_BITS) | (count + 1);
        if (atomic_compare_exchange_weak_explicit(&b->quota, &v, nv, memory_order_relaxed,
                                                  memory_order_relaxed))
            return 1;
    }
}

/* ------------------------------------------------------------ registry */

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The bucket named name, made when new; its state starts over when the
 * settings changed. Under reg.lock. */
static struct throttle_bucket *intern(const char *name, const struct throttle_conf *c)
{
    uint64_t h = name_hash(name);
    struct throttle_bucket **slot = &reg.slots[h % REGISTRY_SLOTS], *b;

    for (b = *slot; b; b = b->next)
        if (b->hash == h && strcmp(b->name, name) == 0)
            break;
    if (!b) {
        if (!(b = calloc(1, sizeof(*b))) || !(b->name = strdup(name))) {
            free(b);
            return NULL;
        }
        b->hash = h;
        b->next = *slot;
        *slot = b;
    } else if (b->rate != c->rate_per_s || b->burst != c->burst) {
        atomic_store(&b->tat, 0);
    }
    b->rate = c->rate_per_s;
    b->burst = c->burst;
    return b;
}

/* "plan:NAME:" and the first 8 bytes of the key's SHA-256 in hex: names
 * the key in Redis and in logs without giving it away. */
static int plan_key_name(char *out, size_t cap, const char *plan, const char *key)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[17];

    if (!EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL))
        return -1;
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return fmt_buf(out, cap, "plan:%s:%s", plan, hex);
}

/* A new string: prefix, then a, ':' and b (b may be NULL). */
static char *join_name(const char *prefix, const char *a, const char *b)
{
    size_t n = strlen(prefix) + strlen(a) + (b ? strlen(b) + 1 : 0) + 1;
    char *s = malloc(n);

    if (s && fmt_buf(s, n, "%s%s%s%s", prefix, a, b ? ":" : "", b ? b : "") < 0) {
        free(s);
        s = NULL;
    }
    return s;
}

int throttle_attach(struct config *cfg)
{
    char pname[PLAN_NAME_MAX], *name;
    int rc = -1;

    pthread_mutex_lock(&reg.lock);
    for (size_t i = 0; i < cfg->nroutes; i++) {
        struct route *r = &cfg->routes[i];
        r->bucket = NULL;
        if (!r->throttle.enabled)
            continue;
        name = join_name("route:", r->spec, NULL);
        r->bucket = name ? intern(name, &r->throttle) : NULL;
        free(name);
        if (!r->bucket)
            goto out;
    }
    for (size_t i = 0; i < cfg->nfunctions; i++)
        for (size_t j = 0; j < cfg->functions[i].naliases; j++) {
            struct alias *a = &cfg->functions[i].aliases[j];
            a->bucket = NULL;
            if (!a->throttle.enabled)
                continue;
            name = join_name("alias:", cfg->functions[i].name, a->name);
            a->bucket = name ? intern(name, &a->throttle) : NULL;
            free(name);
            if (!a->bucket)
                goto out;
        }
    for (size_t i = 0; i < cfg->nusage_plans; i++) {
        struct usage_plan *pl = &cfg->usage_plans[i];
        /* a plan bucket also holds its key's quota count */
        struct throttle_conf c = pl->throttle;
        if (!c.enabled)
            c.rate_per_s = c.burst = 0;
        free(pl->buckets);
        if (!(pl->buckets = calloc(pl->nkeys ? pl->nkeys : 1, sizeof(*pl->buckets))))
            goto out;
        for (size_t k = 0; k < pl->nkeys; k++) {
            if (plan_key_name(pname, sizeof(pname), pl->name, pl->keys[k]) < 0 ||
                !(pl->buckets[k] = intern(pname, &c)))
                goto out;
        }
    }
    rc = 0;
out:
    pthread_mutex_unlock(&reg.lock);
    return rc;
}

void throttle_shutdown(void)
{
    pthread_mutex_lock(&reg.lock);
    for (size_t i = 0; i < REGISTRY_SLOTS; i++) {
        struct throttle_bucket *b = reg.slots[i], *n;
        for (; b; b = n) {
            n = b->next;
            free(b->name);
            free(b);
        }
        reg.slots[i] = NULL;
    }
    pthread_mutex_unlock(&reg.lock);
}

/* ------------------------------------------------------------ the stage */

static void refuse(struct request *req, const char *label, uint64_t wait_ns)
{
    char extra[64];

    req->throttled = label;
    fmt_buf(extra, sizeof(extra), "Retry-After: %llu\r\n",
            (unsigned long long)throttle_retry_after_s(wait_ns));
    conn_respond(req, 429, "Too Many Requests", extra);
}

/* Decides with the process's own buckets. Returns 1 when allowed, else
 * answers 429 and returns 0. */
static int decide_local(struct request *req, const struct check *ck, size_t n)
{
    const struct usage_plan *pl = req->plan;
    uint64_t wait = 0;
    size_t i;

    for (i = 0; i < n; i++)
        if (!bucket_take(ck[i].b, ck[i].conf, &wait))
            break;
    if (i == n &&
        (!pl || !pl->daily_quota || quota_take(pl->buckets[req->plan_key], pl->daily_quota)))
        return 1;
    for (size_t j = 0; j < i; j++)
        bucket_refund(ck[j].b, ck[j].conf);
    if (i == n) {
        time_t left;
        utc_day(&left);
        refuse(req, "quota", (uint64_t)left * NS_PER_S);
    } else {
        refuse(req, ck[i].label, wait);
    }
    return 0;
}

/* The request's checks, in the order they are judged. */
static size_t gather(struct request *req, struct check *ck)
{
    const struct route *rt = req->route;
    size_t n = 0;

    if (rt->bucket)
        ck[n++] = (struct check){ rt->bucket, &rt->throttle, "route" };
    if (rt->alias && rt->alias->bucket)
        ck[n++] = (struct check){ rt->alias->bucket, &rt->alias->throttle, "alias" };
    if (req->plan && req->plan->throttle.enabled && req->plan->buckets)
        ck[n++] = (struct check){ req->plan->buckets[req->plan_key], &req->plan->throttle, "plan" };
    return n;
}

/* Finds the usage plan and key of the request's x-api-key. Every key of
 * the same length is compared in constant time. Returns 0, or -1. */
static int find_plan(struct request *req)
{
    const struct config *cfg = req->cfg;
    const struct http_request_head *h = &req->head;
    struct slice v = { NULL, 0 };
    int found = -1;

    for (size_t i = 0; i < h->nheaders; i++)
        if (h->headers[i].name.len == 9 && ascii_eq_lc(h->headers[i].name.ptr, "x-api-key", 9)) {
            v = h->headers[i].value;
            break;
        }
    if (!v.ptr || v.len == 0)
        return -1;
    for (size_t i = 0; i < cfg->nusage_plans; i++) {
        const struct usage_plan *pl = &cfg->usage_plans[i];
        for (size_t k = 0; k < pl->nkeys; k++)
            if (strlen(pl->keys[k]) == v.len && CRYPTO_memcmp(pl->keys[k], v.ptr, v.len) == 0 &&
                found < 0) {
                req->plan = pl;
                req->plan_key = k;
                found = 0;
            }
    }
    return found;
}

static void on_reply(void *arg, const struct redisReply *r)
{
    struct request *req = arg;
    struct check ck[MAX_CHECKS];
    size_t n = gather(req, ck);
    throttle_done_fn *done = req->throttle_done;

    req->throttle_op = NULL;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[2]->type != REDIS_REPLY_INTEGER) {
        /* Redis away, slow or broken: the local buckets decide */
        if (decide_local(req, ck, n))
            done(req);
        return;
    }
    if (r->element[0]->integer == 1) {
        done(req);
        return;
    }
    {
        long long which = r->element[2]->integer, ms = r->element[1]->integer;
        const char *label = which >= 1 && (size_t)which <= n ? ck[which - 1].label : "quota";
        refuse(req, label, ms > 0 ? (uint64_t)ms * 1000000ull : 0);
    }
}

/* Sends the decision to Redis. Returns 0 (waiting), or -1 (decide here). */
static int ask_redis(struct request *req, const struct check *ck, size_t n, throttle_done_fn *done)
{
    struct redis_client *rc = authz_worker_redis_client(worker_authz(req->worker));
    const struct usage_plan *pl = req->plan;
    char *keys[MAX_CHECKS + 1] = { NULL }, nums[3 + 2 * MAX_CHECKS][32], nkeys[8], day_s[24];
    const char *argv[3 + (MAX_CHECKS + 1) + 3 + 2 * MAX_CHECKS];
    int argc = 0, quota = pl && pl->daily_quota, ok = 1;
    time_t left;
    uint64_t day = utc_day(&left);
    const char *prefix;

    if (!rc || !redis_client_ready(rc))
        return -1;
    prefix = redis_client_prefix(rc);
    argv[argc++] = "EVAL";
    argv[argc++] = redis_script_throttle;
    fmt_buf(nkeys, sizeof(nkeys), "%zu", n + (size_t)quota);
    argv[argc++] = nkeys;
    for (size_t i = 0; i < n; i++) {
        ok &= (keys[i] = join_name(prefix, "throttle", ck[i].b->name)) != NULL;
        argv[argc++] = keys[i];
    }
    if (quota) {
        /* "quota:NAME:ID:DAY" from the key's bucket name "plan:NAME:ID" */
        fmt_buf(day_s, sizeof(day_s), "%llu", (unsigned long long)day);
        char *k = join_name(prefix, "quota", pl->buckets[req->plan_key]->name + 5);
        ok &= k && (keys[n] = join_name(k, "", day_s)) != NULL;
        free(k);
        argv[argc++] = keys[n];
    }
    fmt_buf(nums[0], sizeof(nums[0]), "%zu", n);
    fmt_buf(nums[1], sizeof(nums[1]), "%llu", quota ? (unsigned long long)pl->daily_quota : 0ull);
    fmt_buf(nums[2], sizeof(nums[2]), "%lld", (long long)left);
    argv[argc++] = nums[0];
    argv[argc++] = nums[1];
    argv[argc++] = nums[2];
    for (size_t i = 0; i < n; i++) {
        /* microseconds, with fractions: Redis's TIME is in microseconds */
        double interval = 1e6 / ck[i].conf->rate_per_s;
        fmt_buf(nums[3 + 2 * i], sizeof(nums[0]), "%.3f", interval);
        fmt_buf(nums[4 + 2 * i], sizeof(nums[0]), "%.3f", interval * ck[i].conf->burst);
        argv[argc++] = nums[3 + 2 * i];
        argv[argc++] = nums[4 + 2 * i];
    }
    req->throttle_done = done;
    /* hiredis formats argv at once: the keys can go right after */
    req->throttle_op = ok ? redis_command(rc, on_reply, req, argc, argv, NULL) : NULL;
    for (size_t i = 0; i <= MAX_CHECKS; i++)
        free(keys[i]);
    return req->throttle_op ? 0 : -1;
}

enum throttle_outcome throttle_run(struct request *req, throttle_done_fn *done)
{
    struct check ck[MAX_CHECKS];
    size_t n;

    if (req->route->usage_plan_required && find_plan(req) < 0) {
        conn_respond(req, 403, "Forbidden", NULL);
        return THROTTLE_ANSWERED;
    }
    n = gather(req, ck);
    if (n == 0 && !(req->plan && req->plan->daily_quota))
        return THROTTLE_PASS;
    if (ask_redis(req, ck, n, done) == 0)
        return THROTTLE_WAIT;
    return decide_local(req, ck, n) ? THROTTLE_PASS : THROTTLE_ANSWERED;
}

void throttle_cancel(struct request *req)
{
    if (req->throttle_op)
        redis_op_cancel(req->throttle_op);
    req->throttle_op = NULL;
}
