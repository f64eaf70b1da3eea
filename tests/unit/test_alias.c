/* test_alias.c - version picking: the weighted table, pins, stickiness,
 * and the selectors pins and sticky_by read from a request. */
#include "alias.h"
#include "unit.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz_cache.h"
#include "config.h"
#include "http_parser.h"
#include "request.h"
#include "selector.h"

static struct fn_version v1 = { .name = "1" }, v2 = { .name = "2" }, v3 = { .name = "3" };

/* A deterministic generator so the split checks are repeatable. */
static uint64_t rng_state = 0x12345678abcdefull;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ------------------------------------------------------------ requests */

/* A request and the bytes its head points into. */
struct test_req {
    struct request req;
    char buf[4096];
};

/* A request parsed from a real head: "GET TARGET HTTP/1.1", Host, then
 * the header lines in headers ("Name: value\r\n" each, may be ""), from
 * client ip with auth (NULL: none; the request takes a reference). */
static struct test_req *req_parse(const char *target, const char *headers, const char *ip,
                                  struct authz_result *auth)
{
    struct test_req *t = calloc(1, sizeof(*t));
    struct http_parse_limits lim = { .max_uri_bytes = 8192 };
    int n;

    if (!t)
        return NULL;
    n = fmt_buf(t->buf, sizeof(t->buf), "GET %s HTTP/1.1\r\nHost: gw.test\r\n%s\r\n", target,
                headers);
    if (n < 0 || http_parse_request(t->buf, (size_t)n, &lim, &t->req.head) != 0) {
        fprintf(stderr, "cannot parse the test head for %s\n", target);
        free(t);
        return NULL;
    }
    fmt_buf(t->req.client_ip, sizeof(t->req.client_ip), "%s", ip ? ip : "");
    t->req.auth = authz_result_ref(auth);
    return t;
}

static void req_free(struct test_req *t)
{
    if (t)
        authz_result_unref(t->req.auth);
    free(t);
}

/* Sets the request's only header to name: value (value may be NULL: no
 * header at all). For the loops over many callers: no parsing. */
static void req_set_header(struct request *r, const char *name, const char *value, size_t len)
{
    r->head.nheaders = value != NULL;
    r->head.headers[0].name = (struct slice){ name, strlen(name) };
    r->head.headers[0].value = (struct slice){ value, len };
}

/* ------------------------------------------------------------ aliases */

/* The config around one alias "live" of function "orders", versions 1, 2
 * and 3: alias_json is the alias object. Returns the loaded config (the
 * caller unrefs it) and the alias in *a, or NULL with the errors printed. */
static struct config *load_alias(const char *alias_json, const struct alias **a)
{
    char doc[8192];
    struct config_errors errs = { 0 };
    struct config *c;

    fmt_buf(doc, sizeof(doc),
            "{\"listen\": [{\"address\": \"127.0.0.1:8080\"}],\n"
            " \"routes\": [{\"route\": \"GET /a\", \"target\": \"orders:live\"}],\n"
            " \"functions\": {\"orders\": {\"versions\": {\n"
            "   \"1\": {\"handler\": {\"type\": \"http\", \"url\": \"http://127.0.0.1:9001\"}},\n"
            "   \"2\": {\"handler\": {\"type\": \"http\", \"url\": \"http://127.0.0.1:9002\"}},\n"
            "   \"3\": {\"handler\": {\"type\": \"http\", \"url\": \"http://127.0.0.1:9003\"}}},\n"
            "   \"aliases\": {\"live\": %s}}}}\n",
            alias_json);
    c = config_load_string(doc, "alias.json", &errs);
    if (!c) {
        fprintf(stderr, "alias config refused:\n");
        config_errors_print(stderr, &errs);
        config_errors_clear(&errs);
        *a = NULL;
        return NULL;
    }
    *a = function_alias(&c->functions[0], "live");
    return c;
}

static const char *vname(const struct fn_version *v)
{
    return v ? v->name : "(null)";
}

/* ------------------------------------------------------------ the table */

static void test_primary_only(void)
{
    struct alias a = { .name = "live", .primary = &v1 };
    CHECK_INT(alias_table_build(&a), 0);
    CHECK_INT(a.npick, 1);
    CHECK(alias_pick(&a, 0) == &v1);
    CHECK(alias_pick(&a, UINT64_MAX) == &v1);
    alias_table_free(&a);
    CHECK(a.pick_upto == NULL);
}

