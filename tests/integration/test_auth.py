#!/usr/bin/env python3
"""test_auth.py - the jwt authorizer against the real sluice: 401 for a
missing or bad token (tampered, expired, wrong iss/aud, alg none, key
confusion), 403 for a missing scope, 200 otherwise; routes without an
authorizer; claims_to_headers reach the upstream and spoofed copies never
do; the result cache (auth_cache hit/miss/none in the access log, never
shared between tokens, never past exp); identity sources other than
Authorization; JWKS URLs (served by jwks_server.py) rotated to a new kid
without a restart, the refetch rate limit, the last good set kept while the
server is down, and https with a test CA (jwks_ca_file)."""

import http.client as httpclient
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import jwtmaker as jm  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
JWKS_PY = os.path.join(HERE, "jwks_server.py")

ISS = "https://issuer.test/"
AUD = "api"
HS1 = b"sluice-test-hs256-secret-0123456789abcdefghijklmnop"  # >= 32 bytes
HS1_ENV = "T_HS1"

KEYDIR = None
RSA = EC = ED = None  # (private pem path, public pem path)
UP = None
SL = None
SLUICE_ENV = None
TOKENS_SENT = []  # every token sent in a header: none may show up in a log
DROP = object()   # tok(claim=DROP) removes a default claim


# ------------------------------------------------------------------ helpers


def keypair(kind, name):
    d = os.path.join(KEYDIR, name)
    os.makedirs(d, exist_ok=True)
    return jm.keypair(kind, d)


def claims(**over):
    """make_claims() defaults plus over, with a unique jti (two tokens made
    in the same second would otherwise be byte-identical); DROP removes."""
    c = jm.make_claims()
    c["jti"] = uuid.uuid4().hex
    for k, v in over.items():
        if v is DROP:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def tok(alg="RS256", key=None, kid="rsa-1", header=None, **over):
    """A signed token: RS256 with the rsa-1 key unless told otherwise."""
    if key is None:
        key = HS1 if alg.startswith("HS") else RSA[0]
    t = jm.sign(alg, key, claims(**over), header=header, kid=kid)
    TOKENS_SENT.append(t)
    return t


def bearer(t, **more):
    hd = {"Authorization": "Bearer " + t}
    hd.update(more)
    return hd


def get(port, path, headers=None):
    return h.http(port, "GET", path, headers=headers)


def up_headers(b, name):
    return [v for k, v in b["headers"] if k.lower() == name.lower()]


def echo(resp, path=None):
    """Asserts resp is the upstream's 200 echo; returns its JSON body."""
    assert resp.status == 200, "status %d, want 200 from the upstream: %r %r" \
        % (resp.status, resp.headers.get("www-authenticate"), resp.body[:300])
    b = resp.json()
    assert b.get("name") == "up", "not the upstream's echo: %r" % resp.body[:300]
    if path is not None:
        assert b["path"] == path, "upstream saw path %r, want %r" % (b["path"], path)
    return b


def check_sluice_error(resp, status):
    assert resp.status == status, "status %d, want %d: %r %r" % (
        resp.status, status, resp.headers.get("www-authenticate"), resp.body[:300])
    assert "x-upstream" not in resp.headers, "a %d that came from the upstream" % status
    rid = resp.headers.get("x-request-id")
    assert rid, "no x-request-id on a %d" % status
    body = resp.json()
    assert body.get("request_id") == rid, "body request_id %r, header %r" \
        % (body.get("request_id"), rid)
    assert isinstance(body.get("message"), str) and body["message"], body
    return body


def www_authenticate(resp):
    vals = resp.all("www-authenticate")
    assert len(vals) == 1, "want one WWW-Authenticate, got %r" % vals
    v = vals[0]
    assert re.match(r"Bearer(\s|$)", v), "WWW-Authenticate %r does not start with Bearer" % v
    return v


def check_401(resp, what="", missing=False):
    """A 401 for a missing (missing=True) or bad token."""
    try:
        check_sluice_error(resp, 401)
        v = www_authenticate(resp)
        errs = re.findall(r'error="([^"]*)"', v)
        if missing:
            assert errs in ([], ["invalid_token"]), "WWW-Authenticate %r" % v
        else:
            assert errs == ["invalid_token"], \
                'WWW-Authenticate %r, want Bearer error="invalid_token"' % v
    except AssertionError as e:
        raise AssertionError("%s: %s" % (what, e)) if what else e


