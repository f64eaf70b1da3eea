/* base64.c - strict base64 decoding (both alphabets) and encoding. */
#include "base64.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of c in alpha, or -1. */
static int b64_value(enum base64_alphabet alpha, unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (alpha == BASE64_URL ? '-' : '+'))
        return 62;
    if (c == (alpha == BASE64_URL ? '_' : '/'))
        return 63;
    return -1;
}

long base64_decode(enum base64_alphabet alpha, const char *in, size_t len, unsigned char *out)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0, i = 0, full;
    int v[4];

    if (alpha == BASE64_STD) {
        /* Padding makes the length a multiple of 4; past it, both
         * alphabets decode the same unpadded groups. */
        if (len % 4)
            return -1;
        for (int k = 0; k < 2 && len > 0 && s[len - 1] == '='; k++)
            len--;
    }
    if (len % 4 == 1 || len / 4 > (size_t)LONG_MAX / 3 - 1)
        return -1;
    full = len / 4 * 4;
    for (; i < full; i += 4) {
        for (int k = 0; k < 4; k++)
            if ((v[k] = b64_value(alpha, s[i + k])) < 0)
                return -1;
        out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
        out[o++] = (unsigned char)((v[1] & 0x0f) << 4 | v[2] >> 2);
        out[o++] = (unsigned char)((v[2] & 0x03) << 6 | v[3]);
    }
    if (len - full >= 2) {
        if ((v[0] = b64_value(alpha, s[i])) < 0 || (v[1] = b64_value(alpha, s[i + 1])) < 0)
            return -1;
        out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
        if (len - full == 2) {
            if (v[1] & 0x0f)
                return -1;
        } else {
            if ((v[2] = b64_value(alpha, s[i + 2])) < 0 || (v[2] & 0x03))
                return -1;
            out[o++] = (unsigned char)((v[1] & 0x0f) << 4 | v[2] >> 2);
        }
    }
    return (long)o;
}

int base64_decode_alloc(enum base64_alphabet alpha, const char *in, size_t len, unsigned char **out,
                        size_t *out_len)
{
    unsigned char *d;
    long n;

    *out = NULL;
    if (!in && len)
        return -1;
    if (len > SIZE_MAX - 3)
        return -1;
    if (!(d = malloc(BASE64_DECODED_MAX(len))))
        return -2;
    if ((n = base64_decode(alpha, in ? in : "", len, d)) < 0) {
        free(d);
        return -1;
    }
    *out = d;
    *out_len = (size_t)n;
    return 0;
}

char *base64_encode(const unsigned char *src, size_t len, size_t *out_len)
{
    size_t n, o = 0, i = 0;
    char *out;

    if (len > (SIZE_MAX / 4 - 1) * 3)
        return NULL;
    n = (len + 2) / 3 * 4;
    out = malloc(n + 1);
    if (!out)
        return NULL;
    for (; len - i >= 3; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
        out[o++] = std_alphabet[v >> 18];
        out[o++] = std_alphabet[(v >> 12) & 63];
        out[o++] = std_alphabet[(v >> 6) & 63];
        out[o++] = std_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)src[i] << 16;
        out[o++] = std_alphabet[v >> 18];
        out[o++] = std_alphabet[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
        out[o++] = std_alphabet[v >> 18];
        out[o++] = std_alphabet[(v >> 12) & 63];
        out[o++] = std_alphabet[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return out;
}
