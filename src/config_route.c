/* config_route.c - the config's routes: "METHOD /template" specs added to
 * the router, targets naming a function's version or alias, authorizers,
 * scopes and the per-route settings. */
#include "config_parse.h"

#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "util.h"

#define CONFIG_MAX_METHOD 20

static config_parse_fn parse_route_spec, parse_route_target, parse_route_authorizer,
    parse_route_scopes;

/* Indexed by enum payload_version. */
static const char *const payload_names[] = { "2.0", "1.0", NULL };
_Static_assert(sizeof(enum payload_version) == sizeof(int), "FIELD_ENUM writes an int");

static const struct config_field route_fields[] = {
    F_CUSTOM("route", FIELD_REQUIRED, parse_route_spec),
    F_CUSTOM("target", FIELD_REQUIRED, parse_route_target),
    F_U32("timeout_ms", struct route, timeout_ms, 0, 900000, 0),
    F_CUSTOM("authorizer", 0, parse_route_authorizer),
    F_CUSTOM("scopes", 0, parse_route_scopes),
    F_ENUM("payload", struct route, payload, payload_names, PAYLOAD_V2),
    F_CUSTOM("throttle", 0, config_parse_route_throttle),
    F_CUSTOM("usage_plan_required", 0, config_parse_usage_plan_required),
    F_END,
};

/* Returns 1 when the len bytes at p are a "{name}" or "{name+}" segment
 * the router accepts, setting *greedy. */
static int seg_param(const char *p, size_t len, int *greedy)
{
    size_t n;

    if (len < 3 || p[0] != '{' || p[len - 1] != '}')
        return 0;
    *greedy = p[len - 2] == '+';
    n = len - 2 - (size_t)*greedy;
    for (size_t i = 1; i <= n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return n > 0;
}

/* Returns 1 when two templates have the same shape: the same literals and
 * parameters at the same places, whatever the parameters' names. That is
 * what the router calls a duplicate; matching it here lets the error name
 * the earlier route. */
static int same_shape(const char *a, const char *b)
{
    while (*a && *b) {
        size_t la = strcspn(a + 1, "/") + 1, lb = strcspn(b + 1, "/") + 1;
        int ga = 0, gb = 0;
        int pa = seg_param(a + 1, la - 1, &ga), pb = seg_param(b + 1, lb - 1, &gb);

        if (pa != pb || (pa && ga != gb) || (!pa && (la != lb || memcmp(a, b, la) != 0)))
            return 0;
        a += la;
        b += lb;
    }
    return *a == *b;
}

/* "ANY", or the upper-case letters of a method, as the router takes it. */
static int method_ok(const char *m)
{
    size_t n = 0;

    for (; m[n]; n++)
        if (m[n] < 'A' || m[n] > 'Z' || n >= CONFIG_MAX_METHOD)
            return 0;
    return n > 0;
}

static void parse_route_spec(struct config_loader *ld, const struct config_field *f, json_t *v,
                             void *obj)
{
    struct route *r = obj;
    struct config *c = ld->c;
    const char *s = config_want_string(ld, v), *sp;
    char why[256], b[CONFIG_SHOW_BUF];

    if (!s || !(r->spec = config_strdup(ld, s)))
        return;
    sp = strchr(s, ' ');
    if (!sp || sp == s) {
        config_error(ld, "expected \"METHOD /path\", as in \"GET /orders/{id}\", not %s",
                     config_show(b, s));
        return;
    }
    r->method = slice_dup((struct slice){ s, (size_t)(sp - s) });
    r->tmpl = config_strdup(ld, sp + 1);
    if (!r->method || !r->tmpl) {
        ld->oom = 1;
        return;
    }
    if (!method_ok(r->method)) {
        config_error(ld, "invalid method %s: expected \"ANY\" or an upper-case method such as GET",
                     config_show(b, r->method));
        return;
    }
    if (router_add(c->router, r->method, r->tmpl, r, why, sizeof(why)) == 0) {
        ld->route_added[r->index] = 1;
        return;
    }
    /* router_add() has one failure code; its text tells memory apart. */
    if (strcmp(why, "out of memory") == 0) {
        ld->oom = 1;
        return;
    }
    for (size_t i = 0; i < r->index; i++) {
        const struct route *o = &c->routes[i];
        if (ld->route_added[i] && strcmp(o->method, r->method) == 0 &&
            same_shape(o->tmpl, r->tmpl)) {
            config_error(ld, "duplicate route: routes[%zu] is already %s", i,
                         config_show(b, o->spec));
            return;
        }
    }
    config_error(ld, "invalid route %s: %s", config_show(b, s), why);
}

/* "fn:alias", "fn:VERSION" or "fn:$LATEST". */
static void parse_route_target(struct config_loader *ld, const struct config_field *f, json_t *v,
                               void *obj)
{
    struct route *r = obj;
    const char *s = config_want_string(ld, v), *colon, *qual;
    char b1[CONFIG_SHOW_BUF], b2[CONFIG_SHOW_BUF];

    if (!s || !(r->target = config_strdup(ld, s)))
        return;
    colon = strchr(s, ':');
    if (!colon || colon == s || !colon[1]) {
        config_error(ld,
                     "expected \"function:alias\", \"function:VERSION\" or "
                     "\"function:$LATEST\", not %s",
                     config_show(b1, s));
        return;
    }
    r->fn = config_find_function(ld->c, s, (size_t)(colon - s));
    if (!r->fn) {
        config_error(ld, "unknown function %s", config_show_n(b1, s, (size_t)(colon - s)));
        return;
    }
    qual = colon + 1;
    if (config_version_name_ok(qual)) {
        r->version = function_version(r->fn, qual);
        if (!r->version)
            config_error(ld, "function %s has no version %s", config_show(b1, r->fn->name),
                         config_show(b2, qual));
    } else {
        r->alias = function_alias(r->fn, qual);
        if (!r->alias)
            config_error(ld, "function %s has no alias %s", config_show(b1, r->fn->name),
                         config_show(b2, qual));
    }
}

static void parse_route_authorizer(struct config_loader *ld, const struct config_field *f,
                                   json_t *v, void *obj)
{
    struct route *r = obj;
    const char *s = config_want_string(ld, v);
    char b[CONFIG_SHOW_BUF];

    if (!s)
        return;
    r->authorizer = config_authorizer(ld->c, s);
    if (!r->authorizer)
        config_error(ld, "authorizer %s does not exist", config_show(b, s));
}

/* A scope as RFC 6749 3.3 spells one: printable, no space, '"' or '\\'. */
static const char *check_scope(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '"' || *p == '\\')
            return "a scope cannot hold spaces, quotes, backslashes or control characters";
    return *s ? NULL : "a scope cannot be empty";
}