def check_403(resp, what=""):
    try:
        check_sluice_error(resp, 403)
        v = www_authenticate(resp)
        assert 'error="insufficient_scope"' in v, \
            'WWW-Authenticate %r, want error="insufficient_scope"' % v
    except AssertionError as e:
        raise AssertionError("%s: %s" % (what, e)) if what else e


def log_rec(sl, rid):
    return sl.wait_access_log(lambda x: x.get("request_id") == rid)


def rid():
    return "rid-" + uuid.uuid4().hex[:16]


def jwt_authorizer(**kw):
    a = {
        "type": "jwt",
        "issuer": ISS,
        "audiences": [AUD],
        "clock_skew_s": 60,
        "identity_source": ["$request.header.Authorization"],
        "cache_ttl_s": 300,
    }
    a.update(kw)
    return a


def orders_function():
    return h.http_function({"1": UP.url}, aliases={"live": {"version": "1"}})


def rsa_key_entry():
    return {"kid": "rsa-1", "file": RSA[1], "algorithms": ["RS256"]}


# ------------------------------------------------------------------ JWKS server


class JwksServer(h.ServerProcess):
    """jwks_server.py as its own process, serving a JWKS document from a
    file that set_doc() rewrites; tls=(cert, key, ca) for https."""

    def __init__(self, doc, name="jwks", tls=None, start_timeout=10.0):
        self.tls = tls
        workdir = tempfile.mkdtemp(prefix="jwks-%s-" % name)
        self.file = os.path.join(workdir, "jwks.json")
        self.set_doc(doc)
        args = [sys.executable, JWKS_PY, "--port", "0", "--file", self.file]
        if tls:
            args += ["--cert", tls[0], "--key", tls[1]]
        super().__init__("jwks-%s" % name, args, workdir, start_timeout)
        scheme = "https" if tls else "http"
        self.url = "%s://127.0.0.1:%d/jwks.json" % (scheme, self.port)

    def set_doc(self, doc):
        tmp = self.file + ".tmp"
        with open(tmp, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))
        os.replace(tmp, self.file)

    def counts(self):
        """{"count", "times", "other"} from the server."""
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.tls[2])
            c = httpclient.HTTPSConnection("127.0.0.1", self.port, timeout=5, context=ctx)
        else:
            c = httpclient.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            c.request("GET", "/_count")
            r = c.getresponse()
            return json.loads(r.read())
        finally:
            c.close()

    def count(self):
        return self.counts()["count"]

    def last_fetch(self):
        t = self.counts()["times"]
        return t[-1] if t else None


def jwks_doc(*jwks):
    return {"keys": list(jwks)}


def jwks_sluice(url, name, **authz):
    """A sluice whose only authorizer "jw" takes its keys from url."""
    a = jwt_authorizer(jwks_url=url, jwks_refresh_s=600)
    a.update(authz)
    cfg = h.make_config(
        functions={"orders": orders_function()},
        routes=[h.route("GET /j/{id}", "orders:live", authorizer="jw"),
                h.route("ANY /public/{proxy+}", "orders:live")],
        authorizers={"jw": a})
    return h.Sluice(cfg, name=name, env=SLUICE_ENV)


def wait_until(t_wall):
    d = t_wall - time.time()
    if d > 0:
        time.sleep(d)


def wait_accepted(sl, priv, kid, timeout=5.0):
    """Polls with fresh tokens signed by priv (kid) until one gets 200."""
    def ok():
        r = get(sl.port, "/j/1", bearer(tok(key=priv, kid=kid)))
        return r.status == 200 and r
    return h.wait_for(ok, timeout * h.SCALE, 0.2, "a %s token accepted" % kid)


# ------------------------------------------------------------------ fixtures


