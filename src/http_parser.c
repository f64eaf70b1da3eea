/* http_parser.c - strict HTTP/1.1 head parsing and chunked decoding (see http_parser.h). */
#include "http_parser.h"

#include <limits.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <event2/buffer.h>

/* Byte classes, computed at compile time so the hot loops are one load and
 * one test per byte. */
enum {
    CC_TCHAR = 1,   /* token (RFC 9110 5.6.2): method, field name, coding */
    CC_FVAL = 2,    /* field value / reason phrase: HTAB, SP, VCHAR, obs-text */
    CC_HOST = 4,    /* authority (RFC 3986): unreserved, sub-delims, '%', ':', '[', ']' */
    CC_TGT = 8,     /* request-target byte: VCHAR but '#' */
    CC_DOTPCT = 16, /* '.' or '%': a path without them has no dot-segment */
    CC_OWS = 32,    /* SP, HTAB */
};

#define IS_ALNUM_(c) \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'A' && (c) <= 'Z') || ((c) >= 'a' && (c) <= 'z'))
#define IS_TCHAR_(c)                                                                         \
    (IS_ALNUM_(c) || (c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' || (c) == '&' ||   \
     (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' || (c) == '^' ||    \
     (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
#define IS_FVAL_(c) ((c) == '\t' || ((c) >= 0x20 && (c) != 0x7f))
#define IS_HOST_(c)                                                                          \
    (IS_ALNUM_(c) || (c) == '-' || (c) == '.' || (c) == '_' || (c) == '~' || (c) == '%' ||   \
     (c) == '!' || (c) == '$' || (c) == '&' || (c) == '\'' || (c) == '(' || (c) == ')' ||    \
     (c) == '*' || (c) == '+' || (c) == ',' || (c) == ';' || (c) == '=' || (c) == ':' ||     \
     (c) == '[' || (c) == ']')
#define IS_TGT_(c) ((c) >= 0x21 && (c) <= 0x7e && (c) != '#')
#define CC_(c)                                                                                     \
    ((IS_TCHAR_(c) ? CC_TCHAR : 0) | (IS_FVAL_(c) ? CC_FVAL : 0) | (IS_HOST_(c) ? CC_HOST : 0) |   \
     (IS_TGT_(c) ? CC_TGT : 0) | ((c) == '.' || (c) == '%' ? CC_DOTPCT : 0) |                      \
     ((c) == ' ' || (c) == '\t' ? CC_OWS : 0))
#define CC4_(c) CC_(c), CC_((c) + 1), CC_((c) + 2), CC_((c) + 3)
#define CC16_(c) CC4_(c), CC4_((c) + 4), CC4_((c) + 8), CC4_((c) + 12)

static const unsigned char char_class[256] = {
    CC16_(0x00), CC16_(0x10), CC16_(0x20), CC16_(0x30), CC16_(0x40), CC16_(0x50),
    CC16_(0x60), CC16_(0x70), CC16_(0x80), CC16_(0x90), CC16_(0xa0), CC16_(0xb0),
    CC16_(0xc0), CC16_(0xd0), CC16_(0xe0), CC16_(0xf0),
};

static inline int is_tchar(unsigned char c)
{
    return char_class[c] & CC_TCHAR;
}

static inline int is_fval(unsigned char c)
{
    return char_class[c] & CC_FVAL;
}

static inline int is_ows_byte(unsigned char c)
{
    return char_class[c] & CC_OWS;
}

static inline int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static inline int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* ------------------------------------------------------------ fields */

/* Returns the offset of the first byte at or after pos that is not a
 * tchar, or len. With SSE2, sixteen bytes at a time while all are letters,
 * digits or '-' (as field names are); the byte that ends such a run is
 * then looked at with the table like any other. */
static inline size_t scan_tchar(const unsigned char *b, size_t pos, size_t len)
{
#ifdef __SSE2__
    while (len - pos >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + pos));
        __m128i l = _mm_or_si128(x, _mm_set1_epi8(0x20));
        /* signed compares: bytes >= 0x80 are negative and never pass */
        __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(l, _mm_set1_epi8('a' - 1)),
                                       _mm_cmplt_epi8(l, _mm_set1_epi8('z' + 1)));
        __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
                                      _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
        __m128i dash = _mm_cmpeq_epi8(x, _mm_set1_epi8('-'));
        unsigned other =
            (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), dash)) ^ 0xffffu;
        if (!other) {
            pos += 16;
            continue;
        }
        pos += (size_t)__builtin_ctz(other);
        if (!is_tchar(b[pos]))
            return pos;
        pos++; /* another tchar ('_', '.', ...) */
    }
