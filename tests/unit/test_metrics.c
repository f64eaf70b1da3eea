/* test_metrics.c - series interning across reloads, lock-free per-worker
 * cells summed from two threads, metrics_record() on real workers, the
 * histogram and its quantile, sample differences, the Prometheus text read
 * back line by line (escaping included) and the series cap. */
#include <event2/buffer.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "metrics.h"
#include "request.h"
#include "unit.h"
#include "util.h"
#include "worker.h"

/* clang-format off */
#define H(port) "{\"type\": \"http\", \"url\": \"http://127.0.0.1:" port "\"}"
static const char conf_text[] =
    "{\"listen\": [{\"address\": \"127.0.0.1:8080\"}],\n"
    " \"functions\": {\n"
    "  \"orders\": {\"versions\": {\"1\": {\"handler\": " H("9001") "},\n"
    "                             \"2\": {\"handler\": " H("9002") "}},\n"
    "             \"aliases\": {\"live\": {\"version\": \"1\", \"weights\": {\"2\": 0.1}}}},\n"
    "  \"q\": {\"versions\": {\"1\": {\"handler\": " H("9003") "}}}},\n"
    " \"routes\": [{\"route\": \"GET /orders/{id}\", \"target\": \"orders:live\"},\n"
    "            {\"route\": \"ANY /v1/{proxy+}\", \"target\": \"orders:1\"},\n"
    "            {\"route\": \"GET /q\", \"target\": \"q:1\"}]}\n";
/* The same routes in another order, one more route: a reload. */
static const char conf_text2[] =
    "{\"listen\": [{\"address\": \"127.0.0.1:8080\"}],\n"
    " \"functions\": {\n"
    "  \"orders\": {\"versions\": {\"1\": {\"handler\": " H("9001") "},\n"
    "                             \"2\": {\"handler\": " H("9002") "}},\n"
    "             \"aliases\": {\"live\": {\"version\": \"1\", \"weights\": {\"2\": 0.1}}}},\n"
    "  \"q\": {\"versions\": {\"1\": {\"handler\": " H("9003") "}}}},\n"
    " \"routes\": [{\"route\": \"GET /q\", \"target\": \"q:1\"},\n"
    "            {\"route\": \"POST /orders\", \"target\": \"orders:live\"},\n"
    "            {\"route\": \"ANY /v1/{proxy+}\", \"target\": \"orders:1\"},\n"
    "            {\"route\": \"GET /orders/{id}\", \"target\": \"orders:live\"}]}\n";
/* clang-format on */

static struct config *load(const char *text)
{
    struct config_errors errs = { 0 };
    struct config *c = config_load_string(text, "test.json", &errs);

    if (!c)
        config_errors_print(stderr, &errs);
    config_errors_clear(&errs);
    return c;
}

static const struct route *route_named(const struct config *c, const char *spec)
{
    for (size_t i = 0; i < c->nroutes; i++)
        if (strcmp(c->routes[i].spec, spec) == 0)
            return &c->routes[i];
    return NULL;
}

/* ------------------------------------------------------------ the text */

/* One sample line read back: name, labels (unescaped), value. */
struct line {
    char name[96];
    int nlabels;
    char key[8][32];
    char val[8][256];
    double value;
};

/* Parses a sample line of the text format 0.0.4. Returns 0, or -1 when it
 * is not well formed. */
