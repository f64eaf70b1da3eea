#!/usr/bin/env python3
"""test_auth_redis.py - the authorizer result cache shared through a real
redis-server (started here): a token verified by sluice A is a hit on
sluice B (its access log says so), no raw token is stored in Redis,
redis-server killed (SIGKILL) in the middle of load costs zero failed
requests, and once it is back on the same port sharing resumes."""

import os
import shutil
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from redisserver import REDIS_SERVER, RedisServer  # noqa: E402
import jwtmaker as jm  # noqa: E402

PREFIX = "t:"
SHARED_HIT = ("hit", "redis-hit")  # what B's access log may say for a shared entry

KEYDIR = None
RSA = None
UP = None
REDIS = None
A = B = None


# ------------------------------------------------------------------ helpers


def tok(**over):
    c = jm.make_claims(scope="read:orders", jti=uuid.uuid4().hex)
    c.update(over)
    return jm.sign("RS256", RSA[0], c, kid="rsa-1")


def rid():
    return "rid-" + uuid.uuid4().hex[:16]


def get(sl, path, token, request_id=None):
    hd = {"Authorization": "Bearer " + token}
    if request_id:
        hd["x-request-id"] = request_id
    return h.http(sl.port, "GET", path, headers=hd)


def echo(resp):
    assert resp.status == 200, "status %d: %r %r" % (resp.status,
                                                      resp.headers.get("www-authenticate"),
                                                      resp.body[:300])
    b = resp.json()
    assert b.get("name") == "up", "not the upstream's echo: %r" % resp.body[:300]
    return b


def auth_cache(sl, request_id):
    rec = sl.wait_access_log(lambda x: x.get("request_id") == request_id)
    assert "auth_cache" in rec, "access log line lacks auth_cache: %r" % rec
    return rec["auth_cache"]


def prefixed_keys():
    return [k for k in REDIS.keys() if k.startswith(PREFIX)]


def make_sluice(name):
    cfg = h.make_config(
        functions={"orders": h.http_function({"1": UP.url}, aliases={"live": {"version": "1"}})},
        routes=[h.route("GET /orders/{id}", "orders:live", authorizer="users",
                        scopes=["read:orders"]),
                h.route("ANY /public/{proxy+}", "orders:live")],
        authorizers={"users": {
            "type": "jwt",
            "issuer": "https://issuer.test/",
            "audiences": ["api"],
            "keys": [{"kid": "rsa-1", "file": RSA[1], "algorithms": ["RS256"]}],
            "clock_skew_s": 60,
            "identity_source": ["$request.header.Authorization"],
            "cache_ttl_s": 300,
            "claims_to_headers": {"sub": "x-user-id", "tenant": "x-tenant"},
        }},
        redis={"address": "127.0.0.1:%d" % REDIS.port, "prefix": PREFIX, "timeout_ms": 200})
    return h.Sluice(cfg, name=name)


def shared_once(what):
    """A new token verified by A (a miss there), then sent to B; returns
    B's auth_cache value (and checks B served it with A's claims)."""
    sub = "user-" + uuid.uuid4().hex[:8]
    t = tok(sub=sub, tenant="acme")
    ra, rb = rid(), rid()
    try:
        n_before = len(prefixed_keys())
    except (OSError, ConnectionError):
        n_before = 0
    echo(get(A, "/orders/1", t, ra))
    got_a = auth_cache(A, ra)
    assert got_a == "miss", "%s: A's first request of a new token logged auth_cache %r" \
        % (what, got_a)
    # A's write to Redis is asynchronous: give it a moment to land (a new
    # key under the prefix; B is asked anyway when none shows up).
    try:
        h.wait_for(lambda: len(prefixed_keys()) > n_before, 0.5 * h.SCALE, 0.02,
                   "a new key in redis")
    except (AssertionError, OSError, ConnectionError):
        pass
    b = echo(get(B, "/orders/2", t, rb))
    hdrs = {k.lower(): v for k, v in b["headers"]}
    assert hdrs.get("x-user-id") == sub and hdrs.get("x-tenant") == "acme", \
        "%s: B forwarded claim headers %r, want sub %r tenant acme" \
        % (what, {k: hdrs.get(k) for k in ("x-user-id", "x-tenant")}, sub)
    return t, auth_cache(B, rb)


# ------------------------------------------------------------------ fixtures


def setup():
    global KEYDIR, RSA, UP, REDIS, A, B
    KEYDIR = tempfile.mkdtemp(prefix="sluice-authredis-keys-")
    RSA = jm.keypair("rsa2048", KEYDIR)
    UP = h.Upstream("up")
    REDIS = RedisServer()
    A = make_sluice("auth-redis-a")
    B = make_sluice("auth-redis-b")


def teardown():
    if KEYDIR and not h.KEEP_TMP:
        shutil.rmtree(KEYDIR, ignore_errors=True)


# ------------------------------------------------------------------ tests


