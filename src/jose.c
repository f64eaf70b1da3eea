/* jose.c - JWT key sets (PEM, secrets) and token verification: framing, alg, kid, claims. */
#include "jose.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <jwt.h> /* libjwt: HS/RS/ES signatures */

#include "base64.h"
#include "jose_internal.h"
#include "util.h"


#define DEFAULT_MAX_TOKEN 8192     /* when a policy leaves max_token_bytes at 0 */
#define MAX_CANDIDATES 16          /* keys tried for one token */
#define KEY_FILE_MAX (1024 * 1024) /* a PEM file longer than this is not a key */
#define SECRET_MIN 32
#define RSA_MIN_BITS 2048 /* smaller moduli are factorable by now or soon */
#define RSA_MAX_BITS 16384

/* Stack space for decoding; bigger segments go to the heap. */
#define HEADER_STACK 1024
#define PAYLOAD_STACK 2048
#define SIG_STACK 1100 /* an RSA-8192 signature */
#define TOKEN_STACK 4096

#define ALGS_RS (JOSE_RS256 | JOSE_RS384 | JOSE_RS512)
#define ALGS_PS (JOSE_PS256 | JOSE_PS384 | JOSE_PS512)
#define ALGS_ES (JOSE_ES256 | JOSE_ES384 | JOSE_ES512)
/* What libjwt 1.10 verifies correctly (it has no PS and no EdDSA). */
#define ALGS_LIBJWT (JOSE_ALGS_HMAC | ALGS_RS | ALGS_ES)

struct alg_info {
    unsigned bit;
    const char *name;
    const EVP_MD *(*md)(void); /* NULL for EdDSA, which hashes internally */
};

static const struct alg_info alg_table[] = {
    { JOSE_HS256, "HS256", EVP_sha256 }, { JOSE_HS384, "HS384", EVP_sha384 },
    { JOSE_HS512, "HS512", EVP_sha512 }, { JOSE_RS256, "RS256", EVP_sha256 },
    { JOSE_RS384, "RS384", EVP_sha384 }, { JOSE_RS512, "RS512", EVP_sha512 },
    { JOSE_ES256, "ES256", EVP_sha256 }, { JOSE_ES384, "ES384", EVP_sha384 },
    { JOSE_ES512, "ES512", EVP_sha512 }, { JOSE_PS256, "PS256", EVP_sha256 },
    { JOSE_PS384, "PS384", EVP_sha384 }, { JOSE_PS512, "PS512", EVP_sha512 },
    { JOSE_EDDSA, "EdDSA", NULL },
};
#define NALGS (sizeof(alg_table) / sizeof(alg_table[0]))

enum key_kind { KEY_HMAC, KEY_RSA, KEY_RSA_PSS, KEY_EC, KEY_ED25519 };

struct jose_key {
    char *kid; /* NULL when the key has none */
    size_t kidlen;
    unsigned algs; /* the only algorithms this key verifies */
    enum key_kind kind;
    unsigned char *secret; /* HMAC */
    size_t secret_len;
    EVP_PKEY *pkey; /* public keys: parsed once, shared read-only by threads */
    char *pem;      /* the public key as PEM, for libjwt (RS/ES keys only) */
    size_t pem_len;
    size_t ec_size; /* EC: bytes of R and of S in a JWS signature */
};

struct jose_keyset {
    atomic_uint refs;
    struct jose_key *keys;
    size_t nkeys, cap;
};

/* ------------------------------------------------------------ algorithms */

unsigned jose_alg_from_name(const char *name, size_t len)
{
    if (!name)
        return 0;
    for (size_t i = 0; i < NALGS; i++)
        if (strlen(alg_table[i].name) == len && memcmp(alg_table[i].name, name, len) == 0)
            return alg_table[i].bit;
    return 0;
}

const char *jose_alg_name(unsigned alg)
{
    for (size_t i = 0; i < NALGS; i++)
        if (alg_table[i].bit == alg)
            return alg_table[i].name;
    return "?";
}

