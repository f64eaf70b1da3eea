/* test_authz_cache.c - the per-worker authorizer-result cache and its JSON form. */
#include "authz_cache.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Fills key with bytes derived from n (splitmix64), like a digest would. */
static void make_key(uint8_t key[AUTHZ_KEY_BYTES], uint64_t n)
{
    for (size_t i = 0; i < AUTHZ_KEY_BYTES; i += 8) {
        uint64_t z = (n += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        memcpy(key + i, &z, 8);
    }
}

/* Returns 1 when key hits at now, dropping the reference the hit gave. */
static int hits(struct authz_cache *c, uint64_t n, uint64_t now)
{
    uint8_t key[AUTHZ_KEY_BYTES];
    struct authz_result *r;

    make_key(key, n);
    r = authz_cache_get(c, key, now);
    authz_result_unref(r);
    return r != NULL;
}

static int put(struct authz_cache *c, uint64_t n, uint32_t owner, struct authz_result *r,
               uint64_t exp)
{
    uint8_t key[AUTHZ_KEY_BYTES];

    make_key(key, n);
    return authz_cache_put(c, key, owner, r, exp);
}

static void test_result_new(void)
{
    json_t *claims = json_pack("{s:s}", "sub", "alice");
    struct authz_result *r = authz_result_new(0, NULL, "alice", claims, 42);

    CHECK(r != NULL);
    CHECK_INT(r->refs, 1);
    CHECK_INT(r->status, 0);
    CHECK(r->reason == NULL);
    CHECK_STR(r->principal, "alice");
    CHECK(r->claims == claims);
    CHECK_INT(claims->refcount, 2);
    CHECK_INT(r->exp, 42);
    CHECK(authz_result_ref(r) == r);
    CHECK_INT(r->refs, 2);
    authz_result_unref(r);
    CHECK_INT(r->refs, 1);
    authz_result_unref(r);
    CHECK_INT(claims->refcount, 1);
    json_decref(claims);

    r = authz_result_new(403, "denied", NULL, NULL, 0);
    CHECK(r != NULL);
    CHECK_STR(r->reason, "denied");
    CHECK(r->principal == NULL && r->claims == NULL);
    authz_result_unref(r);

    authz_result_unref(NULL);
    CHECK(authz_result_ref(NULL) == NULL);
}

static void test_hit_miss(void)
{
    struct authz_cache *c = authz_cache_new(10);
    struct authz_result *r = authz_result_new(0, NULL, "bob", NULL, 0), *got;
    uint8_t key[AUTHZ_KEY_BYTES];

    CHECK(c != NULL);
    CHECK_INT(authz_cache_count(c), 0);
    make_key(key, 1);
    CHECK(authz_cache_get(c, key, 0) == NULL);
    CHECK_INT(authz_cache_put(c, key, 7, r, 1000), 0);
    CHECK_INT(r->refs, 2);
    CHECK_INT(authz_cache_count(c), 1);
    got = authz_cache_get(c, key, 10);
    CHECK(got == r);
    CHECK_INT(r->refs, 3);
    authz_result_unref(got);
    CHECK(!hits(c, 2, 10));
    CHECK_INT(authz_cache_count(c), 1);
    authz_cache_free(c);
    CHECK_INT(r->refs, 1);
    authz_result_unref(r);
    authz_cache_free(NULL);
}

/* Keys alike in the bucket-choosing bytes must still be told apart, and
 * unlinking from the middle of a chain must keep the rest reachable. */
static void test_same_prefix(void)
{
    struct authz_cache *c = authz_cache_new(10);
    struct authz_result *r[3];
    uint8_t key[3][AUTHZ_KEY_BYTES];

    for (int i = 0; i < 3; i++) {
        make_key(key[i], 5);
        key[i][AUTHZ_KEY_BYTES - 1] ^= (uint8_t)(i + 1);
        r[i] = authz_result_new(0, NULL, NULL, NULL, i);
        CHECK_INT(authz_cache_put(c, key[i], 0, r[i], i == 1 ? 50 : 1000), 0);
    }
    CHECK_INT(authz_cache_count(c), 3);
    for (int i = 0; i < 3; i++) {
        struct authz_result *got = authz_cache_get(c, key[i], 10);
        CHECK(got == r[i]);
        authz_result_unref(got);
    }
    CHECK(authz_cache_get(c, key[1], 50) == NULL); /* the middle one expires */
    CHECK_INT(authz_cache_count(c), 2);
    for (int i = 0; i < 3; i += 2) {
        struct authz_result *got = authz_cache_get(c, key[i], 60);
        CHECK(got == r[i]);
        authz_result_unref(got);
    }
    authz_cache_free(c);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(r[i]->refs, 1);
        authz_result_unref(r[i]);
    }
}

