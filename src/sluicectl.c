/* sluicectl.c - the command-line client of sluice's admin API: main(),
 * the global options, the table of commands and their help.
 *
 * The pieces: ctl_http.c talks to the admin API (a blocking HTTP/1.1
 * client, the admin URL, the token), ctl_args.c parses each command's
 * arguments, ctl_print.c formats what people read (aligned tables, "key:
 * value" blocks), and the commands live in ctl_functions.c (functions,
 * aliases, publish), ctl_gateway.c (reload, cache, metrics, health) and
 * ctl_deploy.c (deployments, and a live view of one). --json prints the
 * server's own JSON instead, for scripts.
 *
 * Exit codes: 0 done, 1 the server said no (its status and message are
 * printed), 2 usage error, 3 the admin API could not be reached (and why),
 * 130 watching was interrupted by Ctrl-C (the deployment goes on).
 */
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_args.h"
#include "ctl_base.h"
#include "ctl_deploy.h"
#include "ctl_functions.h"
#include "ctl_gateway.h"
#include "ctl_http.h"

static const struct command commands[] = {
    { "functions", NULL, cmd_functions, "", "list functions, their versions and aliases",
      "Lists every function with its versions and aliases.\n" },
    { "function", NULL, cmd_function, "FN", "one function: settings, versions, aliases",
      "Shows a function's settings, each version's handler and settings, and its\n"
      "aliases.\n" },
    { "alias", "get", cmd_alias_get, "FN ALIAS", "an alias: versions, weights, pins",
      "Shows an alias: its primary version, the weights of other versions, the\n"
      "resulting traffic shares, stickiness, pins and generation.\n" },
    { "alias", "set", cmd_alias_set, "FN ALIAS [options]", "change an alias (safely)",
      "Reads the alias, applies the changes, and writes it back only if nobody\n"
      "changed it in between (If-Match: the generation read). When someone did,\n"
      "nothing is written and the exit code is 1: read it again and retry.\n\n"
      "  --version V       the primary version (it gets the traffic no weight takes)\n"
      "  --weight V=W      give version V the share W: 0.1 or 10%; 0 removes it;\n"
      "                    repeatable; other weights stay\n"
      "  --no-weights      remove every weight first (all traffic to the primary,\n"
      "                    plus any --weight given)\n"
      "  --sticky-by SEL   keep each caller on one version: $claim.sub,\n"
      "                    $request.header.NAME, $request.cookie.NAME, $request.ip ...\n"
      "  --no-sticky       a random pick per request\n"
      "  --pins-file F     replace the pins with F's JSON array\n"
      "                    ([{\"when\":{\"$claim.tenant\":\"acme\"},\"version\":\"2\"}])\n" },
    { "publish", NULL, cmd_publish, "FN [--file DEF.json]", "publish a version",
      "Publishes a new numbered version. Without --file, $LATEST's definition is\n"
      "published; with it, the version definition in the file ({\"handler\":{...},\n"
      "\"timeout_ms\":...}). Publishing a definition identical to a published version\n"
      "gives that version's number back (\"not new\").\n" },
    { "deploy", "start", cmd_deploy_start, "FN ALIAS TARGET_VERSION [options]",
      "move an alias to a version, step by step",
      "Starts moving ALIAS's traffic to TARGET_VERSION.\n\n"
      "  --strategy S          AllAtOnce (default), Canary{N}Percent{M}Minutes,\n"
      "                        Linear{N}PercentEvery{M}Minutes (also ...Seconds), or\n"
      "                        explicit steps: '{\"steps\":[{\"weight\":0.1,\"hold_s\":30}]}'\n"
      "  --max-error-rate R    roll back when the target's error rate exceeds R\n"
      "                        (0.05 or 5%)\n"
      "  --max-p99-ms N        roll back when the target's p99 latency exceeds N ms\n"
      "  --window-s N          the alarms' sliding window (default 30)\n"
      "  --min-requests N      no alarm before the target served N requests in it\n"
      "  --pre-hook FN:Q       a function that must succeed before traffic moves\n"
      "  --post-hook FN:Q      a function that must succeed once all traffic moved\n"
      "  --watch               show its progress live until it ends (see deploy status)\n" },
    { "deploy", "status", cmd_deploy_status, "ID [--watch]", "a deployment's progress",
      "Shows a deployment: state, step, weights, and per version the requests,\n"
      "errors, error rate and p99 latency over the alarm window.\n\n"
      "  --watch   poll once a second and show the progress live (redrawn in place on\n"
      "            a terminal, one line per change otherwise) until the deployment\n"
      "            ends. Exit code 0 when it succeeded, 1 when it was rolled back or\n"
      "            stopped. Ctrl-C stops the watching only (exit code 130): the\n"
      "            deployment goes on.\n" },
    { "deploy", "list", cmd_deploy_list, "", "deployments, newest first",
      "Lists the deployments, running and ended, newest first.\n" },
    { "deploy", "rollback", cmd_deploy_action, "ID", "roll a deployment back now",
      "Rolls a running deployment back: the alias returns to where it was.\n" },
    { "deploy", "promote", cmd_deploy_action, "ID", "give the target all traffic now",
      "Ends a running deployment at once: the target version gets all traffic.\n" },
    { "deploy", "stop", cmd_deploy_action, "ID", "stop a deployment where it is",
      "Stops a running deployment: the weights stay as they are.\n" },
    { "reload", NULL, cmd_reload, "", "reload the config file",
      "Reloads the gateway's config file. A config with errors is refused (they\n"
      "are printed, exit code 1) and the running one keeps serving.\n" },
    { "cache", "flush", cmd_cache_flush, "AUTHORIZER", "forget an authorizer's results",
      "Empties an authorizer's result cache: every token is verified again.\n" },
    { "metrics", NULL, cmd_metrics, "", "Prometheus metrics",
      "Prints the gateway's metrics in the Prometheus text format.\n" },
    { "health", NULL, cmd_health, "", "is the admin API up?",
      "Asks the admin API whether it is up (no token needed).\n" },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const struct command *find_command(const char *name, const char *sub)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0 && (!commands[i].sub || same(commands[i].sub, sub)))
            return &commands[i];
    return NULL;
}