static const struct alg_info *alg_info(unsigned bit)
{
    for (size_t i = 0; i < NALGS; i++)
        if (alg_table[i].bit == bit)
            return &alg_table[i];
    return NULL;
}

/* Decodes a segment into stack[0..cap) or, when it may not fit, into a new
 * heap buffer returned in *heap (the caller frees it). Returns the length,
 * -1 when it is not base64url, -2 when out of memory. */
static long seg_decode(const char *in, size_t len, unsigned char *stack, size_t cap,
                       unsigned char **out, unsigned char **heap)
{
    size_t need = BASE64_DECODED_MAX(len);

    *heap = NULL;
    *out = stack;
    if (need > cap) {
        if (!(*heap = malloc(need)))
            return -2;
        *out = *heap;
    }
    return base64_decode(BASE64_URL, in, len, *out);
}

/* --------------------------------------------------------------- key sets */

struct jose_keyset *jose_keyset_new(void)
{
    struct jose_keyset *ks = calloc(1, sizeof(*ks));

    if (ks)
        atomic_init(&ks->refs, 1);
    return ks;
}

struct jose_keyset *jose_keyset_ref(struct jose_keyset *ks)
{
    if (ks)
        atomic_fetch_add_explicit(&ks->refs, 1, memory_order_relaxed);
    return ks;
}

static void key_clear(struct jose_key *k)
{
    free(k->kid);
    if (k->secret) {
        OPENSSL_cleanse(k->secret, k->secret_len);
        free(k->secret);
    }
    EVP_PKEY_free(k->pkey);
    free(k->pem);
    memset(k, 0, sizeof(*k));
}

