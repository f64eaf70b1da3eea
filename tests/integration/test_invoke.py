#!/usr/bin/env python3
"""test_invoke.py - the invoke handler against a Lambda Invoke API emulator
(invoke_emulator.py): the event a function receives (payload 2.0 and 1.0:
path, method, headers, query, pathParameters, requestContext.requestId equal
to x-request-id), the request the emulator sees (path, Content-Type,
X-Amz-Invocation-Type, X-Amz-Log-Type), results becoming responses (status,
headers, multiValueHeaders, binary bodies byte for byte, HEAD, keep-alive),
502 for a function error, a malformed result, a function the emulator does
not know, an emulator error and an emulator that is down; 504 for a
function that outlives its timeout; max_concurrency 1 across two workers
(the emulator never runs two at once; queued requests succeed, or get 429
with Retry-After when the queue is full or they waited their whole
timeout), across a reload too, and a call that timed out keeps its slot
until the function really ends; the access log and the function error
metric."""

import json
import os
import random
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

EMULATOR_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "invoke_emulator.py")

EMU = None  # the emulator the main instance uses
SL = None   # the main sluice
DEAD_PORT = None


class Emulator(h.ServerProcess):
    """invoke_emulator.py as a separate process."""

    def __init__(self, name="emulator"):
        super().__init__(name, [sys.executable, EMULATOR_PY, "--port", "0"])
        self.url = "http://127.0.0.1:%d" % self.port

    def _call(self, method, path):
        r = h.http(self.port, method, path, body=b"" if method == "POST" else None)
        assert r.status == 200, "emulator %s %s -> %d" % (method, path, r.status)
        return r.json()

    def stats(self):
        return self._call("GET", "/_stats")

    def reset(self):
        self._call("POST", "/_reset")


def invoke_fn(endpoint, name, **version_settings):
    """A function with one version "1", an invoke handler."""
    v = {"handler": {"type": "invoke", "endpoint": endpoint, "function_name": name}}
    v.update(version_settings)
    return {"versions": {"1": v}}


def setup():
    global EMU, SL, DEAD_PORT
    EMU = Emulator()
    DEAD_PORT = h.free_port()
    e = EMU.url
    functions = {
        "echo": invoke_fn(e, "echo"),
        "echoq": invoke_fn(e, "echo:live"),
        "echov1": invoke_fn(e, "echo-v1"),
        "chunked": invoke_fn(e, "echo-chunked"),
        "err": invoke_fn(e, "error"),
        "malformed": invoke_fn(e, "malformed"),
        "badstatus": invoke_fn(e, "bad-status"),
        "slow": invoke_fn(e, "sleep-3000"),
        "bin": invoke_fn(e, "binary"),
        "missing": invoke_fn(e, "no-such-function"),
        "emu429": invoke_fn(e, "emu-429"),
        "emu500": invoke_fn(e, "emu-500"),
        "down": invoke_fn("http://127.0.0.1:%d" % DEAD_PORT, "echo"),
    }
    routes = [
        h.route("ANY /v2/items/{id}", "echo:1"),
        h.route("GET /v2/files/{proxy+}", "echo:1", payload="2.0"),
        h.route("GET /v1/items/{id}", "echo:1", payload="1.0"),
        h.route("GET /v1/multi", "echov1:1", payload="1.0"),
        h.route("GET /qualified", "echoq:1"),
        h.route("GET /chunked/{id}", "chunked:1"),
        h.route("POST /err", "err:1"),
        h.route("GET /malformed", "malformed:1"),
        h.route("GET /badstatus", "badstatus:1"),
        h.route("GET /slow", "slow:1", timeout_ms=500),
        h.route("POST /bin", "bin:1"),
        h.route("GET /missing", "missing:1"),
        h.route("GET /emu429", "emu429:1"),
        h.route("GET /emu500", "emu500:1"),
        h.route("GET /down", "down:1"),
    ]
    SL = h.Sluice(h.make_config(functions=functions, routes=routes,
                                admin=h.admin_config()), name="invoke")


def get(path, **kw):
    return h.http(SL.port, kw.pop("method", "GET"), path, **kw)


def ok(resp):
    assert resp.status == 200, "status %d: %r" % (resp.status, resp.body[:400])
    assert resp.headers.get("x-sluice-function-version") == "1", resp.headers
    assert resp.headers.get("x-request-id"), "no x-request-id"
    assert resp.headers.get("date"), "no Date"
    return resp


