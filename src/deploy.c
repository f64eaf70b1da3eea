/* deploy.c - deployments: steps, alarms, hooks, rollback, persistence. */
#include "deploy.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "fetch.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

/* How often deployments are looked at: alarms are evaluated and samples
 * taken at least once a second, steps advance on time to this much. */
#define TICK_MS 250
#define SAMPLE_EVERY_S 1.0
#define MAX_STEPS 100
#define MAX_WINDOW_S 3600
#define DEFAULT_WINDOW_S 30
#define DEFAULT_MIN_REQUESTS 20
#define HOOK_TIMEOUT_MS 10000
/* Ended deployments kept for GET; the oldest go first. */
#define KEEP_ENDED 50

enum dstate { D_PENDING, D_SHIFTING, D_SUCCEEDED, D_ROLLED_BACK, D_STOPPED };
static const char *const state_names[] = { "pending", "shifting", "succeeded", "rolled_back",
                                           "stopped" };

enum hook_phase { HOOK_NONE, HOOK_PRE, HOOK_POST };

struct step {
    double weight;
    double hold_s;
};

/* Cumulative figures of the two versions at one moment. */
struct sample {
    double t;
    struct metrics_sample from, target;
};

struct deployment {
    char id[24];
    char *fn, *alias, *from, *target;
    json_t *strategy; /* as given */
    json_t *alarms;   /* as given, NULL for none */
    json_t *hooks;    /* as given, NULL for none */
    json_t *original; /* the alias state at the start, restored on rollback */
    struct step *steps;
    size_t nsteps;
    enum dstate state;
    size_t step; /* 1-based step held; 0 before the first; nsteps + 1 = all traffic */
    double weight;
    double created_at, updated_at, ended_at, step_started_at;
    char reason[320];
    /* alarms */
    double max_error_rate, max_p99_ms; /* < 0: not watched */
    unsigned window_s, min_requests;
    struct sample *ring; /* window_s + 2 samples, oldest first from ring_head */
    size_t ring_cap, ring_len, ring_head;
    /* hooks */
    enum hook_phase hook_phase;
    struct fetch *hook;
    struct deploy_mgr *dm;
    struct deployment *next;
};

struct deploy_mgr {
    struct event_base *base;
    struct control *ctl;
    struct deploy_fleet fleet; /* all NULL on a single instance */
    struct event *tick;
    struct deployment *list; /* newest first */
};

