/* proxy_head.c - request and response heads written by the reverse proxy.
 *
 * Per request this is hot code, so each head is built in one pass over the
 * parsed headers: a name is classified by its length and first letter and
 * then one case-insensitive compare, the tokens of Connection (if any) are
 * collected once, and the head, whose size is bounded first, is written
 * with plain stores into a stack buffer that reaches the evbuffer in a
 * single evbuffer_add() (or, for a huge head, into space reserved in the
 * evbuffer: see evb_write_begin() in util.h). */
#include "proxy_head.h"

#include <event2/buffer.h>
#include <string.h>

/* A head up to this size is written on the stack and added to the
 * evbuffer in one evbuffer_add(); a larger one is written straight into
 * space reserved in the evbuffer. */
#define HEAD_STACK 8192
/* Connection tokens remembered; more than this (never seen in practice)
 * falls back to scanning the Connection fields for each header. */
#define CONN_TOKENS_MAX 16
/* Strip names whose length is remembered; later ones are measured per use. */
#define STRIP_FAST 32

static inline unsigned char lower(unsigned char c)
{
    return (unsigned char)(c + ((unsigned)(c - 'A') < 26u ? 32 : 0));
}

/* 1 when a[0..n) and b[0..n) are equal ASCII case-insensitively. */
static inline int eq_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* What a header name means to the proxy; a bit set. */
enum {
    HN_HOP = 1,   /* hop-by-hop: never forwarded (http_header_is_hop_by_hop) */
    HN_REQ = 2,   /* replaced by the proxy in the upstream request */
    HN_RESP = 4,  /* replaced by the proxy in the client response */
    HN_XFF = 8,   /* X-Forwarded-For: the chain is kept */
    HN_CONN = 16, /* Connection: lists more hop-by-hop names */
};

/* n (of the length of lit) is lit, ASCII case-insensitively */
#define NAME_IS(n, lit) ascii_eq_lc((n).ptr, (lit), sizeof(lit) - 1)

/* Classifies a header name: length, then first letter, then one compare. */
static unsigned classify(struct slice n)
{
    unsigned char c0;

    if (n.len < 2)
        return 0;
    c0 = lower((unsigned char)n.ptr[0]);
    switch (n.len) {
    case 2:
        if (c0 == 't' && NAME_IS(n, "te"))
            return HN_HOP;
        break;
    case 4:
        if (c0 == 'h' && NAME_IS(n, "host"))
            return HN_REQ;
        break;
    case 6:
        if (c0 == 'e' && NAME_IS(n, "expect"))
            return HN_REQ;
        break;
    case 7:
        if (c0 == 't' && NAME_IS(n, "trailer"))
            return HN_HOP;
        if (c0 == 'u' && NAME_IS(n, "upgrade"))
            return HN_HOP;
        break;
    case 10:
        if (c0 == 'c' && NAME_IS(n, "connection"))
            return HN_HOP | HN_CONN;
        if (c0 == 'k' && NAME_IS(n, "keep-alive"))
            return HN_HOP;
        break;
    case 12:
        if (c0 == 'x' && NAME_IS(n, "x-request-id"))
            return HN_REQ | HN_RESP;
        break;
    case 14:
        if (c0 == 'c' && NAME_IS(n, "content-length"))
            return HN_REQ | HN_RESP;
        break;
    case 15:
        if (c0 == 'x' && NAME_IS(n, "x-forwarded-for"))
            return HN_REQ | HN_XFF;
        break;
    case 16:
        if (c0 == 'p' && NAME_IS(n, "proxy-connection"))
            return HN_HOP;
        if (c0 == 'x' && NAME_IS(n, "x-forwarded-host"))
            return HN_REQ;
        break;
    case 17:
        if (c0 == 't' && NAME_IS(n, "transfer-encoding"))
            return HN_HOP;
        if (c0 == 'x' && NAME_IS(n, "x-forwarded-proto"))
            return HN_REQ;
        break;
    case 18:
        if (c0 == 'p' && NAME_IS(n, "proxy-authenticate"))
            return HN_HOP;
        break;
    case 19:
        if (c0 == 'p' && NAME_IS(n, "proxy-authorization"))
            return HN_HOP;
        break;
    case 25:
        if (c0 == 'x' && NAME_IS(n, "x-sluice-function-version"))
            return HN_RESP;
        break;
    default:
        break;
    }
    return 0;
}

/* The names listed in the Connection fields of one head. */
struct conn_tokens {
    struct slice tok[CONN_TOKENS_MAX];
    size_t n;
    int overflow; /* more than CONN_TOKENS_MAX: scan the fields instead */
};

/* Adds the elements of one Connection value; empty elements never match
 * a name. */
static void conn_tokens_add(struct conn_tokens *ct, struct slice v)
{
    size_t pos = 0;
    struct slice t;

    while (http_list_next(v, &pos, &t)) {
        if (t.len == 0)
            continue;
        if (ct->n == CONN_TOKENS_MAX) {
            ct->overflow = 1;
            return;
        }
        ct->tok[ct->n++] = t;
    }
}

