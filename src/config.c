/* config.c - loads the JSON config into an immutable snapshot, checking the
 * whole document and reporting every problem with its file, line and path.
 *
 * Each JSON object is described by a table of fields (name, kind, bounds,
 * default, parser), walked by one generic routine: a new key is one table
 * line. Tables are walked in their own order, not the file's, so a field
 * can rely on those above it (versions inherit the function's settings,
 * aliases name versions, routes name functions); errors are sorted by line
 * at the end so they still come out in file order.
 *
 * Sections with much logic of their own live beside this file and share
 * config_parse.h with it: config_auth.c (authorizers, redis),
 * config_handler.c (a version's http, invoke or lua handler),
 * config_route.c (routes), config_throttle.c (throttles, usage plans). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "alias.h"
#include "config_parse.h"
#include "selector.h"
#include "tls.h"
#include "util.h"

#define CONFIG_MAX_FILE_BYTES (16u << 20)
#define CONFIG_MAX_VERSION UINT32_MAX
/* Weights are decimal fractions read as doubles: 0.33 + 0.56 + 0.11 must not
 * fail for landing a hair above 1. */
#define WEIGHT_EPSILON 1e-9

static config_parse_fn parse_listen, parse_listen_address, parse_functions, parse_versions,
    parse_aliases, parse_alias_version, parse_alias_weights, parse_alias_sticky_by,
    parse_alias_pins, parse_pin_version, parse_pin_when, parse_admin_address,
    parse_admin_token_file;
static const char *check_log_access(const char *s);
static const char *check_log_error(const char *s);
static const char *check_state_file(const char *s);
static config_parse_fn parse_admin;
static config_parse_fn parse_listen_tls, parse_tls_sni, parse_tls_names;

/* "tls" while it is read: the default certificate and the SNI ones. */
struct tls_load {
    struct tls_cert_conf def;
    struct tls_cert_conf *sni;
    size_t nsni;
};

/* ------------------------------------------------------------ the tables */

static const struct config_field listen_fields[] = {
    F_CUSTOM("address", FIELD_REQUIRED, parse_listen_address),
    F_CUSTOM("tls", 0, parse_listen_tls),
    F_END,
};

#define F_REQ_STR(key, T, m)                                                                       \
    {                                                                                              \
        .name = key, .kind = FIELD_STRING, .flags = FIELD_REQUIRED,                                \
        .offset = FIELD_MEMBER(T, m, char *)                                                       \
    }

static const struct config_field tls_sni_fields[] = {
    F_CUSTOM("names", FIELD_REQUIRED, parse_tls_names),
    F_REQ_STR("cert", struct tls_cert_conf, cert),
    F_REQ_STR("key", struct tls_cert_conf, key),
    F_END,
};

static const struct config_field tls_fields[] = {
    F_REQ_STR("cert", struct tls_load, def.cert),
    F_REQ_STR("key", struct tls_load, def.key),
    F_CUSTOM("sni", 0, parse_tls_sni),
    F_END,
};

static const struct config_field limits_fields[] = {
    F_U32("max_header_bytes", struct limits_conf, max_header_bytes, 1024, 1048576,
          CONFIG_DEFAULT_MAX_HEADER_BYTES),
    F_U32("max_uri_bytes", struct limits_conf, max_uri_bytes, 256, 1048576,
          CONFIG_DEFAULT_MAX_URI_BYTES),
    F_U64("max_body_bytes", struct limits_conf, max_body_bytes, 0, 1ull << 40,
          CONFIG_DEFAULT_MAX_BODY_BYTES),
    F_U32("header_timeout_ms", struct limits_conf, header_timeout_ms, 100, 3600000,
          CONFIG_DEFAULT_HEADER_TIMEOUT_MS),
    F_U32("body_timeout_ms", struct limits_conf, body_timeout_ms, 100, 3600000,
          CONFIG_DEFAULT_BODY_TIMEOUT_MS),
    F_U32("idle_timeout_ms", struct limits_conf, idle_timeout_ms, 100, 86400000,
          CONFIG_DEFAULT_IDLE_TIMEOUT_MS),
    F_U32("max_connections", struct limits_conf, max_connections, 1, 1000000,
          CONFIG_DEFAULT_MAX_CONNECTIONS),
    F_U32("max_connections_per_ip", struct limits_conf, max_connections_per_ip, 0, 1000000,
          CONFIG_DEFAULT_MAX_CONNECTIONS_PER_IP),
    F_U32("shutdown_timeout_ms", struct limits_conf, shutdown_timeout_ms, 0, 3600000,
          CONFIG_DEFAULT_SHUTDOWN_TIMEOUT_MS),
    F_END,
};

