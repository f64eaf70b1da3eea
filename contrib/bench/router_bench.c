/* router_bench.c - shows that a lookup costs the same with 10 routes as
 * with 10,000: the router walks path segments, not the route list.
 * Built and run by `make bench-router`; prints ns per lookup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "router.h"
#include "util.h"

static double bench(size_t nroutes, size_t lookups, int same)
{
    struct router *r = router_new();
    char tmpl[64], path[64], err[128];
    struct router_match m;
    struct timespec a, b;
    size_t found = 0;

    if (!r)
        abort();
    for (size_t i = 0; i < nroutes; i++) {
        fmt_buf(tmpl, sizeof(tmpl), "/r%zu/items/{id}", i);
        if (router_add(r, "GET", tmpl, (void *)(i + 1), err, sizeof(err)) < 0) {
            fprintf(stderr, "router_add: %s\n", err);
            exit(1);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (size_t i = 0; i < lookups; i++) {
        int n = fmt_buf(path, sizeof(path), "/r%zu/items/42", same ? nroutes - 1 : (i * 7919) % nroutes);
        if (router_match(r, SLICE_LIT("GET"), (struct slice){ path, (size_t)n }, &m, NULL, 0) ==
            ROUTER_FOUND)
            found++;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    router_free(r);
    if (found != lookups) {
        fprintf(stderr, "only %zu of %zu lookups matched\n", found, lookups);
        exit(1);
    }
    return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)lookups;
}

int main(void)
{
    static const size_t sizes[] = { 10, 100, 1000, 10000 };
    size_t lookups = 2000000;

    /* "spread" looks routes up all over the table, so a large table also
     * measures cache misses; "one route" repeats the last route added,
     * which isolates the walk itself. Both include formatting the path. */
    printf("%10s %18s %18s\n", "routes", "ns/lookup spread", "ns/lookup one route");
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        printf("%10zu %18.1f %18.1f\n", sizes[i], bench(sizes[i], lookups, 0),
               bench(sizes[i], lookups, 1));
    return 0;
}
