#!/usr/bin/env python3
"""test_sluicectl.py - sluicectl, the admin API's command-line client,
against a real sluice with an admin listener and a token file: functions,
function and alias get print what the admin API holds (the human tables
name the function, versions, aliases and weights; --json is the API's own
JSON); alias set --weight moves real traffic and --no-weights takes it
back; publish gives a new version number, and the same number with "not
new" for an identical definition; reload (exit 1 naming the problem for a
broken config file, which leaves the running config serving); cache flush
of an unknown authorizer; metrics; health; Ctrl-C while watching a
deployment (130, the deployment goes on).  Then the exit codes: 2 for
usage errors (before any connection), 1 when the server says no (a wrong
or missing token: 401), 3 when nothing listens at the admin URL, 0 for
--help and help CMD.  The token comes from --token-file or
$SLUICE_ADMIN_TOKEN_FILE (the option wins), the URL from --admin or
$SLUICE_ADMIN; no output of any sluicectl run here ever contains a token.

alias set losing the race with another writer (If-Match, 412) is made
deterministic by a small proxy in front of the admin API that writes the
alias itself between sluicectl's read and its PUT."""

import http.client as httpclient
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

TOKEN = "ctl-" + uuid.uuid4().hex  # the server wants at least 16 characters
WRONG_TOKEN = "wrong-" + uuid.uuid4().hex
HS_SECRET = b"sluicectl-test-hs256-secret-0123456789abcdef"
TMP = None
TOKEN_FILE = None
WRONG_TOKEN_FILE = None
UP = {}  # name -> Upstream
SL = None  # the sluice most tests talk to (module fixture)
SECRETS = []  # strings no sluicectl output may contain


def setup():
    global TMP, TOKEN_FILE, WRONG_TOKEN_FILE, SL
    TMP = tempfile.mkdtemp(prefix="sluice-ctl-")
    TOKEN_FILE = os.path.join(TMP, "admin.token")
    with open(TOKEN_FILE, "w") as f:
        f.write("  %s\n" % TOKEN)  # surrounding whitespace is trimmed
    WRONG_TOKEN_FILE = os.path.join(TMP, "wrong.token")
    with open(WRONG_TOKEN_FILE, "w") as f:
        f.write(WRONG_TOKEN + "\n")
    SECRETS.extend([TOKEN, WRONG_TOKEN])
    with open(os.path.join(TMP, "hs.secret"), "wb") as f:
        f.write(HS_SECRET)
    for name in ("v1", "v2", "latest", "pub1", "publatest", "extra"):
        UP[name] = h.Upstream(name)
    SL = h.Sluice(config(), name="ctl")


def teardown():
    if TMP and not h.KEEP_TMP:
        shutil.rmtree(TMP, ignore_errors=True)


# ------------------------------------------------------------------ helpers

# which upstream serves each version of "orders"
UPSTREAM_OF = {"1": "v1", "2": "v2", "$LATEST": "latest"}


def config(admin_port=None, listen_port=None, extra_routes=()):
    functions = {
        # two versions, and "live" already splitting 90/10 between them
        "orders": h.http_function(
            {"1": UP["v1"].url, "2": UP["v2"].url, "$LATEST": UP["latest"].url},
            aliases={"live": {"version": "1", "weights": {"2": 0.1}},
                     "canary": {"version": "1"}, "watch": {"version": "1"}},
            timeout_ms=3000),
        # for publish (its version list grows)
        "pub": h.http_function({"1": UP["pub1"].url, "$LATEST": UP["publatest"].url}),
    }
    routes = [
        h.route("GET /orders/{id}", "orders:live"),
        h.route("GET /canary/{id}", "orders:canary"),
    ] + list(extra_routes)
    authorizers = {"users": {
        "type": "jwt", "issuer": "https://issuer.test/", "audiences": ["api"],
        "keys": [{"kid": "hs-1", "secret_file": os.path.join(TMP, "hs.secret"),
                  "algorithms": ["HS256"]}],
        "identity_source": ["$request.header.Authorization"], "cache_ttl_s": 300}}
    return h.make_config(functions=functions, routes=routes, authorizers=authorizers,
                         listen_port=listen_port,
                         admin=h.admin_config(admin_port, TOKEN_FILE))


