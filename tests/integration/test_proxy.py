#!/usr/bin/env python3
"""test_proxy.py - the http handler as a reverse proxy: pooled keep-alive
upstream connections, hop-by-hop and X-Forwarded-* headers, path mapping,
502 / 504, upstream statuses passed through, HEAD, Expect: 100-continue,
pipelining, chunked request bodies and HTTP/1.0 clients."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

UP = None
SL = None


def setup():
    global UP, SL
    UP = h.Upstream("up")
    functions = {
        "echo": h.http_function({"1": UP.url}),
        "based": h.http_function({"1": UP.url + "/base"}),
        "svc": h.http_function({"1": UP.url + "/svc"}),
        "dead": h.http_function({"1": "http://127.0.0.1:%d" % h.free_port()}),
        "quick": h.http_function({"1": UP.url}, timeout_ms=500),
        "patient": h.http_function({"1": UP.url}, timeout_ms=5000),
    }
    routes = [
        h.route("ANY /e/{proxy+}", "echo:1"),
        h.route("ANY /api/{proxy+}", "based:1"),
        h.route("GET /items/{id}", "svc:1"),
        h.route("ANY /dead/{proxy+}", "dead:1"),
        h.route("ANY /quick/{proxy+}", "quick:1"),
        h.route("ANY /routeshort/{proxy+}", "patient:1", timeout_ms=300),
        h.route("ANY /patient/{proxy+}", "patient:1"),
    ]
    SL = h.Sluice(h.make_config(functions=functions, routes=routes), name="proxy")


def req(method, path, **kw):
    return h.http(SL.port, method, path, **kw)


def echo(resp, path=None):
    """Asserts resp is the upstream's 200 echo (of path); returns its body."""
    assert resp.status == 200, "status %d: %r" % (resp.status, resp.body[:300])
    b = resp.json()
    assert b.get("name") == "up", "not the upstream's echo: %r" % resp.body[:300]
    if path is not None:
        assert b["path"] == path, "upstream saw path %r, want %r" % (b["path"], path)
    return b


def up_headers(b, name):
    """Values of header name the upstream received, in order."""
    return [v for k, v in b["headers"] if k.lower() == name.lower()]


def check_error(resp, status):
    assert resp.status == status, "status %d, want %d: %r" % (resp.status, status, resp.body[:300])
    rid = resp.headers.get("x-request-id")
    assert rid, "no x-request-id on a %d" % status
    body = resp.json()
    assert body.get("request_id") == rid, "request_id %r, header %r" % (body.get("request_id"), rid)
    assert isinstance(body.get("message"), str) and body["message"]
    assert "x-upstream" not in resp.headers, "a sluice error carries upstream headers"
    return body


# ------------------------------------------------------------------ tests


def test_upstream_keepalive_reuse():
    before = UP.stats()
    n_threads, per_thread = 4, 250
    errors = []
    lock = threading.Lock()

    def worker(i):
        with h.KeepAliveClient(SL.port) as c:
            for k in range(per_thread):
                path = "/ka/%d/%d" % (i, k)
                try:
                    echo(c.get("/e" + path), path)
                except Exception as e:  # noqa: BLE001
                    with lock:
                        errors.append(repr(e))
            if c.connects != 1:
                with lock:
                    errors.append("client %d needed %d connections" % (i, c.connects))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60 * h.SCALE)
    assert not any(t.is_alive() for t in threads), "client threads hung"
    assert not errors, "%d errors, first: %s" % (len(errors), errors[:3])
    after = UP.stats()
    n_req = after["requests"] - before["requests"]
    n_conn = after["connections"] - before["connections"]
    assert n_req == n_threads * per_thread, "upstream served %d requests, want %d" \
        % (n_req, n_threads * per_thread)
    assert n_conn <= 16, "%d upstream connections for %d requests: no keep-alive pooling" \
        % (n_conn, n_req)


def test_hop_by_hop_headers_not_forwarded():
    headers = [
        ("Connection", "keep-alive, x-secret"),
        ("Keep-Alive", "timeout=5"),
        ("TE", "trailers"),
        ("Upgrade", "foo/1"),
        ("Proxy-Connection", "keep-alive"),
        ("x-secret", "1"),
        ("x-keep", "yes"),
        ("x-dup", "a"),
        ("x-dup", "b"),
    ]
    b = echo(req("GET", "/e/hop", headers=headers), "/hop")
    for name in ("keep-alive", "te", "upgrade", "proxy-connection", "x-secret"):
        assert not up_headers(b, name), "upstream got hop-by-hop %s: %r" % (name, b["headers"])
    for v in up_headers(b, "connection"):
        low = v.lower()
        assert "x-secret" not in low and "upgrade" not in low and "te" not in \
            [t.strip() for t in low.split(",")], "client's Connection forwarded: %r" % v
    assert up_headers(b, "x-keep") == ["yes"], "end-to-end header lost: %r" % b["headers"]
    assert up_headers(b, "x-dup") == ["a", "b"], "repeated header changed: %r" % b["headers"]


