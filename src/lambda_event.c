/* lambda_event.c - API Gateway Lambda-proxy events (payload 1.0 and 2.0)
 * built from a request, and function results turned back into responses,
 * as AWS's HTTP API documents them ("Working with AWS Lambda proxy
 * integrations for HTTP APIs"). Pure data transformation over jansson
 * values: no I/O, no event loop. */
#include "lambda_event.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authz_cache.h"
#include "base64.h"
#include "http_parser.h"
#include "request.h"
#include "util.h"

/* Per-account fields have no meaning on one machine; fixed values keep
 * events stable. 000000000000 is the account local AWS emulators
 * (LocalStack) use, so functions that log or check it see a familiar one. */
#define EVENT_ACCOUNT_ID "000000000000"
#define EVENT_API_ID "sluice"
#define EVENT_STAGE "$default"

/* ------------------------------------------------------------ buffers */

/* A growable byte string, always NUL-terminated once anything was added.
 * oom is sticky, so a sequence of adds needs one check at its end. */
struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

static int buf_reserve(struct buf *b, size_t more)
{
    size_t need, ncap;
    char *np;

    if (b->oom)
        return -1;
    if (more > SIZE_MAX - b->len - 1) {
        b->oom = 1;
        return -1;
    }
    need = b->len + more + 1;
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    np = realloc(b->p, ncap);
    if (!np) {
        b->oom = 1;
        return -1;
    }
    b->p = np;
    b->cap = ncap;
    return 0;
}

static void buf_add(struct buf *b, const void *s, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_addc(struct buf *b, char c)
{
    buf_add(b, &c, 1);
}

/* Empties b but keeps its memory; makes sure b->p is a string. */
static void buf_reset(struct buf *b)
{
    b->len = 0;
    if (buf_reserve(b, 0) == 0)
        b->p[0] = '\0';
}

static void buf_free(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------ UTF-8 */

/* Length of the valid UTF-8 sequence starting s[0..n) (n >= 1), or 0 when
 * there is none: overlong forms, surrogates and code points past U+10FFFF
 * are refused, as jansson refuses them. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t k;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        k = utf8_seq(s + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

/* Appends s[0..n) to b as UTF-8: a byte that starts no valid sequence
 * becomes U+FFFD, and so does NUL when keep_nul is 0 (object keys are C
 * strings in jansson). */
static void buf_add_utf8(struct buf *b, const char *s, size_t n, int keep_nul)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t k = utf8_seq(u + i, n - i);
        if (!k || (u[i] == 0 && !keep_nul)) {
            buf_add(b, "\xEF\xBF\xBD", 3);
            i++;
        } else {
            buf_add(b, s + i, k);
            i += k;
        }
    }
}

/* A new JSON string of s[0..n), made UTF-8 as above (NUL kept). NULL when
 * out of memory. */
static json_t *jstr(const char *s, size_t n)
{
    struct buf b = { 0 };
    json_t *v;

    if (utf8_valid((const unsigned char *)s, n))
        return json_stringn_nocheck(s ? s : "", n);
    buf_add_utf8(&b, s, n, 1);
    v = b.oom ? NULL : json_stringn_nocheck(b.p, b.len);
    buf_free(&b);
    return v;
}

static json_t *jslice(struct slice s)
{
    return jstr(s.ptr, s.len);
}

/* The key for bytes s[0..n) in *key (reused between calls): UTF-8 and
 * without NUL. Returns the key, or NULL when out of memory. */
static const char *make_key(struct buf *key, const char *s, size_t n)
{
    buf_reset(key);
    buf_add_utf8(key, s, n, 0);
    return key->oom ? NULL : key->p;
}

/* ------------------------------------------------------------ decoding */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into b (emptied first). A '%' not followed by
 * two hex digits stays as it is, as browsers and API Gateway leave it;
 * plus_space: '+' is a space (query strings only, not paths). */
static void pct_decode(struct buf *b, const char *s, size_t n, int plus_space)
{
    buf_reset(b);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%' && n - i > 2 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        buf_addc(b, c);
    }
}

/* ------------------------------------------------------------ grouping */

/* Appends value to the array under key in groups, making it when new
 * (object keys keep their first-seen order). Takes value. -1 on OOM. */
