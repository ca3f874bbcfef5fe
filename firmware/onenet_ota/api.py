# OneNET OTA south-bound calls (docs: onenet-ota-api.md) over one http.Client.
# Every answer is checked before use: errno -> PlatformError, fields of a task
# validated (token charset, size, md5, version format, ipPort). Messages carry no
# secrets: the Authorization value and download tokens never appear in them.
from .errors import ConfigError, NetError, OtaError, PlatformError, ProtocolError, const

try:
    from json import loads

    _copy = bytes  # the port's json takes bytes (or str), not a memoryview
except ImportError:  # nRF52832 builds have no json
    from .jsonlite import loads

    _copy = None  # jsonlite reads the answer in place: no copy of up to _BODY bytes


_BODY = const(512)  # the largest JSON answer accepted (a check answer is ~250 bytes)
_MAXSIZE = const(0x3FFFFFFF)
_VCHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
_TCHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"  # a literal: no RAM
_HEX = "0123456789abcdef"


def _chars(s, allowed, lo, hi, what, err=ProtocolError):
    if not isinstance(s, str) or not lo <= len(s) <= hi:
        raise err("bad " + what)
    for ch in s:
        if ch not in allowed:
            raise err("bad " + what)
    return s


# A version as the platform accepts it: 1..20 of [A-Za-z0-9_.-] (errno 27 otherwise).
def check_version(v, err=ConfigError):
    return _chars(v, _VCHARS, 1, 20, "version", err)


def _int(d, key, lo, hi, default=None):
    v = d.get(key, default)
    if v is None and default is None:
        raise ProtocolError("missing " + key)
    if isinstance(v, str) and v.isdigit() and len(v) < 11:
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ProtocolError("bad " + key)
    return v


def _ipport(s):
    # Where the platform wants a cdn=false device to download from: "host:port", or
    # "host" alone (the check page's form: the platform's port), or absent (the real
    # captures) -> (host, port or 0) or None. A malformed one is ignored, never fatal:
    # the download then goes to the platform's host (cdn decides nothing, §10).
    if not s or not isinstance(s, str) or s.count(":") > 1:
        return None
    i = s.find(":")
    host = s if i < 0 else s[:i]
    port = "0" if i < 0 else s[i + 1 :]
    try:
        _chars(host, _VCHARS, 1, 64, "ipPort")
    except ProtocolError:
        return None
    if not port.isdigit() or len(port) > 5 or int(port) > 65535 or (i >= 0 and port == "0"):
        return None
    return (host, int(port))


# The task of a check answer, validated field by field -> dict.
def parse_task(d):
    if not isinstance(d, dict):
        raise ProtocolError("bad task")
    md5 = d.get("md5")
    md5 = _chars(md5.lower() if isinstance(md5, str) else md5, _HEX, 32, 32, "md5")
    return {
        "target": check_version(d.get("target"), ProtocolError),
        "token": _chars(d.get("token"), _TCHARS, 1, 64, "token"),
        "size": _int(d, "size", 1, _MAXSIZE),
        "md5": md5,
        "signal": _int(d, "signal", -200, 200, 0),
        "power": _int(d, "power", 0, 100, 0),
        "retry": _int(d, "retry", 0, 1000, 3),
        "interval": _int(d, "interval", 0, 86400, 60),
        "type": _int(d, "type", 1, 2, 1),
        "ipPort": _ipport(d.get("ipPort")),
    }


def _clean(msg):
    # The platform's error text, printable and short (it ends up in logs).
    if not isinstance(msg, str):
        return ""
    out = ""
    for ch in msg[:48]:
        out += ch if " " <= ch <= "~" else "?"
    return out


# The legacy dialect's part of the agent (dialect() below; api_fuse.py and api_studio.py
# are the others): the product-level 2018-10-31 token, and the Api.
# Signed once per boot: auth leaves the heap after (digest.forget; the config check
# and a later signing import it again). The other dialects' modules hold its names.
def sign(cfg, et):
    from .auth import token
    from .digest import forget

    t = token(cfg["product_id"], cfg["access_key"], et, cfg["method"])
    forget("auth")
    return t


