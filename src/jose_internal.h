/* jose_internal.h - inside the jose module only: what jose.c lends jwk.c to add a JWKS's keys. */
#ifndef SLUICE_JOSE_INTERNAL_H
#define SLUICE_JOSE_INTERNAL_H

#include <stddef.h>

#include <openssl/evp.h>

#include "jose.h"

/* Adds the public key pkey with the kidlen bytes at kid as its kid (kid
 * NULL: none), verifying only algs, which must suit the key as for
 * jose_keyset_add_pem_file(); the key is checked (size, curve, point)
 * here. pkey is taken: the set's on success, freed on failure. Returns 0,
 * or -1 with a one-line reason in why (cap bytes). */
int jose_keyset_add_public(struct jose_keyset *ks, const char *kid, size_t kidlen, EVP_PKEY *pkey,
                           unsigned algs, char *why, size_t cap);

/* jose_keyset_add_secret() with a kid of kidlen bytes (kid NULL: none):
 * secret[0..len) is copied, the caller keeps (and wipes) its own. Returns
 * 0, or -1 with a reason in why (cap bytes). */
int jose_keyset_add_secret_n(struct jose_keyset *ks, const char *kid, size_t kidlen,
                             const unsigned char *secret, size_t len, unsigned algs, char *why,
                             size_t cap);

/* Frees the keys after the first n (secrets wiped), so a set that held n
 * keys, as jose_keyset_count() said, holds them again: undoes a partly
 * added document. ks must not be shared yet. */
void jose_keyset_truncate(struct jose_keyset *ks, size_t n);

#endif