static const struct config_field admin_fields[] = {
    F_CUSTOM("address", FIELD_REQUIRED, parse_admin_address),
    F_CUSTOM("token_file", 0, parse_admin_token_file),
    F_END,
};

/* Indexed by enum log_level. */
static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };

static const struct config_field log_fields[] = {
    F_STR("access", struct log_conf, access, "stdout", check_log_access),
    F_STR("error", struct log_conf, error, "stderr", check_log_error),
    F_ENUM("level", struct log_conf, level, log_levels, LOG_LEVEL_INFO),
    F_END,
};

static const struct config_field version_fields[] = {
    F_CUSTOM("handler", FIELD_REQUIRED, config_parse_handler),
    F_U32_INHERIT("timeout_ms", struct fn_version, timeout_ms, 1, 900000),
    F_U32_INHERIT("memory_mb", struct fn_version, memory_mb, 1, 10240),
    F_U32_INHERIT("max_concurrency", struct fn_version, max_concurrency, 0, 100000),
    F_END,
};

static const struct config_field alias_fields[] = {
    F_CUSTOM("version", FIELD_REQUIRED, parse_alias_version),
    F_CUSTOM("weights", 0, parse_alias_weights), /* after version: the primary is no extra */
    F_CUSTOM("sticky_by", 0, parse_alias_sticky_by),
    F_CUSTOM("pins", 0, parse_alias_pins),
    F_CUSTOM("throttle", 0, config_parse_alias_throttle),
    F_END,
};

/* One entry of an alias's "pins" while it is read: the pin, and the
 * function whose versions it may name. */
struct pin_parse {
    struct alias_pin *pin;
    const struct function *fn;
};

static const struct config_field pin_fields[] = {
    F_CUSTOM("when", FIELD_REQUIRED, parse_pin_when),
    F_CUSTOM("version", FIELD_REQUIRED, parse_pin_version),
    F_END,
};

static const struct config_field function_fields[] = {
    /* Before versions, which take these as their defaults. */
    F_U32("timeout_ms", struct function, timeout_ms, 1, 900000, CONFIG_DEFAULT_TIMEOUT_MS),
    F_U32("memory_mb", struct function, memory_mb, 1, 10240, CONFIG_DEFAULT_MEMORY_MB),
    F_U32("max_concurrency", struct function, max_concurrency, 0, 100000, 0),
    F_CUSTOM("versions", FIELD_REQUIRED, parse_versions),
    F_CUSTOM("aliases", 0, parse_aliases),
    F_END,
};

/* How a secret is written in its file or variable. */
static const struct config_field config_fields[] = {
    F_CUSTOM("listen", FIELD_REQUIRED, parse_listen),
    F_U32("workers", struct config, workers, 0, 256, 0),
    F_OBJ("limits", struct config, limits, limits_fields),
    F_OBJ("log", struct config, log, log_fields),
    F_CUSTOM("redis", 0, config_parse_redis),
    F_CUSTOM("admin", 0, parse_admin),
    F_STR("state_file", struct config, state_file, NULL, check_state_file),
    F_CUSTOM("functions", FIELD_REQUIRED, parse_functions),
    /* After functions: a function authorizer names one. */
    F_CUSTOM("authorizers", 0, config_parse_authorizers),
    /* After functions and authorizers: routes name them. */
    F_CUSTOM("usage_plans", 0, config_parse_usage_plans), /* before routes: they refer to it */
    F_CUSTOM("routes", FIELD_REQUIRED, config_parse_routes),
    F_END,
};

static const char *check_log_access(const char *s)
{
    return *s ? NULL : "expected a path, \"stdout\", \"stderr\" or \"off\", not an empty string";
}