static void test_boundaries(void)
{
    struct alias_weight w[] = { { &v2, 0.25 } };
    struct alias a = { .name = "live", .primary = &v1, .nweights = 1, .weights = w };
    CHECK_INT(alias_table_build(&a), 0);
    CHECK_INT(a.npick, 2);
    CHECK(alias_pick(&a, 0) == &v2);
    CHECK(alias_pick(&a, (UINT64_MAX / 4) - 1) == &v2);
    CHECK(alias_pick(&a, (UINT64_MAX / 4) + 2) == &v1);
    CHECK(alias_pick(&a, UINT64_MAX) == &v1);
    alias_table_free(&a);
}

static void test_extremes(void)
{
    struct alias_weight all[] = { { &v2, 1.0 } };
    struct alias a = { .name = "x", .primary = &v1, .nweights = 1, .weights = all };
    CHECK_INT(alias_table_build(&a), 0);
    CHECK(alias_pick(&a, 0) == &v2);
    CHECK(alias_pick(&a, UINT64_MAX - 1) == &v2);
    alias_table_free(&a);

    struct alias_weight none[] = { { &v2, 0.0 } };
    struct alias b = { .name = "y", .primary = &v1, .nweights = 1, .weights = none };
    CHECK_INT(alias_table_build(&b), 0);
    CHECK(alias_pick(&b, 0) == &v1);
    alias_table_free(&b);
}

/* Over many picks the shares match the weights: 10 % and 30 % extras, the
 * primary the remaining 60 %. */
static void test_split(void)
{
    struct alias_weight w[] = { { &v2, 0.10 }, { &v3, 0.30 } };
    struct alias a = { .name = "live", .primary = &v1, .nweights = 2, .weights = w };
    long n1 = 0, n2 = 0, n3 = 0, n = 100000;

    CHECK_INT(alias_table_build(&a), 0);
    for (long i = 0; i < n; i++) {
        const struct fn_version *v = alias_pick(&a, rng());
        n1 += v == &v1;
        n2 += v == &v2;
        n3 += v == &v3;
    }
    CHECK_INT(n1 + n2 + n3, n);
    CHECKF(n2 > 9500 && n2 < 10500, "v2 picked %ld of %ld", n2, n);
    CHECKF(n3 > 29300 && n3 < 30700, "v3 picked %ld of %ld", n3, n);
    CHECKF(n1 > 59300 && n1 < 60700, "v1 picked %ld of %ld", n1, n);
    alias_table_free(&a);
}

/* Without pins or sticky_by, alias_choose() is alias_pick() with the
 * request untouched (NULL here: it must not even be read). */
static void test_choose_plain(void)
{
    struct alias_weight w[] = { { &v2, 0.25 } };
    struct alias a = { .name = "live", .primary = &v1, .nweights = 1, .weights = w };
    enum pick_reason why = PICK_PIN;

    CHECK_INT(alias_table_build(&a), 0);
    CHECK(alias_choose(&a, NULL, 0, &why) == &v2);
    CHECK_INT(why, PICK_WEIGHT);
    CHECK(alias_choose(&a, NULL, UINT64_MAX, &why) == &v1);
    CHECK_STR(alias_reason_name(PICK_WEIGHT), "weight");
    CHECK_STR(alias_reason_name(PICK_PIN), "pin");
    CHECK_STR(alias_reason_name(PICK_STICKY), "sticky");
    CHECK_STR(alias_reason_name(PICK_FIXED), "fixed");
    alias_table_free(&a);
}

/* ------------------------------------------------------------ stickiness */

#define CALLERS 100000

/* Counts, over CALLERS distinct x-user values, the callers on each
 * version ("1", "2", "3" -> n[0..2]), checking that every caller gets
 * the same version twice, with different random values, by stickiness. */
static void sticky_counts(const struct alias *a, long n[3])
{
    struct test_req *t = calloc(1, sizeof(*t));
    char user[32];

    n[0] = n[1] = n[2] = 0;
    CHECK(t != NULL);
    if (!t)
        return;
    for (long i = 0; i < CALLERS; i++) {
        int len = fmt_buf(user, sizeof(user), "user-%ld", i);
        enum pick_reason why1 = PICK_WEIGHT, why2 = PICK_WEIGHT;
        const struct fn_version *first, *again;

        req_set_header(&t->req, "X-User", user, (size_t)len);
        first = alias_choose(a, &t->req, rng(), &why1);
        again = alias_choose(a, &t->req, rng(), &why2);
        if (first != again || why1 != PICK_STICKY || why2 != PICK_STICKY) {
            CHECKF(0, "caller %s: %s then %s (reasons %d, %d)", user, vname(first), vname(again),
                   why1, why2);
            break;
        }
        n[first->name[0] - '1']++;
    }
    free(t);
}

