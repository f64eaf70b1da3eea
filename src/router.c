/* router.c - segment tree (trie) mapping "METHOD /path" to routes, with
 * literal > {param} > {greedy+} precedence and backtracking. */
#include "router.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Templates deeper than this are refused. The tree is never deeper than the
 * deepest template (plus one greedy terminal), and router_match() recurses
 * once per tree level, so this caps the matcher's stack whatever the length
 * of the request path: a path longer than every template simply runs out of
 * tree, while a greedy route still takes the long tail without recursion. */
#define ROUTER_MAX_SEGMENTS 256
#define ROUTER_METHOD_MAX 20

/* One route as added. A single allocation holds the struct, its parameter
 * names and the template copy the names point into. */
struct route {
    void *data;
    const char *tmpl;
    char method[ROUTER_METHOD_MAX + 1];
    size_t nparams; /* includes the greedy one */
    int has_greedy;
    struct slice names[];
};

struct node;

/* A literal child, in an open-addressing hash table: lookups stay O(1) with
 * thousands of siblings ("/r0" .. "/r9999") and so do insertions, which a
 * sorted array would make quadratic at load time. */
struct edge {
    char *seg; /* NULL marks an empty slot */
    size_t len;
    uint32_t hash;
    struct node *child;
};

struct node {
    struct edge *lit; /* litcap slots, a power of two, at most half full */
    size_t nlit, litcap;
    struct node *param;  /* the {name} child, whatever the name */
    struct node *greedy; /* the {name+} terminal: only routes, no children */
    struct route **routes; /* sorted by method, so Allow comes out sorted */
    size_t nroutes;
    struct route *any;
};

struct router {
    struct node *root;
    size_t count;
};

/* A template segment as validated by router_add(). */
enum seg_kind { SEG_LITERAL, SEG_PARAM, SEG_GREEDY };

struct tmpl_seg {
    size_t off, len; /* the literal, or the parameter name, inside tmpl */
    enum seg_kind kind;
};

/* The state of one router_match() walk; lives on the caller's stack. */
struct search {
    struct slice method;
    int is_head;
    const char *end; /* one past the path's last byte */
    struct slice vals[ROUTER_MAX_PARAMS];
    size_t nvals;
    const struct route *found;
    const struct node *first_path; /* first node whose path matched, for 405 */
};

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen,
                                                           const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    if (vsnprintf(err, errlen, fmt, ap) < 0)
        err[0] = '\0';
    va_end(ap);
}

/* FNV-1a: cheap and good enough; the keys are the operator's templates, and
 * a request segment can only probe, never add. */
static uint32_t seg_hash(const char *p, size_t len)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 16777619u;
    }
    return h;
}

static struct node *node_new(void)
{
    return calloc(1, sizeof(struct node));
}

static void node_free(struct node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->litcap; i++) {
        if (n->lit[i].seg) {
            free(n->lit[i].seg);
            node_free(n->lit[i].child);
        }
    }
    free(n->lit);
    node_free(n->param);
    node_free(n->greedy);
    for (size_t i = 0; i < n->nroutes; i++)
        free(n->routes[i]);
    free(n->routes);
    free(n->any);
    free(n);
}

static struct node *lit_find(const struct node *n, const char *seg, size_t len, uint32_t h)
{
    size_t mask, i;

    if (n->litcap == 0)
        return NULL;
    mask = n->litcap - 1;
    for (i = h & mask; n->lit[i].seg; i = (i + 1) & mask) {
        const struct edge *e = &n->lit[i];
        if (e->hash == h && e->len == len && memcmp(e->seg, seg, len) == 0)
            return e->child;
    }
    return NULL;
}

/* Places an edge in a table known to have room (load <= 1/2). */
static void lit_place(struct edge *tab, size_t cap, struct edge e)
{
    size_t i = e.hash & (cap - 1);

    while (tab[i].seg)
        i = (i + 1) & (cap - 1);
    tab[i] = e;
}

/* Returns the literal child for seg, creating it; NULL when out of memory. */
static struct node *lit_get(struct node *n, const char *seg, size_t len)
{
    uint32_t h = seg_hash(seg, len);
    struct node *child = lit_find(n, seg, len, h);
    struct edge e;

    if (child)
        return child;
    if ((n->nlit + 1) * 2 > n->litcap) {
        size_t cap = n->litcap ? n->litcap * 2 : 4;
        struct edge *tab = calloc(cap, sizeof(*tab));
        if (!tab)
            return NULL;
        for (size_t i = 0; i < n->litcap; i++)
            if (n->lit[i].seg)
                lit_place(tab, cap, n->lit[i]);
        free(n->lit);
        n->lit = tab;
        n->litcap = cap;
    }
    e.seg = slice_dup((struct slice){ seg, len });
    e.child = node_new();
    if (!e.seg || !e.child) {
        free(e.seg);
        free(e.child);
        return NULL;
    }
    e.len = len;
    e.hash = h;
    lit_place(n->lit, n->litcap, e);
    n->nlit++;
    return e.child;
}

