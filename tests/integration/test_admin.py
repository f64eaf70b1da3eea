#!/usr/bin/env python3
"""test_admin.py - the admin API against a real sluice and real upstreams:
/healthz without a token, 401 (with WWW-Authenticate) without or with a
wrong token, functions and aliases read back as configured, a PUT of an
alias moving the traffic itself (seen on the upstreams and in
x-sluice-function-version), If-Match and 412, the 400s of an invalid alias,
404s and 405s, publishing versions (the next number, or the same number for
an identical definition), POST /v1/reload with a good and a bad config,
flushing an authorizer's cache, /metrics as Prometheus text counting the
requests sent, and alias state across a restart and reloads (see
test_runtime_alias_state_across_restart_and_reload for the rule)."""

import json
import math
import os
import re
import shutil
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import jwtmaker as jm  # noqa: E402

TOKEN = "admin-" + uuid.uuid4().hex  # the server wants at least 16 characters
HS_SECRET = b"admin-test-hs256-secret-0123456789abcdefghijkl"
TMP = None
TOKEN_FILE = None
UP = {}  # name -> Upstream
# which upstream serves each version of "orders"
UPSTREAM_OF = {"1": "v1", "2": "v2", "3": "v3", "$LATEST": "latest"}


def setup():
    global TMP, TOKEN_FILE
    TMP = tempfile.mkdtemp(prefix="sluice-admin-")
    TOKEN_FILE = os.path.join(TMP, "admin.token")
    with open(TOKEN_FILE, "w") as f:
        f.write("\n  %s \n" % TOKEN)  # surrounding whitespace is trimmed
    with open(os.path.join(TMP, "hs.secret"), "wb") as f:
        f.write(HS_SECRET)
    for name in ("v1", "v2", "v3", "latest", "extra"):
        UP[name] = h.Upstream(name)


def teardown():
    if TMP and not h.KEEP_TMP:
        shutil.rmtree(TMP, ignore_errors=True)


# ------------------------------------------------------------------ helpers


def orders_function(live=None):
    return h.http_function(
        {"1": UP["v1"].url, "2": UP["v2"].url, "3": UP["v3"].url, "$LATEST": UP["latest"].url},
        aliases={"live": live or {"version": "1"}, "beta": {"version": "3"}},
        timeout_ms=3000)


def config(live=None, state_file=None, admin_port=None, listen_port=None, token_file=True,
           extra_routes=()):
    """The test config; a reload's config must keep the listen_port and
    admin_port of the running sluice."""
    functions = {
        "orders": orders_function(live),
        "solo": h.http_function({"1": UP["v1"].url}),  # no $LATEST to publish
    }
    routes = [
        h.route("GET /orders/{id}", "orders:live"),
        h.route("GET /beta/{id}", "orders:beta"),
        h.route("GET /secure/{id}", "orders:live", authorizer="users"),
    ] + list(extra_routes)
    authorizers = {"users": {
        "type": "jwt", "issuer": "https://issuer.test/", "audiences": ["api"],
        "keys": [{"kid": "hs-1", "secret_file": os.path.join(TMP, "hs.secret"),
                  "algorithms": ["HS256"]}],
        "identity_source": ["$request.header.Authorization"], "cache_ttl_s": 300}}
    extra = {"admin": h.admin_config(admin_port, TOKEN_FILE if token_file else None)}
    if state_file:
        extra["state_file"] = state_file
    return h.make_config(functions=functions, routes=routes, authorizers=authorizers,
                         listen_port=listen_port, **extra)


def sluice(name="admin", **kw):
    return h.Sluice(config(**kw), name=name)


def api(sl, method, path, body=None, token=TOKEN, headers=None):
    return h.admin(sl.admin_port, method, path, body, token, headers)


ALIAS_PATH = "/v1/functions/orders/aliases/%s"


def alias(sl, name="live"):
    return h.ok_json(api(sl, "GET", ALIAS_PATH % name), 200, "GET alias " + name)


def put_alias(sl, state, name="live", if_match=None, token=TOKEN):
    headers = {"If-Match": if_match} if if_match is not None else None
    return api(sl, "PUT", ALIAS_PATH % name, state, token=token, headers=headers)


def weights_of(a):
    """An alias's weights; none given and {} mean the same."""
    return a.get("weights") or {}


def counts():
    return {name: u.requests() for name, u in UP.items()}


