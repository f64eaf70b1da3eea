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
    int rc = command_start(c, cmd, argc, argv, NULL, NULL, 0, "/v1/reload", path);

    if (rc != PROCEED)
        return rc;
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

static void flushed(const struct ctl *c, const struct reply *r, const char *const *pos)
{
    if (!c->json)
        printf("flushed the result cache of authorizer %s\n", pos[0]);
}

int cmd_cache_flush(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    return command_call(c, cmd, argc, argv, 1, "DELETE", "/v1/authorizers/%/cache", flushed);
}

static void print_metrics(const struct ctl *c, const struct reply *r, const char *const *pos)
{
    fwrite(r->body, 1, r->len, stdout); /* Prometheus text is for people and tools alike */
}

int cmd_metrics(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    return command_call(c, cmd, argc, argv, 0, "GET", "/metrics", print_metrics);
}

static void print_health(const struct ctl *c, const struct reply *r, const char *const *pos)
{
    if (!print_raw(c, r))
        printf("%s: %s\n", c->url, jstr(r->json, "status") ? jstr(r->json, "status") : r->body);
}

int cmd_health(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    return command_call(c, cmd, argc, argv, 0, "GET", "/healthz", print_health);
}
