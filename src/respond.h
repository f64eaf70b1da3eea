/* respond.h - responses sluice makes itself (errors, 404, 405, 502...):
 * a JSON body {"message": ..., "request_id": ...} with the request id and,
 * when a version was picked, the version header. */
#ifndef SLUICE_RESPOND_H
#define SLUICE_RESPOND_H

#include <stddef.h>

struct evbuffer;

struct respond_info {
    int status;
    const char *message;       /* plain text, JSON-escaped here */
    const char *request_id;
    const char *version;       /* x-sluice-function-version, or NULL */
    const char *extra_headers; /* complete "Name: value\r\n" lines, or NULL */
    const char *date;          /* HTTP date for the Date header, or NULL */
    int client_minor;
    int keep_alive;
    int head_only;             /* HEAD request: headers only */
};

/* Writes a complete response to out. Returns the number of bytes written,
 * or -1 when out of memory. */
long respond_write(struct evbuffer *out, const struct respond_info *ri);

/* Writes s to out as a JSON string body (without quotes), escaping what
 * JSON requires. Returns 0 or -1. */
int respond_json_escape(struct evbuffer *out, const char *s, size_t len);

#endif
