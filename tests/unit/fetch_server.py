#!/usr/bin/env python3
"""fetch_server.py - the scripted HTTP/HTTPS server test_fetch talks to.

Makes a throwaway CA, two server certificates (one for localhost and
127.0.0.1, one for wrong.example) and two RSA keys for JWKS documents with
the openssl command line, then serves:

  /body               200, a short body with Content-Length
  /headers            200, the request head it received, as the body
  /status/NNN         status NNN
  /slow?ms=N          200 after N milliseconds
  /chunked            200, a chunked body (with a chunk extension and a trailer)
  /huge?n=N           200, N bytes with Content-Length
  /huge-chunked?n=N   200, N bytes, chunked
  /close              200, body delimited by closing the connection
  /redirect           302 to /body
  /jwks?s=NAME        the JWKS document of mode[NAME] (see MODES)

on three listeners: plain http, https (localhost cert) and https with the
wrong.example cert. It prints one line,
  ready http=P https=P wrong=P closed=P ca=PATH
(closed is a port nothing listens on), then answers commands on stdin, one
reply line each:
  mode NAME MODE     -> ok        (what /jwks?s=NAME serves)
  count TARGET       -> N         (requests seen for that exact target)
  total              -> N
  sni                -> the server name of the last TLS handshake, or -
It exits, removing its files, at end of input or on SIGTERM. Only the
standard library and the openssl binary are used.
"""

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TMP = tempfile.mkdtemp(prefix="sluice-fetch-")
LOCK = threading.Lock()
COUNTS = {}
TOTAL = [0]
MODE = {}
DOCS = {}
LAST_SNI = ["-"]


def cleanup_and_exit(*_):
    shutil.rmtree(TMP, ignore_errors=True)
    sys.stdout.flush()
    os._exit(0)  # daemon threads may be mid-request; nothing to wait for


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, cwd=TMP,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def path(name):
    return os.path.join(TMP, name)


def make_ca():
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=sluice fetch test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def make_leaf(name, cn, san):
    with open(path(name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n" % san)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-set_serial", str(int(time.time() * 1000) % 2**31 + len(name)),
            "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext")


def der_item(b, i):
    """Returns (tag, start, end) of the DER item at b[i]."""
    tag, n = b[i], b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, i, i + n


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rsa_jwk(name, kid):
    """An RSA public JWK built from the DER SubjectPublicKeyInfo openssl
    writes: SEQ { SEQ alg, BIT STRING { SEQ { INT n, INT e } } }."""
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", name + ".key")
    openssl("pkey", "-in", name + ".key", "-pubout", "-outform", "DER", "-out", name + ".der")
    with open(path(name + ".der"), "rb") as f:
        d = f.read()
    _, s, _ = der_item(d, 0)
    _, _, e_alg = der_item(d, s)
    _, s_bits, _ = der_item(d, e_alg)
    _, s_seq, _ = der_item(d, s_bits + 1)  # skip the unused-bits byte
    _, s_n, e_n = der_item(d, s_seq)
    _, s_e, e_e = der_item(d, e_n)
    n = d[s_n:e_n].lstrip(b"\x00")
    e = d[s_e:e_e].lstrip(b"\x00")
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
            "n": b64url(n), "e": b64url(e)}