static void test_expiry(void)
{
    struct authz_cache *c = authz_cache_new(10);
    struct authz_result *r = authz_result_new(401, "expired token", NULL, NULL, 0);

    CHECK_INT(put(c, 1, 0, r, 1000), 0);
    CHECK_INT(put(c, 2, 0, r, 5000), 0);
    CHECK_INT(r->refs, 3);
    CHECK(hits(c, 1, 999));
    CHECK(!hits(c, 1, 1000)); /* now == expires_ms is already expired */
    CHECK_INT(authz_cache_count(c), 1);
    CHECK_INT(r->refs, 2); /* the removed entry dropped its reference */
    CHECK(!hits(c, 1, 0)); /* gone for good, even at an earlier time */
    CHECK(!hits(c, 2, 6000));
    CHECK_INT(authz_cache_count(c), 0);
    CHECK_INT(r->refs, 1);
    authz_cache_free(c);
    authz_result_unref(r);
}

static void test_replace(void)
{
    struct authz_cache *c = authz_cache_new(10);
    struct authz_result *a = authz_result_new(403, "no", NULL, NULL, 0);
    struct authz_result *b = authz_result_new(0, NULL, "carol", NULL, 0), *got;
    uint8_t key[AUTHZ_KEY_BYTES];

    make_key(key, 9);
    CHECK_INT(authz_cache_put(c, key, 1, a, 100), 0);
    CHECK_INT(a->refs, 2);
    CHECK_INT(authz_cache_put(c, key, 2, b, 2000), 0);
    CHECK_INT(a->refs, 1); /* the old result was let go */
    CHECK_INT(b->refs, 2);
    CHECK_INT(authz_cache_count(c), 1);
    got = authz_cache_get(c, key, 500); /* the new expiry applies, too */
    CHECK(got == b);
    authz_result_unref(got);

    /* storing the same result again must not free it midway */
    CHECK_INT(authz_cache_put(c, key, 2, b, 3000), 0);
    CHECK_INT(b->refs, 2);
    CHECK_INT(authz_cache_count(c), 1);

    /* the new owner tag applies: flushing the old owner keeps it */
    authz_cache_flush(c, 1);
    CHECK_INT(authz_cache_count(c), 1);
    authz_cache_flush(c, 2);
    CHECK_INT(authz_cache_count(c), 0);
    CHECK_INT(b->refs, 1);
    authz_cache_free(c);
    authz_result_unref(a);
    authz_result_unref(b);
}

