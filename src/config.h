/* config.h - the gateway's configuration: a JSON file (see conf/ and
 * INTERFACE) loaded, checked whole and turned into an immutable snapshot.
 * A snapshot is shared by reference count between the main thread and the
 * workers; nothing in it changes after config_load() returns it. */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "selector.h"

struct router;
struct function;
struct jose_keyset;
struct jwks_source;
struct metrics_series;
struct throttle_bucket;

enum handler_kind {
    HANDLER_HTTP = 0,
    HANDLER_INVOKE, /* a function behind the Lambda Invoke API (handler_invoke.c) */
    HANDLER_LUA,    /* a Lua file run in process (handler_lua.c) */
};

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Defaults, also used by tests. */
#define CONFIG_DEFAULT_MAX_HEADER_BYTES 16384u
#define CONFIG_DEFAULT_MAX_URI_BYTES 8192u
#define CONFIG_DEFAULT_MAX_BODY_BYTES 10485760ull
#define CONFIG_DEFAULT_HEADER_TIMEOUT_MS 10000u
#define CONFIG_DEFAULT_BODY_TIMEOUT_MS 30000u
#define CONFIG_DEFAULT_IDLE_TIMEOUT_MS 60000u
#define CONFIG_DEFAULT_MAX_CONNECTIONS 10000u
/* No per-address cap unless asked for: behind a load balancer or a NAT,
 * every client shares one address. */
#define CONFIG_DEFAULT_MAX_CONNECTIONS_PER_IP 0u
#define CONFIG_DEFAULT_CONNECT_TIMEOUT_MS 2000u
#define CONFIG_DEFAULT_BREAKER_FAILURES 5u
#define CONFIG_DEFAULT_BREAKER_COOLDOWN_MS 5000u
#define CONFIG_DEFAULT_SHUTDOWN_TIMEOUT_MS 10000u
#define CONFIG_DEFAULT_TIMEOUT_MS 30000u
#define CONFIG_DEFAULT_MEMORY_MB 128u
#define CONFIG_MAX_AUTHORIZERS 256

/* Where an http handler sends requests. The address is resolved when the
 * config is loaded, so a name that does not resolve is a config error. */
struct http_target {
    char *url;       /* as written */
    char *host;      /* host name or address, without brackets */
    char *authority; /* "host:port" as sent in Host (port omitted when 80) */
    char *base_path; /* path of the url without a trailing '/', "" for none */
    uint16_t port;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int tls;                    /* an https url */
    char *ca_file;              /* https: the only CA accepted; NULL: the system store */
    struct ssl_ctx_st *tls_ctx; /* https: one reference (tls.h), else NULL */
    uint32_t connect_timeout_ms; /* a connect taking longer gets 504 */
    /* Circuit breaker on the upstream address (breaker.c): failures = 0
     * turns it off. */
    struct http_breaker_conf {
        uint32_t failures;    /* consecutive failures that open it */
        uint32_t cooldown_ms; /* how long it stays open before a probe */
    } breaker;
};

/* Where an invoke handler sends invocations: a Lambda Invoke API endpoint
 * (an emulator: the Runtime Interface Emulator, sam local start-lambda,
 * serverless-offline, LocalStack) and the function's name there. The
 * address is resolved when the config is loaded, as for http targets. */
