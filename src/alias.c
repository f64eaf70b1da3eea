/* alias.c - version picking: pins, then stickiness, then a weighted pick
 * over a table precomputed at load time.
 *
 * The table lays the versions on [0, 2^64): extra versions first, in config
 * order, each taking its weight's share, then the primary taking the rest.
 * A pick is one comparison per extra version. A sticky pick walks the same
 * table with a hash of the caller's key in place of the random value, so
 * a caller stays on one version while the weights hold. Because an extra
 * version's share starts where the ones before it end, widening one
 * version's weight (the others unchanged) only moves the end of its share
 * outwards: every caller it had stays, and it gains callers from the
 * versions after it. Those later versions' shares shift along with it, so
 * with two or more extras their callers change; with one canary, the usual
 * case, nothing but the primary gives callers up. */
#include "alias.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "selector.h"

/* 2^64 as a long double: the size of the pick space. */
#define PICK_SPACE 18446744073709551616.0L

/* FNV-1a, 64-bit: fixed constants, so every gateway of a fleet and every
 * restart hash a key alike (no per-process seed, unlike a hash table's). */
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* splitmix64's finalizer: FNV's last bytes reach only the bits above
 * them; this spreads every bit over the whole word, so the hashes of
 * "user1", "user2"... fall uniformly on the table. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int alias_table_build(struct alias *a)
{
    size_t n = a->nweights + 1;
    long double cum = 0;
    const char *fn = a->fn && a->fn->name ? a->fn->name : "";
    const char *name = a->name ? a->name : "";

    a->pick_version = calloc(n, sizeof(*a->pick_version));
    a->pick_upto = calloc(n, sizeof(*a->pick_upto));
    if (!a->pick_version || !a->pick_upto) {
        alias_table_free(a);
        return -1;
    }
    for (size_t i = 0; i < a->nweights; i++) {
        cum += (long double)a->weights[i].weight * PICK_SPACE;
        a->pick_version[i] = a->weights[i].version;
        a->pick_upto[i] = cum >= PICK_SPACE ? UINT64_MAX : (uint64_t)cum;
    }
    a->pick_version[n - 1] = a->primary;
    a->pick_upto[n - 1] = UINT64_MAX;
    a->npick = n;
    /* The names with their NULs, so ("ab", "c") and ("a", "bc") differ:
     * each function's canary takes its own slice of the callers. */
    a->sticky_seed = fnv1a(fnv1a(FNV_OFFSET, fn, strlen(fn) + 1), name, strlen(name) + 1);
    return 0;
}

void alias_table_free(struct alias *a)
{
    free(a->pick_version);
    free(a->pick_upto);
    a->pick_version = NULL;
    a->pick_upto = NULL;
    a->npick = 0;
}

const struct fn_version *alias_pick(const struct alias *a, uint64_t r)
{
    size_t last = a->npick - 1;

    for (size_t i = 0; i < last; i++)
        if (r < a->pick_upto[i])
            return a->pick_version[i];
    return a->pick_version[last];
}

uint64_t alias_sticky_hash(const struct alias *a, struct slice value)
{
    return mix64(fnv1a(a->sticky_seed, value.ptr, value.len));
}

/* The client's address, parsed once per pick and only when a pin asks. */
struct client_addr {
    int state; /* 0 not parsed yet, 1 parsed, -1 not an address */
    struct selector_range addr;
};

static int cond_holds(const struct pin_cond *c, const struct request *req, struct client_addr *ca)
{
    char buf[SELECTOR_VALUE_BUF];
    struct slice v;

    if (!selector_value(&c->sel, req, buf, &v))
        return 0;
    if (c->sel.kind == SELECTOR_IP) {
        /* by address, not text: "::1" and "0::1" are one client */
        if (ca->state == 0)
            ca->state = selector_addr_parse(v, &ca->addr) == 0 ? 1 : -1;
        if (ca->state < 0)
            return 0;
        for (size_t i = 0; i < c->nvalues; i++)
            if (selector_range_has(&c->values[i].range, &ca->addr))
                return 1;
        return 0;
    }
    for (size_t i = 0; i < c->nvalues; i++)
        if (c->values[i].len == v.len && memcmp(c->values[i].text, v.ptr, v.len) == 0)
            return 1;
    return 0;
}

/* The first pin whose every condition holds, or NULL. */
static const struct alias_pin *pin_match(const struct alias *a, const struct request *req)
{
    struct client_addr ca = { 0 };

    for (size_t i = 0; i < a->npins; i++) {
        const struct alias_pin *p = &a->pins[i];
        size_t j = 0;
        while (j < p->nconds && cond_holds(&p->conds[j], req, &ca))
            j++;
        if (j == p->nconds)
            return p;
    }
    return NULL;
}

/* Pins and stickiness: kept out of line, so the plain case does not pay
 * for this one's stack frame and saved registers. */
static const struct fn_version *choose_slow(const struct alias *a, const struct request *req,
                                            uint64_t random, enum pick_reason *why)
    __attribute__((noinline));

static const struct fn_version *choose_slow(const struct alias *a, const struct request *req,
                                            uint64_t random, enum pick_reason *why)
{
    const struct alias_pin *pin = a->npins ? pin_match(a, req) : NULL;
    char buf[SELECTOR_VALUE_BUF];
    struct slice v;

    if (pin) {
        *why = PICK_PIN;
        return pin->version;
    }
    /* No value (no header, no token): nothing to be sticky on, and one
     * version for every such caller would skew the split. */
    if (a->sticky && selector_value(&a->sticky_by, req, buf, &v)) {
        *why = PICK_STICKY;
        return alias_pick(a, alias_sticky_hash(a, v));
    }
    *why = PICK_WEIGHT;
    return alias_pick(a, random);
}

const struct fn_version *alias_choose(const struct alias *a, const struct request *req,
                                      uint64_t random, enum pick_reason *why)
{
    if (a->npins || a->sticky)
        return choose_slow(a, req, random, why);
    *why = PICK_WEIGHT;
    return alias_pick(a, random);
}

const char *alias_reason_name(enum pick_reason why)
{
    switch (why) {
    case PICK_WEIGHT:
        return "weight";
    case PICK_PIN:
        return "pin";
    case PICK_STICKY:
        return "sticky";
    case PICK_FIXED:
        return "fixed";
    }
    return "weight";
}
