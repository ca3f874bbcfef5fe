"""The south-bound API and the task state machine (contract sections 1-4, 6, 7).

Every handler returns `(errno, data)`; the HTTP layer wraps it as
`{"errno": N, "error": MSG[, "data": {...}]}` with status 200, like the platform.

Checks, in order, for the calls that carry an Authorization header:
dev_id present (else 2) -> device exists (else 1) -> header parses, `res` is
`products/{pid}` of the device's product, `method` one of md5/sha1/sha256, `sign`
recomputed with the product's access key by the firmware's own `auth.hmac` (else 1)
-> `et` not in the past of the simulator clock (else 1) -> the call's own parameters.
"""
import hmac as _hmac
from binascii import b2a_base64
from urllib.parse import unquote

from onenet_ota import auth
from onenet_ota.errors import ConfigError

from .faults import DEFAULT_MODES
from .store import ACTIVE, VERSION_RE
from .transitions import finish, first_download, json_object, progress, report_versions, result_refused

MESSAGES = {
    0: "succ",
    1: "authentication failed",
    2: "bad request parameters",
    4: "token and device differ",
    7: "platform internal error",
    8: "manuf or model differ",
    9: "version differs",
    11: "no task",
    12: "token expired",
    17: "invalid state",
    20: "task finished",
    21: "invalid operation",
    22: "task cancelled",
    24: "bad result",
    27: "bad version format",
}
DOWNLOAD_CODES = set(range(101, 108))
UPGRADE_CODES = set(range(201, 209))
RESULT_CODES = DOWNLOAD_CODES | UPGRADE_CODES


def parse_authorization(value):
    """`version=..&res=..&et=..&method=..&sign=..` -> dict of URL-decoded values, or None."""
    if not value:
        return None
    out = {}
    for part in value.strip().split("&"):
        k, sep, v = part.partition("=")
        if not sep:
            return None
        out[k.strip()] = unquote(v.strip())
    for k in ("version", "res", "et", "method", "sign"):
        if k not in out:
            return None
    return out


def verify(header, product, now):
    """True when the Authorization value is valid for this product at time `now`."""
    a = parse_authorization(header)
    if a is None or product is None:
        return False
    if a["version"] != auth.VERSION or a["method"] not in auth.METHODS:
        return False
    if a["res"] != "products/" + product["pid"]:
        return False
    if not a["et"].isdigit():
        return False
    try:
        key = auth.decode_key(product["access_key"])
    except ConfigError:
        return False
    msg = "%s\n%s\n%s\n%s" % (a["et"], a["method"], a["res"], a["version"])
    sign = b2a_base64(auth.hmac(a["method"], key, msg.encode())).strip().decode()
    if not _hmac.compare_digest(sign, a["sign"]):
        return False
    return int(a["et"]) >= now


