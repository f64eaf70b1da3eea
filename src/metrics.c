/* metrics.c - per-worker request counters and latency histograms, a
 * registry of series that outlives config reloads, Prometheus text. */
#include "metrics.h"

#include <event2/buffer.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "request.h"
#include "util.h"
#include "worker.h"

#define NCLASSES 5 /* 1xx .. 5xx */
#define NFINITE (METRICS_NBUCKETS - 1)

/* Bucket upper bounds in microseconds: integers, so the request path
 * compares integers and never touches floating point. */
static const uint64_t bucket_le_us[NFINITE] = {
    1000,   2500,   5000,   10000,  25000,   50000,   75000,   100000,  150000,
    250000, 400000, 500000, 750000, 1000000, 1500000, 2500000, 5000000, 10000000,
};

/* The same bounds as Prometheus "le" values (seconds), written out so the
 * text never depends on how a double prints. */
static const char *const bucket_le_text[METRICS_NBUCKETS] = {
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.15", "0.25",
    "0.4",   "0.5",    "0.75",  "1",    "1.5",   "2.5",  "5",     "10",  "+Inf",
};

/* One worker's figures for one series. Only that worker writes it, so an
 * update is a relaxed load and a relaxed store: no locked instruction, and
 * readers still never see a torn value. Cell arrays start on a 128-byte
 * boundary and a cell is a multiple of 128 bytes long, so two workers never
 * share a cache line, nor a pair of lines (which the adjacent-line
 * prefetcher fetches together).
 * What every request writes (sum, status class, the low buckets) comes
 * first, in the first line; the rarer counters come last. */
#define CELL_ALIGN 128
struct metrics_cell {
    _Alignas(CELL_ALIGN) _Atomic uint64_t sum_us;
    _Atomic uint64_t status[NCLASSES];
    _Atomic uint64_t buckets[METRICS_NBUCKETS]; /* not cumulative */
    _Atomic uint64_t errors;                    /* 5xx or function error */
    _Atomic uint64_t fn_errors;
    _Atomic uint64_t auth_hit, auth_miss;
    _Atomic uint64_t throttled[METRICS_NTHROTTLE]; /* by limit, as METRICS_THROTTLED */
    _Atomic uint64_t breaker_open;
};

_Static_assert(sizeof(struct metrics_cell) % CELL_ALIGN == 0, "cells must not share line pairs");

struct metrics_series {
    struct metrics_cell *cells;   /* reg.nworkers of them */
    struct metrics_series *hnext; /* registry hash chain */
    uint64_t hash;
    const char *route, *function, *alias, *version; /* point into names */
    char names[];                                   /* the four, NUL-terminated */
};

/* Sums of a series' cells over every worker. */
struct totals {
    uint64_t sum_us;
    uint64_t status[NCLASSES];
    uint64_t buckets[METRICS_NBUCKETS];
    uint64_t errors, fn_errors, auth_hit, auth_miss;
    uint64_t throttled[METRICS_NTHROTTLE], breaker_open;
};

/* The registry. The mutex orders the main thread's own uses (attach,
 * render, samples); workers never take it. nworkers and unrouted are set
 * before any worker starts and cleared after the last one stops, so workers
 * read them without it. */
static struct {
    pthread_mutex_t lock;
    int ready;
    unsigned nworkers;
    struct metrics_series **all; /* creation order */
    size_t n, cap;
    struct metrics_series **table; /* hash chains; ntable is a power of two */
    size_t ntable;
    int cap_logged;
    struct metrics_series *unrouted; /* requests that matched no route */
} reg = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ------------------------------------------------------------ registry */

static uint64_t names_hash(const char *const names[4])
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

    for (int i = 0; i < 4; i++) {
        for (const unsigned char *p = (const unsigned char *)names[i]; *p; p++)
            h = (h ^ *p) * 0x100000001b3ull;
        h = (h ^ 0xff) * 0x100000001b3ull; /* a separator no name holds */
    }
    return h;
}

static void series_free(struct metrics_series *s)
{
    if (!s)
        return;
    free(s->cells);
    free(s);
}

static struct metrics_series *series_new(const char *const names[4], uint64_t hash)
{
    size_t len[4], total = 0;
    struct metrics_series *s;
    char *p;

