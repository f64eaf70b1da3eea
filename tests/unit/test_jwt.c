/* test_jwt.c - jwt.c against vectors from jwt_vectors.py (openssl CLI, never libjwt), and more. */
#include "jose.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base64.h"
#include "unit.h"
#include "util.h"

#ifndef SLUICE_SRCDIR
#define SLUICE_SRCDIR "."
#endif

#define MAX_SETS 8
#define MAX_SCOPES 8

static const struct {
    enum jose_status st;
    const char *name;
} statuses[] = {
    { JOSE_OK, "JOSE_OK" },
    { JOSE_MALFORMED, "JOSE_MALFORMED" },
    { JOSE_TOO_LARGE, "JOSE_TOO_LARGE" },
    { JOSE_BAD_ALG, "JOSE_BAD_ALG" },
    { JOSE_UNKNOWN_KID, "JOSE_UNKNOWN_KID" },
    { JOSE_BAD_SIGNATURE, "JOSE_BAD_SIGNATURE" },
    { JOSE_NO_EXP, "JOSE_NO_EXP" },
    { JOSE_EXPIRED, "JOSE_EXPIRED" },
    { JOSE_NOT_YET_VALID, "JOSE_NOT_YET_VALID" },
    { JOSE_BAD_ISSUER, "JOSE_BAD_ISSUER" },
    { JOSE_BAD_AUDIENCE, "JOSE_BAD_AUDIENCE" },
    { JOSE_INTERNAL, "JOSE_INTERNAL" },
};
#define NSTATUSES (sizeof(statuses) / sizeof(statuses[0]))

static const char *status_name(enum jose_status st)
{
    for (size_t i = 0; i < NSTATUSES; i++)
        if (statuses[i].st == st)
            return statuses[i].name;
    return "?";
}

static int status_from_name(const char *name, enum jose_status *st)
{
    for (size_t i = 0; i < NSTATUSES; i++)
        if (name && strcmp(statuses[i].name, name) == 0) {
            *st = statuses[i].st;
            return 0;
        }
    return -1;
}

/* ---------------------------------------------------------- direct checks */

static void test_alg_names(void)
{
    static const struct {
        const char *name;
        unsigned bit;
    } algs[] = {
        { "HS256", JOSE_HS256 }, { "HS384", JOSE_HS384 }, { "HS512", JOSE_HS512 },
        { "RS256", JOSE_RS256 }, { "RS384", JOSE_RS384 }, { "RS512", JOSE_RS512 },
        { "ES256", JOSE_ES256 }, { "ES384", JOSE_ES384 }, { "ES512", JOSE_ES512 },
        { "PS256", JOSE_PS256 }, { "PS384", JOSE_PS384 }, { "PS512", JOSE_PS512 },
        { "EdDSA", JOSE_EDDSA },
    };
    static const char *const bad[] = { "none",   "None",   "NONE",   "nOnE",     "rs256",  "Rs256",
                                       "RS256 ", " RS256", "",       "HS1",      "EDDSA",  "eddsa",
                                       "ES256K", "RS",     "HS2566", "RSA-OAEP", "Ed25519" };

    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        CHECK_INT(jose_alg_from_name(algs[i].name, strlen(algs[i].name)), algs[i].bit);
        CHECK_STR(jose_alg_name(algs[i].bit), algs[i].name);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECKF(jose_alg_from_name(bad[i], strlen(bad[i])) == 0, "\"%s\"", bad[i]);
    /* The length is the name: no reading past it, no prefix match. */
    CHECK_INT(jose_alg_from_name("RS2566", 5), JOSE_RS256);
    CHECK_INT(jose_alg_from_name("RS256", 4), 0);
    CHECK_INT(jose_alg_from_name("RS256\0", 6), 0);
    CHECK_INT(jose_alg_from_name(NULL, 0), 0);
    CHECK_STR(jose_alg_name(0), "?");
    CHECK_STR(jose_alg_name(JOSE_RS256 | JOSE_RS384), "?");
    CHECK_STR(jose_alg_name(1u << 20), "?");
}

