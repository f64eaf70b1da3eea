/* fuzz_router.c - route templates (router_add) and path matching (router_match).
 *
 * Input: lines. Until the first empty line, each line is a route
 * "METHOD TEMPLATE" (a line without a space is a template for ANY); after
 * it, each line is a request "METHOD PATH" (the path is any bytes, as the
 * router gets what the request parser let through). At most 64 of each.
 *
 * Every request is matched and the answer checked against a plain model
 * written from router.h, over the routes router_add() accepted:
 *   - a template matches a path segment by segment: a literal equals its
 *     segment, {name} takes one non-empty segment, a trailing {name+} takes
 *     the non-empty rest (slashes included); "/" matches only "/";
 *   - a matching route accepts the request's method when it is that
 *     method, ANY, or GET for a HEAD request;
 *   - ROUTER_FOUND exactly when some matching route accepts the method, and
 *     then the route found is the most specific of those (segment by
 *     segment literal before {param} before {greedy+}; at one template the
 *     exact method before ANY before GET-for-HEAD), with parameter values
 *     that are the path's segments;
 *   - ROUTER_METHOD_NOT_ALLOWED when routes match but none accepts it, with
 *     the Allow list of the most specific matching template; else 404. */
#include <string.h>

#include "fuzz.h"
#include "router.h"

#define MAX_ROUTES 64
#define MAX_REQS 64
#define MAX_SEGS 300

struct mroute {
    char *method;
    char *tmpl;
    int index;
};

enum { K_LIT = 0, K_PARAM = 1, K_GREEDY = 2 };

/* Matches tmpl against path; fills kinds[] (the specificity key) and vals[]
 * (the values of the parameters). Returns the number of segments of the
 * template, or -1 when it does not match. */
static long model_match(const char *tmpl, const char *path, size_t plen, int *kinds,
                        struct slice *vals, size_t *nvals)
{
    const char *t = tmpl + 1, *p = path + 1, *pend = path + plen;
    long n = 0;
    int has_seg = plen > 1;

    *nvals = 0;
    if (plen == 0 || path[0] != '/')
        return -1;
    if (tmpl[1] == '\0')
        return has_seg ? -1 : 0;
    for (;;) {
        const char *tslash = strchr(t, '/');
        size_t tlen = tslash ? (size_t)(tslash - t) : strlen(t);
        const char *pslash;
        size_t seglen;

        if (n == MAX_SEGS)
            return -1;
        if (t[0] == '{' && t[tlen - 2] == '+') {
            if (!has_seg || pend == p)
                return -1;
            kinds[n++] = K_GREEDY;
            vals[(*nvals)++] = (struct slice){ p, (size_t)(pend - p) };
            return n;
        }
        if (!has_seg)
            return -1;
        pslash = memchr(p, '/', (size_t)(pend - p));
        seglen = (size_t)((pslash ? pslash : pend) - p);
        if (seglen == 0)
            return -1;
        if (t[0] == '{') {
            kinds[n++] = K_PARAM;
            vals[(*nvals)++] = (struct slice){ p, seglen };
        } else {
            if (seglen != tlen || memcmp(p, t, tlen) != 0)
                return -1;
            kinds[n++] = K_LIT;
        }
        has_seg = pslash != NULL;
        p = pslash ? pslash + 1 : pend;
        if (!tslash)
            return has_seg ? -1 : n;
        t = tslash + 1;
    }
}

/* 0 = exact method, 1 = ANY, 2 = GET for HEAD, -1 = does not accept. */
static int accept_rank(const char *route_method, struct slice method)
{
    if (method.len == strlen(route_method) && memcmp(method.ptr, route_method, method.len) == 0)
        return 0;
    if (strcmp(route_method, "ANY") == 0)
        return 1;
    if (method.len == 4 && memcmp(method.ptr, "HEAD", 4) == 0 && strcmp(route_method, "GET") == 0)
        return 2;
    return -1;
}

/* <0 when key a (na kinds) is more specific than b. */
static int key_cmp(const int *a, long na, const int *b, long nb)
{
    for (long i = 0; i < na && i < nb; i++)
        if (a[i] != b[i])
            return a[i] - b[i];
    return (na > nb) - (na < nb);
}

/* "A, B" from the methods (not ANY) of the routes whose template has the
 * same shape as tmpl, sorted: what router_match() puts in Allow. */
static void model_allow(const struct mroute *rs, size_t n, const int *key, long nkey,
                        const char *path, size_t plen, char *out, size_t outlen)
{
    const char *ms[MAX_ROUTES];
    size_t nm = 0;
    int kinds[MAX_SEGS];
    struct slice vals[ROUTER_MAX_PARAMS + 1];
    size_t nvals;

    for (size_t i = 0; i < n; i++) {
        long k = model_match(rs[i].tmpl, path, plen, kinds, vals, &nvals);
        if (k >= 0 && key_cmp(kinds, k, key, nkey) == 0 && strcmp(rs[i].method, "ANY") != 0)
            ms[nm++] = rs[i].method;
    }
    for (size_t i = 1; i < nm; i++)
        for (size_t j = i; j > 0 && strcmp(ms[j - 1], ms[j]) > 0; j--) {
            const char *x = ms[j];
            ms[j] = ms[j - 1];
            ms[j - 1] = x;
        }
    out[0] = '\0';
    for (size_t i = 0; i < nm; i++) {
        if (i)
            strncat(out, ", ", outlen - strlen(out) - 1);
        strncat(out, ms[i], outlen - strlen(out) - 1);
    }
}

