/* ctl_args.h - what a sluicectl command is, and its arguments: the
 * options it takes, the parser that checks them (usage errors are said on
 * stderr with the command's usage line), and parsers for numbers and
 * shares given on the command line. */
#ifndef SLUICE_CTL_ARGS_H
#define SLUICE_CTL_ARGS_H

#include <stddef.h>
#include <stdio.h>

#include "ctl_base.h"

/* parse_args(): go on with the command (any other value is an exit code). */
#define PROCEED (-1)

#define MAX_LIST 32 /* repeated options (--weight) */

/* Repeated option values, in order. */
struct strlist {
    const char *v[MAX_LIST];
    size_t n;
};

enum opt_kind { OPT_FLAG, OPT_VALUE, OPT_LIST };

/* One option a command takes; dest is an int * (flag), a const char **
 * (value) or a struct strlist * (list). */
struct opt {
    const char *name;
    enum opt_kind kind;
    void *dest;
};

struct command {
    const char *name; /* "deploy" */
    const char *sub;  /* "start", or NULL */
    /* runs the command on its arguments (those after the name and sub);
     * returns the exit code */
    int (*run)(struct ctl *c, const struct command *cmd, int argc, char **argv);
    const char *usage;   /* arguments after the name */
    const char *summary; /* one line for the list of commands */
    const char *help;    /* what it does, its options */
};

/* Prints cmd's usage line and help text to f. */
void print_command_help(const struct command *cmd, FILE *f);

/* Says "sluicectl: " and the formatted message on stderr, then cmd's
 * usage line (cmd NULL: a pointer to --help). Returns EXIT_USAGE. */
int usage_error(const struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Splits a command's arguments into its options (opts, ended by a NULL
 * name, or NULL for none; plus --json, which sets c->json, and --help,
 * which every command takes, anywhere) and exactly npos positional
 * arguments into pos (pointers into argv). Returns PROCEED, EXIT_DONE
 * after --help, or EXIT_USAGE after saying what was wrong. */
int parse_args(struct ctl *c, const struct command *cmd, int argc, char **argv,
               const struct opt *opts, const char **pos, size_t npos);

/* A whole number in [0, max] into *out. Returns 0, or -1 when s is not
 * one (*out untouched). */
int parse_uint(const char *s, unsigned long long max, unsigned long long *out);

/* A share in [0, 1], written "0.1" or "10%", into *out. Returns 0, or -1
 * when s is not one (*out untouched). */
int parse_share(const char *s, double *out);

#endif
