/* util.c - byte slices, bounded formatting, integer parsing, clocks. */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

static inline unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

int slice_eq(struct slice a, struct slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

int slice_eq_nocase(struct slice a, struct slice b)
{
    if (a.len != b.len)
        return 0;
    for (size_t i = 0; i < a.len; i++)
        if (ascii_lower((unsigned char)a.ptr[i]) != ascii_lower((unsigned char)b.ptr[i]))
            return 0;
    return 1;
}

int slice_eq_cstr(struct slice s, const char *c)
{
    return slice_eq(s, (struct slice){ c, strlen(c) });
}

int slice_eq_cstr_nocase(struct slice s, const char *c)
{
    return slice_eq_nocase(s, (struct slice){ c, strlen(c) });
}

struct slice slice_trim(struct slice s)
{
    while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
        s.ptr++;
        s.len--;
    }
    while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
        s.len--;
    return s;
}

char *slice_dup(struct slice s)
{
    char *p = malloc(s.len + 1);
    if (!p)
        return NULL;
    if (s.len)
        memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}

int fmt_buf(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (cap == 0)
        return -1;
    va_start(ap, fmt);
    n = vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
    if (n < 0) {
        dst[0] = '\0';
        return -1;
    }
    return (size_t)n < cap ? n : -1;
}

int str_append(char *dst, size_t cap, const char *src)
{
    size_t have = strnlen(dst, cap);
    size_t add = strlen(src);

    if (have >= cap)
        return -1;
    if (add >= cap - have) {
        memcpy(dst + have, src, cap - have - 1);
        dst[cap - 1] = '\0';
        return -1;
    }
    memcpy(dst + have, src, add + 1);
    return 0;
}

int parse_u64(struct slice s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (s.len == 0 || s.len > 20)
        return -1;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char)s.ptr[i] - '0';
        if (d > 9)
            return -1;
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

static const char dec_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";

/* The number of decimal digits of v. */
static inline size_t dec_digits(uint64_t v)
{
    size_t n = 1;

    for (;;) {
        if (v < 10)
            return n;
        if (v < 100)
            return n + 1;
        if (v < 1000)
            return n + 2;
        if (v < 10000)
            return n + 3;
        v /= 10000;
        n += 4;
    }
}

size_t u64_to_dec(char *out, uint64_t v)
{
    size_t n = dec_digits(v);
    char *p = out + n;

    /* two digits at a time, from the last */
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100) * 2;
        v /= 100;
        p -= 2;
        p[0] = dec_pairs[r];
        p[1] = dec_pairs[r + 1];
    }
    if (v >= 10) {
        p[-2] = dec_pairs[v * 2];
        p[-1] = dec_pairs[v * 2 + 1];
    } else {
        p[-1] = (char)('0' + v);
    }
    return n;
}

size_t i64_to_dec(char *out, int64_t v)
{
    if (v >= 0)
        return u64_to_dec(out, (uint64_t)v);
    out[0] = '-';
    /* the magnitude of INT64_MIN does not fit in an int64_t */
    return 1 + u64_to_dec(out + 1, 0 - (uint64_t)v);
}

char *evb_write_begin(struct evbuffer *out, char *stack, size_t cap, size_t bound)
{
    struct evbuffer_iovec v;

    if (bound <= cap)
        return stack;
    if (bound > (size_t)EV_SSIZE_MAX || evbuffer_reserve_space(out, (ev_ssize_t)bound, &v, 1) != 1)
        return NULL;
    return v.iov_base;
}

int evb_write_end(struct evbuffer *out, const char *stack, char *start, size_t len, size_t bound)
{
    struct evbuffer_iovec v;

    if (len > bound)
        abort();
    if (start == stack)
        return len ? evbuffer_add(out, start, len) : 0;
    v.iov_base = start;
    v.iov_len = len;
    return evbuffer_commit_space(out, &v, 1);
}

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
