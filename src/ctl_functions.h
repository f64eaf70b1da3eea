/* ctl_functions.h - sluicectl's commands about functions and their
 * aliases: list and show functions, show and change an alias (changes are
 * written with If-Match, so a concurrent change is never overwritten),
 * publish a version.
 *
 * Each takes the context, its entry in the command table and the
 * arguments after its name; prints tables (or the server's JSON with
 * --json) on stdout and what went wrong on stderr; returns the exit code
 * (EXIT_DONE, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE). */
#ifndef SLUICE_CTL_FUNCTIONS_H
#define SLUICE_CTL_FUNCTIONS_H

#include "ctl_args.h"
#include "ctl_base.h"

/* functions: every function with its versions and aliases. */
int cmd_functions(struct ctl *c, const struct command *cmd, int argc, char **argv);

/* function FN: its settings, versions and aliases. */
int cmd_function(struct ctl *c, const struct command *cmd, int argc, char **argv);

/* alias get FN ALIAS: versions, weights, traffic, pins, generation. */
int cmd_alias_get(struct ctl *c, const struct command *cmd, int argc, char **argv);

/* alias set FN ALIAS [options]: read, edit, write back with If-Match. */
int cmd_alias_set(struct ctl *c, const struct command *cmd, int argc, char **argv);

/* publish FN [--file DEF.json]: a new numbered version. */
int cmd_publish(struct ctl *c, const struct command *cmd, int argc, char **argv);

#endif
