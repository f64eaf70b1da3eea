/* config.c - loads the JSON config into an immutable snapshot, checking the
 * whole document and reporting every problem with its file, line and path.
 *
 * Each JSON object is described by a table of fields (name, kind, bounds,
 * default, parser), walked by one generic routine: a new key is one table
 * line. Tables are walked in their own order, not the file's, so a field
 * can rely on those above it (versions inherit the function's settings,
 * aliases name versions, routes name functions); errors are sorted by line
 * at the end so they still come out in file order. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "alias.h"
#include "config_parse.h"
#include "jose.h"
#include "router.h"
#include "util.h"

#define CONFIG_MAX_FILE_BYTES (16u << 20)
#define CONFIG_MAX_NAME 64
#define CONFIG_MAX_VERSION UINT32_MAX
#define CONFIG_MAX_METHOD 20
/* Weights are decimal fractions read as doubles: 0.33 + 0.56 + 0.11 must not
 * fail for landing a hair above 1. */
#define WEIGHT_EPSILON 1e-9
#define CONFIG_MAX_SECRET_FILE_BYTES (64u << 10)
#define CONFIG_MAX_JWKS_FILE_BYTES (1u << 20)
#define CONFIG_MAX_REDIS_PREFIX 64

static config_parse_fn parse_listen, parse_listen_address, parse_functions, parse_versions,
    parse_handler, parse_http_url, parse_aliases, parse_alias_version, parse_alias_weights,
    parse_routes, parse_route_spec, parse_route_target, parse_route_authorizer, parse_route_scopes,
    parse_authorizers, parse_identity_sources, parse_claims_to_headers, parse_audiences, parse_keys,
    parse_key_algorithms, parse_jwks_file, parse_jwks_url, parse_jwks_ca_file, parse_redis,
    parse_redis_address, parse_redis_password, parse_checked_elsewhere;
static const char *check_log_access(const char *s);
static const char *check_log_error(const char *s);
static const char *check_nonempty(const char *s);
static const char *check_env_name(const char *s);
static const char *check_redis_prefix(const char *s);

/* ------------------------------------------------------------ the tables */

static const struct config_field listen_fields[] = {
    F_CUSTOM("address", FIELD_REQUIRED, parse_listen_address),
    F_UNSUPPORTED("tls", "TLS listeners are not supported yet"),
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
    F_U32("shutdown_timeout_ms", struct limits_conf, shutdown_timeout_ms, 0, 3600000,
          CONFIG_DEFAULT_SHUTDOWN_TIMEOUT_MS),
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

/* Fields of an http handler; they fill the struct fn_version. */
static const struct config_field http_handler_fields[] = {
    F_CUSTOM("type", 0, parse_checked_elsewhere),
    F_CUSTOM("url", FIELD_REQUIRED, parse_http_url),
    F_END,
};

/* Kinds of handler or authorizer by their "type". A kind without fields
 * is one the design has but this build does not run yet: refused with a
 * message saying so. */
struct kind_def {
    const char *name;
    int kind; /* enum handler_kind, enum authorizer_type */
    const struct config_field *fields;
};

static const struct kind_def handler_kinds[] = {
    { .name = "http", .kind = HANDLER_HTTP, .fields = http_handler_fields },
    { .name = "invoke" },
    { .name = "lua" },
    { .name = NULL },
};

static const struct config_field version_fields[] = {
    F_CUSTOM("handler", FIELD_REQUIRED, parse_handler),
    F_U32_INHERIT("timeout_ms", struct fn_version, timeout_ms, 1, 900000),
    F_U32_INHERIT("memory_mb", struct fn_version, memory_mb, 1, 10240),
    F_U32_INHERIT("max_concurrency", struct fn_version, max_concurrency, 0, 100000),
    F_END,
};

static const struct config_field alias_fields[] = {
    F_CUSTOM("version", FIELD_REQUIRED, parse_alias_version),
    F_CUSTOM("weights", 0, parse_alias_weights), /* after version: the primary is no extra */
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

static const struct config_field route_fields[] = {
    F_CUSTOM("route", FIELD_REQUIRED, parse_route_spec),
    F_CUSTOM("target", FIELD_REQUIRED, parse_route_target),
    F_U32("timeout_ms", struct route, timeout_ms, 0, 900000, 0),
    F_CUSTOM("authorizer", 0, parse_route_authorizer),
    F_CUSTOM("scopes", 0, parse_route_scopes),
    F_END,
};

/* How a secret is written in its file or variable. */
enum secret_encoding { SECRET_RAW = 0, SECRET_BASE64URL, SECRET_HEX };
static const char *const secret_encodings[] = { "raw", "base64url", "hex", NULL };

/* One entry of a jwt authorizer's "keys" while it is read: loaded into
 * the authorizer's key set, then dropped. */
struct key_conf {
    char *kid, *file, *secret_file, *secret_env;
    int encoding;  /* enum secret_encoding */
    uint32_t algs; /* enum jose_alg bits; 0 until "algorithms" is good */
};

static const struct config_field key_fields[] = {
    F_STR("kid", struct key_conf, kid, NULL, check_nonempty),
    F_CUSTOM("algorithms", FIELD_REQUIRED, parse_key_algorithms),
    F_STR("file", struct key_conf, file, NULL, check_nonempty),
    F_STR("secret_file", struct key_conf, secret_file, NULL, check_nonempty),
    F_STR("secret_env", struct key_conf, secret_env, NULL, check_env_name),
    F_ENUM("encoding", struct key_conf, encoding, secret_encodings, SECRET_RAW),
    F_END,
};

/* A jwt authorizer. Every authorizer kind shares the first four keys. */
static const struct config_field jwt_authorizer_fields[] = {
    F_CUSTOM("type", 0, parse_checked_elsewhere),
    F_CUSTOM_DEF("identity_source", parse_identity_sources, "[\"$request.header.Authorization\"]"),
    F_U32("cache_ttl_s", struct authorizer, cache_ttl_s, 0, 3600, 300),
    F_CUSTOM("claims_to_headers", 0, parse_claims_to_headers),
    F_STR("issuer", struct authorizer, issuer, NULL, check_nonempty),
    F_CUSTOM("audiences", 0, parse_audiences),
    F_U32("clock_skew_s", struct authorizer, clock_skew_s, 0, 600, 60),
    F_CUSTOM("keys", 0, parse_keys),
    F_CUSTOM("jwks_file", 0, parse_jwks_file),
    F_CUSTOM("jwks_url", 0, parse_jwks_url),
    F_CUSTOM("jwks_ca_file", 0, parse_jwks_ca_file),
    F_U32("jwks_refresh_s", struct authorizer, jwks_refresh_s, 60, 86400, 600),
    F_END,
};

static const struct kind_def authorizer_kinds[] = {
    { .name = "jwt", .kind = AUTHORIZER_JWT, .fields = jwt_authorizer_fields },
    { .name = "lua" },
    { .name = "function" },
    { .name = NULL },
};

static const struct config_field redis_fields[] = {
    F_CUSTOM("address", FIELD_REQUIRED, parse_redis_address),
    F_CUSTOM("password_env", 0, parse_redis_password),
    F_U32("db", struct redis_conf, db, 0, 15, 0),
    F_STR("prefix", struct redis_conf, prefix, "sluice:", check_redis_prefix),
    F_U32("timeout_ms", struct redis_conf, timeout_ms, 1, 10000, 200),
    F_END,
};

static const struct config_field config_fields[] = {
    F_CUSTOM("listen", FIELD_REQUIRED, parse_listen),
    F_U32("workers", struct config, workers, 0, 256, 0),
    F_OBJ("limits", struct config, limits, limits_fields),
    F_OBJ("log", struct config, log, log_fields),
    F_CUSTOM("redis", 0, parse_redis),
    F_CUSTOM("authorizers", 0, parse_authorizers),
    F_CUSTOM("functions", FIELD_REQUIRED, parse_functions),
    /* After functions and authorizers: routes name them. */
    F_CUSTOM("routes", FIELD_REQUIRED, parse_routes),
    F_END,
};

/* A key the caller has already looked at (a handler's "type"). */
static void parse_checked_elsewhere(struct config_loader *ld, const struct config_field *f,
                                    json_t *v, void *obj)
{
}

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

static const char *check_nonempty(const char *s)
{
    return *s ? NULL : "expected a non-empty string";
}

/* A portable environment variable name: [A-Za-z_][A-Za-z0-9_]*. Shown
 * unquoted in messages, so nothing else may pass. */
static const char *check_env_name(const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9')))
            return "expected an environment variable name: letters, digits and '_', "
                   "not starting with a digit";
    }
    return *s ? NULL : "expected an environment variable name, not an empty string";
}

static const char *check_redis_prefix(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > CONFIG_MAX_REDIS_PREFIX)
        return "expected 1 to 64 characters";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
            return "a prefix cannot hold spaces or control characters";
    return NULL;
}

