/* test_throttle.c - GCRA math (burst, steady rate, waits, Retry-After
 * rounding), the config of throttles and usage plans (with their errors),
 * and buckets found again across a reload by throttle_attach(). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "throttle.h"
#include "unit.h"

#define S 1000000000ull

/* Runs n requests at times start, start+step, ...: how many are allowed. */
static unsigned run(uint64_t *tat, uint64_t start, uint64_t step, unsigned n, uint64_t interval,
                    uint64_t tol)
{
    unsigned ok = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t nt, wait;
        if (throttle_gcra(*tat, start + i * step, interval, tol, &nt, &wait)) {
            *tat = nt;
            ok++;
        }
    }
    return ok;
}

static void test_gcra(void)
{
    uint64_t interval = S / 50, tol = interval * 10; /* 50/s, burst 10 */
    uint64_t tat = 0, nt = 0, wait = 0;

    /* a burst at one instant: exactly `burst` allowed */
    CHECK_INT(run(&tat, 100 * S, 0, 100, interval, tol), 10);
    /* the next one waits one interval */
    CHECK(!throttle_gcra(tat, 100 * S, interval, tol, &nt, &wait));
    CHECK_INT(wait, interval);
    CHECK(throttle_gcra(tat, 100 * S + interval, interval, tol, &nt, &wait));

    /* 10 s of requests every 1 ms from an idle bucket: burst + rate x 10 s */
    tat = 0;
    CHECK_INT(run(&tat, 200 * S, S / 1000, 10001, interval, tol), 10 + 500);

    /* slower than the rate: all pass */
    tat = 0;
    CHECK_INT(run(&tat, 300 * S, interval, 1000, interval, tol), 1000);

    /* an idle bucket refills to burst, never beyond */
    tat = 0;
    run(&tat, 400 * S, 0, 10, interval, tol);
    CHECK_INT(run(&tat, 500 * S, 0, 100, interval, tol), 10);

    /* rate 1/s, burst 1: the wait for the second is a second */
    tat = 0;
    CHECK(throttle_gcra(tat, 10 * S, S, S, &nt, &wait));
    tat = nt;
    CHECK(!throttle_gcra(tat, 10 * S + 1, S, S, &nt, &wait));
    CHECK_INT(wait, S - 1);

    CHECK_INT(throttle_retry_after_s(0), 1);
    CHECK_INT(throttle_retry_after_s(1), 1);
    CHECK_INT(throttle_retry_after_s(S), 1);
    CHECK_INT(throttle_retry_after_s(S + 1), 2);
    CHECK_INT(throttle_retry_after_s(86400 * S), 86400);
}

#define BASE(routes_extra, alias_extra, top)                                                       \
    "{\"listen\": [{\"address\": \"127.0.0.1:8080\"}],\n" top                                      \
    " \"functions\": {\"f\": {\"versions\": {\"1\": {\"handler\": {\"type\": \"http\", "           \
    "\"url\": \"http://127.0.0.1:9001\"}}},\n"                                                     \
    "   \"aliases\": {\"live\": {\"version\": \"1\"" alias_extra "}}}},\n"                         \
    " \"routes\": [{\"route\": \"GET /a\", \"target\": \"f:live\"" routes_extra "}]}\n"

static struct config *load(const char *text, const char *want_err)
{
    struct config_errors errs = { 0 };
    struct config *c = config_load_string(text, "t.json", &errs);
    int found = want_err == NULL;

    for (size_t i = 0; i < errs.n; i++) {
        char line[2048];
        snprintf(line, sizeof(line), "%s: %s", errs.v[i].path, errs.v[i].message);
        if (want_err && strstr(line, want_err))
            found = 1;
        else if (!want_err)
            fprintf(stderr, "unexpected: %s\n", line);
    }
    CHECKF(found, "no error containing \"%s\"", want_err ? want_err : "");
    config_errors_clear(&errs);
    return c;
}