static void parse_route_scopes(struct config_loader *ld, const struct config_field *f, json_t *v,
                               void *obj)
{
    struct route *r = obj;

    config_parse_strings(ld, v, NULL, check_scope, &r->scopes, &r->nscopes);
}

void config_parse_routes(struct config_loader *ld, const struct config_field *f, json_t *v,
                         void *obj)
{
    struct config *c = obj;
    size_t i, n;
    json_t *item;

    if (!json_is_array(v)) {
        config_type_error(ld, v, "an array");
        return;
    }
    n = json_array_size(v);
    c->router = router_new();
    ld->route_added = calloc(n ? n : 1, 1);
    if (n)
        c->routes = calloc(n, sizeof(*c->routes));
    if (!c->router || !ld->route_added || (n && !c->routes)) {
        ld->oom = 1;
        return;
    }
    c->nroutes = n;
    json_array_foreach(v, i, item)
    {
        size_t mark = config_path_index(ld, i);
        c->routes[i].index = i;
        config_parse_fields(ld, item, route_fields, &c->routes[i]);
        if (json_is_object(item) && json_object_get(item, "scopes") &&
            !json_object_get(item, "authorizer")) {
            size_t m2 = config_path_key(ld, "scopes");
            config_error(ld, "scopes need an authorizer");
            config_path_cut(ld, m2);
        }
        config_path_cut(ld, mark);
        if (ld->oom)
            return;
    }
}

void config_route_free(struct config *c)
{
    router_free(c->router);
    for (size_t i = 0; i < c->nroutes; i++) {
        free(c->routes[i].spec);
        free(c->routes[i].method);
        free(c->routes[i].tmpl);
        free(c->routes[i].target);
        config_free_strings(c->routes[i].scopes, c->routes[i].nscopes);
        free(c->routes[i].series); /* the array only: series are metrics.c's */
    }
    free(c->routes);
}
