/* ctl_gateway.h - sluicectl's commands about the gateway as a whole:
 * reload its config, flush an authorizer's cache, print its metrics, ask
 * whether it is up.
 *
 * Each takes the context, its entry in the command table and the
 * arguments after its name; prints on stdout (the server's JSON with
 * --json) and what went wrong on stderr; returns the exit code
 * (EXIT_DONE, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE). */
#ifndef SLUICE_CTL_GATEWAY_H
#define SLUICE_CTL_GATEWAY_H

#include "ctl_args.h"
#include "ctl_base.h"

/* reload: reload the config file; a refused config's errors are listed. */
int cmd_reload(struct ctl *c, const struct command *cmd, int argc, char **argv);

/* cache flush AUTHORIZER: empty an authorizer's result cache. */
int cmd_cache_flush(struct ctl *c, const struct command *cmd, int argc, char **argv);

/* metrics: the Prometheus text, as it is. */
int cmd_metrics(struct ctl *c, const struct command *cmd, int argc, char **argv);

/* health: the admin API's /healthz status. */
int cmd_health(struct ctl *c, const struct command *cmd, int argc, char **argv);

#endif
