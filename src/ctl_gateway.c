/* ctl_gateway.c - sluicectl's commands about the gateway as a whole:
 * reload, cache flush, metrics, health. */
#include "ctl_gateway.h"

#include <jansson.h>
#include <stdio.h>

#include "ctl_http.h"
#include "ctl_print.h"

int cmd_reload(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct reply r;
    char path[MAX_PATH_BYTES], tmp[32], tmp2[32];
    const json_t *e;
    size_t i;
    int rc = parse_args(c, cmd, argc, argv, NULL, NULL, 0);

    if (rc != PROCEED)
        return rc;
    if (make_path(c, path, sizeof path, "/v1/reload"))
        return EXIT_USAGE;
    if (call_raw(c, "POST", path, NULL, NULL, &r))
        return unreachable(c);
    rc = EXIT_DONE;
    if (r.status < 200 || r.status > 299) {
        rc = refused(c, &r);
        json_array_foreach(json_object_get(r.json, "errors"), i, e)
        {
            fprintf(stderr, "  %s\n", json_string_value(e) ? json_string_value(e) : "?");
        }
        if (r.status == 400)
            say("the running config keeps serving");
    } else if (!print_raw(c, &r)) {
        printf("reloaded: %s routes, %s functions\n",
               fmt_json(json_object_get(r.json, "routes"), tmp, sizeof tmp),
               fmt_json(json_object_get(r.json, "functions"), tmp2, sizeof tmp2));
    }
    reply_free(&r);
    return rc;
}

int cmd_cache_flush(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct reply r;
    char path[MAX_PATH_BYTES];
    const char *pos[1];
    int rc = parse_args(c, cmd, argc, argv, NULL, pos, 1);

    if (rc != PROCEED)
        return rc;
    if (make_path(c, path, sizeof path, "/v1/authorizers/%/cache", pos[0]))
        return EXIT_USAGE;
    if ((rc = call(c, "DELETE", path, NULL, &r)) != EXIT_DONE)
        return rc;
    if (!c->json)
        printf("flushed the result cache of authorizer %s\n", pos[0]);
    reply_free(&r);
    return EXIT_DONE;
}

int cmd_metrics(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct reply r;
    char path[MAX_PATH_BYTES];
    int rc = parse_args(c, cmd, argc, argv, NULL, NULL, 0);

    if (rc != PROCEED)
        return rc;
    if (make_path(c, path, sizeof path, "/metrics"))
        return EXIT_USAGE;
    if ((rc = call(c, "GET", path, NULL, &r)) != EXIT_DONE)
        return rc;
    fwrite(r.body, 1, r.len, stdout); /* Prometheus text is for people and tools alike */
    reply_free(&r);
    return EXIT_DONE;
}

int cmd_health(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct reply r;
    char path[MAX_PATH_BYTES];
    int rc = parse_args(c, cmd, argc, argv, NULL, NULL, 0);

    if (rc != PROCEED)
        return rc;
    if (make_path(c, path, sizeof path, "/healthz"))
        return EXIT_USAGE;
    if ((rc = call(c, "GET", path, NULL, &r)) != EXIT_DONE)
        return rc;
    if (!print_raw(c, &r))
        printf("%s: %s\n", c->url, jstr(r.json, "status") ? jstr(r.json, "status") : r.body);
    reply_free(&r);
    return EXIT_DONE;
}
