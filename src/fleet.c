/* fleet.c - alias state, versions, deployments and figures shared through
 * Redis; see fleet.h for the keys and the rules. */
#include "fleet.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "deploy.h"
#include "log.h"
#include "metrics.h"
#include "redis.h"
#include "redis_scripts.h"
#include "util.h"

#define TICK_MS 100
#define LEASE_MS 3000
/* A lease is only trusted this long after the renewal that confirmed it,
 * so a driver cut off from Redis stops before another can take over. */
#define LEASE_TRUST_MS (LEASE_MS - 1000)
#define LEASE_EVERY_MS 500
#define FIGURES_EVERY_MS 1000
#define KEY_MAX 512
#define LISTEN_POLL_MS 500

struct notice {
    struct notice *next;
    char text[];
};

/* The last figures of a version: what was pushed (mine) or fetched (fleet). */
struct figs {
    char *fn, *version;
    struct metrics_sample pushed; /* this instance's totals at its last report */
    struct metrics_sample fleet;  /* the fleet's totals, as last fetched */
    int have_fleet;
};

struct lease {
    char *fn, *alias;
    uint64_t trusted_until_ms;
};

struct fleet {
    struct event_base *base;
    struct redis_client *rc;
    struct control *ctl;
    struct deploy_mgr *dm;
    char id[128];
    char prefix[128];
    char channel[160];
    struct redis_conf conf; /* for the listener thread: host, port, password, db */

    /* the listener thread and its hand-over */
    pthread_t thread;
    int thread_started;
    atomic_int stop;
    int pipe_fd[2];
    struct event *pipe_ev;
    pthread_mutex_t lock;
    struct notice *head, *tail;

    struct event *tick;
    uint64_t last_lease_ms, last_figures_ms;
    int need_resync;

    struct figs *figs;
    size_t nfigs;
    struct lease *leases;
    size_t nleases;
};

/* ------------------------------------------------------------ helpers */

static int key(char *out, const struct fleet *f, const char *kind, const char *a, const char *b)
{
    return b ? fmt_buf(out, KEY_MAX, "%s%s:%s:%s", f->prefix, kind, a, b)
             : fmt_buf(out, KEY_MAX, "%s%s:%s", f->prefix, kind, a);
}

/* Sends argv (NUL-terminated strings); cb may be a no-op. */
static void command(struct fleet *f, redis_reply_cb *cb, void *arg, int argc, const char **argv)
{
    size_t len[16];

    for (int i = 0; i < argc && i < 16; i++)
        len[i] = strlen(argv[i]);
    if (argc > 16 || !redis_command(f->rc, cb, arg, argc, argv, len))
        log_debug("fleet: a Redis command could not be queued");
}

static void ignore_reply(void *arg, const redisReply *r)
{
    if (r && r->type == REDIS_REPLY_ERROR)
        log_warn("fleet: Redis refused a command: %.200s", r->str);
}

/* A string copy of a reply element, or NULL. */
static const char *reply_str(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) ? r->str : NULL;
}

static struct figs *figs_of(struct fleet *f, const char *fn, const char *version)
{
    struct figs *n;

    for (size_t i = 0; i < f->nfigs; i++)
        if (strcmp(f->figs[i].fn, fn) == 0 && strcmp(f->figs[i].version, version) == 0)
            return &f->figs[i];
    n = realloc(f->figs, (f->nfigs + 1) * sizeof(*f->figs));
    if (!n)
        return NULL;
    f->figs = n;
    n = &f->figs[f->nfigs];
    memset(n, 0, sizeof(*n));
    n->fn = strdup(fn);
    n->version = strdup(version);
    if (!n->fn || !n->version) {
        free(n->fn);
        free(n->version);
        return NULL;
    }
    f->nfigs++;
    return n;
}

static struct lease *lease_of(struct fleet *f, const char *fn, const char *alias, int create)
{
    struct lease *n;

    for (size_t i = 0; i < f->nleases; i++)
        if (strcmp(f->leases[i].fn, fn) == 0 && strcmp(f->leases[i].alias, alias) == 0)
            return &f->leases[i];
    if (!create || !(n = realloc(f->leases, (f->nleases + 1) * sizeof(*f->leases))))
        return NULL;
    f->leases = n;
    n = &f->leases[f->nleases];
    n->fn = strdup(fn);
    n->alias = strdup(alias);
    n->trusted_until_ms = 0;
    if (!n->fn || !n->alias) {
        free(n->fn);
        free(n->alias);
        return NULL;
    }
    f->nleases++;
    return n;
}

