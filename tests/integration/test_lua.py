#!/usr/bin/env python3
"""test_lua.py - the lua handler kind through the real sluice: Lua
functions answering with payload 1.0 and 2.0 events, two versions of a
function behind an alias, warm and cold states (counted from the cold-start
log lines: N calls with warm states on one worker are one cold start; an
idle state is dropped after idle_s; a reload that keeps the file keeps its
states, a changed file starts cold), and the failures: a runaway loop gets
504 within its timeout, a memory hog and an error get 502 (the traceback in
the error log), each followed by a working call on a fresh state, and
max_concurrency answering 429 with Retry-After. Also `sluice -t` naming the
line of a Lua syntax error."""

import os
import re
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HANDLERS = os.path.join(h.SRCDIR, "lua", "handlers")
TMP = None   # this script's Lua files
SL = None    # the shared instance (1 worker)

# A function that misbehaves on request (?mode=...), else answers "fine".
# `calls` counts the calls its state has served: 1 means a fresh state.
MISBEHAVE = r"""
calls = 0
function handler(event, context)
  calls = calls + 1
  local q = event.queryStringParameters or {}
  if q.mode == "loop" then
    while true do end
  elseif q.mode == "catch" then
    while true do pcall(function() while true do end end) end
  elseif q.mode == "hog" then
    local t = {}
    while true do t[#t + 1] = ("x"):rep(1000) .. #t end
  elseif q.mode == "fail" then
    error("boom " .. (q.tag or ""))
  elseif q.mode == "badresult" then
    return function() end
  elseif q.mode == "badheader" then
    return {statusCode = 200, headers = {["bad name"] = "x"}, body = ""}
  elseif q.mode == "slow" then
    local t0 = os.clock()
    while os.clock() - t0 < tonumber(q.s or "0.3") do end
  end
  return {statusCode = 200, headers = {["x-calls-in-state"] = tostring(calls)}, body = "fine"}
end
"""