static double wall_now(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

#define answer control_answer_set

static void deployment_free(struct deployment *d)
{
    if (!d)
        return;
    fetch_cancel(d->hook);
    free(d->fn);
    free(d->alias);
    free(d->from);
    free(d->target);
    json_decref(d->strategy);
    json_decref(d->alarms);
    json_decref(d->hooks);
    json_decref(d->original);
    free(d->steps);
    free(d->ring);
    free(d);
}

static int running(const struct deployment *d)
{
    return d->state == D_PENDING || d->state == D_SHIFTING;
}

/* ------------------------------------------------------------ parsing */

/* Reads a decimal number of 1 to 6 digits at *p. Returns it, or -1. */
static long read_num(const char **p)
{
    long n = 0;
    int digits = 0;

    while (**p >= '0' && **p <= '9' && digits < 7) {
        n = n * 10 + (**p - '0');
        (*p)++;
        digits++;
    }
    return digits == 0 || digits > 6 ? -1 : n;
}

static int eat(const char **p, const char *word)
{
    size_t n = strlen(word);

    if (strncmp(*p, word, n) != 0)
        return 0;
    *p += n;
    return 1;
}

/* Reads "Minutes" or "Seconds" ending the string: seconds per unit, or -1. */
static double read_unit(const char *p)
{
    if (strcmp(p, "Minutes") == 0)
        return 60;
    if (strcmp(p, "Seconds") == 0)
        return 1;
    return -1;
}

/* Turns a strategy into steps. Returns 0, or -1 with why. */
static int parse_strategy(const json_t *s, struct step **steps, size_t *nsteps, char *why,
                          size_t cap)
{
    const char *p;
    long n, m;
    double unit;

    *steps = NULL;
    *nsteps = 0;
    if (json_is_object(s)) {
        json_t *list = json_object_get(s, "steps"), *st;
        size_t i;
        double last = 0;

        if (json_object_size(s) != 1 || !json_is_array(list) || json_array_size(list) == 0 ||
            json_array_size(list) > MAX_STEPS) {
            fmt_buf(why, cap, "strategy: expected {\"steps\":[{\"weight\":W,\"hold_s\":S},...]} "
                              "with 1 to %d steps",
                    MAX_STEPS);
            return -1;
        }
        *steps = calloc(json_array_size(list), sizeof(**steps));
        if (!*steps) {
            fmt_buf(why, cap, "out of memory");
            return -1;
        }
        json_array_foreach(list, i, st)
        {
            json_t *w = json_object_get(st, "weight"), *h = json_object_get(st, "hold_s");
            if (!json_is_object(st) || json_object_size(st) != 2 || !json_is_number(w) ||
                !json_is_number(h) || json_number_value(w) <= last ||
                json_number_value(w) >= 1 || json_number_value(h) < 0 ||
                json_number_value(h) > 86400) {
                fmt_buf(why, cap,
                        "strategy.steps[%zu]: expected {\"weight\": W, \"hold_s\": S} with W "
                        "above the previous step's and below 1, S from 0 to 86400",
                        i);
                free(*steps);
                *steps = NULL;
                return -1;
            }
            last = json_number_value(w);
            (*steps)[i] = (struct step){ last, json_number_value(h) };
        }
        *nsteps = json_array_size(list);
        return 0;
    }
    if (!json_is_string(s)) {
        fmt_buf(why, cap, "strategy: expected a name or {\"steps\":[...]}");
        return -1;
    }
    p = json_string_value(s);
    if (strcmp(p, "AllAtOnce") == 0)
        return 0;
    if (eat(&p, "Canary")) {
        if ((n = read_num(&p)) < 1 || n > 99 || !eat(&p, "Percent") || (m = read_num(&p)) < 1 ||
            (unit = read_unit(p)) < 0)
            goto bad;
        if (!(*steps = calloc(1, sizeof(**steps))))
            goto oom;
        (*steps)[0] = (struct step){ (double)n / 100, (double)m * unit };
        *nsteps = 1;
        return 0;
    }
    if (eat(&p, "Linear")) {
        size_t k, count;
        if ((n = read_num(&p)) < 1 || n > 99 || !eat(&p, "PercentEvery") ||
            (m = read_num(&p)) < 1 || (unit = read_unit(p)) < 0)
            goto bad;
        count = (size_t)((99 / n));
        if (!(*steps = calloc(count, sizeof(**steps))))
            goto oom;
        for (k = 0; k < count; k++)
            (*steps)[k] = (struct step){ (double)(n * (long)(k + 1)) / 100, (double)m * unit };
        *nsteps = count;
        return 0;
    }
bad:
    fmt_buf(why, cap,
            "strategy: unknown %.80s: expected AllAtOnce, Canary{N}Percent{M}Minutes, "
            "Linear{N}PercentEvery{M}Minutes (or Seconds), or {\"steps\":[...]}",
            json_string_value(s));
    return -1;
oom:
    fmt_buf(why, cap, "out of memory");
    return -1;
}

static int parse_alarms(struct deployment *d, const json_t *al, char *why, size_t cap)
{
    const char *k;
    json_t *v;

    d->max_error_rate = -1;
    d->max_p99_ms = -1;
    d->window_s = DEFAULT_WINDOW_S;
    d->min_requests = DEFAULT_MIN_REQUESTS;
    if (!al || json_is_null(al))
        return 0;
    if (!json_is_object(al)) {
        fmt_buf(why, cap, "alarms: expected an object");
        return -1;
    }
    json_object_foreach((json_t *)al, k, v)
    {
        double x = json_number_value(v);
        if (!json_is_number(v)) {
            fmt_buf(why, cap, "alarms.%.40s: expected a number", k);
            return -1;
        }
        if (strcmp(k, "max_error_rate") == 0 && x >= 0 && x <= 1)
            d->max_error_rate = x;
        else if (strcmp(k, "max_p99_ms") == 0 && x > 0 && x <= 3600000)
            d->max_p99_ms = x;
        else if (strcmp(k, "window_s") == 0 && x >= 1 && x <= MAX_WINDOW_S)
            d->window_s = (unsigned)x;
        else if (strcmp(k, "min_requests") == 0 && x >= 1 && x <= 1e9)
            d->min_requests = (unsigned)x;
        else {
            fmt_buf(why, cap,
                    "alarms.%.40s: unknown, or out of range (max_error_rate 0..1, max_p99_ms "
                    "above 0, window_s 1..%d, min_requests 1 or more)",
                    k, MAX_WINDOW_S);
            return -1;
        }
    }
    return 0;
}

/* The version a hook target "fn:qualifier" runs now, or NULL with why. */
static const struct fn_version *hook_version(const struct config *c, const char *target,
                                             char *why, size_t cap)
{
    const char *colon = target ? strchr(target, ':') : NULL;
    char fname[80];
    const struct function *fn;
    const struct fn_version *v;
    const struct alias *al;

    if (!colon || (size_t)(colon - target) >= sizeof(fname)) {
        fmt_buf(why, cap, "hook target must be \"function:alias\" or \"function:version\"");
        return NULL;
    }
    memcpy(fname, target, (size_t)(colon - target));
    fname[colon - target] = '\0';
    if (!(fn = config_function(c, fname))) {
        fmt_buf(why, cap, "hook target %.100s: no such function", target);
        return NULL;
    }
    v = function_version(fn, colon + 1);
    if (!v && (al = function_alias(fn, colon + 1)))
        v = al->primary;
    if (!v) {
        fmt_buf(why, cap, "hook target %.100s: no such version or alias", target);
        return NULL;
    }
    if (v->kind != HANDLER_HTTP) {
        fmt_buf(why, cap, "hook target %.100s: only http handlers can be hooks", target);
        return NULL;
    }
    return v;
}

static int parse_hooks(const struct config *c, const json_t *h, char *why, size_t cap)
{
    const char *k;
    json_t *v;

    if (!h || json_is_null(h))
        return 0;
    if (!json_is_object(h)) {
        fmt_buf(why, cap, "hooks: expected an object");
        return -1;
    }
    json_object_foreach((json_t *)h, k, v)
    {
        if (strcmp(k, "pre_traffic") != 0 && strcmp(k, "post_traffic") != 0) {
            fmt_buf(why, cap, "hooks.%.40s: unknown (pre_traffic, post_traffic)", k);
            return -1;
        }
        if (!hook_version(c, json_string_value(v), why, cap))
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ figures */

static struct sample *ring_at(struct deployment *d, size_t i)
{
    return &d->ring[(d->ring_head + i) % d->ring_cap];
}

static void take_sample(struct deployment *d, double now)
{
    const struct deploy_fleet *fl = &d->dm->fleet;
    struct metrics_sample from, target;
    struct sample *s;

    if (d->ring_len > 0 && now - ring_at(d, d->ring_len - 1)->t < SAMPLE_EVERY_S)
        return;
    /* one source for every sample of a ring: the fleet's totals and this
     * instance's are different counters */
    if (fl->sample) {
        if (fl->sample(fl->arg, d->fn, d->from, &from) < 0 ||
            fl->sample(fl->arg, d->fn, d->target, &target) < 0)
            return; /* not fetched yet */
    } else {
        metrics_version_sample(d->fn, d->from, &from);
        metrics_version_sample(d->fn, d->target, &target);
    }
    if (d->ring_len == d->ring_cap) {
        d->ring_head = (d->ring_head + 1) % d->ring_cap;
        d->ring_len--;
    }
    s = ring_at(d, d->ring_len++);
    s->t = now;
    s->from = from;
    s->target = target;
}

/* The figures of the last window_s seconds (or since the deployment's
 * first sample). Returns 0, or -1 before there are two samples. */
static int window(struct deployment *d, struct metrics_sample *from, struct metrics_sample *target)
{
    struct sample *last, *first = NULL;

    if (d->ring_len < 2)
        return -1;
    last = ring_at(d, d->ring_len - 1);
    for (size_t i = 0; i < d->ring_len; i++) {
        first = ring_at(d, i);
        if (last->t - first->t <= d->window_s + 0.5)
            break;
    }
    metrics_sample_sub(&last->from, &first->from, from);
    metrics_sample_sub(&last->target, &first->target, target);
    return 0;
}

static json_t *figures_of(const struct metrics_sample *s, double weight)
{
    double p99 = metrics_sample_quantile_ms(s, 0.99);
    json_t *o = json_pack("{s:f, s:I, s:I, s:f}", "weight", weight, "requests",
                          (json_int_t)s->requests, "errors", (json_int_t)s->errors, "error_rate",
                          s->requests ? (double)s->errors / (double)s->requests : 0.0);

    if (o)
        json_object_set_new(o, "p99_ms", isnan(p99) ? json_null() : json_real(p99));
    return o;
}

/* ------------------------------------------------------------ to JSON */

static json_t *num_or_null(double x)
{
    return x > 0 ? json_real(x) : json_null();
}

/* The admin view of d. */
static json_t *deployment_json(struct deployment *d)
{
    struct metrics_sample f = { 0 }, t = { 0 };
    double now = wall_now(), next = -1;
    json_t *o, *figs;

    if (d->state == D_SHIFTING && d->step >= 1 && d->step <= d->nsteps) {
        next = d->step_started_at + d->steps[d->step - 1].hold_s - now;
        if (next < 0)
            next = 0; /* due: the next tick moves on */
    }
    window(d, &f, &t);
    figs = json_object();
    if (figs) {
        json_object_set_new(figs, d->from, figures_of(&f, 1 - d->weight));
        json_object_set_new(figs, d->target, figures_of(&t, d->weight));
    }
    o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:s, s:f, s:I, s:I, s:o, s:o, s:f, s:f, s:o, "
                  "s:O?, s:O?, s:o*}",
                  "id", d->id, "function", d->fn, "alias", d->alias, "from_version", d->from,
                  "target_version", d->target, "strategy", d->strategy, "state",
                  state_names[d->state], "weight", d->weight, "step", (json_int_t)d->step,
                  "steps", (json_int_t)d->nsteps + 1, "next_step_in_s",
                  next >= 0 ? json_real(next) : json_null(), "reason",
                  d->reason[0] ? json_string(d->reason) : json_null(), "created_at",
                  d->created_at, "updated_at", d->updated_at, "ended_at",
                  num_or_null(d->ended_at), "alarms", d->alarms, "hooks", d->hooks, "figures",
                  figs);
    return o;
}

/* What the state file keeps of d: enough to resume it. */
static json_t *deployment_saved(const struct deployment *d)
{
    json_t *steps = json_array();

    for (size_t i = 0; steps && i < d->nsteps; i++)
        json_array_append_new(steps, json_pack("{s:f, s:f}", "weight", d->steps[i].weight,
                                               "hold_s", d->steps[i].hold_s));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:O?, s:O?, s:O, s:o*, s:s, s:I, s:f, s:f, "
                     "s:f, s:f, s:f, s:s}",
                     "id", d->id, "function", d->fn, "alias", d->alias, "from_version", d->from,
                     "target_version", d->target, "strategy", d->strategy, "alarms", d->alarms,
                     "hooks", d->hooks, "original", d->original, "step_list", steps, "state",
                     state_names[d->state], "step", (json_int_t)d->step, "weight", d->weight,
                     "created_at", d->created_at, "updated_at", d->updated_at, "ended_at",
                     d->ended_at, "step_started_at", d->step_started_at, "reason", d->reason);
}

static json_t *save_all(void *arg)
{
    struct deploy_mgr *dm = arg;
    json_t *list = json_array();

    for (struct deployment *d = dm->list; list && d; d = d->next)
        json_array_append_new(list, deployment_saved(d));
    return list;
}

/* Writes the state file and, in a fleet, shares d with the other
 * instances. */
static void persist(struct deployment *d)
{
    struct deploy_mgr *dm = d->dm;
    json_t *saved;

    control_state_write(dm->ctl);
    if (dm->fleet.changed && (saved = deployment_saved(d))) {
        dm->fleet.changed(dm->fleet.arg, d->id, saved);
        json_decref(saved);
    }
}

/* ------------------------------------------------------------ moving */

/* The alias state with the target at weight w (w >= 1: the target is the
 * primary). The alias's other extra versions keep their weights, scaled
 * down when the target needs the room. New reference or NULL. */
static json_t *alias_with(const struct deployment *d, double w)
{
    json_t *st = json_deep_copy(d->original), *weights, *nw;
    const char *k;
    json_t *v;
    double others = 0, scale = 1;

    if (!st || !(nw = json_object()))
        goto oom;
    weights = json_object_get(st, "weights");
    json_object_foreach(weights, k, v)
        if (strcmp(k, d->target) != 0)
            others += json_number_value(v);
    if (w < 1 && others > 1 - w)
        scale = (1 - w) / others;
    json_object_foreach(weights, k, v)
        if (strcmp(k, d->target) != 0 && strcmp(k, d->from) != 0)
            json_object_set_new(nw, k, json_real(json_number_value(v) * (w < 1 ? scale : 1)));
    if (w >= 1)
        json_object_set_new(st, "version", json_string(d->target));
    else
        json_object_set_new(nw, d->target, json_real(w));
    json_object_set_new(st, "weights", nw);
    return st;
oom:
    json_decref(st);
    return NULL;
}

/* Puts state on the alias. Returns 0, or -1 with why in d->reason. */
static int set_alias(struct deployment *d, json_t *state /* stolen */)
{
    struct control_answer a = { 0 };

    if (!state) {
        fmt_buf(d->reason, sizeof(d->reason), "out of memory changing the alias");
        return -1;
    }
    control_alias_set(d->dm->ctl, d->fn, d->alias, state, 0, &a);
    json_decref(state);
    if (a.status != 200) {
        const char *msg = a.body ? json_string_value(json_object_get(a.body, "message"))
                                 : a.message;
        fmt_buf(d->reason, sizeof(d->reason), "cannot change alias %s:%s: %s", d->fn, d->alias,
                msg ? msg : "error");
        json_decref(a.body);
        return -1;
    }
    json_decref(a.body);
    return 0;
}

static void end(struct deployment *d, enum dstate st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void end(struct deployment *d, enum dstate st, const char *fmt, ...)
{
    va_list ap;

    d->state = st;
    d->ended_at = d->updated_at = wall_now();
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
        va_end(ap);
    }
    fetch_cancel(d->hook);
    d->hook = NULL;
    d->hook_phase = HOOK_NONE;
}

/* Puts the alias back as it was and ends d as rolled back with reason. */
static void roll_back(struct deployment *d, const char *reason)
{
    char why[sizeof(d->reason)];

    fmt_buf(why, sizeof(why), "%s", reason);
    end(d, D_ROLLED_BACK, "%s", why);
    d->weight = 0;
    if (set_alias(d, json_deep_copy(d->original)) < 0) {
        log_error("deployment %s: rollback of %s:%s failed: %s", d->id, d->fn, d->alias,
                  d->reason);
        fmt_buf(d->reason, sizeof(d->reason), "%s; and the rollback failed", why);
    } else {
        fmt_buf(d->reason, sizeof(d->reason), "%s", why);
    }
    log_warn("deployment %s: %s:%s rolled back to version %s: %s", d->id, d->fn, d->alias,
             d->from, d->reason);
    persist(d);
}

static void start_hook(struct deployment *d, enum hook_phase phase);

/* Everything on the target: the post-traffic hook, then succeeded. */
static void finish(struct deployment *d)
{
    d->weight = 1;
    d->step = d->nsteps + 1; /* the last step: all traffic */
    d->updated_at = wall_now();
    if (set_alias(d, alias_with(d, 1)) < 0) {
        char why[sizeof(d->reason)];
        fmt_buf(why, sizeof(why), "%s", d->reason);
        roll_back(d, why);
        return;
    }
    if (json_object_get(d->hooks, "post_traffic")) {
        start_hook(d, HOOK_POST);
        return;
    }
    end(d, D_SUCCEEDED, NULL);
    log_info("deployment %s: %s:%s now on version %s", d->id, d->fn, d->alias, d->target);
    persist(d);
}

/* Holds step k (1-based), or finishes after the last. */
static void go_to_step(struct deployment *d, size_t k)
{
    if (k > d->nsteps) {
        finish(d);
        return;
    }
    d->state = D_SHIFTING;
    d->step = k;
    d->weight = d->steps[k - 1].weight;
    d->step_started_at = d->updated_at = wall_now();
    if (set_alias(d, alias_with(d, d->weight)) < 0) {
        char why[sizeof(d->reason)];
        fmt_buf(why, sizeof(why), "%s", d->reason);
        roll_back(d, why);
        return;
    }
    log_info("deployment %s: %s:%s step %zu/%zu, version %s at %.1f%%", d->id, d->fn, d->alias,
             k, d->nsteps, d->target, d->weight * 100);
}

static void hook_done(void *arg, int status, const char *body, size_t len, const char *error)
{
    struct deployment *d = arg;
    enum hook_phase phase = d->hook_phase;
    char why[256];

    d->hook = NULL;
    d->hook_phase = HOOK_NONE;
    if (status < 200 || status > 299) {
        if (status)
            fmt_buf(why, sizeof(why), "%s-traffic hook answered %d",
                    phase == HOOK_PRE ? "pre" : "post", status);
        else
            fmt_buf(why, sizeof(why), "%s-traffic hook failed: %s",
                    phase == HOOK_PRE ? "pre" : "post", error ? error : "error");
        roll_back(d, why);
        return;
    }
    if (phase == HOOK_PRE) {
        go_to_step(d, 1);
    } else {
        end(d, D_SUCCEEDED, NULL);
        log_info("deployment %s: %s:%s now on version %s", d->id, d->fn, d->alias, d->target);
    }
    persist(d);
}

static void start_hook(struct deployment *d, enum hook_phase phase)
{
    const char *target = json_string_value(
        json_object_get(d->hooks, phase == HOOK_PRE ? "pre_traffic" : "post_traffic"));
    char why[256], *body;
    const struct fn_version *v = hook_version(control_config(d->dm->ctl), target, why,
                                              sizeof(why));
    struct fetch_opts o = { .timeout_ms = HOOK_TIMEOUT_MS, .max_body = 65536 };
    json_t *ev;

    if (!v) {
        roll_back(d, why);
        return;
    }
    ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "deploymentId", d->id, "hook",
                   phase == HOOK_PRE ? "pre_traffic" : "post_traffic", "function", d->fn, "alias",
                   d->alias, "fromVersion", d->from, "targetVersion", d->target);
    body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!body) {
        roll_back(d, "out of memory calling a hook");
        return;
    }
    o.body = body;
    o.body_len = strlen(body);
    d->hook_phase = phase;
    d->hook = fetch_get(d->dm->base, v->http.url, &o, hook_done, d, why, sizeof(why));
    free(body);
    if (!d->hook) {
        d->hook_phase = HOOK_NONE;
        roll_back(d, why);
    }
}