/* ------------------------------------------------------------ aliases */

/* What a fetch of an alias's hash needs to remember. */
struct alias_fetch {
    struct fleet *f;
    char fn[80], alias[80];
    int push_if_absent; /* resync: Redis has nothing, so give it ours */
};

static void push_initial(struct fleet *f, const char *fn, const char *alias);

static void on_alias_fetched(void *arg, const redisReply *r)
{
    struct alias_fetch *af = arg;
    struct fleet *f = af->f;
    const char *gen_s, *state_s;
    uint64_t gen, mine;
    json_t *state;

    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        if (r)
            log_warn("fleet: unexpected answer reading alias %s:%s", af->fn, af->alias);
        free(af);
        return;
    }
    gen_s = reply_str(r->element[0]);
    state_s = reply_str(r->element[1]);
    if (!gen_s || !state_s) {
        if (af->push_if_absent)
            push_initial(f, af->fn, af->alias);
        free(af);
        return;
    }
    mine = control_alias_generation(f->ctl, af->fn, af->alias);
    if (parse_u64((struct slice){ gen_s, strlen(gen_s) }, UINT64_MAX, &gen) < 0 || gen == mine) {
        free(af);
        return;
    }
    state = json_loads(state_s, JSON_DECODE_ANY, NULL);
    if (!state) {
        log_warn("fleet: alias %s:%s in Redis is not JSON; ignored", af->fn, af->alias);
    } else if (control_alias_adopt(f->ctl, af->fn, af->alias, json_is_object(state) ? state : NULL,
                                   gen) == 0) {
        log_info("fleet: alias %s:%s now at generation %llu from the fleet", af->fn, af->alias,
                 (unsigned long long)gen);
    }
    json_decref(state);
    free(af);
}

static void fetch_alias(struct fleet *f, const char *fn, const char *alias, int push_if_absent)
{
    struct alias_fetch *af = calloc(1, sizeof(*af));
    char k[KEY_MAX];

    if (!af || fmt_buf(af->fn, sizeof(af->fn), "%s", fn) < 0 ||
        fmt_buf(af->alias, sizeof(af->alias), "%s", alias) < 0 ||
        key(k, f, "alias", fn, alias) < 0) {
        free(af);
        return;
    }
    af->f = f;
    af->push_if_absent = push_if_absent;
    {
        const char *argv[] = { "HMGET", k, "generation", "state" };
        size_t len[] = { 5, strlen(k), 10, 5 };
        if (!redis_command(f->rc, on_alias_fetched, af, 4, argv, len))
            free(af);
    }
}

