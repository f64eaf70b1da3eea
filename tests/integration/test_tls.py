#!/usr/bin/env python3
"""test_tls.py - the TLS front end (listen[].tls).

Certificates are made here with the openssl CLI: a CA, a default server
certificate, one for a.example and one for *.b.example (chosen by SNI),
one for the reload, and bad ones (expired, a key that does not match).
Requests go over TLS with Python's ssl module, verified against the CA.
The framing attacks of test_framing.py run through the TLS listener too
(the same cases, sent over TLS), TLS 1.0/1.1 are refused, ALPN answers
http/1.1 only, SIGHUP brings new certificates to new connections, and
keep-alive and pipelining work over TLS."""

import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import test_framing as tf  # noqa: E402

# TLS 1.0/1.1 are named on purpose, to check that they are refused
warnings.filterwarnings("ignore", category=DeprecationWarning)

UP = None
SL = None
DIR = None
CFG = None


def openssl(*args):
    r = subprocess.run(["openssl"] + list(args), cwd=DIR, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    assert r.returncode == 0, "openssl %s: %s" % (" ".join(args), r.stdout.decode(errors="replace"))


def p(name):
    return os.path.join(DIR, name)


def make_cert(name, cn, sans, expired=False):
    """name.key and name.crt, signed by the CA, for cn with DNS/IP sans."""
    ext = p(name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % ",".join(sans))
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", p(name + ".key"), "-out", p(name + ".csr"), "-subj", "/CN=" + cn)
    if not expired:
        openssl("x509", "-req", "-in", p(name + ".csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"),
                "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", p(name + ".crt"))
        return
    # an expired certificate needs explicit dates: openssl ca takes them
    with open(p("ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca = d\n[d]\ndatabase = %s\nnew_certs_dir = %s\n"
                "serial = %s\ndefault_md = sha256\npolicy = pol\nunique_subject = no\n"
                "[pol]\ncommonName = supplied\n" % (p("index.txt"), DIR, p("serial")))
    open(p("index.txt"), "w").close()
    with open(p("serial"), "w") as f:
        f.write("1000\n")
    openssl("ca", "-batch", "-config", p("ca.cnf"), "-cert", p("ca.crt"), "-keyfile", p("ca.key"),
            "-in", p(name + ".csr"), "-out", p(name + ".crt"), "-notext",
            "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-extfile", ext)


def tls_listen(default="server", sni=True):
    t = {"cert": p(default + ".crt"), "key": p(default + ".key")}
    if sni:
        t["sni"] = [{"names": ["a.example"], "cert": p("a.crt"), "key": p("a.key")},
                    {"names": ["*.b.example"], "cert": p("b.crt"), "key": p("b.key")}]
    return t


def setup():
    global UP, SL, DIR, CFG
    if not shutil.which("openssl"):
        raise h.SkipTest("the openssl command is not installed")
    DIR = tempfile.mkdtemp(prefix="sluice-tls-")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", p("ca.key"), "-out", p("ca.crt"), "-days", "30",
            "-subj", "/CN=sluice test CA")
    make_cert("server", "default.test", ["DNS:default.test", "DNS:localhost", "IP:127.0.0.1"])
    make_cert("a", "a.example", ["DNS:a.example"])
    make_cert("b", "wild.b.example", ["DNS:*.b.example"])
    make_cert("reloaded", "reloaded.test", ["DNS:reloaded.test", "IP:127.0.0.1"])
    make_cert("expired", "expired.test", ["DNS:expired.test"], expired=True)
    UP = h.Upstream("up")
    functions = {"echo": h.http_function({"1": UP.url})}
    routes = [h.route("ANY /e/{proxy+}", "echo:1"), h.route("ANY /api/{proxy+}", "echo:1")]
    CFG = h.make_config(functions=functions, routes=routes, limits=tf.LIMITS)
    CFG["listen"][0]["tls"] = tls_listen()
    SL = h.Sluice(CFG, name="tls")


def teardown():
    if DIR and not h.KEEP_TMP:
        shutil.rmtree(DIR, ignore_errors=True)


def client_ctx(alpn=None):
    ctx = ssl.create_default_context(cafile=p("ca.crt"))
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def connect(name=None, ctx=None, timeout=5.0):
    """A verified TLS socket to the listener; name is the SNI (and the name
    checked), None to connect by address without SNI."""
    ctx = ctx or client_ctx()
    if name is None:
        ctx.check_hostname = False
    raw = socket.create_connection(("127.0.0.1", SL.port), timeout=timeout * h.SCALE)
    try:
        return ctx.wrap_socket(raw, server_hostname=name)
    except BaseException:
        raw.close()
        raise


def subject_cn(s):
    for rdn in s.getpeercert()["subject"]:
        for k, v in rdn:
            if k == "commonName":
                return v
    return None


def tls_exchange(port, data, timeout=5.0):
    """raw_exchange over TLS: sends data, reads until the server closes
    (close_notify or FIN) or timeout passes. Returns (bytes, closed)."""
    assert port == SL.port
    s = connect("localhost", timeout=timeout)
    got = b""
    closed = False
    deadline = time.monotonic() + timeout * h.SCALE
    try:
        s.sendall(data)
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError):
                closed = True
                break
            if not b:
                closed = True
                break
            got += b
    finally:
        s.close()
    return got, closed