/* One point of the traffic is CALLERS / 100 callers. */
static void check_share(const char *what, long got, double want)
{
    long lo = (long)(want * CALLERS) - CALLERS / 100, hi = (long)(want * CALLERS) + CALLERS / 100;
    CHECKF(got >= lo && got <= hi, "%s: %ld of %d callers, want %.0f %% +- 1 point", what, got,
           CALLERS, want * 100);
}

static void test_sticky_split(void)
{
    static const struct {
        const char *alias;
        double share[3]; /* of versions 1, 2, 3 */
    } cases[] = {
        { "{\"version\": \"1\", \"weights\": {\"2\": 0.1}, \"sticky_by\": "
          "\"$request.header.x-user\"}",
          { 0.9, 0.1, 0 } },
        { "{\"version\": \"1\", \"weights\": {\"2\": 0.5}, \"sticky_by\": "
          "\"$request.header.x-user\"}",
          { 0.5, 0.5, 0 } },
        { "{\"version\": \"1\", \"weights\": {\"2\": 0.2, \"3\": 0.3},"
          " \"sticky_by\": \"$request.header.x-user\"}",
          { 0.5, 0.2, 0.3 } },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct alias *a;
        struct config *c = load_alias(cases[i].alias, &a);
        long n[3];
        char what[64];

        CHECK(c != NULL);
        if (!c)
            continue;
        sticky_counts(a, n);
        CHECK_INT(n[0] + n[1] + n[2], CALLERS);
        for (int k = 0; k < 3; k++) {
            fmt_buf(what, sizeof(what), "case %zu, version %d", i, k + 1);
            check_share(what, n[k], cases[i].share[k]);
        }
        config_unref(c);
    }
}

/* Widening the canary from 10 % to 30 % keeps every caller it had and
 * adds more; so does widening the first of two extras. */
static void test_sticky_widening(void)
{
    static const char *const pairs[][2] = {
        { "{\"version\": \"1\", \"weights\": {\"2\": 0.1}, \"sticky_by\": "
          "\"$request.header.x-user\"}",
          "{\"version\": \"1\", \"weights\": {\"2\": 0.3}, \"sticky_by\": "
          "\"$request.header.x-user\"}" },
        { "{\"version\": \"1\", \"weights\": {\"2\": 0.1, \"3\": 0.2},"
          " \"sticky_by\": \"$request.header.x-user\"}",
          "{\"version\": \"1\", \"weights\": {\"2\": 0.3, \"3\": 0.2},"
          " \"sticky_by\": \"$request.header.x-user\"}" },
    };

    for (size_t p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
        const struct alias *narrow, *wide;
        struct config *c1 = load_alias(pairs[p][0], &narrow), *c2 = load_alias(pairs[p][1], &wide);
        struct test_req *t = calloc(1, sizeof(*t));
        long before = 0, after = 0, lost = 0;
        char user[32];

        CHECK(c1 && c2 && t);
        for (long i = 0; c1 && c2 && t && i < CALLERS; i++) {
            int len = fmt_buf(user, sizeof(user), "user-%ld", i);
            enum pick_reason why;
            int was, is;

            req_set_header(&t->req, "x-user", user, (size_t)len);
            was = strcmp(alias_choose(narrow, &t->req, rng(), &why)->name, "2") == 0;
            is = strcmp(alias_choose(wide, &t->req, rng(), &why)->name, "2") == 0;
            before += was;
            after += is;
            lost += was && !is;
        }
        CHECKF(lost == 0, "pair %zu: %ld callers left version 2 when it widened", p, lost);
        CHECKF(after > before, "pair %zu: version 2 had %ld callers, then %ld", p, before, after);
        check_share("widened canary", after, 0.3);
        free(t);
        config_unref(c1);
        config_unref(c2);
    }
}

/* The hash is fixed (every gateway, every restart), and depends on the
 * function and alias names. The constants were computed independently. */
