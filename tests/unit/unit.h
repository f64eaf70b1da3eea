/* unit.h - the smallest table-friendly test harness: CHECK records a
 * failure with file and line and goes on; unit_done() prints a summary and
 * gives the exit status automake's test driver reads (0 pass, 1 fail). */
#ifndef SLUICE_UNIT_H
#define SLUICE_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_checks, unit_failures;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        unit_checks++;                                                                    \
        if (!(cond)) {                                                                    \
            unit_failures++;                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                                 \
    } while (0)

#define CHECKF(cond, ...)                                                                 \
    do {                                                                                  \
        unit_checks++;                                                                    \
        if (!(cond)) {                                                                    \
            unit_failures++;                                                              \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                          \
        }                                                                                 \
    } while (0)

#define CHECK_INT(a, b)                                                                   \
    do {                                                                                  \
        long long unit_a_ = (long long)(a), unit_b_ = (long long)(b);                     \
        CHECKF(unit_a_ == unit_b_, "%s = %lld, expected %lld", #a, unit_a_, unit_b_);     \
    } while (0)

#define CHECK_STR(a, b)                                                                   \
    do {                                                                                  \
        const char *unit_a_ = (a), *unit_b_ = (b);                                        \
        CHECKF(unit_a_ && unit_b_ && strcmp(unit_a_, unit_b_) == 0, "%s = \"%s\", expected \"%s\"", \
               #a, unit_a_ ? unit_a_ : "(null)", unit_b_ ? unit_b_ : "(null)");           \
    } while (0)

static inline int unit_done(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, unit_checks, unit_failures);
    return unit_failures ? 1 : 0;
}

#endif