def build_docs():
    k1 = rsa_jwk("jwk1", "k1")
    k2 = rsa_jwk("jwk2", "k2")
    oct_key = {"kty": "oct", "kid": "h1", "alg": "HS256", "k": b64url(b"s" * 32)}
    DOCS["good"] = json.dumps({"keys": [k1]}).encode()
    DOCS["rotated"] = json.dumps({"keys": [k2]}).encode()
    DOCS["oct"] = json.dumps({"keys": [oct_key]}).encode()
    DOCS["mixed"] = json.dumps({"keys": [k2, oct_key]}).encode()
    DOCS["garbage"] = b"this is not json"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10

    def setup(self):
        # The TLS handshake happens here, in the request's own thread, so
        # a client that aborts it (a failed verification) costs nothing
        # to the listener.
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        super().setup()

    def log_message(self, *args):
        pass

    def raw(self, data):
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            pass  # the client gave up (body too large, timed out)

    def reply(self, status, body=b"", headers=()):
        head = "HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n" % (
            status, len(body))
        for k, v in headers:
            head += "%s: %s\r\n" % (k, v)
        self.raw(head.encode() + b"\r\n" + body)

    def chunked(self, pieces, ext=b"", trailer=b""):
        out = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"]
        for p in pieces:
            out.append(b"%x%s\r\n%s\r\n" % (len(p), ext, p))
        out.append(b"0\r\n" + trailer + b"\r\n")
        self.raw(b"".join(out))

    def do_GET(self):
        self.close_connection = True
        with LOCK:
            COUNTS[self.path] = COUNTS.get(self.path, 0) + 1
            TOTAL[0] += 1
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        p = u.path
        if p == "/body":
            self.reply(200, b"hello, sluice\n")
        elif p == "/headers":
            head = self.requestline + "\r\n" + str(self.headers).replace("\n", "\r\n")
            self.reply(200, head.encode())
        elif p.startswith("/status/"):
            code = int(p[len("/status/"):])
            self.reply(code, b"status %d" % code)
        elif p == "/slow":
            time.sleep(int(q.get("ms", "1000")) / 1000)
            self.reply(200, b"slow")
        elif p == "/chunked":
            self.chunked([b"chunk-one,", b"chunk-two,", b"end"], ext=b";x=y",
                         trailer=b"X-Trailer: 1\r\n")
        elif p == "/huge":
            n = int(q.get("n", "0"))
            self.raw(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % n)
            sent = 0
            while sent < n:
                k = min(65536, n - sent)
                self.raw(b"x" * k)
                sent += k
        elif p == "/huge-chunked":
            n = int(q.get("n", "0"))
            self.chunked([b"x" * min(65536, n - i) for i in range(0, n, 65536)])
        elif p == "/close":
            self.raw(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
        elif p == "/redirect":
            self.reply(302, b"", [("Location", "/body")])
        elif p == "/jwks":
            with LOCK:
                mode = MODE.get(q.get("s", "a"), "good")
            if mode in DOCS:
                self.reply(200, DOCS[mode], [("Content-Type", "application/json")])
            else:
                self.reply(int(mode), b"{}")
        else:
            self.reply(404, b"no such thing")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # failed handshakes are what some tests are about


def record_sni(sock, name, ctx):
    with LOCK:
        LAST_SNI[0] = name or "-"


def serve(tls_name=None):
    srv = Server(("127.0.0.1", 0), Handler)
    if tls_name:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(path(tls_name + ".pem"), path(tls_name + ".key"))
        ctx.sni_callback = record_sni
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    signal.signal(signal.SIGTERM, cleanup_and_exit)
    try:
        make_ca()
        make_leaf("localhost", "localhost", "DNS:localhost,IP:127.0.0.1")
        make_leaf("wrong", "wrong.example", "DNS:wrong.example")
        build_docs()
    except subprocess.CalledProcessError as e:
        sys.stderr.write("fetch_server: openssl failed: %s\n%s" % (e.cmd, e.stderr.decode()))
        print("error", flush=True)
        cleanup_and_exit()
    http = serve()
    https = serve("localhost")
    wrong = serve("wrong")
    print("ready http=%d https=%d wrong=%d closed=%d ca=%s" %
          (http, https, wrong, closed_port(), path("ca.pem")), flush=True)
    for line in sys.stdin:
        w = line.split()
        if len(w) == 3 and w[0] == "mode":
            with LOCK:
                MODE[w[1]] = w[2]
            print("ok", flush=True)
        elif len(w) == 2 and w[0] == "count":
            with LOCK:
                print(COUNTS.get(w[1], 0), flush=True)
        elif w == ["sni"]:
            with LOCK:
                print(LAST_SNI[0], flush=True)
        elif w == ["total"]:
            with LOCK:
                print(TOTAL[0], flush=True)
        else:
            print("?", flush=True)
    cleanup_and_exit()


if __name__ == "__main__":
    main()
