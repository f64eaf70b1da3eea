/* config_handler.c - the config's handlers: what runs a function's
 * version, an http upstream (url, CA file, circuit breaker), an Invoke API
 * endpoint and function name, or a Lua file read and compiled now. */
#include "config_parse.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "luabox.h"
#include "tls.h"
#include "util.h"

/* A Lua function file above this is refused: it is held in memory. */
#define CONFIG_MAX_LUA_FILE_BYTES (4u << 20)

static config_parse_fn parse_http_url, parse_http_ca_file, parse_invoke_endpoint,
    parse_invoke_function_name, parse_lua_file;

/* An http handler's circuit breaker; on by default (failures 0: off). */
static const struct config_field http_breaker_fields[] = {
    F_U32("failures", struct http_breaker_conf, failures, 0, 1000000,
          CONFIG_DEFAULT_BREAKER_FAILURES),
    F_U32("cooldown_ms", struct http_breaker_conf, cooldown_ms, 100, 3600000,
          CONFIG_DEFAULT_BREAKER_COOLDOWN_MS),
    F_END,
};

/* Fields of an http handler; they fill the struct fn_version. */
static const struct config_field http_handler_fields[] = {
    F_CUSTOM("type", 0, config_parse_checked_elsewhere),
    F_CUSTOM("url", FIELD_REQUIRED, parse_http_url),
    F_CUSTOM("ca_file", 0, parse_http_ca_file),
    F_U32("connect_timeout_ms", struct fn_version, http.connect_timeout_ms, 1, 900000,
          CONFIG_DEFAULT_CONNECT_TIMEOUT_MS),
    F_OBJ("circuit_breaker", struct fn_version, http.breaker, http_breaker_fields),
    F_END,
};

/* Fields of an invoke handler; endpoint first: the path is built from it
 * and the function name. */
static const struct config_field invoke_handler_fields[] = {
    F_CUSTOM("type", 0, config_parse_checked_elsewhere),
    F_CUSTOM("endpoint", FIELD_REQUIRED, parse_invoke_endpoint),
    F_CUSTOM("function_name", FIELD_REQUIRED, parse_invoke_function_name),
    F_END,
};

/* Fields of a lua handler; the file last: its key covers the handler name. */
static const struct config_field lua_handler_fields[] = {
    F_CUSTOM("type", 0, config_parse_checked_elsewhere),
    F_STR("handler", struct fn_version, lua.handler, "handler", config_check_lua_name),
    F_U32("warm_states", struct fn_version, lua.warm_states, 0, 1024, 4),
    F_U32("idle_s", struct fn_version, lua.idle_s, 1, 86400, 300),
    F_CUSTOM("file", FIELD_REQUIRED, parse_lua_file),
    F_END,
};

static const struct config_kind handler_kinds[] = {
    { .name = "http", .kind = HANDLER_HTTP, .fields = http_handler_fields },
    { .name = "invoke", .kind = HANDLER_INVOKE, .fields = invoke_handler_fields },
    { .name = "lua", .kind = HANDLER_LUA, .fields = lua_handler_fields },
    { .name = NULL },
};

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
    t->tls = u.tls;
    t->host = config_strdup(ld, u.host);
    t->authority = config_strdup(ld, u.authority);
    t->base_path = slice_dup((struct slice){ u.path, u.path_len });
    if (!t->base_path)
        ld->oom = 1;
}

/* An https upstream's own CA, read and checked once the url is known. */
static void parse_http_ca_file(struct config_loader *ld, const struct config_field *f, json_t *v,
                               void *obj)
{
    struct http_target *t = &((struct fn_version *)obj)->http;
    const char *s = config_want_string(ld, v);

    if (s)
        t->ca_file = config_strdup(ld, s); /* read by finish_http_handler */
}

/* After an http handler's fields: an https url gets its client context
 * now (tls.c), so that a missing or broken CA file fails the load, not
 * the first request; without a ca_file the system store is used. A
 * ca_file needs an https url. */
static void finish_http_handler(struct config_loader *ld, struct http_target *t)
{
    char why[CONFIG_MSG_MAX / 2];
    size_t mark;

    if (!t->host)
        return; /* the url was refused */
    if (!t->tls && t->ca_file) {
        mark = config_path_key(ld, "ca_file");
        config_error(ld, "a ca_file needs an https url");
        config_path_cut(ld, mark);
        return;
    }
    if (t->tls) {
        t->tls_ctx = tls_client_ctx_get(t->ca_file, why, sizeof(why));
        if (!t->tls_ctx) {
            mark = config_path_key(ld, t->ca_file ? "ca_file" : "url");
            config_error(ld, "%s", why);
            config_path_cut(ld, mark);
        }
    }
}

/* The Invoke API endpoint: "http://host[:port][/path]", resolved now. */
static void parse_invoke_endpoint(struct config_loader *ld, const struct config_field *f,
                                  json_t *v, void *obj)
{
    struct invoke_target *t = &((struct fn_version *)obj)->invoke;
    const char *s = config_want_string(ld, v);
    char why[CONFIG_MSG_MAX / 2], b[CONFIG_SHOW_BUF];
    struct addr_url u;

    if (!s || !(t->endpoint = config_strdup(ld, s)))
        return;
    if (addr_parse_http_url(s, &u, why, sizeof(why)) < 0) {
        config_error(ld, "invalid endpoint %s: %s", config_show(b, s), why);
        return;
    }
    if (u.tls) {
        config_error(ld, "invalid endpoint %s: https upstreams are not supported yet",
                     config_show(b, s));
        return;
    }
    t->addr = u.addr;
    t->addrlen = u.addrlen;
    t->authority = config_strdup(ld, u.authority);
    /* the endpoint's path for now; the function name completes it */
    t->path = slice_dup((struct slice){ u.path, u.path_len });
    if (!t->path)
        ld->oom = 1;
}

