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

int main(void)
{
    test_request();
    test_response();
    return unit_done("test_proxy_head");
}