#endif
    while (len - pos >= 4) {
        if (!is_tchar(b[pos]))
            return pos;
        if (!is_tchar(b[pos + 1]))
            return pos + 1;
        if (!is_tchar(b[pos + 2]))
            return pos + 2;
        if (!is_tchar(b[pos + 3]))
            return pos + 3;
        pos += 4;
    }
    while (pos < len && is_tchar(b[pos]))
        pos++;
    return pos;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HP_SWAR 1
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* For each byte of t (all < 0x80): 0x80 when it lies in [lo, hi], else 0.
 * No carry crosses a byte, so every byte's answer is exact. */
static inline uint64_t swar_in(uint64_t t, unsigned lo, unsigned hi)
{
    return (t + (0x80 - lo) * ONES) & ~(t + (0x7f - hi) * ONES) & HIGHS;
}
#endif

/* Returns the offset of the first byte at or after pos that is not a
 * request-target byte (CC_TGT: VCHAR but '#'), or len. *dotpct becomes 1
 * when a byte before it is '.' or '%'. */
static inline size_t scan_target(const unsigned char *b, size_t pos, size_t len, int *dotpct)
{
    unsigned classes = 0;

#ifdef HP_SWAR
    uint64_t dots = 0;

    while (len - pos >= 8) {
        uint64_t x, t, good, bad, dp;
        memcpy(&x, b + pos, 8);
        t = x & (0x7f * ONES);
        good = swar_in(t, 0x21, 0x7e) & ~swar_in(t, '#', '#') & ~x;
        dp = swar_in(t, '.', '.') | swar_in(t, '%', '%');
        bad = ~good & HIGHS;
        if (!bad) {
            dots |= dp;
            pos += 8;
            continue;
        }
        /* the first bad byte ends the target; count dots before it only */
        bad = (uint64_t)__builtin_ctzll(bad);
        dots |= dp & ((1ull << bad) - 1);
        *dotpct = dots != 0;
        return pos + (size_t)(bad >> 3);
    }
    classes = dots ? CC_DOTPCT : 0;
#endif
    while (pos < len && (char_class[b[pos]] & CC_TGT))
        classes |= char_class[b[pos++]];
    *dotpct = (classes & CC_DOTPCT) != 0;
    return pos;
}

/* Returns the offset of the first byte at or after pos that is not a
 * field-value byte (is_fval), or len. Eight bytes at a time while none is
 * below 0x20 (CTLs, but also HTAB) or DEL; a word with one is finished a
 * byte at a time, so exactly the bytes is_fval() accepts are skipped. */
static inline size_t scan_fval(const unsigned char *b, size_t pos, size_t len)
{
#ifdef __SSE2__
    while (len - pos >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + pos));
        /* x >= 0x20 (unsigned) and x != 0x7f */
        __m128i ok = _mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)),
                                      _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x20)), x));
        unsigned bad = (unsigned)_mm_movemask_epi8(ok) ^ 0xffffu;
        if (!bad) {
            pos += 16;
            continue;
        }
        pos += (size_t)__builtin_ctz(bad);
        if (!is_fval(b[pos]))
            return pos;
        pos++; /* an HTAB */
    }
#endif
#ifdef HP_SWAR
    while (len - pos >= 8) {
        uint64_t x, y, m;
        memcpy(&x, b + pos, 8);
        y = x ^ (0x7f * ONES);
        /* high bit of a byte set at (and, through borrows, maybe above)
         * the first byte < 0x20 or == 0x7f; bytes >= 0x80 never flag */
        m = ((x - 0x20 * ONES) & ~x & HIGHS) | ((y - ONES) & ~y & HIGHS);
        if (!m) {
            pos += 8;
            continue;
        }
        pos += (size_t)__builtin_ctzll(m) >> 3;
        if (!is_fval(b[pos]))
            return pos;
        pos++; /* an HTAB */
    }
#endif
    while (pos < len && is_fval(b[pos]))
        pos++;
    return pos;
}

/* Framing facts gathered from the fields of one message. */
struct framing {
    int64_t cl;           /* -1 when no Content-Length */
    int te_seen;          /* a Transfer-Encoding field was present */
    int te_bad;           /* its list is malformed */
    unsigned te_chunked;  /* how many "chunked" codings */
    unsigned te_other;    /* how many other codings */
    int te_last_chunked;  /* the final coding is chunked */
    int conn_close;
    int conn_keep_alive;
};

/* Compares a field name with a lowercase name, also reading '_' as '-'.
 * Returns 1 on a match, 2 on a match only through '_' (some upstreams map
 * "Content_Length" to the real thing, so it must never pass as a plain
 * field), 0 otherwise. */