static void on_alias_set(void *arg, const redisReply *r)
{
    struct alias_fetch *af = arg;

    if (!r) {
        log_warn("fleet: Redis unavailable; alias %s:%s changed here only (it is shared "
                 "again when Redis is back)",
                 af->fn, af->alias);
        af->f->need_resync = 1;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
               r->element[0]->type == REDIS_REPLY_INTEGER) {
        if (r->element[0]->integer == 1) {
            control_set_generation(af->f->ctl, af->fn, af->alias,
                                   (uint64_t)r->element[1]->integer);
        } else {
            log_warn("fleet: alias %s:%s was changed by another instance first (generation "
                     "%lld); taking its state",
                     af->fn, af->alias, (long long)r->element[1]->integer);
            fetch_alias(af->f, af->fn, af->alias, 0);
        }
    } else {
        log_warn("fleet: alias_set.lua failed for %s:%s: %.200s", af->fn, af->alias,
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected answer");
    }
    free(af);
}

/* control_fleet.alias_changed */
static void alias_changed(void *arg, const char *fn, const char *alias, uint64_t prev,
                          const json_t *override)
{
    struct fleet *f = arg;
    struct alias_fetch *af = calloc(1, sizeof(*af));
    char k[KEY_MAX], gen[24], notice[256];
    char *state = override ? json_dumps(override, JSON_COMPACT) : strdup("null");

    if (!af || !state || key(k, f, "alias", fn, alias) < 0 ||
        fmt_buf(notice, sizeof(notice), "alias\t%s\t%s\t", fn, alias) < 0) {
        free(af);
        free(state);
        return;
    }
    fmt_buf(af->fn, sizeof(af->fn), "%s", fn);
    fmt_buf(af->alias, sizeof(af->alias), "%s", alias);
    af->f = f;
    fmt_buf(gen, sizeof(gen), "%llu", (unsigned long long)prev);
    {
        const char *argv[] = { "EVAL", redis_script_alias_set, "1", k, gen, state, f->channel,
                               notice };
        command(f, on_alias_set, af, 8, argv);
    }
    free(state);
}

/* Redis has no state for the alias: give it this instance's. */
static void push_initial(struct fleet *f, const char *fn, const char *alias)
{
    const json_t *ov = control_alias_override(f->ctl, fn, alias);
    char k[KEY_MAX], gen[24];
    char *state = ov ? json_dumps(ov, JSON_COMPACT) : strdup("null");

    if (!state || key(k, f, "alias", fn, alias) < 0) {
        free(state);
        return;
    }
    fmt_buf(gen, sizeof(gen), "%llu",
            (unsigned long long)control_alias_generation(f->ctl, fn, alias));
    {
        const char *argv[] = { "EVAL", redis_script_alias_init, "1", k, gen, state };
        command(f, ignore_reply, NULL, 6, argv);
    }
    free(state);
}

/* ------------------------------------------------------------ versions */

struct version_fetch {
    struct fleet *f;
    char fn[80];
};

static void on_versions_fetched(void *arg, const redisReply *r)
{
    struct version_fetch *vf = arg;

    if (r && r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            const char *num = reply_str(r->element[i]), *def = reply_str(r->element[i + 1]);
            json_t *d = def ? json_loads(def, 0, NULL) : NULL;
            if (num && d)
                control_version_adopt(vf->f->ctl, vf->fn, num, d);
            json_decref(d);
        }
    }
    free(vf);
}

static void fetch_versions(struct fleet *f, const char *fn)
{
    struct version_fetch *vf = calloc(1, sizeof(*vf));
    char k[KEY_MAX];

    if (!vf || fmt_buf(vf->fn, sizeof(vf->fn), "%s", fn) < 0 ||
        key(k, f, "versions", fn, NULL) < 0) {
        free(vf);
        return;
    }
    vf->f = f;
    {
        const char *argv[] = { "HGETALL", k };
        size_t len[] = { 7, strlen(k) };
        if (!redis_command(f->rc, on_versions_fetched, vf, 2, argv, len))
            free(vf);
    }
}

/* control_fleet.version_published */
static void version_published(void *arg, const char *fn, const char *number, const json_t *def)
{
    struct fleet *f = arg;
    char k[KEY_MAX], notice[256];
    char *text = json_dumps(def, JSON_COMPACT);

    if (!text || key(k, f, "versions", fn, NULL) < 0 ||
        fmt_buf(notice, sizeof(notice), "version\t%s\t%s", fn, number) < 0) {
        free(text);
        return;
    }
    {
        const char *set[] = { "HSET", k, number, text };
        const char *pub[] = { "PUBLISH", f->channel, notice };
        command(f, ignore_reply, NULL, 4, set); /* one connection: in this order */
        command(f, ignore_reply, NULL, 3, pub);
    }
    free(text);
}

/* ------------------------------------------------------------ deployments */

static void on_deploy_fetched(void *arg, const redisReply *r)
{
    struct fleet *f = arg;
    json_t *d;

    if (!reply_str(r))
        return;
    d = json_loads(r->str, 0, NULL);
    if (d)
        deploy_merge(f->dm, d);
    json_decref(d);
}

static void fetch_deploy(struct fleet *f, const char *id)
{
    char k[KEY_MAX];

    if (key(k, f, "deploy", id, NULL) < 0)
        return;
    {
        const char *argv[] = { "GET", k };
        command(f, on_deploy_fetched, f, 2, argv);
    }
}

static void on_deploys_listed(void *arg, const redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i < r->elements; i++)
        if (reply_str(r->element[i]))
            fetch_deploy(arg, r->element[i]->str);
}

static void ask_lease(void *arg, const char *fn, const char *alias);