def error_of(resp, status, message=None):
    """Asserts a sluice error answer; returns its JSON body."""
    body = h.error_json(resp, status)
    rid = resp.headers.get("x-request-id")
    assert rid and body.get("request_id") == rid, "request_id %r, header %r" % (body, rid)
    if message is not None:
        assert body["message"] == message, "message %r, want %r" % (body["message"], message)
    return body


def log_line(rid):
    return SL.wait_access_log(lambda r: r.get("request_id") == rid)


# ------------------------------------------------------------------ events


def test_event_v2():
    body = b'{"hello": "world"}'
    r = ok(get("/v2/items/42?a=1&b=two&a=3", method="POST", body=body,
               headers=[("x-test", "yes"), ("Content-Type", "application/json"),
                        ("Cookie", "c1=v1; c2=v2")]))
    assert r.headers.get("content-type") == "application/json", r.headers
    assert r.headers.get("x-emulator-function") == "echo", "the function's own header is lost"
    ev = r.json()
    assert ev["version"] == "2.0", ev
    assert ev["routeKey"] == "ANY /v2/items/{id}", ev["routeKey"]
    assert ev["rawPath"] == "/v2/items/42", ev["rawPath"]
    assert ev["rawQueryString"] == "a=1&b=two&a=3", ev["rawQueryString"]
    assert ev["queryStringParameters"]["b"] == "two", ev["queryStringParameters"]
    assert ev["queryStringParameters"]["a"] == "1,3", ev["queryStringParameters"]
    assert ev["pathParameters"] == {"id": "42"}, ev["pathParameters"]
    assert ev["headers"]["x-test"] == "yes", ev["headers"]
    assert sorted(ev.get("cookies", [])) == ["c1=v1", "c2=v2"], ev.get("cookies")
    ctx = ev["requestContext"]
    assert ctx["http"]["method"] == "POST", ctx
    assert ctx["http"]["path"] == "/v2/items/42", ctx
    assert ctx["requestId"] == r.headers["x-request-id"], \
        "requestId %r != x-request-id %r" % (ctx["requestId"], r.headers["x-request-id"])
    assert abs(ctx["timeEpoch"] / 1000.0 - time.time()) < 60, "timeEpoch is not wall time"
    assert ev["body"] == body.decode() and ev["isBase64Encoded"] is False, ev["body"]
    # what the emulator was sent
    st = EMU.stats()
    assert st["path"] == "/2015-03-31/functions/echo/invocations", st["path"]
    hd = st["headers"]
    assert hd.get("content-type") == "application/json", hd
    assert hd.get("x-amz-invocation-type") == "RequestResponse", hd
    assert hd.get("x-amz-log-type") == "None", hd
    assert hd.get("host") == "127.0.0.1:%d" % EMU.port, hd


def test_event_v2_greedy_and_client_request_id():
    r = ok(get("/v2/files/a/b/c.txt", headers={"x-request-id": "client-id-123"}))
    assert r.headers["x-request-id"] == "client-id-123"
    ev = r.json()
    assert ev["pathParameters"] == {"proxy": "a/b/c.txt"}, ev["pathParameters"]
    assert ev["rawPath"] == "/v2/files/a/b/c.txt"
    assert ev["requestContext"]["requestId"] == "client-id-123"
    assert ev["requestContext"]["http"]["method"] == "GET"
    assert "queryStringParameters" not in ev or not ev["queryStringParameters"], ev


def test_event_v1():
    r = ok(get("/v1/items/7?x=1&x=2&y=3", headers=[("x-test", "one"), ("x-test", "two")]))
    ev = r.json()
    assert ev["version"] == "1.0", ev.get("version")
    assert ev["resource"] == "/v1/items/{id}", ev["resource"]
    assert ev["path"] == "/v1/items/7", ev["path"]
    assert ev["httpMethod"] == "GET", ev["httpMethod"]
    assert ev["pathParameters"] == {"id": "7"}, ev["pathParameters"]
    assert ev["queryStringParameters"]["y"] == "3", ev["queryStringParameters"]
    assert ev["multiValueQueryStringParameters"]["x"] == ["1", "2"], ev
    assert ev["multiValueHeaders"]["x-test"] == ["one", "two"], ev["multiValueHeaders"]
    assert ev["requestContext"]["requestId"] == r.headers["x-request-id"], ev["requestContext"]
    assert ev["requestContext"]["httpMethod"] == "GET", ev["requestContext"]
    assert ev["body"] is None and ev["isBase64Encoded"] is False, ev