static const char *check_log_error(const char *s)
{
    if (strcmp(s, "off") == 0)
        return "the error log cannot be \"off\": use a path, \"stdout\" or \"stderr\"";
    return *s ? NULL : "expected a path, \"stdout\" or \"stderr\", not an empty string";
}

static const char *check_state_file(const char *s)
{
    return *s ? NULL : "expected a path, not an empty string";
}

int config_version_name_ok(const char *s)
{
    uint64_t n;

    if (strcmp(s, "$LATEST") == 0)
        return 1;
    return s[0] != '0' && parse_u64((struct slice){ s, strlen(s) }, CONFIG_MAX_VERSION, &n) == 0;
}

/* ------------------------------------------------------------ listeners */

/* A listening address into *address (as written), *ss and *len; *len is
 * 0 when it is not usable (reported). */
static void parse_bind_address(struct config_loader *ld, json_t *v, char **address,
                               struct sockaddr_storage *ss, socklen_t *len)
{
    const char *s = config_want_string(ld, v);
    char why[CONFIG_MSG_MAX / 2], b[CONFIG_SHOW_BUF];

    if (!s || !(*address = config_strdup(ld, s)))
        return;
    if (addr_parse_listen(s, ss, len, why, sizeof(why)) < 0) {
        *len = 0;
        config_error(ld, "invalid address %s: %s", config_show(b, s), why);
    }
}

static void parse_listen_address(struct config_loader *ld, const struct config_field *f, json_t *v,
                                 void *obj)
{
    struct listen_conf *l = obj;

    parse_bind_address(ld, v, &l->address, &l->addr, &l->addrlen);
}

static void parse_listen(struct config_loader *ld, const struct config_field *f, json_t *v,
                         void *obj)
{
    struct config *c = obj;
    size_t i;
    json_t *item;

    c->listen = config_array_array(ld, v, "address to listen on", sizeof(*c->listen), &c->nlisten);
    if (!c->listen)
        return;
    json_array_foreach(v, i, item)
    {
        struct listen_conf *l = &c->listen[i];
        size_t mark = config_path_index(ld, i);

        if (config_parse_fields(ld, item, listen_fields, l) == 0 && l->addrlen) {
            for (size_t j = 0; j < i; j++) {
                if (c->listen[j].addrlen == l->addrlen &&
                    memcmp(&c->listen[j].addr, &l->addr, l->addrlen) == 0) {
                    size_t m2 = config_path_key(ld, "address");
                    config_error(ld, "duplicate listen address (same as listen[%zu])", j);
                    config_path_cut(ld, m2);
                    break;
                }
            }
        }
        config_path_cut(ld, mark);
        if (ld->oom)
            return;
    }
}

/* A server name for SNI: "host.example" or "*.example" (a wildcard for
 * exactly one label), or why not. */
static const char *check_tls_name(const char *s)
{
    const char *p = s;
    size_t len = strlen(s);

    if (len == 0 || len > 253)
        return "a server name has 1 to 253 characters";
    if (p[0] == '*') {
        if (p[1] != '.' || !p[2])
            return "a wildcard is \"*.\" and a domain";
        p += 2;
    }
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.'))
            return "a server name has only letters, digits, '-' and '.' (and a leading \"*.\")";
    return NULL;
}

static void parse_tls_names(struct config_loader *ld, const struct config_field *f, json_t *v,
                            void *obj)
{
    struct tls_cert_conf *cc = obj;

    config_parse_strings(ld, v, "server name", check_tls_name, &cc->names, &cc->nnames);
}

static void parse_tls_sni(struct config_loader *ld, const struct config_field *f, json_t *v,
                          void *obj)
{
    struct tls_load *tl = obj;
    size_t i;
    json_t *item;

    tl->sni = config_array_array(ld, v, "certificate", sizeof(*tl->sni), &tl->nsni);
    if (!tl->sni)
        return;
    json_array_foreach(v, i, item)
    {
        size_t mark = config_path_index(ld, i);
        config_parse_fields(ld, item, tls_sni_fields, &tl->sni[i]);
        config_path_cut(ld, mark);
        if (ld->oom)
            return;
    }
}

static void tls_cert_conf_clear(struct tls_cert_conf *cc)
{
    config_free_strings(cc->names, cc->nnames);
    free(cc->cert);
    free(cc->key);
}