def no_secrets(code, out, err, args):
    for s in SECRETS:
        assert s not in out and s not in err, \
            "sluicectl %s printed a token (exit %d):\nstdout:\n%s\nstderr:\n%s" \
            % (" ".join(args), code, out, err)


def run(args, admin_url=None, token_file=None, env=None):
    """h.run_ctl, checking no token shows in the output."""
    code, out, err = h.run_ctl(list(args), admin_url, token_file, env=env)
    no_secrets(code, out, err, args)
    return code, out, err


def ctl(*args, sl=None, token_file=None, env=None):
    """sluicectl against SL (or sl) with the right token file (or token_file)."""
    return run(args, (sl or SL).admin_url, token_file or TOKEN_FILE, env)


def ok(*args, **kw):
    """ctl() that must exit 0 with nothing on stderr; returns stdout."""
    code, out, err = ctl(*args, **kw)
    assert code == 0 and err == "", "sluicectl %s: exit %d\nstdout:\n%s\nstderr:\n%s" \
        % (" ".join(args), code, out, err)
    return out


def refused(*args, want=1, **kw):
    """ctl() that must exit want; returns (stdout, stderr)."""
    code, out, err = ctl(*args, **kw)
    assert code == want, "sluicectl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s" \
        % (" ".join(args), code, want, out, err)
    return out, err


def api(path, method="GET", body=None, sl=None):
    return h.ok_json(h.admin((sl or SL).admin_port, method, path, body, TOKEN), 200,
                     "%s %s" % (method, path))


def alias(name):
    return api("/v1/functions/orders/aliases/" + name)


def weights_of(a):
    return a.get("weights") or {}


