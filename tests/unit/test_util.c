/* test_util.c - slices, bounded formatting, integer parsing. */
#include "unit.h"
#include "util.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

static void test_slices(void)
{
    CHECK(slice_eq(SLICE_LIT("abc"), SLICE_LIT("abc")));
    CHECK(!slice_eq(SLICE_LIT("abc"), SLICE_LIT("abd")));
    CHECK(!slice_eq(SLICE_LIT("abc"), SLICE_LIT("ab")));
    CHECK(slice_eq(SLICE_NULL, SLICE_LIT("")));
    CHECK(slice_eq_nocase(SLICE_LIT("Content-Length"), SLICE_LIT("content-length")));
    CHECK(!slice_eq_nocase(SLICE_LIT("Content-Lengti"), SLICE_LIT("content-length")));
    CHECK(slice_eq_cstr(SLICE_LIT("x"), "x"));
    CHECK(slice_eq_cstr_nocase(SLICE_LIT("HOST"), "host"));
    struct slice t = slice_trim(SLICE_LIT(" \t v a \t"));
    CHECK(slice_eq_cstr(t, "v a"));
    CHECK_INT(slice_trim(SLICE_LIT("   ")).len, 0);
    char *d = slice_dup((struct slice){ "hello world", 5 });
    CHECK_STR(d, "hello");
    free(d);
}

static void test_fmt(void)
{
    char buf[8];
    CHECK_INT(fmt_buf(buf, sizeof(buf), "%d", 1234567), 7);
    CHECK_STR(buf, "1234567");
    CHECK_INT(fmt_buf(buf, sizeof(buf), "%d", 12345678), -1);
    CHECK_STR(buf, "1234567"); /* truncated, terminated */
    CHECK_INT(fmt_buf(buf, 0, "x"), -1);

    char s[8] = "ab";
    CHECK_INT(str_append(s, sizeof(s), "cde"), 0);
    CHECK_STR(s, "abcde");
    CHECK_INT(str_append(s, sizeof(s), "fghij"), -1);
    CHECK_STR(s, "abcdefg");
}

static void test_parse_u64(void)
{
    static const struct {
        const char *in;
        uint64_t max;
        int rc;
        uint64_t out;
    } cases[] = {
        { "0", 10, 0, 0 },
        { "10", 10, 0, 10 },
        { "11", 10, -1, 0 },
        { "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
        { "18446744073709551616", UINT64_MAX, -1, 0 },
        { "", 10, -1, 0 },
        { "+1", 10, -1, 0 },
        { "-1", 10, -1, 0 },
        { " 1", 10, -1, 0 },
        { "1 ", 10, -1, 0 },
        { "0x1", 10, -1, 0 },
        { "000000000000000000001", UINT64_MAX, -1, 0 }, /* over 20 digits */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 12345;
        int rc = parse_u64((struct slice){ cases[i].in, strlen(cases[i].in) }, cases[i].max, &v);
        CHECKF(rc == cases[i].rc, "parse_u64(\"%s\") = %d", cases[i].in, rc);
        if (rc == 0)
            CHECKF(v == cases[i].out, "parse_u64(\"%s\") value", cases[i].in);
    }
}

static void test_dec(void)
{
    static const uint64_t u[] = {
        0,
        1,
        9,
        10,
        11,
        99,
        100,
        101,
        999,
        1000,
        12345,
        99999,
        100000,
        4294967295u,
        4294967296u,
        999999999999999999u,
        1000000000000000000u,
        9999999999999999999u,
        10000000000000000000u,
        UINT64_MAX - 1,
        UINT64_MAX,
    };
    static const int64_t s[] = { 0,   1,   -1,   9,         -9,        10,
                                 -10, 404, -404, INT64_MAX, INT64_MIN, INT64_MIN + 1 };
    char got[U64_DEC_MAX + 1], want[32];
    uint64_t x = 0x9e3779b97f4a7c15u;
    int bad = 0;

    for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
        size_t n = u64_to_dec(got, u[i]);
        got[n] = '\0';
        snprintf(want, sizeof want, "%" PRIu64, u[i]);
        CHECK_STR(got, want);
    }
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        size_t n = i64_to_dec(got, s[i]);
        got[n] = '\0';
        snprintf(want, sizeof want, "%" PRId64, s[i]);
        CHECK_STR(got, want);
    }
    /* numbers of every length, and the bytes after them untouched */
    for (int i = 0; i < 20000; i++) {
        uint64_t v;
        size_t n;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v = x >> (i % 64);
        memset(got, '#', sizeof got);
        n = u64_to_dec(got, v);
        snprintf(want, sizeof want, "%" PRIu64, v);
        if (n != strlen(want) || memcmp(got, want, n) != 0 || (n < sizeof got && got[n] != '#'))
            bad++;
    }
    CHECK_INT(bad, 0);
}

