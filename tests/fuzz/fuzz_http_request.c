/* fuzz_http_request.c - the request head parser and the head-end scanner.
 *
 * Input: raw bytes as a client would send them. The target
 *   1. finds the end of the head with http_head_end() in one call, checks it
 *      against a plain search for "\r\n\r\n", then again fed a few bytes at a
 *      time (split points taken from the input), as a slow client would;
 *   2. parses the head it found with http_parse_request() (the server's way),
 *      and parses the whole input too (the parser must never read outside
 *      what it is given, whatever the buffer holds), the second time with a
 *      tiny URI limit from the input length so 414 is reached;
 *   3. on success checks what a smuggling-proof parser promises: every slice
 *      inside the buffer, names made of tchars, values without CR/LF/NUL,
 *      Content-Length present exactly when a Content-Length field is and
 *      equal to its value, chunked exactly when Transfer-Encoding is there,
 *      never both, no Content_Length look-alike, no dot-segment in the path,
 *      a Host on HTTP/1.1. */
#include <string.h>

#include "fuzz.h"
#include "http_parser.h"

static int in_buf(struct slice s, const char *buf, size_t len)
{
    if (!s.ptr)
        return s.len == 0;
    return s.ptr >= buf && s.len <= len && (size_t)(s.ptr - buf) <= len - s.len;
}

