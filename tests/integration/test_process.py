#!/usr/bin/env python3
"""test_process.py - sluice as a process: SIGHUP reloads under load with no
failed request, a bad reload that keeps the old config serving, graceful
SIGTERM (requests in flight finish, new connections refused, exit 0),
SIGUSR1 reopening the access log, and the access log's fields."""

import os
import re
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

UP1 = None
UP2 = None


def setup():
    global UP1, UP2
    UP1 = h.Upstream("v1")
    UP2 = h.Upstream("v2")


def base_config(live_version="1", extra_routes=()):
    functions = {
        "orders": h.http_function({"1": UP1.url, "2": UP2.url},
                                  aliases={"live": {"version": live_version}}),
    }
    routes = [h.route("GET /load/{proxy+}", "orders:live"),
              h.route("GET /items/{id}", "orders:live"),
              h.route("ANY /e/{proxy+}", "orders:1")] + list(extra_routes)
    return h.make_config(functions=functions, routes=routes)


def version_of(sl, path="/load/x"):
    r = h.http(sl.port, "GET", path)
    return r.status, r.headers.get("x-sluice-function-version")


# ------------------------------------------------------------------ reload


@h.timeout(90)
def test_reload_under_load_no_failures():
    cfg = base_config("1")
    with h.Sluice(cfg, name="reload") as sl:
        assert h.http(sl.port, "GET", "/added").status == 404
        stop = threading.Event()
        lock = threading.Lock()
        stats = {"ok": 0, "fail": [], "versions": set()}
        per_thread = [0] * 8

        def worker(i):
            c = h.KeepAliveClient(sl.port, timeout=10)
            try:
                for k in range(100000):
                    if stop.is_set():
                        break
                    try:
                        r = c.get("/load/t%d/%d" % (i, k))
                    except Exception as e:  # noqa: BLE001 - a failed request
                        with lock:
                            stats["fail"].append("%s: %r" % (time.monotonic(), e))
                        continue
                    with lock:
                        if r.status == 200:
                            stats["ok"] += 1
                            stats["versions"].add(r.headers.get("x-sluice-function-version"))
                        else:
                            stats["fail"].append("status %d %r" % (r.status, r.body[:200]))
                    per_thread[i] += 1
            finally:
                c.close()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(8)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        for i in range(10):
            # alternate the alias between the versions; the last reload
            # also adds a route
            last = i == 9
            new = base_config("2" if i % 2 == 0 or last else "1",
                              extra_routes=[h.route("GET /added", "orders:2")] if last else [])
            new["listen"] = cfg["listen"]
            sl.write_config(new)
            sl.reload()
            time.sleep(0.3)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(15 * h.SCALE)
        assert not any(t.is_alive() for t in threads), "client threads hung"
        assert sl.alive(), "sluice died during the reloads"
        assert not stats["fail"], "%d failed requests of %d, first: %s" \
            % (len(stats["fail"]), stats["ok"] + len(stats["fail"]), stats["fail"][:5])
        assert stats["ok"] >= 200, "only %d requests in ~4 s: load did not run" % stats["ok"]
        assert min(per_thread) >= 10, "some client made almost no requests: %r" % per_thread
        assert stats["versions"] == {"1", "2"}, \
            "the alias switches were not seen under load: versions %r" % stats["versions"]

        # after the last reload: alias on 2, the new route exists
        h.wait_for(lambda: h.http(sl.port, "GET", "/added").status == 200, 5 * h.SCALE,
                   0.1, "the route added by the reload")
        r = h.http(sl.port, "GET", "/added")
        assert r.headers.get("x-sluice-function-version") == "2" and r.json()["name"] == "v2"
        for _ in range(20):
            assert version_of(sl) == (200, "2"), "alias not switched to 2 by the reload"
        assert sl.pid == sl.proc.pid and sl.alive()


