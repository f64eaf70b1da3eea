/* selector.c - parses selectors at config load and reads their values from
 * a request. The request forms (header, querystring, cookie) are also what
 * authorizers take as identity sources, so there is one reading of them. */
#include "selector.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "authz_cache.h"
#include "http_parser.h"
#include "request.h"

/* A claim name longer than this is surely a mistake. */
#define SELECTOR_MAX_CLAIM_NAME 256

/* clang-format off */
static const struct selector_form {
    const char *prefix;
    enum selector_kind kind;
    int named; /* a name follows the prefix */
} forms[] = {
    { "$request.header.", SELECTOR_HEADER, 1 },
    { "$request.querystring.", SELECTOR_QUERY, 1 },
    { "$request.cookie.", SELECTOR_COOKIE, 1 },
    { "$request.ip", SELECTOR_IP, 0 },
    { "$claim.", SELECTOR_CLAIM, 1 },
    { "$principal", SELECTOR_PRINCIPAL, 0 },
};
#define NFORMS (sizeof(forms) / sizeof(forms[0]))

/* How each form is written, for "expected ..." messages; indexed like forms. */
static const char *const form_text[] = {
    "$request.header.NAME", "$request.querystring.NAME", "$request.cookie.NAME",
    "$request.ip",          "$claim.NAME",               "$principal",
};
/* clang-format on */

/* ---------------------------------------------------------------- parsing */

/* An HTTP token (RFC 9110 5.6.2): header and cookie names. */
static int token_ok(struct slice s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";

    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (c && strchr(extra, c))))
            return 0;
    }
    return s.len > 0;
}

/* A query parameter name as a client may send it, unescaped: printable,
 * without the characters that would end it (or, '+' and '%', that a
 * client would send escaped, so that the raw comparison could not match). */
static int query_name_ok(struct slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c <= 0x20 || c >= 0x7f || c == '&' || c == '=' || c == '#' || c == '+' || c == '%')
            return 0;
    }
    return s.len > 0;
}

/* A claim name: printable ASCII without spaces, so that a message can show
 * it; namespaced claims ("https://example.com/tenant") pass. */
static int claim_name_ok(struct slice s)
{
    for (size_t i = 0; i < s.len; i++)
        if ((unsigned char)s.ptr[i] <= 0x20 || (unsigned char)s.ptr[i] >= 0x7f)
            return 0;
    return s.len > 0 && s.len <= SELECTOR_MAX_CLAIM_NAME;
}

/* "expected A, B or C" over the forms in kinds. */
static void expected_forms(unsigned kinds, char *why, size_t whylen)
{
    size_t n = 0, seen = 0;

    for (size_t i = 0; i < NFORMS; i++)
        n += !!(kinds & SELECTOR_KIND_BIT(forms[i].kind));
    fmt_buf(why, whylen, "expected");
    for (size_t i = 0; i < NFORMS; i++) {
        if (!(kinds & SELECTOR_KIND_BIT(forms[i].kind)))
            continue;
        seen++;
        str_append(why, whylen, seen == 1 ? " " : seen == n ? " or " : ", ");
        str_append(why, whylen, form_text[i]);
    }
}

int selector_parse(const char *s, unsigned kinds, enum selector_kind *kind, struct slice *name,
                   char *why, size_t whylen)
{
    const struct selector_form *form = NULL;
    struct slice nm;
    int ok;

    for (size_t i = 0; i < NFORMS && !form; i++) {
        size_t plen = strlen(forms[i].prefix);
        if (strncmp(s, forms[i].prefix, plen) == 0 && (forms[i].named || s[plen] == '\0'))
            form = &forms[i];
    }
    if (!form || !(kinds & SELECTOR_KIND_BIT(form->kind))) {
        expected_forms(kinds, why, whylen);
        return -1;
    }
    nm = (struct slice){ s + strlen(form->prefix), strlen(s + strlen(form->prefix)) };
    switch (form->kind) {
    case SELECTOR_HEADER:
        ok = token_ok(nm);
        if (!ok)
            fmt_buf(why, whylen, "a header name is letters, digits and !#$%%&'*+-.^_`|~");
        break;
    case SELECTOR_COOKIE:
        ok = token_ok(nm);
        if (!ok)
            fmt_buf(why, whylen, "a cookie name is letters, digits and !#$%%&'*+-.^_`|~");
        break;
    case SELECTOR_QUERY:
        ok = query_name_ok(nm);
        if (!ok)
            fmt_buf(why, whylen,
                    "a query parameter name is printable, without spaces, '&', '=', '#', "
                    "'+' or '%%'");
        break;
    case SELECTOR_CLAIM:
        ok = claim_name_ok(nm);
        if (!ok)
            fmt_buf(why, whylen, "a claim name is 1 to %d printable characters without spaces",
                    SELECTOR_MAX_CLAIM_NAME);
        break;
    default:
        ok = 1;
        break;
    }
    if (!ok)
        return -1;
    *kind = form->kind;
    *name = nm;
    return 0;
}

