#!/usr/bin/env python3
"""test_picking.py - how an alias picks a version, through a real sluice
and two real upstreams: sticky_by keeps each caller on one version (the
same on a second gateway, and still after the canary widens), a 50/50
sticky split lands near 50 %, pins send matching requests to their version
whatever the weights, and the access log says why ("pick")."""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

UP = {}  # name -> Upstream
SL = None
VERSION_OF = {"v1": "1", "v2": "2"}
USERS = ["user-%d" % i for i in range(200)]


def aliases(sticky_weight=0.5):
    return {
        "sticky": {"version": "1", "weights": {"2": sticky_weight},
                   "sticky_by": "$request.header.x-user"},
        # version 2 has no weight at all: only pins reach it
        "pinned": {"version": "1", "weights": {"2": 0},
                   "pins": [{"when": {"$request.header.x-canary": ["yes", "always"]},
                             "version": "2"},
                            {"when": {"$request.querystring.beta": "1",
                                      "$request.ip": ["127.0.0.0/8", "::1"]},
                             "version": "2"}]},
    }


def config(sticky_weight=0.5, extra_routes=()):
    functions = {"shop": h.http_function({"1": UP["v1"].url, "2": UP["v2"].url},
                                         aliases=aliases(sticky_weight))}
    routes = [h.route("GET /sticky", "shop:sticky"), h.route("GET /pinned", "shop:pinned"),
              h.route("GET /fixed", "shop:2")] + list(extra_routes)
    return h.make_config(functions=functions, routes=routes)


def setup():
    global SL
    for name in ("v1", "v2"):
        UP[name] = h.Upstream(name)
    SL = h.Sluice(config(), name="picking")


def version_of(resp):
    """The version that served resp, checked against the upstream's name."""
    assert resp.status == 200, "status %d: %r" % (resp.status, resp.body[:300])
    v = resp.headers.get("x-sluice-function-version")
    name = resp.json()["name"]
    assert VERSION_OF.get(name) == v, "version header %r but served by %r" % (v, name)
    return v


def sticky_versions(port, rounds):
    """{user: set of versions} over rounds requests per user, four clients
    at once, each user's requests spread over the clients."""
    seen = {u: set() for u in USERS}
    errors = []
    lock = threading.Lock()

    def worker(k):
        with h.KeepAliveClient(port) as c:
            for r in range(rounds):
                for i in range(k, len(USERS), 4):
                    u = USERS[(i + r) % len(USERS)]
                    try:
                        v = version_of(c.get("/sticky", headers={"x-user": u}))
                    except Exception as e:  # noqa: BLE001 - reported below
                        with lock:
                            errors.append("%s: %r" % (u, e))
                        continue
                    with lock:
                        seen[u].add(v)

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60 * h.SCALE)
    assert not any(t.is_alive() for t in threads), "a client thread did not finish"
    assert not errors, "%d failures, first: %s" % (len(errors), errors[:3])
    return seen


# The sticky hash, as alias.c documents it: FNV-1a 64 over "function\0alias\0"
# and the value, then splitmix64's finalizer. A fleet relies on every
# gateway computing exactly this.
M64 = (1 << 64) - 1


def _fnv1a(hv, data):
    for b in data:
        hv = ((hv ^ b) * 0x100000001b3) & M64
    return hv


def _mix64(z):
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
    return z ^ (z >> 31)


def expected_version(fn, alias, value, weight2):
    seed = _fnv1a(0xcbf29ce484222325, fn.encode() + b"\0" + alias.encode() + b"\0")
    hv = _mix64(_fnv1a(seed, value.encode()))
    return "2" if hv < int(weight2 * (1 << 64)) else "1"


# ------------------------------------------------------------------ tests


def test_sticky_users_stay_on_one_version():
    seen = sticky_versions(SL.port, 5)
    moved = [u for u, vs in seen.items() if len(vs) != 1]
    assert not moved, "%d users saw both versions, e.g. %s" % (len(moved), moved[:5])
    on2 = sum(1 for vs in seen.values() if vs == {"2"})
    share = on2 / float(len(USERS))
    assert 0.4 <= share <= 0.6, "version 2 has %d of %d users (%.2f), want about 0.5" \
        % (on2, len(USERS), share)
    wrong = [u for u, vs in seen.items() if vs != {expected_version("shop", "sticky", u, 0.5)}]
    assert not wrong, "users not where the documented hash puts them: %s" % wrong[:5]


