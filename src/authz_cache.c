/* authz_cache.c - a worker's authorizer-result cache: chained hash table plus an LRU list. */
#include "authz_cache.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include "util.h"

/* The bucket array is sized once from max_entries (load factor <= 1, so no
 * rehash ever); past this many buckets, chains grow instead of the array,
 * so a huge max_entries does not cost a huge allocation up front. */
#define AUTHZ_MIN_BUCKETS ((size_t)8)
#define AUTHZ_MAX_BUCKETS ((size_t)1 << 20)

/* One cached result. Fixed size: the result itself is shared, not copied.
 * hpprev points at whatever points at us (a bucket head or the previous
 * entry's hnext), so unlinking from a chain needs no walk. */
struct authz_entry {
    uint8_t key[AUTHZ_KEY_BYTES];
    struct authz_entry *hnext, **hpprev;
    struct authz_entry *lru_prev, *lru_next; /* lru_prev toward most recent */
    struct authz_result *result;
    uint64_t expires_ms;
    uint32_t owner;
};

struct authz_cache {
    struct authz_entry **buckets;
    size_t nbuckets;
    unsigned bucket_bits;
    uint64_t mult; /* random odd multiplier for multiply-shift hashing */
    size_t count, max_entries;
    struct authz_entry *lru_head, *lru_tail; /* head = most recent */
};

/* ---- results ---- */

struct authz_result *authz_result_new(int status, const char *reason, const char *principal,
                                      json_t *claims, int64_t exp)
{
    struct authz_result *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->refs = 1;
    r->status = status;
    r->exp = exp;
    if (reason && !(r->reason = strdup(reason)))
        goto fail;
    if (principal && !(r->principal = strdup(principal)))
        goto fail;
    r->claims = json_incref(claims); /* json_incref(NULL) is NULL */
    return r;
fail:
    free(r->reason);
    free(r->principal);
    free(r);
    return NULL;
}

struct authz_result *authz_result_ref(struct authz_result *r)
{
    if (r)
        r->refs++;
    return r;
}

void authz_result_unref(struct authz_result *r)
{
    if (!r || --r->refs > 0)
        return;
    free(r->reason);
    free(r->principal);
    json_decref(r->claims);
    json_decref(r->policy);
    free(r);
}