static int name_match(struct slice name, const char *lc)
{
    int via_underscore = 0;

    for (size_t i = 0; i < name.len; i++) {
        unsigned char c = (unsigned char)name.ptr[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (c == '_' && lc[i] == '-') {
            via_underscore = 1;
            continue;
        }
        if (c != (unsigned char)lc[i])
            return 0;
    }
    return via_underscore ? 2 : 1;
}

/* Merges one Content-Length value (possibly a list, RFC 9110 8.6) into
 * *cl. Returns 0, or -1 when malformed or different from an earlier one. */
static int cl_merge(struct slice v, int64_t *cl)
{
    size_t i = 0;

    for (;;) {
        uint64_t x = 0;
        size_t start;

        while (i < v.len && is_ows(v.ptr[i]))
            i++;
        start = i;
        while (i < v.len && is_digit((unsigned char)v.ptr[i])) {
            unsigned d = (unsigned)(v.ptr[i] - '0');
            if (x > ((uint64_t)INT64_MAX - d) / 10)
                return -1;
            x = x * 10 + d;
            i++;
        }
        if (i == start)
            return -1;
        while (i < v.len && is_ows(v.ptr[i]))
            i++;
        if (*cl >= 0 && (uint64_t)*cl != x)
            return -1;
        *cl = (int64_t)x;
        if (i == v.len)
            return 0;
        if (v.ptr[i] != ',')
            return -1;
        i++;
    }
}

/* One transfer-coding: token [ OWS ";" parameters ]. chunked takes no
 * parameters; other codings' parameters are not looked at since any other
 * coding is refused anyway. */
static void te_element(struct framing *f, struct slice e)
{
    size_t t = 0;
    struct slice rest;
    int chunked;

    while (t < e.len && is_tchar((unsigned char)e.ptr[t]))
        t++;
    if (t == 0) {
        f->te_bad = 1;
        return;
    }
    chunked = slice_eq_nocase((struct slice){ e.ptr, t }, SLICE_LIT("chunked"));
    rest = slice_trim((struct slice){ e.ptr + t, e.len - t });
    if (rest.len && (rest.ptr[0] != ';' || chunked)) {
        f->te_bad = 1;
        return;
    }
    if (chunked)
        f->te_chunked++;
    else
        f->te_other++;
    f->te_last_chunked = chunked;
}

/* Adds one Transfer-Encoding value to the combined list. Empty elements
 * are errors, not skipped: "chunked," is how smuggling probes look. */
static void te_scan(struct framing *f, struct slice v)
{
    size_t i = 0;

    f->te_seen = 1;
    for (;;) {
        size_t start = i;
        while (i < v.len && v.ptr[i] != ',')
            i++;
        te_element(f, slice_trim((struct slice){ v.ptr + start, i - start }));
        if (i == v.len)
            return;
        i++;
    }
}

/* Matches a field name of the right length against a lower-case name the
 * way name_match() does, quickly when it matches plainly. */
static inline int name_is(struct slice name, const char *lc)
{
    if (ascii_eq_lc(name.ptr, lc, name.len))
        return 1;
    /* a '_' for a '-' (never the first byte) or no match */
    if ((name.ptr[0] | 0x20) != lc[0])
        return 0;
    return name_match(name, lc);
}

/* Connection: the close and keep-alive options. */
static void connection_scan(struct framing *f, struct slice v)
{
    size_t pos = 0;
    struct slice t;

    while (http_list_next(v, &pos, &t)) {
        if (t.len == 5 && ascii_eq_lc(t.ptr, "close", 5))
            f->conn_close = 1;
        else if (t.len == 10 && ascii_eq_lc(t.ptr, "keep-alive", 10))
            f->conn_keep_alive = 1;
    }
}

/* What the fields of one head say about framing, the connection and (in a
 * request) Host and Expect, gathered while they are parsed. */
struct field_facts {
    struct framing f;
    int bad;             /* a framing field is malformed */
    size_t nhost;        /* Host fields (requests) */
    struct slice host;   /* the first one's value */
    int expect_continue; /* Expect: 100-continue seen (requests) */
    int expect_other;    /* another Expect seen (requests) */
    int request;
};

/* Looks at one field: the names that matter are told apart by length
 * first, so most fields cost one switch. */
static void note_field(struct field_facts *ff, const struct http_header *hd)
{
    int m;

    switch (hd->name.len) {
    case 4:
        if (ff->request && ascii_eq_lc(hd->name.ptr, "host", 4)) {
            if (ff->nhost++ == 0)
                ff->host = hd->value;
        }
        break;
    case 6:
        if (ff->request && ascii_eq_lc(hd->name.ptr, "expect", 6)) {
            if (slice_eq_nocase(hd->value, SLICE_LIT("100-continue")))
                ff->expect_continue = 1;
            else
                ff->expect_other = 1;
        }
        break;
    case 10:
        if (ascii_eq_lc(hd->name.ptr, "connection", 10))
            connection_scan(&ff->f, hd->value);
        break;
    case 14:
        m = name_is(hd->name, "content-length");
        if (m && (m == 2 || cl_merge(hd->value, &ff->f.cl) < 0))
            ff->bad = 1;
        break;
    case 17:
        m = name_is(hd->name, "transfer-encoding");
        if (m == 2)
            ff->bad = 1;
        else if (m)
            te_scan(&ff->f, hd->value);
        break;
    default:
        break;
    }
}

/* Parses the field lines from buf[pos] through the empty line, which must
 * end the buffer exactly: bytes after it would mean the caller framed the
 * head differently from us. Notes each field in *ff. Returns 0, 400 or 431. */
static int parse_fields(const char *buf, size_t len, size_t pos, struct http_header *hdrs,
                        size_t *nhdrs, struct field_facts *ff)
{
    const unsigned char *b = (const unsigned char *)buf;
    size_t n = 0;

    for (;;) {
        size_t name, colon, val, end;

        if (pos >= len)
            return 400;
        if (b[pos] == '\r')
            break;
        name = pos;
        pos = scan_tchar(b, pos, len);
        /* An empty name also catches obs-fold (a line starting with SP or
         * HTAB), a bare LF and whitespace before the colon. */
        if (pos == name || pos >= len || b[pos] != ':')
            return 400;
        colon = pos++;
        /* leading and trailing OWS are not part of the value */
        while (pos < len && is_ows_byte(b[pos]))
            pos++;
        val = pos;
        pos = scan_fval(b, pos, len);
        if (len - pos < 2 || b[pos] != '\r' || b[pos + 1] != '\n')
            return 400;
        if (n == HTTP_MAX_HEADERS)
            return 431;
        end = pos;
        while (end > val && is_ows_byte(b[end - 1]))
            end--;
        hdrs[n].name = (struct slice){ buf + name, colon - name };
        hdrs[n].value = (struct slice){ buf + val, end - val };
        note_field(ff, &hdrs[n]);
        n++;
        pos += 2;
    }
    *nhdrs = n;
    if (len - pos != 2 || b[pos + 1] != '\n')
        return 400;
    return 0;
}

/* ------------------------------------------------------------ requests */

static int authority_ok(struct slice a)
{
    const unsigned char *p = (const unsigned char *)a.ptr;
    size_t i = 0;
    unsigned all = CC_HOST;

    if (a.len == 0)
        return 0;
    for (; a.len - i >= 4; i += 4)
        all &=
            char_class[p[i]] & char_class[p[i + 1]] & char_class[p[i + 2]] & char_class[p[i + 3]];
    for (; i < a.len; i++)
        all &= char_class[p[i]];
    return (all & CC_HOST) != 0;
}

/* Rejects dot-segments, also percent-encoded ones and ones cut off by an
 * encoded slash or a backslash (which some upstreams read as '/'), and
 * malformed or NUL percent escapes: the path the router authorizes must be
 * the path the upstream serves, whatever normalization it applies. */
static int path_is_safe(struct slice p)
{
    size_t dots = 0;
    int other = 0;

    for (size_t i = 0; i <= p.len;) {
        int c, sep;

        if (i == p.len) {
            sep = 1;
            c = 0;
            i++;
        } else if (p.ptr[i] == '%') {
            int hi, lo;
            if (p.len - i < 3 || (hi = hexval((unsigned char)p.ptr[i + 1])) < 0 ||
                (lo = hexval((unsigned char)p.ptr[i + 2])) < 0 || (hi | lo) == 0)
                return 0;
            c = hi * 16 + lo;
            sep = c == '/' || c == '\\';
            i += 3;
        } else {
            c = (unsigned char)p.ptr[i];
            sep = c == '/' || c == '\\';
            i++;
        }
        if (sep) {
            if (!other && (dots == 1 || dots == 2))
                return 0;
            dots = 0;
            other = 0;
        } else if (c == '.') {
            dots++;
        } else {
            other = 1;
        }
    }
    return 1;
}

/* Splits "/path?query" (p starts with '/'). dotpct: the target holds a
 * '.' or '%' (without one no segment can be a dot-segment, encoded or
 * not, nor an escape be malformed). Returns 0 or 400. */
static int split_path(struct http_request_head *h, const char *p, size_t n, int dotpct)
{
    const char *q = memchr(p, '?', n);
    size_t plen = q ? (size_t)(q - p) : n;

    h->path = (struct slice){ p, plen };
    if (q)
        h->query = (struct slice){ q + 1, n - plen - 1 };
    return !dotpct || path_is_safe(h->path) ? 0 : 400;
}

/* Classifies h->target and fills path, query and (absolute-form) host.
 * The caller scanned it: vchars, every byte is a CC_TGT one; dotpct, a
 * byte is '.' or '%'. */
static int parse_target(struct http_request_head *h, int vchars, int dotpct)
{
    const char *t = h->target.ptr;
    size_t n = h->target.len, skip, a;

    /* Every byte must be a VCHAR. A fragment is never sent; if one is,
     * the gateway and the upstream could disagree on where the path ends. */
    if (!vchars)
        return 400;
    if (t[0] == '/')
        return split_path(h, t, n, dotpct);
    if (n == 1 && t[0] == '*') {
        if (h->method_id != HTTP_M_OPTIONS)
            return 400;
        h->path = h->target;
        return 0;
    }
    if (n >= 7 && slice_eq_nocase((struct slice){ t, 7 }, SLICE_LIT("http://")))
        skip = 7;
    else if (n >= 8 && slice_eq_nocase((struct slice){ t, 8 }, SLICE_LIT("https://")))
        skip = 8;
    else
        return 400; /* authority-form (CONNECT) and other schemes: not served */
    for (a = skip; a < n && t[a] != '/' && t[a] != '?'; a++)
        ;
    h->host = (struct slice){ t + skip, a - skip };
    if (!authority_ok(h->host))
        return 400; /* also refuses userinfo ('@'), RFC 9110 4.2.4 */
    if (a < n && t[a] == '/')
        return split_path(h, t + a, n - a, dotpct);
    h->path = SLICE_LIT("/");
    if (a < n)
        h->query = (struct slice){ t + a + 1, n - a - 1 };
    return 0;
}

/* Parses the request line; *pos gets the offset of the first field line. */
static int parse_request_line(const char *buf, size_t len, const struct http_parse_limits *lim,
                              struct http_request_head *h, size_t *pos_out)
{
    const unsigned char *b = (const unsigned char *)buf;
    size_t pos = 0, start;
    int rc, vchars, dotpct;

    /* RFC 9112 2.2: empty lines before a request-line are ignored (old
     * clients send a CRLF after a body). They sit between messages, so
     * skipping them cannot change where one ends. */
    while (len - pos >= 2 && b[pos] == '\r' && b[pos + 1] == '\n')
        pos += 2;

    start = pos;
    pos = scan_tchar(b, pos, len);
    if (pos == start || pos >= len || b[pos] != ' ')
        return 400;
    h->method = (struct slice){ buf + start, pos - start };
    h->method_id = http_method_id(h->method);

    /* The target ends at SP (or CR, LF: errors); its bytes are checked on
     * the way. A byte that is not a CC_TGT one stops the fast scan: the
     * end of the target, or a bad byte (then find the end as before, for
     * the 414 and 400 checks that come first). */
    start = ++pos;
    pos = scan_target(b, pos, len, &dotpct);
    vchars = 1;
    if (pos < len && b[pos] != ' ' && b[pos] != '\r' && b[pos] != '\n') {
        vchars = 0;
        while (pos < len && b[pos] != ' ' && b[pos] != '\r' && b[pos] != '\n')
            pos++;
    }
    if (lim && pos - start > lim->max_uri_bytes)
        return 414;
    if (pos == start || pos >= len || b[pos] != ' ')
        return 400;
    h->target = (struct slice){ buf + start, pos - start };
    rc = parse_target(h, vchars, dotpct);
    if (rc)
        return rc;

    pos++;
    if (len - pos < 10 || memcmp(buf + pos, "HTTP/", 5) != 0 || !is_digit(b[pos + 5]) ||
        b[pos + 6] != '.' || !is_digit(b[pos + 7]) || b[pos + 8] != '\r' || b[pos + 9] != '\n')
        return 400;
    if (b[pos + 5] != '1' || (b[pos + 7] != '0' && b[pos + 7] != '1'))
        return 505;
    h->version_minor = b[pos + 7] - '0';
    *pos_out = pos + 10;
    return 0;
}

/* Applies Host, framing, Connection and Expect rules to parsed fields. */
static int request_semantics(struct http_request_head *h, const struct field_facts *ff)
{
    const struct framing *f = &ff->f;
    int absolute = h->host.ptr != NULL;

    if (ff->bad || ff->nhost > 1 || (ff->nhost == 1 && !authority_ok(ff->host)))
        return 400;
    if (ff->nhost == 1 && !absolute)
        h->host = ff->host; /* RFC 9112 3.2.2: the target's authority wins */
    if (h->version_minor == 1 && ff->nhost == 0)
        return 400;
    if (f->te_seen) {
        if (h->version_minor == 0 || f->cl >= 0 || f->te_bad || f->te_chunked > 1 ||
            (f->te_chunked && !f->te_last_chunked))
            return 400;
        if (f->te_other)
            return 501;
        h->chunked = 1;
    }
    if (ff->expect_other)
        return 417;
    h->content_length = f->cl;
    h->expect_continue = ff->expect_continue && h->version_minor == 1;
    if (h->version_minor == 1)
        h->keep_alive = !f->conn_close;
    else
        h->keep_alive = f->conn_keep_alive && !f->conn_close;
    return 0;
}

/* Sets the fields of *out one by one, never clearing the whole struct
 * (over 3 KB): of headers[], only [0..nheaders) is written. */
int http_parse_request(const char *buf, size_t len, const struct http_parse_limits *lim,
                       struct http_request_head *out)
{
    struct field_facts ff = { .f = { .cl = -1 }, .request = 1 };
    size_t pos = 0;
    int rc;

    out->path = SLICE_NULL;
    out->query = SLICE_NULL;
    out->host = SLICE_NULL;
    out->version_minor = 0;
    out->nheaders = 0;
    out->content_length = -1;
    out->chunked = 0;
    out->keep_alive = 0;
    out->expect_continue = 0;

    rc = parse_request_line(buf, len, lim, out, &pos);
    if (rc)
        return rc;
    rc = parse_fields(buf, len, pos, out->headers, &out->nheaders, &ff);
    if (rc)
        return rc;
    return request_semantics(out, &ff);
}

/* ------------------------------------------------------------ responses */

int http_parse_response(const char *buf, size_t len, struct http_response_head *out)
{
    const unsigned char *b = (const unsigned char *)buf;
    struct field_facts ff = { .f = { .cl = -1 } };
    const struct framing *f = &ff.f;
    size_t pos = 12;
    int no_body;

    out->nheaders = 0;
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || (b[7] != '0' && b[7] != '1') ||
        b[8] != ' ' || !is_digit(b[9]) || !is_digit(b[10]) || !is_digit(b[11]))
        return -1;
    out->version_minor = b[7] - '0';
    out->status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
    if (out->status < 100 || out->status > 599)
        return -1;
    /* The SP before an empty reason is often left out; accepting that
     * changes nothing about framing. */
    out->reason = (struct slice){ buf + pos, 0 };
    if (pos < len && b[pos] == ' ') {
        size_t start = ++pos;
        while (pos < len && is_fval(b[pos]))
            pos++;
        out->reason = (struct slice){ buf + start, pos - start };
    }
    if (len - pos < 2 || b[pos] != '\r' || b[pos + 1] != '\n')
        return -1;
    if (parse_fields(buf, len, pos + 2, out->headers, &out->nheaders, &ff) || ff.bad)
        return -1;
    if (f->te_seen && (f->cl >= 0 || f->te_bad || f->te_chunked > 1))
        return -1;

    out->content_length = f->cl;
    out->chunked = 0;
    out->until_close = 0;
    no_body = out->status < 200 || out->status == 204 || out->status == 304;
    if (no_body)
        out->content_length = 0;
    else if (f->te_seen && f->te_last_chunked)
        out->chunked = 1;
    else if (f->te_seen || f->cl < 0)
        out->until_close = 1; /* RFC 9112 6.3 items 4 and 8 */

    if (out->until_close)
        out->keep_alive = 0;
    else if (out->version_minor == 1)
        out->keep_alive = !f->conn_close;
    else
        out->keep_alive = f->conn_keep_alive && !f->conn_close;
    return 0;
}