static void test_sticky_hash(void)
{
    struct alias a = { .name = "live", .primary = &v1 };
    struct function fn = { .name = "orders" };
    struct alias b = { .name = "live", .primary = &v1 };
    struct function other = { .name = "payments" };

    a.fn = &fn;
    b.fn = &other;
    CHECK_INT(alias_table_build(&a), 0);
    CHECK_INT(alias_table_build(&b), 0);
    CHECK(alias_sticky_hash(&a, SLICE_LIT("user-1")) == 0x92aa6763fa2fd145ull);
    CHECK(alias_sticky_hash(&a, SLICE_LIT("acme")) == 0xd68bb81ffaab0ae2ull);
    CHECK(alias_sticky_hash(&a, SLICE_NULL) == 0x451fec41a6c91ad4ull);
    CHECK(alias_sticky_hash(&b, SLICE_LIT("user-1")) != alias_sticky_hash(&a, SLICE_LIT("user-1")));
    alias_table_free(&a);
    alias_table_free(&b);
}

/* Two functions' canaries at 10 % each take different callers: about one
 * in a hundred callers is on both, as chance has it, not all of them. */
static void test_sticky_independent(void)
{
    struct alias_weight w[] = { { &v2, 0.1 } };
    struct function f1 = { .name = "orders" }, f2 = { .name = "payments" };
    struct alias a = { .name = "live", .fn = &f1, .primary = &v1, .nweights = 1, .weights = w };
    struct alias b = { .name = "live", .fn = &f2, .primary = &v1, .nweights = 1, .weights = w };
    long both = 0;
    char user[32];

    CHECK_INT(alias_table_build(&a), 0);
    CHECK_INT(alias_table_build(&b), 0);
    for (long i = 0; i < CALLERS; i++) {
        int len = fmt_buf(user, sizeof(user), "user-%ld", i);
        struct slice u = { user, (size_t)len };
        both += alias_pick(&a, alias_sticky_hash(&a, u)) == &v2 &&
                alias_pick(&b, alias_sticky_hash(&b, u)) == &v2;
    }
    CHECKF(both > CALLERS / 100 / 2 && both < CALLERS / 100 * 2,
           "%ld callers on both canaries, want about %d", both, CALLERS / 100);
    alias_table_free(&a);
    alias_table_free(&b);
}

/* No sticky value: a weighted random pick, by the random value given. An
 * empty value is a value (sticky). */
static void test_sticky_missing(void)
{
    const struct alias *a;
    struct config *c = load_alias(
        "{\"version\": \"1\", \"weights\": {\"2\": 0.5}, \"sticky_by\": \"$claim.sub\"}", &a);
    struct test_req *t = req_parse("/a", "X-User: u1\r\n", "10.0.0.1", NULL);
    enum pick_reason why = PICK_PIN;
    long n2 = 0;

    CHECK(c && t);
    if (!c || !t)
        goto out;
    CHECK(alias_choose(a, &t->req, 0, &why) == function_version(a->fn, "2"));
    CHECK_INT(why, PICK_WEIGHT);
    CHECK(alias_choose(a, &t->req, UINT64_MAX, &why) == a->primary);
    CHECK_INT(why, PICK_WEIGHT);
    for (long i = 0; i < CALLERS; i++)
        n2 += alias_choose(a, &t->req, rng(), &why) != a->primary;
    check_share("random without a sticky value", n2, 0.5);
    config_unref(c);

    c = load_alias("{\"version\": \"1\", \"weights\": {\"2\": 0.5},"
                   " \"sticky_by\": \"$request.header.x-user\"}",
                   &a);
    CHECK(c != NULL);
    if (!c)
        goto out;
    req_set_header(&t->req, "x-user", "", 0);
    t->req.head.headers[0].value.ptr = t->buf; /* present, empty */
    alias_choose(a, &t->req, 0, &why);
    CHECK_INT(why, PICK_STICKY);
    req_set_header(&t->req, "x-user", NULL, 0);
    alias_choose(a, &t->req, 0, &why);
    CHECK_INT(why, PICK_WEIGHT);
out:
    config_unref(c);
    req_free(t);
}

/* ------------------------------------------------------------ pins */

/* A pinned caller goes to its pin even at weight 0 and whatever the random
 * value; an unpinned one follows the weights; pins go in order. */