void jose_keyset_unref(struct jose_keyset *ks)
{
    if (!ks)
        return;
    /* acq_rel: the last owner must see every other owner's reads done. */
    if (atomic_fetch_sub_explicit(&ks->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < ks->nkeys; i++)
        key_clear(&ks->keys[i]);
    free(ks->keys);
    free(ks);
}

size_t jose_keyset_count(const struct jose_keyset *ks)
{
    return ks ? ks->nkeys : 0;
}

int jose_keyset_has_kid(const struct jose_keyset *ks, const char *kid, size_t kidlen)
{
    if (!ks || !kid)
        return 0;
    for (size_t i = 0; i < ks->nkeys; i++)
        if (ks->keys[i].kid && ks->keys[i].kidlen == kidlen &&
            memcmp(ks->keys[i].kid, kid, kidlen) == 0)
            return 1;
    return 0;
}

void jose_keyset_truncate(struct jose_keyset *ks, size_t n)
{
    while (ks->nkeys > n)
        key_clear(&ks->keys[--ks->nkeys]);
}

/* Appends *k (taking what it owns) or, when out of memory, frees it. */
static int keyset_push(struct jose_keyset *ks, struct jose_key *k, char *why, size_t cap)
{
    if (ks->nkeys == ks->cap) {
        size_t ncap = ks->cap ? ks->cap * 2 : 4;
        struct jose_key *nk = realloc(ks->keys, ncap * sizeof(*nk));

        if (!nk) {
            key_clear(k);
            fmt_buf(why, cap, "out of memory");
            return -1;
        }
        ks->keys = nk;
        ks->cap = ncap;
    }
    ks->keys[ks->nkeys++] = *k;
    return 0;
}

static int key_set_kid(struct jose_key *k, const char *kid, size_t kidlen)
{
    if (!kid)
        return 0;
    if (!(k->kid = malloc(kidlen + 1)))
        return -1;
    memcpy(k->kid, kid, kidlen);
    k->kid[kidlen] = '\0';
    k->kidlen = kidlen;
    return 0;
}

/* Names the first algorithm of bad, for error messages. */
static const char *first_alg(unsigned bad)
{
    for (size_t i = 0; i < NALGS; i++)
        if (bad & alg_table[i].bit)
            return alg_table[i].name;
    return "an unknown algorithm";
}

/* Sets k->kind (and ec_size) from k->pkey and checks that algs suit the
 * key: this is where a key gets the only algorithms it will verify. */
static int key_classify(struct jose_key *k, unsigned algs, char *why, size_t cap)
{
    unsigned allowed;
    const char *what;
    char curve[64];
    size_t curvelen = 0;

    if (EVP_PKEY_is_a(k->pkey, "RSA") || EVP_PKEY_is_a(k->pkey, "RSA-PSS")) {
        int bits = EVP_PKEY_get_bits(k->pkey);

        if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
            fmt_buf(why, cap, "RSA key of %d bits (%d to %d allowed)", bits, RSA_MIN_BITS,
                    RSA_MAX_BITS);
            return -1;
        }
        /* An RSASSA-PSS key is restricted to PSS by its own definition. */
        k->kind = EVP_PKEY_is_a(k->pkey, "RSA") ? KEY_RSA : KEY_RSA_PSS;
        allowed = k->kind == KEY_RSA ? ALGS_RS | ALGS_PS : ALGS_PS;
        what = k->kind == KEY_RSA ? "RSA" : "RSA-PSS";
    } else if (EVP_PKEY_is_a(k->pkey, "EC")) {
        int nid;

        /* Only named curves: explicit parameters (even ones OpenSSL matches
         * to a named curve) are an attack surface we need not have. */
        if (EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_EC_ENCODING, curve,
                                           sizeof(curve), &curvelen) != 1 ||
            strcmp(curve, OSSL_PKEY_EC_ENCODING_GROUP) != 0 ||
            EVP_PKEY_get_group_name(k->pkey, curve, sizeof(curve), &curvelen) != 1) {
            ERR_clear_error();
            fmt_buf(why, cap, "EC key without a named curve");
            return -1;
        }
        if ((nid = OBJ_sn2nid(curve)) == NID_undef)
            nid = EC_curve_nist2nid(curve);
        k->kind = KEY_EC;
        if (nid == NID_X9_62_prime256v1) {
            allowed = JOSE_ES256, k->ec_size = 32, what = "EC P-256";
        } else if (nid == NID_secp384r1) {
            allowed = JOSE_ES384, k->ec_size = 48, what = "EC P-384";
        } else if (nid == NID_secp521r1) {
            allowed = JOSE_ES512, k->ec_size = 66, what = "EC P-521";
        } else {
            fmt_buf(why, cap, "EC curve %s is not supported (P-256, P-384, P-521)", curve);
            return -1;
        }
    } else if (EVP_PKEY_is_a(k->pkey, "ED25519")) {
        k->kind = KEY_ED25519;
        allowed = JOSE_EDDSA;
        what = "Ed25519";
    } else {
        const char *t = EVP_PKEY_get0_type_name(k->pkey);

        fmt_buf(why, cap, "unsupported key type %s", t ? t : "?");
        return -1;
    }
    if (algs & JOSE_ALGS_HMAC) {
        fmt_buf(why, cap, "an HMAC algorithm cannot use a public key");
        return -1;
    }
    if (!algs) {
        fmt_buf(why, cap, "no algorithm given for the key");
        return -1;
    }
    if (algs & ~allowed) {
        fmt_buf(why, cap, "an %s key cannot verify %s", what, first_alg(algs & ~allowed));
        return -1;
    }
    /* Keys from files and from JWKS alike: an RSA modulus that is even, an
     * EC point off its curve, are refused here rather than at each token. */
    if (k->kind != KEY_ED25519) {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
        int ok = c && EVP_PKEY_public_check(c) == 1;

        EVP_PKEY_CTX_free(c);
        if (!ok) {
            ERR_clear_error();
            fmt_buf(why, cap, "the %s public key is invalid", what);
            return -1;
        }
    }
    k->algs = algs;
    return 0;
}