static void test_eq_lc(void)
{
    static const char *const names[] = { "te",
                                         "host",
                                         "expect",
                                         "trailer",
                                         "connection",
                                         "x-request-id",
                                         "content-length",
                                         "transfer-encoding",
                                         "x-sluice-function-version",
                                         "a1-b2" };
    char buf[64];
    int bad = 0;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *lc = names[i];
        size_t n = strlen(lc);

        memcpy(buf, lc, n);
        CHECKF(ascii_eq_lc(buf, lc, n), "%s itself", lc);
        for (size_t k = 0; k < n; k++)
            buf[k] = (char)(lc[k] >= 'a' && lc[k] <= 'z' ? lc[k] - 32 : lc[k]);
        CHECKF(ascii_eq_lc(buf, lc, n), "%s upper-case", lc);
        /* any one byte changed, at any place: only the other case of a
         * letter still matches */
        for (size_t k = 0; k < n; k++) {
            for (int c = 0; c < 256; c++) {
                int letter = lc[k] >= 'a' && lc[k] <= 'z';
                int want = c == (unsigned char)lc[k] || (letter && c == lc[k] - 32);
                memcpy(buf, lc, n);
                buf[k] = (char)c;
                if (ascii_eq_lc(buf, lc, n) != want) {
                    bad++;
                    fprintf(stderr, "%s with 0x%02x at %zu\n", lc, c, k);
                }
            }
        }
    }
    CHECK_INT(bad, 0);
    CHECK(ascii_eq_lc("", "", 0));
    /* '\r' | 0x20 is '-': a '-' must match exactly */
    CHECK(!ascii_eq_lc("keep\ralive", "keep-alive", 10));
    CHECK(!ascii_eq_lc("Content\rLength", "content-length", 14));
    CHECK(!ascii_eq_lc("content_length", "content-length", 14));
}

static void test_put_mem(void)
{
    char src[64], dst[80];
    int bad = 0;

    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (char)('A' + i % 26);
    for (size_t n = 0; n <= 40; n++) {
        for (size_t at = 0; at < 4; at++) {
            char *end;
            memset(dst, '#', sizeof dst);
            end = put_mem(dst + at, src + at, n);
            if (end != dst + at + n || memcmp(dst + at, src + at, n) != 0)
                bad++;
            for (size_t k = 0; k < sizeof dst; k++)
                if ((k < at || k >= at + n) && dst[k] != '#')
                    bad++;
        }
    }
    CHECK_INT(bad, 0);
    CHECK(put_mem(dst, NULL, 0) == dst);
    CHECK(put_lit(dst, "abc") == dst + 3 && memcmp(dst, "abc", 3) == 0);
    CHECK(put_slice(dst, SLICE_LIT("hello")) == dst + 5 && memcmp(dst, "hello", 5) == 0);
}

/* A head is written on the stack when it fits, else straight into the
 * evbuffer; either way it lands after what the evbuffer held. */
static void test_evb_write(void)
{
    struct evbuffer *out = evbuffer_new();
    char stack[64], *p;
    static char big[10000];
    size_t n;

    if (!out)
        return;
    evbuffer_add(out, "pre|", 4);
    p = evb_write_begin(out, stack, sizeof stack, 10);
    CHECK(p == stack);
    p = put_lit(p, "small");
    CHECK_INT(evb_write_end(out, stack, stack, 5, 10), 0);

    p = evb_write_begin(out, stack, sizeof stack, sizeof big);
    CHECK(p != NULL && p != stack);
    if (p) {
        for (size_t i = 0; i < sizeof big; i++)
            big[i] = p[i] = (char)('a' + i % 26);
        CHECK_INT(evb_write_end(out, stack, p, sizeof big, sizeof big), 0);
    }
    CHECK_INT(evb_write_end(out, stack, stack, 0, 0), 0);
    n = evbuffer_get_length(out);
    CHECK_INT(n, 9 + sizeof big);
    p = (char *)evbuffer_pullup(out, -1);
    CHECK(p && memcmp(p, "pre|small", 9) == 0 && memcmp(p + 9, big, sizeof big) == 0);
    evbuffer_free(out);
}

static void test_clock(void)
{
    uint64_t a = now_us(), b = now_us();
    CHECK(b >= a);
    CHECK(now_ms() > 0);
}

int main(void)
{
    test_slices();
    test_fmt();
    test_parse_u64();
    test_dec();
    test_eq_lc();
    test_put_mem();
    test_evb_write();
    test_clock();
    return unit_done("test_util");
}
