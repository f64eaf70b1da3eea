/* ctl_deploy.h - sluicectl's deployment commands: start one, show one
 * (once, or live until it ends: redrawn on a terminal, a line per change
 * otherwise, JSON lines with --json), list them, and roll back, promote or
 * stop one.
 *
 * Each takes the context, its entry in the command table and the
 * arguments after its name; prints on stdout and what went wrong on
 * stderr; returns the exit code (EXIT_DONE, EXIT_REFUSED, EXIT_USAGE,
 * EXIT_UNREACHABLE, and EXIT_INTERRUPTED when Ctrl-C stopped a watch;
 * a watch that ends in a rollback or a stop gives EXIT_REFUSED). */
#ifndef SLUICE_CTL_DEPLOY_H
#define SLUICE_CTL_DEPLOY_H

#include "ctl_args.h"

/* deploy start FN ALIAS TARGET_VERSION [options] [--watch] */
command_fn cmd_deploy_start;

/* deploy status ID [--watch] */
command_fn cmd_deploy_status;

/* deploy list */
command_fn cmd_deploy_list;

/* deploy rollback|promote|stop ID: cmd->sub is the action. */
command_fn cmd_deploy_action;

#endif