/* libjwt 1.10 takes keys only as PEM text; made once here, not per token. */
static int key_make_pem(struct jose_key *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long n;
    int rc = -1;

    if (!b || PEM_write_bio_PUBKEY(b, k->pkey) != 1)
        goto out;
    n = BIO_get_mem_data(b, &data);
    if (n <= 0 || n > INT_MAX || !(k->pem = malloc((size_t)n + 1)))
        goto out;
    memcpy(k->pem, data, (size_t)n);
    k->pem[n] = '\0';
    k->pem_len = (size_t)n;
    rc = 0;
out:
    BIO_free(b);
    if (rc)
        ERR_clear_error();
    return rc;
}

/* Adds a public key; pkey is taken (freed on failure). */
int jose_keyset_add_public(struct jose_keyset *ks, const char *kid, size_t kidlen, EVP_PKEY *pkey,
                           unsigned algs, char *why, size_t cap)
{
    struct jose_key k = { 0 };

    k.pkey = pkey;
    if (key_classify(&k, algs, why, cap) < 0)
        goto fail;
    if (key_set_kid(&k, kid, kidlen) < 0 || ((algs & ALGS_LIBJWT) && key_make_pem(&k) < 0)) {
        fmt_buf(why, cap, "out of memory");
        goto fail;
    }
    return keyset_push(ks, &k, why, cap);
fail:
    key_clear(&k);
    return -1;
}

int jose_keyset_add_secret_n(struct jose_keyset *ks, const char *kid, size_t kidlen,
                             const unsigned char *secret, size_t len, unsigned algs, char *why,
                             size_t cap)
{
    struct jose_key k = { 0 };

    if (!algs || (algs & ~JOSE_ALGS_HMAC)) {
        fmt_buf(why, cap, "a secret verifies only HS256, HS384 and HS512, not %s",
                algs ? first_alg(algs & ~JOSE_ALGS_HMAC) : "nothing");
        return -1;
    }
    if (len < SECRET_MIN || len > INT_MAX) {
        fmt_buf(why, cap, "a secret of %zu bytes is too short (at least %d)", len, SECRET_MIN);
        return -1;
    }
    k.kind = KEY_HMAC;
    k.algs = algs;
    if (!(k.secret = malloc(len)) || key_set_kid(&k, kid, kidlen) < 0) {
        key_clear(&k);
        fmt_buf(why, cap, "out of memory");
        return -1;
    }
    memcpy(k.secret, secret, len);
    k.secret_len = len;
    return keyset_push(ks, &k, why, cap);
}

int jose_keyset_add_secret(struct jose_keyset *ks, const char *kid, const unsigned char *secret,
                          size_t len, unsigned algs, char *err, size_t errlen)
{
    return jose_keyset_add_secret_n(ks, kid, kid ? strlen(kid) : 0, secret, len, algs, err, errlen);
}

