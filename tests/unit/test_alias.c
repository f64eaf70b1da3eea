/* test_alias.c - the weighted version pick. */
#include "alias.h"
#include "unit.h"

#include <stdint.h>

static struct fn_version v1 = { .name = "1" }, v2 = { .name = "2" }, v3 = { .name = "3" };

/* A deterministic generator so the split checks are repeatable. */
static uint64_t rng_state = 0x12345678abcdefull;
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void test_primary_only(void)
{
    struct alias a = { .name = "live", .primary = &v1 };
    CHECK_INT(alias_table_build(&a), 0);
    CHECK_INT(a.npick, 1);
    CHECK(alias_pick(&a, 0) == &v1);
    CHECK(alias_pick(&a, UINT64_MAX) == &v1);
    alias_table_free(&a);
    CHECK(a.pick_upto == NULL);
}

static void test_boundaries(void)
{
    struct alias_weight w[] = { { &v2, 0.25 } };
    struct alias a = { .name = "live", .primary = &v1, .nweights = 1, .weights = w };
    CHECK_INT(alias_table_build(&a), 0);
    CHECK_INT(a.npick, 2);
    CHECK(alias_pick(&a, 0) == &v2);
    CHECK(alias_pick(&a, (UINT64_MAX / 4) - 1) == &v2);
    CHECK(alias_pick(&a, (UINT64_MAX / 4) + 2) == &v1);
    CHECK(alias_pick(&a, UINT64_MAX) == &v1);
    alias_table_free(&a);
}

static void test_extremes(void)
{
    struct alias_weight all[] = { { &v2, 1.0 } };
    struct alias a = { .name = "x", .primary = &v1, .nweights = 1, .weights = all };
    CHECK_INT(alias_table_build(&a), 0);
    CHECK(alias_pick(&a, 0) == &v2);
    CHECK(alias_pick(&a, UINT64_MAX - 1) == &v2);
    alias_table_free(&a);

    struct alias_weight none[] = { { &v2, 0.0 } };
    struct alias b = { .name = "y", .primary = &v1, .nweights = 1, .weights = none };
    CHECK_INT(alias_table_build(&b), 0);
    CHECK(alias_pick(&b, 0) == &v1);
    alias_table_free(&b);
}

/* Over many picks the shares match the weights: 10 % and 30 % extras, the
 * primary the remaining 60 %. */
static void test_split(void)
{
    struct alias_weight w[] = { { &v2, 0.10 }, { &v3, 0.30 } };
    struct alias a = { .name = "live", .primary = &v1, .nweights = 2, .weights = w };
    long n1 = 0, n2 = 0, n3 = 0, n = 100000;

    CHECK_INT(alias_table_build(&a), 0);
    for (long i = 0; i < n; i++) {
        const struct fn_version *v = alias_pick(&a, rng());
        n1 += v == &v1;
        n2 += v == &v2;
        n3 += v == &v3;
    }
    CHECK_INT(n1 + n2 + n3, n);
    CHECKF(n2 > 9500 && n2 < 10500, "v2 picked %ld of %ld", n2, n);
    CHECKF(n3 > 29300 && n3 < 30700, "v3 picked %ld of %ld", n3, n);
    CHECKF(n1 > 59300 && n1 < 60700, "v1 picked %ld of %ld", n1, n);
    alias_table_free(&a);
}

int main(void)
{
    test_primary_only();
    test_boundaries();
    test_extremes();
    test_split();
    return unit_done("test_alias");
}