/* ------------------------------------------------------------ head end */

size_t http_head_end(const char *buf, size_t len, size_t *scan_from)
{
    size_t i = scan_from ? *scan_from : 0;

    /* Step back over what could be the start of a terminator cut by the
     * previous end of data; a stale offset past len means a new buffer. */
    i = i > len ? 0 : (i >= 3 ? i - 3 : 0);
    while (len - i >= 4) {
        const char *cr = memchr(buf + i, '\r', len - i - 3);
        if (!cr)
            break;
        i = (size_t)(cr - buf);
        if (buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
            if (scan_from)
                *scan_from = 0;
            return i + 4;
        }
        i++;
    }
    if (scan_from)
        *scan_from = len;
    return 0;
}

/* ------------------------------------------------------------ chunked */

enum {
    CK_SIZE_FIRST, /* expecting the first hex digit of a chunk-size */
    CK_SIZE,       /* in the hex digits */
    CK_EXT,        /* in chunk extensions, after ';' */
    CK_SIZE_LF,    /* CR of the size line seen */
    CK_DATA,       /* chunk data, c->remaining bytes left */
    CK_DATA_CR,    /* expecting the CR after chunk data */
    CK_DATA_LF,
    CK_TR_START, /* start of a trailer line, or of the final empty line */
    CK_TR_NAME,
    CK_TR_VALUE,
    CK_TR_LF,
    CK_END_LF, /* CR of the final empty line seen */
    CK_DONE,
    CK_ERROR,
};