def lua_file(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def lua_function(file, versions=None, handler_extra=None, **settings):
    """A function with Lua versions: versions maps a name to a file (or to
    a dict of version settings with a "file")."""
    vs = {}
    for name, v in (versions or {"1": file}).items():
        v = {"file": v} if isinstance(v, str) else dict(v)
        hd = {"type": "lua", "file": v.pop("file")}
        hd.update(handler_extra or {})
        hd.update(v.pop("handler", {}))
        vs[name] = dict({"handler": hd}, **v)
    fn = dict(settings)
    fn["versions"] = vs
    return fn


def setup():
    global TMP, SL
    TMP = tempfile.mkdtemp(prefix="sluice-lua-")
    misbehave = lua_file("misbehave.lua", MISBEHAVE)
    brokentop = lua_file("brokentop.lua", "error('cannot start: ' .. 'no config')\n"
                                          "function handler() return 'never' end\n")
    hello = os.path.join(HANDLERS, "hello.lua")
    functions = {
        "hello": lua_function(hello),
        "orders": lua_function(None, versions={
            "1": os.path.join(HANDLERS, "orders_v1.lua"),
            "2": os.path.join(HANDLERS, "orders_v2.lua")},
            aliases={"live": {"version": "1", "pins": [
                {"when": {"$request.header.x-canary": "yes"}, "version": "2"}]}}),
        "misbehave": lua_function(misbehave, timeout_ms=300, memory_mb=16),
        # the same file with time enough to reach its cap on a busy machine
        "hog": lua_function(misbehave, timeout_ms=20000, memory_mb=16),
        "brokentop": lua_function(brokentop, max_concurrency=1),
    }
    routes = [
        h.route("ANY /hello", "hello:1"),
        h.route("ANY /hello1", "hello:1", payload="1.0"),
        h.route("GET /orders/{id}", "orders:live"),
        h.route("GET /v2/orders", "orders:2"),
        h.route("GET /misbehave", "misbehave:1"),
        h.route("GET /misbehave1", "misbehave:1", payload="1.0"),
        h.route("GET /brokentop", "brokentop:1"),
        h.route("GET /hog", "hog:1"),
    ]
    # one worker: "a fresh state answers next" needs the next call on the
    # worker whose state was dropped
    SL = h.Sluice(h.make_config(functions=functions, routes=routes, workers=1), name="lua")


def teardown():
    if TMP and not h.KEEP_TMP:
        shutil.rmtree(TMP, ignore_errors=True)


def cold_starts(sl, label):
    return len(re.findall(r"\[info\] lua %s: cold start for request " % re.escape(label),
                          sl.stderr_text()))


def get(path, **kw):
    return h.http(SL.port, kw.pop("method", "GET"), path, **kw)


def check_error(resp, status, message):
    assert resp.status == status, "status %d, want %d: %r" % (resp.status, status, resp.body[:300])
    body = resp.json()
    assert body.get("message") == message, "message %r, want %r" % (body.get("message"), message)
    assert body.get("request_id") == resp.headers.get("x-request-id")
    assert resp.headers.get("x-sluice-function-version") == "1"


def fresh_state_answers(path="/misbehave"):
    """The next call works, on a new state (the failed one was dropped)."""
    r = get(path)
    assert r.status == 200 and r.body == b"fine", "no recovery: %r" % r
    return r


# ------------------------------------------------------------------ answers


def test_hello_v2():
    r = get("/hello?name=lua", headers={"x-request-id": "req-lua-v2"})
    assert r.status == 200, r
    assert r.headers.get("content-type") == "application/json"
    assert r.headers.get("x-sluice-function-version") == "1"
    assert r.headers.get("x-request-id") == "req-lua-v2"
    b = r.json()
    assert b["message"] == "hello, lua"
    assert b["payload"] == "2.0"
    assert (b["method"], b["path"]) == ("GET", "/hello")
    assert b["body"] is None and b["body_length"] == 0
    assert b["request_id"] == "req-lua-v2"
    assert (b["function_name"], b["function_version"]) == ("hello", "1")
    assert b["memory_limit_in_mb"] == 128
    assert b["time_left"] is True


def test_hello_v1_with_body():
    r = get("/hello1", method="POST", body=b"some text", headers={"content-type": "text/plain"})
    assert r.status == 200, r
    b = r.json()
    assert b["payload"] == "1.0"
    assert (b["method"], b["path"]) == ("POST", "/hello1")
    assert b["body"] == "some text" and b["body_length"] == 9 and b["body_base64"] is False


def test_binary_body_and_chunked():
    data = bytes(range(256)) * 40
    r = get("/hello", method="PUT", body=data, chunked=True,
            headers={"content-type": "application/octet-stream"})
    assert r.status == 200, r
    b = r.json()
    assert b["body_base64"] is True and b["body_length"] == len(data), b


def test_head_has_no_body():
    r = get("/hello", method="HEAD")
    assert r.status == 200 and r.body == b"", r
    assert int(r.headers["content-length"]) > 0


def test_two_versions_differ():
    r1 = get("/orders/1")
    assert r1.status == 200, r1
    assert r1.headers.get("x-sluice-function-version") == "1"
    assert r1.json() == {"version": "1", "order": {"id": "1", "item": "coffee beans",
                                                    "quantity": 2, "price_cents": 1450}}
    r2 = get("/orders/1", headers={"x-canary": "yes"})
    assert r2.status == 200, r2
    assert r2.headers.get("x-sluice-function-version") == "2"
    assert r2.headers.get("x-orders-schema") == "2"
    assert r2.json()["order"]["total"] == {"amount": 29, "currency": "EUR"}
    r3 = get("/v2/orders")
    assert r3.status == 200 and len(r3.json()["orders"]) == 2
    assert get("/orders/9").status == 404


# ------------------------------------------------------------------ failures


def test_runaway_loop_times_out():
    for mode in ("loop", "catch"):
        t0 = time.monotonic()
        r = get("/misbehave?mode=%s" % mode)
        dt = time.monotonic() - t0
        check_error(r, 504, "function timed out")
        # its 300 ms timeout, not the client's 10 s
        assert 0.25 <= dt < 3.0 * h.SCALE, "answered after %.2f s" % dt
        assert fresh_state_answers().headers.get("x-calls-in-state") == "1"
    rec = SL.wait_access_log(lambda l: l.get("status") == 504 and l.get("path") == "/misbehave")
    assert rec.get("error") == "function timed out", rec
    assert re.search(r"lua misbehave:1: request \S+: timed out", SL.stderr_text())


def test_memory_hog():
    r = get("/hog?mode=hog", timeout=60)
    check_error(r, 502, "Internal server error")
    assert re.search(r"lua hog:1: request %s: .*memory" % r.headers["x-request-id"],
                     SL.stderr_text())
    assert fresh_state_answers("/hog").headers.get("x-calls-in-state") == "1"
    rec = SL.wait_access_log(lambda l: l.get("request_id") == r.headers["x-request-id"])
    assert rec.get("error") == "function reached its memory limit", rec


def test_error_traceback_and_recovery():
    r = get("/misbehave?mode=fail&tag=xyzzy")
    check_error(r, 502, "Internal server error")
    rid = r.headers["x-request-id"]

    def logged():
        for line in SL.stderr_text().splitlines():
            if rid in line and "[error]" in line:
                return line
        return None
    line = h.wait_for(logged, 5 * h.SCALE, 0.05, "the error log line")
    assert "misbehave.lua:" in line and "boom xyzzy" in line, line
    assert "stack traceback:" in line, line
    assert fresh_state_answers().headers.get("x-calls-in-state") == "1"
    rec = SL.wait_access_log(lambda l: l.get("request_id") == rid)
    assert rec.get("error") == "function error", rec


def test_bad_results():
    # not JSON at all: the state stays (the error is in what it returned)
    fresh_state_answers()
    r = get("/misbehave?mode=badresult")
    check_error(r, 502, "Internal server error")
    # a header name that is no token, with both payloads
    for path in ("/misbehave?mode=badheader", "/misbehave1?mode=badheader"):
        check_error(get(path), 502, "Internal server error")
    assert "malformed function result" in SL.stderr_text()
    fresh_state_answers()


def test_top_level_error():
    """A file whose top level fails: every call is a failed cold start
    (502, logged), and its concurrency slot is given back each time."""
    for _ in range(3):
        check_error(get("/brokentop"), 502, "Internal server error")
    assert len(re.findall(r"\[error\] lua brokentop:1: request \S+: \S*brokentop.lua:1: "
                          r"cannot start: no config \| stack traceback:", SL.stderr_text())) == 3


# ------------------------------------------------------------------ states


def test_warm_and_cold():
    """20 calls on one worker with warm states: one cold start, one state
    serving them all; warm_states 0: every call is cold."""
    hello = os.path.join(HANDLERS, "hello.lua")
    functions = {"hello": lua_function(hello, handler_extra={"warm_states": 2}),
                 "cold": lua_function(hello, handler_extra={"warm_states": 0})}
    routes = [h.route("GET /hello", "hello:1"), h.route("GET /cold", "cold:1")]
    with h.Sluice(h.make_config(functions=functions, routes=routes, workers=1),
                  name="lua-warm") as sl:
        seen = []
        with h.KeepAliveClient(sl.port) as c:
            for _ in range(20):
                r = c.get("/hello")
                assert r.status == 200, r
                seen.append(int(r.headers["x-calls-in-state"]))
        assert seen == list(range(1, 21)), "not one warm state: %r" % seen
        assert cold_starts(sl, "hello:1") == 1, sl.stderr_text()[-2000:]
        m = re.search(r"lua hello:1: cold start for request \S+: ([0-9.]+) ms, (\d+) KiB, "
                      r"worker 0 \(cold start 1 ", sl.stderr_text())
        assert m, "no timed cold start line"
        for _ in range(5):
            r = h.http(sl.port, "GET", "/cold")
            assert r.status == 200 and r.headers["x-calls-in-state"] == "1", r
        assert cold_starts(sl, "cold:1") == 5
        assert cold_starts(sl, "hello:1") == 1
        # the access log marks exactly the cold calls
        h.wait_for(lambda: sum(1 for e in sl.access_log() if e.get("path") == "/cold") == 5,
                   5 * h.SCALE, 0.05, "5 access log lines for /cold")
        log = sl.access_log()
        hello = [e.get("cold_start", False) for e in log if e.get("path") == "/hello"]
        cold = [e.get("cold_start", False) for e in log if e.get("path") == "/cold"]
        assert hello == [True] + [False] * 19, hello
        assert cold == [True] * 5, cold


def test_idle_states_dropped():
    """idle_s 1 drops the state a second after its call, also when another
    version's state (idle_s 300) went idle first."""
    hello = os.path.join(HANDLERS, "hello.lua")
    functions = {"hello": lua_function(hello, handler_extra={"idle_s": 1}),
                 "long": lua_function(hello, handler_extra={"idle_s": 300})}
    routes = [h.route("GET /hello", "hello:1"), h.route("GET /long", "long:1")]
    with h.Sluice(h.make_config(functions=functions, routes=routes, workers=1),
                  name="lua-idle") as sl:
        assert h.http(sl.port, "GET", "/long").status == 200
        assert h.http(sl.port, "GET", "/hello").headers["x-calls-in-state"] == "1"
        assert h.http(sl.port, "GET", "/hello").headers["x-calls-in-state"] == "2"
        assert cold_starts(sl, "hello:1") == 1
        h.wait_for(lambda: "lua hello:1: dropped 1 idle state" in sl.stderr_text(),
                   5 * h.SCALE, 0.1, "the idle state dropped")
        r = h.http(sl.port, "GET", "/hello")
        assert r.status == 200 and r.headers["x-calls-in-state"] == "1", r
        assert cold_starts(sl, "hello:1") == 2
        # the other one is still warm
        assert h.http(sl.port, "GET", "/long").headers["x-calls-in-state"] == "2"
        assert "lua long:1: dropped" not in sl.stderr_text()


def test_reload_keeps_warm_states():
    path = lua_file("reload.lua", "n = 0\nfunction handler() n = n + 1 "
                                  "return {statusCode = 200, body = 'a' .. n} end\n")
    cfg = h.make_config(functions={"r": lua_function(path)},
                        routes=[h.route("GET /r", "r:1")], workers=1)
    with h.Sluice(cfg, name="lua-reload") as sl:
        assert h.http(sl.port, "GET", "/r").body == b"a1"
        assert h.http(sl.port, "GET", "/r").body == b"a2"
        mark = len(sl.stderr_text())
        sl.reload()
        h.wait_for(lambda: "reloaded" in sl.stderr_text()[mark:], 5 * h.SCALE, 0.05, "reload")
        assert h.http(sl.port, "GET", "/r").body == b"a3", "warm state lost on reload"
        assert cold_starts(sl, "r:1") == 1
        # the file changes: without a reload nothing changes (the text was
        # read when the config was), with one the new code starts cold
        lua_file("reload.lua", "function handler() return {statusCode = 200, body = 'b'} end\n")
        assert h.http(sl.port, "GET", "/r").body == b"a4"
        mark = len(sl.stderr_text())
        sl.reload()
        h.wait_for(lambda: "reloaded" in sl.stderr_text()[mark:], 5 * h.SCALE, 0.05, "reload")
        assert h.http(sl.port, "GET", "/r").body == b"b"
        assert cold_starts(sl, "r:1") == 2
        # a broken file: the reload is refused, naming the Lua line
        lua_file("reload.lua", "function handler()\n  return {\nend\n")
        mark = len(sl.stderr_text())
        sl.reload()
        h.wait_for(lambda: "reload.lua:3:" in sl.stderr_text()[mark:], 5 * h.SCALE, 0.05,
                   "the refused reload")
        assert h.http(sl.port, "GET", "/r").body == b"b"


def test_max_concurrency_429():
    """One slot for the whole process: while one worker runs the slow
    function, calls on the others get 429 at once."""
    path = lua_file("slow.lua", MISBEHAVE)
    cfg = h.make_config(functions={"slow": lua_function(path, max_concurrency=1,
                                                        timeout_ms=5000)},
                        routes=[h.route("GET /slow", "slow:1")], workers=4)
    with h.Sluice(cfg, name="lua-conc") as sl:
        results = []
        lock = threading.Lock()

        def client():
            for _ in range(3):
                r = h.http(sl.port, "GET", "/slow?mode=slow&s=0.3", timeout=30 * h.SCALE)
                with lock:
                    results.append(r)

        threads = [threading.Thread(target=client, daemon=True) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60 * h.SCALE)
        assert len(results) == 24, "clients did not finish"
        statuses = sorted({r.status for r in results})
        assert statuses == [200, 429], "statuses %r" % statuses
        for r in results:
            if r.status == 429:
                assert r.headers.get("retry-after") == "1", r
                assert "concurrency" in r.json()["message"]
            else:
                assert r.body == b"fine"


def test_config_check_names_lua_line():
    path = lua_file("broken.lua", "function handler()\n  local x = = 1\nend\n")
    cfg = h.make_config(functions={"b": lua_function(path)}, routes=[h.route("GET /b", "b:1")])
    d = tempfile.mkdtemp(prefix="sluice-lua-t-")
    try:
        conf = os.path.join(d, "sluice.json")
        with open(conf, "w") as f:
            f.write(h.dumps_with_lines(cfg)[0])
        code, out, err = h.run_sluice(["-t", "-c", conf])
        assert code == 1, (code, out, err)
        assert "functions.b.versions.1.handler.file" in err, err
        assert "broken.lua:2:" in err, err
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    h.run()
