/* ctl_deploy.c - sluicectl's deployment commands, and watching a
 * deployment: polled once a second, riding out a gateway that restarts,
 * until it ends or Ctrl-C (which stops the watching only: the deployment
 * goes on in sluice). */
#include "ctl_deploy.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_http.h"
#include "ctl_print.h"

#define WATCH_INTERVAL_MS 1000
#define WATCH_GIVE_UP_S 30 /* a restarting gateway is back well within this */
#define WATCH_PLAIN_EVERY_S 10.0
#define BAR_WIDTH 20

/* One version's figures in a deployment, over its alarm window. */
struct vfig {
    const char *version; /* points into the deployment's JSON */
    double weight, requests, errors, rate, p99;
    int has_p99;
};

/* The versions of a deployment in the order a person reads them: the one
 * it moves from, the target, then any other that has figures. */
static size_t dep_figures(const json_t *d, struct vfig *v, size_t max)
{
    const json_t *figs = json_object_get(d, "figures"), *f;
    const char *from = jstr(d, "from_version"), *to = jstr(d, "target_version");
    const char *keys[MAX_VERSIONS], *order[MAX_VERSIONS + 2];
    size_t n = 0, nk = json_is_object(figs) ? sorted_keys(figs, keys, MAX_VERSIONS) : 0;
    double w = jnum(d, "weight", 0);

    if (from)
        order[n++] = from;
    if (to && !same(to, from))
        order[n++] = to;
    for (size_t i = 0; i < nk; i++)
        if (!same(keys[i], from) && !same(keys[i], to))
            order[n++] = keys[i];
    n = n < max ? n : max;
    for (size_t i = 0; i < n; i++) {
        f = json_object_get(figs, order[i]);
        v[i].version = order[i];
        v[i].weight = jnum(f, "weight", same(order[i], to) ? w : same(order[i], from) ? 1 - w : 0);
        v[i].requests = jnum(f, "requests", 0);
        v[i].errors = jnum(f, "errors", 0);
        v[i].rate = jnum(f, "error_rate", v[i].requests > 0 ? v[i].errors / v[i].requests : 0);
        v[i].p99 = jnum(f, "p99_ms", 0);
        v[i].has_p99 = json_is_number(json_object_get(f, "p99_ms"));
    }
    return n;
}

static const char *fmt_strategy(const json_t *s, char *out, size_t n)
{
    const json_t *step;
    size_t i, len = 0;
    char pct[32], dur[32];

    if (!json_is_object(s))
        return fmt_json(s, out, n);
    snprintf(out, n, "steps:");
    len = strlen(out);
    json_array_foreach(json_object_get(s, "steps"), i, step)
    {
        int k = snprintf(out + len, n - len, "%s %s for %s", i ? "," : "",
                         fmt_pct(jnum(step, "weight", 0), pct, sizeof pct),
                         fmt_duration(jnum(step, "hold_s", 0), dur, sizeof dur));
        if (k < 0 || (size_t)k >= n - len)
            break;
        len += (size_t)k;
    }
    return out;
}

/* alarms as "error rate > 5%, p99 > 800 ms, over 30 s, from 20 requests". */
static const char *fmt_alarms(const json_t *a, char *out, size_t n)
{
    char pct[32];
    int k = 0;

    if (!json_is_object(a))
        return "none";
    out[0] = '\0';
    if (json_is_number(json_object_get(a, "max_error_rate")))
        k += snprintf(out + k, n - (size_t)k, "error rate > %s, ",
                      fmt_pct(jnum(a, "max_error_rate", 0), pct, sizeof pct));
    if (json_is_number(json_object_get(a, "max_p99_ms")) && (size_t)k < n)
        k += snprintf(out + k, n - (size_t)k, "p99 > %g ms, ", jnum(a, "max_p99_ms", 0));
    if (json_is_number(json_object_get(a, "window_s")) && (size_t)k < n)
        k += snprintf(out + k, n - (size_t)k, "over %g s, ", jnum(a, "window_s", 0));
    if (json_is_number(json_object_get(a, "min_requests")) && (size_t)k < n)
        k += snprintf(out + k, n - (size_t)k, "from %g requests, ", jnum(a, "min_requests", 0));
    if (k >= 2 && (size_t)k < n)
        out[k - 2] = '\0'; /* the last ", " */
    return out;
}

