#!/usr/bin/env python3
"""test_deploy.py - deployments through the admin API, with real traffic
flowing while they run: a healthy canary that ends with all traffic on the
target; a target answering 500 rolled back by itself within 5 s of its
errors starting; a slow target rolled back by a p99 alarm; 409 for a second
deployment on the same alias (and for changing its alias meanwhile), 400 /
404 for bad requests; stop, promote and rollback on request; a restart of
sluice in the middle of a deployment (state_file), which resumes and
finishes; pre- and post-traffic hooks (2xx lets it go on, anything else
rolls it back).  Then sluicectl against the real thing: deploy start --watch
printing progress and the outcome (exit 0, or 1 for a rollback), alias
get/set, publish, other commands, and exit code 3 when the admin API is
down or silent."""

import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

TOKEN = "deploy-" + uuid.uuid4().hex
TMP = None
TOKEN_FILE = None
UP = {}
# versions of "orders": 1 and 2 healthy, 3 answers 500, 4 answers after
# 400 ms (the upstream sees the url's path first: /_status/500/orders/1)
SLOW_MS = 400
ALIASES = ("live", "a1", "a2", "a3")


def setup():
    global TMP, TOKEN_FILE
    TMP = tempfile.mkdtemp(prefix="sluice-deploy-")
    TOKEN_FILE = os.path.join(TMP, "admin.token")
    with open(TOKEN_FILE, "w") as f:
        f.write(TOKEN + "\n")
    for name in ("v1", "v2", "bad", "slow", "latest", "extra"):
        UP[name] = h.Upstream(name)


def teardown():
    if TMP and not h.KEEP_TMP:
        shutil.rmtree(TMP, ignore_errors=True)


# ------------------------------------------------------------------ helpers


def config(state_file=None, listen_port=None, admin_port=None):
    versions = {
        "1": UP["v1"].url,
        "2": UP["v2"].url,
        "3": UP["bad"].url + "/_status/500",
        "4": UP["slow"].url + "/_slow/%d" % SLOW_MS,
        "$LATEST": UP["latest"].url + "/latest",
    }
    fn = h.http_function(versions, aliases={a: {"version": "1"} for a in ALIASES},
                         timeout_ms=5000)
    routes = [h.route("GET /orders/{id}", "orders:live")] + \
        [h.route("GET /%s/{id}" % a, "orders:" + a) for a in ALIASES[1:]]
    extra = {"admin": h.admin_config(admin_port, TOKEN_FILE)}
    if state_file:
        extra["state_file"] = state_file
    return h.make_config(functions={"orders": fn}, routes=routes, listen_port=listen_port,
                         **extra)


def sluice(name="deploy", **kw):
    return h.Sluice(config(**kw), name=name)


def api(sl, method, path, body=None, token=TOKEN):
    return h.admin(sl.admin_port, method, path, body, token)


def alias(sl, name="live"):
    return h.ok_json(api(sl, "GET", "/v1/functions/orders/aliases/" + name), 200, "alias " + name)


def weights_of(a):
    return a.get("weights") or {}


def start(sl, alias_name, target, strategy=None, alarms=None, status=201, **more):
    body = {"function": "orders", "alias": alias_name, "target_version": target}
    if strategy is not None:
        body["strategy"] = strategy
    if alarms is not None:
        body["alarms"] = alarms
    body.update(more)
    return h.ok_json(api(sl, "POST", "/v1/deployments", body), status,
                   "start %s -> %s" % (alias_name, target))


def dep(sl, dep_id):
    return h.ok_json(api(sl, "GET", "/v1/deployments/" + dep_id), 200, "GET deployment")


def wait_dep(sl, dep_id, pred, timeout, what):
    """Polls the deployment until pred(it) holds; returns it."""
    last = [None]

    def check():
        last[0] = dep(sl, dep_id)
        return last[0] if pred(last[0]) else None
    try:
        return h.wait_for(check, timeout, 0.05, what)
    except AssertionError:
        raise AssertionError("timed out after %.1fs waiting for %s; deployment: %s"
                             % (timeout, what, json.dumps(last[0])))