static int scopes_of(const char *claims_json, const char *s1, const char *s2)
{
    json_t *c = json_loads(claims_json, 0, NULL);
    const char *s[2] = { s1, s2 };
    int r = jose_claims_have_scopes(c, s, s2 ? 2 : s1 ? 1 : 0);

    json_decref(c);
    return r;
}

static void test_scopes(void)
{
    CHECK_INT(scopes_of("{\"scope\":\"read write\"}", "read", NULL), 1);
    CHECK_INT(scopes_of("{\"scope\":\"read write\"}", "write", "read"), 1);
    CHECK_INT(scopes_of("{\"scope\":\"read write\"}", "rea", NULL), 0);
    CHECK_INT(scopes_of("{\"scope\":\"read write\"}", "read write", NULL), 0);
    CHECK_INT(scopes_of("{\"scope\":\"read write\"}", "", NULL), 0);
    CHECK_INT(scopes_of("{\"scope\":\"\"}", "", NULL), 0);
    CHECK_INT(scopes_of("{\"scope\":\"read\"}", NULL, NULL), 1);
    CHECK_INT(scopes_of("{\"scp\":[\"a\",\"b\"]}", "b", "a"), 1);
    CHECK_INT(scopes_of("{\"scp\":[\"a\",\"b\"]}", "c", NULL), 0);
    CHECK_INT(scopes_of("{\"scp\":\"a b\"}", "b", NULL), 1);
    CHECK_INT(scopes_of("{\"scp\":{\"a\":1}}", "a", NULL), 0);
    CHECK_INT(scopes_of("{\"scope\":\"a\",\"scp\":[\"b\"]}", "a", "b"), 1);
    CHECK_INT(scopes_of("{}", "a", NULL), 0);
    CHECK_INT(jose_claims_have_scopes(NULL, NULL, 0), 1);
    {
        const char *one[] = { "a" };

        CHECK_INT(jose_claims_have_scopes(NULL, one, 1), 0);
    }
}

static void test_keysets(void)
{
    static const unsigned char secret[40] = "0123456789abcdef0123456789abcdef0123456";
    struct jose_keyset *ks = jose_keyset_new();
    char err[256];
    size_t skipped = 99;

    CHECK(ks != NULL);
    if (!ks)
        return;
    CHECK_INT(jose_keyset_count(ks), 0);
    CHECK_INT(jose_keyset_count(NULL), 0);
    CHECK(jose_keyset_ref(ks) == ks);
    jose_keyset_unref(ks); /* back to one reference */
    jose_keyset_unref(NULL);
    CHECK(jose_keyset_ref(NULL) == NULL);

    err[0] = '\0';
    CHECK_INT(jose_keyset_add_secret(ks, "s", secret, 31, JOSE_HS256, err, sizeof(err)), -1);
    CHECK(strstr(err, "too short") != NULL);
    CHECK_INT(jose_keyset_add_secret(ks, "s", secret, 32, JOSE_HS256 | JOSE_RS256, err, sizeof(err)),
              -1);
    CHECK(strstr(err, "not RS256") != NULL);
    CHECK_INT(jose_keyset_add_secret(ks, "s", secret, 32, 0, err, sizeof(err)), -1);
    CHECK_INT(jose_keyset_add_secret(ks, "s", secret, 32, JOSE_EDDSA, err, sizeof(err)), -1);
    CHECK_INT(jose_keyset_count(ks), 0);
    CHECK_INT(jose_keyset_add_secret(ks, "hs-1", secret, 32, JOSE_ALGS_HMAC, err, sizeof(err)), 0);
    CHECK_INT(jose_keyset_add_secret(ks, NULL, secret, sizeof(secret), JOSE_HS256, err, 0), 0);
    CHECK_INT(jose_keyset_count(ks), 2);
    CHECK_INT(jose_keyset_has_kid(ks, "hs-1", 4), 1);
    CHECK_INT(jose_keyset_has_kid(ks, "hs-12", 4), 1);
    CHECK_INT(jose_keyset_has_kid(ks, "hs-", 3), 0);
    CHECK_INT(jose_keyset_has_kid(ks, "", 0), 0);
    CHECK_INT(jose_keyset_has_kid(NULL, "hs-1", 4), 0);

    CHECK_INT(jose_keyset_add_jwks(ks, "{}", 2, 1, &skipped, err, sizeof(err)), -1);
    CHECK(strstr(err, "\"keys\" array") != NULL);
    CHECK_INT(jose_keyset_add_jwks(ks, "{\"keys\":[]", 10, 1, NULL, err, sizeof(err)), -1);
    CHECK(strstr(err, "not JSON") != NULL);
    CHECK_INT(jose_keyset_add_jwks(ks, "{\"keys\":[]}", 11, 1, &skipped, err, sizeof(err)), 0);
    CHECK_INT(skipped, 0);
    {
        static const char doc[] = "{\"keys\":[{\"kty\":\"foo\"},{\"kty\":\"oct\",\"k\":"
                                  "\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"}]}";

        CHECK_INT(jose_keyset_add_jwks(ks, doc, strlen(doc), 0, &skipped, err, sizeof(err)), 0);
        CHECK_INT(skipped, 2);
        CHECK_INT(jose_keyset_count(ks), 2);
        CHECK_INT(jose_keyset_add_jwks(ks, doc, strlen(doc), 1, &skipped, err, sizeof(err)), 0);
        CHECK_INT(skipped, 1);
        CHECK_INT(jose_keyset_count(ks), 3);
    }
    CHECK_INT(jose_keyset_add_pem_file(ks, "x", "/nonexistent/key.pem", JOSE_RS256, err, sizeof(err)),
              -1);
    CHECK(strstr(err, "/nonexistent/key.pem") != NULL);
    CHECK_INT(jose_keyset_count(ks), 3);
    jose_keyset_unref(ks);
}

