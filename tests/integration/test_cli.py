#!/usr/bin/env python3
"""test_cli.py - sluice's command line: --help, --version, config checking
with -t (errors as "FILE:LINE: PATH: MESSAGE", every error at once) and a
bad config refusing to start."""

import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

TMP = None
ERROR_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<path>[^ ]*): (?P<msg>.*\S.*)$")


def setup():
    global TMP
    TMP = tempfile.mkdtemp(prefix="sluice-cli-")


def teardown():
    if TMP and not h.KEEP_TMP:
        shutil.rmtree(TMP, ignore_errors=True)


def good_config():
    """A complete, valid config (nothing needs to listen: -t only checks)."""
    return {
        "listen": [{"address": "127.0.0.1:%d" % h.free_port()}],
        "workers": 2,
        "limits": {"max_header_bytes": 16384, "max_body_bytes": 1048576,
                   "header_timeout_ms": 10000, "idle_timeout_ms": 60000,
                   "max_connections": 1000},
        "log": {"access": "stdout", "error": "stderr", "level": "info"},
        "functions": {
            "orders": {
                "timeout_ms": 3000,
                "memory_mb": 128,
                "versions": {
                    "1": {"handler": {"type": "http", "url": "http://127.0.0.1:9001"}},
                    "2": {"handler": {"type": "http", "url": "http://127.0.0.1:9002/v2"}},
                    "3": {"handler": {"type": "http", "url": "http://127.0.0.1:9003"},
                          "timeout_ms": 1000},
                    "$LATEST": {"handler": {"type": "http", "url": "http://127.0.0.1:9004"}},
                },
                "aliases": {
                    "live": {"version": "1", "weights": {"2": 0.1}},
                    "beta": {"version": "2"},
                },
            },
            "users": {
                "versions": {"1": {"handler": {"type": "http", "url": "http://127.0.0.1:9005"}}},
            },
        },
        "routes": [
            {"route": "GET /orders/{id}", "target": "orders:live", "timeout_ms": 1000},
            {"route": "ANY /orders/{proxy+}", "target": "orders:2"},
            {"route": "POST /orders", "target": "orders:$LATEST"},
            {"route": "GET /users/{id}/profile", "target": "users:1"},
        ],
    }


def write(name, cfg):
    """Writes cfg (indent 2); returns (path, spans)."""
    text, spans = h.dumps_with_lines(cfg)
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path, spans


def errors_in(output, path):
    """The "FILE:LINE: PATH: MESSAGE" lines about the file at path."""
    out = []
    for line in output.splitlines():
        m = ERROR_RE.match(line.strip())
        if not m:
            continue
        f = m.group("file")
        if f == path or os.path.basename(f) == os.path.basename(path):
            out.append((int(m.group("line")), m.group("path"), m.group("msg"), line))
    return out


def check_bad(name, mutate, expect_paths, max_errors=1):
    """Writes the good config changed by mutate(cfg), runs -t on it, and
    checks: exit 1, 1..max_errors error lines, one of them at one of expect_paths
    (tuples; the first is the preferred one) with a line inside that
    element's span in the file."""
    cfg = good_config()
    mutate(cfg)
    path, spans = write(name, cfg)
    t0 = time.monotonic()
    code, out, err = h.run_sluice(["-t", "-c", path])
    both = out + err
    assert code == 1, "exit %d (want 1) for %s; output:\n%s" % (code, name, both)
    assert time.monotonic() - t0 < 5 * h.SCALE, "-t took too long"
    errs = errors_in(both, path)
    assert 1 <= len(errs) <= max_errors, \
        "want 1..%d error line(s) 'FILE:LINE: PATH: MESSAGE', got %d:\n%s" \
        % (max_errors, len(errs), both)
    wanted = {h.normalize_config_path(h.config_path_str(p)): p for p in expect_paths}
    for line, epath, msg, text in errs:
        p = wanted.get(h.normalize_config_path(epath))
        if p is None:
            continue
        first, last = spans[p]
        assert first <= line <= last, "%s: line %d, but %s is on line(s) %d..%d:\n%s" \
            % (name, line, h.config_path_str(p), first, last, text)
        return errs
    raise AssertionError("%s: no error at %s; got:\n%s" % (
        name, " or ".join(h.config_path_str(p) for p in expect_paths), both))


# ------------------------------------------------------------------ tests


def test_help():
    code, out, err = h.run_sluice(["--help"])
    assert code == 0, "--help exit %d: %s" % (code, out + err)
    assert re.search(r"(^|\s)-c\b", out), "--help (stdout) does not mention -c:\n" + out
    assert re.search(r"(^|\s)-t\b", out), "--help (stdout) does not mention -t:\n" + out


