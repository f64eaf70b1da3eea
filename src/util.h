/* util.h - small helpers shared by every module: byte slices, bounded
 * string building, checked allocation. Nothing here allocates behind the
 * caller's back except the xmalloc family, which aborts on failure only in
 * start-up code paths that say so. */
#ifndef SLUICE_UTIL_H
#define SLUICE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* A view of bytes owned by someone else. Never NUL-terminated by contract. */
struct slice {
    const char *ptr;
    size_t len;
};

#define SLICE_LIT(s) ((struct slice){ (s), sizeof(s) - 1 })
#define SLICE_NULL ((struct slice){ NULL, 0 })

/* Returns 1 when a and b hold the same bytes, else 0. */
int slice_eq(struct slice a, struct slice b);
/* Same, ASCII case-insensitively. */
int slice_eq_nocase(struct slice a, struct slice b);
/* Returns 1 when s equals the NUL-terminated c string. */
int slice_eq_cstr(struct slice s, const char *c);
int slice_eq_cstr_nocase(struct slice s, const char *c);
/* Returns a slice with leading and trailing SP / HTAB removed. */
struct slice slice_trim(struct slice s);

/* strdup of a slice; returns NULL when out of memory. Caller frees. */
char *slice_dup(struct slice s);

/* Bounded formatting: writes at most cap bytes including the NUL, always
 * terminates (when cap > 0), and returns the number of bytes written
 * without the NUL, or -1 when the output did not fit (it is truncated). */
int fmt_buf(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Appends src to the NUL-terminated dst of capacity cap. Returns 0, or -1
 * when it did not fit (dst is left truncated but terminated). */
int str_append(char *dst, size_t cap, const char *src);

/* Parses a non-negative decimal integer made only of digits, no sign, no
 * spaces, at most max. Returns 0 and sets *out, or -1. */
int parse_u64(struct slice s, uint64_t max, uint64_t *out);

/* Monotonic clock in milliseconds / microseconds. */
uint64_t now_ms(void);
uint64_t now_us(void);

#endif