/* Returns 1 when the header named n is listed in any Connection field. */
static int named_in_connection(const struct conn_tokens *ct, const struct http_header *hs,
                               size_t nh, const unsigned char *cls, struct slice n)
{
    if (ct->overflow) {
        for (size_t i = 0; i < nh; i++)
            if ((cls[i] & HN_CONN) && http_list_has_token(hs[i].value, n))
                return 1;
        return 0;
    }
    for (size_t i = 0; i < ct->n; i++)
        if (ct->tok[i].len == n.len && eq_nocase(ct->tok[i].ptr, n.ptr, n.len))
            return 1;
    return 0;
}

/* Classifies every header into cls[] and collects the Connection tokens.
 * Returns the HN_ bits seen over all headers; *bytes gets what writing all
 * of them as "name: value\r\n" lines would take. */
static unsigned classify_all(const struct http_header *hs, size_t nh, unsigned char *cls,
                             struct conn_tokens *ct, size_t *bytes)
{
    unsigned seen = 0;
    size_t sum = 0;

    ct->n = 0;
    ct->overflow = 0;
    for (size_t i = 0; i < nh; i++) {
        unsigned c = classify(hs[i].name);
        cls[i] = (unsigned char)c;
        seen |= c;
        sum += hs[i].name.len + hs[i].value.len + 4;
        if (c & HN_CONN)
            conn_tokens_add(ct, hs[i].value);
    }
    *bytes = sum;
    return seen;
}

/* printf's "%s" of a NULL pointer, which the printf-based code wrote. */
static inline struct slice cstr(const char *s)
{
    if (!s)
        return SLICE_LIT("(null)");
    return (struct slice){ s, strlen(s) };
}

static inline char *put_header(char *p, const struct http_header *h)
{
    p = put_slice(p, h->name);
    p[0] = ':';
    p[1] = ' ';
    p = put_slice(p + 2, h->value);
    p[0] = '\r';
    p[1] = '\n';
    return p + 2;
}

/* Room for the fixed text of either head (numbers at their longest),
 * beyond the parts counted: about 140 bytes are needed. */
#define HEAD_SLACK 256

int proxy_head_request(struct evbuffer *out, const struct http_request_head *h,
                       const struct proxy_request_info *info)
{
    char stack[HEAD_STACK];
    char *start, *p;
    unsigned char cls[HTTP_MAX_HEADERS];
    struct conn_tokens ct;
    size_t nh = h->nheaders < HTTP_MAX_HEADERS ? h->nheaders : HTTP_MAX_HEADERS;
    size_t strip_len[STRIP_FAST];
    size_t nstrip_fast = info->nstrip < STRIP_FAST ? info->nstrip : STRIP_FAST;
    size_t hbytes, bound, nextra = info->extra ? evbuffer_get_length(info->extra) : 0;
    struct slice ip = cstr(info->client_ip), proto = cstr(info->proto);
    struct slice rid = cstr(info->request_id);
    unsigned seen;
    int rc = 0;

    seen = classify_all(h->headers, nh, cls, &ct, &hbytes);
    for (size_t j = 0; j < nstrip_fast; j++)
        strip_len[j] = strlen(info->strip[j]);

    /* every header's bytes bound both those passed on and the X-Forwarded-For chain */
    bound = h->method.len + info->base_path.len + info->path.len + info->query.len +
            info->authority.len + hbytes + nextra + ip.len + proto.len + h->host.len + rid.len +
            HEAD_SLACK;
    start = evb_write_begin(out, stack, sizeof(stack), bound);
    if (!start)
        return -1;
    p = put_slice(start, h->method);
    *p++ = ' ';
    p = put_slice(p, info->base_path);
    p = put_slice(p, info->path);
    if (info->query.ptr) {
        *p++ = '?';
        p = put_slice(p, info->query);
    }
    p = put_lit(p, " HTTP/1.1\r\nHost: ");
    p = put_slice(p, info->authority);
    p = put_lit(p, "\r\n");

    for (size_t i = 0; i < nh; i++) {
        const struct http_header *hd = &h->headers[i];
        size_t j;

        if (cls[i] & (HN_HOP | HN_REQ))
            continue;
        for (j = 0; j < info->nstrip; j++) {
            const char *s = info->strip[j];
            size_t sl = j < STRIP_FAST ? strip_len[j] : strlen(s);
            if (sl == hd->name.len && eq_nocase(hd->name.ptr, s, sl))
                break;
        }
        if (j < info->nstrip)
            continue;
        if ((seen & HN_CONN) && named_in_connection(&ct, h->headers, nh, cls, hd->name))
            continue;
        p = put_header(p, hd);
    }
    /* the claim headers, moved out of extra */
    if (nextra) {
        if (evbuffer_remove(info->extra, p, nextra) != (int)nextra)
            rc = -1;
        else
            p += nextra;
    }
    /* keep the chain the client brought, in order, then append the client */
    p = put_lit(p, "X-Forwarded-For: ");
    if (seen & HN_XFF) {
        for (size_t i = 0; i < nh; i++) {
            if (!(cls[i] & HN_XFF) || h->headers[i].value.len == 0)
                continue;
            p = put_slice(p, h->headers[i].value);
            p = put_lit(p, ", ");
        }
    }
    p = put_slice(p, ip);
    p = put_lit(p, "\r\nX-Forwarded-Proto: ");
    p = put_slice(p, proto);
    p = put_lit(p, "\r\n");
    if (h->host.len) {
        p = put_lit(p, "X-Forwarded-Host: ");
        p = put_slice(p, h->host);
        p = put_lit(p, "\r\n");
    }
    p = put_lit(p, "x-request-id: ");
    p = put_slice(p, rid);
    p = put_lit(p, "\r\n");
    if (info->body == PROXY_BODY_LENGTH) {
        p = put_lit(p, "Content-Length: ");
        p += u64_to_dec(p, info->content_length);
        p = put_lit(p, "\r\n");
    } else if (info->body == PROXY_BODY_CHUNKED) {
        p = put_lit(p, "Transfer-Encoding: chunked\r\n");
    }
    p = put_lit(p, "\r\n");
    if (evb_write_end(out, stack, start, (size_t)(p - start), bound) < 0)
        rc = -1;
    return rc;
}