/* "get, set" for "alias": the subcommands of name, or "" without any. */
static const char *subcommands(const char *name, char *out, size_t n)
{
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; i < NCOMMANDS; i++) {
        int k;
        if (strcmp(commands[i].name, name) != 0 || !commands[i].sub)
            continue;
        k = snprintf(out + len, n - len, "%s%s", len ? ", " : "", commands[i].sub);
        if (k < 0 || (size_t)k >= n - len)
            break;
        len += (size_t)k;
    }
    return out;
}

static void usage(FILE *f)
{
    char left[96];

    fprintf(f, "usage: sluicectl [--admin URL] [--token-file F] [--json] COMMAND ...\n\n"
               "Drives a running sluice through its admin API.\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        snprintf(left, sizeof left, "%s%s%s %s", commands[i].name, commands[i].sub ? " " : "",
                 commands[i].sub ? commands[i].sub : "", commands[i].usage);
        fprintf(f, "  %-46s %s\n", left, commands[i].summary);
    }
    fprintf(f, "  %-46s %s\n\n", "help COMMAND", "more about a command");
    fprintf(f,
            "options:\n"
            "  --admin URL       the admin API (default: $SLUICE_ADMIN, else %s);\n"
            "                    plain http:// only\n"
            "  --token-file F    a file holding the bearer token (default:\n"
            "                    $SLUICE_ADMIN_TOKEN_FILE; none without either)\n"
            "  --json            print the server's JSON instead of tables\n"
            "  --version, --help\n\n"
            "exit codes: 0 done, 1 the server said no, 2 usage error, 3 the admin API\n"
            "cannot be reached, 130 watching interrupted by Ctrl-C\n",
            DEFAULT_ADMIN);
}

