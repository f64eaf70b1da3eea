#!/usr/bin/env python3
"""test_routing.py - routes to function versions: 404 / 405, the most
specific template wins whatever the config order, ANY, targets naming a
version, $LATEST or an alias, x-sluice-function-version and x-request-id on
every response, and a 90/10 alias split measured over 2,000 requests."""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

UP = {}  # name -> Upstream
SL = None
VERSION_OF = {"v1": "1", "v2": "2", "latest": "$LATEST"}


def setup():
    global SL
    for name in ("v1", "v2", "latest"):
        UP[name] = h.Upstream(name)
    functions = {
        "echo": h.http_function(
            {"1": UP["v1"].url, "2": UP["v2"].url, "$LATEST": UP["latest"].url},
            aliases={"live": {"version": "1", "weights": {"2": 0.1}},
                     "stable": {"version": "2"}}),
        "other": h.http_function({"7": UP["v1"].url}),
    }
    # Deliberately least specific first: the order must not matter.
    routes = [
        h.route("GET /r/{proxy+}", "echo:$LATEST"),
        h.route("GET /r/{id}", "echo:2"),
        h.route("GET /r/special", "echo:1"),
        h.route("GET /r/{id}/detail", "other:7"),
        h.route("GET /m/thing", "echo:1"),
        h.route("POST /m/thing", "echo:2"),
        h.route("ANY /any/{proxy+}", "echo:1"),
        h.route("ANY /both", "echo:1"),
        h.route("GET /both", "echo:2"),
        h.route("GET /canary", "echo:live"),
        h.route("GET /stable", "echo:stable"),
    ]
    SL = h.Sluice(h.make_config(functions=functions, routes=routes), name="routing")


def total_upstream_requests():
    return sum(u.requests() for u in UP.values())


def get(path, **kw):
    return h.http(SL.port, kw.pop("method", "GET"), path, **kw)


def served_by(resp, version, upstream):
    """Asserts resp is a 200 from upstream, tagged with version."""
    assert resp.status == 200, "%s: status %d, body %r" % (upstream, resp.status, resp.body[:300])
    got = resp.headers.get("x-sluice-function-version")
    assert got == version, "x-sluice-function-version %r, want %r" % (got, version)
    body = resp.json()
    assert body["name"] == upstream, "served by upstream %r, want %r" % (body["name"], upstream)
    assert resp.headers.get("x-upstream") == upstream
    return body


def check_error_body(resp, status):
    assert resp.status == status, "status %d, want %d: %r" % (resp.status, status, resp.body[:300])
    rid = resp.headers.get("x-request-id")
    assert rid, "no x-request-id on a %d" % status
    ctype = resp.headers.get("content-type", "")
    assert ctype.startswith("application/json"), "content-type %r on a %d" % (ctype, status)
    body = resp.json()
    assert isinstance(body.get("message"), str) and body["message"], "no message: %r" % body
    assert body.get("request_id") == rid, "request_id %r != header %r" % (body.get("request_id"), rid)
    return body


# ------------------------------------------------------------------ tests


def test_unknown_path_404():
    before = total_upstream_requests()
    for path in ("/nope", "/nope/deeper?x=1", "/r", "/", "/stable/extra", "/canaryx"):
        r = get(path)
        check_error_body(r, 404)
        assert "x-sluice-function-version" not in r.headers, \
            "%s: a 404 names a version: %r" % (path, r.headers)
    assert total_upstream_requests() == before, "a 404 reached an upstream"


def test_empty_segments_do_not_match_parameters():
    # {id} never matches an empty segment; {proxy+} needs at least one char.
    before = total_upstream_requests()
    r = get("/r/")
    check_error_body(r, 404)
    assert total_upstream_requests() == before


def test_405_with_allow():
    before = total_upstream_requests()
    r = get("/m/thing", method="DELETE")
    check_error_body(r, 405)
    allow = r.headers.get("allow")
    assert allow, "405 without Allow"
    methods = {m.strip().upper() for m in allow.split(",") if m.strip()}
    assert {"GET", "POST"} <= methods <= {"GET", "POST", "HEAD"}, "Allow: %r" % allow
    assert "x-sluice-function-version" not in r.headers
    assert total_upstream_requests() == before, "a 405 reached an upstream"
    # both allowed methods do work, each on its own version
    served_by(get("/m/thing"), "1", "v1")
    served_by(get("/m/thing", method="POST", body=b"x"), "2", "v2")


def test_literal_beats_param_beats_greedy():
    b = served_by(get("/r/special"), "1", "v1")
    assert b["path"] == "/r/special"
    b = served_by(get("/r/abc"), "2", "v2")
    assert b["path"] == "/r/abc", "no {proxy+}: the whole path goes upstream, got %r" % b["path"]
    b = served_by(get("/r/a/b/c"), "$LATEST", "latest")
    assert b["path"] == "/a/b/c", "{proxy+} part goes upstream, got %r" % b["path"]
    b = served_by(get("/r/5/detail"), "7", "v1")
    assert b["path"] == "/r/5/detail"
    # one segment deeper than {id}/detail falls back to the greedy route
    b = served_by(get("/r/5/detail/more"), "$LATEST", "latest")
    assert b["path"] == "/5/detail/more"
    b = served_by(get("/r/special/x"), "$LATEST", "latest")
    assert b["path"] == "/special/x"