    for (int i = 0; i < 4; i++) {
        len[i] = strlen(names[i]);
        total += len[i] + 1;
    }
    s = calloc(1, sizeof(*s) + total);
    if (!s)
        return NULL;
    /* the size is a multiple of the alignment, as aligned_alloc wants */
    s->cells = aligned_alloc(CELL_ALIGN, reg.nworkers * sizeof(struct metrics_cell));
    if (!s->cells) {
        free(s);
        return NULL;
    }
    /* all-zero bytes are a zero uint64_t, atomic or not, on every target
     * sluice builds for */
    memset(s->cells, 0, reg.nworkers * sizeof(struct metrics_cell));
    s->hash = hash;
    p = s->names;
    for (int i = 0; i < 4; i++) {
        memcpy(p, names[i], len[i] + 1);
        if (i == 0)
            s->route = p;
        else if (i == 1)
            s->function = p;
        else if (i == 2)
            s->alias = p;
        else
            s->version = p;
        p += len[i] + 1;
    }
    return s;
}

/* Doubles the hash table (or creates it). Returns 0 or -1. */
static int table_grow(void)
{
    size_t n = reg.ntable ? reg.ntable * 2 : 64;
    struct metrics_series **t = calloc(n, sizeof(*t));

    if (!t)
        return -1;
    for (size_t i = 0; i < reg.n; i++) {
        struct metrics_series *s = reg.all[i];
        s->hnext = t[s->hash & (n - 1)];
        t[s->hash & (n - 1)] = s;
    }
    free(reg.table);
    reg.table = t;
    reg.ntable = n;
    return 0;
}

/* Under the lock: the series of names (route, function, alias, version),
 * found or created, in *out. Returns 0 (with *out NULL when the cap is
 * reached), or -1 when out of memory. */
static int intern(const char *const names[4], struct metrics_series **out)
{
    uint64_t h = names_hash(names);
    struct metrics_series *s;

    *out = NULL;
    if (reg.ntable) {
        for (s = reg.table[h & (reg.ntable - 1)]; s; s = s->hnext)
            if (s->hash == h && strcmp(s->route, names[0]) == 0 &&
                strcmp(s->function, names[1]) == 0 && strcmp(s->alias, names[2]) == 0 &&
                strcmp(s->version, names[3]) == 0) {
                *out = s;
                return 0;
            }
    }
    if (reg.n >= METRICS_MAX_SERIES) {
        if (!reg.cap_logged) {
            reg.cap_logged = 1;
            log_warn("metrics: %u series reached; new (route, function, alias, version) "
                     "tuples are not recorded until a restart",
                     METRICS_MAX_SERIES);
        }
        return 0;
    }
    /* make room first, so a failure leaves the registry as it was */
    if (reg.n == reg.cap) {
        size_t cap = reg.cap ? reg.cap * 2 : 64;
        struct metrics_series **all = realloc(reg.all, cap * sizeof(*all));
        if (!all)
            return -1;
        reg.all = all;
        reg.cap = cap;
    }
    if (reg.n >= reg.ntable && table_grow() < 0)
        return -1;
    s = series_new(names, h);
    if (!s)
        return -1;
    s->hnext = reg.table[h & (reg.ntable - 1)];
    reg.table[h & (reg.ntable - 1)] = s;
    reg.all[reg.n++] = s;
    *out = s;
    return 0;
}

/* Under the lock: frees every series and forgets the setup. */
static void registry_clear(void)
{
    for (size_t i = 0; i < reg.n; i++)
        series_free(reg.all[i]);
    free(reg.all);
    free(reg.table);
    reg.all = NULL;
    reg.table = NULL;
    reg.n = reg.cap = reg.ntable = 0;
    reg.unrouted = NULL;
    reg.nworkers = 0;
    reg.cap_logged = 0;
    reg.ready = 0;
}

int metrics_init(unsigned nworkers)
{
    static const char *const none[4] = { "", "", "", "" };
    int rc = -1;

    if (nworkers == 0)
        return -1;
    pthread_mutex_lock(&reg.lock);
    if (!reg.ready) {
        reg.ready = 1;
        reg.nworkers = nworkers;
        if (intern(none, &reg.unrouted) == 0)
            rc = 0;
        else
            registry_clear();
    }
    pthread_mutex_unlock(&reg.lock);
    return rc;
}

void metrics_shutdown(void)
{
    pthread_mutex_lock(&reg.lock);
    registry_clear();
    pthread_mutex_unlock(&reg.lock);
}