static void print_figures(const json_t *d, const char *indent)
{
    struct vfig v[MAX_VERSIONS];
    size_t n = dep_figures(d, v, MAX_VERSIONS);
    struct table t = { .ncols = 6 };
    char w[32], req[32], err[32], rate[32], p99[32];

    table_row(&t, "VERSION", "WEIGHT", "REQUESTS", "ERRORS", "ERROR RATE", "P99 MS");
    for (size_t i = 0; i < n; i++) {
        snprintf(req, sizeof req, "%.0f", v[i].requests);
        snprintf(err, sizeof err, "%.0f", v[i].errors);
        snprintf(rate, sizeof rate, v[i].requests > 0 ? "%.2f%%" : "-", v[i].rate * 100);
        snprintf(p99, sizeof p99, v[i].has_p99 ? "%.1f" : "-", v[i].p99);
        table_row(&t, v[i].version, fmt_pct(v[i].weight, w, sizeof w), req, err, rate, p99);
    }
    table_print(&t, indent);
    table_free(&t);
}

static void print_deployment(const struct ctl *c, const json_t *d, const char *const *pos)
{
    struct table t = { .ncols = 2 };
    const json_t *hooks = json_object_get(d, "hooks");
    const char *arrow = c->utf8 ? "\u2192" : "->";
    char a[512], b[64];
    double next = jnum(d, "next_step_in_s", NAN);

    kv(&t, "id", "%s", fmt_json(json_object_get(d, "id"), b, sizeof b));
    kv(&t, "alias", "%s:%s", jtext(d, "function"), jtext(d, "alias"));
    kv(&t, "versions", "%s %s %s", jtext(d, "from_version"), arrow, jtext(d, "target_version"));
    kv(&t, "strategy", "%s", fmt_strategy(json_object_get(d, "strategy"), a, sizeof a));
    kv(&t, "state", "%s", jtext(d, "state"));
    kv(&t, "step", "%.0f/%.0f%s%s", jnum(d, "step", 0), jnum(d, "steps", 0),
       isfinite(next) ? ", next in " : "", isfinite(next) ? fmt_duration(next, b, sizeof b) : "");
    kv(&t, "weight", "%s on %s", fmt_pct(jnum(d, "weight", 0), b, sizeof b),
       jtext(d, "target_version"));
    kv(&t, "reason", "%s", fmt_json(json_object_get(d, "reason"), a, sizeof a));
    kv(&t, "created", "%s", fmt_time(jnum(d, "created_at", 0), a, sizeof a));
    if (json_is_number(json_object_get(d, "ended_at")))
        kv(&t, "ended", "%s", fmt_time(jnum(d, "ended_at", 0), a, sizeof a));
    kv(&t, "alarms", "%s", fmt_alarms(json_object_get(d, "alarms"), a, sizeof a));
    if (json_is_object(hooks))
        kv(&t, "hooks", "pre-traffic %s, post-traffic %s",
           jstr(hooks, "pre_traffic") ? jstr(hooks, "pre_traffic") : "-",
           jstr(hooks, "post_traffic") ? jstr(hooks, "post_traffic") : "-");
    table_print(&t, "");
    table_free(&t);
    printf("figures over the last %.0f s:\n", jnum(json_object_get(d, "alarms"), "window_s", 30));
    print_figures(d, "  ");
}

static int ended(const char *state)
{
    return same(state, "succeeded") || same(state, "rolled_back") || same(state, "stopped");
}

