/* authz.c - the authorize stage: identity, result caches, JWT verification. */
#include "authz.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alias.h"
#include "authz_cache.h"
#include "config.h"
#include "conn.h"
#include "fetch.h"
#include "jwks.h"
#include "lambda_authz.h"
#include "lambda_event.h"
#include "jose.h"
#include "log.h"
#include "luabox.h"
#include "pipeline.h"
#include "redis.h"
#include "throttle.h"
#include "request.h"
#include "selector.h"
#include "util.h"
#include "worker.h"

/* Results a worker keeps; an entry is about 100 bytes plus its claims. */
#define AUTHZ_CACHE_ENTRIES 65536
/* A refused token is remembered this long at most, so a flood of the same
 * bad token costs one verification, while a fixed clock or key is seen
 * again soon. */
#define AUTHZ_NEGATIVE_TTL_S 10
/* How long a request may wait for a JWKS refetch its unknown kid caused. */
#define AUTHZ_KEYS_WAIT_MS 3000
#define AUTHZ_MAX_TOKEN_BYTES 8192

/* Identity sources a REQUEST authorizer may list (all are hashed). */
#define AUTHZ_MAX_IDS 16
/* A function authorizer's answer is small; more is a broken function. */
#define AUTHZ_MAX_ANSWER_BYTES 65536
#define AUTHZ_ARN_MAX 2048

enum wait_kind { WAIT_NONE = 0, WAIT_REDIS, WAIT_KEYS, WAIT_FUNCTION };

struct authz_worker {
    struct event_base *base;
    struct authz_cache *cache;
    struct redis_client *redis;
    struct redis_conf redis_conf; /* what redis was made from: a private copy,
                                   * since the config it came from may be freed */
    struct request *keys_waiting; /* requests waiting for a JWKS refetch */
    struct event *keys_timer;     /* expires those waits */
    struct lua_authz_box *boxes;  /* Lua authorizers' warm states */
};

/* One Lua authorizer's warm state on a worker: calls are synchronous, so
 * one is enough. Kept under the key of what it was made from, so a reload
 * that changes nothing keeps it and a changed file gets a new one. */
struct lua_authz_box {
    unsigned char key[32];
    struct luabox *box;
    struct lua_authz_box *next;
};

static void authz_worker_redis(struct authz_worker *aw, const struct config *cfg);
static void keys_timer_cb(evutil_socket_t fd, short what, void *arg);

/* ------------------------------------------------------------ worker */

struct authz_worker *authz_worker_new(struct event_base *base, const struct config *cfg)
{
    struct authz_worker *aw = calloc(1, sizeof(*aw));

    if (!aw)
        return NULL;
    aw->base = base;
    aw->cache = authz_cache_new(AUTHZ_CACHE_ENTRIES);
    aw->keys_timer = evtimer_new(base, keys_timer_cb, aw);
    if (!aw->cache || !aw->keys_timer) {
        authz_worker_free(aw);
        return NULL;
    }
    authz_worker_redis(aw, cfg);
    return aw;
}

static void redis_conf_clear(struct redis_conf *rc)
{
    free(rc->host);
    free(rc->prefix);
    if (rc->password) {
        /* a password should not linger in freed memory */
        OPENSSL_cleanse(rc->password, strlen(rc->password));
        free(rc->password);
    }
    memset(rc, 0, sizeof(*rc));
}

/* Copies what redis_conf_same() compares. Returns 0 or -1. */
static int redis_conf_copy(struct redis_conf *dst, const struct redis_conf *src)
{
    *dst = *src;
    dst->address = NULL;
    dst->host = src->host ? strdup(src->host) : NULL;
    dst->prefix = src->prefix ? strdup(src->prefix) : NULL;
    dst->password = src->password ? strdup(src->password) : NULL;
    if ((src->host && !dst->host) || (src->prefix && !dst->prefix) ||
        (src->password && !dst->password)) {
        redis_conf_clear(dst);
        return -1;
    }
    return 0;
}

void authz_worker_free(struct authz_worker *aw)
{
    if (!aw)
        return;
    redis_client_free(aw->redis);
    redis_conf_clear(&aw->redis_conf);
    authz_cache_free(aw->cache);
    if (aw->keys_timer)
        event_free(aw->keys_timer);
    while (aw->boxes) {
        struct lua_authz_box *b = aw->boxes;
        aw->boxes = b->next;
        luabox_free(b->box);
        free(b);
    }
    free(aw);
}

