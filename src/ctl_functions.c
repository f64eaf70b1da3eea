/* ctl_functions.c - sluicectl's commands about functions and aliases:
 * functions, function, alias get, alias set, publish. */
#include "ctl_functions.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_http.h"
#include "ctl_print.h"

/* A version's handler as "http http://127.0.0.1:9001" and its other
 * settings as "timeout_ms=5000 max_concurrency=10". */
static void fmt_version(const json_t *def, char *handler, size_t hn, char *settings, size_t sn)
{
    const json_t *hd = json_object_get(def, "handler"), *v;
    const char *where = jstr(hd, "url"), *k;
    size_t len = 0;
    char tmp[256];

    if (!where)
        where = jstr(hd, "endpoint") ? jstr(hd, "endpoint") : jstr(hd, "file");
    snprintf(handler, hn, "%s %s%s%s", jstr(hd, "type") ? jstr(hd, "type") : "?",
             where ? where : "", jstr(hd, "function_name") ? " " : "",
             jstr(hd, "function_name") ? jstr(hd, "function_name") : "");
    snprintf(settings, sn, "-");
    json_object_foreach((json_t *)def, k, v)
    {
        int m;
        if (strcmp(k, "handler") == 0)
            continue;
        m = snprintf(settings + len, sn - len, "%s%s=%s", len ? " " : "", k,
                     fmt_json(v, tmp, sizeof tmp));
        if (m < 0 || (size_t)m >= sn - len)
            break;
        len += (size_t)m;
    }
}

static void print_function_tables(const struct ctl *c, const json_t *f)
{
    const json_t *versions = json_object_get(f, "versions"),
                 *aliases = json_object_get(f, "aliases");
    const char *keys[256];
    size_t n = json_is_object(versions) ? sorted_keys(versions, keys, 256) : 0;
    struct table t = { .ncols = 3 }, a = { .ncols = 6 };
    char h[512], s[512], w[512], pins[16], gen[32];

    table_row(&t, "VERSION", "HANDLER", "SETTINGS");
    for (size_t i = 0; i < n; i++) {
        fmt_version(json_object_get(versions, keys[i]), h, sizeof h, s, sizeof s);
        table_row(&t, keys[i], h, s);
    }
    printf("\n");
    table_print(&t, "");
    table_free(&t);
    n = json_is_object(aliases) ? sorted_keys(aliases, keys, 256) : 0;
    if (n == 0)
        return;
    table_row(&a, "ALIAS", "VERSION", "WEIGHTS", "STICKY_BY", "PINS", "GENERATION");
    for (size_t i = 0; i < n; i++) {
        const json_t *al = json_object_get(aliases, keys[i]);
        snprintf(pins, sizeof pins, "%zu", json_array_size(json_object_get(al, "pins")));
        table_row(&a, keys[i], jstr(al, "version"),
                  fmt_weights(json_object_get(al, "weights"), w, sizeof w), jstr(al, "sticky_by"),
                  pins, fmt_json(json_object_get(al, "generation"), gen, sizeof gen));
    }
    printf("\n");
    table_print(&a, "");
    table_free(&a);
}

static void print_functions(const struct ctl *c, const json_t *list, const char *const *pos)
{
    struct table t = { .ncols = 3 };
    char vs[1024], as[1024];
    const json_t *fn;
    size_t i;

    table_row(&t, "FUNCTION", "VERSIONS", "ALIASES");
    json_array_foreach(json_object_get(list, "functions"), i, fn)
    {
        table_row(&t, jstr(fn, "name"), fmt_list(json_object_get(fn, "versions"), vs, sizeof vs),
                  fmt_list(json_object_get(fn, "aliases"), as, sizeof as));
    }
    table_print(&t, "");
    table_free(&t);
}

int cmd_functions(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    return command_show(c, cmd, argc, argv, 0, "/v1/functions", print_functions);
}

