"""`Simulator`: the Python API (tests, demo) around store, south API, faults and server.

In-process callers use the methods and need no token; over HTTP, `/admin/...` and the
page need `admin_token` (given, else random; written to `<state_dir>/admin-token`, 0600,
while the server runs): see server.Handler._admin_refusal. The admin operations
(publish, tasks, faults, cancel / pause / resume) are the mixin `admin_ops.AdminOps`."""
import collections
import hmac
import ipaddress
import os
import resource
import secrets
import socket
import threading
import time

from .faults import Faults
from .server import Server, Stats
from .admin_ops import AdminOps
from .store import Clock, Store
from .dialects import TidSouth
from .tasks import South


def new_admin_token():
    # 32 characters of [A-Za-z0-9_-], never a leading "-": the token is passed as
    # `--admin-token VALUE`, where argparse takes "-..." for an option (1 in 64 of
    # token_urlsafe's values, seen in CI).
    while True:
        t = secrets.token_urlsafe(24)
        if not t.startswith("-"):
            return t


class Simulator(AdminOps):
    # ip_port: the "host:port" a check answer's ipPort names (default: this server); giving
    # one selects the mode ipport_form=hostport unless `modes` says otherwise.
    # modes: the global modes (faults.MODES: where the sources disagree, section 10).
    # admin_token: the token of /admin/... and the page (default: a random one).
    # max_connections: default from RLIMIT_NOFILE (room for the database, logs and the
    # connections a test opens itself), at most 1000; head_timeout: seconds a fresh
    # connection has for its whole request head (and a body, plus 1 s per MiB);
    # idle_timeout: seconds a kept-alive connection may wait for its next request.
    def __init__(self, state_dir="./state/sim", port=0, clock=None, host="127.0.0.1", verbose=False, tls=None,
                 ip_port=None, modes=None, admin_token=None, max_connections=None, head_timeout=10.0,
                 idle_timeout=120.0):
        if admin_token is not None and not valid_admin_token(admin_token):
            raise ValueError("admin token: 16-128 characters of [A-Za-z0-9_-]")
        self.admin_token = admin_token or new_admin_token()
        if max_connections is None:
            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            soft = 1 << 20 if soft == resource.RLIM_INFINITY else soft
            max_connections = max(8, min(1000, (soft - 64) // 2))
        self.max_connections = int(max_connections)
        self.head_timeout = float(head_timeout)
        self.idle_timeout = float(idle_timeout)
        self.token_file = os.path.join(os.path.abspath(state_dir), "admin-token")
        self.ip_port = ip_port
        modes = dict(modes or {})
        if ip_port and "ipport_form" not in modes:
            modes["ipport_form"] = "hostport"
        self.state_dir = state_dir
        self.tls = tls  # (certfile, keyfile): serve HTTPS
        self.host = host
        self.port = port
        self.clock = clock if clock is not None else Clock()
        self.verbose = verbose
        self.faults = Faults(modes)
        self.stats = Stats()
        self._store = Store(state_dir, self.clock)
        self.south = South(self._store, ip_port or "%s:%d" % (host, port), self.faults.get)
        self.tid_south = TidSouth(self._store)  # fuse-ota and Studio (dialects.py)
        self.url = None
        self._httpd = None
        self._thread = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._conns = {}  # socket -> _Conn
        self._idle = collections.OrderedDict()  # idle connections, the longest idle first
        self._live = 0  # connections not yet told to close
        self._reaper = None
        self._cache = {}
        self.inform = None  # sim/inform.py: MQTT task notification (serve --mqtt)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self):
        if self._httpd is not None:
            return self
        self._stopping.clear()
        ctx = None
        if self.tls:  # before binding: a bad certificate leaves nothing to clean up
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls[0], self.tls[1])
        httpd = Server((self.host, self.port), self)
        self.port = httpd.server_address[1]
        self.url = "http://%s:%d" % (self.host, self.port)
        if ctx is not None:
            # The handshake happens on the connection's own thread (its first read, under
            # the head deadline), not in accept(), where one silent client would stop all.
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
            self.url = "https://%s:%d" % (self.host, self.port)
        try:
            self._write_token_file()
        except OSError:
            httpd.server_close()
            raise
        self._httpd = httpd
        self.south = South(self.store, self.ip_port or "%s:%d" % (self.host, self.port), self.faults.get)
        self.tid_south = TidSouth(self.store)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sim-accept", daemon=True)
        self._thread.start()
        self._reaper = threading.Thread(target=self._reap, name="sim-reaper", daemon=True)
        self._reaper.start()
        return self

    @property
    def admin_url(self):
        """The page's URL with the token: it sets the admin cookie and redirects to `/`."""
        return "%s/?token=%s" % (self.url, self.admin_token) if self.url else None

    def _write_token_file(self):
        # 0600 from the first byte (O_CREAT mode), and again if the file was there before.
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (self.admin_token + "\n").encode())
        finally:
            os.close(fd)

    def _remove_token_file(self):
        try:
            with open(self.token_file) as f:
                mine = f.read().strip() == self.admin_token
            if mine:
                os.remove(self.token_file)
        except OSError:
            pass

    def stop(self):
        if self._httpd is None:
            if self._store is not None:
                self._store.close()
                self._store = None
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._thread.join()
        self._reaper.join()
        self._httpd.server_close()
        self._remove_token_file()
        with self._lock:
            conns = [(c.thread, s) for s, c in self._conns.items()]
            self._conns.clear()
            self._idle.clear()
            self._live = 0  # a restart starts with room for max_connections
        for t, s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t, s in conns:
            t.join(10)
        self._httpd = None
        self._store.close()
        self._store = None

    @property
    def store(self):
        """The SQLite state; closed by stop(), reopened on use (inspect after stop)."""
        if self._store is None:
            self._store = Store(self.state_dir, self.clock)
        return self._store

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- connections: limit, deadlines, eviction (see server.py) --------------------------
    def _track(self, t, sock):
        with self._lock:
            c = _Conn(t, sock, time.monotonic() + self.head_timeout)
            self._conns[sock] = c
            self._idle[sock] = c
            self._live += 1

    def _untrack(self, sock):
        with self._lock:
            c = self._conns.pop(sock, None)
            self._idle.pop(sock, None)
            if c is not None and not c.closing:
                self._live -= 1

    def _room(self):
        """Room for one more connection? At the cap, the longest-idle one is closed."""
        with self._lock:
            if self._live < self.max_connections:
                return True
        return self._evict_idle(1) > 0

    def _close_conn(self, c):  # with self._lock held
        if not c.closing:
            c.closing = True
            self._live -= 1
            self._idle.pop(c.sock, None)
            try:
                c.sock.shutdown(socket.SHUT_RDWR)  # wakes its thread, which closes it
            except OSError:
                pass

    def _evict_idle(self, n):
        done = 0
        with self._lock:
            while done < n and self._idle:
                _, c = self._idle.popitem(last=False)
                self._close_conn(c)
                done += 1
        return done

    def _conn_state(self, c, state, body=0):
        if c is None:
            return
        now = time.monotonic()
        with self._lock:
            if c.closing:
                return
            if state == "idle":
                # A fresh connection keeps the deadline of its accept (head_timeout).
                if c.requests:
                    c.deadline = now + self.idle_timeout
                self._idle[c.sock] = c
                c.requests += 1
                return
            self._idle.pop(c.sock, None)
            if state == "head":
                c.deadline = now + self.head_timeout if c.requests > 1 else c.deadline
            elif state == "body":
                c.deadline = now + self.head_timeout + body / float(1 << 20)
            else:  # busy: answering; a slow answer is the faults' business
                c.deadline = None

    def _reap(self):
        while not self._stopping.wait(0.25):
            now = time.monotonic()
            with self._lock:
                for c in [c for c in self._conns.values() if c.deadline is not None and now > c.deadline]:
                    self._close_conn(c)

    # -- admin checks (server.Handler._admin_refusal) --------------------------------------
    def _token_ok(self, given):
        if not given:
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.admin_token.encode())

    def _host_ok(self, value):
        """A Host value that names this server: a loopback name or the bound address (any
        IP literal when bound to all addresses), with this server's port."""
        v = value.strip().lower()
        if v.startswith("["):
            name, _, rest = v[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ("" if not rest else None)
        else:
            name, _, port = v.partition(":")
        if port is None or (port and (not port.isdigit() or int(port) != self.port)):
            return False
        if not port and self.port != (443 if self.tls else 80):
            return False
        names = {"localhost", "127.0.0.1", "::1", self.host.lower()}
        if self.ip_port:
            names.add(self.ip_port.rsplit(":", 1)[0].lower())
        if name in names:
            return True
        try:
            ip = ipaddress.ip_address(name)
        except ValueError:
            return False  # a DNS name we were not told about: DNS rebinding
        return ip.is_loopback or self.host in ("", "0.0.0.0", "::")

    def _origin_ok(self, value):
        scheme, sep, rest = value.strip().partition("://")
        return bool(sep) and scheme.lower() == ("https" if self.tls else "http") and "/" not in rest \
            and self._host_ok(rest)

    # -- package bytes, cached while the file is unchanged -------------------------------
    def package_bytes(self, pkg):
        path = pkg["path"]
        try:
            st = os.stat(path)
        except OSError:
            return None
        sig = (st.st_mtime_ns, st.st_size)
        with self._lock:
            hit = self._cache.get(path)
            if hit and hit[0] == sig:
                return hit[1]
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return None
        with self._lock:
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[path] = (sig, data)
        return data

    def note_served(self, t, end):
        self.store.x("UPDATE tasks SET served=MAX(served, ?) WHERE id=?", (end, t["id"]))


class _Conn:
    __slots__ = ("thread", "sock", "deadline", "requests", "closing")

    def __init__(self, thread, sock, deadline):
        self.thread, self.sock, self.deadline = thread, sock, deadline
        self.requests = 0
        self.closing = False


def valid_admin_token(t):
    return isinstance(t, str) and 16 <= len(t) <= 128 and all(
        ch.isascii() and (ch.isalnum() or ch in "-_") for ch in t)
