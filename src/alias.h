/* alias.h - picks the version of a function an alias sends a request to.
 * Weighted random for now: the alias's cumulative table is built once when
 * the config is loaded, so a pick is a short scan with no allocation. */
#ifndef SLUICE_ALIAS_H
#define SLUICE_ALIAS_H

#include <stdint.h>

#include "config.h"

/* Builds a->pick_version / a->pick_upto from a->primary and a->weights
 * (weights must already be valid: each in [0,1], sum <= 1). Returns 0, or
 * -1 when out of memory. The table is freed by alias_table_free(). */
int alias_table_build(struct alias *a);
void alias_table_free(struct alias *a);

/* Returns the version for a uniformly random 64-bit value r: version i of
 * the table when r falls in its share. Never NULL for a built alias. */
const struct fn_version *alias_pick(const struct alias *a, uint64_t r);

#endif