@h.timeout(90)
def test_same_pick_on_another_gateway():
    first = sticky_versions(SL.port, 1)
    with h.Sluice(config(), name="picking-2") as other:
        second = sticky_versions(other.port, 1)
    differ = [u for u in USERS if first[u] != second[u]]
    assert not differ, "two gateways disagree on %d users, e.g. %s" % (len(differ), differ[:5])


@h.timeout(90)
def test_widening_keeps_callers():
    with h.Sluice(config(0.2), name="picking-widen") as sl:
        narrow = sticky_versions(sl.port, 1)
        # the new config has one more route: once it answers, it is live
        sl.write_config(config(0.6, [h.route("GET /widened", "shop:1")]))
        sl.reload()
        # every worker: ten fresh connections in a row (SO_REUSEPORT spreads them)
        h.wait_for(lambda: all(h.http(sl.port, "GET", "/widened").status == 200
                               for _ in range(10)), 10 * h.SCALE, what="the reloaded config")
        wide = sticky_versions(sl.port, 1)
    before = {u for u in USERS if narrow[u] == {"2"}}
    after = {u for u in USERS if wide[u] == {"2"}}
    assert before <= after, "users left version 2 when it widened: %s" % sorted(before - after)[:5]
    assert len(after) > len(before), "widening from 20 % to 60 % added nobody"


def test_no_sticky_value_is_random():
    got = {"1": 0, "2": 0}
    with h.KeepAliveClient(SL.port) as c:
        for _ in range(200):
            got[version_of(c.get("/sticky"))] += 1
    assert got["1"] > 40 and got["2"] > 40, "without x-user the split is %r" % got


def test_pin_on_a_header():
    with h.KeepAliveClient(SL.port) as c:
        for _ in range(50):
            for value in ("yes", "always"):
                assert version_of(c.get("/pinned", headers={"X-Canary": value})) == "2"
            assert version_of(c.get("/pinned", headers={"x-canary": "no"})) == "1"
            assert version_of(c.get("/pinned")) == "1"


def test_pin_on_query_and_address():
    # every condition must hold: beta=1 and a loopback client
    assert version_of(h.http(SL.port, "GET", "/pinned?beta=1")) == "2"
    assert version_of(h.http(SL.port, "GET", "/pinned?beta=2")) == "1"
    assert version_of(h.http(SL.port, "GET", "/pinned?x=1&beta=1")) == "2"


def test_access_log_pick_reason():
    cases = [
        ("/sticky", {"x-user": "user-1"}, "sticky"),
        ("/sticky", {}, "weight"),
        ("/pinned", {"x-canary": "yes"}, "pin"),
        ("/pinned", {}, "weight"),
        ("/fixed", {}, "fixed"),
    ]
    for i, (path, headers, want) in enumerate(cases):
        rid = "pick-reason-%d" % i
        hdrs = dict(headers)
        hdrs["X-Request-Id"] = rid
        r = h.http(SL.port, "GET", path, headers=hdrs)
        v = version_of(r)
        rec = SL.wait_access_log(lambda x, rid=rid: x.get("request_id") == rid)
        assert rec.get("pick") == want, "%s %r: pick %r, want %r (%r)" \
            % (path, headers, rec.get("pick"), want, rec)
        assert rec.get("version") == v, "log says version %r, response %r" % (rec.get("version"), v)
    # a request that picked nothing says nothing about picking
    r = h.http(SL.port, "GET", "/nowhere", headers={"X-Request-Id": "pick-none"})
    assert r.status == 404
    rec = SL.wait_access_log(lambda x: x.get("request_id") == "pick-none")
    assert "pick" not in rec, "a 404 has a pick: %r" % rec


if __name__ == "__main__":
    h.run()