def versions_served(sl, n, path="/orders/1", upstream_of=None):
    """Sends n requests; returns {version: count}.  Each must be a 200
    served by the upstream of the version its header names (UPSTREAM_OF,
    updated with upstream_of)."""
    where = dict(UPSTREAM_OF, **(upstream_of or {}))
    seen = {}
    with h.KeepAliveClient(sl.port) as c:
        for _ in range(n):
            r = c.get(path)
            assert r.status == 200, "%s: %d %r" % (path, r.status, r.body[:200])
            v = r.headers.get("x-sluice-function-version")
            name = r.json()["name"]
            assert where.get(v) == name, \
                "x-sluice-function-version %r but served by %r" % (v, name)
            seen[v] = seen.get(v, 0) + 1
    return seen


def hs_token(**claims):
    c = jm.make_claims(jti=uuid.uuid4().hex, **claims)
    return jm.sign("HS256", HS_SECRET, c, kid="hs-1")


# ------------------------------------------------------------------ Prometheus text

METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE_RE = re.compile(r"^(%s)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?$" % METRIC_NAME)
LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}


def parse_labels(text, line):
    labels = {}
    pos = 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        assert m, "bad labels in metrics line %r" % line
        assert m.group(1) not in labels, "label %s twice in %r" % (m.group(1), line)
        labels[m.group(1)] = re.sub(r"\\(.)", lambda x: {"n": "\n"}.get(x.group(1), x.group(1)),
                                    m.group(2))
        pos = m.end()
    return labels


def parse_prometheus(text):
    """Parses the Prometheus text format (0.0.4) strictly: every sample
    belongs to a family declared by # TYPE before it.  Returns
    {family: {"type", "help", "samples": [(name, labels, value)]}}."""
    fams = {}
    assert text.endswith("\n"), "metrics text does not end with a newline"
    for line in text.split("\n")[:-1]:
        if not line.strip():
            continue
        m = re.match(r"^# (HELP|TYPE) (%s)(?: (.*))?$" % METRIC_NAME, line)
        if m:
            fam = fams.setdefault(m.group(2), {"type": None, "help": None, "samples": []})
            if m.group(1) == "TYPE":
                assert fam["type"] is None and not fam["samples"], "late or double TYPE: %r" % line
                assert m.group(3) in ("counter", "gauge", "histogram", "summary", "untyped"), line
                fam["type"] = m.group(3)
            else:
                fam["help"] = m.group(3) or ""
            continue
        if line.startswith("#"):
            continue  # other comments are allowed
        m = SAMPLE_RE.match(line)
        assert m, "not a metrics sample line: %r" % line
        name, labels, value = m.group(1), parse_labels(m.group(2) or "", line), m.group(3)
        fam = None
        for fname, f in fams.items():
            kinds = SUFFIXES.get(f["type"], ("",))
            if any(name == fname + sfx for sfx in kinds):
                fam = f
        assert fam is not None and fam["type"], "sample %s without a # TYPE before it" % name
        v = float(value)  # accepts +Inf, -Inf, NaN too
        if fam["type"] == "counter":
            assert v >= 0 and not math.isnan(v), "negative counter: %r" % line
        fam["samples"].append((name, labels, v))
    return fams


def requests_by_alias(fams, function):
    """{alias: count} from the *requests_total counter's samples labelled
    with function (a family without samples yet counts nothing)."""
    out = {}
    found = False
    for fname, f in fams.items():
        if f["type"] != "counter" or not fname.endswith("requests_total"):
            continue
        found = True
        for _, labels, v in f["samples"]:
            if labels.get("function") == function:
                out[labels.get("alias", "")] = out.get(labels.get("alias", ""), 0) + v
    assert found, "no *requests_total counter in %r" % sorted(fams)
    return out


# ------------------------------------------------------------------ tests


def test_healthz_without_token():
    with sluice() as sl:
        r = h.admin(sl.admin_port, "GET", "/healthz")
        assert h.ok_json(r) == {"status": "ok"}, r.body


