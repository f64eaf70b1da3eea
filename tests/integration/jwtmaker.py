"""jwtmaker - keys, JWKs and signed JWTs for sluice's tests, made with the openssl command
line, never with libjwt, so the verifier is not checked against itself. Stdlib only."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import tempfile
import time

OPENSSL = os.environ.get("OPENSSL", "openssl")

# DER object identifiers (content bytes) met in SubjectPublicKeyInfo.
_OID_RSA = bytes.fromhex("2a864886f70d010101")        # rsaEncryption
_OID_EC = bytes.fromhex("2a8648ce3d0201")             # id-ecPublicKey
_OID_ED25519 = bytes.fromhex("2b6570")                # id-Ed25519
_CURVES = {                                           # OID -> (JOSE crv, coordinate bytes)
    bytes.fromhex("2a8648ce3d030107"): ("P-256", 32),
    bytes.fromhex("2b81040022"): ("P-384", 48),
    bytes.fromhex("2b81040023"): ("P-521", 66),
}

def _ec(curve):
    return ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:" + curve,
            "-pkeyopt", "ec_param_enc:named_curve"]


_KINDS = {
    "rsa2048": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "ec256": _ec("P-256"),
    "ec384": _ec("P-384"),
    "ec521": _ec("P-521"),
    "ed25519": ["-algorithm", "Ed25519"],
}

_HASHES = {"256": "sha256", "384": "sha384", "512": "sha512"}


def _openssl(args, data=None):
    """Runs openssl with args (stdin = data); returns stdout, raises with stderr on failure."""
    p = subprocess.run([OPENSSL] + list(args), input=data, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("openssl %s failed: %s"
                           % (" ".join(args), p.stderr.decode(errors="replace").strip()))
    return p.stdout


def b64url(data):
    """base64url of bytes, without padding (as JWTs use)."""
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def keypair(kind, directory):
    """Makes a key pair with `openssl genpkey`; returns (private PEM path, public PEM path).
    kind: rsa2048, ec256, ec384, ec521, ed25519. Each call makes new files."""
    if kind not in _KINDS:
        raise ValueError("unknown key kind %r" % kind)
    fd, priv = tempfile.mkstemp(prefix=kind + "-", suffix=".key.pem", dir=directory)
    os.close(fd)
    pub = priv[: -len(".key.pem")] + ".pub.pem"
    _openssl(["genpkey"] + _KINDS[kind] + ["-out", priv])
    _openssl(["pkey", "-in", priv, "-pubout", "-out", pub])
    return priv, pub


# --- a minimal DER reader: enough for SubjectPublicKeyInfo and ECDSA-Sig-Value ---

def _der_next(buf, pos=0):
    """Returns (tag, value bytes, position after the element)."""
    tag = buf[pos]
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        count = n & 0x7F
        n = int.from_bytes(buf[pos:pos + count], "big")
        pos += count
    if pos + n > len(buf):
        raise ValueError("truncated DER")
    return tag, buf[pos:pos + n], pos + n


def _der_children(value):
    out, pos = [], 0
    while pos < len(value):
        tag, v, pos = _der_next(value, pos)
        out.append((tag, v))
    return out


def _spki_der(der):
    """Parses SubjectPublicKeyInfo DER; returns (algorithm OID, parameters as (tag, value)
    or None, key bytes)."""
    tag, seq, _ = _der_next(der)
    (atag, algid), (btag, bits) = _der_children(seq)
    parts = _der_children(algid)
    if bits[0] != 0:
        raise ValueError("BIT STRING with unused bits")
    return parts[0][1], (parts[1] if len(parts) > 1 else None), bits[1:]


def _spki(pub_pem_path):
    return _spki_der(_openssl(["pkey", "-pubin", "-in", pub_pem_path, "-outform", "DER"]))


_curve_cache = {}


def _ec_size(priv_pem_path):
    """Coordinate size in bytes of an EC private key's curve (the size of R and S in a JWS)."""
    if priv_pem_path not in _curve_cache:
        der = _openssl(["pkey", "-in", priv_pem_path, "-pubout", "-outform", "DER"])
        oid, params, _ = _spki_der(der)
        _curve_cache[priv_pem_path] = _CURVES[params[1]][1]
    return _curve_cache[priv_pem_path]


def _unsigned_int(b):
    return b.lstrip(b"\x00") or b"\x00"