/* What a watch remembers between two polls. */
struct watch {
    const char *id;
    int header_done;
    int drawn;         /* tty: lines of the live block now on screen */
    int outage_shown;  /* plain: the unreachable note was printed */
    struct text key;   /* plain: state, step, weights, reason last printed */
    struct text figs;  /* plain: request and error counts last printed */
    double printed_at; /* plain: when the last line was printed (monotonic) */
    char *last_json;   /* --json: the last body printed */
};

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static double now_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps until the monotonic time until; returns -1 when Ctrl-C cut it. */
static int sleep_until(double until)
{
    for (;;) {
        double left = until - now_mono();
        struct timespec ts;
        if (interrupted)
            return -1;
        if (left <= 0)
            return 0;
        ts.tv_sec = (time_t)left;
        ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
        nanosleep(&ts, NULL); /* EINTR: the loop looks at the flag */
    }
}

/* A weight as a bar of BAR_WIDTH cells (3 bytes each in UTF-8). */
static const char *bar(const struct ctl *c, double w, char *out, size_t n)
{
    int full = (int)lround((w < 0 ? 0 : w > 1 ? 1 : w) * BAR_WIDTH);
    size_t len = 0;

    for (int i = 0; i < BAR_WIDTH; i++) {
        const char *cell = i < full ? (c->utf8 ? "\u2588" : "#") : (c->utf8 ? "\u2591" : ".");
        size_t cl = strlen(cell);
        if (len + cl >= n)
            break;
        memcpy(out + len, cell, cl);
        len += cl;
    }
    out[len] = '\0';
    return out;
}

/* Seconds the deployment has run (to its end, once it ended). */
static double dep_elapsed(const json_t *d)
{
    double end = jnum(d, "ended_at", NAN);
    struct timespec ts;

    if (!isfinite(end)) {
        clock_gettime(CLOCK_REALTIME, &ts);
        end = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    }
    return end - jnum(d, "created_at", end);
}

/* The live block for a terminal: state, then a row per version. */
static void watch_block(const struct ctl *c, const json_t *d, struct text *t)
{
    struct vfig v[MAX_VERSIONS];
    size_t n = dep_figures(d, v, MAX_VERSIONS);
    double next = jnum(d, "next_step_in_s", NAN);
    char a[32], b[32], pct[32], cells[BAR_WIDTH * 3 + 1]; /* see bar() */
    int vw = 7;

    text_add(t, "state: %s   step %.0f/%.0f", jtext(d, "state"), jnum(d, "step", 0),
             jnum(d, "steps", 0));
    if (isfinite(next))
        text_add(t, "   next step in %.1f s", next);
    text_add(t, "   elapsed %s\n", fmt_duration(dep_elapsed(d), a, sizeof a));
    for (size_t i = 0; i < n; i++)
        vw = (int)strlen(v[i].version) > vw ? (int)strlen(v[i].version) : vw;
    text_add(t, "  %-*s  %6s  %-*s  %8s  %6s  %10s  %8s\n", vw, "VERSION", "WEIGHT", BAR_WIDTH, "",
             "REQUESTS", "ERRORS", "ERROR RATE", "P99 MS");
    for (size_t i = 0; i < n; i++) {
        snprintf(a, sizeof a, v[i].requests > 0 ? "%.2f%%" : "-", v[i].rate * 100);
        snprintf(b, sizeof b, v[i].has_p99 ? "%.1f" : "-", v[i].p99);
        text_add(t, "  %-*s  %6s  %s  %8.0f  %6.0f  %10s  %8s\n", vw, v[i].version,
                 fmt_pct(v[i].weight, pct, sizeof pct), bar(c, v[i].weight, cells, sizeof cells),
                 v[i].requests, v[i].errors, a, b);
    }
    if (jstr(d, "reason"))
        text_add(t, "reason: %s\n", jstr(d, "reason"));
}

