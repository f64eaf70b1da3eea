/* proxy_head.c - request and response heads written by the reverse proxy. */
#include "proxy_head.h"

#include <event2/buffer.h>
#include <string.h>

/* Header names a proxy replaces itself, on top of the hop-by-hop ones. */
static int request_header_replaced(struct slice n)
{
    return slice_eq_cstr_nocase(n, "host") || slice_eq_cstr_nocase(n, "content-length") ||
           slice_eq_cstr_nocase(n, "expect") || slice_eq_cstr_nocase(n, "x-forwarded-for") ||
           slice_eq_cstr_nocase(n, "x-forwarded-proto") ||
           slice_eq_cstr_nocase(n, "x-forwarded-host") || slice_eq_cstr_nocase(n, "x-request-id");
}

/* 1 when n is one of the names the gateway alone may set. */
static int stripped(const struct proxy_request_info *info, struct slice n)
{
    for (size_t i = 0; i < info->nstrip; i++)
        if (slice_eq_cstr_nocase(n, info->strip[i]))
            return 1;
    return 0;
}

static int response_header_replaced(struct slice n)
{
    return slice_eq_cstr_nocase(n, "content-length") || slice_eq_cstr_nocase(n, "x-request-id") ||
           slice_eq_cstr_nocase(n, "x-sluice-function-version");
}

/* Returns 1 when the header named n is listed in any Connection field. */
static int named_in_connection(const struct http_header *hs, size_t nh, struct slice n)
{
    for (size_t i = 0; i < nh; i++)
        if (slice_eq_cstr_nocase(hs[i].name, "connection") && http_list_has_token(hs[i].value, n))
            return 1;
    return 0;
}

static int add_slice(struct evbuffer *out, struct slice s)
{
    return s.len ? evbuffer_add(out, s.ptr, s.len) : 0;
}

static int add_str(struct evbuffer *out, const char *s)
{
    return evbuffer_add(out, s, strlen(s));
}

static int add_header(struct evbuffer *out, const struct http_header *h)
{
    if (add_slice(out, h->name) || evbuffer_add(out, ": ", 2) || add_slice(out, h->value) ||
        evbuffer_add(out, "\r\n", 2))
        return -1;
    return 0;
}

int proxy_head_request(struct evbuffer *out, const struct http_request_head *h,
                       const struct proxy_request_info *info)
{
    int rc = 0;

    rc |= add_slice(out, h->method);
    rc |= evbuffer_add(out, " ", 1);
    rc |= add_slice(out, info->base_path);
    rc |= add_slice(out, info->path);
    if (info->query.ptr) {
        rc |= evbuffer_add(out, "?", 1);
        rc |= add_slice(out, info->query);
    }
    rc |= add_str(out, " HTTP/1.1\r\nHost: ");
    rc |= add_slice(out, info->authority);
    rc |= evbuffer_add(out, "\r\n", 2);

    for (size_t i = 0; i < h->nheaders; i++) {
        const struct http_header *hd = &h->headers[i];
        if (http_header_is_hop_by_hop(hd->name) || request_header_replaced(hd->name) ||
            stripped(info, hd->name) || named_in_connection(h->headers, h->nheaders, hd->name))
            continue;
        rc |= add_header(out, hd);
    }
    if (info->extra)
        rc |= evbuffer_add_buffer(out, info->extra);
    /* keep the chain the client brought, in order, then append the client */
    rc |= add_str(out, "X-Forwarded-For: ");
    for (size_t i = 0; i < h->nheaders; i++) {
        if (!slice_eq_cstr_nocase(h->headers[i].name, "x-forwarded-for") ||
            h->headers[i].value.len == 0)
            continue;
        rc |= add_slice(out, h->headers[i].value);
        rc |= evbuffer_add(out, ", ", 2);
    }
    rc |= evbuffer_add_printf(out, "%s\r\nX-Forwarded-Proto: %s\r\n", info->client_ip,
                              info->proto) < 0;
    if (h->host.len) {
        rc |= add_str(out, "X-Forwarded-Host: ");
        rc |= add_slice(out, h->host);
        rc |= evbuffer_add(out, "\r\n", 2);
    }
    rc |= evbuffer_add_printf(out, "x-request-id: %s\r\n", info->request_id) < 0;
    if (info->body == PROXY_BODY_LENGTH)
        rc |= evbuffer_add_printf(out, "Content-Length: %llu\r\n",
                                  (unsigned long long)info->content_length) < 0;
    else if (info->body == PROXY_BODY_CHUNKED)
        rc |= add_str(out, "Transfer-Encoding: chunked\r\n");
    rc |= evbuffer_add(out, "\r\n", 2);
    return rc ? -1 : 0;
}

int proxy_head_response(struct evbuffer *out, const struct http_response_head *h,
                        const struct proxy_response_info *info)
{
    int rc = 0;
    const char *reason = h->reason.len ? NULL : http_status_reason(h->status);

    rc |= evbuffer_add_printf(out, "HTTP/1.%d %03d ", info->client_minor ? 1 : 0, h->status) < 0;
    if (reason)
        rc |= add_str(out, reason);
    else
        rc |= add_slice(out, h->reason);
    rc |= evbuffer_add(out, "\r\n", 2);

    for (size_t i = 0; i < h->nheaders; i++) {
        const struct http_header *hd = &h->headers[i];
        if (http_header_is_hop_by_hop(hd->name) || response_header_replaced(hd->name) ||
            named_in_connection(h->headers, h->nheaders, hd->name))
            continue;
        rc |= add_header(out, hd);
    }
    switch (info->framing) {
    case PROXY_RESP_LENGTH:
        rc |= evbuffer_add_printf(out, "Content-Length: %lld\r\n", (long long)h->content_length) < 0;
        break;
    case PROXY_RESP_CHUNKED:
        rc |= add_str(out, "Transfer-Encoding: chunked\r\n");
        break;
    case PROXY_RESP_NO_BODY:
        /* a HEAD answer states the length a GET would have had */
        if (info->head_request && h->content_length >= 0 && h->status != 204 && h->status >= 200)
            rc |= evbuffer_add_printf(out, "Content-Length: %lld\r\n",
                                      (long long)h->content_length) < 0;
        break;
    case PROXY_RESP_CLOSE:
        break;
    }
    rc |= evbuffer_add_printf(out, "x-request-id: %s\r\n", info->request_id) < 0;
    if (info->version)
        rc |= evbuffer_add_printf(out, "x-sluice-function-version: %s\r\n", info->version) < 0;
    if (!info->keep_alive)
        rc |= add_str(out, "Connection: close\r\n");
    else if (info->client_minor == 0)
        rc |= add_str(out, "Connection: keep-alive\r\n");
    rc |= evbuffer_add(out, "\r\n", 2);
    return rc ? -1 : 0;
}
