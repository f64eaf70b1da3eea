/* fleet.h - several sluice instances sharing one Redis: alias state with
 * its generation (compare-and-set by lua/redis/alias_set.lua), versions
 * published at run time, deployments and the per-version figures their
 * rollback decisions read, and a lease so exactly one instance drives each
 * deployment (another takes over when it dies).
 *
 * Keys, under the configured prefix P:
 *   P alias:FN:ALIAS     hash {generation, state}   state: {"state","config_def"} or null
 *   P versions:FN        hash {NUMBER: definition}
 *   P deploy:ID          the deployment (JSON);  P deploys: sorted set of ids
 *   P fig:FN:VERSION     hash of counters pooled from every instance
 *   P lease:FN:ALIAS     the id of the instance driving the alias's deployment
 *   P events             the channel: "alias\tFN\tALIAS\tGEN", "version\tFN\tN",
 *                        "deploy\tID"
 *
 * A change made here is applied here at once and then written to Redis;
 * the notice makes every other instance fetch and apply it. If another
 * instance changed the same alias first (the generation moved on), the
 * write is refused and this instance takes the other's state. While Redis
 * is away every instance keeps serving its last state; deployments pause
 * (nobody holds a lease) and go on when it is back.
 *
 * Main thread, plus one thread of its own that only listens to the
 * channel (hiredis's blocking API) and hands notices over through a pipe. */
#ifndef SLUICE_FLEET_H
#define SLUICE_FLEET_H

#include "config.h"

struct event_base;
struct control;
struct deploy_mgr;
struct fleet;

/* Joins the fleet through rc (copied): hooks itself into ctl and dm and
 * starts listening. Returns NULL when out of memory or the listener
 * thread cannot start (logged). */
struct fleet *fleet_new(struct event_base *base, const struct redis_conf *rc, struct control *ctl,
                        struct deploy_mgr *dm);

/* Leaves: unhooks, stops the listener thread (within half a second) and
 * closes the connection. NULL is a no-op. */
void fleet_free(struct fleet *f);

#endif