static int str_same(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static int redis_conf_same(const struct redis_conf *a, const struct redis_conf *b)
{
    return a->enabled == b->enabled && a->port == b->port && a->db == b->db &&
           a->timeout_ms == b->timeout_ms && str_same(a->host, b->host) &&
           str_same(a->password, b->password) && str_same(a->prefix, b->prefix);
}

/* (Re)creates the Redis client when the settings say so. The config
 * outlives the client only while it is the worker's current one, so the
 * client copies what it needs (redis_client_new copies rc). */
static void authz_worker_redis(struct authz_worker *aw, const struct config *cfg)
{
    if (aw->redis && redis_conf_same(&aw->redis_conf, &cfg->redis))
        return;
    redis_client_free(aw->redis);
    aw->redis = NULL;
    redis_conf_clear(&aw->redis_conf);
    if (redis_conf_copy(&aw->redis_conf, &cfg->redis) < 0) {
        log_error("cannot create the Redis client: out of memory; serving without it");
        return;
    }
    if (cfg->redis.enabled) {
        aw->redis = redis_client_new(aw->base, &cfg->redis);
        if (!aw->redis)
            log_error("cannot create the Redis client: out of memory; serving without it");
    }
}

void authz_worker_reconfigure(struct authz_worker *aw, const struct config *cfg)
{
    authz_worker_redis(aw, cfg);
}

void authz_worker_flush(struct authz_worker *aw, unsigned authorizer_id)
{
    authz_cache_flush(aw->cache, authorizer_id);
}

/* ------------------------------------------------------------ identity */

static struct authz_worker *req_aw(const struct request *req);

/* A bearer token from a header value: "Bearer TOKEN" (scheme in any case)
 * or, from a header that is not Authorization, the bare token. */
static struct slice bearer_token(struct slice v, int is_authorization)
{
    if (v.len > 7 && slice_eq_nocase((struct slice){ v.ptr, 7 }, SLICE_LIT("bearer ")))
        return slice_trim((struct slice){ v.ptr + 7, v.len - 7 });
    return is_authorization ? SLICE_NULL : v;
}

/* The token of a jwt authorizer: from the first identity source present. */
static struct slice jwt_token(const struct request *req, const struct authorizer *az)
{
    for (size_t i = 0; i < az->nids; i++) {
        char buf[SELECTOR_VALUE_BUF];
        struct slice v;
        /* an empty value is no token either: try the next source */
        if (!selector_value(&az->ids[i], req, buf, &v) || v.len == 0)
            continue;
        if (az->ids[i].kind == SELECTOR_HEADER)
            v = bearer_token(v, strcmp(az->ids[i].name, "authorization") == 0);
        return v;
    }
    return SLICE_NULL;
}

/* The identity of a Lambda authorizer's caller, in vals (capacity
 * AUTHZ_MAX_IDS): for a TOKEN event the first source's value as sent (API
 * Gateway passes the whole header); for a REQUEST event every source's
 * value, all of which must be present. Returns how many, 0 when missing. */
static size_t lambda_identity(const struct request *req, const struct authorizer *az,
                              struct slice *vals, char (*bufs)[SELECTOR_VALUE_BUF])
{
    size_t n = 0;

    for (size_t i = 0; i < az->nids && n < AUTHZ_MAX_IDS; i++) {
        struct slice v;
        if (!selector_value(&az->ids[i], req, bufs[n], &v) || v.len == 0) {
            if (az->request_event)
                return 0; /* API Gateway: a missing source is a 401 */
            continue;
        }
        vals[n++] = v;
        if (!az->request_event)
            break;
    }
    return n;
}

/* The cache key: a digest of the authorizer and the identity, so neither
 * the cache nor Redis ever holds a token. It is computed on every request
 * with an authorizer, cache hits included, so the digest is fetched and
 * its context made once per thread (an implicit fetch per call costs more
 * than hashing the token). Several values are each hashed with their
 * length, so ("ab","c") and ("a","bc") differ. */
static _Thread_local EVP_MD *sha256_md;
static _Thread_local EVP_MD_CTX *sha256_ctx;

static int cache_key(const struct authorizer *az, const struct slice *vals, size_t nvals,
                     unsigned char out[32])
{
    unsigned int n = 0;

    if (!sha256_ctx) {
        sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
        sha256_ctx = EVP_MD_CTX_new();
        if (!sha256_md || !sha256_ctx) {
            authz_thread_exit();
            return -1;
        }
    }
    if (!EVP_DigestInit_ex2(sha256_ctx, sha256_md, NULL) ||
        !EVP_DigestUpdate(sha256_ctx, az->name, strlen(az->name) + 1))
        return -1;
    for (size_t i = 0; i < nvals; i++) {
        uint64_t len = vals[i].len;
        if ((nvals > 1 && !EVP_DigestUpdate(sha256_ctx, &len, sizeof(len))) ||
            !EVP_DigestUpdate(sha256_ctx, vals[i].ptr, vals[i].len))
            return -1;
    }
    if (!EVP_DigestFinal_ex(sha256_ctx, out, &n))
        return -1;
    return n == 32 ? 0 : -1;
}

void authz_thread_exit(void)
{
    EVP_MD_CTX_free(sha256_ctx);
    EVP_MD_free(sha256_md);
    sha256_ctx = NULL;
    sha256_md = NULL;
}

static void key_hex(const unsigned char key[32], char out[7 + 64 + 1])
{
    static const char hex[] = "0123456789abcdef";

    memcpy(out, "authz:", 6);
    for (int i = 0; i < 32; i++) {
        out[6 + 2 * i] = hex[key[i] >> 4];
        out[7 + 2 * i] = hex[key[i] & 15];
    }
    out[70] = '\0';
}

/* ------------------------------------------------------------ answers */

/* Sends the refusal r stands for. Ends the request. */
static void answer_refusal(struct request *req, const struct authz_result *r)
{
    const char *why = r->reason ? r->reason : "unauthorized";

    req->error = why;
    if (r->status == 401) {
        /* RFC 6750 3: no error code when no credentials came at all */
        conn_respond(req, 401, why,
                     strcmp(why, "missing token") == 0
                         ? "WWW-Authenticate: Bearer realm=\"sluice\"\r\n"
                         : "WWW-Authenticate: Bearer realm=\"sluice\", error=\"invalid_token\"\r\n");
        return;
    }
    conn_respond(req, r->status, why, NULL);
}

/* Applies a result (cached or fresh): refuses, or checks the route's
 * scopes and lets the request on. */
static enum authz_outcome apply(struct request *req, struct authz_result *r)
{
    const struct route *rt = req->route;
    char extra[512];

    req->authz_end_us = now_us();
    if (r->status != 0) {
        answer_refusal(req, r);
        return AUTHZ_ANSWERED;
    }
    if (r->policy) {
        char arn[AUTHZ_ARN_MAX];
        if (lambda_authz_method_arn(req, arn, sizeof(arn)) < 0 ||
            !lambda_authz_policy_allows(r->policy, arn)) {
            req->error = "denied by the authorizer's policy";
            conn_respond(req, 403, "denied by the authorizer's policy", NULL);
            return AUTHZ_ANSWERED;
        }
    }
    if (rt->nscopes &&
        !jose_claims_have_scopes(r->claims, (const char *const *)rt->scopes, rt->nscopes)) {
        char scopes[256] = "";
        for (size_t i = 0; i < rt->nscopes; i++) {
            if (i)
                str_append(scopes, sizeof(scopes), " ");
            str_append(scopes, sizeof(scopes), rt->scopes[i]);
        }
        fmt_buf(extra, sizeof(extra),
                "WWW-Authenticate: Bearer realm=\"sluice\", error=\"insufficient_scope\", "
                "scope=\"%s\"\r\n",
                scopes);
        req->error = "insufficient scope";
        conn_respond(req, 403, "insufficient scope", extra);
        return AUTHZ_ANSWERED;
    }
    req->auth = authz_result_ref(r);
    return AUTHZ_PASS;
}

/* ------------------------------------------------------------ verifying */

static uint64_t ttl_ms(const struct authorizer *az, const struct authz_result *r, time_t now)
{
    uint64_t ttl = az->cache_ttl_s;

    if (r->status != 0) {
        if (ttl > AUTHZ_NEGATIVE_TTL_S)
            ttl = AUTHZ_NEGATIVE_TTL_S;
        return ttl * 1000;
    }
    /* never past the token's own expiry */
    if (r->exp > 0) {
        int64_t left = r->exp - (int64_t)now;
        if (left < 0)
            left = 0;
        if ((uint64_t)left < ttl)
            ttl = (uint64_t)left;
    }
    return ttl * 1000;
}

/* Stores a fresh result locally and, when it is an allowed identity, in
 * the shared cache so other gateways skip the verification. */
static void remember(struct request *req, const struct authorizer *az, struct authz_result *r)
{
    struct authz_worker *aw = req_aw(req);
    uint64_t ttl = ttl_ms(az, r, time(NULL));

    if (az->cache_ttl_s == 0 || ttl == 0)
        return;
    authz_cache_put(aw->cache, req->authz_wait.key, az->id, r, now_ms() + ttl);
    if (r->status == 0 && aw->redis && ttl >= 1000) {
        char *enc = authz_result_encode(r);
        char key[72];
        if (enc) {
            key_hex(req->authz_wait.key, key);
            redis_setex(aw->redis, key, strlen(key), enc, strlen(enc), (unsigned)(ttl / 1000));
            free(enc);
        }
    }
}

static void keys_wait_start(struct request *req);

/* Verifies the token. Returns the outcome; may park the request until
 * new keys arrive when the token names a kid not known yet. */
static enum authz_outcome verify_jwt(struct request *req)
{
    const struct authorizer *az = req->route->authorizer;
    struct slice token = jwt_token(req, az);
    const struct jose_keyset *sets[2];
    struct jose_keyset *fetched = NULL;
    struct jose_policy pol;
    json_t *claims = NULL;
    enum jose_status st;
    struct authz_result *r;
    enum authz_outcome out;
    json_t *exp, *sub;

    if (az->jwks)
        fetched = jwks_source_keys(az->jwks);
    sets[0] = az->keys;
    sets[1] = fetched;
    memset(&pol, 0, sizeof(pol));
    pol.issuer = az->issuer;
    pol.audiences = (const char *const *)az->audiences;
    pol.naudiences = az->naudiences;
    pol.clock_skew_s = az->clock_skew_s;
    pol.max_token_bytes = AUTHZ_MAX_TOKEN_BYTES;
    st = jose_verify(sets, 2, token.ptr, token.len, &pol, time(NULL), &claims);
    jose_keyset_unref(fetched);

    /* a kid nobody knows yet may be a rotated key: refetch the JWKS once */
    if ((st == JOSE_UNKNOWN_KID || (st == JOSE_BAD_ALG && az->jwks && !fetched)) && az->jwks &&
        !req->authz_wait.keys_retried && jwks_source_request_refresh(az->jwks)) {
        keys_wait_start(req);
        return AUTHZ_WAIT;
    }
    if (st == JOSE_OK) {
        exp = json_object_get(claims, "exp");
        sub = json_object_get(claims, "sub");
        r = authz_result_new(0, NULL, json_is_string(sub) ? json_string_value(sub) : NULL, claims,
                             json_is_number(exp) ? (int64_t)json_number_value(exp) : 0);
    } else if (st == JOSE_INTERNAL) {
        r = authz_result_new(500, "authorizer failed", NULL, NULL, 0);
    } else {
        r = authz_result_new(401, jose_status_text(st), NULL, NULL, 0);
    }
    json_decref(claims);
    if (!r) {
        conn_respond(req, 500, "authorizer failed: out of memory", NULL);
        return AUTHZ_ANSWERED;
    }
    if (st != JOSE_INTERNAL)
        remember(req, az, r);
    log_debug("request %s: authorizer %s: %s", req->request_id, az->name, jose_status_text(st));
    out = apply(req, r);
    authz_result_unref(r);
    return out;
}

/* ------------------------------------------------------------ functions */

/* A function authorizer failed (its own fault, not the caller's): 500,
 * not cached, so the next request tries again. */
static void function_failed(struct request *req, const char *why)
{
    struct authz_result failed = { 1, 500, (char *)"authorizer failed", NULL, NULL, 0, NULL };

    log_warn("request %s: authorizer %s failed: %s", req->request_id, req->route->authorizer->name,
             why);
    req->authz_end_us = now_us();
    answer_refusal(req, &failed);
}

/* Makes the answer a result: allowed (with principal, context and the
 * policy to evaluate per request), 401 for a function that raised
 * "Unauthorized" (API Gateway's convention), 403 for a simple "no".
 * NULL with why when the answer is broken. */
static struct authz_result *function_result(const json_t *answer, char *why, size_t cap)
{
    struct lambda_authz_answer a;
    struct authz_result *r;
    const char *err = json_string_value(json_object_get(answer, "errorMessage"));

    if (err && !json_object_get(answer, "policyDocument") &&
        !json_object_get(answer, "isAuthorized")) {
        if (strcmp(err, "Unauthorized") == 0)
            return authz_result_new(401, "refused by the authorizer", NULL, NULL, 0);
        fmt_buf(why, cap, "the function failed: %.120s", err);
        return NULL;
    }
    if (lambda_authz_read(answer, &a, why, cap) < 0)
        return NULL;
    if (a.simple && !a.authorized)
        r = authz_result_new(403, "denied by the authorizer", a.principal, a.context, 0);
    else
        r = authz_result_new(0, NULL, a.principal, a.context, 0);
    if (r)
        r->policy = json_incref(a.policy);
    else
        fmt_buf(why, cap, "out of memory");
    lambda_authz_answer_clear(&a);
    return r;
}

/* The authorizer answered: remember what it means and apply it. */
static enum authz_outcome decided(struct request *req, const json_t *answer)
{
    const struct authorizer *az = req->route->authorizer;
    struct authz_result *r;
    enum authz_outcome out;
    char why[256];

    r = function_result(answer, why, sizeof(why));
    if (!r) {
        function_failed(req, why);
        return AUTHZ_ANSWERED;
    }
    remember(req, az, r);
    out = apply(req, r);
    authz_result_unref(r);
    return out;
}

static void function_answered(void *arg, int status, const char *body, size_t len,
                              const char *error)
{
    struct request *req = arg;
    const struct authorizer *az = req->route->authorizer;
    enum authz_outcome out;
    char why[256];
    json_t *answer;

    req->authz_wait.fetch = NULL;
    req->authz_wait.kind = WAIT_NONE;
    if (status != 200) {
        if (status)
            fmt_buf(why, sizeof(why), "%s answered %d", az->target, status);
        else
            fmt_buf(why, sizeof(why), "%s: %s", az->target, error ? error : "failed");
        function_failed(req, why);
        return;
    }
    answer = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (!answer) {
        function_failed(req, "the answer is not JSON");
        return;
    }
    out = decided(req, answer);
    json_decref(answer);
    if (out == AUTHZ_PASS)
        pipeline_authorized(req);
}

/* Where a version is invoked with an event: an http handler's url, or an
 * invoke handler's Lambda Invoke API path. -1 when the kind cannot be. */
static int function_url(const struct fn_version *v, char *url, size_t cap)
{
    switch (v->kind) {
    case HANDLER_HTTP:
        return fmt_buf(url, cap, "%s", v->http.url);
    case HANDLER_INVOKE:
        return fmt_buf(url, cap, "http://%s%s", v->invoke.authority, v->invoke.path);
    default:
        return -1;
    }
}

/* The event a Lambda (or Lua) authorizer gets for req. NULL: out of memory. */
static json_t *authorizer_event(const struct request *req, const char *arn,
                                const struct slice *vals, size_t nvals)
{
    const struct authorizer *az = req->route->authorizer;

    if (!az->request_event)
        return lambda_authz_token_event(vals[0], arn);
    return lambda_authz_request_event(lambda_event_build(req, az->payload_v2 ? PAYLOAD_V2
                                                                              : PAYLOAD_V1,
                                                         NULL, 0, lambda_event_time_ms()),
                                      az->payload_v2, arn, vals, nvals);
}

/* The worker's warm box of a Lua authorizer, made (cold) when missing.
 * NULL with why when it cannot be made (the top level failed...). */
static struct luabox *lua_box(struct authz_worker *aw, const struct authorizer *az,
                              uint64_t deadline_us, char *why, size_t cap)
{
    struct luabox_spec spec = { .source = az->lua.source, .source_len = az->lua.source_len,
                                .path = az->lua.file, .handler = az->lua.handler,
                                .memory_limit = (size_t)az->memory_mb << 20, .label = az->name };
    struct lua_authz_box *b;
    enum luabox_status st;

    for (b = aw->boxes; b; b = b->next)
        if (memcmp(b->key, az->lua.key, sizeof(b->key)) == 0)
            return b->box;
    if (!(b = calloc(1, sizeof(*b)))) {
        fmt_buf(why, cap, "out of memory");
        return NULL;
    }
    b->box = luabox_new(&spec, deadline_us, &st, why, cap);
    if (!b->box) {
        free(b);
        return NULL;
    }
    memcpy(b->key, az->lua.key, sizeof(b->key));
    b->next = aw->boxes;
    aw->boxes = b;
    log_info("authorizer %s: Lua state started (cold)", az->name);
    return b->box;
}

/* Drops a Lua authorizer's box after a failed call (its state may be
 * half-way through anything). */
static void lua_box_drop(struct authz_worker *aw, const struct authorizer *az)
{
    for (struct lua_authz_box **pp = &aw->boxes; *pp; pp = &(*pp)->next) {
        if (memcmp((*pp)->key, az->lua.key, sizeof((*pp)->key)) == 0) {
            struct lua_authz_box *b = *pp;
            *pp = b->next;
            luabox_free(b->box);
            free(b);
            return;
        }
    }
}

/* Runs a Lua authorizer now, on this worker, under its timeout. An error
 * raised as "Unauthorized" is API Gateway's 401; any other failure 500. */
static enum authz_outcome verify_lua(struct request *req, const struct slice *vals, size_t nvals)
{
    const struct authorizer *az = req->route->authorizer;
    struct authz_worker *aw = req_aw(req);
    uint64_t deadline = now_us() + (uint64_t)az->timeout_ms * 1000;
    struct luabox_call call = { .request_id = req->request_id, .function_name = az->name,
                                .function_version = "authorizer", .memory_mb = az->memory_mb,
                                .deadline_us = deadline };
    char arn[AUTHZ_ARN_MAX], why[512];
    struct luabox *box;
    enum luabox_status st;
    enum authz_outcome out;
    json_t *ev, *answer = NULL;

    if (lambda_authz_method_arn(req, arn, sizeof(arn)) < 0 ||
        !(ev = authorizer_event(req, arn, vals, nvals))) {
        function_failed(req, "out of memory building the event");
        return AUTHZ_ANSWERED;
    }
    box = lua_box(aw, az, deadline, why, sizeof(why));
    st = box ? luabox_call(box, ev, &call, &answer, why, sizeof(why)) : LUABOX_ERROR;
    json_decref(ev);
    if (st != LUABOX_OK) {
        if (box && st != LUABOX_BAD_RESULT)
            lua_box_drop(aw, az);
        if (st == LUABOX_ERROR && strstr(why, "Unauthorized")) {
            struct authz_result *r = authz_result_new(401, "refused by the authorizer", NULL,
                                                      NULL, 0);
            if (!r) {
                function_failed(req, "out of memory");
                return AUTHZ_ANSWERED;
            }
            remember(req, az, r);
            out = apply(req, r);
            authz_result_unref(r);
            return out;
        }
        function_failed(req, why);
        return AUTHZ_ANSWERED;
    }
    out = decided(req, answer);
    json_decref(answer);
    return out;
}

/* Invokes the function authorizer with the event for req. */
static enum authz_outcome verify_function(struct request *req, const struct slice *vals,
                                          size_t nvals)
{
    const struct authorizer *az = req->route->authorizer;
    const struct fn_version *v = az->target_version;
    struct fetch_opts o = { .max_body = AUTHZ_MAX_ANSWER_BYTES };
    char arn[AUTHZ_ARN_MAX], url[2048], why[256];
    enum pick_reason pr;
    json_t *ev;
    char *body;

    if (!v)
        v = alias_choose(az->target_alias, req, worker_random(req->worker), &pr);
    if (lambda_authz_method_arn(req, arn, sizeof(arn)) < 0 || function_url(v, url, sizeof(url)) < 0) {
        function_failed(req, "the target cannot be invoked as an authorizer");
        return AUTHZ_ANSWERED;
    }
    ev = authorizer_event(req, arn, vals, nvals);
    body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!body) {
        function_failed(req, "out of memory building the event");
        return AUTHZ_ANSWERED;
    }
    o.timeout_ms = v->timeout_ms;
    o.body = body;
    o.body_len = strlen(body);
    req->authz_wait.fetch =
        fetch_get(worker_base(req->worker), url, &o, function_answered, req, why, sizeof(why));
    free(body);
    if (!req->authz_wait.fetch) {
        function_failed(req, why);
        return AUTHZ_ANSWERED;
    }
    req->authz_wait.kind = WAIT_FUNCTION;
    return AUTHZ_WAIT;
}