/* Reads the certificates and keys now: a file that is missing, a
 * certificate that has expired or a key that does not match is a config
 * error at this "tls", and the running config keeps serving on reload. */
static void parse_listen_tls(struct config_loader *ld, const struct config_field *f, json_t *v,
                             void *obj)
{
    struct listen_conf *l = obj;
    struct tls_load tl = { 0 };
    struct tls_cert_conf *all = NULL;
    size_t errs = ld->errs->n;
    char why[CONFIG_MSG_MAX / 2];

    if (config_parse_fields(ld, v, tls_fields, &tl) == 0 && ld->errs->n == errs && !ld->oom) {
        all = calloc(tl.nsni + 1, sizeof(*all));
        if (!all) {
            ld->oom = 1;
        } else {
            all[0] = tl.def;
            if (tl.nsni)
                memcpy(all + 1, tl.sni, tl.nsni * sizeof(*all));
            l->tls = tls_server_ctx_new(all, tl.nsni + 1, why, sizeof(why));
            if (!l->tls)
                config_error(ld, "%s", why);
        }
    }
    free(all); /* shallow copies */
    tls_cert_conf_clear(&tl.def);
    for (size_t i = 0; i < tl.nsni; i++)
        tls_cert_conf_clear(&tl.sni[i]);
    free(tl.sni);
}

/* ---------------------------------------------------------------- admin */

static int sockaddr_is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return 0;
}

static void parse_admin_address(struct config_loader *ld, const struct config_field *f, json_t *v,
                                void *obj)
{
    struct admin_conf *a = obj;

    parse_bind_address(ld, v, &a->address, &a->addr, &a->addrlen);
}

/* The token is read now: a missing or empty file is a config error, not a
 * locked-out admin API found later. */
static void parse_admin_token_file(struct config_loader *ld, const struct config_field *f,
                                   json_t *v, void *obj)
{
    struct admin_conf *a = obj;
    const char *s = config_want_string(ld, v);
    char why[256], b[CONFIG_SHOW_BUF];
    size_t len, start = 0;
    char *text;

    if (!s || !(a->token_file = config_strdup(ld, s)))
        return;
    text = config_read_file(s, 4096, &len, why, sizeof(why));
    if (!text) {
        config_error(ld, "cannot read token file %s: %s", config_show(b, s), why);
        return;
    }
    while (start < len && (text[start] == ' ' || text[start] == '\t' || text[start] == '\r' ||
                           text[start] == '\n'))
        start++;
    while (len > start && (text[len - 1] == ' ' || text[len - 1] == '\t' ||
                           text[len - 1] == '\r' || text[len - 1] == '\n'))
        len--;
    if (len - start < 16)
        config_error(ld, "the token in %s is shorter than 16 characters", config_show(b, s));
    else if (!(a->token = slice_dup((struct slice){ text + start, len - start })))
        ld->oom = 1;
    explicit_bzero(text, len);
    free(text);
}

static void parse_admin(struct config_loader *ld, const struct config_field *f, json_t *v,
                        void *obj)
{
    struct admin_conf *a = &((struct config *)obj)->admin;

    if (config_parse_fields(ld, v, admin_fields, a) < 0)
        return;
    a->enabled = 1;
    if (!a->token_file && a->addrlen && !sockaddr_is_loopback(&a->addr)) {
        size_t mark = config_path_key(ld, "token_file");
        config_error(ld, "an admin address that is not loopback needs a token_file");
        config_path_cut(ld, mark);
    }
}

/* ------------------------------------------------------ functions, aliases */

/* Why s cannot name a version: "$LATEST" or a published number. */
static const char *version_name_rule(const char *s)
{
    return config_version_name_ok(s) ? NULL : "expected \"$LATEST\" or a number without leading zeros";
}

/* One of a function's "versions": its settings default to the function's. */
static void parse_version(struct config_loader *ld, json_t *v, void *elem, size_t i, void *arg)
{
    struct fn_version *ver = elem;
    struct function *fn = arg;

    ver->fn = fn;
    ver->timeout_ms = fn->timeout_ms;
    ver->memory_mb = fn->memory_mb;
    ver->max_concurrency = fn->max_concurrency;
    config_parse_fields(ld, v, version_fields, ver);
}