/* help [COMMAND [SUB]] */
static int cmd_help(int argc, char **argv)
{
    const struct command *cmd;
    char subs[128];

    if (argc == 0) {
        usage(stdout);
        return EXIT_DONE;
    }
    cmd = find_command(argv[0], argc > 1 ? argv[1] : NULL);
    if (cmd) {
        print_command_help(cmd, stdout);
        return EXIT_DONE;
    }
    if (subcommands(argv[0], subs, sizeof subs)[0]) {
        if (argc > 1) /* help alias nope */
            return usage_error(NULL, "%s wants one of: %s", argv[0], subs);
        /* help deploy: all of them */
        for (size_t i = 0; i < NCOMMANDS; i++)
            if (strcmp(commands[i].name, argv[0]) == 0) {
                print_command_help(&commands[i], stdout);
                fputc('\n', stdout);
            }
        return EXIT_DONE;
    }
    return usage_error(NULL, "no command %s", argv[0]);
}

/* The options before the command. Returns PROCEED with *next at the
 * command, or an exit code (after --help, --version or a usage error). */
static int parse_globals(struct ctl *c, int argc, char **argv, const char **admin,
                         const char **token_file, int *next)
{
    int i;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char **dest = NULL;
        if (strcmp(a, "--json") == 0) {
            c->json = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return EXIT_DONE;
        }
        if (strcmp(a, "--version") == 0) {
            printf("sluicectl %s\n", PACKAGE_VERSION);
            return EXIT_DONE;
        }
        if (strncmp(a, "--admin", 7) == 0 && (a[7] == '\0' || a[7] == '='))
            dest = admin;
        else if (strncmp(a, "--token-file", 12) == 0 && (a[12] == '\0' || a[12] == '='))
            dest = token_file;
        if (!dest)
            return usage_error(NULL, "unknown option %s", a);
        if (strchr(a, '='))
            *dest = strchr(a, '=') + 1;
        else if (i + 1 < argc)
            *dest = argv[++i];
        else
            return usage_error(NULL, "%s needs a value", a);
    }
    *next = i;
    return PROCEED;
}

/* 1 when args[0..n) ask for help before any "--" (CMD --help). */
static int wants_help(int n, char **args)
{
    for (int i = 0; i < n && strcmp(args[i], "--") != 0; i++)
        if (strcmp(args[i], "--help") == 0 || strcmp(args[i], "-h") == 0)
            return 1;
    return 0;
}

/* Everything but the last check of the output: the global options, then
 * help or one command. Returns the exit code. */
static int run(struct ctl *c, int argc, char **argv)
{
    const char *admin = getenv("SLUICE_ADMIN"), *token_file = getenv("SLUICE_ADMIN_TOKEN_FILE");
    const char *term = getenv("TERM");
    const struct command *cmd;
    char subs[128];
    int i = 1, rc;

    if ((rc = parse_globals(c, argc, argv, &admin, &token_file, &i)) != PROCEED)
        return rc;
    if (i >= argc)
        return usage_error(NULL, "no command given");
    if (strcmp(argv[i], "help") == 0)
        return cmd_help(argc - i - 1, argv + i + 1);
    cmd = find_command(argv[i], i + 1 < argc ? argv[i + 1] : NULL);
    if (!cmd && subcommands(argv[i], subs, sizeof subs)[0])
        return usage_error(NULL, "%s wants one of: %s", argv[i], subs);
    if (!cmd)
        return usage_error(NULL, "no command %s", argv[i]);
    i += cmd->sub ? 2 : 1;
    if (wants_help(argc - i, argv + i)) {
        /* help needs no admin URL or token: a bad one must not hide it */
        print_command_help(cmd, stdout);
        return EXIT_DONE;
    }
    if (parse_admin_url(c, admin && admin[0] ? admin : DEFAULT_ADMIN) ||
        (token_file && token_file[0] && load_token(c, token_file)))
        return EXIT_USAGE;
    setlocale(LC_CTYPE, ""); /* only to learn whether the terminal takes UTF-8 */
    c->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    c->tty = isatty(STDOUT_FILENO) && !(term && strcmp(term, "dumb") == 0);
    return cmd->run(c, cmd, argc - i, argv + i);
}

int main(int argc, char **argv)
{
    struct ctl c;
    int rc;

    memset(&c, 0, sizeof c);
    rc = run(&c, argc, argv);
    free(c.token);
    /* output that did not reach its file (a full disk) must not pass as
     * done, whatever printed it: a command, help or the version */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        say("cannot write the output: %s", strerror(errno));
        rc = rc ? rc : EXIT_REFUSED;
    }
    return rc;
}
