/* fuzz_jwt.c - JWT verification (jose_verify) against a fixed key set.
 *
 * Keys, made once at start-up from fuzz_keys.h:
 *   set A: "hs1" HMAC secret (HS256/384/512), "rsa1" RSA public key from a
 *          PEM file (RS256, PS256), "ec1" P-256 and "ed1" Ed25519 from a JWKS;
 *   set B: "oct1", the secret again as an oct JWK (HS512 only);
 * verified as { A, NULL, B } (a NULL set is skipped) at the fixed time
 * FUZZ_NOW, with issuer FUZZ_ISSUER, audiences "api" or "api2", 60 s skew.
 *
 * Input, two kinds:
 *   - a token as sent ("xxx.yyy.zzz"): verified as it is; this reaches the
 *     framing, base64url, JSON, alg and kid checks and the signature code;
 *   - starting with '{': "HEADER-JSON\nPAYLOAD-JSON"; the target encodes
 *     both and signs them with the HMAC secret (SHA-384 or SHA-512 when the
 *     header mentions HS384 or HS512, else SHA-256), so the claim checks
 *     and libjwt's own parsing of a correctly signed token are reached
 *     with fuzzed headers and claims.
 * Checks: the status is one of the enum; claims are handed back exactly on
 * JOSE_OK, as an object meeting the policy (exp present and not past, the
 * issuer, one of the audiences); "none" never verifies. */
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base64.h"
#include "fuzz.h"
#include "fuzz_keys.h"
#include "jose.h"

static struct jose_keyset *set_a, *set_b;

static void init(void)
{
    static const char pem[] = FUZZ_RSA_PUB_PEM;
    static const char jwks[] = FUZZ_JWKS_JSON;
    static const char oct[] = FUZZ_OCT_JWKS_JSON;
    const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[512], err[256];
    FILE *f;
    int fd;

    set_a = jose_keyset_new();
    set_b = jose_keyset_new();
    FUZZ_CHECK(set_a && set_b);
    FUZZ_CHECK(jose_keyset_add_secret(set_a, "hs1", (const unsigned char *)FUZZ_HS_SECRET,
                                      strlen(FUZZ_HS_SECRET), JOSE_ALGS_HMAC, err,
                                      sizeof(err)) == 0);
    snprintf(path, sizeof(path), "%s/sluice-fuzz-rsa-XXXXXX", dir);
    fd = mkstemp(path);
    FUZZ_CHECK(fd >= 0);
    f = fdopen(fd, "w");
    FUZZ_CHECK(f && fputs(pem, f) >= 0 && fclose(f) == 0);
    if (jose_keyset_add_pem_file(set_a, "rsa1", path, JOSE_RS256 | JOSE_PS256, err, sizeof(err)) <
        0) {
        fprintf(stderr, "fuzz_jwt: RSA key: %s\n", err);
        abort();
    }
    unlink(path);
    if (jose_keyset_add_jwks(set_a, jwks, strlen(jwks), 0, NULL, err, sizeof(err)) < 0 ||
        jose_keyset_add_jwks(set_b, oct, strlen(oct), 1, NULL, err, sizeof(err)) < 0) {
        fprintf(stderr, "fuzz_jwt: JWKS: %s\n", err);
        abort();
    }
    FUZZ_CHECK(jose_keyset_count(set_a) == 4 && jose_keyset_count(set_b) == 1);
}

/* base64url without padding of in[0..n) at out; returns the length. */
static size_t b64url(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;

    for (; n - i >= 3; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = tab[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
    }
    return o;
}

static int has_bytes(const uint8_t *p, size_t n, const char *s)
{
    size_t l = strlen(s);

    for (size_t i = 0; i + l <= n; i++)
        if (memcmp(p + i, s, l) == 0)
            return 1;
    return 0;
}

/* "HEADER\nPAYLOAD" -> a token signed with the secret, in a new buffer. */
static char *make_token(const uint8_t *data, size_t size, size_t *len)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - data) : size;
    const uint8_t *pl = nl ? nl + 1 : data + size;
    size_t plen = nl ? size - hlen - 1 : 0;
    const EVP_MD *md = has_bytes(data, hlen, "HS512")   ? EVP_sha512()
                       : has_bytes(data, hlen, "HS384") ? EVP_sha384()
                                                        : EVP_sha256();
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char *tok = malloc((hlen + plen + EVP_MAX_MD_SIZE) / 3 * 4 + 16);
    size_t o;

    if (!tok)
        return NULL;
    o = b64url(data, hlen, tok);
    tok[o++] = '.';
    o += b64url(pl, plen, tok + o);
    if (!HMAC(md, FUZZ_HS_SECRET, (int)strlen(FUZZ_HS_SECRET), (const unsigned char *)tok, o, mac,
              &maclen)) {
        free(tok);
        return NULL;
    }
    tok[o++] = '.';
    o += b64url(mac, maclen, tok + o);
    *len = o;
    return tok;
}

static int str_is(const json_t *v, const char *s)
{
    return json_is_string(v) && strcmp(json_string_value(v), s) == 0 &&
           json_string_length(v) == strlen(s);
}

static void verify(const char *tok, size_t len)
{
    static const char *const auds[] = { "api", "api2" };
    static const char *const scopes[] = { "read", "write:orders" };
    const struct jose_policy pol = { .issuer = FUZZ_ISSUER,
                                     .audiences = auds,
                                     .naudiences = 2,
                                     .clock_skew_s = 60,
                                     .max_token_bytes = 0 };
    const struct jose_keyset *sets[3] = { set_a, NULL, set_b };
    json_t *claims = (json_t *)&claims; /* must be reset */
    enum jose_status st = jose_verify(sets, 3, tok, len, &pol, FUZZ_NOW, &claims);

    FUZZ_CHECK(st >= JOSE_OK && st <= JOSE_INTERNAL);
    FUZZ_CHECK(jose_status_text(st) != NULL);
    if (st != JOSE_OK) {
        FUZZ_CHECK(claims == NULL);
        return;
    }
    FUZZ_CHECK(json_is_object(claims));
    {
        const json_t *exp = json_object_get(claims, "exp"), *aud = json_object_get(claims, "aud");
        int aud_ok = str_is(aud, "api") || str_is(aud, "api2");
        size_t i;
        const json_t *a;

        FUZZ_CHECK(json_is_number(exp) && json_number_value(exp) + 60 >= (double)FUZZ_NOW);
        FUZZ_CHECK(str_is(json_object_get(claims, "iss"), FUZZ_ISSUER));
        json_array_foreach(aud, i, a)
        {
            aud_ok |= str_is(a, "api") || str_is(a, "api2");
        }
        FUZZ_CHECK(aud_ok);
    }
    (void)jose_claims_have_scopes(claims, scopes, 2);
    json_decref(claims);
    /* the same token, one byte shorter, never verifies */
    FUZZ_CHECK(jose_verify(sets, 3, tok, len - 1, &pol, FUZZ_NOW, NULL) != JOSE_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;

    if (!ready) {
        init();
        ready = 1;
    }
    if (size > 0 && data[0] == '{') {
        size_t len = 0;
        char *tok = make_token(data, size, &len);
        if (tok) {
            verify(tok, len);
            free(tok);
        }
    } else {
        unsigned char *dec = malloc(BASE64_DECODED_MAX(size));
        verify((const char *)data, size);
        /* the decoder on its own: never more than it promised */
        if (dec) {
            long n = base64_decode(BASE64_URL, (const char *)data, size, dec);
            FUZZ_CHECK(n >= -1 && (n < 0 || (size_t)n <= size * 3 / 4));
            free(dec);
        }
    }
    return 0;
}