char *authz_result_encode(const struct authz_result *r)
{
    json_t *o;
    char *s;

    if (!r)
        return NULL;
    /* "s?"/"O?" emit null for NULL; the key order is the insertion order,
     * which keeps the encoding stable for byte-wise comparisons. */
    o = json_pack("{s:i, s:s?, s:s?, s:O?, s:I, s:O*}", "s", r->status, "r", r->reason, "p",
                  r->principal, "c", r->claims, "e", (json_int_t)r->exp, "y", r->policy);
    if (!o)
        return NULL;
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* Reads an optional string member: present and either a string or null.
 * Returns 0 and sets *out (borrowed, or NULL for null), or -1. */
static int decode_opt_string(json_t *o, const char *name, const char **out)
{
    json_t *v = json_object_get(o, name);

    if (!v)
        return -1;
    if (json_is_null(v)) {
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 0;
}

struct authz_result *authz_result_decode(const char *s, size_t len)
{
    struct authz_result *r = NULL;
    json_t *root, *vs, *vc, *ve;
    const char *reason, *principal;
    json_int_t status;

    if (!s)
        return NULL;
    /* The shared cache is outside this process: treat what comes back as
     * untrusted. Duplicate keys would make the meaning ambiguous. */
    root = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(root))
        goto out;
    vs = json_object_get(root, "s");
    vc = json_object_get(root, "c");
    ve = json_object_get(root, "e");
    if (!json_is_integer(vs) || !json_is_integer(ve))
        goto out;
    status = json_integer_value(vs);
    if (status != 0 && status != 401 && status != 403 && status != 500)
        goto out;
    if (decode_opt_string(root, "r", &reason) < 0 || decode_opt_string(root, "p", &principal) < 0)
        goto out;
    /* Claims are a token payload, which JWT makes an object. */
    if (!vc || !(json_is_null(vc) || json_is_object(vc)))
        goto out;
    r = authz_result_new((int)status, reason, principal, json_is_null(vc) ? NULL : vc,
                         (int64_t)json_integer_value(ve));
    /* a Lambda authorizer's policy, when there was one */
    if (r && json_is_object(json_object_get(root, "y")))
        r->policy = json_incref(json_object_get(root, "y"));
out:
    json_decref(root); /* claims survive: the result holds its own reference */
    return r;
}

/* ---- cache ---- */

/* Multiply-shift (Dietzfelbinger) over the key's first 8 bytes. Keys are
 * digests, but of caller-chosen tokens: with a public bucket function a
 * client could grind tokens into one chain. A secret random multiplier
 * makes any two keys collide with probability <= 2/nbuckets. */
static size_t bucket_of(const struct authz_cache *c, const uint8_t *key)
{
    uint64_t h;

    memcpy(&h, key, sizeof(h));
    return (size_t)((h * c->mult) >> (64 - c->bucket_bits));
}

struct authz_cache *authz_cache_new(size_t max_entries)
{
    struct authz_cache *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->max_entries = max_entries;
    c->nbuckets = AUTHZ_MIN_BUCKETS;
    c->bucket_bits = 3;
    while (c->nbuckets < max_entries && c->nbuckets < AUTHZ_MAX_BUCKETS) {
        c->nbuckets <<= 1;
        c->bucket_bits++;
    }
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    if (getrandom(&c->mult, sizeof(c->mult), GRND_NONBLOCK) != (ssize_t)sizeof(c->mult))
        /* no kernel randomness yet: time and address are weak but vary */
        c->mult = (now_us() * 0x9e3779b97f4a7c15ull) ^ (uint64_t)(uintptr_t)c;
    c->mult |= 1; /* multiply-shift needs an odd multiplier */
    return c;
}

static void lru_unlink(struct authz_cache *c, struct authz_entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        c->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        c->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(struct authz_cache *c, struct authz_entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = c->lru_head;
    if (c->lru_head)
        c->lru_head->lru_prev = e;
    else
        c->lru_tail = e;
    c->lru_head = e;
}

/* Takes e out of the table and the list and drops its result; the memory
 * is the caller's to free or reuse. */
static void entry_detach(struct authz_cache *c, struct authz_entry *e)
{
    *e->hpprev = e->hnext;
    if (e->hnext)
        e->hnext->hpprev = e->hpprev;
    lru_unlink(c, e);
    authz_result_unref(e->result);
    e->result = NULL;
    c->count--;
}

static struct authz_entry *entry_find(const struct authz_cache *c, const uint8_t *key)
{
    struct authz_entry *e = c->buckets[bucket_of(c, key)];

    while (e && memcmp(e->key, key, AUTHZ_KEY_BYTES) != 0)
        e = e->hnext;
    return e;
}

void authz_cache_free(struct authz_cache *c)
{
    struct authz_entry *e, *next;

    if (!c)
        return;
    for (e = c->lru_head; e; e = next) {
        next = e->lru_next;
        authz_result_unref(e->result);
        free(e);
    }
    free(c->buckets);
    free(c);
}

struct authz_result *authz_cache_get(struct authz_cache *c, const uint8_t key[AUTHZ_KEY_BYTES],
                                     uint64_t now_ms)
{
    struct authz_entry *e = entry_find(c, key);

    if (!e)
        return NULL;
    if (now_ms >= e->expires_ms) {
        /* drop it now: it can never hit again and would hold a slot */
        entry_detach(c, e);
        free(e);
        return NULL;
    }
    if (c->lru_head != e) {
        lru_unlink(c, e);
        lru_push_front(c, e);
    }
    return authz_result_ref(e->result);
}

int authz_cache_put(struct authz_cache *c, const uint8_t key[AUTHZ_KEY_BYTES], uint32_t owner,
                    struct authz_result *r, uint64_t expires_ms)
{
    struct authz_entry *e, **head;

    if (!r)
        return -1;
    if (c->max_entries == 0)
        return 0; /* a zero-sized cache is a disabled one, not an error */
    e = entry_find(c, key);
    if (e) {
        /* ref before unref: r may be the very result already stored */
        authz_result_ref(r);
        authz_result_unref(e->result);
        e->result = r;
        e->expires_ms = expires_ms;
        e->owner = owner;
        lru_unlink(c, e);
        lru_push_front(c, e);
        return 0;
    }
    if (c->count >= c->max_entries) {
        /* reuse the evicted entry's memory: a full cache never allocates */
        e = c->lru_tail;
        entry_detach(c, e);
    } else if (!(e = malloc(sizeof(*e)))) {
        return -1;
    }
    memcpy(e->key, key, AUTHZ_KEY_BYTES);
    e->result = authz_result_ref(r);
    e->expires_ms = expires_ms;
    e->owner = owner;
    head = &c->buckets[bucket_of(c, key)];
    e->hnext = *head;
    e->hpprev = head;
    if (*head)
        (*head)->hpprev = &e->hnext;
    *head = e;
    lru_push_front(c, e);
    c->count++;
    return 0;
}

void authz_cache_flush(struct authz_cache *c, uint32_t owner)
{
    struct authz_entry *e, *next;

    for (e = c->lru_head; e; e = next) {
        next = e->lru_next;
        if (e->owner == owner) {
            entry_detach(c, e);
            free(e);
        }
    }
}

size_t authz_cache_count(const struct authz_cache *c)
{
    return c->count;
}
