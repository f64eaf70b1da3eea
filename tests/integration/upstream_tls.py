#!/usr/bin/env python3
"""upstream_tls.py - upstream.py behind TLS, for test_upstream_tls.py.

Run as its own process:  python3 upstream_tls.py --cert C --key K [--port P]
[--name NAME]. Serves exactly what upstream.py serves (its handler, its
counters, "READY <port>" once it listens), each accepted connection
wrapped in TLS (1.2 or 1.3) with the given certificate chain and key."""

import argparse
import os
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import upstream  # noqa: E402


class TLSServer(upstream.Server):
    ctx = None

    def get_request(self):
        sock, addr = super().get_request()
        # the handshake runs here, in the accepting thread: bound it
        sock.settimeout(5)
        try:
            tls = self.ctx.wrap_socket(sock, server_side=True)
        except OSError:
            sock.close()
            raise
        tls.settimeout(None)
        return tls, addr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--name", default="upstream-tls")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    args = ap.parse_args()
    upstream.NAME = args.name
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    TLSServer.ctx = ctx
    return upstream.serve(TLSServer(("127.0.0.1", args.port), upstream.Handler))


if __name__ == "__main__":
    sys.exit(main())
