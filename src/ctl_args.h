/* ctl_args.h - what a sluicectl command is, and its arguments: the
 * options it takes, the parser that checks them (usage errors are said on
 * stderr with the command's usage line), parsers for numbers and shares
 * given on the command line, and the steps most commands share from their
 * arguments to a request and its answer shown. */
#ifndef SLUICE_CTL_ARGS_H
#define SLUICE_CTL_ARGS_H

#include <stddef.h>
#include <stdio.h>

#include "ctl_base.h"
#include "ctl_http.h"

/* parse_args(): go on with the command (any other value is an exit code). */
#define PROCEED (-1)

#define MAX_LIST 32 /* repeated options (--weight) */
#define MAX_POS 3   /* positional arguments of command_show(), command_call() */

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

struct command;

/* What a command does: runs on its arguments (those after its name and
 * sub), printing on stdout and what went wrong on stderr, and returns the
 * exit code. */
typedef int command_fn(struct ctl *c, const struct command *cmd, int argc, char **argv);

struct command {
    const char *name; /* "deploy" */
    const char *sub;  /* "start", or NULL */
    command_fn *run;
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

/* Shows the JSON object an answer carried, for people (pos: the
 * command's positional arguments). */
typedef void show_fn(const struct ctl *c, const json_t *obj, const char *const *pos);

/* Shows an answer, --json included (pos: as for show_fn). */
typedef void answer_fn(const struct ctl *c, const struct reply *r, const char *const *pos);

/* parse_args(), then the request path: tmpl with each '%' replaced by the
 * next of pos (see make_path()) into path[MAX_PATH_BYTES]. Returns
 * PROCEED, or the exit code after --help or after saying what was wrong. */
int command_start(struct ctl *c, const struct command *cmd, int argc, char **argv,
                  const struct opt *opts, const char **pos, size_t npos, const char *tmpl,
                  char *path);

/* GETs path and shows the JSON object it answers: as it is with --json,
 * else through show(c, object, pos). Returns EXIT_DONE, or the exit code
 * after saying why there is nothing to show. */
int show_object(struct ctl *c, const char *path, show_fn *show, const char *const *pos);

/* A command that shows one object: command_start() without options and
 * with npos (at most MAX_POS) positional arguments, then show_object().
 * Returns the exit code. */
int command_show(struct ctl *c, const struct command *cmd, int argc, char **argv, size_t npos,
                 const char *tmpl, show_fn *show);

/* A command that makes one request without a body: command_start()
 * without options and with npos (at most MAX_POS) positional arguments,
 * then call(method), then answer(c, reply, pos) on a 2xx answer. Returns
 * the exit code. */
int command_call(struct ctl *c, const struct command *cmd, int argc, char **argv, size_t npos,
                 const char *method, const char *tmpl, answer_fn *answer);

#endif
