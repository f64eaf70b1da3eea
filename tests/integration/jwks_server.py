#!/usr/bin/env python3
"""jwks_server.py - a JWKS endpoint for sluice's integration tests.

Run as its own process:
    python3 jwks_server.py --port P --file JWKS.json [--cert CRT --key KEY]
(--port 0 picks a free port; with --cert/--key it speaks HTTPS only).  Once
it listens on 127.0.0.1 it prints "READY <port>" on stdout, then nothing.

  GET  /jwks.json     the JWKS document: the one last given to PUT /_jwks,
                      else the --file re-read on every request (so a test
                      rotates keys by rewriting the file); counted
  PUT  /_jwks         body: a JSON document served from now on (control)
  DELETE /_jwks       back to serving --file (control)
  PUT  /_status/CODE  /jwks.json answers CODE with a JSON error body from now
                      on (200 goes back to normal) (control)
  GET  /_count        {"count": GETs of /jwks.json served, "times": [their
                      time.time()], "other": other requests} (control)

Answers are HTTP/1.1 with Content-Length and "Connection: close".
Python 3 standard library only.
"""

import argparse
import http.server
import json
import socket
import socketserver
import ssl
import sys
import threading
import time


class State:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.path = path
        self.doc = None  # bytes set through PUT /_jwks, or None: the file
        self.status = 200
        self.count = 0
        self.times = []
        self.other = 0


STATE = None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "jwks-test/1"
    timeout = 10

    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            # Handshake here, in this connection's own thread (not in accept).
            self.connection.do_handshake()

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def reply(self, status, body, ctype="application/json"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):  # noqa: N802 - http.server naming
        path = self.path.split("?", 1)[0]
        if path == "/_count":
            with STATE.lock:
                obj = {"count": STATE.count, "times": list(STATE.times), "other": STATE.other}
            self.reply(200, json.dumps(obj))
            return
        if path == "/jwks.json":
            with STATE.lock:
                STATE.count += 1
                STATE.times.append(time.time())
                doc, status = STATE.doc, STATE.status
            if status != 200:
                self.reply(status, json.dumps({"error": "status %d" % status}))
                return
            if doc is None:
                try:
                    with open(STATE.path, "rb") as f:
                        doc = f.read()
                except OSError as e:
                    self.reply(500, json.dumps({"error": str(e)}))
                    return
            self.reply(200, doc)
            return
        with STATE.lock:
            STATE.other += 1
        self.reply(404, json.dumps({"error": "not found"}))

    def do_PUT(self):  # noqa: N802
        path = self.path.split("?", 1)[0]
        body = self.read_body()
        if path == "/_jwks":
            try:
                json.loads(body)
            except ValueError:
                self.reply(400, json.dumps({"error": "not JSON"}))
                return
            with STATE.lock:
                STATE.doc = body
            self.reply(200, "{}")
            return
        if path.startswith("/_status/"):
            try:
                code = int(path[len("/_status/"):])
            except ValueError:
                self.reply(400, "{}")
                return
            with STATE.lock:
                STATE.status = code
            self.reply(200, "{}")
            return
        with STATE.lock:
            STATE.other += 1
        self.reply(404, json.dumps({"error": "not found"}))

    do_POST = do_PUT  # noqa: N815

    def do_DELETE(self):  # noqa: N802
        self.read_body()
        if self.path.split("?", 1)[0] == "/_jwks":
            with STATE.lock:
                STATE.doc = None
            self.reply(200, "{}")
            return
        with STATE.lock:
            STATE.other += 1
        self.reply(404, "{}")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    tls = None  # ssl.SSLContext for HTTPS

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.settimeout(10)
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        # Failed handshakes (a client that does not trust our CA) and
        # resets are expected in these tests: stay quiet.
        pass


def main(argv=None):
    global STATE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--file", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args(argv)
    STATE = State(a.file)
    srv = Server(("127.0.0.1", a.port), Handler)
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        srv.tls = ctx
    sys.stdout.write("READY %d\n" % srv.server_address[1])
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    socket.setdefaulttimeout(10)
    sys.exit(main())
