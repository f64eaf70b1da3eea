#!/usr/bin/env python3
"""selftest_harness.py - checks the test tools themselves (harness.py and
upstream.py), without sluice: the upstream's endpoints and counters, the
clients, the raw-socket helpers and the response parser.  Run it after
changing either file:  python3 tests/integration/selftest_harness.py"""

import http.client as httpclient
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

UP = None


def setup():
    global UP
    UP = h.Upstream("self")


def test_free_port_is_free():
    p = h.free_port()
    assert 1024 <= p <= 65535 and not h.port_accepts(p)


def test_echo_and_counts():
    before = UP.stats()
    r = h.http(UP.port, "GET", "/a/b?x=1&y=%20", headers=[("X-A", "1"), ("X-A", "2")])
    assert r.status == 200 and r.headers["x-upstream"] == "self"
    b = r.json()
    assert b["name"] == "self" and b["method"] == "GET" and b["path"] == "/a/b?x=1&y=%20"
    assert [v for k, v in b["headers"] if k == "X-A"] == ["1", "2"]
    assert b["body_len"] == 0 and b["body_sha256"] == h.sha256(b"")
    after = UP.stats()
    # /_stats itself is neither a request nor a counted connection
    assert after["requests"] == before["requests"] + 1
    assert after["connections"] == before["connections"] + 1


def test_keepalive_counts_one_connection_and_is_fast():
    before = UP.stats()
    t0 = time.monotonic()
    with h.KeepAliveClient(UP.port) as c:
        for i in range(2000):
            r = c.get("/k/%d" % i)
            assert r.status == 200
        assert c.connects == 1
        conn_serial = r.json()["conn"]
    dt = time.monotonic() - t0
    after = UP.stats()
    assert after["requests"] - before["requests"] == 2000
    assert after["connections"] - before["connections"] == 1
    assert conn_serial == after["connections"]
    assert dt < 10, "2000 sequential requests took %.1fs" % dt
    print("  # 2000 keep-alive requests in %.2fs" % dt)


def test_bodies_content_length_and_chunked():
    body = os.urandom(3 * 1048576 + 7)
    for chunked in (False, True):
        b = h.http(UP.port, "POST", "/up", body=body, chunked=chunked, timeout=30).json()
        assert b["body_len"] == len(body) and b["body_sha256"] == h.sha256(body), chunked
        assert b["body_prefix"].encode("latin-1") == body[:256]


def test_big_bodies_and_sha():
    for path, n in (("/_big/1000000", 1000000), ("/_bigchunked/1000001", 1000001),
                    ("/_big/0", 0), ("/_big/65537/x", 65537)):
        r = h.http(UP.port, "GET", path, timeout=30)
        assert r.status == 200 and len(r.body) == n, (path, len(r.body))
        want = h.big_pattern_sha256(n)
        assert r.headers["x-sha256"] == want == h.sha256(r.body), path
        assert r.body[:300] == (bytes(range(256)) * 2)[:min(n, 300)]


def test_status_and_slow():
    r = h.http(UP.port, "GET", "/_status/418")
    assert r.status == 418 and r.json()["status"] == 418
    r = h.http(UP.port, "GET", "/_status/204")
    assert r.status == 204 and r.body == b""
    r = h.http(UP.port, "GET", "/_slow/300/rest")
    assert r.status == 200 and 0.28 <= r.elapsed < 2 and r.json()["path"] == "/_slow/300/rest"


def test_close_reset_malformed():
    before = UP.requests()
    for path, exc in (("/_close", httpclient.RemoteDisconnected),
                      ("/_reset", (ConnectionResetError, httpclient.RemoteDisconnected)),
                      ("/_malformed", httpclient.HTTPException)):
        try:
            h.http(UP.port, "GET", path, timeout=5)
        except exc:
            pass
        else:
            raise AssertionError("%s answered" % path)
    assert UP.requests() == before + 3


def test_head():
    r = h.http(UP.port, "HEAD", "/_big/5000")
    assert r.status == 200 and r.body == b"" and r.headers["content-length"] == "5000"


