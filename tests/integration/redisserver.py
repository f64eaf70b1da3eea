"""redisserver.py - a real redis-server for the integration tests (started
and killed by the test itself) and a minimal RESP client to look inside it.
Python 3 standard library only."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import harness as h

REDIS_SERVER = shutil.which("redis-server")


def resp_encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class _Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("redis closed the connection")
            self.buf += d
        i = self.buf.index(b"\r\n")
        out, self.buf = self.buf[:i], self.buf[i + 2:]
        return out

    def exact(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("redis closed the connection")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def reply(self):
        ln = self.line()
        kind, rest = ln[:1], ln[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise AssertionError("redis error: %s" % rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.exact(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise AssertionError("bad RESP reply %r" % ln[:100])


def redis_cmd(port, *args, timeout=2.0):
    """One command on a fresh connection; returns the decoded reply."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(resp_encode(args))
        return _Reader(s).reply()
    finally:
        s.close()


class RedisServer:
    """redis-server on 127.0.0.1 in its own process group, without
    persistence; start() again after kill() reuses the port."""

    def __init__(self, name="redis", port=None):
        self.name = name
        self.port = port or h.free_port()
        self.dir = tempfile.mkdtemp(prefix="redis-%s-" % name)
        self.proc = None
        self.closed = False
        h._register(self)
        self.start()

    def start(self, timeout=10.0):
        assert self.proc is None or self.proc.poll() is not None, "redis-server still running"
        log = open(os.path.join(self.dir, "redis.log"), "ab")
        try:
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", self.dir],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + timeout * h.SCALE
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("redis-server exited with %s: %s"
                                     % (self.proc.returncode, self.log_tail()))
            try:
                if redis_cmd(self.port, "PING", timeout=0.5) == "PONG":
                    return
            except (OSError, ConnectionError):
                pass
            if time.monotonic() >= deadline:
                self.kill()
                raise AssertionError("redis-server did not answer PING: %s" % self.log_tail())
            time.sleep(0.05)

    def log_tail(self):
        try:
            with open(os.path.join(self.dir, "redis.log"), "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL to the whole process group, then reaps."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass

    def cmd(self, *args):
        return redis_cmd(self.port, *args)

    def keys(self):
        return [k.decode("latin-1") for k in self.cmd("KEYS", "*")]

    def close(self, check=True):
        if self.closed:
            return
        self.closed = True
        self.kill()
        if not h.KEEP_TMP:
            shutil.rmtree(self.dir, ignore_errors=True)
