/* config_auth.c - the config's authorizers (identity, claims, keys, JWKS) and its redis section. */
#include "config_parse.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "base64.h"
#include "jose.h"
#include "selector.h"
#include "util.h"

#define CONFIG_MAX_SECRET_FILE_BYTES (64u << 10)
#define CONFIG_MAX_JWKS_FILE_BYTES (1u << 20)
#define CONFIG_MAX_REDIS_PREFIX 64

static config_parse_fn parse_identity_sources, parse_claims_to_headers, parse_audiences, parse_keys,
    parse_key_algorithms, parse_jwks_file, parse_jwks_url, parse_jwks_ca_file, parse_redis_address,
    parse_redis_password, parse_authorizer_target, parse_authorizer_lua_file;
static const char *check_nonempty(const char *s);
static const char *check_env_name(const char *s);
static const char *check_redis_prefix(const char *s);

/* ------------------------------------------------------------ the tables */

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

/* The first four keys of every authorizer kind's table. */
#define AUTHORIZER_COMMON_FIELDS                                                                   \
    F_CUSTOM("type", 0, config_parse_checked_elsewhere),                                           \
        F_CUSTOM_DEF("identity_source", parse_identity_sources,                                    \
                     "[\"$request.header.Authorization\"]"),                                       \
        F_U32("cache_ttl_s", struct authorizer, cache_ttl_s, 0, 3600, 300),                        \
        F_CUSTOM("claims_to_headers", 0, parse_claims_to_headers)

