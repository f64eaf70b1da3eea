/* jwk.c - JWK and JWKS documents into key sets: RSA, EC, OKP (Ed25519) and oct keys. */
#include "jose.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

#include "base64.h"
#include "jose_internal.h"
#include "util.h"

#define JWK_MEMBER_MAX 4096 /* base64url chars of one JWK number (RSA 16384 bits = 2731) */

/* Decodes the base64url member name of jwk into a new buffer. */
static unsigned char *jwk_bytes(const json_t *jwk, const char *name, size_t *len, char *why,
                                size_t cap)
{
    const json_t *v = json_object_get(jwk, name);
    unsigned char *out;
    long n;

    if (!json_is_string(v)) {
        fmt_buf(why, cap, "\"%s\" missing or not a string", name);
        return NULL;
    }
    if (json_string_length(v) > JWK_MEMBER_MAX) {
        fmt_buf(why, cap, "\"%s\" too long", name);
        return NULL;
    }
    if (!(out = malloc(BASE64_DECODED_MAX(json_string_length(v))))) {
        fmt_buf(why, cap, "out of memory");
        return NULL;
    }
    if ((n = base64_decode(BASE64_URL, json_string_value(v), json_string_length(v), out)) <= 0) {
        fmt_buf(why, cap, "\"%s\" is not base64url", name);
        free(out);
        return NULL;
    }
    *len = (size_t)n;
    return out;
}

static EVP_PKEY *pkey_fromdata(const char *type, const OSSL_PARAM *params)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;

    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, (OSSL_PARAM *)params) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static EVP_PKEY *jwk_rsa(const json_t *jwk, char *why, size_t cap)
{
    size_t nlen = 0, elen = 0;
    unsigned char *n = jwk_bytes(jwk, "n", &nlen, why, cap);
    unsigned char *e = n ? jwk_bytes(jwk, "e", &elen, why, cap) : NULL;
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;

    if (!e)
        goto out;
    if (!(bn = BN_bin2bn(n, (int)nlen, NULL)) || !(be = BN_bin2bn(e, (int)elen, NULL))) {
        fmt_buf(why, cap, "RSA key from n and e refused");
        goto out;
    }
    /* Real keys use 65537. A huge exponent (a JWKS from a URL is not ours)
     * would make every verification with the key slow; an even one or 1
     * is no RSA key at all. */
    if (BN_num_bits(be) > 32 || BN_num_bits(be) < 2 || !BN_is_odd(be)) {
        fmt_buf(why, cap, "RSA exponent \"e\" must be odd, at least 3 and at most 32 bits");
        goto out;
    }
    if (!(bld = OSSL_PARAM_BLD_new()) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) || !(pkey = pkey_fromdata("RSA", params)))
        fmt_buf(why, cap, "RSA key from n and e refused");
out:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return pkey;
}

static EVP_PKEY *jwk_ec(const json_t *jwk, const char *group, size_t size, char *why, size_t cap)
{
    size_t xlen = 0, ylen = 0;
    unsigned char *x = jwk_bytes(jwk, "x", &xlen, why, cap);
    unsigned char *y = x ? jwk_bytes(jwk, "y", &ylen, why, cap) : NULL;
    unsigned char point[1 + 2 * 66];
    EVP_PKEY *pkey = NULL;

    if (!y)
        goto out;
    /* RFC 7518 6.2.1.2: each coordinate is exactly the field size. */
    if (xlen != size || ylen != size) {
        fmt_buf(why, cap, "\"x\" and \"y\" must be %zu bytes each", size);
        goto out;
    }
    point[0] = 0x04; /* uncompressed */
    memcpy(point + 1, x, size);
    memcpy(point + 1 + size, y, size);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * size),
        OSSL_PARAM_construct_end(),
    };
    if (!(pkey = pkey_fromdata("EC", params)))
        fmt_buf(why, cap, "EC point refused (not on the curve?)");
out:
    free(x);
    free(y);
    return pkey;
}

static EVP_PKEY *jwk_ed25519(const json_t *jwk, char *why, size_t cap)
{
    size_t xlen = 0;
    unsigned char *x = jwk_bytes(jwk, "x", &xlen, why, cap);
    EVP_PKEY *pkey = NULL;

    if (!x)
        return NULL;
    if (xlen != 32)
        fmt_buf(why, cap, "an Ed25519 \"x\" is 32 bytes, not %zu", xlen);
    else if (!(pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, x, xlen)))
        fmt_buf(why, cap, "Ed25519 key refused");
    free(x);
    return pkey;
}

/* Returns 1 when the optional string member name is absent or equals want;
 * 0 when it differs; -1 when it is not a string. */
static int member_is(const json_t *jwk, const char *name, const char *want)
{
    const json_t *v = json_object_get(jwk, name);

    if (!v)
        return 1;
    if (!json_is_string(v))
        return -1;
    return strcmp(json_string_value(v), want) == 0;
}

/* Adds one JWK. Returns 1 when added, 0 when skipped (not a signature key
 * we can use), -1 with why when invalid. */
