"""Simulator state: products, devices, packages, tasks and events in SQLite.

One connection shared by every server thread behind one lock (SQLite serialises writes
anyway; the lock keeps multi-statement transitions atomic). WAL + synchronous=OFF: the
state must survive a restart of the simulator, not a power cut of the PC.
Package files live next to the database in `<state_dir>/packages/`.
"""
import hashlib
import json
import os
import re
import secrets
import sqlite3
import string
import threading
import time

TOKEN_TTL = 48 * 3600
STATES = ("pending", "downloading", "upgrading", "succeeded", "failed", "cancelled", "paused")
ACTIVE = ("pending", "downloading", "upgrading")
OPEN = ACTIVE + ("paused",)
VERSION_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,20}$")
_ALNUM = string.ascii_letters + string.digits

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (pid TEXT PRIMARY KEY, access_key TEXT NOT NULL, created REAL);
CREATE TABLE IF NOT EXISTS devices (dev_id TEXT PRIMARY KEY, pid TEXT NOT NULL,
    f_version TEXT, s_version TEXT, created REAL, seen REAL);
CREATE TABLE IF NOT EXISTS packages (id INTEGER PRIMARY KEY AUTOINCREMENT, pid TEXT, name TEXT,
    path TEXT, size INTEGER, md5 TEXT, created REAL);
CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY AUTOINCREMENT, dev_id TEXT NOT NULL,
    pid TEXT, type INTEGER, target TEXT, package_id INTEGER, token TEXT UNIQUE, manuf TEXT,
    model TEXT, retry INTEGER, interval INTEGER, signal INTEGER, power INTEGER,
    pkg_type INTEGER, from_version TEXT, state TEXT, progress INTEGER, result INTEGER,
    served INTEGER DEFAULT 0, paused_from TEXT, created REAL, updated REAL, expires REAL);
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL, dev_id TEXT,
    task_id INTEGER, kind TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS events_dev ON events(dev_id);
CREATE INDEX IF NOT EXISTS tasks_dev ON tasks(dev_id);
"""


class Clock:
    """The simulator's "now": wall time plus an offset, or a fixed time. Thread-safe."""

    def __init__(self, fixed=None):
        self._lock = threading.Lock()
        self._fixed = fixed
        self._offset = 0.0

    def now(self):
        with self._lock:
            if self._fixed is not None:
                return self._fixed
            return time.time() + self._offset

    def advance(self, seconds):
        with self._lock:
            if self._fixed is not None:
                self._fixed += seconds
            else:
                self._offset += seconds
        return self.now()

    def set(self, t):
        with self._lock:
            self._fixed = None
            self._offset = t - time.time()
        return self.now()

    def freeze(self, t=None):
        now = self.now() if t is None else t
        with self._lock:
            self._fixed = now
        return now


class AdminError(Exception):
    """A refused admin operation: HTTP status + message."""

    def __init__(self, msg, status=400):
        Exception.__init__(self, msg)
        self.status = status


def new_token():
    return "ota_" + "".join(secrets.choice(_ALNUM) for _ in range(20))