static const struct config_named version_walk =
    CONFIG_NAMED(struct fn_version, "version", version_name_rule, NULL, parse_version);

static void parse_versions(struct config_loader *ld, const struct config_field *f, json_t *v,
                           void *obj)
{
    struct function *fn = obj;

    fn->versions = config_object_array(ld, v, sizeof(*fn->versions), &fn->nversions);
    if (!fn->versions) {
        if (json_is_object(v) && !ld->oom)
            config_error(ld, "a function needs at least one version");
        return;
    }
    config_parse_named(ld, v, fn->versions, &version_walk, fn);
}

static void parse_alias_version(struct config_loader *ld, const struct config_field *f, json_t *v,
                                void *obj)
{
    struct alias *a = obj;
    const char *s = config_want_string(ld, v);
    char b1[CONFIG_SHOW_BUF], b2[CONFIG_SHOW_BUF];

    if (!s)
        return;
    a->primary = function_version(a->fn, s);
    if (!a->primary)
        config_error(ld, "function %s has no version %s", config_show(b1, a->fn->name),
                     config_show(b2, s));
}

static void parse_alias_weights(struct config_loader *ld, const struct config_field *f, json_t *v,
                                void *obj)
{
    struct alias *a = obj;
    const char *key;
    json_t *w;
    double sum = 0;

    if (!json_is_object(v)) {
        config_type_error(ld, v, "an object");
        return;
    }
    if (json_object_size(v) > 0) {
        a->weights = calloc(json_object_size(v), sizeof(*a->weights));
        if (!a->weights) {
            ld->oom = 1;
            return;
        }
    }
    json_object_foreach(v, key, w)
    {
        const struct fn_version *ver = function_version(a->fn, key);
        size_t mark = config_path_key(ld, key);
        char b1[CONFIG_SHOW_BUF], b2[CONFIG_SHOW_BUF];
        int ok = 0;

        if (strcmp(key, "$LATEST") == 0)
            config_error(ld, "\"$LATEST\" cannot carry a weight");
        else if (!ver)
            config_error(ld, "function %s has no version %s", config_show(b1, a->fn->name),
                         config_show(b2, key));
        else if (ver == a->primary)
            config_error(ld,
                         "version %s is the alias's primary version: it gets the weight "
                         "the others leave, and cannot be listed here",
                         config_show(b1, key));
        else
            ok = 1;
        if (!json_is_number(w)) {
            config_type_error(ld, w, "a number");
        } else if (json_number_value(w) < 0 || json_number_value(w) > 1) {
            config_error(ld, "must be between 0 and 1, not %g", json_number_value(w));
        } else {
            sum += json_number_value(w);
            if (ok)
                a->weights[a->nweights++] = (struct alias_weight){ ver, json_number_value(w) };
        }
        config_path_cut(ld, mark);
    }
    if (sum > 1 + WEIGHT_EPSILON)
        config_error(ld, "weights sum to %g, more than 1", sum);
}

/* A selector as a config value or key (s); reports at the current path.
 * Returns 0 with sel filled, or -1. */
static int parse_selector(struct config_loader *ld, const char *s, struct selector *sel)
{
    char why[256], b[CONFIG_SHOW_BUF];
    enum selector_kind kind;
    struct slice name;

    if (selector_parse(s, SELECTOR_ALL_KINDS, &kind, &name, why, sizeof(why)) < 0) {
        config_error(ld, "invalid selector %s: %s", config_show(b, s), why);
        return -1;
    }
    if (selector_init(sel, kind, name) < 0) {
        ld->oom = 1;
        return -1;
    }
    return 0;
}

static void parse_alias_sticky_by(struct config_loader *ld, const struct config_field *f, json_t *v,
                                  void *obj)
{
    struct alias *a = obj;
    const char *s = config_want_string(ld, v);

    if (s && parse_selector(ld, s, &a->sticky_by) == 0)
        a->sticky = 1;
}

