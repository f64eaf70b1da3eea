/* main.c - command line, config loading, workers, signals. */
#include "config.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "control.h"
#include "deploy.h"
#include "fleet.h"
#include "fncall.h"
#include "jwks.h"
#include "log.h"
#include "metrics.h"
#include "throttle.h"
#include "util.h"
#include "worker.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

/* What the running gateway is made of; only the main thread touches it. */
struct server {
    const char *config_path;
    struct config *cfg; /* in force (the control plane's; a reference of ours) */
    struct worker **workers;
    unsigned nworkers;
    struct event_base *base;
    struct jwks_registry *jwks; /* JWKS documents by URL, across reloads */
    struct control *ctl;        /* the file plus runtime state */
    struct deploy_mgr *deploy;
    struct admin *admin; /* NULL without "admin" */
    struct fleet *fleet; /* NULL without "redis" */
};

/* A JWKS fetch ended: workers verify again the requests that waited for
 * new keys (they fail fast when the fetch brought nothing new). */
static void jwks_notify(void *arg, struct jwks_source *src, int changed)
{
    struct server *s = arg;

    for (unsigned i = 0; i < s->nworkers; i++)
        worker_post_keys_changed(s->workers[i]);
}

/* Gives each authorizer with a jwks_url its source, before the snapshot is
 * shared (the only field set after config_load). Returns 0 or -1. */
static int attach_jwks(struct server *s, struct config *cfg)
{
    for (size_t i = 0; i < cfg->nauthorizers; i++) {
        struct authorizer *az = &cfg->authorizers[i];
        if (!az->jwks_url)
            continue;
        az->jwks = jwks_registry_source(s->jwks, az->jwks_url, az->jwks_ca_file,
                                        az->jwks_refresh_s);
        if (!az->jwks) {
            log_error("out of memory setting up the JWKS of authorizer %s", az->name);
            return -1;
        }
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sluice -c FILE        run the gateway with config FILE\n"
            "       sluice -t -c FILE     check FILE and exit (0 = valid, 1 = errors)\n"
            "       sluice --version      print the version\n"
            "       sluice --help         print this help\n"
            "\n"
            "signals: SIGHUP reloads the config (a bad one is logged and the running one\n"
            "kept), SIGTERM/SIGINT stop gracefully (requests in flight finish, bounded by\n"
            "limits.shutdown_timeout_ms), SIGUSR1 reopens the log files.\n");
}

static void log_config_errors(const char *what, const struct config_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++) {
        const struct config_error *e = &errs->v[i];
        if (e->path && e->path[0])
            log_error("%s: %s:%d: %s: %s", what, e->file, e->line, e->path, e->message);
        else
            log_error("%s: %s:%d: %s", what, e->file, e->line, e->message);
    }
}

/* Settings a reload cannot change: the listeners and threads exist already. */
static void warn_restart_only(const struct config *old, const struct config *cfg)
{
    int same = old->nlisten == cfg->nlisten && old->workers == cfg->workers;

    for (size_t i = 0; same && i < cfg->nlisten; i++)
        same = old->listen[i].addrlen == cfg->listen[i].addrlen &&
               memcmp(&old->listen[i].addr, &cfg->listen[i].addr, cfg->listen[i].addrlen) == 0;
    if (!same)
        log_warn("reload: changes to listen and workers take effect on restart only");
}

/* control_install_fn: puts a new snapshot in force. Runs for reloads and
 * for every runtime change (an alias set, a version published, a
 * deployment step). */
static int install(void *arg, struct config *cfg, int is_reload)
{
    struct server *s = arg;
    char err[512];

    if (is_reload && log_open(&cfg->log, err, sizeof(err)) < 0) {
        log_error("%s", err);
        return -1;
    }
    if (attach_jwks(s, cfg) < 0 || metrics_attach(cfg) < 0 || fncall_attach(cfg) < 0 ||
        throttle_attach(cfg) < 0) {
        log_error("out of memory setting up the new config");
        return -1;
    }
    if (is_reload)
        warn_restart_only(s->cfg, cfg);
    for (unsigned i = 0; i < s->nworkers; i++)
        worker_post_reload(s->workers[i], cfg);
    config_unref(s->cfg);
    s->cfg = config_ref(cfg);
    if (s->admin)
        admin_set_token(s->admin, cfg->admin.token);
    return 0;
}

