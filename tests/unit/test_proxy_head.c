/* test_proxy_head.c - what the proxy sends upstream and back to the client:
 * hop-by-hop headers dropped (also those named in Connection), framing and
 * identity headers replaced, X-Forwarded-* added. */
#include "proxy_head.h"
#include "unit.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <strings.h>

static char *drain_str(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);
    evbuffer_remove(b, s, n);
    s[n] = '\0';
    return s;
}

static int has_line(const char *head, const char *line)
{
    char want[512];
    fmt_buf(want, sizeof(want), "\r\n%s\r\n", line);
    return strstr(head, want) != NULL;
}

static int has_name(const char *head, const char *name)
{
    char want[128];
    fmt_buf(want, sizeof(want), "\r\n%s:", name);
    /* case-insensitive search */
    for (const char *p = head; *p; p++)
        if (strncasecmp(p, want, strlen(want)) == 0)
            return 1;
    return 0;
}

static void test_request(void)
{
    static const char raw[] = "POST /api/a/b?x=1 HTTP/1.1\r\n"
                              "Host: gw.example\r\n"
                              "Connection: keep-alive, X-Secret\r\n"
                              "Keep-Alive: timeout=5\r\n"
                              "X-Secret: 1\r\n"
                              "TE: trailers\r\n"
                              "Upgrade: websocket\r\n"
                              "Proxy-Connection: keep-alive\r\n"
                              "Proxy-Authorization: Basic eA==\r\n"
                              "X-Forwarded-For: 10.0.0.1\r\n"
                              "X-Forwarded-For: 10.0.0.2\r\n"
                              "X-Forwarded-Proto: https\r\n"
                              "x-request-id: client-id\r\n"
                              "Expect: 100-continue\r\n"
                              "Accept: */*\r\n"
                              "Content-Length: 3\r\n"
                              "\r\n";
    struct http_request_head *h = calloc(1, sizeof(*h));
    struct http_parse_limits lim = { 8192 };
    struct proxy_request_info info = { 0 };
    struct evbuffer *out = evbuffer_new();
    char *s;

    CHECK_INT(http_parse_request(raw, sizeof(raw) - 1, &lim, h), 0);
    info.base_path = SLICE_LIT("/base");
    info.path = SLICE_LIT("/a/b");
    info.query = SLICE_LIT("x=1");
    info.authority = SLICE_LIT("127.0.0.1:9001");
    info.client_ip = "127.0.0.1";
    info.proto = "http";
    info.request_id = "rid-1";
    info.body = PROXY_BODY_LENGTH;
    info.content_length = 3;
    CHECK_INT(proxy_head_request(out, h, &info), 0);
    s = drain_str(out);
    CHECKF(strncmp(s, "POST /base/a/b?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n", 51) == 0, "%s", s);
    CHECK(!has_name(s, "Connection"));
    CHECK(!has_name(s, "Keep-Alive"));
    CHECK(!has_name(s, "X-Secret"));
    CHECK(!has_name(s, "TE"));
    CHECK(!has_name(s, "Upgrade"));
    CHECK(!has_name(s, "Proxy-Connection"));
    CHECK(!has_name(s, "Proxy-Authorization"));
    CHECK(!has_name(s, "Expect"));
    CHECK(has_line(s, "Accept: */*"));
    CHECK(has_line(s, "X-Forwarded-For: 10.0.0.1, 10.0.0.2, 127.0.0.1"));
    CHECK(has_line(s, "X-Forwarded-Proto: http"));
    CHECK(has_line(s, "X-Forwarded-Host: gw.example"));
    CHECK(has_line(s, "x-request-id: rid-1"));
    CHECK(!strstr(s, "client-id"));
    CHECK(has_line(s, "Content-Length: 3"));
    CHECK(strstr(s, "\r\n\r\n") == s + strlen(s) - 4);
    free(s);

    /* chunked body, no query, no base path, no X-Forwarded-For from the client */
    static const char raw2[] = "PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    CHECK_INT(http_parse_request(raw2, sizeof(raw2) - 1, &lim, h), 0);
    info.base_path = SLICE_LIT("");
    info.path = SLICE_LIT("/x");
    info.query = SLICE_NULL;
    info.body = PROXY_BODY_CHUNKED;
    CHECK_INT(proxy_head_request(out, h, &info), 0);
    s = drain_str(out);
    CHECKF(strncmp(s, "PUT /x HTTP/1.1\r\n", 17) == 0, "%s", s);
    CHECK(has_line(s, "Transfer-Encoding: chunked"));
    CHECK(has_line(s, "X-Forwarded-For: 127.0.0.1"));
    CHECK(!has_name(s, "Content-Length"));
    free(s);
    evbuffer_free(out);
    free(h);
}