int selector_init(struct selector *sel, enum selector_kind kind, struct slice name)
{
    memset(sel, 0, sizeof(*sel));
    sel->kind = kind;
    if (name.len == 0)
        return 0;
    sel->name = slice_dup(name);
    if (!sel->name)
        return -1;
    sel->name_len = name.len;
    /* header names compare case-insensitively: one spelling is kept */
    if (kind == SELECTOR_HEADER)
        for (char *p = sel->name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    return 0;
}

void selector_clear(struct selector *sel)
{
    free(sel->name);
    sel->name = NULL;
    sel->name_len = 0;
}

int selector_same(const struct selector *a, const struct selector *b)
{
    return a->kind == b->kind && a->name_len == b->name_len &&
           (a->name_len == 0 || memcmp(a->name, b->name, a->name_len) == 0);
}

/* ---------------------------------------------------------------- values */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int eq_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

struct slice selector_header(const struct http_request_head *h, const char *name, size_t name_len)
{
    for (size_t i = 0; i < h->nheaders; i++) {
        struct slice n = h->headers[i].name;
        if (n.len == name_len && eq_nocase(n.ptr, name, name_len)) {
            struct slice v = h->headers[i].value;
            /* present but empty: a pointer anyway, so it is not "absent" */
            return v.ptr ? v : (struct slice){ n.ptr + n.len, 0 };
        }
    }
    return SLICE_NULL;
}

struct slice selector_query(struct slice q, const char *name, size_t nlen)
{
    size_t i = 0;

    while (q.ptr && i < q.len) {
        size_t end = i;
        while (end < q.len && q.ptr[end] != '&')
            end++;
        if (end - i > nlen && memcmp(q.ptr + i, name, nlen) == 0 && q.ptr[i + nlen] == '=')
            return (struct slice){ q.ptr + i + nlen + 1, end - i - nlen - 1 };
        i = end + 1;
    }
    return SLICE_NULL;
}

struct slice selector_cookie(const struct http_request_head *h, const char *name, size_t nlen)
{
    for (size_t i = 0; i < h->nheaders; i++) {
        struct slice v = h->headers[i].value;
        size_t j = 0;
        if (h->headers[i].name.len != 6 || !eq_nocase(h->headers[i].name.ptr, "cookie", 6))
            continue;
        while (j < v.len) {
            size_t end = j;
            struct slice pair;
            while (end < v.len && v.ptr[end] != ';')
                end++;
            pair = slice_trim((struct slice){ v.ptr + j, end - j });
            if (pair.len > nlen && memcmp(pair.ptr, name, nlen) == 0 && pair.ptr[nlen] == '=')
                return (struct slice){ pair.ptr + nlen + 1, pair.len - nlen - 1 };
            j = end + 1;
        }
    }
    return SLICE_NULL;
}

/* A claim's value: strings as they are, integers and booleans as their
 * JSON text (in buf), anything else none. */
static int claim_value(const json_t *claims, const char *name, char *buf, struct slice *out)
{
    const json_t *v = json_object_get(claims, name);

    if (json_is_string(v)) {
        *out = (struct slice){ json_string_value(v), json_string_length(v) };
        return 1;
    }
    if (json_is_integer(v)) {
        *out = (struct slice){ buf, i64_to_dec(buf, (int64_t)json_integer_value(v)) };
        return 1;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v) ? SLICE_LIT("true") : SLICE_LIT("false");
        return 1;
    }
    return 0;
}

int selector_value(const struct selector *sel, const struct request *req, char *buf,
                   struct slice *out)
{
    /* only an allowed result carries an identity */
    const struct authz_result *auth = req->auth && req->auth->status == 0 ? req->auth : NULL;
    size_t n;

