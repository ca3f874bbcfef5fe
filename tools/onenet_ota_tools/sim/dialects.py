"""The two task-id dialects of the simulator: fuse-ota and OneNET Studio OTA
(shared/docs/onenet-ota-new-api.md; section numbers below are that file's), served from
the same store as the legacy API (tasks.py) and with the same fault knobs (server.py
applies them to every dialect).

    fuse-ota  /fuse-ota/{pro_id}/{dev_name}/version | check | {tid}/check |
              {tid}/download | {tid}/status          {"code","msg","request_id","data"}
    Studio    /ota/{pro_id}/{dev_name}/...  (same tails)  {"errno","error","data"}

The request path decides the dialect; the device's product must be of that platform
(`products.platform`, set by the admin side), else the device "does not exist".
The task id is the store's task id (an integer, §4.3).

Decisions where the digest leaves room (each named where it is made below):
- Codes not seen in any source (§5.1, §11.5: auth failure, bad parameters, invalid
  state, internal error) are the legacy errno numbers (1, 2, 17, 7), the one code seen
  on both sides (20 "task finish") having the legacy number too. HTTP 200 always (§3).
- What moves a task pending -> downloading is unstated (§7, §11.3): here the first
  download, as the legacy simulator does; `{tid}/check` only reads (§4.4).
- Every token form a source shows working is accepted (§2.1, §11.1): fuse: user level
  2022-05-01 (user key), device level 2018-10-31 or 2022-05-01 (device key), product
  level 2018-10-31 (product key); Studio: device or product level, 2018-10-31 (§9.4).
  The download also takes the token as query (fuse, §2.1 S11: no version, signed over
  2022-05-01).
- A paused task (admin side; neither dialect has a paused state, §4.4) shows the status
  it was paused in, takes no steps (17) and no downloads (Ota-Errno 5).
"""
import secrets
from binascii import b2a_base64
import hmac as _hmac

from onenet_ota import auth
from onenet_ota.errors import ConfigError

from .store import ACTIVE, VERSION_RE
from .tasks import DOWNLOAD_CODES, parse_authorization
from .transitions import finish, first_download, json_object, progress, report_versions, result_refused

FUSE, STUDIO = "fuse", "studio"

# task state -> the numeric status of {tid}/check and the check answer (§4.4)
STATUS = {"pending": 1, "downloading": 2, "upgrading": 3, "succeeded": 4, "failed": 5, "cancelled": 6}

# internal reason -> (fuse code, msg), (Studio errno, error)
_NO_TASK, _TASK_SUCC, _TYPE = "no_task", "task_succ", "type"
CODES = {
    0: ((0, "succ"), (0, "succ")),
    _NO_TASK: ((12012, "not exist"), (10, "no task")),  # §5.1 (multi); §9.3 errno 10 (T3)
    _TASK_SUCC: ((12013, "task succ"), (10, "no task")),  # §5.1 (S5)
    _TYPE: ((12010, "task type mismatch"), (10, "no task")),  # §5.1 (S9)
    20: ((20, "task finish"), (20, "task finish")),  # §4.6 (S1 capture)
    1: ((1, "authentication failed"), (1, "authentication failed")),  # not seen: legacy number
    2: ((2, "bad request parameters"), (2, "bad request parameters")),  # not seen: legacy number
    7: ((7, "platform internal error"), (7, "platform internal error")),  # not seen: legacy number
    17: ((17, "invalid state"), (17, "invalid state")),  # not seen (§11.5): legacy number
    27: ((27, "bad version format"), (27, "bad version format")),  # not seen: legacy number
}
# Result steps (§4.6): 101-107, 201-207; 208 is not in the fuse-ota list but is in the
# AIO SDK header T1 (Studio).
FUSE_RESULTS = DOWNLOAD_CODES | set(range(201, 208))
STUDIO_RESULTS = FUSE_RESULTS | {208}


def kind(parts):
    """The dialect of a request path's parts, or None (legacy)."""
    if len(parts) >= 4 and parts[0] == "fuse-ota":
        return FUSE
    if len(parts) >= 4 and parts[0] == "ota" and parts[1] not in ("south", "device"):
        return STUDIO
    return None


def envelope(k, reason, data=None):
    """The JSON answer of dialect k for an internal reason (CODES)."""
    (code, msg), (errno, err) = CODES.get(reason, ((reason, "error"), (reason, "error")))
    if k == FUSE:  # §3: code, msg, request_id (32 hex), data
        out = {"code": code, "msg": msg}
        if data is not None:
            out["data"] = data
        out["request_id"] = secrets.token_hex(16)
        return out, code
    out = {"errno": errno, "error": err}  # §9.3: the errno envelope
    if data is not None:
        out["data"] = data
    return out, errno


def _sign(key, et, method, res, version):
    msg = "%s\n%s\n%s\n%s" % (et, method, res, version)
    return b2a_base64(auth.hmac(method, key, msg.encode())).strip().decode()


def verify(k, a, product, device, now, query=False):
    """True when the parsed token `a` (tasks.parse_authorization, or the query form) is
    one of the forms this dialect accepts (module doc) for this device, at `now`."""
    if a is None or product is None or device is None or a.get("method") not in auth.METHODS:
        return False
    if not str(a.get("et", "")).isdigit() or int(a["et"]) < now:
        return False
    pid, dev = product["pid"], device["dev_id"]
    v, res = a.get("version"), a.get("res")
    if query:  # §2.1 (S11): no version parameter; signed over 2022-05-01
        v = "2022-05-01"
    if res == "userid/%s" % product["user_id"] and k == FUSE and v == "2022-05-01":
        key = product["user_key"]
    elif res == "products/%s/devices/%s" % (pid, dev) and (v == "2018-10-31" or (k == FUSE and v == "2022-05-01")):
        key = device["dev_key"]
    elif res == "products/" + pid and v == "2018-10-31":
        key = product["access_key"]
    else:
        return False
    try:
        key = auth.decode_key(key or "")
    except ConfigError:
        return False
    return _hmac.compare_digest(_sign(key, a["et"], a["method"], res, v), a.get("sign", ""))


