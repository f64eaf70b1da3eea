/* throttle.h - the throttle stage of the pipeline: token buckets on
 * routes, aliases and usage plans (per API key, with a daily quota).
 * Without Redis the buckets are process-wide lock-free atomics (GCRA on a
 * monotonic clock) that outlive reloads; with Redis every gateway shares
 * them through lua/redis/throttle.lua, and while Redis is away or slow the
 * local buckets decide (fail open to the local limit). */
#ifndef SLUICE_THROTTLE_H
#define SLUICE_THROTTLE_H

#include <stdint.h>

struct config;
struct request;

/* Gives cfg's routes, aliases and usage plan keys their buckets from the
 * process-wide registry, before workers see cfg. A bucket is found again
 * by name ("route:GET /x", "alias:fn:name", "plan:gold:<key id>") and
 * keeps its state while its settings stay the same. Main thread only.
 * Returns 0, or -1 when out of memory. */
int throttle_attach(struct config *cfg);

/* Frees the registry (at exit, once no worker runs). */
void throttle_shutdown(void);

enum throttle_outcome {
    THROTTLE_PASS,     /* go on with the pipeline */
    THROTTLE_ANSWERED, /* refused (403, 429): a response was sent */
    THROTTLE_WAIT,     /* Redis decides: done(req) is called later when allowed */
};

typedef void throttle_done_fn(struct request *req);

/* Runs the stage for req (route decided). */
enum throttle_outcome throttle_run(struct request *req, throttle_done_fn *done);

/* The request ends while Redis decides: forget it. Safe for any request. */
void throttle_cancel(struct request *req);

/* GCRA, for one bucket: with theoretical arrival time tat, a request at
 * now (same unit) costs interval; tolerance is burst x interval. Returns 1
 * and sets *new_tat when allowed; returns 0 and sets *wait (how long until
 * it would be allowed) when not. */
int throttle_gcra(uint64_t tat, uint64_t now, uint64_t interval, uint64_t tolerance,
                  uint64_t *new_tat, uint64_t *wait);

/* Whole seconds for Retry-After from a wait in nanoseconds: rounded up,
 * at least 1. */
uint64_t throttle_retry_after_s(uint64_t wait_ns);

#endif