# The Authorization value, and where its expiry came from (said in the log): a
# precomputed one from the config; else signed here, valid for et_ttl seconds when
# the board knows the time (ESP32's RTC, a modem's network time), else until the
# configured et. Needs no wall clock: nRF52832 builds have no time.time(). The
# dialect signs (its res and version: product, device or user level).
def authorization(c, board, log, dialect):
    if c.get("authorization"):
        log("token: precomputed (config)")
        return c["authorization"]
    et = c["et"]
    now = None
    if c["et_ttl"]:
        try:
            now = board.now()
        except OtaError:
            now = None
    if now:
        et = now + c["et_ttl"]
        log("token: signed, valid %d s (board clock)" % c["et_ttl"])
    else:
        log("token: signed, valid until et %d%s" % (et, " (no clock)" if c["et_ttl"] else ""))
    from .digest import forget

    a = dialect.sign(c, et)
    forget("sha1")
    return a


def make(client, cfg, auth, buf=None):
    return Api(client, cfg["dev_id"], auth, buf=buf)


# The buffer a JSON answer is read into: the first `body` bytes of buf (the agent's
# chunk buffer, idle between chunks: an answer is read and parsed within one call), or
# one of its own.
def answer_buf(body, buf):
    return bytearray(body) if buf is None else memoryview(buf)[:body]


class Api:
    DONE = 101  # the step that says "package downloaded" (§6)

    # body: the largest JSON answer accepted (host tools pass more for tasking lists).
    def __init__(self, client, dev_id, authorization, body=_BODY, buf=None):
        _chars(str(dev_id), _VCHARS, 1, 32, "dev_id", ConfigError)
        self.c = client
        self.dl = client  # the client downloads go through (see Agent._route)
        self.dev_id = str(dev_id)
        self._auth = (("Authorization", authorization),)
        self._json = (("Authorization", authorization), ("Content-Type", "application/json"))
        self._buf = answer_buf(body, buf)
        self._dl_token = None
        self._dl_path = None

    # One JSON call -> the answer's data (errno 0), else PlatformError.
    def _call(self, method, path, body=None):
        c = self.c
        st = c.request(method, path, self._json if body else self._auth, body)
        d = json_answer(c, st, self._buf)
        e = d.get("errno")
        if not isinstance(e, int):
            raise ProtocolError("answer without errno")
        if e:
            raise PlatformError(e, _clean(d.get("error")))
        return d.get("data")

    def _q(self, path):
        return path + ("&" if "?" in path else "?") + "dev_id=" + self.dev_id

    # POST /ota/device/version: the application (s_version) and/or module version.
    def report_version(self, s_version=None, f_version=None):
        parts = []
        if f_version is not None:
            parts.append('"f_version":"%s"' % check_version(f_version))
        if s_version is not None:
            parts.append('"s_version":"%s"' % check_version(s_version))
        if not parts:
            raise ConfigError("version: nothing to report")
        return self._call("POST", self._q("/ota/device/version"), "{" + ",".join(parts) + "}")

    # GET /ota/device/version -> {"f_version":…, "s_version":…}
    def query_version(self):
        return self._call("GET", self._q("/ota/device/version"))

    # GET /ota/south/check -> validated task dict; PlatformError(11) when none.
    def check(self, task_type, version, manuf, model, cdn=True, signals=None, powers=None):
        return parse_task(self._call("GET", self._check_q(task_type, version, manuf, model, cdn, signals, powers)))

    # The check's request written behind the next call (the version report), in the same
    # write, where the client pipelines (pipe.Client.after): check() with the same
    # arguments then only reads its answer. No arguments: nothing behind.
    def check_behind(self, *args):
        if hasattr(self.c, "after"):
            self.c.after = (self._check_q(*args), self._auth) if args else None

    def _check_q(self, task_type, version, manuf, model, cdn, signals, powers):
        check_version(version)
        # manuf/model are digit strings: FOTA module codes keep leading zeros ("001").
        _chars(str(manuf), "0123456789", 1, 8, "manuf", ConfigError)
        _chars(str(model), "0123456789", 1, 8, "model", ConfigError)
        q = "/ota/south/check?dev_id=%s&manuf=%s&model=%s&type=%d&version=%s&cdn=%s" % (
            self.dev_id, manuf, model, int(task_type), version, "true" if cdn else "false")
        if signals is not None:
            q += "&signals=%d" % int(signals)
        if powers is not None:
            q += "&powers=%d" % int(powers)
        return q

    def _token_path(self, token, tail):
        return self._q("/ota/south/download/" + _chars(token, _TCHARS, 1, 64, "token") + tail)

    # GET /ota/south/download/{token}/check: moves the task pending -> downloading.
    def check_token(self, token):
        return self._call("GET", self._token_path(token, "/check"))

    # POST …/progress {"step": N}: 0..100 progress, >100 a result code.
    def report(self, token, step):
        path = "/ota/south/device/download/%s/progress" % _chars(token, _TCHARS, 1, 64, "token")
        return self._call("POST", self._q(path), '{"step":%d}' % int(step))

    # The older form: POST /ota/south/report?dev_id=&token= {"result": N}.
    def report_result_old(self, token, result):
        path = self._q("/ota/south/report") + "&token=" + _chars(token, _TCHARS, 1, 64, "token")
        return self._call("POST", path, '{"result":%d}' % int(result))

    # GET /ota/south/tasking?type= (§10: a documented endpoint, type required): the
    # device's one current task, validated as a check answer's -> dict.
    def tasking(self, task_type):
        return parse_task(self._call("GET", self._q("/ota/south/tasking") + "&type=%d" % int(task_type)))

    # The download path of a token: one object while the token stays (http.Client
    # formats the range head once; fetch.py writes the first range ahead with it).
    def dl_path(self, token):
        if token is not self._dl_token:
            self._dl_path = "/ota/south/download/" + _chars(token, _TCHARS, 1, 64, "token")
            self._dl_token = token
        return self._dl_path

    # Ask for bytes start..end of the package. Returns how many body bytes follow
    # (read them with self.c.readinto); self.c.status 200 means the server ignored the
    # Range and the body is the whole package from byte 0. The one-byte answers without
    # Content-Length raise PlatformError(1001..1006): the byte as an ASCII digit (the
    # older SDK's atoi) or as its raw value (OneNET_AIO_c's ota_api.c), §10.
    # end == total - 1 asks with an open-ended range (bytes=start-).
    def fetch(self, token, start, end, total):
        c = self.dl
        st = c.send_range(self.dl_path(token), start, -1 if end == total - 1 else end)
        return range_answer(c, self._buf, st, start, end, total, total)