static void test_pins_before_weights(void)
{
    const struct alias *a;
    struct config *c = load_alias(
        "{\"version\": \"1\", \"weights\": {\"2\": 0, \"3\": 0.5},"
        " \"sticky_by\": \"$request.header.x-user\","
        " \"pins\": [{\"when\": {\"$request.header.x-canary\": \"yes\"}, \"version\": \"2\"},"
        "            {\"when\": {\"$request.header.x-canary\": [\"yes\", \"primary\"]},"
        "             \"version\": \"1\"}]}",
        &a);
    struct test_req *pinned = req_parse("/a", "X-Canary: yes\r\nX-User: u1\r\n", "10.0.0.1", NULL);
    struct test_req *first = req_parse("/a", "X-Canary: primary\r\n", "10.0.0.1", NULL);
    struct test_req *other = req_parse("/a", "X-Canary: no\r\n", "10.0.0.1", NULL);
    enum pick_reason why = PICK_WEIGHT;
    long n[3] = { 0 };

    CHECK(c && pinned && first && other);
    if (!c || !pinned || !first || !other)
        goto out;
    for (int i = 0; i < 1000; i++) {
        const struct fn_version *v = alias_choose(a, &pinned->req, rng(), &why);
        CHECKF(v == function_version(a->fn, "2") && why == PICK_PIN, "pinned caller got %s",
               vname(v));
        if (v != function_version(a->fn, "2"))
            break;
    }
    /* the second pin: to the primary, though version 3 has half */
    for (int i = 0; i < 1000; i++) {
        const struct fn_version *v = alias_choose(a, &first->req, rng(), &why);
        if (v != a->primary || why != PICK_PIN) {
            CHECKF(0, "second pin: got %s", vname(v));
            break;
        }
    }
    for (long i = 0; i < CALLERS; i++)
        n[alias_choose(a, &other->req, rng(), &why)->name[0] - '1']++;
    CHECK_INT(why, PICK_WEIGHT);
    CHECK_INT(n[1], 0);
    check_share("unpinned on version 3", n[2], 0.5);
out:
    config_unref(c);
    req_free(pinned);
    req_free(first);
    req_free(other);
}

/* Every condition of a pin must hold; any listed value matches. */
static void test_pin_conditions(void)
{
    static const struct {
        const char *headers, *ip;
        int pinned;
    } cases[] = {
        { "X-Tenant: acme\r\nX-Plan: gold\r\n", "10.1.2.3", 1 },
        { "X-Tenant: acme\r\nX-Plan: silver\r\n", "10.1.2.3", 1 },
        { "X-Tenant: acme\r\nX-Plan: bronze\r\n", "10.1.2.3", 0 },
        { "X-Tenant: acme\r\n", "10.1.2.3", 0 },                        /* no plan at all */
        { "X-Plan: gold\r\n", "10.1.2.3", 0 },                          /* no tenant */
        { "X-Tenant: ACME\r\nX-Plan: gold\r\n", "10.1.2.3", 0 },        /* values: exact case */
        { "x-tenant: acme\r\nx-plan: gold\r\n", "10.1.2.3", 1 },        /* names: any case */
        { "X-Tenant: acme\r\nX-Plan: gold\r\n", "192.168.0.1", 0 },     /* outside the range */
        { "X-Tenant: acme\r\nX-Plan: gold\r\n", "::ffff:10.9.9.9", 1 }, /* mapped IPv4 */
        { "X-Tenant: acme\r\nX-Plan: gold\r\n", "2001:db8::7", 1 },
        { "X-Tenant: acme\r\nX-Plan: gold\r\n", "2001:db9::7", 0 },
        { "X-Tenant: other\r\nX-Tenant: acme\r\nX-Plan: gold\r\n", "10.1.2.3", 0 }, /* first one */
    };
    const struct alias *a;
    struct config *c = load_alias(
        "{\"version\": \"1\", \"pins\": [{\"when\": {\"$request.header.X-Tenant\": \"acme\","
        " \"$request.header.x-plan\": [\"gold\", \"silver\"],"
        " \"$request.ip\": [\"10.0.0.0/8\", \"2001:db8::/32\"]}, \"version\": \"3\"}]}",
        &a);

    CHECK(c != NULL);
    for (size_t i = 0; c && i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct test_req *t = req_parse("/a", cases[i].headers, cases[i].ip, NULL);
        enum pick_reason why;
        const struct fn_version *v;

        CHECK(t != NULL);
        if (!t)
            continue;
        v = alias_choose(a, &t->req, rng(), &why);
        CHECKF((v == function_version(a->fn, "3") && why == PICK_PIN) == cases[i].pinned,
               "case %zu (%s from %s): %s, reason %d", i, cases[i].headers, cases[i].ip, vname(v),
               why);
        req_free(t);
    }
    config_unref(c);
}

/* ------------------------------------------------------------ selectors */

/* The value of the selector text sel in t, as a string ("<none>" when it
 * has none) in out. */
