/* metrics.h - request counters and latency histograms per (route, function,
 * alias, version), kept per worker without locks, rendered for Prometheus
 * and summed per function version for canary alarms.
 *
 * A series is one (route spec, function, alias or "", version) tuple. Series
 * live in a process-wide registry keyed by those names, so a reload that
 * builds an equal route finds the same series and its counters go on. Each
 * series holds one cell per worker; a cell is written by its worker only
 * (no lock, no atomic read-modify-write) and read by the main thread.
 *
 * Threads: metrics_init(), metrics_shutdown(), metrics_attach(),
 * metrics_render() and the metrics_version_sample() family run on the main
 * thread (they take the registry's mutex; none is on the request path).
 * metrics_record() and metrics_observe() run on a worker thread, for that
 * worker's cell only. */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct request;
struct evbuffer;
struct metrics_series;

/* At most this many series; a tuple beyond it is not recorded (logged once). */
#define METRICS_MAX_SERIES 65536u

/* Latency buckets: upper bounds 1, 2.5, 5, 10, 25, 50, 75, 100, 150, 250,
 * 400, 500, 750, 1000, 1500, 2500, 5000, 10000 ms, then +Inf. */
#define METRICS_NBUCKETS 19

/* Flags for metrics_observe(). */
#define METRICS_AUTH_HIT 1u       /* the authorizer's answer came from a cache */
#define METRICS_AUTH_MISS 2u      /* the authorizer verified (no cached answer) */
#define METRICS_FUNCTION_ERROR 4u /* the function itself failed (invoke/lua) */
#define METRICS_BREAKER_OPEN 8u   /* answered 503 by an open circuit breaker */
/* Refused by the throttle stage (429), by limit: route, alias, usage plan
 * rate, usage plan daily quota (request.h's req->throttled). */
#define METRICS_NTHROTTLE 4
#define METRICS_THROTTLED(i) (16u << (i)) /* i: 0 route, 1 alias, 2 plan, 3 quota */

/* Cumulative figures of one function version, summed over its series and
 * every worker. Counters only grow, so the figures of a window are the
 * difference of two samples (metrics_sample_sub). */
struct metrics_sample {
    uint64_t requests;                  /* answered requests, any status */
    uint64_t errors;                    /* requests with a 5xx or a function error (once if both) */
    uint64_t duration_us_sum;           /* total latency, microseconds */
    uint64_t buckets[METRICS_NBUCKETS]; /* requests per bucket, NOT cumulative; last is +Inf */
};

/* Sets up the registry for nworkers workers (1 or more; worker ids 0 to
 * nworkers - 1). Call once on the main thread before any worker runs.
 * Returns 0, or -1 when nworkers is 0, out of memory, or already set up. */
int metrics_init(unsigned nworkers);

/* Frees every series. Call after the last worker has stopped; route->series
 * arrays of configs still alive then point at freed series, so free those
 * configs first or never use them again. Without metrics_init() a no-op. */
void metrics_shutdown(void);

/* Main thread, after cfg is loaded and before any worker sees it: sets
 * route->series for every route of cfg (an array of fn->nversions + 1
 * entries that cfg owns and config_free() frees): entry i is the series of
 * fn->versions[i]; entry fn->nversions is the route's series for requests
 * answered before a version was picked (401, 403, authorizer failures),
 * recorded with version "". A route aimed at a fixed version gets only that
 * version's entry, the other entries are NULL; a NULL entry is also what a
 * tuple beyond METRICS_MAX_SERIES gets (it records nothing). A tuple seen
 * in an earlier config gets the same series back. Without metrics_init()
 * it sets nothing and returns 0. Returns 0, or -1 when out of memory (cfg
 * may then hold some arrays; config_free() frees them). */
int metrics_attach(struct config *cfg);

/* Worker thread, when req ends (pipeline_record): counts it in this
 * worker's cell of its series: status class, latency from req->start_us to
 * now, authorizer cache hit or miss, function error, throttling (by which
 * limit) and an open circuit breaker. A request with no
 * route (400, 404, 405, 408, 414, 431: nothing matched or nothing was
 * parsed) is counted under the series whose labels are all "". Does
 * nothing when the route has no series (not attached, or beyond the cap).
 * No allocation, no lock, no atomic read-modify-write. */
void metrics_record(const struct request *req);

/* Worker thread `worker`: counts one request of the given status (a status
 * outside 100-599 counts as 5xx) and duration in s. flags: METRICS_AUTH_*,
 * METRICS_FUNCTION_ERROR, METRICS_BREAKER_OPEN, METRICS_THROTTLED(i). s may be NULL (nothing is counted); only that
 * worker's thread may call it for that worker id. */
void metrics_observe(struct metrics_series *s, unsigned worker, int status, uint64_t duration_us,
                     unsigned flags);

/* Main thread: fills *out with the figures of version `version` of function
 * `fn`, summed over every route that served it and every worker (requests
 * answered before a version was picked are not in it). Returns the number
 * of series summed: 0 when none exists yet (out is then all zero), or -1
 * when metrics are not set up (out is all zero). */
int metrics_version_sample(const char *fn, const char *version, struct metrics_sample *out);

/* out = now - then, field by field (out may be now or then). A field of
 * then above now (it cannot happen with samples of one process) gives 0. */
void metrics_sample_sub(const struct metrics_sample *now, const struct metrics_sample *then,
                        struct metrics_sample *out);

/* The q-quantile (0 <= q <= 1, clamped) of s's latency in milliseconds,
 * interpolated linearly inside its bucket as Prometheus'
 * histogram_quantile() does; a quantile in the +Inf bucket gives the last
 * finite bound (10000). Returns NAN when s holds no request (or q is NaN):
 * test with isnan(), as NAN compares false with every threshold. */
double metrics_sample_quantile_ms(const struct metrics_sample *s, double q);

/* Main thread: appends every series that has counted a request to out, in
 * Prometheus text format 0.0.4 (HELP and TYPE lines, sorted series):
 * sluice_requests_total, sluice_function_errors_total,
 * sluice_request_duration_seconds (histogram) and
 * sluice_authorizer_cache_total. No "# EOF": the caller may append more.
 * Returns 0, or -1 when out of memory (out may hold part of the text). */
int metrics_render(struct evbuffer *out);

#endif
