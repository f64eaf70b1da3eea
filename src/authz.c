/* authz.c - the authorize stage: identity, result caches, JWT verification. */
#include "authz.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authz_cache.h"
#include "config.h"
#include "conn.h"
#include "jwks.h"
#include "jose.h"
#include "log.h"
#include "pipeline.h"
#include "redis.h"
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

enum wait_kind { WAIT_NONE = 0, WAIT_REDIS, WAIT_KEYS };

struct authz_worker {
    struct event_base *base;
    struct authz_cache *cache;
    struct redis_client *redis;
    struct redis_conf redis_conf; /* what redis was made from: a private copy,
                                   * since the config it came from may be freed */
    struct request *keys_waiting; /* requests waiting for a JWKS refetch */
    struct event *keys_timer;     /* expires those waits */
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

/* The cache key: a digest of the authorizer and the identity, so neither
 * the cache nor Redis ever holds a token. It is computed on every request
 * with an authorizer, cache hits included, so the digest is fetched and
 * its context made once per thread (an implicit fetch per call costs more
 * than hashing the token). */
static _Thread_local EVP_MD *sha256_md;
static _Thread_local EVP_MD_CTX *sha256_ctx;

static int cache_key(const struct authorizer *az, struct slice token, unsigned char out[32])
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
        !EVP_DigestUpdate(sha256_ctx, az->name, strlen(az->name) + 1) ||
        !EVP_DigestUpdate(sha256_ctx, token.ptr, token.len) ||
        !EVP_DigestFinal_ex(sha256_ctx, out, &n))
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
static enum authz_outcome verify(struct request *req)
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
    if (verify(req) == AUTHZ_PASS)
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

void authz_cancel(struct request *req)
{
    struct authz_wait *w = &req->authz_wait;

    if (w->kind == WAIT_REDIS && w->op)
        redis_op_cancel(w->op);
    else if (w->kind == WAIT_KEYS)
        wait_unlink(req);
    w->op = NULL;
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
    struct slice token;
    enum authz_outcome out;

    if (!az) {
        req->auth_cache = "none";
        return AUTHZ_PASS;
    }
    aw = req_aw(req);
    req->authz_start_us = now_us();
    token = jwt_token(req, az);
    if (token.len == 0) {
        struct authz_result missing = { 1, 401, (char *)"missing token", NULL, NULL, 0 };
        req->auth_cache = "none";
        answer_refusal(req, &missing);
        return AUTHZ_ANSWERED;
    }
    if (cache_key(az, token, req->authz_wait.key) < 0) {
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
    return verify(req);
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