class TidSouth:
    """The south API of both task-id dialects over the shared store. Handlers return
    (reason, data); server.Handler wraps them with `envelope`."""

    def __init__(self, store):
        self.s = store
        self.clock = store.clock

    def device(self, k, pid, dev, headers, q=None):
        """-> (reason, device): the device of the path, of a product of dialect k, and a
        valid token (the Authorization header; for a download also the query form)."""
        d = self.s.device(dev)
        p = self.s.product(pid)
        if d is None or p is None or d["pid"] != pid or p["platform"] != k:
            return 1, None
        h = headers.get("Authorization")
        if h is not None:
            ok = verify(k, parse_authorization(h), p, d, self.clock.now())
        elif q is not None and k == FUSE and "sign" in q:
            ok = verify(k, {x: q.get(x) for x in ("res", "et", "method", "sign")}, p, d, self.clock.now(), True)
        else:
            ok = False
        if not ok:
            self.s.event(dev, None, "auth_failed")
            return 1, None
        return 0, d

    def task(self, d, tid):
        t = self.s.task(tid) if str(tid).isdigit() and len(str(tid)) < 12 else None
        return t if t is not None and t["dev_id"] == d["dev_id"] else None

    @staticmethod
    def status(t):
        return STATUS.get(t["paused_from"] if t["state"] == "paused" else t["state"], 1)

    # -- POST/GET …/version (§4.1, §4.2, §9.3) -----------------------------------------
    def version(self, k, d, method, body):
        if method == "GET":  # §4.2: answer shape not seen; the legacy one
            return 0, {"f_version": d["f_version"], "s_version": d["s_version"]}
        b = json_object(body)
        if b is None:
            return 2, None
        vers = {x: b[x] for x in ("f_version", "s_version") if x in b}
        # §4.1: fuse-ota wants both fields (S5 "measured", S11); Studio: either (T1, T3)
        if not vers or (k == FUSE and len(vers) < 2):
            return 2, None
        for v in vers.values():
            if not isinstance(v, str) or not VERSION_RE.match(v):
                return 27, None
        with self.s.lock:
            report_versions(self.s, d["dev_id"], vers)  # §4.1 (S5): the target closes the task
        return 0, None

    # -- GET …/check?type=&version= (§4.3, §9.3) ---------------------------------------
    def check(self, k, d, q):
        if q.get("type") not in ("1", "2") or not q.get("version"):
            return 2, None
        if not VERSION_RE.match(q["version"]):
            return 27, None
        typ = int(q["type"])
        with self.s.lock:
            self.s.event(d["dev_id"], None, "check", type=typ, version=q["version"])
            t = self.s.open_task(d["dev_id"], typ)
            if t is None or t["state"] == "paused":
                if self.s.open_task(d["dev_id"], 3 - typ) is not None:
                    return _TYPE, None  # §5.1 (S9): a task, of the other type
                done = [x for x in self.s.tasks(d["dev_id"], typ) if x["state"] == "succeeded"]
                if done and done[-1]["target"] == q["version"]:
                    return _TASK_SUCC, None  # §5.1 (S5): the task is done
                return _NO_TASK, None
            pkg = self.s.package(t["package_id"])
            # §4.3: the keys of the S1 capture, in its order
            return 0, {"target": t["target"], "tid": t["id"], "size": pkg["size"], "md5": pkg["md5"],
                       "status": self.status(t), "type": t["pkg_type"]}

    # -- GET …/{tid}/check (§4.4): reads, changes nothing (§7) -------------------------
    def task_check(self, k, d, tid):
        t = self.task(d, tid)
        if t is None:
            return _NO_TASK, None
        self.s.event(d["dev_id"], t["id"], "task_check")
        return 0, {"status": self.status(t)}

    # -- POST …/{tid}/status {"step": N} (§4.6) ----------------------------------------
    def step(self, k, d, tid, body):
        b = json_object(body)
        step = b.get("step") if b else None
        results = FUSE_RESULTS if k == FUSE else STUDIO_RESULTS
        if not isinstance(step, int) or isinstance(step, bool) or step < 0 or (step > 100 and step not in results):
            return 2, None
        with self.s.lock:
            t = self.task(d, tid)
            if t is None:
                return _NO_TASK, None
            self.s.event(d["dev_id"], t["id"], "progress", step=step)
            if t["state"] in ("succeeded", "failed", "cancelled"):
                return 20, None  # §4.6: refused in cancelled, failed, succeeded (S1: code 20)
            if step <= 100:  # §4.6: progress only while downloading; 100 -> upgrading
                return (0 if progress(self.s, t, step) else 17), None
            if result_refused(t, step):  # §4.6: while upgrading only 2xx (no 101 after 100)
                return 17, None
            finish(self.s, t, step, "step")
            return 0, None

    # -- GET …/{tid}/download: the task part (§4.5 Ota-Errno) --------------------------
    def download_task(self, d, tid):
        """-> (Ota-Errno or 0, task, package). Moves pending -> downloading (§7: unstated;
        the legacy simulator's choice)."""
        with self.s.lock:
            t = self.task(d, tid)
            if t is None or t["state"] not in ACTIVE:
                return 5, t, None  # §4.5: 5 "param error, task expired|finished"
            pkg = self.s.package(t["package_id"])
            if pkg is None:
                return 2, t, None  # §4.5: 2 file does not exist
            first_download(self.s, t)
            return 0, t, pkg