def request(s, method, path, headers="", body=b""):
    s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\n%s" % (method, path, headers)).encode() +
              (b"Content-Length: %d\r\n\r\n" % len(body)) + body)


def read_responses(s, n, timeout=5.0):
    got = b""
    deadline = time.monotonic() + timeout * h.SCALE
    while time.monotonic() < deadline:
        try:
            resps, rest = h.parse_responses(got, at_eof=False)
            if len(resps) >= n:
                return resps
        except h.IncompleteResponse:
            pass
        s.settimeout(max(0.01, deadline - time.monotonic()))
        b = s.recv(65536)
        if not b:
            break
        got += b
    resps, _ = h.parse_responses(got)
    return resps


# ------------------------------------------------------------------ basics


def test_request_over_tls():
    with connect("localhost") as s:
        assert s.version() in ("TLSv1.2", "TLSv1.3"), s.version()
        request(s, "GET", "/e/hello", "Connection: close\r\n")
        r = read_responses(s, 1)
    assert r and r[0].status == 200, r
    assert r[0].json()["path"] == "/hello"
    # the upstream is told the client came over https
    proto = [v for k, v in r[0].json()["headers"] if k.lower() == "x-forwarded-proto"]
    assert proto == ["https"], proto


def test_tls12_ecdhe_aead_only():
    ctx = client_ctx()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with connect("localhost", ctx) as s:
        assert s.version() == "TLSv1.2"
        name = s.cipher()[0]
        assert name.startswith("ECDHE-") and ("GCM" in name or "CHACHA20" in name), name
    # a client offering only non-forward-secret suites gets no handshake
    ctx = client_ctx()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("AES128-SHA256:AES256-GCM-SHA384")
    try:
        connect("localhost", ctx).close()
    except (ssl.SSLError, ConnectionResetError):
        return
    raise AssertionError("a handshake with only RSA-key-exchange suites succeeded")


def handshake_refused_python(version):
    """True when the server refuses a handshake at version (its
    protocol_version alert), None when this Python/OpenSSL cannot offer
    that version at all."""
    try:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        ctx.minimum_version = version
        ctx.maximum_version = version
    except (ValueError, ssl.SSLError):
        return None
    raw = socket.create_connection(("127.0.0.1", SL.port), timeout=5 * h.SCALE)
    try:
        ctx.wrap_socket(raw, server_hostname="localhost").close()
    except ssl.SSLError as e:
        text = str(e).upper().replace("_", " ")
        if "NO PROTOCOLS AVAILABLE" in text:
            return None  # the client itself would not offer it
        assert "PROTOCOL VERSION" in text, "refused, but not for its version: %s" % e
        return True
    finally:
        raw.close()
    return False