    switch (sel->kind) {
    case SELECTOR_HEADER:
        *out = selector_header(&req->head, sel->name, sel->name_len);
        return out->ptr != NULL;
    case SELECTOR_QUERY:
        *out = selector_query(req->head.query, sel->name, sel->name_len);
        return out->ptr != NULL;
    case SELECTOR_COOKIE:
        *out = selector_cookie(&req->head, sel->name, sel->name_len);
        return out->ptr != NULL;
    case SELECTOR_IP:
        n = strnlen(req->client_ip, sizeof(req->client_ip));
        *out = (struct slice){ req->client_ip, n };
        return n > 0;
    case SELECTOR_CLAIM:
        return auth && auth->claims && claim_value(auth->claims, sel->name, buf, out);
    case SELECTOR_PRINCIPAL:
        if (!auth || !auth->principal)
            return 0;
        *out = (struct slice){ auth->principal, strlen(auth->principal) };
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------- address ranges */

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Reads the NUL-terminated address text s into *r with a full prefix. */
static int addr_read(const char *s, struct selector_range *r)
{
    memset(r, 0, sizeof(*r));
    if (inet_pton(AF_INET, s, r->addr) == 1) {
        r->family = 4;
        r->bits = 32;
        return 0;
    }
    if (inet_pton(AF_INET6, s, r->addr) != 1)
        return -1;
    r->family = 6;
    r->bits = 128;
    /* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d: they
     * are IPv4 clients, and a "10.0.0.0/8" range must cover them. */
    if (memcmp(r->addr, v4_mapped, 12) == 0) {
        memmove(r->addr, r->addr + 12, 4);
        memset(r->addr + 4, 0, 12);
        r->family = 4;
        r->bits = 32;
    }
    return 0;
}

int selector_addr_parse(struct slice ip, struct selector_range *r)
{
    char text[INET6_ADDRSTRLEN + 1];

    if (ip.len == 0 || ip.len >= sizeof(text))
        return -1;
    memcpy(text, ip.ptr, ip.len);
    text[ip.len] = '\0';
    return addr_read(text, r);
}

int selector_range_parse(const char *s, struct selector_range *r, char *why, size_t whylen)
{
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    char text[INET6_ADDRSTRLEN + 1];
    int was_v6;
    uint64_t bits;

    if (alen == 0 || alen >= sizeof(text)) {
        fmt_buf(why, whylen, "expected an address or a range such as 10.0.0.0/8 or ::1/128");
        return -1;
    }
    memcpy(text, s, alen);
    text[alen] = '\0';
    was_v6 = strchr(text, ':') != NULL;
    if (addr_read(text, r) < 0) {
        fmt_buf(why, whylen, "expected an address or a range such as 10.0.0.0/8 or ::1/128");
        return -1;
    }
    if (!slash)
        return 0;
    if (parse_u64((struct slice){ slash + 1, strlen(slash + 1) }, was_v6 ? 128 : 32, &bits) < 0) {
        fmt_buf(why, whylen, "the prefix length after '/' must be 0 to %d", was_v6 ? 128 : 32);
        return -1;
    }
    if (was_v6 && r->family == 4) {
        /* ::ffff:10.0.0.0/104 is 10.0.0.0/8 */
        if (bits < 96) {
            fmt_buf(why, whylen, "an IPv4-mapped range needs a prefix of at least 96 bits");
            return -1;
        }
        bits -= 96;
    }
    r->bits = (uint8_t)bits;
    /* bits past the prefix are a typo more often than not (10.1.2.3/8) */
    for (unsigned i = r->bits; i < (r->family == 4 ? 32u : 128u); i++)
        if (r->addr[i / 8] & (0x80 >> (i % 8))) {
            fmt_buf(why, whylen, "the address has bits set past its /%u prefix", r->bits);
            return -1;
        }
    return 0;
}

int selector_range_has(const struct selector_range *range, const struct selector_range *addr)
{
    unsigned full = range->bits / 8, rest = range->bits % 8;

    if (range->family != addr->family)
        return 0;
    if (memcmp(range->addr, addr->addr, full) != 0)
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xff00 >> rest);
        return (range->addr[full] & mask) == (addr->addr[full] & mask);
    }
    return 1;
}