/* An HTTP token (RFC 9110 5.6.2): header names, cookie names. */
static int token_ok(const char *s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";

    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr(extra, c)))
            return 0;
    }
    return s[0] != '\0';
}

static void lower_ascii(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* Returns 1 when s is 1..max of [A-Za-z0-9_-], the first a letter when
 * letter_first. */
static int name_ok(const char *s, size_t max, int letter_first)
{
    size_t n = 0;

    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        int letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (n == 0 && letter_first && !letter)
            return 0;
        if (!letter && !(c >= '0' && c <= '9') && c != '_' && c != '-')
            return 0;
        if (n >= max)
            return 0;
    }
    return n > 0;
}

/* "$LATEST", or a published version number: no sign, no leading zero. */
static int version_name_ok(const char *s)
{
    uint64_t n;

    if (strcmp(s, "$LATEST") == 0)
        return 1;
    return s[0] != '0' && parse_u64((struct slice){ s, strlen(s) }, CONFIG_MAX_VERSION, &n) == 0;
}

/* ------------------------------------------------------------ listeners */

static void parse_listen_address(struct config_loader *ld, const struct config_field *f, json_t *v,
                                 void *obj)
{
    struct listen_conf *l = obj;
    const char *s = config_want_string(ld, v);
    char why[CONFIG_MSG_MAX / 2], b[CONFIG_SHOW_BUF];

    if (!s || !(l->address = config_strdup(ld, s)))
        return;
    if (addr_parse_listen(s, &l->addr, &l->addrlen, why, sizeof(why)) < 0) {
        l->addrlen = 0;
        config_error(ld, "invalid address %s: %s", config_show(b, s), why);
    }
}