/* Verifies a miss with the route's authorizer (the identity read again:
 * after a Redis miss it was not kept). */
static enum authz_outcome verify(struct request *req)
{
    const struct authorizer *az = req->route->authorizer;
    struct slice vals[AUTHZ_MAX_IDS];
    char bufs[AUTHZ_MAX_IDS][SELECTOR_VALUE_BUF];
    size_t n;

    if (az->type == AUTHORIZER_JWT)
        return verify_jwt(req);
    n = lambda_identity(req, az, vals, bufs);
    return az->type == AUTHORIZER_LUA ? verify_lua(req, vals, n) : verify_function(req, vals, n);
}

/* ------------------------------------------------------------ waiting */

static void wait_unlink(struct request *req)
{
    struct authz_worker *aw = req_aw(req);
    struct authz_wait *w = &req->authz_wait;

    if (w->prev)
        w->prev->authz_wait.next = w->next;
    else
        aw->keys_waiting = w->next;
    if (w->next)
        w->next->authz_wait.prev = w->prev;
    w->prev = w->next = NULL;
}

static void keys_wait_start(struct request *req)
{
    struct authz_worker *aw = req_aw(req);
    struct authz_wait *w = &req->authz_wait;
    struct timeval tv = { 0, 250 * 1000 };

    w->kind = WAIT_KEYS;
    w->keys_retried = 1;
    w->deadline_ms = now_ms() + AUTHZ_KEYS_WAIT_MS;
    w->prev = NULL;
    w->next = aw->keys_waiting;
    if (aw->keys_waiting)
        aw->keys_waiting->authz_wait.prev = req;
    aw->keys_waiting = req;
    if (!evtimer_pending(aw->keys_timer, NULL))
        evtimer_add(aw->keys_timer, &tv);
}