static int parse_line(const char *s, struct line *l)
{
    size_t n = 0;
    char *end;

    memset(l, 0, sizeof(*l));
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == ':'))
        return -1;
    while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
           *s == '_' || *s == ':') {
        if (n + 1 >= sizeof(l->name))
            return -1;
        l->name[n++] = *s++;
    }
    if (*s == '{') {
        s++;
        while (*s != '}') {
            size_t k = 0, v = 0;
            if (l->nlabels == 8)
                return -1;
            while ((*s >= 'a' && *s <= 'z') || *s == '_') {
                if (k + 1 >= sizeof(l->key[0]))
                    return -1;
                l->key[l->nlabels][k++] = *s++;
            }
            if (k == 0 || *s++ != '=' || *s++ != '"')
                return -1;
            while (*s != '"') {
                char c = *s++;
                if (c == '\0' || c == '\n')
                    return -1;
                if (c == '\\') {
                    c = *s++;
                    if (c == 'n')
                        c = '\n';
                    else if (c != '\\' && c != '"')
                        return -1;
                }
                if (v + 1 >= sizeof(l->val[0]))
                    return -1;
                l->val[l->nlabels][v++] = c;
            }
            s++;
            l->nlabels++;
            if (*s == ',')
                s++;
            else if (*s != '}')
                return -1;
        }
        s++;
    }
    if (*s++ != ' ')
        return -1;
    if (strcmp(s, "+Inf") == 0)
        l->value = INFINITY;
    else {
        l->value = strtod(s, &end);
        if (end == s || *end != '\0')
            return -1;
    }
    return 0;
}

static const char *label(const struct line *l, const char *key)
{
    for (int i = 0; i < l->nlabels; i++)
        if (strcmp(l->key[i], key) == 0)
            return l->val[i];
    return NULL;
}

/* Renders into a string the caller frees. */
static char *render(void)
{
    struct evbuffer *b = evbuffer_new();
    size_t n;
    char *s;

    CHECK_INT(metrics_render(b), 0);
    n = evbuffer_get_length(b);
    s = malloc(n + 1);
    evbuffer_remove(b, s, n);
    s[n] = '\0';
    evbuffer_free(b);
    return s;
}

/* Checks every line of text; returns the number of sample lines. */
static int check_text(const char *text)
{
    const char *p = text;
    int samples = 0;

    CHECK(strstr(text, "# EOF") == NULL);
    CHECK(*text == '\0' || text[strlen(text) - 1] == '\n');
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char buf[2048];
        struct line l;

        CHECK(len < sizeof(buf));
        if (len >= sizeof(buf))
            return samples;
        memcpy(buf, p, len);
        buf[len] = '\0';
        if (buf[0] == '#') {
            CHECKF(strncmp(buf, "# HELP sluice_", 14) == 0 ||
                       (strncmp(buf, "# TYPE sluice_", 14) == 0 &&
                        (strstr(buf, " counter") || strstr(buf, " histogram"))),
                   "line: %s", buf);
        } else {
            CHECKF(parse_line(buf, &l) == 0, "malformed: %s", buf);
            samples++;
        }
        p += len + (nl ? 1 : 0);
    }
    return samples;
}

/* The value of the one sample named name whose labels include every
 * key=value of kv (NULL-terminated pairs); -1 when none, -2 when several. */
static double value_of(const char *text, const char *name, const char *const *kv)
{
    const char *p = text;
    double found = -1;
    int hits = 0;

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char buf[2048];
        struct line l;
        int ok = 1;

        if (len < sizeof(buf) && p[0] != '#') {
            memcpy(buf, p, len);
            buf[len] = '\0';
            if (parse_line(buf, &l) == 0 && strcmp(l.name, name) == 0) {
                for (int i = 0; kv[i]; i += 2) {
                    const char *v = label(&l, kv[i]);
                    if (!v || strcmp(v, kv[i + 1]) != 0)
                        ok = 0;
                }
                if (ok) {
                    found = l.value;
                    hits++;
                }
            }
        }
        p += len + (nl ? 1 : 0);
    }
    return hits > 1 ? -2 : found;
}

/* ------------------------------------------------------------ tests */

static void test_init(void)
{
    CHECK_INT(metrics_init(0), -1);
    CHECK_INT(metrics_init(2), 0);
    CHECK_INT(metrics_init(2), -1); /* once */
}