/* One line for a log or a pipe: what changed, with the figures then. */
static void watch_line(const json_t *d, struct text *t)
{
    struct vfig v[MAX_VERSIONS];
    size_t n = dep_figures(d, v, MAX_VERSIONS);
    double next = jnum(d, "next_step_in_s", NAN);
    char a[32];

    text_add(t, "[+%s] %s step %.0f/%.0f  weights", fmt_duration(dep_elapsed(d), a, sizeof a),
             jtext(d, "state"), jnum(d, "step", 0), jnum(d, "steps", 0));
    for (size_t i = 0; i < n; i++)
        text_add(t, " %s=%s", v[i].version, fmt_pct(v[i].weight, a, sizeof a));
    text_add(t, "  requests");
    for (size_t i = 0; i < n; i++)
        text_add(t, " %s=%.0f", v[i].version, v[i].requests);
    text_add(t, "  errors");
    for (size_t i = 0; i < n; i++)
        text_add(t, " %s=%.0f", v[i].version, v[i].errors);
    text_add(t, "  p99");
    for (size_t i = 0; i < n; i++) {
        snprintf(a, sizeof a, v[i].has_p99 ? "%.1fms" : "-", v[i].p99);
        text_add(t, " %s=%s", v[i].version, a);
    }
    if (isfinite(next))
        text_add(t, "  next step in %.1f s", next);
    if (jstr(d, "reason"))
        text_add(t, "  reason: %s", jstr(d, "reason"));
    text_add(t, "\n");
}

/* Plain output: a line when the state, step, weights or reason change,
 * and every WATCH_PLAIN_EVERY_S while only the figures move. */
static void watch_plain(struct watch *w, const json_t *d)
{
    struct vfig v[MAX_VERSIONS];
    size_t n = dep_figures(d, v, MAX_VERSIONS);
    struct text key = { .len = 0 }, figs = { .len = 0 }, line = { .len = 0 };
    char a[32];

    text_add(&key, "%s %.0f %s", jtext(d, "state"), jnum(d, "step", 0),
             jstr(d, "reason") ? jstr(d, "reason") : "");
    for (size_t i = 0; i < n; i++) {
        text_add(&key, " %s=%s", v[i].version, fmt_pct(v[i].weight, a, sizeof a));
        text_add(&figs, " %.0f/%.0f", v[i].requests, v[i].errors);
    }
    if (strcmp(key.s, w->key.s) == 0 &&
        (strcmp(figs.s, w->figs.s) == 0 || now_mono() - w->printed_at < WATCH_PLAIN_EVERY_S))
        return;
    w->key = key;
    w->figs = figs;
    w->printed_at = now_mono();
    watch_line(d, &line);
    fputs(line.s, stdout);
    fflush(stdout);
}

/* --json: the deployment's JSON, one line each time it changes. */
static void watch_json(struct watch *w, const json_t *d)
{
    char *s = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);

    if (!s)
        out_of_memory();
    if (w->last_json && strcmp(s, w->last_json) == 0) {
        free(s);
        return;
    }
    printf("%s\n", s);
    fflush(stdout);
    free(w->last_json);
    w->last_json = s;
}

/* Replaces the live block on a terminal: cursor up over the last one,
 * clear to the end of the screen, draw. */
static void watch_redraw(struct watch *w, const struct text *t)
{
    if (w->drawn > 0)
        printf("\033[%dA\r", w->drawn);
    printf("\033[J%s", t->s);
    fflush(stdout);
    w->drawn = t->lines;
}

static void watch_show(const struct ctl *c, struct watch *w, const json_t *d)
{
    struct text t = { .len = 0 };
    char strategy[256];

    w->outage_shown = 0;
    if (c->json) {
        watch_json(w, d);
        return;
    }
    if (!w->header_done) {
        printf("deployment %s  %s:%s  %s %s %s  %s\n", w->id, jtext(d, "function"),
               jtext(d, "alias"), jtext(d, "from_version"), c->utf8 ? "\u2192" : "->",
               jtext(d, "target_version"),
               fmt_strategy(json_object_get(d, "strategy"), strategy, sizeof strategy));
        w->header_done = 1;
    }
    if (!c->tty) {
        watch_plain(w, d);
        return;
    }
    watch_block(c, d, &t);
    watch_redraw(w, &t);
}