/* deploy_fleet.changed */
static void deploy_changed(void *arg, const char *id, const json_t *saved)
{
    struct fleet *f = arg;
    char k[KEY_MAX], index[KEY_MAX], at[32], notice[128];
    char *text = json_dumps(saved, JSON_COMPACT);
    const char *state = json_string_value(json_object_get(saved, "state"));
    const char *fn = json_string_value(json_object_get(saved, "function"));
    const char *alias = json_string_value(json_object_get(saved, "alias"));

    /* The instance that changes a running deployment drives it: it asks
     * for the lease before telling the others (one connection, so Redis
     * sees the lease first and nobody else can take it). */
    if (fn && alias && state && (!strcmp(state, "pending") || !strcmp(state, "shifting")))
        ask_lease(f, fn, alias);

    if (!text || key(k, f, "deploy", id, NULL) < 0 ||
        fmt_buf(index, sizeof(index), "%sdeploys", f->prefix) < 0 ||
        fmt_buf(notice, sizeof(notice), "deploy\t%s", id) < 0) {
        free(text);
        return;
    }
    fmt_buf(at, sizeof(at), "%.3f", json_number_value(json_object_get(saved, "created_at")));
    {
        const char *argv[] = { "EVAL", redis_script_deploy_put, "2", k, index, text, at, id,
                               f->channel, notice };
        command(f, ignore_reply, NULL, 10, argv);
    }
    free(text);
}

/* deploy_fleet.may_drive */
static int may_drive(void *arg, const char *fn, const char *alias)
{
    struct fleet *f = arg;
    struct lease *l = lease_of(f, fn, alias, 0);

    return l && now_ms() < l->trusted_until_ms;
}

/* deploy_fleet.sample */
static int fleet_sample(void *arg, const char *fn, const char *version, struct metrics_sample *out)
{
    struct fleet *f = arg;
    struct figs *g = figs_of(f, fn, version);

    if (!g || !g->have_fleet)
        return -1;
    *out = g->fleet;
    return 0;
}

struct lease_ask {
    struct fleet *f;
    char fn[80], alias[80];
    uint64_t asked_ms;
};

static void on_lease(void *arg, const redisReply *r)
{
    struct lease_ask *la = arg;
    struct lease *l = lease_of(la->f, la->fn, la->alias, 1);

    if (l && r && r->type == REDIS_REPLY_INTEGER) {
        int had = now_ms() < l->trusted_until_ms;
        l->trusted_until_ms = r->integer == 1 ? la->asked_ms + LEASE_TRUST_MS : 0;
        if (r->integer == 1 && !had)
            log_info("fleet: this instance drives the deployment on %s:%s", la->fn, la->alias);
    }
    free(la);
}

static void ask_lease(void *arg, const char *fn, const char *alias)
{
    struct fleet *f = arg;
    struct lease_ask *la = calloc(1, sizeof(*la));
    char k[KEY_MAX], ms[16];

    if (!la || fmt_buf(la->fn, sizeof(la->fn), "%s", fn) < 0 ||
        fmt_buf(la->alias, sizeof(la->alias), "%s", alias) < 0 ||
        key(k, f, "lease", fn, alias) < 0) {
        free(la);
        return;
    }
    la->f = f;
    la->asked_ms = now_ms();
    fmt_buf(ms, sizeof(ms), "%d", LEASE_MS);
    {
        const char *argv[] = { "EVAL", redis_script_lease, "1", k, f->id, ms };
        size_t len[6];
        for (int i = 0; i < 6; i++)
            len[i] = strlen(argv[i]);
        if (!redis_command(f->rc, on_lease, la, 6, argv, len))
            free(la);
    }
}

/* ------------------------------------------------------------ figures */

