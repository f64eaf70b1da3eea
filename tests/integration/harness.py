"""harness.py - what sluice's integration tests share: starting the real
sluice with an inline config, real upstream processes (upstream.py), HTTP
clients (http.client for well-formed traffic, raw sockets for framing
attacks) and a tiny test runner.

Python 3 standard library only.  Everything listens and connects on
127.0.0.1.  Every process started here is registered and killed when its
test ends (or at exit), whatever happened.

Environment:
  SLUICE_BIN         the sluice binary (default: SLUICE_SRCDIR/src/sluice)
  SLUICE_CTL         the sluicectl binary (default: sluicectl beside SLUICE_BIN)
  SLUICE_SRCDIR      the repository root (default: two levels up from here)
  SLUICE_SANITIZERS  "1" for an ASan/UBSan build: waits are scaled up and
                     memory bounds loosened by the tests that measure memory
                     (detected from the binary when unset; "0" forces off)
  SLUICE_KEEP_TMP    "1" keeps the temporary directories for a post-mortem
"""

import atexit
import hashlib
import http.client as httpclient
import inspect
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("SLUICE_SRCDIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
SLUICE_BIN = os.environ.get("SLUICE_BIN") or os.path.join(SRCDIR, "src", "sluice")
# Beside the gateway it tests: the same build directory, in-tree or not.
SLUICE_CTL = os.environ.get("SLUICE_CTL") or os.path.join(os.path.dirname(SLUICE_BIN), "sluicectl")
UPSTREAM_PY = os.path.join(HERE, "upstream.py")


def _binary_has_asan(path):
    """True when the binary was built with AddressSanitizer."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read(64 * 1048576)
    except OSError:
        return False


_san_env = os.environ.get("SLUICE_SANITIZERS", "")
SANITIZERS = _san_env not in ("", "0", "no") or (_san_env == "" and _binary_has_asan(SLUICE_BIN))
# Waits for things to *happen* grow under sanitizers; bounds on how long
# something may take before it must have happened stay the test's own.
SCALE = 3.0 if SANITIZERS else 1.0
KEEP_TMP = os.environ.get("SLUICE_KEEP_TMP", "") not in ("", "0", "no")

ACCESS_LOG_AUTO = "@access_log@"  # make_config() placeholder, filled in by Sluice

SKIP = 77


class SkipTest(Exception):
    """Raised to skip a whole script (only when the binary is missing)."""


# ------------------------------------------------------------------ misc


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def wait_for(pred, timeout, interval=0.05, what="condition"):
    """Polls pred() until it returns a true value (returned) or timeout
    seconds pass (AssertionError).  Bounded in time and count."""
    deadline = time.monotonic() + timeout
    last = None
    for _ in range(max(1, int(timeout / interval) + 2)):
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))


def port_accepts(port, timeout=0.5):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError:
        return False
    s.close()
    return True


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def big_pattern_sha256(n):
    """sha256 of upstream.py's /_big/n body (bytes(range(256)) repeated)."""
    block = bytes(range(256)) * 4096  # 1 MiB
    h = hashlib.sha256()
    full, rem = divmod(n, len(block))
    for _ in range(full):
        h.update(block)
    h.update(block[:rem])
    return h.hexdigest()


def _tail(path, nbytes=6000):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - nbytes))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


# ------------------------------------------------------------------ process registry

_registry = []  # every Sluice / Upstream started, in order
_registry_lock = threading.Lock()


def _register(p):
    with _registry_lock:
        _registry.append(p)


def _registry_mark():
    with _registry_lock:
        return len(_registry)


def _cleanup_since(mark, check):
    """Stops every process registered after mark; returns error strings."""
    with _registry_lock:
        procs = _registry[mark:]
    errors = []
    for p in reversed(procs):
        try:
            p.close(check=check)
        except Exception as e:  # noqa: BLE001 - report, keep cleaning up
            errors.append("%s: %s" % (p.name, e))
    return errors


@atexit.register
def _kill_everything():
    with _registry_lock:
        procs = list(_registry)
    for p in procs:
        try:
            p.kill()
        except Exception:  # noqa: BLE001
            pass


# ------------------------------------------------------------------ config