static void parse_pin_version(struct config_loader *ld, const struct config_field *f, json_t *v,
                              void *obj)
{
    struct pin_parse *pp = obj;
    const char *s = config_want_string(ld, v);
    char b1[CONFIG_SHOW_BUF], b2[CONFIG_SHOW_BUF];

    if (!s)
        return;
    /* any version, $LATEST too: a pin is routing, not a weight */
    pp->pin->version = function_version(pp->fn, s);
    if (!pp->pin->version)
        config_error(ld, "function %s has no version %s", config_show(b1, pp->fn->name),
                     config_show(b2, s));
}

/* One value of a condition (the path is at it). */
static void parse_pin_value(struct config_loader *ld, struct pin_cond *c, json_t *v)
{
    struct pin_value *pv = &c->values[c->nvalues];
    const char *s = config_want_string(ld, v);
    char why[256], b[CONFIG_SHOW_BUF];

    if (!s)
        return;
    if (c->sel.kind == SELECTOR_IP && selector_range_parse(s, &pv->range, why, sizeof(why)) < 0) {
        config_error(ld, "invalid address or range %s: %s", config_show(b, s), why);
        return;
    }
    if ((pv->text = config_strdup(ld, s)) != NULL) {
        pv->len = strlen(s);
        c->nvalues++;
    }
}

/* A condition's value: one string, or an array of them. */
static void parse_pin_values(struct config_loader *ld, struct pin_cond *c, json_t *v)
{
    size_t n = 1, i;
    json_t *item;

    if (json_is_array(v)) {
        n = json_array_size(v);
        if (n == 0 || n > ALIAS_MAX_PIN_VALUES) {
            config_error(ld, "expected 1 to %d values, not %zu", ALIAS_MAX_PIN_VALUES, n);
            return;
        }
    } else if (!json_is_string(v)) {
        config_type_error(ld, v, "a string or an array of strings");
        return;
    }
    c->values = calloc(n, sizeof(*c->values));
    if (!c->values) {
        ld->oom = 1;
        return;
    }
    if (!json_is_array(v)) {
        parse_pin_value(ld, c, v);
        return;
    }
    json_array_foreach(v, i, item)
    {
        size_t mark = config_path_index(ld, i);
        parse_pin_value(ld, c, item);
        config_path_cut(ld, mark);
    }
}

static void parse_pin_when(struct config_loader *ld, const struct config_field *f, json_t *v,
                           void *obj)
{
    struct alias_pin *p = ((struct pin_parse *)obj)->pin;
    const char *key;
    json_t *cv;
    size_t n;

    if (!json_is_object(v)) {
        config_type_error(ld, v, "an object");
        return;
    }
    n = json_object_size(v);
    if (n == 0 || n > ALIAS_MAX_PIN_CONDS) {
        config_error(ld,
                     "expected 1 to %d conditions, as in {\"$request.header.x-canary\": \"yes\"}, "
                     "not %zu",
                     ALIAS_MAX_PIN_CONDS, n);
        return;
    }
    p->conds = calloc(n, sizeof(*p->conds));
    if (!p->conds) {
        ld->oom = 1;
        return;
    }
    json_object_foreach(v, key, cv)
    {
        size_t mark = config_path_key(ld, key);
        struct pin_cond *c = &p->conds[p->nconds];
        char b[CONFIG_SHOW_BUF];

        if (parse_selector(ld, key, &c->sel) == 0) {
            p->nconds++;
            /* "X-Tenant" and "x-tenant" are one header */
            for (size_t k = 0; k + 1 < p->nconds; k++)
                if (selector_same(&p->conds[k].sel, &c->sel)) {
                    config_error(ld, "selector %s is already in this pin", config_show(b, key));
                    break;
                }
            parse_pin_values(ld, c, cv);
        }
        config_path_cut(ld, mark);
        if (ld->oom)
            return;
    }
}

static void parse_alias_pins(struct config_loader *ld, const struct config_field *f, json_t *v,
                             void *obj)
{
    struct alias *a = obj;
    size_t i, n;
    json_t *item;

    if (!json_is_array(v)) {
        config_type_error(ld, v, "an array");
        return;
    }
    n = json_array_size(v);
    /* every request on the alias may check every pin */
    if (n > ALIAS_MAX_PINS) {
        config_error(ld, "at most %d pins, not %zu", ALIAS_MAX_PINS, n);
        return;
    }
    if (n == 0)
        return;
    a->pins = calloc(n, sizeof(*a->pins));
    if (!a->pins) {
        ld->oom = 1;
        return;
    }
    a->npins = n;
    json_array_foreach(v, i, item)
    {
        size_t mark = config_path_index(ld, i);
        struct pin_parse pp = { &a->pins[i], a->fn };
        config_parse_fields(ld, item, pin_fields, &pp);
        config_path_cut(ld, mark);
        if (ld->oom)
            return;
    }
}