def test_401_without_or_with_a_wrong_token():
    with sluice() as sl:
        cases = [("no token", None), ("wrong token", "nope-" + TOKEN),
                 ("a prefix of the token", TOKEN[:-1]), ("the token and more", TOKEN + "x"),
                 ("empty token", "")]
        for what, token in cases:
            for method, path in (("GET", "/v1/functions"), ("GET", "/metrics"),
                                 ("POST", "/v1/reload"), ("PUT", ALIAS_PATH % "live")):
                body = {"version": "2"} if method == "PUT" else None
                r = api(sl, method, path, body, token=token)
                h.error_json(r, 401, "%s, %s %s" % (what, method, path))
                www = r.headers.get("www-authenticate", "")
                assert re.match(r'Bearer\s+realm="sluice-admin"', www), \
                    "%s: WWW-Authenticate %r" % (what, www)
        r = h.admin(sl.admin_port, "GET", "/v1/functions",
                    headers={"Authorization": "Basic " + "YWRtaW46" + TOKEN})
        h.error_json(r, 401, "Basic credentials")
        assert alias(sl)["version"] == "1", "a refused PUT changed the alias"
        h.ok_json(api(sl, "GET", "/v1/functions"), 200, "the right token")


def test_no_token_file_means_loopback_only():
    with sluice(token_file=False) as sl:
        h.ok_json(api(sl, "GET", "/v1/functions", token=None), 200, "loopback, no token file")
    cfg = config(token_file=False)
    cfg["admin"]["address"] = "0.0.0.0:%d" % h.free_port()
    path = os.path.join(TMP, "open-admin.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    code, out, err = h.run_sluice(["-t", "-c", path])
    assert code == 1, "an admin API on 0.0.0.0 without a token passed -t: %r %r" % (out, err)
    assert "admin" in err, "the error does not name admin: %r" % err


def test_get_functions_function_alias():
    with sluice() as sl:
        fns = h.ok_json(api(sl, "GET", "/v1/functions"))["functions"]
        by_name = {f["name"]: f for f in fns}
        assert set(by_name) == {"orders", "solo"}, fns
        assert sorted(by_name["orders"]["versions"]) == sorted(["1", "2", "3", "$LATEST"])
        assert sorted(by_name["orders"]["aliases"]) == ["beta", "live"]
        assert by_name["solo"]["versions"] == ["1"] and by_name["solo"]["aliases"] == []

        f = h.ok_json(api(sl, "GET", "/v1/functions/orders"))
        assert f["name"] == "orders" and f["timeout_ms"] == 3000, f
        assert "memory_mb" in f and "max_concurrency" in f, f
        assert set(f["versions"]) == {"1", "2", "3", "$LATEST"}, f["versions"]
        for v, up in UPSTREAM_OF.items():
            hd = f["versions"][v]["handler"]
            assert hd == {"type": "http", "url": UP[up].url}, "version %s: %r" % (v, hd)
        assert set(f["aliases"]) == {"live", "beta"}
        assert f["aliases"]["beta"]["version"] == "3"

        a = alias(sl)
        assert a["function"] == "orders" and a["alias"] == "live" and a["version"] == "1", a
        assert weights_of(a) == {} and a["sticky_by"] is None and a.get("pins", []) == [], a
        assert isinstance(a["generation"], int) and a["source"] == "config", a
        assert f["aliases"]["live"]["version"] == a["version"]


def test_put_alias_moves_the_traffic():
    with sluice() as sl:
        assert versions_served(sl, 20) == {"1": 20}
        a = alias(sl)
        r = put_alias(sl, {"version": "1", "weights": {"2": 1.0}}, if_match=str(a["generation"]))
        b = h.ok_json(r, 200, "PUT weights {2: 1.0}")
        assert b["version"] == "1" and weights_of(b) == {"2": 1.0}, b
        assert b["generation"] == a["generation"] + 1 and b["source"] == "runtime", b
        assert alias(sl) == b, "GET after PUT differs from the PUT's answer"

        before = counts()
        assert versions_served(sl, 40) == {"2": 40}, "weights {2: 1.0} must send everything to 2"
        after = counts()
        assert after["v2"] - before["v2"] == 40 and after["v1"] == before["v1"], (before, after)
        assert versions_served(sl, 10, "/beta/1") == {"3": 10}, "another alias moved"

        # a new primary, no weights: version 3 for everyone, "function",
        # "alias", "generation" and "source" in the body are ignored
        body = dict(b, version="3", weights={}, generation=12345, source="config")
        c = h.ok_json(put_alias(sl, body), 200, "PUT version 3")
        assert c["version"] == "3" and weights_of(c) == {}, c
        assert c["generation"] == b["generation"] + 1, c
        assert versions_served(sl, 20) == {"3": 20}


def test_stale_if_match_412():
    with sluice() as sl:
        g = alias(sl)["generation"]
        h.ok_json(put_alias(sl, {"version": "2"}, if_match=str(g)), 200, "first writer")
        r = put_alias(sl, {"version": "3"}, if_match=str(g))
        body = h.error_json(r, 412, "second writer with the same generation")
        assert body.get("generation") == g + 1, "412 body %r, want generation %d" % (body, g + 1)
        assert alias(sl)["version"] == "2", "a 412 changed the alias"
        assert versions_served(sl, 10) == {"2": 10}
        h.ok_json(put_alias(sl, {"version": "3"}, if_match='"%d"' % (g + 1)), 200, "quoted If-Match")
        h.ok_json(put_alias(sl, {"version": "1"}), 200, "no If-Match")
        assert alias(sl)["generation"] == g + 3


def test_invalid_alias_400():
    with sluice() as sl:
        before = alias(sl)
        cases = [
            ("unknown version", {"version": "9"}),
            ("unknown weighted version", {"version": "1", "weights": {"9": 0.1}}),
            ("weight 1.5", {"version": "1", "weights": {"2": 1.5}}),
            ("negative weight", {"version": "1", "weights": {"2": -0.1}}),
            ("weights summing over 1", {"version": "1", "weights": {"2": 0.6, "3": 0.5}}),
            ("$LATEST weighted", {"version": "1", "weights": {"$LATEST": 0.1}}),
            ("no version", {"weights": {"2": 0.1}}),
            ("bad sticky_by selector", {"version": "1", "sticky_by": "$nowhere.thing"}),
            ("not JSON", "{\"version\": "),
        ]
        for what, body in cases:
            h.error_json(put_alias(sl, body), 400, what)
        assert alias(sl) == before, "a refused PUT changed the alias"
        assert versions_served(sl, 10) == {"1": 10}


def test_404_and_405():
    with sluice() as sl:
        for method, path, body in [
                ("GET", "/v1/functions/nope", None),
                ("GET", "/v1/functions/nope/aliases/live", None),
                ("GET", ALIAS_PATH % "nope", None),
                ("PUT", ALIAS_PATH % "nope", {"version": "1"}),
                ("PUT", "/v1/functions/nope/aliases/live", {"version": "1"}),
                ("POST", "/v1/functions/nope/versions", {}),
                ("GET", "/v1/deployments/d-00000000deadbeef", None),
                ("POST", "/v1/deployments/d-00000000deadbeef/rollback", None),
                ("DELETE", "/v1/authorizers/nope/cache", None),
                ("GET", "/v1/nothing-here", None),
                ("GET", "/nothing", None)]:
            h.error_json(api(sl, method, path, body), 404, "%s %s" % (method, path))
        for method, path, allowed in [("DELETE", "/v1/functions", "GET"),
                                      ("GET", "/v1/reload", "POST"),
                                      ("GET", "/v1/functions/orders/versions", "POST"),
                                      ("POST", ALIAS_PATH % "live", "PUT")]:
            r = api(sl, method, path)
            h.error_json(r, 405, "%s %s" % (method, path))
            allow = {m.strip().upper() for m in r.headers.get("allow", "").split(",")}
            assert allowed in allow, "%s %s: Allow %r" % (method, path, r.headers.get("allow"))


def test_publish_versions():
    with sluice() as sl:
        vpath = "/v1/functions/orders/versions"
        new_def = {"handler": {"type": "http", "url": UP["extra"].url}, "timeout_ms": 2000}
        b = h.ok_json(api(sl, "POST", vpath, new_def), 201, "a new definition")
        assert b["version"] == "4", "1 + the highest version (3), got %r" % b
        b = h.ok_json(api(sl, "POST", vpath, new_def), 200, "the same definition again")
        assert b["version"] == "4", b
        b = h.ok_json(api(sl, "POST", vpath, {"handler": {"type": "http", "url": UP["v2"].url}}),
                    200, "version 2's definition")
        assert b["version"] == "2", "an identical definition is version 2, got %r" % b
        b = h.ok_json(api(sl, "POST", vpath, {}), 201, "publish $LATEST")
        assert b["version"] == "5", b
        b = h.ok_json(api(sl, "POST", vpath, {}), 200, "publish $LATEST again")
        assert b["version"] == "5", b

        f = h.ok_json(api(sl, "GET", "/v1/functions/orders"))
        assert set(f["versions"]) == {"1", "2", "3", "4", "5", "$LATEST"}, f["versions"]
        assert f["versions"]["4"]["handler"] == new_def["handler"], f["versions"]["4"]
        assert f["versions"]["5"]["handler"]["url"] == UP["latest"].url, f["versions"]["5"]

        # a published version serves like any other
        h.ok_json(put_alias(sl, {"version": "4"}), 200, "alias to version 4")
        before = UP["extra"].requests()
        assert versions_served(sl, 10, upstream_of={"4": "extra"}) == {"4": 10}
        assert UP["extra"].requests() - before == 10
        h.ok_json(put_alias(sl, {"version": "5"}), 200, "alias to version 5")
        assert versions_served(sl, 5, upstream_of={"5": "latest"}) == {"5": 5}

        h.error_json(api(sl, "POST", vpath, {"handler": {"type": "nope"}}), 400, "bad handler")
        h.error_json(api(sl, "POST", vpath, {"handler": {"type": "http", "url": UP["v1"].url},
                                           "no_such_key": 1}), 400, "unknown key")
        h.error_json(api(sl, "POST", "/v1/functions/solo/versions", {}), 400, "{} without $LATEST")
        assert set(h.ok_json(api(sl, "GET", "/v1/functions/orders"))["versions"]) == \
            {"1", "2", "3", "4", "5", "$LATEST"}, "a refused publish added a version"


def test_reload_good_then_bad():
    with sluice() as sl:
        good = config(admin_port=sl.admin_port, listen_port=sl.port,
                      extra_routes=[h.route("GET /new/{id}", "orders:beta")])
        assert h.http(sl.port, "GET", "/new/1").status == 404
        sl.write_config(good)
        b = h.ok_json(api(sl, "POST", "/v1/reload"), 200, "reload of a good config")
        assert b == {"status": "reloaded", "routes": len(good["routes"]),
                     "functions": len(good["functions"])}, b
        assert versions_served(sl, 5, "/new/1") == {"3": 5}, "the new route does not work"

        bad = json.loads(json.dumps(good))
        bad["routes"].append(h.route("GET /broken/{id}", "nosuchfunction:live"))
        bad_index = len(bad["routes"]) - 1
        text, spans = sl.config_text(bad)
        sl.write_config(text=text)
        b = h.error_json(api(sl, "POST", "/v1/reload"), 400, "reload of a bad config")
        assert b["message"].startswith("config has errors"), b
        assert isinstance(b.get("errors"), list) and b["errors"], b
        want_line = spans[("routes", bad_index, "target")][0]
        want_path = "routes.%d.target" % bad_index
        found = []
        for e in b["errors"]:
            m = re.match(r"^(?P<file>.+?):(?P<line>\d+): (?P<path>\S+): (?P<msg>.+)$", e)
            assert m, "error %r is not FILE:LINE: PATH: MESSAGE" % e
            found.append((os.path.basename(m.group("file")), int(m.group("line")),
                          h.normalize_config_path(m.group("path"))))
        assert ("sluice.json", want_line, want_path) in found, \
            "want sluice.json:%d: %s in %r" % (want_line, want_path, b["errors"])
        # the good config keeps serving
        assert versions_served(sl, 5, "/new/1") == {"3": 5}
        assert h.http(sl.port, "GET", "/broken/1").status == 404
        assert sl.alive()


def test_authorizer_cache_flush():
    with sluice() as sl:
        t = hs_token()
        rids = ["flush-%d-%s" % (i, uuid.uuid4().hex[:8]) for i in range(2)]
        with h.KeepAliveClient(sl.port) as c:  # one connection: one worker, one cache
            for rid in rids:
                r = c.get("/secure/1", {"Authorization": "Bearer " + t, "x-request-id": rid})
                assert r.status == 200, r
            got = [sl.wait_access_log(lambda x, rid=rid: x.get("request_id") == rid)
                   .get("auth_cache") for rid in rids]
            assert got == ["miss", "hit"], "before the flush: %r" % got

            r = api(sl, "DELETE", "/v1/authorizers/users/cache")
            assert r.status == 204 and r.body == b"", "flush: %d %r" % (r.status, r.body)

            def verified_again():
                rid = "after-" + uuid.uuid4().hex[:8]
                r = c.get("/secure/1", {"Authorization": "Bearer " + t, "x-request-id": rid})
                assert r.status == 200, r
                rec = sl.wait_access_log(lambda x: x.get("request_id") == rid)
                return rec.get("auth_cache") == "miss"
            h.wait_for(verified_again, 3 * h.SCALE, 0.1, "a miss after the flush")
        h.error_json(api(sl, "DELETE", "/v1/authorizers/nope/cache"), 404, "unknown authorizer")


def test_metrics_prometheus_text():
    with sluice() as sl:
        r = api(sl, "GET", "/metrics")
        assert r.status == 200, r
        ctype = r.headers.get("content-type", "")
        assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype
        base = requests_by_alias(parse_prometheus(r.body.decode()), "orders")
        versions_served(sl, 7, "/orders/1")
        versions_served(sl, 3, "/beta/1")
        for _ in range(2):
            assert h.http(sl.port, "GET", "/nowhere").status == 404

        def counted():
            fams = parse_prometheus(api(sl, "GET", "/metrics").body.decode())
            got = requests_by_alias(fams, "orders")
            return {a: got.get(a, 0) - base.get(a, 0) for a in ("live", "beta")}
        want = {"live": 7, "beta": 3}
        last = [None]

        def settled():
            last[0] = counted()
            return last[0] == want
        try:
            h.wait_for(settled, 3 * h.SCALE, 0.1, "the requests counted")
        except AssertionError:
            raise AssertionError("requests counted by alias %r, want %r" % (last[0], want))
        assert counted() == want, "more requests counted than sent: %r" % counted()
        h.error_json(api(sl, "GET", "/metrics", token=None), 401, "metrics without a token")


def test_runtime_alias_state_across_restart_and_reload():
    """The rule under test: an alias changed through the admin API keeps
    its runtime state across restarts (state_file) and across reloads that
    leave the config's definition of that alias as it was; once the
    config's definition of that alias changes, the config wins on the next
    reload (source "config" again), and a later restart keeps the config's
    state."""
    state = os.path.join(TMP, "state-%s.json" % uuid.uuid4().hex[:8])
    with sluice(state_file=state) as sl:
        b = h.ok_json(put_alias(sl, {"version": "1", "weights": {"2": 1.0}}), 200, "PUT")
        h.wait_for(lambda: os.path.exists(state), 3 * h.SCALE, 0.05, "the state file")
        with open(state) as f:
            json.load(f)  # written whole (atomically), so always complete JSON

        sl.restart()
        a = alias(sl)
        assert a["version"] == "1" and weights_of(a) == {"2": 1.0}, "lost on restart: %r" % a
        assert a["source"] == "runtime", a
        assert a["generation"] >= b["generation"], "generation went back: %r after %r" % (a, b)
        assert versions_served(sl, 10) == {"2": 10}

        # a reload that leaves live's definition alone keeps the runtime state
        cfg = config(state_file=state, admin_port=sl.admin_port, listen_port=sl.port,
                     extra_routes=[h.route("GET /other/{id}", "orders:beta")])
        sl.write_config(cfg)
        h.ok_json(api(sl, "POST", "/v1/reload"), 200, "unrelated reload")
        a = alias(sl)
        assert weights_of(a) == {"2": 1.0} and a["source"] == "runtime", \
            "an unrelated reload dropped the runtime state: %r" % a
        assert versions_served(sl, 10) == {"2": 10}

        # the config changes live's definition: the config wins
        cfg = config(state_file=state, admin_port=sl.admin_port, listen_port=sl.port,
                     live={"version": "3"},
                     extra_routes=[h.route("GET /other/{id}", "orders:beta")])
        sl.write_config(cfg)
        h.ok_json(api(sl, "POST", "/v1/reload"), 200, "reload changing live")
        a = alias(sl)
        assert a["version"] == "3" and weights_of(a) == {} and a["source"] == "config", \
            "the config's new definition did not win: %r" % a
        assert versions_served(sl, 10) == {"3": 10}

        sl.restart()
        a = alias(sl)
        assert a["version"] == "3" and weights_of(a) == {} and a["source"] == "config", \
            "the old runtime state came back on restart: %r" % a
        assert versions_served(sl, 10) == {"3": 10}


if __name__ == "__main__":
    h.run()