def setup():
    global KEYDIR, RSA, EC, ED, UP, SL, SLUICE_ENV
    KEYDIR = tempfile.mkdtemp(prefix="sluice-auth-keys-")
    RSA = keypair("rsa2048", "rsa")
    EC = keypair("ec256", "ec")
    ED = keypair("ed25519", "ed")
    os.environ[HS1_ENV] = HS1.decode()  # for sluice -t runs too
    SLUICE_ENV = dict(os.environ)
    UP = h.Upstream("up")
    users = jwt_authorizer(
        keys=[rsa_key_entry(),
              {"kid": "hs-1", "secret_env": HS1_ENV, "algorithms": ["HS256"]},
              {"kid": "rsa-ps", "file": RSA[1], "algorithms": ["PS256"]},
              {"kid": "ec-1", "file": EC[1], "algorithms": ["ES256"]},
              {"kid": "ed-1", "file": ED[1], "algorithms": ["EdDSA"]}],
        claims_to_headers={"sub": "x-user-id", "tenant": "x-tenant"})

    def alt(source):
        return jwt_authorizer(keys=[rsa_key_entry()], identity_source=[source])

    authorizers = {
        "users": users,
        "byheader": alt("$request.header.x-token"),
        "byquery": alt("$request.querystring.access_token"),
        "bycookie": alt("$request.cookie.session"),
    }
    routes = [
        h.route("GET /orders/{id}", "orders:live", authorizer="users", scopes=["read:orders"]),
        h.route("GET /admin/{id}", "orders:live", authorizer="users",
                scopes=["read:orders", "admin"]),
        h.route("GET /me", "orders:live", authorizer="users"),
        h.route("ANY /public/{proxy+}", "orders:live"),
        h.route("GET /hdr/{id}", "orders:live", authorizer="byheader"),
        h.route("GET /qs/{id}", "orders:live", authorizer="byquery"),
        h.route("GET /ck/{id}", "orders:live", authorizer="bycookie"),
    ]
    cfg = h.make_config(functions={"orders": orders_function()}, routes=routes,
                        authorizers=authorizers)
    SL = h.Sluice(cfg, name="auth", env=SLUICE_ENV)


def teardown():
    if KEYDIR and not h.KEEP_TMP:
        shutil.rmtree(KEYDIR, ignore_errors=True)


# ------------------------------------------------------------------ tests


def test_config_check_accepts_authorizers():
    code, out, err = h.run_sluice(["-t", "-c", SL.config_path])
    assert code == 0, "sluice -t rejects the authorizers config (%d): %s%s" % (code, out, err)
    bad = json.loads(json.dumps(SL.config))
    bad["authorizers"]["users"]["isuser"] = ISS  # a typo must not pass
    path = os.path.join(SL.dir, "typo.json")
    with open(path, "w") as f:
        json.dump(bad, f, indent=2)
    code, out, err = h.run_sluice(["-t", "-c", path])
    assert code == 1, "an unknown authorizer key passed sluice -t (%d)" % code
    assert "isuser" in out + err, "the error does not name the key: %s%s" % (out, err)


def test_missing_token_401():
    before = UP.requests()
    for what, hd in (("no Authorization", None),
                     ("Basic scheme", {"Authorization": "Basic dXNlcjpwYXNz"}),
                     ("empty Bearer", {"Authorization": "Bearer "}),
                     ("empty header", {"Authorization": ""})):
        r = get(SL.port, "/orders/1", hd)
        check_401(r, what, missing=True)
    r = get(SL.port, "/me", None)
    check_401(r, "/me without a token", missing=True)
    assert UP.requests() == before, "a request without a token reached the upstream"


def test_valid_tokens_200():
    echo(get(SL.port, "/orders/1", bearer(tok(scope="read:orders"))), "/orders/1")
    echo(get(SL.port, "/orders/2", bearer(tok("HS256", kid="hs-1", scope="read:orders"))),
         "/orders/2")
    # aud as an array holding ours; scp (array) instead of scope
    echo(get(SL.port, "/orders/3", bearer(tok(aud=["other", AUD], scope="read:orders"))))
    echo(get(SL.port, "/orders/4", bearer(tok(scope=DROP, scp=["read:orders", "x"]))))
    # within clock_skew_s (60): just expired, not yet valid
    echo(get(SL.port, "/orders/5", bearer(tok(scope="read:orders", exp=jm.now() - 20))))
    echo(get(SL.port, "/orders/6", bearer(tok(scope="read:orders", nbf=jm.now() + 20))))
    # a route with an authorizer but no scopes
    echo(get(SL.port, "/me", bearer(tok(scope="read write"))), "/me")


