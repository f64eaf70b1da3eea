/* respond.c - sluice's own responses with JSON error bodies.
 *
 * The whole response (head and body), whose length is known up front, is
 * written with plain stores into a stack buffer and added to the evbuffer
 * at once (see evb_write_begin() in util.h); no printf, no temporary evbuffer. */
#include "respond.h"

#include <event2/buffer.h>
#include <stdint.h>
#include <string.h>

#include "http_parser.h"
#include "util.h"

/* A response up to this size is written on the stack and added in one
 * evbuffer_add(); a larger one is written into space reserved in out. */
#define RESPOND_STACK 4096

/* Bytes a JSON string escape adds for each byte: 1 for '"' and '\\'
 * (backslash form), 5 for other control characters (\u00XX), else 0. */
#define JE_(c) ((c) < 0x20 ? 5 : ((c) == '"' || (c) == '\\') ? 1 : 0)
#define JE4_(c) JE_(c), JE_((c) + 1), JE_((c) + 2), JE_((c) + 3)
#define JE16_(c) JE4_(c), JE4_((c) + 4), JE4_((c) + 8), JE4_((c) + 12)
static const unsigned char json_extra[256] = {
    JE16_(0x00), JE16_(0x10), JE16_(0x20), JE16_(0x30), JE16_(0x40), JE16_(0x50),
    JE16_(0x60), JE16_(0x70), JE16_(0x80), JE16_(0x90), JE16_(0xa0), JE16_(0xb0),
    JE16_(0xc0), JE16_(0xd0), JE16_(0xe0), JE16_(0xf0),
};

/* The length of s[0..len) once escaped. Eight bytes at a time while none
 * of them needs escaping (no byte below 0x20, no '"', no '\\'). */
static size_t json_escaped_len(const char *s, size_t len)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    size_t n = len, i = 0;

    for (; len - i >= 8; i += 8) {
        uint64_t x, q, b;
        memcpy(&x, s + i, 8);
        q = x ^ ('"' * ones);
        b = x ^ ('\\' * ones);
        if ((((x - 0x20 * ones) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs)
            for (size_t k = 0; k < 8; k++)
                n += json_extra[(unsigned char)s[i + k]];
    }
    for (; i < len; i++)
        n += json_extra[(unsigned char)s[i]];
    return n;
}

/* Writes s[0..len) escaped at p, elen (json_escaped_len(s, len)) bytes;
 * returns the new end. */
static char *put_json(char *p, const char *s, size_t len, size_t elen)
{
    static const char hex[] = "0123456789abcdef";

    if (elen == len)
        return put_mem(p, s, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!json_extra[c]) {
            *p++ = (char)c;
        } else if (c == '"' || c == '\\') {
            p[0] = '\\';
            p[1] = (char)c;
            p += 2;
        } else {
            p[0] = '\\';
            p[1] = 'u';
            p[2] = '0';
            p[3] = '0';
            p[4] = hex[c >> 4];
            p[5] = hex[c & 15];
            p += 6;
        }
    }
    return p;
}

int respond_json_escape(struct evbuffer *out, const char *s, size_t len)
{
    char stack[1024];
    size_t elen = json_escaped_len(s, len);
    char *start = evb_write_begin(out, stack, sizeof(stack), elen);

    if (!start)
        return -1;
    return evb_write_end(out, stack, start, (size_t)(put_json(start, s, len, elen) - start), elen);
}

static inline struct slice cstr(const char *s)
{
    return (struct slice){ s, strlen(s) };
}

long respond_write(struct evbuffer *out, const struct respond_info *ri)
{
    char stack[RESPOND_STACK];
    char *start, *p;
    size_t mlen = strlen(ri->message);
    struct slice rid = cstr(ri->request_id);
    struct slice reason = cstr(http_status_reason(ri->status));
    struct slice date = ri->date ? cstr(ri->date) : SLICE_NULL;
    struct slice version = ri->version ? cstr(ri->version) : SLICE_NULL;
    struct slice extra = ri->extra_headers ? cstr(ri->extra_headers) : SLICE_NULL;
    size_t emlen = json_escaped_len(ri->message, mlen);
    size_t eidlen = json_escaped_len(rid.ptr, rid.len);
    /* {"message":"...","request_id":"..."}\n */
    size_t body_len = 12 + emlen + 16 + eidlen + 3;
    size_t len, bound;

    /* 256: the fixed text of the head (about 175 bytes), numbers at their longest */
    bound = 256 + reason.len + rid.len + date.len + version.len + extra.len +
            (ri->head_only ? 0 : body_len);
    start = evb_write_begin(out, stack, sizeof(stack), bound);
    if (!start)
        return -1;
    p = ri->client_minor ? put_lit(start, "HTTP/1.1 ") : put_lit(start, "HTTP/1.0 ");
    p += i64_to_dec(p, ri->status);
    *p++ = ' ';
    p = put_slice(p, reason);
    p = put_lit(p, "\r\nContent-Type: application/json\r\nContent-Length: ");
    p += u64_to_dec(p, body_len);
    p = put_lit(p, "\r\nx-request-id: ");
    p = put_slice(p, rid);
    p = put_lit(p, "\r\n");
    if (ri->date) {
        p = put_lit(p, "Date: ");
        p = put_slice(p, date);
        p = put_lit(p, "\r\n");
    }
    if (ri->version) {
        p = put_lit(p, "x-sluice-function-version: ");
        p = put_slice(p, version);
        p = put_lit(p, "\r\n");
    }
    p = put_slice(p, extra);
    if (!ri->keep_alive)
        p = put_lit(p, "Connection: close\r\n");
    else if (ri->client_minor == 0)
        p = put_lit(p, "Connection: keep-alive\r\n");
    p = put_lit(p, "\r\n");
    if (!ri->head_only) {
        p = put_lit(p, "{\"message\":\"");
        p = put_json(p, ri->message, mlen, emlen);
        p = put_lit(p, "\",\"request_id\":\"");
        p = put_json(p, rid.ptr, rid.len, eidlen);
        p = put_lit(p, "\"}\n");
    }
    len = (size_t)(p - start);
    if (evb_write_end(out, stack, start, len, bound) < 0)
        return -1;
    return (long)len;
}
