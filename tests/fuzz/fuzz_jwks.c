/* fuzz_jwks.c - JWKS documents (jose_keyset_add_jwks) and the keys they make.
 *
 * Input: a JWKS document (JSON). It is loaded into a fresh key set twice,
 * as from a URL (oct keys skipped) and as from a file (oct keys taken).
 * Checks: a refused document leaves the set as it was (all or nothing) with
 * a reason; an accepted one reports its skipped keys. Then the fixed tokens
 * of fuzz_tokens.h (HS256, RS256, PS256, ES256, EdDSA, signed with the keys
 * in tests/fuzz/keys/) are verified against what was loaded, so fuzzed
 * keys (odd moduli and exponents, curve points, kids, algs) are used for
 * real; a token can only verify when the set has a key with its kid, or any
 * key for a token without one. */
#include <string.h>

#include <jansson.h>

#include "base64.h"
#include "fuzz.h"
#include "fuzz_keys.h"
#include "fuzz_tokens.h"
#include "jose.h"

#define NTOKENS (sizeof(fuzz_tokens) / sizeof(fuzz_tokens[0]))

/* The "kid" of a token's header, decoded; "" when it has none. */
static void token_kid(const char *tok, char *kid, size_t cap)
{
    const char *dot = strchr(tok, '.');
    size_t hlen = (size_t)(dot - tok);
    unsigned char *h = malloc(BASE64_DECODED_MAX(hlen));
    long n;
    json_t *j;

    kid[0] = '\0';
    if (!h)
        return;
    n = base64_decode(BASE64_URL, tok, hlen, h);
    FUZZ_CHECK(n > 0);
    j = json_loadb((const char *)h, (size_t)n, 0, NULL);
    if (j && json_is_string(json_object_get(j, "kid")))
        snprintf(kid, cap, "%s", json_string_value(json_object_get(j, "kid")));
    json_decref(j);
    free(h);
}

static void load(const uint8_t *data, size_t size, int allow_oct)
{
    struct jose_keyset *ks = jose_keyset_new();
    const struct jose_policy pol = { .max_token_bytes = 0 };
    char err[256] = "", kid[64];
    size_t skipped = (size_t)-1;
    int rc;

    if (!ks)
        return;
    rc = jose_keyset_add_jwks(ks, (const char *)data, size, allow_oct, &skipped, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc < 0) {
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(jose_keyset_count(ks) == 0);
    } else {
        FUZZ_CHECK(skipped != (size_t)-1);
    }
    if (jose_keyset_count(ks) > 0) {
        const struct jose_keyset *sets[1] = { ks };
        for (size_t i = 0; i < NTOKENS; i++) {
            json_t *claims = NULL;
            enum jose_status st = jose_verify(sets, 1, fuzz_tokens[i], strlen(fuzz_tokens[i]),
                                              &pol, FUZZ_NOW, &claims);
            FUZZ_CHECK(st >= JOSE_OK && st <= JOSE_INTERNAL);
            token_kid(fuzz_tokens[i], kid, sizeof(kid));
            if (st == JOSE_OK) {
                FUZZ_CHECK(json_is_object(claims));
                FUZZ_CHECK(!kid[0] || jose_keyset_has_kid(ks, kid, strlen(kid)));
            } else {
                FUZZ_CHECK(claims == NULL);
            }
            if (kid[0] && st == JOSE_UNKNOWN_KID)
                FUZZ_CHECK(!jose_keyset_has_kid(ks, kid, strlen(kid)));
            json_decref(claims);
        }
    }
    /* a second document into the same set: added after what is there */
    if (rc == 0) {
        size_t before = jose_keyset_count(ks);
        static const char again[] = FUZZ_JWKS_JSON;
        rc = jose_keyset_add_jwks(ks, again, strlen(again), 0, NULL, err, sizeof(err));
        FUZZ_CHECK(rc == 0 && jose_keyset_count(ks) == before + 2);
    }
    jose_keyset_unref(jose_keyset_ref(ks));
    jose_keyset_unref(ks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load(data, size, 0);
    load(data, size, 1);
    return 0;
}