static void test_lru(void)
{
    struct authz_cache *c = authz_cache_new(3);
    struct authz_result *r[6];

    for (int i = 1; i <= 5; i++)
        r[i] = authz_result_new(0, NULL, NULL, NULL, i);
    /* recency after each step, most recent first */
    put(c, 1, 0, r[1], 1000);
    put(c, 2, 0, r[2], 1000);
    put(c, 3, 0, r[3], 1000); /* 3 2 1 */
    CHECK_INT(authz_cache_count(c), 3);
    CHECK(hits(c, 1, 0));     /* 1 3 2 */
    put(c, 4, 0, r[4], 1000); /* evicts 2: 4 1 3 */
    CHECK_INT(authz_cache_count(c), 3);
    CHECK_INT(r[2]->refs, 1);
    CHECK_INT(r[1]->refs, 2);
    CHECK_INT(r[3]->refs, 2);
    CHECK_INT(r[4]->refs, 2);
    put(c, 5, 0, r[5], 1000); /* evicts 3: 5 4 1 */
    CHECK_INT(r[3]->refs, 1);
    CHECK(!hits(c, 2, 0));
    CHECK(!hits(c, 3, 0));
    CHECK(hits(c, 1, 0));     /* 1 5 4 */
    CHECK(hits(c, 4, 0));     /* 4 1 5 */
    CHECK(hits(c, 5, 0));     /* 5 4 1 */
    put(c, 2, 0, r[2], 1000); /* evicts 1: 2 5 4 */
    CHECK_INT(r[1]->refs, 1);
    CHECK(!hits(c, 1, 0));
    CHECK(hits(c, 4, 0));
    CHECK(hits(c, 5, 0));
    CHECK(hits(c, 2, 0));
    CHECK_INT(authz_cache_count(c), 3);
    authz_cache_free(c);
    for (int i = 1; i <= 5; i++) {
        CHECK_INT(r[i]->refs, 1);
        authz_result_unref(r[i]);
    }
}

static void test_bound(void)
{
    struct authz_cache *c = authz_cache_new(100);
    struct authz_result *r = authz_result_new(0, NULL, "p", NULL, 0);
    size_t over = 0, failed = 0;

    for (uint64_t i = 0; i < 10000; i++) {
        if (put(c, i, (uint32_t)(i % 3), r, 1000) != 0)
            failed++;
        if (authz_cache_count(c) > 100)
            over++;
    }
    CHECK_INT(failed, 0);
    CHECK_INT(over, 0);
    CHECK_INT(authz_cache_count(c), 100);
    CHECK_INT(r->refs, 101);
    CHECK(!hits(c, 0, 0));
    CHECK(!hits(c, 9899, 0));
    CHECK(hits(c, 9900, 0));
    CHECK(hits(c, 9999, 0));
    authz_cache_free(c);
    CHECK_INT(r->refs, 1);
    authz_result_unref(r);

    /* a zero-sized cache stores nothing and says so without failing */
    c = authz_cache_new(0);
    r = authz_result_new(0, NULL, NULL, NULL, 0);
    CHECK(c != NULL);
    CHECK_INT(put(c, 1, 0, r, 1000), 0);
    CHECK_INT(authz_cache_count(c), 0);
    CHECK(!hits(c, 1, 0));
    CHECK_INT(r->refs, 1);
    authz_cache_free(c);
    authz_result_unref(r);
}

static void test_flush(void)
{
    struct authz_cache *c = authz_cache_new(64);
    struct authz_result *r1 = authz_result_new(0, NULL, "one", NULL, 0);
    struct authz_result *r2 = authz_result_new(0, NULL, "two", NULL, 0);
    int ok1 = 0, ok2 = 0;

    for (uint64_t i = 0; i < 40; i++)
        put(c, i, i % 2 ? 1 : 2, i % 2 ? r1 : r2, 1000);
    CHECK_INT(authz_cache_count(c), 40);
    authz_cache_flush(c, 3); /* nobody's: a no-op */
    CHECK_INT(authz_cache_count(c), 40);
    authz_cache_flush(c, 1);
    CHECK_INT(authz_cache_count(c), 20);
    CHECK_INT(r1->refs, 1);
    CHECK_INT(r2->refs, 21);
    for (uint64_t i = 0; i < 40; i++) {
        int h = hits(c, i, 0);
        if (i % 2)
            ok1 += !h;
        else
            ok2 += h;
    }
    CHECK_INT(ok1, 20);
    CHECK_INT(ok2, 20);
    /* the table stays usable after a flush */
    CHECK_INT(put(c, 1, 1, r1, 1000), 0);
    CHECK(hits(c, 1, 0));
    CHECK_INT(authz_cache_count(c), 21);
    authz_cache_free(c);
    CHECK_INT(r1->refs, 1);
    CHECK_INT(r2->refs, 1);
    authz_result_unref(r1);
    authz_result_unref(r2);
}