/* Checks the target's window against the alarms; rolls back on a breach. */
static void check_alarms(struct deployment *d)
{
    struct metrics_sample f, t;
    double rate, p99;
    char why[256];

    if (window(d, &f, &t) < 0 || t.requests < d->min_requests)
        return;
    rate = (double)t.errors / (double)t.requests;
    p99 = metrics_sample_quantile_ms(&t, 0.99);
    if (d->max_error_rate >= 0 && rate > d->max_error_rate) {
        fmt_buf(why, sizeof(why),
                "error rate %.3f > %.3f over the last %u s (%llu requests, %llu errors) of "
                "version %s",
                rate, d->max_error_rate, d->window_s, (unsigned long long)t.requests,
                (unsigned long long)t.errors, d->target);
        roll_back(d, why);
    } else if (d->max_p99_ms > 0 && !isnan(p99) && p99 > d->max_p99_ms) {
        fmt_buf(why, sizeof(why),
                "p99 latency %.1f ms > %.1f ms over the last %u s (%llu requests) of version %s",
                p99, d->max_p99_ms, d->window_s, (unsigned long long)t.requests, d->target);
        roll_back(d, why);
    }
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct deploy_mgr *dm = arg;
    double now = wall_now();

    for (struct deployment *d = dm->list; d; d = d->next) {
        if (d->state != D_SHIFTING || d->hook_phase != HOOK_NONE)
            continue;
        if (dm->fleet.may_drive && !dm->fleet.may_drive(dm->fleet.arg, d->fn, d->alias)) {
            d->ring_len = 0; /* another instance drives it; figures start over if we take over */
            continue;
        }
        take_sample(d, now);
        check_alarms(d);
        if (d->state != D_SHIFTING)
            continue;
        if (d->step > d->nsteps) {
            finish(d); /* taken over in its post-traffic hook */
            persist(d);
        } else if (d->step >= 1 && now >= d->step_started_at + d->steps[d->step - 1].hold_s) {
            go_to_step(d, d->step + 1);
            persist(d);
        }
    }
}