/* One of a function's "aliases". */
static void parse_alias(struct config_loader *ld, json_t *v, void *elem, size_t i, void *arg)
{
    struct alias *a = elem;

    a->fn = arg;
    config_parse_fields(ld, v, alias_fields, a);
}

/* A letter first also keeps an alias from looking like a version, so
 * "fn:1" always names a version. */
static const struct config_named alias_walk =
    CONFIG_NAMED(struct alias, "alias", config_name_letter_first, NULL, parse_alias);

static void parse_aliases(struct config_loader *ld, const struct config_field *f, json_t *v,
                          void *obj)
{
    struct function *fn = obj;

    fn->aliases = config_object_array(ld, v, sizeof(*fn->aliases), &fn->naliases);
    config_parse_named(ld, v, fn->aliases, &alias_walk, fn);
}

/* No ':' allowed in a function's name, so a target splits at its first
 * one. */
static const struct config_named function_walk =
    CONFIG_NAMED(struct function, "function", config_name_any, function_fields, NULL);

static void parse_functions(struct config_loader *ld, const struct config_field *f, json_t *v,
                            void *obj)
{
    struct config *c = obj;

    c->functions = config_object_array(ld, v, sizeof(*c->functions), &c->nfunctions);
    config_parse_named(ld, v, c->functions, &function_walk, NULL);
}

/* ------------------------------------------------------------- lifetime */

/* An alias's parts; not the alias itself (it sits in fn->aliases). */
static void alias_free(struct alias *a)
{
    for (size_t i = 0; i < a->npins; i++) {
        struct alias_pin *p = &a->pins[i];
        for (size_t j = 0; j < p->nconds; j++) {
            selector_clear(&p->conds[j].sel);
            for (size_t k = 0; k < p->conds[j].nvalues; k++)
                free(p->conds[j].values[k].text);
            free(p->conds[j].values);
        }
        free(p->conds);
    }
    free(a->pins);
    selector_clear(&a->sticky_by);
    free(a->name);
    free(a->weights);
    alias_table_free(a);
}

static void function_free(struct function *fn)
{
    for (size_t i = 0; i < fn->nversions; i++) {
        struct fn_version *v = &fn->versions[i];
        free(v->name);
        free(v->http.url);
        free(v->http.host);
        free(v->http.authority);
        free(v->http.base_path);
        free(v->http.ca_file);
        SSL_CTX_free(v->http.tls_ctx);
        free(v->invoke.endpoint);
        free(v->invoke.function_name);
        free(v->invoke.authority);
        free(v->invoke.path);
        free(v->lua.file);
        free(v->lua.handler);
        free(v->lua.source);
    }
    for (size_t i = 0; i < fn->naliases; i++)
        alias_free(&fn->aliases[i]);
    free(fn->name);
    free(fn->versions);
    free(fn->aliases);
}

static void config_free(struct config *c)
{
    if (!c)
        return;
    config_route_free(c);
    for (size_t i = 0; i < c->nfunctions; i++)
        function_free(&c->functions[i]);
    free(c->functions);
    config_auth_free(c);
    for (size_t i = 0; i < c->nlisten; i++) {
        free(c->listen[i].address);
        SSL_CTX_free(c->listen[i].tls); /* connections hold their own references */
    }
    free(c->listen);
    free(c->log.access);
    free(c->log.error);
    free(c->admin.address);
    free(c->admin.token_file);
    if (c->admin.token)
        explicit_bzero(c->admin.token, strlen(c->admin.token));
    free(c->admin.token);
    free(c->state_file);
    config_throttle_free(c);
    free(c->path);
    free(c);
}

/* Builds every alias's pick table: only once the weights are known good. */
static void build_alias_tables(struct config_loader *ld, struct config *c)
{
    for (size_t i = 0; i < c->nfunctions; i++)
        for (size_t j = 0; j < c->functions[i].naliases; j++)
            if (alias_table_build(&c->functions[i].aliases[j]) < 0)
                ld->oom = 1;
}

