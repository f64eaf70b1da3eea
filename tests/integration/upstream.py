#!/usr/bin/env python3
"""upstream.py - a real HTTP/1.1 upstream server for sluice's integration tests.

Run as its own process:  python3 upstream.py --port P --name NAME
(--port 0 picks a free port).  Once it listens it prints "READY <port>" on
stdout; after that it prints nothing.

It counts, thread-safely, the connections that carried a request and the
requests it served, and answers (whatever the method):

  GET /_stats            {"connections", "requests", "heads", "incomplete",
                          "accepted"}  (control: not counted as a request,
                          and a connection used only for control requests
                          is not counted either)
  GET /_log              the last 1000 requests: [[method, path, body_len], ...]
                          (control)
  /_status/CODE[/...]    that status with a JSON body (none for 1xx/204/304)
  /_slow/MS[/...]        sleeps MS ms, then the echo below
  /_big/BYTES[/...]      BYTES bytes of bytes(range(256)) repeated, written in
                          64 KiB pieces with Content-Length; header x-sha256
  /_bigchunked/BYTES     the same with Transfer-Encoding: chunked
  /_close[/...]          reads the request, then closes without answering (FIN)
  /_reset[/...]          reads the request, then resets the connection (RST)
  /_malformed[/...]      answers bytes that are not HTTP, then closes
  /_dropnext[/...]       the echo below; the next request on the same
                          connection is read and then the connection closed
                          without an answer (a kept-alive connection that the
                          server dropped just as a request was sent)
  anything else          200 JSON echo: {"name", "method", "path" (raw target,
                          query included), "version", "headers": [[name, value],
                          ...] in order, "body_len", "body_sha256",
                          "body_prefix" (first 256 bytes, latin-1), "conn"
                          (serial number of the connection)}

Every answer carries "x-upstream: NAME".  Request bodies may be sent with
Content-Length or chunked.  A request counts once its whole body was read;
"heads" counts request heads parsed, "incomplete" requests whose body never
completed.
"""

import argparse
import collections
import hashlib
import http.server
import json
import re
import socket
import socketserver
import struct
import sys
import threading
import time

PATTERN = bytes(range(256))
BLOCK = PATTERN * 256  # 64 KiB, a whole number of patterns
MIB = BLOCK * 16  # 1 MiB, for hashing fast

CONTROL_PATHS = ("/_stats", "/_log")


