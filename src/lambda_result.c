/* lambda_result.c - a function's result (the Lambda-proxy response shape,
 * payload 1.0 and 2.0) checked and turned into a response. Pure: no I/O, no event loop. The
 * events themselves are built in lambda_event.c. */
#include "lambda_event.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "http_parser.h"
#include "util.h"

/* ------------------------------------------------------------ results */

/* A result being built: r and the capacity of r->headers. */
struct rbuild {
    struct lambda_result *r;
    size_t cap;
};

__attribute__((format(printf, 2, 3))) static int fail(struct lambda_result *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    va_end(ap);
    return -1;
}

/* Shows up to 40 bytes of s for a message: a header name comes from the
 * function, and an error lands in the log, so control bytes become '?'. */
static const char *show(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;

    for (size_t i = 0; i < n && i < 40 && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    if (n > 40 && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Headers the function may not set: hop-by-hop ones concern one
 * connection, and the response writer frames the body itself. */
static int header_dropped(struct slice name)
{
    return http_header_is_hop_by_hop(name) || slice_eq_cstr_nocase(name, "content-length") ||
           (name.len >= 6 && slice_eq_cstr_nocase((struct slice){ name.ptr, 6 }, "proxy-"));
}

/* Checks and appends one header (copies). Returns 0 (also when the header
 * is dropped) or -1 with r->error set. */
static int add_header(struct rbuild *b, const char *name, size_t nlen, const char *val, size_t vlen)
{
    struct lambda_result *r = b->r;
    struct lambda_header *h;
    char shown[48];

    if (nlen == 0)
        return fail(r, "empty header name");
    for (size_t i = 0; i < nlen; i++)
        if (!is_tchar((unsigned char)name[i]))
            return fail(r, "bad header name \"%s\"", show(shown, sizeof(shown), name, nlen));
    /* CR, LF and NUL would split or cut the response head; other controls
     * but HTAB are refused as http_parser refuses them from upstreams */
    for (size_t i = 0; i < vlen; i++) {
        unsigned char c = (unsigned char)val[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(r, "header \"%s\" value has a control character (CR, LF, NUL...)",
                        show(shown, sizeof(shown), name, nlen));
    }
    if (header_dropped((struct slice){ name, nlen }))
        return 0;
    if (r->nheaders >= LAMBDA_RESULT_MAX_HEADERS)
        return fail(r, "more than %d headers", LAMBDA_RESULT_MAX_HEADERS);
    if (r->nheaders == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 8;
        struct lambda_header *nh = realloc(r->headers, ncap * sizeof(*nh));
        if (!nh)
            return fail(r, "out of memory");
        r->headers = nh;
        b->cap = ncap;
    }
    h = &r->headers[r->nheaders];
    h->name = slice_dup((struct slice){ name, nlen });
    h->value = slice_dup((struct slice){ val, vlen });
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        return fail(r, "out of memory");
    }
    r->nheaders++;
    return 0;
}

/* The shortest %g text that reads back as d, as JavaScript prints numbers
 * (1.5, not 1.50000000000000000). */
static void real_text(double d, char *out, size_t cap)
{
    for (int prec = 1; prec <= 17; prec++) {
        fmt_buf(out, cap, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            return;
    }
}

/* The text of a header value: strings as they are; numbers and booleans
 * as their JSON text, as API Gateway turns them. tmp (at least 32 bytes)
 * holds a converted number. Returns 0, or -1 for other types. */
static int value_text(const json_t *v, char *tmp, size_t cap, const char **p, size_t *n)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        *p = json_string_value(v);
        *n = json_string_length(v);
        return 0;
    case JSON_INTEGER:
        *n = i64_to_dec(tmp, (int64_t)json_integer_value(v));
        *p = tmp;
        return 0;
    case JSON_REAL:
        real_text(json_real_value(v), tmp, cap);
        *p = tmp;
        *n = strlen(tmp);
        return 0;
    case JSON_TRUE:
        *p = "true";
        *n = 4;
        return 0;
    case JSON_FALSE:
        *p = "false";
        *n = 5;
        return 0;
    default:
        return -1;
    }
}

/* statusCode: an integer, or (as API Gateway's REST APIs accept it) a
 * string of exactly three digits; 100-599 either way. */
static int parse_status(const json_t *v, struct lambda_result *r)
{
    json_int_t s;

    if (json_is_integer(v)) {
        s = json_integer_value(v);
    } else if (json_is_string(v) && json_string_length(v) == 3) {
        const char *t = json_string_value(v);
        if (t[0] < '0' || t[0] > '9' || t[1] < '0' || t[1] > '9' || t[2] < '0' || t[2] > '9')
            return fail(r, "statusCode is not an integer");
        s = (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0');
    } else {
        return fail(r, "statusCode is not an integer");
    }
    if (s < 100 || s > 599)
        return fail(r, "statusCode %lld is out of range 100-599", (long long)s);
    r->status = (int)s;
    return 0;
}

/* Whether "multiValueHeaders" names the header too (any case): then only
 * its values count, as API Gateway merges the two. */
static int in_multi(const json_t *mvh, const char *name)
{
    const char *k;
    json_t *v;

    if (!mvh)
        return 0;
    json_object_foreach((json_t *)mvh, k, v)
    {
        if (slice_eq_nocase((struct slice){ k, strlen(k) }, (struct slice){ name, strlen(name) }))
            return 1;
    }
    return 0;
}

static int add_headers(struct rbuild *b, const json_t *res, enum payload_version pv)
{
    struct lambda_result *r = b->r;
    const json_t *hs = json_object_get(res, "headers"),
                 *mvh = json_object_get(res, "multiValueHeaders");
    const json_t *cookies = pv == PAYLOAD_V2 ? json_object_get(res, "cookies") : NULL;
    char tmp[40], shown[48];
    const char *k, *p;
    json_t *v, *e;
    size_t n, i;

    if (json_is_null(hs))
        hs = NULL;
    if (json_is_null(mvh))
        mvh = NULL;
    if (json_is_null(cookies))
        cookies = NULL;
    if (hs && !json_is_object(hs))
        return fail(r, "headers is not an object");
    if (mvh && !json_is_object(mvh))
        return fail(r, "multiValueHeaders is not an object");
    if (cookies && !json_is_array(cookies))
        return fail(r, "cookies is not an array");
    /* a bound before any work: the keys alone may be too many */
    if (json_object_size(hs) + json_object_size(mvh) + json_array_size(cookies) >
        LAMBDA_RESULT_MAX_HEADERS)
        return fail(r, "more than %d headers", LAMBDA_RESULT_MAX_HEADERS);

    if (hs) {
        json_object_foreach((json_t *)hs, k, v)
        {
            if (value_text(v, tmp, sizeof(tmp), &p, &n) < 0)
                return fail(r, "header \"%s\" value is not a string, number or boolean",
                            show(shown, sizeof(shown), k, strlen(k)));
            if (in_multi(mvh, k))
                continue;
            if (add_header(b, k, strlen(k), p, n) < 0)
                return -1;
        }
    }
    if (mvh) {
        json_object_foreach((json_t *)mvh, k, v)
        {
            if (!json_is_array(v))
                return fail(r, "multiValueHeaders \"%s\" is not an array",
                            show(shown, sizeof(shown), k, strlen(k)));
            json_array_foreach(v, i, e)
            {
                if (value_text(e, tmp, sizeof(tmp), &p, &n) < 0)
                    return fail(r,
                                "multiValueHeaders \"%s\" holds a value that is not a string, "
                                "number or boolean",
                                show(shown, sizeof(shown), k, strlen(k)));
                if (add_header(b, k, strlen(k), p, n) < 0)
                    return -1;
            }
        }
    }
    if (cookies) {
        json_array_foreach((json_t *)cookies, i, e)
        {
            if (!json_is_string(e))
                return fail(r, "cookies[%zu] is not a string", i);
            if (add_header(b, "Set-Cookie", 10, json_string_value(e), json_string_length(e)) < 0)
                return -1;
        }
    }
    return 0;
}

static int set_body(struct lambda_result *r, const char *s, size_t n)
{
    if (n > LAMBDA_RESULT_MAX_BYTES)
        return fail(r, "body larger than %u bytes", LAMBDA_RESULT_MAX_BYTES);
    if (n == 0)
        return 0;
    r->body = malloc(n);
    if (!r->body)
        return fail(r, "out of memory");
    memcpy(r->body, s, n);
    r->body_len = n;
    return 0;
}

static int add_body(struct lambda_result *r, const json_t *res)
{
    const json_t *body = json_object_get(res, "body"),
                 *b64 = json_object_get(res, "isBase64Encoded");
    int rc;

    if (b64 && !json_is_boolean(b64) && !json_is_null(b64))
        return fail(r, "isBase64Encoded is not a boolean");
    if (!body || json_is_null(body))
        return 0;
    if (!json_is_string(body))
        return fail(r, "body is not a string");
    if (!json_is_true(b64))
        return set_body(r, json_string_value(body), json_string_length(body));
    rc = base64_decode_alloc(BASE64_STD, json_string_value(body), json_string_length(body), &r->body,
                             &r->body_len);
    if (rc == -2)
        return fail(r, "out of memory");
    if (rc < 0)
        return fail(r, "body is not valid base64 (isBase64Encoded is true)");
    if (r->body_len > LAMBDA_RESULT_MAX_BYTES) /* a value (not text) may carry more */
        return fail(r, "body larger than %u bytes", LAMBDA_RESULT_MAX_BYTES);
    if (r->body_len == 0) {
        free(r->body);
        r->body = NULL;
    }
    return 0;
}

/* Whether v nests arrays and objects more than max deep (depth: the
 * containers around v, v included): a bound on the work, and recursion,
 * of every later walk. */
static int too_deep(const json_t *v, int depth, int max)
{
    const char *k;
    json_t *e;
    size_t i;

    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    if (depth > max)
        return 1;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, e) if (too_deep(e, depth + 1, max)) return 1;
    } else {
        json_array_foreach((json_t *)v, i, e) if (too_deep(e, depth + 1, max)) return 1;
    }
    return 0;
}

/* Frees r's headers and body, keeping its error. */
static void result_drop(struct lambda_result *r)
{
    char error[sizeof(r->error)];

    memcpy(error, r->error, sizeof(error));
    lambda_result_clear(r);
    memcpy(r->error, error, sizeof(error));
}

/* The common path of both entry points; text (may be NULL) is the JSON
 * text v was read from, kept as the body of an inferred 2.0 result. */
static int result_build(const json_t *v, enum payload_version pv, const char *text, size_t tlen,
                        struct lambda_result *r)
{
    struct rbuild b = { .r = r };
    const json_t *status;
    int rc;

    memset(r, 0, sizeof(*r));
    if (!v)
        return fail(r, "no result");
    if (too_deep(v, 1, LAMBDA_RESULT_MAX_DEPTH))
        return fail(r, "result nested deeper than %d levels", LAMBDA_RESULT_MAX_DEPTH);
    status = json_is_object(v) ? json_object_get(v, "statusCode") : NULL;
    if (!status) {
        if (pv == PAYLOAD_V1)
            return fail(r,
                        json_is_object(v) ? "statusCode missing" : "result is not a JSON object");
        /* 2.0 infers the response: 200, JSON, the result itself as the body */
        r->status = 200;
        rc = add_header(&b, "Content-Type", 12, "application/json", 16);
        if (rc == 0 && json_is_string(v)) {
            rc = set_body(r, json_string_value(v), json_string_length(v));
        } else if (rc == 0 && text) {
            rc = set_body(r, text, tlen);
        } else if (rc == 0) {
            char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            rc = dump ? set_body(r, dump, strlen(dump)) : fail(r, "out of memory");
            free(dump);
        }
    } else {
        rc = parse_status(status, r);
        if (rc == 0)
            rc = add_headers(&b, v, pv);
        if (rc == 0)
            rc = add_body(r, v);
    }
    if (rc < 0)
        result_drop(r);
    return rc;
}

int lambda_result_from_json(const json_t *v, enum payload_version pv, struct lambda_result *r)
{
    return result_build(v, pv, NULL, 0, r);
}

int lambda_result_parse(const char *text, size_t len, enum payload_version pv,
                        struct lambda_result *r)
{
    json_error_t jerr;
    json_t *v;
    int rc;

    memset(r, 0, sizeof(*r));
    if (len > LAMBDA_RESULT_MAX_BYTES)
        return fail(r, "result larger than %u bytes", LAMBDA_RESULT_MAX_BYTES);
    if (!text || len == 0)
        return fail(r, "result is not JSON: empty");
    /* NUL inside strings is fine for a body (headers are checked apart) */
    v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!v)
        return fail(r, "result is not JSON: %s", jerr.text);
    rc = result_build(v, pv, text, len, r);
    json_decref(v);
    return rc;
}

void lambda_result_clear(struct lambda_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof(*r));
}