static const char *value_of(const char *sel_text, const struct test_req *t, char *out, size_t cap)
{
    enum selector_kind kind;
    struct slice name, v;
    struct selector sel;
    char why[256], buf[SELECTOR_VALUE_BUF];

    if (selector_parse(sel_text, SELECTOR_ALL_KINDS, &kind, &name, why, sizeof(why)) < 0) {
        fmt_buf(out, cap, "<invalid: %s>", why);
        return out;
    }
    if (selector_init(&sel, kind, name) < 0) {
        fmt_buf(out, cap, "<out of memory>");
        return out;
    }
    if (selector_value(&sel, &t->req, buf, &v))
        fmt_buf(out, cap, "[%.*s]", (int)v.len, v.ptr ? v.ptr : "");
    else
        fmt_buf(out, cap, "<none>");
    selector_clear(&sel);
    return out;
}

static void test_selector_values(void)
{
    json_t *claims = json_pack("{s:s, s:i, s:I, s:b, s:b, s:f, s:[s], s:n, s:s}", "sub", "user-7",
                               "level", 3, "big", (json_int_t)-9007199254740993LL, "admin", 1,
                               "beta", 0, "score", 0.5, "groups", "a", "gone", "empty", "");
    struct authz_result *auth = authz_result_new(0, NULL, "principal-7", claims, 0);
    struct authz_result *denied = authz_result_new(403, "no", "principal-7", claims, 0);
    struct test_req *t =
        req_parse("/a?tenant=acme&empty=&flag&x=1&tenant=second&enc=a%20b",
                  "X-User: alice\r\nx-user: bob\r\nX-Empty:\r\nCookie: a=1; session=s%3D1; b=\r\n"
                  "Cookie: late=2\r\n",
                  "203.0.113.9", auth);
    struct test_req *anon = req_parse("/a", "", "::1", NULL);
    struct test_req *refused = req_parse("/a", "", "::1", denied);
    static const struct {
        const char *sel, *want;
    } cases[] = {
        { "$request.header.x-user", "[alice]" }, /* the first of two */
        { "$request.header.X-USER", "[alice]" }, /* any case */
        { "$request.header.x-empty", "[]" },     /* present, empty */
        { "$request.header.x-none", "<none>" },
        { "$request.querystring.tenant", "[acme]" },
        { "$request.querystring.empty", "[]" },
        { "$request.querystring.flag", "<none>" }, /* no '=': no value */
        { "$request.querystring.TENANT", "<none>" },
        { "$request.querystring.enc", "[a%20b]" }, /* as sent */
        { "$request.cookie.session", "[s%3D1]" },
        { "$request.cookie.b", "[]" },
        { "$request.cookie.late", "[2]" },
        { "$request.cookie.missing", "<none>" },
        { "$request.ip", "[203.0.113.9]" },
        { "$claim.sub", "[user-7]" },
        { "$claim.level", "[3]" },
        { "$claim.big", "[-9007199254740993]" },
        { "$claim.admin", "[true]" },
        { "$claim.beta", "[false]" },
        { "$claim.score", "<none>" },
        { "$claim.groups", "<none>" },
        { "$claim.gone", "<none>" },
        { "$claim.empty", "[]" },
        { "$claim.nope", "<none>" },
        { "$principal", "[principal-7]" },
    };
    char got[128];

    CHECK(claims && auth && denied && t && anon && refused);
    if (!t || !anon || !refused)
        goto out;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECKF(strcmp(value_of(cases[i].sel, t, got, sizeof(got)), cases[i].want) == 0,
               "%s = %s, want %s", cases[i].sel, got, cases[i].want);
    /* without an authorizer, or with a refusal, there is no identity */
    CHECK_STR(value_of("$claim.sub", anon, got, sizeof(got)), "<none>");
    CHECK_STR(value_of("$principal", anon, got, sizeof(got)), "<none>");
    CHECK_STR(value_of("$principal", refused, got, sizeof(got)), "<none>");
    CHECK_STR(value_of("$request.ip", anon, got, sizeof(got)), "[::1]");
    CHECK_STR(value_of("$request.querystring.tenant", anon, got, sizeof(got)), "<none>");
out:
    req_free(t);
    req_free(anon);
    req_free(refused);
    authz_result_unref(auth);
    authz_result_unref(denied);
    json_decref(claims);
}