static int jwk_add(struct jose_keyset *ks, const json_t *jwk, int allow_oct, char *why, size_t cap)
{
    const json_t *kty = json_object_get(jwk, "kty"), *kid = json_object_get(jwk, "kid");
    const json_t *alg = json_object_get(jwk, "alg"), *ops = json_object_get(jwk, "key_ops");
    const char *t, *crv;
    unsigned algs = 0;
    EVP_PKEY *pkey = NULL;
    int use;

    if (!json_is_object(jwk) || !json_is_string(kty)) {
        fmt_buf(why, cap, "not an object with a string \"kty\"");
        return -1;
    }
    if ((kid && !json_is_string(kid)) || (alg && !json_is_string(alg)) ||
        (ops && !json_is_array(ops)) || (use = member_is(jwk, "use", "sig")) < 0) {
        fmt_buf(why, cap, "\"kid\", \"alg\", \"use\" or \"key_ops\" of the wrong type");
        return -1;
    }
    if (!use) /* an encryption key */
        return 0;
    if (ops) {
        size_t i;
        const json_t *op;
        int verify = 0;

        json_array_foreach(ops, i, op)
        {
            verify |= json_is_string(op) && strcmp(json_string_value(op), "verify") == 0;
        }
        if (!verify)
            return 0;
    }
    /* An unknown "alg" (RSA-OAEP, ES256K, none...) is not one we verify. */
    if (alg && !(algs = jose_alg_from_name(json_string_value(alg), json_string_length(alg))))
        return 0;

    t = json_string_value(kty);
    crv = json_string_value(json_object_get(jwk, "crv"));
    if (strcmp(t, "RSA") == 0) {
        pkey = jwk_rsa(jwk, why, cap);
        algs = algs ? algs : JOSE_RS256;
    } else if (strcmp(t, "EC") == 0) {
        static const struct {
            const char *crv, *group;
            size_t size;
            unsigned alg;
        } curves[] = { { "P-256", SN_X9_62_prime256v1, 32, JOSE_ES256 },
                       { "P-384", SN_secp384r1, 48, JOSE_ES384 },
                       { "P-521", SN_secp521r1, 66, JOSE_ES512 } };
        size_t i;

        for (i = 0; crv && i < 3 && strcmp(crv, curves[i].crv) != 0; i++)
            ;
        if (!crv || i == 3) /* secp256k1 and others */
            return 0;
        pkey = jwk_ec(jwk, curves[i].group, curves[i].size, why, cap);
        algs = algs ? algs : curves[i].alg;
    } else if (strcmp(t, "OKP") == 0) {
        if (!crv || strcmp(crv, "Ed25519") != 0) /* X25519 is for key agreement */
            return 0;
        pkey = jwk_ed25519(jwk, why, cap);
        algs = algs ? algs : JOSE_EDDSA;
    } else if (strcmp(t, "oct") == 0 && allow_oct) {
        size_t klen = 0;
        unsigned char *k = jwk_bytes(jwk, "k", &klen, why, cap);
        int rc;

        if (!k)
            return -1;
        rc = jose_keyset_add_secret_n(ks, json_string_value(kid), json_string_length(kid), k, klen,
                                      algs ? algs : JOSE_HS256, why, cap);
        OPENSSL_cleanse(k, klen);
        free(k);
        return rc < 0 ? -1 : 1;
    } else {
        return 0;
    }
    if (!pkey) {
        ERR_clear_error();
        return -1;
    }
    return jose_keyset_add_public(ks, json_string_value(kid), json_string_length(kid), pkey, algs,
                                  why, cap) < 0
               ? -1
               : 1;
}

int jose_keyset_add_jwks(struct jose_keyset *ks, const char *json, size_t len, int allow_oct,
                         size_t *skipped, char *err, size_t errlen)
{
    json_error_t je;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je), *keys, *jwk;
    size_t before = jose_keyset_count(ks), skip = 0, i;
    char why[200];

    if (skipped)
        *skipped = 0;
    if (!doc) {
        fmt_buf(err, errlen, "JWKS is not JSON: %s (line %d)", je.text, je.line);
        return -1;
    }
    keys = json_object_get(doc, "keys");
    if (!json_is_object(doc) || !json_is_array(keys)) {
        fmt_buf(err, errlen, "a JWKS is an object with a \"keys\" array");
        json_decref(doc);
        return -1;
    }
    json_array_foreach(keys, i, jwk)
    {
        int rc = jwk_add(ks, jwk, allow_oct, why, sizeof(why));
        const char *kid = json_string_value(json_object_get(jwk, "kid"));

        if (rc < 0) {
            fmt_buf(err, errlen, "JWKS key %zu%s%s%s: %s", i, kid ? " (kid \"" : "", kid ? kid : "",
                    kid ? "\")" : "", why);
            /* All or nothing: a half-loaded document is never used. */
            jose_keyset_truncate(ks, before);
            json_decref(doc);
            return -1;
        }
        skip += rc == 0;
    }
    if (skipped)
        *skipped = skip;
    json_decref(doc);
    return 0;
}