/* Never prompt on a terminal for a passphrase: public keys have none. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

/* Reads a whole file of at most max bytes, NUL-terminated. Caller frees. */
static char *read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;

    if (!f) {
        fmt_buf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (!(buf = malloc(max + 1))) {
        fmt_buf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    n = fread(buf, 1, max + 1, f);
    if (ferror(f)) {
        fmt_buf(err, errlen, "%s: read error", path);
        goto fail;
    }
    if (n > max) {
        fmt_buf(err, errlen, "%s: larger than %zu bytes, not a key file", path, max);
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

int jose_keyset_add_pem_file(struct jose_keyset *ks, const char *kid, const char *path, unsigned algs,
                            char *err, size_t errlen)
{
    char why[200];
    size_t len;
    char *text = read_file(path, KEY_FILE_MAX, &len, err, errlen);
    BIO *b = NULL;
    EVP_PKEY *pkey = NULL;
    X509 *cert = NULL;
    int rc = -1;

    if (!text)
        return -1;
    /* A gateway must never hold signing keys; say so rather than "no key". */
    if (strstr(text, "PRIVATE KEY")) {
        fmt_buf(err, errlen, "%s: holds a private key; give its public key (openssl pkey -pubout)",
                path);
        goto out;
    }
    if (!(b = BIO_new_mem_buf(text, (int)len)))
        goto oom;
    if (!(pkey = PEM_read_bio_PUBKEY(b, NULL, no_password, NULL))) {
        /* Not a PUBLIC KEY block: perhaps a certificate, from a fresh start. */
        ERR_clear_error();
        BIO_free(b);
        if (!(b = BIO_new_mem_buf(text, (int)len)))
            goto oom;
        if ((cert = PEM_read_bio_X509(b, NULL, no_password, NULL)))
            pkey = X509_get_pubkey(cert);
        ERR_clear_error();
        if (!pkey) {
            fmt_buf(err, errlen, "%s: no PUBLIC KEY or CERTIFICATE in PEM form", path);
            goto out;
        }
    }
    if (jose_keyset_add_public(ks, kid, kid ? strlen(kid) : 0, pkey, algs, why, sizeof(why)) < 0) {
        fmt_buf(err, errlen, "%s: %s", path, why);
        goto out;
    }
    rc = 0;
    goto out;
oom:
    fmt_buf(err, errlen, "%s: out of memory", path);
out:
    X509_free(cert);
    BIO_free(b);
    free(text);
    return rc;
}

/* ----------------------------------------------------------- verification */

const char *jose_status_text(enum jose_status st)
{
    switch (st) {
    case JOSE_OK:
        return "token valid";
    case JOSE_MALFORMED:
        return "malformed token";
    case JOSE_TOO_LARGE:
        return "token too large";
    case JOSE_BAD_ALG:
        return "algorithm not allowed";
    case JOSE_UNKNOWN_KID:
        return "unknown key id";
    case JOSE_BAD_SIGNATURE:
        return "bad signature";
    case JOSE_NO_EXP:
        return "token without expiry";
    case JOSE_EXPIRED:
        return "token expired";
    case JOSE_NOT_YET_VALID:
        return "token not yet valid";
    case JOSE_BAD_ISSUER:
        return "wrong issuer";
    case JOSE_BAD_AUDIENCE:
        return "wrong audience";
    case JOSE_INTERNAL:
        return "internal error";
    }
    return "unknown status";
}

/* What one verification needs to know about the token. */
struct token_view {
    const char *input; /* "header.payload", the signed bytes */
    size_t inlen;
    const unsigned char *sig;
    size_t siglen;
    const char *tokz; /* the whole token NUL-terminated, for libjwt; else NULL */
};

/* ECDSA in JWS is raw R||S; OpenSSL wants DER. */
static enum jose_status ec_sig_to_der(const unsigned char *sig, size_t size, unsigned char *der,
                                     size_t cap, size_t *derlen)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)size, NULL), *s = BN_bin2bn(sig + size, (int)size, NULL);
    unsigned char *p = der;
    int n;

    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return JOSE_INTERNAL;
    }
    n = i2d_ECDSA_SIG(es, NULL);
    if (n <= 0 || (size_t)n > cap || i2d_ECDSA_SIG(es, &p) != n) {
        ECDSA_SIG_free(es);
        return JOSE_INTERNAL;
    }
    ECDSA_SIG_free(es); /* frees r and s too */
    *derlen = (size_t)n;
    return JOSE_OK;
}

/* The OpenSSL path: PS and EdDSA always, and HS/RS/ES for tokens libjwt
 * would wrongly refuse (see verify_with_key). */