static struct config *load_text(const char *text, size_t len, const char *name,
                                struct config_errors *errs)
{
    struct config_loader ld = { .file = name, .errs = errs, .first_err = errs->n };
    struct config *c = NULL;
    json_error_t jerr;
    json_t *root;

    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        config_error_add(&ld, "", jerr.line, jerr.text);
        goto out;
    }
    ld.lines = json_lines_build(text, len);
    c = calloc(1, sizeof(*c));
    if (!ld.lines || !c || !(c->path = strdup(name))) {
        ld.oom = 1;
        goto out;
    }
    atomic_init(&c->refs, 1);
    ld.c = c;
    config_parse_fields(&ld, root, config_fields, c);
    if (!ld.oom && !ld.path.failed && errs->n == ld.first_err)
        build_alias_tables(&ld, c);

out:
    if (ld.oom || ld.path.failed) {
        ld.oom = 0; /* so that this one error gets its chance */
        config_error_add(&ld, "", 0, "out of memory");
        ld.oom = 1;
    }
    config_errors_sort(errs, ld.first_err);
    free(ld.route_added);
    json_lines_path_release(&ld.path);
    json_lines_free(ld.lines);
    json_decref(root);
    if (ld.oom || errs->n > ld.first_err) {
        config_free(c);
        return NULL;
    }
    return c;
}

/* ------------------------------------------------------------ public API */

struct config *config_load(const char *path, struct config_errors *errs)
{
    char why[256];
    size_t len;
    char *text = config_read_file(path, CONFIG_MAX_FILE_BYTES, &len, why, sizeof(why));
    struct config *c;

    if (!text) {
        struct config_loader ld = { .file = path, .errs = errs };
        config_error_add(&ld, "", 0, why);
        return NULL;
    }
    c = load_text(text, len, path, errs);
    free(text);
    return c;
}

struct config *config_load_string(const char *text, const char *name, struct config_errors *errs)
{
    return load_text(text, strlen(text), name ? name : "-", errs);
}

struct config *config_ref(struct config *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void config_unref(struct config *c)
{
    /* acq_rel: the thread that frees sees every other holder's reads done. */
    if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        config_free(c);
}

void config_errors_print(FILE *f, const struct config_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++) {
        const struct config_error *e = &errs->v[i];
        char where[32] = "";

        if (e->line > 0)
            fmt_buf(where, sizeof(where), ":%d", e->line);
        if (e->path && e->path[0])
            fprintf(f, "%s%s: %s: %s\n", e->file, where, e->path, e->message);
        else
            fprintf(f, "%s%s: %s\n", e->file, where, e->message);
    }
}

void config_errors_clear(struct config_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++) {
        free(errs->v[i].file);
        free(errs->v[i].path);
        free(errs->v[i].message);
    }
    free(errs->v);
    errs->v = NULL;
    errs->n = 0;
}

const struct function *config_find_function(const struct config *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->nfunctions; i++) {
        const char *n = c->functions[i].name;
        if (n && strlen(n) == len && memcmp(n, name, len) == 0)
            return &c->functions[i];
    }
    return NULL;
}

const struct function *config_function(const struct config *c, const char *name)
{
    return config_find_function(c, name, strlen(name));
}

const struct fn_version *function_version(const struct function *fn, const char *name)
{
    for (size_t i = 0; i < fn->nversions; i++)
        if (fn->versions[i].name && strcmp(fn->versions[i].name, name) == 0)
            return &fn->versions[i];
    return NULL;
}

const struct alias *function_alias(const struct function *fn, const char *name)
{
    for (size_t i = 0; i < fn->naliases; i++)
        if (fn->aliases[i].name && strcmp(fn->aliases[i].name, name) == 0)
            return &fn->aliases[i];
    return NULL;
}

const struct authorizer *config_authorizer(const struct config *c, const char *name)
{
    for (size_t i = 0; i < c->nauthorizers; i++)
        if (c->authorizers[i].name && strcmp(c->authorizers[i].name, name) == 0)
            return &c->authorizers[i];
    return NULL;
}
