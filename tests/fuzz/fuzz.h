/* fuzz.h - what every fuzz target in tests/fuzz/ shares: the libFuzzer entry
 * points (declared here so -Wmissing-prototypes is satisfied) and a check
 * that aborts, so a broken invariant is a crash libFuzzer keeps the input of.
 *
 * A target is built two ways: with clang -fsanitize=fuzzer by
 * contrib/fuzz.sh (libFuzzer provides main()), and with replay.c by
 * `make check`, which runs every committed corpus file through it. */
#ifndef SLUICE_FUZZ_H
#define SLUICE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the code under test: a failure is a finding. */
#define FUZZ_CHECK(cond)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

#endif