/* Drops the oldest ended deployments beyond KEEP_ENDED. */
static void trim(struct deploy_mgr *dm)
{
    size_t ended = 0;

    for (struct deployment **pp = &dm->list; *pp;) {
        struct deployment *d = *pp;
        if (!running(d) && ++ended > KEEP_ENDED) {
            *pp = d->next;
            deployment_free(d);
            continue;
        }
        pp = &d->next;
    }
}

/* ------------------------------------------------------------ admin API */

static struct deployment *find(struct deploy_mgr *dm, const char *id)
{
    for (struct deployment *d = dm->list; d; d = d->next)
        if (strcmp(d->id, id) == 0)
            return d;
    return NULL;
}

int deploy_running_on(struct deploy_mgr *dm, const char *fn, const char *alias)
{
    for (struct deployment *d = dm->list; d; d = d->next)
        if (running(d) && strcmp(d->fn, fn) == 0 && strcmp(d->alias, alias) == 0)
            return 1;
    return 0;
}

static int ring_alloc(struct deployment *d)
{
    d->ring_cap = d->window_s + 2;
    d->ring = calloc(d->ring_cap, sizeof(*d->ring));
    return d->ring ? 0 : -1;
}

static void new_id(char *out, size_t cap)
{
    unsigned char r[8];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(r, 1, sizeof(r), f) : 0;
    uint64_t x = 0;

    if (f)
        fclose(f);
    if (got != sizeof(r)) { /* no /dev/urandom: time and address still differ */
        x = now_us() ^ (uint64_t)(uintptr_t)out;
        memcpy(r, &x, sizeof(r));
    }
    fmt_buf(out, cap, "d-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
            r[6], r[7]);
}