static void push_figures(struct fleet *f)
{
    const struct config *c = control_config(f->ctl);

    for (size_t i = 0; i < c->nfunctions; i++) {
        const struct function *fn = &c->functions[i];
        for (size_t j = 0; j < fn->nversions; j++) {
            struct metrics_sample now, d;
            struct figs *g = figs_of(f, fn->name, fn->versions[j].name);
            char k[KEY_MAX], vals[METRICS_NBUCKETS + 2][24], names[METRICS_NBUCKETS][8];
            const char *argv[4 + 2 * (METRICS_NBUCKETS + 2)];
            int argc = 0;

            if (!g || metrics_version_sample(fn->name, fn->versions[j].name, &now) < 0)
                continue;
            metrics_sample_sub(&now, &g->pushed, &d);
            if (d.requests == 0 || key(k, f, "fig", fn->name, fn->versions[j].name) < 0)
                continue;
            argv[argc++] = "EVAL";
            argv[argc++] = redis_script_figures_add;
            argv[argc++] = "1";
            argv[argc++] = k;
            fmt_buf(vals[0], sizeof(vals[0]), "%llu", (unsigned long long)d.requests);
            argv[argc++] = "requests";
            argv[argc++] = vals[0];
            fmt_buf(vals[1], sizeof(vals[1]), "%llu", (unsigned long long)d.errors);
            argv[argc++] = "errors";
            argv[argc++] = vals[1];
            for (int b = 0; b < METRICS_NBUCKETS; b++) {
                if (!d.buckets[b])
                    continue;
                fmt_buf(names[b], sizeof(names[b]), "b%d", b);
                fmt_buf(vals[2 + b], sizeof(vals[2 + b]), "%llu",
                        (unsigned long long)d.buckets[b]);
                argv[argc++] = names[b];
                argv[argc++] = vals[2 + b];
            }
            {
                size_t len[4 + 2 * (METRICS_NBUCKETS + 2)];
                for (int a = 0; a < argc; a++)
                    len[a] = strlen(argv[a]);
                if (redis_command(f->rc, ignore_reply, NULL, argc, argv, len))
                    g->pushed = now; /* a lost report only costs the driver that second */
            }
        }
    }
}

struct figs_fetch {
    struct fleet *f;
    char fn[80], version[80];
};

static void on_figures(void *arg, const redisReply *r)
{
    struct figs_fetch *ff = arg;
    struct figs *g = figs_of(ff->f, ff->fn, ff->version);

    if (g && r && r->type == REDIS_REPLY_ARRAY) {
        struct metrics_sample s = { 0 };
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            const char *name = reply_str(r->element[i]), *val = reply_str(r->element[i + 1]);
            uint64_t v;
            if (!name || !val || parse_u64((struct slice){ val, strlen(val) }, UINT64_MAX, &v) < 0)
                continue;
            if (strcmp(name, "requests") == 0)
                s.requests = v;
            else if (strcmp(name, "errors") == 0)
                s.errors = v;
            else if (name[0] == 'b' && atoi(name + 1) >= 0 && atoi(name + 1) < METRICS_NBUCKETS)
                s.buckets[atoi(name + 1)] = v;
        }
        g->fleet = s;
        g->have_fleet = 1;
    }
    free(ff);
}

static void fetch_figures(struct fleet *f, const char *fn, const char *version)
{
    struct figs_fetch *ff = calloc(1, sizeof(*ff));
    char k[KEY_MAX];

    if (!ff || fmt_buf(ff->fn, sizeof(ff->fn), "%s", fn) < 0 ||
        fmt_buf(ff->version, sizeof(ff->version), "%s", version) < 0 ||
        key(k, f, "fig", fn, version) < 0) {
        free(ff);
        return;
    }
    ff->f = f;
    {
        const char *argv[] = { "HGETALL", k };
        size_t len[] = { 7, strlen(k) };
        if (!redis_command(f->rc, on_figures, ff, 2, argv, len))
            free(ff);
    }
}

/* For every deployment driven here, the fleet's figures of both versions. */
static void fetch_driven_figures(void *arg, const char *fn, const char *alias)
{
    struct fleet *f = arg;
    const struct config *c = control_config(f->ctl);
    const struct function *func = config_function(c, fn);

    if (!func || !may_drive(f, fn, alias))
        return;
    /* every version of the function: the deployment's two are among them */
    for (size_t i = 0; i < func->nversions; i++)
        fetch_figures(f, fn, func->versions[i].name);
}

/* ------------------------------------------------------------ notices */

static void resync(struct fleet *f)
{
    const struct config *c = control_config(f->ctl);
    char index[KEY_MAX];

    /* versions first: alias states may name them (one connection: replies
     * come back in this order) */
    for (size_t i = 0; i < c->nfunctions; i++)
        fetch_versions(f, c->functions[i].name);
    for (size_t i = 0; i < c->nfunctions; i++)
        for (size_t j = 0; j < c->functions[i].naliases; j++)
            fetch_alias(f, c->functions[i].name, c->functions[i].aliases[j].name, 1);
    if (fmt_buf(index, sizeof(index), "%sdeploys", f->prefix) == 0) {
        const char *argv[] = { "ZRANGE", index, "-50", "-1" };
        command(f, on_deploys_listed, f, 4, argv);
    }
}