def test_other_algorithms_200():
    for alg, key, kid in (("PS256", RSA[0], "rsa-ps"), ("ES256", EC[0], "ec-1"),
                          ("EdDSA", ED[0], "ed-1")):
        r = get(SL.port, "/orders/1", bearer(tok(alg, key=key, kid=kid, scope="read:orders")))
        assert r.status == 200, "%s token: status %d %r" % (alg, r.status, r.body[:200])


def test_bad_tokens_401():
    now = jm.now()
    with open(RSA[1], "rb") as f:
        rsa_pub = f.read()
    good = tok(scope="read:orders")
    cases = [
        ("tampered", jm.tamper(good)),
        ("tampered HS256", jm.tamper(tok("HS256", kid="hs-1", scope="read:orders"))),
        ("expired", tok(scope="read:orders", exp=now - 3600, iat=now - 7200)),
        ("no exp", tok(scope="read:orders", exp=DROP)),
        ("nbf in the future", tok(scope="read:orders", nbf=now + 3600)),
        ("wrong iss", tok(scope="read:orders", iss="https://evil.test/")),
        ("iss with a suffix", tok(scope="read:orders", iss=ISS + "x")),
        ("wrong aud", tok(scope="read:orders", aud="other")),
        ("wrong aud array", tok(scope="read:orders", aud=["other", "api2"])),
        ("signed by another secret", tok("HS256", key=b"x" * 48, kid="hs-1",
                                         scope="read:orders")),
        ("HS256 with the RSA public key as secret", tok("HS256", key=rsa_pub, kid="rsa-1",
                                                        scope="read:orders")),
        ("RS256 under the HS kid", tok("RS256", kid="hs-1", scope="read:orders")),
        ("RS384 under an RS256-only kid", tok("RS384", kid="rsa-1", scope="read:orders")),
        ("unknown kid", tok(kid="nope", scope="read:orders")),
        ("garbage", "not.a.token"),
        ("two segments", good.rsplit(".", 1)[0]),
        ("four segments", good + ".AAAA"),
    ]
    for spelling in ("none", "None", "NONE", "nOnE"):
        cases.append(("alg %s" % spelling,
                      jm.unsigned(claims(scope="read:orders"), {"alg": spelling, "typ": "JWT"})))
        cases.append(("alg %s with kid" % spelling,
                      jm.unsigned(claims(scope="read:orders"),
                                  {"alg": spelling, "typ": "JWT", "kid": "rsa-1"})))
    before = UP.requests()
    for what, t in cases:
        TOKENS_SENT.append(t)
        check_401(get(SL.port, "/orders/1", bearer(t)), what)
        # twice: a cached failure stays a failure
        check_401(get(SL.port, "/orders/1", bearer(t)), what + " (repeated)")
    assert UP.requests() == before, "a bad token reached the upstream"


def test_insufficient_scope_403():
    before = UP.requests()
    for what, t in (("scope lacks read:orders", tok(scope="read write")),
                    ("prefix of the scope", tok(scope="read:order")),
                    ("scope as a longer word", tok(scope="read:ordersx")),
                    ("no scope at all", tok(scope=DROP)),
                    ("scp lacks it", tok(scope=DROP, scp=["read", "write"]))):
        check_403(get(SL.port, "/orders/1", bearer(t)), what)
    # every listed scope is required
    check_403(get(SL.port, "/admin/1", bearer(tok(scope="read:orders"))), "one of two scopes")
    assert UP.requests() == before, "a token lacking a scope reached the upstream"
    echo(get(SL.port, "/admin/1", bearer(tok(scope="admin read:orders"))), "/admin/1")


def test_route_without_authorizer_needs_no_token():
    echo(get(SL.port, "/public/x"), "/x")
    # a token, even a bad one, is not checked there
    echo(get(SL.port, "/public/y", {"Authorization": "Bearer not.a.token"}), "/y")