static void test_response(void)
{
    static const char raw[] = "HTTP/1.1 200 OK\r\n"
                              "Content-Type: text/plain\r\n"
                              "Connection: X-Hop\r\n"
                              "X-Hop: 1\r\n"
                              "Keep-Alive: timeout=5\r\n"
                              "Transfer-Encoding: chunked\r\n"
                              "x-request-id: upstream-id\r\n"
                              "x-sluice-function-version: 99\r\n"
                              "Set-Cookie: a=1\r\n"
                              "Set-Cookie: b=2\r\n"
                              "\r\n";
    struct http_response_head *h = calloc(1, sizeof(*h));
    struct proxy_response_info ri = { 0 };
    struct evbuffer *out = evbuffer_new();
    char *s;

    CHECK_INT(http_parse_response(raw, sizeof(raw) - 1, h), 0);
    ri.request_id = "rid-2";
    ri.version = "2";
    ri.client_minor = 1;
    ri.framing = PROXY_RESP_CHUNKED;
    ri.keep_alive = 1;
    CHECK_INT(proxy_head_response(out, h, &ri), 0);
    s = drain_str(out);
    CHECKF(strncmp(s, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", s);
    CHECK(has_line(s, "Content-Type: text/plain"));
    CHECK(has_line(s, "Set-Cookie: a=1"));
    CHECK(has_line(s, "Set-Cookie: b=2"));
    CHECK(!has_name(s, "X-Hop"));
    CHECK(!has_name(s, "Keep-Alive"));
    CHECK(!has_name(s, "Connection"));
    CHECK(has_line(s, "Transfer-Encoding: chunked"));
    CHECK(has_line(s, "x-request-id: rid-2"));
    CHECK(has_line(s, "x-sluice-function-version: 2"));
    CHECK(!strstr(s, "upstream-id"));
    CHECK(!strstr(s, ": 99"));
    free(s);

    /* an HTTP/1.0 client with a length: Connection says what happens next */
    static const char raw2[] = "HTTP/1.1 404 \r\nContent-Length: 5\r\n\r\n";
    CHECK_INT(http_parse_response(raw2, sizeof(raw2) - 1, h), 0);
    ri.client_minor = 0;
    ri.framing = PROXY_RESP_LENGTH;
    ri.keep_alive = 0;
    ri.version = NULL;
    CHECK_INT(proxy_head_response(out, h, &ri), 0);
    s = drain_str(out);
    CHECKF(strncmp(s, "HTTP/1.0 404 Not Found\r\n", 24) == 0, "%s", s);
    CHECK(has_line(s, "Content-Length: 5"));
    CHECK(has_line(s, "Connection: close"));
    CHECK(!has_name(s, "x-sluice-function-version"));
    free(s);

    /* HEAD keeps the length a GET would have had; 204 never gets one */
    ri.client_minor = 1;
    ri.keep_alive = 1;
    ri.framing = PROXY_RESP_NO_BODY;
    ri.head_request = 1;
    CHECK_INT(http_parse_response(raw2, sizeof(raw2) - 1, h), 0);
    CHECK_INT(proxy_head_response(out, h, &ri), 0);
    s = drain_str(out);
    CHECK(has_line(s, "Content-Length: 5"));
    free(s);
    static const char raw3[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
    CHECK_INT(http_parse_response(raw3, sizeof(raw3) - 1, h), 0);
    ri.head_request = 0;
    CHECK_INT(proxy_head_response(out, h, &ri), 0);
    s = drain_str(out);
    CHECK(!has_name(s, "Content-Length"));
    free(s);
    evbuffer_free(out);
    free(h);
}

/* ------------------------------------------------------------ exact bytes */

/* A growing expected string. */
struct want {
    char *s;
    size_t len, cap;
};

static void want_add(struct want *w, const char *p, size_t n)
{
    if (w->len + n + 1 > w->cap) {
        w->cap = (w->len + n + 1) * 2;
        w->s = realloc(w->s, w->cap);
    }
    memcpy(w->s + w->len, p, n);
    w->len += n;
    w->s[w->len] = '\0';
}

static void want_str(struct want *w, const char *p)
{
    want_add(w, p, strlen(p));
}

/* 1 when out holds exactly w's bytes; empties out. */
static int out_is(struct evbuffer *out, const struct want *w)
{
    size_t n = evbuffer_get_length(out);
    char *s = drain_str(out);
    int ok = n == w->len && memcmp(s, w->s, n) == 0;
    if (!ok)
        fprintf(stderr, "got (%zu):\n%s\nwant (%zu):\n%s\n", n, s, w->len, w->s);
    free(s);
    return ok;
}

static void test_request_exact(void)
{
    static const char raw[] = "GET /api/hello?name=x HTTP/1.1\r\n"
                              "Host: localhost:8080\r\n"
                              "User-Agent: curl/8.5.0\r\n"
                              "Accept: */*\r\n"
                              "X-User-Id: forged\r\n"
                              "x-user-EMAIL: forged\r\n"
                              "\r\n";
    static char *const strip[] = { "x-user-id", "x-user-email" };
    struct http_request_head *h = calloc(1, sizeof(*h));
    struct http_parse_limits lim = { 8192 };
    struct proxy_request_info info = { 0 };
    struct evbuffer *out = evbuffer_new(), *extra = evbuffer_new();
    struct want w = { 0 };

    CHECK_INT(http_parse_request(raw, sizeof(raw) - 1, &lim, h), 0);
    info.base_path = SLICE_LIT("/v1");
    info.path = h->path;
    info.query = h->query;
    info.authority = SLICE_LIT("10.0.0.9:9001");
    info.client_ip = "192.0.2.7";
    info.proto = "https";
    info.request_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    info.strip = strip;
    info.nstrip = 2;
    info.extra = extra;
    evbuffer_add(extra, "X-User-Id: 42\r\n", 15);
    info.body = PROXY_BODY_LENGTH;
    info.content_length = UINT64_MAX;
    evbuffer_add(out, "earlier", 7);
    CHECK_INT(proxy_head_request(out, h, &info), 0);
    CHECK_INT(evbuffer_get_length(extra), 0);
    want_str(&w, "earlier"
                 "GET /v1/api/hello?name=x HTTP/1.1\r\n"
                 "Host: 10.0.0.9:9001\r\n"
                 "User-Agent: curl/8.5.0\r\n"
                 "Accept: */*\r\n"
                 "X-User-Id: 42\r\n"
                 "X-Forwarded-For: 192.0.2.7\r\n"
                 "X-Forwarded-Proto: https\r\n"
                 "X-Forwarded-Host: localhost:8080\r\n"
                 "x-request-id: 0f8fad5b-d9cb-469f-a165-70867728950e\r\n"
                 "Content-Length: 18446744073709551615\r\n"
                 "\r\n");
    CHECK(out_is(out, &w));
    free(w.s);
    evbuffer_free(extra);
    evbuffer_free(out);
    free(h);
}

static void test_response_exact(void)
{
    static const char raw[] = "HTTP/1.1 200 OK\r\n"
                              "Content-Type: application/json\r\n"
                              "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
                              "Content-Length: 27\r\n"
                              "\r\n";
    struct http_response_head *h = calloc(1, sizeof(*h));
    struct proxy_response_info ri = { 0 };
    struct evbuffer *out = evbuffer_new();
    struct want w = { 0 };

    CHECK_INT(http_parse_response(raw, sizeof(raw) - 1, h), 0);
    ri.request_id = "rid";
    ri.version = "7";
    ri.client_minor = 1;
    ri.framing = PROXY_RESP_LENGTH;
    ri.keep_alive = 1;
    CHECK_INT(proxy_head_response(out, h, &ri), 0);
    want_str(&w, "HTTP/1.1 200 OK\r\n"
                 "Content-Type: application/json\r\n"
                 "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
                 "Content-Length: 27\r\n"
                 "x-request-id: rid\r\n"
                 "x-sluice-function-version: 7\r\n"
                 "\r\n");
    CHECK(out_is(out, &w));

    /* no reason phrase: the standard one; odd status codes as %03d did */
    static const char raw2[] = "HTTP/1.0 299\r\nX-A: 1\r\n\r\n";
    CHECK_INT(http_parse_response(raw2, sizeof(raw2) - 1, h), 0);
    ri.version = NULL;
    ri.client_minor = 0;
    ri.framing = PROXY_RESP_CLOSE;
    ri.keep_alive = 1;
    CHECK_INT(proxy_head_response(out, h, &ri), 0);
    w.len = 0;
    want_str(&w, "HTTP/1.0 299 Unknown\r\nX-A: 1\r\nx-request-id: rid\r\n"
                 "Connection: keep-alive\r\n\r\n");
    CHECK(out_is(out, &w));
    h->status = 7;
    CHECK_INT(proxy_head_response(out, h, &ri), 0);
    w.len = 0;
    want_str(&w, "HTTP/1.0 007 Unknown\r\nX-A: 1\r\nx-request-id: rid\r\n"
                 "Connection: keep-alive\r\n\r\n");
    CHECK(out_is(out, &w));
    free(w.s);
    evbuffer_free(out);
    free(h);
}

/* Connection names more hop-by-hop headers, in any case, over several
 * fields and with empty elements; every header it names is dropped, in
 * requests and responses alike. */
static void test_connection_tokens(void)
{
    static const char raw[] = "GET / HTTP/1.1\r\n"
                              "Host: h\r\n"
                              "X-A: 1\r\n"
                              "Connection: x-a , ,X-B,\tx-c\t\r\n"
                              "X-B: 2\r\n"
                              "X-C: 3\r\n"
                              "X-D: 4\r\n"
                              "connection: X-E\r\n"
                              "x-e: 5\r\n"
                              "X-F: x-a\r\n"
                              "\r\n";
    static const char resp[] = "HTTP/1.1 200 OK\r\n"
                               "X-A: 1\r\n"
                               "Connection: keep-alive, X-A, x-b\r\n"
                               "X-B: 2\r\n"
                               "X-Bb: 2\r\n"
                               "Content-Length: 0\r\n"
                               "\r\n";
    struct http_request_head *h = calloc(1, sizeof(*h));
    struct http_response_head *rh = calloc(1, sizeof(*rh));
    struct http_parse_limits lim = { 8192 };
    struct proxy_request_info info = { 0 };
    struct proxy_response_info ri = { 0 };
    struct evbuffer *out = evbuffer_new();
    struct want w = { 0 };

    CHECK_INT(http_parse_request(raw, sizeof(raw) - 1, &lim, h), 0);
    info.path = SLICE_LIT("/");
    info.authority = SLICE_LIT("u");
    info.client_ip = "c";
    info.proto = "http";
    info.request_id = "r";
    CHECK_INT(proxy_head_request(out, h, &info), 0);
    want_str(&w, "GET / HTTP/1.1\r\nHost: u\r\nX-D: 4\r\nX-F: x-a\r\nX-Forwarded-For: c\r\n"
                 "X-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\nx-request-id: r\r\n\r\n");
    CHECK(out_is(out, &w));

    CHECK_INT(http_parse_response(resp, sizeof(resp) - 1, rh), 0);
    ri.request_id = "r";
    ri.client_minor = 1;
    ri.framing = PROXY_RESP_LENGTH;
    ri.keep_alive = 1;
    CHECK_INT(proxy_head_response(out, rh, &ri), 0);
    w.len = 0;
    want_str(&w, "HTTP/1.1 200 OK\r\nX-Bb: 2\r\nContent-Length: 0\r\nx-request-id: r\r\n\r\n");
    CHECK(out_is(out, &w));

    /* more tokens than are remembered: all still count */
    static const char many[] = "GET / HTTP/1.1\r\n"
                               "Host: h\r\n"
                               "Connection: t1,t2,t3,t4,t5,t6,t7,t8,t9,t10,t11,t12,t13,t14,t15\r\n"
                               "Connection: t16, t17, t18, X-Last\r\n"
                               "T1: a\r\nT16: b\r\nT18: c\r\nX-Last: d\r\nT19: e\r\n"
                               "\r\n";
    CHECK_INT(http_parse_request(many, sizeof(many) - 1, &lim, h), 0);
    CHECK_INT(proxy_head_request(out, h, &info), 0);
    w.len = 0;
    want_str(&w, "GET / HTTP/1.1\r\nHost: u\r\nT19: e\r\nX-Forwarded-For: c\r\n"
                 "X-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\nx-request-id: r\r\n\r\n");
    CHECK(out_is(out, &w));
    free(w.s);
    evbuffer_free(out);
    free(h);
    free(rh);
}

/* Builds a request head of n headers of about size bytes each (names of
 * every class among them); *expect gets the head the proxy must send for
 * it, *expect_resp the response head for the same fields. */
static size_t build_big(char *raw, size_t cap, size_t n, size_t size, struct want *expect,
                        struct want *expect_resp)
{
    static const char *const names[] = { "X-Big",       "Keep-Alive", "x-forwarded-for",
                                         "Accept",      "TE",         "X-Request-Id",
                                         "Cookie",      "Upgrade",    "x-sluice-function-version",
                                         "Content-Type" };
    struct want r = { 0 };
    struct want xff = { 0 };
    static char val[10000];

    want_str(&r, "POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n");
    want_str(expect, "POST /big HTTP/1.1\r\nHost: u\r\n");
    for (size_t i = 0; i < n; i++) {
        const char *name = names[i % (sizeof(names) / sizeof(names[0]))];
        size_t vlen = size - strlen(name) - 4;
        for (size_t k = 0; k < vlen; k++)
            val[k] = (char)('a' + (i + k) % 26);
        want_str(&r, name);
        want_add(&r, ": ", 2);
        want_add(&r, val, vlen);
        want_add(&r, "\r\n", 2);
        if (strcmp(name, "x-forwarded-for") == 0) {
            want_add(&xff, val, vlen);
            want_add(&xff, ", ", 2);
            continue;
        }
        if (strcmp(name, "Keep-Alive") && strcmp(name, "TE") && strcmp(name, "X-Request-Id") &&
            strcmp(name, "Upgrade")) {
            want_str(expect, name);
            want_add(expect, ": ", 2);
            want_add(expect, val, vlen);
            want_add(expect, "\r\n", 2);
        }
    }
    want_add(&r, "\r\n", 2);
    want_str(expect, "X-Forwarded-For: ");
    if (xff.len)
        want_add(expect, xff.s, xff.len);
    want_str(expect, "c\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n"
                     "x-request-id: r\r\nContent-Length: 0\r\n\r\n");

    /* the response: the same fields after a status line */
    want_str(expect_resp, "HTTP/1.1 200 OK\r\n");
    for (size_t i = 0; i < n; i++) {
        const char *name = names[i % (sizeof(names) / sizeof(names[0]))];
        size_t vlen = size - strlen(name) - 4;
        if (!strcmp(name, "Keep-Alive") || !strcmp(name, "TE") || !strcmp(name, "X-Request-Id") ||
            !strcmp(name, "Upgrade") || !strcmp(name, "x-sluice-function-version"))
            continue;
        for (size_t k = 0; k < vlen; k++)
            val[k] = (char)('a' + (i + k) % 26);
        want_str(expect_resp, name);
        want_add(expect_resp, ": ", 2);
        want_add(expect_resp, val, vlen);
        want_add(expect_resp, "\r\n", 2);
    }
    want_str(expect_resp, "Transfer-Encoding: chunked\r\nx-request-id: r\r\n\r\n");

    if (r.len > cap)
        r.len = 0;
    else
        memcpy(raw, r.s, r.len);
    free(r.s);
    free(xff.s);
    return r.len;
}

/* Heads far larger than the buffer they are normally built in come out
 * whole and in order; so do many small headers. */
static void test_big_heads(void)
{
    static const struct {
        size_t n, size;
    } shapes[] = { { 90, 200 }, { 97, 1000 }, { 60, 30 }, { 1, 9000 }, { 0, 0 } };
    static char raw[120000], resp[120000];
    struct http_request_head *h = calloc(1, sizeof(*h));
    struct http_response_head *rh = calloc(1, sizeof(*rh));
    struct http_parse_limits lim = { 8192 };
    struct proxy_request_info info = { 0 };
    struct proxy_response_info ri = { 0 };
    struct evbuffer *out = evbuffer_new();

    info.path = SLICE_LIT("/big");
    info.authority = SLICE_LIT("u");
    info.client_ip = "c";
    info.proto = "http";
    info.request_id = "r";
    info.body = PROXY_BODY_LENGTH;
    ri.request_id = "r";
    ri.client_minor = 1;
    ri.framing = PROXY_RESP_CHUNKED;
    ri.keep_alive = 1;
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        struct want w = { 0 }, wr = { 0 };
        size_t n = build_big(raw, sizeof raw, shapes[i].n, shapes[i].size, &w, &wr);
        size_t rn;

        CHECKF(n > 0, "shape %zu", i);
        CHECKF(http_parse_request(raw, n, &lim, h) == 0, "shape %zu parses", i);
        CHECK_INT(h->nheaders, shapes[i].n + 2);
        CHECK_INT(proxy_head_request(out, h, &info), 0);
        CHECKF(out_is(out, &w), "request shape %zu", i);

        /* "POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n" -> a status line */
        rn = (size_t)snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\n");
        memcpy(resp + rn, raw + 48, n - 48);
        rn += n - 48;
        CHECKF(http_parse_response(resp, rn, rh) == 0, "shape %zu response parses", i);
        CHECK_INT(proxy_head_response(out, rh, &ri), 0);
        CHECKF(out_is(out, &wr), "response shape %zu", i);
        free(w.s);
        free(wr.s);
    }
    evbuffer_free(out);
    free(h);
    free(rh);
}

/* Claim headers larger than the stack buffer are moved whole, in place. */
static void test_big_extra(void)
{
    static const char raw[] = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n\r\n";
    struct http_request_head *h = calloc(1, sizeof(*h));
    struct http_parse_limits lim = { 8192 };
    struct proxy_request_info info = { 0 };
    struct evbuffer *out = evbuffer_new(), *extra = evbuffer_new();
    struct want w = { 0 };
    static char line[20000];

    for (size_t i = 0; i < sizeof line; i++)
        line[i] = (char)('a' + i % 26);
    memcpy(line, "X-Claims: ", 10);
    memcpy(line + sizeof line - 2, "\r\n", 2);
    evbuffer_add(extra, line, sizeof line);
    CHECK_INT(http_parse_request(raw, sizeof(raw) - 1, &lim, h), 0);
    info.path = SLICE_LIT("/");
    info.authority = SLICE_LIT("u");
    info.client_ip = "c";
    info.proto = "http";
    info.request_id = "r";
    info.extra = extra;
    info.body = PROXY_BODY_CHUNKED;
    CHECK_INT(proxy_head_request(out, h, &info), 0);
    CHECK_INT(evbuffer_get_length(extra), 0);
    want_str(&w, "GET / HTTP/1.1\r\nHost: u\r\nA: 1\r\n");
    want_add(&w, line, sizeof line);
    want_str(&w, "X-Forwarded-For: c\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n"
                 "x-request-id: r\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(out_is(out, &w));
    free(w.s);
    evbuffer_free(extra);
    evbuffer_free(out);
    free(h);
}

int main(void)
{
    test_request();
    test_response();
    test_request_exact();
    test_response_exact();
    test_connection_tokens();
    test_big_heads();
    test_big_extra();
    return unit_done("test_proxy_head");
}
