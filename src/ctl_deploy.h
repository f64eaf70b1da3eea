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
#include "ctl_base.h"

/* deploy start FN ALIAS TARGET_VERSION [options] [--watch] */
int cmd_deploy_start(struct ctl *c, const struct command *cmd, int argc, char **argv);

/* deploy status ID [--watch] */
int cmd_deploy_status(struct ctl *c, const struct command *cmd, int argc, char **argv);

/* deploy list */
int cmd_deploy_list(struct ctl *c, const struct command *cmd, int argc, char **argv);

/* deploy rollback|promote|stop ID: cmd->sub is the action. */
int cmd_deploy_action(struct ctl *c, const struct command *cmd, int argc, char **argv);

#endif