def test_version():
    code, out, err = h.run_sluice(["--version"])
    assert code == 0, "--version exit %d: %s" % (code, out + err)
    first = out.strip().splitlines()[0] if out.strip() else ""
    m = re.match(r"^sluice (\S+)", first)
    assert m, "--version printed %r, want 'sluice VERSION'" % out
    ac = os.path.join(h.SRCDIR, "configure.ac")
    if os.path.exists(ac):
        with open(ac) as f:
            am = re.search(r"AC_INIT\(\[sluice\],\s*\[([^\]]+)\]", f.read())
        if am:
            assert m.group(1) == am.group(1), "version %r, configure.ac says %r" \
                % (m.group(1), am.group(1))


def test_unknown_option_fails():
    code, out, err = h.run_sluice(["--no-such-option"])
    assert code != 0, "an unknown option must fail"


def test_check_good_config():
    path, _ = write("good.json", good_config())
    code, out, err = h.run_sluice(["-t", "-c", path])
    assert code == 0, "-t on a good config: exit %d:\n%s" % (code, out + err)
    assert not errors_in(out + err, path), "errors printed for a good config:\n" + out + err


def test_check_minimal_config():
    cfg = {"listen": [{"address": "127.0.0.1:%d" % h.free_port()}], "functions": {},
           "routes": []}
    path, _ = write("minimal.json", cfg)
    code, out, err = h.run_sluice(["-t", "-c", path])
    assert code == 0, "-t on a minimal config: exit %d:\n%s" % (code, out + err)


def test_unknown_key():
    def m(c):
        c["limits"]["max_header_byte"] = 100
    check_bad("unknown_key.json", m, [("limits", "max_header_byte")])


def test_unknown_key_top_level():
    def m(c):
        c["routs"] = []
    check_bad("unknown_top.json", m, [("routs",)])


def test_unknown_key_in_route():
    def m(c):
        c["routes"][2]["timeout"] = 5
    check_bad("unknown_route_key.json", m, [("routes", 2, "timeout")])


def test_unknown_key_in_handler():
    def m(c):
        c["functions"]["orders"]["versions"]["2"]["handler"]["uri"] = "http://x"
    check_bad("unknown_handler_key.json", m,
              [("functions", "orders", "versions", "2", "handler", "uri")])


def test_wrong_type_workers():
    def m(c):
        c["workers"] = "two"
    check_bad("wrong_type.json", m, [("workers",)])


def test_wrong_type_timeout():
    def m(c):
        c["functions"]["orders"]["timeout_ms"] = "3000"
    check_bad("wrong_type_timeout.json", m, [("functions", "orders", "timeout_ms")])


def test_dangling_target_function():
    def m(c):
        c["routes"][0]["target"] = "nosuch:live"
    check_bad("dangling_fn.json", m, [("routes", 0, "target")])


def test_dangling_target_alias():
    def m(c):
        c["routes"][0]["target"] = "orders:nosuch"
    check_bad("dangling_alias.json", m, [("routes", 0, "target")])


def test_dangling_target_version():
    def m(c):
        c["routes"][3]["target"] = "users:9"
    check_bad("dangling_version.json", m, [("routes", 3, "target")])


def test_alias_primary_unknown_version():
    def m(c):
        c["functions"]["orders"]["aliases"]["beta"]["version"] = "7"
    check_bad("alias_primary.json", m, [("functions", "orders", "aliases", "beta", "version")])


def test_unknown_version_in_weights():
    def m(c):
        c["functions"]["orders"]["aliases"]["live"]["weights"] = {"9": 0.1}
    check_bad("weights_unknown.json", m,
              [("functions", "orders", "aliases", "live", "weights", "9")])


def test_weight_above_one():
    def m(c):
        c["functions"]["orders"]["aliases"]["live"]["weights"] = {"2": 1.5}
    # the sum is over 1 too: a second error about it is fair
    check_bad("weight_big.json", m, [("functions", "orders", "aliases", "live", "weights", "2")],
              max_errors=2)


def test_weight_negative():
    def m(c):
        c["functions"]["orders"]["aliases"]["live"]["weights"] = {"2": -0.1}
    check_bad("weight_neg.json", m, [("functions", "orders", "aliases", "live", "weights", "2")])


def test_weights_sum_above_one():
    def m(c):
        c["functions"]["orders"]["aliases"]["live"]["weights"] = {"2": 0.6, "3": 0.6}
    base = ("functions", "orders", "aliases", "live")
    check_bad("weight_sum.json", m, [base + ("weights",), base, base + ("weights", "3"),
                                     base + ("weights", "2")])


def test_latest_weighted():
    def m(c):
        c["functions"]["orders"]["aliases"]["live"]["weights"] = {"$LATEST": 0.1}
    check_bad("weight_latest.json", m,
              [("functions", "orders", "aliases", "live", "weights", "$LATEST")])


