/* fncall.h - what the function handlers (invoke, lua) share: collecting
 * the request body to build an event, answering with a function's result,
 * and the per-version concurrency limit (max_concurrency) that makes
 * excess requests wait in a bounded queue and then get 429.
 *
 * The limit is process-wide (all workers together: the Lambda Runtime
 * Interface Emulator takes one invocation at a time, whichever worker
 * sends it). Slots are counted with an atomic; a worker whose requests
 * wait is woken when another worker frees a slot.
 *
 * Threads: fncall_init(), fncall_attach() and fncall_shutdown() run on the
 * main thread; everything taking a request runs on that request's worker
 * thread. A version without max_concurrency never touches shared state. */
#ifndef SLUICE_FNCALL_H
#define SLUICE_FNCALL_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct request;
struct evbuffer;
struct worker;
struct lambda_result;
struct fncall_limit;

/* Appends the body bytes in src to dst (moving them), refusing beyond the
 * config's max_body_bytes. Returns 0, or -1 when the body is too large
 * (src is drained; the caller answers 413). dst stays the caller's. */
int fncall_body_add(struct request *req, struct evbuffer *dst, struct evbuffer *src);

/* Answers req with r: status, r's headers (hop-by-hop and framing headers,
 * Date and sluice's own headers dropped), Content-Length set from the body,
 * Date, x-request-id and x-sluice-function-version, the body (none for
 * HEAD, 204, 304). Keep-alive as for sluice's own answers. r is not
 * touched (the caller still clears it). A status outside 200-599 is
 * answered 502 instead (a malformed result). Out of memory: the client
 * connection is closed. The handler has released its state (and set
 * req->handler_state to NULL) before. Ends the request. */
void fncall_respond(struct request *req, const struct lambda_result *r);

/* Answers 429 {"message": ...} with Retry-After: 1: the version's
 * concurrency is full (fncall_acquire() returned -1, or a queued request
 * waited its whole timeout). Ends the request. */
void fncall_respond_throttled(struct request *req);

/* ---- concurrency ---- */

/* Calls go when the version has a free slot. fncall_acquire returns 1
 * when req got a slot now; 0 when it was queued (cb(req) runs on req's
 * worker, from its event loop, when a slot is its, unless fncall_cancel
 * first); -1 when the queue is full or out of memory (answer 429 with
 * fncall_respond_throttled). A version without max_concurrency (or not
 * attached) always gets a slot, at no cost. The queue is per worker, FIFO,
 * max(16, 4 x max_concurrency) long (at most FNCALL_QUEUE_MAX); how long a
 * request may wait is the caller's to bound (fncall_cancel). */
#define FNCALL_QUEUE_MAX 4096
typedef void fncall_ready_fn(struct request *req);
int fncall_acquire(struct request *req, fncall_ready_fn *cb);
/* The call of req ended: frees its slot (and wakes a waiting request,
 * on this worker or another). Call once per slot obtained (acquire
 * returned 1, or cb ran); a no-op for unlimited versions. */
void fncall_release(struct request *req);
/* req leaves the queue (client gone, timeout). Safe if it is not queued. */
void fncall_cancel(struct request *req);

/* A slot held by a call that outlives its request: the client was
 * answered (504) while the function still runs, and the function must
 * keep its slot until it really ends, or an emulator that runs one
 * invocation at a time would get a second. */
struct fncall_slot {
    struct fncall_limit *limit; /* NULL: nothing to release */
    unsigned worker;
};
/* Moves the slot req holds (acquire returned 1, or cb ran) into *slot;
 * req then owes no fncall_release. Unlimited versions give an empty slot.
 * Call on req's worker; the slot is released on that worker too. */
void fncall_detach(struct request *req, struct fncall_slot *slot);
/* Releases a detached slot (waking a waiter as fncall_release does) and
 * empties it; an empty slot is a no-op. */
void fncall_slot_release(struct fncall_slot *slot);

/* ---- runtime wiring ---- */

/* Main thread, once, before any worker runs: nworkers (1 or more, ids
 * 0..nworkers-1) queues per limited version. Returns 0, or -1 when
 * nworkers is 0, already set up, or out of memory. */
int fncall_init(unsigned nworkers);

/* Main thread, after cfg is loaded and before any worker sees it: sets
 * ver->limit for every version with max_concurrency of cfg: the slot count
 * kept for that (function, version) name across reloads, so the requests
 * of an old snapshot and a new one share one count. Without fncall_init()
 * it sets nothing and returns 0. Returns 0, or -1 when out of memory
 * (versions left unattached are unlimited). */
int fncall_attach(struct config *cfg);

/* Frees every limit. Call after the last worker has stopped; configs
 * still alive then point at freed limits. Without fncall_init() a no-op. */
void fncall_shutdown(void);

/* Worker w's thread, from its mailbox (worker_post_fncall): another worker
 * freed slots; hands free slots to w's waiting requests. */
void fncall_worker_wake(struct worker *w);

/* A worker thread ends (its requests are gone): frees its per-thread
 * state, after which no other worker posts to it. Idempotent. */
void fncall_thread_exit(void);

#endif