def test_claims_to_headers_reach_upstream():
    t = tok(sub="user-42", tenant="acme", scope="read:orders")
    spoof = [("Authorization", "Bearer " + t), ("X-User-Id", "evil"), ("x-tenant", "evil"),
             ("x-user-id", "evil2"), ("X-TENANT", "evil2")]
    b = echo(get(SL.port, "/orders/9", spoof), "/orders/9")
    assert up_headers(b, "x-user-id") == ["user-42"], "x-user-id upstream: %r" % b["headers"]
    assert up_headers(b, "x-tenant") == ["acme"], "x-tenant upstream: %r" % b["headers"]
    # once more: now from the cache, the same headers
    b = echo(get(SL.port, "/orders/9", spoof), "/orders/9")
    assert up_headers(b, "x-user-id") == ["user-42"], "x-user-id (cached): %r" % b["headers"]
    assert up_headers(b, "x-tenant") == ["acme"], "x-tenant (cached): %r" % b["headers"]
    # a token without the tenant claim: the client's x-tenant is still dropped
    t2 = tok(sub="user-43", tenant=DROP)
    b = echo(get(SL.port, "/me", bearer(t2, **{"x-tenant": "evil", "x-user-id": "evil"})), "/me")
    assert up_headers(b, "x-user-id") == ["user-43"], "x-user-id upstream: %r" % b["headers"]
    assert up_headers(b, "x-tenant") == [], "a spoofed x-tenant passed: %r" % b["headers"]


def test_claim_headers_stripped_without_authorizer():
    t = tok(sub="user-44", tenant="acme")
    hd = [("x-user-id", "evil"), ("X-Tenant", "evil"), ("Authorization", "Bearer " + t),
          ("x-other", "kept")]
    b = echo(get(SL.port, "/public/spoof", hd), "/spoof")
    assert up_headers(b, "x-user-id") == [], "x-user-id passed a route without authorizer: %r" \
        % b["headers"]
    assert up_headers(b, "x-tenant") == [], "x-tenant passed a route without authorizer: %r" \
        % b["headers"]
    assert up_headers(b, "x-other") == ["kept"]


def test_auth_cache_miss_then_hit_in_access_log():
    t = tok(scope="read:orders")
    r1, r2, r3, r4 = rid(), rid(), rid(), rid()
    with h.KeepAliveClient(SL.port) as c:  # one connection: one worker, one cache
        echo(c.get("/orders/1", bearer(t, **{"x-request-id": r1})))
        echo(c.get("/orders/1", bearer(t, **{"x-request-id": r2})))
        # the same token on another route of the same authorizer: same entry
        echo(c.get("/me", bearer(t, **{"x-request-id": r3})))
        echo(c.get("/public/p", {"x-request-id": r4}))
        assert c.connects == 1, "sluice closed the keep-alive connection"
    got = [log_rec(SL, x).get("auth_cache") for x in (r1, r2, r3, r4)]
    assert got == ["miss", "hit", "hit", "none"], \
        "auth_cache for first, repeat, other route, no authorizer: %r" % got


def test_scope_checked_on_cached_result():
    t = tok(scope="read write")
    r1, r2 = rid(), rid()
    with h.KeepAliveClient(SL.port) as c:
        echo(c.get("/me", bearer(t, **{"x-request-id": r1})), "/me")
        check_403(c.request("GET", "/orders/1", bearer(t, **{"x-request-id": r2})),
                  "cached token lacking the scope")
    assert log_rec(SL, r1).get("auth_cache") == "miss"
    assert log_rec(SL, r2).get("auth_cache") == "hit", "repeat on another route not a hit"


def test_cached_token_does_not_let_variants_pass():
    t = tok(scope="read:orders")
    bad = jm.tamper(t)
    TOKENS_SENT.append(bad)
    with h.KeepAliveClient(SL.port) as c:
        echo(c.get("/orders/1", bearer(t)))
        echo(c.get("/orders/1", bearer(t)))  # now surely cached
        check_401(c.get("/orders/1", bearer(bad)), "tampered variant of a cached token")
        check_401(c.get("/orders/1", bearer(t[:-2])), "truncated variant of a cached token")
        check_401(c.get("/orders/1", bearer(t + "A")), "extended variant of a cached token")
        echo(c.get("/orders/1", bearer(t)))


