"""`Simulator`: the Python API (tests, demo) around store, south API, faults and server."""
import os
import socket
import threading

from .faults import Faults
from .server import Server, Stats
from .store import OPEN, AdminError, Clock, Store
from .tasks import South


class Simulator:
    # ip_port: the "host:port" a check answer's ipPort names (default: this server); giving
    # one selects the mode ipport_form=hostport unless `modes` says otherwise.
    # modes: the global modes (faults.MODES: where the sources disagree, section 10).
    def __init__(self, state_dir="./state/sim", port=0, clock=None, host="127.0.0.1", verbose=False, tls=None,
                 ip_port=None, modes=None):
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
        self.url = None
        self._httpd = None
        self._thread = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._conns = {}
        self._cache = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self):
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = Server((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self.url = "http://%s:%d" % (self.host, self.port)
        if self.tls:
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls[0], self.tls[1])
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
            self.url = "https://%s:%d" % (self.host, self.port)
        self.south = South(self.store, self.ip_port or "%s:%d" % (self.host, self.port), self.faults.get)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sim-accept", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is None:
            if self._store is not None:
                self._store.close()
                self._store = None
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._thread.join()
        self._httpd.server_close()
        with self._lock:
            conns = list(self._conns.items())
            self._conns.clear()
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

    def _track(self, t, sock):
        with self._lock:
            for old in [k for k in self._conns if not k.is_alive() and k.ident is not None]:
                del self._conns[old]
            self._conns[t] = sock

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

    # -- admin operations -----------------------------------------------------------------
    def publish(self, target, product_id, access_key, dev_id, data=None, file=None, name=None, type=2,
                manuf="101", model="10101", retry=3, interval=60, signal=0, power=0, pkg_type=1,
                from_version=None, replace=False, f_version=None, s_version=None):
        if data is None:
            if file is None:
                raise AdminError("publish: data or file")
            with open(file, "rb") as f:
                data = f.read()
            name = name or os.path.basename(file)
        s = self.store
        with s.lock:
            pid = s.ensure_product(product_id, access_key)
            s.ensure_device(dev_id, pid, f_version, s_version)
            pkg = s.add_package(pid, name or "firmware.bin", data)
            t = s.create_task(dev_id, pkg["id"], target, type=type, manuf=manuf, model=model, retry=retry,
                              interval=interval, signal=signal, power=power, pkg_type=pkg_type,
                              from_version=from_version, replace=replace)
        return self.task(t["id"])

    def add_device(self, dev_id, product_id, access_key, f_version=None, s_version=None):
        with self.store.lock:
            pid = self.store.ensure_product(product_id, access_key)
            d = self.store.ensure_device(dev_id, pid, f_version, s_version)
        d["product_id"] = d.pop("pid")
        return d

    def task(self, tid):
        t = self.store.task(tid)
        if t is None:
            raise AdminError("no task %s" % tid, 404)
        return self.store.task_view(t)

    def tasks(self, dev_id=None):
        return [self.store.task_view(t) for t in self.store.tasks(dev_id)]

    def devices(self):
        return self.store.devices()

    def events(self, dev_id=None, task_id=None, since=0):
        return self.store.events(dev_id, task_id, since)

    def fault(self, target, **knobs):
        """Set fault knobs on a device (dev_id, str) or a task (id, int); see faults.py.
        `expire_token=True` is an action on a task (or the device's open tasks)."""
        if knobs.pop("expire_token", False):
            if isinstance(target, int):
                self.store_action(target, "expire")
            else:
                for t in self.store.tasks(target):
                    if t["state"] in OPEN:
                        self.store_action(t["id"], "expire")
        return self.faults.set(target, **knobs) if knobs else {}

    def modes(self, **modes):
        """Set global modes (faults.MODES) -> all of them; no argument: just read them."""
        return self.faults.set_modes(**modes) if modes else self.faults.get_modes()

    def clear_faults(self, target=None):
        self.faults.clear(target)

    def cancel(self, tid):
        return self.store_action(tid, "cancel")

    def pause(self, tid):
        return self.store_action(tid, "pause")

    def resume(self, tid):
        return self.store_action(tid, "resume")

    def expire_token(self, tid):
        return self.store_action(tid, "expire")

    def store_action(self, tid, action, why="admin"):
        s = self.store
        with s.lock:
            t = s.task(tid)
            if t is None:
                raise AdminError("no task %s" % tid, 404)
            st = t["state"]
            if action == "cancel":
                if st not in OPEN:
                    raise AdminError("task %s is %s: cannot cancel" % (tid, st), 409)
                s.set_state(t, "cancelled", why=why)
            elif action == "pause":
                if st not in ("pending", "downloading", "upgrading"):
                    raise AdminError("task %s is %s: cannot pause" % (tid, st), 409)
                s.update_task(t["id"], paused_from=st)
                s.set_state(t, "paused", why=why)
            elif action == "resume":
                if st != "paused":
                    raise AdminError("task %s is %s: not paused" % (tid, st), 409)
                s.set_state(t, t["paused_from"] or "pending", why=why)
            elif action == "expire":
                now = self.clock.now()
                s.update_task(t["id"], expires=now - 1)
                s.event(t["dev_id"], t["id"], "token_expired", why=why)
            else:
                raise AdminError("unknown action %r" % action, 404)
        return self.task(tid)