def shifting_at(weight):
    return lambda d: d["state"] == "shifting" and abs(d["weight"] - weight) < 1e-9


def ended(d):
    return d["state"] in ("succeeded", "rolled_back", "stopped")


def check_deployment_shape(d, alias_name, from_v, target):
    for key in ("id", "function", "alias", "from_version", "target_version", "strategy", "state",
                "weight", "step", "steps", "next_step_in_s", "reason", "created_at",
                "updated_at", "ended_at", "alarms", "hooks", "figures"):
        assert key in d, "deployment without %r: %r" % (key, d)
    assert isinstance(d["id"], str) and d["id"], d
    assert (d["function"], d["alias"], d["from_version"], d["target_version"]) == \
        ("orders", alias_name, from_v, target), d
    assert d["state"] in ("pending", "shifting"), d
    assert isinstance(d["created_at"], (int, float)) and abs(d["created_at"] - time.time()) < 60
    assert d["ended_at"] is None and d["reason"] is None, d


def served(sl, n, path="/orders/1"):
    """{version: count} over n requests, each a 200."""
    seen = {}
    with h.KeepAliveClient(sl.port) as c:
        for _ in range(n):
            r = c.get(path)
            assert r.status == 200, "%s: %d %r" % (path, r.status, r.body[:200])
            v = r.headers.get("x-sluice-function-version")
            seen[v] = seen.get(v, 0) + 1
    return seen


class Traffic:
    """Clients sending GET path to sluice in the background until stopped
    (a context manager); every answer is recorded as (monotonic time,
    status, x-sluice-function-version)."""

    def __init__(self, port, path="/orders/1", threads=2, pause=0.005):
        self.port, self.path, self.pause = port, path, pause
        self.lock = threading.Lock()
        self.records = []
        self.failures = []  # exceptions (connection refused while sluice restarts...)
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self):
        c = h.KeepAliveClient(self.port, timeout=10)
        try:
            while not self.done.is_set():
                try:
                    r = c.get(self.path)
                except Exception as e:  # noqa: BLE001 - recorded
                    with self.lock:
                        self.failures.append((time.monotonic(), repr(e)))
                    c.close()
                    self.done.wait(0.05)
                    continue
                with self.lock:
                    self.records.append((time.monotonic(), r.status,
                                         r.headers.get("x-sluice-function-version")))
                if self.pause:
                    self.done.wait(self.pause)
        finally:
            c.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *a):
        self.done.set()
        for t in self.threads:
            t.join(30)
        return False

    def since(self, t0):
        with self.lock:
            return [r for r in self.records if r[0] >= t0]

    def first(self, pred):
        """The time of the first answer with pred(status, version), or None."""
        with self.lock:
            for t, status, version in self.records:
                if pred(status, version):
                    return t
        return None


def ctl(sl, *args, token_file=None, timeout=60.0):
    return h.run_ctl(list(args), sl.admin_url, token_file or TOKEN_FILE, timeout=timeout)