static void handle_notice(struct fleet *f, char *text)
{
    char *field[4] = { 0 };
    int n = 0;

    for (char *p = text; n < 4;) {
        field[n++] = p;
        p = strchr(p, '\t');
        if (!p)
            break;
        *p++ = '\0';
    }
    if (strcmp(field[0], "resync") == 0)
        f->need_resync = 1;
    else if (strcmp(field[0], "alias") == 0 && n == 4)
        fetch_alias(f, field[1], field[2], 0);
    else if (strcmp(field[0], "version") == 0 && n == 3)
        fetch_versions(f, field[1]);
    else if (strcmp(field[0], "deploy") == 0 && n == 2)
        fetch_deploy(f, field[1]);
}

static void on_pipe(evutil_socket_t fd, short what, void *arg)
{
    struct fleet *f = arg;
    struct notice *list;
    char buf[64];

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&f->lock);
    list = f->head;
    f->head = f->tail = NULL;
    pthread_mutex_unlock(&f->lock);
    while (list) {
        struct notice *n = list;
        list = n->next;
        handle_notice(f, n->text);
        free(n);
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct fleet *f = arg;
    uint64_t now = now_ms();

    if (!redis_client_ready(f->rc))
        return;
    if (f->need_resync) {
        f->need_resync = 0;
        resync(f);
    }
    if (now - f->last_lease_ms >= LEASE_EVERY_MS) {
        f->last_lease_ms = now;
        deploy_foreach_running(f->dm, ask_lease, f);
        deploy_foreach_running(f->dm, fetch_driven_figures, f);
    }
    if (now - f->last_figures_ms >= FIGURES_EVERY_MS) {
        f->last_figures_ms = now;
        push_figures(f);
    }
}

/* ------------------------------------------------------------ listener thread */

/* Listener thread: queues a notice for the main loop. */
static void enqueue(struct fleet *f, const char *text, size_t len)
{
    struct notice *n = malloc(sizeof(*n) + len + 1);
    char c = 1;

    if (!n)
        return;
    memcpy(n->text, text, len);
    n->text[len] = '\0';
    n->next = NULL;
    pthread_mutex_lock(&f->lock);
    if (f->tail)
        f->tail->next = n;
    else
        f->head = n;
    f->tail = n;
    pthread_mutex_unlock(&f->lock);
    if (write(f->pipe_fd[1], &c, 1) < 0 && errno != EAGAIN)
        log_debug("fleet: cannot wake the main loop: %s", strerror(errno));
}

static void nap(struct fleet *f, unsigned ms)
{
    for (unsigned slept = 0; slept < ms && !atomic_load(&f->stop); slept += 50) {
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    }
}

static void take_message(struct fleet *f, redisReply *r)
{
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && reply_str(r->element[0]) &&
        strcmp(r->element[0]->str, "message") == 0 && reply_str(r->element[2]))
        enqueue(f, r->element[2]->str, r->element[2]->len);
}

/* Connects, authenticates, selects nothing (pub/sub ignores the db) and
 * subscribes. Returns the context or NULL. */
static redisContext *listen_connect(struct fleet *f)
{
    struct timeval tv = { 1, 0 }, rtv = { 5, 0 };
    redisContext *c = redisConnectWithTimeout(f->conf.host, f->conf.port, tv);
    redisReply *r;

    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, rtv);
    if (f->conf.password) {
        r = redisCommand(c, "AUTH %s", f->conf.password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            if (r)
                freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    r = redisCommand(c, "SUBSCRIBE %s", f->channel);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject(r);
        redisFree(c);
        return NULL;
    }
    freeReplyObject(r);
    return c;
}

static void *listen_main(void *arg)
{
    struct fleet *f = arg;
    unsigned backoff = 100;

    while (!atomic_load(&f->stop)) {
        redisContext *c = listen_connect(f);
        void *reply;

        if (!c) {
            nap(f, backoff);
            backoff = backoff >= 1000 ? 2000 : backoff * 2;
            continue;
        }
        backoff = 100;
        enqueue(f, "resync", 6); /* notices may have been missed meanwhile */
        while (!atomic_load(&f->stop)) {
            struct pollfd p = { .fd = c->fd, .events = POLLIN };
            int rc = poll(&p, 1, LISTEN_POLL_MS);
            if (rc == 0 || (rc < 0 && errno == EINTR))
                continue;
            if (rc < 0 || redisGetReply(c, &reply) != REDIS_OK || !reply)
                break;
            take_message(f, reply);
            freeReplyObject(reply);
            /* replies already read into hiredis's buffer: poll would not see them */
            while (redisReaderGetReply(c->reader, &reply) == REDIS_OK && reply) {
                take_message(f, reply);
                freeReplyObject(reply);
            }
        }
        redisFree(c);
    }
    return NULL;
}