def test_b_answers_from_what_a_verified():
    t, got = shared_once("shared cache")
    assert got in SHARED_HIT, "B's access log says auth_cache %r for a token A verified " \
        "(want one of %r)" % (got, SHARED_HIT)
    keys = prefixed_keys()
    assert keys, "nothing under the prefix %r in redis: %r" % (PREFIX, REDIS.keys()[:10])
    # hashed keys: no token in a key or a value
    sig = t.rsplit(".", 1)[1]
    for k in REDIS.keys():
        assert t not in k and sig not in k, "a raw token is a redis key: %r" % k[:80]
        if REDIS.cmd("TYPE", k) == "string":
            v = (REDIS.cmd("GET", k) or b"").decode("latin-1")
            assert t not in v and sig not in v, "a raw token is in the redis value of %r" % k


def test_b_still_refuses_bad_tokens():
    t = tok()
    echo(get(A, "/orders/1", t))
    time.sleep(0.3)
    r = get(B, "/orders/1", jm.tamper(t))
    assert r.status == 401, "a tampered variant of a shared token got %d on B" % r.status
    r = get(B, "/orders/1", tok(scope="read write"))
    assert r.status == 403, "a token lacking the scope got %d on B" % r.status


@h.timeout(60)
def test_redis_killed_under_load_zero_failures():
    n_threads, per_thread, new_every = 4, 200, 5
    # Tokens made beforehand (openssl is slow next to sluice): a new one
    # every new_every requests, repeats of the thread's latest otherwise.
    per = per_thread // new_every
    toks = [[None] * per for _ in range(n_threads)]

    def make(i):
        for k in range(per):
            toks[i][k] = tok(sub="load-%d-%d" % (i, k))
    makers = [threading.Thread(target=make, args=(i,), daemon=True) for i in range(n_threads)]
    for m in makers:
        m.start()
    for m in makers:
        m.join(40)
    assert all(t for row in toks for t in row), "tokens not made in time"

    lock = threading.Lock()
    done = [0]
    failures = []
    slowest = [0.0]
    killed_at = [None]
    stop = threading.Event()

    def load(i):
        with h.KeepAliveClient(A.port) as c:
            for k in range(per_thread):
                t = toks[i][k // new_every]
                try:
                    r = c.get("/orders/%d" % k, {"Authorization": "Bearer " + t})
                    if r.status != 200:
                        with lock:
                            failures.append("thread %d req %d: status %d %r"
                                            % (i, k, r.status, r.body[:120]))
                    with lock:
                        slowest[0] = max(slowest[0], r.elapsed)
                except Exception as e:  # noqa: BLE001
                    with lock:
                        failures.append("thread %d req %d: %r" % (i, k, e))
                with lock:
                    done[0] += 1

    def killer():
        total = n_threads * per_thread
        while not stop.is_set():
            with lock:
                n = done[0]
            if n >= total // 4:
                REDIS.kill()
                killed_at[0] = n
                return
            time.sleep(0.002)

    threads = [threading.Thread(target=load, args=(i,), daemon=True) for i in range(n_threads)]
    kt = threading.Thread(target=killer, daemon=True)
    kt.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(45 * h.SCALE)
    stop.set()
    kt.join(5)
    assert not any(t.is_alive() for t in threads), "client threads hung"
    total = n_threads * per_thread
    assert killed_at[0] is not None and killed_at[0] < total, \
        "redis-server was not killed during the load (at %r of %d)" % (killed_at[0], total)
    assert not REDIS.alive()
    assert not failures, "%d of %d requests failed with redis-server killed at request %d; " \
        "first: %s" % (len(failures), total, killed_at[0], failures[:3])
    assert done[0] == total
    assert slowest[0] < 2.0 * h.SCALE, "a request took %.2fs while Redis was down" % slowest[0]
    # and afterwards, still down: new and known tokens are served
    echo(get(A, "/orders/1", tok()))
    echo(get(B, "/orders/1", toks[0][0]))
    assert A.alive() and B.alive()


def test_redis_restarted_sharing_resumes():
    if REDIS.alive():  # the test before did not get as far as killing it
        REDIS.kill()
        time.sleep(0.5)
    REDIS.start()
    t0 = time.monotonic()
    seen = []
    deadline = t0 + 10.0 * h.SCALE
    while True:
        _, got = shared_once("after the restart")
        seen.append(got)
        if got in SHARED_HIT:
            break
        assert got == "miss", "B's auth_cache %r" % got
        assert time.monotonic() < deadline, \
            "sharing did not resume within 10 s of redis-server's restart (B said %r)" % seen
        time.sleep(0.3)
    assert prefixed_keys(), "the restarted redis holds nothing under %r" % PREFIX


if __name__ == "__main__":
    if REDIS_SERVER is None:
        print("SKIP - %s: redis-server not found" % os.path.basename(__file__))
        sys.exit(h.SKIP)
    h.run()