#define CHUNK_SIZE_DIGITS 16
#define CHUNK_LINE_MAX 4096
/* evbuffer_remove_buffer() reports the amount moved as an int. */
#define CHUNK_MOVE_MAX ((size_t)1 << 30)
/* Framing bytes are looked at through a small copy; chunk data never is. */
#define CHUNK_PEEK 128

void http_chunked_init(struct http_chunked *c, size_t max_trailer_bytes)
{
    c->state = CK_SIZE_FIRST;
    c->remaining = 0;
    c->line_bytes = 0;
    c->trailer_bytes = 0;
    c->max_trailer_bytes = max_trailer_bytes;
}

/* Feeds one framing byte. Returns 0 to go on, 1 when this byte ended the
 * framing before chunk data or the message, -1 on bad framing. */
static int chunked_step(struct http_chunked *c, unsigned char ch)
{
    int d;

    switch (c->state) {
    case CK_SIZE_FIRST:
    case CK_SIZE:
        d = hexval(ch);
        if (d >= 0) {
            if (c->line_bytes >= CHUNK_SIZE_DIGITS ||
                c->remaining > ((uint64_t)INT64_MAX - (unsigned)d) / 16)
                return -1;
            c->remaining = c->remaining * 16 + (unsigned)d;
            c->line_bytes++;
            c->state = CK_SIZE;
            return 0;
        }
        /* No whitespace anywhere around the size: RFC 9112 has none, and
         * lenient parsers disagree about it. */
        if (c->state == CK_SIZE_FIRST)
            return -1;
        c->line_bytes++;
        if (ch == ';')
            c->state = CK_EXT;
        else if (ch == '\r')
            c->state = CK_SIZE_LF;
        else
            return -1;
        return 0;
    case CK_EXT:
        if (ch == '\r') {
            c->state = CK_SIZE_LF;
            return 0;
        }
        if (!is_fval(ch) || ++c->line_bytes > CHUNK_LINE_MAX)
            return -1;
        return 0;
    case CK_SIZE_LF:
        if (ch != '\n')
            return -1;
        c->line_bytes = 0;
        if (c->remaining == 0) {
            c->state = CK_TR_START;
            return 0;
        }
        c->state = CK_DATA;
        return 1;
    case CK_DATA_CR:
        if (ch != '\r')
            return -1;
        c->state = CK_DATA_LF;
        return 0;
    case CK_DATA_LF:
        if (ch != '\n')
            return -1;
        c->state = CK_SIZE_FIRST;
        return 0;
    case CK_TR_START:
        if (ch == '\r') {
            c->state = CK_END_LF;
            return 0;
        }
        if (!is_tchar(ch)) /* also obs-fold and an empty name */
            return -1;
        c->state = CK_TR_NAME;
        break;
    case CK_TR_NAME:
        if (ch == ':')
            c->state = CK_TR_VALUE;
        else if (!is_tchar(ch))
            return -1;
        break;
    case CK_TR_VALUE:
        if (ch == '\r')
            c->state = CK_TR_LF;
        else if (!is_fval(ch))
            return -1;
        break;
    case CK_TR_LF:
        if (ch != '\n')
            return -1;
        c->state = CK_TR_START;
        break;
    case CK_END_LF:
        if (ch != '\n')
            return -1;
        c->state = CK_DONE;
        return 1;
    default:
        return -1;
    }
    /* Only trailer field bytes get here. */
    if (++c->trailer_bytes > c->max_trailer_bytes)
        return -1;
    return 0;
}

