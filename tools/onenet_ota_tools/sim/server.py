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
"""
import errno as _errno
import json
import os
import re
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from . import dialects, ranges

MAX_API_BODY = 64 * 1024
MAX_UPLOAD = 256 * 1024 * 1024
BIG = 64 * 1024
REASONS = {200: "OK", 206: "Partial Content", 303: "See Other", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
           411: "Length Required", 413: "Payload Too Large", 415: "Unsupported Media Type", 500: "Internal Server Error",
           503: "Service Unavailable"}
COOKIE = "onenet_sim_admin"
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


class Handler(BaseHTTPRequestHandler):
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

    # -- the admin side: token, Host, Origin ---------------------------------------------
    def _admin_refusal(self, method, path, q):
        """Answer and return True when an admin/page request is refused (or is the token
        URL, answered with a cookie and a redirect to the page).
        - Host must name this server: a loopback name or the bound address, at its port
          (a DNS-rebinding page sends its own name).
        - Origin, when sent, must be such a host too, and Sec-Fetch-Site same-origin or
          none: a cross-site form or fetch is refused even when the cookie rides along.
        - The token: `Authorization: Bearer T` (the CLI) or the cookie that `GET /?token=T`
          (the URL `serve` prints) sets: HttpOnly, SameSite=Strict. Compared in constant time."""
        sim = self.server.sim
        h = self.headers
        host = h.get("Host")
        if host is not None and not sim._host_ok(host):
            return self._refuse(403, "Host not allowed")
        origin = h.get("Origin")
        if origin is not None and not sim._origin_ok(origin):
            return self._refuse(403, "cross-origin request refused")
        if (h.get("Sec-Fetch-Site") or "same-origin").lower() not in ("same-origin", "none"):
            return self._refuse(403, "cross-site request refused")
        if path == "/" and method == "GET" and "token" in q:
            if not sim._token_ok(q["token"]):
                return self._refuse(401, "bad admin token")
            self._status = 303
            self._send(self._head(303, [("Location", "/"), ("Content-Length", "0"), (
                "Set-Cookie", "%s=%s; Path=/; HttpOnly; SameSite=Strict" % (COOKIE, sim.admin_token)),
                ("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer")]))
            return True
        given = None
        a = h.get("Authorization") or ""
        if a[:7].lower() == "bearer ":
            given = a[7:].strip()
        else:
            for part in (h.get("Cookie") or "").split(";"):
                k, _, v = part.strip().partition("=")
                if k == COOKIE:
                    given = v
        if not sim._token_ok(given):
            return self._refuse(401, "admin token required (printed by `onenet-ota serve`; "
                                "in <state-dir>/admin-token; see `onenet-ota admin --help`)",
                                [("WWW-Authenticate", "Bearer")])
        return False

    def _refuse(self, status, msg, extra=()):
        # A small Content-Length body is read and dropped so the client gets this answer
        # and not a reset; anything else is never read (the connection closes).
        try:
            n = int(self.headers.get("Content-Length") or "x")
        except ValueError:
            n = -1
        keep = 0 <= n <= MAX_API_BODY and not self.headers.get("Transfer-Encoding")
        if keep:
            self.server.sim._conn_state(self._conn, "body", n)
            if len(self.rfile.read(n)) != n:
                keep = False
        self.respond(status, json.dumps({"error": msg}).encode(), close=not keep, extra=extra)
        return True

    def _cap(self, k):
        # Section 10 "limits": the platform closes a connection after 1000 requests on it
        # (mode conn_requests; conn_close=header says so on that answer, silent does not).
        cap = k.get("conn_requests", 0)
        if cap and self._nreq >= cap:
            if k.get("conn_close") == "silent":
                self._silent_close = True
            else:
                self.close_connection = True

    def _south(self, method, path, q, body):
        sim = self.server.sim
        south = sim.south
        parts = [p for p in path.split("/") if p]
        token = None
        kind = dialects.kind(parts)  # fuse-ota / Studio (sim/dialects.py), None: legacy
        if kind:
            dev_id = parts[2]
            tid = int(parts[3]) if len(parts) > 4 and parts[3].isdigit() and len(parts[3]) < 12 else None
        elif parts[:3] == ["ota", "south", "download"] and len(parts) >= 4:
            token = parts[3]
        elif parts[:5] == ["ota", "south", "device", "download"] and len(parts) == 6:
            token = parts[4]
        elif path == "/ota/south/report":
            token = q.get("token")
        if not kind:
            dev_id, tid = q.get("dev_id"), None
        if token:
            t = sim.store.task_by_token(token)
            if t:
                dev_id, tid = t["dev_id"], t["id"]
        f = sim.faults.get(dev_id, tid)
        self._cap(f)
        if f:
            self.wait(f.get("latency", 0))
            if "stall" in f and "stall_after" not in f:
                sim.faults.once(dev_id, tid, "stall", "stall_every")
                self.wait(f["stall"])
            if "http_error" in f and sim.faults.take(dev_id, tid, "http_error_count"):
                st = f["http_error"]
                self.respond(st, json.dumps({"error": REASONS.get(st, "error")}).encode())
                return

        def api(fn, *a):
            if f.get("errno7") and sim.faults.take(dev_id, tid, "errno7"):
                return self.api(7, kind=kind)
            try:
                e, d = fn(*a)
            except Exception:  # a simulator bug must look like the platform's errno 7
                if sim.verbose:
                    import traceback

                    traceback.print_exc()
                e, d = 7, None
            self.api(e, d, kind)

        h = self.headers
        if kind:
            return self._tid_south(kind, method, parts, q, body, f, api)
        if path == "/ota/device/version" and method in ("GET", "POST"):
            return api(south.version, method, q, h, body)
        if path == "/ota/south/check" and method == "GET":
            return api(south.check, q, h)
        if path == "/ota/south/tasking" and method == "GET":
            return api(south.tasking, q, h)
        if path == "/ota/south/report" and method == "POST":
            return api(south.report, q, h, body)
        if parts[:3] == ["ota", "south", "download"] and method == "GET":
            if len(parts) == 5 and parts[4] == "check":
                if "token_check_errno" in f and ("token_check_errno_count" not in f or sim.faults.take(
                        dev_id, tid, "token_check_errno_count")):
                    return self.api(f["token_check_errno"])
                return api(south.token_check, parts[3], q, h)
            if len(parts) == 4:
                return self._download(parts[3], q, f)
        if (parts[:4] == ["ota", "south", "device", "download"] and len(parts) == 6
                and parts[5] == "progress" and method == "POST"):
            return api(south.progress, parts[4], q, h, body)
        if path.startswith("/ota/"):
            self.respond(404 if method in ("GET", "POST") else 405,
                         b'{"errno":2,"error":"bad request parameters"}')
        else:
            self.respond(404, b'{"error":"not found"}')

    # -- the task-id dialects: fuse-ota, Studio (sim/dialects.py) ----------------------------
    def _tid_south(self, kind, method, parts, q, body, f, api):
        sim = self.server.sim
        ts = sim.tid_south
        pid, dev, tail = parts[1], parts[2], parts[3:]
        dl = len(tail) == 2 and tail[1] == "download" and method == "GET"  # T1 adds a "/": split drops it
        e, d = ts.device(kind, pid, dev, self.headers, q if dl else None)
        if dl:
            if e:
                return self.ota_errno(6 if sim.store.device(dev) else 1, f)  # §4.5: 6 auth, 1 no device
            code, t, pkg = ts.download_task(d, tail[0])
            if code:
                return self.ota_errno(code, f)
            # §4.5: 2 file missing, 3 missing in storage (unreadable), 4 size mismatch
            return self._serve(t, pkg, f, lambda c: self.ota_errno(c, f), (2, 3, 4), kind)
        if e:
            return self.api(e, None, kind)
        if tail == ["version"] and method in ("GET", "POST"):
            return api(ts.version, kind, d, method, body)
        if tail == ["check"] and method == "GET":
            return api(ts.check, kind, d, q)
        if len(tail) == 2 and tail[1] == "check" and method == "GET":
            if "token_check_errno" in f and ("token_check_errno_count" not in f or sim.faults.take(
                    dev, tail[0] if tail[0].isdigit() else None, "token_check_errno_count")):
                return self.api(f["token_check_errno"], None, kind)
            return api(ts.task_check, kind, d, tail[0])
        if len(tail) == 2 and tail[1] == "status" and method == "POST":
            return api(ts.step, kind, d, tail[0], body)
        self.respond(404, json.dumps(dialects.envelope(kind, 2)[0]).encode())

    def ota_errno(self, code, f):
        # §4.5: the download's error is the Ota-Errno header; HTTP 200 (S5) by default,
        # mode ota_errno_status=403 for S7's reading (a non-200 status). Empty body.
        st = int(f.get("ota_errno_status", 200))
        self._status, self._errno = st, "Ota-Errno %d" % code
        self._send(self._head(st, [("Content-Type", "application/octet-stream;charset=UTF-8"),
                                   ("Ota-Errno", str(code)), ("Content-Length", "0")]))

    # -- download ---------------------------------------------------------------------------
    # Query: dev_id (optional), s_id (optional NB-IoT base-station id, section 10: accepted,
    # decides nothing). The one-byte answers (section 10): 1 resource not found (no
    # package file), 2 file size mismatch (file != published size), 3 invalid token
    # (unknown, expired, another dev_id, task not pending/downloading/upgrading), 4 failed
    # to get the file (unreadable), 5 bad parameter (a range under the 2-byte minimum,
    # mode short_range=error), 6 NB base-station limit (only by the dl_error knob).
    def _download(self, token, q, f):
        sim = self.server.sim
        enc = f.get("one_byte", "ascii")
        code, t, pkg = sim.south.download_task(token, q)
        if code:
            return self.one_byte(code, enc)
        self._serve(t, pkg, f, lambda c: self.one_byte(c, enc), (1, 4, 2))

    # A download's answer, every dialect: refuse(code) answers an error; missing /
    # unreadable / size: the codes for the file missing, unreadable, of the wrong size;
    # kind: None legacy, or the task-id dialect (its Ota-Errno and range headers).
    def _serve(self, t, pkg, f, refuse, codes, kind=None):
        sim = self.server.sim
        if "dl_error" in f and ("dl_error_count" not in f or sim.faults.take(t["dev_id"], t["id"], "dl_error_count")):
            return refuse(f["dl_error"])
        if not os.path.exists(pkg["path"]):
            return refuse(codes[0])
        data = sim.package_bytes(pkg)
        if data is None:
            return refuse(codes[1])
        if len(data) != pkg["size"]:
            return refuse(codes[2])
        n = len(data)
        rng = None if f.get("ignore_range") else ranges.parse(self.headers.get("Range"), n)
        if rng and rng[0] == rng[1] and n >= 2:
            short = f.get("short_range", "error")
            if short == "error":
                return refuse(5)
            if short == "whole":
                rng = None
        a, b = rng if rng else (0, n - 1)
        body = memoryview(data)[a:b + 1]
        if "flip_offset" in f and a <= f["flip_offset"] <= b:
            body = bytearray(body)
            body[f["flip_offset"] - a] ^= 0xFF
            body = memoryview(body)
        status = 206 if rng else 200
        hdrs = [("Content-Type", "application/octet-stream"),
                ("Content-Disposition", 'attachment; filename="%s"' % pkg["name"])]
        d = 1 if f.get("wrong_content_range") else 0
        if kind == dialects.STUDIO:
            # §9.5 (T3): Content-Range-Start / -End, plain integers, on a partial answer
            if status == 206:
                hdrs += [("Content-Range-Start", str(a + d)), ("Content-Range-End", str(b + d))]
        elif status == 206 or (not kind and f.get("whole_content_range", True)):
            # legacy §5/§10; fuse-ota §4.5: 206 with "bytes a-b/total" (S5), 200 without
            hdrs.append(("Content-Range", "bytes %d-%d/%d" % (a + d, b + d, n)))
        if kind:
            hdrs.append(("Ota-Errno", "0"))  # §4.5 (S1 capture): 0 on success
        chunked = f.get("chunked", False)
        if chunked:
            hdrs.append(("Transfer-Encoding", "chunked"))
        else:
            hdrs.append(("Content-Length", str(len(body))))
        limit, cut, action = len(body), False, None
        dev, tid = t["dev_id"], t["id"]
        if "drop_after" in f and f["drop_after"] < limit:
            limit, cut = f["drop_after"], True
            sim.faults.once(dev, tid, "drop_after", "drop_every")
        if "short_body" in f:
            k = min(f["short_body"], len(body))
            if len(body) - k < limit:
                limit, cut = len(body) - k, True
        for knob in ("cancel_at", "pause_at"):
            x = f.get(knob)
            if x is not None and a <= x <= b and x - a <= limit:
                limit, cut, action = x - a, True, knob
        stall_at = f.get("stall_after") if "stall" in f else None
        if stall_at is not None and stall_at >= limit:
            stall_at = None
        if stall_at is not None:
            sim.faults.once(dev, tid, "stall", "stall_every")
        bw = f.get("bandwidth")
        self._status = status
        sim.stats.add(downloads=1)
        hdr = self._head(status, hdrs, close=cut)
        step = max(256, bw // 20) if bw else (1 << 30)
        pos, t0 = 0, time.time()
        try:
            if limit == 0:
                self._send(hdr)
                hdr = b""
            while pos < limit:
                end = min(limit, pos + step)
                if stall_at is not None and pos < stall_at < end:
                    end = stall_at
                piece = body[pos:end]
                if chunked:
                    piece = b"%x\r\n" % len(piece) + piece + b"\r\n"
                if len(piece) <= BIG:
                    self._send(hdr + piece)
                else:
                    if hdr:
                        self._send(hdr)
                    self._send(piece)
                hdr = b""
                sim.stats.add(bytes_sent=end - pos)
                pos = end
                if stall_at is not None and pos == stall_at:
                    self.wait(f["stall"])
                if bw:
                    ahead = pos / float(bw) - (time.time() - t0)
                    self.wait(ahead)
            if chunked and not cut:
                self._send(b"0\r\n\r\n")
        finally:
            if pos or limit == 0:
                sim.note_served(t, a + pos)
            if action:
                sim.store_action(tid, "cancel" if action == "cancel_at" else "pause",
                                 why="%s=%d" % (action, f[action]))
                with sim.faults._lock:
                    for k in (("task", tid), ("dev", str(dev))):
                        sim.faults._by.get(k, {}).pop(action, None)
        if cut:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Gone(Exception):
    pass


class _TooBig(Exception):
    pass