/* A jwt authorizer. */
static const struct config_field jwt_authorizer_fields[] = {
    AUTHORIZER_COMMON_FIELDS,
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

static const char *const event_kinds[] = { "token", "request", NULL };
static const char *const authorizer_payloads[] = { "1.0", "2.0", NULL };

/* The event a function or Lua authorizer gets: which kind, which payload
 * version. */
#define AUTHORIZER_EVENT_FIELDS                                                                    \
    F_ENUM("event", struct authorizer, request_event, event_kinds, 0),                             \
        F_ENUM("payload", struct authorizer, payload_v2, authorizer_payloads, 0)

/* A function authorizer: a function (any handler kind) gets a Lambda
 * authorizer event and answers with a policy or {"isAuthorized": ...}. */
static const struct config_field function_authorizer_fields[] = {
    AUTHORIZER_COMMON_FIELDS,
    F_CUSTOM("target", FIELD_REQUIRED, parse_authorizer_target),
    AUTHORIZER_EVENT_FIELDS,
    F_END,
};

/* A Lua authorizer: the file's handler gets the same events as a function
 * authorizer and answers the same way, run in a sandbox on the worker. */
static const struct config_field lua_authorizer_fields[] = {
    AUTHORIZER_COMMON_FIELDS,
    AUTHORIZER_EVENT_FIELDS,
    F_STR("handler", struct authorizer, lua.handler, "handler", config_check_lua_name),
    F_U32("timeout_ms", struct authorizer, timeout_ms, 1, 30000, 1000),
    F_U32("memory_mb", struct authorizer, memory_mb, 1, 1024, 64),
    /* last: the key of its states covers the handler name */
    F_CUSTOM("file", FIELD_REQUIRED, parse_authorizer_lua_file),
    F_END,
};

static const struct config_kind authorizer_kinds[] = {
    { .name = "jwt", .kind = AUTHORIZER_JWT, .fields = jwt_authorizer_fields },
    { .name = "function", .kind = AUTHORIZER_FUNCTION, .fields = function_authorizer_fields },
    { .name = "lua", .kind = AUTHORIZER_LUA, .fields = lua_authorizer_fields },
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

/* ----------------------------------------------------------- authorizers */

/* An identity source is a selector of one of the request kinds; the
 * selector module checks its name. */
static void parse_identity_sources(struct config_loader *ld, const struct config_field *f,
                                   json_t *v, void *obj)
{
    struct authorizer *a = obj;
    size_t i;
    json_t *item;

    if (!config_want_array(ld, v, "identity source"))
        return;
    a->ids = calloc(json_array_size(v), sizeof(*a->ids));
    if (!a->ids) {
        ld->oom = 1;
        return;
    }
    json_array_foreach(v, i, item)
    {
        size_t mark = config_path_index(ld, i);
        const char *s = config_want_string(ld, item);
        struct selector *id = &a->ids[a->nids];
        enum selector_kind kind;
        struct slice name;
        char b[CONFIG_SHOW_BUF], why[256];
        int ok =
            s && selector_parse(s, SELECTOR_REQUEST_KINDS, &kind, &name, why, sizeof(why)) == 0;

        if (s && !ok)
            config_error(ld,
                         "invalid identity source %s: expected \"$request.header.NAME\", "
                         "\"$request.querystring.NAME\" or \"$request.cookie.NAME\"",
                         config_show(b, s));
        if (ok && selector_init(id, kind, name) < 0)
            ld->oom = 1;
        else if (ok) {
            for (size_t k = 0; k < a->nids; k++)
                if (selector_same(&a->ids[k], id)) {
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

    size_t cap;

    /* filled one by one below: nclaims_to_headers counts what was kept */
    a->claims_to_headers = config_object_array(ld, v, sizeof(*a->claims_to_headers), &cap);
    if (!a->claims_to_headers)
        return;
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

    if (!config_want_array(ld, v, "algorithm"))
        return;
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
    unsigned char *buf = malloc(len + 1); /* raw, hex and base64url all fit */
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
        n = base64_decode(BASE64_URL, in, len, buf);
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

    if (!config_want_array(ld, v, "key"))
        return;
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
                    if (c->authorizers[k].ids[m].kind == SELECTOR_HEADER &&
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

/* One of "authorizers": its "type" says which table reads the rest; a
 * jwt one needs somewhere to get keys from. */
static void parse_authorizer(struct config_loader *ld, json_t *v, void *elem, size_t i, void *arg)
{
    struct authorizer *a = elem;
    const struct config_kind *kind;

    a->id = (uint32_t)i;
    kind = config_pick_kind(ld, v, authorizer_kinds, "authorizer");
    if (kind) {
        a->type = (enum authorizer_type)kind->kind;
        if (a->type == AUTHORIZER_JWT && !(a->keys = jose_keyset_new()))
            ld->oom = 1;
        else
            config_parse_fields(ld, v, kind->fields, a);
    }
    if (kind && a->type == AUTHORIZER_JWT && !ld->oom) {
        if (!json_object_get(v, "keys") && !json_object_get(v, "jwks_file") &&
            !json_object_get(v, "jwks_url"))
            config_error(ld, "a jwt authorizer needs keys, jwks_file or jwks_url");
        if (json_object_get(v, "jwks_ca_file") && !json_object_get(v, "jwks_url")) {
            size_t m2 = config_path_key(ld, "jwks_ca_file");
            config_error(ld, "jwks_ca_file is only used with jwks_url");
            config_path_cut(ld, m2);
        }
    }
}

static const struct config_named authorizer_walk =
    CONFIG_NAMED(struct authorizer, "authorizer", config_name_any, NULL, parse_authorizer);

void config_parse_authorizers(struct config_loader *ld, const struct config_field *f, json_t *v,
                              void *obj)
{
    struct config *c = obj;

    /* ids index the workers' cache-flush bitmap (worker.h) */
    if (json_is_object(v) && json_object_size(v) > CONFIG_MAX_AUTHORIZERS) {
        config_error(ld, "at most %d authorizers", CONFIG_MAX_AUTHORIZERS);
        return;
    }
    c->authorizers = config_object_array(ld, v, sizeof(*c->authorizers), &c->nauthorizers);
    if (config_parse_named(ld, v, c->authorizers, &authorizer_walk, NULL) == 0)
        collect_claim_headers(ld, c);
}

/* ---------------------------------------------------- function authorizers */

/* "fn:alias" or "fn:VERSION": functions are parsed already. */
static void parse_authorizer_target(struct config_loader *ld, const struct config_field *f,
                                    json_t *v, void *obj)
{
    struct authorizer *a = obj;
    const char *s = config_want_string(ld, v), *colon;
    char b[CONFIG_SHOW_BUF];

    if (!s || !(a->target = config_strdup(ld, s)))
        return;
    colon = strchr(s, ':');
    for (size_t i = 0; colon && i < ld->c->nfunctions; i++) {
        const struct function *fn = &ld->c->functions[i];
        if (strlen(fn->name) != (size_t)(colon - s) || strncmp(fn->name, s, (size_t)(colon - s)))
            continue;
        a->target_fn = fn;
        a->target_version = function_version(fn, colon + 1);
        a->target_alias = a->target_version ? NULL : function_alias(fn, colon + 1);
    }
    if (!colon)
        config_error(ld, "expected \"function:alias\" or \"function:VERSION\", not %s",
                     config_show(b, s));
    else if (!a->target_fn)
        config_error(ld, "unknown function in %s", config_show(b, s));
    else if (!a->target_version && !a->target_alias)
        config_error(ld, "function %s has no version or alias %s", a->target_fn->name,
                     config_show(b, colon + 1));
}

static void parse_authorizer_lua_file(struct config_loader *ld, const struct config_field *f,
                                      json_t *v, void *obj)
{
    struct authorizer *a = obj;

    config_lua_file(ld, v, &a->lua, a->name);
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

void config_parse_redis(struct config_loader *ld, const struct config_field *f, json_t *v,
                        void *obj)
{
    struct config *c = obj;

    if (config_parse_fields(ld, v, redis_fields, &c->redis) == 0)
        c->redis.enabled = 1;
}

/* ------------------------------------------------------------- lifetime */

/* jwks is the runtime's: not freed here. */
static void authorizer_free(struct authorizer *a)
{
    free(a->name);
    for (size_t i = 0; i < a->nids; i++)
        selector_clear(&a->ids[i]);
    free(a->ids);
    for (size_t i = 0; i < a->nclaims_to_headers; i++) {
        free(a->claims_to_headers[i].claim);
        free(a->claims_to_headers[i].header);
    }
    free(a->claims_to_headers);
    free(a->issuer);
    free(a->target);
    free(a->lua.file);
    free(a->lua.handler);
    free(a->lua.source);
    config_free_strings(a->audiences, a->naudiences);
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

void config_auth_free(struct config *c)
{
    for (size_t i = 0; i < c->nauthorizers; i++)
        authorizer_free(&c->authorizers[i]);
    free(c->authorizers);
    config_free_strings(c->claim_headers, c->nclaim_headers);
    redis_conf_free(&c->redis);
}
