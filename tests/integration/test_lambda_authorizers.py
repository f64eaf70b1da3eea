#!/usr/bin/env python3
"""test_lambda_authorizers.py - function authorizers (Lambda TOKEN and
REQUEST authorizers) through the real sluice: the authorizer function is a
real process (authorizer_fn.py) reached through an http handler. An
IAM-style policy allows or denies by method and path (Deny winning), the
simple {"isAuthorized": ...} form, a function refusing with "Unauthorized"
(401), a failing or broken function (500, never cached), results cached
(the function is called once per token, and a cached policy is still
evaluated against each request's path), principalId and context reaching
the upstream through claims_to_headers; the same through a Lambda
emulator (the Invoke API), and a Lua authorizer (lua/authorizers/
apikey.lua) run in its sandbox, stopped at its timeout when it loops."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

FN = None
UP = None
EMU = None


def setup():
    global FN, UP, EMU
    FN = h.ServerProcess("authorizer-fn", [sys.executable,
                                           os.path.join(h.HERE, "authorizer_fn.py"),
                                           "--port", "0"])
    UP = h.Upstream("up")
    EMU = h.ServerProcess("invoke-emulator", [sys.executable,
                                              os.path.join(h.HERE, "invoke_emulator.py"),
                                              "--port", "0"])


def teardown():
    for p in (FN, UP, EMU):
        if p:
            p.close()


def gateway(event="token", cache_ttl_s=300, identity=None, target="auth:1"):
    az = {"type": "function", "target": target, "event": event, "cache_ttl_s": cache_ttl_s,
          "claims_to_headers": {"user": "x-user", "tier": "x-tier"}}
    if identity:
        az["identity_source"] = identity
    functions = {
        "auth": h.http_function({"1": "http://127.0.0.1:%d" % FN.port}),
        "api": h.http_function({"1": UP.url}),
        # the same authorizer run by a Lambda emulator (the Invoke API)
        "emu": {"versions": {"1": {"handler": {
            "type": "invoke", "endpoint": "http://127.0.0.1:%d" % EMU.port,
            "function_name": "authorizer"}}}, "aliases": {"live": {"version": "1"}}},
        # a function that answers with the event it got
        "echo": {"versions": {"1": {"handler": {
            "type": "invoke", "endpoint": "http://127.0.0.1:%d" % EMU.port,
            "function_name": "echo"}}}},
    }
    routes = [h.route("ANY /api/{proxy+}", "api:1", authorizer="fa"),
              h.route("GET /ev2/{x}", "echo:1", authorizer="fa", payload="2.0"),
              h.route("GET /ev1/{x}", "echo:1", authorizer="fa", payload="1.0")]
    # one worker: each worker has its own result cache, and the tests count
    # the function's calls
    cfg = h.make_config(functions=functions, routes=routes, workers=1)
    cfg["authorizers"] = {"fa": az}
    return h.Sluice(cfg, name="lambda-authz")


def fn_stats():
    r = h.http(FN.port, "GET", "/_stats")
    assert r.status == 200, r
    return r.json()


def get(sl, path, token=None, method="GET", headers=None):
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    return h.http(sl.port, method, path, headers=hdrs)


def echoed_header(resp, name):
    for k, v in resp.json()["headers"]:
        if k.lower() == name:
            return v
    return None


def test_policy_allows_and_passes_context():
    with gateway() as sl:
        r = get(sl, "/api/orders", "allow-alice")
        assert r.status == 200, r
        assert echoed_header(r, "x-user") == "alice" and echoed_header(r, "x-tier") == "gold", r
        ev = fn_stats()["events"][-1]
        assert ev["type"] == "TOKEN" and ev["authorizationToken"] == "Bearer allow-alice", ev
        assert ev["methodArn"].endswith("/$default/GET/api/orders"), ev
        log = sl.wait_access_log(lambda e: e.get("path") == "/api/orders")
        assert log.get("principal") == "alice", log


def test_policy_is_evaluated_per_request_even_when_cached():
    with gateway() as sl:
        before = fn_stats()["calls"]
        assert get(sl, "/api/a", "getonly-bob").status == 200
        # the same token, cached: POST is outside the policy -> 403
        r = get(sl, "/api/a", "getonly-bob", method="POST")
        assert r.status == 403, r
        assert get(sl, "/api/b", "getonly-bob").status == 200
        assert fn_stats()["calls"] - before == 1, "the function was called more than once"
        # Deny wins over Allow
        assert get(sl, "/api/private/x", "deny-carol").status == 403
        assert get(sl, "/api/public/x", "deny-carol").status == 200


def test_principal_and_context_reach_the_function_event():
    with gateway() as sl:
        r = get(sl, "/ev2/a", "allow-ivy")
        assert r.status == 200, r
        az = r.json()["requestContext"]["authorizer"]
        assert az == {"lambda": {"user": "ivy", "tier": "gold"}}, az
        r = get(sl, "/ev1/a", "allow-ivy")
        assert r.status == 200, r
        az = r.json()["requestContext"]["authorizer"]
        assert az["principalId"] == "ivy" and az["user"] == "ivy" and az["tier"] == "gold", az


def test_simple_answers():
    with gateway() as sl:
        r = get(sl, "/api/x", "yes-dave")
        assert r.status == 200 and echoed_header(r, "x-user") == "dave", r
        assert get(sl, "/api/x", "no-erin").status == 403


def test_refusals_and_failures():
    with gateway() as sl:
        r = get(sl, "/api/x")
        assert r.status == 401 and "Bearer" in r.headers.get("www-authenticate", ""), r
        assert get(sl, "/api/x", "unauth").status == 401
        before = fn_stats()["calls"]
        for _ in range(2):
            assert get(sl, "/api/x", "crash").status == 500
            assert get(sl, "/api/x", "broken").status == 500
        # failures are not cached: every request asked again
        assert fn_stats()["calls"] - before == 4
        assert "authorizer fa failed" in sl.stderr_text()


def test_request_event_with_identity_sources():
    with gateway(event="request", identity=["$request.header.x-api-key",
                                            "$request.querystring.tenant"]) as sl:
        # a missing source is a 401 without calling the function
        before = fn_stats()["calls"]
        assert get(sl, "/api/x", headers={"x-api-key": "allow-frank"}).status == 401
        assert fn_stats()["calls"] == before
        r = get(sl, "/api/x?tenant=acme", headers={"x-api-key": "allow-frank"})
        assert r.status == 200, r
        ev = fn_stats()["events"][-1]
        assert ev["type"] == "REQUEST" and ev["methodArn"].endswith("/GET/api/x"), ev
        assert ev["httpMethod"] == "GET" and ev["path"] == "/api/x", ev
        # another tenant is another cache entry
        assert get(sl, "/api/x?tenant=other", headers={"x-api-key": "allow-frank"}).status == 200
        assert fn_stats()["calls"] - before == 2


def test_invoked_through_a_lambda_emulator():
    with gateway(target="emu:live") as sl:
        r = get(sl, "/api/x", "allow-gina")
        assert r.status == 200 and echoed_header(r, "x-user") == "gina", r
        assert get(sl, "/api/x", "getonly-gina", method="DELETE").status == 403
        assert get(sl, "/api/x", "no-hal").status == 403
        # raised as a function error: X-Amz-Function-Error with "Unauthorized"
        assert get(sl, "/api/x", "unauth").status == 401
        assert get(sl, "/api/x", "crash").status == 500


def lua_gateway():
    az = {"type": "lua", "file": os.path.join(h.SRCDIR, "lua", "authorizers", "apikey.lua"),
          "identity_source": ["$request.header.x-api-key"], "timeout_ms": 300,
          "claims_to_headers": {"user": "x-user", "tier": "x-tier"}}
    functions = {"api": h.http_function({"1": UP.url})}
    routes = [h.route("ANY /api/{proxy+}", "api:1", authorizer="keys")]
    cfg = h.make_config(functions=functions, routes=routes, workers=1)
    cfg["authorizers"] = {"keys": az}
    return h.Sluice(cfg, name="lua-authz")


def key(sl, path, k=None, method="GET"):
    return h.http(sl.port, method, path, headers={"x-api-key": k} if k else {})


def test_lua_authorizer_allows_denies_and_caches():
    with lua_gateway() as sl:
        r = key(sl, "/api/a", "key-alice", method="DELETE")
        assert r.status == 200 and echoed_header(r, "x-user") == "alice", r
        assert echoed_header(r, "x-tier") == "gold", r
        assert key(sl, "/api/a", "key-bob").status == 200
        assert key(sl, "/api/a", "key-bob", method="POST").status == 403
        assert key(sl, "/api/a", "key-nobody").status == 403
        assert key(sl, "/api/a", "key-revoked").status == 401
        assert key(sl, "/api/a").status == 401
        # the second request of a key is a cache hit: the Lua ran once
        key(sl, "/api/b", "key-alice")
        hits = [e for e in sl.access_log() if e.get("path") == "/api/b"]
        assert hits and hits[-1]["auth_cache"] == "hit", hits
        assert sl.stderr_text().count("authorizer keys: Lua state started") == 1


def test_lua_authorizer_runaway_is_stopped_and_recovers():
    with lua_gateway() as sl:
        r = key(sl, "/api/a", "key-loop")
        assert r.status == 500, r
        assert "authorizer keys failed" in sl.stderr_text()
        # a fresh state answers the next caller
        assert key(sl, "/api/a", "key-alice").status == 200


if __name__ == "__main__":
    h.run()