def test_forwarded_headers():
    r = req("GET", "/e/fwd", headers={"Host": "api.example.test:8080"})
    b = echo(r, "/fwd")
    xff = ",".join(up_headers(b, "x-forwarded-for"))
    assert [p.strip() for p in xff.split(",")] == ["127.0.0.1"], "X-Forwarded-For %r" % xff
    assert up_headers(b, "x-forwarded-proto") == ["http"], \
        "X-Forwarded-Proto %r" % up_headers(b, "x-forwarded-proto")
    assert up_headers(b, "x-forwarded-host") == ["api.example.test:8080"], \
        "X-Forwarded-Host %r" % up_headers(b, "x-forwarded-host")
    assert up_headers(b, "x-request-id") == [r.headers["x-request-id"]]
    hosts = up_headers(b, "host")
    assert hosts == ["127.0.0.1:%d" % UP.port], "upstream Host %r" % hosts


def test_forwarded_for_appended():
    r = req("GET", "/e/fwd2", headers={"X-Forwarded-For": "10.0.0.1, 10.0.0.2"})
    b = echo(r, "/fwd2")
    xff = ",".join(up_headers(b, "x-forwarded-for"))
    assert [p.strip() for p in xff.split(",")] == ["10.0.0.1", "10.0.0.2", "127.0.0.1"], \
        "X-Forwarded-For %r" % xff


def test_path_mapping_greedy_with_base():
    echo(req("GET", "/api/a/b?x=1"), "/base/a/b?x=1")
    # raw bytes pass: no decoding, no re-encoding, query unchanged
    echo(req("POST", "/api/a%20b/c?x=%2F&y", body=b"1"), "/base/a%20b/c?x=%2F&y")


def test_path_mapping_whole_path():
    echo(req("GET", "/items/7?q"), "/svc/items/7?q")
    echo(req("GET", "/items/7"), "/svc/items/7")


def test_path_mapping_greedy_without_base():
    echo(req("GET", "/e/x/y/z?k=v"), "/x/y/z?k=v")


def test_502_connection_refused():
    r = req("GET", "/dead/x")
    check_error(r, 502)
    assert r.elapsed < 3.0 * h.SCALE, "502 took %.1fs" % r.elapsed
    check_error(req("POST", "/dead/y", body=b"data"), 502)


def test_502_upstream_closes_without_answer():
    for what in ("_close", "_reset", "_malformed"):
        r = req("GET", "/e/" + what)
        check_error(r, 502)
        echo(req("GET", "/e/after" + what), "/after" + what)


def test_504_function_timeout():
    r = req("GET", "/quick/_slow/2000")
    check_error(r, 504)
    assert 0.4 <= r.elapsed < 1.9, "504 after %.2fs, function timeout_ms is 500" % r.elapsed
    echo(req("GET", "/quick/_slow/20"), "/_slow/20")


def test_504_route_timeout_overrides_function():
    r = req("GET", "/routeshort/_slow/1500")
    check_error(r, 504)
    assert 0.2 <= r.elapsed < 1.2, "504 after %.2fs, route timeout_ms is 300" % r.elapsed
    echo(req("GET", "/routeshort/_slow/20"), "/_slow/20")
    r = req("GET", "/patient/_slow/800")
    echo(r, "/_slow/800")
    assert r.elapsed >= 0.75


def test_no_stale_response_after_timeout():
    for round_ in range(2):
        r = req("GET", "/quick/_slow/800")
        check_error(r, 504)
        for k in range(5):
            path = "/after-timeout-%d-%d" % (round_, k)
            echo(req("GET", "/quick" + path), path)
        time.sleep(0.5)  # the slow answer arrives now: it must go nowhere
        for k in range(5):
            path = "/later-%d-%d" % (round_, k)
            echo(req("GET", "/quick" + path), path)


def test_upstream_status_passed_through():
    for code in (201, 301, 404, 418, 500, 503):
        r = req("GET", "/e/_status/%d" % code)
        assert r.status == code, "upstream %d came back as %d" % (code, r.status)
        assert r.headers.get("x-upstream") == "up", "upstream headers lost"
        assert r.headers.get("x-request-id")
        assert r.headers.get("x-sluice-function-version") == "1"
        b = r.json()
        assert b == {"name": "up", "status": code, "path": "/_status/%d" % code}, \
            "body is not the upstream's: %r" % b
    r = req("GET", "/e/_status/204")
    assert r.status == 204 and r.body == b""