/* Pins on claims and the principal, through the alias. */
static void test_pin_identity(void)
{
    json_t *claims = json_pack("{s:s, s:i}", "tenant", "acme", "tier", 2);
    struct authz_result *auth = authz_result_new(0, NULL, "svc-1", claims, 0);
    struct test_req *t = req_parse("/a", "", "10.0.0.1", auth);
    struct test_req *anon = req_parse("/a", "", "10.0.0.1", NULL);
    const struct alias *a;
    struct config *c = load_alias("{\"version\": \"1\", \"pins\": ["
                                  " {\"when\": {\"$claim.tenant\": \"acme\", \"$claim.tier\": "
                                  "[\"1\", \"2\"]}, \"version\": \"2\"},"
                                  " {\"when\": {\"$principal\": \"svc-1\"}, \"version\": \"3\"}]}",
                                  &a);
    enum pick_reason why;

    CHECK(c && t && anon);
    if (!c || !t || !anon)
        goto out;
    CHECK(alias_choose(a, &t->req, 0, &why) == function_version(a->fn, "2"));
    CHECK_INT(why, PICK_PIN);
    json_object_set_new(claims, "tier", json_integer(5));
    CHECK(alias_choose(a, &t->req, 0, &why) == function_version(a->fn, "3"));
    CHECK_INT(why, PICK_PIN);
    CHECK(alias_choose(a, &anon->req, 0, &why) == a->primary);
    CHECK_INT(why, PICK_WEIGHT);
out:
    config_unref(c);
    req_free(t);
    req_free(anon);
    authz_result_unref(auth);
    json_decref(claims);
}

/* Sticky by each kind of selector: the same value, the same version. */
static void test_sticky_kinds(void)
{
    static const char *const sels[] = {
        "$request.header.x-user",
        "$request.querystring.user",
        "$request.cookie.user",
        "$request.ip",
        "$claim.sub",
        "$principal",
    };
    json_t *claims = json_pack("{s:s}", "sub", "user-42");
    struct authz_result *auth = authz_result_new(0, NULL, "user-42", claims, 0);
    struct test_req *t = req_parse("/a?user=user-42", "X-User: user-42\r\nCookie: user=user-42\r\n",
                                   "user-42", auth);

    CHECK(t != NULL);
    for (size_t i = 0; t && i < sizeof(sels) / sizeof(sels[0]); i++) {
        char doc[256];
        const struct alias *a;
        struct config *c;
        enum pick_reason why;
        const struct fn_version *v;

        fmt_buf(doc, sizeof(doc),
                "{\"version\": \"1\", \"weights\": {\"2\": 0.5}, \"sticky_by\": \"%s\"}", sels[i]);
        c = load_alias(doc, &a);
        CHECK(c != NULL);
        if (!c)
            continue;
        v = alias_choose(a, &t->req, rng(), &why);
        CHECKF(why == PICK_STICKY, "%s: reason %d", sels[i], why);
        /* the value is the same text everywhere, so is the version */
        CHECKF(v == alias_pick(a, alias_sticky_hash(a, SLICE_LIT("user-42"))), "%s: got %s",
               sels[i], vname(v));
        for (int k = 0; k < 50; k++)
            CHECK(alias_choose(a, &t->req, rng(), &why) == v);
        config_unref(c);
    }
    req_free(t);
    authz_result_unref(auth);
    json_decref(claims);
}