/* Returns the route a node holds for method (exact, then ANY, then GET when
 * the request is HEAD), or NULL. The method table is a handful of entries,
 * so a linear scan beats anything cleverer. */
static const struct route *node_accept(const struct node *n, struct slice method, int is_head)
{
    for (size_t i = 0; i < n->nroutes; i++)
        if (slice_eq_cstr(method, n->routes[i]->method))
            return n->routes[i];
    if (n->any)
        return n->any;
    if (is_head)
        for (size_t i = 0; i < n->nroutes; i++)
            if (strcmp(n->routes[i]->method, "GET") == 0)
                return n->routes[i];
    return NULL;
}

/* The path is exhausted at n (or at a greedy terminal): n matches the path
 * when it holds routes. Returns 1 when it also accepts the method. */
static int visit_end(struct search *s, const struct node *n)
{
    const struct route *r;

    if (n->nroutes == 0 && !n->any)
        return 0;
    r = node_accept(n, s->method, s->is_head);
    if (r) {
        s->found = r;
        return 1;
    }
    if (!s->first_path)
        s->first_path = n;
    return 0;
}

/* Depth-first search in priority order: literal subtree, then {param}
 * subtree, then greedy. seg is the start of the current segment when
 * has_seg, else the path is exhausted.
 *
 * Why no memoization: a tree node sits at exactly one depth and is reached
 * by exactly one chain of edges, and each path segment is consumed by one
 * level, so one walk visits every tree node at most once. Backtracking is
 * thus bounded by the size of the tree (in theory up to 2^depth nodes, but
 * only if the operator wrote that many templates), never by repeated work
 * a memo could save. Recursion depth is bounded by the tree's depth, which
 * ROUTER_MAX_SEGMENTS caps. */
static int visit(struct search *s, const struct node *n, const char *seg, int has_seg)
{
    const char *slash, *next;
    size_t len;

    if (!has_seg)
        return visit_end(s, n);
    slash = memchr(seg, '/', (size_t)(s->end - seg));
    len = (size_t)((slash ? slash : s->end) - seg);
    next = slash ? slash + 1 : NULL;

    /* Parameters and literals never match an empty segment. */
    if (len > 0) {
        const struct node *child = lit_find(n, seg, len, seg_hash(seg, len));
        if (child && visit(s, child, next, slash != NULL))
            return 1;
        /* nvals cannot reach the cap on a real tree (every node lies on a
         * template with at most ROUTER_MAX_PARAMS parameters); the test
         * keeps the array safe regardless. */
        if (n->param && s->nvals < ROUTER_MAX_PARAMS) {
            s->vals[s->nvals++] = (struct slice){ seg, len };
            if (visit(s, n->param, next, slash != NULL))
                return 1;
            s->nvals--;
        }
    }
    if (n->greedy && s->end > seg && s->nvals < ROUTER_MAX_PARAMS) {
        s->vals[s->nvals++] = (struct slice){ seg, (size_t)(s->end - seg) };
        if (visit_end(s, n->greedy))
            return 1;
        s->nvals--;
    }
    return 0;
}

struct router *router_new(void)
{
    struct router *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->root = node_new();
    if (!r->root) {
        free(r);
        return NULL;
    }
    return r;
}

void router_free(struct router *r)
{
    if (!r)
        return;
    node_free(r->root);
    free(r);
}

size_t router_count(const struct router *r)
{
    return r ? r->count : 0;
}

