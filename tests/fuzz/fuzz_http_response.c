/* fuzz_http_response.c - the response head parser (what an upstream sends).
 *
 * Input: raw bytes. The target parses the head up to the first "\r\n\r\n"
 * (as the proxy frames it) and the whole input, and on success checks:
 * slices inside the buffer, status 100..599, names made of tchars, values
 * without CR/LF/NUL, one framing at most (chunked, a length, or until close),
 * no body for 1xx/204/304, never Content-Length with Transfer-Encoding, no
 * Content_Length look-alike, and no keep-alive for a body read until close. */
#include <string.h>

#include "fuzz.h"
#include "http_parser.h"

static int in_buf(struct slice s, const char *buf, size_t len)
{
    if (!s.ptr)
        return s.len == 0;
    return s.ptr >= buf && s.len <= len && (size_t)(s.ptr - buf) <= len - s.len;
}

static int ref_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int ref_fval(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* 1: name is lc case-insensitively; 2: it is, reading some '_' as '-'. */
static int ref_name(struct slice name, const char *lc)
{
    int under = 0;

    if (name.len != strlen(lc))
        return 0;
    for (size_t i = 0; i < name.len; i++) {
        int c = (unsigned char)name.ptr[i];
        if (c >= 'A' && c <= 'Z')
            c += 32;
        if (c == '_' && lc[i] == '-')
            under = 1;
        else if (c != lc[i])
            return 0;
    }
    return under ? 2 : 1;
}

static void check_response(const char *buf, size_t len, int rc, const struct http_response_head *r)
{
    int has_cl = 0, has_te = 0, no_body;

    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc != 0)
        return;
    FUZZ_CHECK(len >= 16 && memcmp(buf + len - 4, "\r\n\r\n", 4) == 0);
    FUZZ_CHECK(r->status >= 100 && r->status <= 599);
    FUZZ_CHECK(http_status_reason(r->status) != NULL);
    FUZZ_CHECK(r->version_minor == 0 || r->version_minor == 1);
    FUZZ_CHECK(in_buf(r->reason, buf, len));
    for (size_t i = 0; i < r->reason.len; i++)
        FUZZ_CHECK(ref_fval((unsigned char)r->reason.ptr[i]));
    FUZZ_CHECK(r->nheaders <= HTTP_MAX_HEADERS);
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct http_header *hd = &r->headers[i];
        FUZZ_CHECK(in_buf(hd->name, buf, len) && in_buf(hd->value, buf, len));
        FUZZ_CHECK(hd->name.len > 0);
        for (size_t j = 0; j < hd->name.len; j++)
            FUZZ_CHECK(ref_tchar((unsigned char)hd->name.ptr[j]));
        for (size_t j = 0; j < hd->value.len; j++)
            FUZZ_CHECK(ref_fval((unsigned char)hd->value.ptr[j]));
        FUZZ_CHECK(ref_name(hd->name, "content-length") != 2);
        FUZZ_CHECK(ref_name(hd->name, "transfer-encoding") != 2);
        has_cl |= ref_name(hd->name, "content-length") == 1;
        has_te |= ref_name(hd->name, "transfer-encoding") == 1;
        (void)http_header_is_hop_by_hop(hd->name);
    }
    FUZZ_CHECK(!(has_cl && has_te));
    FUZZ_CHECK(r->content_length >= -1);
    no_body = r->status < 200 || r->status == 204 || r->status == 304;
    if (no_body)
        FUZZ_CHECK(r->content_length == 0 && !r->chunked && !r->until_close);
    else /* exactly one way to find the end of the body */
        FUZZ_CHECK(r->chunked + r->until_close + (r->content_length >= 0) == 1);
    if (!no_body && has_cl)
        FUZZ_CHECK(r->content_length >= 0);
    if (r->chunked)
        FUZZ_CHECK(has_te && r->content_length == -1);
    if (r->until_close)
        FUZZ_CHECK(!r->keep_alive);
}

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
    struct http_response_head *r = malloc(sizeof(*r));
    size_t end;
    int rc;

    if (!r)
        return 0;
    end = http_head_end(buf, size, NULL);
    FUZZ_CHECK(end == ref_head_end(buf, size));
    if (end) {
        char *head = malloc(end);
        if (head) {
            memcpy(head, buf, end);
            rc = http_parse_response(head, end, r);
            check_response(head, end, rc, r);
            free(head);
        }
    }
    rc = http_parse_response(buf, size, r);
    check_response(buf, size, rc, r);
    free(r);
    return 0;
}