static void test_selector_parse(void)
{
    static const struct {
        const char *s;
        unsigned kinds;
        int kind; /* -1: refused */
        const char *name_or_why;
    } cases[] = {
        { "$request.header.X-User", SELECTOR_ALL_KINDS, SELECTOR_HEADER, "X-User" },
        { "$request.querystring.a_b", SELECTOR_ALL_KINDS, SELECTOR_QUERY, "a_b" },
        { "$request.cookie.sid", SELECTOR_ALL_KINDS, SELECTOR_COOKIE, "sid" },
        { "$request.ip", SELECTOR_ALL_KINDS, SELECTOR_IP, "" },
        { "$claim.https://example.com/tenant", SELECTOR_ALL_KINDS, SELECTOR_CLAIM,
          "https://example.com/tenant" },
        { "$principal", SELECTOR_ALL_KINDS, SELECTOR_PRINCIPAL, "" },
        { "$request.ip", SELECTOR_REQUEST_KINDS, -1,
          "expected $request.header.NAME, $request.querystring.NAME or $request.cookie.NAME" },
        { "$principalx", SELECTOR_ALL_KINDS, -1, "expected $request.header.NAME" },
        { "$request.header.", SELECTOR_ALL_KINDS, -1, "a header name is" },
        { "$request.header.a:b", SELECTOR_ALL_KINDS, -1, "a header name is" },
        { "$request.cookie.a=b", SELECTOR_ALL_KINDS, -1, "a cookie name is" },
        { "$request.querystring.a b", SELECTOR_ALL_KINDS, -1, "a query parameter name" },
        { "$claim.a b", SELECTOR_ALL_KINDS, -1, "a claim name is" },
        { "", SELECTOR_ALL_KINDS, -1, "expected" },
        { "request.header.x", SELECTOR_ALL_KINDS, -1, "expected" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum selector_kind kind;
        struct slice name = SLICE_NULL;
        char why[256] = "";
        int rc = selector_parse(cases[i].s, cases[i].kinds, &kind, &name, why, sizeof(why));

        if (cases[i].kind < 0) {
            CHECKF(rc < 0, "%s accepted", cases[i].s);
            CHECKF(strstr(why, cases[i].name_or_why) != NULL, "%s: \"%s\" lacks \"%s\"", cases[i].s,
                   why, cases[i].name_or_why);
        } else {
            CHECKF(rc == 0, "%s refused: %s", cases[i].s, why);
            CHECKF(rc == 0 && (int)kind == cases[i].kind &&
                       slice_eq_cstr(name, cases[i].name_or_why),
                   "%s: kind %d, name %.*s", cases[i].s, (int)kind, (int)name.len,
                   name.ptr ? name.ptr : "");
        }
    }
}

static void test_ranges(void)
{
    static const struct {
        const char *range, *addr;
        int has; /* -1: the range is refused */
    } cases[] = {
        { "10.0.0.0/8", "10.255.0.1", 1 },
        { "10.0.0.0/8", "11.0.0.1", 0 },
        { "10.0.0.0/8", "::ffff:10.1.1.1", 1 },
        { "0.0.0.0/0", "192.0.2.1", 1 },
        { "0.0.0.0/0", "::1", 0 },
        { "192.0.2.128/25", "192.0.2.200", 1 },
        { "192.0.2.128/25", "192.0.2.127", 0 },
        { "192.0.2.1", "192.0.2.1", 1 },
        { "192.0.2.1", "192.0.2.2", 0 },
        { "::1/128", "::1", 1 },
        { "::1", "0:0::1", 1 },
        { "::1/128", "::2", 0 },
        { "2001:db8::/33", "2001:db8:7fff::1", 1 },
        { "2001:db8::/33", "2001:db8:8000::1", 0 },
        { "::ffff:10.0.0.0/104", "10.2.3.4", 1 },
        { "::/0", "2001:db8::1", 1 },
        { "10.0.0.0/33", NULL, -1 },
        { "10.0.0.1/8", NULL, -1 },
        { "10.0.0.0/", NULL, -1 },
        { "10.0.0.0/8x", NULL, -1 },
        { "/8", NULL, -1 },
        { "fe80::1%eth0", NULL, -1 },
        { "::ffff:10.0.0.0/8", NULL, -1 },
        { "example.com", NULL, -1 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct selector_range r, a;
        char why[256] = "";
        int rc = selector_range_parse(cases[i].range, &r, why, sizeof(why));

        if (cases[i].has < 0) {
            CHECKF(rc < 0 && why[0], "range %s accepted", cases[i].range);
            continue;
        }
        CHECKF(rc == 0, "range %s refused: %s", cases[i].range, why);
        CHECK_INT(selector_addr_parse((struct slice){ cases[i].addr, strlen(cases[i].addr) }, &a),
                  0);
        CHECKF(rc == 0 && selector_range_has(&r, &a) == cases[i].has, "%s in %s: expected %d",
               cases[i].addr, cases[i].range, cases[i].has);
    }
    {
        struct selector_range a;
        CHECK(selector_addr_parse(SLICE_LIT("unknown"), &a) < 0);
        CHECK(selector_addr_parse(SLICE_NULL, &a) < 0);
    }
}

int main(void)
{
    test_primary_only();
    test_boundaries();
    test_extremes();
    test_split();
    test_choose_plain();
    test_sticky_hash();
    test_sticky_split();
    test_sticky_widening();
    test_sticky_independent();
    test_sticky_missing();
    test_pins_before_weights();
    test_pin_conditions();
    test_pin_identity();
    test_sticky_kinds();
    test_selector_values();
    test_selector_parse();
    test_ranges();
    return unit_done("test_alias");
}