static void parse_listen(struct config_loader *ld, const struct config_field *f, json_t *v,
                         void *obj)
{
    struct config *c = obj;
    size_t i;
    json_t *item;

    if (!json_is_array(v)) {
        config_type_error(ld, v, "an array");
        return;
    }
    if (json_array_size(v) == 0) {
        config_error(ld, "expected at least one address to listen on");
        return;
    }
    c->listen = calloc(json_array_size(v), sizeof(*c->listen));
    if (!c->listen) {
        ld->oom = 1;
        return;
    }
    c->nlisten = json_array_size(v);
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

/* -------------------------------------------------------------- handlers */

/* "http://host[:port][/path]", resolved now. */
static void parse_http_url(struct config_loader *ld, const struct config_field *f, json_t *v,
                           void *obj)
{
    struct http_target *t = &((struct fn_version *)obj)->http;
    const char *s = config_want_string(ld, v);
    char why[CONFIG_MSG_MAX / 2], b[CONFIG_SHOW_BUF];
    struct addr_url u;

    if (!s || !(t->url = config_strdup(ld, s)))
        return;
    if (addr_parse_http_url(s, &u, why, sizeof(why)) < 0) {
        config_error(ld, "invalid url %s: %s", config_show(b, s), why);
        return;
    }
    t->port = u.port;
    t->addr = u.addr;
    t->addrlen = u.addrlen;
    t->host = config_strdup(ld, u.host);
    t->authority = config_strdup(ld, u.authority);
    t->base_path = slice_dup((struct slice){ u.path, u.path_len });
    if (!t->base_path)
        ld->oom = 1;
}

/* Writes the supported kinds' names, quoted, into buf; returns buf. */
static const char *kinds_supported(const struct kind_def *kinds, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (; kinds->name; kinds++) {
        if (!kinds->fields)
            continue;
        str_append(buf, cap, buf[0] ? ", \"" : "\"");
        str_append(buf, cap, kinds->name);
        str_append(buf, cap, "\"");
    }
    return buf;
}

/* Reads the "type" of the object v (what: "handler", "authorizer") and
 * returns its kind when this build runs it; else NULL, with the problem
 * reported. Without a usable type the other keys cannot be judged, so the
 * caller leaves them alone. */
static const struct kind_def *pick_kind(struct config_loader *ld, json_t *v,
                                        const struct kind_def *kinds, const char *what)
{
    const struct kind_def *kind = NULL;
    const char *name;
    char b[CONFIG_SHOW_BUF], list[128];
    json_t *type;
    size_t mark;

    if (!json_is_object(v)) {
        config_type_error(ld, v, "an object");
        return NULL;
    }
    type = json_object_get(v, "type");
    mark = config_path_key(ld, "type");
    if (!type)
        config_error(ld, "missing required key \"type\"");
    else if ((name = config_want_string(ld, type)) != NULL) {
        for (const struct kind_def *k = kinds; k->name && !kind; k++)
            if (strcmp(name, k->name) == 0)
                kind = k;
        if (!kind)
            config_error(ld, "unknown %s type %s (expected %s)", what, config_show(b, name),
                         kinds_supported(kinds, list, sizeof(list)));
        else if (!kind->fields)
            config_error(ld, "%s type %s is not supported yet", what, config_show(b, name));
    }
    config_path_cut(ld, mark);
    return kind && kind->fields ? kind : NULL;
}

static void parse_handler(struct config_loader *ld, const struct config_field *f, json_t *v,
                          void *obj)
{
    struct fn_version *ver = obj;
    const struct kind_def *kind = pick_kind(ld, v, handler_kinds, "handler");

    if (kind) {
        ver->kind = (enum handler_kind)kind->kind;
        config_parse_fields(ld, v, kind->fields, ver);
    }
}

/* ------------------------------------------------------ functions, aliases */

static void parse_versions(struct config_loader *ld, const struct config_field *f, json_t *v,
                           void *obj)
{
    struct function *fn = obj;
    const char *key;
    json_t *vv;
    size_t i = 0;

    if (!json_is_object(v)) {
        config_type_error(ld, v, "an object");
        return;
    }
    if (json_object_size(v) == 0) {
        config_error(ld, "a function needs at least one version");
        return;
    }
    fn->versions = calloc(json_object_size(v), sizeof(*fn->versions));
    if (!fn->versions) {
        ld->oom = 1;
        return;
    }
    fn->nversions = json_object_size(v);
    json_object_foreach(v, key, vv)
    {
        struct fn_version *ver = &fn->versions[i++];
        char b[CONFIG_SHOW_BUF];
        size_t mark;

        ver->fn = fn;
        if (!(ver->name = config_strdup(ld, key)))
            return;
        mark = config_path_key(ld, key);
        if (!version_name_ok(key))
            config_error(ld,
                         "invalid version name %s: expected \"$LATEST\" or a number "
                         "without leading zeros",
                         config_show(b, key));
        ver->timeout_ms = fn->timeout_ms;
        ver->memory_mb = fn->memory_mb;
        ver->max_concurrency = fn->max_concurrency;
        config_parse_fields(ld, vv, version_fields, ver);
        config_path_cut(ld, mark);
    }
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

static void parse_aliases(struct config_loader *ld, const struct config_field *f, json_t *v,
                          void *obj)
{
    struct function *fn = obj;
    const char *key;
    json_t *av;
    size_t i = 0;

    if (!json_is_object(v)) {
        config_type_error(ld, v, "an object");
        return;
    }
    if (json_object_size(v) == 0)
        return;
    fn->aliases = calloc(json_object_size(v), sizeof(*fn->aliases));
    if (!fn->aliases) {
        ld->oom = 1;
        return;
    }
    fn->naliases = json_object_size(v);
    json_object_foreach(v, key, av)
    {
        struct alias *a = &fn->aliases[i++];
        char b[CONFIG_SHOW_BUF];
        size_t mark;

        a->fn = fn;
        if (!(a->name = config_strdup(ld, key)))
            return;
        mark = config_path_key(ld, key);
        /* A letter first also keeps an alias from looking like a version,
         * so "fn:1" always names a version. */
        if (!name_ok(key, CONFIG_MAX_NAME, 1))
            config_error(ld,
                         "invalid alias name %s: expected a letter, then up to 63 letters, "
                         "digits, '_' or '-'",
                         config_show(b, key));
        config_parse_fields(ld, av, alias_fields, a);
        config_path_cut(ld, mark);
    }
}

static void parse_functions(struct config_loader *ld, const struct config_field *f, json_t *v,
                            void *obj)
{
    struct config *c = obj;
    const char *key;
    json_t *fv;
    size_t i = 0;

    if (!json_is_object(v)) {
        config_type_error(ld, v, "an object");
        return;
    }
    if (json_object_size(v) == 0)
        return;
    c->functions = calloc(json_object_size(v), sizeof(*c->functions));
    if (!c->functions) {
        ld->oom = 1;
        return;
    }
    c->nfunctions = json_object_size(v);
    json_object_foreach(v, key, fv)
    {
        struct function *fn = &c->functions[i++];
        char b[CONFIG_SHOW_BUF];
        size_t mark;

        if (!(fn->name = config_strdup(ld, key)))
            return;
        mark = config_path_key(ld, key);
        /* No ':' allowed, so a target splits at its first one. */
        if (!name_ok(key, CONFIG_MAX_NAME, 0))
            config_error(ld,
                         "invalid function name %s: expected 1 to 64 letters, digits, "
                         "'_' or '-'",
                         config_show(b, key));
        config_parse_fields(ld, fv, function_fields, fn);
        config_path_cut(ld, mark);
    }
}

/* ----------------------------------------------------------- authorizers */

/* Where an identity source may look, by its prefix. */
static const struct identity_form {
    const char *prefix;
    enum identity_kind kind;
} identity_forms[] = {
    { "$request.header.", IDENTITY_HEADER },
    { "$request.querystring.", IDENTITY_QUERY },
    { "$request.cookie.", IDENTITY_COOKIE },
};

/* A query parameter name as a client may send it, unescaped: printable,
 * without the characters that would end it. */
static int query_name_ok(const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '&' || c == '=' || c == '#' || c == '+' || c == '%')
            return 0;
    }
    return s[0] != '\0';
}