static void print_function(const struct ctl *c, const json_t *f, const char *const *pos)
{
    struct table t = { .ncols = 2 };
    char tmp[64];
    static const char *const settings[] = { "timeout_ms", "memory_mb", "max_concurrency" };

    kv(&t, "function", "%s", jstr(f, "name") ? jstr(f, "name") : pos[0]);
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        kv(&t, settings[i], "%s", fmt_json(json_object_get(f, settings[i]), tmp, sizeof tmp));
    table_print(&t, "");
    table_free(&t);
    print_function_tables(c, f);
}

int cmd_function(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    return command_show(c, cmd, argc, argv, 1, "/v1/functions/%", print_function);
}

/* Who gets what share of an alias's traffic: "1 90%, 2 10%". */
static const char *fmt_traffic(const json_t *a, char *out, size_t n)
{
    const json_t *weights = json_object_get(a, "weights");
    const char *keys[MAX_VERSIONS];
    size_t nk = json_is_object(weights) ? sorted_keys(weights, keys, MAX_VERSIONS) : 0, len;
    double rest = 1.0;
    char pct[32];

    for (size_t i = 0; i < nk; i++)
        rest -= jnum(weights, keys[i], 0);
    snprintf(out, n, "%s %s", jstr(a, "version") ? jstr(a, "version") : "?",
             fmt_pct(rest < 0 ? 0 : rest, pct, sizeof pct));
    len = strlen(out);
    for (size_t i = 0; i < nk && len < n; i++) {
        int k = snprintf(out + len, n - len, ", %s %s", keys[i],
                         fmt_pct(jnum(weights, keys[i], 0), pct, sizeof pct));
        if (k < 0)
            break;
        len += (size_t)k;
    }
    return out;
}

static void print_alias(const struct ctl *c, const json_t *a, const char *const *pos)
{
    struct table t = { .ncols = 2 };
    const json_t *pins = json_object_get(a, "pins"), *pin;
    char buf[1024], tmp[64];
    size_t i;

    kv(&t, "function", "%s", fmt_json(json_object_get(a, "function"), tmp, sizeof tmp));
    kv(&t, "alias", "%s", fmt_json(json_object_get(a, "alias"), tmp, sizeof tmp));
    kv(&t, "version", "%s", fmt_json(json_object_get(a, "version"), tmp, sizeof tmp));
    kv(&t, "weights", "%s", fmt_weights(json_object_get(a, "weights"), buf, sizeof buf));
    kv(&t, "traffic", "%s", fmt_traffic(a, buf, sizeof buf));
    kv(&t, "sticky_by", "%s", fmt_json(json_object_get(a, "sticky_by"), tmp, sizeof tmp));
    if (json_array_size(pins) == 0)
        kv(&t, "pins", "-");
    json_array_foreach(pins, i, pin)
    {
        kv(&t, i ? "" : "pins", "%s", fmt_pin(c, pin, buf, sizeof buf));
    }
    kv(&t, "generation", "%s", fmt_json(json_object_get(a, "generation"), tmp, sizeof tmp));
    kv(&t, "source", "%s", fmt_json(json_object_get(a, "source"), tmp, sizeof tmp));
    table_print(&t, "");
    table_free(&t);
}

int cmd_alias_get(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    return command_show(c, cmd, argc, argv, 2, "/v1/functions/%/aliases/%", print_alias);
}

/* What `alias set` was asked to change. */
struct alias_edit {
    const char *version;
    struct strlist weights; /* "V=W" */
    int no_weights;
    const char *sticky_by;
    int no_sticky;
    const char *pins_file;
    json_t *pins; /* loaded from pins_file; owned */
};

/* Checks the options and loads the pins file, before anything is read
 * from the server. Returns PROCEED or EXIT_USAGE. */
