/* proxy_head.h - the heads a reverse proxy writes: the request it sends
 * upstream and the response it sends back. Pure functions over parsed
 * heads; they decide which headers pass (never hop-by-hop ones, nor those
 * named in Connection), which are replaced (Host, framing, request id) and
 * which are added (X-Forwarded-*). */
#ifndef SLUICE_PROXY_HEAD_H
#define SLUICE_PROXY_HEAD_H

#include <stdint.h>

#include "http_parser.h"
#include "util.h"

struct evbuffer;

enum proxy_body { PROXY_BODY_NONE = 0, PROXY_BODY_LENGTH, PROXY_BODY_CHUNKED };

struct proxy_request_info {
    struct slice base_path;  /* the upstream url's path, no trailing '/', may be empty */
    struct slice path;       /* appended to base_path; starts with '/' */
    struct slice query;      /* ptr NULL when the request had no '?' */
    struct slice authority;  /* Host sent upstream */
    const char *client_ip;
    const char *proto;       /* "http" or "https" */
    const char *request_id;
    enum proxy_body body;
    uint64_t content_length; /* with PROXY_BODY_LENGTH */
    /* headers the client may not set (claims_to_headers names, lower-case):
     * dropped from what the client sent */
    char *const *strip;
    size_t nstrip;
    /* complete "Name: value\r\n" lines added (verified claims); moved out
     * of this buffer; NULL for none */
    struct evbuffer *extra;
};

/* Writes the upstream request head (HTTP/1.1, CRLF, ending in the empty
 * line) for client head h to out. Returns 0, or -1 when out of memory. */
int proxy_head_request(struct evbuffer *out, const struct http_request_head *h,
                       const struct proxy_request_info *info);

enum proxy_framing {
    PROXY_RESP_LENGTH = 0, /* Content-Length from the upstream */
    PROXY_RESP_CHUNKED,    /* re-encoded as chunked to the client */
    PROXY_RESP_CLOSE,      /* delimited by closing the client connection */
    PROXY_RESP_NO_BODY,    /* HEAD, 1xx, 204, 304 */
};

struct proxy_response_info {
    const char *request_id;
    const char *version;    /* x-sluice-function-version; NULL for none */
    int client_minor;       /* client's HTTP minor version */
    int head_request;       /* the request was HEAD (keep the upstream's length) */
    enum proxy_framing framing;
    int keep_alive;         /* the client connection stays open after this */
};

/* Writes the response head for the client, from upstream head h, to out.
 * Returns 0, or -1 when out of memory. */
int proxy_head_response(struct evbuffer *out, const struct http_response_head *h,
                        const struct proxy_response_info *info);

#endif