/* Under the lock: sets r->series. Returns 0 or -1 (out of memory). */
static int attach_route(struct route *r)
{
    const struct function *fn = r->fn;
    const char *names[4];
    struct metrics_series **v;

    if (!fn)
        return 0;
    v = calloc(fn->nversions + 1, sizeof(*v));
    if (!v)
        return -1;
    free(r->series); /* attached before: the new array replaces it */
    r->series = v;
    names[0] = r->spec;
    names[1] = fn->name;
    names[2] = r->alias ? r->alias->name : "";
    for (size_t i = 0; i < fn->nversions; i++) {
        /* a route aimed at one version never records another */
        if (r->version && r->version != &fn->versions[i])
            continue;
        names[3] = fn->versions[i].name;
        if (intern(names, &v[i]) < 0)
            return -1;
    }
    names[3] = "";
    return intern(names, &v[fn->nversions]);
}

int metrics_attach(struct config *cfg)
{
    int rc = 0;

    pthread_mutex_lock(&reg.lock);
    for (size_t i = 0; reg.ready && i < cfg->nroutes && rc == 0; i++)
        rc = attach_route(&cfg->routes[i]);
    pthread_mutex_unlock(&reg.lock);
    return rc;
}

/* ------------------------------------------------------------ recording */

/* Adds by to a counter only this thread writes: no read-modify-write
 * instruction is needed, as no other writer can come in between. */