def make_config(functions=None, routes=None, listen_port=None, workers=2, limits=None,
                log=None, **extra):
    """A sluice config dict: one listener on 127.0.0.1, 2 workers, the access
    log in the instance's temporary directory (filled in by Sluice)."""
    cfg = {
        "listen": [{"address": "127.0.0.1:%d" % (listen_port or free_port())}],
        "workers": workers,
    }
    if limits:
        cfg["limits"] = dict(limits)
    cfg["log"] = dict(log) if log is not None else {
        "access": ACCESS_LOG_AUTO, "error": "stderr", "level": "info"}
    cfg["functions"] = functions if functions is not None else {}
    cfg["routes"] = routes if routes is not None else []
    cfg.update(extra)
    return cfg


def http_function(versions, aliases=None, **settings):
    """A function whose versions are http handlers: versions maps a version
    name to a url (or to a dict of version settings with a "url")."""
    vs = {}
    for name, v in versions.items():
        if isinstance(v, str):
            vs[name] = {"handler": {"type": "http", "url": v}}
        else:
            v = dict(v)
            url = v.pop("url")
            vs[name] = dict({"handler": {"type": "http", "url": url}}, **v)
    fn = dict(settings)
    fn["versions"] = vs
    if aliases:
        fn["aliases"] = aliases
    return fn


def route(spec, target, **kw):
    r = {"route": spec, "target": target}
    r.update(kw)
    return r


def dumps_with_lines(obj):
    """json.dumps(obj, indent=2) plus where each element sits: returns
    (text, spans) with spans[path] = (first line, last line), 1-based, path a
    tuple of keys and indexes (() is the whole document)."""
    lines = []
    spans = {}

    def emit(value, path, prefix, indent, suffix):
        start = len(lines) + 1
        pad = " " * (indent + 2)
        if isinstance(value, dict) and value:
            lines.append(prefix + "{")
            items = list(value.items())
            for i, (k, v) in enumerate(items):
                emit(v, path + (k,), pad + json.dumps(k) + ": ", indent + 2,
                     "," if i < len(items) - 1 else "")
            lines.append(" " * indent + "}" + suffix)
        elif isinstance(value, list) and value:
            lines.append(prefix + "[")
            for i, v in enumerate(value):
                emit(v, path + (i,), pad, indent + 2, "," if i < len(value) - 1 else "")
            lines.append(" " * indent + "]" + suffix)
        else:
            lines.append(prefix + json.dumps(value) + suffix)
        spans[path] = (start, len(lines))

    emit(obj, (), "", 0, "")
    text = "\n".join(lines)
    if text != json.dumps(obj, indent=2):  # the layout sluice's line numbers refer to
        raise AssertionError("dumps_with_lines disagrees with json.dumps")
    return text + "\n", spans


