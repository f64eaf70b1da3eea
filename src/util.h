/* util.h - small helpers shared by every module: byte slices, bounded
 * string building, checked allocation. Nothing here allocates behind the
 * caller's back except the xmalloc family, which aborts on failure only in
 * start-up code paths that say so. */
#ifndef SLUICE_UTIL_H
#define SLUICE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct evbuffer;

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

/* Returns 1 when p[0..n) equals lc[0..n) ASCII case-insensitively, where
 * lc (at least n readable bytes) holds only lower-case letters, digits and
 * '-', as header names compared in hot paths do. A word at a time: a
 * letter position of lc lets bit 0x20 differ, every other byte must match
 * exactly. */
static inline int ascii_eq_lc(const char *p, const char *lc, size_t n)
{
    const uint64_t b6 = 0x4040404040404040ull; /* set in a..z, not in 0-9 nor '-' */
    uint64_t x, l;

    if (n >= 8) {
        size_t i = 0;
        for (; n - i > 8; i += 8) {
            memcpy(&x, p + i, 8);
            memcpy(&l, lc + i, 8);
            if ((x | ((l & b6) >> 1)) != l)
                return 0;
        }
        /* the last 8 bytes, overlapping what was compared */
        memcpy(&x, p + n - 8, 8);
        memcpy(&l, lc + n - 8, 8);
        return (x | ((l & b6) >> 1)) == l;
    }
    if (n >= 4) {
        uint32_t x1, x2, l1, l2;
        memcpy(&x1, p, 4);
        memcpy(&l1, lc, 4);
        memcpy(&x2, p + n - 4, 4);
        memcpy(&l2, lc + n - 4, 4);
        return (x1 | ((l1 & 0x40404040u) >> 1)) == l1 && (x2 | ((l2 & 0x40404040u) >> 1)) == l2;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i], k = (unsigned char)lc[i];
        if ((unsigned char)(c | ((k & 0x40) >> 1)) != k)
            return 0;
    }
    return 1;
}

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

/* Writes v in decimal to out (at least U64_DEC_MAX bytes; no NUL) and
 * returns the number of digits written, 1 to 20. */
#define U64_DEC_MAX 20
size_t u64_to_dec(char *out, uint64_t v);

/* Same for a signed value: a leading '-' when negative, 1 to 20 bytes. */
size_t i64_to_dec(char *out, int64_t v);

/* Writing a head of known maximum size into an evbuffer with one copy at
 * most: evb_write_begin() returns where to write at most bound bytes: stack
 * (of cap bytes) when they fit, else space reserved in out itself (NULL
 * when that fails: out of memory); evb_write_end() then adds the len bytes
 * written at start to out, in one evbuffer_add() or by committing the
 * reserved space. Nothing may be added to out in between. evb_write_end()
 * returns 0, or -1 when out of memory; it aborts when len > bound, since
 * then the bound was wrong and memory past it already overwritten. */
char *evb_write_begin(struct evbuffer *out, char *stack, size_t cap, size_t bound);
int evb_write_end(struct evbuffer *out, const char *stack, char *start, size_t len, size_t bound);

/* Appends s[0..n) at p and returns the new end; s may be NULL when n is 0.
 * Header names and values are short: up to 16 bytes are copied inline
 * with two overlapping moves, sparing a call to memcpy(). */
static inline char *put_mem(char *p, const void *s, size_t n)
{
    const char *q = s;

    if (n > 16) {
        memcpy(p, q, n);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, q, 8);
        memcpy(&b, q + n - 8, 8);
        memcpy(p, &a, 8);
        memcpy(p + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, q, 4);
        memcpy(&b, q + n - 4, 4);
        memcpy(p, &a, 4);
        memcpy(p + n - 4, &b, 4);
    } else if (n) {
        p[0] = q[0];
        p[n / 2] = q[n / 2];
        p[n - 1] = q[n - 1];
    }
    return p + n;
}

#define put_lit(p, s) put_mem((p), (s), sizeof(s) - 1)

static inline char *put_slice(char *p, struct slice s)
{
    return put_mem(p, s.ptr, s.len);
}

/* Monotonic clock in milliseconds / microseconds. */
uint64_t now_ms(void);
uint64_t now_us(void);

#endif
