/* fuzz_keys.h - fixed key material of the fuzz targets (public halves and an
 * HMAC secret; the private keys that signed the seed tokens are in keys/,
 * test-only). Fixed, so a run is deterministic and a corpus input means the
 * same thing every time. */
#ifndef SLUICE_FUZZ_KEYS_H
#define SLUICE_FUZZ_KEYS_H

/* keys/rsa.pub.pem (RSA 2048) */
#define FUZZ_RSA_PUB_PEM                                                  \
    "-----BEGIN PUBLIC KEY-----\n"                                       \
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAoRas9QFFrQfP/FEfzijf\n" \
    "9MFj6fuTG1VyMQ85OobnKKZagEmB25N6alfWe/n1QiObjqrJ/Qk9raWOMcQALaZ2\n" \
    "0e7P6/YQoBO+kfAluN3azjThvP5fEBEz5fZSxtYVI4Y3kHjnJ5Y/+UFMuzRCxEm2\n" \
    "8sHDXtXj/pJqMSjY/kGgDWOJB6bJ2I+u6O0qHD85H5dJhj1TlSFRcwkMhFe1WcNe\n" \
    "8TIMZPONHOfpvywCN/otjspVqDT5Q7xR383mL3k18H5XwtAcuPiFBrop/+gMUcBm\n" \
    "nB89MTJ9DhVT/ZY73dXcuRJ2pXVChd+gMVL5BHYGT9XUEEYtDlDx9zzpN7V6PLXT\n" \
    "2wIDAQAB\n"                                                         \
    "-----END PUBLIC KEY-----\n"

/* keys/ec256.pub.pem and keys/ed25519.pub.pem as a JWKS */
#define FUZZ_JWKS_JSON                                                                        \
    "{\"keys\": ["                                                                            \
    "{\"kty\": \"EC\", \"crv\": \"P-256\", \"kid\": \"ec1\", "                                \
    "\"x\": \"P5XwVK5Z1P7sTknoXARND46KpaEUm8ppTJFDXKH6uqc\", "                                \
    "\"y\": \"K1GRq8DrY7lwVLBwCPSB2Ug9mLLvYiyUqJilALbM_6A\"}, "                               \
    "{\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"kid\": \"ed1\", "                             \
    "\"x\": \"A8NkLJUZeAQqP-_wMMuqc3KU1r02IJSVf_my1Frd5Rk\"}]}"

/* the HMAC secret (HS256/384/512, kid "hs1"); also "oct1" below */
#define FUZZ_HS_SECRET "sluice-fuzz-hs256-secret-0123456789abcdef"

/* FUZZ_HS_SECRET as an oct JWK for HS512, kid "oct1" (allow_oct) */
#define FUZZ_OCT_JWKS_JSON                                                                    \
    "{\"keys\": [{\"kty\": \"oct\", \"kid\": \"oct1\", \"alg\": \"HS512\", "                  \
    "\"k\": \"" FUZZ_HS_SECRET_B64 "\"}]}"
#define FUZZ_HS_SECRET_B64 "c2x1aWNlLWZ1enotaHMyNTYtc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY"

/* The fixed clock of jose_verify() in the targets: seed tokens are valid
 * at it (issued 1699990000, expiring 1800000000). */
#define FUZZ_NOW 1700000000
#define FUZZ_ISSUER "https://issuer.test/"

#endif