/* Reloads the file. Returns 0, or -1 with the errors in errs (the running
 * config is kept). */
static int reload_errs(void *arg, struct config_errors *errs)
{
    struct server *s = arg;

    if (control_reload(s->ctl, errs) < 0) {
        if (errs->n == 0)
            log_error("reload failed, keeping the running config");
        log_config_errors("reload failed, keeping the running config", errs);
        return -1;
    }
    log_info("reloaded %s: %zu route(s), %zu function(s)", s->config_path, s->cfg->nroutes,
             s->cfg->nfunctions);
    return 0;
}

static void reload(struct server *s)
{
    struct config_errors errs = { 0 };

    reload_errs(s, &errs);
    config_errors_clear(&errs);
}

/* Admin cache flush: every worker drops the authorizer's results. */
static void flush_authorizer(void *arg, const struct authorizer *az)
{
    struct server *s = arg;

    for (unsigned i = 0; i < s->nworkers; i++)
        worker_post_flush(s->workers[i], az->id);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct server *s = arg;

    switch (sig) {
    case SIGHUP:
        log_info("SIGHUP: reloading %s", s->config_path);
        reload(s);
        break;
    case SIGUSR1:
        log_info("SIGUSR1: reopening log files");
        log_reopen();
        break;
    case SIGTERM:
    case SIGINT:
        log_info("%s: stopping (requests in flight may take up to %u ms)",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT", s->cfg->limits.shutdown_timeout_ms);
        for (unsigned i = 0; i < s->nworkers; i++)
            worker_post_stop(s->workers[i]);
        event_base_loopexit(s->base, NULL);
        break;
    }
}

static unsigned worker_count(const struct config *cfg)
{
    long n;

    if (cfg->workers)
        return cfg->workers;
    n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static int run(struct server *s)
{
    static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1 };
    struct event *sigev[4] = { 0 };
    sigset_t block, old;
    char err[512];
    int rc = 1;
    unsigned i;

    if (log_open(&s->cfg->log, err, sizeof(err)) < 0) {
        fprintf(stderr, "sluice: %s\n", err);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    s->base = event_base_new();
    if (!s->base) {
        log_error("cannot create the main event loop");
        return 1;
    }
    s->jwks = jwks_registry_new(s->base, jwks_notify, s);
    if (!s->jwks || attach_jwks(s, s->cfg) < 0) {
        log_error("cannot set up JWKS fetching: out of memory");
        goto out;
    }
    s->nworkers = worker_count(s->cfg);
    if (metrics_init(s->nworkers) < 0 || metrics_attach(s->cfg) < 0 ||
        fncall_init(s->nworkers) < 0 || fncall_attach(s->cfg) < 0 ||
        throttle_attach(s->cfg) < 0) {
        log_error("cannot set up metrics and concurrency limits: out of memory");
        goto out;
    }
    for (i = 0; i < 4; i++) {
        sigev[i] = evsignal_new(s->base, sigs[i], signal_cb, s);
        if (!sigev[i] || event_add(sigev[i], NULL) < 0) {
            log_error("cannot handle signal %d", sigs[i]);
            goto out;
        }
    }
    s->workers = calloc(s->nworkers, sizeof(*s->workers));
    if (!s->workers) {
        log_error("out of memory");
        goto out;
    }
    for (i = 0; i < s->nworkers; i++) {
        s->workers[i] = worker_new(i, s->cfg, err, sizeof(err));
        if (!s->workers[i]) {
            log_error("%s", err);
            goto out;
        }
    }
    /* workers inherit a mask without these signals, so they all reach the
     * main thread's loop */
    sigemptyset(&block);
    for (i = 0; i < 4; i++)
        sigaddset(&block, sigs[i]);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (i = 0; i < s->nworkers; i++) {
        if (worker_start(s->workers[i]) < 0) {
            log_error("cannot start worker %u: %s", i, strerror(errno));
            for (unsigned j = 0; j < i; j++)
                worker_post_stop(s->workers[j]);
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            goto out;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    s->deploy = deploy_new(s->base, s->ctl);
    if (!s->deploy) {
        log_error("cannot set up deployments: out of memory");
        goto stop;
    }
    if (s->cfg->redis.enabled) {
        s->fleet = fleet_new(s->base, &s->cfg->redis, s->ctl, s->deploy);
        if (!s->fleet)
            goto stop;
    }
    if (s->cfg->admin.enabled) {
        struct admin_ops ops = { .ctl = s->ctl, .deploy = s->deploy, .arg = s,
                                 .reload = reload_errs, .flush = flush_authorizer };
        s->admin = admin_new(s->base, &s->cfg->admin, &ops, err, sizeof(err));
        if (!s->admin) {
            log_error("%s", err);
            goto stop;
        }
        log_info("admin API on %s%s", s->cfg->admin.address,
                 s->cfg->admin.token ? "" : " (no token: loopback only)");
    }
    for (i = 0; i < s->cfg->nlisten; i++)
        log_info("sluice %s listening on %s", PACKAGE_VERSION, s->cfg->listen[i].address);
    log_info("%u worker(s), %zu route(s), %zu function(s) from %s", s->nworkers, s->cfg->nroutes,
             s->cfg->nfunctions, s->config_path);
    event_base_dispatch(s->base);
    rc = 0;
    goto out;
stop:
    for (i = 0; i < s->nworkers; i++)
        worker_post_stop(s->workers[i]);
out:
    admin_free(s->admin);
    s->admin = NULL;
    fleet_free(s->fleet);
    s->fleet = NULL;
    deploy_free(s->deploy);
    s->deploy = NULL;
    for (i = 0; s->workers && i < s->nworkers; i++)
        worker_join_free(s->workers[i]);
    free(s->workers);
    s->nworkers = 0;
    jwks_registry_free(s->jwks);
    metrics_shutdown();
    throttle_shutdown();
    for (i = 0; i < 4; i++)
        if (sigev[i])
            event_free(sigev[i]);
    event_base_free(s->base);
    if (rc == 0)
        log_info("stopped");
    return rc;
}

int main(int argc, char **argv)
{
    struct server s = { 0 };
    struct config_errors errs = { 0 };
    int test_only = 0;
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
            printf("sluice %s\n", PACKAGE_VERSION);
            return 0;
        } else if (strcmp(a, "-t") == 0) {
            test_only = 1;
        } else if (strcmp(a, "-c") == 0 && i + 1 < argc) {
            s.config_path = argv[++i];
        } else {
            fprintf(stderr, "sluice: unknown argument '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!s.config_path) {
        fprintf(stderr, "sluice: no config file given (-c FILE)\n\n");
        usage(stderr);
        return 2;
    }
    if (test_only) {
        s.cfg = config_load(s.config_path, &errs);
        if (s.cfg)
            printf("sluice: configuration file %s test is successful (%zu route(s), %zu "
                   "function(s))\n",
                   s.config_path, s.cfg->nroutes, s.cfg->nfunctions);
    } else {
        s.ctl = control_new(s.config_path, install, &s);
        if (!s.ctl) {
            fprintf(stderr, "sluice: out of memory\n");
            return 1;
        }
        s.cfg = control_load(s.ctl, &errs);
        if (s.cfg)
            config_ref(s.cfg);
    }
    if (!s.cfg) {
        fprintf(stderr, "sluice: %s: %zu error(s):\n", s.config_path, errs.n);
        config_errors_print(stderr, &errs);
        config_errors_clear(&errs);
        control_free(s.ctl);
        return 1;
    }
    rc = test_only ? 0 : run(&s);
    config_unref(s.cfg);
    control_free(s.ctl);
    return rc;
}