static void test_verify_direct(void)
{
    static const unsigned char secret[32] = "0123456789abcdef0123456789abcdef";
    /* {"alg":"none"}.{} and {"alg":"HS256"}.{"exp":1} with a junk signature */
    static const char none_tok[] = "eyJhbGciOiJub25lIn0.e30.";
    static const char hs_tok[] = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.AAAA";
    struct jose_keyset *ks = jose_keyset_new();
    const struct jose_keyset *sets[3] = { NULL, ks, NULL };
    struct jose_policy pol = { 0 };
    json_t *claims = (json_t *)&pol; /* must be reset to NULL on failure */
    char *big;
    char err[128];

    CHECK(ks != NULL);
    if (!ks)
        return;
    CHECK_INT(jose_keyset_add_secret(ks, NULL, secret, 32, JOSE_HS256, err, sizeof(err)), 0);
    CHECK_INT(jose_verify(sets, 3, none_tok, strlen(none_tok), &pol, 0, &claims), JOSE_BAD_ALG);
    CHECK(claims == NULL);
    CHECK_INT(jose_verify(sets, 3, hs_tok, strlen(hs_tok), &pol, 0, NULL), JOSE_BAD_SIGNATURE);
    CHECK_INT(jose_verify(sets, 0, hs_tok, strlen(hs_tok), &pol, 0, NULL), JOSE_BAD_ALG);
    CHECK_INT(jose_verify(sets, 1, hs_tok, strlen(hs_tok), NULL, 0, NULL), JOSE_BAD_ALG);
    /* The length bounds the token: a prefix is another (broken) token. */
    CHECK_INT(jose_verify(sets, 3, hs_tok, 20, &pol, 0, NULL), JOSE_MALFORMED);
    CHECK_INT(jose_verify(sets, 3, hs_tok, 0, &pol, 0, NULL), JOSE_MALFORMED);
    CHECK_INT(jose_verify(sets, 3, "a.b.c", 5, &pol, 0, NULL), JOSE_MALFORMED);
    /* max_token_bytes 0 means the built-in cap (8192), and the cap comes
     * before anything else is looked at. */
    big = malloc(9000);
    CHECK(big != NULL);
    if (big) {
        memset(big, '.', 9000);
        CHECK_INT(jose_verify(sets, 3, big, 9000, &pol, 0, NULL), JOSE_TOO_LARGE);
        CHECK_INT(jose_verify(sets, 3, big, 8192, &pol, 0, NULL), JOSE_MALFORMED);
        pol.max_token_bytes = 100;
        CHECK_INT(jose_verify(sets, 3, big, 101, &pol, 0, NULL), JOSE_TOO_LARGE);
        free(big);
    }
    for (size_t i = 0; i < NSTATUSES; i++)
        CHECK(jose_status_text(statuses[i].st) != NULL && *jose_status_text(statuses[i].st));
    CHECK_STR(jose_status_text(JOSE_EXPIRED), "token expired");
    jose_keyset_unref(ks);
}

