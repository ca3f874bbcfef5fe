# The task-id dialects of OneNET OTA (docs: onenet-ota-new-api.md): fuse-ota (§1-7) and
# Studio (§9) share one path shape, {prefix}{pro_id}/{dev_name}/version | check |
# {tid}/check | {tid}/download | {tid}/status, and differ in the answer envelope and a
# few codes (api_fuse.py, api_studio.py). The agent talks to this class exactly as to
# the legacy api.Api: the task id (an integer, §4.3) is carried as a digit string where
# the legacy token is, so the journal persists it and a resume finds it; every platform
# code is translated to the legacy errno the agent's _RULES already answer.
from binascii import b2a_base64

from .api import _HEX, _VCHARS, _chars, _clean, _int, answer_buf, check_version, json_answer, range_answer
from .auth import decode_key, hmac, quote
from .errors import ConfigError, NetError, PlatformError, ProtocolError, const
from .http_head import lower_eq as _lower_eq
from .pipe import Client as _Client

_BODY = const(512)  # as api.py's (a const() of another module is not importable)
_MAXSIZE = const(0x3FFFFFFF)
_E_NO_TASK = const(11)
_E_FINISHED = const(20)
_E_CANCELLED = const(22)
_DIGITS = "0123456789"
_ALNUM = _VCHARS.replace(".", "").replace("-", "").replace("_", "")


# Ota-Errno (§4.5, the table of S5/S7) -> the legacy one-byte codes (1000 + b) the agent
# answers: 4 size mismatch -> 2 (retried), 5 task expired/finished -> 3 (check the task
# again: its {tid}/check tells cancelled from ended), the rest -> a refusal (107).
_OTA_ERRNO = (0, 1001, 1001, 1004, 1002, 1003, 1005)


class Client(_Client):
    # pipe.Client (the check behind the version report, where the board pipelines:
    # board.pipelines) plus the two header families of these dialects: Ota-Errno
    # (§4.5) and T3's Content-Range-Start / Content-Range-End (§9.5), read into the
    # same field as a Content-Range (crange; its total stays -1: those carry none).
    ota_errno = -1

    def _reset_response(self):
        _Client._reset_response(self)
        self.ota_errno = -1

    def _header(self, o, c, v, n):
        line = self._lb
        if _lower_eq(line, o, c, b"ota-errno"):
            self.ota_errno = self._num(v, n)
        elif _lower_eq(line, o, c, b"content-range-start"):
            self.crange[0] = self._num(v, n)
        elif _lower_eq(line, o, c, b"content-range-end"):
            self.crange[1] = self._num(v, n)
        else:
            _Client._header(self, o, c, v, n)


# The token (§2): the legacy HMAC over "et\nmethod\nres\nversion", any version and res.
def token(res, key, et, method, version):
    msg = "%d\n%s\n%s\n%s" % (et, method, res, version)
    s = b2a_base64(hmac(method, decode_key(key), msg.encode())).strip()
    return "version=%s&res=%s&et=%d&method=%s&sign=%s" % (version, quote(res), et, method, quote(s))


# res by level (§2.1): product, device (the MQTT password's), user (the account's key).
def sign(cfg, et):
    lvl = cfg["token_res"]
    if lvl == "user":
        res = "userid/" + cfg["user_id"]
    else:
        res = "products/" + cfg["product_id"]
        if lvl == "device":
            res += "/devices/" + cfg["dev_id"]
    return token(res, cfg["access_key"], et, cfg["method"], cfg["token_version"])


# config.check's part for these platforms (raw: the settings as given).
def check(cfg, raw, host, res, version):
    _chars(cfg["product_id"], _ALNUM, 1, 20, "product_id", ConfigError)
    if "host" not in raw:
        cfg["host"] = host
    if cfg["token_res"] is None:
        cfg["token_res"] = res
    if cfg["token_version"] is None:
        cfg["token_version"] = version
    if cfg["token_res"] not in ("product", "device", "user"):
        raise ConfigError("token_res: product, device or user")
    if cfg["token_version"] not in ("2018-10-31", "2022-05-01"):
        raise ConfigError("token_version: 2018-10-31 or 2022-05-01")
    if cfg["token_res"] == "user":
        u = cfg["user_id"]
        cfg["user_id"] = u = str(u) if isinstance(u, int) and not isinstance(u, bool) else u
        _chars(u, _DIGITS, 1, 20, "user_id (token_res user: the account's id)", ConfigError)
    if cfg["download_auth"] not in ("header", "query"):
        raise ConfigError("download_auth: header or query")
    if cfg["download_auth"] == "query" and cfg["token_version"] != "2022-05-01":
        # §2.1: the query form has no version parameter and is signed over 2022-05-01
        raise ConfigError("download_auth query: token_version 2022-05-01 only")


