/* control.h - the control plane's state: the config as its file says it,
 * plus what was changed at run time (published versions, alias state set
 * through the admin API or by a deployment), merged into the immutable
 * snapshots the workers run on. Every change builds a whole new snapshot
 * through config_load_string(), so the config checker validates runtime
 * changes exactly as it validates the file, and workers switch to it the
 * way they do on a reload: requests in flight finish on the old one.
 *
 * How the file and runtime changes combine (the rule tests check):
 *   - An alias changed at run time keeps its runtime state across reloads
 *     and restarts (state_file) for as long as the file's definition of
 *     that alias stays what it was when the change was made. Once the file
 *     changes that alias, the file wins and the runtime state is dropped.
 *   - Versions published at run time are added to the function's versions;
 *     a number the file defines itself is the file's.
 *   - Every alias has a generation that grows by one on every change of its
 *     effective state, from whichever side; If-Match compares against it.
 *
 * Main thread only; nothing here is touched by workers. */
#ifndef SLUICE_CONTROL_H
#define SLUICE_CONTROL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct control;
struct evbuffer;

/* Hands a new snapshot to the running gateway (attach runtime parts, post
 * it to the workers). reload is 1 when the file was read again. Returns 0,
 * or -1 when it cannot be used (the control plane keeps the old one). The
 * callee takes its own references. */
typedef int control_install_fn(void *arg, struct config *cfg, int reload);

/* Saves/restores another module's part of the state file (deployments). */
typedef json_t *control_save_fn(void *arg);

/* Creates the control plane for the config file at path. Nothing is loaded
 * yet. Returns NULL when out of memory. */
struct control *control_new(const char *path, control_install_fn *install, void *arg);

/* Frees it (not the snapshots the workers hold). NULL is a no-op. */
void control_free(struct control *ctl);

/* First load: the file, then the state file it names (a missing state
 * file is an empty state; an unreadable or corrupt one is logged and
 * ignored, never fatal). Does not call install. Returns the snapshot (the
 * control plane keeps its own reference; the caller gets none), or NULL
 * with the file's errors in errs. */
struct config *control_load(struct control *ctl, struct config_errors *errs);

/* Reads the file again and installs file + runtime state. Returns 0, or
 * -1 with the errors in errs (nothing changed). */
int control_reload(struct control *ctl, struct config_errors *errs);

/* The snapshot in force (borrowed). */
struct config *control_config(const struct control *ctl);

/* Another module's part of the state file: save() is called on every
 * write; control_state_part() returns what the state file held under key
 * at control_load() (borrowed; NULL when none). */
void control_state_register(struct control *ctl, const char *key, control_save_fn *save,
                            void *arg);
json_t *control_state_part(const struct control *ctl, const char *key);

/* Writes the state file now (temp file, fsync, rename) if one is
 * configured. Returns 0, or -1 (logged). */
int control_state_write(struct control *ctl);

/* An answer for the admin API: an HTTP status and a JSON body (owned by
 * the caller) or a message. */
struct control_answer {
    int status;
    json_t *body;      /* may be NULL */
    char message[512]; /* when body is NULL and status >= 400 */
};

/* Sets a to status with a message (body NULL). */
void control_answer_set(struct control_answer *a, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* GET /v1/functions and /v1/functions/{fn}. */
void control_functions(struct control *ctl, struct control_answer *a);
void control_function(struct control *ctl, const char *fn, struct control_answer *a);

/* The alias's state: {"function","alias","version","weights","sticky_by",
 * "pins","generation","source"}, new reference; NULL when there is no
 * such alias. */
json_t *control_alias_state(struct control *ctl, const char *fn, const char *alias);

/* The alias's generation; 0 when there is no such alias. */
uint64_t control_alias_generation(struct control *ctl, const char *fn, const char *alias);

/* Sets the alias's state from def ({"version", "weights", "sticky_by",
 * "pins"}; other keys of the admin shape are ignored, unknown ones
 * refused). if_match: the generation the caller read, 0 for none. Checks
 * it, validates the whole resulting config, installs it and writes the
 * state file. a: 200 with the new state, 400/404/412 with why. */
void control_alias_set(struct control *ctl, const char *fn, const char *alias, json_t *def,
                       uint64_t if_match, struct control_answer *a);

/* Publishes a version of fn: def is a version definition, or {} for
 * $LATEST's. a: 201 {"version"} for a new number, 200 when an identical
 * definition is published already, 400/404 with why. */
void control_publish(struct control *ctl, const char *fn, json_t *def, struct control_answer *a);

/* ---- fleet mode (fleet.c): alias state and versions shared through Redis ---- */

struct control_fleet {
    /* An alias changed here (admin or deployment): prev_generation is the
     * one it had before; override is {"state","config_def"}, or NULL when
     * the alias is back to its file definition (borrowed). */
    void (*alias_changed)(void *arg, const char *fn, const char *alias, uint64_t prev_generation,
                          const json_t *override);
    /* A version was published here (def borrowed). */
    void (*version_published)(void *arg, const char *fn, const char *number, const json_t *def);
    void *arg;
};

/* Sets (f copied) or clears (NULL) the fleet hooks. */
void control_set_fleet(struct control *ctl, const struct control_fleet *f);

/* The alias's runtime override ({"state","config_def"}), or NULL (borrowed). */
json_t *control_alias_override(struct control *ctl, const char *fn, const char *alias);

/* Every version published at run time, {fn: {number: def}} (borrowed). */
json_t *control_published(struct control *ctl);

/* Takes the alias state another instance set (override as above, NULL =
 * the file's) with its generation, without calling the hooks. Returns 0,
 * or -1 (logged) when it does not fit this instance's config. */
int control_alias_adopt(struct control *ctl, const char *fn, const char *alias,
                        const json_t *override, uint64_t generation);

/* Takes a version another instance published. Returns 0 or -1 (logged). */
int control_version_adopt(struct control *ctl, const char *fn, const char *number,
                          const json_t *def);

/* Sets the alias's generation (the fleet's number for the same state). */
void control_set_generation(struct control *ctl, const char *fn, const char *alias,
                            uint64_t generation);

/* Appends the current alias weights as Prometheus gauges
 * (sluice_alias_weight{function,alias,version}) and each alias's
 * generation. Returns 0 or -1 (out of memory). */
int control_render_metrics(struct control *ctl, struct evbuffer *out);

#endif