def _json_segment(value):
    """A dict is serialized compactly; str/bytes are raw JSON text (for forged documents)."""
    if isinstance(value, bytes):
        return b64url(value)
    if isinstance(value, str):
        return b64url(value.encode())
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def _sign_bytes(alg, key, msg):
    family, bits = alg[:2], alg[2:]
    if alg == "EdDSA":
        # pkeyutl -rawin wants the whole message from a file for one-shot EdDSA.
        with tempfile.NamedTemporaryFile() as f:
            f.write(msg)
            f.flush()
            return _openssl(["pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", f.name])
    if bits not in _HASHES:
        raise ValueError("unknown algorithm %r" % alg)
    md = _HASHES[bits]
    if family == "HS":
        if isinstance(key, str):
            key = key.encode()
        return hmac.new(key, msg, getattr(hashlib, md)).digest()
    if family == "RS":
        return _openssl(["dgst", "-" + md, "-sign", key], msg)
    if family == "PS":
        return _openssl(["dgst", "-" + md, "-sign", key, "-sigopt", "rsa_padding_mode:pss",
                         "-sigopt", "rsa_pss_saltlen:digest", "-sigopt", "rsa_mgf1_md:" + md], msg)
    if family == "ES":
        der = _openssl(["dgst", "-" + md, "-sign", key], msg)
        tag, seq, _ = _der_next(der)
        (rt, r), (st, s) = _der_children(seq)
        size = _ec_size(key)
        r, s = r.lstrip(b"\x00"), s.lstrip(b"\x00")
        return r.rjust(size, b"\x00") + s.rjust(size, b"\x00")
    raise ValueError("unknown algorithm %r" % alg)


def sign(alg, key, claims, header=None, kid=None):
    """Returns a compact JWS signed with alg (alg picks the signing method, whatever the
    header says).
    key: bytes secret for HS*, private PEM path otherwise. header defaults to
    {"alg": alg, "typ": "JWT"} (+ "kid"); a given header is used as is. claims/header may
    also be str/bytes of raw JSON text."""
    if header is None:
        header = {"alg": alg, "typ": "JWT"}
        if kid is not None:
            header["kid"] = kid
    signing_input = _json_segment(header) + "." + _json_segment(claims)
    sig = _sign_bytes(alg, key, signing_input.encode("ascii"))
    return signing_input + "." + b64url(sig)


def unsigned(claims, header=None):
    """"header.payload." with an empty signature (alg none attacks)."""
    if header is None:
        header = {"alg": "none", "typ": "JWT"}
    return _json_segment(header) + "." + _json_segment(claims) + "."


def jwk_public(pub_pem_path, kid=None, alg=None):
    """The JWK (RFC 7517/7518) of a public key PEM: RSA (n, e), EC (crv, x, y) or
    OKP Ed25519 (x); kid and alg added when given."""
    oid, params, key = _spki(pub_pem_path)
    if oid == _OID_RSA:
        tag, seq, _ = _der_next(key)
        (nt, n), (et, e) = _der_children(seq)
        jwk = {"kty": "RSA", "n": b64url(_unsigned_int(n)), "e": b64url(_unsigned_int(e))}
    elif oid == _OID_EC:
        crv, size = _CURVES[params[1]]
        if key[0] != 4 or len(key) != 1 + 2 * size:
            raise ValueError("compressed or odd EC point")
        jwk = {"kty": "EC", "crv": crv, "x": b64url(key[1:1 + size]), "y": b64url(key[1 + size:])}
    elif oid == _OID_ED25519:
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(key)}
    else:
        raise ValueError("unsupported public key in %s" % pub_pem_path)
    if kid is not None:
        jwk["kid"] = kid
    if alg is not None:
        jwk["alg"] = alg
    return jwk


def jwk_oct(secret, kid=None, alg="HS256"):
    """The JWK of an HMAC secret (kty oct)."""
    if isinstance(secret, str):
        secret = secret.encode()
    jwk = {"kty": "oct", "k": b64url(secret)}
    if kid is not None:
        jwk["kid"] = kid
    if alg is not None:
        jwk["alg"] = alg
    return jwk


def jwks(*keys):
    """A JWKS document {"keys": [...]} of the given JWKs."""
    return {"keys": list(keys)}


def tamper(token):
    """Changes one bit of the signature so it no longer verifies; the result is still
    canonical base64url (an empty signature becomes 32 bytes)."""
    head, body, sig = token.split(".")
    raw = bytearray(_b64url_decode(sig)) if sig else bytearray(32)
    raw[len(raw) // 2] ^= 0x01
    return head + "." + body + "." + b64url(bytes(raw))


def now():
    return int(time.time())


def make_claims(**overrides):
    """Default claims (iss https://issuer.test/, aud api, sub user-1, exp now+3600, iat now,
    scope "read write") updated with overrides; an override of None removes the claim."""
    t = now()
    claims = {"iss": "https://issuer.test/", "aud": "api", "sub": "user-1", "exp": t + 3600,
              "iat": t, "scope": "read write"}
    for k, v in overrides.items():
        if v is None:
            claims.pop(k, None)
        else:
            claims[k] = v
    return claims