static void parse_identity_sources(struct config_loader *ld, const struct config_field *f,
                                   json_t *v, void *obj)
{
    struct authorizer *a = obj;
    size_t i;
    json_t *item;

    if (!json_is_array(v)) {
        config_type_error(ld, v, "an array");
        return;
    }
    if (json_array_size(v) == 0) {
        config_error(ld, "expected at least one identity source");
        return;
    }
    a->ids = calloc(json_array_size(v), sizeof(*a->ids));
    if (!a->ids) {
        ld->oom = 1;
        return;
    }
    json_array_foreach(v, i, item)
    {
        size_t mark = config_path_index(ld, i);
        const char *s = config_want_string(ld, item), *name = NULL;
        const struct identity_form *form = NULL;
        struct identity_source *id = &a->ids[a->nids];
        char b[CONFIG_SHOW_BUF];
        int ok;

        for (size_t k = 0; s && k < sizeof(identity_forms) / sizeof(identity_forms[0]); k++)
            if (strncmp(s, identity_forms[k].prefix, strlen(identity_forms[k].prefix)) == 0) {
                form = &identity_forms[k];
                name = s + strlen(form->prefix);
            }
        ok = form && (form->kind == IDENTITY_QUERY ? query_name_ok(name) : token_ok(name));
        if (s && !ok)
            config_error(ld,
                         "invalid identity source %s: expected \"$request.header.NAME\", "
                         "\"$request.querystring.NAME\" or \"$request.cookie.NAME\"",
                         config_show(b, s));
        if (ok && (id->name = config_strdup(ld, name)) != NULL) {
            id->kind = form->kind;
            if (id->kind == IDENTITY_HEADER)
                lower_ascii(id->name);
            for (size_t k = 0; k < a->nids; k++)
                if (a->ids[k].kind == id->kind && strcmp(a->ids[k].name, id->name) == 0) {
                    config_error(ld, "identity source %s is listed twice", config_show(b, s));
                    break;
                }
            a->nids++;
        }
        config_path_cut(ld, mark);
    }
}

/* Headers a claim may never be copied into, with why. Every client
 * request loses the headers claims go to (so nobody can spoof them): the
 * ones below would break the exchange or the gateway's own headers. */
/* clang-format off */
static const char *const hop_by_hop_headers[] = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "transfer-encoding", "upgrade", NULL,
};
/* clang-format on */
static const char *const gateway_headers[] = { "host", "content-length", "x-request-id", NULL };
static const char *const credential_headers[] = { "authorization", "cookie", NULL };

static int in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

/* Why a header (lower-case) cannot carry a claim, or NULL. */
static const char *claim_header_refused(const char *h)
{
    if (in_list(hop_by_hop_headers, h))
        return "it is hop-by-hop";
    if (in_list(gateway_headers, h) || strncmp(h, "x-forwarded-", 12) == 0 ||
        strncmp(h, "x-sluice-", 9) == 0)
        return "sluice sets it itself";
    if (in_list(credential_headers, h))
        return "it carries the caller's credentials";
    return NULL;
}

/* The header name s, lower-cased (caller frees), when it may carry a claim
 * of a; else NULL with the problem reported. */
static char *claim_header(struct config_loader *ld, const struct authorizer *a, const char *s)
{
    char b1[CONFIG_SHOW_BUF], b2[CONFIG_SHOW_BUF];
    const char *why;
    char *h;

    if (!token_ok(s)) {
        config_error(ld, "invalid header name %s: expected letters, digits and !#$%%&'*+-.^_`|~",
                     config_show(b1, s));
        return NULL;
    }
    if (!(h = config_strdup(ld, s)))
        return NULL;
    lower_ascii(h);
    if ((why = claim_header_refused(h)) != NULL) {
        config_error(ld, "header %s cannot carry a claim: %s", config_show(b1, h), why);
        free(h);
        return NULL;
    }
    for (size_t k = 0; k < a->nclaims_to_headers; k++)
        if (strcmp(a->claims_to_headers[k].header, h) == 0) {
            config_error(ld, "header %s already carries claim %s", config_show(b1, h),
                         config_show(b2, a->claims_to_headers[k].claim));
            free(h);
            return NULL;
        }
    return h;
}

static void parse_claims_to_headers(struct config_loader *ld, const struct config_field *f,
                                    json_t *v, void *obj)
{
    struct authorizer *a = obj;
    const char *claim;
    json_t *hv;

    if (!json_is_object(v)) {
        config_type_error(ld, v, "an object");
        return;
    }
    if (json_object_size(v) == 0)
        return;
    a->claims_to_headers = calloc(json_object_size(v), sizeof(*a->claims_to_headers));
    if (!a->claims_to_headers) {
        ld->oom = 1;
        return;
    }
    json_object_foreach(v, claim, hv)
    {
        size_t mark = config_path_key(ld, claim);
        const char *s = config_want_string(ld, hv);
        char *h = NULL;

        if (!*claim)
            config_error(ld, "expected a claim name, not an empty key");
        else if (s && (h = claim_header(ld, a, s)) != NULL) {
            struct claim_header *ch = &a->claims_to_headers[a->nclaims_to_headers];
            if ((ch->claim = config_strdup(ld, claim)) != NULL) {
                ch->header = h;
                h = NULL;
                a->nclaims_to_headers++;
            }
        }
        free(h);
        config_path_cut(ld, mark);
    }
}

static void parse_audiences(struct config_loader *ld, const struct config_field *f, json_t *v,
                            void *obj)
{
    struct authorizer *a = obj;

    config_parse_strings(ld, v, "audience", check_nonempty, &a->audiences, &a->naudiences);
}