/* The admin API did not answer a poll: say so (once in plain output). */
static void watch_outage(const struct ctl *c, struct watch *w)
{
    struct text t = { .len = 0 };

    if (c->json || (!c->tty && w->outage_shown))
        return;
    text_add(&t, "admin API unreachable (%s); retrying for up to %d s\n", c->err, WATCH_GIVE_UP_S);
    w->outage_shown = 1;
    w->key.s[0] = '\0'; /* plain: a line once it answers again, changed or not */
    if (c->tty) {
        watch_redraw(w, &t);
    } else {
        fputs(t.s, stdout);
        fflush(stdout);
    }
}

/* Polls the deployment, riding out a gateway that restarts. Returns
 * EXIT_DONE with *d set (the caller decrefs it), or an exit code. */
static int watch_fetch(struct ctl *c, struct watch *w, const char *path, json_t **d)
{
    struct reply r;
    double first_failure = 0;
    int rc;

    for (;;) {
        if (call_raw(c, "GET", path, NULL, NULL, &r) == 0) {
            if (r.status == 200 && json_is_object(r.json)) {
                *d = json_incref(r.json);
                reply_free(&r);
                return EXIT_DONE;
            }
            rc = r.status == 200 ? (reply_object(&r), EXIT_REFUSED) : refused(c, &r);
            reply_free(&r);
            return rc;
        }
        if (interrupted)
            return EXIT_INTERRUPTED;
        if (first_failure == 0)
            first_failure = now_mono();
        if (now_mono() - first_failure > WATCH_GIVE_UP_S)
            return unreachable(c);
        watch_outage(c, w);
        if (sleep_until(now_mono() + WATCH_INTERVAL_MS / 1000.0))
            return EXIT_INTERRUPTED;
    }
}

/* The last words: how it ended, and the exit code that goes with it. */
static int watch_outcome(const struct ctl *c, const json_t *d)
{
    const char *state = jstr(d, "state"), *reason = jstr(d, "reason");
    char a[32];

    if (same(state, "succeeded")) {
        if (!c->json)
            printf("succeeded in %s\n", fmt_duration(dep_elapsed(d), a, sizeof a));
        return EXIT_DONE;
    }
    if (c->json)
        return EXIT_REFUSED;
    if (same(state, "rolled_back"))
        printf("rolled back: %s\n", reason ? reason : "no reason given");
    else
        printf("stopped: %s (the weights stay as they are)\n", reason ? reason : "by request");
    return EXIT_REFUSED;
}

/* Shows a deployment live, once a second, until it ends or Ctrl-C.
 * Ctrl-C stops the watching only: the deployment goes on in sluice. */
static int watch_deployment(struct ctl *c, const char *id)
{
    struct watch w = { .id = id };
    struct sigaction sa;
    char path[MAX_PATH_BYTES];
    json_t *d = NULL;
    int rc = EXIT_DONE;

    if (make_path(c, path, sizeof path, "/v1/deployments/%", &id))
        return EXIT_USAGE;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint; /* no SA_RESTART: a poll or a sleep must end at once */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0) /* then Ctrl-C simply ends sluicectl: still fine */
        say("note: cannot catch Ctrl-C (%s)", strerror(errno));
    while (!interrupted) {
        double started = now_mono();
        if ((rc = watch_fetch(c, &w, path, &d)) != EXIT_DONE)
            break;
        watch_show(c, &w, d);
        if (ended(jstr(d, "state"))) {
            rc = watch_outcome(c, d);
            break;
        }
        json_decref(d);
        d = NULL;
        sleep_until(started + WATCH_INTERVAL_MS / 1000.0);
    }
    json_decref(d);
    free(w.last_json);
    if (interrupted) {
        fflush(stdout);
        say("stopped watching; deployment %s goes on (sluicectl deploy status %s --watch "
            "to watch it again)",
            id, id);
        rc = EXIT_INTERRUPTED;
    }
    return rc;
}

