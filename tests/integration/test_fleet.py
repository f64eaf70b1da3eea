#!/usr/bin/env python3
"""test_fleet.py - two sluice instances sharing one real redis-server
(started here): an alias changed through one instance's admin API is in
force on the other within 100 ms, with the same generation; a stale
If-Match is refused on either; a version published on one is routable on
the other; the figures of a canary are pooled, so errors seen only by
instance B roll back a deployment driven by instance A; and a deployment
whose driving instance is killed (SIGKILL) is taken over and finished by
the other."""

import os
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from redisserver import REDIS_SERVER, RedisServer  # noqa: E402

TOKEN = "fleet-admin-token-0123456789"
REDIS = None
UP1 = UP2 = None
TOKEN_FILE = None


def setup():
    global REDIS, UP1, UP2, TOKEN_FILE
    if REDIS_SERVER is None:
        raise h.SkipTest("redis-server not found")
    REDIS = RedisServer("fleet")
    UP1 = h.Upstream("v1")
    UP2 = h.Upstream("v2")
    d = tempfile.mkdtemp(prefix="fleet-")
    TOKEN_FILE = os.path.join(d, "admin.token")
    with open(TOKEN_FILE, "w") as f:
        f.write(TOKEN + "\n")


def pair(target2_path=""):
    """Two instances on one Redis prefix of their own; returns (A, B) and
    their admin ports."""
    prefix = "f%s:" % uuid.uuid4().hex[:8]
    out = []
    for name in ("a", "b"):
        port = h.free_port()
        functions = {
            "orders": {
                "versions": {
                    "1": {"handler": {"type": "http", "url": "http://127.0.0.1:%d" % UP1.port}},
                    "2": {"handler": {"type": "http",
                                      "url": "http://127.0.0.1:%d%s" % (UP2.port, target2_path)}},
                },
                "aliases": {"live": {"version": "1"}},
            }
        }
        cfg = h.make_config(functions=functions,
                            routes=[h.route("ANY /orders/{proxy+}", "orders:live")])
        cfg["admin"] = h.admin_config(port, TOKEN_FILE)
        cfg["redis"] = {"address": "127.0.0.1:%d" % REDIS.port, "prefix": prefix}
        sl = h.Sluice(cfg, name="sluice-" + name)
        out.append((sl, port))
    # both have joined once each has written or read the alias in Redis
    h.wait_for(lambda: REDIS.cmd("EXISTS", prefix + "alias:orders:live") == 1, 5 * h.SCALE,
               what="the alias state in Redis")
    return out, prefix


def alias(port):
    r = h.admin(port, "GET", "/v1/functions/orders/aliases/live", token=TOKEN)
    assert r.status == 200, (r.status, r.body)
    return r.json()


def put_alias(port, body, if_match=None):
    hdrs = {"If-Match": str(if_match)} if if_match is not None else None
    return h.admin(port, "PUT", "/v1/functions/orders/aliases/live", body=body, token=TOKEN,
                   headers=hdrs)


def served_by(port, n=20):
    names = set()
    for _ in range(n):
        r = h.http(port, "GET", "/orders/x")
        assert r.status in (200, 500), (r.status, r.body)
        names.add(r.headers.get("x-upstream"))
    return names


def test_switch_together_within_100ms():
    (a, pa), (b, pb) = pair()[0]
    with a, b:
        for w in (1.0, 0.0, 1.0):
            t0 = time.monotonic()
            r = put_alias(pa, {"version": "1", "weights": {"2": w}})
            assert r.status == 200, (r.status, r.body)
            gen = r.json()["generation"]
            h.wait_for(lambda: alias(pb)["generation"] == gen, 2.0, interval=0.002,
                       what="B at generation %d" % gen)
            took = time.monotonic() - t0
            assert took < 0.100, "B switched %.1f ms after the PUT on A" % (took * 1000)
            assert alias(pb)["weights"] == ({"2": w} if w else {"2": 0.0}), alias(pb)
        # B's traffic follows: everything to version 2
        assert served_by(b.port) == {"v2"}, served_by(b.port)
        # a stale generation is refused on either instance
        stale = alias(pb)["generation"] - 1
        r = put_alias(pb, {"version": "1"}, if_match=stale)
        assert r.status == 412, (r.status, r.body)
        r = put_alias(pa, {"version": "1"}, if_match=stale)
        assert r.status == 412, (r.status, r.body)


