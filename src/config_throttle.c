/* config_throttle.c - the config's throttling: the "throttle" of a route
 * or an alias, and "usage_plans" with their API keys (read from a file or
 * an environment variable, each key in one plan only). */
#include "config_parse.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static config_parse_fn parse_plan_keys_file, parse_plan_keys_env;

/* "throttle": {"rate_per_s", "burst"} on a route or an alias */
static const struct config_field throttle_fields[] = {
    { .name = "rate_per_s", .kind = FIELD_U32, .flags = FIELD_REQUIRED,
      .offset = FIELD_MEMBER(struct throttle_conf, rate_per_s, uint32_t), .min = 1,
      .max = 1000000 },
    { .name = "burst", .kind = FIELD_U32, .flags = FIELD_REQUIRED,
      .offset = FIELD_MEMBER(struct throttle_conf, burst, uint32_t), .min = 1, .max = 1000000 },
    F_END,
};

/* one of "usage_plans" */
static const struct config_field usage_plan_fields[] = {
    F_U32("rate_per_s", struct usage_plan, throttle.rate_per_s, 0, 1000000, 0),
    F_U32("burst", struct usage_plan, throttle.burst, 0, 1000000, 0),
    F_U64("daily_quota", struct usage_plan, daily_quota, 0, 1000000000000ull, 0),
    F_CUSTOM("api_keys_file", 0, parse_plan_keys_file),
    F_CUSTOM("api_keys_env", 0, parse_plan_keys_env),
    F_END,
};

static void parse_throttle(struct config_loader *ld, json_t *v, struct throttle_conf *t)
{
    if (config_parse_fields(ld, v, throttle_fields, t) == 0)
        t->enabled = 1;
}

void config_parse_route_throttle(struct config_loader *ld, const struct config_field *f, json_t *v,
                                 void *obj)
{
    parse_throttle(ld, v, &((struct route *)obj)->throttle);
}

void config_parse_alias_throttle(struct config_loader *ld, const struct config_field *f, json_t *v,
                                 void *obj)
{
    parse_throttle(ld, v, &((struct alias *)obj)->throttle);
}

void config_parse_usage_plan_required(struct config_loader *ld, const struct config_field *f,
                                      json_t *v, void *obj)
{
    struct route *r = obj;

    if (!json_is_boolean(v)) {
        config_type_error(ld, v, "true or false");
        return;
    }
    r->usage_plan_required = json_is_true(v);
    if (r->usage_plan_required && ld->c->nusage_plans == 0)
        config_error(ld, "usage_plan_required needs at least one of \"usage_plans\"");
}

/* An API key as API Gateway takes them: 20 to 128 printable characters. */
static int api_key_ok(const char *p, size_t len)
{
    if (len < 20 || len > 128)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
            return 0;
    return 1;
}

/* Appends the key at p (len bytes) to the plan. The key itself never goes
 * into a message: where names the file and line, or the variable. */
static void plan_add_key(struct config_loader *ld, struct usage_plan *pl, const char *p,
                         size_t len, const char *where)
{
    char **nk;

    if (!api_key_ok(p, len)) {
        config_error(ld, "%s: an API key must be 20 to 128 printable characters without spaces",
                     where);
        return;
    }
    if (pl->nkeys >= 1000000) {
        config_error(ld, "%s: more than 1000000 API keys", where);
        return;
    }
    nk = realloc(pl->keys, (pl->nkeys + 1) * sizeof(*nk));
    if (!nk) {
        ld->oom = 1;
        return;
    }
    pl->keys = nk;
    if (!(pl->keys[pl->nkeys] = slice_dup((struct slice){ p, len }))) {
        ld->oom = 1;
        return;
    }
    pl->nkeys++;
}