static enum jose_status verify_openssl(const struct jose_key *k, const struct alg_info *ai,
                                      const struct token_view *tv)
{
    const unsigned char *sig = tv->sig;
    size_t siglen = tv->siglen;
    unsigned char der[160];
    EVP_MD_CTX *mdctx = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    enum jose_status st = JOSE_INTERNAL;

    if (k->kind == KEY_HMAC) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0;

        if (!HMAC(ai->md(), k->secret, (int)k->secret_len, (const unsigned char *)tv->input,
                  tv->inlen, mac, &maclen))
            goto out;
        /* Constant time: no byte-by-byte oracle on the expected MAC. */
        st = maclen == siglen && CRYPTO_memcmp(mac, sig, maclen) == 0 ? JOSE_OK : JOSE_BAD_SIGNATURE;
        OPENSSL_cleanse(mac, sizeof(mac));
        goto out;
    }
    if (k->kind == KEY_EC) {
        if (siglen != 2 * k->ec_size) {
            st = JOSE_BAD_SIGNATURE;
            goto out;
        }
        if ((st = ec_sig_to_der(sig, k->ec_size, der, sizeof(der), &siglen)) != JOSE_OK)
            goto out;
        sig = der;
        st = JOSE_INTERNAL;
    }
    if (!(mdctx = EVP_MD_CTX_new()) ||
        EVP_DigestVerifyInit(mdctx, &pctx, ai->md ? ai->md() : NULL, NULL, k->pkey) != 1)
        goto out;
    /* RFC 7518 3.5: MGF1 with the same hash, salt as long as the hash. */
    if ((ai->bit & ALGS_PS) &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, ai->md()) <= 0))
        goto out;
    st = EVP_DigestVerify(mdctx, sig, siglen, (const unsigned char *)tv->input, tv->inlen) == 1
             ? JOSE_OK
             : JOSE_BAD_SIGNATURE;
out:
    EVP_MD_CTX_free(mdctx);
    /* A failed check leaves errors queued on this thread; TLS code on the
     * same worker would read them as its own. */
    ERR_clear_error();
    return st;
}

static enum jose_status verify_with_key(const struct jose_key *k, const struct alg_info *ai,
                                       const struct token_view *tv)
{
    jwt_t *j = NULL;
    int rc;

    if (!tv->tokz || !(ai->bit & ALGS_LIBJWT))
        return verify_openssl(k, ai, tv);
    /* The key was chosen by us and allows this alg, so whatever libjwt
     * reads from the header it verifies with the right kind of key. */
    if (k->kind == KEY_HMAC)
        rc = jwt_decode(&j, tv->tokz, k->secret, (int)k->secret_len);
    else
        rc = jwt_decode(&j, tv->tokz, (const unsigned char *)k->pem, (int)k->pem_len);
    if (j)
        jwt_free(j);
    if (rc == 0)
        return JOSE_OK;
    ERR_clear_error();
    return rc == ENOMEM ? JOSE_INTERNAL : JOSE_BAD_SIGNATURE;
}

/* libjwt 1.10 refuses any token whose header "typ" is a string other than
 * "JWT" (case-insensitively), e.g. RFC 9068's "at+jwt"; such tokens are
 * verified with OpenSSL instead. */
static int libjwt_takes_typ(const json_t *header)
{
    const json_t *typ = json_object_get(header, "typ");

    return !json_is_string(typ) ||
           slice_eq_cstr_nocase((struct slice){ json_string_value(typ), json_string_length(typ) },
                                "JWT");
}

static int json_str_is(const json_t *v, const char *s)
{
    return json_is_string(v) && json_string_length(v) == strlen(s) &&
           memcmp(json_string_value(v), s, json_string_length(v)) == 0;
}

static enum jose_status check_claims(const json_t *c, const struct jose_policy *pol, time_t now)
{
    const json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
    const json_t *aud;
    double t = (double)now, skew = (double)pol->clock_skew_s;