static inline void bump(_Atomic uint64_t *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

/* Inlined into metrics_record() even though metrics_observe() uses it too:
 * the call and its register saves were a tenth of the per-request cost. */
static inline __attribute__((always_inline)) void cell_observe(struct metrics_cell *c, int status,
                                                               uint64_t us, unsigned flags)
{
    /* 100-599 -> 0-4; anything else (0, negative, 600+) wraps or runs
     * past 4 and counts as 5xx: a status sluice should never send */
    unsigned k = (unsigned)status / 100u - 1u;
    unsigned b = 0;

    if (k > NCLASSES - 1)
        k = NCLASSES - 1;
    /* from the bottom: most requests stop at the first bound or two */
    while (b < NFINITE && us > bucket_le_us[b])
        b++;
    bump(&c->sum_us, us);
    bump(&c->status[k], 1);
    bump(&c->buckets[b], 1);
    if (k == NCLASSES - 1 || (flags & METRICS_FUNCTION_ERROR)) {
        bump(&c->errors, 1);
        if (flags & METRICS_FUNCTION_ERROR)
            bump(&c->fn_errors, 1);
    }
    if (flags & METRICS_AUTH_HIT)
        bump(&c->auth_hit, 1);
    else if (flags & METRICS_AUTH_MISS)
        bump(&c->auth_miss, 1);
    if (flags & (METRICS_BREAKER_OPEN | METRICS_THROTTLED(0) | METRICS_THROTTLED(1) |
                 METRICS_THROTTLED(2) | METRICS_THROTTLED(3))) {
        if (flags & METRICS_BREAKER_OPEN)
            bump(&c->breaker_open, 1);
        for (int i = 0; i < METRICS_NTHROTTLE; i++)
            if (flags & METRICS_THROTTLED(i))
                bump(&c->throttled[i], 1);
    }
}

void metrics_observe(struct metrics_series *s, unsigned worker, int status, uint64_t duration_us,
                     unsigned flags)
{
    if (s && worker < reg.nworkers)
        cell_observe(&s->cells[worker], status, duration_us, flags);
}

/* The METRICS_THROTTLED index of a req->throttled label: "route",
 * "alias", "plan" or "quota" (throttle.c's labels; their first letters
 * differ). */
/* The limit label of each METRICS_THROTTLED index. */
static const char *const throttle_limit_text[METRICS_NTHROTTLE] = { "route", "alias", "plan",
                                                                   "quota" };

static unsigned throttle_index(const char *label)
{
    switch (label[0]) {
    case 'a':
        return 1;
    case 'p':
        return 2;
    case 'q':
        return 3;
    default:
        return 0;
    }
}

void metrics_record(const struct request *req)
{
    const struct route *rt = req->route;
    const char *ac = req->auth_cache;
    struct metrics_series *s;
    unsigned flags = 0, w;

    if (!rt) {
        s = reg.unrouted;
    } else {
        const struct function *fn = rt->fn;
        size_t i = fn->nversions; /* no version picked yet */

        if (!rt->series)
            return;
        if (req->version) {
            /* its position in fn->versions, computed on addresses so that
             * a version from elsewhere (never expected) falls out of range
             * instead of being undefined pointer arithmetic */
            uintptr_t off = (uintptr_t)req->version - (uintptr_t)fn->versions;
            if (off < fn->nversions * sizeof(struct fn_version))
                i = off / sizeof(struct fn_version);
        }
        s = rt->series[i];
    }
    w = worker_id(req->worker);
    if (!s || w >= reg.nworkers)
        return;
    /* authz.c sets "hit", "miss" or "none" (NULL before it runs) */
    if (ac && ac[0] == 'h')
        flags |= METRICS_AUTH_HIT;
    else if (ac && ac[0] == 'm')
        flags |= METRICS_AUTH_MISS;
    if (req->function_error)
        flags |= METRICS_FUNCTION_ERROR;
    if (req->breaker_open)
        flags |= METRICS_BREAKER_OPEN;
    if (req->throttled)
        flags |= METRICS_THROTTLED(throttle_index(req->throttled));
    /* the access log's total_ms is this same span: start_us to now */
    cell_observe(&s->cells[w], req->status, now_us() - req->start_us, flags);
}

/* ------------------------------------------------------------ reading */

static inline uint64_t load(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* Sums every worker's cell of s into *t (which it clears first). */
static void series_totals(const struct metrics_series *s, struct totals *t)
{
    memset(t, 0, sizeof(*t));
    for (unsigned w = 0; w < reg.nworkers; w++) {
        const struct metrics_cell *c = &s->cells[w];
        t->sum_us += load(&c->sum_us);
        for (int k = 0; k < NCLASSES; k++)
            t->status[k] += load(&c->status[k]);
        for (int b = 0; b < METRICS_NBUCKETS; b++)
            t->buckets[b] += load(&c->buckets[b]);
        t->errors += load(&c->errors);
        t->fn_errors += load(&c->fn_errors);
        t->auth_hit += load(&c->auth_hit);
        t->auth_miss += load(&c->auth_miss);
        for (int i = 0; i < METRICS_NTHROTTLE; i++)
            t->throttled[i] += load(&c->throttled[i]);
        t->breaker_open += load(&c->breaker_open);
    }
}

static uint64_t totals_requests(const struct totals *t)
{
    uint64_t n = 0;

    for (int k = 0; k < NCLASSES; k++)
        n += t->status[k];
    return n;
}

int metrics_version_sample(const char *fn, const char *version, struct metrics_sample *out)
{
    struct totals t;
    int found = 0;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&reg.lock);
    if (!reg.ready)
        found = -1;
    for (size_t i = 0; reg.ready && i < reg.n; i++) {
        const struct metrics_series *s = reg.all[i];
        if (strcmp(s->version, version) != 0 || strcmp(s->function, fn) != 0)
            continue;
        series_totals(s, &t);
        out->requests += totals_requests(&t);
        out->errors += t.errors;
        out->duration_us_sum += t.sum_us;
        for (int b = 0; b < METRICS_NBUCKETS; b++)
            out->buckets[b] += t.buckets[b];
        found++;
    }
    pthread_mutex_unlock(&reg.lock);
    return found;
}

static uint64_t sub_sat(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

void metrics_sample_sub(const struct metrics_sample *now, const struct metrics_sample *then,
                        struct metrics_sample *out)
{
    struct metrics_sample r;

    r.requests = sub_sat(now->requests, then->requests);
    r.errors = sub_sat(now->errors, then->errors);
    r.duration_us_sum = sub_sat(now->duration_us_sum, then->duration_us_sum);
    for (int b = 0; b < METRICS_NBUCKETS; b++)
        r.buckets[b] = sub_sat(now->buckets[b], then->buckets[b]);
    *out = r; /* through a copy: out may be now or then */
}

double metrics_sample_quantile_ms(const struct metrics_sample *s, double q)
{
    uint64_t total = 0, below = 0;
    double rank;

    if (isnan(q))
        return NAN;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    for (int b = 0; b < METRICS_NBUCKETS; b++)
        total += s->buckets[b];
    if (total == 0)
        return NAN;
    rank = q * (double)total;
    for (int b = 0; b < NFINITE; b++) {
        uint64_t n = s->buckets[b];
        if (n && (double)(below + n) >= rank) {
            double lo = b ? (double)bucket_le_us[b - 1] / 1000.0 : 0.0;
            double hi = (double)bucket_le_us[b] / 1000.0;
            return lo + (hi - lo) * ((rank - (double)below) / (double)n);
        }
        below += n;
    }
    /* in +Inf: no upper bound to interpolate to */
    return (double)bucket_le_us[NFINITE - 1] / 1000.0;
}

/* ------------------------------------------------------------ rendering */

/* One series to print: its totals, and its labels ready to paste. */
struct entry {
    const struct metrics_series *s;
    char *labels; /* route="...",function="...",alias="...",version="..." */
    struct totals t;
};

static int entry_cmp(const void *a, const void *b)
{
    const struct metrics_series *x = ((const struct entry *)a)->s;
    const struct metrics_series *y = ((const struct entry *)b)->s;
    int c = strcmp(x->route, y->route);

    if (c == 0)
        c = strcmp(x->function, y->function);
    if (c == 0)
        c = strcmp(x->alias, y->alias);
    if (c == 0)
        c = strcmp(x->version, y->version);
    return c;
}

/* Appends name="value" to p with value escaped as the text format wants
 * (backslash, double quote and line feed); returns the new end. p has room
 * for label_len(name, value) bytes. */
static char *put_label(char *p, const char *name, const char *value)
{
    p = put_mem(p, name, strlen(name));
    *p++ = '=';
    *p++ = '"';
    for (const char *v = value; *v; v++) {
        if (*v == '\\' || *v == '"') {
            *p++ = '\\';
            *p++ = *v;
        } else if (*v == '\n') {
            *p++ = '\\';
            *p++ = 'n';
        } else {
            *p++ = *v;
        }
    }
    *p++ = '"';
    return p;
}

static size_t label_len(const char *name, const char *value)
{
    size_t n = strlen(name) + 3; /* name="" */

    for (const char *v = value; *v; v++)
        n += (*v == '\\' || *v == '"' || *v == '\n') ? 2 : 1;
    return n;
}

/* route="..." alone (for the authorizer family), or route, function, alias
 * and version; a malloc'ed string the caller frees, NULL when out of memory. */
static char *labels_new(const struct metrics_series *s, int route_only)
{
    size_t n = label_len("route", s->route) + 1;
    char *buf, *p;

    if (!route_only)
        n += label_len("function", s->function) + label_len("alias", s->alias) +
             label_len("version", s->version) + 3;
    buf = malloc(n);
    if (!buf)
        return NULL;
    p = put_label(buf, "route", s->route);
    if (!route_only) {
        *p++ = ',';
        p = put_label(p, "function", s->function);
        *p++ = ',';
        p = put_label(p, "alias", s->alias);
        *p++ = ',';
        p = put_label(p, "version", s->version);
    }
    *p = '\0';
    return buf;
}

static int render_entries(struct evbuffer *out, const struct entry *e, size_t n)
{
    int bad = 0;

    bad |= evbuffer_add_printf(out, "# HELP sluice_requests_total Requests answered, by route, "
                                    "function, alias, version and status class.\n"
                                    "# TYPE sluice_requests_total counter\n") < 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < NCLASSES; k++)
            bad |=
                evbuffer_add_printf(out, "sluice_requests_total{%s,status_class=\"%dxx\"} %llu\n",
                                    e[i].labels, k + 1, (unsigned long long)e[i].t.status[k]) < 0;

    bad |= evbuffer_add_printf(out, "# HELP sluice_function_errors_total Requests the function "
                                    "itself failed (invoke and lua handlers).\n"
                                    "# TYPE sluice_function_errors_total counter\n") < 0;
    for (size_t i = 0; i < n; i++)
        bad |= evbuffer_add_printf(out, "sluice_function_errors_total{%s} %llu\n", e[i].labels,
                                   (unsigned long long)e[i].t.fn_errors) < 0;

    bad |= evbuffer_add_printf(out, "# HELP sluice_throttled_total Requests refused with 429 "
                                    "by a throttle, by route, function, alias, version and the "
                                    "limit that refused them.\n"
                                    "# TYPE sluice_throttled_total counter\n") < 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < METRICS_NTHROTTLE; k++)
            if (e[i].t.throttled[k])
                bad |= evbuffer_add_printf(out, "sluice_throttled_total{%s,limit=\"%s\"} %llu\n",
                                           e[i].labels, throttle_limit_text[k],
                                           (unsigned long long)e[i].t.throttled[k]) < 0;

    bad |= evbuffer_add_printf(out, "# HELP sluice_breaker_rejected_total Requests answered "
                                    "503 at once by an open upstream circuit breaker.\n"
                                    "# TYPE sluice_breaker_rejected_total counter\n") < 0;
    for (size_t i = 0; i < n; i++)
        if (e[i].t.breaker_open)
            bad |= evbuffer_add_printf(out, "sluice_breaker_rejected_total{%s} %llu\n",
                                       e[i].labels, (unsigned long long)e[i].t.breaker_open) < 0;

    bad |= evbuffer_add_printf(out, "# HELP sluice_request_duration_seconds Time from the "
                                    "request head to the last byte of the response.\n"
                                    "# TYPE sluice_request_duration_seconds histogram\n") < 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t cum = 0;
        for (int b = 0; b < METRICS_NBUCKETS; b++) {
            cum += e[i].t.buckets[b];
            bad |= evbuffer_add_printf(
                       out, "sluice_request_duration_seconds_bucket{%s,le=\"%s\"} %llu\n",
                       e[i].labels, bucket_le_text[b], (unsigned long long)cum) < 0;
        }
        /* the sum in exact decimal seconds, from integer microseconds */
        bad |= evbuffer_add_printf(out,
                                   "sluice_request_duration_seconds_sum{%s} %llu.%06llu\n"
                                   "sluice_request_duration_seconds_count{%s} %llu\n",
                                   e[i].labels, (unsigned long long)(e[i].t.sum_us / 1000000),
                                   (unsigned long long)(e[i].t.sum_us % 1000000), e[i].labels,
                                   (unsigned long long)cum) < 0;
    }

    bad |= evbuffer_add_printf(out, "# HELP sluice_authorizer_cache_total Authorizer answers "
                                    "found in a cache (hit) or verified (miss), by route.\n"
                                    "# TYPE sluice_authorizer_cache_total counter\n") < 0;
    /* entries are sorted by route first: sum each run of one route */
    for (size_t i = 0; i < n;) {
        uint64_t hit = 0, miss = 0;
        size_t j = i;
        char *route;

        for (; j < n && strcmp(e[j].s->route, e[i].s->route) == 0; j++) {
            hit += e[j].t.auth_hit;
            miss += e[j].t.auth_miss;
        }
        if (hit + miss) {
            route = labels_new(e[i].s, 1);
            if (!route)
                return -1;
            bad |= evbuffer_add_printf(out,
                                       "sluice_authorizer_cache_total{%s,result=\"hit\"} %llu\n"
                                       "sluice_authorizer_cache_total{%s,result=\"miss\"} %llu\n",
                                       route, (unsigned long long)hit, route,
                                       (unsigned long long)miss) < 0;
            free(route);
        }
        i = j;
    }
    return bad ? -1 : 0;
}

int metrics_render(struct evbuffer *out)
{
    struct entry *e = NULL;
    size_t n = 0;
    int rc = -1;

    pthread_mutex_lock(&reg.lock);
    /* Read every cell once, up front: every family then prints the
     * same figures, and the lock is held only while the cells are read. */
    if (reg.n) {
        e = calloc(reg.n, sizeof(*e));
        if (!e)
            goto unlock;
    }
    for (size_t i = 0; i < reg.n; i++) {
        series_totals(reg.all[i], &e[n].t);
        if (totals_requests(&e[n].t) == 0)
            continue;
        e[n].s = reg.all[i];
        n++;
    }
    rc = 0;
unlock:
    /* Series are freed only by metrics_shutdown(), which must not run
     * while this thread renders: e[].s stays valid past the unlock. */
    pthread_mutex_unlock(&reg.lock);
    if (rc < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!(e[i].labels = labels_new(e[i].s, 0)))
            rc = -1;
    if (rc == 0) {
        if (n > 1) /* qsort's base must not be NULL, even for 0 entries */
            qsort(e, n, sizeof(*e), entry_cmp);
        rc = render_entries(out, e, n);
    }
    for (size_t i = 0; i < n; i++)
        free(e[i].labels);
    free(e);
    return rc;
}
