/* lambda_event.h - API Gateway Lambda-proxy events (payload 1.0 and 2.0)
 * built from a request, and function results turned back into a response,
 * field for field as AWS documents them. Pure data transformation: no I/O,
 * no event loop; the invoke and lua handlers (and the function
 * authorizers) share it. */
#ifndef SLUICE_LAMBDA_EVENT_H
#define SLUICE_LAMBDA_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct request;

/* What a route sends functions ("payload": "1.0" or "2.0"; default 2.0):
 * enum payload_version { PAYLOAD_V2 = 0, PAYLOAD_V1 = 1 } lives in
 * config.h (included above), since struct route carries one. */

/* Limits on a function's result, as Lambda's own 6 MB response limit. */
#define LAMBDA_RESULT_MAX_BYTES (6u * 1024 * 1024) /* JSON text, or body once decoded */
#define LAMBDA_RESULT_MAX_HEADERS 256              /* headers + multiValueHeaders + cookies */
#define LAMBDA_RESULT_MAX_DEPTH 128                /* nesting of arrays and objects */

/* Builds the proxy event for req (route matched, authorized, version
 * picked) with its whole body (len bytes, may be 0). Binary bodies (not
 * UTF-8, or a content type that is not text/JSON/XML/form) are
 * base64-encoded with isBase64Encoded true. now_ms is the request time.
 * Returns a new reference, or NULL when out of memory.
 *
 * now_ms is wall-clock time, milliseconds since the Unix epoch
 * (requestTimeEpoch / timeEpoch); not util.h's monotonic now_ms():
 * lambda_event_time_ms() gives it. Only req->head (parsed), ->match,
 * ->route (may be NULL: then "$default") and its authorizer's type,
 * ->auth (may be NULL; a Lambda authorizer's context sits in its claims),
 * ->auth_cache and ->authz_*_us (integrationLatency), ->client_ip,
 * ->request_id and ->cfg (may be NULL) are read. body may
 * be NULL when len is 0; it is copied. Bytes that are not UTF-8 in
 * headers or decoded query and path values become U+FFFD. Also NULL when
 * len exceeds req->cfg->limits.max_body_bytes (the caller refused such a
 * body with 413 already; this is only a guard). */
json_t *lambda_event_build(const struct request *req, enum payload_version pv,
                           const unsigned char *body, size_t len, uint64_t now_ms);

/* The wall clock in milliseconds since the Unix epoch, for
 * lambda_event_build(). */
uint64_t lambda_event_time_ms(void);

/* One response header of a result, in order. */
struct lambda_header {
    char *name;
    char *value;
};

/* A function's result made into a response. */
struct lambda_result {
    int status;
    struct lambda_header *headers; /* nheaders, in order; one Set-Cookie per v2 cookie */
    size_t nheaders;
    unsigned char *body; /* decoded (base64 undone); NULL exactly when body_len is 0 */
    size_t body_len;
    char error[200]; /* why the result is malformed */
};

/* Turns a result value into r (cleared first). v2: a value without
 * statusCode (any JSON, or a string) is a 200 with that JSON as the body
 * and content-type application/json. Header names and values are checked
 * (no CR/LF/NUL, token names); a malformed result returns -1 with the
 * reason in r->error. Returns 0. r owns what it holds.
 *
 * In detail: "cleared first" means r is overwritten without freeing what
 * it held (pass a zeroed struct, or one lambda_result_clear() emptied);
 * after -1, r holds nothing but error. statusCode is an integer 100-599,
 * or a string of three digits (API Gateway's REST APIs take "200" too);
 * v1 needs it, and a v1 result that is not an object is malformed.
 * headers values may be strings, numbers or booleans (turned into their
 * JSON text, as API Gateway does); multiValueHeaders values are arrays of
 * those and replace a "headers" entry of the same name (any case); v2
 * cookies (strings) become one Set-Cookie each. Hop-by-hop headers
 * (Connection, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding,
 * Upgrade) and Content-Length are dropped: the response writer frames the
 * body itself. body is a string (absent or null: empty), base64-decoded
 * strictly when isBase64Encoded is true. Beyond LAMBDA_RESULT_MAX_HEADERS,
 * LAMBDA_RESULT_MAX_DEPTH or LAMBDA_RESULT_MAX_BYTES it is malformed too.
 * Only -1 or 0 is returned; running out of memory is -1 ("out of memory"). */
int lambda_result_from_json(const json_t *v, enum payload_version pv, struct lambda_result *r);

/* Same from JSON text (what an emulator answers): text[0..len) need not
 * be NUL-terminated. Text that is not JSON, or longer than
 * LAMBDA_RESULT_MAX_BYTES, is malformed. A v2 result without statusCode
 * keeps its text as sent for the body (as API Gateway does). */
int lambda_result_parse(const char *text, size_t len, enum payload_version pv,
                        struct lambda_result *r);

/* Frees what r holds and empties it (zeroed, ready for reuse). NULL and
 * an already empty r are fine. */
void lambda_result_clear(struct lambda_result *r);

#endif
