/* base64.h - strict base64 (RFC 4648): the standard alphabet with padding
 * (Lambda event and result bodies, sluice.base64 in Lua) and the url
 * alphabet without padding (JWTs, JWKs, secrets).
 *
 * Decoding is strict in both: only the alphabet's characters, no white
 * space, and zero bits where a final partial group leaves bits unused, so
 * each byte string has exactly one accepted spelling (no token
 * malleability, no two bodies that compare different but decode the
 * same). Pure functions, safe from any thread. */
#ifndef SLUICE_BASE64_H
#define SLUICE_BASE64_H

#include <stddef.h>

enum base64_alphabet {
    BASE64_STD, /* A-Z a-z 0-9 + /, padded with '=' to a multiple of 4 */
    BASE64_URL, /* A-Z a-z 0-9 - _, no padding */
};

/* The most bytes base64_decode() writes for len characters. */
#define BASE64_DECODED_MAX(len) ((len) / 4 * 3 + 3)

/* Decodes in[0..len) into out, which has room for BASE64_DECODED_MAX(len)
 * bytes. Returns the decoded length, or -1 when in is not strict base64
 * of that alphabet (a bad character, '=' in the url alphabet or anywhere
 * but the end of the standard one, an impossible length, nonzero unused
 * bits). */
long base64_decode(enum base64_alphabet alpha, const char *in, size_t len, unsigned char *out);

/* base64_decode() into a new buffer: returns 0 with *out malloc'ed (the
 * caller frees it; one byte even when *out_len is 0) and its length in
 * *out_len; -1 when in is malformed, -2 when out of memory (*out NULL
 * then). in may be NULL when len is 0. */
int base64_decode_alloc(enum base64_alphabet alpha, const char *in, size_t len, unsigned char **out,
                        size_t *out_len);

/* Encodes src[0..len) (src may be NULL when len is 0) in the standard
 * alphabet with padding. Returns a malloc'ed NUL-terminated string (the
 * caller frees it) with its length in *out_len when out_len is not NULL;
 * NULL when out of memory or when len is too large to encode. */
char *base64_encode(const unsigned char *src, size_t len, size_t *out_len);

#endif