def config_path_str(path):
    """("routes", 0, "target") -> "routes[0].target" (sluice's error paths)."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += "[%d]" % p
        else:
            out += ("." if out else "") + p
    return out


def normalize_config_path(s):
    """Makes "routes[0].target" and "routes.0.target" compare equal."""
    return re.sub(r"\[(\d+)\]", r".\1", s.strip()).lstrip(".")


# ------------------------------------------------------------------ sluice


def require_binary():
    if not (os.path.isfile(SLUICE_BIN) and os.access(SLUICE_BIN, os.X_OK)):
        raise SkipTest("sluice binary not found at %s (set SLUICE_BIN)" % SLUICE_BIN)


def run_sluice(args, timeout=10.0, cwd=None):
    """Runs sluice with args to completion; returns (exit code, stdout, stderr)."""
    p = subprocess.run([SLUICE_BIN] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout * SCALE, cwd=cwd)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer", "AddressSanitizer:DEADLYSIGNAL")


class Sluice:
    """A running sluice: Sluice(config) writes config (indent 2) into a
    temporary directory and starts the binary, waiting until the first
    listener accepts connections.

    close(check=True) (also on leaving a with-block without an exception)
    fails when the process died on its own, did not exit with 0 on SIGTERM,
    or printed a sanitizer report."""

    def __init__(self, config, name="sluice", start=True, start_timeout=10.0, args=None,
                 env=None):
        self.name = name
        self.env = env
        self.dir = tempfile.mkdtemp(prefix="sluice-%s-" % name)
        self.config_path = os.path.join(self.dir, "sluice.json")
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.access_log_path = None
        self.proc = None
        self.pid = None
        self.closed = False
        self.stopped_by_us = False
        self.killed = False
        self.extra_args = list(args or [])
        self.config = self._fill_config(config)
        self.port = self.listen_port(self.config)
        self.admin_port = self.admin_listen_port(self.config)
        self.write_config(self.config)
        _register(self)
        if start:
            self.start(start_timeout)

    # -------------------------------------------------------------- config
    def _fill_config(self, config):
        cfg = json.loads(json.dumps(config))  # deep copy
        if "log" not in cfg:
            cfg["log"] = {"access": ACCESS_LOG_AUTO, "error": "stderr", "level": "info"}
        log = cfg.get("log")
        if isinstance(log, dict) and log.get("access") == ACCESS_LOG_AUTO:
            log["access"] = os.path.join(self.dir, "access.log")
        if isinstance(log, dict) and isinstance(log.get("access"), str) \
                and log["access"] not in ("stdout", "stderr", "off"):
            self.access_log_path = log["access"]
        return cfg

    @staticmethod
    def listen_port(config):
        addr = config["listen"][0]["address"]
        return int(addr.rsplit(":", 1)[1])

    @staticmethod
    def admin_listen_port(config):
        """The admin API's port, or None without an "admin" object."""
        addr = (config.get("admin") or {}).get("address")
        return int(addr.rsplit(":", 1)[1]) if isinstance(addr, str) and ":" in addr else None

    @property
    def admin_url(self):
        return "http://127.0.0.1:%d" % self.admin_port

    def config_text(self, config):
        """config as this instance would write it (the access log filled
        in) and where each element sits: (text, spans) as dumps_with_lines.
        Write it with write_config(text=text)."""
        return dumps_with_lines(self._fill_config(config))

    def write_config(self, config=None, text=None):
        """Rewrites the config file (for reloads): a dict, or raw text."""
        if text is None:
            cfg = self._fill_config(config)
            text = json.dumps(cfg, indent=2) + "\n"
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)

    # -------------------------------------------------------------- process
    def start(self, timeout=10.0):
        self._out = open(self.stdout_path, "ab")
        self._err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen([SLUICE_BIN, "-c", self.config_path] + self.extra_args,
                                     stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, cwd=self.dir, env=self.env)
        self.pid = self.proc.pid
        deadline = time.monotonic() + timeout * SCALE
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("sluice exited with %s before listening on %d; stderr:\n%s"
                                     % (self.proc.returncode, self.port, self.stderr_text()))
            if port_accepts(self.port, 0.5) and \
                    (self.admin_port is None or port_accepts(self.admin_port, 0.5)):
                return
            if time.monotonic() >= deadline:
                self.kill()
                raise AssertionError("sluice did not accept on port %d within %.0fs; stderr:\n%s"
                                     % (self.port, timeout * SCALE, self.stderr_text()))
            time.sleep(0.05)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if not self.alive():
            raise AssertionError("sluice is not running (exit %s); stderr:\n%s"
                                 % (self.proc and self.proc.returncode, self.stderr_tail()))
        os.kill(self.pid, sig)

    def reload(self):
        self.signal(signal.SIGHUP)

    def reopen_logs(self):
        self.signal(signal.SIGUSR1)

    def stop(self, timeout=15.0):
        """SIGTERM, then waits; returns the exit code (None when it had to be
        killed after timeout seconds)."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.stopped_by_us = True
        os.kill(self.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout * SCALE)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def restart(self, timeout=10.0):
        """Stops (SIGTERM, which must give exit 0) and starts the same
        config again, in the same directory."""
        code = self.stop()
        if code != 0:
            raise AssertionError("sluice exited with %s on SIGTERM before a restart; stderr:\n%s"
                                 % (code, self.stderr_tail()))
        for fh in (self._out, self._err):
            fh.close()
        self.stopped_by_us = False
        self.start(timeout)

    def wait(self, timeout):
        """Waits for the process to exit; returns its exit code or None."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.stopped_by_us = True
            self.killed = True
            try:
                self.proc.kill()
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass

    def close(self, check=True):
        """Stops the process and removes the temporary directory. With check,
        raises AssertionError when something went wrong with the process."""
        if self.closed:
            return
        self.closed = True
        problems = []
        if self.proc is not None:
            died_alone = self.proc.poll() is not None and not self.stopped_by_us
            if died_alone:
                problems.append("sluice had exited on its own with %s" % self.proc.returncode)
                code = self.proc.returncode
            else:
                code = self.stop()
                if code is None:
                    problems.append("sluice did not exit within %.0fs of SIGTERM (killed)"
                                    % (15 * SCALE))
                elif code != 0 and not self.killed:
                    problems.append("sluice exited with %s on SIGTERM" % code)
            for fh in (getattr(self, "_out", None), getattr(self, "_err", None)):
                if fh:
                    fh.close()
            err = self.stderr_text()
            for marker in SANITIZER_MARKERS:
                if marker in err:
                    problems.append("sanitizer report in stderr (%s)" % marker)
                    break
        tail = self.stderr_tail()
        self._saved_tail = tail  # kept for failure reports once the dir is gone
        if not KEEP_TMP and not (problems and check):
            shutil.rmtree(self.dir, ignore_errors=True)
        if problems and check:
            raise AssertionError("; ".join(problems) + " [dir %s]; stderr tail:\n%s"
                                 % (self.dir, tail))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(check=exc_type is None)
        return False

    # -------------------------------------------------------------- output
    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stderr_tail(self, nbytes=4000):
        if not os.path.exists(self.stderr_path):
            return getattr(self, "_saved_tail", "")[-nbytes:]
        return _tail(self.stderr_path, nbytes)

    def stdout_text(self):
        try:
            with open(self.stdout_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def access_log(self, path=None):
        """The access log's complete lines, parsed as JSON (a line that is not
        a JSON object fails the test)."""
        path = path or self.access_log_path
        if path is None:
            raise AssertionError("this sluice has no access log file")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        out = []
        for line in data.split(b"\n")[:-1]:  # the last piece may be incomplete
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise AssertionError("access log line is not JSON (%s): %r" % (e, line[:300]))
            if not isinstance(obj, dict):
                raise AssertionError("access log line is not a JSON object: %r" % line[:300])
            out.append(obj)
        return out

    def wait_access_log(self, pred, timeout=5.0, path=None):
        """Polls the access log until a line satisfies pred; returns it."""
        def find():
            for rec in self.access_log(path):
                if pred(rec):
                    return rec
            return None
        return wait_for(find, timeout * SCALE, 0.05, "an access log line")

    # -------------------------------------------------------------- memory
    def _status_kb(self, key):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        raise AssertionError("%s not in /proc/%d/status" % (key, self.pid))

    def rss_kb(self):
        return self._status_kb("VmRSS")

    def hwm_kb(self):
        return self._status_kb("VmHWM")


# ------------------------------------------------------------------ upstream


class ServerProcess:
    """A helper server run as its own process (argv started with
    sys.executable) that prints "READY PORT" on stdout once it listens.
    Registered so every one is killed at exit; a context manager."""

    def __init__(self, name, argv, workdir=None, start_timeout=10.0):
        self.name = name
        self.closed = False
        self.dir = workdir or tempfile.mkdtemp(prefix="%s-" % name)
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err)
        self.pid = self.proc.pid
        _register(self)
        deadline = time.monotonic() + start_timeout * SCALE
        self.port = None
        while self.port is None:
            if self.proc.poll() is not None:
                raise AssertionError("%s exited with %s: %s"
                                     % (name, self.proc.returncode, _tail(self.stderr_path)))
            m = re.search(r"READY (\d+)", _tail(self.stdout_path, 200))
            if m:
                self.port = int(m.group(1))
                break
            if time.monotonic() >= deadline:
                self.kill()
                raise AssertionError("%s did not start: %s" % (name, _tail(self.stderr_path)))
            time.sleep(0.02)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def close(self, check=True):
        if self.closed:
            return
        self.closed = True
        self.stop()
        for fh in (self._out, self._err):
            fh.close()
        if not KEEP_TMP:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False


