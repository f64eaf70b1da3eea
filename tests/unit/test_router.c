/* test_router.c - table-driven tests of the segment-tree router. */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

/* A route to add; data is the route's index in its table plus one, so a
 * match can be traced back to the template that won. */
struct add_case {
    const char *method, *tmpl;
};

/* A lookup and what it must give: want is the 1-based index of the winning
 * route in its table (0 when not found), allow the expected Allow header
 * on a 405, params "name=value" pairs joined by ';' in order, greedy the
 * greedy value or NULL. */
struct match_case {
    const char *method, *path;
    enum router_result res;
    int want;
    const char *allow;
    const char *params;
    const char *greedy;
};

static struct router *build(const struct add_case *adds, size_t n, int reverse)
{
    struct router *r = router_new();
    char err[256];

    CHECK(r != NULL);
    if (!r)
        return NULL;
    for (size_t k = 0; k < n; k++) {
        size_t i = reverse ? n - 1 - k : k;
        int rc = router_add(r, adds[i].method, adds[i].tmpl, (void *)(i + 1), err, sizeof(err));
        CHECKF(rc == 0, "add %s %s: %s", adds[i].method, adds[i].tmpl, err);
    }
    CHECK_INT(router_count(r), n);
    return r;
}

/* Renders m's params as "name=value;..." for one comparison per case. */
static void params_str(const struct router_match *m, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < m->nparams; i++) {
        char one[256];
        fmt_buf(one, sizeof(one), "%s%.*s=%.*s", i ? ";" : "", (int)m->params[i].name.len,
                m->params[i].name.ptr, (int)m->params[i].value.len, m->params[i].value.ptr);
        str_append(buf, cap, one);
    }
}

static void run_matches(const struct router *r, const struct match_case *cases, size_t n,
                        const char *label)
{
    for (size_t i = 0; i < n; i++) {
        const struct match_case *c = &cases[i];
        struct router_match m;
        char allow[128] = "junk";
        char got[512];
        enum router_result res;

        memset(&m, 0, sizeof(m));
        res = router_match(r, (struct slice){ c->method, strlen(c->method) },
                           (struct slice){ c->path, strlen(c->path) }, &m, allow, sizeof(allow));
        CHECKF(res == c->res, "%s: %s %s: result %d, expected %d", label, c->method, c->path,
               (int)res, (int)c->res);
        if (res != c->res)
            continue;
        if (res == ROUTER_FOUND) {
            CHECKF((size_t)m.data == (size_t)c->want, "%s: %s %s: route %zu (%s), expected %d",
                   label, c->method, c->path, (size_t)m.data, m.tmpl, c->want);
            params_str(&m, got, sizeof(got));
            CHECKF(strcmp(got, c->params ? c->params : "") == 0,
                   "%s: %s %s: params \"%s\", expected \"%s\"", label, c->method, c->path, got,
                   c->params ? c->params : "");
            CHECKF(m.has_greedy == (c->greedy != NULL), "%s: %s %s: has_greedy %d", label,
                   c->method, c->path, m.has_greedy);
            if (c->greedy && m.has_greedy) {
                CHECKF(slice_eq_cstr(m.greedy, c->greedy), "%s: %s %s: greedy \"%.*s\"", label,
                       c->method, c->path, (int)m.greedy.len, m.greedy.ptr);
                CHECK(m.nparams > 0 && m.params[m.nparams - 1].value.ptr == m.greedy.ptr);
            }
            /* Values point into the path we gave, not into a copy. */
            for (size_t k = 0; k < m.nparams; k++)
                CHECK(m.params[k].value.ptr >= c->path &&
                      m.params[k].value.ptr + m.params[k].value.len <= c->path + strlen(c->path));
        } else if (res == ROUTER_METHOD_NOT_ALLOWED) {
            CHECKF(strcmp(allow, c->allow) == 0, "%s: %s %s: Allow \"%s\", expected \"%s\"",
                   label, c->method, c->path, allow, c->allow);
        } else {
            CHECKF(allow[0] == '\0', "%s: %s %s: Allow \"%s\" on 404", label, c->method,
                   c->path, allow);
        }
    }
}