int http_chunked_decode(struct http_chunked *c, struct evbuffer *in, struct evbuffer *out,
                        size_t max_out, size_t *moved)
{
    size_t total = 0;
    int rc = 0;

    for (;;) {
        size_t avail;

        if (c->state == CK_DONE) {
            rc = 1;
            break;
        }
        if (c->state == CK_ERROR) {
            rc = -1;
            break;
        }
        avail = evbuffer_get_length(in);
        if (avail == 0)
            break;
        if (c->state == CK_DATA) {
            size_t n = avail;
            int r;

            if (total >= max_out)
                break;
            if (n > c->remaining)
                n = (size_t)c->remaining;
            if (n > max_out - total)
                n = max_out - total;
            if (n > CHUNK_MOVE_MAX)
                n = CHUNK_MOVE_MAX;
            r = evbuffer_remove_buffer(in, out, n);
            if (r <= 0) {
                c->state = CK_ERROR;
                continue;
            }
            total += (size_t)r;
            c->remaining -= (uint64_t)r;
            if (c->remaining == 0)
                c->state = CK_DATA_CR;
        } else {
            unsigned char tmp[CHUNK_PEEK];
            ev_ssize_t got = evbuffer_copyout(in, tmp, avail < sizeof tmp ? avail : sizeof tmp);
            size_t used = 0;

            if (got <= 0) {
                c->state = CK_ERROR;
                continue;
            }
            while (used < (size_t)got) {
                int r = chunked_step(c, tmp[used]);
                if (r < 0) {
                    c->state = CK_ERROR;
                    break;
                }
                used++;
                if (r > 0)
                    break;
            }
            evbuffer_drain(in, used);
        }
    }
    if (moved)
        *moved = total;
    return rc;
}