def handshake_refused_s_client(flag):
    r = subprocess.run(["openssl", "s_client", flag, "-cipher", "ALL:@SECLEVEL=0", "-connect",
                        "127.0.0.1:%d" % SL.port, "-servername", "localhost"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=10 * h.SCALE)
    out = r.stdout.decode(errors="replace")
    if "no protocols available" in out:
        return None
    return "alert protocol version" in out and "Cipher is (NONE)" in out


def test_tls10_and_tls11_refused():
    for version, flag in ((ssl.TLSVersion.TLSv1, "-tls1"), (ssl.TLSVersion.TLSv1_1, "-tls1_1")):
        refused = handshake_refused_python(version)
        if refused is None:
            refused = handshake_refused_s_client(flag)
            if refused is None:
                raise h.SkipTest("neither Python's ssl nor openssl s_client can offer %s here"
                                 % version.name)
        assert refused, "a %s handshake succeeded" % version.name
    # and the listener still serves
    with connect("localhost") as s:
        request(s, "GET", "/e/after", "Connection: close\r\n")
        assert read_responses(s, 1)[0].status == 200


def test_alpn_http11_only():
    with connect("localhost", client_ctx(["h2", "http/1.1"])) as s:
        assert s.selected_alpn_protocol() == "http/1.1"
    with connect("localhost") as s:
        assert s.selected_alpn_protocol() is None
    # RFC 7301 3.2: no protocol in common is a fatal no_application_protocol
    try:
        connect("localhost", client_ctx(["h2"])).close()
    except ssl.SSLError as e:
        assert "NO APPLICATION PROTOCOL" in str(e).upper().replace("_", " "), e
        return
    raise AssertionError("a client offering only h2 got a handshake")


def test_plain_http_and_silent_clients_closed():
    # plain HTTP on the TLS port: a failed handshake, closed, nothing served
    before = UP.requests()
    got, closed = h.raw_exchange(SL.port, b"GET /e/plain HTTP/1.1\r\nHost: x\r\n\r\n",
                                 timeout=3 * h.SCALE)
    assert closed and not got.startswith(b"HTTP/"), got[:100]
    # no handshake at all: closed by the idle timeout (500 ms here)
    t0 = time.monotonic()
    got, closed = h.raw_exchange(SL.port, b"", timeout=5 * h.SCALE)
    assert closed and got == b"" and time.monotonic() - t0 < 3 * h.SCALE
    assert UP.requests() == before
    with connect("localhost") as s:
        request(s, "GET", "/e/still", "Connection: close\r\n")
        assert read_responses(s, 1)[0].status == 200


def test_slow_handshake_gets_header_timeout():
    # a ClientHello trickled a byte at a time, each within the idle timeout
    # (500 ms): the handshake as a whole has the header timeout (500 ms)
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", SL.port), timeout=5 * h.SCALE)
    closed = False
    try:
        s.sendall(b"\x16\x03\x01\x02\x00")  # a handshake record of 512 bytes
        while time.monotonic() - t0 < 4 * h.SCALE:
            time.sleep(0.2)
            try:
                s.sendall(b"\x01")
                s.settimeout(0.01)
                if s.recv(100) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
            except OSError:
                closed = True
                break
    finally:
        s.close()
    took = time.monotonic() - t0
    assert closed, "a trickled handshake kept the connection %.1fs" % took
    assert took < 2 * h.SCALE, "closed only after %.1fs" % took


# ------------------------------------------------------------------ SNI


def test_sni_picks_certificate():
    with connect(None) as s:
        assert subject_cn(s) == "default.test"
    with connect("localhost") as s:
        assert subject_cn(s) == "default.test"
    with connect("a.example") as s:
        assert subject_cn(s) == "a.example"
    with connect("A.Example") as s:
        assert subject_cn(s) == "a.example"
    with connect("x.b.example") as s:
        assert subject_cn(s) == "wild.b.example"
        request(s, "GET", "/e/sni", "Connection: close\r\n")
        assert read_responses(s, 1)[0].status == 200
    # a wildcard covers one label only: the default certificate answers
    ctx = client_ctx()
    ctx.check_hostname = False
    for name in ("b.example", "y.x.b.example", "unknown.example"):
        with connect(name, ctx) as s:
            assert subject_cn(s) == "default.test", name


# ------------------------------------------------------------------ HTTP over TLS


def test_keepalive_over_tls():
    with connect("localhost") as s:
        for i in range(5):
            request(s, "GET", "/e/ka%d" % i)
            r = read_responses(s, 1)
            assert r[0].status == 200 and r[0].json()["path"] == "/ka%d" % i
        request(s, "POST", "/e/body", "", b"hello")
        r = read_responses(s, 1)
        assert r[0].status == 200


def test_pipelining_over_tls():
    with connect("localhost") as s:
        data = b"".join(b"GET /e/p%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(10))
        s.sendall(data + b"GET /e/last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        resps = read_responses(s, 11)
    assert len(resps) == 11, resps
    for i in range(10):
        assert resps[i].status == 200 and resps[i].json()["path"] == "/p%d" % i
    assert resps[10].json()["path"] == "/last"


def test_large_bodies_over_tls():
    body = os.urandom(90000)  # under max_body_bytes (100000), several TLS records
    with connect("localhost") as s:
        request(s, "POST", "/e/big", "Connection: close\r\n", body)
        r = read_responses(s, 1, timeout=10)
    assert r[0].status == 200, r[0].status


def test_large_response_slow_reader_over_tls():
    # 8 MB through a client that waits first: the socket fills, SSL_write
    # wants the socket writable again, and the rest follows in order
    n = 8 * 1024 * 1024
    with connect("localhost", timeout=20) as s:
        request(s, "GET", "/e/_big/%d" % n)
        request(s, "GET", "/e/after-big", "Connection: close\r\n")
        time.sleep(0.5)
        chunks = []
        s.settimeout(20 * h.SCALE)
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            chunks.append(b)
        resps, _ = h.parse_responses(b"".join(chunks))
    assert len(resps) == 2 and resps[0].status == 200, resps
    assert len(resps[0].body) == n
    assert h.sha256(resps[0].body) == resps[0].headers.get("x-sha256") == h.big_pattern_sha256(n)
    assert resps[1].json()["path"] == "/after-big"


# ------------------------------------------------------------------ framing


FRAMING = ["test_valid_raw_request_reaches_upstream", "test_cl_and_te_together",
           "test_two_different_content_lengths", "test_content_length_with_sign",
           "test_content_length_two_numbers", "test_content_length_not_decimal",
           "test_bad_chunk_size", "test_chunk_size_overflow", "test_chunk_data_without_crlf",
           "test_obs_fold", "test_nul_in_header_value", "test_bare_cr_in_header_value",
           "test_bare_lf_line_ending", "test_missing_host_http11", "test_two_host_headers",
           "test_space_before_colon", "test_te_chunked_on_http10", "test_te_chunked_twice",
           "test_bad_request_line", "test_bad_header_name", "test_header_section_too_large_431"]


def test_framing_attacks_over_tls():
    # test_framing.py's cases, the bytes sent through this TLS listener
    saved = (tf.UP, tf.SL, h.raw_exchange)
    tf.UP, tf.SL, h.raw_exchange = UP, SL, tls_exchange
    try:
        for name in FRAMING:
            try:
                getattr(tf, name)()
            except AssertionError as e:
                raise AssertionError("%s over TLS: %s" % (name, e))
        tf.expect_rejected(b"GET /e/" + b"u" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                           status=414, closed_required=False, followup=False)
    finally:
        tf.UP, tf.SL, h.raw_exchange = saved


# ------------------------------------------------------------------ config and reload


def check_config_error(tls, want):
    cfg = dict(CFG)
    cfg["listen"] = [{"address": "127.0.0.1:%d" % h.free_port(), "tls": tls}]
    path = p("bad-%d.json" % abs(hash(want)))
    with open(path, "w") as f:
        f.write(h.dumps_with_lines(cfg)[0])
    code, out, err = h.run_sluice(["-t", "-c", path])
    both = out + err
    assert code == 1, "exit %d (want 1) for %s:\n%s" % (code, want, both)
    assert "listen[0].tls" in both and want in both, "no error naming %s:\n%s" % (want, both)


def test_bad_certificates_are_config_errors():
    check_config_error({"cert": p("expired.crt"), "key": p("expired.key")}, p("expired.crt"))
    check_config_error({"cert": p("a.crt"), "key": p("b.key")}, p("b.key"))
    check_config_error({"cert": p("missing.crt"), "key": p("a.key")}, p("missing.crt"))
    check_config_error({"cert": p("ca.key"), "key": p("a.key")}, p("ca.key"))
    t = tls_listen()
    t["sni"][1]["key"] = p("a.key")
    check_config_error(t, p("a.key"))


def test_sighup_new_certificate():
    before = connect(None)
    try:
        assert subject_cn(before) == "default.test"
        cfg = dict(CFG)
        cfg["listen"] = [dict(CFG["listen"][0], tls=tls_listen("reloaded"))]
        SL.write_config(cfg)
        SL.reload()

        def served():
            with connect(None) as s:
                return subject_cn(s) == "reloaded.test"
        h.wait_for(served, 5 * h.SCALE, 0.1, "the new certificate after SIGHUP")
        with connect("a.example") as s:
            assert subject_cn(s) == "a.example"
        # a connection made before the reload keeps working
        request(before, "GET", "/e/old", "Connection: close\r\n")
        assert read_responses(before, 1)[0].status == 200
    finally:
        before.close()
    # a bad certificate on reload keeps the running one
    cfg = dict(CFG)
    cfg["listen"] = [dict(CFG["listen"][0], tls={"cert": p("a.crt"), "key": p("b.key")})]
    SL.write_config(cfg)
    mark = len(SL.stderr_text())
    SL.reload()
    h.wait_for(lambda: p("b.key") in SL.stderr_text()[mark:], 5 * h.SCALE, 0.1,
               "the reload error naming the key")
    with connect(None) as s:
        assert subject_cn(s) == "reloaded.test"


if __name__ == "__main__":
    h.run()
