/* ctl_args.c - the arguments of sluicectl's commands: options in any
 * order ("--name VALUE" or "--name=VALUE"), positional arguments counted,
 * usage errors said with the command's usage line. */
#include "ctl_args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void print_command_help(const struct command *cmd, FILE *f)
{
    fprintf(f, "usage: sluicectl [--admin URL] [--token-file F] %s%s%s%s%s\n\n%s", cmd->name,
            cmd->sub ? " " : "", cmd->sub ? cmd->sub : "", cmd->usage[0] ? " " : "", cmd->usage,
            cmd->help);
}

int usage_error(const struct command *cmd, const char *fmt, ...)
{
    va_list ap;

    fputs("sluicectl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "\nusage: sluicectl %s%s%s%s%s\n(sluicectl help %s%s%s tells more)\n",
                cmd->name, cmd->sub ? " " : "", cmd->sub ? cmd->sub : "",
                cmd->usage[0] ? " " : "", cmd->usage, cmd->name, cmd->sub ? " " : "",
                cmd->sub ? cmd->sub : "");
    else
        fputs("\n(sluicectl --help lists the commands)\n", stderr);
    return EXIT_USAGE;
}

/* Takes the option at argv[*i] ("--name VALUE" or "--name=VALUE"),
 * advancing *i past its value. Returns PROCEED or EXIT_USAGE. */
static int take_option(const struct command *cmd, const struct opt *opts, int argc, char **argv,
                       int *i)
{
    const char *a = argv[*i], *eq = strchr(a, '='), *v;
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);

    for (const struct opt *o = opts; o && o->name; o++) {
        if (strlen(o->name) != nlen || strncmp(o->name, a, nlen) != 0)
            continue;
        if (o->kind == OPT_FLAG) {
            if (eq)
                return usage_error(cmd, "%s takes no value", o->name);
            *(int *)o->dest = 1;
            return PROCEED;
        }
        v = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
        if (!v)
            return usage_error(cmd, "%s needs a value", o->name);
        if (o->kind == OPT_VALUE) {
            *(const char **)o->dest = v;
        } else {
            struct strlist *l = o->dest;
            if (l->n >= MAX_LIST)
                return usage_error(cmd, "%s given more than %d times", o->name, MAX_LIST);
            l->v[l->n++] = v;
        }
        return PROCEED;
    }
    return usage_error(cmd, "unknown option %s", a);
}

/* Splits a command's arguments into its options (opts, plus --json and
 * --help, which every command takes, anywhere) and exactly npos
 * positional arguments. Returns PROCEED, EXIT_DONE after --help, or
 * EXIT_USAGE after saying what was wrong. */
int parse_args(struct ctl *c, const struct command *cmd, int argc, char **argv,
               const struct opt *opts, const char **pos, size_t npos)
{
    size_t got = 0;
    int only_positional = 0;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int rc;
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            if (got >= npos)
                return usage_error(cmd, "unexpected argument %s", a);
            pos[got++] = a;
        } else if (strcmp(a, "--") == 0) {
            only_positional = 1;
        } else if (strcmp(a, "--json") == 0) {
            c->json = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_command_help(cmd, stdout);
            return EXIT_DONE;
        } else if ((rc = take_option(cmd, opts, argc, argv, &i)) != PROCEED) {
            return rc;
        }
    }
    if (got < npos)
        return usage_error(cmd, "missing argument%s", npos - got > 1 ? "s" : "");
    return PROCEED;
}

/* A whole number in [0, max]. Returns 0, or -1 when s is not one. */
int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v;

    if (!isdigit((unsigned char)s[0]))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A share in [0, 1], written "0.1" or "10%". Returns 0 or -1. */
int parse_share(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || errno || !isfinite(v))
        return -1;
    if (*end == '%' && end[1] == '\0')
        v /= 100.0;
    else if (*end)
        return -1;
    if (v < 0 || v > 1)
        return -1;
    *out = v;
    return 0;
}

int command_start(struct ctl *c, const struct command *cmd, int argc, char **argv,
                  const struct opt *opts, const char **pos, size_t npos, const char *tmpl,
                  char *path)
{
    int rc = parse_args(c, cmd, argc, argv, opts, pos, npos);

    if (rc != PROCEED)
        return rc;
    return make_path(c, path, MAX_PATH_BYTES, tmpl, pos) ? EXIT_USAGE : PROCEED;
}

int show_object(struct ctl *c, const char *path, show_fn *show, const char *const *pos)
{
    struct reply r;
    int rc = get_object(c, path, &r);

    if (rc != EXIT_DONE)
        return rc;
    if (!print_raw(c, &r))
        show(c, r.json, pos);
    reply_free(&r);
    return EXIT_DONE;
}

int command_show(struct ctl *c, const struct command *cmd, int argc, char **argv, size_t npos,
                 const char *tmpl, show_fn *show)
{
    const char *pos[MAX_POS] = { NULL };
    char path[MAX_PATH_BYTES];
    int rc = command_start(c, cmd, argc, argv, NULL, pos, npos, tmpl, path);

    return rc != PROCEED ? rc : show_object(c, path, show, pos);
}

int command_call(struct ctl *c, const struct command *cmd, int argc, char **argv, size_t npos,
                 const char *method, const char *tmpl, answer_fn *answer)
{
    const char *pos[MAX_POS] = { NULL };
    char path[MAX_PATH_BYTES];
    struct reply r;
    int rc = command_start(c, cmd, argc, argv, NULL, pos, npos, tmpl, path);

    if (rc != PROCEED || (rc = call(c, method, path, NULL, &r)) != EXIT_DONE)
        return rc;
    answer(c, &r, pos);
    reply_free(&r);
    return EXIT_DONE;
}
