#!/usr/bin/env python3
"""test_streaming.py - bodies stream through sluice: a 3 MiB request body
(Content-Length and chunked) arrives intact, and a 100 MB response (with
Content-Length and chunked) arrives intact while sluice's peak memory stays
small, with a client that does not read at first (backpressure, not
buffering)."""

import hashlib
import http.client as httpclient
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

UP = None
BIG = 104857600  # 100 MB
# VmHWM bound: sluice must not hold the body. ASan's shadow memory and
# allocator inflate everything; its quarantine of freed memory (256 MB by
# default) would keep every freed buffer of a 100 MB stream, so it is made
# small here for the peak to mean something.
HWM_LIMIT_KB = (200 if h.SANITIZERS else 64) * 1024
SLUICE_ENV = None
if h.SANITIZERS:
    SLUICE_ENV = dict(os.environ)
    SLUICE_ENV["ASAN_OPTIONS"] = ":".join(
        filter(None, [os.environ.get("ASAN_OPTIONS", ""), "quarantine_size_mb=16"]))


def setup():
    global UP
    UP = h.Upstream("up")


def start_sluice(name):
    cfg = h.make_config(functions={"echo": h.http_function({"1": UP.url}, timeout_ms=120000)},
                        routes=[h.route("ANY /e/{proxy+}", "echo:1")],
                        limits={"max_body_bytes": 8 * 1048576})
    return h.Sluice(cfg, name=name, env=SLUICE_ENV)


def stream_big(sl, path, expect_len):
    """GETs path through sl, waits 1 s before reading (backpressure), then
    reads and hashes the body; checks it against x-sha256 and the memory
    bound; returns the response headers."""
    conn = httpclient.HTTPConnection("127.0.0.1", sl.port, timeout=60 * h.SCALE)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        assert r.status == 200, "status %d" % r.status
        want = r.getheader("x-sha256")
        assert want == h.big_pattern_sha256(expect_len), "x-sha256 header %r lost or wrong" % want
        time.sleep(1.0)  # not reading: sluice must stop reading the upstream
        rss_while_stalled = sl.rss_kb()
        assert rss_while_stalled < HWM_LIMIT_KB, \
            "sluice RSS %d kB while the client did not read: it buffers the body" \
            % rss_while_stalled
        hsh = hashlib.sha256()
        n = 0
        deadline = time.monotonic() + 120 * h.SCALE
        while True:
            piece = r.read(1 << 18)
            if not piece:
                break
            hsh.update(piece)
            n += len(piece)
            assert time.monotonic() < deadline, "streaming too slow"
        assert n == expect_len, "got %d bytes, want %d" % (n, expect_len)
        assert hsh.hexdigest() == want, "body corrupted (sha256 mismatch)"
        headers = dict((k.lower(), v) for k, v in r.getheaders())
    finally:
        conn.close()
    hwm = sl.hwm_kb()
    print("  # %s: VmRSS %d kB while stalled, VmHWM %d kB after" % (path, rss_while_stalled, hwm))
    assert hwm < HWM_LIMIT_KB, "sluice VmHWM %d kB >= %d kB after a %d-byte response" \
        % (hwm, HWM_LIMIT_KB, expect_len)
    return headers


# ------------------------------------------------------------------ tests


def test_request_body_3mib_content_length():
    with start_sluice("req-cl") as sl:
        body = os.urandom(3 * 1048576)
        r = h.http(sl.port, "POST", "/e/upload", body=body, timeout=60)
        assert r.status == 200, r
        b = r.json()
        assert b["body_len"] == len(body) and b["body_sha256"] == h.sha256(body), \
            "body arrived as %d bytes %s" % (b["body_len"], b["body_sha256"])


def test_request_body_3mib_chunked():
    with start_sluice("req-chunked") as sl:
        body = os.urandom(3 * 1048576 + 12345)
        r = h.http(sl.port, "PUT", "/e/upload", body=body, chunked=True, timeout=60)
        assert r.status == 200, r
        b = r.json()
        assert b["body_len"] == len(body) and b["body_sha256"] == h.sha256(body), \
            "body arrived as %d bytes %s" % (b["body_len"], b["body_sha256"])


@h.timeout(120)
def test_response_100mb_content_length():
    with start_sluice("big-cl") as sl:
        headers = stream_big(sl, "/e/_big/%d" % BIG, BIG)
        assert headers.get("content-length") in (None, str(BIG)), headers
        # the connection and the pool still work afterwards
        r = h.http(sl.port, "GET", "/e/after")
        assert r.status == 200 and r.json()["path"] == "/after"


@h.timeout(120)
def test_response_100mb_chunked():
    with start_sluice("big-chunked") as sl:
        stream_big(sl, "/e/_bigchunked/%d" % BIG, BIG)
        r = h.http(sl.port, "GET", "/e/after")
        assert r.status == 200 and r.json()["path"] == "/after"


def test_client_gone_mid_response():
    # A client that leaves in the middle of a big body must not hurt sluice.
    with start_sluice("gone") as sl:
        for _ in range(3):
            with h.RawConn(sl.port) as c:
                c.send(b"GET /e/_big/%d HTTP/1.1\r\nHost: x\r\n\r\n" % (50 * 1048576))
                c.read_until(b"\r\n\r\n", timeout=5 * h.SCALE)
                c._recv(1.0)
        r = h.http(sl.port, "GET", "/e/still-alive")
        assert r.status == 200 and r.json()["path"] == "/still-alive"
        assert sl.alive()


if __name__ == "__main__":
    h.run()