def test_response_headers_passed_through():
    r = req("GET", "/e/hdrs")
    echo(r, "/hdrs")
    assert r.headers.get("content-type") == "application/json"
    assert r.headers.get("x-upstream") == "up"
    assert len(r.all("x-request-id")) == 1
    assert r.headers.get("x-sluice-function-version") == "1"


def test_head_has_no_body():
    r = req("HEAD", "/e/head")
    assert r.status == 200 and r.body == b""
    assert r.headers.get("x-upstream") == "up"
    # On one connection: if a body followed the HEAD answer, the next
    # response would be garbage.
    data, closed = h.raw_exchange(
        SL.port,
        b"HEAD /e/_big/1000000 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /e/after-head HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=5)
    assert closed, "connection not closed after Connection: close"
    resps, rest = h.parse_responses(data, head_requests=1)
    assert len(resps) == 2 and rest == b"", "HEAD broke framing: %r" % data[:600]
    assert resps[0].status == 200 and resps[0].headers.get("content-length") == "1000000", \
        resps[0]
    assert resps[0].headers.get("x-sha256") == h.big_pattern_sha256(1000000)
    b = resps[1].json()
    assert resps[1].status == 200 and b["method"] == "GET" and b["path"] == "/after-head"


def test_expect_100_continue():
    body = b"hello world"
    with h.RawConn(SL.port) as c:
        c.send(b"POST /e/expect HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
               b"Expect: 100-continue\r\n\r\n" % len(body))
        interim = c.read_until(b"\r\n\r\n", timeout=3 * h.SCALE)
        assert interim.startswith(b"HTTP/1.1 100"), "want 100 Continue first, got %r" % interim
        c.send(body)
        r = c.read_response(timeout=5 * h.SCALE)
        b = echo(r, "/expect")
        assert b["body_len"] == len(body) and b["body_sha256"] == h.sha256(body)
        # still usable afterwards
        c.send(b"GET /e/after-expect HTTP/1.1\r\nHost: x\r\n\r\n")
        echo(c.read_response(timeout=5 * h.SCALE), "/after-expect")


def test_pipelined_requests_in_order():
    data, closed = h.raw_exchange(
        SL.port,
        b"GET /e/p1 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /e/p2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        b"GET /e/_slow/200 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /e/p4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=10)
    assert closed, "not closed after the last request's Connection: close"
    resps, rest = h.parse_responses(data)
    assert len(resps) == 4 and rest == b"", "got %d responses: %r" % (len(resps), data[:800])
    paths = [r.json()["path"] for r in resps]
    assert paths == ["/p1", "/p2", "/_slow/200", "/p4"], "out of order: %r" % paths
    assert resps[1].json()["body_len"] == 3 and resps[1].json()["body_prefix"] == "abc"
    assert all(r.status == 200 for r in resps)


def test_chunked_request_body():
    body = os.urandom(300000)
    b = echo(req("POST", "/e/chunked", body=body, chunked=True), "/chunked")
    assert b["body_len"] == len(body) and b["body_sha256"] == h.sha256(body)
    b = echo(req("PUT", "/e/empty-chunked", body=b"", chunked=True), "/empty-chunked")
    assert b["body_len"] == 0


def test_chunked_request_with_trailers():
    with h.RawConn(SL.port) as c:
        c.send(b"POST /e/trailers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n")
        b = echo(c.read_response(timeout=5 * h.SCALE), "/trailers")
        assert b["body_len"] == 11 and b["body_sha256"] == h.sha256(b"hello world")


def test_content_length_request_body():
    body = os.urandom(200000)
    b = echo(req("POST", "/e/cl", body=body), "/cl")
    assert b["body_len"] == len(body) and b["body_sha256"] == h.sha256(body)


def test_http10_client():
    data, closed = h.raw_exchange(SL.port, b"GET /e/old HTTP/1.0\r\n\r\n", timeout=5)
    assert closed, "an HTTP/1.0 request without keep-alive must end with a close"
    resps, _ = h.parse_responses(data)
    assert len(resps) == 1, data[:500]
    echo(resps[0], "/old")
    data, closed = h.raw_exchange(
        SL.port, b"POST /e/old-post HTTP/1.0\r\nContent-Length: 4\r\n\r\nabcd", timeout=5)
    assert closed
    resps, _ = h.parse_responses(data)
    b = echo(resps[0], "/old-post")
    assert b["body_len"] == 4


def test_connection_close_honoured():
    data, closed = h.raw_exchange(
        SL.port, b"GET /e/bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=5)
    assert closed, "server kept the connection after Connection: close"
    resps, rest = h.parse_responses(data)
    assert len(resps) == 1 and rest == b""
    echo(resps[0], "/bye")


def test_large_header_value_passes():
    value = "v" * 8000
    b = echo(req("GET", "/e/bighdr", headers={"x-large": value}), "/bighdr")
    assert up_headers(b, "x-large") == [value]


if __name__ == "__main__":
    h.run()
