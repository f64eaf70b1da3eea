#!/usr/bin/env python3
"""invoke_emulator.py - a small Lambda Invoke API emulator for sluice's
integration tests, standing in for AWS's Runtime Interface Emulator, sam
local start-lambda, serverless-offline and LocalStack.

Run as its own process:  python3 invoke_emulator.py --port P
(--port 0 picks a free port).  Once it listens it prints "READY <port>" on
stdout; after that it prints nothing.

  POST /2015-03-31/functions/NAME/invocations   runs function NAME with the
                                                 request body as its event
  GET  /_stats     {"invocations", "inflight", "max_inflight", "by_name",
                    "connections" (accepted, control requests' included),
                    "headers" (of the last invocation, lower-case names),
                    "path" (of the last invocation)}
  POST /_reset     zeroes the counters

Functions, chosen by NAME (a qualifier after ':' is ignored):
  echo             statusCode 200, body = the event JSON (content-type
                   application/json), header x-emulator-function: NAME
  echo-chunked     as echo, the answer in the chunked transfer coding
  echo-v1          the same as a payload 1.0 result (multiValueHeaders)
  malformed        answers text that is not JSON
  bad-status       {"statusCode": "abc"}
  error            X-Amz-Function-Error: Unhandled with an errorType /
                   errorMessage body, as the RIE sends for an exception
  sleep-MS         sleeps MS milliseconds, then as echo
  binary           base64 body in, the same bytes out: statusCode 200,
                   isBase64Encoded true, content-type application/octet-stream
  emu-STATUS       the emulator itself answers STATUS (429, 500...) with an
                   AWS-style error body
  authorizer            a Lambda TOKEN authorizer answering as authorizer_fn.py
  anything else    404 ResourceNotFoundException, as AWS does

Python 3 standard library only.
"""

import argparse
import base64
import http.server
import json
import re
import socketserver
import sys
import threading
import time

import authorizer_fn  # the answers of the test authorizer (same directory)

PATH_RE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.invocations = 0
        self.inflight = 0
        self.max_inflight = 0
        self.by_name = {}
        self.headers = {}
        self.path = None
        self.connections = 0

    def snapshot(self):
        with self.lock:
            return {"invocations": self.invocations, "inflight": self.inflight,
                    "connections": self.connections,
                    "max_inflight": self.max_inflight, "by_name": dict(self.by_name),
                    "headers": dict(self.headers), "path": self.path}


STATS = Stats()


def echo_result(event, name):
    return {"statusCode": 200,
            "headers": {"content-type": "application/json", "x-emulator-function": name},
            "body": json.dumps(event)}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 300

    def setup(self):
        super().setup()
        with STATS.lock:
            STATS.connections += 1

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def answer(self, status, body, headers=(), chunked=False):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if not chunked:
            self.wfile.write(data)
            return
        for i in range(0, len(data), 7):
            piece = data[i:i + 7]
            self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):  # noqa: N802
        if self.path == "/_stats":
            self.answer(200, STATS.snapshot())
        else:
            self.answer(404, {"message": "not found"})

    def do_POST(self):  # noqa: N802
        body = self.read_body()
        if self.path == "/_reset":
            with STATS.lock:
                STATS.reset()
            self.answer(200, {})
            return
        m = PATH_RE.match(self.path)
        if not m:
            self.answer(404, {"Type": "User", "message": "unknown path %s" % self.path})
            return
        full = m.group(1)
        name = full.split(":", 1)[0]
        with STATS.lock:
            STATS.invocations += 1
            STATS.inflight += 1
            STATS.max_inflight = max(STATS.max_inflight, STATS.inflight)
            STATS.by_name[name] = STATS.by_name.get(name, 0) + 1
            STATS.headers = {k.lower(): v for k, v in self.headers.items()}
            STATS.path = self.path
        try:
            answer = self.invoke(full, name, body)
        finally:
            # The invocation ends before its answer is written: a client
            # that starts the next one as soon as it has read this answer
            # must not be seen overlapping it.
            with STATS.lock:
                STATS.inflight -= 1
        self.answer(*answer)

    def invoke(self, full, name, body):
        """Runs function name; returns (status, body, headers) to answer."""
        try:
            event = json.loads(body)
        except ValueError:
            return 400, {"Type": "User", "message": "the event is not JSON"}
        if name == "echo":
            return 200, echo_result(event, full)
        if name == "echo-chunked":
            return 200, echo_result(event, full), [], True
        if name == "echo-v1":
            return 200, {"statusCode": 200,
                         "multiValueHeaders": {"content-type": ["application/json"],
                                               "x-multi": ["a", "b"]},
                         "body": json.dumps(event)}
        if name == "malformed":
            return 200, b"this is not JSON {"
        if name == "bad-status":
            return 200, {"statusCode": "abc", "body": "x"}
        if name == "error":
            return (200, {"errorMessage": "boom: something broke\nsecond line", "errorType": "Error",
                          "stackTrace": ["at handler (index.js:1:1)"]},
                    [("X-Amz-Function-Error", "Unhandled")])
        if name.startswith("sleep-") and name[6:].isdigit():
            time.sleep(int(name[6:]) / 1000.0)
            return 200, echo_result(event, full)
        if name == "binary":
            raw = event.get("body") or ""
            data = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
            return 200, {"statusCode": 200,
                         "headers": {"content-type": "application/octet-stream"},
                         "isBase64Encoded": True,
                         "body": base64.b64encode(data).decode()}
        if name == "authorizer":
            # a Lambda authorizer (TOKEN events), as authorizer_fn.py answers;
            # "unauth" is raised as a function error, as a real one would be
            token = event.get("authorizationToken", "")
            token = token[7:] if token.lower().startswith("bearer ") else token
            ans = authorizer_fn.answer_for(token) or {"isAuthorized": False}
            if "errorMessage" in ans:
                return 200, ans, [("X-Amz-Function-Error", "Unhandled")]
            return 200, ans
        if name.startswith("emu-") and name[4:].isdigit():
            status = int(name[4:])
            return status, {"Type": "Service", "message": "emulator says %d" % status}
        return (404, {"Type": "User",
                      "message": "Function not found: arn:aws:lambda:us-east-1:"
                                 "012345678912:function:%s" % full},
                [("x-amzn-ErrorType", "ResourceNotFoundException")])


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    sys.stdout.write("READY %d\n" % srv.server_address[1])
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
