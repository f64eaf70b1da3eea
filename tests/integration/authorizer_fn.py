#!/usr/bin/env python3
"""authorizer_fn.py - a Lambda authorizer function served over HTTP, for
sluice's integration tests (a function authorizer whose target version
has an http handler gets the authorizer event POSTed and answers with the
function's result).

Run as its own process:  python3 authorizer_fn.py --port P
(--port 0 picks a free port); prints "READY <port>" once it listens.

The answer depends on the token (TOKEN events: authorizationToken; REQUEST
events: the first identitySource value, or the x-api-key header):
  allow-NAME    policy: Allow execute-api:Invoke on */GET/*, principalId NAME,
                context {"user": NAME, "tier": "gold"}
  getonly-NAME  the same policy (only GET allowed)
  deny-NAME     policy: Allow * then Deny */GET/api/private/*
  yes-NAME      {"isAuthorized": true, "context": {"user": NAME}}
  no-NAME       {"isAuthorized": false}
  unauth        {"errorMessage": "Unauthorized"} (the function refuses: 401)
  crash         {"errorMessage": "boom", "errorType": "Error"} (500)
  broken        an answer that is not JSON
  slow          sleeps 3 s, then allows
GET /_stats     {"calls": N, "events": [the last 50 events]}
"""

import argparse
import http.server
import json
import sys
import threading
import time

LOCK = threading.Lock()
CALLS = 0
EVENTS = []


def policy(effect_rules, principal, context):
    return {"principalId": principal,
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": e, "Resource": r}
                for e, r in effect_rules]},
            "context": context}


def answer_for(token):
    name = token.split("-", 1)[1] if "-" in token else ""
    if token.startswith("allow-") or token.startswith("getonly-"):
        return policy([("Allow", "arn:aws:execute-api:*:*:*/*/GET/*")], name,
                      {"user": name, "tier": "gold"})
    if token.startswith("deny-"):
        return policy([("Allow", "*"), ("Deny", ["arn:aws:execute-api:*:*:*/*/GET/api/private/*"])],
                      name, {"user": name})
    if token.startswith("yes-"):
        return {"isAuthorized": True, "context": {"user": name}}
    if token.startswith("no-"):
        return {"isAuthorized": False}
    if token == "unauth":
        return {"errorMessage": "Unauthorized"}
    if token == "crash":
        return {"errorMessage": "boom", "errorType": "Error"}
    if token == "slow":
        time.sleep(3)
        return policy([("Allow", "*")], "slow", {})
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with LOCK:
            self.reply(200, {"calls": CALLS, "events": EVENTS[-50:]})

    def do_POST(self):
        global CALLS
        n = int(self.headers.get("Content-Length", "0"))
        event = json.loads(self.rfile.read(n) or b"{}")
        with LOCK:
            CALLS += 1
            EVENTS.append(event)
        if event.get("type") == "TOKEN":
            token = event.get("authorizationToken", "")
        else:
            ids = event.get("identitySource") or []
            token = ids[0] if ids else (event.get("headers") or {}).get("x-api-key", "")
        if token.lower().startswith("bearer "):
            token = token[7:]
        if token == "broken":
            self.reply(200, b"this is not json")
            return
        ans = answer_for(token)
        self.reply(200, ans if ans is not None else {"isAuthorized": False})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    print("READY %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
