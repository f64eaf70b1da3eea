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

/* reload: reload the config file; a refused config's errors are listed. */
command_fn cmd_reload;

/* cache flush AUTHORIZER: empty an authorizer's result cache. */
command_fn cmd_cache_flush;

/* metrics: the Prometheus text, as it is. */
command_fn cmd_metrics;

/* health: the admin API's /healthz status. */
command_fn cmd_health;

#endif