/* Why s is not a Lambda function name, or NULL: a name of letters, digits,
 * '-' and '_', then optionally ':' and a qualifier (a version number, an
 * alias or $LATEST), 170 characters at most as AWS allows for the
 * partial-ARN form. Nothing else may appear: the name goes into the
 * request path as it is, with no escaping. */
static const char *invoke_name_problem(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
    size_t len = strlen(s);

    if (len == 0 || len > 170)
        return "expected 1 to 170 characters";
    if (n == 0)
        return "expected letters, digits, '-' or '_' before any ':'";
    if (s[n] == '\0')
        return NULL;
    if (s[n] != ':')
        return "expected only letters, digits, '-', '_' and one ':' before a qualifier";
    s += n + 1;
    n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_$");
    if (n == 0 || s[n] != '\0')
        return "expected a qualifier of letters, digits, '-', '_' or '$' after ':'";
    return NULL;
}

static void parse_invoke_function_name(struct config_loader *ld, const struct config_field *f,
                                       json_t *v, void *obj)
{
    static const char pre[] = "/2015-03-31/functions/", post[] = "/invocations";
    struct invoke_target *t = &((struct fn_version *)obj)->invoke;
    const char *s = config_want_string(ld, v), *why;
    char b[CONFIG_SHOW_BUF];
    size_t blen, nlen;
    char *path;

    if (!s || !(t->function_name = config_strdup(ld, s)))
        return;
    if ((why = invoke_name_problem(s))) {
        config_error(ld, "invalid function name %s: %s", config_show(b, s), why);
        return;
    }
    if (!t->path)
        return; /* the endpoint was refused (reported there) */
    blen = strlen(t->path);
    nlen = strlen(s);
    path = malloc(blen + sizeof(pre) - 1 + nlen + sizeof(post));
    if (!path) {
        ld->oom = 1;
        return;
    }
    memcpy(path, t->path, blen);
    memcpy(path + blen, pre, sizeof(pre) - 1);
    memcpy(path + blen + sizeof(pre) - 1, s, nlen);
    memcpy(path + blen + sizeof(pre) - 1 + nlen, post, sizeof(post));
    free(t->path);
    t->path = path;
}

/* A Lua identifier: what the handler name must be to be a function's name. */
const char *config_check_lua_name(const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");

    if (n == 0 || n > CONFIG_MAX_NAME || s[n] != '\0' || (s[0] >= '0' && s[0] <= '9'))
        return "expected a Lua name: 1 to 64 letters, digits and '_', not starting with a digit";
    return NULL;
}

/* A key of warm Lua states: SHA-256 of what the states are made from
 * (names, then the file's text). Returns 0, or -1 when OpenSSL fails (out
 * of memory). */
static int lua_state_key(const char *const *parts, size_t nparts, const struct lua_target *t,
                         unsigned char out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);

    /* each part with its NUL: ("ab", "c") and ("a", "bc") differ */
    for (size_t i = 0; ok && i < nparts; i++)
        ok = EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1);
    ok = ok && EVP_DigestUpdate(ctx, t->source, t->source_len) && EVP_DigestFinal_ex(ctx, out, &n);
    EVP_MD_CTX_free(ctx);
    return ok && n == 32 ? 0 : -1;
}

int config_lua_file(struct config_loader *ld, json_t *v, struct lua_target *t, const char *owner)
{
    const char *s = config_want_string(ld, v);
    const char *parts[] = { owner, s ? s : "", t->handler ? t->handler : "" };
    char why[CONFIG_MSG_MAX / 2], b[CONFIG_SHOW_BUF];

    if (!s || !(t->file = config_strdup(ld, s)))
        return -1;
    if (!s[0]) {
        config_error(ld, "expected the path of a Lua file");
        return -1;
    }
    t->source = config_read_file(s, CONFIG_MAX_LUA_FILE_BYTES, &t->source_len, why, sizeof(why));
    if (!t->source) {
        config_error(ld, "Lua file %s: %s", config_show(b, s), why);
        return -1;
    }
    if (luabox_check(t->source, t->source_len, s, why, sizeof(why)) < 0) {
        config_error(ld, "Lua file does not compile: %s", why);
        return -1;
    }
    /* without a handler name (refused, and reported there) no key is needed */
    if (t->handler && lua_state_key(parts, 3, t, t->key) < 0) {
        ld->oom = 1;
        return -1;
    }
    return 0;
}

/* The Lua file: read now and compiled (never run), so a missing file or a
 * syntax error is a config error naming the file's line; its text is kept
 * for the states (see struct lua_target). Paths are relative to the
 * working directory, as every other file of the config. */
static void parse_lua_file(struct config_loader *ld, const struct config_field *f, json_t *v,
                           void *obj)
{
    struct fn_version *ver = obj;
    char owner[2 * CONFIG_MAX_NAME + 24];

    /* the function and version name the states: "fn\0version" as before */
    fmt_buf(owner, sizeof(owner), "%s:%s", ver->fn->name, ver->name);
    config_lua_file(ld, v, &ver->lua, owner);
}

void config_parse_handler(struct config_loader *ld, const struct config_field *f, json_t *v,
                          void *obj)
{
    struct fn_version *ver = obj;
    const struct config_kind *kind = config_pick_kind(ld, v, handler_kinds, "handler");

    if (kind) {
        ver->kind = (enum handler_kind)kind->kind;
        config_parse_fields(ld, v, kind->fields, ver);
        if (ver->kind == HANDLER_HTTP)
            finish_http_handler(ld, &ver->http);
    }
}