def test_reload_bad_config_keeps_old():
    cfg = base_config("2")
    with h.Sluice(cfg, name="badreload") as sl:
        assert version_of(sl) == (200, "2")
        # 1: not JSON at all
        sl.write_config(text='{"listen": [ this is not json\n')
        mark = len(sl.stderr_text())
        sl.reload()
        # "FILE:LINE: ..." naming the line of the syntax error
        h.wait_for(lambda: re.search(r"sluice\.json:1\b", sl.stderr_text()[mark:]), 5 * h.SCALE,
                   0.1, "stderr naming sluice.json:1 (the syntax error) after a bad reload")
        for _ in range(20):
            assert version_of(sl) == (200, "2"), "old config not serving after a bad reload"
        assert sl.alive()
        # 2: valid JSON, dangling target
        bad = base_config("1")
        bad["listen"] = cfg["listen"]
        bad["routes"][0]["target"] = "ghost:live"
        sl.write_config(bad)
        mark = len(sl.stderr_text())
        sl.reload()

        with open(sl.config_path) as f:
            line = 1 + next(i for i, text in enumerate(f) if '"ghost:live"' in text)

        def reported():
            new = sl.stderr_text()[mark:]
            return re.search(r"sluice\.json:%d: routes(\[0\]|\.0)\.target: " % line, new)
        h.wait_for(reported, 5 * h.SCALE, 0.1,
                   "stderr naming sluice.json:%d: routes[0].target" % line)
        for _ in range(20):
            assert version_of(sl) == (200, "2"), "half-applied bad config"
        # 3: a good config is still taken afterwards
        good = base_config("1")
        good["listen"] = cfg["listen"]
        sl.write_config(good)
        sl.reload()
        h.wait_for(lambda: version_of(sl) == (200, "1"), 5 * h.SCALE, 0.1,
                   "a good reload after bad ones")


# ------------------------------------------------------------------ SIGTERM


def test_sigterm_graceful():
    cfg = base_config("1")
    sl = h.Sluice(cfg, name="sigterm")
    try:
        before = UP1.requests()
        result = {}

        def slow():
            try:
                result["resp"] = h.http(sl.port, "GET", "/e/_slow/1500", timeout=20)
            except Exception as e:  # noqa: BLE001
                result["error"] = repr(e)

        t = threading.Thread(target=slow, daemon=True)
        t.start()
        h.wait_for(lambda: UP1.requests() > before, 3 * h.SCALE, 0.02,
                   "the slow request at the upstream")
        t_term = time.monotonic()
        os.kill(sl.pid, signal.SIGTERM)
        time.sleep(0.3)
        assert sl.alive(), "sluice exited with a request in flight"

        # new connections are refused (or at least not served)
        served = False
        try:
            s = socket.create_connection(("127.0.0.1", sl.port), timeout=1)
        except OSError:
            s = None
        if s is not None:
            try:
                s.settimeout(1.0)
                s.sendall(b"GET /e/new HTTP/1.1\r\nHost: x\r\n\r\n")
                data = s.recv(100)
                served = data.startswith(b"HTTP/1.1 200")
            except OSError:
                pass
            finally:
                s.close()
        assert not served, "a new connection was served after SIGTERM"

        t.join(10 * h.SCALE)
        assert "error" not in result, "the request in flight failed: %s" % result.get("error")
        r = result.get("resp")
        assert r is not None and r.status == 200, "in-flight request got %r" % r
        assert r.json()["path"] == "/_slow/1500"
        code = sl.wait(5 * h.SCALE)
        assert code == 0, "exit code %r after SIGTERM" % code
        assert time.monotonic() - t_term < 5 * h.SCALE, "too slow to exit"
        assert not h.port_accepts(sl.port)
    finally:
        sl.stopped_by_us = True
        sl.close(check=False)  # the exit code was checked above


def test_sigterm_idle_exits_quickly():
    with h.Sluice(base_config("1"), name="sigterm-idle") as sl:
        with h.KeepAliveClient(sl.port) as c:  # an idle keep-alive connection
            assert c.get("/e/x").status == 200
            t0 = time.monotonic()
            code = sl.stop(timeout=10)
            assert code == 0, "exit code %r" % code
            assert time.monotonic() - t0 < 3 * h.SCALE, "idle connections delayed the stop"


def test_sigint_stops_cleanly():
    with h.Sluice(base_config("1"), name="sigint") as sl:
        assert h.http(sl.port, "GET", "/e/x").status == 200
        sl.stopped_by_us = True
        os.kill(sl.pid, signal.SIGINT)
        code = sl.wait(5 * h.SCALE)
        assert code == 0, "exit code %r after SIGINT" % code
        assert not h.port_accepts(sl.port)