/* ------------------------------------------------------------ tables */

enum http_method http_method_id(struct slice m)
{
    const char *p = m.ptr;

    /* Methods are case-sensitive (RFC 9110 9.1): "get" is not GET. */
    switch (m.len) {
    case 3:
        if (memcmp(p, "GET", 3) == 0)
            return HTTP_M_GET;
        if (memcmp(p, "PUT", 3) == 0)
            return HTTP_M_PUT;
        break;
    case 4:
        if (memcmp(p, "POST", 4) == 0)
            return HTTP_M_POST;
        if (memcmp(p, "HEAD", 4) == 0)
            return HTTP_M_HEAD;
        break;
    case 5:
        if (memcmp(p, "PATCH", 5) == 0)
            return HTTP_M_PATCH;
        if (memcmp(p, "TRACE", 5) == 0)
            return HTTP_M_TRACE;
        break;
    case 6:
        if (memcmp(p, "DELETE", 6) == 0)
            return HTTP_M_DELETE;
        break;
    case 7:
        if (memcmp(p, "OPTIONS", 7) == 0)
            return HTTP_M_OPTIONS;
        if (memcmp(p, "CONNECT", 7) == 0)
            return HTTP_M_CONNECT;
        break;
    default:
        break;
    }
    return HTTP_M_OTHER;
}