def test_duplicate_route():
    def m(c):
        c["routes"].append({"route": "GET /orders/{oid}", "target": "orders:1"})
    check_bad("dup_route.json", m, [("routes", 4, "route"), ("routes", 4)])


def test_duplicate_route_same_text():
    def m(c):
        c["routes"].insert(1, {"route": "GET /orders/{id}", "target": "orders:2"})
    check_bad("dup_route2.json", m, [("routes", 1, "route"), ("routes", 1)])


def test_malformed_route_unclosed_brace():
    def m(c):
        c["routes"][0]["route"] = "GET /orders/{id"
    check_bad("bad_tmpl1.json", m, [("routes", 0, "route")])


def test_malformed_route_greedy_not_last():
    def m(c):
        c["routes"][1]["route"] = "ANY /orders/{proxy+}/tail"
    check_bad("bad_tmpl2.json", m, [("routes", 1, "route")])


def test_malformed_route_no_slash():
    def m(c):
        c["routes"][2]["route"] = "POST orders"
    check_bad("bad_tmpl3.json", m, [("routes", 2, "route")])


def test_malformed_route_partial_segment():
    def m(c):
        c["routes"][3]["route"] = "GET /users/x{id}/profile"
    check_bad("bad_tmpl4.json", m, [("routes", 3, "route")])


def test_missing_file():
    path = os.path.join(TMP, "does-not-exist.json")
    code, out, err = h.run_sluice(["-t", "-c", path])
    assert code == 1, "exit %d for a missing file (want 1):\n%s" % (code, out + err)
    assert "does-not-exist.json" in out + err, "the missing file is not named:\n" + out + err


def test_json_syntax_error_line():
    text, _ = h.dumps_with_lines(good_config())
    lines = text.split("\n")
    i = next(k for k, line in enumerate(lines) if line.startswith('  "workers"'))
    lines[i] = '  "workers": two,'
    path = os.path.join(TMP, "syntax.json")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    code, out, err = h.run_sluice(["-t", "-c", path])
    assert code == 1, "exit %d for bad JSON:\n%s" % (code, out + err)
    want = "%s:%d:" % (path, i + 1)
    assert any(line.strip().startswith(want) or
               line.strip().startswith("syntax.json:%d:" % (i + 1))
               for line in (out + err).splitlines()), \
        "no error at %s (line of the bad token):\n%s" % (want, out + err)


def test_three_errors_all_reported():
    def m(c):
        c["bogus"] = 1
        c["limits"]["max_body_bytes"] = "big"
        c["routes"][1]["target"] = "ghost:1"
    cfg = good_config()
    m(cfg)
    path, spans = write("three.json", cfg)
    code, out, err = h.run_sluice(["-t", "-c", path])
    assert code == 1, "exit %d:\n%s" % (code, out + err)
    errs = errors_in(out + err, path)
    got = {h.normalize_config_path(p): line for line, p, _, _ in errs}
    assert len(errs) == 3, "want exactly 3 errors, got %d:\n%s" % (len(errs), out + err)
    for p in [("bogus",), ("limits", "max_body_bytes"), ("routes", 1, "target")]:
        key = h.normalize_config_path(h.config_path_str(p))
        assert key in got, "error at %s not reported:\n%s" % (h.config_path_str(p), out + err)
        first, last = spans[p]
        assert first <= got[key] <= last, "%s reported on line %d, it is on %d" \
            % (key, got[key], first)


def test_run_with_bad_config_refuses_to_start():
    cfg = good_config()
    cfg["routes"][0]["target"] = "nosuch:live"
    path, spans = write("run_bad.json", cfg)
    port = h.Sluice.listen_port(cfg)
    t0 = time.monotonic()
    code, out, err = h.run_sluice(["-c", path], timeout=10)
    assert code != 0, "sluice -c with a bad config exited 0"
    assert time.monotonic() - t0 < 5 * h.SCALE, "refusing a bad config took too long"
    errs = errors_in(out + err, path)
    assert any(h.normalize_config_path(p) == "routes.0.target" and
               line == spans[("routes", 0, "target")][0] for line, p, _, _ in errs), \
        "the error is not printed as FILE:LINE: routes[0].target: ...:\n" + out + err
    assert not h.port_accepts(port), "something listens on the port of a refused config"


def test_check_does_not_listen():
    cfg = good_config()
    path, _ = write("nolisten.json", cfg)
    port = h.Sluice.listen_port(cfg)
    code, out, err = h.run_sluice(["-t", "-c", path])
    assert code == 0, out + err
    assert not h.port_accepts(port), "-t left something listening"


if __name__ == "__main__":
    h.run()