class South:
    # knobs(dev_id, task_id) -> the modes and fault knobs of a request (faults.Faults.get).
    def __init__(self, store, ip_port, knobs=None):
        self.s = store
        self.clock = store.clock
        self.ip_port = ip_port  # "host:port" handed out as ipPort (see _ipport)
        self.knobs = knobs or (lambda dev_id, task_id: dict(DEFAULT_MODES))

    # -- helpers ------------------------------------------------------------------
    def _device(self, q, headers, required=True):
        """-> (errno, device). Authorization checked when present or `required`."""
        dev_id = q.get("dev_id")
        if not dev_id:
            return 2, None
        d = self.s.device(dev_id)
        if d is None:
            return 1, None
        p = self.s.product(d["pid"])
        if p is not None and (p.get("platform") or "legacy") != "legacy":
            return 1, None  # a fuse-ota / Studio device (dialects.py) is unknown here
        h = headers.get("Authorization")
        if h is None and not required:
            return 0, d
        if not verify(h, self.s.product(d["pid"]), self.clock.now()):
            self.s.event(dev_id, None, "auth_failed")
            return 1, None
        return 0, d

    def _expired(self, t):
        return self.clock.now() > t["expires"]

    def _closed(self, t, token_expiry):
        """errno for a task that takes no more calls: 20 ended, 22 cancelled, and (for
        the token's own calls) 12 when the token has expired; 0 otherwise."""
        if t["state"] in ("succeeded", "failed"):
            return 20
        if t["state"] == "cancelled":
            return 22
        if token_expiry and self._expired(t):
            return 12
        return 0

    def task_data(self, t, pkg, cdn, k):
        """A task as the check (and tasking) answer carries it: the keys and their order
        of the real captures (section 10), ipPort as the modes say."""
        d = {
            "target": t["target"],
            "token": t["token"],
            "size": pkg["size"],
            "md5": pkg["md5"],
            "signal": t["signal"],
            "power": t["power"],
            "retry": t["retry"],
            "interval": t["interval"],
        }
        ip = self._ipport(cdn, k)
        if ip:
            d["ipPort"] = ip
        d["type"] = t["pkg_type"]
        return d

    def _ipport(self, cdn, k):
        form, when = k.get("ipport_form", "absent"), k.get("ipport_cdn", "false")
        if form == "absent" or (when != "any" and cdn != when):
            return None
        return self.ip_port if form == "hostport" else self.ip_port.rsplit(":", 1)[0]

    def _end_expired(self, t, k):
        """token_expiry=end: the first errno 12 ends the task (result 208)."""
        if k.get("token_expiry") == "end" and t["state"] in ("pending", "downloading", "upgrading", "paused"):
            self.s.update_task(t["id"], result=208)
            self.s.set_state(t, "failed", why="token expired", result=208)

    # -- POST/GET /ota/device/version ------------------------------------------------
    def version(self, method, q, headers, body):
        e, d = self._device(q, headers)
        if e:
            return e, None
        if method == "GET":
            return 0, {"f_version": d["f_version"], "s_version": d["s_version"]}
        b = json_object(body)
        if b is None:
            return 2, None
        vers = {k: b[k] for k in ("f_version", "s_version") if k in b}
        if not vers:
            return 2, None
        for v in vers.values():
            if not isinstance(v, str) or not VERSION_RE.match(v):
                return 27, None
        with self.s.lock:
            report_versions(self.s, d["dev_id"], vers)
        return 0, None

    # -- GET /ota/south/check ----------------------------------------------------------
    def check(self, q, headers):
        e, d = self._device(q, headers)
        if e:
            return e, None
        # Section 10: the newest official ota_check_task sends neither manuf, model nor
        # cdn, the old core no cdn: only type and version are required.
        for k in ("type", "version"):
            if not q.get(k):
                return 2, None
        if q["type"] not in ("1", "2") or q.get("cdn", "true") not in ("true", "false"):
            return 2, None
        for k in ("signals", "powers"):
            if k in q and not q[k].lstrip("-").isdigit():
                return 2, None
        if not VERSION_RE.match(q["version"]):
            return 27, None
        with self.s.lock:
            self.s.event(d["dev_id"], None, "check", type=int(q["type"]), version=q["version"],
                         manuf=q.get("manuf"), model=q.get("model"), cdn=q.get("cdn"))
            t = self.s.open_task(d["dev_id"], int(q["type"]))
            if t is None:
                return 11, None
            k = self.knobs(d["dev_id"], t["id"])
            # A manuf/model that is sent must match; one that is not sent decides nothing.
            if any(q.get(f) and t[f] != q[f] for f in ("manuf", "model")):
                self.s.set_state(t, "failed", why="manuf/model differ")
                return 8, None
            if t["pkg_type"] == 2 and t["from_version"] and t["from_version"] != q["version"]:
                self.s.set_state(t, "failed", why="version differs")
                return 9, None
            if t["state"] == "paused" and k.get("paused_check", 17):
                return k.get("paused_check", 17), None  # see faults.MODES["paused_check"]
            if self.s.clock.now() > t["expires"] and t["state"] != "paused":
                if k.get("token_expiry") == "end":
                    self._end_expired(t, k)
                    return 11, None
                t = self.s.refresh_token(t)
            pkg = self.s.package(t["package_id"])
            return 0, self.task_data(t, pkg, q.get("cdn"), k)

    # -- GET /ota/south/download/{token}/check -----------------------------------------
    # errno 0, 4, 7, 12, 17, 20, 21, 22 (section 4/10); 7 and any of them on demand by
    # the errno7 / token_check_errno knobs (server.py).
    def token_check(self, token, q, headers):
        e, d = self._device(q, headers, required=False)
        if e:
            return e, None
        with self.s.lock:
            t = self.s.task_by_token(token)
            if t is None or t["dev_id"] != d["dev_id"]:
                return 4, None
            e = self._closed(t, True)
            if e == 12:
                self._end_expired(t, self.knobs(d["dev_id"], t["id"]))
            if e:
                return e, None
            if t["state"] not in ("pending", "downloading"):
                return 17, None
            if t["state"] == "pending":
                self.s.set_state(t, "downloading", why="token check")
            return 0, None

    # -- POST /ota/south/device/download/{token}/progress --------------------------------
    def progress(self, token, q, headers, body):
        e, d = self._device(q, headers)
        if e:
            return e, None
        b = json_object(body)
        step = b.get("step") if b else None
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            return 2, None
        if step > 100 and step not in RESULT_CODES:
            return 2, None
        with self.s.lock:
            t = self.s.task_by_token(token)
            if t is None or t["dev_id"] != d["dev_id"]:
                return 4, None
            self.s.event(d["dev_id"], t["id"], "progress", step=step)
            e = self._closed(t, True)
            if e == 12:
                self._end_expired(t, self.knobs(d["dev_id"], t["id"]))
            if e:
                return e, None
            if step <= 100:
                return (0 if progress(self.s, t, step) else 17), None
            if result_refused(t, step):
                return 17, None
            finish(self.s, t, step, "result")
            return 0, None

    # -- POST /ota/south/report (older form) ---------------------------------------------
    def report(self, q, headers, body):
        # A valid Authorization like every other device call (issue 16: with a token alone
        # this form used to mark a task succeeded).
        e, d = self._device(q, headers)
        if e:
            return e, None
        token = q.get("token")
        b = json_object(body)
        code = b.get("result") if b else None
        with self.s.lock:
            t = self.s.task_by_token(token) if token else None
            if t is None or t["dev_id"] != d["dev_id"]:
                return 1, None
            if not isinstance(code, int) or isinstance(code, bool):
                return 24, None
            if code not in RESULT_CODES:
                return 2, None
            self.s.event(d["dev_id"], t["id"], "report", result=code)
            e = self._closed(t, False)
            if e:
                return e, None
            if result_refused(t, code):
                return 21, None
            finish(self.s, t, code, "result")
            return 0, None

    # -- GET /ota/south/tasking ---------------------------------------------------------
    # The documented "get the token of a task being upgraded (downloading/upgrading)":
    # query dev_id, type (required), cdn (optional); data is one task, like check's.
    # errno 0, 2 (type), 4 (no downloading/upgrading task: none, pending, paused, ended),
    # 7, 12 (token expired: the flow ends).
    def tasking(self, q, headers):
        e, d = self._device(q, headers)
        if e:
            return e, None
        if q.get("type") not in ("1", "2") or q.get("cdn", "true") not in ("true", "false"):
            return 2, None
        with self.s.lock:
            t = self.s.open_task(d["dev_id"], int(q["type"]))
            if t is None or t["state"] not in ("downloading", "upgrading"):
                return 4, None
            k = self.knobs(d["dev_id"], t["id"])
            if self._expired(t):
                self._end_expired(t, k)
                return 12, None
            return 0, self.task_data(t, self.s.package(t["package_id"]), q.get("cdn"), k)

    # -- GET /ota/south/download/{token}: the token part ----------------------------------
    def download_task(self, token, q):
        """-> (one_byte_code or 0, task, package). Moves pending -> downloading."""
        with self.s.lock:
            t = self.s.task_by_token(token)
            if t is None or self._expired(t) or t["state"] not in ACTIVE:
                return 3, t, None
            if q.get("dev_id") and q["dev_id"] != t["dev_id"]:
                return 3, t, None
            pkg = self.s.package(t["package_id"])
            if pkg is None:
                return 1, t, None
            first_download(self.s, t)
            return 0, t, pkg