/* Encodes r, checks the text, decodes it and checks it encodes the same. */
static void round_trip(struct authz_result *r, const char *want)
{
    char *s = authz_result_encode(r), *s2;
    struct authz_result *d;

    CHECK_STR(s, want);
    d = s ? authz_result_decode(s, strlen(s)) : NULL;
    CHECK(d != NULL);
    if (d) {
        CHECK_INT(d->refs, 1);
        CHECK_INT(d->status, r->status);
        CHECK_INT(d->exp, r->exp);
        CHECK(r->reason ? d->reason && strcmp(d->reason, r->reason) == 0 : !d->reason);
        CHECK(r->principal ? d->principal && strcmp(d->principal, r->principal) == 0
                           : !d->principal);
        CHECK(r->claims ? json_equal(r->claims, d->claims) : !d->claims);
        s2 = authz_result_encode(d);
        CHECK_STR(s2, want);
        free(s2);
        authz_result_unref(d);
    }
    free(s);
}

static void test_encode_decode(void)
{
    json_t *claims = json_loads("{\"sub\":\"al\\\"ice\",\"aud\":[\"a\",\"b\"],"
                                "\"n\":{\"x\":[1,2.5,true,null,{}],\"u\":\"\\u00e9\"},"
                                "\"big\":9007199254740993}",
                                0, NULL);
    struct authz_result *r;

    CHECK(claims != NULL);
    r = authz_result_new(0, NULL, "al\"ice", claims, 1700000000);
    round_trip(r, "{\"s\":0,\"r\":null,\"p\":\"al\\\"ice\",\"c\":{\"sub\":\"al\\\"ice\","
                  "\"aud\":[\"a\",\"b\"],\"n\":{\"x\":[1,2.5,true,null,{}],\"u\":\"\xc3\xa9\"},"
                  "\"big\":9007199254740993},\"e\":1700000000}");
    authz_result_unref(r);
    json_decref(claims);

    r = authz_result_new(401, "bad signature", NULL, NULL, 0);
    round_trip(r, "{\"s\":401,\"r\":\"bad signature\",\"p\":null,\"c\":null,\"e\":0}");
    authz_result_unref(r);

    r = authz_result_new(403, "", "", NULL, -1);
    round_trip(r, "{\"s\":403,\"r\":\"\",\"p\":\"\",\"c\":null,\"e\":-1}");
    authz_result_unref(r);

    r = authz_result_new(500, NULL, NULL, NULL, INT64_MAX);
    round_trip(r, "{\"s\":500,\"r\":null,\"p\":null,\"c\":null,\"e\":9223372036854775807}");
    authz_result_unref(r);

    /* unknown keys are ignored, in any order */
    {
        const char *in = "{\"x\":[1],\"e\":5,\"c\":{},\"p\":null,\"r\":null,\"s\":0}";
        r = authz_result_decode(in, strlen(in));
    }
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->exp, 5);
        CHECK(json_is_object(r->claims) && json_object_size(r->claims) == 0);
        authz_result_unref(r);
    }
}