struct invoke_target {
    char *endpoint;      /* as written */
    char *function_name; /* "name" or "name:qualifier" */
    char *authority;     /* "host:port" as sent in Host (port omitted when 80) */
    /* the request path: the endpoint's path, then
     * "/2015-03-31/functions/NAME/invocations" */
    char *path;
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

/* A Lua function: the file's text as it was when the config was loaded
 * (and compiled then), so every state of a snapshot runs the code that was
 * checked, whatever happens to the file later. */
struct lua_target {
    char *file;        /* as written */
    char *handler;     /* the function called, default "handler" */
    char *source;      /* the file's text; source_len bytes (NUL-terminated) */
    size_t source_len;
    /* SHA-256 of the function and version names, file, handler name and
     * source: a worker's warm states are kept under it, so a reload that
     * keeps all of them keeps its warm states, and any change starts anew */
    unsigned char key[32];
    uint32_t warm_states; /* idle states kept per worker (default 4) */
    uint32_t idle_s;      /* an idle state is dropped after this (default 300) */
};

struct fncall_limit;

/* A token bucket ("throttle": {"rate_per_s", "burst"}) on a route, an
 * alias or a usage plan (throttle.h). enabled: the object was present. */
struct throttle_conf {
    int enabled;
    uint32_t rate_per_s; /* tokens added a second, >= 1 */
    uint32_t burst;      /* capacity: requests allowed at once, >= 1 */
};

/* One version of a function: how to run it. Immutable. */
struct fn_version {
    char *name; /* "1", "2", "$LATEST" */
    const struct function *fn;
    enum handler_kind kind;
    struct http_target http; /* kind == HANDLER_HTTP */
    struct invoke_target invoke; /* kind == HANDLER_INVOKE */
    struct lua_target lua;       /* kind == HANDLER_LUA */
    uint32_t timeout_ms;
    uint32_t memory_mb;
    uint32_t max_concurrency; /* 0 = unlimited */
    /* Set by fncall_attach() before workers see the snapshot, not by
     * config_load: the process-wide slot count of this function version
     * (fncall.c's, outliving reloads). NULL when max_concurrency is 0 or
     * nothing was attached (the version is then unlimited). */
    struct fncall_limit *limit;
};

struct alias_weight {
    const struct fn_version *version;
    double weight;
};

/* Limits on an alias's pins: each costs a little on every request. */
#define ALIAS_MAX_PINS 64
#define ALIAS_MAX_PIN_CONDS 8
#define ALIAS_MAX_PIN_VALUES 64

/* One value a pin condition accepts. For $request.ip it is also read as
 * an address range ("10.0.0.0/8"; one address is a full prefix). */
struct pin_value {
    char *text;
    size_t len;
    struct selector_range range; /* the selector is $request.ip */
};

/* One entry of a pin's "when": the selector's value is one of values[]. */
struct pin_cond {
    struct selector sel;
    size_t nvalues;
    struct pin_value *values;
};

/* A pin: when every condition holds, the request goes to version. */
struct alias_pin {
    const struct fn_version *version;
    size_t nconds;
    struct pin_cond *conds;
};

/* A named pointer to a primary version with optional weighted extras,
 * pins and stickiness. pick_* is the precomputed table alias_pick() walks
 * and sticky_seed the start of the sticky hash (see alias.h). */
struct alias {
    char *name;
    const struct function *fn;
    const struct fn_version *primary;
    size_t nweights;
    struct alias_weight *weights; /* extra versions, config order */
    size_t npins;
    struct alias_pin *pins;    /* checked first, in config order */
    int sticky;                /* sticky_by is set */
    struct selector sticky_by; /* when sticky */
    size_t npick;
    const struct fn_version **pick_version; /* npick entries; last is the primary */
    uint64_t *pick_upto; /* cumulative thresholds in [0, 2^64): pick i when r < pick_upto[i] */
    uint64_t sticky_seed; /* hash state after the function and alias names */
    struct throttle_conf throttle;
    /* Set by throttle_attach() before workers see the snapshot (as
     * series are by metrics_attach): the process-wide bucket, NULL when
     * not throttled or not attached. */
    struct throttle_bucket *bucket;
};

struct function {
    char *name;
    uint32_t timeout_ms, memory_mb, max_concurrency; /* defaults for versions */
    size_t nversions;
    struct fn_version *versions;
    size_t naliases;
    struct alias *aliases;
};

enum authorizer_type {
    AUTHORIZER_JWT = 0,
    AUTHORIZER_FUNCTION, /* a function invoked as a Lambda authorizer */
    AUTHORIZER_LUA,      /* a Lua file's handler, same events and answers */
};

struct claim_header {
    char *claim;  /* claim name in the token */
    char *header; /* request header sent upstream, lower-case */
};

struct authorizer {
    char *name;
    uint32_t id; /* index in config.authorizers; tags cache entries */
    enum authorizer_type type;
    /* Where it finds the caller's identity, at least one: selectors of the
     * request kinds only (SELECTOR_HEADER, SELECTOR_QUERY, SELECTOR_COOKIE). */
    struct selector *ids;
    size_t nids;
    uint32_t cache_ttl_s;        /* 0 = no caching; at most 3600 */
    struct claim_header *claims_to_headers;
    size_t nclaims_to_headers;
    /* jwt */
    char *issuer;              /* NULL: not checked */
    char **audiences;          /* naudiences entries */
    size_t naudiences;
    uint32_t clock_skew_s;     /* at most 600 */
    struct jose_keyset *keys;   /* from "keys" and "jwks_file"; may be empty */
    char *jwks_url;            /* NULL when none */
    char *jwks_ca_file;        /* CA bundle for an https jwks_url; NULL: the system store */
    uint32_t jwks_refresh_s;
    struct jwks_source *jwks;  /* set by the runtime (main.c), not by config_load */
    /* function and lua: what the authorizer gets and who answers */
    int request_event;         /* "event": "request" (else a TOKEN event) */
    int payload_v2;            /* REQUEST events as payload 2.0 (default 1.0) */
    char *target;              /* function: "fn:alias" or "fn:VERSION" as written */
    const struct function *target_fn;
    const struct alias *target_alias;     /* or */
    const struct fn_version *target_version;
    /* lua: the file's handler(event, context) answers, in a sandbox */
    struct lua_target lua;
    uint32_t timeout_ms; /* lua: for one call (default 1000) */
    uint32_t memory_mb;  /* lua: the state's cap (default 64) */
};

struct redis_conf {
    int enabled;   /* the "redis" object was present */
    char *address; /* as written */
    char *host;
    uint16_t port;
    char *password; /* from password_env, NULL when none */
    unsigned db;
    char *prefix;   /* default "sluice:" */
    uint32_t timeout_ms;
};

/* The API Gateway event format a route's invoke and lua handlers get
 * ("payload": "1.0" or "2.0"; default 2.0). The values are the index in
 * config.c's list of names, which the config walker stores. */
enum payload_version { PAYLOAD_V2 = 0, PAYLOAD_V1 = 1 };

/* A usage plan ("usage_plans": {NAME: {...}}): requests that carry one
 * of its API keys (x-api-key) on a route with usage_plan_required get
 * its limits, per key. Keys are secrets: read from api_keys_file or the
 * environment variable api_keys_env, never logged. */
struct usage_plan {
    char *name;
    struct throttle_conf throttle; /* rate_per_s and burst (enabled when rate_per_s is set) */
    uint64_t daily_quota;          /* requests per key per UTC day; 0 = none */
    char *api_keys_file;           /* as written, or NULL */
    char *api_keys_env;            /* as written, or NULL */
    size_t nkeys;
    char **keys;                   /* wiped when the config is freed */
    /* Set by throttle_attach(): nkeys buckets, [i] for keys[i]; NULL when
     * not attached. The array is the snapshot's, the buckets the
     * registry's. */
    struct throttle_bucket **buckets;
};

struct route {
    char *spec;   /* "GET /orders/{id}" as written */
    char *method; /* "GET", "ANY" */
    char *tmpl;   /* "/orders/{id}" */
    char *target; /* "orders:live" as written */
    const struct function *fn;
    const struct alias *alias;     /* when the target names an alias, else NULL */
    const struct fn_version *version; /* when the target names a version, else NULL */
    uint32_t timeout_ms;           /* 0 = the version's */
    size_t index;                  /* position in routes[] */
    const struct authorizer *authorizer; /* NULL: no authorization */
    char **scopes;                 /* every one required (needs an authorizer) */
    size_t nscopes;
    enum payload_version payload;  /* event format for invoke and lua handlers */
    struct throttle_conf throttle;
    int usage_plan_required;       /* a known x-api-key is needed (else 403) */
    struct throttle_bucket *bucket; /* set by throttle_attach(), as alias.bucket */
    /* Set by metrics_attach() before workers see the snapshot, not by
     * config_load: fn->nversions + 1 entries, [i] for fn->versions[i] and
     * the last for requests answered before a version was picked; an entry
     * may be NULL (nothing recorded). The array is the snapshot's (freed
     * with it); the series are the metrics registry's and outlive reloads.
     * NULL when metrics are not attached. */
    struct metrics_series **series;
};

struct listen_conf {
    char *address; /* as written: "127.0.0.1:8080", "[::1]:8080", "*:8080" */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    /* "tls": the server context (an SSL_CTX, tls.c; certificates chosen
     * by SNI inside), loaded with the snapshot so that a reload brings new
     * certificates to new connections. NULL: plain TCP. */
    struct ssl_ctx_st *tls;
};

struct limits_conf {
    uint32_t max_header_bytes;
    uint32_t max_uri_bytes;
    uint64_t max_body_bytes;
    uint32_t header_timeout_ms;
    uint32_t body_timeout_ms;
    uint32_t idle_timeout_ms;
    uint32_t max_connections;
    uint32_t max_connections_per_ip; /* open connections per client address; 0: no cap */
    uint32_t shutdown_timeout_ms;
};

/* The admin API's listener (admin.c). */
struct admin_conf {
    int enabled;   /* the "admin" object was present */
    char *address; /* as written */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char *token_file; /* NULL: no token asked (the address is then loopback) */
    char *token;      /* the file's content, whitespace trimmed; NULL without a file */
};

struct log_conf {
    char *access; /* path, "stdout", "stderr" or "off" */
    char *error;  /* path, "stdout" or "stderr" */
    enum log_level level;
};

struct config {
    atomic_uint refs;
    char *path; /* file it was loaded from */
    size_t nlisten;
    struct listen_conf *listen;
    unsigned workers; /* as configured; 0 = one per core */
    struct limits_conf limits;
    struct log_conf log;
    size_t nfunctions;
    struct function *functions;
    size_t nroutes;
    struct route *routes;
    struct router *router; /* route data pointers are struct route * */
    size_t nauthorizers;
    struct authorizer *authorizers;
    /* every claims_to_headers header of every authorizer, lower-case,
     * without repeats: stripped from every client request on every route */
    char **claim_headers;
    size_t nclaim_headers;
    struct redis_conf redis;
    struct admin_conf admin;
    char *state_file; /* alias and deployment state (control.c); NULL: memory only */
    size_t nusage_plans;
    struct usage_plan *usage_plans;
};

/* One problem found in a config file. */
struct config_error {
    char *file;
    int line;      /* 1-based; 0 when unknown */
    char *path;    /* JSON path, e.g. "functions.orders.aliases.live.weights.3" */
    char *message;
};

struct config_errors {
    size_t n;
    struct config_error *v;
};

/* Loads and checks the config file at path. Returns a snapshot with one
 * reference (the caller's), or NULL with every problem found appended to
 * errs (the caller frees them with config_errors_clear()). Resolves listen
 * and upstream addresses (blocking; start-up and reload only). */
struct config *config_load(const char *path, struct config_errors *errs);

/* Same, from text in memory; name is used as the file name in errors. */
struct config *config_load_string(const char *text, const char *name, struct config_errors *errs);

/* Takes another reference; returns c. Thread-safe. */
struct config *config_ref(struct config *c);

/* Drops a reference; frees the snapshot with the last. NULL is a no-op.
 * Thread-safe. */
void config_unref(struct config *c);

/* Prints each error as "FILE:LINE: PATH: MESSAGE\n" to f. */
void config_errors_print(FILE *f, const struct config_errors *errs);

/* Frees the errors and empties errs. */
void config_errors_clear(struct config_errors *errs);

/* Finds a function / version / alias by name; NULL when there is none. */
const struct function *config_function(const struct config *c, const char *name);
const struct fn_version *function_version(const struct function *fn, const char *name);
const struct alias *function_alias(const struct function *fn, const char *name);
const struct authorizer *config_authorizer(const struct config *c, const char *name);

#endif
