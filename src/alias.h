/* alias.h - picks the version of a function an alias sends a request to:
 * a matching pin first, then the caller's sticky version, then a weighted
 * random pick. The alias's cumulative table is built once when the config
 * is loaded, so a pick is a short scan with no allocation. */
#ifndef SLUICE_ALIAS_H
#define SLUICE_ALIAS_H

#include <stdint.h>

#include "config.h"
#include "util.h"

struct request;

/* Why a request went to its version (the access log's "pick"). */
enum pick_reason {
    PICK_WEIGHT = 0, /* weighted random: no pin matched, no sticky value */
    PICK_PIN,        /* a pin matched */
    PICK_STICKY,     /* the hash of the sticky_by value */
    PICK_FIXED,      /* the route names a version, not an alias */
};

/* Builds a->pick_version / a->pick_upto from a->primary and a->weights
 * (weights must already be valid: each in [0,1], sum <= 1), and the sticky
 * hash seed from the function and alias names (a->fn may be NULL). Returns
 * 0, or -1 when out of memory. The table is freed by alias_table_free(). */
int alias_table_build(struct alias *a);
void alias_table_free(struct alias *a);

/* Returns the version for a 64-bit value r, uniform over [0, 2^64):
 * version i of the table when r falls in its share. Never NULL for a
 * built alias. */
const struct fn_version *alias_pick(const struct alias *a, uint64_t r);

/* The version a built alias sends req to, in this order: the first pin
 * whose every condition holds; the caller's sticky version when sticky_by
 * has a value in req; else alias_pick(a, random). Sets *why to PICK_PIN,
 * PICK_STICKY or PICK_WEIGHT. Never NULL; allocates nothing; req is only
 * read. Without pins and sticky_by it costs two tests more than
 * alias_pick(). */
const struct fn_version *alias_choose(const struct alias *a, const struct request *req,
                                      uint64_t random, enum pick_reason *why);

/* The sticky hash of value for alias a (built): a uniform 64-bit value,
 * the same on every gateway and across restarts, that depends on the
 * function and alias names too, so two aliases split callers
 * independently. alias_choose() walks the table with it. */
uint64_t alias_sticky_hash(const struct alias *a, struct slice value);

/* "weight", "pin", "sticky" or "fixed". */
const char *alias_reason_name(enum pick_reason why);

#endif
