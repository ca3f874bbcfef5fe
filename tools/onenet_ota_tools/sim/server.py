"""HTTP layer of the simulator: a threaded HTTP/1.1 server on the standard library.

Stack: `socketserver.ThreadingMixIn` + `http.server.BaseHTTPRequestHandler`, one daemon
thread per connection. Why: no dependency to pin or vet; the request parser is CPython's
own (bounded: 64 KiB request line / header lines, at most 100 headers; HTTP/1.0 and
`Connection: close` handled; absolute-URI request lines like the seed's
`POST http://ota.heclouds.com/ota/device/version?...` work), while every *response* is
written by this module so that the wire is exactly what the contract says (one-byte
bodies without Content-Length, the documented Range answers, and the faults that break
HTTP on purpose — which a framework would "fix"). Each response is one `sendall`
(headers + body) up to 64 KiB, and headers + one big `sendall` of a memoryview of the
cached package above that; TCP_NODELAY is set on every accepted socket so a response's
last segment never waits for an ACK (Nagle + delayed ACK = 40 ms stalls on keep-alive).
A thread per connection is the right shape here: devices keep one connection open for a
whole update and the work per request is tiny (loopback figure: see `sim.load`).

As a service (issue 16): every connection has a deadline for what it waits for (a fresh
one: its whole head within `head_timeout`; a kept-alive one: its next request within
`idle_timeout`, then the head within `head_timeout`; a body within `head_timeout` plus
1 s per MiB), enforced by one reaper thread in `core.Simulator`; at `max_connections`
the connection idle the longest is closed to make room, so idle sockets cannot lock
out a device; accept() failing for want of file descriptors closes idle ones and waits
instead of spinning. Bodies are bounded however they are framed (admin bodies are read
only after the admin token is checked). `/admin/...` and the page: see `_admin_refusal`.

The layout (issue 18): this module is the plumbing (accept, deadlines, framing, the
`respond` / `api` / `one_byte` answers, routing); `Handler` is that plumbing plus two
mixins: `admin_gate.AdminGate` (the admin refusal) and `south_http.SouthRoutes` (the
device routes and download serving); `wire` holds the constants all three share.
"""
import errno as _errno
import json
import re
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from . import dialects
from .admin_gate import AdminGate
from .south_http import SouthRoutes
from .wire import BIG, MAX_API_BODY, MAX_UPLOAD, REASONS

_HEX = frozenset(b"0123456789abcdefABCDEF")
_QUERY = re.compile(r"\?[^\s'\"]*")
_NO_FDS = (_errno.EMFILE, _errno.ENFILE, _errno.ENOBUFS, _errno.ENOMEM)


class Stats:
    """Counters: TCP connections accepted, HTTP requests served, body bytes sent."""

    def __init__(self):
        self._lock = threading.Lock()
        self.connections = 0
        self.requests = 0
        self.bytes_sent = 0
        self.downloads = 0

    def add(self, **kw):
        with self._lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)

    def reset(self):
        with self._lock:
            self.connections = self.requests = self.bytes_sent = self.downloads = 0

    def as_dict(self):
        with self._lock:
            return {"connections": self.connections, "requests": self.requests,
                    "bytes_sent": self.bytes_sent, "downloads": self.downloads}

    def __getitem__(self, k):
        return self.as_dict()[k]

    def __repr__(self):
        return "Stats(%r)" % self.as_dict()


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024

    def __init__(self, addr, sim):
        self.sim = sim
        socketserver.TCPServer.__init__(self, addr, Handler)

    def get_request(self):
        try:
            conn, addr = self.socket.accept()
        except OSError as e:
            if e.errno in _NO_FDS:
                # Out of descriptors: the listening socket stays readable, so without this
                # the accept loop spins at 100 % CPU. Free some idle ones, then wait a bit.
                freed = self.sim._evict_idle(32)
                self.sim._stopping.wait(0.005 if freed else 0.05)
            raise
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.sim.stats.add(connections=1)
        return conn, addr

    def verify_request(self, request, client_address):
        if self.sim._room():
            return True
        # Full of connections that are all mid-request: say so without blocking the loop.
        try:
            request.setblocking(False)
            request.send(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
        return False

    def process_request(self, request, client_address):
        t = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                             name="sim-conn", daemon=True)
        self.sim._track(t, request)
        t.start()

    def process_request_thread(self, request, client_address):
        try:
            socketserver.ThreadingMixIn.process_request_thread(self, request, client_address)
        finally:
            self.sim._untrack(request)

    def handle_error(self, request, client_address):
        if self.sim.verbose:
            socketserver.TCPServer.handle_error(self, request, client_address)