/* ------------------------------------------------------------- vectors */

struct named_set {
    const char *name;
    struct jose_keyset *ks;
};

struct named_policy {
    const char *name;
    struct jose_policy pol;
    const char *auds[8];
};

struct vectors {
    json_t *doc;
    time_t now;
    struct named_set sets[32];
    size_t nsets;
    struct named_policy pols[16];
    size_t npols;
};

static unsigned algs_of(const json_t *arr)
{
    size_t i;
    const json_t *a;
    unsigned algs = 0;

    json_array_foreach(arr, i, a)
    {
        unsigned bit = jose_alg_from_name(json_string_value(a), json_string_length(a));

        CHECKF(bit != 0, "unknown alg in vectors: %s", json_string_value(a));
        algs |= bit;
    }
    return algs;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
        buf[n] = '\0';
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static unsigned char *b64_bytes(const json_t *s, size_t *len)
{
    unsigned char *out = malloc(BASE64_DECODED_MAX(json_string_length(s)));
    long n = out ? base64_decode(BASE64_URL, json_string_value(s), json_string_length(s), out) : -1;

    if (n < 0) {
        free(out);
        return NULL;
    }
    *len = (size_t)n;
    return out;
}

/* Adds one key-set entry of the vectors file; returns jwt.h's status. */
static int add_entry(struct jose_keyset *ks, const json_t *e, size_t *skipped, char *err,
                     size_t errlen)
{
    const char *kid = json_string_value(json_object_get(e, "kid"));
    unsigned algs = algs_of(json_object_get(e, "algs"));
    const json_t *v;
    int rc = -1;

    if ((v = json_object_get(e, "pem")))
        return jose_keyset_add_pem_file(ks, kid, json_string_value(v), algs, err, errlen);
    if ((v = json_object_get(e, "secret"))) {
        size_t len;
        unsigned char *s = b64_bytes(v, &len);

        if (s)
            rc = jose_keyset_add_secret(ks, kid, s, len, algs, err, errlen);
        free(s);
        return rc;
    }
    if ((v = json_object_get(e, "jwks")) || (v = json_object_get(e, "jwks_text"))) {
        size_t len = json_string_length(v);
        char *text = json_object_get(e, "jwks") ? slurp(json_string_value(v), &len)
                                                : strdup(json_string_value(v));
        int allow_oct = json_is_true(json_object_get(e, "allow_oct"));

        if (text)
            rc = jose_keyset_add_jwks(ks, text, len, allow_oct, skipped, err, errlen);
        free(text);
        return rc;
    }
    fmt_buf(err, errlen, "unknown entry kind");
    return -1;
}

static int load_vectors(struct vectors *v, const char *path)
{
    json_error_t je;
    const char *name;
    json_t *val;

    memset(v, 0, sizeof(*v));
    if (!(v->doc = json_load_file(path, 0, &je))) {
        CHECKF(0, "%s: %s", path, je.text);
        return -1;
    }
    v->now = (time_t)json_integer_value(json_object_get(v->doc, "now"));
    json_object_foreach(json_object_get(v->doc, "policies"), name, val)
    {
        struct named_policy *p = &v->pols[v->npols];
        const json_t *a;
        size_t i;

        if (v->npols == sizeof(v->pols) / sizeof(v->pols[0]))
            break;
        v->npols++;
        p->name = name;
        p->pol.issuer = json_string_value(json_object_get(val, "issuer"));
        json_array_foreach(json_object_get(val, "audiences"), i, a)
        {
            if (i < 8)
                p->auds[p->pol.naudiences++] = json_string_value(a);
        }
        p->pol.audiences = p->auds;
        p->pol.clock_skew_s = (uint32_t)json_integer_value(json_object_get(val, "skew"));
        p->pol.max_token_bytes =
            (size_t)json_integer_value(json_object_get(val, "max_token_bytes"));
    }
    json_object_foreach(json_object_get(v->doc, "keysets"), name, val)
    {
        struct named_set *s = &v->sets[v->nsets];
        const json_t *e;
        size_t i;

        if (v->nsets == sizeof(v->sets) / sizeof(v->sets[0]))
            break;
        v->nsets++;
        s->name = name;
        s->ks = jose_keyset_new();
        CHECK(s->ks != NULL);
        json_array_foreach(val, i, e)
        {
            char err[256] = "";
            size_t skipped = 0, before = jose_keyset_count(s->ks);
            int rc = add_entry(s->ks, e, &skipped, err, sizeof(err));
            const json_t *added = json_object_get(e, "expect_added");

            CHECKF(rc == 0, "key set %s entry %zu: %s", name, i, err);
            if (added) {
                CHECKF(jose_keyset_count(s->ks) - before == (size_t)json_integer_value(added),
                       "key set %s: %zu keys added", name, jose_keyset_count(s->ks) - before);
                CHECKF(skipped == (size_t)json_integer_value(json_object_get(e, "expect_skipped")),
                       "key set %s: %zu skipped", name, skipped);
            }
        }
    }
    return 0;
}

static void free_vectors(struct vectors *v)
{
    for (size_t i = 0; i < v->nsets; i++)
        jose_keyset_unref(v->sets[i].ks);
    json_decref(v->doc);
}

static const struct jose_policy *find_policy(const struct vectors *v, const char *name)
{
    for (size_t i = 0; name && i < v->npols; i++)
        if (strcmp(v->pols[i].name, name) == 0)
            return &v->pols[i].pol;
    return NULL;
}

static struct jose_keyset *find_set(const struct vectors *v, const char *name)
{
    for (size_t i = 0; name && i < v->nsets; i++)
        if (strcmp(v->sets[i].name, name) == 0)
            return v->sets[i].ks;
    return NULL;
}

/* Verifies one vector; returns its status and, when OK, its claims. The
 * token is copied to a buffer of exactly its length, so a read past the
 * end is caught by AddressSanitizer. */
static enum jose_status run_one(const struct vectors *v, const json_t *vec, json_t **claims)
{
    const struct jose_keyset *sets[MAX_SETS];
    const json_t *tok = json_object_get(vec, "token"), *n;
    const struct jose_policy *pol =
        find_policy(v, json_string_value(json_object_get(vec, "policy")));
    size_t nsets = 0, i, len = json_string_length(tok);
    char *copy = malloc(len ? len : 1);
    enum jose_status st;

    json_array_foreach(json_object_get(vec, "sets"), i, n)
    {
        if (nsets < MAX_SETS)
            sets[nsets++] = find_set(v, json_string_value(n));
    }
    if (!copy || !pol) {
        free(copy);
        return JOSE_INTERNAL;
    }
    memcpy(copy, json_string_value(tok), len);
    st = jose_verify(sets, nsets, copy, len, pol, v->now, claims);
    free(copy);
    return st;
}

static void check_vectors(const struct vectors *v)
{
    const json_t *vec;
    size_t i;

    json_array_foreach(json_object_get(v->doc, "vectors"), i, vec)
    {
        const char *name = json_string_value(json_object_get(vec, "name"));
        const char *want_name = json_string_value(json_object_get(vec, "expect"));
        enum jose_status want = JOSE_INTERNAL, st;
        json_t *claims = NULL;
        const json_t *sc;
        size_t j;

        CHECKF(status_from_name(want_name, &want) == 0, "%s: expect %s", name, want_name);
        st = run_one(v, vec, &claims);
        CHECKF(st == want, "vector \"%s\": got %s, expected %s", name, status_name(st),
               status_name(want));
        CHECKF((st == JOSE_OK) == (claims != NULL), "vector \"%s\": claims", name);
        if (claims)
            CHECKF(json_is_object(claims) && json_object_get(claims, "exp"), "vector \"%s\"", name);
        json_array_foreach(json_object_get(vec, "scopes"), j, sc)
        {
            const char *want_scopes[MAX_SCOPES];
            size_t k, n = 0;
            const json_t *s;

            json_array_foreach(json_object_get(sc, "want"), k, s)
            {
                if (n < MAX_SCOPES)
                    want_scopes[n++] = json_string_value(s);
            }
            CHECKF(jose_claims_have_scopes(claims, want_scopes, n) ==
                       (int)json_integer_value(json_object_get(sc, "expect")),
                   "vector \"%s\" scopes %zu", name, j);
        }
        json_decref(claims);
    }
}

static void check_load_errors(const struct vectors *v)
{
    const json_t *e;
    size_t i;

    json_array_foreach(json_object_get(v->doc, "load_errors"), i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *want = json_string_value(json_object_get(e, "expect_error"));
        struct jose_keyset *ks = jose_keyset_new();
        char err[256] = "";
        size_t skipped = 0;
        int rc;

        CHECK(ks != NULL);
        if (!ks)
            continue;
        rc = add_entry(ks, e, &skipped, err, sizeof(err));
        CHECKF(rc == -1, "load error \"%s\": accepted", name);
        CHECKF(want && strstr(err, want), "load error \"%s\": \"%s\", expected \"%s\"", name, err,
               want ? want : "");
        CHECKF(jose_keyset_count(ks) == 0, "load error \"%s\": %zu keys left", name,
               jose_keyset_count(ks));
        jose_keyset_unref(ks);
    }
}

/* Key sets are shared by workers: every vector, on several threads at
 * once, must give what it gives on one. */
struct thread_arg {
    const struct vectors *v;
    int mismatches;
};

static void *thread_main(void *p)
{
    struct thread_arg *a = p;
    const json_t *vec;
    size_t i;

    for (int round = 0; round < 2; round++)
        json_array_foreach(json_object_get(a->v->doc, "vectors"), i, vec)
        {
            enum jose_status want = JOSE_INTERNAL;
            json_t *claims = NULL;

            status_from_name(json_string_value(json_object_get(vec, "expect")), &want);
            a->mismatches += run_one(a->v, vec, &claims) != want;
            json_decref(claims);
        }
    return NULL;
}

static void check_threads(const struct vectors *v)
{
    pthread_t t[4];
    struct thread_arg args[4];
    int started = 0;

    for (int i = 0; i < 4; i++) {
        args[i].v = v;
        args[i].mismatches = 0;
        if (pthread_create(&t[i], NULL, thread_main, &args[i]) != 0)
            break;
        started++;
    }
    CHECK_INT(started, 4);
    for (int i = 0; i < started; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(args[i].mismatches, 0);
    }
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4096];

    if (!d)
        return;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            fmt_buf(path, sizeof(path), "%s/%s", dir, de->d_name) >= 0)
            unlink(path);
    closedir(d);
    rmdir(dir);
}