def kv_output(text):
    """sluicectl's "key: value" lines as a dict."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+):\s+(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def table(text, header):
    """The rows (lists of cells, split on 2+ spaces) of the table in text
    whose header line starts with header; the header row first."""
    rows = None
    for line in text.splitlines():
        if rows is None:
            if line.startswith(header):
                rows = [re.split(r"\s{2,}", line.strip())]
        elif not line.strip():
            break
        else:
            rows.append(re.split(r"\s{2,}", line.strip()))
    assert rows is not None, "no table %r in:\n%s" % (header, text)
    return rows


def served(n, path):
    """{version: count} over n requests to SL, each a 200 served by the
    upstream of the version its x-sluice-function-version names."""
    seen = {}
    with h.KeepAliveClient(SL.port) as c:
        for _ in range(n):
            r = c.get(path)
            assert r.status == 200, "%s: %d %r" % (path, r.status, r.body[:200])
            v = r.headers.get("x-sluice-function-version")
            assert UPSTREAM_OF.get(v) == r.json()["name"], \
                "version %r served by %r" % (v, r.json()["name"])
            seen[v] = seen.get(v, 0) + 1
    return seen


def dead_url():
    return "http://127.0.0.1:%d" % h.free_port()


# ------------------------------------------------------------------ reading


def test_functions_human_and_json():
    out = ok("functions")
    rows = table(out, "FUNCTION")
    assert rows[0] == ["FUNCTION", "VERSIONS", "ALIASES"], rows
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {"orders", "pub"}, out
    assert by_name["orders"] == ["orders", "1, 2, $LATEST", "canary, live, watch"], out

    code, out, err = ctl("--json", "functions")
    assert code == 0, (code, err)
    assert json.loads(out) == api("/v1/functions"), "--json functions:\n%s" % out
    # --json after the command works the same
    assert json.loads(ok("functions", "--json")) == api("/v1/functions")


def test_function_human_and_json():
    out = ok("function", "orders")
    kv = kv_output(out)
    assert kv["function"] == "orders" and kv["timeout_ms"] == "3000", out
    versions = table(out, "VERSION ")
    assert versions[0] == ["VERSION", "HANDLER", "SETTINGS"], versions
    assert {r[0]: r[1] for r in versions[1:]} == \
        {v: "http " + UP[up].url for v, up in UPSTREAM_OF.items()}, out
    aliases = table(out, "ALIAS ")
    assert aliases[0] == ["ALIAS", "VERSION", "WEIGHTS", "STICKY_BY", "PINS", "GENERATION"], out
    live = [r for r in aliases[1:] if r[0] == "live"]
    assert live and live[0][:5] == ["live", "1", "2=10%", "-", "0"], out
    assert live[0][5] == str(alias("live")["generation"]), out

    assert json.loads(ok("--json", "function", "orders")) == api("/v1/functions/orders")

    out, err = refused("function", "nope")
    assert out == "" and "404" in err and "nope" in err, err


def test_alias_get_human_and_json():
    kv = kv_output(ok("alias", "get", "orders", "live"))
    a = alias("live")
    assert (kv["function"], kv["alias"], kv["version"]) == ("orders", "live", "1"), kv
    assert kv["weights"] == "2=10%" and kv["traffic"] == "1 90%, 2 10%", kv
    assert kv["sticky_by"] == "-" and kv["pins"] == "-", kv
    assert kv["generation"] == str(a["generation"]) and kv["source"] == "config", kv

    assert json.loads(ok("--json", "alias", "get", "orders", "live")) == a

    out, err = refused("alias", "get", "orders", "nope")
    assert out == "" and "404" in err, err


# ------------------------------------------------------------------ writing


def test_alias_set_weight_moves_traffic():
    assert served(20, "/canary/1") == {"1": 20}
    before = alias("canary")
    kv = kv_output(ok("alias", "set", "orders", "canary", "--weight", "2=25%"))
    assert kv["version"] == "1" and kv["weights"] == "2=25%", kv
    assert kv["traffic"] == "1 75%, 2 25%", kv
    a = alias("canary")
    assert a["version"] == "1" and weights_of(a) == {"2": 0.25}, a
    assert a["generation"] == before["generation"] + 1 and a["source"] == "runtime", a
    kv = kv_output(ok("alias", "get", "orders", "canary"))
    assert kv["weights"] == "2=25%" and kv["generation"] == str(a["generation"]), kv

    # 400 requests at 25%: the mean is 100, sd ~8.7
    split = served(400, "/canary/1")
    assert set(split) == {"1", "2"} and 50 <= split["2"] <= 150, \
        "25%% on version 2, got %r" % split
    assert served(10, "/orders/1").keys() <= {"1", "2"}  # another alias: untouched
    assert weights_of(alias("live")) == {"2": 0.1}, "alias set changed another alias"

    # --no-weights: everything back on the primary
    kv = kv_output(ok("alias", "set", "orders", "canary", "--no-weights"))
    assert kv["weights"] == "-" and kv["traffic"] == "1 100%", kv
    a = alias("canary")
    assert a["version"] == "1" and weights_of(a) == {}, a
    assert served(30, "/canary/1") == {"1": 30}

    # --no-weights first, then the --weight given; --json prints the PUT's answer
    code, out, err = ctl("--json", "alias", "set", "orders", "canary", "--weight", "2=0.5",
                         "--no-weights")
    assert code == 0, (code, out, err)
    b = json.loads(out)
    assert weights_of(b) == {"2": 0.5} and b == alias("canary"), (b, alias("canary"))
    kv = kv_output(ok("alias", "set", "orders", "canary", "--weight", "2=0"))  # 0 removes
    assert kv["weights"] == "-" and weights_of(alias("canary")) == {}, kv


def test_alias_set_refused():
    g = alias("canary")["generation"]
    out, err = refused("alias", "set", "orders", "canary", "--weight", "9=10%")
    assert "400" in err, "unknown version: %r" % err
    out, err = refused("alias", "set", "orders", "nope", "--weight", "2=10%")
    assert "404" in err, "unknown alias: %r" % err
    for bad in (["--weight", "2=150%"], ["--weight", "2"], ["--weight", "2=x"],
                ["--sticky-by", "$request.ip", "--no-sticky"], []):
        out, err = refused("alias", "set", "orders", "canary", *bad, want=2)
        assert "usage: sluicectl alias set" in err, "%r: %r" % (bad, err)
    assert alias("canary")["generation"] == g, "a refused alias set changed the alias"


class InterferingProxy:
    """Forwards the admin API of sl; before forwarding a PUT it PUTs
    interfere (a body) to the same path itself, so the PUT it forwards is
    stale.  Records (path, If-Match) of each PUT."""

    def __init__(self, sl, interfere):
        proxy = self
        self.if_match = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                if self.command == "PUT":
                    proxy.if_match.append((self.path, self.headers.get("If-Match")))
                    h.ok_json(h.admin(sl.admin_port, "PUT", self.path, interfere, TOKEN), 200,
                              "the interfering PUT")
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() in ("authorization", "if-match", "content-type")}
                c = httpclient.HTTPConnection("127.0.0.1", sl.admin_port, timeout=10)
                try:
                    c.request(self.command, self.path, body=body, headers=hdrs)
                    r = c.getresponse()
                    data = r.read()
                finally:
                    c.close()
                self.send_response(r.status)
                self.send_header("Content-Type", r.getheader("Content-Type", "text/plain"))
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.server.shutdown()
        self.server.server_close()
        return False


def test_alias_set_stale_write_refused():
    path = "/v1/functions/orders/aliases/canary"
    g = alias("canary")["generation"]
    theirs = {"version": "1", "weights": {"2": 0.05}}
    with InterferingProxy(SL, theirs) as proxy:
        code, out, err = run(["alias", "set", "orders", "canary", "--weight", "2=40%"],
                             proxy.url, TOKEN_FILE)
    assert proxy.if_match == [(path, str(g))], \
        "PUTs (path, If-Match) %r, want one with the generation read, %d" % (proxy.if_match, g)
    assert code == 1 and out == "", (code, out, err)
    assert "orders:canary was changed by someone else" in err and "nothing was written" in err \
        and "now %d" % (g + 1) in err, err
    a = alias("canary")
    assert weights_of(a) == {"2": 0.05} and a["generation"] == g + 1, \
        "the stale write went through: %r" % a
    # read again and retry: goes through
    kv = kv_output(ok("alias", "set", "orders", "canary", "--weight", "2=0"))
    assert kv["weights"] == "-" and alias("canary")["generation"] == g + 2, kv


def test_publish_new_then_not_new():
    before = set(api("/v1/functions/pub")["versions"])
    n = max(int(v) for v in before if v.isdigit()) + 1
    out = ok("publish", "pub")  # $LATEST
    assert out == "published pub version %d (new)\n" % n, out
    f = api("/v1/functions/pub")
    assert set(f["versions"]) == before | {str(n)}, f["versions"]
    assert f["versions"][str(n)]["handler"]["url"] == UP["publatest"].url, f["versions"]

    out = ok("publish", "pub")
    assert out == "pub version %d: already published with this definition (not new)\n" % n, out
    assert set(api("/v1/functions/pub")["versions"]) == before | {str(n)}, "published twice"

    # --json: the admin API's answer to the POST
    assert json.loads(ok("--json", "publish", "pub")) == {"version": str(n), "created": False}

    path = os.path.join(TMP, "def-%s.json" % uuid.uuid4().hex[:8])
    with open(path, "w") as f:
        json.dump({"handler": {"type": "http", "url": UP["extra"].url}, "timeout_ms": 1500}, f)
    out = ok("publish", "pub", "--file", path)
    assert out == "published pub version %d (new)\n" % (n + 1), out
    v = api("/v1/functions/pub")["versions"][str(n + 1)]
    assert v["handler"]["url"] == UP["extra"].url and v["timeout_ms"] == 1500, v
    out = ok("publish", "pub", "--file", path)
    assert "version %d" % (n + 1) in out and "(not new)" in out, out

    out, err = refused("publish", "nope")
    assert "404" in err, err


# ------------------------------------------------------------------ the gateway


def test_reload_good_and_broken():
    with h.Sluice(config(), name="ctl-reload") as sl:
        cfg = config(admin_port=sl.admin_port, listen_port=sl.port,
                     extra_routes=[h.route("GET /new/{id}", "orders:canary")])
        assert h.http(sl.port, "GET", "/new/1").status == 404
        sl.write_config(cfg)
        out = ok("reload", sl=sl)
        assert out == "reloaded: %d routes, %d functions\n" \
            % (len(cfg["routes"]), len(cfg["functions"])), out
        assert h.http(sl.port, "GET", "/new/1").status == 200, "the reload did not happen"

        bad = json.loads(json.dumps(cfg))
        bad["routes"].append(h.route("GET /broken/{id}", "nosuchfunction:live"))
        text, spans = sl.config_text(bad)
        sl.write_config(text=text)
        out, err = refused("reload", sl=sl)
        line = spans[("routes", len(bad["routes"]) - 1, "target")][0]
        assert out == "" and "400" in err, err
        assert re.search(r"sluice\.json:%d: routes(\[|\.)%d" % (line, len(bad["routes"]) - 1),
                         err) and "nosuchfunction" in err, \
            "want the error at sluice.json:%d naming nosuchfunction:\n%s" % (line, err)
        assert "the running config keeps serving" in err, err
        code, out, err = ctl("--json", "reload", sl=sl)
        assert code == 1 and json.loads(out)["errors"], (code, out, err)

        # the good config still serves
        assert sl.alive()
        assert h.http(sl.port, "GET", "/new/1").status == 200
        assert h.http(sl.port, "GET", "/broken/1").status == 404

        sl.write_config(text="{ not json\n")
        out, err = refused("reload", sl=sl)
        assert "sluice.json:1" in err, err
        assert h.http(sl.port, "GET", "/new/1").status == 200


def test_cache_flush():
    out, err = refused("cache", "flush", "nope")
    assert out == "" and "404" in err and "nope" in err, err
    assert ok("cache", "flush", "users") == "flushed the result cache of authorizer users\n"


def test_metrics_and_health():
    assert served(3, "/orders/1")

    def orders_counted():
        out = ok("metrics")
        samples = [ln for ln in out.splitlines()
                   if ln.startswith("sluice_requests_total{") and 'function="orders"' in ln]
        return (out, samples) if samples else None
    out, samples = h.wait_for(orders_counted, 3 * h.SCALE, 0.1,
                              "sluice_requests_total for orders in sluicectl metrics")
    assert "# TYPE sluice_requests_total counter" in out, out[:500]
    assert sum(float(s.rsplit(" ", 1)[1]) for s in samples) >= 3, samples

    assert ok("health") == "%s: ok\n" % SL.admin_url
    code, out, err = run(["health"], SL.admin_url)  # needs no token
    assert (code, out) == (0, "%s: ok\n" % SL.admin_url), (code, out, err)
    assert json.loads(ok("--json", "health")) == {"status": "ok"}


# ------------------------------------------------------------------ exit codes


def test_ctrl_c_while_watching_exit_130():
    d = h.ok_json(h.admin(SL.admin_port, "POST", "/v1/deployments",
                          {"function": "orders", "alias": "watch", "target_version": "2",
                           "strategy": "Canary10Percent10Minutes"}, TOKEN), 201, "deployment")
    argv = [h.SLUICE_CTL, "--admin", SL.admin_url, "--token-file", TOKEN_FILE,
            "deploy", "status", d["id"], "--watch"]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(iter(p.stdout.readline, b"")),
                              daemon=True)
    reader.start()
    try:
        # a progress line: it is watching (and has its Ctrl-C handler)
        h.wait_for(lambda: any(b" weights " in x for x in list(lines)), 5 * h.SCALE, 0.05,
                   "a progress line from deploy status --watch")
        p.send_signal(signal.SIGINT)
        code = p.wait(5 * h.SCALE)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    reader.join(5)
    err = p.stderr.read().decode("utf-8", "replace")
    p.stderr.close()
    p.stdout.close()
    out = b"".join(lines).decode("utf-8", "replace")
    no_secrets(code, out, err, argv[1:])
    assert code == 130, "exit %d after Ctrl-C, want 130:\n%s\n%s" % (code, out, err)
    assert "stopped watching; deployment %s goes on" % d["id"] in err, err
    now = api("/v1/deployments/" + d["id"])
    assert now["state"] in ("pending", "shifting"), "Ctrl-C stopped the deployment: %r" % now
    out = ok("deploy", "rollback", d["id"])
    assert api("/v1/deployments/" + d["id"])["state"] == "rolled_back", out
    a = alias("watch")
    assert a["version"] == "1" and weights_of(a) == {}, a



def test_help_exit_0():
    # help needs no server: the admin URL points at nothing
    url = dead_url()
    code, out, err = run(["--help"], url)
    assert code == 0 and err == "" and out.startswith("usage: sluicectl"), (code, out, err)
    for cmd in ("functions", "function FN", "alias get FN ALIAS", "alias set FN ALIAS",
                "publish FN", "reload", "cache flush AUTHORIZER", "metrics", "health"):
        assert "\n  " + cmd in out, "--help does not list %r" % cmd
    assert "SLUICE_ADMIN_TOKEN_FILE" in out and "exit codes" in out, out
    for args, want in [(["help", "alias", "set"], "--no-weights"),
                       (["help", "publish"], "(\"not new\")"),
                       (["help", "reload"], "exit code 1"),
                       (["help", "alias"], "usage: sluicectl [--admin URL] [--token-file F] "
                                           "alias get FN ALIAS"),
                       (["functions", "--help"], "usage: sluicectl"),
                       (["--version"], "sluicectl ")]:
        code, out, err = run(args, url)
        assert code == 0 and want in out and err == "", (args, code, out, err)
    # a command's --help needs neither a good admin URL nor a token file
    for globals_ in (["--admin", "https://127.0.0.1:1"],
                     ["--token-file", os.path.join(TMP, "no-such.token")]):
        code, out, err = run(globals_ + ["functions", "--help"])
        assert code == 0 and out.startswith("usage: sluicectl") and err == "", \
            (globals_, code, out, err)
    assert "functions \n" not in out, "trailing space after a command without arguments"


def test_output_that_cannot_be_written_is_not_done():
    # help and --version too: a full disk must not pass as exit 0
    for args in (["--help"], ["help", "functions"], ["--version"], ["functions", "--help"]):
        with open("/dev/full", "w") as full:
            p = subprocess.run([h.SLUICE_CTL] + args, stdout=full, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, timeout=30 * h.SCALE)
        err = p.stderr.decode()
        assert p.returncode == 1 and "cannot write the output" in err, (args, p.returncode, err)


def test_usage_errors_exit_2():
    # every one is found before connecting: the admin URL points at nothing
    url = dead_url()
    # (args, what stderr must say, and then: "usage" the command's usage
    # line, "help" the pointer to --help, None neither)
    cases = [
        (["no-such-command"], "no command no-such-command", "help"),
        ([], "no command given", "help"),
        (["help", "no-such-command"], "no command no-such-command", "help"),
        (["alias"], "alias wants one of: get, set", "help"),
        (["help", "alias", "nope"], "alias wants one of: get, set", "help"),
        (["function", ""], "an empty name was given", None),
        (["alias", "get", "orders", ""], "an empty name was given", None),
        (["alias", "get", "orders"], "missing argument", "usage"),
        (["function"], "missing argument", "usage"),
        (["cache", "flush"], "missing argument", "usage"),
        (["functions", "extra"], "unexpected argument extra", "usage"),
        (["functions", "--bogus"], "unknown option --bogus", "usage"),
        (["alias", "get", "orders", "live", "--bogus"], "unknown option --bogus", "usage"),
        (["--bogus", "functions"], "unknown option --bogus", "help"),
        (["alias", "set", "orders", "live"], "nothing to change", "usage"),
        (["publish", "pub", "--file"], "--file needs a value", "usage"),
        (["publish", "pub", "--file", os.path.join(TMP, "no-such-def.json")], "no-such-def",
         "usage"),
        (["--admin"], "--admin needs a value", "help"),
        (["--admin", "https://127.0.0.1:1", "health"], "https is not supported", None),
        (["--admin", "http://127.0.0.1:99999", "health"], "bad admin URL", None),
        (["--token-file", os.path.join(TMP, "no-such.token"), "functions"], "no-such.token",
         None),
    ]
    for args, want, hint in cases:
        what = "sluicectl " + " ".join(args)
        code, out, err = run(args, url)
        assert code == 2, "%s: exit %d, want 2: %r" % (what, code, err)
        assert out == "" and err.startswith("sluicectl: ") and want in err, \
            "%s: stderr %r, want %r" % (what, err, want)
        if hint == "usage":
            cmd = " ".join(args[:2]) if args[0] in ("alias", "cache") else args[0]
            assert re.search(r"^usage: sluicectl %s( |$)" % re.escape(cmd), err, re.M), \
                "%s: no usage line for %r in %r" % (what, cmd, err)
        elif hint == "help":
            assert "(sluicectl --help lists the commands)" in err, "%s: %r" % (what, err)


def test_token_wrong_missing_and_never_printed():
    out, err = refused("functions", token_file=WRONG_TOKEN_FILE)
    assert out == "" and "401" in err and "refused" in err, err
    code, out, err = run(["alias", "get", "orders", "live"], SL.admin_url)  # no token at all
    assert code == 1 and "401" in err and "--token-file" in err, (code, out, err)
    code, out, err = run(["--json", "metrics"], SL.admin_url, WRONG_TOKEN_FILE)
    assert code == 1 and "401" in err, (code, out, err)

    # a token file that is empty, or has a space inside: usage errors that
    # do not print what the file holds
    empty = os.path.join(TMP, "empty.token")
    with open(empty, "w") as f:
        f.write(" \n")
    code, out, err = run(["functions"], SL.admin_url, empty)
    assert code == 2 and "empty" in err, (code, err)
    halves = ("half-" + uuid.uuid4().hex, "other-" + uuid.uuid4().hex)
    SECRETS.extend(halves)
    spaced = os.path.join(TMP, "spaced.token")
    with open(spaced, "w") as f:
        f.write("%s %s\n" % halves)
    code, out, err = run(["functions"], SL.admin_url, spaced)
    assert code == 2 and "space" in err, (code, err)


def test_token_and_admin_from_env_and_options():
    good = {"SLUICE_ADMIN": SL.admin_url, "SLUICE_ADMIN_TOKEN_FILE": TOKEN_FILE}
    want = ok("functions")
    code, out, err = run(["functions"], env=good)
    assert (code, out) == (0, want), (code, out, err)
    # --token-file wins over $SLUICE_ADMIN_TOKEN_FILE, either way round
    code, out, err = run(["functions"], token_file=TOKEN_FILE,
                         env=dict(good, SLUICE_ADMIN_TOKEN_FILE=WRONG_TOKEN_FILE))
    assert (code, out) == (0, want), (code, out, err)
    code, out, err = run(["functions"], token_file=WRONG_TOKEN_FILE, env=good)
    assert code == 1 and "401" in err, (code, out, err)
    # --admin wins over $SLUICE_ADMIN
    code, out, err = run(["functions"], SL.admin_url, env=dict(good, SLUICE_ADMIN=dead_url()))
    assert (code, out) == (0, want), (code, out, err)
    code, out, err = run(["functions"], dead_url(), env=good)
    assert code == 3, (code, out, err)
    # --name=VALUE works like --name VALUE
    code, out, err = run(["--admin=" + SL.admin_url, "--token-file=" + TOKEN_FILE, "functions"])
    assert (code, out) == (0, want), (code, out, err)


def test_unreachable_exit_3():
    url = dead_url()
    for args in (["health"], ["functions"], ["alias", "get", "orders", "live"],
                 ["alias", "set", "orders", "live", "--weight", "2=0.2"], ["publish", "pub"],
                 ["reload"], ["metrics"]):
        code, out, err = run(args, url, TOKEN_FILE)
        assert code == 3 and out == "", "sluicectl %s: exit %d, %r" % (" ".join(args), code, err)
        assert "cannot reach the admin API at %s: connection refused" % url in err, err
    code, out, err = run(["functions"], env={"SLUICE_ADMIN": url,
                                             "SLUICE_ADMIN_TOKEN_FILE": TOKEN_FILE})
    assert code == 3 and url in err, (code, err)


if __name__ == "__main__":
    h.run()