class Store:
    def __init__(self, state_dir, clock):
        self.dir = os.path.abspath(state_dir)
        self.pkg_dir = os.path.join(self.dir, "packages")
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        os.makedirs(self.pkg_dir, mode=0o700, exist_ok=True)
        self.clock = clock
        self.lock = threading.RLock()
        # The database holds access keys: 0600 before SQLite opens it (its -wal and -shm
        # files take the database's mode), and again for one made by an older version.
        path = os.path.join(self.dir, "sim.sqlite3")
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.chmod(path + suffix, 0o600)
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.executescript(SCHEMA)
        # The dialect columns (issue 14, sim/dialects.py), added to a database made before.
        for table, col in (("products", "platform TEXT DEFAULT 'legacy'"), ("products", "user_id TEXT"),
                           ("products", "user_key TEXT"), ("devices", "dev_key TEXT")):
            have = [r[1] for r in self.db.execute("PRAGMA table_info(%s)" % table)]
            if col.split()[0] not in have:
                self.db.execute("ALTER TABLE %s ADD COLUMN %s" % (table, col))
        self._tok = {}  # token -> task id (a refreshed token is dropped)

    def close(self):
        with self.lock:
            self.db.close()

    # -- low level --------------------------------------------------------------------
    def q(self, sql, args=()):
        with self.lock:
            return [dict(r) for r in self.db.execute(sql, args).fetchall()]

    def q1(self, sql, args=()):
        r = self.q(sql, args)
        return r[0] if r else None

    def x(self, sql, args=()):
        with self.lock:
            return self.db.execute(sql, args).lastrowid

    def event(self, dev_id, task_id, kind, **detail):
        self.x("INSERT INTO events (ts, dev_id, task_id, kind, detail) VALUES (?,?,?,?,?)",
               (self.clock.now(), dev_id, task_id, kind, json.dumps(detail, sort_keys=True)))

    # -- products / devices ---------------------------------------------------------
    def product(self, pid):
        return self.q1("SELECT * FROM products WHERE pid=?", (str(pid),))

    # platform: legacy | fuse | studio (the product's dialect, sim/dialects.py); user_id
    # and user_key: the account whose user-level tokens the fuse dialect accepts.
    def ensure_product(self, pid, access_key, platform=None, user_id=None, user_key=None):
        from onenet_ota import auth
        from onenet_ota.errors import ConfigError

        pid = str(pid)
        if not pid or "/" in pid:
            raise AdminError("product_id: required, no '/'")
        if platform not in (None, "legacy", "fuse", "studio"):
            raise AdminError("platform: legacy, fuse or studio")
        try:
            for k in (access_key or "", user_key) if user_key is not None else (access_key or "",):
                auth.decode_key(k)
        except ConfigError:
            raise AdminError("access_key / user_key: not base64")
        if user_id is not None and not str(user_id).isdigit():
            raise AdminError("user_id: digits")
        with self.lock:
            p = self.product(pid)
            if p is None:
                self.x("INSERT INTO products (pid, access_key, created, platform, user_id, user_key)"
                       " VALUES (?,?,?,?,?,?)", (pid, access_key, self.clock.now(), platform or "legacy",
                                                 None if user_id is None else str(user_id), user_key))
            elif p["access_key"] != access_key:
                raise AdminError("product %s exists with a different access key" % pid, 409)
            elif platform and p["platform"] != platform:
                raise AdminError("product %s is a %s product" % (pid, p["platform"]), 409)
            elif user_id is not None:
                self.x("UPDATE products SET user_id=?, user_key=? WHERE pid=?", (str(user_id), user_key, pid))
        return pid

    def device(self, dev_id):
        return self.q1("SELECT * FROM devices WHERE dev_id=?", (str(dev_id),))

    # dev_key: the device's own key (device-level tokens, fuse and Studio).
    def ensure_device(self, dev_id, pid, f_version=None, s_version=None, dev_key=None):
        dev_id = str(dev_id)
        if not dev_id:
            raise AdminError("dev_id: required")
        with self.lock:
            d = self.device(dev_id)
            if d is None:
                self.x("INSERT INTO devices (dev_id, pid, f_version, s_version, created, dev_key)"
                       " VALUES (?,?,?,?,?,?)", (dev_id, str(pid), f_version, s_version, self.clock.now(), dev_key))
                self.event(dev_id, None, "device_created", product_id=str(pid))
            elif d["pid"] != str(pid):
                raise AdminError("device %s belongs to product %s" % (dev_id, d["pid"]), 409)
        return self.device(dev_id)

    def devices(self):
        out = self.q("SELECT * FROM devices ORDER BY created, dev_id")
        for d in out:
            t = self.q1("SELECT * FROM tasks WHERE dev_id=? ORDER BY id DESC LIMIT 1", (d["dev_id"],))
            d["task"] = self.task_view(t) if t else None
            d["product_id"] = d.pop("pid")
            d["has_key"] = bool(d.pop("dev_key", None))  # no key in an admin answer
            p = self.product(d["product_id"])
            if p and p["platform"] and p["platform"] != "legacy":
                d["platform"] = p["platform"]  # only a fuse-ota / Studio device says (the page's column)
        return out

    # -- packages / tasks -------------------------------------------------------------
    def add_package(self, pid, name, data):
        name = os.path.basename(name or "firmware.bin") or "firmware.bin"
        name = re.sub(r"[^A-Za-z0-9_.\-]", "_", name)[:64]
        if not data:
            raise AdminError("package: empty file")
        md5 = hashlib.md5(data).hexdigest()
        with self.lock:
            pkg = self.x("INSERT INTO packages (pid, name, path, size, md5, created) VALUES (?,?,?,?,?,?)",
                         (str(pid), name, "", len(data), md5, self.clock.now()))
            path = os.path.join(self.pkg_dir, "%d_%s" % (pkg, name))
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
                f.write(data)
            self.x("UPDATE packages SET path=? WHERE id=?", (path, pkg))
        return self.package(pkg)

    def package(self, pkg_id):
        return self.q1("SELECT * FROM packages WHERE id=?", (pkg_id,))

    def create_task(self, dev_id, package_id, target, type=2, manuf="101", model="10101", retry=3,
                    interval=60, signal=0, power=0, pkg_type=1, from_version=None, replace=False):
        if not VERSION_RE.match(target or ""):
            raise AdminError("target: 1-20 characters of [A-Za-z0-9_.-]")
        if int(type) not in (1, 2):
            raise AdminError("type: 1 (FOTA) or 2 (SOTA)")
        if int(pkg_type) not in (1, 2):
            raise AdminError("pkg_type: 1 (full) or 2 (differential)")
        with self.lock:
            d = self.device(dev_id)
            if d is None:
                raise AdminError("no device %s" % dev_id, 404)
            old = self.q("SELECT * FROM tasks WHERE dev_id=? AND type=? AND state IN (%s)"
                         % ",".join("?" * len(OPEN)), (str(dev_id), int(type)) + OPEN)
            if old and not replace:
                raise AdminError("device %s already has an open task %d of type %d (use replace)"
                                 % (dev_id, old[0]["id"], int(type)), 409)
            for t in old:
                self.set_state(t, "cancelled", why="replaced")
            now = self.clock.now()
            tok = new_token()
            tid = self.x(
                "INSERT INTO tasks (dev_id, pid, type, target, package_id, token, manuf, model, retry,"
                " interval, signal, power, pkg_type, from_version, state, progress, result, created,"
                " updated, expires) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (str(dev_id), d["pid"], int(type), target, package_id, tok, str(manuf), str(model),
                 int(retry), int(interval), int(signal), int(power), int(pkg_type), from_version,
                 "pending", 0, None, now, now, now + TOKEN_TTL))
            self.event(dev_id, tid, "task_created", target=target, type=int(type))
        return self.task(tid)

    def task(self, tid):
        return self.q1("SELECT * FROM tasks WHERE id=?", (int(tid),))

    def task_by_token(self, token):
        with self.lock:
            tid = self._tok.get(token)
            if tid is None:
                t = self.q1("SELECT * FROM tasks WHERE token=?", (token,))
                if t:
                    self._tok[token] = t["id"]
                return t
            t = self.task(tid)
            return t if t is not None and t["token"] == token else None

    def refresh_token(self, t):
        """A new download token, valid TOKEN_TTL from now; the old one is unknown from
        then on. The check answer of a task whose token has expired carries a fresh one
        (a device resumes with it: contract section 4, errno 12)."""
        with self.lock:
            tok = new_token()
            self._tok.pop(t["token"], None)
            self.update_task(t["id"], token=tok, expires=self.clock.now() + TOKEN_TTL)
            self.event(t["dev_id"], t["id"], "token_refreshed")
            return self.task(t["id"])

    def tasks(self, dev_id=None, type=None):
        sql, args = "SELECT * FROM tasks WHERE 1=1", []
        if dev_id is not None:
            sql += " AND dev_id=?"
            args.append(str(dev_id))
        if type is not None:
            sql += " AND type=?"
            args.append(int(type))
        return self.q(sql + " ORDER BY id", args)

    def open_task(self, dev_id, type):
        return self.q1("SELECT * FROM tasks WHERE dev_id=? AND type=? AND state IN (%s) ORDER BY id DESC"
                       % ",".join("?" * len(OPEN)), (str(dev_id), int(type)) + OPEN)

    def set_state(self, t, state, **why):
        assert state in STATES
        with self.lock:
            self.x("UPDATE tasks SET state=?, updated=? WHERE id=?", (state, self.clock.now(), t["id"]))
            self.event(t["dev_id"], t["id"], "state", old=t["state"], new=state, **why)
            if state == "succeeded":
                col = "f_version" if t["type"] == 1 else "s_version"
                self.x("UPDATE devices SET %s=? WHERE dev_id=?" % col, (t["target"], t["dev_id"]))
            t["state"] = state
        return t

    def update_task(self, tid, **cols):
        with self.lock:
            sets = ", ".join("%s=?" % k for k in cols)
            self.x("UPDATE tasks SET %s WHERE id=?" % sets, tuple(cols.values()) + (tid,))

    def task_view(self, t):
        """The task as admin answers show it (no access key anywhere)."""
        if t is None:
            return None
        v = dict(t)
        v["product_id"] = v.pop("pid")
        pkg = self.package(t["package_id"])
        v["size"] = pkg["size"] if pkg else None
        v["md5"] = pkg["md5"] if pkg else None
        v["file"] = pkg["name"] if pkg else None
        v["expired"] = self.clock.now() > t["expires"]
        return v

    def events(self, dev_id=None, task_id=None, since=0):
        sql, args = "SELECT * FROM events WHERE id>?", [int(since)]
        if dev_id is not None:
            sql += " AND dev_id=?"
            args.append(str(dev_id))
        if task_id is not None:
            sql += " AND task_id=?"
            args.append(int(task_id))
        out = self.q(sql + " ORDER BY id", args)
        for e in out:
            e["detail"] = json.loads(e["detail"] or "{}")
        return out

    def packages(self, pid=None):
        """Stored packages, the newest first (at most 500; the console page's list)."""
        if pid is None:
            return self.q("SELECT * FROM packages ORDER BY id DESC LIMIT 500")
        return self.q("SELECT * FROM packages WHERE pid=? ORDER BY id DESC LIMIT 500", (str(pid),))
