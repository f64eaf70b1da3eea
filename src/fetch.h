/* fetch.h - a one-shot HTTP/1.1 GET (or JSON POST) over http:// or https:// on an event
 * loop, for documents sluice needs at run time (JWKS). https verifies the
 * server certificate against the system store (or a CA file) and the host
 * name, with SNI. Bodies are capped. */
#ifndef SLUICE_FETCH_H
#define SLUICE_FETCH_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct fetch;

/* status: the HTTP status (body/len the whole body, valid during the
 * call), or 0 on failure with error set ("connection refused",
 * "certificate verify failed: ...", "timed out", "body too large"). */
typedef void fetch_done_cb(void *arg, int status, const char *body, size_t len, const char *error);

struct fetch_opts {
    uint32_t timeout_ms; /* whole exchange */
    size_t max_body;     /* larger bodies fail */
    const char *ca_file; /* NULL: the system store */
    /* A POST instead of a GET when body is set (copied; sent as JSON):
     * deployment hooks. */
    const char *body;
    size_t body_len;
};

/* Starts GET url (POST when o->body) on base. cb is called exactly once, later (never from
 * inside this call) unless cancelled. Returns a handle, or NULL with a
 * reason in err when the url is unusable (cb not called). */
struct fetch *fetch_get(struct event_base *base, const char *url, const struct fetch_opts *o,
                        fetch_done_cb *cb, void *arg, char *err, size_t errlen);

/* Abandons a fetch: cb will not be called. NULL does nothing. */
void fetch_cancel(struct fetch *f);

#endif