class Upstream(ServerProcess):
    """upstream.py running as a separate process on 127.0.0.1."""

    def __init__(self, name="up", port=0, start_timeout=10.0):
        super().__init__("upstream-%s" % name,
                         [sys.executable, UPSTREAM_PY, "--port", str(port), "--name", name],
                         start_timeout=start_timeout)
        self.name = name
        self.url = "http://127.0.0.1:%d" % self.port

    def _get(self, path):
        c = httpclient.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            if r.status != 200:
                raise AssertionError("upstream %s %s -> %d" % (self.name, path, r.status))
            return json.loads(body)
        finally:
            c.close()

    def stats(self):
        """{"connections", "requests", ...} straight from the upstream."""
        return self._get("/_stats")

    def requests(self):
        return self.stats()["requests"]

    def log(self):
        """The last requests served: [[method, path, body_len], ...]."""
        return self._get("/_log")


# ------------------------------------------------------------------ HTTP clients


class Response:
    """status, reason, headers (lower-case names, last wins), header_list
    ([(name, value)] as received), body (bytes).  Unpacks as
    (status, headers, body)."""

    def __init__(self, status, reason, header_list, body, version=11, elapsed=0.0):
        self.status = status
        self.reason = reason
        self.header_list = list(header_list)
        self.headers = {}
        for k, v in self.header_list:
            self.headers[k.lower()] = v
        self.body = body
        self.version = version
        self.elapsed = elapsed

    def all(self, name):
        """Every value of header name, in order."""
        name = name.lower()
        return [v for k, v in self.header_list if k.lower() == name]

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise AssertionError("body is not JSON (status %d): %r" % (self.status, self.body[:300]))

    def __iter__(self):
        return iter((self.status, self.headers, self.body))

    def __repr__(self):
        return "<Response %d %r %r>" % (self.status, self.header_list[:12], self.body[:200])