    /* NumericDate may be fractional; doubles hold every plausible second. */
    if (!json_is_number(exp))
        return JOSE_NO_EXP;
    if (t > json_number_value(exp) + skew)
        return JOSE_EXPIRED;
    if (nbf && !json_is_number(nbf))
        return JOSE_MALFORMED;
    if (nbf && t + skew < json_number_value(nbf))
        return JOSE_NOT_YET_VALID;
    if (pol->issuer && !json_str_is(json_object_get(c, "iss"), pol->issuer))
        return JOSE_BAD_ISSUER;
    if (pol->naudiences) {
        aud = json_object_get(c, "aud");
        for (size_t i = 0; i < pol->naudiences; i++) {
            if (json_str_is(aud, pol->audiences[i]))
                return JOSE_OK;
            for (size_t j = 0; json_is_array(aud) && j < json_array_size(aud); j++)
                if (json_str_is(json_array_get(aud, j), pol->audiences[i]))
                    return JOSE_OK;
        }
        return JOSE_BAD_AUDIENCE;
    }
    return JOSE_OK;
}

static json_t *parse_object(const unsigned char *p, size_t len)
{
    /* Duplicate names are refused: libjwt, or the code reading the claims,
     * could otherwise see another "alg" or "sub" than we checked. */
    json_t *j = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, NULL);

    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

enum jose_status jose_verify(const struct jose_keyset *const *sets, size_t nsets, const char *token,
                           size_t len, const struct jose_policy *pol, time_t now, json_t **claims)
{
    static const struct jose_policy no_policy = { NULL, NULL, 0, 0, 0 };
    unsigned char hstack[HEADER_STACK], pstack[PAYLOAD_STACK], sstack[SIG_STACK];
    unsigned char *hheap = NULL, *pheap = NULL, *sheap = NULL;
    unsigned char *h = NULL, *p = NULL, *s = NULL;
    char tstack[TOKEN_STACK], *theap = NULL;
    const struct jose_key *cand[MAX_CANDIDATES];
    const char *d1, *d2, *kid = NULL;
    const struct alg_info *ai;
    json_t *header = NULL, *payload = NULL, *v;
    struct token_view tv;
    size_t ncand = 0, kidlen = 0, hlen, plen, slen, cap;
    long hn, pn, sn;
    int kid_seen = 0;
    enum jose_status st = JOSE_MALFORMED;

    if (claims)
        *claims = NULL;
    if (!pol)
        pol = &no_policy;
    cap = pol->max_token_bytes ? pol->max_token_bytes : DEFAULT_MAX_TOKEN;
    if (len > cap)
        return JOSE_TOO_LARGE;
    if (!token || !len)
        return JOSE_MALFORMED;

    /* Exactly three segments; header and payload not empty. */
    if (!(d1 = memchr(token, '.', len)) ||
        !(d2 = memchr(d1 + 1, '.', (size_t)(token + len - d1 - 1))) ||
        memchr(d2 + 1, '.', (size_t)(token + len - d2 - 1)))
        return JOSE_MALFORMED;
    hlen = (size_t)(d1 - token);
    plen = (size_t)(d2 - d1 - 1);
    slen = (size_t)(token + len - d2 - 1);
    if (!hlen || !plen)
        return JOSE_MALFORMED;

    /* Everything is decoded and parsed strictly before any key is used, so
     * libjwt only ever sees tokens we have read exactly as it will. */
    hn = seg_decode(token, hlen, hstack, sizeof(hstack), &h, &hheap);
    pn = hn < 0 ? -1 : seg_decode(d1 + 1, plen, pstack, sizeof(pstack), &p, &pheap);
    sn = pn < 0 ? -1 : seg_decode(d2 + 1, slen, sstack, sizeof(sstack), &s, &sheap);
    if (hn == -2 || pn == -2 || sn == -2) {
        st = JOSE_INTERNAL;
        goto out;
    }
    if (sn < 0 || !(header = parse_object(h, (size_t)hn)) ||
        !(payload = parse_object(p, (size_t)pn)))
        goto out;

    /* RFC 7515 4.1.11: "crit" names extensions we must understand; we
     * understand none (b64=false among them). */
    if (json_object_get(header, "crit"))
        goto out;
    if ((v = json_object_get(header, "kid"))) {
        if (!json_is_string(v))
            goto out;
        kid = json_string_value(v);
        kidlen = json_string_length(v);
    }
    /* The exact JOSE name: "none", "None", "hs256" are not algorithms. */
    v = json_object_get(header, "alg");
    ai = json_is_string(v)
             ? alg_info(jose_alg_from_name(json_string_value(v), json_string_length(v)))
             : NULL;
    if (!ai) {
        st = JOSE_BAD_ALG;
        goto out;
    }

    /* Candidates: keys naming this kid (when the token has one) that allow
     * this alg. The token never chooses the kind of key. */
    for (size_t i = 0; i < nsets; i++) {
        if (!sets[i])
            continue;
        for (size_t j = 0; j < sets[i]->nkeys; j++) {
            const struct jose_key *k = &sets[i]->keys[j];

            if (kid) {
                if (!k->kid || k->kidlen != kidlen || memcmp(k->kid, kid, kidlen) != 0)
                    continue;
                kid_seen = 1;
            }
            if ((k->algs & ai->bit) && ncand < MAX_CANDIDATES)
                cand[ncand++] = k;
        }
    }
    if (kid && !kid_seen) {
        st = JOSE_UNKNOWN_KID;
        goto out;
    }
    if (!ncand) {
        st = JOSE_BAD_ALG;
        goto out;
    }

    tv.input = token;
    tv.inlen = (size_t)(d2 - token);
    tv.sig = s;
    tv.siglen = (size_t)sn;
    tv.tokz = NULL;
    if ((ai->bit & ALGS_LIBJWT) && libjwt_takes_typ(header)) {
        char *t = tstack;

        if (len >= sizeof(tstack) && !(t = theap = malloc(len + 1))) {
            st = JOSE_INTERNAL;
            goto out;
        }
        memcpy(t, token, len);
        t[len] = '\0';
        tv.tokz = t;
    }
    st = JOSE_BAD_SIGNATURE;
    for (size_t i = 0; i < ncand && st == JOSE_BAD_SIGNATURE; i++)
        st = verify_with_key(cand[i], ai, &tv);
    if (st != JOSE_OK)
        goto out;

    if ((st = check_claims(payload, pol, now)) == JOSE_OK && claims) {
        *claims = payload;
        payload = NULL;
    }
out:
    json_decref(header);
    json_decref(payload);
    free(hheap);
    free(pheap);
    free(sheap);
    free(theap);
    return st;
}

