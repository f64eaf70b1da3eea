/* test_breaker.c - the circuit breaker's state machine: opening after a
 * run of failures (a success resets the run), refusing during the
 * cool-down with Retry-After, one probe when half-open, closing on the
 * probe's success, opening again on its failure, a lost probe replaced,
 * failures = 0 never opening, and the process-wide registry by address. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "breaker.h"
#include "unit.h"

static void test_opens_after_run(void)
{
    struct breaker *b = breaker_new("t");
    uint32_t ra = 0;

    for (int i = 0; i < 4; i++) {
        CHECK_INT(breaker_allow(b, 1000, 5000, &ra), BREAKER_ALLOW);
        breaker_record(b, 0, 0, 1000, 5, 5000);
    }
    breaker_record(b, 0, 1, 1000, 5, 5000); /* a success resets the run */
    for (int i = 0; i < 4; i++)
        breaker_record(b, 0, 0, 1000, 5, 5000);
    CHECK_STR(breaker_state_name(b), "closed");
    breaker_record(b, 0, 0, 1000, 5, 5000);
    CHECK_STR(breaker_state_name(b), "open");
    CHECK_INT(breaker_allow(b, 1000, 5000, &ra), BREAKER_DENY);
    CHECK_INT(ra, 5);
    CHECK_INT(breaker_allow(b, 5500, 5000, &ra), BREAKER_DENY);
    CHECK_INT(ra, 1);
    /* late results of requests let through before it opened change nothing */
    breaker_record(b, 0, 1, 2000, 5, 5000);
    CHECK_STR(breaker_state_name(b), "open");
    breaker_free(b);
}

static void test_probe(void)
{
    struct breaker *b = breaker_new("t");
    uint32_t ra = 0;

    breaker_record(b, 0, 0, 0, 1, 1000);
    CHECK_STR(breaker_state_name(b), "open");
    CHECK_INT(breaker_allow(b, 999, 1000, &ra), BREAKER_DENY);
    CHECK_INT(breaker_allow(b, 1000, 1000, &ra), BREAKER_PROBE);
    CHECK_STR(breaker_state_name(b), "half-open");
    /* one probe at a time */
    CHECK_INT(breaker_allow(b, 1001, 1000, &ra), BREAKER_DENY);
    CHECK_INT(ra, 1);
    /* the probe fails: open again for a full cool-down */
    breaker_record(b, 1, 0, 1100, 1, 1000);
    CHECK_STR(breaker_state_name(b), "open");
    CHECK_INT(breaker_allow(b, 2000, 1000, &ra), BREAKER_DENY);
    CHECK_INT(breaker_allow(b, 2100, 1000, &ra), BREAKER_PROBE);
    /* a non-probe result does not close it */
    breaker_record(b, 0, 1, 2150, 1, 1000);
    CHECK_STR(breaker_state_name(b), "half-open");
    breaker_record(b, 1, 1, 2200, 1, 1000);
    CHECK_STR(breaker_state_name(b), "closed");
    CHECK_INT(breaker_allow(b, 2201, 1000, &ra), BREAKER_ALLOW);
    breaker_free(b);
}

static void test_lost_probe(void)
{
    struct breaker *b = breaker_new("t");

    breaker_record(b, 0, 0, 0, 1, 1000);
    CHECK_INT(breaker_allow(b, 1000, 1000, NULL), BREAKER_PROBE);
    breaker_cancel_probe(b); /* the client went away */
    CHECK_INT(breaker_allow(b, 1001, 1000, NULL), BREAKER_PROBE);
    /* a probe that never reports is replaced after its deadline */
    CHECK_INT(breaker_allow(b, 1500, 1000, NULL), BREAKER_DENY);
    CHECK_INT(breaker_allow(b, 2001, 1000, NULL), BREAKER_PROBE);
    breaker_free(b);
}

static void test_off(void)
{
    struct breaker *b = breaker_new("t");

    for (int i = 0; i < 100; i++)
        breaker_record(b, 0, 0, 0, 0, 1000);
    CHECK_STR(breaker_state_name(b), "closed");
    breaker_free(b);
    breaker_free(NULL);
}

static void test_registry(void)
{
    struct sockaddr_in a = { 0 }, c = { 0 };
    struct breaker *b1, *b2, *b3;

    a.sin_family = AF_INET;
    a.sin_port = htons(9001);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    c = a;
    c.sin_port = htons(9002);
    b1 = breaker_get((struct sockaddr *)&a, sizeof(a));
    b2 = breaker_get((struct sockaddr *)&a, sizeof(a));
    b3 = breaker_get((struct sockaddr *)&c, sizeof(c));
    CHECK(b1 && b1 == b2);
    CHECK(b3 && b3 != b1);
}

int main(void)
{
    test_opens_after_run();
    test_probe();
    test_lost_probe();
    test_off();
    test_registry();
    return unit_done("test_breaker");
}