def chunk_encode(body, sizes=(1, 7, 100, 4096, 65536)):
    """body in chunked transfer coding, with chunk sizes cycling through sizes."""
    out = []
    i = 0
    k = 0
    while i < len(body):
        n = sizes[k % len(sizes)]
        k += 1
        piece = body[i:i + n]
        out.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
        i += len(piece)
    out.append(b"0\r\n\r\n")
    return b"".join(out)


def _send_request(conn, method, path, headers, body, chunked):
    headers = list((headers or {}).items()) if isinstance(headers, dict) else list(headers or [])
    names = {k.lower() for k, _ in headers}
    conn.putrequest(method, path, skip_host="host" in names, skip_accept_encoding=True)
    if chunked:
        if "transfer-encoding" not in names:
            headers.append(("Transfer-Encoding", "chunked"))
    elif body is not None and "content-length" not in names and "transfer-encoding" not in names:
        headers.append(("Content-Length", str(len(body))))
    for k, v in headers:
        conn.putheader(k, v)
    conn.endheaders()
    if body is not None:
        conn.send(chunk_encode(body) if chunked else body)


def _read_response(conn):
    r = conn.getresponse()
    body = r.read()
    return Response(r.status, r.reason, r.getheaders(), body, r.version), r


def http(port, method, path, headers=None, body=None, timeout=10.0, chunked=False):
    """One request on a fresh connection; returns a Response.  headers is a
    dict or a list of (name, value) (duplicates allowed); a Host header is
    added unless given.  chunked=True sends body with the chunked coding."""
    conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=timeout * SCALE)
    t0 = time.monotonic()
    try:
        _send_request(conn, method, path, headers, body, chunked)
        resp, _ = _read_response(conn)
        resp.elapsed = time.monotonic() - t0
        return resp
    finally:
        conn.close()


class KeepAliveClient:
    """Requests over one persistent connection (http.client).  .connects
    counts the TCP connections it had to open (1 while the server keeps the
    connection alive)."""

    def __init__(self, port, timeout=10.0):
        self.port = port
        self.timeout = timeout
        self.conn = None
        self.connects = 0

    def request(self, method, path, headers=None, body=None, chunked=False):
        if self.conn is None or self.conn.sock is None:
            if self.conn is not None:
                self.conn.close()
            self.conn = httpclient.HTTPConnection("127.0.0.1", self.port,
                                                   timeout=self.timeout * SCALE)
            self.conn.connect()
            self.connects += 1
        t0 = time.monotonic()
        try:
            _send_request(self.conn, method, path, headers, body, chunked)
            resp, r = _read_response(self.conn)
        except Exception:
            self.close()
            raise
        resp.elapsed = time.monotonic() - t0
        if r.will_close:
            self.close()
        return resp

    def get(self, path, headers=None):
        return self.request("GET", path, headers)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False