static int method_valid(const char *method)
{
    size_t len = 0;

    for (; method[len]; len++)
        if (method[len] < 'A' || method[len] > 'Z' || len >= ROUTER_METHOD_MAX)
            return 0;
    return len > 0;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 3986 pchar without pct-encoded (checked by the caller). */
static int is_pchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-._~!$&'()*+,;=:@", c) != NULL);
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Checks one segment (1-based number no) and fills *out. Returns 0 or -1
 * with err set. */
static int parse_seg(const char *tmpl, size_t off, size_t len, size_t no, struct tmpl_seg *out,
                     char *err, size_t errlen)
{
    const char *p = tmpl + off;

    if (len == 0) {
        set_err(err, errlen, "segment %zu: empty segment", no);
        return -1;
    }
    if (p[0] == '{') {
        size_t nlen;
        if (len < 2 || p[len - 1] != '}' || memchr(p + 1, '{', len - 2) ||
            memchr(p + 1, '}', len - 2)) {
            set_err(err, errlen, "segment %zu: braces must span the whole segment, as {name} or {name+}",
                    no);
            return -1;
        }
        nlen = len - 2;
        out->kind = SEG_PARAM;
        if (nlen > 0 && p[len - 2] == '+') {
            out->kind = SEG_GREEDY;
            nlen--;
        }
        if (nlen == 0) {
            set_err(err, errlen, "segment %zu: empty parameter name", no);
            return -1;
        }
        for (size_t i = 0; i < nlen; i++) {
            if (!is_name_char(p[1 + i])) {
                set_err(err, errlen, "segment %zu: parameter name must be [A-Za-z0-9_]+", no);
                return -1;
            }
        }
        out->off = off + 1;
        out->len = nlen;
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '%') {
            if (i + 2 >= len || !is_hex(p[i + 1]) || !is_hex(p[i + 2])) {
                set_err(err, errlen, "segment %zu: '%%' must be followed by two hex digits", no);
                return -1;
            }
            i += 2;
        } else if (c == '{' || c == '}') {
            set_err(err, errlen, "segment %zu: braces must span the whole segment, as {name} or {name+}",
                    no);
            return -1;
        } else if (!is_pchar((char)c)) {
            if (c > 0x20 && c < 0x7f)
                set_err(err, errlen, "segment %zu: character '%c' not allowed in a path", no, c);
            else
                set_err(err, errlen, "segment %zu: byte 0x%02X not allowed in a path", no, c);
            return -1;
        }
    }
    out->kind = SEG_LITERAL;
    out->off = off;
    out->len = len;
    return 0;
}

/* Splits and checks tmpl into segs (capacity ROUTER_MAX_SEGMENTS). Returns
 * the number of segments (0 for "/"), or -1 with err set. */
static long parse_tmpl(const char *tmpl, struct tmpl_seg *segs, size_t *nparams, char *err,
                       size_t errlen)
{
    size_t tlen = strlen(tmpl), n = 0, off = 1, np = 0;

    if (tmpl[0] != '/') {
        set_err(err, errlen, "template must start with '/'");
        return -1;
    }
    if (tlen == 1)
        return 0;
    if (tmpl[tlen - 1] == '/') {
        set_err(err, errlen, "template must not end with '/'");
        return -1;
    }
    while (off <= tlen) {
        const char *slash = memchr(tmpl + off, '/', tlen - off);
        size_t len = (size_t)((slash ? slash : tmpl + tlen) - (tmpl + off));
        if (n == ROUTER_MAX_SEGMENTS) {
            set_err(err, errlen, "more than %d segments", ROUTER_MAX_SEGMENTS);
            return -1;
        }
        if (parse_seg(tmpl, off, len, n + 1, &segs[n], err, errlen) < 0)
            return -1;
        if (segs[n].kind != SEG_LITERAL) {
            if (np == ROUTER_MAX_PARAMS) {
                set_err(err, errlen, "more than %d parameters", ROUTER_MAX_PARAMS);
                return -1;
            }
            for (size_t i = 0; i < n; i++) {
                if (segs[i].kind != SEG_LITERAL && segs[i].len == segs[n].len &&
                    memcmp(tmpl + segs[i].off, tmpl + segs[n].off, segs[n].len) == 0) {
                    set_err(err, errlen, "segment %zu: parameter name '%.*s' repeated", n + 1,
                            (int)segs[n].len, tmpl + segs[n].off);
                    return -1;
                }
            }
            np++;
        }
        n++;
        if (!slash)
            break;
        if (segs[n - 1].kind == SEG_GREEDY) {
            set_err(err, errlen, "segment %zu: greedy parameter {%.*s+} must be the last segment", n,
                    (int)segs[n - 1].len, tmpl + segs[n - 1].off);
            return -1;
        }
        off = (size_t)(slash - tmpl) + 1;
    }
    *nparams = np;
    return (long)n;
}

/* Builds the route: one allocation for struct, names and template copy. */
static struct route *route_new(const char *method, const char *tmpl, const struct tmpl_seg *segs,
                               size_t nsegs, size_t nparams, void *data)
{
    size_t tlen = strlen(tmpl);
    struct route *rt = malloc(sizeof(*rt) + nparams * sizeof(struct slice) + tlen + 1);
    char *copy;
    size_t k = 0;

    if (!rt)
        return NULL;
    copy = (char *)(rt->names + nparams);
    memcpy(copy, tmpl, tlen + 1);
    rt->data = data;
    rt->tmpl = copy;
    memcpy(rt->method, method, strlen(method) + 1);
    rt->nparams = nparams;
    rt->has_greedy = 0;
    for (size_t i = 0; i < nsegs; i++) {
        if (segs[i].kind == SEG_LITERAL)
            continue;
        rt->names[k++] = (struct slice){ copy + segs[i].off, segs[i].len };
        if (segs[i].kind == SEG_GREEDY)
            rt->has_greedy = 1;
    }
    return rt;
}

