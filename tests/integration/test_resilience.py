#!/usr/bin/env python3
"""test_resilience.py - failing upstreams and hostile clients: slowloris
connections neither delay others nor outlive header_timeout_ms, a slow
body is cut at body_timeout_ms, an upstream killed under load gives only
502/503 answers (never a reset or a hung client) and traffic recovers by
itself once it is back, the circuit breaker opens (fast 503 with
Retry-After, nothing reaches the upstream) and closes after its
cool-down, a request (with a body) on a pooled connection the upstream
dropped is retried, the connect timeout, and the per-address cap."""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

UP = None
FLAKY = None
SL = None
BREAKER = {"failures": 3, "cooldown_ms": 1500}


def setup():
    global UP, FLAKY, SL
    UP = h.Upstream("up")
    FLAKY = h.Upstream("flaky")
    functions = {
        "echo": h.http_function({"1": UP.url}),
        "flaky": {"versions": {"1": {"handler": {
            "type": "http", "url": FLAKY.url, "circuit_breaker": BREAKER}}}},
    }
    routes = [
        h.route("ANY /e/{proxy+}", "echo:1"),
        h.route("ANY /f/{proxy+}", "flaky:1"),
    ]
    limits = {"header_timeout_ms": 1500, "body_timeout_ms": 1000,
              "max_connections_per_ip": 1000}
    SL = h.Sluice(h.make_config(functions=functions, routes=routes, limits=limits,
                                admin=h.admin_config()),
                  name="resilience")


def req(method, path, **kw):
    return h.http(SL.port, method, path, **kw)


