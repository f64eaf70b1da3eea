"""jwt_vectors - writes OUTDIR/vectors.json for tests/unit/test_jwt.c: keys, key sets,
policies, tokens signed with jwtmaker (the openssl command line) and the exact jwt_verify
status each must get, and key files or documents that loading must refuse."""

import base64
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import jwtmaker as jm  # noqa: E402

ISS = "https://issuer.test/"


def main(out):
    os.makedirs(out, exist_ok=True)
    T = jm.now()
    doc = {"now": T, "policies": {}, "keysets": {}, "vectors": [], "load_errors": []}

    def policy(name, issuer=ISS, audiences=("api",), skew=60, max_bytes=8192):
        doc["policies"][name] = {"issuer": issuer, "audiences": list(audiences), "skew": skew,
                                 "max_token_bytes": max_bytes}

    policy("std")
    policy("noskew", skew=0)
    policy("open", issuer=None, audiences=(), skew=0)
    policy("multi_aud", audiences=("other", "api2"))
    policy("small", max_bytes=600)
    policy("big", max_bytes=1 << 20)
    policy("default_cap", max_bytes=0)

    def vec(name, token, sets, expect, pol="std", scopes=None):
        v = {"name": name, "token": token, "sets": sets, "policy": pol, "expect": expect}
        if scopes is not None:
            v["scopes"] = [{"want": w, "expect": e} for w, e in scopes]
        doc["vectors"].append(v)

    def write(name, data):
        path = os.path.join(out, name)
        with open(path, "w" if isinstance(data, str) else "wb") as f:
            f.write(data)
        return path

    def openssl(*args):
        subprocess.run([jm.OPENSSL] + list(args), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    # ---- keys
    rsa, rsa_pub = jm.keypair("rsa2048", out)
    rsa2, rsa2_pub = jm.keypair("rsa2048", out)
    ec256, ec256_pub = jm.keypair("ec256", out)
    ec256b, ec256b_pub = jm.keypair("ec256", out)
    ec384, ec384_pub = jm.keypair("ec384", out)
    ec521, ec521_pub = jm.keypair("ec521", out)
    ed, ed_pub = jm.keypair("ed25519", out)
    ed2, ed2_pub = jm.keypair("ed25519", out)
    secret = os.urandom(64)
    secret2 = os.urandom(32)
    cert = os.path.join(out, "rsa-cert.pem")
    openssl("req", "-x509", "-new", "-key", rsa, "-subj", "/CN=issuer.test", "-days", "2",
            "-out", cert)

    RS = ["RS256", "RS384", "RS512"]
    PS = ["PS256", "PS384", "PS512"]
    HS = ["HS256", "HS384", "HS512"]

    def pem(path, kid, algs):
        return {"pem": path, "kid": kid, "algs": algs}

    def sec(s, kid, algs):
        return {"secret": jm.b64url(s), "kid": kid, "algs": algs}

    ks = doc["keysets"]
    ks["pem"] = [pem(rsa_pub, "rsa-1", RS + PS), pem(ec256_pub, "ec-256", ["ES256"]),
                 pem(ec384_pub, "ec-384", ["ES384"]), pem(ec521_pub, "ec-521", ["ES512"]),
                 pem(ed_pub, "ed-1", ["EdDSA"])]
    ks["pem_nokid"] = [dict(e, kid=None) for e in ks["pem"]]
    ks["hs"] = [sec(secret, "hs-1", HS)]
    ks["hs_nokid"] = [sec(secret2, None, ["HS256"])]
    ks["rsa_rs_only"] = [pem(rsa_pub, "rsa-1", ["RS256"])]
    ks["rsa_ps_only"] = [pem(rsa_pub, "rsa-1", ["PS256"])]
    ks["ec384_only"] = [pem(ec384_pub, "ec-384", ["ES384"])]
    ks["cert"] = [pem(cert, "cert-1", ["RS256"])]
    ks["dup_kid"] = [pem(rsa2_pub, "k", ["RS256"]), pem(rsa_pub, "k", ["RS256"])]
    many = [os.urandom(32) for _ in range(20)]
    ks["many_hs"] = [sec(s, None, ["HS256"]) for s in many]

    pub_jwks = jm.jwks(
        *[jm.jwk_public(rsa_pub, kid="rsa-" + a.lower(), alg=a) for a in RS + PS],
        jm.jwk_public(rsa_pub, kid="rsa-default"),               # no alg: RS256
        jm.jwk_public(ec256_pub, kid="ec-256"),                  # no alg: ES256
        jm.jwk_public(ec384_pub, kid="ec-384", alg="ES384"),
        jm.jwk_public(ec521_pub, kid="ec-521"),                  # no alg: ES512
        jm.jwk_public(ed_pub, kid="ed-1"),                       # no alg: EdDSA
        # skipped, not refused:
        dict(jm.jwk_public(rsa2_pub, kid="enc-1"), use="enc"),
        dict(jm.jwk_public(rsa2_pub, kid="oaep"), alg="RSA-OAEP"),
        dict(jm.jwk_public(rsa2_pub, kid="ops"), key_ops=["encrypt"]),
        {"kty": "EC", "crv": "secp256k1", "x": jm.b64url(b"\1" * 32), "y": jm.b64url(b"\2" * 32)},
        {"kty": "OKP", "crv": "X25519", "x": jm.b64url(b"\3" * 32)},
        {"kty": "foo", "kid": "foo"},
        jm.jwk_oct(secret, kid="oct-hidden"),                    # oct without allow_oct
    )
    # a JWK with "use": "sig" and "key_ops": ["verify"] is fine
    pub_jwks["keys"].append(dict(jm.jwk_public(ed2_pub, kid="ed-2"), use="sig", key_ops=["verify"]))
    ks["jwks_pub"] = [{"jwks": write("pub.jwks.json", json.dumps(pub_jwks)), "allow_oct": False,
                       "expect_added": 12, "expect_skipped": 7}]
    oct_jwks = jm.jwks(jm.jwk_oct(secret, kid="oct-256", alg="HS256"),
                       jm.jwk_oct(secret, kid="oct-384", alg="HS384"),
                       jm.jwk_oct(secret, kid="oct-512", alg="HS512"),
                       jm.jwk_oct(secret2, kid="oct-default", alg=None))
    ks["jwks_oct"] = [{"jwks": write("oct.jwks.json", json.dumps(oct_jwks)), "allow_oct": True,
                       "expect_added": 4, "expect_skipped": 0}]

    claims = jm.make_claims(iat=T, exp=T + 3600)

    def swap_payload(token, new_claims):
        h, _, s = token.split(".")
        return h + "." + jm.b64url(json.dumps(new_claims, separators=(",", ":"))) + "." + s

    evil = dict(claims, sub="admin")

    def truncate_sig(token):
        """Drops the last 3 bytes of the signature, keeping canonical base64url."""
        h, p, s = token.split(".")
        return h + "." + p + "." + jm.b64url(base64.urlsafe_b64decode(s + "==")[:-3])

    # ---- every algorithm, valid and spoiled, from PEM keys and from JWKS
    signers = [("HS256", secret, "hs-1", "oct-256"), ("HS384", secret, "hs-1", "oct-384"),
               ("HS512", secret, "hs-1", "oct-512"),
               ("RS256", rsa, "rsa-1", "rsa-rs256"), ("RS384", rsa, "rsa-1", "rsa-rs384"),
               ("RS512", rsa, "rsa-1", "rsa-rs512"), ("PS256", rsa, "rsa-1", "rsa-ps256"),
               ("PS384", rsa, "rsa-1", "rsa-ps384"), ("PS512", rsa, "rsa-1", "rsa-ps512"),
               ("ES256", ec256, "ec-256", "ec-256"), ("ES384", ec384, "ec-384", "ec-384"),
               ("ES512", ec521, "ec-521", "ec-521"), ("EdDSA", ed, "ed-1", "ed-1")]
    for alg, key, kid, jkid in signers:
        hs = alg.startswith("HS")
        pem_set, jwks_set = ("hs" if hs else "pem"), ("jwks_oct" if hs else "jwks_pub")
        t = jm.sign(alg, key, claims, kid=kid)
        vec(alg + " pem", t, [pem_set], "JOSE_OK",
            scopes=[(["read"], 1), (["read", "write"], 1), (["admin"], 0)])
        vec(alg + " pem tampered signature", jm.tamper(t), [pem_set], "JOSE_BAD_SIGNATURE")
        vec(alg + " pem tampered payload", swap_payload(t, evil), [pem_set], "JOSE_BAD_SIGNATURE")
        vec(alg + " pem empty signature", t[: t.rindex(".") + 1], [pem_set], "JOSE_BAD_SIGNATURE")
        vec(alg + " pem truncated signature", truncate_sig(t), [pem_set], "JOSE_BAD_SIGNATURE")
        # RFC 9068 access tokens: a typ libjwt 1.10 refuses, so OpenSSL checks them
        at = jm.sign(alg, key, claims, header={"alg": alg, "typ": "at+jwt", "kid": kid})
        vec(alg + " typ at+jwt", at, [pem_set], "JOSE_OK")
        vec(alg + " typ at+jwt tampered", jm.tamper(at), [pem_set], "JOSE_BAD_SIGNATURE")
        vec(alg + " typ at+jwt tampered payload", swap_payload(at, evil), [pem_set],
            "JOSE_BAD_SIGNATURE")
        vec(alg + " no typ", jm.sign(alg, key, claims, header={"alg": alg, "kid": kid}), [pem_set],
            "JOSE_OK")
        if not hs:
            vec(alg + " pem no kid", jm.sign(alg, key, claims), ["pem_nokid"], "JOSE_OK")
            vec(alg + " no kid, keys with kids", jm.sign(alg, key, claims), ["pem"], "JOSE_OK")
        tj = jm.sign(alg, key, claims, kid=jkid)
        vec(alg + " jwks", tj, [jwks_set], "JOSE_OK")
        vec(alg + " jwks tampered", jm.tamper(tj), [jwks_set], "JOSE_BAD_SIGNATURE")
    vec("HS256 secret without kid", jm.sign("HS256", secret2, claims), ["hs_nokid"], "JOSE_OK")
    vec("HS256 jwks oct without alg", jm.sign("HS256", secret2, claims, kid="oct-default"),
        ["jwks_oct"], "JOSE_OK")
    vec("HS384 against an HS256-only jwks oct",
        jm.sign("HS384", secret2, claims, kid="oct-default"), ["jwks_oct"], "JOSE_BAD_ALG")
    vec("RS256 jwks without alg", jm.sign("RS256", rsa, claims, kid="rsa-default"), ["jwks_pub"],
        "JOSE_OK")
    vec("PS256 against a jwks RSA key without alg (RS256)",
        jm.sign("PS256", rsa, claims, kid="rsa-default"), ["jwks_pub"], "JOSE_BAD_ALG")
    vec("EdDSA jwks use sig key_ops verify", jm.sign("EdDSA", ed2, claims, kid="ed-2"),
        ["jwks_pub"], "JOSE_OK")
    vec("RS256 jwks use enc key skipped", jm.sign("RS256", rsa2, claims, kid="enc-1"), ["jwks_pub"],
        "JOSE_UNKNOWN_KID")
    vec("HS256 jwks oct not allowed", jm.sign("HS256", secret, claims, kid="oct-hidden"),
        ["jwks_pub"], "JOSE_UNKNOWN_KID")
    vec("RS256 certificate", jm.sign("RS256", rsa, claims, kid="cert-1"), ["cert"], "JOSE_OK")
    vec("RS256 second key of a kid", jm.sign("RS256", rsa, claims, kid="k"), ["dup_kid"], "JOSE_OK")
    vec("RS256 wrong key", jm.sign("RS256", rsa2, claims, kid="rsa-1"), ["pem"],
        "JOSE_BAD_SIGNATURE")
    vec("ES256 wrong key", jm.sign("ES256", ec256b, claims, kid="ec-256"), ["pem"],
        "JOSE_BAD_SIGNATURE")
    vec("EdDSA wrong key", jm.sign("EdDSA", ed2, claims, kid="ed-1"), ["pem"], "JOSE_BAD_SIGNATURE")
    vec("HS256 wrong secret", jm.sign("HS256", secret2, claims, kid="hs-1"), ["hs"],
        "JOSE_BAD_SIGNATURE")
    vec("HS256 16th candidate", jm.sign("HS256", many[15], claims), ["many_hs"], "JOSE_OK")
    vec("HS256 17th candidate is not tried", jm.sign("HS256", many[16], claims), ["many_hs"],
        "JOSE_BAD_SIGNATURE")
    vec("RS256 two sets", jm.sign("RS256", rsa, claims, kid="rsa-1"), ["hs", "pem"], "JOSE_OK")

    # ---- algorithm attacks
    rs = jm.sign("RS256", rsa, claims, kid="rsa-1")
    rs_sig = rs.split(".")[2]
    for name in ["none", "None", "NONE", "nOnE"]:
        for kid in [None, "rsa-1"]:
            h = {"alg": name, "typ": "JWT"}
            if kid:
                h["kid"] = kid
            u = jm.unsigned(claims, h)
            label = "alg %s%s" % (name, " kid" if kid else "")
            vec(label + " unsigned", u, ["pem", "hs"], "JOSE_BAD_ALG")
            vec(label + " with signature", u + rs_sig, ["pem", "hs"], "JOSE_BAD_ALG")
    vec("alg none against open policy", jm.unsigned(claims), ["pem"], "JOSE_BAD_ALG", pol="open")
    with open(rsa_pub, "rb") as f:
        rsa_pem = f.read()
    vec("HS256 signed with the RSA PEM, kid", jm.sign("HS256", rsa_pem, claims, kid="rsa-1"),
        ["pem"], "JOSE_BAD_ALG")
    vec("HS256 signed with the RSA PEM, no kid", jm.sign("HS256", rsa_pem, claims), ["pem"],
        "JOSE_BAD_ALG")
    vec("HS256 signed with the RSA PEM, jwks", jm.sign("HS256", rsa_pem, claims, kid="rsa-rs256"),
        ["jwks_pub"], "JOSE_BAD_ALG")
    vec("HS256 signed with the RSA PEM, with an HS key set too", jm.sign("HS256", rsa_pem, claims),
        ["hs", "pem"], "JOSE_BAD_SIGNATURE")
    with open(ec256_pub, "rb") as f:
        ec_pem = f.read()
    vec("HS256 signed with the EC PEM", jm.sign("HS256", ec_pem, claims, kid="ec-256"), ["pem"],
        "JOSE_BAD_ALG")
    vec("kid of an EC key, alg RS256", jm.sign("RS256", rsa, claims, kid="ec-256"), ["pem"],
        "JOSE_BAD_ALG")
    vec("kid of a P-256 key, alg ES384", jm.sign("ES384", ec384, claims, kid="ec-256"), ["pem"],
        "JOSE_BAD_ALG")
    vec("kid of an HS key, alg RS256", jm.sign("RS256", rsa, claims, kid="hs-1"), ["hs", "pem"],
        "JOSE_BAD_ALG")
    vec("kid of an RSA key, alg EdDSA", jm.sign("EdDSA", ed, claims, kid="rsa-1"), ["pem"],
        "JOSE_BAD_ALG")
    vec("kid of a jwks RS256 key, alg RS384", jm.sign("RS384", rsa, claims, kid="rsa-rs256"),
        ["jwks_pub"], "JOSE_BAD_ALG")
    vec("unknown kid", jm.sign("RS256", rsa, claims, kid="nope"), ["pem"], "JOSE_UNKNOWN_KID")
    vec("unknown kid, alg none", jm.unsigned(claims, {"alg": "none", "kid": "nope"}), ["pem"],
        "JOSE_BAD_ALG")
    vec("RS256 against a PS256-only key", jm.sign("RS256", rsa, claims, kid="rsa-1"),
        ["rsa_ps_only"], "JOSE_BAD_ALG")
    vec("PS256 against an RS256-only key", jm.sign("PS256", rsa, claims, kid="rsa-1"),
        ["rsa_rs_only"], "JOSE_BAD_ALG")
    vec("PS256 signature labelled RS256",
        jm.sign("PS256", rsa, claims, header={"alg": "RS256", "typ": "JWT", "kid": "rsa-1"}),
        ["pem"], "JOSE_BAD_SIGNATURE")
    vec("RS256 signature labelled PS256",
        jm.sign("RS256", rsa, claims, header={"alg": "PS256", "typ": "JWT", "kid": "rsa-1"}),
        ["pem"], "JOSE_BAD_SIGNATURE")
    # RFC 7518 3.5: the PSS salt is as long as the hash; a longer one is another scheme
    pss_input = jm.b64url(json.dumps({"alg": "PS256", "kid": "rsa-1"})) + "." + jm.b64url(
        json.dumps(claims))
    salty = subprocess.run([jm.OPENSSL, "dgst", "-sha256", "-sign", rsa,
                            "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:max"],
                           input=pss_input.encode(), stdout=subprocess.PIPE, check=True).stdout
    vec("PS256 with a maximal salt", pss_input + "." + jm.b64url(salty), ["pem"],
        "JOSE_BAD_SIGNATURE")
    vec("ES256 against the P-384 key", jm.sign("ES256", ec256, claims, kid="ec-384"),
        ["ec384_only"], "JOSE_BAD_ALG")
    vec("ES256 signature labelled ES384 for the P-384 key",
        jm.sign("ES256", ec256, claims, header={"alg": "ES384", "typ": "JWT", "kid": "ec-384"}),
        ["ec384_only"], "JOSE_BAD_SIGNATURE")
    vec("ES256 signature labelled ES384, at+jwt",
        jm.sign("ES256", ec256, claims, header={"alg": "ES384", "typ": "at+jwt", "kid": "ec-384"}),
        ["ec384_only"], "JOSE_BAD_SIGNATURE")
    vec("RS256 with a kid against no key sets", rs, [], "JOSE_UNKNOWN_KID")
    vec("RS256 without kid against no key sets", jm.sign("RS256", rsa, claims), [], "JOSE_BAD_ALG")
    for a in ["rs256", "RS256 ", "", "HS1", "ES256K", "PS256\u0000"]:
        vec("alg %r" % a, jm.sign("RS256", rsa, claims, header={"alg": a, "kid": "rsa-1"}), ["pem"],
            "JOSE_BAD_ALG" if "\u0000" not in a else "JOSE_MALFORMED")
    vec("alg a number", jm.sign("RS256", rsa, claims, header={"alg": 256}), ["pem"], "JOSE_BAD_ALG")
    vec("alg missing", jm.sign("RS256", rsa, claims, header={"typ": "JWT"}), ["pem"], "JOSE_BAD_ALG")
    vec("kid a number", jm.sign("RS256", rsa, claims, header={"alg": "RS256", "kid": 1}), ["pem"],
        "JOSE_MALFORMED")
    vec("crit header",
        jm.sign("RS256", rsa, claims, header={"alg": "RS256", "crit": ["b64"], "b64": False}),
        ["pem"], "JOSE_MALFORMED")
    vec("jku header ignored", jm.sign("RS256", rsa, claims, header={
        "alg": "RS256", "kid": "rsa-1", "jku": "https://evil.test/jwks.json"}), ["pem"], "JOSE_OK")

    # ---- framing and encoding
    h, p, s = rs.split(".")
    vec("RS256 baseline", rs, ["pem"], "JOSE_OK")
    padded = p + "=" * (-len(p) % 4) if len(p) % 4 else p + "===="
    vec("padding in payload", h + "." + padded + "." + s, ["pem"], "JOSE_MALFORMED")
    vec("padding in signature", rs + "==", ["pem"], "JOSE_MALFORMED")
    std_sig = base64.b64encode(base64.urlsafe_b64decode(s + "==")).decode().rstrip("=")
    if std_sig == s:  # force a standard-alphabet character when the signature has none
        std_sig = "+" + s[1:]
    vec("standard base64 signature", h + "." + p + "." + std_sig, ["pem"], "JOSE_MALFORMED")
    vec("'+' in payload", h + "." + p[:4] + "+" + p[5:] + "." + s, ["pem"], "JOSE_MALFORMED")
    vec("'/' in header", h[:4] + "/" + h[5:] + "." + p + "." + s, ["pem"], "JOSE_MALFORMED")
    vec("space in payload", h + "." + p[:8] + " " + p[8:] + "." + s, ["pem"], "JOSE_MALFORMED")
    vec("newline in signature", h + "." + p + "." + s[:10] + "\n" + s[10:], ["pem"],
        "JOSE_MALFORMED")
    vec("tab in header", h[:3] + "\t" + h[3:] + "." + p + "." + s, ["pem"], "JOSE_MALFORMED")
    vec("trailing space", rs + " ", ["pem"], "JOSE_MALFORMED")
    vec("leading space", " " + rs, ["pem"], "JOSE_MALFORMED")
    vec("trailing CRLF", rs + "\r\n", ["pem"], "JOSE_MALFORMED")
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    assert len(s) % 4 == 2  # a 256-byte signature: 4 spare bits in the last character
    sloppy = s[:-1] + b64[b64.index(s[-1]) | 1]
    vec("non-canonical base64 (spare bits set)", h + "." + p + "." + sloppy, ["pem"],
        "JOSE_MALFORMED")
    vec("impossible base64 length", h + "." + p + "." + s + "AAA", ["pem"], "JOSE_MALFORMED")
    vec("two segments", h + "." + p, ["pem"], "JOSE_MALFORMED")
    vec("four segments", rs + "." + s, ["pem"], "JOSE_MALFORMED")
    vec("trailing dot", rs + ".", ["pem"], "JOSE_MALFORMED")
    vec("one segment", h, ["pem"], "JOSE_MALFORMED")
    vec("JWE-like five segments", h + ".." + p + ".." + s, ["pem"], "JOSE_MALFORMED")
    vec("empty header", "." + p + "." + s, ["pem"], "JOSE_MALFORMED")
    vec("empty payload", h + ".." + s, ["pem"], "JOSE_MALFORMED")
    vec("empty token", "", ["pem"], "JOSE_MALFORMED")
    vec("dots only", "..", ["pem"], "JOSE_MALFORMED")
    for label, raw in [("header array", '["RS256"]'), ("header string", '"RS256"'),
                       ("header null", "null"), ("header number", "256"),
                       ("header not JSON", "alg=RS256"),
                       ("header truncated JSON", '{"alg":"RS256"'),
                       ("header duplicate alg", '{"alg":"RS256","alg":"none"}'),
                       ("header duplicate alg, none first", '{"alg":"none","alg":"RS256"}'),
                       ("header duplicate kid", '{"alg":"RS256","kid":"rsa-1","kid":"ec-256"}'),
                       ("header trailing garbage", '{"alg":"RS256"}x')]:
        vec(label, jm.sign("RS256", rsa, claims, header=raw), ["pem"], "JOSE_MALFORMED")
    body = json.dumps(claims, separators=(",", ":"))
    for label, raw in [("payload array", "[1,2]"), ("payload string", '"sub"'),
                       ("payload number", "123"), ("payload not JSON", "sub=admin"),
                       ("payload duplicate sub", body[:-1] + ',"sub":"admin"}'),
                       ("payload duplicate exp", body[:-1] + ',"exp":%d}' % (T + 10 ** 6)),
                       ("payload invalid UTF-8", b'{"sub":"\xff\xfe","exp":%d}' % (T + 60)),
                       ("payload with NUL escape", '{"sub":"a\\u0000b","exp":%d}' % (T + 60))]:
        vec(label, jm.sign("RS256", rsa, raw, kid="rsa-1"), ["pem"], "JOSE_MALFORMED")

    # ---- size
    padded_claims = dict(claims, pad="x" * 200)
    big = jm.sign("RS256", rsa, padded_claims, kid="rsa-1")
    assert 600 < len(big) < 8192
    vec("token over max_token_bytes", big, ["pem"], "JOSE_TOO_LARGE", pol="small")
    vec("same token under a larger cap", big, ["pem"], "JOSE_OK")
    # a token exactly as long as the cap: pad the claims (and vary the header, as
    # base64 never gives a segment of 4k+1 characters) until it is 600 bytes
    exact = None
    for hdr in ({"alg": "HS256", "kid": "hs-1", "x": "z" * i} for i in range(3)):
        for n in range(600):
            t = jm.sign("HS256", secret, dict(claims, pad="y" * n), header=hdr)
            if len(t) == 600:
                exact = t
                break
        if exact:
            break
    assert exact and len(exact) == 600
    vec("token exactly max_token_bytes", exact, ["hs"], "JOSE_OK", pol="small")
    vec("token one over max_token_bytes", exact + "A", ["hs"], "JOSE_TOO_LARGE", pol="small")
    huge = jm.sign("RS256", rsa, dict(claims, blob="z" * 200000), kid="rsa-1")
    vec("huge claims", huge, ["pem"], "JOSE_TOO_LARGE")
    vec("huge claims under a 1 MiB cap", huge, ["pem"], "JOSE_OK", pol="big")
    nested = '{"exp":%d,"iss":"%s","aud":"api","deep":%s%s}' % (T + 60, ISS, "[" * 5000, "]" * 5000)
    deep = jm.sign("RS256", rsa, nested, kid="rsa-1")
    vec("deeply nested claims", deep, ["pem"], "JOSE_MALFORMED", pol="big")
    vec("deeply nested claims, default cap", deep, ["pem"], "JOSE_TOO_LARGE", pol="default_cap")
    vec("default cap (8192) lets a normal token in", rs, ["pem"], "JOSE_OK", pol="default_cap")
    over = jm.sign("RS256", rsa, dict(claims, pad="p" * 8000), kid="rsa-1")
    vec("default cap (8192) keeps 8 KiB out", over, ["pem"], "JOSE_TOO_LARGE", pol="default_cap")
    wide = dict(claims, **{"c%d" % i: i for i in range(3000)})
    vec("many claims under a 1 MiB cap", jm.sign("ES256", ec256, wide, kid="ec-256"), ["pem"],
        "JOSE_OK", pol="big")

    # ---- claims (RS256 and HS256 so both verification paths reach them)
    def c(**kw):
        return dict(claims, **kw)

    def drop(*names):
        return {k: v for k, v in claims.items() if k not in names}

    cases = [
        ("expired", c(exp=T - 3600), "std", "JOSE_EXPIRED"),
        ("exp within skew", c(exp=T - 30), "std", "JOSE_OK"),
        ("exp at the skew edge", c(exp=T - 60), "std", "JOSE_OK"),
        ("exp just outside skew", c(exp=T - 61), "std", "JOSE_EXPIRED"),
        ("exp now, no skew", c(exp=T), "noskew", "JOSE_OK"),
        ("exp a second ago, no skew", c(exp=T - 1), "noskew", "JOSE_EXPIRED"),
        ("exp fractional ahead", c(exp=T + 0.5), "noskew", "JOSE_OK"),
        ("exp fractional behind", c(exp=T - 0.5), "noskew", "JOSE_EXPIRED"),
        ("nbf in the future", c(nbf=T + 3600), "std", "JOSE_NOT_YET_VALID"),
        ("nbf within skew", c(nbf=T + 30), "std", "JOSE_OK"),
        ("nbf at the skew edge", c(nbf=T + 60), "std", "JOSE_OK"),
        ("nbf just outside skew", c(nbf=T + 61), "std", "JOSE_NOT_YET_VALID"),
        ("nbf now, no skew", c(nbf=T), "noskew", "JOSE_OK"),
        ("nbf next second, no skew", c(nbf=T + 1), "noskew", "JOSE_NOT_YET_VALID"),
        ("nbf a string", c(nbf=str(T)), "std", "JOSE_MALFORMED"),
        ("missing exp", drop("exp"), "std", "JOSE_NO_EXP"),
        ("exp a string", c(exp=str(T + 3600)), "std", "JOSE_NO_EXP"),
        ("exp null", c(exp=None), "std", "JOSE_NO_EXP"),
        ("exp true", c(exp=True), "std", "JOSE_NO_EXP"),
        ("missing exp, open policy", drop("exp"), "open", "JOSE_NO_EXP"),
        ("expired beats wrong issuer", c(exp=T - 3600, iss="x"), "std", "JOSE_EXPIRED"),
        ("wrong iss", c(iss="https://evil.test/"), "std", "JOSE_BAD_ISSUER"),
        ("iss without the slash", c(iss="https://issuer.test"), "std", "JOSE_BAD_ISSUER"),
        ("iss in another case", c(iss="https://ISSUER.test/"), "std", "JOSE_BAD_ISSUER"),
        ("iss an array", c(iss=[ISS]), "std", "JOSE_BAD_ISSUER"),
        ("missing iss", drop("iss"), "std", "JOSE_BAD_ISSUER"),
        ("any iss, open policy", c(iss="https://elsewhere/"), "open", "JOSE_OK"),
        ("aud string match", c(aud="api"), "std", "JOSE_OK"),
        ("aud array match", c(aud=["other", "api"]), "std", "JOSE_OK"),
        ("aud array with non-strings", c(aud=[1, None, "api"]), "std", "JOSE_OK"),
        ("aud string mismatch", c(aud="other"), "std", "JOSE_BAD_AUDIENCE"),
        ("aud array mismatch", c(aud=["x", "y"]), "std", "JOSE_BAD_AUDIENCE"),
        ("aud empty array", c(aud=[]), "std", "JOSE_BAD_AUDIENCE"),
        ("aud in another case", c(aud="API"), "std", "JOSE_BAD_AUDIENCE"),
        ("aud prefix", c(aud="ap"), "std", "JOSE_BAD_AUDIENCE"),
        ("aud an object", c(aud={"api": 1}), "std", "JOSE_BAD_AUDIENCE"),
        ("missing aud", drop("aud"), "std", "JOSE_BAD_AUDIENCE"),
        ("aud second of the policy's", c(aud="api2"), "multi_aud", "JOSE_OK"),
        ("aud array, second of the policy's", c(aud=["api2"]), "multi_aud", "JOSE_OK"),
        ("aud not among the policy's", c(aud="api"), "multi_aud", "JOSE_BAD_AUDIENCE"),
        ("missing aud, open policy", drop("aud"), "open", "JOSE_OK"),
    ]
    for label, cl, pol, want in cases:
        vec(label, jm.sign("RS256", rsa, cl, kid="rsa-1"), ["pem"], want, pol=pol)
        vec(label + " (HS256)", jm.sign("HS256", secret, cl, kid="hs-1"), ["hs"], want, pol=pol)
    vec("expired and tampered", jm.tamper(jm.sign("RS256", rsa, c(exp=T - 3600), kid="rsa-1")),
        ["pem"], "JOSE_BAD_SIGNATURE")

    # ---- scopes
    scope_cases = [
        (c(scope="read write"), [(["read"], 1), (["write", "read"], 1), (["admin"], 0),
                                 (["rea"], 0), ([], 1), (["read write"], 0), ([""], 0)]),
        (c(scope="  read   write "), [(["read", "write"], 1), ([""], 0)]),
        (c(scp=["orders:read", "orders:write"]),
         [(["orders:read"], 1), (["orders"], 0), (["orders:read", "admin"], 0), (["read"], 1)]),
        (dict(drop("scope"), scp=["orders:read", "orders:write"]),
         [(["orders:write"], 1), (["read"], 0), (["orders:read orders:write"], 0)]),
        (dict(drop("scope"), scp="a b"), [(["b"], 1), (["a", "b"], 1), (["c"], 0)]),
        (dict(drop("scope"), scp=["a", 7, None]), [(["a"], 1), (["7"], 0)]),
        (c(scope="a", scp=["b"]), [(["a", "b"], 1), (["c"], 0)]),
        (drop("scope"), [(["x"], 0), ([], 1)]),
        (c(scope=["read"]), [(["read"], 0)]),
    ]
    for i, (cl, sc) in enumerate(scope_cases):
        vec("scopes %d" % i, jm.sign("ES256", ec256, cl, kid="ec-256"), ["pem"], "JOSE_OK",
            scopes=sc)

    # ---- key loading errors
    le = doc["load_errors"]

    def pem_err(label, path, algs, want):
        le.append({"name": label, "pem": path, "algs": algs, "expect_error": want})

    def jwks_err(label, keys_doc, want, allow_oct=True):
        text = keys_doc if isinstance(keys_doc, str) else json.dumps(keys_doc)
        le.append({"name": label, "jwks_text": text, "allow_oct": allow_oct, "expect_error": want})

    pem_err("HS256 with an RSA public key", rsa_pub, ["HS256"],
            "an HMAC algorithm cannot use a public key")
    pem_err("HS256 with an EC public key", ec256_pub, ["ES256", "HS256"],
            "an HMAC algorithm cannot use a public key")
    pem_err("ES384 with a P-256 key", ec256_pub, ["ES384"], "cannot verify ES384")
    pem_err("ES256 with a P-384 key", ec384_pub, ["ES256"], "cannot verify ES256")
    pem_err("ES512 and ES256 with a P-521 key", ec521_pub, ["ES512", "ES256"],
            "cannot verify ES256")
    pem_err("RS256 with an EC key", ec256_pub, ["RS256"], "cannot verify RS256")
    pem_err("EdDSA with an RSA key", rsa_pub, ["EdDSA"], "cannot verify EdDSA")
    pem_err("PS256 with an Ed25519 key", ed_pub, ["PS256"], "cannot verify PS256")
    pem_err("no algorithm", rsa_pub, [], "no algorithm")
    pem_err("a private key file", rsa, ["RS256"], "private key")
    pem_err("a private EC key file", ec256, ["ES256"], "private key")
    pem_err("not PEM", write("garbage.pem", "hello\n"), ["RS256"], "no PUBLIC KEY or CERTIFICATE")
    pem_err("empty file", write("empty.pem", ""), ["RS256"], "no PUBLIC KEY or CERTIFICATE")
    pem_err("missing file", os.path.join(out, "missing.pem"), ["RS256"], "No such file")
    small = os.path.join(out, "rsa1024.key")
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", small)
    openssl("pkey", "-in", small, "-pubout", "-out", small + ".pub")
    pem_err("RSA 1024 bits", small + ".pub", ["RS256"], "RSA key of 1024 bits")
    k1 = os.path.join(out, "k1.key")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1", "-out", k1)
    openssl("pkey", "-in", k1, "-pubout", "-out", k1 + ".pub")
    pem_err("secp256k1", k1 + ".pub", ["ES256"], "EC curve secp256k1 is not supported")
    ex = os.path.join(out, "explicit.key")
    openssl("ecparam", "-name", "prime256v1", "-param_enc", "explicit", "-genkey", "-out", ex)
    openssl("pkey", "-in", ex, "-pubout", "-out", ex + ".pub")
    pem_err("EC with explicit parameters", ex + ".pub", ["ES256"], "EC key without a named curve")
    e448 = os.path.join(out, "ed448.key")
    openssl("genpkey", "-algorithm", "Ed448", "-out", e448)
    openssl("pkey", "-in", e448, "-pubout", "-out", e448 + ".pub")
    pem_err("Ed448", e448 + ".pub", ["EdDSA"], "unsupported key type ED448")

    rj = jm.jwk_public(rsa_pub, kid="r")
    ej = jm.jwk_public(ec256_pub, kid="e")
    jwks_err("not JSON", "{keys:[]}", "JWKS is not JSON")
    jwks_err("an array", "[]", "a JWKS is an object with a \"keys\" array")
    jwks_err("keys an object", {"keys": {}}, "a JWKS is an object with a \"keys\" array")
    jwks_err("duplicate member", '{"keys":[],"keys":[]}', "JWKS is not JSON")
    jwks_err("a key not an object", {"keys": ["x"]}, "JWKS key 0: not an object")
    jwks_err("kty missing", {"keys": [{"n": "AQAB"}]}, "string \"kty\"")
    jwks_err("RSA without n", jm.jwks({"kty": "RSA", "e": "AQAB", "kid": "r"}),
             "JWKS key 0 (kid \"r\"): \"n\" missing or not a string")
    jwks_err("RSA n not base64url", jm.jwks(dict(rj, n="ab+c" + rj["n"][4:])),
             "\"n\" is not base64url")
    jwks_err("RSA n padded", jm.jwks(dict(rj, n=rj["n"] + "=")), "\"n\" is not base64url")
    jwks_err("RSA with alg ES256", jm.jwks(dict(rj, alg="ES256")), "cannot verify ES256")
    jwks_err("RSA 1024 bits", jm.jwks(jm.jwk_public(small + ".pub")), "RSA key of 1024 bits")
    jwks_err("EC x too short", jm.jwks(dict(ej, x=jm.b64url(b"\1" * 31))), "must be 32 bytes")
    jwks_err("EC point off the curve",
             jm.jwks(dict(ej, x=jm.b64url(b"\1" * 32), y=jm.b64url(b"\2" * 32))),
             "EC point refused")
    jwks_err("EC P-256 with alg ES384", jm.jwks(dict(ej, alg="ES384")), "cannot verify ES384")
    jwks_err("Ed25519 x of 31 bytes",
             jm.jwks({"kty": "OKP", "crv": "Ed25519", "x": jm.b64url(b"\1" * 31)}),
             "an Ed25519 \"x\" is 32 bytes")
    jwks_err("oct with alg RS256", jm.jwks(jm.jwk_oct(secret, alg="RS256")), "only HS256")
    jwks_err("oct of 16 bytes", jm.jwks(jm.jwk_oct(b"s" * 16)), "too short")
    jwks_err("kid a number", jm.jwks(dict(rj, kid=7)), "of the wrong type")
    jwks_err("use a number", jm.jwks(dict(rj, use=1)), "of the wrong type")
    jwks_err("one bad key spoils the set", jm.jwks(rj, ej, dict(ej, kid="bad", x=jm.b64url(b"\1"))),
             "JWKS key 2 (kid \"bad\")")
    le.append({"name": "secret of 31 bytes", "secret": jm.b64url(b"s" * 31), "algs": ["HS256"],
               "expect_error": "too short"})
    le.append({"name": "secret with RS256", "secret": jm.b64url(secret), "algs": ["HS256", "RS256"],
               "expect_error": "only HS256, HS384 and HS512, not RS256"})
    le.append({"name": "secret without algorithm", "secret": jm.b64url(secret), "algs": [],
               "expect_error": "only HS256"})

    with open(os.path.join(out, "vectors.json"), "w") as f:
        json.dump(doc, f, indent=1)
    print("%d vectors, %d key sets, %d load errors in %s" % (
        len(doc["vectors"]), len(doc["keysets"]), len(le), out))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: jwt_vectors.py OUTDIR")
    main(sys.argv[1])