/* One key a line; blank lines and lines starting with '#' are skipped. */
static void parse_plan_keys_file(struct config_loader *ld, const struct config_field *f, json_t *v,
                                 void *obj)
{
    struct usage_plan *pl = obj;
    const char *s = config_want_string(ld, v);
    char why[256], b[CONFIG_SHOW_BUF], where[CONFIG_SHOW_BUF + 32];
    size_t len, line = 0;
    char *text, *p, *end;

    if (!s || !(pl->api_keys_file = config_strdup(ld, s)))
        return;
    text = config_read_file(s, 16u << 20, &len, why, sizeof(why));
    if (!text) {
        config_error(ld, "cannot read API keys file %s: %s", config_show(b, s), why);
        return;
    }
    for (p = text, end = text + len; p < end && !ld->oom;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end, *a = p;

        line++;
        while (a < e && (*a == ' ' || *a == '\t'))
            a++;
        while (e > a && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        if (e > a && *a != '#') {
            fmt_buf(where, sizeof(where), "%s line %zu", config_show(b, s), line);
            plan_add_key(ld, pl, a, (size_t)(e - a), where);
        }
        p = nl ? nl + 1 : end;
    }
    explicit_bzero(text, len);
    free(text);
}

/* Keys separated by commas or white space. */
static void parse_plan_keys_env(struct config_loader *ld, const struct config_field *f, json_t *v,
                                void *obj)
{
    struct usage_plan *pl = obj;
    const char *s = config_want_string(ld, v), *val, *p;
    char b[CONFIG_SHOW_BUF], where[CONFIG_SHOW_BUF + 32];

    if (!s || !(pl->api_keys_env = config_strdup(ld, s)))
        return;
    if (!(val = getenv(s))) {
        config_error(ld, "environment variable %s is not set", config_show(b, s));
        return;
    }
    fmt_buf(where, sizeof(where), "environment variable %s", config_show(b, s));
    for (p = val; *p && !ld->oom;) {
        size_t n = strcspn(p, ", \t\r\n");
        if (n)
            plan_add_key(ld, pl, p, n, where);
        p += n;
        p += strspn(p, ", \t\r\n");
    }
}

struct key_ref {
    const char *key;
    size_t plan;
};

static int key_ref_cmp(const void *a, const void *b)
{
    return strcmp(((const struct key_ref *)a)->key, ((const struct key_ref *)b)->key);
}

/* A key names one plan: a key given twice is refused (by plan names only). */
static void check_plan_keys_unique(struct config_loader *ld, struct config *c)
{
    size_t n = 0, k = 0;
    struct key_ref *refs;

    for (size_t i = 0; i < c->nusage_plans; i++)
        n += c->usage_plans[i].nkeys;
    if (n < 2)
        return;
    if (!(refs = calloc(n, sizeof(*refs)))) {
        ld->oom = 1;
        return;
    }
    for (size_t i = 0; i < c->nusage_plans; i++)
        for (size_t j = 0; j < c->usage_plans[i].nkeys; j++)
            refs[k++] = (struct key_ref){ c->usage_plans[i].keys[j], i };
    qsort(refs, n, sizeof(*refs), key_ref_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(refs[i - 1].key, refs[i].key) == 0) {
            config_error(ld, "an API key is listed twice (plans %s and %s)",
                         c->usage_plans[refs[i - 1].plan].name, c->usage_plans[refs[i].plan].name);
            break;
        }
    free(refs);
}

/* One of "usage_plans": keys from exactly one place, and a throttle only
 * with both of its numbers. */
static void parse_usage_plan(struct config_loader *ld, json_t *v, void *elem, size_t i, void *arg)
{
    struct usage_plan *pl = elem;

    if (config_parse_fields(ld, v, usage_plan_fields, pl) == 0) {
        if (!pl->api_keys_file == !pl->api_keys_env)
            config_error(ld, "expected exactly one of api_keys_file and api_keys_env");
        else if (pl->nkeys == 0 && !ld->oom)
            config_error(ld, "no API keys found in %s",
                         pl->api_keys_file ? "api_keys_file" : "api_keys_env");
        if (!pl->throttle.rate_per_s != !pl->throttle.burst)
            config_error(ld, "rate_per_s and burst go together");
        pl->throttle.enabled = pl->throttle.rate_per_s != 0;
    }
}

static const struct config_named usage_plan_walk =
    CONFIG_NAMED(struct usage_plan, "usage plan", config_name_letter_first, NULL, parse_usage_plan);

void config_parse_usage_plans(struct config_loader *ld, const struct config_field *f, json_t *v,
                              void *obj)
{
    struct config *c = obj;

    c->usage_plans = config_object_array(ld, v, sizeof(*c->usage_plans), &c->nusage_plans);
    if (config_parse_named(ld, v, c->usage_plans, &usage_plan_walk, NULL) == 0)
        check_plan_keys_unique(ld, c);
}

void config_throttle_free(struct config *c)
{
    for (size_t i = 0; i < c->nusage_plans; i++) {
        struct usage_plan *pl = &c->usage_plans[i];
        for (size_t j = 0; j < pl->nkeys; j++) {
            explicit_bzero(pl->keys[j], strlen(pl->keys[j]));
            free(pl->keys[j]);
        }
        free(pl->keys);
        free(pl->buckets); /* the array only: buckets are throttle.c's */
        free(pl->name);
        free(pl->api_keys_file);
        free(pl->api_keys_env);
    }
    free(c->usage_plans);
}