class Handler(AdminGate, SouthRoutes, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "onenet-ota-sim"
    sys_version = ""
    timeout = 120  # per recv/send; the deadlines of core.Simulator come first

    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        self._conn = self.server.sim._conns.get(self.request)

    def handle_one_request(self):
        # Wait for the first byte of a request as "idle" (evictable, idle deadline), then
        # read the head under the head deadline.
        sim = self.server.sim
        sim._conn_state(self._conn, "idle")
        try:
            first = self.rfile.peek(1)
        except (OSError, ValueError):
            first = b""
        if not first:
            self.close_connection = True
            return
        sim._conn_state(self._conn, "head")
        BaseHTTPRequestHandler.handle_one_request(self)

    def log_message(self, fmt, *args):  # CPython's own log lines (errors) only when verbose
        if self.server.sim.verbose:
            # They quote the request line: no query string (a ?token= or access_key=).
            sys.stderr.write("sim: %s\n" % _QUERY.sub("?...", fmt % args))

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_DELETE(self):
        self._route("DELETE")

    def do_PUT(self):
        self._route("PUT")

    # -- plumbing -------------------------------------------------------------------------
    def _send(self, data):
        try:
            self.connection.sendall(data)
        except OSError:
            self.close_connection = True
            raise _Gone()

    def _head(self, status, headers, close=False):
        lines = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status"))]
        lines += ["%s: %s" % kv for kv in headers]
        if close or self.close_connection:
            lines.append("Connection: close")
            self.close_connection = True
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def respond(self, status, body=b"", ctype="application/json", close=False, extra=()):
        hdr = self._head(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))]
                         + list(extra), close)
        self._status = status
        if len(body) <= BIG:
            self._send(hdr + body)
        else:
            self._send(hdr)
            self._send(body)
        self.server.sim.stats.add(bytes_sent=len(body))

    def json(self, obj, status=200):
        self.respond(status, json.dumps(obj, separators=(",", ":")).encode())

    def api(self, errno, data=None, kind=None):
        from .tasks import MESSAGES

        if kind:  # fuse-ota / Studio envelope (sim/dialects.py)
            out, self._errno = dialects.envelope(kind, errno, data)
            return self.json(out)
        out = {"errno": errno, "error": MESSAGES.get(errno, "error")}
        if data is not None:
            out["data"] = data
        self._errno = errno
        self.json(out)

    def one_byte(self, code, encoding="ascii"):
        # Sections 5/10: no Content-Length, one byte, then the connection closes. The byte
        # is the ASCII digit (older core: atoi) or the raw value (OneNET_AIO_c: *resp_data).
        self._status = 200
        self._errno = "byte%d" % code
        self._send(self._head(200, [("Content-Type", "application/octet-stream")], close=True)
                   + (bytes((code,)) if encoding == "raw" else str(code).encode()))

    def read_body(self, limit):
        """The request body, at most `limit` bytes however it is framed; ValueError for
        bad framing (both framings, a non-digit length, a bad chunk line), _TooBig above
        the limit -- decided from the declared sizes, before reading the bytes."""
        te = self.headers.get_all("Transfer-Encoding") or []
        cl = self.headers.get_all("Content-Length") or []
        if te:
            if cl or ",".join(te).strip().lower() != "chunked":
                raise ValueError  # both framings (smuggling) or a coding we do not do
            return self._read_chunked(limit)
        if not cl:
            return b""
        v = cl[0].strip()
        if len(set(x.strip() for x in cl)) > 1 or not v.isdigit() or not v.isascii() or len(v) > 12:
            raise ValueError
        n = int(v)
        if n > limit:
            raise _TooBig()
        self.server.sim._conn_state(self._conn, "body", n)
        data = self.rfile.read(n)
        if len(data) != n:
            raise _Gone()
        return data

    def _read_chunked(self, limit):
        out = bytearray()
        sim = self.server.sim
        sim._conn_state(self._conn, "body", limit)
        while True:
            line = self.rfile.readline(258)  # size + extensions; a longer line is refused
            if not line.endswith(b"\n"):
                raise ValueError if line else _Gone()
            size = line.split(b";", 1)[0].strip()
            # Hex digits only: int(b"-1", 16) would read to the end of the stream.
            if not size or len(size) > 8 or not set(size) <= _HEX:
                raise ValueError
            n = int(size, 16)
            if n == 0:
                for _ in range(32):  # trailer lines, bounded in number and length
                    t = self.rfile.readline(1024)
                    if t in (b"\r\n", b"\n"):
                        return bytes(out)
                    if not t.endswith(b"\n"):
                        break
                raise ValueError
            if len(out) + n > limit:
                raise _TooBig()
            data = self.rfile.read(n)
            if len(data) != n:
                raise _Gone()
            out += data
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise ValueError

    def wait(self, seconds):
        if seconds > 0:
            self.server.sim._stopping.wait(seconds)

    # -- routing ----------------------------------------------------------------------------
    def _route(self, method):
        sim = self.server.sim
        sim.stats.add(requests=1)
        t0 = time.time()
        self._status, self._errno = None, None
        self._nreq = getattr(self, "_nreq", 0) + 1  # requests on this connection
        self._silent_close = False
        u = urlsplit(self.path)
        path = u.path
        q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        sim._conn_state(self._conn, "busy")
        try:
            admin = path == "/" or path.startswith("/admin") or path == "/favicon.ico"
            if admin and self._admin_refusal(method, path, q):
                return  # answered (401/403/303); the body, if any, is never read
            try:
                body = self.read_body(MAX_UPLOAD if admin else MAX_API_BODY)
            except _TooBig:
                self.respond(413, b'{"error":"body too large"}', close=True)
                return
            except ValueError:
                self.respond(400, b'{"error":"bad body framing"}', close=True)
                return
            sim._conn_state(self._conn, "busy")
            if admin:
                from .admin_api import handle

                self._cap(sim.faults.get_modes())
                handle(self, method, path, q, body)
            else:
                self._south(method, path, q, body)
        except _Gone:
            self.close_connection = True
        finally:
            if self._silent_close:
                self.close_connection = True
            if sim.verbose:
                # No Authorization value and no body in the log (keys and tokens stay out).
                sys.stderr.write("sim: %s %s %s -> %s%s %.1fms\n" % (
                    self.client_address[0], method, path.split("/download/")[0] + (
                        "/download/..." if "/download/" in path else ""),
                    self._status, "" if self._errno is None else " errno=%s" % self._errno,
                    (time.time() - t0) * 1000))

    def _cap(self, k):
        # Section 10 "limits": the platform closes a connection after 1000 requests on it
        # (mode conn_requests; conn_close=header says so on that answer, silent does not).
        cap = k.get("conn_requests", 0)
        if cap and self._nreq >= cap:
            if k.get("conn_close") == "silent":
                self._silent_close = True
            else:
                self.close_connection = True


class _Gone(Exception):
    pass


class _TooBig(Exception):
    pass