const char *http_status_reason(int status)
{
    /* RFC 9110 section 15 names. */
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

int http_header_is_hop_by_hop(struct slice n)
{
    switch (n.len) {
    case 2:
        return slice_eq_nocase(n, SLICE_LIT("te"));
    case 7:
        return slice_eq_nocase(n, SLICE_LIT("trailer")) || slice_eq_nocase(n, SLICE_LIT("upgrade"));
    case 10:
        return slice_eq_nocase(n, SLICE_LIT("connection")) ||
               slice_eq_nocase(n, SLICE_LIT("keep-alive"));
    case 16:
        return slice_eq_nocase(n, SLICE_LIT("proxy-connection"));
    case 17:
        return slice_eq_nocase(n, SLICE_LIT("transfer-encoding"));
    case 18:
        return slice_eq_nocase(n, SLICE_LIT("proxy-authenticate"));
    case 19:
        return slice_eq_nocase(n, SLICE_LIT("proxy-authorization"));
    default:
        return 0;
    }
}

int http_list_next(struct slice list, size_t *pos, struct slice *elem)
{
    size_t i = *pos, start = i;

    if (i >= list.len)
        return 0;
    while (i < list.len && list.ptr[i] != ',')
        i++;
    *elem = slice_trim((struct slice){ list.ptr + start, i - start });
    *pos = i + 1;
    return 1;
}

int http_list_has_token(struct slice list, struct slice token)
{
    size_t pos = 0;
    struct slice t;

    if (token.len == 0)
        return 0;
    while (http_list_next(list, &pos, &t))
        if (slice_eq_nocase(t, token))
            return 1;
    return 0;
}