static const char *body_string(const json_t *body, const char *key)
{
    return json_string_value(json_object_get(body, key));
}

void deploy_start(struct deploy_mgr *dm, json_t *body, struct control_answer *a)
{
    const char *fn = body_string(body, "function"), *alias = body_string(body, "alias");
    const char *target = body_string(body, "target_version"), *k;
    const struct config *c = control_config(dm->ctl);
    const struct function *f;
    json_t *strategy = json_object_get(body, "strategy"), *orig = NULL, *v;
    struct deployment *d = NULL;
    char why[400];

    if (!json_is_object(body)) {
        answer(a, 400, "expected a JSON object");
        return;
    }
    json_object_foreach(body, k, v)
        if (strcmp(k, "function") && strcmp(k, "alias") && strcmp(k, "target_version") &&
            strcmp(k, "strategy") && strcmp(k, "alarms") && strcmp(k, "hooks")) {
            answer(a, 400, "unknown field %.80s", k);
            return;
        }
    if (!fn || !alias || !target) {
        answer(a, 400, "function, alias and target_version are required strings");
        return;
    }
    if (!(f = config_function(c, fn))) {
        answer(a, 404, "no function %s", fn);
        return;
    }
    if (!function_alias(f, alias)) {
        answer(a, 404, "function %s has no alias %s", fn, alias);
        return;
    }
    if (!function_version(f, target) || strcmp(target, "$LATEST") == 0) {
        answer(a, 400, "target_version: function %s has no published version %s", fn, target);
        return;
    }
    if (deploy_running_on(dm, fn, alias)) {
        answer(a, 409, "a deployment is already running on %s:%s", fn, alias);
        return;
    }
    orig = control_alias_state(dm->ctl, fn, alias);
    if (!orig)
        goto oom;
    if (strcmp(json_string_value(json_object_get(orig, "version")), target) == 0) {
        answer(a, 400, "target_version: %s is already the primary version of %s:%s", target, fn,
               alias);
        goto out;
    }
    for (const char *drop[] = { "function", "alias", "generation", "source" }, **p = drop;
         p < drop + 4; p++)
        json_object_del(orig, *p);
    if (!(d = calloc(1, sizeof(*d))))
        goto oom;
    d->dm = dm;
    if ((strategy && parse_strategy(strategy, &d->steps, &d->nsteps, why, sizeof(why)) < 0) ||
        parse_alarms(d, json_object_get(body, "alarms"), why, sizeof(why)) < 0 ||
        parse_hooks(c, json_object_get(body, "hooks"), why, sizeof(why)) < 0) {
        answer(a, 400, "%s", why);
        goto out;
    }
    new_id(d->id, sizeof(d->id));
    d->fn = strdup(fn);
    d->alias = strdup(alias);
    d->from = strdup(json_string_value(json_object_get(orig, "version")));
    d->target = strdup(target);
    d->strategy = strategy ? json_incref(strategy) : json_string("AllAtOnce");
    d->alarms = json_incref(json_object_get(body, "alarms"));
    d->hooks = json_incref(json_object_get(body, "hooks"));
    d->original = orig;
    orig = NULL;
    if (!d->fn || !d->alias || !d->from || !d->target || !d->strategy || ring_alloc(d) < 0)
        goto oom;
    d->created_at = d->updated_at = wall_now();
    d->state = D_PENDING;
    d->next = dm->list;
    dm->list = d;
    log_info("deployment %s: %s:%s from version %s to %s (%s)", d->id, fn, alias, d->from, target,
             json_is_string(d->strategy) ? json_string_value(d->strategy) : "steps");
    take_sample(d, d->created_at);
    if (json_object_get(d->hooks, "pre_traffic"))
        start_hook(d, HOOK_PRE);
    else
        go_to_step(d, 1);
    trim(dm);
    persist(d);
    a->status = 201;
    a->body = deployment_json(d);
    if (!a->body)
        answer(a, 500, "out of memory");
    return;
oom:
    answer(a, 500, "out of memory");
out:
    json_decref(orig);
    deployment_free(d);
}

