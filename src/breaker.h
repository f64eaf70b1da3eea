/* breaker.h - circuit breakers, one per upstream address, shared by every
 * worker thread. A breaker opens after a run of consecutive failures,
 * refuses requests for a cool-down, then lets one probe through: the
 * probe's success closes it, its failure opens it again. */
#ifndef SLUICE_BREAKER_H
#define SLUICE_BREAKER_H

#include <stdint.h>
#include <sys/socket.h>

struct breaker;

enum breaker_verdict {
    BREAKER_ALLOW, /* closed: send the request */
    BREAKER_PROBE, /* half-open: send it as the one probe; report its end */
    BREAKER_DENY,  /* open: answer 503 at once */
};

/* Returns the process-wide breaker for the address sa, creating it on
 * first use; NULL when out of memory. Breakers live until the process
 * ends (they outlive config reloads). Thread-safe. */
struct breaker *breaker_get(const struct sockaddr *sa, socklen_t salen);

/* A standalone breaker named name (for tests); freed by breaker_free. */
struct breaker *breaker_new(const char *name);
/* Frees a breaker from breaker_new. NULL is a no-op. */
void breaker_free(struct breaker *b);

/* May a request go now (now_ms: a monotonic clock)? On BREAKER_DENY,
 * *retry_after_s (when not NULL) gets the seconds left in the cool-down,
 * at least 1. Thread-safe; lock-free while the breaker is closed. */
enum breaker_verdict breaker_allow(struct breaker *b, uint64_t now_ms, uint32_t cooldown_ms,
                                   uint32_t *retry_after_s);

/* Reports how a request let through ended: ok = 0 for a failure. probe is
 * 1 when breaker_allow said BREAKER_PROBE. failures is the run of
 * consecutive failures that opens the breaker. */
void breaker_record(struct breaker *b, int probe, int ok, uint64_t now_ms, uint32_t failures,
                    uint32_t cooldown_ms);

/* A probe ended without a verdict (the client went away): the next
 * request becomes the probe. */
void breaker_cancel_probe(struct breaker *b);

/* "closed", "open" or "half-open" (for tests and logs). */
const char *breaker_state_name(const struct breaker *b);

#endif