def test_v1_result_multi_value_headers():
    r = ok(get("/v1/multi"))
    assert r.all("x-multi") == ["a", "b"], r.header_list
    assert r.json()["path"] == "/v1/multi"


def test_chunked_answer_from_the_emulator():
    with h.KeepAliveClient(SL.port) as c:
        for i in range(3):
            r = ok(c.request("GET", "/chunked/%d?pad=%s" % (i, "x" * 300)))
            ev = r.json()
            assert ev["pathParameters"] == {"id": str(i)}, ev["pathParameters"]
            assert int(r.headers["content-length"]) == len(r.body)


def test_emulator_connections_kept_alive():
    before = EMU.stats()["connections"]
    for i in range(20):
        ok(get("/v2/items/%d" % i))
    opened = EMU.stats()["connections"] - before
    # one per worker at most, plus the stats requests' own two
    assert opened <= 2 + 2, "%d connections opened for 20 invocations" % opened


def test_qualified_name_in_path():
    ok(get("/qualified"))
    assert EMU.stats()["path"] == "/2015-03-31/functions/echo:live/invocations"


def test_binary_round_trip():
    rnd = random.Random(5)
    data = bytes(range(256)) * 64 + bytes(rnd.getrandbits(8) for _ in range(70000))
    r = ok(get("/bin", method="POST", body=data,
               headers={"Content-Type": "application/octet-stream"}))
    assert r.headers.get("content-type") == "application/octet-stream", r.headers
    assert int(r.headers["content-length"]) == len(data)
    assert r.body == data, "binary body changed: %d bytes back, %d sent" % (len(r.body), len(data))
    # chunked from the client: the same bytes
    r = ok(get("/bin", method="POST", body=data, chunked=True,
               headers={"Content-Type": "application/octet-stream"}))
    assert h.sha256(r.body) == h.sha256(data)


def test_head_and_keep_alive():
    with h.KeepAliveClient(SL.port) as c:
        for i in range(5):
            r = ok(c.request("GET", "/v2/items/%d" % i))
            assert r.json()["pathParameters"] == {"id": str(i)}
        r = c.request("HEAD", "/v2/items/9")
        assert r.status == 200 and r.body == b"", r
        assert int(r.headers["content-length"]) > 0, "HEAD lost the length"
        ok(c.request("GET", "/v2/items/10"))
        assert c.connects == 1, "the client connection was not kept alive (%d)" % c.connects
    # HTTP/1.0 without keep-alive: answered, then closed
    data = h.raw(SL.port, b"GET /v2/items/1 HTTP/1.0\r\n\r\n")
    assert h.parse_status(data) == 200, data[:200]


# ------------------------------------------------------------------ failures


def test_function_error_502():
    r = get("/err", method="POST", body=b"{}")
    error_of(r, 502, "Internal server error")
    assert r.headers.get("x-sluice-function-version") == "1"
    line = log_line(r.headers["x-request-id"])
    assert line["status"] == 502
    assert "Unhandled" in line["error"] and "boom: something broke" in line["error"], line
    # the function's message stays on one line of the error log
    lines = [x for x in SL.stderr_text().split("\n") if r.headers["x-request-id"] in x]
    assert any("function error (Unhandled): Error: boom: something broke second line" in x
               for x in lines), lines


def test_malformed_result_502():
    for path in ("/malformed", "/badstatus"):
        r = get(path)
        body = error_of(r, 502, "Internal server error")
        assert body["message"] == "Internal server error"
        line = log_line(r.headers["x-request-id"])
        assert "malformed function result" in line["error"], line


def test_timeout_504():
    t0 = time.monotonic()
    r = get("/slow")
    dt = time.monotonic() - t0
    error_of(r, 504)
    assert dt < 2.5 * h.SCALE, "the 500 ms timeout took %.2fs" % dt
    line = log_line(r.headers["x-request-id"])
    assert line["status"] == 504 and "timed out" in line["error"], line