/* Runs the cases against the table added in both orders: precedence must
 * not depend on insertion order. */
static void run_both_orders(const struct add_case *adds, size_t nadds,
                            const struct match_case *cases, size_t ncases, const char *label)
{
    for (int reverse = 0; reverse < 2; reverse++) {
        struct router *r = build(adds, nadds, reverse);
        char l[128];
        fmt_buf(l, sizeof(l), "%s%s", label, reverse ? " (reversed)" : "");
        if (r)
            run_matches(r, cases, ncases, l);
        router_free(r);
    }
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define F ROUTER_FOUND
#define NF ROUTER_NOT_FOUND
#define NA ROUTER_METHOD_NOT_ALLOWED

static void test_precedence(void)
{
    static const struct add_case adds[] = {
        { "GET", "/orders/{id}" },        /* 1 */
        { "GET", "/orders/new" },         /* 2 */
        { "GET", "/orders/{proxy+}" },    /* 3 */
        { "GET", "/" },                   /* 4 */
        { "GET", "/a/b/c" },              /* 5 */
        { "GET", "/a/{x}/d" },            /* 6 */
        { "GET", "/a/{x}/{y}/{z}" },      /* 7 */
        { "GET", "/files/{path+}" },      /* 8 */
        { "GET", "/u/{uid}/posts/{pid}" },/* 9 */
        { "GET", "/p/{a}/x" },            /* 10 */
        { "GET", "/p/{proxy+}" },         /* 11 */
        { "GET", "/Case" },               /* 12 */
        { "GET", "/{any+}" },             /* 13 */
        { "GET", "/v1/%7Euser/a:b@c" },   /* 14 */
    };
    static const struct match_case cases[] = {
        { "GET", "/orders/new", F, 2, NULL, NULL, NULL },
        { "GET", "/orders/42", F, 1, NULL, "id=42", NULL },
        { "GET", "/orders/42/items", F, 3, NULL, "proxy=42/items", "42/items" },
        { "GET", "/orders/new/x", F, 3, NULL, "proxy=new/x", "new/x" },
        /* Trailing slash: an empty last segment matches no {param}; only a
         * greedy route further up takes it. */
        { "GET", "/orders/", F, 13, NULL, "any=orders/", "orders/" },
        { "GET", "/orders", F, 13, NULL, "any=orders", "orders" },
        { "GET", "/", F, 4, NULL, NULL, NULL },
        /* Backtracking: the literal b leads nowhere for d, {x} does. */
        { "GET", "/a/b/c", F, 5, NULL, NULL, NULL },
        { "GET", "/a/b/d", F, 6, NULL, "x=b", NULL },
        { "GET", "/a/b/e/f", F, 7, NULL, "x=b;y=e;z=f", NULL },
        { "GET", "/a/q/d", F, 6, NULL, "x=q", NULL },
        { "GET", "/files/a/b/c", F, 8, NULL, "path=a/b/c", "a/b/c" },
        { "GET", "/files/x", F, 8, NULL, "path=x", "x" },
        { "GET", "/files//", F, 8, NULL, "path=/", "/" },
        { "GET", "/files/", F, 13, NULL, "any=files/", "files/" },
        { "GET", "/u/7/posts/99", F, 9, NULL, "uid=7;pid=99", NULL },
        /* Greedy after a failed {param} branch at the same node. */
        { "GET", "/p/1/x", F, 10, NULL, "a=1", NULL },
        { "GET", "/p/1/y", F, 11, NULL, "proxy=1/y", "1/y" },
        { "GET", "/p/1/x/z", F, 11, NULL, "proxy=1/x/z", "1/x/z" },
        { "GET", "/Case", F, 12, NULL, NULL, NULL },
        { "GET", "/case", F, 13, NULL, "any=case", "case" },
        { "GET", "/v1/%7Euser/a:b@c", F, 14, NULL, NULL, NULL },
        { "GET", "/v1/~user/a:b@c", F, 13, NULL, "any=v1/~user/a:b@c", "v1/~user/a:b@c" },
        { "GET", "//", F, 13, NULL, "any=/", "/" },
    };
    run_both_orders(adds, N(adds), cases, N(cases), "precedence");
}

static void test_no_catchall(void)
{
    static const struct add_case adds[] = {
        { "GET", "/orders" },       /* 1 */
        { "GET", "/orders/{id}" },  /* 2 */
        { "GET", "/files/{p+}" },   /* 3 */
    };
    static const struct match_case cases[] = {
        { "GET", "/orders", F, 1, NULL, NULL, NULL },
        { "GET", "/orders/", NF, 0, NULL, NULL, NULL },
        { "GET", "/orders/1/", NF, 0, NULL, NULL, NULL },
        { "GET", "/orders//", NF, 0, NULL, NULL, NULL },
        { "GET", "/files", NF, 0, NULL, NULL, NULL },
        { "GET", "/files/", NF, 0, NULL, NULL, NULL },
        { "GET", "/", NF, 0, NULL, NULL, NULL },
        { "GET", "", NF, 0, NULL, NULL, NULL },
        { "GET", "orders", NF, 0, NULL, NULL, NULL },
        { "GET", "/ORDERS", NF, 0, NULL, NULL, NULL },
        { "GET", "/nothing/here", NF, 0, NULL, NULL, NULL },
    };
    run_both_orders(adds, N(adds), cases, N(cases), "no catch-all");
}

static void test_methods(void)
{
    static const struct add_case adds[] = {
        { "GET", "/items" },          /* 1 */
        { "POST", "/items" },         /* 2 */
        { "ANY", "/items" },          /* 3 */
        { "GET", "/only-get" },       /* 4 */
        { "PUT", "/m/{id}" },         /* 5 */
        { "DELETE", "/m/{id}" },      /* 6 */
        { "GET", "/m/{id}" },         /* 7 */
        { "POST", "/m/special" },     /* 8 */
        { "HEAD", "/h" },             /* 9 */
        { "GET", "/h" },              /* 10 */
        { "ANY", "/anyh" },           /* 11 */
        { "GET", "/anyh" },           /* 12 */
        { "PATCH", "/g/{x+}" },       /* 13 */
        { "ANY", "/lit/x" },          /* 14 */
        { "GET", "/lit/{p}" },        /* 15 */
        { "GET", "/z/a/b" },          /* 16 */
        { "POST", "/z/{x}/b" },       /* 17 */
    };
    static const struct match_case cases[] = {
        { "GET", "/items", F, 1, NULL, NULL, NULL },
        { "POST", "/items", F, 2, NULL, NULL, NULL },
        { "DELETE", "/items", F, 3, NULL, NULL, NULL },
        { "HEAD", "/items", F, 3, NULL, NULL, NULL }, /* ANY beats GET-for-HEAD */
        { "get", "/items", F, 3, NULL, NULL, NULL },  /* methods are case-sensitive */
        { "GET", "/only-get", F, 4, NULL, NULL, NULL },
        { "HEAD", "/only-get", F, 4, NULL, NULL, NULL },
        { "POST", "/only-get", NA, 0, "GET", NULL, NULL },
        { "get", "/only-get", NA, 0, "GET", NULL, NULL },
        { "OPTIONS", "/m/1", NA, 0, "DELETE, GET, PUT", NULL, NULL },
        { "PUT", "/m/1", F, 5, NULL, "id=1", NULL },
        { "DELETE", "/m/1", F, 6, NULL, "id=1", NULL },
        { "HEAD", "/m/1", F, 7, NULL, "id=1", NULL },
        { "POST", "/m/special", F, 8, NULL, NULL, NULL },
        /* The literal node refuses GET; the {id} node takes it. */
        { "GET", "/m/special", F, 7, NULL, "id=special", NULL },
        /* Nobody takes PATCH: Allow comes from the most specific node. */
        { "PATCH", "/m/special", NA, 0, "POST", NULL, NULL },
        { "HEAD", "/h", F, 9, NULL, NULL, NULL },
        { "GET", "/h", F, 10, NULL, NULL, NULL },
        { "POST", "/h", NA, 0, "GET, HEAD", NULL, NULL },
        { "GET", "/anyh", F, 12, NULL, NULL, NULL },
        { "HEAD", "/anyh", F, 11, NULL, NULL, NULL },
        { "PATCH", "/g/a/b", F, 13, NULL, "x=a/b", "a/b" },
        { "GET", "/g/a/b", NA, 0, "PATCH", NULL, NULL },
        { "GET", "/g/", NF, 0, NULL, NULL, NULL },
        /* ANY on the more specific literal node wins over GET on {p}. */
        { "GET", "/lit/x", F, 14, NULL, NULL, NULL },
        { "GET", "/lit/y", F, 15, NULL, "p=y", NULL },
        { "POST", "/lit/y", NA, 0, "GET", NULL, NULL },
        /* 405 Allow from the first path-matching node in priority order. */
        { "PUT", "/z/a/b", NA, 0, "GET", NULL, NULL },
        { "POST", "/z/a/b", F, 17, NULL, "x=a", NULL },
        { "PUT", "/z/c/b", NA, 0, "POST", NULL, NULL },
        { "PUT", "/z/c/d", NF, 0, NULL, NULL, NULL },
    };
    run_both_orders(adds, N(adds), cases, N(cases), "methods");
}

static void test_allow_truncation(void)
{
    struct router *r = router_new();
    char allow[8];
    char err[128];
    const char *methods[] = { "PUT", "GET", "POST", "DELETE" };

    for (size_t i = 0; i < N(methods); i++)
        CHECK_INT(router_add(r, methods[i], "/x", NULL, err, sizeof(err)), 0);
    CHECK_INT(router_match(r, SLICE_LIT("PATCH"), SLICE_LIT("/x"), NULL, allow, sizeof(allow)),
              NA);
    CHECK_STR(allow, "DELETE,");
    CHECK_INT(router_match(r, SLICE_LIT("PATCH"), SLICE_LIT("/x"), NULL, NULL, 0), NA);
    CHECK_INT(router_match(r, SLICE_LIT("GET"), SLICE_LIT("/x"), NULL, NULL, 0), F);
    CHECK_INT(router_match(NULL, SLICE_LIT("GET"), SLICE_LIT("/x"), NULL, NULL, 0), NF);
    router_free(r);
}

static void test_match_fields(void)
{
    struct router *r = router_new();
    struct router_match m;
    char err[128];
    int data;
    const char *path = "/t/acme/files/2024/a.txt";

    CHECK_INT(router_add(r, "GET", "/t/{tenant}/files/{key+}", &data, err, sizeof(err)), 0);
    memset(&m, 0xAB, sizeof(m));
    CHECK_INT(router_match(r, SLICE_LIT("GET"), (struct slice){ path, strlen(path) }, &m, NULL, 0),
              F);
    CHECK(m.data == &data);
    CHECK_STR(m.tmpl, "/t/{tenant}/files/{key+}");
    CHECK_INT(m.nparams, 2);
    CHECK(slice_eq_cstr(m.params[0].name, "tenant"));
    CHECK(slice_eq_cstr(m.params[0].value, "acme"));
    CHECK(slice_eq_cstr(m.params[1].name, "key"));
    CHECK(slice_eq_cstr(m.params[1].value, "2024/a.txt"));
    CHECK_INT(m.has_greedy, 1);
    CHECK(slice_eq_cstr(m.greedy, "2024/a.txt"));
    CHECK(m.greedy.ptr == path + strlen("/t/acme/files/"));

    /* Names come from the route that matched, even when another method's
     * route shares the node under other names. */
    CHECK_INT(router_add(r, "POST", "/t/{org}/files/{rest+}", NULL, err, sizeof(err)), 0);
    CHECK_INT(router_match(r, SLICE_LIT("POST"), (struct slice){ path, strlen(path) }, &m, NULL, 0),
              F);
    CHECK(slice_eq_cstr(m.params[0].name, "org"));
    CHECK(slice_eq_cstr(m.params[1].name, "rest"));
    CHECK_STR(m.tmpl, "/t/{org}/files/{rest+}");

    /* A route without parameters clears has_greedy and nparams. */
    CHECK_INT(router_add(r, "GET", "/plain", NULL, err, sizeof(err)), 0);
    memset(&m, 0xAB, sizeof(m));
    CHECK_INT(router_match(r, SLICE_LIT("GET"), SLICE_LIT("/plain"), &m, NULL, 0), F);
    CHECK_INT(m.nparams, 0);
    CHECK_INT(m.has_greedy, 0);
    CHECK(m.data == NULL);

    /* The template is the router's copy. */
    {
        char tmpl[] = "/copy/{id}";
        CHECK_INT(router_add(r, "GET", tmpl, NULL, err, sizeof(err)), 0);
        tmpl[1] = 'X';
        CHECK_INT(router_match(r, SLICE_LIT("GET"), SLICE_LIT("/copy/1"), &m, NULL, 0), F);
        CHECK_STR(m.tmpl, "/copy/{id}");
        CHECK(slice_eq_cstr(m.params[0].name, "id"));
    }

    /* Sixteen parameters is the limit and all come back in order. */
    {
        char tmpl[256] = "", path16[128] = "", want[8];
        for (int i = 0; i < ROUTER_MAX_PARAMS; i++) {
            char one[16];
            fmt_buf(one, sizeof(one), "/{p%d}", i);
            str_append(tmpl, sizeof(tmpl), one);
            fmt_buf(one, sizeof(one), "/v%d", i);
            str_append(path16, sizeof(path16), one);
        }
        CHECK_INT(router_add(r, "GET", tmpl, NULL, err, sizeof(err)), 0);
        CHECK_INT(router_match(r, SLICE_LIT("GET"), (struct slice){ path16, strlen(path16) }, &m,
                               NULL, 0),
                  F);
        CHECK_INT(m.nparams, ROUTER_MAX_PARAMS);
        for (int i = 0; i < ROUTER_MAX_PARAMS; i++) {
            fmt_buf(want, sizeof(want), "v%d", i);
            CHECK(slice_eq_cstr(m.params[i].value, want));
            fmt_buf(want, sizeof(want), "p%d", i);
            CHECK(slice_eq_cstr(m.params[i].name, want));
        }
    }
    CHECK_INT(router_count(r), 5);
    router_free(r);
}

/* Every class of malformed method or template is refused with a message,
 * and a refused route leaves the count unchanged. */
static void test_malformed(void)
{
    static const struct {
        const char *method, *tmpl, *needle;
    } bad[] = {
        { "GET", "", "start with '/'" },
        { "GET", "orders", "start with '/'" },
        { "GET", "//", "must not end with '/'" },
        { "GET", "/a/", "must not end with '/'" },
        { "GET", "/a//b", "segment 2: empty segment" },
        { "GET", "//a", "segment 1: empty segment" },
        { "GET", "/a/{}", "segment 2: empty parameter name" },
        { "GET", "/a/{+}", "segment 2: empty parameter name" },
        { "GET", "/a/{x-y}", "segment 2: parameter name must be [A-Za-z0-9_]+" },
        { "GET", "/a/{x y}", "parameter name must be" },
        { "GET", "/a/{x+y}", "parameter name must be" },
        { "GET", "/a/{x++}", "parameter name must be" },
        { "GET", "/a/{x}y", "braces must span" },
        { "GET", "/a/y{x}", "braces must span" },
        { "GET", "/a/{x", "braces must span" },
        { "GET", "/a/x}", "braces must span" },
        { "GET", "/a/{", "braces must span" },
        { "GET", "/a/{x}{y}", "braces must span" },
        { "GET", "/a/{{x}}", "braces must span" },
        { "GET", "/a/b{c", "braces must span" },
        { "GET", "/{p+}/a", "segment 1: greedy parameter {p+} must be the last segment" },
        { "GET", "/a/{p+}/{q}", "must be the last" },
        { "GET", "/{x}/{x}", "segment 2: parameter name 'x' repeated" },
        { "GET", "/{x}/{x+}", "repeated" },
        { "GET", "/a b", "segment 1: byte 0x20 not allowed" },
        { "GET", "/a<b", "segment 1: character '<' not allowed in a path" },
        { "GET", "/a?b", "not allowed" },
        { "GET", "/a#b", "not allowed" },
        { "GET", "/a\"b", "not allowed" },
        { "GET", "/a\tb", "byte 0x09 not allowed" },
        { "GET", "/caf\xc3\xa9", "byte 0xC3 not allowed" },
        { "GET", "/a%", "two hex digits" },
        { "GET", "/a%2", "two hex digits" },
        { "GET", "/a%zz", "two hex digits" },
        { "GET", "/a%2/b", "two hex digits" },
        { "get", "/a", "method" },
        { "", "/a", "method" },
        { "G3T", "/a", "method" },
        { "GET ", "/a", "method" },
        { "any", "/a", "method" },
        { "ABCDEFGHIJKLMNOPQRSTU", "/a", "method" }, /* 21 letters */
        { NULL, "/a", "missing" },
        { "GET", NULL, "missing" },
        { "GET",
          "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}/{j}/{k}/{l}/{m}/{n}/{o}/{p}/{q}",
          "more than 16 parameters" },
    };
    struct router *r = router_new();
    char err[256];

    for (size_t i = 0; i < N(bad); i++) {
        int rc;
        err[0] = '\0';
        rc = router_add(r, bad[i].method, bad[i].tmpl, NULL, err, sizeof(err));
        CHECKF(rc == -1, "%s %s accepted", bad[i].method ? bad[i].method : "(null)",
               bad[i].tmpl ? bad[i].tmpl : "(null)");
        CHECKF(err[0] != '\0' && strchr(err, '\n') == NULL, "%s: empty or multi-line error",
               bad[i].tmpl ? bad[i].tmpl : "(null)");
        CHECKF(strstr(err, bad[i].needle) != NULL, "%s %s: error \"%s\" lacks \"%s\"",
               bad[i].method ? bad[i].method : "(null)", bad[i].tmpl ? bad[i].tmpl : "(null)",
               err, bad[i].needle);
    }
    CHECK_INT(router_count(r), 0);

    /* Too many segments. */
    {
        size_t cap = 257 * 2 + 1;
        char *deep = malloc(cap);
        CHECK(deep != NULL);
        if (deep) {
            deep[0] = '\0';
            for (int i = 0; i < 257; i++)
                str_append(deep, cap, "/a");
            CHECK_INT(router_add(r, "GET", deep, NULL, err, sizeof(err)), -1);
            CHECK(strstr(err, "more than 256 segments") != NULL);
            deep[256 * 2] = '\0';
            CHECK_INT(router_add(r, "GET", deep, NULL, err, sizeof(err)), 0);
            free(deep);
        }
    }

    /* What the validator must accept. */
    static const char *good[] = {
        "/", "/a", "/a-b.c_d~e", "/!$&'()*+,;=:@", "/%41%7e%7E", "/{a}", "/n/{A_z09}", "/{proxy+}",
        "/x/{p}/y/{q+}", "/%20",
    };
    for (size_t i = 0; i < N(good); i++)
        CHECKF(router_add(r, "ANY", good[i], NULL, err, sizeof(err)) == 0, "%s: %s", good[i], err);
    CHECK(router_add(r, "ABCDEFGHIJKLMNOPQRST", "/a", NULL, err, sizeof(err)) == 0); /* 20 */
    CHECK_INT(router_count(r), 1 + N(good) + 1);

    /* A NULL or zero-sized err buffer is tolerated. */
    CHECK_INT(router_add(r, "GET", "bad", NULL, NULL, 0), -1);
    CHECK_INT(router_add(r, "GET", "bad", NULL, err, 0), -1);
    router_free(r);
}

static void test_duplicates(void)
{
    static const struct {
        const char *first_method, *first, *method, *tmpl, *message;
    } dups[] = {
        { "GET", "/a", "GET", "/a", "duplicate route GET /a (same as GET /a)" },
        { "GET", "/a/{x}", "GET", "/a/{y}", "duplicate route GET /a/{y} (same as GET /a/{x})" },
        { "ANY", "/a/{x}/b", "ANY", "/a/{z}/b", "duplicate route ANY /a/{z}/b (same as ANY /a/{x}/b)" },
        { "PUT", "/f/{p+}", "PUT", "/f/{q+}", "duplicate route PUT /f/{q+} (same as PUT /f/{p+})" },
        { "GET", "/", "GET", "/", "duplicate route GET / (same as GET /)" },
    };

    for (size_t i = 0; i < N(dups); i++) {
        struct router *r = router_new();
        char err[256] = "";
        CHECK_INT(router_add(r, dups[i].first_method, dups[i].first, NULL, err, sizeof(err)), 0);
        CHECK_INT(router_add(r, dups[i].method, dups[i].tmpl, NULL, err, sizeof(err)), -1);
        CHECK_STR(err, dups[i].message);
        CHECK_INT(router_count(r), 1);
        router_free(r);
    }

    /* Not duplicates: other method, ANY beside a method, param vs greedy
     * vs literal at the same place. */
    {
        struct router *r = router_new();
        char err[256];
        static const struct add_case ok[] = {
            { "GET", "/a/{x}" }, { "POST", "/a/{y}" }, { "ANY", "/a/{z}" },
            { "GET", "/a/{x+}" }, { "GET", "/a/lit" }, { "GET", "/a" },
        };
        for (size_t i = 0; i < N(ok); i++)
            CHECKF(router_add(r, ok[i].method, ok[i].tmpl, NULL, err, sizeof(err)) == 0, "%s: %s",
                   ok[i].tmpl, err);
        CHECK_INT(router_count(r), N(ok));
        router_free(r);
    }
}

/* 10,000 routes "/r{i}/items/{id}": each one routes to itself. */
static void test_many(void)
{
    enum { NROUTES = 10000 };
    struct router *r = router_new();
    char err[256], tmpl[64], path[64];
    struct router_match m;
    int bad_add = 0, bad_match = 0;

    CHECK(r != NULL);
    if (!r)
        return;
    for (size_t i = 0; i < NROUTES; i++) {
        fmt_buf(tmpl, sizeof(tmpl), "/r%zu/items/{id}", i);
        if (router_add(r, (i % 2) ? "POST" : "GET", tmpl, (void *)(i + 1), err, sizeof(err)) != 0)
            bad_add++;
    }
    CHECK_INT(bad_add, 0);
    CHECK_INT(router_count(r), NROUTES);
    for (size_t i = 0; i < NROUTES; i++) {
        const char *method = (i % 2) ? "POST" : "GET";
        fmt_buf(path, sizeof(path), "/r%zu/items/x%zu", i, i);
        memset(&m, 0, sizeof(m));
        if (router_match(r, (struct slice){ method, strlen(method) },
                         (struct slice){ path, strlen(path) }, &m, NULL, 0) != ROUTER_FOUND ||
            (size_t)m.data != i + 1 || m.nparams != 1 ||
            m.params[0].value.len != strlen(path) - (size_t)(strchr(path + 1, '/') - path) -
                                         strlen("/items/"))
            bad_match++;
    }
    CHECK_INT(bad_match, 0);

    CHECK_INT(router_match(r, SLICE_LIT("POST"), SLICE_LIT("/r9999/items/abc"), &m, NULL, 0), F);
    CHECK_INT((size_t)m.data, 10000);
    CHECK_STR(m.tmpl, "/r9999/items/{id}");
    CHECK(slice_eq_cstr(m.params[0].name, "id"));
    CHECK(slice_eq_cstr(m.params[0].value, "abc"));
    {
        char allow[32];
        CHECK_INT(router_match(r, SLICE_LIT("GET"), SLICE_LIT("/r9999/items/abc"), &m, allow,
                               sizeof(allow)),
                  NA);
        CHECK_STR(allow, "POST");
    }
    CHECK_INT(router_match(r, SLICE_LIT("GET"), SLICE_LIT("/r10000/items/abc"), &m, NULL, 0), NF);
    CHECK_INT(router_match(r, SLICE_LIT("GET"), SLICE_LIT("/r9998/items"), &m, NULL, 0), NF);
    CHECK_INT(router_add(r, "POST", "/r9999/items/{other}", NULL, err, sizeof(err)), -1);
    router_free(r);
}

/* Paths far deeper than any template, and a greedy tail of many segments:
 * the walk stops where the tree ends. */
static void test_long_paths(void)
{
    struct router *r = router_new();
    char err[128];
    size_t cap = 2 * 100000 + 8;
    char *path = malloc(cap);
    struct router_match m;

    CHECK(path != NULL);
    if (!r || !path) {
        free(path);
        router_free(r);
        return;
    }
    CHECK_INT(router_add(r, "GET", "/{a}/{b}", NULL, err, sizeof(err)), 0);
    CHECK_INT(router_add(r, "GET", "/g/{rest+}", NULL, err, sizeof(err)), 0);
    CHECK_INT(router_add(r, "GET", "/a/{x}/{y}/{z}/w", NULL, err, sizeof(err)), 0);
    CHECK_INT(router_add(r, "GET", "/a/b/{y}/{z}/v", NULL, err, sizeof(err)), 0);

    path[0] = '\0';
    for (int i = 0; i < 100000; i++)
        str_append(path, cap, "/a");
    CHECK_INT(router_match(r, SLICE_LIT("GET"), (struct slice){ path, strlen(path) }, &m, NULL, 0),
              NF);
    path[0] = '/';
    path[1] = 'g';
    CHECK_INT(router_match(r, SLICE_LIT("GET"), (struct slice){ path, strlen(path) }, &m, NULL, 0),
              F);
    CHECK_INT(m.has_greedy, 1);
    CHECK_INT(m.greedy.len, strlen(path) - 3);
    free(path);

    /* Backtracking through two candidate chains. */
    CHECK_INT(router_match(r, SLICE_LIT("GET"), SLICE_LIT("/a/b/c/d/w"), &m, NULL, 0), F);
    CHECK_STR(m.tmpl, "/a/{x}/{y}/{z}/w");
    CHECK_INT(router_match(r, SLICE_LIT("GET"), SLICE_LIT("/a/b/c/d/v"), &m, NULL, 0), F);
    CHECK_STR(m.tmpl, "/a/b/{y}/{z}/v");
    CHECK_INT(router_match(r, SLICE_LIT("GET"), SLICE_LIT("/a/b/c/d/u"), &m, NULL, 0), NF);
    router_free(r);
}

int main(void)
{
    router_free(NULL);
    test_precedence();
    test_no_catchall();
    test_methods();
    test_allow_truncation();
    test_match_fields();
    test_malformed();
    test_duplicates();
    test_many();
    test_long_paths();
    return unit_done("test_router");
}