/* The options of deploy start. */
struct deploy_opts {
    const char *strategy, *max_error_rate, *max_p99_ms, *window_s, *min_requests;
    const char *pre_hook, *post_hook;
    int watch;
};

/* Sets key to a number parsed from s (NULL: nothing). Returns 0 or -1. */
static int set_number(json_t *o, const char *key, const char *s, int share)
{
    unsigned long long u;
    double d;
    char *end;

    if (!s)
        return 0;
    if (share) {
        if (parse_share(s, &d))
            return -1;
    } else if (parse_uint(s, 1000000000ull, &u) == 0) {
        d = (double)u;
    } else {
        errno = 0;
        d = strtod(s, &end);
        if (end == s || *end || errno || !(d > 0) || !isfinite(d))
            return -1;
    }
    if (json_object_set_new(o, key,
                            d == floor(d) && !share ? json_integer((json_int_t)d) : json_real(d)))
        out_of_memory();
    return 0;
}

/* The strategy as given: a name, or explicit steps as JSON. */
static json_t *strategy_json(const char *s)
{
    json_error_t jerr;
    json_t *j;

    if (s[0] != '{')
        return json_string(s);
    j = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* The body of POST /v1/deployments. Returns it, or NULL after a usage error. */
static json_t *deploy_body(const struct command *cmd, const char **pos, const struct deploy_opts *o)
{
    json_t *b = json_object(), *alarms = json_object(), *hooks = json_object(), *st = NULL;

    if (!b || !alarms || !hooks || json_object_set_new(b, "function", json_string(pos[0])) ||
        json_object_set_new(b, "alias", json_string(pos[1])) ||
        json_object_set_new(b, "target_version", json_string(pos[2])))
        out_of_memory();
    if (o->strategy &&
        (!(st = strategy_json(o->strategy)) || json_object_set_new(b, "strategy", st))) {
        usage_error(cmd,
                    "--strategy %s: want a name (Canary10Percent5Minutes, ...) or "
                    "{\"steps\":[{\"weight\":0.1,\"hold_s\":30}]}",
                    o->strategy);
        goto fail;
    }
    if (set_number(alarms, "max_error_rate", o->max_error_rate, 1) ||
        set_number(alarms, "max_p99_ms", o->max_p99_ms, 0) ||
        set_number(alarms, "window_s", o->window_s, 0) ||
        set_number(alarms, "min_requests", o->min_requests, 0)) {
        usage_error(cmd, "bad alarm value: --max-error-rate takes 0.05 or 5%%, the others a "
                         "positive number");
        goto fail;
    }
    if ((o->pre_hook && json_object_set_new(hooks, "pre_traffic", json_string(o->pre_hook))) ||
        (o->post_hook && json_object_set_new(hooks, "post_traffic", json_string(o->post_hook))) ||
        (json_object_size(alarms) && json_object_set(b, "alarms", alarms)) ||
        (json_object_size(hooks) && json_object_set(b, "hooks", hooks)))
        out_of_memory();
    json_decref(alarms);
    json_decref(hooks);
    return b;
fail:
    json_decref(alarms);
    json_decref(hooks);
    json_decref(b);
    return NULL;
}

int cmd_deploy_start(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct deploy_opts o = { 0 };
    const struct opt opts[] = {
        { "--strategy", OPT_VALUE, &o.strategy },
        { "--max-error-rate", OPT_VALUE, &o.max_error_rate },
        { "--max-p99-ms", OPT_VALUE, &o.max_p99_ms },
        { "--window-s", OPT_VALUE, &o.window_s },
        { "--min-requests", OPT_VALUE, &o.min_requests },
        { "--pre-hook", OPT_VALUE, &o.pre_hook },
        { "--post-hook", OPT_VALUE, &o.post_hook },
        { "--watch", OPT_FLAG, &o.watch },
        { NULL, OPT_FLAG, NULL },
    };
    const char *pos[3];
    char path[MAX_PATH_BYTES];
    struct reply r;
    json_t *body;
    int rc = command_start(c, cmd, argc, argv, opts, pos, 3, "/v1/deployments", path);

    if (rc != PROCEED)
        return rc;
    if (!(body = deploy_body(cmd, pos, &o)))
        return EXIT_USAGE;
    rc = call_json(c, "POST", path, body, &r);
    json_decref(body);
    if (rc != EXIT_DONE)
        return rc;
    if (!reply_object(&r) || !jstr(r.json, "id")) {
        reply_free(&r);
        return EXIT_REFUSED;
    }
    if (o.watch)
        rc = watch_deployment(c, jstr(r.json, "id"));
    else if (!print_raw(c, &r)) {
        print_deployment(c, r.json, NULL);
        printf("\nwatch it: sluicectl deploy status %s --watch\n", jstr(r.json, "id"));
    }
    reply_free(&r);
    return rc;
}

int cmd_deploy_status(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    int watch = 0;
    const struct opt opts[] = { { "--watch", OPT_FLAG, &watch }, { NULL, OPT_FLAG, NULL } };
    const char *pos[1];
    char path[MAX_PATH_BYTES];
    int rc = command_start(c, cmd, argc, argv, opts, pos, 1, "/v1/deployments/%", path);

    if (rc != PROCEED)
        return rc;
    if (watch)
        return watch_deployment(c, pos[0]);
    return show_object(c, path, print_deployment, pos);
}

static void print_deployments(const struct ctl *c, const json_t *list, const char *const *pos)
{
    struct table t = { .ncols = 9 };
    char al[256], st[256], step[32], w[32], age[32];
    const json_t *d;
    size_t i;

    table_row(&t, "ID", "ALIAS", "FROM", "TARGET", "STRATEGY", "STATE", "STEP", "WEIGHT", "AGE");
    json_array_foreach(json_object_get(list, "deployments"), i, d)
    {
        snprintf(al, sizeof al, "%s:%s", jtext(d, "function"), jtext(d, "alias"));
        snprintf(step, sizeof step, "%.0f/%.0f", jnum(d, "step", 0), jnum(d, "steps", 0));
        fmt_duration(difftime(time(NULL), (time_t)jnum(d, "created_at", 0)), age, sizeof age);
        table_row(&t, jstr(d, "id"), al, jstr(d, "from_version"), jstr(d, "target_version"),
                  fmt_strategy(json_object_get(d, "strategy"), st, sizeof st), jstr(d, "state"),
                  step, fmt_pct(jnum(d, "weight", 0), w, sizeof w), age);
    }
    if (t.nrows == 1)
        printf("no deployments\n");
    else
        table_print(&t, "");
    table_free(&t);
}

int cmd_deploy_list(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    return command_show(c, cmd, argc, argv, 0, "/v1/deployments", print_deployments);
}

/* deploy rollback|promote|stop ID: the subcommand is the action's path. */
int cmd_deploy_action(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    const char *pos[1];
    char path[MAX_PATH_BYTES];
    struct reply r;
    int rc = command_start(c, cmd, argc, argv, NULL, pos, 1, "/v1/deployments/%/", path);

    if (rc != PROCEED)
        return rc;
    if (strlen(path) + strlen(cmd->sub) >= sizeof path)
        return EXIT_USAGE;
    memcpy(path + strlen(path), cmd->sub, strlen(cmd->sub) + 1);
    if ((rc = call(c, "POST", path, NULL, &r)) != EXIT_DONE)
        return rc;
    if (!print_raw(c, &r) && reply_object(&r))
        print_deployment(c, r.json, NULL);
    rc = c->json || json_is_object(r.json) ? EXIT_DONE : EXIT_REFUSED;
    reply_free(&r);
    return rc;
}