def test_emulator_errors_502():
    r = get("/missing")
    error_of(r, 502)
    line = log_line(r.headers["x-request-id"])
    assert "not found" in line["error"] and "no-such-function" in line["error"], line
    for path, code in (("/emu429", "429"), ("/emu500", "500")):
        r = get(path)
        error_of(r, 502)
        line = log_line(r.headers["x-request-id"])
        assert code in line["error"], line
    # and the gateway is fine afterwards
    ok(get("/v2/items/1"))


def test_emulator_down_502():
    t0 = time.monotonic()
    r = get("/down")
    error_of(r, 502)
    assert time.monotonic() - t0 < 2 * h.SCALE
    line = log_line(r.headers["x-request-id"])
    assert "refused" in line["error"], line


def test_access_log_fields():
    r = ok(get("/v2/items/5", headers={"x-request-id": "log-check-1"}))
    line = log_line("log-check-1")
    assert line["function"] == "echo" and line["version"] == "1", line
    assert line["route"] == "ANY /v2/items/{id}", line
    assert line["status"] == 200 and line["method"] == "GET", line
    assert line["path"] == "/v2/items/5", line
    assert isinstance(line["upstream_ms"], (int, float)) and line["upstream_ms"] >= 0, line
    assert line["bytes_out"] >= len(r.body), line
    assert "error" not in line, line


def function_errors(port, function):
    """sluice_function_errors_total summed over the series of function."""
    r = h.admin(port, "GET", "/metrics")
    assert r.status == 200, r
    total = 0
    for line in r.body.decode().split("\n"):
        m = re.match(r'^sluice_function_errors_total\{(.*)\} (\d+)$', line)
        if m and 'function="%s"' % function in m.group(1):
            total += int(m.group(2))
    return total


def test_metrics_count_function_errors():
    before = function_errors(SL.admin_port, "err")
    ok_before = function_errors(SL.admin_port, "echo")
    for _ in range(3):
        assert get("/err", method="POST", body=b"{}").status == 502
    ok(get("/v2/items/1"))
    h.wait_for(lambda: function_errors(SL.admin_port, "err") == before + 3, 5 * h.SCALE,
               what="3 more function errors counted")
    assert function_errors(SL.admin_port, "echo") == ok_before, "a success counted as an error"
    # a malformed result is the function's failure too
    before = function_errors(SL.admin_port, "malformed")
    assert get("/malformed").status == 502
    h.wait_for(lambda: function_errors(SL.admin_port, "malformed") == before + 1, 5 * h.SCALE,
               what="a malformed result counted")


# ------------------------------------------------------------------ concurrency


def concurrency_sluice(emu, fn_name, timeout_ms, workers=2, max_concurrency=1):
    functions = {"one": invoke_fn(emu.url, fn_name, max_concurrency=max_concurrency,
                                  timeout_ms=timeout_ms)}
    routes = [h.route("GET /one", "one:1")]
    return h.make_config(functions=functions, routes=routes, workers=workers)


def hammer(port, clients, per_client, path="/one", during=None):
    """clients threads, each sending per_client requests on fresh
    connections, all starting together; returns [Response]."""
    results = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def run():
        start.wait()
        for _ in range(per_client):
            try:
                r = h.http(port, "GET", path, timeout=60)
            except Exception as e:  # noqa: BLE001 - reported below
                r = e
            with lock:
                results.append(r)

    ts = [threading.Thread(target=run) for _ in range(clients)]
    for t in ts:
        t.start()
    start.wait()
    if during:
        during()
    for t in ts:
        t.join(120)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, "client errors: %r" % errors[:3]
    assert len(results) == clients * per_client
    return results


def check_429(r):
    error_of(r, 429)
    assert r.headers.get("retry-after") == "1", r.headers


@h.timeout(120)
def test_max_concurrency_one_all_succeed():
    with Emulator("emu-conc") as emu:
        with h.Sluice(concurrency_sluice(emu, "sleep-60", 20000), name="conc") as sl:
            results = hammer(sl.port, 8, 4)
            statuses = [r.status for r in results]
            assert statuses == [200] * 32, "statuses %r" % statuses
            st = emu.stats()
            assert st["max_inflight"] == 1, "the emulator ran %d at once" % st["max_inflight"]
            assert st["invocations"] == 32, st


