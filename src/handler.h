/* handler.h - handler kinds behind one small table of functions. A kind
 * takes a request whose route and version are decided and produces its
 * response through conn.c's response functions. Adding a kind means one new
 * file and one table entry in handler.c. */
#ifndef SLUICE_HANDLER_H
#define SLUICE_HANDLER_H

#include "config.h"

struct request;
struct evbuffer;

struct handler_kind_ops {
    const char *name;
    /* Starts handling req (req->version decided). Returns 0 when the
     * handler has taken the request (it will answer, now or later), or -1
     * when it could not start (the caller answers with req->status). */
    int (*start)(struct request *req);
    /* Request body bytes decoded from the client are in buf; the handler
     * takes what it can (removing it from buf). done is 1 with the last
     * bytes (possibly none). Called only after start() returned 0. */
    void (*body)(struct request *req, struct evbuffer *buf, int done);
    /* The client's output buffer drained below its low-water mark: the
     * handler may produce more response bytes. */
    void (*writable)(struct request *req);
    /* Stops handling: the client went away or the request timed out.
     * Releases everything in req->handler_state. */
    void (*abort)(struct request *req);
    /* A worker thread ends: free what the kind keeps per thread. May be
     * NULL. */
    void (*thread_exit)(void);
};

/* Calls every kind's thread_exit (worker threads, before they end). */
void handler_thread_exit(void);

/* Returns the operations of a kind. Never NULL for a kind the config accepts. */
const struct handler_kind_ops *handler_ops(enum handler_kind kind);

/* The http kind (handler_http.c). */
extern const struct handler_kind_ops handler_http_ops;
/* The invoke kind (handler_invoke.c): the Lambda Invoke API. */
extern const struct handler_kind_ops handler_invoke_ops;
/* The lua kind (handler_lua.c): a Lua file run in process, sandboxed. */
extern const struct handler_kind_ops handler_lua_ops;

#endif