/* Continues a parked request: verify again (with whatever keys there are
 * now) and hand the outcome to the pipeline. */
static void resume_verify(struct request *req)
{
    req->authz_wait.kind = WAIT_NONE;
    if (verify_jwt(req) == AUTHZ_PASS)
        pipeline_authorized(req);
}

void authz_worker_keys_changed(struct authz_worker *aw)
{
    struct request *list = aw->keys_waiting;

    /* detach the list first: a request verified again may end (and free
     * itself) or, in principle, park again */
    aw->keys_waiting = NULL;
    while (list) {
        struct request *req = list;
        list = req->authz_wait.next;
        req->authz_wait.prev = req->authz_wait.next = NULL;
        resume_verify(req);
    }
}

static void keys_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct authz_worker *aw = arg;
    uint64_t now = now_ms();
    struct request *req = aw->keys_waiting, *next;
    struct timeval tv = { 0, 250 * 1000 };

    for (; req; req = next) {
        next = req->authz_wait.next;
        if (req->authz_wait.deadline_ms <= now) {
            wait_unlink(req);
            resume_verify(req);
        }
    }
    if (aw->keys_waiting)
        evtimer_add(aw->keys_timer, &tv);
}

/* The shared cache answered (or could not). */
static void redis_reply(void *arg, int found, const char *val, size_t len)
{
    struct request *req = arg;
    const struct authorizer *az = req->route->authorizer;
    struct authz_result *r = NULL;
    enum authz_outcome out;

    req->authz_wait.op = NULL;
    req->authz_wait.kind = WAIT_NONE;
    if (found == 1)
        r = authz_result_decode(val, len);
    if (!r) {
        req->auth_cache = "miss";
        if (verify(req) == AUTHZ_PASS)
            pipeline_authorized(req);
        return;
    }
    req->auth_cache = "hit";
    req->auth_source = "redis";
    {
        /* keep it locally too, for as long as it has left */
        uint64_t ttl = ttl_ms(az, r, time(NULL));
        if (ttl)
            authz_cache_put(req_aw(req)->cache, req->authz_wait.key, az->id, r, now_ms() + ttl);
    }
    out = apply(req, r);
    authz_result_unref(r);
    if (out == AUTHZ_PASS)
        pipeline_authorized(req);
}