# ------------------------------------------------------------------ admin API


def admin_config(port=None, token_file=None):
    """The config's "admin" object: a listener on 127.0.0.1 (a free port
    unless given) asking for the token in token_file (none without)."""
    a = {"address": "127.0.0.1:%d" % (port or free_port())}
    if token_file:
        a["token_file"] = token_file
    return a


def admin(port, method, path, body=None, token=None, headers=None, timeout=10.0):
    """One request to the admin API on a fresh connection; returns a
    Response.  body: a dict or list is sent as JSON, str/bytes as they are;
    POST and PUT without a body send Content-Length: 0.  token adds
    Authorization: Bearer TOKEN."""
    hdrs = list((headers or {}).items()) if isinstance(headers, dict) else list(headers or [])
    if token is not None:
        hdrs.append(("Authorization", "Bearer " + token))
    data = None
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
        hdrs.append(("Content-Type", "application/json"))
    elif isinstance(body, str):
        data = body.encode()
    elif isinstance(body, bytes):
        data = body
    elif method in ("POST", "PUT", "PATCH"):
        data = b""
    return http(port, method, path, headers=hdrs, body=data, timeout=timeout)


def metric(port, name, token=None, **labels):
    """The sum of the /metrics samples called name whose labels include
    every labels[k] == v (None: no sample matched), from the admin API on
    port."""
    r = admin(port, "GET", "/metrics", token=token)
    assert r.status == 200, r
    total = None
    for line in r.body.decode().split("\n"):
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2)))
        if all(have.get(k) == v for k, v in labels.items()):
            total = (total or 0) + float(m.group(3))
    return total


def ok_json(resp, status=200, what=""):
    """Asserts resp is a JSON answer with status; returns the body."""
    assert resp.status == status, "%sstatus %d, want %d: %r" \
        % (what + ": " if what else "", resp.status, status, resp.body[:400])
    ctype = resp.headers.get("content-type", "")
    assert ctype.startswith("application/json"), "content-type %r" % ctype
    return resp.json()


def error_json(resp, status, what=""):
    """Asserts resp is an error answer: status and {"message": "..."}."""
    body = ok_json(resp, status, what)
    assert isinstance(body.get("message"), str) and body["message"].strip(), \
        "%s: no message in %r" % (what, body)
    return body


def run_ctl(args, admin_url=None, token_file=None, timeout=30.0, env=None):
    """Runs sluicectl with args to completion (admin_url and token_file
    become --admin and --token-file); returns (exit code, stdout, stderr).
    The environment's SLUICE_ADMIN* variables are dropped unless env
    gives them."""
    argv = [SLUICE_CTL]
    if admin_url:
        argv += ["--admin", admin_url]
    if token_file:
        argv += ["--token-file", token_file]
    e = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_ADMIN")}
    e.update(env or {})
    p = subprocess.run(argv + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout * SCALE, env=e)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


# ------------------------------------------------------------------ raw sockets


