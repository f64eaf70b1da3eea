/* test_util.c - slices, bounded formatting, integer parsing. */
#include "unit.h"
#include "util.h"

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
    test_clock();
    return unit_done("test_util");
}