/* ------------------------------------------------------------ lifecycle */

struct fleet *fleet_new(struct event_base *base, const struct redis_conf *rc, struct control *ctl,
                        struct deploy_mgr *dm)
{
    struct fleet *f = calloc(1, sizeof(*f));
    struct timeval tv = { 0, TICK_MS * 1000 };
    char host[64];

    if (!f)
        return NULL;
    f->pipe_fd[0] = f->pipe_fd[1] = -1;
    pthread_mutex_init(&f->lock, NULL);
    f->base = base;
    f->ctl = ctl;
    f->dm = dm;
    if (gethostname(host, sizeof(host)) < 0)
        fmt_buf(host, sizeof(host), "host");
    host[sizeof(host) - 1] = '\0';
    fmt_buf(f->id, sizeof(f->id), "%s:%ld:%llx", host, (long)getpid(),
            (unsigned long long)(now_us() ^ (uintptr_t)f));
    fmt_buf(f->prefix, sizeof(f->prefix), "%s", rc->prefix ? rc->prefix : "sluice:");
    fmt_buf(f->channel, sizeof(f->channel), "%sevents", f->prefix);
    f->conf.host = strdup(rc->host);
    f->conf.port = rc->port;
    f->conf.password = rc->password ? strdup(rc->password) : NULL;
    f->rc = redis_client_new(base, rc);
    if (!f->conf.host || (rc->password && !f->conf.password) || !f->rc ||
        pipe2(f->pipe_fd, O_NONBLOCK | O_CLOEXEC) < 0 ||
        !(f->pipe_ev = event_new(base, f->pipe_fd[0], EV_READ | EV_PERSIST, on_pipe, f)) ||
        event_add(f->pipe_ev, NULL) < 0 ||
        !(f->tick = event_new(base, -1, EV_PERSIST, on_tick, f)) || event_add(f->tick, &tv) < 0) {
        log_error("fleet: cannot start: out of memory");
        fleet_free(f);
        return NULL;
    }
    if (pthread_create(&f->thread, NULL, listen_main, f) != 0) {
        log_error("fleet: cannot start the listener thread");
        fleet_free(f);
        return NULL;
    }
    f->thread_started = 1;
    f->need_resync = 1;
    {
        struct control_fleet cf = { .alias_changed = alias_changed,
                                    .version_published = version_published,
                                    .arg = f };
        struct deploy_fleet df = { .may_drive = may_drive, .sample = fleet_sample,
                                   .changed = deploy_changed, .arg = f };
        control_set_fleet(ctl, &cf);
        deploy_set_fleet(dm, &df);
    }
    log_info("fleet: sharing alias state and deployments through redis %s (instance %s)",
             rc->address, f->id);
    return f;
}

void fleet_free(struct fleet *f)
{
    if (!f)
        return;
    control_set_fleet(f->ctl, NULL);
    deploy_set_fleet(f->dm, NULL);
    atomic_store(&f->stop, 1);
    if (f->thread_started)
        pthread_join(f->thread, NULL);
    if (f->tick)
        event_free(f->tick);
    if (f->pipe_ev)
        event_free(f->pipe_ev);
    if (f->pipe_fd[0] >= 0)
        close(f->pipe_fd[0]);
    if (f->pipe_fd[1] >= 0)
        close(f->pipe_fd[1]);
    while (f->head) {
        struct notice *n = f->head;
        f->head = n->next;
        free(n);
    }
    redis_client_free(f->rc);
    for (size_t i = 0; i < f->nfigs; i++) {
        free(f->figs[i].fn);
        free(f->figs[i].version);
    }
    free(f->figs);
    for (size_t i = 0; i < f->nleases; i++) {
        free(f->leases[i].fn);
        free(f->leases[i].alias);
    }
    free(f->leases);
    free(f->conf.host);
    free(f->conf.password);
    pthread_mutex_destroy(&f->lock);
    free(f);
}