def closed_by_server(sock, timeout):
    """True when the server closes sock (EOF or reset) within timeout;
    whatever it sends first (a 408) is read and dropped."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                return True
    except ConnectionError:
        return True
    except socket.timeout:
        return False
    return False


@h.timeout(60)
def test_slowloris_does_not_delay_others_and_is_cut_at_header_timeout():
    n = 200
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", SL.port), timeout=5)
        s.sendall(b"GET /e/slow HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        socks.append(s)
    t_open = time.monotonic()
    stop = threading.Event()

    def drip():
        # one header byte a second on each connection
        while not stop.wait(1.0):
            for s in socks:
                try:
                    s.send(b"a")
                except OSError:
                    pass

    th = threading.Thread(target=drip, daemon=True)
    th.start()
    try:
        worst = 0.0
        for i in range(10):
            r = req("GET", "/e/normal/%d" % i)
            assert r.status == 200, r
            worst = max(worst, r.elapsed)
            time.sleep(0.05)
        assert worst < 0.2 * h.SCALE, "a normal request took %.3fs beside slowloris" % worst
        # every slow connection is closed at header_timeout_ms (1.5 s), not
        # kept alive by its trickle
        still_open = 0
        for s in socks:
            left = t_open + 1.5 + 1.5 * h.SCALE - time.monotonic()
            if not closed_by_server(s, max(0.05, left)):
                still_open += 1
        elapsed = time.monotonic() - t_open
        assert still_open == 0, "%d slowloris connections still open after %.1fs" % (
            still_open, elapsed)
        assert elapsed >= 1.3, "closed after %.2fs, before header_timeout_ms" % elapsed
    finally:
        stop.set()
        th.join()
        for s in socks:
            s.close()
    assert req("GET", "/e/after").status == 200


def test_slow_body_cut_at_body_timeout():
    s = socket.create_connection(("127.0.0.1", SL.port), timeout=5)
    try:
        s.sendall(b"POST /e/slowbody HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab")
        t0 = time.monotonic()
        assert closed_by_server(s, 3.0 * h.SCALE), "a stalled body was not cut"
        dt = time.monotonic() - t0
        assert 0.8 <= dt < 2.5 * h.SCALE, "cut after %.2fs, body_timeout_ms is 1000" % dt
    finally:
        s.close()


def test_retry_with_body_on_dropped_pooled_connection():
    # one worker, so the next request takes the connection just pooled
    up = h.Upstream("drop")
    fn = {"d": h.http_function({"1": up.url})}
    with h.Sluice(h.make_config(functions=fn, routes=[h.route("ANY /d/{proxy+}", "d:1")],
                                workers=1), name="retry") as sl:
        c = h.KeepAliveClient(sl.port)
        try:
            r = c.request("GET", "/d/_dropnext")
            assert r.status == 200, r
            first = r.json()["conn"]
            for body, chunked in ((b"x" * 5000, False), (b"y" * 3000, True)):
                r = c.request("GET", "/d/_dropnext")
                assert r.status == 200, r
                r = c.request("POST", "/d/replayed", body=body, chunked=chunked)
                assert r.status == 200, "a dropped pooled connection gave %r" % r
                b = r.json()
                assert b["body_len"] == len(body), b
                assert b["conn"] != first
        finally:
            c.close()
        log = [e for e in up.log() if e[1] == "/replayed"]
        assert [e[2] for e in log] == [5000, 3000], log
    up.close()


@h.timeout(90)
def test_killed_upstream_under_load_gives_502_503_and_recovers():
    up = h.Upstream("victim")
    port = up.port
    url = up.url
    fn = {"v": {"versions": {"1": {"handler": {
        "type": "http", "url": url,
        "circuit_breaker": {"failures": 5, "cooldown_ms": 1000}}}}}}
    sl = h.Sluice(h.make_config(functions=fn, routes=[h.route("ANY /v/{proxy+}", "v:1")]),
                  name="kill")
    stop = threading.Event()
    phase = {"killed": False}
    results = []
    errors = []
    lock = threading.Lock()

    def client(k):
        c = h.KeepAliveClient(sl.port, timeout=5.0)
        i = 0
        try:
            while not stop.is_set():
                i += 1
                try:
                    r = c.request("POST" if i % 2 else "GET", "/v/c%d/%d" % (k, i),
                                  body=b"z" * 100 if i % 2 else None)
                except Exception as e:  # reset, hang (timeout), cut response
                    with lock:
                        errors.append("client %d request %d: %r" % (k, i, e))
                    return
                with lock:
                    results.append((time.monotonic(), phase["killed"], r.status))
                if r.status not in (200, 502, 503):
                    with lock:
                        errors.append("client %d: status %d" % (k, r.status))
                    return
                if r.status != 200:
                    time.sleep(0.01)
        finally:
            c.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(1.0)
        up.kill()  # SIGKILL
        phase["killed"] = True
        t_kill = time.monotonic()
        time.sleep(2.0)
        with lock:
            after = [s for (t, killed, s) in results if t > t_kill + 0.2]
        assert after, "no answers after the kill"
        assert set(after) <= {502, 503}, set(after)
        up2 = h.Upstream("victim2", port=port)
        t_back = time.monotonic()
        ok = False
        while time.monotonic() < t_back + 10 * h.SCALE:
            with lock:
                if any(s == 200 for (t, _, s) in results if t > t_back):
                    ok = True
                    break
                if errors:
                    break
            time.sleep(0.1)
        assert ok, "traffic did not recover after the upstream came back"
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    assert not errors, errors[:5]
    with lock:
        statuses = {s for (_, _, s) in results}
    assert statuses <= {200, 502, 503}, statuses
    assert any(s == 200 for s in statuses)
    sl.close()
    up2.close()
    up.close()


def test_breaker_opens_and_closes():
    # three consecutive failures (503 from the upstream) open it
    for _ in range(3):
        r = req("GET", "/f/_status/503")
        assert r.status == 503 and r.headers.get("x-upstream") == "flaky", r
    before = FLAKY.requests()
    rejected = h.metric(SL.admin_port, "sluice_breaker_rejected_total", function="flaky") or 0
    t_open = time.monotonic()
    for _ in range(5):
        r = req("GET", "/f/healthy")
        assert r.status == 503, r
        assert r.headers.get("x-upstream") is None, "the upstream answered: %r" % r
        ra = int(r.headers.get("retry-after", "0"))
        assert 1 <= ra <= 2, r.headers
        assert r.elapsed < 0.2 * h.SCALE
    assert FLAKY.requests() == before, "requests reached the upstream while open"
    h.wait_for(lambda: h.metric(SL.admin_port, "sluice_breaker_rejected_total",
                                function="flaky", version="1") == rejected + 5, 5 * h.SCALE,
               what="5 more breaker rejections in /metrics")
    assert "circuit breaker" in SL.stderr_text() and "open" in SL.stderr_text()
    # after the cool-down one probe goes through and closes it
    time.sleep(max(0.0, t_open + 1.6 - time.monotonic()))
    r = req("GET", "/f/probe")
    assert r.status == 200, r
    for _ in range(3):
        assert req("GET", "/f/again").status == 200
    assert FLAKY.requests() == before + 4
    h.wait_for(lambda: "closed, the probe succeeded" in SL.stderr_text(), 3,
               what="breaker closed log line")


def test_breaker_probe_failure_reopens():
    for _ in range(3):
        assert req("GET", "/f/_status/502").status == 502
    assert req("GET", "/f/x").headers.get("x-upstream") is None
    time.sleep(1.6)
    r = req("GET", "/f/_status/504")  # the probe fails
    assert r.status == 504 and r.headers.get("x-upstream") == "flaky", r
    r = req("GET", "/f/x")
    assert r.status == 503 and r.headers.get("x-upstream") is None, r
    time.sleep(1.6)
    assert req("GET", "/f/x").status == 200


def test_connect_timeout_504():
    # a listener whose accept queue is full: further SYNs are dropped, so a
    # connect hangs as it would towards a blackholed address
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    port = lst.getsockname()[1]
    fillers = []
    try:
        for _ in range(3):
            f = socket.socket()
            f.setblocking(False)
            try:
                f.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(f)
        time.sleep(0.2)
        probe = socket.socket()
        probe.settimeout(0.5)
        try:
            probe.connect(("127.0.0.1", port))
            raise h.SkipTest("connects to a full accept queue complete here")
        except socket.timeout:
            pass
        finally:
            probe.close()
        fn = {"bh": {"timeout_ms": 5000, "versions": {"1": {"handler": {
            "type": "http", "url": "http://127.0.0.1:%d" % port,
            "connect_timeout_ms": 300, "circuit_breaker": {"failures": 0}}}}}}
        with h.Sluice(h.make_config(functions=fn, routes=[h.route("GET /bh", "bh:1")]),
                      name="ctimeout") as sl:
            r = h.http(sl.port, "GET", "/bh")
            assert r.status == 504, r
            assert 0.25 <= r.elapsed < 1.5 * h.SCALE, "504 after %.2fs" % r.elapsed
            assert b"connect timed out" in r.body, r.body
    except h.SkipTest as e:
        print("# skipped: %s" % e)
    finally:
        for f in fillers:
            f.close()
        lst.close()


def test_per_ip_cap():
    fn = {"echo": h.http_function({"1": UP.url})}
    cfg = h.make_config(functions=fn, routes=[h.route("ANY /e/{proxy+}", "echo:1")],
                        limits={"max_connections_per_ip": 10})
    with h.Sluice(cfg, name="perip") as sl:
        held = []
        for i in range(10):
            c = h.KeepAliveClient(sl.port)
            assert c.get("/e/held/%d" % i).status == 200
            held.append(c)
        refused = 0
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", sl.port), timeout=5)
            try:
                s.sendall(b"GET /e/extra HTTP/1.1\r\nHost: x\r\n\r\n")
            except OSError:
                pass
            if closed_by_server(s, 2.0 * h.SCALE):
                refused += 1
            s.close()
        assert refused == 5, "only %d of 5 connections over the cap were closed" % refused
        h.wait_for(lambda: "max_connections_per_ip" in sl.stderr_text(), 3,
                   what="per-ip log line")
        # the held ones still work; closing one frees a slot
        assert held[0].get("/e/still").status == 200
        held.pop().close()
        def fresh_ok():
            try:
                return h.http(sl.port, "GET", "/e/fresh", timeout=2).status == 200
            except (OSError, h.httpclient.HTTPException):
                return False
        h.wait_for(fresh_ok, 3, what="a slot freed by a close")
        for c in held:
            c.close()


def test_no_per_ip_cap_by_default():
    # behind a load balancer every client has one address: no cap unless set
    fn = {"echo": h.http_function({"1": UP.url})}
    cfg = h.make_config(functions=fn, routes=[h.route("ANY /e/{proxy+}", "echo:1")])
    with h.Sluice(cfg, name="noperip") as sl:
        held = []
        try:
            for i in range(300):
                held.append(socket.create_connection(("127.0.0.1", sl.port), timeout=5))
            for i, s in enumerate(held):
                s.sendall(b"GET /e/n/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
            for i, s in enumerate(held):
                head = b""
                while len(head) < 12:
                    got = s.recv(64)
                    assert got, "connection %d closed: %r" % (i, head)
                    head += got
                assert head.startswith(b"HTTP/1.1 200"), (i, head)
        finally:
            for s in held:
                s.close()
        assert "max_connections_per_ip" not in sl.stderr_text()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_accept_backs_off_when_out_of_fds():
    import resource
    fn = {"echo": h.http_function({"1": UP.url})}
    cfg = h.make_config(functions=fn, routes=[h.route("ANY /e/{proxy+}", "echo:1")])
    with h.Sluice(cfg, name="emfile") as sl:
        assert h.http(sl.port, "GET", "/e/warm").status == 200
        pid = sl.proc.pid
        used = len(os.listdir("/proc/%d/fd" % pid))
        old = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (used + 10, old[1]))
        clients = []
        try:
            for _ in range(40):
                clients.append(socket.create_connection(("127.0.0.1", sl.port), timeout=5))
            time.sleep(0.5)
            c0 = cpu_seconds(pid)
            time.sleep(2.0)
            spent = cpu_seconds(pid) - c0
            assert spent < 0.5 * h.SCALE, "sluice spun for %.2fs CPU out of fds" % spent
            assert "accept failed" in sl.stderr_text()
        finally:
            for c in clients:
                c.close()
            resource.prlimit(pid, resource.RLIMIT_NOFILE, old)

        def ok():
            try:
                return h.http(sl.port, "GET", "/e/after", timeout=2).status == 200
            except (OSError, h.httpclient.HTTPException):
                return False
        h.wait_for(ok, 5 * h.SCALE, what="accepting again")


if __name__ == "__main__":
    h.run()
