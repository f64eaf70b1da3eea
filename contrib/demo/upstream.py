#!/usr/bin/env python3
"""A demo upstream for sluice: one "version" of a function as an HTTP/1.1 service.

Answers every request with JSON naming the function and version that served
it, and echoing what it received:

    {"function": "orders", "version": "1", "method": "GET", "path": "/orders/42",
     "query": "", "headers": {...}, "body": ""}

    contrib/demo/upstream.py --port 9001 --version 1
"""
import argparse
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as sluice's connection pools expect
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def version_string(self):
        return "sluice-demo-upstream"

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(1024)
                if not size_line:
                    break
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)  # CRLF after the chunk
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _answer(self):
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "bad body framing")
            return
        url = urlsplit(self.path)
        doc = {
            "function": self.server.function,
            "version": self.server.version,
            "method": self.command,
            "path": url.path,
            "query": url.query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
        out = (json.dumps(doc, indent=2) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("upstream %s v%s: %s\n"
                             % (self.server.function, self.server.version, fmt % args))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--version", default="1", help="version name reported in answers")
    ap.add_argument("--function", default="orders", help="function name reported in answers")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--quiet", action="store_true", help="do not log requests")
    args = ap.parse_args()

    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.function, server.version, server.quiet = args.function, args.version, args.quiet
    # Stop cleanly on SIGTERM (what run.sh sends) as on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.stderr.write("upstream %s v%s listening on http://%s:%d\n"
                     % (args.function, args.version, args.host, args.port))
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
