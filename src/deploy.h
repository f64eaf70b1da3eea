/* deploy.h - deployments: move an alias from its primary version to a
 * target version step by step (AllAtOnce, Canary, Linear, explicit steps),
 * watching the target version's own error rate and p99 over a sliding
 * window and rolling the alias back at once on a breach. Optional pre- and
 * post-traffic hooks (a function that must answer 2xx). The alias is
 * changed through the control plane (control.h), so every step is a
 * validated snapshot; deployments are kept in the state file and resume
 * after a restart where they were.
 *
 * Main thread only. The shapes of the admin API are in the README. */
#ifndef SLUICE_DEPLOY_H
#define SLUICE_DEPLOY_H

#include <jansson.h>

#include "control.h"

struct event_base;
struct evbuffer;
struct deploy_mgr;

/* Creates the manager on base, restores the deployments the state file
 * held (control_state_part "deployments") and resumes those still
 * running. Returns NULL when out of memory. */
struct deploy_mgr *deploy_new(struct event_base *base, struct control *ctl);

/* Stops the timers and frees everything (running deployments stay running
 * in the state file). NULL is a no-op. */
void deploy_free(struct deploy_mgr *dm);

/* Admin API: POST /v1/deployments with body; GET one / all; POST
 * /v1/deployments/{id}/{rollback|stop|promote}. Answers as control.h. */
void deploy_start(struct deploy_mgr *dm, json_t *body, struct control_answer *a);
void deploy_get(struct deploy_mgr *dm, const char *id, struct control_answer *a);
void deploy_list(struct deploy_mgr *dm, struct control_answer *a);
void deploy_action(struct deploy_mgr *dm, const char *id, const char *action,
                   struct control_answer *a);

/* 1 when a deployment is pending or shifting on fn:alias. */
int deploy_running_on(struct deploy_mgr *dm, const char *fn, const char *alias);

/* ---- fleet mode (fleet.c): deployments shared through Redis ---- */

struct metrics_sample;

struct deploy_fleet {
    /* 1 while this instance drives fn:alias's deployment (holds its lease). */
    int (*may_drive)(void *arg, const char *fn, const char *alias);
    /* Fleet-wide cumulative figures of a version: 0, or -1 when there are
     * none yet (the local figures are used then). */
    int (*sample)(void *arg, const char *fn, const char *version, struct metrics_sample *out);
    /* A deployment changed here: share its saved form (borrowed). */
    void (*changed)(void *arg, const char *id, const json_t *saved);
    void *arg;
};

/* Sets (f copied) or clears (NULL) the fleet hooks. */
void deploy_set_fleet(struct deploy_mgr *dm, const struct deploy_fleet *f);

/* A deployment changed on another instance: saved is its saved form. The
 * copy held here is replaced unless it is newer or this instance drives
 * it. */
void deploy_merge(struct deploy_mgr *dm, const json_t *saved);

/* Calls cb for every pending or shifting deployment. */
typedef void deploy_running_fn(void *arg, const char *fn, const char *alias);
void deploy_foreach_running(struct deploy_mgr *dm, deploy_running_fn *cb, void *arg);

/* Appends Prometheus gauges: each running deployment's target weight and
 * every deployment's state. Returns 0 or -1 (out of memory). */
int deploy_render_metrics(struct deploy_mgr *dm, struct evbuffer *out);

#endif