def test_published_version_reaches_the_other_instance():
    (a, pa), (b, pb) = pair()[0]
    with a, b:
        body = {"handler": {"type": "http", "url": "http://127.0.0.1:%d/three" % UP2.port}}
        r = h.admin(pa, "POST", "/v1/functions/orders/versions", body=body, token=TOKEN)
        assert r.status == 201, (r.status, r.body)
        num = r.json()["version"]
        r = put_alias(pa, {"version": num})
        assert r.status == 200, (r.status, r.body)
        h.wait_for(lambda: alias(pb)["version"] == num, 2.0 * h.SCALE, what="B on the new version")
        r = h.http(b.port, "GET", "/orders/x")
        assert r.status == 200 and r.json()["path"].startswith("/three/"), (r.status, r.body)
        assert r.headers.get("x-sluice-function-version") == num


def deployment(port, dep_id):
    r = h.admin(port, "GET", "/v1/deployments/" + dep_id, token=TOKEN)
    assert r.status == 200, (r.status, r.body)
    return r.json()


def dep_state(port, dep_id):
    """The deployment's state as the instance knows it; None before it does."""
    r = h.admin(port, "GET", "/v1/deployments/" + dep_id, token=TOKEN)
    return r.json()["state"] if r.status == 200 else None


def test_figures_pooled_across_instances_roll_back():
    (a, pa), (b, pb) = pair(target2_path="/_status/500")[0]
    with a, b:
        r = h.admin(pa, "POST", "/v1/deployments", token=TOKEN, body={
            "function": "orders", "alias": "live", "target_version": "2",
            "strategy": {"steps": [{"weight": 0.5, "hold_s": 60}]},
            "alarms": {"max_error_rate": 0.2, "min_requests": 10, "window_s": 30}})
        assert r.status == 201, (r.status, r.body)
        dep = r.json()["id"]
        h.wait_for(lambda: alias(pb)["weights"].get("2") == 0.5, 3 * h.SCALE,
                   what="the canary weight on B")
        # traffic only through B: A sees none of the errors itself
        errors_started = time.monotonic()
        deadline = errors_started + 15 * h.SCALE
        while deployment(pa, dep)["state"] == "shifting" and time.monotonic() < deadline:
            for _ in range(10):
                h.http(b.port, "GET", "/orders/x")
        d = deployment(pa, dep)
        assert d["state"] == "rolled_back", d
        assert "error rate" in d["reason"], d
        assert time.monotonic() - errors_started < 5 * h.SCALE + 2, "rollback took too long"
        h.wait_for(lambda: alias(pb)["weights"] == {}, 2 * h.SCALE, what="B rolled back")
        assert served_by(b.port) == {"v1"}
        assert "rolled back" in a.stderr_text()
        assert "error rate" in deployment(pb, dep)["reason"]


def test_driver_killed_another_takes_over():
    (a, pa), (b, pb) = pair()[0]
    with b:
        r = h.admin(pa, "POST", "/v1/deployments", token=TOKEN, body={
            "function": "orders", "alias": "live", "target_version": "2",
            "strategy": {"steps": [{"weight": 0.2, "hold_s": 2}, {"weight": 0.6, "hold_s": 2}]}})
        assert r.status == 201, (r.status, r.body)
        dep = r.json()["id"]
        h.wait_for(lambda: "this instance drives" in a.stderr_text(), 3 * h.SCALE,
                   what="A holding the lease")
        h.wait_for(lambda: dep_state(pb, dep) == "shifting", 3 * h.SCALE,
                   what="B knowing the deployment")
        a.kill()
        a.close(check=False)
        h.wait_for(lambda: dep_state(pb, dep) == "succeeded", 20 * h.SCALE,
                   what="B finishing the deployment")
        assert "this instance drives the deployment on orders:live" in b.stderr_text()
        assert alias(pb)["version"] == "2", alias(pb)
        assert served_by(b.port) == {"v2"}


def teardown():
    for p in (UP1, UP2, REDIS):
        if p:
            p.close()


if __name__ == "__main__":
    h.run()