static void parse_key_algorithms(struct config_loader *ld, const struct config_field *f, json_t *v,
                                 void *obj)
{
    struct key_conf *k = obj;
    uint32_t algs = 0;
    int bad = 0;
    size_t i;
    json_t *item;

    if (!json_is_array(v)) {
        config_type_error(ld, v, "an array");
        return;
    }
    if (json_array_size(v) == 0) {
        config_error(ld, "expected at least one algorithm");
        return;
    }
    json_array_foreach(v, i, item)
    {
        size_t mark = config_path_index(ld, i);
        const char *s = config_want_string(ld, item);
        unsigned bit = s ? jose_alg_from_name(s, strlen(s)) : 0;
        char b[CONFIG_SHOW_BUF], list[160] = "";

        if (s && !bit && strcasecmp(s, "none") == 0)
            config_error(ld, "the \"none\" algorithm is never accepted");
        else if (s && !bit) {
            for (unsigned a = JOSE_HS256; a <= JOSE_EDDSA; a <<= 1) {
                str_append(list, sizeof(list), a == JOSE_HS256 ? "" : ", ");
                str_append(list, sizeof(list), jose_alg_name(a));
            }
            config_error(ld, "unknown algorithm %s (expected one of %s)", config_show(b, s), list);
        }
        bad |= !bit;
        algs |= bit;
        config_path_cut(ld, mark);
    }
    if (!bad)
        k->algs = algs;
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes a secret as written (len bytes at in) by its encoding into a
 * new buffer (*out, *outlen; the caller wipes and frees it). Returns NULL,
 * or why it cannot: never quoting the secret. */
static const char *secret_decode(enum secret_encoding enc, const char *in, size_t len,
                                 unsigned char **out, size_t *outlen)
{
    unsigned char *buf = malloc(len + 1);
    long n;

    *out = NULL;
    if (!buf)
        return "out of memory";
    switch (enc) {
    case SECRET_RAW:
        memcpy(buf, in, len);
        *outlen = len;
        break;
    case SECRET_BASE64URL:
        /* Padding is not base64url's, but tools add it: drop it. */
        while (len > 0 && in[len - 1] == '=')
            len--;
        n = jose_b64url_decode(in, len, buf);
        if (n < 0) {
            free(buf);
            return "the secret is not valid base64url (A-Z, a-z, 0-9, '-' and '_')";
        }
        *outlen = (size_t)n;
        break;
    case SECRET_HEX:
        if (len % 2) {
            free(buf);
            return "the secret is not valid hex (an odd number of digits)";
        }
        for (size_t i = 0; i < len; i += 2) {
            int hi = hex_value(in[i]), lo = hex_value(in[i + 1]);
            if (hi < 0 || lo < 0) {
                explicit_bzero(buf, i / 2);
                free(buf);
                return "the secret is not valid hex";
            }
            buf[i / 2] = (unsigned char)(hi << 4 | lo);
        }
        *outlen = len / 2;
        break;
    }
    *out = buf;
    return NULL;
}

/* Reads the secret a key names, decodes it and adds it to ks. Problems
 * are reported at the source's key (reading, decoding) or at the key
 * itself (refused by the key set). Secrets never reach a message. */
static void load_secret(struct config_loader *ld, const struct key_conf *k, struct jose_keyset *ks)
{
    const char *source = k->secret_file ? "secret_file" : "secret_env", *why = NULL;
    char *text = NULL, err[CONFIG_MSG_MAX / 2], b[CONFIG_SHOW_BUF];
    unsigned char *secret = NULL;
    size_t len = 0, slen = 0, mark = config_path_key(ld, source);

    if (k->secret_file) {
        text =
            config_read_file(k->secret_file, CONFIG_MAX_SECRET_FILE_BYTES, &len, err, sizeof(err));
        if (!text)
            config_error(ld, "secret file %s: %s", config_show(b, k->secret_file), err);
        else if (len > 0 && text[len - 1] == '\n')
            len--; /* an editor's final newline, not part of the secret */
    } else {
        const char *val = getenv(k->secret_env);
        if (!val || !*val)
            config_error(ld, "environment variable %s is not set", k->secret_env);
        else
            len = strlen(val);
        text = val && *val ? config_strdup(ld, val) : NULL;
    }
    if (text && (why = secret_decode((enum secret_encoding)k->encoding, text, len, &secret,
                                     &slen)) != NULL) {
        if (!secret && strcmp(why, "out of memory") == 0)
            ld->oom = 1;
        else
            config_error(ld, "%s", why);
    }
    config_path_cut(ld, mark);
    if (secret && jose_keyset_add_secret(ks, k->kid, secret, slen, k->algs, err, sizeof(err)) < 0)
        config_error(ld, "%s", err);
    if (text)
        explicit_bzero(text, len);
    if (secret)
        explicit_bzero(secret, slen);
    free(text);
    free(secret);
}

/* One entry of "keys" (the path is at it): exactly one source, then the
 * key loaded into ks unless something in it was wrong already. */
static void parse_key(struct config_loader *ld, json_t *item, struct jose_keyset *ks)
{
    static const char *const sources = "\"file\", \"secret_file\" or \"secret_env\"";
    struct key_conf k = { 0 };
    size_t first = ld->errs->n;
    int nsrc;

    if (config_parse_fields(ld, item, key_fields, &k) < 0)
        return;
    nsrc = !!json_object_get(item, "file") + !!json_object_get(item, "secret_file") +
           !!json_object_get(item, "secret_env");
    if (nsrc == 0)
        config_error(ld, "a key needs one of %s", sources);
    else if (nsrc > 1)
        config_error(ld, "a key takes only one of %s", sources);
    if (json_object_get(item, "encoding") && json_object_get(item, "file")) {
        size_t mark = config_path_key(ld, "encoding");
        config_error(ld, "\"encoding\" applies to \"secret_file\" and \"secret_env\" only");
        config_path_cut(ld, mark);
    }
    if (ld->errs->n == first && !ld->oom && k.algs && ks) {
        if (k.file) {
            char err[CONFIG_MSG_MAX / 2];
            if (jose_keyset_add_pem_file(ks, k.kid, k.file, k.algs, err, sizeof(err)) < 0) {
                size_t mark = config_path_key(ld, "file");
                config_error(ld, "%s", err);
                config_path_cut(ld, mark);
            }
        } else if (k.secret_file || k.secret_env) {
            load_secret(ld, &k, ks);
        }
    }
    free(k.kid);
    free(k.file);
    free(k.secret_file);
    free(k.secret_env);
}

static void parse_keys(struct config_loader *ld, const struct config_field *f, json_t *v, void *obj)
{
    struct authorizer *a = obj;
    size_t i;
    json_t *item;

    if (!json_is_array(v)) {
        config_type_error(ld, v, "an array");
        return;
    }
    if (json_array_size(v) == 0) {
        config_error(ld, "expected at least one key");
        return;
    }
    json_array_foreach(v, i, item)
    {
        size_t mark = config_path_index(ld, i);
        parse_key(ld, item, a->keys);
        config_path_cut(ld, mark);
        if (ld->oom)
            return;
    }
}

static void parse_jwks_file(struct config_loader *ld, const struct config_field *f, json_t *v,
                            void *obj)
{
    struct authorizer *a = obj;
    const char *path = config_want_string(ld, v);
    char err[CONFIG_MSG_MAX / 2], b[CONFIG_SHOW_BUF];
    size_t len, skipped = 0, before;
    char *text;

    if (!path || !a->keys)
        return;
    if (!*path) {
        config_error(ld, "expected a path, not an empty string");
        return;
    }
    text = config_read_file(path, CONFIG_MAX_JWKS_FILE_BYTES, &len, err, sizeof(err));
    if (!text) {
        config_error(ld, "JWKS file %s: %s", config_show(b, path), err);
        return;
    }
    before = jose_keyset_count(a->keys);
    if (jose_keyset_add_jwks(a->keys, text, len, 1, &skipped, err, sizeof(err)) < 0)
        config_error(ld, "invalid JWKS file %s: %s", config_show(b, path), err);
    else if (jose_keyset_count(a->keys) == before)
        config_error(ld, "JWKS file %s holds no usable key (%zu skipped)", config_show(b, path),
                     skipped);
    /* It may hold oct keys: secrets. */
    explicit_bzero(text, len);
    free(text);
}

static void parse_jwks_url(struct config_loader *ld, const struct config_field *f, json_t *v,
                           void *obj)
{
    struct authorizer *a = obj;
    const char *s = config_want_string(ld, v);
    char why[CONFIG_MSG_MAX / 2], b[CONFIG_SHOW_BUF];

    if (!s)
        return;
    if (addr_check_fetch_url(s, why, sizeof(why)) < 0)
        config_error(ld, "invalid url %s: %s", config_show(b, s), why);
    else
        a->jwks_url = config_strdup(ld, s);
}

static void parse_jwks_ca_file(struct config_loader *ld, const struct config_field *f, json_t *v,
                               void *obj)
{
    struct authorizer *a = obj;
    const char *s = config_want_string(ld, v);
    char b[CONFIG_SHOW_BUF];
    struct stat st;
    int fd;

    if (!s)
        return;
    if (!*s) {
        config_error(ld, "expected a path, not an empty string");
        return;
    }
    fd = open(s, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        /* %m rather than strerror(): no buffer shared between threads. */
        config_error(ld, "CA file %s: cannot open: %m", config_show(b, s));
        return;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        config_error(ld, "CA file %s is not a regular file", config_show(b, s));
    else
        a->jwks_ca_file = config_strdup(ld, s);
    close(fd);
}

/* Every claims_to_headers header, lower-case, once: the headers stripped
 * from every client request. A header that is some authorizer's identity
 * source would be stripped before it is read: refused. */
static void collect_claim_headers(struct config_loader *ld, struct config *c)
{
    size_t total = 0;

    for (size_t i = 0; i < c->nauthorizers; i++)
        total += c->authorizers[i].nclaims_to_headers;
    if (total == 0)
        return;
    c->claim_headers = calloc(total, sizeof(*c->claim_headers));
    if (!c->claim_headers) {
        ld->oom = 1;
        return;
    }
    for (size_t i = 0; i < c->nauthorizers; i++) {
        const struct authorizer *a = &c->authorizers[i];
        for (size_t j = 0; j < a->nclaims_to_headers; j++) {
            const struct claim_header *ch = &a->claims_to_headers[j];
            const struct authorizer *user = NULL;
            size_t k;

            for (k = 0; k < c->nauthorizers && !user; k++)
                for (size_t m = 0; m < c->authorizers[k].nids && !user; m++)
                    if (c->authorizers[k].ids[m].kind == IDENTITY_HEADER &&
                        strcmp(c->authorizers[k].ids[m].name, ch->header) == 0)
                        user = &c->authorizers[k];
            if (user) {
                char b1[CONFIG_SHOW_BUF], b2[CONFIG_SHOW_BUF];
                size_t mark = config_path_key(ld, a->name); /* under "authorizers" */
                config_path_key(ld, "claims_to_headers");
                config_path_key(ld, ch->claim);
                config_error(ld,
                             "header %s cannot carry a claim: it is the identity source of "
                             "authorizer %s",
                             config_show(b1, ch->header), config_show(b2, user->name));
                config_path_cut(ld, mark);
            }
            for (k = 0; k < c->nclaim_headers; k++)
                if (strcmp(c->claim_headers[k], ch->header) == 0)
                    break;
            if (k == c->nclaim_headers) {
                if (!(c->claim_headers[k] = config_strdup(ld, ch->header)))
                    return;
                c->nclaim_headers++;
            }
        }
    }
}

static void parse_authorizers(struct config_loader *ld, const struct config_field *f, json_t *v,
                              void *obj)
{
    struct config *c = obj;
    const char *key;
    json_t *av;
    size_t i = 0;

    if (!json_is_object(v)) {
        config_type_error(ld, v, "an object");
        return;
    }
    if (json_object_size(v) == 0)
        return;
    c->authorizers = calloc(json_object_size(v), sizeof(*c->authorizers));
    if (!c->authorizers) {
        ld->oom = 1;
        return;
    }
    c->nauthorizers = json_object_size(v);
    json_object_foreach(v, key, av)
    {
        struct authorizer *a = &c->authorizers[i];
        const struct kind_def *kind;
        char b[CONFIG_SHOW_BUF];
        size_t mark;

        a->id = (uint32_t)i++;
        if (!(a->name = config_strdup(ld, key)))
            return;
        mark = config_path_key(ld, key);
        if (!name_ok(key, CONFIG_MAX_NAME, 0))
            config_error(ld,
                         "invalid authorizer name %s: expected 1 to 64 letters, digits, "
                         "'_' or '-'",
                         config_show(b, key));
        kind = pick_kind(ld, av, authorizer_kinds, "authorizer");
        if (kind) {
            a->type = (enum authorizer_type)kind->kind;
            if (a->type == AUTHORIZER_JWT && !(a->keys = jose_keyset_new()))
                ld->oom = 1;
            else
                config_parse_fields(ld, av, kind->fields, a);
        }
        if (kind && a->type == AUTHORIZER_JWT && !ld->oom) {
            if (!json_object_get(av, "keys") && !json_object_get(av, "jwks_file") &&
                !json_object_get(av, "jwks_url"))
                config_error(ld, "a jwt authorizer needs keys, jwks_file or jwks_url");
            if (json_object_get(av, "jwks_ca_file") && !json_object_get(av, "jwks_url")) {
                size_t m2 = config_path_key(ld, "jwks_ca_file");
                config_error(ld, "jwks_ca_file is only used with jwks_url");
                config_path_cut(ld, m2);
            }
        }
        config_path_cut(ld, mark);
        if (ld->oom)
            return;
    }
    collect_claim_headers(ld, c);
}

/* ----------------------------------------------------------------- redis */

static void parse_redis_address(struct config_loader *ld, const struct config_field *f, json_t *v,
                                void *obj)
{
    struct redis_conf *r = obj;
    const char *s = config_want_string(ld, v);
    char why[CONFIG_MSG_MAX / 2], b[CONFIG_SHOW_BUF], host[ADDR_HOST_MAX];

    if (!s || !(r->address = config_strdup(ld, s)))
        return;
    /* Not resolved here: hiredis resolves when it connects. */
    if (addr_split(s, host, &r->port, why, sizeof(why)) < 0)
        config_error(ld, "invalid address %s: %s", config_show(b, s), why);
    else
        r->host = config_strdup(ld, host);
}

static void parse_redis_password(struct config_loader *ld, const struct config_field *f, json_t *v,
                                 void *obj)
{
    struct redis_conf *r = obj;
    const char *s = config_want_string(ld, v), *why, *val;

    if (!s)
        return;
    if ((why = check_env_name(s)) != NULL) {
        config_error(ld, "%s", why);
        return;
    }
    val = getenv(s);
    if (!val || !*val)
        config_error(ld, "environment variable %s is not set", s);
    else
        r->password = config_strdup(ld, val);
}

static void parse_redis(struct config_loader *ld, const struct config_field *f, json_t *v,
                        void *obj)
{
    struct config *c = obj;

    if (config_parse_fields(ld, v, redis_fields, &c->redis) == 0)
        c->redis.enabled = 1;
}

/* ---------------------------------------------------------------- routes */

/* Returns 1 when the len bytes at p are a "{name}" or "{name+}" segment
 * the router accepts, setting *greedy. */
static int seg_param(const char *p, size_t len, int *greedy)
{
    size_t n;

    if (len < 3 || p[0] != '{' || p[len - 1] != '}')
        return 0;
    *greedy = p[len - 2] == '+';
    n = len - 2 - (size_t)*greedy;
    for (size_t i = 1; i <= n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return n > 0;
}

/* Returns 1 when two templates have the same shape: the same literals and
 * parameters at the same places, whatever the parameters' names. That is
 * what the router calls a duplicate; matching it here lets the error name
 * the earlier route. */
static int same_shape(const char *a, const char *b)
{
    while (*a && *b) {
        size_t la = strcspn(a + 1, "/") + 1, lb = strcspn(b + 1, "/") + 1;
        int ga = 0, gb = 0;
        int pa = seg_param(a + 1, la - 1, &ga), pb = seg_param(b + 1, lb - 1, &gb);

        if (pa != pb || (pa && ga != gb) || (!pa && (la != lb || memcmp(a, b, la) != 0)))
            return 0;
        a += la;
        b += lb;
    }
    return *a == *b;
}

/* "ANY", or the upper-case letters of a method, as the router takes it. */
static int method_ok(const char *m)
{
    size_t n = 0;

    for (; m[n]; n++)
        if (m[n] < 'A' || m[n] > 'Z' || n >= CONFIG_MAX_METHOD)
            return 0;
    return n > 0;
}

static void parse_route_spec(struct config_loader *ld, const struct config_field *f, json_t *v,
                             void *obj)
{
    struct route *r = obj;
    struct config *c = ld->c;
    const char *s = config_want_string(ld, v), *sp;
    char why[256], b[CONFIG_SHOW_BUF];

    if (!s || !(r->spec = config_strdup(ld, s)))
        return;
    sp = strchr(s, ' ');
    if (!sp || sp == s) {
        config_error(ld, "expected \"METHOD /path\", as in \"GET /orders/{id}\", not %s",
                     config_show(b, s));
        return;
    }
    r->method = slice_dup((struct slice){ s, (size_t)(sp - s) });
    r->tmpl = config_strdup(ld, sp + 1);
    if (!r->method || !r->tmpl) {
        ld->oom = 1;
        return;
    }
    if (!method_ok(r->method)) {
        config_error(ld, "invalid method %s: expected \"ANY\" or an upper-case method such as GET",
                     config_show(b, r->method));
        return;
    }
    if (router_add(c->router, r->method, r->tmpl, r, why, sizeof(why)) == 0) {
        ld->route_added[r->index] = 1;
        return;
    }
    /* router_add() has one failure code; its text tells memory apart. */
    if (strcmp(why, "out of memory") == 0) {
        ld->oom = 1;
        return;
    }
    for (size_t i = 0; i < r->index; i++) {
        const struct route *o = &c->routes[i];
        if (ld->route_added[i] && strcmp(o->method, r->method) == 0 &&
            same_shape(o->tmpl, r->tmpl)) {
            config_error(ld, "duplicate route: routes[%zu] is already %s", i,
                         config_show(b, o->spec));
            return;
        }
    }
    config_error(ld, "invalid route %s: %s", config_show(b, s), why);
}

static const struct function *find_function(const struct config *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->nfunctions; i++) {
        const char *n = c->functions[i].name;
        if (n && strlen(n) == len && memcmp(n, name, len) == 0)
            return &c->functions[i];
    }
    return NULL;
}

/* "fn:alias", "fn:VERSION" or "fn:$LATEST". */
static void parse_route_target(struct config_loader *ld, const struct config_field *f, json_t *v,
                               void *obj)
{
    struct route *r = obj;
    const char *s = config_want_string(ld, v), *colon, *qual;
    char b1[CONFIG_SHOW_BUF], b2[CONFIG_SHOW_BUF];

    if (!s || !(r->target = config_strdup(ld, s)))
        return;
    colon = strchr(s, ':');
    if (!colon || colon == s || !colon[1]) {
        config_error(ld,
                     "expected \"function:alias\", \"function:VERSION\" or "
                     "\"function:$LATEST\", not %s",
                     config_show(b1, s));
        return;
    }
    r->fn = find_function(ld->c, s, (size_t)(colon - s));
    if (!r->fn) {
        config_error(ld, "unknown function %s", config_show_n(b1, s, (size_t)(colon - s)));
        return;
    }
    qual = colon + 1;
    if (version_name_ok(qual)) {
        r->version = function_version(r->fn, qual);
        if (!r->version)
            config_error(ld, "function %s has no version %s", config_show(b1, r->fn->name),
                         config_show(b2, qual));
    } else {
        r->alias = function_alias(r->fn, qual);
        if (!r->alias)
            config_error(ld, "function %s has no alias %s", config_show(b1, r->fn->name),
                         config_show(b2, qual));
    }
}

static void parse_route_authorizer(struct config_loader *ld, const struct config_field *f,
                                   json_t *v, void *obj)
{
    struct route *r = obj;
    const char *s = config_want_string(ld, v);
    char b[CONFIG_SHOW_BUF];

    if (!s)
        return;
    r->authorizer = config_authorizer(ld->c, s);
    if (!r->authorizer)
        config_error(ld, "authorizer %s does not exist", config_show(b, s));
}

/* A scope as RFC 6749 3.3 spells one: printable, no space, '"' or '\\'. */
static const char *check_scope(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '"' || *p == '\\')
            return "a scope cannot hold spaces, quotes, backslashes or control characters";
    return *s ? NULL : "a scope cannot be empty";
}

static void parse_route_scopes(struct config_loader *ld, const struct config_field *f, json_t *v,
                               void *obj)
{
    struct route *r = obj;

    config_parse_strings(ld, v, NULL, check_scope, &r->scopes, &r->nscopes);
}

static void parse_routes(struct config_loader *ld, const struct config_field *f, json_t *v,
                         void *obj)
{
    struct config *c = obj;
    size_t i, n;
    json_t *item;

    if (!json_is_array(v)) {
        config_type_error(ld, v, "an array");
        return;
    }
    n = json_array_size(v);
    c->router = router_new();
    ld->route_added = calloc(n ? n : 1, 1);
    if (n)
        c->routes = calloc(n, sizeof(*c->routes));
    if (!c->router || !ld->route_added || (n && !c->routes)) {
        ld->oom = 1;
        return;
    }
    c->nroutes = n;
    json_array_foreach(v, i, item)
    {
        size_t mark = config_path_index(ld, i);
        c->routes[i].index = i;
        config_parse_fields(ld, item, route_fields, &c->routes[i]);
        if (json_is_object(item) && json_object_get(item, "scopes") &&
            !json_object_get(item, "authorizer")) {
            size_t m2 = config_path_key(ld, "scopes");
            config_error(ld, "scopes need an authorizer");
            config_path_cut(ld, m2);
        }
        config_path_cut(ld, mark);
        if (ld->oom)
            return;
    }
}

/* ------------------------------------------------------------- lifetime */

static void function_free(struct function *fn)
{
    for (size_t i = 0; i < fn->nversions; i++) {
        struct fn_version *v = &fn->versions[i];
        free(v->name);
        free(v->http.url);
        free(v->http.host);
        free(v->http.authority);
        free(v->http.base_path);
    }
    for (size_t i = 0; i < fn->naliases; i++) {
        free(fn->aliases[i].name);
        free(fn->aliases[i].weights);
        alias_table_free(&fn->aliases[i]);
    }
    free(fn->name);
    free(fn->versions);
    free(fn->aliases);
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* jwks is the runtime's: not freed here. */
static void authorizer_free(struct authorizer *a)
{
    free(a->name);
    for (size_t i = 0; i < a->nids; i++)
        free(a->ids[i].name);
    free(a->ids);
    for (size_t i = 0; i < a->nclaims_to_headers; i++) {
        free(a->claims_to_headers[i].claim);
        free(a->claims_to_headers[i].header);
    }
    free(a->claims_to_headers);
    free(a->issuer);
    free_strings(a->audiences, a->naudiences);
    jose_keyset_unref(a->keys);
    free(a->jwks_url);
    free(a->jwks_ca_file);
}

static void redis_conf_free(struct redis_conf *r)
{
    free(r->address);
    free(r->host);
    if (r->password)
        explicit_bzero(r->password, strlen(r->password));
    free(r->password);
    free(r->prefix);
}

static void config_free(struct config *c)
{
    if (!c)
        return;
    router_free(c->router);
    for (size_t i = 0; i < c->nfunctions; i++)
        function_free(&c->functions[i]);
    free(c->functions);
    for (size_t i = 0; i < c->nroutes; i++) {
        free(c->routes[i].spec);
        free(c->routes[i].method);
        free(c->routes[i].tmpl);
        free(c->routes[i].target);
        free_strings(c->routes[i].scopes, c->routes[i].nscopes);
    }
    free(c->routes);
    for (size_t i = 0; i < c->nauthorizers; i++)
        authorizer_free(&c->authorizers[i]);
    free(c->authorizers);
    free_strings(c->claim_headers, c->nclaim_headers);
    redis_conf_free(&c->redis);
    for (size_t i = 0; i < c->nlisten; i++)
        free(c->listen[i].address);
    free(c->listen);
    free(c->log.access);
    free(c->log.error);
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

const struct function *config_function(const struct config *c, const char *name)
{
    return find_function(c, name, strlen(name));
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
