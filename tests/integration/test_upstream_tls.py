#!/usr/bin/env python3
"""test_upstream_tls.py - https upstreams (http handlers with an https url).

A CA and server certificates are made here with the openssl CLI; the
upstreams are upstream.py behind Python's ssl (upstream_tls.py), run as
their own processes. A certificate under the handler's ca_file is
accepted and the connection kept alive across requests; without a
ca_file (the system store, which does not hold the test CA) or with a
certificate for another name the handshake is refused with 502 and the
reason logged; an unreadable or invalid ca_file fails `sluice -t`."""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = None
GOOD = None   # certificate for 127.0.0.1 and localhost
WRONG = None  # certificate for other.test only
PLAIN = None  # a plain upstream.py
SL = None


def openssl(*args):
    r = subprocess.run(["openssl"] + list(args), cwd=DIR, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    assert r.returncode == 0, "openssl %s: %s" % (" ".join(args), r.stdout.decode(errors="replace"))


def p(name):
    return os.path.join(DIR, name)


def make_cert(name, cn, sans):
    with open(p(name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % ",".join(sans))
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", p(name + ".key"), "-out", p(name + ".csr"), "-subj", "/CN=" + cn)
    openssl("x509", "-req", "-in", p(name + ".csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
            "-CAcreateserial", "-days", "30", "-extfile", p(name + ".ext"),
            "-out", p(name + ".crt"))


class TLSUpstream(h.ServerProcess):
    def __init__(self, name, cert):
        super().__init__("upstream-tls-%s" % name,
                         [sys.executable, os.path.join(HERE, "upstream_tls.py"), "--name", name,
                          "--cert", p(cert + ".crt"), "--key", p(cert + ".key")])

    def stats(self):
        ctx = ssl.create_default_context(cafile=p("ca.crt"))
        ctx.check_hostname = False
        c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10, context=ctx)
        try:
            c.request("GET", "/_stats")
            return json.loads(c.getresponse().read())
        finally:
            c.close()


def fn(url, **handler):
    hd = {"type": "http", "url": url}
    hd.update(handler)
    return {"versions": {"1": {"handler": hd}}}


def config(functions):
    routes = [h.route("ANY /%s/{proxy+}" % name, "%s:1" % name) for name in functions]
    # one worker: one pool, so that keep-alive reuse is visible upstream
    return h.make_config(functions=functions, routes=routes, workers=1)


def setup():
    global DIR, GOOD, WRONG, PLAIN, SL
    if not shutil.which("openssl"):
        raise h.SkipTest("the openssl command is not installed")
    DIR = tempfile.mkdtemp(prefix="sluice-uptls-")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", p("ca.key"), "-out", p("ca.crt"), "-days", "30",
            "-subj", "/CN=sluice upstream test CA")
    make_cert("good", "localhost", ["DNS:localhost", "IP:127.0.0.1"])
    make_cert("wrong", "other.test", ["DNS:other.test"])
    GOOD = TLSUpstream("good", "good")
    WRONG = TLSUpstream("wrong", "wrong")
    PLAIN = h.Upstream("plain")
    SL = h.Sluice(config({
        "ok": fn("https://127.0.0.1:%d/base" % GOOD.port, ca_file=p("ca.crt")),
        "nosys": fn("https://127.0.0.1:%d" % GOOD.port),
        "wrongname": fn("https://127.0.0.1:%d" % WRONG.port, ca_file=p("ca.crt")),
        "plain": fn(PLAIN.url),
    }), name="uptls")


def teardown():
    if DIR and not h.KEEP_TMP:
        shutil.rmtree(DIR, ignore_errors=True)


def test_verified_upstream_answers():
    r = h.http(SL.port, "GET", "/ok/hello?x=1")
    assert r.status == 200, (r.status, r.body)
    echo = json.loads(r.body)
    assert echo["name"] == "good"
    assert echo["path"] == "/base/hello?x=1", echo["path"]
    # Host carries the port: 443 is https's default, not this one
    hosts = [v for k, v in echo["headers"] if k.lower() == "host"]
    assert hosts == ["127.0.0.1:%d" % GOOD.port], hosts


def test_keep_alive_reuse_over_tls():
    before = GOOD.stats()
    for i in range(5):
        r = h.http(SL.port, "POST", "/ok/n%d" % i, body=b"x" * (1000 * i))
        assert r.status == 200, (r.status, r.body)
        assert json.loads(r.body)["body_len"] == 1000 * i
    after = GOOD.stats()
    assert after["requests"] - before["requests"] == 5, (before, after)
    # the connection of the first test is still the one used
    assert after["connections"] == 1, (before, after)


def test_system_store_refuses_test_ca():
    mark = len(SL.stderr_text())
    r = h.http(SL.port, "GET", "/nosys/x")
    assert r.status == 502, (r.status, r.body)
    h.wait_for(lambda: "certificate" in SL.stderr_text()[mark:], 5 * h.SCALE, 0.05,
               "the verification failure in the log")
    log = SL.stderr_text()[mark:]
    assert "unable to get local issuer certificate" in log or "self" in log, log


def test_wrong_name_refused():
    mark = len(SL.stderr_text())
    r = h.http(SL.port, "GET", "/wrongname/x")
    assert r.status == 502, (r.status, r.body)
    h.wait_for(lambda: "mismatch" in SL.stderr_text()[mark:], 5 * h.SCALE, 0.05,
               "the host name mismatch in the log")
    assert WRONG.stats()["requests"] == 0


def test_plain_beside_tls():
    r = h.http(SL.port, "GET", "/plain/x")
    assert r.status == 200 and json.loads(r.body)["name"] == "plain", (r.status, r.body)
    r = h.http(SL.port, "GET", "/ok/x")
    assert r.status == 200, (r.status, r.body)


def check_t(handler, want):
    cfg = config({"f": fn(**handler)})
    path = p("check.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    code, out, err = h.run_sluice(["-t", "-c", path])
    assert code == 1, (code, out, err)
    assert want in out + err, out + err


def test_bad_ca_file_is_config_error():
    url = "https://127.0.0.1:%d" % GOOD.port
    check_t({"url": url, "ca_file": p("missing.pem")}, "cannot read CA file")
    with open(p("junk.pem"), "w") as f:
        f.write("not a certificate\n")
    check_t({"url": url, "ca_file": p("junk.pem")}, "cannot load CA file")
    check_t({"url": "http://127.0.0.1:1", "ca_file": p("ca.crt")}, "needs an https url")
    # the good one passes
    cfg = config({"f": fn(url, ca_file=p("ca.crt"))})
    with open(p("good.json"), "w") as f:
        json.dump(cfg, f)
    code, out, err = h.run_sluice(["-t", "-c", p("good.json")])
    assert code == 0, (code, out, err)


if __name__ == "__main__":
    h.run()
