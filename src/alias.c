/* alias.c - weighted version pick over a table precomputed at load time.
 *
 * The table lays the versions on [0, 2^64): extra versions first, in config
 * order, each taking its weight's share, then the primary taking the rest.
 * A pick is one comparison per extra version. Laying the shares out in a
 * fixed order is also what a sticky pick (a hash in place of the random
 * value) needs: widening a weight only moves a boundary outwards. */
#include "alias.h"

#include <math.h>
#include <stdlib.h>

/* 2^64 as a long double: the size of the pick space. */
#define PICK_SPACE 18446744073709551616.0L

int alias_table_build(struct alias *a)
{
    size_t n = a->nweights + 1;
    long double cum = 0;

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