def test_incomplete_body_not_counted():
    before = UP.stats()
    with h.RawConn(UP.port) as c:
        c.send(b"POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort")
    h.wait_for(lambda: UP.stats()["incomplete"] == before["incomplete"] + 1, 5, 0.05,
               "the incomplete request noticed")
    assert UP.requests() == before["requests"]


def test_raw_pipelining_and_parser():
    data, closed = h.raw_exchange(
        UP.port,
        b"GET /p1 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"HEAD /_big/10 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /p3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        b"GET /_bigchunked/300000 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /p5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=5)
    assert closed
    assert h.parse_status(data) == 200
    # the HEAD is the second request: mark one HEAD answer after the first
    first, rest = h.parse_responses(data, max_responses=1)
    head, rest = h.parse_responses(rest, head_requests=1, max_responses=1)
    others, rest = h.parse_responses(rest)
    assert rest == b""
    resps = first + head + others
    assert [r.status for r in resps] == [200] * 5
    assert resps[0].json()["path"] == "/p1" and resps[1].body == b""
    assert resps[2].json()["body_prefix"] == "abc"
    assert len(resps[3].body) == 300000 and h.sha256(resps[3].body) == resps[3].headers["x-sha256"]
    assert resps[4].json()["path"] == "/p5"


def test_raw_expect_continue():
    with h.RawConn(UP.port) as c:
        c.send(b"POST /exp HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        assert c.read_until(b"\r\n\r\n", 3).startswith(b"HTTP/1.1 100")
        c.send(b"abc")
        r = c.read_response(5)
        assert r.status == 200 and r.json()["body_len"] == 3


def test_raw_wait_closed_and_status_parse():
    assert h.parse_status(b"HTTP/1.1 431 Too Large\r\n\r\n") == 431
    assert h.parse_status(b"garbage") is None
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def serve():
        s, _ = srv.accept()
        s.recv(100)
        s.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}")
        time.sleep(0.3)
        s.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    t0 = time.monotonic()
    data, closed = h.raw_exchange(port, b"x\r\n\r\n", timeout=3)
    assert closed and 0.25 < time.monotonic() - t0 < 2.5
    assert h.parse_status(data) == 400
    resps, rest = h.parse_responses(data)
    assert len(resps) == 1 and resps[0].body == b"{}" and rest == b""
    t.join(2)
    srv.close()


def test_dumps_with_lines():
    cfg = {"a": 1, "routes": [{"route": "GET /x", "target": "f:1"}], "e": {}, "l": []}
    text, spans = h.dumps_with_lines(cfg)
    lines = text.split("\n")
    first, last = spans[("routes", 0, "target")]
    assert first == last and '"target": "f:1"' in lines[first - 1]
    assert lines[spans[("routes", 0)][0] - 1].strip() == "{"
    assert json.loads(text) == cfg
    assert h.normalize_config_path("routes[0].target") == "routes.0.target" == \
        h.normalize_config_path(h.config_path_str(("routes", 0, "target")))


def test_make_config_shape():
    cfg = h.make_config(functions={"f": h.http_function({"1": "http://127.0.0.1:1/b"},
                                                         timeout_ms=5)},
                        routes=[h.route("GET /x", "f:1", timeout_ms=3)], limits={"a": 1})
    assert cfg["workers"] == 2 and cfg["listen"][0]["address"].startswith("127.0.0.1:")
    assert cfg["functions"]["f"] == {"timeout_ms": 5, "versions": {
        "1": {"handler": {"type": "http", "url": "http://127.0.0.1:1/b"}}}}
    assert cfg["routes"] == [{"route": "GET /x", "target": "f:1", "timeout_ms": 3}]
    assert cfg["log"]["access"] == h.ACCESS_LOG_AUTO and cfg["limits"] == {"a": 1}


def test_upstream_survives_abuse():
    for payload in (b"\x00\xff garbage\r\n\r\n", b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n",
                    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
        h.raw_exchange(UP.port, payload, timeout=2)
    assert UP.alive() and h.http(UP.port, "GET", "/fine").status == 200


if __name__ == "__main__":
    h.run(require_bin=False)