def test_query_does_not_affect_routing():
    b = served_by(get("/r/special?x=/a/b&y=2"), "1", "v1")
    assert b["path"] == "/r/special?x=/a/b&y=2", b["path"]
    b = served_by(get("/r/abc?"), "2", "v2")
    assert b["path"] in ("/r/abc?", "/r/abc"), b["path"]


def test_any_method():
    for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        body = b"payload-" + method.encode() if method in ("POST", "PUT", "PATCH") else None
        r = get("/any/x/y", method=method, body=body)
        b = served_by(r, "1", "v1")
        assert b["method"] == method, "upstream saw %r for %s" % (b["method"], method)
        assert b["path"] == "/x/y"
        if body:
            assert b["body_len"] == len(body) and b["body_sha256"] == h.sha256(body)


def test_exact_method_beats_any():
    served_by(get("/both"), "2", "v2")
    served_by(get("/both", method="POST", body=b""), "1", "v1")
    served_by(get("/both", method="PUT", body=b"1"), "1", "v1")


def test_alias_without_weights():
    for _ in range(30):
        served_by(get("/stable"), "2", "v2")


def test_request_id_on_every_response():
    ids = []
    cases = [("/r/special", "GET", 200), ("/nope", "GET", 404), ("/m/thing", "PUT", 405),
             ("/canary", "GET", 200)]
    for _ in range(8):
        for path, method, status in cases:
            r = get(path, method=method)
            assert r.status == status, "%s %s -> %d" % (method, path, r.status)
            rid = r.headers.get("x-request-id")
            assert rid and rid.strip() == rid and " " not in rid, "bad x-request-id %r" % rid
            assert len(r.all("x-request-id")) == 1, "x-request-id repeated"
            ids.append(rid)
    assert len(set(ids)) == len(ids), "request ids repeat: %d distinct of %d" \
        % (len(set(ids)), len(ids))


def test_request_id_reaches_upstream():
    r = get("/r/special")
    b = served_by(r, "1", "v1")
    seen = [v for k, v in b["headers"] if k.lower() == "x-request-id"]
    assert seen == [r.headers["x-request-id"]], "upstream saw x-request-id %r, client got %r" \
        % (seen, r.headers["x-request-id"])


def test_client_request_id_echoed():
    rid = "client-rid-0123456789abcdef"
    r = get("/r/special", headers={"X-Request-Id": rid})
    b = served_by(r, "1", "v1")
    assert r.headers.get("x-request-id") == rid, "got %r" % r.headers.get("x-request-id")
    seen = [v for k, v in b["headers"] if k.lower() == "x-request-id"]
    assert seen == [rid], "upstream saw %r" % seen
    # error responses keep it too
    r = get("/nope", headers={"x-request-id": rid})
    body = check_error_body(r, 404)
    assert body["request_id"] == rid and r.headers["x-request-id"] == rid


def test_insane_request_id_replaced():
    bad = 'evil "id" <script>' + "x" * 400
    r = get("/r/special", headers={"X-Request-Id": bad})
    b = served_by(r, "1", "v1")
    rid = r.headers.get("x-request-id")
    assert rid and rid != bad and "<" not in rid and '"' not in rid, "kept an insane id: %r" % rid
    seen = [v for k, v in b["headers"] if k.lower() == "x-request-id"]
    assert seen == [rid], "upstream saw %r, client got %r" % (seen, rid)


def test_alias_weights_90_10():
    n_threads, per_thread = 4, 500
    results = [None] * n_threads

    def worker(i):
        counts = {"1": 0, "2": 0}
        errors = []
        with h.KeepAliveClient(SL.port) as c:
            for _ in range(per_thread):
                try:
                    r = c.get("/canary")
                except Exception as e:  # noqa: BLE001 - counted as a failure
                    errors.append(repr(e))
                    continue
                if r.status != 200:
                    errors.append("status %d" % r.status)
                    continue
                v = r.headers.get("x-sluice-function-version")
                name = r.json()["name"]
                if v not in counts or VERSION_OF.get(name) != v:
                    errors.append("version header %r but served by %r" % (v, name))
                    continue
                counts[v] += 1
            results[i] = (counts, errors, c.connects)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60 * h.SCALE)
    assert all(r is not None for r in results), "a client thread did not finish"
    errors = [e for r in results for e in r[1]]
    assert not errors, "%d failures, first: %s" % (len(errors), errors[:5])
    n1 = sum(r[0]["1"] for r in results)
    n2 = sum(r[0]["2"] for r in results)
    assert n1 + n2 == n_threads * per_thread
    share = n2 / float(n1 + n2)
    assert 0.07 <= share <= 0.13, "version 2 got %.3f of the traffic (%d of %d), want 0.10" \
        % (share, n2, n1 + n2)
    connects = [r[2] for r in results]
    assert all(c == 1 for c in connects), "keep-alive not kept: connections per client %r" \
        % connects


if __name__ == "__main__":
    h.run()