static int alias_edit_check(const struct command *cmd, struct alias_edit *e)
{
    json_error_t jerr;

    if (e->sticky_by && e->no_sticky)
        return usage_error(cmd, "--sticky-by and --no-sticky contradict each other");
    if (!e->version && !e->weights.n && !e->no_weights && !e->sticky_by && !e->no_sticky &&
        !e->pins_file)
        return usage_error(cmd, "nothing to change");
    for (size_t i = 0; i < e->weights.n; i++) {
        const char *eq = strrchr(e->weights.v[i], '=');
        double w;
        if (!eq || eq == e->weights.v[i] || parse_share(eq + 1, &w))
            return usage_error(cmd,
                               "--weight %s: want VERSION=SHARE, SHARE in [0,1] or a "
                               "percentage (2=0.1, 2=10%%)",
                               e->weights.v[i]);
    }
    if (e->pins_file) {
        e->pins = json_load_file(e->pins_file, JSON_REJECT_DUPLICATES, &jerr);
        if (e->pins && json_is_object(e->pins) && json_is_array(json_object_get(e->pins, "pins"))) {
            json_t *inner = json_incref(json_object_get(e->pins, "pins"));
            json_decref(e->pins);
            e->pins = inner; /* {"pins":[...]} as written by alias get --json */
        }
        if (!json_is_array(e->pins)) {
            usage_error(cmd, "%s: %s", e->pins_file,
                        e->pins ? "want a JSON array of pins" : jerr.text);
            json_decref(e->pins);
            e->pins = NULL;
            return EXIT_USAGE;
        }
    }
    return PROCEED;
}

/* Sets weights[version] = share for each --weight (0 removes it). */
static void apply_weights(const struct alias_edit *e, json_t *weights)
{
    for (size_t i = 0; i < e->weights.n; i++) {
        const char *spec = e->weights.v[i], *eq = strrchr(spec, '=');
        char ver[128];
        double w = 0;
        snprintf(ver, sizeof ver, "%.*s", (int)(eq - spec), spec);
        parse_share(eq + 1, &w); /* checked by alias_edit_check() */
        if (w == 0)
            json_object_del(weights, ver);
        else if (json_object_set_new(weights, ver, json_real(w)))
            out_of_memory();
    }
}

/* The alias state to PUT: what was read, with the edits applied. */
static json_t *alias_edit_body(const struct alias_edit *e, const json_t *cur)
{
    json_t *body = json_object(), *weights;
    const json_t *cw = json_object_get(cur, "weights"), *cp = json_object_get(cur, "pins");
    const char *version = e->version ? e->version : jstr(cur, "version");
    const char *sticky = e->no_sticky ? NULL : e->sticky_by ? e->sticky_by : jstr(cur, "sticky_by");

    weights = !e->no_weights && json_is_object(cw) ? json_deep_copy(cw) : json_object();
    if (!body || !weights || !version)
        out_of_memory();
    apply_weights(e, weights);
    if (e->version && json_object_get(weights, version)) {
        /* the new primary gets the rest of the traffic, it cannot also carry a weight */
        json_object_del(weights, version);
        say("note: version %s is now the primary; its weight was dropped", version);
    }
    if (json_object_set_new(body, "version", json_string(version)) ||
        (json_object_size(weights) && json_object_set(body, "weights", weights)) ||
        (sticky && json_object_set_new(body, "sticky_by", json_string(sticky))))
        out_of_memory();
    json_decref(weights);
    if (e->pins ? json_object_set(body, "pins", e->pins)
                : json_array_size(cp) && json_object_set(body, "pins", (json_t *)cp))
        out_of_memory();
    return body;
}