/* Returns 0 when run, 77 when python3 or openssl is missing. */
static int test_vectors(void)
{
    const char *srcdir = getenv("SLUICE_SRCDIR") ? getenv("SLUICE_SRCDIR") : SLUICE_SRCDIR;
    const char *python = getenv("PYTHON3") ? getenv("PYTHON3") : "python3";
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[1024], cmd[4096], path[1100];
    struct vectors v;

    if (strchr(srcdir, '\'') || strchr(python, '\'') || strchr(tmp, '\'')) {
        CHECKF(0, "quote in a path");
        return 0;
    }
    if (fmt_buf(cmd, sizeof(cmd), "'%s' -c '' >/dev/null 2>&1 && openssl version >/dev/null 2>&1",
                python) < 0 ||
        system(cmd) != 0) {
        fprintf(stderr, "test_jwt: python3 or openssl missing, vectors skipped\n");
        return 77;
    }
    if (fmt_buf(dir, sizeof(dir), "%s/test_jwt.XXXXXX", tmp) < 0 || !mkdtemp(dir)) {
        CHECKF(0, "mkdtemp in %s", tmp);
        return 0;
    }
    if (fmt_buf(cmd, sizeof(cmd), "'%s' '%s/tests/unit/jwt_vectors.py' '%s'", python, srcdir, dir) <
            0 ||
        fmt_buf(path, sizeof(path), "%s/vectors.json", dir) < 0) {
        CHECKF(0, "paths too long");
        remove_dir(dir);
        return 0;
    }
    CHECKF(system(cmd) == 0, "%s", cmd);
    if (load_vectors(&v, path) == 0) {
        CHECK(json_array_size(json_object_get(v.doc, "vectors")) > 300);
        check_vectors(&v);
        check_load_errors(&v);
        check_threads(&v);
    }
    free_vectors(&v);
    remove_dir(dir);
    return 0;
}