def kv_output(text):
    """sluicectl's "key: value" lines as a dict."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+):\s+(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


# ------------------------------------------------------------------ deployments by the API


def test_healthy_canary_succeeds():
    with sluice() as sl:
        with Traffic(sl.port) as tr:
            d = start(sl, "live", "2", strategy="Canary50Percent2Seconds")
            check_deployment_shape(d, "live", "1", "2")
            d = wait_dep(sl, d["id"], shifting_at(0.5), 5 * h.SCALE, "50% on version 2")
            t_shift = time.monotonic()
            assert d["step"] == 1 and d["steps"] >= 1, d
            assert 0 < d["next_step_in_s"] <= 2.0, d
            a = alias(sl)
            assert a["version"] == "1" and weights_of(a) == {"2": 0.5}, "alias meanwhile: %r" % a
            h.wait_for(lambda: {v for _, _, v in tr.since(t_shift)} >= {"1", "2"},
                       5 * h.SCALE, 0.05, "both versions serving during the canary")

            d = wait_dep(sl, d["id"], ended, 10 * h.SCALE, "the end of the canary")
            assert d["state"] == "succeeded", d
            assert d["weight"] == 1.0 and d["reason"] is None and d["next_step_in_s"] is None, d
            assert d["ended_at"] - d["created_at"] >= 1.9, "held less than 2 s: %r" % d
            assert d["figures"]["2"]["requests"] > 0 and d["figures"]["2"]["errors"] == 0, d
            a = alias(sl)
            assert a["version"] == "2" and weights_of(a) == {}, "alias after: %r" % a
            t_end = time.monotonic()
            h.wait_for(lambda: len(tr.since(t_end)) >= 20, 5 * h.SCALE, 0.05,
                       "traffic after the canary")
            # every request of the whole canary was answered well
            bad = [r for r in tr.records if r[1] != 200]
            assert not bad and not tr.failures, "failed during the canary: %r %r" \
                % (bad[:5], tr.failures[:5])
        assert served(sl, 20) == {"2": 20}


def test_errors_roll_back_by_themselves():
    with sluice() as sl:
        with Traffic(sl.port, threads=3) as tr:
            before = UP["bad"].requests()
            d = start(sl, "live", "3", strategy="Canary50Percent60Seconds",
                      alarms={"max_error_rate": 0.05, "window_s": 10, "min_requests": 5})
            t_err = h.wait_for(lambda: tr.first(lambda s, v: v == "3" and s >= 500),
                               5 * h.SCALE, 0.02, "the first 500 from version 3")
            d = wait_dep(sl, d["id"], ended, 5 + 1, "the rollback")
            t_end = time.monotonic()
            assert d["state"] == "rolled_back", d
            assert t_end - t_err <= 5.0 + 0.1, \
                "rolled back %.1f s after the errors started, want <= 5 s" % (t_end - t_err)
            assert "error rate" in (d["reason"] or ""), \
                "reason %r names no error rate" % d["reason"]
            assert d["figures"]["3"]["errors"] > 0 and d["figures"]["3"]["error_rate"] > 0.05, d
            a = alias(sl)
            assert a["version"] == "1" and weights_of(a) == {}, "alias after the rollback: %r" % a
        errors_seen = UP["bad"].requests() - before
        assert errors_seen > 0
        assert served(sl, 40) == {"1": 40}, "traffic is not all back on version 1"
        assert UP["bad"].requests() - before == errors_seen, "version 3 still gets requests"


def test_latency_alarm_rolls_back():
    with sluice() as sl:
        with Traffic(sl.port, threads=4, pause=0) as tr:
            d = start(sl, "live", "4", strategy="Canary50Percent60Seconds",
                      alarms={"max_p99_ms": 150, "window_s": 10, "min_requests": 3})
            t_slow = h.wait_for(lambda: tr.first(lambda s, v: v == "4"), 5 * h.SCALE, 0.02,
                                "the first answer from version 4")
            d = wait_dep(sl, d["id"], ended, 8, "the rollback")
            assert d["state"] == "rolled_back", d
            assert time.monotonic() - t_slow <= 8.0
            reason = (d["reason"] or "").lower()
            assert "p99" in reason or "latency" in reason, \
                "reason %r names no latency" % d["reason"]
            p99 = d["figures"]["4"]["p99_ms"]
            assert p99 is not None and p99 >= SLOW_MS * 0.9, "version 4 p99 %r" % p99
            assert d["figures"]["4"]["errors"] == 0, d
            a = alias(sl)
            assert a["version"] == "1" and weights_of(a) == {}, a
        assert served(sl, 20) == {"1": 20}


def hook_posts(up):
    """The POSTs a hook upstream received: [(path, body_len), ...]."""
    return [(p, n) for m, p, n in up.log() if m == "POST"]


def test_hooks_that_answer_2xx_let_it_finish():
    with sluice() as sl:
        before = len(hook_posts(UP["v1"]))
        d = start(sl, "a1", "2", hooks={"pre_traffic": "orders:1", "post_traffic": "orders:1"})
        d = wait_dep(sl, d["id"], ended, 10 * h.SCALE, "the end of the deployment")
        assert d["state"] == "succeeded", d
        assert alias(sl, "a1")["version"] == "2"
        posts = hook_posts(UP["v1"])[before:]
        assert len(posts) == 2 and all(n > 0 for _, n in posts), \
            "want a pre- and a post-traffic event POSTed, got %r" % posts


def test_failing_pre_traffic_hook_rolls_back_before_any_traffic():
    with sluice() as sl:
        gen = alias(sl, "a2")["generation"]
        d = start(sl, "a2", "2", strategy="Canary50Percent60Seconds",
                  hooks={"pre_traffic": "orders:3"})
        d = wait_dep(sl, d["id"], ended, 10 * h.SCALE, "the end of the deployment")
        assert d["state"] == "rolled_back", d
        assert "pre-traffic hook answered 500" in d["reason"], d
        a = alias(sl, "a2")
        assert a["version"] == "1" and weights_of(a) == {}, a
        # the hook failed before the first step: the alias never moved
        assert a["generation"] == gen, (gen, a)


def test_failing_post_traffic_hook_rolls_back():
    with sluice() as sl:
        d = start(sl, "a3", "2", hooks={"post_traffic": "orders:3"})
        d = wait_dep(sl, d["id"], ended, 10 * h.SCALE, "the end of the deployment")
        assert d["state"] == "rolled_back", d
        assert "post-traffic hook answered 500" in d["reason"], d
        a = alias(sl, "a3")
        assert a["version"] == "1" and weights_of(a) == {}, a
        # a hook that names nothing is refused up front
        r = api(sl, "POST", "/v1/deployments", {"function": "orders", "alias": "a3",
                                                 "target_version": "2",
                                                 "hooks": {"pre_traffic": "nope:1"}})
        h.error_json(r, 400, "unknown hook target")


def test_one_deployment_per_alias_and_bad_requests():
    with sluice() as sl:
        d1 = start(sl, "live", "2", strategy="Canary10Percent10Minutes")
        h.error_json(api(sl, "POST", "/v1/deployments",
                       {"function": "orders", "alias": "live", "target_version": "2"}), 409,
                   "a second deployment on live")
        h.error_json(api(sl, "PUT", "/v1/functions/orders/aliases/live", {"version": "2"}), 409,
                   "changing live while it deploys")
        d2 = start(sl, "a1", "2")  # another alias is free; AllAtOnce by default
        assert d2["strategy"] == "AllAtOnce", d2
        d2 = wait_dep(sl, d2["id"], ended, 5 * h.SCALE, "the AllAtOnce deployment")
        assert d2["state"] == "succeeded" and alias(sl, "a1")["version"] == "2", d2
        assert dep(sl, d1["id"])["state"] in ("pending", "shifting"), "the first one moved"
        listed = h.ok_json(api(sl, "GET", "/v1/deployments"))["deployments"]
        assert [x["id"] for x in listed] == [d2["id"], d1["id"]], \
            "want newest first: %r" % [(x["id"], x["created_at"]) for x in listed]

        base = {"function": "orders", "alias": "a2", "target_version": "2"}
        for what, body, status in [
                ("unknown strategy", dict(base, strategy="Canary10PercentForever"), 400),
                ("steps over 1", dict(base, strategy={"steps": [{"weight": 1.5, "hold_s": 1}]}),
                 400),
                ("unknown target", dict(base, target_version="9"), 400),
                ("target is the primary", dict(base, target_version="1"), 400),
                ("unknown function", dict(base, function="nope"), 404),
                ("unknown alias", dict(base, alias="nope"), 404)]:
            h.error_json(api(sl, "POST", "/v1/deployments", body), status, what)
        assert alias(sl, "a2")["version"] == "1" and weights_of(alias(sl, "a2")) == {}
        assert len(h.ok_json(api(sl, "GET", "/v1/deployments"))["deployments"]) == 2


def test_stop_promote_rollback_on_request():
    with sluice() as sl:
        ids = {}
        for a in ("a1", "a2", "a3"):
            ids[a] = start(sl, a, "2", strategy="Canary50Percent10Minutes")["id"]
        for a in ("a1", "a2", "a3"):
            wait_dep(sl, ids[a], shifting_at(0.5), 5 * h.SCALE, "%s at 50%%" % a)

        d = h.ok_json(api(sl, "POST", "/v1/deployments/%s/stop" % ids["a1"]), 200, "stop")
        assert d["state"] == "stopped" and d["ended_at"] is not None, d
        a = alias(sl, "a1")
        assert a["version"] == "1" and weights_of(a) == {"2": 0.5}, "stop moved weights: %r" % a

        d = h.ok_json(api(sl, "POST", "/v1/deployments/%s/promote" % ids["a2"]), 200, "promote")
        assert d["state"] == "succeeded" and d["weight"] == 1.0, d
        a = alias(sl, "a2")
        assert a["version"] == "2" and weights_of(a) == {}, "after promote: %r" % a

        d = h.ok_json(api(sl, "POST", "/v1/deployments/%s/rollback" % ids["a3"]), 200, "rollback")
        assert d["state"] == "rolled_back" and "request" in (d["reason"] or ""), d
        a = alias(sl, "a3")
        assert a["version"] == "1" and weights_of(a) == {}, "after rollback: %r" % a

        for a in ("a1", "a2", "a3"):  # ended: no action applies any more
            for action in ("stop", "promote", "rollback"):
                h.error_json(api(sl, "POST", "/v1/deployments/%s/%s" % (ids[a], action)), 409,
                           "%s on the ended deployment of %s" % (action, a))
        assert served(sl, 20, "/a2/1") == {"2": 20}
        assert served(sl, 20, "/a3/1") == {"1": 20}
        split = served(sl, 200, "/a1/1")
        assert set(split) == {"1", "2"} and 60 <= split["2"] <= 140, "a1 stopped at 50%%: %r" \
            % split


def test_restart_resumes_a_deployment():
    state = os.path.join(TMP, "state-%s.json" % uuid.uuid4().hex[:8])
    with sluice(state_file=state) as sl:
        d = start(sl, "live", "2", strategy={"steps": [{"weight": 0.3, "hold_s": 4}]})
        wait_dep(sl, d["id"], shifting_at(0.3), 5 * h.SCALE, "30% on version 2")
        sl.restart()
        after = dep(sl, d["id"])
        assert after["state"] == "shifting" and after["weight"] == 0.3, \
            "not resumed where it was: %r" % after
        assert (after["from_version"], after["target_version"]) == ("1", "2"), after
        a = alias(sl)
        assert a["version"] == "1" and weights_of(a) == {"2": 0.3}, a
        split = served(sl, 100)
        assert set(split) == {"1", "2"}, "30%% canary after the restart: %r" % split
        d = wait_dep(sl, d["id"], ended, 4 + 5 * h.SCALE, "the resumed deployment to end")
        assert d["state"] == "succeeded", d
        a = alias(sl)
        assert a["version"] == "2" and weights_of(a) == {}, a
        assert served(sl, 20) == {"2": 20}


# ------------------------------------------------------------------ sluicectl


WATCH_LINE_RE = re.compile(r"^\[\+\d+ s\] (pending|shifting|succeeded|rolled_back|stopped) "
                           r"step \d+/\d+  weights( \S+=\d+(\.\d)?%)+  requests")


def test_sluicectl_deploy_watch_succeeds():
    with sluice() as sl, Traffic(sl.port):
        code, out, err = ctl(sl, "deploy", "start", "orders", "live", "2",
                             "--strategy", "Canary50Percent2Seconds", "--max-error-rate", "5%",
                             "--watch")
        assert code == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (code, out, err)
        lines = out.splitlines()
        m = re.match(r"^deployment (\S+)  orders:live  1 (→|->) 2  Canary50Percent2Seconds$",
                     lines[0])
        assert m, "header %r" % lines[0]
        progress = lines[1:-1]
        assert progress and all(WATCH_LINE_RE.match(x) for x in progress), \
            "progress lines:\n%s" % "\n".join(progress)
        assert any(" shifting step 1/" in x and "1=50% 2=50%" in x for x in progress), out
        assert re.match(r"^succeeded in \d+ s$", lines[-1]), "last line %r" % lines[-1]
        d = dep(sl, m.group(1))
        assert d["state"] == "succeeded" and d["alarms"]["max_error_rate"] == 0.05, d
        assert alias(sl)["version"] == "2"


def test_sluicectl_deploy_watch_rolled_back():
    with sluice() as sl, Traffic(sl.port, threads=3):
        code, out, err = ctl(sl, "deploy", "start", "orders", "live", "3",
                             "--strategy", "Canary50Percent60Seconds",
                             "--max-error-rate", "0.05", "--window-s", "10",
                             "--min-requests", "5", "--watch")
        assert code == 1, "exit %d\nstdout:\n%s\nstderr:\n%s" % (code, out, err)
        last = out.splitlines()[-1]
        assert re.match(r"^rolled back: .*error rate", last), "last line %r" % last
        assert alias(sl)["version"] == "1"
        # deploy status of the ended deployment shows the same
        dep_id = out.split()[1]
        code, out, err = ctl(sl, "deploy", "status", dep_id)
        assert code == 0 and kv_output(out).get("state") == "rolled_back", (code, out, err)
        code, out, err = ctl(sl, "deploy", "status", dep_id, "--watch")
        assert code == 1 and out.splitlines()[-1] == last, (code, out, err)


def test_sluicectl_alias_get_set():
    with sluice() as sl:
        code, out, err = ctl(sl, "alias", "get", "orders", "live")
        assert code == 0, err
        kv = kv_output(out)
        a = alias(sl)
        assert kv["version"] == "1" and kv["weights"] == "-" and kv["source"] == "config", out
        assert kv["generation"] == str(a["generation"]), (kv, a)

        code, out, err = ctl(sl, "alias", "set", "orders", "live", "--weight", "2=25%",
                             "--sticky-by", "$request.header.x-user")
        assert code == 0, "exit %d: %s" % (code, err)
        kv = kv_output(out)
        assert kv["weights"] == "2=25%" and kv["traffic"] == "1 75%, 2 25%", out
        b = alias(sl)
        assert b["version"] == "1" and weights_of(b) == {"2": 0.25}, b
        assert b["sticky_by"] == "$request.header.x-user", b
        assert b["generation"] == a["generation"] + 1, (a, b)

        code, out, err = ctl(sl, "--json", "alias", "get", "orders", "live")
        assert code == 0 and json.loads(out) == b, (code, out, err)

        # the new primary loses its weight; stickiness goes
        code, out, err = ctl(sl, "alias", "set", "orders", "live", "--version", "2",
                             "--no-sticky")
        assert code == 0, err
        c = alias(sl)
        assert c["version"] == "2" and weights_of(c) == {} and c["sticky_by"] is None, c
        assert served(sl, 10) == {"2": 10}

        code, out, err = ctl(sl, "alias", "set", "orders", "live", "--weight", "9=0.1")
        assert code == 1 and "400" in err, "unknown version: exit %d, %r" % (code, err)
        code, out, err = ctl(sl, "alias", "set", "orders", "live")
        assert code == 2 and "nothing to change" in err, (code, err)
        code, out, err = ctl(sl, "alias", "set", "orders", "live", "--weight", "2=1.5")
        assert code == 2, (code, err)
        assert alias(sl)["generation"] == c["generation"], "a refused set changed the alias"


def test_sluicectl_publish():
    with sluice() as sl:
        path = os.path.join(TMP, "def-%s.json" % uuid.uuid4().hex[:8])
        with open(path, "w") as f:
            json.dump({"handler": {"type": "http", "url": UP["extra"].url}}, f)
        code, out, err = ctl(sl, "publish", "orders", "--file", path)
        assert (code, out) == (0, "published orders version 5 (new)\n"), (code, out, err)
        code, out, err = ctl(sl, "publish", "orders", "--file", path)
        assert code == 0 and re.match(r"^orders version 5: .*\(not new\)$", out.strip()), \
            (code, out, err)
        code, out, err = ctl(sl, "publish", "orders")  # $LATEST
        assert (code, out) == (0, "published orders version 6 (new)\n"), (code, out, err)
        f = h.ok_json(api(sl, "GET", "/v1/functions/orders"))
        assert f["versions"]["5"]["handler"]["url"] == UP["extra"].url, f["versions"]
        with open(path, "w") as f:
            f.write('{"handler": ')
        code, out, err = ctl(sl, "publish", "orders", "--file", path)
        assert code == 2 and path in err, "a file that is not JSON: %d %r" % (code, err)


def test_sluicectl_other_commands():
    with sluice() as sl:
        code, out, err = ctl(sl, "health")
        assert code == 0 and out.strip().endswith(": ok"), (code, out, err)
        code, out, err = ctl(sl, "functions")
        assert code == 0 and re.search(r"^orders\s+1, 2, 3, 4, \$LATEST\s+a1, a2, a3, live$",
                                       out, re.M), out
        start(sl, "a1", "2")
        code, out, err = ctl(sl, "deploy", "list")
        assert code == 0 and out.startswith("ID ") and "orders:a1" in out, out
        code, out, err = ctl(sl, "metrics")
        assert code == 0 and "# TYPE " in out, out[:300]
        code, out, err = ctl(sl, "cache", "flush", "nope")
        assert code == 1 and "404" in err, (code, err)
        sl.write_config(text='{"listen": [], "nonsense": 1}\n')
        code, out, err = ctl(sl, "reload")
        assert code == 1 and re.search(r"sluice\.json:\d+: ", err), (code, err)
        assert served(sl, 5) == {"1": 5}, "the bad config replaced the good one"


def test_sluicectl_exit_codes_when_unreachable():
    port = h.free_port()
    code, out, err = h.run_ctl(["health"], "http://127.0.0.1:%d" % port)
    assert code == 3 and "connection refused" in err, (code, err)
    with sluice() as sl:
        code, out, err = ctl(sl, "functions")
        assert code == 0, err
        wrong = os.path.join(TMP, "wrong.token")
        with open(wrong, "w") as f:
            f.write("not-the-token-0123456789")
        code, out, err = ctl(sl, "functions", token_file=wrong)
        assert code == 1 and "401" in err, "wrong token: %d %r" % (code, err)
        code, out, err = ctl(sl, "deploy", "status", "d-00000000deadbeef")
        assert code == 1 and "404" in err, (code, err)
        url = sl.admin_url
        assert sl.stop() == 0
        code, out, err = h.run_ctl(["functions"], url, TOKEN_FILE)
        assert code == 3 and "connection refused" in err, "admin API down: %d %r" % (code, err)
    code, out, err = h.run_ctl(["health"], "https://127.0.0.1:%d" % port)
    assert code == 2 and "https" in err, (code, err)
    code, out, err = h.run_ctl(["no-such-command"])
    assert code == 2, (code, err)
    # a listener that never answers: the read times out
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        t0 = time.monotonic()
        code, out, err = h.run_ctl(["health"], "http://127.0.0.1:%d" % silent.getsockname()[1])
        assert code == 3 and "no answer within" in err, (code, err)
        assert time.monotonic() - t0 < 15, "the timeout took %.1f s" % (time.monotonic() - t0)
    finally:
        silent.close()


if __name__ == "__main__":
    h.run()
