/* jwks.h - JWKS documents fetched from URLs and kept fresh: one source
 * per URL, shared by every authorizer naming it and kept across config
 * reloads. Fetching runs on the main thread's loop; workers read the
 * current key set (a reference, under a short lock taken only when a
 * token is verified, never on a cache hit) and ask for a refetch when a
 * token names a kid they do not know. The last good set is kept when a
 * fetch fails. Only public keys are trusted from a URL. */
#ifndef SLUICE_JWKS_H
#define SLUICE_JWKS_H

#include <stdint.h>

struct event_base;
struct jose_keyset;
struct jwks_registry;
struct jwks_source;

/* Called on the main thread after each fetch of src ends (changed = 1
 * when the key set was replaced). */
typedef void jwks_notify_cb(void *arg, struct jwks_source *src, int changed);

/* Returns a registry fetching on base (the main thread's loop). */
struct jwks_registry *jwks_registry_new(struct event_base *base, jwks_notify_cb *notify, void *arg);
/* Cancels fetches and frees every source. Sources must no longer be used. */
void jwks_registry_free(struct jwks_registry *reg);

/* Main thread: the source for url fetched with ca_file as the trusted CA
 * bundle (NULL: the system store); created, and a first fetch started, on
 * first use; refresh_s then sets how often it is refetched: the shortest
 * asked for wins. Returns NULL when out of memory. */
struct jwks_source *jwks_registry_source(struct jwks_registry *reg, const char *url,
                                         const char *ca_file, uint32_t refresh_s);

/* Main thread: drops sources no authorizer names any more. `keep` is
 * called for each source; those for which it returns 0 are freed. */
void jwks_registry_prune(struct jwks_registry *reg, int (*keep)(void *arg, struct jwks_source *s),
                         void *arg);

/* Any thread: the current key set with a new reference (the caller
 * unrefs), or NULL before the first successful fetch. */
struct jose_keyset *jwks_source_keys(struct jwks_source *src);

/* Any thread: asks for a refetch now because a token named an unknown
 * kid. Refetches happen at most once per JWKS_MIN_REFETCH_S seconds.
 * Returns 1 when a fetch is (or already was) under way, so a notify will
 * follow; 0 when rate-limited. */
int jwks_source_request_refresh(struct jwks_source *src);
#define JWKS_MIN_REFETCH_S 5

/* The url of a source. */
const char *jwks_source_url(const struct jwks_source *src);

/* Counters: completed fetches, failed fetches. */
void jwks_source_stats(const struct jwks_source *src, unsigned long *fetches, unsigned long *failures);

#endif