/* Inserts rt into n's method table, keeping it sorted. Returns 0 or -1. */
static int node_put(struct node *n, struct route *rt)
{
    struct route **tab;
    size_t i = 0;

    if (strcmp(rt->method, "ANY") == 0) {
        n->any = rt;
        return 0;
    }
    tab = realloc(n->routes, (n->nroutes + 1) * sizeof(*tab));
    if (!tab)
        return -1;
    n->routes = tab;
    while (i < n->nroutes && strcmp(tab[i]->method, rt->method) < 0)
        i++;
    memmove(tab + i + 1, tab + i, (n->nroutes - i) * sizeof(*tab));
    tab[i] = rt;
    n->nroutes++;
    return 0;
}

static const struct route *node_route(const struct node *n, const char *method)
{
    if (strcmp(method, "ANY") == 0)
        return n->any;
    for (size_t i = 0; i < n->nroutes; i++)
        if (strcmp(n->routes[i]->method, method) == 0)
            return n->routes[i];
    return NULL;
}

int router_add(struct router *r, const char *method, const char *tmpl, void *data, char *err,
               size_t errlen)
{
    struct tmpl_seg segs[ROUTER_MAX_SEGMENTS];
    size_t nparams = 0;
    long nsegs;
    struct node *n;
    const struct route *dup;
    struct route *rt;

    if (!r || !method || !tmpl) {
        set_err(err, errlen, "missing router, method or template");
        return -1;
    }
    if (!method_valid(method)) {
        set_err(err, errlen, "method must be ANY or 1-%d upper-case letters", ROUTER_METHOD_MAX);
        return -1;
    }
    nsegs = parse_tmpl(tmpl, segs, &nparams, err, errlen);
    if (nsegs < 0)
        return -1;

    /* A failed allocation below may leave empty nodes behind: they hold no
     * route, so they never match and never make a 405; router_free() still
     * reaches them. */
    n = r->root;
    for (long i = 0; i < nsegs && n; i++) {
        const struct tmpl_seg *sg = &segs[i];
        struct node **slot;
        if (sg->kind == SEG_LITERAL) {
            n = lit_get(n, tmpl + sg->off, sg->len);
            continue;
        }
        slot = sg->kind == SEG_PARAM ? &n->param : &n->greedy;
        if (!*slot)
            *slot = node_new();
        n = *slot;
    }
    if (!n) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    dup = node_route(n, method);
    if (dup) {
        set_err(err, errlen, "duplicate route %s %s (same as %s %s)", method, tmpl, dup->method,
                dup->tmpl);
        return -1;
    }
    rt = route_new(method, tmpl, segs, (size_t)nsegs, nparams, data);
    if (!rt || node_put(n, rt) < 0) {
        free(rt);
        set_err(err, errlen, "out of memory");
        return -1;
    }
    r->count++;
    return 0;
}

/* Writes n's methods, sorted, ", " separated. ANY never shows: a node with
 * ANY accepts every method and so never causes a 405. */
static void allow_write(const struct node *n, char *allow, size_t allowlen)
{
    allow[0] = '\0';
    for (size_t i = 0; i < n->nroutes; i++) {
        if (i > 0 && str_append(allow, allowlen, ", ") < 0)
            return;
        if (str_append(allow, allowlen, n->routes[i]->method) < 0)
            return;
    }
}

enum router_result router_match(const struct router *r, struct slice method, struct slice path,
                                struct router_match *m, char *allow, size_t allowlen)
{
    struct search s;
    const struct route *rt;
    int found;

    if (allow && allowlen)
        allow[0] = '\0';
    if (!r || !path.ptr || path.len == 0 || path.ptr[0] != '/')
        return ROUTER_NOT_FOUND;

    s.method = method;
    s.is_head = slice_eq_cstr(method, "HEAD");
    s.end = path.ptr + path.len;
    s.nvals = 0;
    s.found = NULL;
    s.first_path = NULL;
    /* "/" is the root with no segment; otherwise the first segment starts
     * after the leading '/'. */
    found = visit(&s, r->root, path.ptr + 1, path.len > 1);
    if (!found) {
        if (!s.first_path)
            return ROUTER_NOT_FOUND;
        if (allow && allowlen)
            allow_write(s.first_path, allow, allowlen);
        return ROUTER_METHOD_NOT_ALLOWED;
    }

    rt = s.found;
    if (m) {
        m->data = rt->data;
        m->tmpl = rt->tmpl;
        m->nparams = rt->nparams;
        for (size_t i = 0; i < rt->nparams; i++) {
            m->params[i].name = rt->names[i];
            m->params[i].value = s.vals[i];
        }
        m->has_greedy = rt->has_greedy;
        m->greedy = rt->has_greedy ? s.vals[rt->nparams - 1] : SLICE_NULL;
    }
    return ROUTER_FOUND;
}