def test_other_identity_sources():
    t = tok()
    TOKENS_SENT.remove(t)  # sent in a query string too: the path may be logged
    echo(get(SL.port, "/hdr/1", {"x-token": t}), "/hdr/1")
    check_401(get(SL.port, "/hdr/1", {"x-token": jm.tamper(t)}), "tampered in x-token")
    check_401(get(SL.port, "/hdr/1", bearer(t)), "token in Authorization, not x-token",
              missing=True)
    echo(get(SL.port, "/qs/1?access_token=" + t), "/qs/1?access_token=" + t)
    check_401(get(SL.port, "/qs/1"), "no access_token", missing=True)
    check_401(get(SL.port, "/qs/1?access_token=" + jm.tamper(t)), "tampered access_token")
    echo(get(SL.port, "/ck/1", {"Cookie": "a=b; session=%s; c=d" % t}), "/ck/1")
    check_401(get(SL.port, "/ck/1", {"Cookie": "a=b"}), "no session cookie", missing=True)
    check_401(get(SL.port, "/ck/1", {"Cookie": "session=" + jm.tamper(t)}), "tampered cookie")


def test_cache_never_outlives_exp():
    cfg = h.make_config(
        functions={"orders": orders_function()},
        routes=[h.route("GET /me", "orders:live", authorizer="users")],
        authorizers={"users": jwt_authorizer(keys=[rsa_key_entry()], clock_skew_s=0)})
    with h.Sluice(cfg, name="auth-exp", env=SLUICE_ENV) as sl:
        exp = int(time.time()) + 3
        t = tok(exp=exp)
        with h.KeepAliveClient(sl.port) as c:
            echo(c.get("/me", bearer(t)), "/me")
            echo(c.get("/me", bearer(t)), "/me")
            wait_until(exp + 1.2)
            check_401(c.get("/me", bearer(t)), "cached token past its exp")


def test_jwks_rotation_without_restart():
    k1 = keypair("rsa2048", "jwks-k1")
    k2 = keypair("rsa2048", "jwks-k2")
    srv = JwksServer(jwks_doc(jm.jwk_public(k1[1], kid="k1", alg="RS256")), name="rot")
    sl = jwks_sluice(srv.url, "auth-jwks-rot")
    wait_accepted(sl, k1[0], "k1")
    assert srv.count() >= 1

    # Rotate, clear of the refetch rate limit: a token naming the new kid
    # makes sluice refetch at once.
    wait_until(srv.last_fetch() + 5.5)
    srv.set_doc(jwks_doc(jm.jwk_public(k2[1], kid="k2", alg="RS256")))
    c0 = srv.count()
    r = get(sl.port, "/j/1", bearer(tok(key=k2[0], kid="k2")))
    if r.status != 200:
        check_401(r, "first k2 token (before the refetch landed)")
    h.wait_for(lambda: srv.count() > c0, 1.5 * h.SCALE, 0.05,
               "an immediate JWKS refetch after an unknown kid")
    if r.status != 200:
        wait_accepted(sl, k2[0], "k2", timeout=2.0)
    echo(get(sl.port, "/j/2", bearer(tok(key=k2[0], kid="k2"))), "/j/2")

    # The JWKS server goes away: the last good set stays in use, also after
    # a refetch (asked for by an unknown kid) has failed.
    last = srv.last_fetch()
    srv.kill()
    echo(get(sl.port, "/j/3", bearer(tok(key=k2[0], kid="k2"))), "/j/3")
    wait_until(last + 5.5)
    check_401(get(sl.port, "/j/4", bearer(tok(key=k2[0], kid="k3"))), "unknown kid k3")
    time.sleep(0.5)
    check_401(get(sl.port, "/j/4", bearer(tok(key=k2[0], kid="k4"))), "unknown kid k4")
    for i in range(3):
        echo(get(sl.port, "/j/5", bearer(tok(key=k2[0], kid="k2"))), "/j/5")
    assert sl.alive(), "sluice died after the JWKS server went away"