struct redis_client *authz_worker_redis_client(struct authz_worker *aw)
{
    return aw ? aw->redis : NULL;
}

void authz_cancel(struct request *req)
{
    struct authz_wait *w = &req->authz_wait;

    /* conn.c cancels every ending request here; the throttle stage waits
     * on the same Redis client */
    throttle_cancel(req);
    if (w->kind == WAIT_REDIS && w->op)
        redis_op_cancel(w->op);
    else if (w->kind == WAIT_KEYS)
        wait_unlink(req);
    else if (w->kind == WAIT_FUNCTION)
        fetch_cancel(w->fetch);
    w->op = NULL;
    w->fetch = NULL;
    w->kind = WAIT_NONE;
}

void authz_release(struct request *req)
{
    authz_cancel(req);
    authz_result_unref(req->auth);
    req->auth = NULL;
}

/* ------------------------------------------------------------ the stage */

enum authz_outcome authz_run(struct request *req)
{
    const struct authorizer *az = req->route->authorizer;
    struct authz_worker *aw;
    struct authz_result *r;
    struct slice token, vals[AUTHZ_MAX_IDS];
    char bufs[AUTHZ_MAX_IDS][SELECTOR_VALUE_BUF];
    size_t nvals;
    enum authz_outcome out;

    if (!az) {
        req->auth_cache = "none";
        return AUTHZ_PASS;
    }
    aw = req_aw(req);
    req->authz_start_us = now_us();
    if (az->type == AUTHORIZER_JWT) {
        token = jwt_token(req, az);
        nvals = token.len ? 1 : 0;
        vals[0] = token;
    } else {
        nvals = lambda_identity(req, az, vals, bufs);
    }
    if (nvals == 0) {
        struct authz_result missing = { 1, 401, (char *)"missing token", NULL, NULL, 0, NULL };
        req->auth_cache = "none";
        answer_refusal(req, &missing);
        return AUTHZ_ANSWERED;
    }
    if (cache_key(az, vals, nvals, req->authz_wait.key) < 0) {
        conn_respond(req, 500, "authorizer failed", NULL);
        return AUTHZ_ANSWERED;
    }
    if (az->cache_ttl_s) {
        r = authz_cache_get(aw->cache, req->authz_wait.key, now_ms());
        if (r) {
            req->auth_cache = "hit";
            req->auth_source = "local";
            out = apply(req, r);
            authz_result_unref(r);
            return out;
        }
        if (aw->redis && redis_client_ready(aw->redis)) {
            char key[72];
            key_hex(req->authz_wait.key, key);
            req->authz_wait.op = redis_get(aw->redis, key, strlen(key), redis_reply, req);
            if (req->authz_wait.op) {
                req->authz_wait.kind = WAIT_REDIS;
                return AUTHZ_WAIT;
            }
        }
    }
    req->auth_cache = "miss";
    if (az->type == AUTHORIZER_FUNCTION)
        return verify_function(req, vals, nvals);
    if (az->type == AUTHORIZER_LUA)
        return verify_lua(req, vals, nvals);
    return verify_jwt(req);
}