# ------------------------------------------------------------------ logs


def test_sigusr1_reopens_access_log():
    with h.Sluice(base_config("1"), name="usr1") as sl:
        log = sl.access_log_path
        r = h.http(sl.port, "GET", "/e/before", headers={"x-request-id": "rid-before-rotate"})
        assert r.status == 200
        sl.wait_access_log(lambda rec: rec.get("request_id") == "rid-before-rotate")
        rotated = log + ".1"
        os.rename(log, rotated)
        sl.reopen_logs()
        time.sleep(0.5)
        r = h.http(sl.port, "GET", "/e/after", headers={"x-request-id": "rid-after-rotate"})
        assert r.status == 200
        h.wait_for(lambda: os.path.exists(log), 5 * h.SCALE, 0.05, "a new access log file")
        sl.wait_access_log(lambda rec: rec.get("request_id") == "rid-after-rotate")
        old = [rec.get("request_id") for rec in sl.access_log(rotated)]
        assert "rid-before-rotate" in old and "rid-after-rotate" not in old, old
        assert "rid-before-rotate" not in [rec.get("request_id") for rec in sl.access_log()]


def test_access_log_fields():
    cfg = base_config("1")
    # the function's url has a base path that makes the upstream wait 200 ms
    cfg["functions"]["orders"]["versions"]["1"]["handler"]["url"] = UP1.url + "/_slow/200"
    with h.Sluice(cfg, name="accesslog") as sl:
        r = h.http(sl.port, "GET", "/items/42?full=1", headers={"x-request-id": "rid-fields-1"})
        assert r.status == 200, r
        assert r.json()["path"] == "/_slow/200/items/42?full=1"
        rec = sl.wait_access_log(lambda x: x.get("request_id") == "rid-fields-1")
        for key in ("time", "request_id", "client", "method", "path", "route", "function",
                    "alias", "version", "status", "bytes_in", "bytes_out", "total_ms",
                    "upstream_ms"):
            assert key in rec, "access log line lacks %r: %r" % (key, rec)
        assert isinstance(rec["time"], str) and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d",
                                                         rec["time"]), rec["time"]
        assert rec["client"] in ("127.0.0.1",) or rec["client"].startswith("127.0.0.1:"), rec
        assert rec["method"] == "GET"
        assert rec["path"] in ("/items/42", "/items/42?full=1"), rec["path"]
        assert rec["route"] == "GET /items/{id}", rec["route"]
        assert rec["function"] == "orders" and rec["alias"] == "live", rec
        assert rec["version"] == "1", rec["version"]
        assert rec["status"] == 200 and isinstance(rec["status"], int)
        for k in ("bytes_in", "bytes_out"):
            assert isinstance(rec[k], int) and not isinstance(rec[k], bool) and rec[k] >= 0, rec
        assert rec["bytes_out"] >= len(r.body), "bytes_out %d < body %d" % (rec["bytes_out"],
                                                                           len(r.body))
        for k in ("total_ms", "upstream_ms"):
            assert isinstance(rec[k], (int, float)) and not isinstance(rec[k], bool), rec
        assert rec["upstream_ms"] >= 190, "upstream_ms %r, the upstream took 200 ms" \
            % rec["upstream_ms"]
        assert rec["total_ms"] >= rec["upstream_ms"] - 1, rec
        assert rec["total_ms"] < 5000 * h.SCALE

        # a POST body is counted in bytes_in
        body = b"z" * 5000
        cfg2 = h.http(sl.port, "POST", "/e/post", body=body, headers={"x-request-id": "rid-post"})
        assert cfg2.status == 200
        rec = sl.wait_access_log(lambda x: x.get("request_id") == "rid-post")
        assert rec["bytes_in"] >= len(body) and rec["status"] == 200 and rec["version"] == "1"
        assert rec["route"] == "ANY /e/{proxy+}" and rec["method"] == "POST"

        # sluice's own answers are logged too
        r = h.http(sl.port, "GET", "/nowhere", headers={"x-request-id": "rid-404"})
        assert r.status == 404
        rec = sl.wait_access_log(lambda x: x.get("request_id") == "rid-404")
        assert rec["status"] == 404 and rec["path"] == "/nowhere"


if __name__ == "__main__":
    h.run()
