/* admin.h - the admin API: JSON over HTTP on its own listener (libevent's
 * evhttp on the main thread's loop; it is never on the request path).
 * Every endpoint but GET /healthz needs `Authorization: Bearer TOKEN` when
 * a token is configured; tokens are compared in constant time. The
 * endpoints and their answers are listed in the README ("Admin API"). */
#ifndef SLUICE_ADMIN_H
#define SLUICE_ADMIN_H

#include <stddef.h>

#include "config.h"

struct event_base;
struct control;
struct deploy_mgr;
struct admin;

/* What the admin API drives. */
struct admin_ops {
    struct control *ctl;
    struct deploy_mgr *deploy;
    void *arg;
    /* Reloads the config file; returns 0, or -1 with the errors in errs. */
    int (*reload)(void *arg, struct config_errors *errs);
    /* Drops every worker's cached results of the authorizer. */
    void (*flush)(void *arg, const struct authorizer *az);
};

/* Listens on conf->address with conf->token (copied; NULL = no token).
 * ops is copied. Returns the admin API, or NULL with why in err. */
struct admin *admin_new(struct event_base *base, const struct admin_conf *conf,
                        const struct admin_ops *ops, char *err, size_t errlen);

/* A reload brought a new token (NULL = none). The address only changes on
 * restart. */
void admin_set_token(struct admin *ad, const char *token);

/* Closes the listener and every admin connection. NULL is a no-op. */
void admin_free(struct admin *ad);

#endif
