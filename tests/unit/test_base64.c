/* test_base64.c - base64.c: the standard alphabet (RFC 4648 vectors,
 * strictness, round trips) and the url alphabet JWTs use. */
#include "base64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static void test_standard(void)
{
    /* RFC 4648 section 10 */
    static const char *const vec[][2] = {
        { "", "" },
        { "f", "Zg==" },
        { "fo", "Zm8=" },
        { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" },
        { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" },
    };
    static const char *const bad[] = {
        "Zg",       "Zg=",   "Zm9",    "Zh==", "Zm9=",           "Z===",     "====",  "=Zg=",
        "Zg==Zg==", "Zm 9v", "Zm9v\n", "Zm-_", "Zm9v\xc3\xa9==", "Zm9vYg=a", "Z\0==",
    };
    unsigned char all[300];
    uint64_t seed = 0x9e3779b97f4a7c15ull;

    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        size_t n = 0;
        char *e = base64_encode((const unsigned char *)vec[i][0], strlen(vec[i][0]), &n);
        unsigned char *d;
        CHECK(e != NULL);
        if (e) {
            CHECK_STR(e, vec[i][1]);
            CHECK_INT(n, strlen(vec[i][1]));
        }
        free(e);
        d = NULL;
        CHECK_INT(base64_decode_alloc(BASE64_STD, vec[i][1], strlen(vec[i][1]), &d, &n), 0);
        CHECKF(d && n == strlen(vec[i][0]) && memcmp(d, vec[i][0], n) == 0, "decode %s", vec[i][1]);
        free(d);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = 0, len = strlen(bad[i]);
        unsigned char *d = NULL;
        if (i == sizeof(bad) / sizeof(bad[0]) - 1)
            len = 4; /* "Z\0==": a NUL inside */
        CHECK_INT(base64_decode_alloc(BASE64_STD, bad[i], len, &d, &n), -1);
        CHECKF(d == NULL, "\"%s\" decoded but is not strict base64", bad[i]);
        free(d);
    }
    /* every length 0..300 of pseudo-random bytes round-trips */
    for (size_t i = 0; i < sizeof(all); i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        all[i] = (unsigned char)(seed >> 56);
    }
    for (size_t len = 0; len <= sizeof(all); len++) {
        size_t n = 0, m = 0;
        char *e = base64_encode(all, len, &n);
        unsigned char *d = NULL;
        if (e)
            base64_decode_alloc(BASE64_STD, e, n, &d, &m);
        CHECKF(e && n == (len + 2) / 3 * 4 && d && m == len && memcmp(d, all, len) == 0,
               "round trip of %zu bytes", len);
        free(e);
        free(d);
    }
}

static void test_url(void)
{
    static const struct {
        const char *in;
        size_t len;
        const char *out; /* NULL: must be refused */
        long outlen;
    } cases[] = {
        { "", 0, "", 0 },
        { "Zg", 2, "f", 1 },
        { "Zm8", 3, "fo", 2 },
        { "Zm9v", 4, "foo", 3 },
        { "Zm9vYg", 6, "foob", 4 },
        { "Zm9vYmE", 7, "fooba", 5 },
        { "Zm9vYmFy", 8, "foobar", 6 },
        { "-_-_", 4, "\xfb\xff\xbf", 3 },
        { "AAAA", 4, "\0\0\0", 3 },
        { "Zg==", 4, NULL, 0 }, /* padding */
        { "Zm8=", 4, NULL, 0 },
        { "Z", 1, NULL, 0 }, /* impossible length */
        { "Zm9vY", 5, NULL, 0 },
        { "Zh", 2, NULL, 0 },   /* spare bits set: another spelling of "f" */
        { "Zm9", 3, NULL, 0 },  /* spare bits set: another spelling of "fo" */
        { "+/+/", 4, NULL, 0 }, /* standard alphabet */
        { "Zm+v", 4, NULL, 0 },
        { "Zm/v", 4, NULL, 0 },
        { "Zm v", 4, NULL, 0 },
        { "Zm\nv", 4, NULL, 0 },
        { "Zm9v\0\0\0\0", 8, NULL, 0 },
        { "Zm9v.m9v", 8, NULL, 0 },
        { "Zm9\xc3\xa9", 5, NULL, 0 },
    };
    unsigned char out[64];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long n = base64_decode(BASE64_URL, cases[i].in, cases[i].len, out);

        if (!cases[i].out) {
            CHECKF(n == -1, "case %zu: %ld", i, n);
            continue;
        }
        CHECKF(n == cases[i].outlen && memcmp(out, cases[i].out, (size_t)n) == 0, "case %zu: %ld",
               i, n);
    }
}

int main(void)
{
    test_standard();
    test_url();
    return unit_done("test_base64");
}
