/* jose.h - JSON Web Token verification: key sets (PEM files, secrets, JWKS
 * documents) and the checks of one token against them. Pure: no I/O but
 * reading key files when a key set is built; no global state.
 *
 * A key verifies only the algorithms it was given (its config
 * "algorithms", or its JWK "alg"); the token's own "alg" never picks the
 * kind of key. "none" is never an algorithm here. HS/RS/ES signatures are
 * checked with libjwt, PS and EdDSA ones with OpenSSL directly. */
#ifndef SLUICE_JOSE_H
#define SLUICE_JOSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Algorithms, as bits so a key can allow several. */
enum jose_alg {
    JOSE_HS256 = 1u << 0,
    JOSE_HS384 = 1u << 1,
    JOSE_HS512 = 1u << 2,
    JOSE_RS256 = 1u << 3,
    JOSE_RS384 = 1u << 4,
    JOSE_RS512 = 1u << 5,
    JOSE_ES256 = 1u << 6,
    JOSE_ES384 = 1u << 7,
    JOSE_ES512 = 1u << 8,
    JOSE_PS256 = 1u << 9,
    JOSE_PS384 = 1u << 10,
    JOSE_PS512 = 1u << 11,
    JOSE_EDDSA = 1u << 12,
};
#define JOSE_ALGS_HMAC (JOSE_HS256 | JOSE_HS384 | JOSE_HS512)

/* Returns the bit for an algorithm name exactly as JOSE spells it
 * ("RS256", "EdDSA"), or 0 for anything else ("none", "rs256", ""). */
unsigned jose_alg_from_name(const char *name, size_t len);
/* Returns the JOSE name of one algorithm bit, or "?" */
const char *jose_alg_name(unsigned alg);

struct jose_keyset;

/* Returns an empty key set with one reference, or NULL when out of memory. */
struct jose_keyset *jose_keyset_new(void);
/* Reference counting; thread-safe (sets are shared by workers). unref(NULL)
 * does nothing. A set must not be changed once shared. */
struct jose_keyset *jose_keyset_ref(struct jose_keyset *ks);
void jose_keyset_unref(struct jose_keyset *ks);
size_t jose_keyset_count(const struct jose_keyset *ks);

/* Adds a public key from a PEM file (RSA, EC P-256/P-384/P-521, Ed25519;
 * a certificate is accepted too). algs must suit the key: RS and PS for
 * RSA, the ES of the key's curve for EC, EdDSA for Ed25519; HS with a
 * public key is refused (the classic confusion attack). kid may be NULL.
 * Returns 0, or -1 with a one-line reason in err. */
int jose_keyset_add_pem_file(struct jose_keyset *ks, const char *kid, const char *path, unsigned algs,
                            char *err, size_t errlen);

/* Adds an HMAC secret (copied). algs must be HS only; a secret shorter
 * than 32 bytes is refused (RFC 7518 3.2 asks for at least the hash size).
 * Returns 0, or -1 with a reason in err. */
int jose_keyset_add_secret(struct jose_keyset *ks, const char *kid, const unsigned char *secret,
                          size_t len, unsigned algs, char *err, size_t errlen);

/* Adds the keys of a JWKS document {"keys": [...]}: kty RSA (n, e), EC
 * (crv P-256/P-384/P-521, x, y), OKP (crv Ed25519, x) and, only when
 * allow_oct, oct (k). A key's "alg" is the one algorithm it verifies;
 * without "alg" it gets the natural one (RSA: RS256, EC: by curve, OKP:
 * EdDSA, oct: HS256). Keys with "use" other than "sig" are skipped, as
 * are unknown kty (they are counted in *skipped when not NULL). Returns 0
 * (possibly with no key added), or -1 with a reason in err when the
 * document is malformed or a key is invalid. */
int jose_keyset_add_jwks(struct jose_keyset *ks, const char *json, size_t len, int allow_oct,
                        size_t *skipped, char *err, size_t errlen);

/* 1 when a key with this kid is in the set. */
int jose_keyset_has_kid(const struct jose_keyset *ks, const char *kid, size_t kidlen);

/* What a token must satisfy besides its signature. */
struct jose_policy {
    const char *issuer;               /* exact match of "iss"; NULL: not checked */
    const char *const *audiences;     /* "aud" (string or array) must hold one; */
    size_t naudiences;                /*   0: not checked */
    uint32_t clock_skew_s;            /* leeway for exp and nbf */
    size_t max_token_bytes;           /* longer tokens are refused unread */
};

enum jose_status {
    JOSE_OK = 0,
    JOSE_MALFORMED,     /* not three base64url segments of JSON objects, ... */
    JOSE_TOO_LARGE,
    JOSE_BAD_ALG,       /* "none", unknown, or no key allows it */
    JOSE_UNKNOWN_KID,   /* the token names a kid none of the sets has */
    JOSE_BAD_SIGNATURE,
    JOSE_NO_EXP,
    JOSE_EXPIRED,
    JOSE_NOT_YET_VALID,
    JOSE_BAD_ISSUER,
    JOSE_BAD_AUDIENCE,
    JOSE_INTERNAL,      /* out of memory, crypto library failure */
};

/* Returns a short English reason for a status ("token expired"). */
const char *jose_status_text(enum jose_status st);

/* Verifies token[0..len) against the keys of sets[0..nsets) (NULL entries
 * are skipped) and pol, at time now (seconds since the epoch). With a kid
 * in the token only keys with that kid are tried; without one, every key
 * allowing the token's alg (at most 16). On JOSE_OK *claims gets the
 * payload object (a new reference the caller owns). Never reads outside
 * token[0..len); never trusts "alg" to choose the kind of key. */
enum jose_status jose_verify(const struct jose_keyset *const *sets, size_t nsets, const char *token,
                           size_t len, const struct jose_policy *pol, time_t now, json_t **claims);

/* 1 when claims grant every scope in scopes[0..n): "scope" is a
 * space-separated string, "scp" an array of strings (or a string). */
int jose_claims_have_scopes(const json_t *claims, const char *const *scopes, size_t n);

#endif