@h.timeout(120)
def test_max_concurrency_queue_full_429():
    # 40 clients, one slot, 16 places per worker's queue: some find it full
    with Emulator("emu-full") as emu:
        with h.Sluice(concurrency_sluice(emu, "sleep-250", 60000), name="full") as sl:
            results = hammer(sl.port, 40, 1)
            by = {}
            for r in results:
                by.setdefault(r.status, []).append(r)
            assert set(by) <= {200, 429}, "statuses %r" % sorted(by)
            assert by.get(429), "no request was refused (%d answered)" % len(results)
            assert by.get(200), "nothing succeeded"
            for r in by[429]:
                check_429(r)
            st = emu.stats()
            assert st["max_inflight"] == 1, "the emulator ran %d at once" % st["max_inflight"]
            assert st["invocations"] == len(by[200]), st
            # the queue drained: the slot is free again
            assert h.http(sl.port, "GET", "/one").status == 200


@h.timeout(120)
def test_max_concurrency_wait_timeout_429():
    # each call takes 300 ms and a request may wait 1 s: of 8 at once, the
    # first few run, the others give up waiting with 429 (never 504)
    with Emulator("emu-wait") as emu:
        with h.Sluice(concurrency_sluice(emu, "sleep-300", 1000), name="wait") as sl:
            t0 = time.monotonic()
            results = hammer(sl.port, 8, 1)
            dt = time.monotonic() - t0
            statuses = sorted(r.status for r in results)
            assert set(statuses) <= {200, 429}, "statuses %r" % statuses
            assert statuses.count(200) >= 2, "statuses %r" % statuses
            assert statuses.count(429) >= 1, "statuses %r" % statuses
            for r in results:
                if r.status == 429:
                    check_429(r)
            assert dt < 8 * h.SCALE, "took %.1fs" % dt
            st = emu.stats()
            assert st["max_inflight"] == 1, st
            log = sl.access_log()
            waited = [x for x in log if x.get("status") == 429]
            assert waited and all("concurrency" in x.get("error", "") for x in waited), waited[:2]


@h.timeout(120)
def test_max_concurrency_survives_reload():
    with Emulator("emu-reload") as emu:
        cfg = concurrency_sluice(emu, "sleep-100", 30000)
        with h.Sluice(cfg, name="reload") as sl:
            def reload_twice():
                time.sleep(0.15)
                sl.reload()
                time.sleep(0.3)
                sl.reload()
            results = hammer(sl.port, 6, 3, during=reload_twice)
            statuses = [r.status for r in results]
            assert statuses == [200] * 18, "statuses %r" % statuses
            assert emu.stats()["max_inflight"] == 1, "a reload lost the count"


@h.timeout(60)
def test_timed_out_call_keeps_its_slot():
    # the client gets 504 at 300 ms, but the function runs for 700 ms: the
    # next call waits for it to end instead of overlapping it
    with Emulator("emu-detach") as emu:
        functions = {"one": invoke_fn(emu.url, "sleep-700", max_concurrency=1,
                                      timeout_ms=10000)}
        routes = [h.route("GET /short", "one:1", timeout_ms=300), h.route("GET /long", "one:1")]
        with h.Sluice(h.make_config(functions=functions, routes=routes), name="detach") as sl:
            r = h.http(sl.port, "GET", "/short")
            error_of(r, 504)
            t0 = time.monotonic()
            r = h.http(sl.port, "GET", "/long")
            dt = time.monotonic() - t0
            assert r.status == 200, r
            st = emu.stats()
            assert st["max_inflight"] == 1, "a timed-out call overlapped the next: %r" % st
            assert st["invocations"] == 2, st
            assert dt >= 0.9, "the second call did not wait for the first (%.2fs)" % dt
            line = sl.wait_access_log(lambda x: x.get("status") == 504)
            assert "slot is kept" in line["error"], line


@h.timeout(60)
def test_unlimited_runs_in_parallel():
    # without max_concurrency nothing waits: 6 calls of 400 ms overlap
    with Emulator("emu-par") as emu:
        with h.Sluice(concurrency_sluice(emu, "sleep-400", 20000, max_concurrency=0),
                      name="par") as sl:
            t0 = time.monotonic()
            results = hammer(sl.port, 6, 1)
            dt = time.monotonic() - t0
            assert [r.status for r in results] == [200] * 6
            assert emu.stats()["max_inflight"] >= 2, emu.stats()
            assert dt < 2.0 * h.SCALE, "took %.1fs: the calls did not overlap" % dt


if __name__ == "__main__":
    h.run()
