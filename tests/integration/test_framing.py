#!/usr/bin/env python3
"""test_framing.py - request framing attacks and limits, on raw sockets.

Every ambiguous or malformed request gets "HTTP/1.1 400", the connection is
closed, and nothing reaches the upstream (not even a valid request sent
after it on the same connection).  Smuggling a request inside a body does
not work.  Limits: 431 / 414 / 413 / 505, the header-read timeout, the idle
keep-alive timeout and max_connections."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

UP = None
SL = None
LIMITS = {"max_header_bytes": 4096, "max_uri_bytes": 1024, "max_body_bytes": 100000,
          "header_timeout_ms": 500, "idle_timeout_ms": 500}
FOLLOWUP = b"GET /e/followup HTTP/1.1\r\nHost: x\r\n\r\n"


def setup():
    global UP, SL
    UP = h.Upstream("up")
    functions = {"echo": h.http_function({"1": UP.url})}
    routes = [h.route("ANY /e/{proxy+}", "echo:1"), h.route("ANY /api/{proxy+}", "echo:1")]
    SL = h.Sluice(h.make_config(functions=functions, routes=routes, limits=LIMITS),
                  name="framing")


def expect_rejected(data, status=400, closed_required=True, followup=True):
    """Sends data (plus a valid follow-up request) on a fresh connection;
    asserts exactly one response with status, the connection closed, and no
    new request at the upstream."""
    before = UP.requests()
    payload = data + (FOLLOWUP if followup else b"")
    got, closed = h.raw_exchange(SL.port, payload, timeout=3 * h.SCALE)
    prefix = b"HTTP/1.1 %d " % status
    assert got.startswith(prefix), "want %r, got %r for %r" % (prefix, got[:200], data[:200])
    if closed_required:
        assert closed, "connection left open after a %d for %r" % (status, data[:200])
    resps, rest = h.parse_responses(got)
    assert len(resps) == 1, "%d responses (want 1) for %r: %r" % (len(resps), data[:200], got[:600])
    assert resps[0].headers.get("x-request-id"), "no x-request-id on the %d" % status
    time.sleep(0.05)
    after = UP.requests()
    assert after == before, "upstream served %d request(s) for %r" % (after - before, data[:200])
    return resps[0]


# ------------------------------------------------------------------ sanity


def test_valid_raw_request_reaches_upstream():
    # The checks below count upstream requests: make sure a valid request
    # sent the same way does count.
    before = UP.requests()
    got, closed = h.raw_exchange(SL.port, b"POST /e/valid HTTP/1.1\r\nHost: x\r\n"
                                 b"Content-Length: 5\r\nConnection: close\r\n\r\nhello"
                                 + FOLLOWUP, timeout=3)
    resps, _ = h.parse_responses(got)
    assert resps and resps[0].status == 200, got[:300]
    assert resps[0].json()["path"] == "/valid"
    assert UP.requests() == before + 1


# ------------------------------------------------------------------ framing: 400


def test_cl_and_te_together():
    expect_rejected(b"POST /e/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    expect_rejected(b"POST /e/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    b"Content-Length: 5\r\n\r\n0\r\n\r\n")


def test_two_different_content_lengths():
    expect_rejected(b"POST /e/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    b"Content-Length: 6\r\n\r\nhello!")


def test_content_length_with_sign():
    expect_rejected(b"POST /e/a HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello")


def test_content_length_two_numbers():
    expect_rejected(b"POST /e/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5 5\r\n\r\nhello")


def test_content_length_not_decimal():
    expect_rejected(b"POST /e/a HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello")
    expect_rejected(b"POST /e/a HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n")
    expect_rejected(b"POST /e/a HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n")


def test_bad_chunk_size():
    expect_rejected(b"POST /e/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"zz\r\nhello\r\n0\r\n\r\n")


def test_chunk_size_overflow():
    expect_rejected(b"POST /e/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"1000000000000000000000005\r\nhello\r\n0\r\n\r\n")


def test_chunk_data_without_crlf():
    expect_rejected(b"POST /e/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"5\r\nhelloXX0\r\n\r\n")


def test_obs_fold():
    expect_rejected(b"GET /e/a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n")


def test_nul_in_header_value():
    expect_rejected(b"GET /e/a HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n")


def test_bare_cr_in_header_value():
    expect_rejected(b"GET /e/a HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n")


def test_bare_lf_line_ending():
    expect_rejected(b"GET /e/a HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n")


def test_missing_host_http11():
    expect_rejected(b"GET /e/a HTTP/1.1\r\nX-A: 1\r\n\r\n")


def test_two_host_headers():
    expect_rejected(b"GET /e/a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n")


def test_space_before_colon():
    expect_rejected(b"GET /e/a HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n")
    expect_rejected(b"GET /e/a HTTP/1.1\r\nHost : x\r\n\r\n")


def test_te_chunked_on_http10():
    expect_rejected(b"POST /e/a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"5\r\nhello\r\n0\r\n\r\n")


def test_te_chunked_twice():
    expect_rejected(b"POST /e/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n"
                    b"\r\n0\r\n\r\n")
    expect_rejected(b"POST /e/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")


def test_dot_segments():
    expect_rejected(b"GET /api/../admin HTTP/1.1\r\nHost: x\r\n\r\n")
    expect_rejected(b"GET /e/./x HTTP/1.1\r\nHost: x\r\n\r\n")
    expect_rejected(b"GET /e/x/.. HTTP/1.1\r\nHost: x\r\n\r\n")


def test_bad_request_line():
    expect_rejected(b"GET  /e/a HTTP/1.1\r\nHost: x\r\n\r\n")
    expect_rejected(b"GET /e/a HTTP/1.1 extra\r\nHost: x\r\n\r\n")
    expect_rejected(b"GET /e/a\r\nHost: x\r\n\r\n")
    expect_rejected(b"GARBAGE\r\n\r\n")


def test_bad_header_name():
    expect_rejected(b"GET /e/a HTTP/1.1\r\nHost: x\r\nX(A): 1\r\n\r\n")
    expect_rejected(b"GET /e/a HTTP/1.1\r\nHost: x\r\n: novalue\r\n\r\n")
    expect_rejected(b"GET /e/a HTTP/1.1\r\nHost: x\r\nno-colon-here\r\n\r\n")


def test_error_body_is_json_with_request_id():
    r = expect_rejected(b"GET /e/a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n")
    b = r.json()
    assert b.get("request_id") == r.headers["x-request-id"] and b.get("message"), b


# ------------------------------------------------------------------ smuggling


def new_log_entries(before_count):
    """Upstream requests logged since it had served before_count."""
    n = UP.requests() - before_count
    return UP.log()[-n:] if n > 0 else []


def test_smuggle_request_in_body():
    hidden = b"GET /e/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    before = UP.requests()
    with h.RawConn(SL.port) as c:
        c.send(b"POST /e/s1 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(hidden)
               + hidden)
        r = c.read_response(timeout=5 * h.SCALE)
        b = r.json()
        assert r.status == 200 and b["path"] == "/s1" and b["body_len"] == len(hidden), r
        # nothing else came (a response to the hidden request would come
        # first on the next read, and the path check below would see it);
        # no waiting here: idle_timeout_ms is only 500
        assert c.buf == b"", "a second response: %r" % c.buf[:300]
        c.send(b"GET /e/s2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        r = c.read_response(timeout=5 * h.SCALE)
        assert r.status == 200 and r.json()["path"] == "/s2"
        assert c.wait_closed(3)
        assert c.buf == b"", "extra bytes after the last response: %r" % c.buf[:300]
    log = new_log_entries(before)
    assert log == [["POST", "/s1", len(hidden)], ["GET", "/s2", 0]], \
        "upstream saw %r" % log


def test_chunked_then_pipelined_request():
    before = UP.requests()
    data, closed = h.raw_exchange(
        SL.port,
        b"POST /e/c1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
        b"GET /e/c2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=5)
    assert closed
    resps, rest = h.parse_responses(data)
    assert [r.status for r in resps] == [200, 200] and rest == b"", data[:600]
    assert [r.json()["path"] for r in resps] == ["/c1", "/c2"]
    log = new_log_entries(before)
    assert log == [["POST", "/c1", 5], ["GET", "/c2", 0]], "upstream saw %r" % log


def test_zero_length_body_then_request():
    # Content-Length: 0 followed by bytes: they are the next request.
    before = UP.requests()
    data, closed = h.raw_exchange(
        SL.port,
        b"POST /e/z1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        b"GET /e/z2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=5)
    resps, _ = h.parse_responses(data)
    assert [r.json()["path"] for r in resps] == ["/z1", "/z2"]
    assert new_log_entries(before) == [["POST", "/z1", 0], ["GET", "/z2", 0]]


# ------------------------------------------------------------------ limits


def test_header_section_too_large_431():
    expect_rejected(b"GET /e/a HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n",
                    status=431, closed_required=False, followup=False)
    many = b"".join(b"X-H%d: 1\r\n" % i for i in range(150))
    expect_rejected(b"GET /e/a HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n",
                    status=431, closed_required=False, followup=False)


def test_header_section_within_limit_ok():
    b = h.http(SL.port, "GET", "/e/near", headers={"X-Big": "a" * 3000}).json()
    assert b["path"] == "/near"


def test_uri_too_long_414():
    expect_rejected(b"GET /e/" + b"u" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                    status=414, closed_required=False, followup=False)
    r = h.http(SL.port, "GET", "/e/" + "u" * 900)
    assert r.status == 200 and r.json()["path"] == "/" + "u" * 900


def test_body_too_large_declared_413():
    before = UP.requests()
    with h.RawConn(SL.port) as c:
        c.send(b"POST /e/big HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n")
        t0 = time.monotonic()
        r = c.read_response(timeout=3 * h.SCALE)  # without our sending the body
        assert r.status == 413, r
        assert time.monotonic() - t0 < 2 * h.SCALE
        assert r.headers.get("x-request-id")
    assert UP.requests() == before


def test_body_at_limit_ok():
    body = os.urandom(100000)
    r = h.http(SL.port, "POST", "/e/limit", body=body)
    assert r.status == 200 and r.json()["body_sha256"] == h.sha256(body), r
    r = h.http(SL.port, "POST", "/e/limit-chunked", body=body, chunked=True)
    assert r.status == 200 and r.json()["body_sha256"] == h.sha256(body), r


def test_body_too_large_chunked_413():
    before = UP.requests()
    chunks = b"".join(b"2710\r\n" + b"c" * 10000 + b"\r\n" for _ in range(10))  # 100000
    chunks += b"3e8\r\n" + b"d" * 1000 + b"\r\n0\r\n\r\n"  # 101000 in all
    with h.RawConn(SL.port) as c:
        c.send(b"POST /e/bigchunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        c.send(chunks)
        r = c.read_response(timeout=5 * h.SCALE)
        assert r.status == 413, r
    time.sleep(0.1)
    assert UP.requests() == before, "the upstream got a complete oversized request"


def test_http2_version_505():
    expect_rejected(b"GET /e/a HTTP/2.0\r\nHost: x\r\n\r\n", status=505,
                    closed_required=False, followup=False)
    expect_rejected(b"GET /e/a HTTP/3.0\r\nHost: x\r\n\r\n", status=505,
                    closed_required=False, followup=False)


def test_header_timeout_closes_partial_head():
    with h.RawConn(SL.port) as c:
        c.send(b"GET /e/a HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        assert c.wait_closed(3 * h.SCALE), "partial head not closed within 3s (limit 500 ms)"
        dt = time.monotonic() - t0
        assert dt >= 0.3, "closed after %.2fs: before the 500 ms header timeout" % dt
        assert c.buf == b"" or c.buf.startswith(b"HTTP/1.1 408"), c.buf[:200]


def test_header_timeout_counts_whole_head_slowloris():
    # A byte every 100 ms keeps the connection busy, but the head is never
    # done: the 500 ms limit is for the whole head, not between reads.
    with h.RawConn(SL.port) as c:
        c.send(b"GET /e/a HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        t0 = time.monotonic()
        for _ in range(40):
            if not c.send(b"a") or c.wait_closed(0.1):
                break
        dt = time.monotonic() - t0
        assert c.closed_by_peer or c.reset_by_peer, "a trickled head kept the connection open"
        assert dt < 3 * h.SCALE, "closed only after %.1fs" % dt


def test_idle_keepalive_timeout():
    with h.RawConn(SL.port) as c:
        c.send(b"GET /e/idle1 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response(timeout=5)
        assert r.status == 200
        time.sleep(0.1)  # well within idle_timeout_ms: still open
        c.send(b"GET /e/idle2 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response(timeout=5)
        assert r.status == 200 and r.json()["path"] == "/idle2"
        t0 = time.monotonic()
        assert c.wait_closed(3 * h.SCALE), "idle connection not closed within 3s (limit 500 ms)"
        dt = time.monotonic() - t0
        assert dt >= 0.3, "closed after %.2fs: before the 500 ms idle timeout" % dt
        assert c.buf == b"", "bytes on an idle connection: %r" % c.buf[:200]


def test_timeouts_do_not_cut_slow_upstream():
    # 1.2 s at the upstream is longer than both client timeouts (500 ms):
    # they must not apply while sluice waits for the answer.
    with h.RawConn(SL.port) as c:
        c.send(b"GET /e/_slow/1200 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response(timeout=5 * h.SCALE)
        assert r.status == 200 and r.json()["path"] == "/_slow/1200", r


def test_max_connections():
    up = UP
    cfg = h.make_config(functions={"echo": h.http_function({"1": up.url})},
                        routes=[h.route("ANY /e/{proxy+}", "echo:1")], workers=1,
                        limits={"max_connections": 5})
    with h.Sluice(cfg, name="maxconn") as sl:
        held = []
        try:
            for i in range(5):
                c = h.RawConn(sl.port)
                held.append(c)
                c.send(b"GET /e/held%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
                r = c.read_response(timeout=5 * h.SCALE)
                assert r.status == 200, "connection %d of 5 not served: %r" % (i + 1, r)
            # the 6th: refused, closed, or simply not served
            served = False
            try:
                c6 = h.RawConn(sl.port, timeout=2)
            except OSError:
                c6 = None
            if c6 is not None:
                with c6:
                    c6.send(b"GET /e/sixth HTTP/1.1\r\nHost: x\r\n\r\n")
                    try:
                        r = c6.read_response(timeout=1.5)
                        served = r.status == 200
                    except AssertionError:
                        served = False
            assert not served, "a 6th connection was served with max_connections 5"
            # free two slots: a new connection is served again
            for c in held[:2]:
                c.close()
            del held[:2]

            def try_one():
                try:
                    with h.RawConn(sl.port, timeout=2) as c:
                        c.send(b"GET /e/after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        return c.read_response(timeout=2).status == 200
                except (OSError, AssertionError):
                    return False
            h.wait_for(try_one, 8 * h.SCALE, 0.2, "a connection served after freeing slots")
        finally:
            for c in held:
                c.close()


if __name__ == "__main__":
    h.run()