static int group_add(json_t *groups, const char *key, json_t *value)
{
    json_t *arr = json_object_get(groups, key);

    if (!value)
        return -1;
    if (!arr) {
        arr = json_array();
        if (!arr || json_object_set_new_nocheck(groups, key, arr) < 0) {
            json_decref(value);
            return -1;
        }
    }
    return json_array_append_new(arr, value);
}

/* {name: [values]} -> {name: last value}: payload 1.0's single-value view. */
static json_t *groups_last(const json_t *groups)
{
    json_t *out = json_object(), *arr;
    const char *k;

    if (!out)
        return NULL;
    json_object_foreach((json_t *)groups, k, arr)
    {
        json_t *last = json_array_get(arr, json_array_size(arr) - 1);
        if (json_object_set_nocheck(out, k, last) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* {name: [values]} -> {name: "v1,v2"}: payload 2.0 joins repeats with a
 * comma (no space), as AWS's examples show. */
static json_t *groups_joined(const json_t *groups)
{
    json_t *out = json_object(), *arr, *s;
    struct buf b = { 0 };
    const char *k;
    size_t i;

    if (!out)
        return NULL;
    json_object_foreach((json_t *)groups, k, arr)
    {
        buf_reset(&b);
        json_array_foreach(arr, i, s)
        {
            if (i)
                buf_addc(&b, ',');
            buf_add(&b, json_string_value(s), json_string_length(s));
        }
        /* the parts were UTF-8, so is the whole */
        if (b.oom || json_object_set_new_nocheck(out, k, json_stringn_nocheck(b.p, b.len)) < 0) {
            buf_free(&b);
            json_decref(out);
            return NULL;
        }
    }
    buf_free(&b);
    return out;
}

/* The query's parameters as {name: [values]}, names and values
 * percent-decoded with '+' as a space. Empty pieces ("a=1&&b=2") and
 * empty names are skipped; "flag" without '=' has the value "". An
 * empty object when there are none; NULL when out of memory. */
static json_t *query_groups(struct slice q)
{
    json_t *groups = json_object();
    struct buf name = { 0 }, val = { 0 }, key = { 0 };
    size_t pos = 0;
    int rc = 0;

    if (!groups)
        return NULL;
    while (q.ptr && pos < q.len && rc == 0) {
        const char *piece = q.ptr + pos, *amp = memchr(piece, '&', q.len - pos);
        size_t plen = amp ? (size_t)(amp - piece) : q.len - pos;
        const char *eq = memchr(piece, '=', plen);
        size_t nlen = eq ? (size_t)(eq - piece) : plen;
        const char *k;

        pos += plen + 1;
        if (nlen == 0)
            continue;
        pct_decode(&name, piece, nlen, 1);
        pct_decode(&val, eq ? eq + 1 : "", eq ? plen - nlen - 1 : 0, 1);
        if (name.oom || val.oom || !(k = make_key(&key, name.p, name.len))) {
            rc = -1;
            break;
        }
        rc = group_add(groups, k, jstr(val.p, val.len));
    }
    buf_free(&name);
    buf_free(&val);
    buf_free(&key);
    if (rc < 0) {
        json_decref(groups);
        return NULL;
    }
    return groups;
}

/* The request's headers as {name: [values]}. lower: names lower-cased
 * (2.0), else spelled as first sent, repeats of any case grouped under
 * that spelling (1.0). skip_cookie leaves Cookie out (2.0 has cookies). */
static json_t *header_groups(const struct http_request_head *h, int lower, int skip_cookie)
{
    json_t *groups = json_object();
    struct buf key = { 0 };
    int rc = 0;

    if (!groups)
        return NULL;
    for (size_t i = 0; i < h->nheaders && rc == 0; i++) {
        struct slice name = h->headers[i].name;
        if (skip_cookie && slice_eq_cstr_nocase(name, "cookie"))
            continue;
        if (!lower) {
            /* at most HTTP_MAX_HEADERS: the quadratic look-back is cheap */
            for (size_t j = 0; j < i; j++) {
                if (slice_eq_nocase(h->headers[j].name, name)) {
                    name = h->headers[j].name;
                    break;
                }
            }
        }
        buf_reset(&key);
        buf_add(&key, name.ptr, name.len); /* a token: ASCII */
        if (key.oom) {
            rc = -1;
            break;
        }
        if (lower)
            for (size_t j = 0; j < key.len; j++)
                if (key.p[j] >= 'A' && key.p[j] <= 'Z')
                    key.p[j] = (char)(key.p[j] - 'A' + 'a');
        rc = group_add(groups, key.p, jslice(h->headers[i].value));
    }
    buf_free(&key);
    if (rc < 0) {
        json_decref(groups);
        return NULL;
    }
    return groups;
}

/* The first value of header name, or a NULL slice. */
static struct slice header_first(const struct http_request_head *h, const char *name)
{
    for (size_t i = 0; i < h->nheaders; i++)
        if (slice_eq_cstr_nocase(h->headers[i].name, name))
            return h->headers[i].value;
    return SLICE_NULL;
}

/* Every cookie of every Cookie header, split on ';' with white space
 * trimmed, in order: payload 2.0's "cookies". NULL when out of memory. */
static json_t *cookie_list(const struct http_request_head *h)
{
    json_t *arr = json_array();

    if (!arr)
        return NULL;
    for (size_t i = 0; i < h->nheaders; i++) {
        struct slice v = h->headers[i].value;
        size_t pos = 0;
        if (!slice_eq_cstr_nocase(h->headers[i].name, "cookie"))
            continue;
        while (pos < v.len) {
            const char *p = v.ptr + pos, *semi = memchr(p, ';', v.len - pos);
            size_t n = semi ? (size_t)(semi - p) : v.len - pos;
            struct slice c = slice_trim((struct slice){ p, n });
            pos += n + 1;
            if (c.len && json_array_append_new(arr, jslice(c)) < 0) {
                json_decref(arr);
                return NULL;
            }
        }
    }
    return arr;
}

/* pathParameters from the router's match, values percent-decoded (not
 * '+': that is a plain character in a path), as API Gateway passes them.
 * An empty object when the route has none. */
static json_t *path_params(const struct router_match *m)
{
    json_t *o = json_object();
    struct buf val = { 0 }, key = { 0 };
    int rc = 0;

    if (!o)
        return NULL;
    for (size_t i = 0; i < m->nparams && i < ROUTER_MAX_PARAMS && rc == 0; i++) {
        const char *k;
        pct_decode(&val, m->params[i].value.ptr, m->params[i].value.len, 0);
        k = make_key(&key, m->params[i].name.ptr, m->params[i].name.len);
        if (val.oom || !k)
            rc = -1;
        else
            rc = json_object_set_new_nocheck(o, k, jstr(val.p, val.len));
    }
    buf_free(&val);
    buf_free(&key);
    if (rc < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ------------------------------------------------------------ the event */

/* Whether a body of this Content-Type goes to the function as text: the
 * types API Gateway and the Lambda runtimes treat as text. Media type
 * parameters (charset...) do not matter; the UTF-8 check does the rest. */
static int content_type_is_text(struct slice ct)
{
    const char *semi = memchr(ct.ptr, ';', ct.len), *slash;
    struct slice mt = slice_trim((struct slice){ ct.ptr, semi ? (size_t)(semi - ct.ptr) : ct.len });
    struct slice sub;

    slash = mt.len ? memchr(mt.ptr, '/', mt.len) : NULL;
    if (!slash)
        return 0;
    sub = (struct slice){ slash + 1, mt.len - (size_t)(slash + 1 - mt.ptr) };
    if (slice_eq_cstr_nocase((struct slice){ mt.ptr, (size_t)(slash - mt.ptr) }, "text"))
        return 1;
    if (slice_eq_cstr_nocase(mt, "application/json") ||
        slice_eq_cstr_nocase(mt, "application/xml") ||
        slice_eq_cstr_nocase(mt, "application/x-www-form-urlencoded") ||
        slice_eq_cstr_nocase(mt, "application/javascript"))
        return 1;
    if (sub.len >= 5 && slice_eq_cstr_nocase((struct slice){ sub.ptr + sub.len - 5, 5 }, "+json"))
        return 1;
    if (sub.len >= 4 && slice_eq_cstr_nocase((struct slice){ sub.ptr + sub.len - 4, 4 }, "+xml"))
        return 1;
    return 0;
}

/* The body as an event field (string), setting *b64 when it had to be
 * base64-encoded. NULL when out of memory. */
static json_t *body_value(const struct http_request_head *h, const unsigned char *body, size_t len,
                          int *b64)
{
    struct slice ct = header_first(h, "content-type");
    char *enc;
    size_t elen;
    json_t *v;

    *b64 = 0;
    if ((!ct.ptr || content_type_is_text(ct)) && utf8_valid(body, len))
        return json_stringn_nocheck((const char *)body, len);
    *b64 = 1;
    enc = base64_encode(body, len, &elen);
    if (!enc)
        return NULL;
    v = json_stringn_nocheck(enc, elen);
    free(enc);
    return v;
}

/* A claim's value as text: API Gateway hands claims to functions as
 * strings (aws-lambda-go types them map[string]string), so numbers and
 * booleans become their JSON text, and arrays, objects and null their
 * compact JSON. */
static json_t *claim_text(json_t *v)
{
    char *s;
    json_t *out;

    if (json_is_string(v))
        return json_stringn_nocheck(json_string_value(v), json_string_length(v));
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        return NULL;
    out = json_string_nocheck(s);
    free(s);
    return out;
}

static json_t *claims_as_text(json_t *claims)
{
    json_t *out = json_object(), *v;
    const char *k;

    if (!out)
        return NULL;
    json_object_foreach(claims, k, v)
    {
        if (json_object_set_new_nocheck(out, k, claim_text(v)) < 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* Appends the space-separated words of s to arr. */
static int add_words(json_t *arr, const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != ' ')
            j++;
        if (j > i && json_array_append_new(arr, json_stringn_nocheck(s + i, j - i)) < 0)
            return -1;
        i = j + 1;
    }
    return 0;
}

/* The token's scopes ("scope", space-separated, or "scp", an array or a
 * string) as an array, or JSON null when it has none (as AWS sends). */
static json_t *claim_scopes(json_t *claims)
{
    json_t *scope = json_object_get(claims, "scope"), *scp = json_object_get(claims, "scp");
    json_t *arr = json_array(), *v;
    size_t i;
    int rc = 0;

    if (!arr)
        return NULL;
    if (json_is_string(scope)) {
        rc = add_words(arr, json_string_value(scope), json_string_length(scope));
    } else if (json_is_string(scp)) {
        rc = add_words(arr, json_string_value(scp), json_string_length(scp));
    } else if (json_is_array(scp)) {
        json_array_foreach(scp, i, v) if (json_is_string(v) && json_array_append(arr, v) < 0) rc =
            -1;
    }
    if (rc < 0) {
        json_decref(arr);
        return NULL;
    }
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return json_null();
    }
    return arr;
}

/* requestContext.authorizer for a Lambda (function or Lua) authorizer,
 * whose result keeps the answer's context where a JWT's claims go: 1.0
 * gets {"principalId", the context's keys, "integrationLatency"} (as REST
 * APIs' custom authorizers), 2.0 {"lambda": context}. */
static json_t *lambda_authorizer(const struct request *req, json_t *context,
                                 enum payload_version pv)
{
    json_t *a = json_object(), *v;
    const char *k;
    uint64_t ms = 0;
    int rc = 0;

    if (!a)
        return NULL;
    if (pv == PAYLOAD_V2) {
        rc = json_object_set_new(a, "lambda", context ? json_deep_copy(context) : json_object());
    } else {
        const char *p = req->auth->principal;
        rc |= json_object_set_new(a, "principalId", p ? jstr(p, strlen(p)) : json_null());
        if (context) {
            json_object_foreach(context, k, v)
            {
                /* the two keys API Gateway sets itself win over the context's */
                if (strcmp(k, "principalId") && strcmp(k, "integrationLatency"))
                    rc |= json_object_set_nocheck(a, k, v);
            }
        }
        /* the authorizer's own time; 0 when its answer came from a cache */
        if (req->authz_end_us > req->authz_start_us && req->auth_cache &&
            strcmp(req->auth_cache, "miss") == 0)
            ms = (req->authz_end_us - req->authz_start_us) / 1000;
        rc |= json_object_set_new(a, "integrationLatency", json_integer((json_int_t)ms));
    }
    if (rc) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* requestContext.authorizer: set on ctx, or (2.0 without an authorizer's
 * result) left out. For JWT authorizers: 1.0 gets {"claims", "scopes"}
 * (both null without a token, as AWS's 1.0 example shows), 2.0
 * {"jwt": {"claims", "scopes"}}. A route whose authorizer is of another
 * type (function, Lua) gets lambda_authorizer()'s shape: new kinds of
 * authorizer belong here and only here. Returns 0, -1 when out of memory. */
static int add_authorizer(json_t *ctx, const struct request *req, enum payload_version pv)
{
    json_t *claims = req->auth && json_is_object(req->auth->claims) ? req->auth->claims : NULL;
    const struct authorizer *az = req->route ? req->route->authorizer : NULL;
    json_t *a, *jwt;

    if (req->auth && az && az->type != AUTHORIZER_JWT) {
        a = lambda_authorizer(req, claims, pv);
        return a ? json_object_set_new(ctx, "authorizer", a) : -1;
    }
    if (pv == PAYLOAD_V1) {
        a = json_object();
        if (!a)
            return -1;
        if (json_object_set_new(a, "claims", claims ? claims_as_text(claims) : json_null()) < 0 ||
            json_object_set_new(a, "scopes", claims ? claim_scopes(claims) : json_null()) < 0) {
            json_decref(a);
            return -1;
        }
        return json_object_set_new(ctx, "authorizer", a);
    }
    if (!claims)
        return 0; /* 2.0 leaves out what is absent */
    jwt = json_object();
    if (!jwt || json_object_set_new(jwt, "claims", claims_as_text(claims)) < 0 ||
        json_object_set_new(jwt, "scopes", claim_scopes(claims)) < 0) {
        json_decref(jwt);
        return -1;
    }
    a = json_object();
    if (!a || json_object_set_new(a, "jwt", jwt) < 0) {
        json_decref(a);
        return -1;
    }
    return json_object_set_new(ctx, "authorizer", a);
}

/* "dd/MMM/yyyy:HH:mm:ss +0000" (English month names whatever the
 * locale), as API Gateway's requestTime / time. */
static void format_time(char *out, size_t cap, uint64_t ms)
{
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (!gmtime_r(&t, &tm))
        memset(&tm, 0, sizeof(tm));
    fmt_buf(out, cap, "%02d/%s/%04d:%02d:%02d:%02d +0000", tm.tm_mday, months[tm.tm_mon % 12],
            tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* domainPrefix: the first label of the host name (port left out), or
 * the whole name when it is an address literal, which has no labels. */
static struct slice domain_prefix(struct slice host)
{
    size_t n = host.len, i;
    int digits_dots = 1;

    if (n && host.ptr[0] == '[') {
        const char *close = memchr(host.ptr, ']', n);
        return (struct slice){ host.ptr, close ? (size_t)(close - host.ptr) + 1 : n };
    }
    for (i = 0; i < n && host.ptr[i] != ':'; i++)
        if (host.ptr[i] != '.' && (host.ptr[i] < '0' || host.ptr[i] > '9'))
            digits_dots = 0;
    n = i;
    if (digits_dots)
        return (struct slice){ host.ptr, n };
    for (i = 0; i < n && host.ptr[i] != '.'; i++)
        ;
    return (struct slice){ host.ptr, i };
}

/* The pieces both formats share, computed once. */
struct event_parts {
    const struct http_request_head *h;
    char time[40];
    char protocol[16];
    json_int_t epoch;     /* requestTimeEpoch / timeEpoch */
    json_t *route_key;    /* "GET /orders/{id}", or "$default" without a route */
    const char *resource; /* the route template, or the path without a route */
    size_t resource_len;
};

static int build_v1(json_t *ev, const struct request *req, const struct event_parts *p,
                    json_t *body, int b64)
{
    const struct http_request_head *h = p->h;
    json_t *hg = header_groups(h, 0, 0), *qg = query_groups(h->query);
    json_t *ctx = json_object(), *id = json_object();
    struct slice ua = header_first(h, "user-agent");
    int rc = -1;

    if (!hg || !qg || !ctx || !id)
        goto out;
    rc = 0;
    rc |= json_object_set_new(ev, "version", json_string("1.0"));
    rc |= json_object_set_new(ev, "resource", jstr(p->resource, p->resource_len));
    rc |= json_object_set_new(ev, "path", jslice(h->path));
    rc |= json_object_set_new(ev, "httpMethod", jslice(h->method));
    if (json_object_size(hg)) {
        rc |= json_object_set_new(ev, "headers", groups_last(hg));
        rc |= json_object_set(ev, "multiValueHeaders", hg);
    } else { /* 1.0 says absent with null, as for the query */
        rc |= json_object_set_new(ev, "headers", json_null());
        rc |= json_object_set_new(ev, "multiValueHeaders", json_null());
    }
    if (json_object_size(qg)) {
        rc |= json_object_set_new(ev, "queryStringParameters", groups_last(qg));
        rc |= json_object_set(ev, "multiValueQueryStringParameters", qg);
    } else {
        rc |= json_object_set_new(ev, "queryStringParameters", json_null());
        rc |= json_object_set_new(ev, "multiValueQueryStringParameters", json_null());
    }

    /* identity: who called; only the address and agent exist here */
    rc |= json_object_set_new(id, "accessKey", json_null());
    rc |= json_object_set_new(id, "accountId", json_null());
    rc |= json_object_set_new(id, "caller", json_null());
    rc |= json_object_set_new(id, "cognitoAuthenticationProvider", json_null());
    rc |= json_object_set_new(id, "cognitoAuthenticationType", json_null());
    rc |= json_object_set_new(id, "cognitoIdentityId", json_null());
    rc |= json_object_set_new(id, "cognitoIdentityPoolId", json_null());
    rc |= json_object_set_new(id, "principalOrgId", json_null());
    rc |= json_object_set_new(id, "sourceIp", jstr(req->client_ip, strlen(req->client_ip)));
    rc |= json_object_set_new(id, "user", json_null());
    rc |= json_object_set_new(id, "userAgent", ua.ptr ? jslice(ua) : json_null());
    rc |= json_object_set_new(id, "userArn", json_null());

    rc |= json_object_set_new(ctx, "accountId", json_string(EVENT_ACCOUNT_ID));
    rc |= json_object_set_new(ctx, "apiId", json_string(EVENT_API_ID));
    rc |= add_authorizer(ctx, req, PAYLOAD_V1);
    rc |= json_object_set_new(ctx, "domainName", jslice(h->host));
    rc |= json_object_set_new(ctx, "domainPrefix", jslice(domain_prefix(h->host)));
    rc |= json_object_set_new(ctx, "extendedRequestId",
                              jstr(req->request_id, strlen(req->request_id)));
    rc |= json_object_set_new(ctx, "httpMethod", jslice(h->method));
    rc |= json_object_set(ctx, "identity", id);
    rc |= json_object_set_new(ctx, "path", jslice(h->path));
    rc |= json_object_set_new(ctx, "protocol", json_string(p->protocol));
    rc |= json_object_set_new(ctx, "requestId", jstr(req->request_id, strlen(req->request_id)));
    rc |= json_object_set_new(ctx, "requestTime", json_string(p->time));
    rc |= json_object_set_new(ctx, "requestTimeEpoch", json_integer(p->epoch));
    rc |= json_object_set_new(ctx, "resourceId", json_null());
    rc |= json_object_set_new(ctx, "resourcePath", jstr(p->resource, p->resource_len));
    rc |= json_object_set_new(ctx, "stage", json_string(EVENT_STAGE));
    rc |= json_object_set(ev, "requestContext", ctx);

    if (req->route && req->match.nparams) {
        rc |= json_object_set_new(ev, "pathParameters", path_params(&req->match));
    } else {
        rc |= json_object_set_new(ev, "pathParameters", json_null());
    }
    rc |= json_object_set_new(ev, "stageVariables", json_null());
    rc |= json_object_set(ev, "body", body ? body : json_null());
    rc |= json_object_set_new(ev, "isBase64Encoded", json_boolean(b64));
out:
    json_decref(hg);
    json_decref(qg);
    json_decref(ctx);
    json_decref(id);
    return rc ? -1 : 0;
}

static int build_v2(json_t *ev, const struct request *req, const struct event_parts *p,
                    json_t *body, int b64)
{
    const struct http_request_head *h = p->h;
    json_t *hg = header_groups(h, 1, 1), *qg = query_groups(h->query), *cookies = cookie_list(h);
    json_t *ctx = json_object(), *http = json_object();
    struct slice ua = header_first(h, "user-agent");
    int rc = -1;

    if (!hg || !qg || !cookies || !ctx || !http)
        goto out;
    rc = 0;
    rc |= json_object_set_new(ev, "version", json_string("2.0"));
    rc |= json_object_set(ev, "routeKey", p->route_key);
    rc |= json_object_set_new(ev, "rawPath", jslice(h->path));
    rc |= json_object_set_new(ev, "rawQueryString", jslice(h->query));
    if (json_array_size(cookies))
        rc |= json_object_set(ev, "cookies", cookies);
    rc |= json_object_set_new(ev, "headers", groups_joined(hg));
    if (json_object_size(qg))
        rc |= json_object_set_new(ev, "queryStringParameters", groups_joined(qg));

    rc |= json_object_set_new(http, "method", jslice(h->method));
    rc |= json_object_set_new(http, "path", jslice(h->path));
    rc |= json_object_set_new(http, "protocol", json_string(p->protocol));
    rc |= json_object_set_new(http, "sourceIp", jstr(req->client_ip, strlen(req->client_ip)));
    rc |= json_object_set_new(http, "userAgent", jslice(ua));

    rc |= json_object_set_new(ctx, "accountId", json_string(EVENT_ACCOUNT_ID));
    rc |= json_object_set_new(ctx, "apiId", json_string(EVENT_API_ID));
    rc |= add_authorizer(ctx, req, PAYLOAD_V2);
    rc |= json_object_set_new(ctx, "domainName", jslice(h->host));
    rc |= json_object_set_new(ctx, "domainPrefix", jslice(domain_prefix(h->host)));
    rc |= json_object_set(ctx, "http", http);
    rc |= json_object_set_new(ctx, "requestId", jstr(req->request_id, strlen(req->request_id)));
    rc |= json_object_set(ctx, "routeKey", p->route_key);
    rc |= json_object_set_new(ctx, "stage", json_string(EVENT_STAGE));
    rc |= json_object_set_new(ctx, "time", json_string(p->time));
    rc |= json_object_set_new(ctx, "timeEpoch", json_integer(p->epoch));
    rc |= json_object_set(ev, "requestContext", ctx);

    if (body)
        rc |= json_object_set(ev, "body", body);
    if (req->route && req->match.nparams)
        rc |= json_object_set_new(ev, "pathParameters", path_params(&req->match));
    rc |= json_object_set_new(ev, "isBase64Encoded", json_boolean(b64));
    /* stageVariables: sluice has no stages; 2.0 leaves absent fields out */
out:
    json_decref(hg);
    json_decref(qg);
    json_decref(cookies);
    json_decref(ctx);
    json_decref(http);
    return rc ? -1 : 0;
}

json_t *lambda_event_build(const struct request *req, enum payload_version pv,
                           const unsigned char *body, size_t len, uint64_t now_ms)
{
    struct event_parts p;
    json_t *ev = NULL, *bv = NULL;
    int b64 = 0, rc = -1;

    if (!req || (len && !body))
        return NULL;
    if (req->cfg && len > req->cfg->limits.max_body_bytes)
        return NULL;
    memset(&p, 0, sizeof(p));
    p.h = &req->head;
    format_time(p.time, sizeof(p.time), now_ms);
    p.epoch = (json_int_t)(now_ms > INT64_MAX ? INT64_MAX : now_ms);
    fmt_buf(p.protocol, sizeof(p.protocol), "HTTP/1.%d", req->head.version_minor ? 1 : 0);
    if (req->route) {
        /* AWS writes route keys as "METHOD /template", ANY included */
        struct buf k = { 0 };
        buf_add(&k, req->route->method, strlen(req->route->method));
        buf_addc(&k, ' ');
        buf_add(&k, req->route->tmpl, strlen(req->route->tmpl));
        p.route_key = k.oom ? NULL : jstr(k.p, k.len);
        buf_free(&k);
        p.resource = req->route->tmpl;
        p.resource_len = strlen(req->route->tmpl);
    } else {
        p.route_key = json_string("$default");
        p.resource = req->head.path.ptr ? req->head.path.ptr : "/";
        p.resource_len = req->head.path.ptr ? req->head.path.len : 1;
    }
    if (!p.route_key)
        goto out;
    if (len && !(bv = body_value(&req->head, body, len, &b64)))
        goto out;
    ev = json_object();
    if (ev)
        rc = pv == PAYLOAD_V1 ? build_v1(ev, req, &p, bv, b64) : build_v2(ev, req, &p, bv, b64);
out:
    json_decref(bv);
    json_decref(p.route_key);
    if (rc < 0) {
        json_decref(ev);
        return NULL;
    }
    return ev;
}

uint64_t lambda_event_time_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
