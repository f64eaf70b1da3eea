/* authz_cache.h - a worker's cache of authorizer results: a hash table
 * with LRU eviction and per-entry expiry, bounded in entries. Keys are
 * 32-byte digests (of the authorizer and its identity-source values), so
 * no token is kept. One per worker: no locks. */
#ifndef SLUICE_AUTHZ_CACHE_H
#define SLUICE_AUTHZ_CACHE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define AUTHZ_KEY_BYTES 32

/* What an authorizer decided. Immutable once made; shared by reference
 * count (one worker only: the count is not atomic). */
struct authz_result {
    unsigned refs;
    int status;        /* 0 = allowed; 401, 403 or 500 = refused with that status */
    char *reason;      /* why it was refused (for the log), or NULL */
    char *principal;   /* "sub" (or the authorizer's principalId), or NULL */
    json_t *claims;    /* the token's claims, or a Lambda authorizer's context; or NULL */
    int64_t exp;       /* token expiry, seconds since the epoch; 0 = none */
    /* A Lambda authorizer's policyDocument, evaluated against each
     * request's ARN (a cached policy may allow one path and not another);
     * NULL for JWT results and simple answers. Set once, before sharing. */
    json_t *policy;
};

/* Returns a result with one reference and the given fields (strings
 * copied, claims referenced), or NULL when out of memory. */
struct authz_result *authz_result_new(int status, const char *reason, const char *principal,
                                      json_t *claims, int64_t exp);
struct authz_result *authz_result_ref(struct authz_result *r);
/* Drops a reference; frees with the last. NULL does nothing. */
void authz_result_unref(struct authz_result *r);

/* Serializes a result to compact JSON for the shared cache; returns a
 * malloc'ed NUL-terminated string or NULL. */
char *authz_result_encode(const struct authz_result *r);
/* Parses what authz_result_encode() made; NULL when malformed. */
struct authz_result *authz_result_decode(const char *s, size_t len);

struct authz_cache;

/* Returns a cache holding at most max_entries results, or NULL. */
struct authz_cache *authz_cache_new(size_t max_entries);
/* Frees the cache and drops its references. NULL does nothing. */
void authz_cache_free(struct authz_cache *c);

/* Looks key up at time now_ms (monotonic). Returns the result with a new
 * reference (the caller unrefs it), or NULL when absent or expired (an
 * expired entry is removed). A hit makes the entry most recently used. */
struct authz_result *authz_cache_get(struct authz_cache *c, const uint8_t key[AUTHZ_KEY_BYTES],
                                     uint64_t now_ms);

/* Stores r (the cache takes its own reference) under key until
 * expires_ms, replacing an older entry; evicts the least recently used
 * entry when full. owner tags the entry for authz_cache_flush(). Returns
 * 0, or -1 when out of memory (nothing stored). */
int authz_cache_put(struct authz_cache *c, const uint8_t key[AUTHZ_KEY_BYTES], uint32_t owner,
                    struct authz_result *r, uint64_t expires_ms);

/* Removes every entry tagged owner. */
void authz_cache_flush(struct authz_cache *c, uint32_t owner);

/* Number of entries held. */
size_t authz_cache_count(const struct authz_cache *c);

#endif