/* Equal tuples in a new snapshot get the very same series. */
static void test_interning(void)
{
    struct config *a = load(conf_text), *b = load(conf_text2);
    const struct route *ra, *rb;

    CHECK(a && b);
    if (!a || !b)
        goto out;
    CHECK_INT(metrics_attach(a), 0);
    CHECK_INT(metrics_attach(b), 0);

    ra = route_named(a, "GET /orders/{id}");
    rb = route_named(b, "GET /orders/{id}");
    CHECK(ra->series && rb->series);
    for (int i = 0; i < 3; i++) {
        CHECK(ra->series[i] != NULL);
        CHECK(ra->series[i] == rb->series[i]);
    }
    CHECK(ra->series[0] != ra->series[1] && ra->series[1] != ra->series[2]);

    /* a route aimed at version 1 gets version 1 and "" only */
    ra = route_named(a, "ANY /v1/{proxy+}");
    rb = route_named(b, "ANY /v1/{proxy+}");
    CHECK(ra->series[0] && !ra->series[1] && ra->series[2]);
    CHECK(ra->series[0] == rb->series[0] && ra->series[2] == rb->series[2]);
    /* another route, same function and version: another series */
    CHECK(ra->series[0] != route_named(a, "GET /orders/{id}")->series[0]);
    CHECK(route_named(b, "POST /orders")->series[0] != NULL);

    /* attaching again replaces the array (freed once, with the config) */
    CHECK_INT(metrics_attach(a), 0);
    CHECK(route_named(a, "GET /q")->series[0] == route_named(b, "GET /q")->series[0]);
out:
    config_unref(a);
    config_unref(b);
}

struct hammer {
    struct metrics_series *s;
    unsigned worker;
    long n;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;

    for (long i = 0; i < h->n; i++)
        metrics_observe(h->s, h->worker, i % 100 == 0 ? 503 : 200, 3000,
                        i % 2 ? METRICS_AUTH_HIT : METRICS_AUTH_MISS);
    return NULL;
}

/* Two workers write the same series at once, each into its own cell:
 * nothing is lost. */