# A download answer's head, checked (shared by every dialect) -> how many body bytes
# follow. A one-byte body without Content-Length is a refusal code (PlatformError
# 1001..1006); a 206 must be the range asked for, its total `total` or `any_total`
# (-1: the fuse/Studio forms without one); a 200 is the whole package.
def range_answer(c, buf, st, start, end, total, any_total):
    if c.length < 0 and not c.chunked:
        n = c.read_body(buf)
        b = buf[0] - 48 if n == 1 and buf[0] > 48 else buf[0]
        if n == 1 and 1 <= b <= 6:
            raise PlatformError(1000 + b, "download refused")
        raise ProtocolError("download without Content-Length")
    if st == 206:
        r = c.crange
        if r[0] != start or r[1] > end or r[2] not in (any_total, total):
            c.drain()
            raise ProtocolError("wrong Content-Range")
        return r[1] - start + 1
    if st == 200:
        if c.length >= 0 and c.length != total:
            c.drain()
            raise ProtocolError("whole-file answer of wrong size")
        return total
    c.drain()
    if st >= 500:
        raise NetError("HTTP %d" % st)
    raise ProtocolError("HTTP %d" % st)


# A JSON call's answer, read into buf and parsed (shared by every dialect) -> a dict;
# HTTP 5xx NetError, other non-200 or a body that is no JSON object ProtocolError.
def json_answer(c, st, buf):
    n = c.read_body(buf)
    if st != 200:
        if st >= 500:
            raise NetError("HTTP %d" % st)
        raise ProtocolError("HTTP %d" % st)
    try:
        d = memoryview(buf)[:n]
        d = loads(_copy(d) if _copy else d)
    except (ValueError, TypeError, ProtocolError):
        raise ProtocolError("bad JSON answer")
    if not isinstance(d, dict):
        raise ProtocolError("bad JSON answer")
    return d