static void test_config(void)
{
    char keys[] = "/tmp/sluice-test-throttle-XXXXXX";
    int fd = mkstemp(keys);
    char text[4096], plans[1024];
    struct config *c, *c2;
    FILE *f;

    CHECK(fd >= 0);
    f = fdopen(fd, "w");
    fputs("# gold keys\n\n  key-aaaaaaaaaaaaaaaaaaaaaaa1  \nkey-aaaaaaaaaaaaaaaaaaaaaaa2\r\n", f);
    fclose(f);
    setenv("SLUICE_TEST_KEYS", "key-bbbbbbbbbbbbbbbbbbbbbbb1, key-bbbbbbbbbbbbbbbbbbbbbbb2", 1);

    snprintf(
        plans, sizeof(plans),
        " \"usage_plans\": {\"gold\": {\"rate_per_s\": 5, \"burst\": 10, \"daily_quota\": 3,"
        " \"api_keys_file\": \"%s\"}, \"silver\": {\"api_keys_env\": \"SLUICE_TEST_KEYS\"}},\n",
        keys);
    snprintf(
        text, sizeof(text),
        BASE(", \"throttle\": {\"rate_per_s\": 50, \"burst\": 10}, \"usage_plan_required\": true",
             ", \"throttle\": {\"rate_per_s\": 7, \"burst\": 3}", "%s"),
        plans);
    c = load(text, NULL);
    CHECK(c != NULL);
    if (c) {
        CHECK(c->routes[0].throttle.enabled);
        CHECK_INT(c->routes[0].throttle.rate_per_s, 50);
        CHECK_INT(c->routes[0].throttle.burst, 10);
        CHECK(c->routes[0].usage_plan_required);
        CHECK_INT(c->functions[0].aliases[0].throttle.rate_per_s, 7);
        CHECK_INT(c->nusage_plans, 2);
        CHECK_INT(c->usage_plans[0].nkeys, 2);
        CHECK_STR(c->usage_plans[0].keys[1], "key-aaaaaaaaaaaaaaaaaaaaaaa2");
        CHECK_INT(c->usage_plans[0].daily_quota, 3);
        CHECK(c->usage_plans[0].throttle.enabled);
        CHECK_INT(c->usage_plans[1].nkeys, 2);
        CHECK(!c->usage_plans[1].throttle.enabled);

        /* attach, reload: the same buckets */
        CHECK_INT(throttle_attach(c), 0);
        c2 = load(text, NULL);
        if (c2) {
            CHECK_INT(throttle_attach(c2), 0);
            CHECK(c2->routes[0].bucket == c->routes[0].bucket);
            CHECK(c2->routes[0].bucket != NULL);
            CHECK(c2->functions[0].aliases[0].bucket == c->functions[0].aliases[0].bucket);
            CHECK(c2->usage_plans[0].buckets[1] == c->usage_plans[0].buckets[1]);
            CHECK(c2->usage_plans[0].buckets[0] != c->usage_plans[0].buckets[1]);
            config_unref(c2);
        }
        config_unref(c);
    }

    /* errors, with their paths */
    load(BASE(", \"throttle\": {\"rate_per_s\": 0, \"burst\": 1}", "", ""),
         "routes[0].throttle.rate_per_s");
    load(BASE(", \"throttle\": {\"rate_per_s\": 1}", "", ""), "routes[0].throttle");
    load(BASE(", \"throttle\": {\"rate_per_s\": 1, \"burst\": 1, \"x\": 1}", "", ""),
         "routes[0].throttle");
    load(BASE("", ", \"throttle\": 5", ""), "functions.f.aliases.live.throttle");
    load(BASE(", \"usage_plan_required\": true", "", ""), "usage_plan_required needs");
    load(BASE(", \"usage_plan_required\": 1", "", ""), "routes[0].usage_plan_required");
    load(BASE("", "", " \"usage_plans\": {\"p\": {\"api_keys_env\": \"SLUICE_NOPE_NOT_SET\"}},\n"),
         "usage_plans.p.api_keys_env");
    load(BASE("", "",
              " \"usage_plans\": {\"p\": {\"rate_per_s\": 3, \"api_keys_env\": "
              "\"SLUICE_TEST_KEYS\"}},\n"),
         "rate_per_s and burst go together");
    load(BASE("", "", " \"usage_plans\": {\"p\": {}},\n"), "exactly one of");
    setenv("SLUICE_TEST_SHORT", "short", 1);
    load(BASE("", "", " \"usage_plans\": {\"p\": {\"api_keys_env\": \"SLUICE_TEST_SHORT\"}},\n"),
         "20 to 128 printable");
    load(BASE("", "",
              " \"usage_plans\": {\"p\": {\"api_keys_env\": \"SLUICE_TEST_KEYS\"},"
              " \"q\": {\"api_keys_env\": \"SLUICE_TEST_KEYS\"}},\n"),
         "listed twice");
    unlink(keys);
}

int main(void)
{
    test_gcra();
    test_config();
    throttle_shutdown();
    return unit_done("test_throttle");
}