/* A JWK RSA exponent must be an odd number of 3 to 32 bits: a huge one
 * (seed tests/fuzz/corpus/jwks/e_huge, a 512-bit e) makes verification
 * slow, an even one is no RSA key. The same modulus with e = 65537 loads. */
static void test_jwk_rsa_exponent(void)
{
    const char *srcdir = getenv("SLUICE_SRCDIR") ? getenv("SLUICE_SRCDIR") : SLUICE_SRCDIR;
    char path[1024], doc[8192], err[256];
    const char *es[] = { "AQAB", "AQAA", "Ag", "AQ" }; /* 65537, 65536, 2, 1 */
    int want[] = { 0, -1, -1, -1 };
    char *n0, *n1;
    size_t len;
    FILE *f;

    fmt_buf(path, sizeof(path), "%s/tests/fuzz/corpus/jwks/e_huge", srcdir);
    f = fopen(path, "rb");
    CHECKF(f != NULL, "cannot open %s", path);
    if (!f)
        return;
    len = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[len] = '\0';
    {
        struct jose_keyset *ks = jose_keyset_new();
        CHECK_INT(jose_keyset_add_jwks(ks, doc, len, 0, NULL, err, sizeof(err)), -1);
        CHECKF(strstr(err, "exponent") != NULL, "error: %s", err);
        jose_keyset_unref(ks);
    }
    /* the same key with other exponents */
    n0 = strstr(doc, "\"n\": \"");
    CHECK(n0 != NULL);
    if (!n0)
        return;
    n0 += 6;
    n1 = strchr(n0, '"');
    CHECK(n1 != NULL);
    if (!n1)
        return;
    for (size_t i = 0; i < sizeof(es) / sizeof(es[0]); i++) {
        char jwks[8192];
        struct jose_keyset *ks = jose_keyset_new();
        fmt_buf(jwks, sizeof(jwks), "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%.*s\",\"e\":\"%s\"}]}",
                (int)(n1 - n0), n0, es[i]);
        CHECKF(jose_keyset_add_jwks(ks, jwks, strlen(jwks), 0, NULL, err, sizeof(err)) == want[i],
               "e=%s: %s", es[i], err);
        jose_keyset_unref(ks);
    }
}

int main(void)
{
    int rc;

    test_alg_names();
    test_scopes();
    test_keysets();
    test_verify_direct();
    test_jwk_rsa_exponent();
    rc = test_vectors();
    if (rc == 77 && !unit_failures) {
        unit_done("test_jwt");
        return 77;
    }
    return unit_done("test_jwt");
}