/* ------------------------------------------------------------ claim headers */

/* 1 when every byte may stand in a header value. */
static int header_value_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

int authz_claim_headers(const struct request *req, struct evbuffer *out)
{
    const struct authorizer *az = req->route ? req->route->authorizer : NULL;
    int rc = 0;

    if (!az || !req->auth || !req->auth->claims)
        return 0;
    for (size_t i = 0; i < az->nclaims_to_headers; i++) {
        const struct claim_header *ch = &az->claims_to_headers[i];
        json_t *v = json_object_get(req->auth->claims, ch->claim);
        char *dumped = NULL;
        const char *s;
        size_t n;

        if (!v || json_is_null(v))
            continue;
        if (json_is_string(v)) {
            s = json_string_value(v);
            n = json_string_length(v);
        } else {
            dumped = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!dumped)
                return -1;
            s = dumped;
            n = strlen(dumped);
        }
        if (header_value_ok(s, n)) {
            rc |= evbuffer_add_printf(out, "%s: ", ch->header) < 0;
            rc |= evbuffer_add(out, s, n);
            rc |= evbuffer_add(out, "\r\n", 2);
        }
        free(dumped);
    }
    return rc ? -1 : 0;
}

/* ------------------------------------------------------------ plumbing */

static struct authz_worker *req_aw(const struct request *req)
{
    return worker_authz(req->worker);
}