/* printf's "%03d". */
static char *put_status(char *p, int status)
{
    if (status >= 0 && status <= 999) {
        p[0] = (char)('0' + status / 100);
        p[1] = (char)('0' + status / 10 % 10);
        p[2] = (char)('0' + status % 10);
        return p + 3;
    }
    if (status < 0 && status > -10) {
        p[0] = '-';
        p[1] = '0';
        p[2] = (char)('0' - status);
        return p + 3;
    }
    return p + i64_to_dec(p, status);
}

int proxy_head_response(struct evbuffer *out, const struct http_response_head *h,
                        const struct proxy_response_info *info)
{
    char stack[HEAD_STACK];
    char *start, *p;
    unsigned char cls[HTTP_MAX_HEADERS];
    struct conn_tokens ct;
    size_t nh = h->nheaders < HTTP_MAX_HEADERS ? h->nheaders : HTTP_MAX_HEADERS;
    struct slice reason = h->reason.len ? h->reason : cstr(http_status_reason(h->status));
    struct slice rid = cstr(info->request_id);
    struct slice version = info->version ? cstr(info->version) : SLICE_NULL;
    size_t hbytes, bound;
    unsigned seen;

    seen = classify_all(h->headers, nh, cls, &ct, &hbytes);
    bound = reason.len + hbytes + rid.len + version.len + HEAD_SLACK;
    start = evb_write_begin(out, stack, sizeof(stack), bound);
    if (!start)
        return -1;

    p = info->client_minor ? put_lit(start, "HTTP/1.1 ") : put_lit(start, "HTTP/1.0 ");
    p = put_status(p, h->status);
    *p++ = ' ';
    p = put_slice(p, reason);
    p = put_lit(p, "\r\n");

    for (size_t i = 0; i < nh; i++) {
        const struct http_header *hd = &h->headers[i];

        if (cls[i] & (HN_HOP | HN_RESP))
            continue;
        if ((seen & HN_CONN) && named_in_connection(&ct, h->headers, nh, cls, hd->name))
            continue;
        p = put_header(p, hd);
    }
    switch (info->framing) {
    case PROXY_RESP_LENGTH:
        p = put_lit(p, "Content-Length: ");
        p += i64_to_dec(p, h->content_length);
        p = put_lit(p, "\r\n");
        break;
    case PROXY_RESP_CHUNKED:
        p = put_lit(p, "Transfer-Encoding: chunked\r\n");
        break;
    case PROXY_RESP_NO_BODY:
        /* a HEAD answer states the length a GET would have had */
        if (info->head_request && h->content_length >= 0 && h->status != 204 && h->status >= 200) {
            p = put_lit(p, "Content-Length: ");
            p += i64_to_dec(p, h->content_length);
            p = put_lit(p, "\r\n");
        }
        break;
    case PROXY_RESP_CLOSE:
        break;
    }
    p = put_lit(p, "x-request-id: ");
    p = put_slice(p, rid);
    p = put_lit(p, "\r\n");
    if (info->version) {
        p = put_lit(p, "x-sluice-function-version: ");
        p = put_slice(p, version);
        p = put_lit(p, "\r\n");
    }
    if (!info->keep_alive)
        p = put_lit(p, "Connection: close\r\n");
    else if (info->client_minor == 0)
        p = put_lit(p, "Connection: keep-alive\r\n");
    p = put_lit(p, "\r\n");
    return evb_write_end(out, stack, start, (size_t)(p - start), bound);
}
