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

/* functions: every function with its versions and aliases. */
command_fn cmd_functions;

/* function FN: its settings, versions and aliases. */
command_fn cmd_function;

/* alias get FN ALIAS: versions, weights, traffic, pins, generation. */
command_fn cmd_alias_get;

/* alias set FN ALIAS [options]: read, edit, write back with If-Match. */
command_fn cmd_alias_set;

/* publish FN [--file DEF.json]: a new numbered version. */
command_fn cmd_publish;

#endif