class RawConn:
    """A plain TCP connection for sending exactly the bytes a test wants."""

    def __init__(self, port, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.closed_by_peer = False
        self.reset_by_peer = False

    def send(self, data):
        """Sends data; returns False when the peer already closed/reset."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.reset_by_peer = True
            return False

    def _recv(self, timeout):
        """One recv with a timeout: returns the bytes (b"" on EOF), or None on
        timeout."""
        if self.closed_by_peer:
            return b""
        self.sock.settimeout(max(0.001, timeout))
        try:
            data = self.sock.recv(262144)
        except socket.timeout:
            return None
        except ConnectionResetError:
            self.reset_by_peer = True
            self.closed_by_peer = True
            return b""
        if not data:
            self.closed_by_peer = True
            return b""
        self.buf += data
        return data

    def read_until_close(self, timeout=5.0):
        """Reads until the peer closes or timeout; returns everything read
        (including earlier unread bytes) and whether the peer closed."""
        deadline = time.monotonic() + timeout
        while not self.closed_by_peer:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self._recv(left) is None:
                break
        data, self.buf = self.buf, b""
        return data, self.closed_by_peer

    def read_until(self, marker, timeout=5.0):
        """Reads until marker is in the buffer; returns the buffer up to and
        including marker (consumed), or raises AssertionError."""
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.closed_by_peer:
                raise AssertionError("no %r within %.1fs (closed=%s); got %r"
                                     % (marker, timeout, self.closed_by_peer, self.buf[:500]))
            self._recv(left)
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_response(self, timeout=5.0, head=False):
        """Reads one complete response; returns a Response (1xx included)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                resps, rest = parse_responses(self.buf, head_requests=1 if head else 0,
                                              at_eof=self.closed_by_peer, max_responses=1)
            except IncompleteResponse:
                resps = []
            if resps:
                self.buf = rest
                return resps[0]
            left = deadline - time.monotonic()
            if left <= 0 or self.closed_by_peer:
                raise AssertionError("no complete response within %.1fs (closed=%s); got %r"
                                     % (timeout, self.closed_by_peer, self.buf[:500]))
            self._recv(left)

    def wait_closed(self, timeout=3.0):
        """True when the peer closes (FIN or RST) within timeout (data read
        meanwhile is kept in .buf)."""
        deadline = time.monotonic() + timeout
        while not self.closed_by_peer:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._recv(left)
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False


def raw_exchange(port, data, timeout=5.0):
    """Sends data on a fresh connection and reads until the server closes it
    or timeout seconds pass.  Returns (bytes received, closed by server)."""
    with RawConn(port, timeout) as c:
        c.send(data)
        return c.read_until_close(timeout)


def raw(port, data, timeout=5.0):
    """Bytes the server answers to data (read until it closes or timeout)."""
    return raw_exchange(port, data, timeout)[0]


def parse_status(data):
    """The status code of the first response in raw bytes, or None."""
    m = re.match(rb"HTTP/(\d)\.(\d) (\d{3})[ \r]", data)
    return int(m.group(3)) if m else None


class IncompleteResponse(Exception):
    pass


def _parse_head(head):
    lines = head.split(b"\r\n")
    m = re.match(rb"HTTP/(\d)\.(\d) (\d{3})(?: (.*))?$", lines[0])
    if not m:
        raise AssertionError("bad status line %r" % lines[0][:200])
    hdrs = []
    for line in lines[1:]:
        if not line:
            continue
        if b":" not in line:
            raise AssertionError("bad header line %r" % line[:200])
        k, v = line.split(b":", 1)
        hdrs.append((k.decode("latin-1"), v.strip().decode("latin-1")))
    version = int(m.group(1)) * 10 + int(m.group(2))
    return int(m.group(3)), (m.group(4) or b"").decode("latin-1"), hdrs, version


def parse_responses(data, head_requests=0, at_eof=True, max_responses=None):
    """Splits raw bytes into responses.  Returns ([Response], rest).  The
    first head_requests final responses are taken as answers to HEAD (no
    body).  A body without length runs to the end when at_eof.  Raises
    IncompleteResponse when the data ends inside a response and not at_eof
    (or a length-delimited body is short)."""
    out = []
    pos = 0
    heads_left = head_requests
    while pos < len(data) and (max_responses is None or len(out) < max_responses):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            if at_eof and not out:
                raise AssertionError("no complete response head in %r" % data[pos:pos + 300])
            raise IncompleteResponse()
        status, reason, hdrs, version = _parse_head(data[pos:end])
        pos = end + 4
        lower = {k.lower(): v for k, v in hdrs}
        if 100 <= status < 200:
            out.append(Response(status, reason, hdrs, b"", version))
            continue
        if heads_left > 0 or status in (204, 304):
            heads_left = max(0, heads_left - 1)
            out.append(Response(status, reason, hdrs, b"", version))
            continue
        if "chunked" in lower.get("transfer-encoding", "").lower():
            body = bytearray()
            while True:
                le = data.find(b"\r\n", pos)
                if le < 0:
                    raise IncompleteResponse()
                size = int(data[pos:le].split(b";")[0].strip(), 16)
                pos = le + 2
                if size == 0:
                    te = data.find(b"\r\n\r\n", pos - 2)
                    if te < 0:
                        raise IncompleteResponse()
                    pos = te + 4
                    break
                if len(data) < pos + size + 2:
                    raise IncompleteResponse()
                body += data[pos:pos + size]
                pos += size + 2
            out.append(Response(status, reason, hdrs, bytes(body), version))
        elif "content-length" in lower:
            n = int(lower["content-length"])
            if len(data) < pos + n:
                raise IncompleteResponse()
            out.append(Response(status, reason, hdrs, data[pos:pos + n], version))
            pos += n
        else:
            if not at_eof:
                raise IncompleteResponse()
            out.append(Response(status, reason, hdrs, data[pos:], version))
            pos = len(data)
    return out, data[pos:]


# ------------------------------------------------------------------ runner


class TestTimeout(Exception):
    pass


_test_timeouts = {}


def timeout(seconds):
    """Decorator: a test's own time limit (default 60 s; scaled)."""
    def deco(fn):
        _test_timeouts[fn.__name__] = seconds
        return fn
    return deco


def _on_alarm(signum, frame):
    raise TestTimeout("test timed out")


def run(namespace=None, default_timeout=60.0, require_bin=True):
    """Runs the test_* functions of the calling module in source order:
    prints "ok - name" / "FAIL - name: reason", then "N passed, N failed",
    and exits 0 (all passed), 1 (a failure) or 77 (binary missing).  An
    optional setup() runs first and teardown() last (module fixtures).
    Command-line arguments select tests by name."""
    if namespace is None:
        namespace = inspect.currentframe().f_back.f_globals
    script = os.path.basename(namespace.get("__file__", "test"))
    try:
        if require_bin:
            require_binary()
    except SkipTest as e:
        print("SKIP - %s: %s" % (script, e))
        sys.exit(SKIP)

    tests = [(name, fn) for name, fn in namespace.items()
             if name.startswith("test_") and inspect.isfunction(fn)
             and fn.__module__ == namespace.get("__name__")]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    wanted = [a for a in sys.argv[1:] if not a.startswith("-")]
    if wanted:
        tests = [t for t in tests if t[0] in wanted]

    signal.signal(signal.SIGALRM, _on_alarm)
    passed = failed = 0
    t_script = time.monotonic()
    module_mark = _registry_mark()

    def report_failure(name, exc_text, mark):
        print("FAIL - %s: %s" % (name, exc_text.strip().splitlines()[-1] if exc_text.strip()
                                 else "?"))
        sys.stdout.write(exc_text)
        with _registry_lock:
            # this test's processes, and the module's fixtures still running
            procs = [p for i, p in enumerate(_registry)
                     if i >= mark or (i >= module_mark and not p.closed)]
        for p in procs:
            if isinstance(p, Sluice):
                tail = p.stderr_tail(3000)
                if tail:
                    sys.stdout.write("--- %s stderr (tail) ---\n%s\n" % (p.name, tail))
        sys.stdout.flush()

    setup = namespace.get("setup")
    teardown = namespace.get("teardown")
    setup_ok = True
    if setup is not None:
        signal.alarm(int(60 * SCALE))
        try:
            setup()
        except Exception:
            setup_ok = False
            failed += 1
            report_failure("setup", traceback.format_exc(), module_mark)
        finally:
            signal.alarm(0)

    if setup_ok:
        for name, fn in tests:
            mark = _registry_mark()
            limit = _test_timeouts.get(name, default_timeout) * SCALE
            t0 = time.monotonic()
            err = None
            signal.alarm(max(1, int(limit)))
            try:
                fn()
            except Exception:
                err = traceback.format_exc()
            finally:
                signal.alarm(0)
            cleanup_errors = _cleanup_since(mark, check=err is None)
            if err is None and cleanup_errors:
                err = "cleanup: " + "\n".join(cleanup_errors) + "\n"
            dt = time.monotonic() - t0
            if err is None:
                passed += 1
                print("ok - %s (%.2fs)" % (name, dt))
            else:
                failed += 1
                report_failure(name, err, mark)
            sys.stdout.flush()

    if teardown is not None:
        try:
            teardown()
        except Exception:
            failed += 1
            report_failure("teardown", traceback.format_exc(), module_mark)
    cleanup_errors = _cleanup_since(module_mark, check=setup_ok and failed == 0)
    if cleanup_errors:
        failed += 1
        print("FAIL - fixtures: %s" % "; ".join(cleanup_errors))
    print("%d passed, %d failed (%s, %.1fs)" % (passed, failed, script,
                                              time.monotonic() - t_script))
    sys.stdout.flush()
    sys.exit(1 if failed else 0)
