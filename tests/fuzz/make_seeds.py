#!/usr/bin/env python3
"""make_seeds.py - writes the seed corpora of tests/fuzz/corpus/<target>/ and the
signed tokens of fuzz_tokens.h. Run it from anywhere; it rewrites the seeds it names
and leaves every other corpus file (inputs added by contrib/fuzz.sh --merge,
regression inputs) alone.

Tokens are signed with the test-only keys in tests/fuzz/keys/ through
tests/integration/jwtmaker.py (the openssl command line). ES and PS signatures are
randomized, so a rerun changes those files' bytes, not their meaning.

    python3 tests/fuzz/make_seeds.py
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import jwtmaker as jm  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
KEYS = os.path.join(HERE, "keys")
SECRET = b"sluice-fuzz-hs256-secret-0123456789abcdef"  # FUZZ_HS_SECRET in fuzz_keys.h
ISS = "https://issuer.test/"                          # FUZZ_ISSUER
NOW = 1700000000                                      # FUZZ_NOW
EXP = 1800000000
FILES = "/tmp/sluice-fuzz-config"                     # FUZZ_FILES_DIR in fuzz_config.c


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def key(name):
    return os.path.join(KEYS, name)


# ------------------------------------------------------------ http_request

def http_request():
    H = b"Host: x\r\n"
    reqs = {
        # valid requests
        "get": b"GET / HTTP/1.1\r\n" + H + b"\r\n",
        "get_query": b"GET /a/b?x=1&y=%2F HTTP/1.1\r\n" + H + b"User-Agent: t\r\nAccept: */*\r\n\r\n",
        "post_cl": b"POST /e/valid HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nConnection: close\r\n\r\nhello",
        "post_chunked": b"POST /e/c1 HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "pipelined": b"POST /e/z1 HTTP/1.1\r\n" + H + b"Content-Length: 0\r\n\r\nGET /e/z2 HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n",
        "http10_keepalive": b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "expect_continue": b"PUT /up HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
        "absolute_form": b"GET http://example.test:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n",
        "absolute_no_path": b"GET https://h?a=b HTTP/1.1\r\n" + H + b"\r\n",
        "options_star": b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n",
        "leading_crlf": b"\r\nGET / HTTP/1.1\r\n" + H + b"\r\n",
        "cl_list": b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 3, 3\r\n\r\nabc",
        "ows_values": b"GET /a HTTP/1.1\r\nHost:  x \t\r\nX-A:\t1\r\nX-Empty:\r\n\r\n",
        "obs_text_value": b"GET /a HTTP/1.1\r\n" + H + b"X-A: caf\xc3\xa9\r\n\r\n",
        "encoded_path": b"DELETE /o/a%2Fb/..x/.well-known HTTP/1.1\r\n" + H + b"\r\n",
        "authorization": b"GET /orders/1 HTTP/1.1\r\n" + H + b"Authorization: Bearer abc.def.ghi\r\nCookie: a=b; t=x\r\n\r\n",
        # framing attacks (each must be refused)
        "cl_and_te": b"POST /e/a HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "te_and_cl": b"POST /e/a HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        "cl_conflict": b"POST /e/a HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "cl_plus": b"POST /e/a HTTP/1.1\r\n" + H + b"Content-Length: +5\r\n\r\nhello",
        "cl_space": b"POST /e/a HTTP/1.1\r\n" + H + b"Content-Length: 5 5\r\n\r\nhello",
        "cl_hex": b"POST /e/a HTTP/1.1\r\n" + H + b"Content-Length: 0x5\r\n\r\nhello",
        "cl_negative": b"POST /e/a HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n",
        "cl_empty": b"POST /e/a HTTP/1.1\r\n" + H + b"Content-Length: \r\n\r\n",
        "cl_overflow": b"POST /e/a HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999\r\n\r\n",
        "cl_underscore": b"POST /e/a HTTP/1.1\r\n" + H + b"Content_Length: 5\r\n\r\nhello",
        "te_underscore": b"POST /e/a HTTP/1.1\r\n" + H + b"Transfer_Encoding: chunked\r\n\r\n0\r\n\r\n",
        "te_http10": b"POST /e/a HTTP/1.0\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "te_double": b"POST /e/a HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        "te_twice": b"POST /e/a HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "te_gzip": b"POST /e/a HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n",
        "te_quoted": b"POST /e/a HTTP/1.1\r\n" + H + b"Transfer-Encoding: \"chunked\"\r\n\r\n",
        "te_trailing_comma": b"POST /e/a HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked,\r\n\r\n",
        "te_param": b"POST /e/a HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked;q=1\r\n\r\n",
        "obs_fold": b"GET /e/a HTTP/1.1\r\n" + H + b"X-A: 1\r\n  folded\r\n\r\n",
        "nul_in_value": b"GET /e/a HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n",
        "bare_cr": b"GET /e/a HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n",
        "bare_lf": b"GET /e/a HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n",
        "no_host": b"GET /e/a HTTP/1.1\r\nX-A: 1\r\n\r\n",
        "two_hosts": b"GET /e/a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
        "space_before_colon": b"GET /e/a HTTP/1.1\r\n" + H + b"X-A : 1\r\n\r\n",
        "host_space_colon": b"GET /e/a HTTP/1.1\r\nHost : x\r\n\r\n",
        "dot_dot": b"GET /api/../admin HTTP/1.1\r\n" + H + b"\r\n",
        "dot": b"GET /e/./x HTTP/1.1\r\n" + H + b"\r\n",
        "dot_dot_end": b"GET /e/x/.. HTTP/1.1\r\n" + H + b"\r\n",
        "pct_dot_dot": b"GET /e/%2e%2E/x HTTP/1.1\r\n" + H + b"\r\n",
        "backslash_dot_dot": b"GET /e/..\\x HTTP/1.1\r\n" + H + b"\r\n",
        "pct_nul": b"GET /e/a%00b HTTP/1.1\r\n" + H + b"\r\n",
        "fragment": b"GET /a#b HTTP/1.1\r\n" + H + b"\r\n",
        "double_space": b"GET  /e/a HTTP/1.1\r\n" + H + b"\r\n",
        "extra_token": b"GET /e/a HTTP/1.1 extra\r\n" + H + b"\r\n",
        "no_version": b"GET /e/a\r\n" + H + b"\r\n",
        "garbage": b"GARBAGE\r\n\r\n",
        "bad_name": b"GET /e/a HTTP/1.1\r\n" + H + b"X(A): 1\r\n\r\n",
        "empty_name": b"GET /e/a HTTP/1.1\r\n" + H + b": novalue\r\n\r\n",
        "no_colon": b"GET /e/a HTTP/1.1\r\n" + H + b"no-colon-here\r\n\r\n",
        "http2": b"GET /e/a HTTP/2.0\r\n" + H + b"\r\n",
        "http11_lower": b"GET / http/1.1\r\n" + H + b"\r\n",
        "userinfo": b"GET http://u:p@a/ HTTP/1.1\r\n" + H + b"\r\n",
        "expect_other": b"GET / HTTP/1.1\r\n" + H + b"Expect: something\r\n\r\n",
        "long_uri": b"GET /" + b"u" * 300 + b" HTTP/1.1\r\n" + H + b"\r\n",
        "many_headers": b"GET /e/a HTTP/1.1\r\n" + H + b"".join(b"X-H%d: 1\r\n" % i for i in range(101)) + b"\r\n",
        "truncated": b"GET /e/a HTTP/1.1\r\nHost: x\r\n",
        "smuggle_in_body": b"POST /e/s1 HTTP/1.1\r\n" + H + b"Content-Length: 36\r\n\r\nGET /e/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    }
    for name, data in reqs.items():
        put("http_request", name, data)


# ------------------------------------------------------------ http_response

def http_response():
    resps = {
        "ok_cl": b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-A: b\r\n\r\nhello world!",
        "cl_list": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\n",
        "chunked": b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "gzip_chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n",
        "until_close": b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n",
        "te_gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "te_chunked_gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "204_cl": b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
        "304_te": b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
        "100": b"HTTP/1.1 100 Continue\r\n\r\n",
        "101": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        "http10_keepalive": b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: Keep-Alive\r\n\r\n",
        "close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\n",
        "empty_reason": b"HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
        "no_reason": b"HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n",
        "obs_text_reason": b"HTTP/1.1 500 Oops\tnon \xe9t\xe9\r\nContent-Length: 0\r\n\r\n",
        "cl_te": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "cl_conflict": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "cl_underscore": b"HTTP/1.1 200 OK\r\nContent_Length: 3\r\n\r\n",
        "te_double": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        "te_empty_element": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked\r\n\r\n",
        "status_600": b"HTTP/1.1 600 X\r\n\r\n",
        "status_letter": b"HTTP/1.1 2x0 OK\r\n\r\n",
        "bare_lf": b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
        "obs_fold": b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
        "nul_value": b"HTTP/1.1 200 OK\r\nX: a\x00\r\nContent-Length: 0\r\n\r\n",
        "short": b"HTTP/1.1 20",
    }
    for name, data in resps.items():
        put("http_response", name, data)


# ------------------------------------------------------------ chunked

def chunked():
    # 4 parameter bytes: trailer allowance / 4, max_out - 1 (>= 0x80: none), split seed
    whole = b"\x40\xff\x01\x02"
    slow = b"\x40\x00\x03\x04"   # one body byte per call
    mid = b"\x10\x0f\x05\x06"    # 16 bytes per call, 64 trailer bytes
    bodies = {
        "simple": b"5\r\nhello\r\n0\r\n\r\n",
        "two_chunks": b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        "hex_upper": b"A\r\n0123456789\r\nF\r\n0123456789abcde\r\n0\r\n\r\n",
        "extension": b"5;name=value;x\r\nhello\r\n0;last\r\n\r\n",
        "trailers": b"3\r\nabc\r\n0\r\nX-Trailer: 1\r\nX-Other: two\r\n\r\n",
        "followed_by_request": b"5\r\nhello\r\n0\r\n\r\nGET /e/c2 HTTP/1.1\r\nHost: x\r\n\r\n",
        "leading_zeros": b"0005\r\nhello\r\n0000\r\n\r\n",
        "empty": b"0\r\n\r\n",
        "incomplete": b"5\r\nhel",
        "big_size": b"2710\r\n" + b"c" * 200,
        # bad framing
        "not_hex": b"zz\r\nhello\r\n0\r\n\r\n",
        "overflow": b"1000000000000000000000005\r\nhello\r\n0\r\n\r\n",
        "max_digits": b"7fffffffffffffff\r\nx",
        "no_crlf_after_data": b"5\r\nhelloXX0\r\n\r\n",
        "space_before_size": b" 5\r\nhello\r\n0\r\n\r\n",
        "space_after_size": b"5 \r\nhello\r\n0\r\n\r\n",
        "bare_lf_size": b"5\nhello\r\n0\r\n\r\n",
        "bare_cr_data": b"5\r\nhello\r0\r\n\r\n",
        "negative": b"-5\r\nhello\r\n0\r\n\r\n",
        "0x_prefix": b"0x5\r\nhello\r\n0\r\n\r\n",
        "trailer_fold": b"0\r\nX-A: 1\r\n folded\r\n\r\n",
        "trailer_no_colon": b"0\r\nX-A\r\n\r\n",
        "trailer_too_long": b"0\r\nX-Long: " + b"t" * 300 + b"\r\n\r\n",
        "ext_ctl": b"5;a=\x01\r\nhello\r\n0\r\n\r\n",
    }
    for name, body in bodies.items():
        put("chunked", name, whole + body)
    for name in ("two_chunks", "trailers", "followed_by_request", "big_size"):
        put("chunked", name + "_slow", slow + bodies[name])
        put("chunked", name + "_mid", mid + bodies[name])


# ------------------------------------------------------------ config

def config():
    H = lambda url: {"type": "http", "url": url}  # noqa: E731
    base = {
        "listen": [{"address": "127.0.0.1:8080"}],
        "routes": [{"route": "GET /a", "target": "f:1"}],
        "functions": {"f": {"versions": {"1": {"handler": H("http://127.0.0.1:9001")}}}},
    }
    with open(os.path.join(HERE, "..", "..", "conf", "sluice.json"), "rb") as f:
        put("config", "conf_sluice", f.read())
    put("config", "minimal", json.dumps(base, indent=2))
    full = {
        "listen": [{"address": "127.0.0.1:8080"}, {"address": "[::1]:8081"}, {"address": "*:8082"}],
        "workers": 4,
        "limits": {"max_header_bytes": 32768, "max_body_bytes": 1099511627776, "idle_timeout_ms": 5000,
                   "max_uri_bytes": 4096, "header_timeout_ms": 1000, "body_timeout_ms": 2000,
                   "max_connections": 100, "shutdown_timeout_ms": 3000},
        "log": {"access": "off", "error": "stderr", "level": "debug"},
        "functions": {
            "orders": {
                "timeout_ms": 3000, "memory_mb": 256,
                "versions": {
                    "1": {"handler": H("http://127.0.0.1:9001")},
                    "2": {"handler": H("http://127.0.0.1/v2/api/"), "timeout_ms": 500, "max_concurrency": 7},
                    "$LATEST": {"handler": H("http://[::1]:9003/x")},
                },
                "aliases": {"live": {"version": "1", "weights": {"2": 0.25}},
                            "beta": {"version": "$LATEST"}},
            },
            "hello": {"versions": {"1": {"handler": H("http://localhost:3002/")}}},
        },
        "routes": [
            {"route": "GET /orders/{id}", "target": "orders:live"},
            {"route": "ANY /hello/{proxy+}", "target": "hello:1", "timeout_ms": 5000},
            {"route": "POST /orders", "target": "orders:$LATEST"},
            {"route": "GET /orders/{id}/beta", "target": "orders:beta"},
        ],
    }
    put("config", "full", json.dumps(full, indent=2))
    auth = dict(base)
    auth["authorizers"] = {
        "users": {
            "type": "jwt", "issuer": ISS, "audiences": ["api", "api2"], "clock_skew_s": 30,
            "keys": [
                {"kid": "rsa1", "file": FILES + "/rsa.pub.pem", "algorithms": ["RS256", "PS256"]},
                {"kid": "hs1", "secret_env": "SLUICE_FUZZ_HS_SECRET", "algorithms": ["HS256"]},
                {"kid": "hs2", "secret_file": FILES + "/hs.secret", "algorithms": ["HS512"]},
            ],
            "jwks_file": FILES + "/jwks.json",
            "identity_source": ["$request.header.Authorization", "$request.querystring.token",
                                "$request.cookie.session"],
            "cache_ttl_s": 300,
            "claims_to_headers": {"sub": "x-user-id", "tenant": "x-tenant"},
        },
        "remote": {"type": "jwt", "jwks_url": "https://issuer.test/.well-known/jwks.json",
                   "jwks_refresh_s": 600, "identity_source": ["$request.header.X-Token"]},
    }
    auth["routes"] = [
        {"route": "GET /a", "target": "f:1", "authorizer": "users", "scopes": ["read", "write:orders"]},
        {"route": "POST /b/{id}", "target": "f:1", "authorizer": "remote"},
    ]
    auth["redis"] = {"address": "127.0.0.1:6379", "db": 2, "prefix": "sl:", "timeout_ms": 150}
    put("config", "authorizers", json.dumps(auth, indent=2))
    for enc in ("raw", "base64url", "hex"):  # the secret is raw text: the last two are refused
        doc = dict(base)
        doc["authorizers"] = {"h": {"type": "jwt", "keys": [
            {"secret_env": "SLUICE_FUZZ_HS_SECRET", "encoding": enc, "algorithms": ["HS256", "HS512"]}]}}
        put("config", "secret_" + enc, json.dumps(doc))
    # errors, one kind each
    bad = {
        "unknown_key": dict(base, extra=True),
        "bad_listen": dict(base, listen=[{"address": "127.0.0.1:0"}]),
        "listen_name": dict(base, listen=[{"address": "example.test:80"}]),
        "bad_route": dict(base, routes=[{"route": "GET /a/{x", "target": "f:1"}]),
        "dup_route": dict(base, routes=[{"route": "GET /a/{x}", "target": "f:1"},
                                        {"route": "GET /a/{y}", "target": "f:1"}]),
        "unknown_target": dict(base, routes=[{"route": "GET /a", "target": "g:1"}]),
        "bad_url": dict(base, functions={"f": {"versions": {"1": {"handler": H("ftp://x/")}}}}),
        "weights_sum": dict(base, functions={"f": {"versions": {"1": {"handler": H("http://127.0.0.1:1")},
                                                                "2": {"handler": H("http://127.0.0.1:2")}},
                                                   "aliases": {"a": {"version": "1", "weights": {"2": 1.5}}}}}),
        "workers_range": dict(base, workers=300),
        "authz_no_keys": dict(base, authorizers={"a": {"type": "jwt", "issuer": "x"}}),
        "missing_file": dict(base, authorizers={"a": {"type": "jwt", "keys": [
            {"file": FILES + "/missing.pem", "algorithms": ["RS256"]}]}}),
        "hs_with_pem": dict(base, authorizers={"a": {"type": "jwt", "keys": [
            {"file": FILES + "/rsa.pub.pem", "algorithms": ["HS256"]}]}}),
        "redis_bad": dict(base, redis={"address": "127.0.0.1:6379", "db": 16}),
    }
    for name, doc in bad.items():
        put("config", "err_" + name, json.dumps(doc))
    put("config", "err_syntax", "{\n  \"listen\": [,]\n}")
    put("config", "err_duplicate_key", '{"workers": 1, "workers": 2}')
    put("config", "err_not_object", "[1, 2, 3]")


# ------------------------------------------------------------ router

def router():
    tables = {
        "precedence": ("GET /orders/{id}\nGET /orders/new\nGET /orders/{proxy+}\nGET /\nGET /a/b/c\n"
                       "GET /a/{x}/d\nGET /a/{x}/{y}/{z}\nGET /files/{path+}\nGET /u/{uid}/posts/{pid}\n"
                       "GET /p/{a}/x\nGET /p/{proxy+}\nGET /Case\nGET /{any+}\nGET /v1/%7Euser/a:b@c\n",
                       "GET /orders/new\nGET /orders/42\nGET /orders/42/items\nGET /orders/\nGET /\n"
                       "GET /a/b/d\nGET /a/b/e/f\nGET /files//\nGET /files/\nGET /p/1/y\nGET /case\n"
                       "GET /v1/~user/a:b@c\nGET //\n"),
        "methods": ("GET /items\nPOST /items\nANY /items\nGET /only-get\nPUT /m/{id}\nDELETE /m/{id}\n"
                    "GET /m/{id}\nPOST /m/special\nHEAD /h\nGET /h\nANY /anyh\nGET /anyh\nPATCH /g/{x+}\n"
                    "ANY /lit/x\nGET /lit/{p}\nGET /z/a/b\nPOST /z/{x}/b\n",
                    "HEAD /items\nget /items\nPOST /only-get\nOPTIONS /m/1\nGET /m/special\n"
                    "PATCH /m/special\nPOST /h\nHEAD /anyh\nGET /g/a/b\nGET /g/\nPOST /lit/y\n"
                    "PUT /z/a/b\nPUT /z/c/b\nPUT /z/c/d\n"),
        "no_catchall": ("GET /orders\nGET /orders/{id}\nGET /files/{p+}\n",
                        "GET /orders/\nGET /orders/1/\nGET /orders//\nGET /files\nGET /\nGET \n"
                        "GET orders\nGET /ORDERS\n"),
        "bad_templates": ("GET a\nGET /a/\nGET /a//b\nGET /{}\nGET /{+}\nGET /{a+}/b\nGET /{a}/{a}\n"
                          "GET /x{a}\nGET /{a-b}\nget /lower\nGET /%zz\nGET /a b\nTOOLONGMETHODNAMEXXXXX /a\n"
                          "GET /{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}/{j}/{k}/{l}/{m}/{n}/{o}/{p}/{q}\n"
                          "GET /ok/{id}\nPOST /ok/{other}\nGET /ok/{name}\n",
                          "GET /ok/1\nPOST /ok/2\nDELETE /ok/3\n"),
        "greedy_backtrack": ("GET /{a}/{b}\nGET /g/{rest+}\nGET /a/{x}/{y}/{z}/w\nGET /a/b/{y}/{z}/v\n"
                             "ANY /t/{tenant}/files/{key+}\n",
                             "GET /a/b/c/d/w\nGET /a/b/c/d/v\nGET /g/x/y/z\nGET /x/y\n"
                             "PUT /t/acme/files/a/b%2Fc\nGET /a/b/c/d/x\n"),
    }
    for name, (routes, paths) in tables.items():
        put("router", name, routes + "\n" + paths)
    put("router", "many_literals", "".join("GET /r%d/items/{id}\n" % i for i in range(40)) + "\n" +
        "".join("GET /r%d/items/%d\n" % (i, i) for i in range(0, 40, 3)))


# ------------------------------------------------------------ jwt, jwks

CLAIMS = {"iss": ISS, "aud": "api", "sub": "user-1", "iat": 1699990000, "exp": EXP,
          "scope": "read write:orders"}


def tokens():
    rsa, ec, ed = key("rsa.key.pem"), key("ec256.key.pem"), key("ed25519.key.pem")
    with open(key("rsa.pub.pem"), "rb") as f:
        rsa_pub = f.read()
    c = CLAIMS
    t = {
        "hs256": jm.sign("HS256", SECRET, c, kid="hs1"),
        "hs384": jm.sign("HS384", SECRET, c, kid="hs1"),
        "hs512_oct": jm.sign("HS512", SECRET, c, kid="oct1"),
        "hs256_nokid": jm.sign("HS256", SECRET, c),
        "rs256": jm.sign("RS256", rsa, c, kid="rsa1"),
        "rs256_nokid": jm.sign("RS256", rsa, c),
        "ps256": jm.sign("PS256", rsa, c, kid="rsa1"),
        "es256": jm.sign("ES256", ec, c, kid="ec1"),
        "eddsa": jm.sign("EdDSA", ed, c, kid="ed1"),
        "aud_array_scp": jm.sign("HS256", SECRET, dict(c, aud=["x", "api2"], scp=["read", "write:orders"]),
                                 kid="hs1"),
        "typ_at_jwt": jm.sign("HS256", SECRET, c, header={"alg": "HS256", "typ": "at+jwt", "kid": "hs1"}),
        "exp_fraction": jm.sign("HS256", SECRET, dict(c, exp=1700000000.5), kid="hs1"),
        # refused
        "expired": jm.sign("HS256", SECRET, dict(c, exp=NOW - 3600), kid="hs1"),
        "not_yet": jm.sign("HS256", SECRET, dict(c, nbf=NOW + 3600), kid="hs1"),
        "nbf_string": jm.sign("HS256", SECRET, dict(c, nbf="soon"), kid="hs1"),
        "no_exp": jm.sign("HS256", SECRET, {k: v for k, v in c.items() if k != "exp"}, kid="hs1"),
        "bad_iss": jm.sign("HS256", SECRET, dict(c, iss="https://evil.test/"), kid="hs1"),
        "bad_aud": jm.sign("HS256", SECRET, dict(c, aud="other"), kid="hs1"),
        "unknown_kid": jm.sign("HS256", SECRET, c, kid="nope"),
        "kid_number": jm.sign("HS256", SECRET, c, header={"alg": "HS256", "kid": 7}),
        "crit": jm.sign("HS256", SECRET, c, header={"alg": "HS256", "kid": "hs1", "crit": ["b64"], "b64": False}),
        "alg_none": jm.unsigned(c),
        "alg_none_caps": jm.unsigned(c, header={"alg": "None"}),
        "alg_lower": jm.sign("HS256", SECRET, c, header={"alg": "hs256", "kid": "hs1"}),
        "hs256_with_rsa_pub": jm.sign("HS256", rsa_pub, c, kid="rsa1"),
        "rs256_as_hs1": jm.sign("RS256", rsa, c, kid="hs1"),
        "dup_claims": jm.sign("HS256", SECRET, '{"iss":"%s","exp":%d,"exp":1}' % (ISS, EXP), kid="hs1"),
        "payload_array": jm.sign("HS256", SECRET, "[1,2]", kid="hs1"),
    }
    hs = t["hs256"]
    h, p, s = hs.split(".")
    t["four_segments"] = hs + ".x"
    t["empty_sig"] = h + "." + p + "."
    t["padded"] = h + "=." + p + "." + s
    t["bad_char"] = h + "." + p + "." + s[:-2] + "+/"
    t["sig_truncated"] = h + "." + p + "." + s[:-4]
    t["empty_header"] = "." + p + "." + s
    return t


def jwt(t):
    for name, tok in t.items():
        put("jwt", "tok_" + name, tok)
    # "HEADER\nPAYLOAD": signed by the target with the secret
    signed = {
        "hs256": ({"alg": "HS256", "typ": "JWT", "kid": "hs1"}, CLAIMS),
        "hs512_oct": ({"alg": "HS512", "kid": "oct1"}, CLAIMS),
        "aud_array": ({"alg": "HS256"}, dict(CLAIMS, aud=["api", "other"], scp="read")),
        "nbf": ({"alg": "HS384", "kid": "hs1"}, dict(CLAIMS, nbf=NOW + 30)),
        "expired_in_skew": ({"alg": "HS256"}, dict(CLAIMS, exp=NOW - 30)),
        "typ_other": ({"alg": "HS256", "typ": "dpop+jwt"}, CLAIMS),
        "no_aud": ({"alg": "HS256"}, {"iss": ISS, "exp": EXP}),
    }
    for name, (hdr, claims) in signed.items():
        put("jwt", "sign_" + name, json.dumps(hdr) + "\n" + json.dumps(claims))


def jwks():
    rsa = jm.jwk_public(key("rsa.pub.pem"), kid="rsa1")
    ec = jm.jwk_public(key("ec256.pub.pem"), kid="ec1")
    ed = jm.jwk_public(key("ed25519.pub.pem"), kid="ed1")
    ec384 = jm.jwk_public(key("ec384.pub.pem"), kid="ec384")
    ec521 = jm.jwk_public(key("ec521.pub.pem"), kid="ec521")
    oct_ = {"kty": "oct", "kid": "hs1", "k": jm.b64url(SECRET)}
    docs = {
        "all": {"keys": [rsa, ec, ed, oct_, ec384, ec521]},
        "rsa_ps": {"keys": [dict(rsa, alg="PS256", use="sig"), {k: v for k, v in rsa.items() if k != "kid"}]},
        "ops": {"keys": [dict(ec, key_ops=["verify"]), dict(ed, key_ops=["sign"]), dict(rsa, use="enc")]},
        "skipped": {"keys": [{"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA"},
                             {"kty": "OKP", "crv": "X25519", "x": "AA"}, {"kty": "RSA-X"},
                             dict(rsa, alg="RSA-OAEP"), dict(oct_)]},
        "empty": {"keys": []},
        # invalid
        "rsa_small": {"keys": [dict(rsa, n=rsa["n"][:172])]},
        "ec_off_curve": {"keys": [dict(ec, y=ec["x"])]},
        "ec_short": {"keys": [dict(ec, x=ec["x"][:40])]},
        "ed_short": {"keys": [dict(ed, x=ed["x"][:40])]},
        "padded_n": {"keys": [dict(rsa, n=rsa["n"] + "==")]},
        "kid_number": {"keys": [dict(ec, kid=5)]},
        "no_kty": {"keys": [{"n": "AQAB"}]},
        "keys_object": {"keys": {"a": rsa}},
        "oct_short": {"keys": [dict(oct_, k=jm.b64url(b"short"))]},
        "e_huge": {"keys": [dict(rsa, e=jm.b64url(b"\xff" * 64))]},
    }
    for name, doc in docs.items():
        put("jwks", name, json.dumps(doc))
    put("jwks", "not_json", '{"keys": [')
    put("jwks", "dup_member", '{"keys": [], "keys": []}')


def tokens_header(t):
    names = ["hs256", "rs256", "ps256", "rs256_nokid", "es256", "eddsa", "hs256_nokid"]
    lines = ["/* fuzz_tokens.h - written by make_seeds.py: tokens signed with tests/fuzz/keys/",
             " * and FUZZ_HS_SECRET (claims: iss FUZZ_ISSUER, aud \"api\", exp %d). */" % EXP,
             "#ifndef SLUICE_FUZZ_TOKENS_H", "#define SLUICE_FUZZ_TOKENS_H", "",
             "static const char *const fuzz_tokens[] = {"]
    for n in names:
        lines.append("    /* %s */" % n)
        tok = t[n]
        parts = [tok[i:i + 90] for i in range(0, len(tok), 90)]
        for i, part in enumerate(parts):
            lines.append('    "%s"%s' % (part, "," if i == len(parts) - 1 else ""))
    lines += ["};", "", "#endif", ""]
    with open(os.path.join(HERE, "fuzz_tokens.h"), "w") as f:
        f.write("\n".join(lines))


def main():
    http_request()
    http_response()
    chunked()
    config()
    router()
    t = tokens()
    jwt(t)
    jwks()
    tokens_header(t)
    for d in sorted(os.listdir(CORPUS)):
        print("%-14s %3d files" % (d, len(os.listdir(os.path.join(CORPUS, d)))))


if __name__ == "__main__":
    main()