def test_jwks_refetch_rate_limited():
    k1 = keypair("rsa2048", "jwks-rl")
    srv = JwksServer(jwks_doc(jm.jwk_public(k1[1], kid="k1", alg="RS256")), name="rl")
    sl = jwks_sluice(srv.url, "auth-jwks-rl")
    wait_accepted(sl, k1[0], "k1")
    wait_until(srv.last_fetch() + 5.5)
    toks = [tok(key=k1[0], kid="unknown-" + uuid.uuid4().hex[:12]) for _ in range(20)]
    c0 = srv.count()
    t0 = time.time()
    for i, t in enumerate(toks):
        check_401(get(sl.port, "/j/%d" % i, bearer(t)), "random unknown kid #%d" % i)
    took = time.time() - t0
    assert took < 4.0 * h.SCALE, "20 unknown-kid requests took %.1fs" % took
    wait_until(t0 + 5.0)
    times = [x for x in srv.counts()["times"][c0:] if x < t0 + 5.0]
    assert 1 <= len(times) <= 2, "%d JWKS fetches within 5 s of 20 unknown kids (want 1..2)" \
        % len(times)
    # the set is still the good one
    echo(get(sl.port, "/j/ok", bearer(tok(key=k1[0], kid="k1"))), "/j/ok")


def make_test_ca(d):
    """A CA and a server certificate for 127.0.0.1 made with the openssl
    CLI: returns (server cert, server key, CA cert)."""
    def ossl(*args):
        p = subprocess.run(["openssl"] + list(args), cwd=d, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        assert p.returncode == 0, "openssl %s: %s" % (" ".join(args), p.stderr.decode()[-800:])
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
         "ca.crt", "-days", "2", "-subj", "/CN=sluice test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
         "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        # An IP SAN (for IP checks) and no DNS SAN, so that a host name
        # check of "127.0.0.1" falls back to the CN: either way verifies.
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n")
    ossl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "srv.crt", "-days", "2", "-extfile", "ext.cnf")
    return tuple(os.path.join(d, n) for n in ("srv.crt", "srv.key", "ca.crt"))


def test_jwks_over_https_with_ca_file():
    d = os.path.join(KEYDIR, "tls")
    os.makedirs(d, exist_ok=True)
    tls = make_test_ca(d)
    k1 = keypair("rsa2048", "jwks-tls")
    srv = JwksServer(jwks_doc(jm.jwk_public(k1[1], kid="k1", alg="RS256")), name="tls", tls=tls)
    assert srv.url.startswith("https://")
    with jwks_sluice(srv.url, "auth-jwks-tls", jwks_ca_file=tls[2]) as sl:
        wait_accepted(sl, k1[0], "k1")
    assert srv.count() >= 1

    # Without the CA the server's certificate cannot be verified: no key,
    # no GET reaches the server, and sluice keeps serving.
    c0 = srv.count()
    with jwks_sluice(srv.url, "auth-jwks-tls-noca") as sl:
        time.sleep(1.0 * h.SCALE)  # its first fetch has had time to fail
        for i in range(3):
            check_401(get(sl.port, "/j/%d" % i, bearer(tok(key=k1[0], kid="k1"))),
                      "k1 token while the JWKS server is not trusted (#%d)" % i)
        echo(get(sl.port, "/public/still"), "/still")
        assert sl.alive(), "sluice died after failing to verify the JWKS server"
    assert srv.count() == c0, "sluice fetched the JWKS from an unverified server"


def test_no_token_in_logs():
    time.sleep(0.3)
    texts = {"access log": "", "stderr": SL.stderr_text(), "stdout": SL.stdout_text()}
    with open(SL.access_log_path, "rb") as f:
        texts["access log"] = f.read().decode("utf-8", "replace")
    assert TOKENS_SENT
    for t in TOKENS_SENT:
        parts = t.split(".")
        needles = [t] + [p for p in parts[1:] if len(p) >= 16]
        for where, text in texts.items():
            for n in needles:
                assert n not in text, "a token (or part) is in sluice's %s: %r" % (where, n[:40])


if __name__ == "__main__":
    h.run()