void deploy_get(struct deploy_mgr *dm, const char *id, struct control_answer *a)
{
    struct deployment *d = find(dm, id);

    if (!d) {
        answer(a, 404, "no deployment %s", id);
        return;
    }
    a->status = 200;
    a->body = deployment_json(d);
    if (!a->body)
        answer(a, 500, "out of memory");
}

void deploy_list(struct deploy_mgr *dm, struct control_answer *a)
{
    json_t *list = json_array();

    for (struct deployment *d = dm->list; list && d; d = d->next)
        json_array_append_new(list, deployment_json(d));
    a->status = 200;
    a->body = list ? json_pack("{s:o}", "deployments", list) : NULL;
    if (!a->body)
        answer(a, 500, "out of memory");
}

void deploy_action(struct deploy_mgr *dm, const char *id, const char *action,
                   struct control_answer *a)
{
    struct deployment *d = find(dm, id);

    if (!d) {
        answer(a, 404, "no deployment %s", id);
        return;
    }
    if (!running(d)) {
        answer(a, 409, "deployment %s has already ended (%s)", id, state_names[d->state]);
        return;
    }
    if (strcmp(action, "rollback") == 0) {
        roll_back(d, "rolled back by request");
    } else if (strcmp(action, "stop") == 0) {
        end(d, D_STOPPED, "stopped by request at %.1f%% on version %s", d->weight * 100,
            d->target);
        log_info("deployment %s: %s", d->id, d->reason);
        persist(d);
    } else if (strcmp(action, "promote") == 0) {
        fetch_cancel(d->hook);
        d->hook = NULL;
        d->hook_phase = HOOK_NONE;
        finish(d);
        if (d->state == D_SUCCEEDED)
            fmt_buf(d->reason, sizeof(d->reason), "promoted by request");
        persist(d);
    } else {
        answer(a, 404, "unknown action %.40s", action);
        return;
    }
    deploy_get(dm, id, a);
}