/* PUTs body with If-Match: the generation read. Returns the exit code. */
static int alias_put(struct ctl *c, const char *path, const json_t *cur, json_t *body)
{
    struct reply r;
    char gen[32], now[32], *text = json_dumps(body, JSON_COMPACT);
    const json_t *g = json_object_get(cur, "generation");
    int rc;

    if (!text)
        out_of_memory();
    snprintf(gen, sizeof gen, "%" JSON_INTEGER_FORMAT, json_integer_value(g));
    rc = call_raw(c, "PUT", path, json_is_integer(g) ? gen : NULL, text, &r);
    free(text);
    if (rc)
        return unreachable(c);
    if (r.status == 412) {
        say("%s:%s was changed by someone else since it was read (generation %s, now %s): "
            "nothing was written; read it again and retry",
            jtext(cur, "function"), jtext(cur, "alias"), gen,
            fmt_json(json_object_get(r.json, "generation"), now, sizeof now));
        rc = EXIT_REFUSED;
    } else if (r.status < 200 || r.status > 299) {
        rc = refused(c, &r);
    } else if (!print_raw(c, &r)) {
        if (reply_object(&r))
            print_alias(c, r.json, NULL);
        rc = json_is_object(r.json) ? EXIT_DONE : EXIT_REFUSED;
    }
    reply_free(&r);
    return rc;
}

int cmd_alias_set(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    struct alias_edit e = { 0 };
    const struct opt opts[] = {
        { "--version", OPT_VALUE, &e.version },
        { "--weight", OPT_LIST, &e.weights },
        { "--no-weights", OPT_FLAG, &e.no_weights },
        { "--sticky-by", OPT_VALUE, &e.sticky_by },
        { "--no-sticky", OPT_FLAG, &e.no_sticky },
        { "--pins-file", OPT_VALUE, &e.pins_file },
        { NULL, OPT_FLAG, NULL },
    };
    struct reply r;
    char path[MAX_PATH_BYTES];
    const char *pos[2];
    json_t *body;
    int rc = parse_args(c, cmd, argc, argv, opts, pos, 2), json = c->json;

    if (rc != PROCEED || (rc = alias_edit_check(cmd, &e)) != PROCEED)
        return rc;
    if (make_path(c, path, sizeof path, "/v1/functions/%/aliases/%", pos)) {
        json_decref(e.pins);
        return EXIT_USAGE;
    }
    c->json = 0; /* the read is ours; --json applies to the answer of the PUT */
    rc = get_object(c, path, &r);
    c->json = json;
    if (rc != EXIT_DONE) {
        json_decref(e.pins);
        return rc;
    }
    body = alias_edit_body(&e, r.json);
    rc = alias_put(c, path, r.json, body);
    json_decref(body);
    json_decref(e.pins);
    reply_free(&r);
    return rc;
}

int cmd_publish(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
    const char *file = NULL, *pos[1];
    const struct opt opts[] = { { "--file", OPT_VALUE, &file }, { NULL, OPT_FLAG, NULL } };
    struct reply r;
    char path[MAX_PATH_BYTES];
    json_t *def = NULL;
    json_error_t jerr;
    int rc = parse_args(c, cmd, argc, argv, opts, pos, 1);

    if (rc != PROCEED)
        return rc;
    if (file) { /* checked here, so a typo in the file is a usage error with a line number */
        def = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(def)) {
            json_decref(def);
            if (!def)
                return usage_error(cmd, "%s:%d: %s", file, jerr.line, jerr.text);
            return usage_error(cmd, "%s: want a JSON object (a version definition)", file);
        }
    }
    if (!def && !(def = json_object())) /* {}: publish $LATEST's definition */
        out_of_memory();
    rc = make_path(c, path, sizeof path, "/v1/functions/%/versions", pos)
             ? EXIT_USAGE
             : call_json(c, "POST", path, def, &r);
    json_decref(def);
    if (rc != EXIT_DONE)
        return rc;
    if (!print_raw(c, &r) && reply_object(&r)) {
        if (r.status == 201)
            printf("published %s version %s (new)\n", pos[0], jtext(r.json, "version"));
        else
            printf("%s version %s: already published with this definition (not new)\n", pos[0],
                   jtext(r.json, "version"));
    }
    rc = c->json || json_is_object(r.json) ? EXIT_DONE : EXIT_REFUSED;
    reply_free(&r);
    return rc;
}