static void test_decode_rejects(void)
{
    static const char *const bad[] = {
        "",
        "not json",
        "{\"s\":0,",
        "[]",
        "1",
        "null",
        "\"s\"",
        "{}",
        /* each key missing */
        "{\"r\":null,\"p\":null,\"c\":null,\"e\":0}",
        "{\"s\":0,\"p\":null,\"c\":null,\"e\":0}",
        "{\"s\":0,\"r\":null,\"c\":null,\"e\":0}",
        "{\"s\":0,\"r\":null,\"p\":null,\"e\":0}",
        "{\"s\":0,\"r\":null,\"p\":null,\"c\":null}",
        /* bad status */
        "{\"s\":200,\"r\":null,\"p\":null,\"c\":null,\"e\":0}",
        "{\"s\":-1,\"r\":null,\"p\":null,\"c\":null,\"e\":0}",
        "{\"s\":402,\"r\":null,\"p\":null,\"c\":null,\"e\":0}",
        "{\"s\":4294967697,\"r\":null,\"p\":null,\"c\":null,\"e\":0}", /* 401 + 2^32 */
        /* wrong types */
        "{\"s\":401.0,\"r\":null,\"p\":null,\"c\":null,\"e\":0}",
        "{\"s\":\"0\",\"r\":null,\"p\":null,\"c\":null,\"e\":0}",
        "{\"s\":null,\"r\":null,\"p\":null,\"c\":null,\"e\":0}",
        "{\"s\":0,\"r\":1,\"p\":null,\"c\":null,\"e\":0}",
        "{\"s\":0,\"r\":false,\"p\":null,\"c\":null,\"e\":0}",
        "{\"s\":0,\"r\":null,\"p\":[\"x\"],\"c\":null,\"e\":0}",
        "{\"s\":0,\"r\":null,\"p\":{},\"c\":null,\"e\":0}",
        "{\"s\":0,\"r\":null,\"p\":null,\"c\":[],\"e\":0}",
        "{\"s\":0,\"r\":null,\"p\":null,\"c\":\"sub\",\"e\":0}",
        "{\"s\":0,\"r\":null,\"p\":null,\"c\":1,\"e\":0}",
        "{\"s\":0,\"r\":null,\"p\":null,\"c\":null,\"e\":\"0\"}",
        "{\"s\":0,\"r\":null,\"p\":null,\"c\":null,\"e\":1.5}",
        "{\"s\":0,\"r\":null,\"p\":null,\"c\":null,\"e\":null}",
        "{\"s\":0,\"r\":null,\"p\":null,\"c\":null,\"e\":99999999999999999999}",
        /* ambiguous or trailing */
        "{\"s\":0,\"s\":403,\"r\":null,\"p\":null,\"c\":null,\"e\":0}",
        "{\"s\":0,\"r\":null,\"p\":null,\"c\":null,\"e\":0} x",
        "{\"s\":0,\"r\":null,\"p\":null,\"c\":null,\"e\":0}{}",
        "{\"s\":0,\"r\":\"a\\u0000b\",\"p\":null,\"c\":null,\"e\":0}",
    };
    const char ok[] = "{\"s\":0,\"r\":null,\"p\":null,\"c\":null,\"e\":0}";
    size_t rejected = 0;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct authz_result *r = authz_result_decode(bad[i], strlen(bad[i]));
        CHECKF(r == NULL, "accepted %s", bad[i]);
        rejected += r == NULL;
        authz_result_unref(r);
    }
    CHECK_INT(rejected, sizeof(bad) / sizeof(bad[0]));
    CHECK(authz_result_decode(NULL, 0) == NULL);
    /* len bounds the input: a cut-off copy is malformed, a NUL past len harmless */
    CHECK(authz_result_decode(ok, sizeof(ok) - 2) == NULL);
    {
        struct authz_result *r = authz_result_decode(ok, sizeof(ok) - 1);
        CHECK(r != NULL && r->status == 0 && !r->reason && !r->principal && !r->claims);
        authz_result_unref(r);
    }
}

int main(void)
{
    test_result_new();
    test_hit_miss();
    test_same_prefix();
    test_expiry();
    test_replace();
    test_lru();
    test_bound();
    test_flush();
    test_encode_decode();
    test_decode_rejects();
    return unit_done("test_authz_cache");
}