int deploy_render_metrics(struct deploy_mgr *dm, struct evbuffer *out)
{
    int rc = 0;

    rc |= evbuffer_add_printf(out, "# HELP sluice_deployment_weight The target version's weight "
                                   "in a deployment.\n# TYPE sluice_deployment_weight gauge\n");
    for (struct deployment *d = dm->list; d; d = d->next)
        rc |= evbuffer_add_printf(out,
                                  "sluice_deployment_weight{id=\"%s\",function=\"%s\",alias=\"%s\","
                                  "target_version=\"%s\",state=\"%s\"} %g\n",
                                  d->id, d->fn, d->alias, d->target, state_names[d->state],
                                  d->weight);
    rc |= evbuffer_add_printf(out, "# HELP sluice_deployment_running 1 while a deployment is "
                                   "pending or shifting.\n# TYPE sluice_deployment_running gauge\n");
    for (struct deployment *d = dm->list; d; d = d->next)
        rc |= evbuffer_add_printf(out,
                                  "sluice_deployment_running{id=\"%s\",function=\"%s\",alias=\"%s\"}"
                                  " %d\n",
                                  d->id, d->fn, d->alias, running(d));
    return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ lifecycle */

static int state_index(const char *s)
{
    for (int i = 0; s && i < (int)(sizeof(state_names) / sizeof(state_names[0])); i++)
        if (strcmp(s, state_names[i]) == 0)
            return i;
    return -1;
}

/* One deployment from the state file, or NULL (logged) when unusable. */
static struct deployment *restore_one(struct deploy_mgr *dm, const json_t *o)
{
    struct deployment *d = calloc(1, sizeof(*d));
    json_t *steps = json_object_get(o, "step_list"), *st;
    int state = state_index(body_string(o, "state"));
    char why[256];
    size_t i;

    if (!d)
        return NULL;
    d->dm = dm;
    fmt_buf(d->id, sizeof(d->id), "%s", body_string(o, "id") ? body_string(o, "id") : "");
    d->fn = body_string(o, "function") ? strdup(body_string(o, "function")) : NULL;
    d->alias = body_string(o, "alias") ? strdup(body_string(o, "alias")) : NULL;
    d->from = body_string(o, "from_version") ? strdup(body_string(o, "from_version")) : NULL;
    d->target = body_string(o, "target_version") ? strdup(body_string(o, "target_version")) : NULL;
    d->strategy = json_incref(json_object_get(o, "strategy"));
    d->alarms = json_incref(json_object_get(o, "alarms"));
    d->hooks = json_incref(json_object_get(o, "hooks"));
    d->original = json_incref(json_object_get(o, "original"));
    if (!d->id[0] || !d->fn || !d->alias || !d->from || !d->target || !d->strategy ||
        !json_is_object(d->original) || state < 0 || !json_is_array(steps) ||
        json_array_size(steps) > MAX_STEPS ||
        parse_alarms(d, d->alarms, why, sizeof(why)) < 0 || ring_alloc(d) < 0)
        goto bad;
    d->steps = calloc(json_array_size(steps) + 1, sizeof(*d->steps));
    if (!d->steps)
        goto bad;
    json_array_foreach(steps, i, st)
        d->steps[i] = (struct step){ json_number_value(json_object_get(st, "weight")),
                                     json_number_value(json_object_get(st, "hold_s")) };
    d->nsteps = json_array_size(steps);
    d->state = (enum dstate)state;
    d->step = (size_t)json_integer_value(json_object_get(o, "step"));
    d->weight = json_number_value(json_object_get(o, "weight"));
    d->created_at = json_number_value(json_object_get(o, "created_at"));
    d->updated_at = json_number_value(json_object_get(o, "updated_at"));
    d->ended_at = json_number_value(json_object_get(o, "ended_at"));
    d->step_started_at = json_number_value(json_object_get(o, "step_started_at"));
    fmt_buf(d->reason, sizeof(d->reason), "%s",
            body_string(o, "reason") ? body_string(o, "reason") : "");
    if (d->step > d->nsteps + 1)
        goto bad;
    return d;
bad:
    log_error("state file: a deployment (%s) is unusable and is dropped", d->id);
    deployment_free(d);
    return NULL;
}

/* Picks up a restored deployment where it was. */
static void resume(struct deployment *d)
{
    const struct config *c = control_config(d->dm->ctl);
    const struct function *f = config_function(c, d->fn);

    if (!f || !function_alias(f, d->alias) || !function_version(f, d->target)) {
        end(d, D_STOPPED, "stopped: %s:%s or version %s is no longer in the config", d->fn,
            d->alias, d->target);
        return;
    }
    log_info("deployment %s: resuming %s:%s at step %zu/%zu (%s)", d->id, d->fn, d->alias,
             d->step, d->nsteps, state_names[d->state]);
    take_sample(d, wall_now());
    if (d->state == D_PENDING) {
        if (json_object_get(d->hooks, "pre_traffic"))
            start_hook(d, HOOK_PRE); /* the hook's answer was lost with the process */
        else
            go_to_step(d, 1);
    } else if (d->step == 0) {
        go_to_step(d, 1);
    } else if (d->step > d->nsteps) {
        finish(d); /* it was in its post-traffic hook */
    }
    /* else: shifting at step k; the tick moves on when its hold is over */
}

struct deploy_mgr *deploy_new(struct event_base *base, struct control *ctl)
{
    struct deploy_mgr *dm = calloc(1, sizeof(*dm));
    struct timeval tv = { 0, TICK_MS * 1000 };
    json_t *saved, *o;
    struct deployment **tail;
    size_t i;

    if (!dm)
        return NULL;
    dm->base = base;
    dm->ctl = ctl;
    dm->tick = event_new(base, -1, EV_PERSIST, tick_cb, dm);
    if (!dm->tick || event_add(dm->tick, &tv) < 0) {
        deploy_free(dm);
        return NULL;
    }
    saved = control_state_part(ctl, "deployments");
    tail = &dm->list;
    json_array_foreach(saved, i, o)
    {
        struct deployment *d = restore_one(dm, o);
        if (d) {
            *tail = d;
            tail = &d->next;
        }
    }
    control_state_register(ctl, "deployments", save_all, dm);
    for (struct deployment *d = dm->list; d; d = d->next)
        if (running(d))
            resume(d);
    return dm;
}

void deploy_set_fleet(struct deploy_mgr *dm, const struct deploy_fleet *f)
{
    if (f)
        dm->fleet = *f;
    else
        memset(&dm->fleet, 0, sizeof(dm->fleet));
}

void deploy_merge(struct deploy_mgr *dm, const json_t *saved)
{
    struct deployment *nd = restore_one(dm, saved), **pp;

    if (!nd)
        return;
    for (pp = &dm->list; *pp; pp = &(*pp)->next) {
        struct deployment *d = *pp;
        if (strcmp(d->id, nd->id) != 0)
            continue;
        /* the driver is the only writer; its own copy is the newest */
        if (nd->updated_at < d->updated_at ||
            (running(d) && dm->fleet.may_drive &&
             dm->fleet.may_drive(dm->fleet.arg, d->fn, d->alias))) {
            deployment_free(nd);
            return;
        }
        nd->next = d->next;
        *pp = nd;
        deployment_free(d);
        return;
    }
    nd->next = dm->list;
    dm->list = nd;
    trim(dm);
}

void deploy_foreach_running(struct deploy_mgr *dm, deploy_running_fn *cb, void *arg)
{
    for (struct deployment *d = dm->list; d; d = d->next)
        if (running(d))
            cb(arg, d->fn, d->alias);
}

void deploy_free(struct deploy_mgr *dm)
{
    if (!dm)
        return;
    if (dm->tick)
        event_free(dm->tick);
    while (dm->list) {
        struct deployment *d = dm->list;
        dm->list = d->next;
        deployment_free(d);
    }
    free(dm);
}