class Api:
    PREFIX = "/fuse-ota/"
    DONE = 100  # the step that says "package downloaded" (§4.6: 100, never 101 after it)
    KEY = "code"  # the envelope's code field, and its message field
    MSG = "msg"
    NO_TASK = (12012,)  # codes that mean "no task" (-> errno 11)

    def __init__(self, client, cfg, authorization, body=_BODY, buf=None):
        pid = _chars(str(cfg["product_id"]), _ALNUM, 1, 20, "product_id", ConfigError)
        dev = _chars(str(cfg["dev_id"]), _VCHARS, 1, 32, "dev_id", ConfigError)
        self.c = client
        self.dl = client  # the client downloads go through (see Agent._route)
        self._base = self.PREFIX + pid + "/" + dev + "/"
        self._auth = (("Authorization", authorization),)
        self._json = (("Authorization", authorization), ("Content-Type", "application/json"))
        self._buf = answer_buf(body, buf)
        self._dl_tid = None
        self._dl_path = None
        self._dl_head = self._auth
        self._dl_query = ""
        if cfg.get("download_auth") == "query":
            # §2.1 (S11): res, et, method, sign as the download's query, no version
            self._dl_head = ()
            self._dl_query = "?" + authorization[authorization.find("&") + 1:]

    # One JSON call -> the answer's data (code 0), else PlatformError (legacy errno).
    def _call(self, method, tail, body=None):
        c = self.c
        st = c.request(method, self._base + tail, self._json if body else self._auth, body)
        d = json_answer(c, st, self._buf)
        e = d.get(self.KEY)
        if not isinstance(e, int) or isinstance(e, bool):
            raise ProtocolError("answer without " + self.KEY)
        if e:
            raise PlatformError(_E_NO_TASK if e in self.NO_TASK else e, _clean(d.get(self.MSG)))
        return d.get("data")

    # POST …/version: both fields (§4.1: a missing one is a parameter error); a device
    # that knows one version sends it in both.
    def report_version(self, s_version=None, f_version=None):
        s = s_version if s_version is not None else f_version
        f = f_version if f_version is not None else s_version
        if s is None:
            raise ConfigError("version: nothing to report")
        return self._call("POST", "version", '{"s_version":"%s","f_version":"%s"}' % (
            check_version(s), check_version(f)))

    def query_version(self):
        return self._call("GET", "version")

    # GET …/check?type=&version= (§4.3: no manuf, model, cdn, signals, powers).
    def check(self, task_type, version, *unused):
        return parse_task(self._call("GET", self._check_q(task_type, version)))

    # As api.Api.check_behind: the check written behind the version report.
    def check_behind(self, *args):
        if hasattr(self.c, "after"):
            self.c.after = (self._base + self._check_q(args[0], args[1]), self._auth) if args else None

    def _check_q(self, task_type, version):
        check_version(version)
        return "check?type=%d&version=%s" % (int(task_type), version)

    def _tid(self, tid):
        return _chars(tid, _DIGITS, 1, 10, "task id")

    # GET …/{tid}/check -> status 1..3 (§4.4); 4, 5 -> errno 20 (ended), 6 -> 22.
    # The legacy token check's place in the agent; no source says it changes state (§7).
    def check_token(self, tid):
        d = self._call("GET", self._tid(tid) + "/check")
        st = _int(d if isinstance(d, dict) else {}, "status", 1, 6)
        if st == 6:
            raise PlatformError(_E_CANCELLED, "task cancelled")
        if st > 3:
            raise PlatformError(_E_FINISHED, "task finished")
        return st

    # POST …/{tid}/status {"step": N} (§4.6). A refusal "task finish" (code 20, the S1
    # capture) is asked about: {tid}/check tells a cancelled task (22) from an ended one.
    def report(self, tid, step):
        try:
            return self._call("POST", self._tid(tid) + "/status", '{"step":%d}' % int(step))
        except PlatformError as e:
            if e.errno != _E_FINISHED:
                raise
            self.check_token(tid)
            raise

    # GET …/{tid}/download with a Range (§4.5, §6): bytes start..end; -> how many body
    # bytes follow. Ota-Errno is authoritative whatever the status (§4.5: S5 sees 200
    # with a non-zero one); a one-byte body without Content-Length is T1's Studio form.
    def fetch(self, tid, start, end, total):
        if tid is not self._dl_tid:
            self._dl_path = self._base + self._tid(tid) + "/download" + self._dl_query
            self._dl_tid = tid
        c = self.dl
        st = c.send_range(self._dl_path, start, -1 if end == total - 1 else end, self._dl_head)
        e = c.ota_errno
        if e > 0:
            c.drain()
            raise PlatformError(_OTA_ERRNO[e] if e < 7 else 1001, "Ota-Errno %d" % e)
        return range_answer(c, self._buf, st, start, end, total, -1)


# A check answer's data (§4.3): target, tid (number or digit string, S9), size, md5,
# status 1..3, type (the package kind). The legacy policy fields do not exist here: the
# agent's defaults stand in (retry 3; interval 0, so the config's back-off decides).
def parse_task(d):
    if not isinstance(d, dict):
        raise ProtocolError("bad task")
    md5 = d.get("md5")
    md5 = _chars(md5.lower() if isinstance(md5, str) else md5, _HEX, 32, 32, "md5")
    return {
        "target": check_version(d.get("target"), ProtocolError),
        "token": str(_int(d, "tid", 1, _MAXSIZE)),
        "size": _int(d, "size", 1, _MAXSIZE),
        "md5": md5,
        "status": _int(d, "status", 1, 3, 1),
        "signal": 0,
        "power": 0,
        "retry": 3,
        "interval": 0,
        "type": _int(d, "type", 1, 2, 1),
        "ipPort": None,
    }