static void check_request(const struct router *r, const struct mroute *rs, size_t nrs,
                          struct slice method, const char *path, size_t plen)
{
    struct router_match m;
    char allow[2048], want_allow[2048];
    enum router_result res = router_match(r, method, (struct slice){ path, plen }, &m, allow,
                                          sizeof(allow));
    int kinds[MAX_SEGS], best_kinds[MAX_SEGS], path_kinds[MAX_SEGS];
    struct slice vals[ROUTER_MAX_PARAMS + 1], best_vals[ROUTER_MAX_PARAMS + 1];
    size_t nvals, best_nvals = 0;
    long best_n = -1, path_n = -1;
    int best = -1, best_rank = 3, any_match = 0;

    for (size_t i = 0; i < nrs; i++) {
        long k = model_match(rs[i].tmpl, path, plen, kinds, vals, &nvals);
        int rank;
        if (k < 0)
            continue;
        /* the most specific matching template, for Allow */
        if (!any_match || key_cmp(kinds, k, path_kinds, path_n) < 0) {
            memcpy(path_kinds, kinds, (size_t)k * sizeof(int));
            path_n = k;
        }
        any_match = 1;
        rank = accept_rank(rs[i].method, method);
        if (rank < 0)
            continue;
        if (best < 0 || key_cmp(kinds, k, best_kinds, best_n) < 0 ||
            (key_cmp(kinds, k, best_kinds, best_n) == 0 && rank < best_rank)) {
            best = (int)i;
            best_rank = rank;
            memcpy(best_kinds, kinds, (size_t)k * sizeof(int));
            best_n = k;
            memcpy(best_vals, vals, nvals * sizeof(*vals));
            best_nvals = nvals;
        }
    }

    if (best >= 0) {
        FUZZ_CHECK(res == ROUTER_FOUND);
        FUZZ_CHECK(m.data == (void *)&rs[best]);
        FUZZ_CHECK(strcmp(m.tmpl, rs[best].tmpl) == 0);
        FUZZ_CHECK(m.nparams == best_nvals);
        for (size_t i = 0; i < m.nparams; i++) {
            FUZZ_CHECK(m.params[i].value.ptr == best_vals[i].ptr);
            FUZZ_CHECK(m.params[i].value.len == best_vals[i].len);
            FUZZ_CHECK(m.params[i].name.len > 0);
        }
        FUZZ_CHECK(m.has_greedy == (best_n > 0 && best_kinds[best_n - 1] == K_GREEDY));
        if (m.has_greedy)
            FUZZ_CHECK(m.greedy.ptr == best_vals[best_nvals - 1].ptr);
    } else if (any_match) {
        FUZZ_CHECK(res == ROUTER_METHOD_NOT_ALLOWED);
        model_allow(rs, nrs, path_kinds, path_n, path, plen, want_allow, sizeof(want_allow));
        FUZZ_CHECK(strcmp(allow, want_allow) == 0);
    } else {
        FUZZ_CHECK(res == ROUTER_NOT_FOUND);
    }
}

/* The next line of data[*pos..size): a NUL-terminated copy in a buffer of
 * its own (exact size plus the NUL), or NULL at the end. */
static char *next_line(const uint8_t *data, size_t size, size_t *pos, size_t *len)
{
    const uint8_t *nl;
    char *line;

    if (*pos >= size)
        return NULL;
    nl = memchr(data + *pos, '\n', size - *pos);
    *len = (size_t)((nl ? nl : data + size) - (data + *pos));
    line = malloc(*len + 1);
    if (!line)
        return NULL;
    memcpy(line, data + *pos, *len);
    line[*len] = '\0';
    *pos += *len + 1;
    return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct router *r = router_new();
    struct mroute rs[MAX_ROUTES];
    char *lines[MAX_ROUTES];
    size_t nrs = 0, nlines = 0, pos = 0, len, nreq = 0;
    char *line, err[256];

    if (!r)
        return 0;
    /* routes */
    while (nlines < MAX_ROUTES && (line = next_line(data, size, &pos, &len)) != NULL) {
        char *sp = strchr(line, ' ');
        const char *method = "ANY", *tmpl = line;
        if (len == 0) {
            free(line);
            break;
        }
        lines[nlines++] = line;
        if (sp) {
            *sp = '\0';
            method = line;
            tmpl = sp + 1;
        }
        rs[nrs].method = (char *)method;
        rs[nrs].tmpl = (char *)tmpl;
        rs[nrs].index = (int)nrs;
        err[0] = '\0';
        if (router_add(r, method, tmpl, &rs[nrs], err, sizeof(err)) == 0) {
            /* the model relies on what router_add() promises to refuse */
            FUZZ_CHECK(tmpl[0] == '/');
            FUZZ_CHECK(strlen(tmpl) == 1 || tmpl[strlen(tmpl) - 1] != '/');
            FUZZ_CHECK(strstr(tmpl, "//") == NULL);
            nrs++;
        } else {
            FUZZ_CHECK(err[0] != '\0');
        }
    }
    FUZZ_CHECK(router_count(r) == nrs);

    /* requests */
    while (nreq < MAX_REQS && (line = next_line(data, size, &pos, &len)) != NULL) {
        char *sp = memchr(line, ' ', len);
        struct slice method = SLICE_LIT("GET");
        const char *path = line;
        size_t plen = len;
        char *exact;

        if (sp) {
            method = (struct slice){ line, (size_t)(sp - line) };
            path = sp + 1;
            plen = len - (size_t)(sp - line) - 1;
        }
        /* the path alone in a buffer of its size, for AddressSanitizer */
        exact = malloc(plen ? plen : 1);
        if (exact) {
            memcpy(exact, path, plen);
            check_request(r, rs, nrs, method, exact, plen);
            free(exact);
        }
        free(line);
        nreq++;
    }

    router_free(r);
    for (size_t i = 0; i < nlines; i++)
        free(lines[i]);
    return 0;
}
