/* http_parser.h - strict HTTP/1.1 message parsing: request heads, response
 * heads and the chunked transfer coding. Pure functions over caller-owned
 * bytes; no allocation. Every ambiguity that could let two parsers disagree
 * about where a message ends (request smuggling) is an error here. */
#ifndef SLUICE_HTTP_PARSER_H
#define SLUICE_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct evbuffer;

#define HTTP_MAX_HEADERS 100

enum http_method {
    HTTP_M_OTHER = 0,
    HTTP_M_GET,
    HTTP_M_HEAD,
    HTTP_M_POST,
    HTTP_M_PUT,
    HTTP_M_DELETE,
    HTTP_M_PATCH,
    HTTP_M_OPTIONS,
    HTTP_M_CONNECT,
    HTTP_M_TRACE,
};

struct http_header {
    struct slice name;  /* as sent (case preserved) */
    struct slice value; /* leading/trailing OWS removed */
};

struct http_parse_limits {
    size_t max_uri_bytes; /* request-target longer than this -> 414 */
};

/* A parsed request head. All slices point into the buffer given to
 * http_parse_request(), which must outlive this struct's use. Only
 * headers[0..nheaders) are valid: the parser never clears the array (the
 * struct is over 3 KB and may be reused from a pool), so entries past
 * nheaders hold whatever they held before. */
struct http_request_head {
    struct slice method;
    enum http_method method_id;
    struct slice target; /* request-target as sent */
    struct slice path;   /* path part of the target (origin-form), starts with '/' */
    struct slice query;  /* after '?', without it; ptr NULL when there is no '?' */
    int version_minor;   /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t nheaders;
    struct slice host;      /* Host header value, or authority of an absolute-form target */
    int64_t content_length; /* -1 when absent */
    unsigned chunked : 1;         /* Transfer-Encoding: chunked */
    unsigned keep_alive : 1;      /* connection may be reused after this request */
    unsigned expect_continue : 1; /* Expect: 100-continue (HTTP/1.1 only) */
};

/* Parses one complete request head: buf[0..len) must hold the request line,
 * the header lines and the terminating empty line, CRLF everywhere (the
 * caller finds "\r\n\r\n" and passes up to and including it). Returns 0 and
 * fills *out, or a 4xx/5xx status when the head must be refused:
 *   400 malformed request line or header, bare CR or LF, NUL or other CTL,
 *       obs-fold, whitespace before ':', missing/duplicate Host on 1.1,
 *       Content-Length and Transfer-Encoding together, conflicting or
 *       malformed Content-Length, Transfer-Encoding that is not exactly
 *       "chunked" (or on HTTP/1.0), dot-segments in the path;
 *   414 target longer than lim->max_uri_bytes;
 *   417 an Expect other than 100-continue;
 *   431 more than HTTP_MAX_HEADERS header fields;
 *   501 a transfer coding other than chunked;
 *   505 an HTTP version other than 1.0 / 1.1.
 * Never reads outside buf[0..len). Writes the fields of *out one by one,
 * never the whole struct: on success every field is set but only
 * headers[0..nheaders) are valid; on error *out is partly written and
 * must not be used. */
int http_parse_request(const char *buf, size_t len, const struct http_parse_limits *lim,
                       struct http_request_head *out);

/* A parsed response head (from an upstream). Slices point into the buffer.
 * As for requests, only headers[0..nheaders) are valid. */
struct http_response_head {
    int status;
    int version_minor;
    struct slice reason;
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t nheaders;
    int64_t content_length; /* -1 when absent */
    unsigned chunked : 1;   /* Transfer-Encoding ends in chunked */
    unsigned until_close : 1; /* body delimited by connection close (no length, not chunked) */
    unsigned keep_alive : 1;  /* the upstream connection may be reused */
};

/* Parses one complete response head (same buffer convention as
 * http_parse_request). Returns 0, or -1 when it is malformed (the proxy
 * answers 502). Framing: Content-Length and Transfer-Encoding together,
 * conflicting lengths, bad characters are errors. A status of 1xx, 204 or
 * 304 means no body whatever the headers say; the caller handles HEAD. */
int http_parse_response(const char *buf, size_t len, struct http_response_head *out);

/* Finds the end of a head in buf[0..len): returns the length up to and
 * including the first "\r\n\r\n", or 0 when it is not there yet.
 * *scan_from (in/out) remembers how far a previous call got so a slow
 * client sending a byte at a time costs linear, not quadratic, work. */
size_t http_head_end(const char *buf, size_t len, size_t *scan_from);

/* Decoder for the chunked transfer coding, incremental over evbuffers. */
struct http_chunked {
    int state;
    uint64_t remaining;   /* bytes left in the current chunk */
    size_t line_bytes;    /* bytes of the current size/trailer line seen */
    size_t trailer_bytes; /* total trailer bytes seen */
    size_t max_trailer_bytes;
};

/* Starts a decoder; trailers (discarded) may total max_trailer_bytes. */
void http_chunked_init(struct http_chunked *c, size_t max_trailer_bytes);

/* Moves decoded body bytes from in to out (chunk data is moved without
 * copying where evbuffer allows), consuming framing bytes. Stops after at
 * most max_out body bytes so the caller can apply backpressure.
 * Returns 1 when the terminating chunk and trailers have been consumed (the
 * message is complete; bytes after it stay in `in`), 0 when more input is
 * needed (or max_out was reached), -1 on bad framing: a size that is not
 * hex, overflows, or has junk after it; a missing CRLF after chunk data; a
 * bare CR/LF; a size or trailer line too long. *moved, when not NULL, gets
 * the number of body bytes moved by this call. */
int http_chunked_decode(struct http_chunked *c, struct evbuffer *in, struct evbuffer *out,
                        size_t max_out, size_t *moved);

/* Returns the method id for a method token (HTTP_M_OTHER for unknown). */
enum http_method http_method_id(struct slice method);

/* Returns the reason phrase for a status code ("Not Found"), or "Unknown". */
const char *http_status_reason(int status);

/* Returns 1 when name is a hop-by-hop header that a proxy must not forward
 * (Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding,
 * Upgrade, Proxy-Authenticate, Proxy-Authorization), else 0. */
int http_header_is_hop_by_hop(struct slice name);

/* Walks a comma-separated header list (Connection, Transfer-Encoding...):
 * sets *elem to the next element with OWS trimmed (possibly empty) and
 * returns 1, or returns 0 at the end. *pos starts at 0. */
int http_list_next(struct slice list, size_t *pos, struct slice *elem);

/* Returns 1 when the comma-separated token list `list` (a header value such
 * as Connection's) contains token, ASCII case-insensitively. */
int http_list_has_token(struct slice list, struct slice token);

#endif