static void test_two_threads(void)
{
    struct config *c = load(conf_text2);
    struct metrics_sample before, after, d;
    struct hammer h[2];
    pthread_t t[2];
    const long n = 300000;

    CHECK(c != NULL);
    if (!c)
        return;
    CHECK_INT(metrics_attach(c), 0);
    CHECK(metrics_version_sample("orders", "2", &before) >= 1);
    d.requests = 0;
    for (int i = 0; i < 2; i++) {
        h[i] = (struct hammer){ route_named(c, "POST /orders")->series[1], (unsigned)i, n };
        CHECK_INT(pthread_create(&t[i], NULL, hammer_main, &h[i]), 0);
    }
    /* meanwhile the main thread reads, as the canary watcher and a
     * scrape do: figures only grow */
    for (int i = 0; i < 50; i++) {
        struct evbuffer *b = evbuffer_new();
        CHECK(metrics_version_sample("orders", "2", &after) >= 1);
        CHECK(after.requests >= d.requests);
        d.requests = after.requests;
        CHECK_INT(metrics_render(b), 0);
        evbuffer_free(b);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK(metrics_version_sample("orders", "2", &after) >= 1);
    metrics_sample_sub(&after, &before, &d);
    CHECK_INT(d.requests, 2 * n);
    CHECK_INT(d.errors, 2 * (n / 100));
    CHECK_INT(d.buckets[2], 2 * n); /* 3 ms: (2.5, 5] */
    CHECK_INT(d.duration_us_sum, 2 * n * 3000);
    /* a worker id past the count is ignored, as is a NULL series */
    metrics_observe(h[0].s, 2, 200, 1, 0);
    metrics_observe(NULL, 0, 200, 1, 0);
    CHECK(metrics_version_sample("orders", "2", &before) >= 1);
    CHECK_INT(before.requests, after.requests);
    config_unref(c);
}

/* metrics_record() as the pipeline calls it, on two real (unstarted)
 * workers: version index, no-version slot, unrouted requests, flags. */
static void test_record(void)
{
    struct config *c = load(conf_text);
    struct worker *w[2] = { NULL, NULL };
    struct metrics_sample s1, s2, s;
    struct request req;
    char err[256];
    const struct route *rt;
    char *text;

    CHECK(c != NULL);
    if (!c)
        return;
    /* any free port: the workers bind but never accept */
    ((struct sockaddr_in *)&c->listen[0].addr)->sin_port = 0;
    CHECK_INT(metrics_attach(c), 0);
    for (unsigned i = 0; i < 2; i++) {
        w[i] = worker_new(i, c, err, sizeof(err));
        CHECKF(w[i] != NULL, "%s", err);
    }
    if (!w[0] || !w[1])
        goto out;
    CHECK_INT(worker_id(w[1]), 1);
    rt = route_named(c, "GET /orders/{id}");
    CHECK(metrics_version_sample("orders", "1", &s1) >= 0);
    CHECK(metrics_version_sample("orders", "2", &s2) >= 0);

    memset(&req, 0, sizeof(req));
    req.worker = w[1];
    req.route = rt;
    req.alias = rt->alias;
    req.version = &rt->fn->versions[1]; /* "2" */
    req.status = 200;
    req.auth_cache = "hit";
    req.start_us = now_us() - 20000; /* 20 ms ago: (10, 25] */
    metrics_record(&req);
    req.worker = w[0];
    req.status = 502;
    req.function_error = 1;
    req.auth_cache = "miss";
    metrics_record(&req);

    CHECK(metrics_version_sample("orders", "2", &s) >= 1);
    metrics_sample_sub(&s, &s2, &s);
    CHECK_INT(s.requests, 2);
    CHECK_INT(s.errors, 1); /* a 502 that is also a function error counts once */
    CHECK_INT(s.buckets[4], 2);
    CHECK(s.duration_us_sum >= 40000);
    CHECK(metrics_version_sample("orders", "1", &s) >= 1);
    CHECK_INT(s.requests, s1.requests);

    /* refused before a version was picked: version "" */
    req.version = NULL;
    req.status = 401;
    req.function_error = 0;
    req.auth_cache = "miss";
    metrics_record(&req);
    /* throttled before a version was picked (route limit, twice; quota),
     * throttled by the alias after it, and an open breaker's 503 */
    req.status = 429;
    req.auth_cache = NULL;
    req.throttled = "route";
    metrics_record(&req);
    metrics_record(&req);
    req.throttled = "quota";
    metrics_record(&req);
    req.version = &rt->fn->versions[1];
    req.throttled = "alias";
    metrics_record(&req);
    req.throttled = NULL;
    req.status = 503;
    req.breaker_open = 1;
    metrics_record(&req);
    /* no route at all */
    memset(&req, 0, sizeof(req));
    req.worker = w[1];
    req.status = 404;
    req.start_us = now_us();
    metrics_record(&req);
    req.status = 405;
    metrics_record(&req);

    text = render();
    {
        const char *v2[] = { "route", "GET /orders/{id}", "version", "2",  "alias",
                             "live",  "function",         "orders",  NULL, NULL };
        const char *k5[] = { "route", "GET /orders/{id}", "version", "2", "status_class", "5xx",
                             NULL };
        const char *k2[] = { "route", "GET /orders/{id}", "version", "2", "status_class", "2xx",
                             NULL };
        const char *none[] = { "route", "GET /orders/{id}", "version", "", "status_class", "4xx",
                               NULL };
        const char *un[] = { "route",   "", "function",     "",    "alias", "",
                             "version", "", "status_class", "4xx", NULL };
        const char *hit[] = { "route", "GET /orders/{id}", "result", "hit", NULL };
        const char *miss[] = { "route", "GET /orders/{id}", "result", "miss", NULL };

        CHECK(value_of(text, "sluice_requests_total", k2) >= 1);
        CHECK(value_of(text, "sluice_requests_total", k5) >= 1);
        CHECK(value_of(text, "sluice_function_errors_total", v2) >= 1);
        CHECK(value_of(text, "sluice_requests_total", none) >= 1);
        CHECK(value_of(text, "sluice_requests_total", un) >= 2);
        CHECK(value_of(text, "sluice_authorizer_cache_total", hit) >= 1);
        CHECK(value_of(text, "sluice_authorizer_cache_total", miss) >= 2);
        {
            const char *tr[] = { "route", "GET /orders/{id}", "version", "", "limit", "route",
                                 NULL };
            const char *tq[] = { "route", "GET /orders/{id}", "version", "", "limit", "quota",
                                 NULL };
            const char *ta[] = { "route", "GET /orders/{id}", "version", "2", "limit", "alias",
                                 NULL };
            const char *tp[] = { "route", "GET /orders/{id}", "limit", "plan", NULL };
            const char *b2[] = { "route", "GET /orders/{id}", "version", "2", NULL };
            const char *b0[] = { "route", "GET /orders/{id}", "version", "", NULL };

            CHECK(strstr(text, "# TYPE sluice_throttled_total counter\n") != NULL);
            CHECK(strstr(text, "# TYPE sluice_breaker_rejected_total counter\n") != NULL);
            CHECK(value_of(text, "sluice_throttled_total", tr) == 2);
            CHECK(value_of(text, "sluice_throttled_total", tq) == 1);
            CHECK(value_of(text, "sluice_throttled_total", ta) == 1);
            CHECK(value_of(text, "sluice_throttled_total", tp) == -1); /* zero: not printed */
            CHECK(value_of(text, "sluice_breaker_rejected_total", b2) == 1);
            CHECK(value_of(text, "sluice_breaker_rejected_total", b0) == -1);
        }
    }
    free(text);
out:
    worker_join_free(w[0]);
    worker_join_free(w[1]);
    config_unref(c);
}

static void test_quantile(void)
{
    struct config *c = load(conf_text);
    struct metrics_sample s, empty, inf;
    struct metrics_series *q;
    double p;

    CHECK(c != NULL);
    if (!c)
        return;
    CHECK_INT(metrics_attach(c), 0);
    q = route_named(c, "GET /q")->series[0];
    for (int i = 0; i < 1000; i++)
        metrics_observe(q, i % 2, 200, 10000, 0);
    for (int i = 0; i < 10; i++)
        metrics_observe(q, 0, 200, 900000, 0);
    CHECK_INT(metrics_version_sample("q", "1", &s), 1);
    CHECK_INT(s.requests, 1010);
    CHECK_INT(s.buckets[3], 1000); /* 10 ms is in le=10 ms */
    CHECK_INT(s.buckets[13], 10);  /* 900 ms in (750, 1000] */
    p = metrics_sample_quantile_ms(&s, 0.99);
    CHECKF(p > 5.0 && p <= 10.0, "p99 = %f", p);
    p = metrics_sample_quantile_ms(&s, 0.5);
    CHECKF(p > 5.0 && p <= 10.0, "p50 = %f", p);
    p = metrics_sample_quantile_ms(&s, 0.995);
    CHECKF(p > 750.0 && p <= 1000.0, "p99.5 = %f", p);
    CHECKF(fabs(p - 873.75) < 1e-6, "p99.5 = %f", p); /* 750 + 250 * 4.95 / 10 */
    p = metrics_sample_quantile_ms(&s, 1.0);
    CHECKF(fabs(p - 1000.0) < 1e-9, "p100 = %f", p);
    CHECK(!isnan(metrics_sample_quantile_ms(&s, 7.0))); /* clamped */
    CHECK(isnan(metrics_sample_quantile_ms(&s, NAN)));

    memset(&empty, 0, sizeof(empty));
    CHECK(isnan(metrics_sample_quantile_ms(&empty, 0.99)));
    inf = empty;
    inf.buckets[METRICS_NBUCKETS - 1] = 5;
    inf.requests = 5;
    CHECKF(metrics_sample_quantile_ms(&inf, 0.5) == 10000.0, "+Inf quantile");

    /* a version nobody served */
    CHECK_INT(metrics_version_sample("q", "7", &s), 0);
    CHECK_INT(s.requests, 0);
    config_unref(c);
}

static void test_sample_sub(void)
{
    struct metrics_sample a, b, d;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.requests = 100, a.errors = 7, a.duration_us_sum = 5000, a.buckets[0] = 60, a.buckets[5] = 40;
    b.requests = 30, b.errors = 2, b.duration_us_sum = 1000, b.buckets[0] = 20, b.buckets[5] = 10;
    metrics_sample_sub(&a, &b, &d);
    CHECK_INT(d.requests, 70);
    CHECK_INT(d.errors, 5);
    CHECK_INT(d.duration_us_sum, 4000);
    CHECK_INT(d.buckets[0], 40);
    CHECK_INT(d.buckets[5], 30);
    CHECK_INT(d.buckets[1], 0);
    /* out may alias an input */
    metrics_sample_sub(&a, &b, &a);
    CHECK_INT(a.requests, 70);
    /* then > now: 0, not a huge number */
    metrics_sample_sub(&b, &a, &d);
    CHECK_INT(d.requests, 0);
    CHECK_INT(d.buckets[0], 0);
}

/* A config built by hand: names the loader refuses, to check escaping. */
static void test_render(void)
{
    static char fname[] = "fn\"x", vname[] = "1", aname[] = "a\\b";
    static char spec[] = "GET /we\"ird\\path\nnext";
    struct fn_version ver = { .name = vname };
    struct function fn = { .name = fname, .nversions = 1, .versions = &ver };
    struct alias al = { .name = aname, .fn = &fn };
    struct route rt = { .spec = spec, .fn = &fn, .alias = &al };
    struct config c = { .nroutes = 1, .routes = &rt };
    struct metrics_series *s;
    char *text;
    int samples;

    ver.fn = &fn;
    CHECK_INT(metrics_attach(&c), 0);
    s = rt.series[0];
    CHECK(s != NULL);
    metrics_observe(s, 0, 200, 500, METRICS_AUTH_HIT);    /* (0, 1 ms] */
    metrics_observe(s, 1, 201, 30000, METRICS_AUTH_HIT);  /* (25, 50] */
    metrics_observe(s, 1, 404, 30000, METRICS_AUTH_MISS); /* (25, 50] */
    metrics_observe(s, 0, 500, 20000000, 0);              /* +Inf */
    metrics_observe(s, 0, 200, 1000, METRICS_FUNCTION_ERROR);
    text = render();
    samples = check_text(text);
    CHECK(samples > 0);
    CHECK(strstr(text, "# TYPE sluice_requests_total counter\n") != NULL);
    CHECK(strstr(text, "# TYPE sluice_function_errors_total counter\n") != NULL);
    CHECK(strstr(text, "# TYPE sluice_request_duration_seconds histogram\n") != NULL);
    CHECK(strstr(text, "# TYPE sluice_authorizer_cache_total counter\n") != NULL);
    /* the escaped form on the wire */
    CHECK(strstr(text, "route=\"GET /we\\\"ird\\\\path\\nnext\",function=\"fn\\\"x\","
                       "alias=\"a\\\\b\",version=\"1\"") != NULL);
    {
        /* read back: the unescaped names as they were */
        const char *base[] = { "route", spec,      "function", fname, "alias",
                               aname,   "version", "1",        NULL };
        const char *c2[] = { "route", spec, "status_class", "2xx", NULL };
        const char *c4[] = { "route", spec, "status_class", "4xx", NULL };
        const char *c5[] = { "route", spec, "status_class", "5xx", NULL };
        const char *c1[] = { "route", spec, "status_class", "1xx", NULL };
        const char *le1[] = { "route", spec, "le", "0.001", NULL };
        const char *le25[] = { "route", spec, "le", "0.025", NULL };
        const char *le50[] = { "route", spec, "le", "0.05", NULL };
        const char *le10s[] = { "route", spec, "le", "10", NULL };
        const char *leinf[] = { "route", spec, "le", "+Inf", NULL };
        const char *hit[] = { "route", spec, "result", "hit", NULL };
        const char *miss[] = { "route", spec, "result", "miss", NULL };

        CHECK(value_of(text, "sluice_requests_total", c2) == 3);
        CHECK(value_of(text, "sluice_requests_total", c4) == 1);
        CHECK(value_of(text, "sluice_requests_total", c5) == 1);
        CHECK(value_of(text, "sluice_requests_total", c1) == 0); /* printed, as zero */
        CHECK(value_of(text, "sluice_function_errors_total", base) == 1);
        CHECK(value_of(text, "sluice_request_duration_seconds_bucket", le1) == 2);
        CHECK(value_of(text, "sluice_request_duration_seconds_bucket", le25) == 2);
        CHECK(value_of(text, "sluice_request_duration_seconds_bucket", le50) == 4);
        CHECK(value_of(text, "sluice_request_duration_seconds_bucket", le10s) == 4);
        CHECK(value_of(text, "sluice_request_duration_seconds_bucket", leinf) == 5);
        CHECK(value_of(text, "sluice_request_duration_seconds_count", base) == 5);
        CHECKF(fabs(value_of(text, "sluice_request_duration_seconds_sum", base) - 20.0615) < 1e-9,
               "sum %f", value_of(text, "sluice_request_duration_seconds_sum", base));
        CHECK(value_of(text, "sluice_authorizer_cache_total", hit) == 2);
        CHECK(value_of(text, "sluice_authorizer_cache_total", miss) == 1);
    }
    /* every bucket series is cumulative and ends at _count */
    {
        double prev = 0;
        for (int b = 0; b < METRICS_NBUCKETS; b++) {
            static const char *const le[] = { "0.001", "0.0025", "0.005", "0.01", "0.025",
                                              "0.05",  "0.075",  "0.1",   "0.15", "0.25",
                                              "0.4",   "0.5",    "0.75",  "1",    "1.5",
                                              "2.5",   "5",      "10",    "+Inf" };
            const char *kv[] = { "route", spec, "le", le[b], NULL };
            double v = value_of(text, "sluice_request_duration_seconds_bucket", kv);
            CHECKF(v >= prev, "le=%s: %f < %f", le[b], v, prev);
            prev = v;
        }
    }
    free(text);
    free(rt.series);
}

/* Past METRICS_MAX_SERIES, new tuples get no series and record nothing;
 * tuples already known keep theirs. */
static void test_cap(void)
{
    enum { NVER = 1023, NROUTES = 65 };
    static char vnames[NVER][8], specs[NROUTES][16];
    static struct fn_version vers[NVER];
    static struct route routes[NROUTES];
    struct function fn = { .name = "big", .nversions = NVER, .versions = vers };
    struct config c = { .nroutes = NROUTES, .routes = routes };
    size_t have = 0;
    char *text;

    /* a fresh registry: only the unrouted series in it */
    metrics_shutdown();
    CHECK_INT(metrics_init(1), 0);
    for (int i = 0; i < NVER; i++) {
        fmt_buf(vnames[i], sizeof(vnames[i]), "%d", i + 1);
        vers[i] = (struct fn_version){ .name = vnames[i], .fn = &fn };
    }
    for (int i = 0; i < NROUTES; i++) {
        fmt_buf(specs[i], sizeof(specs[i]), "GET /r%d", i);
        routes[i] = (struct route){ .spec = specs[i], .fn = &fn };
    }
    CHECK_INT(metrics_attach(&c), 0);
    for (int i = 0; i < NROUTES; i++)
        for (int j = 0; j <= NVER; j++)
            have += routes[i].series[j] != NULL;
    /* 1024 per route; with the unrouted one, the cap leaves route 63 its
     * 1023 versions but not its "" entry, and nothing for route 64 */
    CHECK_INT(have + 1, METRICS_MAX_SERIES);
    CHECK(routes[62].series[NVER] != NULL);
    CHECK(routes[63].series[NVER - 1] != NULL);
    CHECK(routes[63].series[NVER] == NULL);
    CHECK(routes[64].series[0] == NULL);
    {
        /* known tuples are still found at the cap */
        struct metrics_series *keep = routes[10].series[5];
        CHECK_INT(metrics_attach(&c), 0);
        CHECK(routes[10].series[5] == keep);
        CHECK(routes[64].series[0] == NULL);
    }
    metrics_observe(routes[64].series[0], 0, 200, 10, 0); /* nothing */
    metrics_observe(routes[3].series[7], 0, 200, 10, 0);
    text = render();
    CHECK_INT(check_text(text), 5 + 1 + 21 + 0); /* one series: classes, errors, histogram */
    free(text);
    for (int i = 0; i < NROUTES; i++)
        free(routes[i].series);
}

int main(void)
{
    test_init();
    test_interning();
    test_two_threads();
    test_record();
    test_quantile();
    test_sample_sub();
    test_render();
    test_cap();
    metrics_shutdown();
    metrics_shutdown(); /* twice is harmless */
    return unit_done("test_metrics");
}