class Stats:
    """Counters shared by every handler thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.accepted = 0
        self.connections = 0
        self.requests = 0
        self.heads = 0
        self.incomplete = 0
        self.log = collections.deque(maxlen=1000)

    def snapshot(self):
        with self.lock:
            return {
                "connections": self.connections,
                "requests": self.requests,
                "heads": self.heads,
                "incomplete": self.incomplete,
                "accepted": self.accepted,
            }


STATS = Stats()
NAME = "upstream"

_sha_cache = {}
_sha_lock = threading.Lock()


def big_sha256(n):
    """sha256 of the first n bytes of the repeating pattern, cached."""
    with _sha_lock:
        if n in _sha_cache:
            return _sha_cache[n]
    h = hashlib.sha256()
    full, rem = divmod(n, len(MIB))
    for _ in range(full):
        h.update(MIB)
    h.update(MIB[:rem])
    digest = h.hexdigest()
    with _sha_lock:
        _sha_cache[n] = digest
    return digest


class BadBody(Exception):
    """The request body was cut short or badly framed."""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    # A connection sluice keeps in its pool may stay idle this long.
    timeout = 300

    def setup(self):
        super().setup()
        self.conn_serial = None
        with STATS.lock:
            STATS.accepted += 1

    def log_message(self, format, *args):  # noqa: A002 - silence per-request logging
        pass

    def __getattr__(self, name):
        # Every method (GET, POST, BREW, ...) goes to the same place.
        if name.startswith("do_"):
            return self.handle_any
        raise AttributeError(name)

    # ------------------------------------------------------------ bodies
    def read_body(self):
        """Reads the whole request body; returns (length, sha256 hex, prefix)."""
        h = hashlib.sha256()
        n = 0
        prefix = bytearray()

        def take(data):
            nonlocal n
            h.update(data)
            n += len(data)
            if len(prefix) < 256:
                prefix.extend(data[: 256 - len(prefix)])

        te = self.headers.get_all("Transfer-Encoding") or []
        if any("chunked" in v.lower() for v in te):
            while True:
                line = self.rfile.readline(4096)
                if not line.endswith(b"\n"):
                    raise BadBody("chunk size line cut short")
                size_txt = line.split(b";", 1)[0].strip()
                try:
                    size = int(size_txt, 16)
                except ValueError:
                    raise BadBody("bad chunk size %r" % size_txt)
                if size == 0:
                    for _ in range(100):  # trailers
                        t = self.rfile.readline(8192)
                        if not t:
                            raise BadBody("trailers cut short")
                        if t in (b"\r\n", b"\n"):
                            break
                    break
                left = size
                while left:
                    data = self.rfile.read(min(left, 65536))
                    if not data:
                        raise BadBody("chunk data cut short")
                    take(data)
                    left -= len(data)
                if self.rfile.readline(8) not in (b"\r\n", b"\n"):
                    raise BadBody("no CRLF after chunk data")
        else:
            cl = self.headers.get("Content-Length")
            if cl is not None:
                try:
                    left = int(cl)
                except ValueError:
                    raise BadBody("bad Content-Length %r" % cl)
                while left > 0:
                    data = self.rfile.read(min(left, 65536))
                    if not data:
                        raise BadBody("body cut short")
                    take(data)
                    left -= len(data)
        return n, h.hexdigest(), bytes(prefix)

    # ------------------------------------------------------------ answers
    def send_all(self, status, body, headers=(), reason=None, content_length=True):
        """Writes a whole response in one go (one write: no Nagle stalls)."""
        if reason is None:
            try:
                reason = http.HTTPStatus(status).phrase
            except ValueError:
                reason = "Status"
        lines = ["HTTP/1.1 %d %s" % (status, reason), "x-upstream: " + NAME]
        no_body = status < 200 or status in (204, 304)
        if content_length and not no_body:
            lines.append("Content-Length: %d" % len(body))
        for k, v in headers:
            lines.append("%s: %s" % (k, v))
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.command == "HEAD" or no_body:
            body = b""
        self.wfile.write(head + body)

    def send_json(self, status, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_all(status, body, [("Content-Type", "application/json")] + list(headers))

    def echo(self, body_len, body_sha, prefix, extra=None):
        obj = {
            "name": NAME,
            "method": self.command,
            "path": self.path,
            "version": self.request_version,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_len": body_len,
            "body_sha256": body_sha,
            "body_prefix": prefix.decode("latin-1"),
            "conn": self.conn_serial,
        }
        if extra:
            obj.update(extra)
        self.send_json(200, obj)

    def send_big(self, n, chunked):
        headers = ["HTTP/1.1 200 OK", "x-upstream: " + NAME,
                   "Content-Type: application/octet-stream",
                   "x-sha256: " + big_sha256(n)]
        if chunked:
            headers.append("Transfer-Encoding: chunked")
        else:
            headers.append("Content-Length: %d" % n)
        if self.close_connection:
            headers.append("Connection: close")
        self.wfile.write(("\r\n".join(headers) + "\r\n\r\n").encode("latin-1"))
        if self.command == "HEAD":
            return
        left = n
        while left > 0:
            piece = BLOCK if left >= len(BLOCK) else BLOCK[:left]
            if chunked:
                self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            else:
                self.wfile.write(piece)
            left -= len(piece)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def handle_any(self):
        path = self.path.split("?", 1)[0]
        if path in CONTROL_PATHS:
            if path == "/_stats":
                self.send_json(200, STATS.snapshot())
            else:
                with STATS.lock:
                    log = list(STATS.log)
                self.send_json(200, log)
            return

        with STATS.lock:
            STATS.heads += 1
        if getattr(self, "drop_next", False):
            try:
                self.read_body()
            except (BadBody, OSError, ValueError):
                pass
            self.close_connection = True  # FIN, no answer, not counted
            return
        try:
            body_len, body_sha, prefix = self.read_body()
        except (BadBody, OSError, ValueError):
            with STATS.lock:
                STATS.incomplete += 1
            self.close_connection = True
            return
        with STATS.lock:
            if self.conn_serial is None:
                STATS.connections += 1
                self.conn_serial = STATS.connections
            STATS.requests += 1
            STATS.log.append([self.command, self.path, body_len])

        if path.startswith("/_close"):
            self.close_connection = True  # socketserver sends FIN, no answer
            return
        if path.startswith("/_reset"):
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()  # really closed (RST) once rfile/wfile go
            return
        if path.startswith("/_dropnext"):
            self.drop_next = True
            self.echo(body_len, body_sha, prefix)
            return
        if path.startswith("/_malformed"):
            self.close_connection = True
            self.wfile.write(b"this is not HTTP at all\r\n\r\n")
            return
        m = re.match(r"/_status/(\d{3})(?:/|$)", path)
        if m:
            code = int(m.group(1))
            self.send_json(code, {"name": NAME, "status": code, "path": self.path})
            return
        m = re.match(r"/_slow/(\d+)(?:/|$)", path)
        if m:
            time.sleep(int(m.group(1)) / 1000.0)
            self.echo(body_len, body_sha, prefix)
            return
        m = re.match(r"/_(big|bigchunked)/(\d+)(?:/|$)", path)
        if m:
            self.send_big(int(m.group(2)), m.group(1) == "bigchunked")
            return
        self.echo(body_len, body_sha, prefix)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512
    block_on_close = False

    def handle_error(self, request, client_address):
        # Clients (sluice) may vanish mid-answer; that is not our failure.
        pass


def serve(srv):
    """Says READY and the port on stdout (what harness.py waits for), then
    serves until interrupted; returns the exit code."""
    sys.stdout.write("READY %d\n" % srv.server_address[1])
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


def main(argv=None):
    global NAME
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--name", default="upstream")
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args(argv)
    NAME = args.name
    return serve(Server((args.host, args.port), Handler))


if __name__ == "__main__":
    sys.exit(main())
