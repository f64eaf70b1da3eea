/* fuzz_lambda_result.c - function results made into responses
 * (lambda_result_parse, lambda_result_from_json): what an emulator or a
 * function answers is untrusted, and its headers go straight into the
 * response head.
 *
 * Input: one byte choosing the payload format (odd: 1.0, even: 2.0), then
 * the result's JSON text. Checks:
 *   - the answer is 0 or -1; on -1 a reason is given and nothing is held;
 *   - an accepted result has a status in 100..599, at most
 *     LAMBDA_RESULT_MAX_HEADERS headers whose names are tchars and whose
 *     values hold no CR, LF, NUL (nor other controls but HTAB), none of
 *     them hop-by-hop or Content-Length, and a body of at most
 *     LAMBDA_RESULT_MAX_BYTES (NULL exactly when empty);
 *   - the same JSON given as a value (as the lua handler will) gets the
 *     same answer: accepted or not, status and headers alike;
 *   - clearing twice is harmless. */
#include <string.h>

#include "fuzz.h"
#include "http_parser.h"
#include "lambda_event.h"

static int ref_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int ref_eq_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        int x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x += 32;
        if (y >= 'A' && y <= 'Z')
            y += 32;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

static int ref_prefix_nocase(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++) {
        int x = (unsigned char)*s;
        if (x >= 'A' && x <= 'Z')
            x += 32;
        if (x != *prefix)
            return 0;
    }
    return 1;
}

static void check_result(int rc, const struct lambda_result *r)
{
    static const char *const banned[] = { "connection",
                                          "keep-alive",
                                          "proxy-connection",
                                          "proxy-authenticate",
                                          "proxy-authorization",
                                          "te",
                                          "trailer",
                                          "transfer-encoding",
                                          "upgrade",
                                          "content-length" };

    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc != 0) {
        FUZZ_CHECK(r->error[0] != '\0');
        FUZZ_CHECK(r->headers == NULL && r->nheaders == 0);
        FUZZ_CHECK(r->body == NULL && r->body_len == 0);
        return;
    }
    FUZZ_CHECK(r->status >= 100 && r->status <= 599);
    FUZZ_CHECK(r->nheaders <= LAMBDA_RESULT_MAX_HEADERS);
    FUZZ_CHECK(r->body_len <= LAMBDA_RESULT_MAX_BYTES);
    FUZZ_CHECK((r->body == NULL) == (r->body_len == 0));
    for (size_t i = 0; i < r->nheaders; i++) {
        const char *n = r->headers[i].name, *v = r->headers[i].value;
        FUZZ_CHECK(n && v && n[0] != '\0');
        for (const char *p = n; *p; p++)
            FUZZ_CHECK(ref_tchar((unsigned char)*p));
        /* values are C strings, so a NUL inside cannot be seen here:
         * lambda_event.c refuses it, and test_lambda_event checks that */
        for (const char *p = v; *p; p++) {
            unsigned char c = (unsigned char)*p;
            FUZZ_CHECK(c != '\r' && c != '\n');
            FUZZ_CHECK(c >= 0x20 || c == '\t');
            FUZZ_CHECK(c != 0x7f);
        }
        for (size_t b = 0; b < sizeof(banned) / sizeof(banned[0]); b++)
            FUZZ_CHECK(!ref_eq_nocase(n, banned[b]));
        FUZZ_CHECK(!ref_prefix_nocase(n, "proxy-"));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lambda_result r, r2;
    enum payload_version pv;
    const char *text;
    size_t len;
    json_t *v;
    int rc, rc2;

    if (size < 1)
        return 0;
    pv = (data[0] & 1) ? PAYLOAD_V1 : PAYLOAD_V2;
    text = (const char *)data + 1;
    len = size - 1;

    rc = lambda_result_parse(text, len, pv, &r);
    check_result(rc, &r);

    /* the same JSON as a value */
    v = len <= LAMBDA_RESULT_MAX_BYTES
            ? json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)
            : NULL;
    if (v) {
        rc2 = lambda_result_from_json(v, pv, &r2);
        check_result(rc2, &r2);
        FUZZ_CHECK(rc == rc2);
        if (rc == 0 && rc2 == 0) {
            FUZZ_CHECK(r.status == r2.status);
            FUZZ_CHECK(r.nheaders == r2.nheaders);
            for (size_t i = 0; i < r.nheaders && i < r2.nheaders; i++) {
                FUZZ_CHECK(strcmp(r.headers[i].name, r2.headers[i].name) == 0);
                FUZZ_CHECK(strcmp(r.headers[i].value, r2.headers[i].value) == 0);
            }
        }
        lambda_result_clear(&r2);
        json_decref(v);
    }
    lambda_result_clear(&r);
    lambda_result_clear(&r);
    FUZZ_CHECK(r.headers == NULL && r.body == NULL && r.nheaders == 0 && r.body_len == 0);
    return 0;
}