/* RFC 9110 tchar, written out independently of the parser's table. */
static int ref_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* field-vchar / SP / HTAB / obs-text */
static int ref_fval(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* 1: name is lc case-insensitively; 2: it is, reading some '_' as '-'. */
static int ref_name(struct slice name, const char *lc)
{
    int under = 0;

    if (name.len != strlen(lc))
        return 0;
    for (size_t i = 0; i < name.len; i++) {
        int c = lower((unsigned char)name.ptr[i]);
        if (c == '_' && lc[i] == '-')
            under = 1;
        else if (c != lc[i])
            return 0;
    }
    return under ? 2 : 1;
}

/* The value of a Content-Length list ("5", "5, 5"): -1 when malformed or
 * the elements differ. */
static int64_t ref_cl_value(struct slice v, int64_t prev)
{
    size_t i = 0;

    for (;;) {
        uint64_t x = 0;
        size_t start;
        while (i < v.len && (v.ptr[i] == ' ' || v.ptr[i] == '\t'))
            i++;
        start = i;
        while (i < v.len && v.ptr[i] >= '0' && v.ptr[i] <= '9') {
            if (x > (uint64_t)INT64_MAX / 10 ||
                x * 10 > (uint64_t)INT64_MAX - (uint64_t)(v.ptr[i] - '0'))
                return -1;
            x = x * 10 + (uint64_t)(v.ptr[i] - '0');
            i++;
        }
        if (i == start)
            return -1;
        while (i < v.len && (v.ptr[i] == ' ' || v.ptr[i] == '\t'))
            i++;
        if (prev >= 0 && (uint64_t)prev != x)
            return -1;
        prev = (int64_t)x;
        if (i == v.len)
            return prev;
        if (v.ptr[i] != ',')
            return -1;
        i++;
    }
}

static int hexv(int c)
{
    c = lower(c);
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* 1 when the path has no dot-segment ("." or "..", also %2e-encoded, with
 * '/', '\\', %2f or %5c as separators) and no bad or NUL escape. */
static int ref_path_safe(struct slice p)
{
    size_t seg_dots = 0, seg_len = 0;

    for (size_t i = 0; i <= p.len;) {
        int c, sep;
        if (i == p.len) {
            c = '/';
            i++;
        } else if (p.ptr[i] == '%') {
            int hi, lo;
            if (p.len - i < 3 || (hi = hexv((unsigned char)p.ptr[i + 1])) < 0 ||
                (lo = hexv((unsigned char)p.ptr[i + 2])) < 0 || hi * 16 + lo == 0)
                return 0;
            c = hi * 16 + lo;
            i += 3;
        } else {
            c = (unsigned char)p.ptr[i++];
        }
        sep = c == '/' || c == '\\';
        if (sep) {
            if (seg_len > 0 && seg_len == seg_dots && seg_dots <= 2)
                return 0;
            seg_len = seg_dots = 0;
        } else {
            seg_len++;
            seg_dots += c == '.';
        }
    }
    return 1;
}

static void check_request(const char *buf, size_t len, int rc, const struct http_request_head *h)
{
    int64_t cl = -1;
    int has_cl = 0, has_te = 0, nhost = 0;

    FUZZ_CHECK(rc == 0 || rc == 400 || rc == 414 || rc == 417 || rc == 431 || rc == 501 ||
               rc == 505);
    if (rc != 0)
        return;
    FUZZ_CHECK(in_buf(h->method, buf, len) && h->method.len > 0);
    FUZZ_CHECK(in_buf(h->target, buf, len) && h->target.len > 0);
    FUZZ_CHECK(h->path.ptr && h->path.len > 0);
    FUZZ_CHECK(in_buf(h->query, buf, len) && in_buf(h->host, buf, len));
    FUZZ_CHECK(h->version_minor == 0 || h->version_minor == 1);
    FUZZ_CHECK(h->nheaders <= HTTP_MAX_HEADERS);
    FUZZ_CHECK(h->method_id == http_method_id(h->method));
    for (size_t i = 0; i < h->method.len; i++)
        FUZZ_CHECK(ref_tchar((unsigned char)h->method.ptr[i]));
    /* every target byte a VCHAR, and no fragment */
    for (size_t i = 0; i < h->target.len; i++) {
        unsigned char c = (unsigned char)h->target.ptr[i];
        FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '#');
    }
    if (h->path.ptr[0] == '/') {
        FUZZ_CHECK(ref_path_safe(h->path));
    } else {
        FUZZ_CHECK(h->path.len == 1 && h->path.ptr[0] == '*' && h->method_id == HTTP_M_OPTIONS);
    }
    for (size_t i = 0; i < h->nheaders; i++) {
        const struct http_header *hd = &h->headers[i];
        int m;
        FUZZ_CHECK(in_buf(hd->name, buf, len) && in_buf(hd->value, buf, len));
        FUZZ_CHECK(hd->name.len > 0);
        for (size_t j = 0; j < hd->name.len; j++)
            FUZZ_CHECK(ref_tchar((unsigned char)hd->name.ptr[j]));
        for (size_t j = 0; j < hd->value.len; j++)
            FUZZ_CHECK(ref_fval((unsigned char)hd->value.ptr[j]));
        if (hd->value.len) {
            FUZZ_CHECK(hd->value.ptr[0] != ' ' && hd->value.ptr[0] != '\t');
            FUZZ_CHECK(hd->value.ptr[hd->value.len - 1] != ' ' &&
                       hd->value.ptr[hd->value.len - 1] != '\t');
        }
        m = ref_name(hd->name, "content-length");
        FUZZ_CHECK(m != 2); /* Content_Length must be refused */
        if (m == 1) {
            has_cl = 1;
            cl = ref_cl_value(hd->value, cl);
            FUZZ_CHECK(cl >= 0);
        }
        m = ref_name(hd->name, "transfer-encoding");
        FUZZ_CHECK(m != 2);
        has_te |= m == 1;
        nhost += ref_name(hd->name, "host") == 1;
        (void)http_header_is_hop_by_hop(hd->name);
        (void)http_list_has_token(hd->value, SLICE_LIT("close"));
    }
    FUZZ_CHECK(has_cl == (h->content_length >= 0));
    FUZZ_CHECK(h->content_length == cl);
    FUZZ_CHECK(has_te == h->chunked);
    if (h->chunked)
        FUZZ_CHECK(h->content_length == -1 && h->version_minor == 1);
    FUZZ_CHECK(nhost <= 1);
    if (h->version_minor == 1)
        FUZZ_CHECK(h->host.ptr != NULL);
    if (h->version_minor == 0)
        FUZZ_CHECK(!h->expect_continue);
}

/* The first "\r\n\r\n" the plain way: the length through it, or 0. */
static size_t ref_head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++)
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
            return i + 4;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct http_parse_limits lim = { .max_uri_bytes = 8192 };
    struct http_request_head *h = malloc(sizeof(*h));
    size_t end, scan = 0, fed = 0;
    int rc;

    if (!h)
        return 0;

    /* 1. the end of the head, at once and a few bytes at a time */
    end = http_head_end(buf, size, NULL);
    FUZZ_CHECK(end == ref_head_end(buf, size));
    while (fed < size) {
        size_t got;
        fed += 1 + (fed ? (unsigned char)buf[fed - 1] % 7 : 0);
        if (fed > size)
            fed = size;
        got = http_head_end(buf, fed, &scan);
        if (got) {
            FUZZ_CHECK(got == end);
            FUZZ_CHECK(scan == 0);
            break;
        }
        FUZZ_CHECK(end == 0 || end > fed);
    }

    /* 2. the head as the server frames it, in a buffer of its own size */
    if (end) {
        char *head = malloc(end);
        if (head) {
            memcpy(head, buf, end);
            rc = http_parse_request(head, end, &lim, h);
            check_request(head, end, rc, h);
            free(head);
        }
    }
    /* the whole input, whatever it holds, with a small URI limit */
    lim.max_uri_bytes = size % 64;
    rc = http_parse_request(buf, size, size & 1 ? &lim : NULL, h);
    check_request(buf, size, rc, h);
    if (rc == 414)
        FUZZ_CHECK(size & 1);
    free(h);
    return 0;
}
