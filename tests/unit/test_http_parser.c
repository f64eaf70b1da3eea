/* test_http_parser.c - table-driven tests for the strict HTTP/1.1 parser and chunked decoder. */
#include "http_parser.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "unit.h"

/* A literal and its length, so cases may hold NUL bytes. */
#define R(s) s, sizeof(s) - 1

#define DEFAULT_URI_MAX 8192

/* 1 when s holds exactly the bytes of c; c == NULL means "absent" (ptr NULL). */
static int sl_is(struct slice s, const char *c)
{
    if (!c)
        return s.ptr == NULL;
    return s.ptr != NULL && s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

static int parse_req(const char *raw, size_t len, size_t max_uri, struct http_request_head *h)
{
    struct http_parse_limits lim = { max_uri ? max_uri : DEFAULT_URI_MAX };
    return http_parse_request(raw, len, &lim, h);
}

/* ------------------------------------------------------------ valid requests */

struct req_ok {
    const char *name;
    const char *raw;
    size_t len;
    const char *method;
    enum http_method method_id;
    const char *path;
    const char *query; /* NULL: no '?' */
    const char *host;  /* NULL: none */
    int minor;
    int64_t cl;
    int chunked, keep_alive, expect;
    size_t nheaders;
    int hi;             /* index of a header to look at, -1 for none */
    const char *hname;
    const char *hvalue;
};

#define HOST_H "Host: h\r\n"

static const struct req_ok req_ok_cases[] = {
    { "GET origin-form", R("GET /fn/hello HTTP/1.1\r\nHost: api.example.com\r\n\r\n"), "GET",
      HTTP_M_GET, "/fn/hello", NULL, "api.example.com", 1, -1, 0, 1, 0, 1, 0, "Host",
      "api.example.com" },
    { "query split", R("GET /a/b?x=1&y=%2F HTTP/1.1\r\n" HOST_H "\r\n"), "GET", HTTP_M_GET,
      "/a/b", "x=1&y=%2F", "h", 1, -1, 0, 1, 0, 1, -1, NULL, NULL },
    { "empty query", R("GET /a? HTTP/1.1\r\n" HOST_H "\r\n"), "GET", HTTP_M_GET, "/a", "", "h",
      1, -1, 0, 1, 0, 1, -1, NULL, NULL },
    { "root", R("HEAD / HTTP/1.1\r\n" HOST_H "\r\n"), "HEAD", HTTP_M_HEAD, "/", NULL, "h", 1, -1,
      0, 1, 0, 1, -1, NULL, NULL },
    { "absolute-form", R("GET http://Example.com:8080/p/q?z HTTP/1.1\r\nHost: other\r\n\r\n"),
      "GET", HTTP_M_GET, "/p/q", "z", "Example.com:8080", 1, -1, 0, 1, 0, 1, 0, "Host", "other" },
    { "absolute-form https, no path", R("GET HTTPS://h.example HTTP/1.1\r\nHost: h.example\r\n\r\n"),
      "GET", HTTP_M_GET, "/", NULL, "h.example", 1, -1, 0, 1, 0, 1, -1, NULL, NULL },
    { "absolute-form query, no path", R("GET http://h?a=b HTTP/1.1\r\n" HOST_H "\r\n"), "GET",
      HTTP_M_GET, "/", "a=b", "h", 1, -1, 0, 1, 0, 1, -1, NULL, NULL },
    { "OPTIONS *", R("OPTIONS * HTTP/1.1\r\n" HOST_H "\r\n"), "OPTIONS", HTTP_M_OPTIONS, "*", NULL,
      "h", 1, -1, 0, 1, 0, 1, -1, NULL, NULL },
    { "1.0 no Host, no keep-alive", R("GET /x HTTP/1.0\r\n\r\n"), "GET", HTTP_M_GET, "/x", NULL,
      NULL, 0, -1, 0, 0, 0, 0, -1, NULL, NULL },
    { "1.0 keep-alive", R("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), "GET", HTTP_M_GET,
      "/x", NULL, NULL, 0, -1, 0, 1, 0, 1, -1, NULL, NULL },
    { "1.0 Keep-Alive mixed case in list", R("GET /x HTTP/1.0\r\nHost: h\r\nConnection: foo,  Keep-Alive \r\n\r\n"),
      "GET", HTTP_M_GET, "/x", NULL, "h", 0, -1, 0, 1, 0, 2, -1, NULL, NULL },
    { "1.0 keep-alive and close", R("GET /x HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"),
      "GET", HTTP_M_GET, "/x", NULL, NULL, 0, -1, 0, 0, 0, 2, -1, NULL, NULL },
    { "1.1 Connection: close", R("GET / HTTP/1.1\r\n" HOST_H "Connection: close\r\n\r\n"), "GET",
      HTTP_M_GET, "/", NULL, "h", 1, -1, 0, 0, 0, 2, -1, NULL, NULL },
    { "1.1 close in a list", R("GET / HTTP/1.1\r\n" HOST_H "Connection: Upgrade, CLOSE\r\n\r\n"),
      "GET", HTTP_M_GET, "/", NULL, "h", 1, -1, 0, 0, 0, 2, -1, NULL, NULL },
    { "1.1 closed-ish token is not close", R("GET / HTTP/1.1\r\n" HOST_H "Connection: closed\r\n\r\n"),
      "GET", HTTP_M_GET, "/", NULL, "h", 1, -1, 0, 1, 0, 2, -1, NULL, NULL },
    { "Content-Length", R("POST /up HTTP/1.1\r\n" HOST_H "Content-Length: 42\r\n\r\n"), "POST",
      HTTP_M_POST, "/up", NULL, "h", 1, 42, 0, 1, 0, 2, -1, NULL, NULL },
    { "identical CL fields", R("PUT /up HTTP/1.1\r\n" HOST_H "Content-Length: 5\r\ncontent-length: 5\r\n\r\n"),
      "PUT", HTTP_M_PUT, "/up", NULL, "h", 1, 5, 0, 1, 0, 3, -1, NULL, NULL },
    { "identical CL list", R("POST /up HTTP/1.1\r\n" HOST_H "Content-Length: 7 ,7,\t7\r\n\r\n"),
      "POST", HTTP_M_POST, "/up", NULL, "h", 1, 7, 0, 1, 0, 2, -1, NULL, NULL },
    { "CL leading zeros", R("POST /up HTTP/1.1\r\n" HOST_H "Content-Length: 007\r\n\r\n"), "POST",
      HTTP_M_POST, "/up", NULL, "h", 1, 7, 0, 1, 0, 2, -1, NULL, NULL },
    { "CL zero", R("POST /up HTTP/1.1\r\n" HOST_H "Content-Length: 0\r\n\r\n"), "POST",
      HTTP_M_POST, "/up", NULL, "h", 1, 0, 0, 1, 0, 2, -1, NULL, NULL },
    { "CL int64 max", R("POST /up HTTP/1.1\r\n" HOST_H "Content-Length: 9223372036854775807\r\n\r\n"),
      "POST", HTTP_M_POST, "/up", NULL, "h", 1, INT64_MAX, 0, 1, 0, 2, -1, NULL, NULL },
    { "TE chunked", R("POST /up HTTP/1.1\r\n" HOST_H "Transfer-Encoding: chunked\r\n\r\n"), "POST",
      HTTP_M_POST, "/up", NULL, "h", 1, -1, 1, 1, 0, 2, -1, NULL, NULL },
    { "TE CHUNKED with OWS (accepted)", R("POST /up HTTP/1.1\r\n" HOST_H "Transfer-Encoding: \t CHUNKED \t\r\n\r\n"),
      "POST", HTTP_M_POST, "/up", NULL, "h", 1, -1, 1, 1, 0, 2, 1, "Transfer-Encoding", "CHUNKED" },
    { "Expect 100-continue", R("PUT /up HTTP/1.1\r\n" HOST_H "Expect: 100-continue\r\nContent-Length: 3\r\n\r\n"),
      "PUT", HTTP_M_PUT, "/up", NULL, "h", 1, 3, 0, 1, 1, 3, -1, NULL, NULL },
    { "Expect 100-Continue case", R("PUT /up HTTP/1.1\r\n" HOST_H "Expect: 100-Continue\r\n\r\n"),
      "PUT", HTTP_M_PUT, "/up", NULL, "h", 1, -1, 0, 1, 1, 2, -1, NULL, NULL },
    { "Expect ignored on 1.0", R("PUT /up HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"), "PUT",
      HTTP_M_PUT, "/up", NULL, NULL, 0, -1, 0, 0, 0, 1, -1, NULL, NULL },
    { "OWS trimmed", R("GET / HTTP/1.1\r\n" HOST_H "X-A: \t v a l \t\r\n\r\n"), "GET", HTTP_M_GET,
      "/", NULL, "h", 1, -1, 0, 1, 0, 2, 1, "X-A", "v a l" },
    { "no OWS", R("GET / HTTP/1.1\r\nHost:h\r\nX-B:tight\r\n\r\n"), "GET", HTTP_M_GET, "/", NULL,
      "h", 1, -1, 0, 1, 0, 2, 1, "X-B", "tight" },
    { "empty value", R("GET / HTTP/1.1\r\n" HOST_H "X-Empty:   \r\n\r\n"), "GET", HTTP_M_GET, "/",
      NULL, "h", 1, -1, 0, 1, 0, 2, 1, "X-Empty", "" },
    { "obs-text value", R("GET / HTTP/1.1\r\n" HOST_H "X-U: caf\xc3\xa9 \xff\r\n\r\n"), "GET",
      HTTP_M_GET, "/", NULL, "h", 1, -1, 0, 1, 0, 2, 1, "X-U", "caf\xc3\xa9 \xff" },
    { "case kept in name", R("GET / HTTP/1.1\r\n" HOST_H "x-MiXeD: 1\r\n\r\n"), "GET", HTTP_M_GET,
      "/", NULL, "h", 1, -1, 0, 1, 0, 2, 1, "x-MiXeD", "1" },
    { "leading empty line skipped", R("\r\nGET / HTTP/1.1\r\n" HOST_H "\r\n"), "GET", HTTP_M_GET,
      "/", NULL, "h", 1, -1, 0, 1, 0, 1, -1, NULL, NULL },
    { "unknown method", R("PURGE /c HTTP/1.1\r\n" HOST_H "\r\n"), "PURGE", HTTP_M_OTHER, "/c",
      NULL, "h", 1, -1, 0, 1, 0, 1, -1, NULL, NULL },
    { "lowercase method is another method", R("get / HTTP/1.1\r\n" HOST_H "\r\n"), "get",
      HTTP_M_OTHER, "/", NULL, "h", 1, -1, 0, 1, 0, 1, -1, NULL, NULL },
    { "encoded slash allowed", R("DELETE /o/a%2Fb HTTP/1.1\r\n" HOST_H "\r\n"), "DELETE",
      HTTP_M_DELETE, "/o/a%2Fb", NULL, "h", 1, -1, 0, 1, 0, 1, -1, NULL, NULL },
    { "dots inside names", R("GET /.well-known/a..b/.../c. HTTP/1.1\r\n" HOST_H "\r\n"), "GET",
      HTTP_M_GET, "/.well-known/a..b/.../c.", NULL, "h", 1, -1, 0, 1, 0, 1, -1, NULL, NULL },
    { "dot-segments in the query are not a path", R("GET /a?x=/../.&y=%2e%2e HTTP/1.1\r\n" HOST_H "\r\n"),
      "GET", HTTP_M_GET, "/a", "x=/../.&y=%2e%2e", "h", 1, -1, 0, 1, 0, 1, -1, NULL, NULL },
    { "empty segments", R("GET //a// HTTP/1.1\r\n" HOST_H "\r\n"), "GET", HTTP_M_GET, "//a//",
      NULL, "h", 1, -1, 0, 1, 0, 1, -1, NULL, NULL },
    { "IPv6 Host", R("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), "GET", HTTP_M_GET, "/", NULL,
      "[::1]:8080", 1, -1, 0, 1, 0, 1, -1, NULL, NULL },
    { "PATCH", R("PATCH /p HTTP/1.1\r\n" HOST_H "\r\n"), "PATCH", HTTP_M_PATCH,
      "/p", NULL, "h", 1, -1, 0, 1, 0, 1, -1, NULL, NULL },
};

static void test_requests_ok(void)
{
    for (size_t i = 0; i < sizeof(req_ok_cases) / sizeof(req_ok_cases[0]); i++) {
        const struct req_ok *c = &req_ok_cases[i];
        struct http_request_head h;
        int rc = parse_req(c->raw, c->len, 0, &h);

        CHECKF(rc == 0, "%s: status %d", c->name, rc);
        if (rc != 0)
            continue;
        CHECKF(sl_is(h.method, c->method), "%s: method", c->name);
        CHECKF(h.method_id == c->method_id, "%s: method_id %d", c->name, (int)h.method_id);
        CHECKF(h.target.ptr && h.target.len > 0, "%s: target", c->name);
        CHECKF(sl_is(h.path, c->path), "%s: path '%.*s'", c->name, (int)h.path.len,
               h.path.ptr ? h.path.ptr : "");
        CHECKF(sl_is(h.query, c->query), "%s: query '%.*s'", c->name, (int)h.query.len,
               h.query.ptr ? h.query.ptr : "");
        CHECKF(sl_is(h.host, c->host), "%s: host '%.*s'", c->name, (int)h.host.len,
               h.host.ptr ? h.host.ptr : "");
        CHECKF(h.version_minor == c->minor, "%s: minor %d", c->name, h.version_minor);
        CHECKF(h.content_length == c->cl, "%s: content_length %lld", c->name,
               (long long)h.content_length);
        CHECKF((int)h.chunked == c->chunked, "%s: chunked", c->name);
        CHECKF((int)h.keep_alive == c->keep_alive, "%s: keep_alive", c->name);
        CHECKF((int)h.expect_continue == c->expect, "%s: expect_continue", c->name);
        CHECKF(h.nheaders == c->nheaders, "%s: nheaders %zu", c->name, h.nheaders);
        if (c->hi >= 0 && (size_t)c->hi < h.nheaders) {
            CHECKF(sl_is(h.headers[c->hi].name, c->hname), "%s: header name", c->name);
            CHECKF(sl_is(h.headers[c->hi].value, c->hvalue), "%s: header value '%.*s'", c->name,
                   (int)h.headers[c->hi].value.len, h.headers[c->hi].value.ptr);
        }
    }
}

/* ------------------------------------------------------------ refused requests */

struct req_status {
    const char *name;
    const char *raw;
    size_t len;
    int status;
    size_t max_uri; /* 0: DEFAULT_URI_MAX */
};

#define POST_H "POST /up HTTP/1.1\r\nHost: h\r\n"

static const struct req_status req_status_cases[] = {
    /* framing: Content-Length / Transfer-Encoding */
    { "CL + TE", R(POST_H "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), 400, 0 },
    { "TE + CL", R(POST_H "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"), 400, 0 },
    { "TE gzip + CL", R(POST_H "Transfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n"), 400, 0 },
    { "conflicting CL fields", R(POST_H "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"), 400, 0 },
    { "conflicting CL list", R(POST_H "Content-Length: 5, 6\r\n\r\n"), 400, 0 },
    { "CL plus sign", R(POST_H "Content-Length: +5\r\n\r\n"), 400, 0 },
    { "CL minus sign", R(POST_H "Content-Length: -1\r\n\r\n"), 400, 0 },
    { "CL space inside", R(POST_H "Content-Length: 1 0\r\n\r\n"), 400, 0 },
    { "CL hex", R(POST_H "Content-Length: 0x10\r\n\r\n"), 400, 0 },
    { "CL empty", R(POST_H "Content-Length:\r\n\r\n"), 400, 0 },
    { "CL blank", R(POST_H "Content-Length:   \r\n\r\n"), 400, 0 },
    { "CL letters", R(POST_H "Content-Length: abc\r\n\r\n"), 400, 0 },
    { "CL empty list element", R(POST_H "Content-Length: 5,\r\n\r\n"), 400, 0 },
    { "CL int64 max + 1", R(POST_H "Content-Length: 9223372036854775808\r\n\r\n"), 400, 0 },
    { "CL uint64 overflow", R(POST_H "Content-Length: 99999999999999999999999\r\n\r\n"), 400, 0 },
    { "Content_Length spoof", R(POST_H "Content_Length: 5\r\n\r\n"), 400, 0 },
    { "TE gzip", R(POST_H "Transfer-Encoding: gzip\r\n\r\n"), 501, 0 },
    { "TE identity", R(POST_H "Transfer-Encoding: identity\r\n\r\n"), 501, 0 },
    { "TE gzip, chunked", R(POST_H "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501, 0 },
    { "TE gzip field then chunked field", R(POST_H "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"), 501, 0 },
    { "TE xchunked", R(POST_H "Transfer-Encoding: xchunked\r\n\r\n"), 501, 0 },
    { "TE gzip with parameter", R(POST_H "Transfer-Encoding: gzip;q=1, chunked\r\n\r\n"), 501, 0 },
    { "TE chunked, chunked", R(POST_H "Transfer-Encoding: chunked, chunked\r\n\r\n"), 400, 0 },
    { "TE chunked twice in fields", R(POST_H "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), 400, 0 },
    { "TE chunked not final", R(POST_H "Transfer-Encoding: chunked, gzip\r\n\r\n"), 400, 0 },
    { "TE trailing comma", R(POST_H "Transfer-Encoding: chunked,\r\n\r\n"), 400, 0 },
    { "TE leading comma", R(POST_H "Transfer-Encoding: , chunked\r\n\r\n"), 400, 0 },
    { "TE empty", R(POST_H "Transfer-Encoding:\r\n\r\n"), 400, 0 },
    { "TE chunked with parameter", R(POST_H "Transfer-Encoding: chunked;x=1\r\n\r\n"), 400, 0 },
    { "TE chunked junk", R(POST_H "Transfer-Encoding: chunked x\r\n\r\n"), 400, 0 },
    { "TE quoted", R(POST_H "Transfer-Encoding: \"chunked\"\r\n\r\n"), 400, 0 },
    { "TE on HTTP/1.0", R("POST /up HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400, 0 },
    { "TE gzip on HTTP/1.0", R("POST /up HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n"), 400, 0 },
    { "TE space before colon", R(POST_H "Transfer-Encoding : chunked\r\n\r\n"), 400, 0 },
    { "TE folded", R(POST_H "Transfer-Encoding:\r\n chunked\r\n\r\n"), 400, 0 },
    { "TE as continuation", R(POST_H "X: y\r\n Transfer-Encoding: chunked\r\n\r\n"), 400, 0 },
    { "TE vertical tab", R(POST_H "Transfer-Encoding:\x0b" "chunked\r\n\r\n"), 400, 0 },
    { "TE form feed after", R(POST_H "Transfer-Encoding: chunked\x0c\r\n\r\n"), 400, 0 },
    { "Transfer_Encoding spoof", R(POST_H "Transfer_Encoding: chunked\r\n\r\n"), 400, 0 },

    /* field syntax */
    { "obs-fold SP", R("GET / HTTP/1.1\r\n" HOST_H "X-A: a\r\n b\r\n\r\n"), 400, 0 },
    { "obs-fold HTAB", R("GET / HTTP/1.1\r\n" HOST_H "X-A: a\r\n\tb\r\n\r\n"), 400, 0 },
    { "NUL in value", R("GET / HTTP/1.1\r\n" HOST_H "X-A: a\0b\r\n\r\n"), 400, 0 },
    { "NUL in name", R("GET / HTTP/1.1\r\n" HOST_H "X\0A: b\r\n\r\n"), 400, 0 },
    { "DEL in value", R("GET / HTTP/1.1\r\n" HOST_H "X-A: a\x7f\r\n\r\n"), 400, 0 },
    { "bare CR in value", R("GET / HTTP/1.1\r\n" HOST_H "X-A: a\rb\r\n\r\n"), 400, 0 },
    { "bare LF in value", R("GET / HTTP/1.1\r\n" HOST_H "X-A: a\nb\r\n\r\n"), 400, 0 },
    { "bare LF line end", R("GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n"), 400, 0 },
    { "bare LF after a field", R("GET / HTTP/1.1\r\nX: y\nHost: h\r\n\r\n"), 400, 0 },
    { "bare LF request line", R("GET / HTTP/1.1\nHost: h\r\n\r\n"), 400, 0 },
    { "bare LF final line", R("GET / HTTP/1.1\r\nHost: h\r\n\n"), 400, 0 },
    { "CR CR LF", R("GET / HTTP/1.1\r\nHost: h\r\r\n\r\n"), 400, 0 },
    { "space before colon", R("GET / HTTP/1.1\r\n" HOST_H "X-A : b\r\n\r\n"), 400, 0 },
    { "tab before colon", R("GET / HTTP/1.1\r\n" HOST_H "X-A\t: b\r\n\r\n"), 400, 0 },
    { "no colon", R("GET / HTTP/1.1\r\n" HOST_H "X-A\r\n\r\n"), 400, 0 },
    { "empty name", R("GET / HTTP/1.1\r\n" HOST_H ": b\r\n\r\n"), 400, 0 },
    { "non-token name", R("GET / HTTP/1.1\r\n" HOST_H "X(A): b\r\n\r\n"), 400, 0 },
    { "no empty line", R("GET / HTTP/1.1\r\nHost: h\r\n"), 400, 0 },
    { "bytes after head", R("GET / HTTP/1.1\r\nHost: h\r\n\r\nX"), 400, 0 },
    { "empty buffer", R(""), 400, 0 },

    /* Host */
    { "missing Host on 1.1", R("GET / HTTP/1.1\r\nX: y\r\n\r\n"), 400, 0 },
    { "two Hosts", R("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400, 0 },
    { "two Hosts on 1.0", R("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n"), 400, 0 },
    { "empty Host", R("GET / HTTP/1.1\r\nHost: \r\n\r\n"), 400, 0 },
    { "Host with space", R("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400, 0 },
    { "Host with slash", R("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400, 0 },
    { "Host with userinfo", R("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"), 400, 0 },
    { "absolute-form still needs Host on 1.1", R("GET http://a/ HTTP/1.1\r\n\r\n"), 400, 0 },
    { "absolute-form userinfo", R("GET http://u:p@a/ HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "absolute-form empty authority", R("GET http:///x HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "absolute-form other scheme", R("GET ftp://a/ HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "authority-form", R("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"), 400, 0 },
    { "relative target", R("GET a/b HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "* for GET", R("GET * HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },

    /* request line and version */
    { "HTTP/1.2", R("GET / HTTP/1.2\r\n" HOST_H "\r\n"), 505, 0 },
    { "HTTP/2.0", R("GET / HTTP/2.0\r\n" HOST_H "\r\n"), 505, 0 },
    { "HTTP/0.9", R("GET / HTTP/0.9\r\n\r\n"), 505, 0 },
    { "HTTP/1", R("GET / HTTP/1\r\n" HOST_H "\r\n"), 400, 0 },
    { "HTTP/1.10", R("GET / HTTP/1.10\r\n" HOST_H "\r\n"), 400, 0 },
    { "HTTP/1.1 trailing space", R("GET / HTTP/1.1 \r\n" HOST_H "\r\n"), 400, 0 },
    { "lowercase http", R("GET / http/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "no version", R("GET /\r\n" HOST_H "\r\n"), 400, 0 },
    { "double space after method", R("GET  / HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "double space before version", R("GET /  HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "tab separator", R("GET\t/ HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "leading space", R(" GET / HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "bad method char", R("G(T / HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "control char in target", R("GET /a\x01" "b HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "tab in target", R("GET /a\tb HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "NUL in target", R("GET /a\0b HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "DEL in target", R("GET /a\x7f" " HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "obs-text in target", R("GET /caf\xc3\xa9 HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "CR in target", R("GET /a\rb HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "fragment in target", R("GET /a#b HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },

    /* dot-segments and escapes in the path */
    { "/.", R("GET /. HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "/..", R("GET /.. HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "/a/../b", R("GET /a/../b HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "/a/./b", R("GET /a/./b HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "/a/..", R("GET /a/.. HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "/a/.?q", R("GET /a/.?q HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "%2e%2e", R("GET /a/%2e%2e/b HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "%2e%2E", R("GET /a/%2e%2E/b HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "%2E", R("GET /a/%2E/b HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { ".%2e", R("GET /a/.%2e HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "..%2f", R("GET /a/..%2fb HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "%2f..%2F", R("GET /a%2f..%2Fb HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "backslash ..", R("GET /a/..\\b HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "%5c..", R("GET /a%5c..%5Cb HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "absolute-form /..", R("GET http://h/a/../b HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "malformed escape", R("GET /a%zz HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "truncated escape", R("GET /a%2 HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },
    { "encoded NUL", R("GET /a%00b HTTP/1.1\r\n" HOST_H "\r\n"), 400, 0 },

    /* target length: checked before anything else about the target */
    { "target at limit", R("GET /23456789abcdefg HTTP/1.1\r\n" HOST_H "\r\n"), 0, 16 },
    { "target over limit", R("GET /23456789abcdefgh HTTP/1.1\r\n" HOST_H "\r\n"), 414, 16 },
    { "long bad target is 414", R("GET /\x01/../3456789abcdefg HTTP/1.1\r\n" HOST_H "\r\n"), 414, 16 },
    { "long target, no version", R("GET /23456789abcdefgh\r\n\r\n"), 414, 16 },

    /* Expect */
    { "Expect foo", R("GET / HTTP/1.1\r\n" HOST_H "Expect: foo\r\n\r\n"), 417, 0 },
    { "Expect list", R("GET / HTTP/1.1\r\n" HOST_H "Expect: 100-continue, foo\r\n\r\n"), 417, 0 },
    { "Expect empty", R("GET / HTTP/1.1\r\n" HOST_H "Expect:\r\n\r\n"), 417, 0 },
    { "Expect foo on 1.0", R("GET / HTTP/1.0\r\nExpect: foo\r\n\r\n"), 417, 0 },
    { "framing beats Expect", R(POST_H "Expect: foo\r\nContent-Length: x\r\n\r\n"), 400, 0 },
};

static void test_requests_refused(void)
{
    for (size_t i = 0; i < sizeof(req_status_cases) / sizeof(req_status_cases[0]); i++) {
        const struct req_status *c = &req_status_cases[i];
        struct http_request_head h;
        int rc = parse_req(c->raw, c->len, c->max_uri, &h);
        CHECKF(rc == c->status, "%s: got %d, expected %d", c->name, rc, c->status);
    }
}

/* Builds a request with nfields header fields (Host first). */
static size_t build_many_headers(char *buf, size_t cap, size_t nfields)
{
    size_t n = 0;
    int w = fmt_buf(buf, cap, "GET / HTTP/1.1\r\nHost: h\r\n");

    if (w < 0)
        return 0;
    n = (size_t)w;
    for (size_t i = 1; i < nfields; i++) {
        w = fmt_buf(buf + n, cap - n, "X-H%zu: v%zu\r\n", i, i);
        if (w < 0)
            return 0;
        n += (size_t)w;
    }
    if (cap - n < 3)
        return 0;
    memcpy(buf + n, "\r\n", 2);
    return n + 2;
}

static void test_header_count(void)
{
    static char buf[8192];
    struct http_request_head h;
    size_t n;

    n = build_many_headers(buf, sizeof buf, HTTP_MAX_HEADERS);
    CHECK(n > 0);
    CHECK_INT(parse_req(buf, n, 0, &h), 0);
    CHECK_INT(h.nheaders, HTTP_MAX_HEADERS);
    CHECK(sl_is(h.headers[HTTP_MAX_HEADERS - 1].name, "X-H99"));
    CHECK(sl_is(h.headers[HTTP_MAX_HEADERS - 1].value, "v99"));

    n = build_many_headers(buf, sizeof buf, HTTP_MAX_HEADERS + 1);
    CHECK(n > 0);
    CHECK_INT(parse_req(buf, n, 0, &h), 431);
}

/* Every prefix of a valid head is refused and never read past (the
 * sanitizer build catches an overread; a heap copy of exactly n bytes makes
 * one visible). */
static void test_request_prefixes(void)
{
    static const char raw[] = "POST /a/b?c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n";
    size_t len = sizeof(raw) - 1;
    int bad = 0;

    for (size_t n = 0; n < len; n++) {
        char *copy = malloc(n ? n : 1);
        struct http_request_head h;
        if (!copy)
            return;
        memcpy(copy, raw, n);
        if (parse_req(copy, n, 0, &h) != 400)
            bad++;
        free(copy);
    }
    CHECK_INT(bad, 0);
}

/* Parses a heap copy of exactly n bytes (the sanitizer build sees an
 * overread) into a struct full of junk, as a pooled one is. *copy (freed
 * by the caller) gets the copy the slices point into. */
static int parse_copy(const char *raw, size_t n, struct http_request_head *h, char **copy)
{
    *copy = malloc(n ? n : 1);
    if (!*copy)
        return -1;
    memcpy(*copy, raw, n);
    memset(h, 0xa5, sizeof(*h));
    return parse_req(*copy, n, 0, h);
}

/* Field values and targets are scanned eight bytes at a time: a byte that
 * matters must be found wherever it falls in a word, and the bytes that
 * end a value or a target must end it exactly there. */
static void test_scan_boundaries(void)
{
    static const struct {
        unsigned char c;
        int value_rc;  /* the byte inside a field value */
        int target_rc; /* the byte inside the path */
    } bytes[] = {
        { '\t', 0, 400 }, { 0x01, 400, 400 }, { 0x00, 400, 400 }, { 0x7f, 400, 400 },
        { 0x80, 0, 400 }, { 0xff, 0, 400 },   { '\r', 400, 400 }, { '\n', 400, 400 },
        { '#', 0, 400 },  { 'x', 0, 0 },      { ' ', 0, 400 },    { '%', 0, 400 },
        { '~', 0, 0 },    { '!', 0, 0 },
    };
    char raw[256], val[64], *copy;
    struct http_request_head h;
    int bad = 0;

    for (size_t b = 0; b < sizeof(bytes) / sizeof(bytes[0]); b++) {
        for (size_t at = 0; at < 40; at++) {
            size_t vlen = at + 1 + (at % 9), n;
            int rc;

            /* in a field value: "X-V: aaa<c>aaa" (a leading/trailing SP or
             * HTAB is OWS, not value) */
            memset(val, 'a', vlen);
            val[at] = (char)bytes[b].c;
            n = (size_t)snprintf(raw, sizeof raw, "GET / HTTP/1.1\r\nHost: h\r\nX-V: ");
            memcpy(raw + n, val, vlen);
            n += vlen;
            memcpy(raw + n, "\r\n\r\n", 4);
            n += 4;
            rc = parse_copy(raw, n, &h, &copy);
            if (rc != bytes[b].value_rc) {
                bad++;
                fprintf(stderr, "value byte 0x%02x at %zu: %d\n", bytes[b].c, at, rc);
            } else if (rc == 0) {
                /* the value without OWS at either end */
                size_t from = 0, to = vlen, want;
                const char *wp;
                while (from < vlen && (val[from] == ' ' || val[from] == '\t'))
                    from++;
                while (to > from && (val[to - 1] == ' ' || val[to - 1] == '\t'))
                    to--;
                want = to - from;
                wp = copy + n - 4 - vlen + from;
                if (h.nheaders != 2 || h.headers[1].value.len != want ||
                    h.headers[1].value.ptr != wp) {
                    bad++;
                    fprintf(stderr, "value byte 0x%02x at %zu: wrong slice\n", bytes[b].c, at);
                }
            }
            free(copy);

            /* in the path: "GET /zzz<c>zzz HTTP/1.1" ('%' never starts an escape) */
            memset(val, 'z', vlen);
            val[at] = (char)bytes[b].c;
            n = 0;
            memcpy(raw, "GET /", 5);
            n = 5;
            memcpy(raw + n, val, vlen);
            n += vlen;
            n += (size_t)snprintf(raw + n, sizeof raw - n, " HTTP/1.1\r\nHost: h\r\n\r\n");
            rc = parse_copy(raw, n, &h, &copy);
            /* SP ends the target early: what follows is no version */
            if (rc != bytes[b].target_rc) {
                bad++;
                fprintf(stderr, "target byte 0x%02x at %zu: %d\n", bytes[b].c, at, rc);
            } else if (rc == 0 && (h.path.len != vlen + 1 || h.path.ptr != copy + 4)) {
                bad++;
                fprintf(stderr, "target byte 0x%02x at %zu: wrong path\n", bytes[b].c, at);
            }
            free(copy);
        }
    }
    CHECK_INT(bad, 0);
}

/* Field names are scanned sixteen bytes at a time while they hold only
 * letters, digits and '-': any other byte, wherever it falls, is judged as
 * before (other tchars go on, ':' ends the name, the rest are errors). */
static void test_name_boundaries(void)
{
    static const char odd[] = "_.!#$%&'*+^`|~:@[]{}\"(),/;<=>?\\ \t\x7f\x80\xc1\xff\x01";
    char raw[256], name[64], *copy;
    struct http_request_head h;
    int bad = 0;

    for (size_t k = 0; k < sizeof(odd) - 1; k++) {
        unsigned char c = (unsigned char)odd[k];
        int tchar = strchr("_.!#$%&'*+^`|~", c) != NULL;
        for (size_t at = 0; at < 40; at++) {
            size_t nlen = at + 1 + (at % 7), n;
            int rc, want;

            for (size_t i = 0; i < nlen; i++)
                name[i] = (char)("aZ09-"[i % 5]);
            name[at] = (char)c;
            memcpy(raw, "GET / HTTP/1.1\r\nHost: h\r\n", 25);
            n = 25;
            memcpy(raw + n, name, nlen);
            n += nlen;
            memcpy(raw + n, ": v\r\n\r\n", 7);
            n += 7;
            rc = parse_copy(raw, n, &h, &copy);
            /* ':' first: an empty name; ':' later: the name ends there */
            want = tchar || (c == ':' && at > 0) ? 0 : 400;
            if (rc != want) {
                bad++;
                fprintf(stderr, "name byte 0x%02x at %zu: %d\n", c, at, rc);
            } else if (rc == 0) {
                size_t wl = c == ':' ? at : nlen;
                if (h.nheaders != 2 || h.headers[1].name.len != wl ||
                    h.headers[1].name.ptr != copy + 25) {
                    bad++;
                    fprintf(stderr, "name byte 0x%02x at %zu: wrong name\n", c, at);
                }
            }
            free(copy);
        }
    }
    CHECK_INT(bad, 0);
}

/* Dot-segments are found wherever they fall in a word, also after a run
 * of plain bytes that is skipped quickly; dots in the query never count. */
static void test_dot_segments_anywhere(void)
{
    static const struct {
        const char *seg;
        int rc;
    } segs[] = {
        { "/..", 400 },     { "/.", 400 },    { "/../", 400 },   { "/./", 400 },
        { "/%2e%2e", 400 }, { "/%2E.", 400 }, { "/.%2e/", 400 }, { "/...", 0 },
        { "/.a", 0 },       { "/a.", 0 },     { "/%41", 0 },     { "/%zz", 400 },
        { "/%00", 400 },    { "/%2", 400 },   { "?/..", 0 },     { "?x=../a.b", 0 },
        { "/..?x", 400 },   { "\\..", 400 },  { "/%5c..", 400 },
    };
    char raw[256], *copy;
    struct http_request_head h;
    int bad = 0;

    for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        for (size_t pre = 0; pre < 20; pre++) {
            size_t n;
            int rc;
            memcpy(raw, "GET /", 5);
            n = 5;
            memset(raw + n, 'p', pre);
            n += pre;
            n += (size_t)snprintf(raw + n, sizeof raw - n, "%s HTTP/1.1\r\nHost: h\r\n\r\n",
                                  segs[i].seg);
            rc = parse_copy(raw, n, &h, &copy);
            free(copy);
            if (rc != segs[i].rc) {
                bad++;
                fprintf(stderr, "segment %s after %zu bytes: %d\n", segs[i].seg, pre, rc);
            }
        }
    }
    CHECK_INT(bad, 0);
}

/* The parser writes fields one by one: a struct full of junk (a pooled
 * request's earlier head) parses exactly as a clean one. */
static void test_reused_struct(void)
{
    static const char raw[] = "POST /a/b?c=d HTTP/1.1\r\n"
                              "Host: api.example.com\r\n"
                              "Content-Length: 3\r\n"
                              "Expect: 100-continue\r\n"
                              "Connection: keep-alive\r\n"
                              "X-Empty:\r\n"
                              "X-Ows: \t v \t\r\n"
                              "\r\n";
    struct http_request_head *a = calloc(1, sizeof(*a)), *b = malloc(sizeof(*b));
    struct http_response_head *ra = calloc(1, sizeof(*ra)), *rb = malloc(sizeof(*rb));
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\n";

    if (!a || !b || !ra || !rb)
        return;
    memset(b, 0x5a, sizeof(*b));
    CHECK_INT(parse_req(raw, sizeof(raw) - 1, 0, a), 0);
    CHECK_INT(parse_req(raw, sizeof(raw) - 1, 0, b), 0);
    CHECK(sl_is(b->method, "POST") && b->method_id == HTTP_M_POST);
    CHECK(sl_is(b->target, "/a/b?c=d") && sl_is(b->path, "/a/b") && sl_is(b->query, "c=d"));
    CHECK(sl_is(b->host, "api.example.com"));
    CHECK_INT(b->version_minor, 1);
    CHECK_INT(b->content_length, 3);
    CHECK_INT(b->chunked, 0);
    CHECK_INT(b->keep_alive, 1);
    CHECK_INT(b->expect_continue, 1);
    CHECK_INT(b->nheaders, 6);
    CHECK_INT(a->nheaders, b->nheaders);
    for (size_t i = 0; i < a->nheaders && i < HTTP_MAX_HEADERS; i++) {
        CHECK(a->headers[i].name.ptr == b->headers[i].name.ptr);
        CHECK(a->headers[i].name.len == b->headers[i].name.len);
        CHECK(a->headers[i].value.ptr == b->headers[i].value.ptr);
        CHECK(a->headers[i].value.len == b->headers[i].value.len);
    }
    CHECK(sl_is(b->headers[4].value, ""));
    CHECK(sl_is(b->headers[5].value, "v"));

    /* an HTTP/1.0 request without a Host after one with everything */
    static const char raw10[] = "GET / HTTP/1.0\r\n\r\n";
    CHECK_INT(parse_req(raw10, sizeof(raw10) - 1, 0, b), 0);
    CHECK(b->host.ptr == NULL && b->query.ptr == NULL);
    CHECK_INT(b->content_length, -1);
    CHECK_INT(b->expect_continue, 0);
    CHECK_INT(b->keep_alive, 0);
    CHECK_INT(b->nheaders, 0);

    memset(rb, 0x5a, sizeof(*rb));
    CHECK_INT(http_parse_response(resp, sizeof(resp) - 1, ra), 0);
    CHECK_INT(http_parse_response(resp, sizeof(resp) - 1, rb), 0);
    CHECK(rb->status == 200 && rb->version_minor == 1 && sl_is(rb->reason, "OK"));
    CHECK(rb->content_length == 5 && !rb->chunked && !rb->until_close && rb->keep_alive);
    CHECK_INT(rb->nheaders, 2);
    CHECK(sl_is(rb->headers[1].name, "X-A") && sl_is(rb->headers[1].value, "b"));
    free(a);
    free(b);
    free(ra);
    free(rb);
}

/* The framing names are recognized by length first, then one compare:
 * neighbours of the right length must not pass for them, nor case or '_'
 * change what they mean. */
static void test_framing_names(void)
{
    static const struct {
        const char *field;
        int rc;
        int64_t cl;
        int chunked;
    } cases[] = {
        { "Content-Length: 3", 0, 3, 0 },
        { "CONTENT-LENGTH: 3", 0, 3, 0 },
        { "content-lengtH: 3", 0, 3, 0 },
        { "Content_Length: 3", 400, 0, 0 },
        { "Content-Length_: 3", 0, -1, 0 },
        { "Content-Lengti: x", 0, -1, 0 },
        { "Bontent-Length: x", 0, -1, 0 },
        { "Content-Lengthh: x", 0, -1, 0 },
        { "Content-Lengt: x", 0, -1, 0 },
        { "Sec-Fetch-Mode: cors", 0, -1, 0 },
        { "Content\rLength: 3", 400, 0, 0 },
        { "Transfer-Encoding: chunked", 0, -1, 1 },
        { "TRANSFER-ENCODING: chunked", 0, -1, 1 },
        { "Transfer_Encoding: chunked", 400, 0, 0 },
        { "Transfer-Encodinh: chunked", 0, -1, 0 },
        { "Uransfer-Encoding: chunked", 0, -1, 0 },
        { "Connection: close", 0, -1, 0 },
        { "Expect: 100-continue", 0, -1, 0 },
        { "Expect: 100-continuf", 417, 0, 0 },
        { "Expecu: 100-continuf", 0, -1, 0 },
        { "Host: other", 400, 0, 0 },
        { "Hosu: other", 0, -1, 0 },
        { "Host_: other", 0, -1, 0 },
    };
    char raw[256], *copy;
    struct http_request_head h;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = (size_t)snprintf(raw, sizeof raw, "POST / HTTP/1.1\r\nHost: h\r\n%s\r\n\r\n",
                                    cases[i].field);
        int rc = parse_copy(raw, n, &h, &copy);
        free(copy);
        CHECKF(rc == cases[i].rc, "'%s' gives %d", cases[i].field, rc);
        if (rc == 0 && cases[i].rc == 0) {
            CHECKF(h.content_length == cases[i].cl, "'%s' length", cases[i].field);
            CHECKF(h.chunked == cases[i].chunked, "'%s' chunked", cases[i].field);
        }
    }
}

/* ------------------------------------------------------------ head end */

struct head_end_case {
    const char *name;
    const char *buf;
    size_t len;
    size_t end;
};

static const struct head_end_case head_end_cases[] = {
    { "request", R("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 27 },
    { "request with body after", R("GET / HTTP/1.1\r\nHost: h\r\n\r\nBODY\r\n\r\n"), 27 },
    { "only terminator", R("\r\n\r\n"), 4 },
    { "not yet", R("GET / HTTP/1.1\r\nHost: h\r\n\r"), 0 },
    { "bare LFs are not a terminator", R("GET / HTTP/1.1\n\n\r\n\n\r\r\n"), 0 },
    { "CR run", R("a\r\r\r\n\r\n"), 7 },
    { "first of two", R("a\r\n\r\nb\r\n\r\n"), 5 },
    { "empty", R(""), 0 },
};

static void test_head_end(void)
{
    for (size_t i = 0; i < sizeof(head_end_cases) / sizeof(head_end_cases[0]); i++) {
        const struct head_end_case *c = &head_end_cases[i];
        size_t scan = 0, got, found = 0;

        got = http_head_end(c->buf, c->len, &scan);
        CHECKF(got == c->end, "%s: whole: got %zu, expected %zu", c->name, got, c->end);

        /* a byte at a time: found exactly when its last byte arrives */
        scan = 0;
        for (size_t n = 0; n <= c->len; n++) {
            got = http_head_end(c->buf, n, &scan);
            if (got) {
                found = got;
                CHECKF(n == got, "%s: bytewise: found %zu at %zu bytes", c->name, got, n);
                break;
            }
            CHECKF(scan <= n, "%s: scan_from %zu beyond %zu", c->name, scan, n);
        }
        CHECKF(found == c->end, "%s: bytewise: got %zu, expected %zu", c->name, found, c->end);
    }
}

static void test_head_end_straddle(void)
{
    static const char buf[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    size_t len = sizeof(buf) - 1, scan;

    /* every split of the data in two calls, so the terminator is cut at
     * each of its bytes */
    for (size_t k = 0; k <= len; k++) {
        size_t first, second;
        scan = 0;
        first = http_head_end(buf, k, &scan);
        second = first ? first : http_head_end(buf, len, &scan);
        CHECKF(second == len, "split at %zu: got %zu", k, second);
    }
    /* a stale offset past the data restarts the scan */
    scan = 1000;
    CHECK_INT(http_head_end(buf, len, &scan), len);
    /* a NULL scan_from just scans everything */
    CHECK_INT(http_head_end(buf, len, NULL), len);
}

/* ------------------------------------------------------------ responses */

struct resp_case {
    const char *name;
    const char *raw;
    size_t len;
    int rc;
    int status, minor;
    const char *reason;
    int64_t cl;
    int chunked, until_close, keep_alive;
    size_t nheaders;
};

static const struct resp_case resp_cases[] = {
    { "CL", R("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"), 0, 200, 1, "OK", 12, 0, 0, 1, 1 },
    { "identical CLs", R("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\n"), 0,
      200, 1, "OK", 3, 0, 0, 1, 2 },
    { "chunked", R("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"), 0, 201, 1,
      "Created", -1, 1, 0, 1, 1 },
    { "gzip, chunked", R("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"), 0, 200, 1,
      "OK", -1, 1, 0, 1, 1 },
    { "no length: until close", R("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"), 0, 200, 1, "OK", -1, 0,
      1, 0, 1 },
    { "TE gzip: until close", R("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), 0, 200, 1,
      "OK", -1, 0, 1, 0, 1 },
    { "TE chunked not final: until close", R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
      0, 200, 1, "OK", -1, 0, 1, 0, 1 },
    { "204 ignores CL", R("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"), 0, 204, 1,
      "No Content", 0, 0, 0, 1, 1 },
    { "304 ignores TE", R("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"), 0, 304,
      1, "Not Modified", 0, 0, 0, 1, 1 },
    { "304 without length", R("HTTP/1.1 304 Not Modified\r\n\r\n"), 0, 304, 1, "Not Modified", 0, 0,
      0, 1, 0 },
    { "100 Continue", R("HTTP/1.1 100 Continue\r\n\r\n"), 0, 100, 1, "Continue", 0, 0, 0, 1, 0 },
    { "101 Switching", R("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
      0, 101, 1, "Switching Protocols", 0, 0, 0, 1, 2 },
    { "1.0 with CL", R("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n"), 0, 200, 0, "OK", 3, 0, 0, 0,
      1 },
    { "1.0 keep-alive", R("HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: Keep-Alive\r\n\r\n"),
      0, 200, 0, "OK", 3, 0, 0, 1, 2 },
    { "1.0 keep-alive until close", R("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n"), 0, 200,
      0, "OK", -1, 0, 1, 0, 1 },
    { "1.1 close", R("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\n"), 0, 200, 1,
      "OK", 3, 0, 0, 0, 2 },
    { "empty reason", R("HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n"), 0, 404, 1, "", 0, 0, 0, 1, 1 },
    { "no SP, no reason (accepted)", R("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n"), 0, 404, 1, "",
      0, 0, 0, 1, 1 },
    { "reason with tab and obs-text", R("HTTP/1.1 500 Oops\tnon \xe9t\xe9\r\nContent-Length: 0\r\n\r\n"),
      0, 500, 1, "Oops\tnon \xe9t\xe9", 0, 0, 0, 1, 1 },
    { "599", R("HTTP/1.1 599 X\r\nContent-Length: 0\r\n\r\n"), 0, 599, 1, "X", 0, 0, 0, 1, 1 },

    { "CL + TE", R("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), .rc = -1 },
    { "CL + TE on 204", R("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), .rc = -1 },
    { "conflicting CL", R("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"), .rc = -1 },
    { "bad CL", R("HTTP/1.1 200 OK\r\nContent-Length: 3a\r\n\r\n"), .rc = -1 },
    { "chunked, chunked", R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"), .rc = -1 },
    { "TE empty element", R("HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked\r\n\r\n"), .rc = -1 },
    { "status 099", R("HTTP/1.1 099 X\r\n\r\n"), .rc = -1 },
    { "status 600", R("HTTP/1.1 600 X\r\n\r\n"), .rc = -1 },
    { "two-digit status", R("HTTP/1.1 20 OK\r\n\r\n"), .rc = -1 },
    { "four-digit status", R("HTTP/1.1 2000 OK\r\n\r\n"), .rc = -1 },
    { "status with letter", R("HTTP/1.1 2x0 OK\r\n\r\n"), .rc = -1 },
    { "HTTP/2.0", R("HTTP/2.0 200 OK\r\n\r\n"), .rc = -1 },
    { "HTTP/1.2", R("HTTP/1.2 200 OK\r\n\r\n"), .rc = -1 },
    { "lowercase http", R("http/1.1 200 OK\r\n\r\n"), .rc = -1 },
    { "double space", R("HTTP/1.1  200 OK\r\n\r\n"), .rc = -1 },
    { "bare LF status line", R("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"), .rc = -1 },
    { "bare CR in reason", R("HTTP/1.1 200 O\rK\r\n\r\n"), .rc = -1 },
    { "NUL in reason", R("HTTP/1.1 200 O\0K\r\n\r\n"), .rc = -1 },
    { "obs-fold", R("HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"), .rc = -1 },
    { "space before colon", R("HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"), .rc = -1 },
    { "NUL in value", R("HTTP/1.1 200 OK\r\nX: a\0\r\nContent-Length: 0\r\n\r\n"), .rc = -1 },
    { "truncated", R("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"), .rc = -1 },
    { "short", R("HTTP/1.1 20"), .rc = -1 },
};

static void test_responses(void)
{
    for (size_t i = 0; i < sizeof(resp_cases) / sizeof(resp_cases[0]); i++) {
        const struct resp_case *c = &resp_cases[i];
        struct http_response_head r;
        int rc = http_parse_response(c->raw, c->len, &r);

        CHECKF(rc == c->rc, "%s: rc %d, expected %d", c->name, rc, c->rc);
        if (rc != 0 || c->rc != 0)
            continue;
        CHECKF(r.status == c->status, "%s: status %d", c->name, r.status);
        CHECKF(r.version_minor == c->minor, "%s: minor %d", c->name, r.version_minor);
        CHECKF(sl_is(r.reason, c->reason), "%s: reason '%.*s'", c->name, (int)r.reason.len,
               r.reason.ptr);
        CHECKF(r.content_length == c->cl, "%s: content_length %lld", c->name,
               (long long)r.content_length);
        CHECKF((int)r.chunked == c->chunked, "%s: chunked", c->name);
        CHECKF((int)r.until_close == c->until_close, "%s: until_close", c->name);
        CHECKF((int)r.keep_alive == c->keep_alive, "%s: keep_alive", c->name);
        CHECKF(r.nheaders == c->nheaders, "%s: nheaders %zu", c->name, r.nheaders);
    }
}

/* ------------------------------------------------------------ chunked */

/* 1 when the evbuffer holds exactly s[0..n). */
static int ev_is(struct evbuffer *b, const char *s, size_t n)
{
    size_t have = evbuffer_get_length(b);
    if (have != n)
        return 0;
    return n == 0 || memcmp(evbuffer_pullup(b, -1), s, n) == 0;
}

/* Decodes data fed whole (step 0) or `step` bytes at a time. Returns the
 * last result; body gets the decoded bytes, left what was not consumed
 * (including bytes never fed). */
static int run_chunked(const char *data, size_t len, size_t max_trailer, size_t step,
                       struct evbuffer *body, struct evbuffer *left)
{
    struct http_chunked c;
    struct evbuffer *in = evbuffer_new();
    size_t fed = 0, moved, total = 0;
    int rc = 0;

    if (!in)
        return -2;
    http_chunked_init(&c, max_trailer);
    do {
        size_t n = step ? step : len;
        if (n > len - fed)
            n = len - fed;
        evbuffer_add(in, data + fed, n);
        fed += n;
        moved = 12345;
        rc = http_chunked_decode(&c, in, body, SIZE_MAX, &moved);
        total += moved;
    } while (rc == 0 && fed < len);
    if (rc == 1 && fed < len) {
        /* what follows the message is never touched */
        evbuffer_add(in, data + fed, len - fed);
        rc = http_chunked_decode(&c, in, body, SIZE_MAX, &moved);
        if (moved != 0)
            rc = -3;
    }
    if (total != evbuffer_get_length(body))
        rc = -4;
    evbuffer_add_buffer(left, in);
    evbuffer_free(in);
    return rc;
}

struct chunk_case {
    const char *name;
    const char *in;
    size_t len;
    size_t max_trailer;
    int rc;
    const char *body; /* decoded body (when rc >= 0) */
    size_t body_len;
    const char *left; /* bytes left in the input (when rc >= 0) */
};

static const struct chunk_case chunk_cases[] = {
    { "two chunks", R("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), 64, 1, R("hello world"), "" },
    { "hex case", R("a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n"), 64, 1,
      R("0123456789abcdefghij"), "" },
    { "leading zeros", R("0005\r\nhello\r\n000\r\n\r\n"), 64, 1, R("hello"), "" },
    { "empty body", R("0\r\n\r\n"), 64, 1, R(""), "" },
    { "extensions", R("5;name=val\r\nhello\r\n1; a = \"q;s\"\t\r\n!\r\n0;last\r\n\r\n"), 64, 1,
      R("hello!"), "" },
    { "trailers", R("5\r\nhello\r\n0\r\nX-Sum: abc\r\nY:\r\n\r\n"), 64, 1, R("hello"), "" },
    { "trailer at the cap", R("1\r\nx\r\n0\r\nX: 1234567\r\n\r\n"), 12, 1, R("x"), "" },
    { "pipelined bytes stay", R("3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n"), 64, 1, R("abc"),
      "GET / HTTP/1.1\r\n" },
    { "binary data", R("4\r\n\0\r\n\xff\r\n0\r\n\r\n"), 64, 1, R("\0\r\n\xff"), "" },
    { "incomplete data", R("5\r\nhel"), 64, 0, R("hel"), "" },
    { "incomplete size line", R("5\r"), 64, 0, R(""), "" },
    { "incomplete trailers", R("0\r\nX: y\r\n"), 64, 0, R(""), "" },
    { "max size, waiting for data", R("7fffffffffffffff\r\n"), 64, 0, R(""), "" },

    { "bad hex", R("g\r\nx\r\n0\r\n\r\n"), 64, .rc = -1 },
    { "junk after size", R("5x\r\nhello\r\n0\r\n\r\n"), 64, .rc = -1 },
    { "0x prefix", R("0x5\r\nhello\r\n0\r\n\r\n"), 64, .rc = -1 },
    { "empty size", R("\r\nhello\r\n0\r\n\r\n"), 64, .rc = -1 },
    { "negative size", R("-5\r\nhello\r\n0\r\n\r\n"), 64, .rc = -1 },
    { "space before size", R(" 5\r\nhello\r\n0\r\n\r\n"), 64, .rc = -1 },
    { "space after size", R("5 \r\nhello\r\n0\r\n\r\n"), 64, .rc = -1 },
    { "space before ;", R("5 ;x\r\nhello\r\n0\r\n\r\n"), 64, .rc = -1 },
    { "CTL in extension", R("5;a\x01" "b\r\nhello\r\n0\r\n\r\n"), 64, .rc = -1 },
    { "LF in extension", R("5;a\nhello\r\n0\r\n\r\n"), 64, .rc = -1 },
    { "data too long", R("5\r\nhelloX\r\n0\r\n\r\n"), 64, .rc = -1 },
    { "no CRLF after data", R("5\r\nhello0\r\n\r\n"), 64, .rc = -1 },
    { "LF after data", R("5\r\nhello\n0\r\n\r\n"), 64, .rc = -1 },
    { "CR only after data", R("5\r\nhello\r0\r\n\r\n"), 64, .rc = -1 },
    { "bare LF after size", R("5\nhello\r\n0\r\n\r\n"), 64, .rc = -1 },
    { "bare CR after size", R("5\rhello\r\n0\r\n\r\n"), 64, .rc = -1 },
    { "bare LF last chunk", R("5\r\nhello\r\n0\n\r\n"), 64, .rc = -1 },
    { "bare LF final line", R("0\r\n\n"), 64, .rc = -1 },
    { "bare LF in trailer", R("0\r\nX: y\n\r\n"), 64, .rc = -1 },
    { "overflow 2^63", R("8000000000000000\r\n"), 64, .rc = -1 },
    { "overflow 2^64", R("10000000000000000\r\n"), 64, .rc = -1 },
    { "17 digits", R("00000000000000001\r\nx\r\n0\r\n\r\n"), 64, .rc = -1 },
    { "trailer over cap", R("1\r\nx\r\n0\r\nX: 12345678\r\n\r\n"), 12, .rc = -1 },
    { "no trailers allowed", R("0\r\nX: 1\r\n\r\n"), 0, .rc = -1 },
    { "trailer obs-fold", R("0\r\nX: a\r\n b\r\n\r\n"), 64, .rc = -1 },
    { "trailer no colon", R("0\r\nX\r\n\r\n"), 64, .rc = -1 },
    { "trailer space before colon", R("0\r\nX : a\r\n\r\n"), 64, .rc = -1 },
    { "trailer NUL", R("0\r\nX: a\0\r\n\r\n"), 64, .rc = -1 },
};

static void test_chunked_table(void)
{
    static const size_t steps[] = { 0, 1, 2, 7 };

    for (size_t i = 0; i < sizeof(chunk_cases) / sizeof(chunk_cases[0]); i++) {
        const struct chunk_case *c = &chunk_cases[i];
        for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
            struct evbuffer *body = evbuffer_new(), *left = evbuffer_new();
            int rc;

            if (!body || !left)
                return;
            rc = run_chunked(c->in, c->len, c->max_trailer, steps[s], body, left);
            CHECKF(rc == c->rc, "%s (step %zu): rc %d, expected %d", c->name, steps[s], rc, c->rc);
            if (c->rc >= 0 && rc == c->rc) {
                CHECKF(ev_is(body, c->body, c->body_len),
                       "%s (step %zu): body", c->name, steps[s]);
                CHECKF(ev_is(left, c->left, strlen(c->left)), "%s (step %zu): left %zu bytes",
                       c->name, steps[s], evbuffer_get_length(left));
            }
            evbuffer_free(body);
            evbuffer_free(left);
        }
    }
}

/* Every way to cut a message in two gives the same result. */
static void test_chunked_splits(void)
{
    static const char msg[] = "5;e=1\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\nNEXT";
    size_t len = sizeof(msg) - 1;
    int bad = 0;

    for (size_t k = 0; k <= len; k++) {
        struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
        struct http_chunked c;
        int rc;

        if (!in || !out)
            return;
        http_chunked_init(&c, 64);
        evbuffer_add(in, msg, k);
        rc = http_chunked_decode(&c, in, out, SIZE_MAX, NULL);
        if (rc == 0) {
            evbuffer_add(in, msg + k, len - k);
            rc = http_chunked_decode(&c, in, out, SIZE_MAX, NULL);
        } else {
            evbuffer_add(in, msg + k, len - k);
        }
        if (rc != 1 || !ev_is(out, "hello world", 11) || !ev_is(in, "NEXT", 4))
            bad++;
        evbuffer_free(in);
        evbuffer_free(out);
    }
    CHECK_INT(bad, 0);
}

static void test_chunked_backpressure(void)
{
    static const char msg[] = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
    struct http_chunked c;
    size_t moved = 99;
    int rc, calls = 0, over = 0;

    if (!in || !out)
        return;

    /* max_out 0: framing is read up to the data, no body moves */
    http_chunked_init(&c, 64);
    evbuffer_add(in, msg, sizeof(msg) - 1);
    rc = http_chunked_decode(&c, in, out, 0, &moved);
    CHECK_INT(rc, 0);
    CHECK_INT(moved, 0);
    CHECK_INT(evbuffer_get_length(out), 0);
    CHECK_INT(evbuffer_get_length(in), sizeof(msg) - 1 - 3);

    /* max_out 3: at most 3 bytes per call, nothing lost */
    do {
        moved = 99;
        rc = http_chunked_decode(&c, in, out, 3, &moved);
        if (moved > 3)
            over++;
        calls++;
    } while (rc == 0 && calls < 100);
    CHECK_INT(rc, 1);
    CHECK_INT(over, 0);
    CHECK_INT(calls, 4); /* "hel", "lo"+" ", "wor", "ld" and the end */
    CHECK(ev_is(out, "hello world", 11));
    CHECK_INT(evbuffer_get_length(in), 0);

    /* max_out equal to the first chunk: stops before the second chunk's data */
    evbuffer_drain(out, evbuffer_get_length(out));
    http_chunked_init(&c, 64);
    evbuffer_add(in, msg, sizeof(msg) - 1);
    rc = http_chunked_decode(&c, in, out, 5, &moved);
    CHECK_INT(rc, 0);
    CHECK_INT(moved, 5);
    CHECK_INT(evbuffer_get_length(in), strlen(" world\r\n0\r\n\r\n"));
    rc = http_chunked_decode(&c, in, out, 6, &moved);
    CHECK_INT(rc, 1);
    CHECK_INT(moved, 6);
    CHECK(ev_is(out, "hello world", 11));

    /* once complete it stays complete and consumes nothing */
    evbuffer_add(in, "X", 1);
    rc = http_chunked_decode(&c, in, out, 100, &moved);
    CHECK_INT(rc, 1);
    CHECK_INT(moved, 0);
    CHECK_INT(evbuffer_get_length(in), 1);

    evbuffer_free(in);
    evbuffer_free(out);
}

/* A size line of exactly 4096 bytes passes, one more fails. */
static void test_chunked_line_limit(void)
{
    static char line[4200];
    struct evbuffer *body = evbuffer_new(), *left = evbuffer_new();
    size_t n;

    if (!body || !left)
        return;
    /* "1;" + k bytes of extension: 2 + k bytes before the CRLF */
    for (int extra = 0; extra <= 1; extra++) {
        size_t k = 4094 + (size_t)extra;
        line[0] = '1';
        line[1] = ';';
        memset(line + 2, 'a', k);
        n = 2 + k;
        memcpy(line + n, "\r\nx\r\n0\r\n\r\n", 10);
        n += 10;
        for (size_t step = 0; step <= 1; step++) {
            evbuffer_drain(body, evbuffer_get_length(body));
            CHECK_INT(run_chunked(line, n, 64, step, body, left), extra ? -1 : 1);
        }
    }
    evbuffer_free(body);
    evbuffer_free(left);
}

/* ------------------------------------------------------------ small tables */

static void test_list_has_token(void)
{
    static const struct {
        const char *list, *token;
        int want;
    } cases[] = {
        { "close", "close", 1 },
        { "Close", "close", 1 },
        { "keep-alive, close", "close", 1 },
        { " upgrade ,\tCLOSE\t", "close", 1 },
        { "closed", "close", 0 },
        { "clo se", "close", 0 },
        { "", "close", 0 },
        { ",,", "close", 0 },
        { "a,,close,", "close", 1 },
        { "keep-alive", "keep-alive", 1 },
        { "x", "", 0 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct slice l = { cases[i].list, strlen(cases[i].list) };
        struct slice t = { cases[i].token, strlen(cases[i].token) };
        CHECKF(http_list_has_token(l, t) == cases[i].want, "'%s' has '%s'", cases[i].list,
               cases[i].token);
    }
}

static void test_hop_by_hop(void)
{
    static const struct {
        const char *name;
        int want;
    } cases[] = {
        { "Connection", 1 }, { "keep-alive", 1 }, { "Proxy-Connection", 1 }, { "TE", 1 },
        { "Trailer", 1 }, { "transfer-encoding", 1 }, { "UPGRADE", 1 },
        { "Proxy-Authenticate", 1 }, { "Proxy-Authorization", 1 }, { "Content-Length", 0 },
        { "Host", 0 }, { "Trailers", 0 }, { "T", 0 }, { "Authorization", 0 }, { "", 0 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct slice n = { cases[i].name, strlen(cases[i].name) };
        CHECKF(http_header_is_hop_by_hop(n) == cases[i].want, "hop-by-hop '%s'", cases[i].name);
    }
}

static void test_method_id(void)
{
    static const struct {
        const char *m;
        enum http_method want;
    } cases[] = {
        { "GET", HTTP_M_GET },         { "HEAD", HTTP_M_HEAD },     { "POST", HTTP_M_POST },
        { "PUT", HTTP_M_PUT },         { "DELETE", HTTP_M_DELETE }, { "PATCH", HTTP_M_PATCH },
        { "OPTIONS", HTTP_M_OPTIONS }, { "CONNECT", HTTP_M_CONNECT }, { "TRACE", HTTP_M_TRACE },
        { "get", HTTP_M_OTHER },       { "GETS", HTTP_M_OTHER },    { "", HTTP_M_OTHER },
        { "PROPFIND", HTTP_M_OTHER },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct slice m = { cases[i].m, strlen(cases[i].m) };
        CHECKF(http_method_id(m) == cases[i].want, "method '%s'", cases[i].m);
    }
}

static void test_status_reason(void)
{
    static const struct {
        int status;
        const char *want;
    } cases[] = {
        { 100, "Continue" },
        { 101, "Switching Protocols" },
        { 200, "OK" },
        { 204, "No Content" },
        { 206, "Partial Content" },
        { 301, "Moved Permanently" },
        { 304, "Not Modified" },
        { 308, "Permanent Redirect" },
        { 400, "Bad Request" },
        { 404, "Not Found" },
        { 413, "Content Too Large" },
        { 414, "URI Too Long" },
        { 417, "Expectation Failed" },
        { 421, "Misdirected Request" },
        { 429, "Too Many Requests" },
        { 431, "Request Header Fields Too Large" },
        { 451, "Unavailable For Legal Reasons" },
        { 500, "Internal Server Error" },
        { 501, "Not Implemented" },
        { 502, "Bad Gateway" },
        { 504, "Gateway Timeout" },
        { 505, "HTTP Version Not Supported" },
        { 299, "Unknown" },
        { 0, "Unknown" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_STR(http_status_reason(cases[i].status), cases[i].want);
    /* every code the parser itself returns has a name */
    static const int own[] = { 400, 414, 417, 431, 501, 505 };
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        CHECKF(strcmp(http_status_reason(own[i]), "Unknown") != 0, "reason for %d", own[i]);
}

int main(void)
{
    test_requests_ok();
    test_requests_refused();
    test_header_count();
    test_request_prefixes();
    test_scan_boundaries();
    test_name_boundaries();
    test_dot_segments_anywhere();
    test_reused_struct();
    test_framing_names();
    test_head_end();
    test_head_end_straddle();
    test_responses();
    test_chunked_table();
    test_chunked_splits();
    test_chunked_backpressure();
    test_chunked_line_limit();
    test_list_has_token();
    test_hop_by_hop();
    test_method_id();
    test_status_reason();
    return unit_done("test_http_parser");
}
