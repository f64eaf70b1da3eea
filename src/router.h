/* router.h - maps "METHOD /path" to a route. Templates have literal
 * segments, whole-segment {name} parameters and a trailing greedy
 * {name+}. The most specific match wins whatever the order routes were
 * added in: at each segment a literal beats {param}, which beats {proxy+};
 * a route for the exact method beats ANY at the same template. Lookup walks
 * a segment tree: its cost grows with the path's segments, not with the
 * number of routes. */
#ifndef SLUICE_ROUTER_H
#define SLUICE_ROUTER_H

#include <stddef.h>

#include "util.h"

#define ROUTER_MAX_PARAMS 16

struct router;

enum router_result {
    ROUTER_FOUND = 0,
    ROUTER_NOT_FOUND,          /* 404 */
    ROUTER_METHOD_NOT_ALLOWED, /* 405: the path matches routes, none for this method */
};

struct router_param {
    struct slice name;  /* points into the router (the template) */
    struct slice value; /* points into the matched path, raw (not %-decoded) */
};

struct router_match {
    void *data;            /* what router_add() was given */
    const char *tmpl;      /* the template as added, e.g. "/orders/{id}" (router-owned) */
    size_t nparams;        /* includes the greedy one, last, when there is one */
    struct router_param params[ROUTER_MAX_PARAMS];
    int has_greedy;        /* 1 when the route ends in {name+} */
    struct slice greedy;   /* the greedy value, without its leading '/' */
};

/* Returns an empty router, or NULL when out of memory. */
struct router *router_new(void);

/* Frees the router and everything it owns; NULL is a no-op. data pointers
 * are the caller's and are not touched. */
void router_free(struct router *r);

/* Adds a route. method is "ANY" or an upper-case token ("GET"); tmpl starts
 * with '/', e.g. "/orders/{id}" or "/files/{proxy+}". Copies what it keeps.
 * Returns 0, or -1 with a one-line reason in err (capacity errlen) when the
 * method or template is malformed (empty segment names, braces not spanning
 * a whole segment, a greedy parameter not last, a repeated parameter name,
 * more than ROUTER_MAX_PARAMS parameters, bad characters) or when a route
 * with the same method and the same template shape (parameter names
 * aside) already exists. */
int router_add(struct router *r, const char *method, const char *tmpl, void *data, char *err,
               size_t errlen);

/* Matches method and path (raw, without the query string). On ROUTER_FOUND
 * fills *m. On ROUTER_METHOD_NOT_ALLOWED writes the methods the most
 * specific matching template accepts to allow (e.g. "GET, POST", NUL
 * terminated, truncated to allowlen) when allow is not NULL. Parameters
 * never match an empty segment; a greedy parameter matches one or more
 * characters. Never allocates. */
enum router_result router_match(const struct router *r, struct slice method, struct slice path,
                                struct router_match *m, char *allow, size_t allowlen);

/* Returns the number of routes added. */
size_t router_count(const struct router *r);

#endif