/* ----------------------------------------------------------------- scopes */

/* 1 when the space-separated list s[0..len) holds the word w. */
static int words_have(const char *s, size_t len, const char *w, size_t wlen)
{
    size_t i = 0;

    while (i < len) {
        size_t j = i;

        while (j < len && s[j] != ' ')
            j++;
        if (j - i == wlen && wlen && memcmp(s + i, w, wlen) == 0)
            return 1;
        i = j + 1;
    }
    return 0;
}

static int scope_granted(const json_t *claims, const char *want)
{
    size_t wl = strlen(want);
    const json_t *v = json_object_get(claims, "scope");
    const json_t *e;
    size_t i;

    if (json_is_string(v) && words_have(json_string_value(v), json_string_length(v), want, wl))
        return 1;
    v = json_object_get(claims, "scp");
    /* Azure AD sends "scp" as a space-separated string, Okta as an array. */
    if (json_is_string(v))
        return words_have(json_string_value(v), json_string_length(v), want, wl);
    json_array_foreach(v, i, e)
    {
        if (json_str_is(e, want))
            return 1;
    }
    return 0;
}

int jose_claims_have_scopes(const json_t *claims, const char *const *scopes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!json_is_object(claims) || !scope_granted(claims, scopes[i]))
            return 0;
    return 1;
}
