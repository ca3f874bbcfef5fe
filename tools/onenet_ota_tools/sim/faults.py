"""Fault injection, per device (dev_id) or per task (task id).

Knobs (all optional; a task's knobs override its device's):

    latency=S              sleep S seconds before handling every request
    http_error=500|503     answer this HTTP status (tiny JSON body) ...
    http_error_count=N     ... to the next N requests (default 1)
    errno7=N               the next N API calls (JSON endpoints) answer errno 7
    drop_after=N           download: close the connection after N body bytes ...
    drop_every=bool        ... every time (default: once, then the knob is cleared)
    stall=T                sleep T seconds ...
    stall_after=N          ... after N body bytes of a download (default: before the
                           headers of any request)
    stall_every=bool       every time (default: once)
    flip_offset=X          download: the byte at file offset X is sent XOR 0xFF
    ignore_range=bool      download: 200 with the whole file, whatever the Range
    wrong_content_range=bool  download: Content-Range shifted by one (body correct)
    short_body=K           download: K bytes fewer than Content-Length, then close
    bandwidth=B            download: at most B bytes/s
    chunked=bool           download: Transfer-Encoding: chunked, no Content-Length
    cancel_at=X / pause_at=X  download: when a response reaches file offset X, send
                           the bytes before X, cancel / pause the task, close
    dl_error=1..6          download: answer this one-byte error (no Content-Length) ...
    dl_error_count=N       ... to the next N downloads (default: every download), e.g.
                           dl_error=3 (always "invalid token") or dl_error=2,dl_error_count=2
                           ("file size mismatch" twice, then the file: the SDK retries on 2)
    token_check_errno=N    token check: answer errno N (one of the documented 4 7 12 17 20
    token_check_errno_count=N   21 22) to the next N token checks (default: every one)
fuse-ota / Studio (dialects.py): the same knobs; dl_error=N answers Ota-Errno N (§4.5),
token_check_errno=N answers code/errno N to {tid}/check.
Actions (not kept): expire_token=true -> the task's token expires now.

Modes: where the sources disagree (shared/docs/onenet-ota-api.md section 10), each
documented answer is a mode. A mode has a global value (`Simulator(modes=...)`,
`onenet-ota serve --mode K=V`, `POST /admin/modes`) that a device's or task's knob of
the same name overrides (`sim.fault(dev_id, ipport_form="host")`). MODES below lists
them with their values; the first value is the default.
"""
import threading

INT_KNOBS = ("http_error", "http_error_count", "errno7", "drop_after", "stall_after", "flip_offset",
             "short_body", "bandwidth", "cancel_at", "pause_at")
FLOAT_KNOBS = ("latency", "stall")
BOOL_KNOBS = ("drop_every", "stall_every", "ignore_range", "wrong_content_range", "chunked")
INT_KNOBS += ("dl_error", "dl_error_count", "token_check_errno", "token_check_errno_count")

# name -> (allowed values (the first is the default), why). Values are strings, except
# where the knob is a number (paused_check, conn_requests) or a boolean.
MODES = {
    # §10 "check answer": both real captures (cdn=false) have no ipPort at all; the check
    # page shows "172.19.3.3" (no port), the tasking page "172.19.3.3:8002".
    "ipport_form": ("absent", "hostport", "host"),
    # §10 "cdn": the parameter table says cdn=false asks for an IP; the example comment,
    # the tasking page and the SDK header say cdn=true returns one. `any`: always.
    "ipport_cdn": ("false", "true", "any"),
    # §10 "check on a paused task": the SDK's check parser (ota_parse.c) knows only 0
    # (task) and 11 (no task) and files everything else under "other error", which is
    # how it treats a paused task: so not 0, and not 11. The platform's one errno for
    # "the task's state does not allow this call" is 17 (token check page: only pending
    # and downloading allow it) -> 17 by default; 11 (the check page returns a task only
    # when pending, downloading or upgrading) and 0 (the old simulator: the task, so a
    # device still learns retry/interval) stay selectable.
    "paused_check": (17, 11, 0),
    # §10 "one-byte download errors": the older core reads an ASCII digit (atoi), the
    # OneNET_AIO_c ota_api.c the raw byte value (ret = *resp_data).
    "one_byte": ("ascii", "raw"),
    # §10 "Range": the FAQ's minimum range is 2 bytes. A 1-byte range (of a file of 2 bytes
    # or more) is answered with the download's documented "5 bad parameter" by default;
    # `whole`: §5's "a Range that fits no mode -> the whole file"; `serve`: the 1 byte.
    "short_range": ("error", "whole", "serve"),
    # §10 "Range": Content-Range (bytes a-b/total) is also listed for whole-file answers.
    "whole_content_range": (True, False),
    # §10 "limits": the platform closes a TCP connection after 1000 requests (FAQ);
    # 0 = no cap. conn_close: `header` says so on the last answer (Connection: close),
    # `silent` just closes after it (a device learns it on its next request).
    "conn_requests": (1000,),
    "conn_close": ("header", "silent"),
    # §4/§10 "token check": 12 "the flow ends". What the platform does with the task after
    # that is not documented: `refresh` (the next check hands out a fresh token, 48 h)
    # keeps the task; `end` fails it (result 208 "upgrade expired") at the first 12.
    "token_expiry": ("refresh", "end"),
    # new-api §4.5 / §11.6 (fuse-ota, Studio): a download refused by a non-zero Ota-Errno
    # comes with HTTP 200 (S5: "the status may still be 200") or not (S7 reads the
    # header when the status is not 200).
    "ota_errno_status": (200, 403),
}
DEFAULT_MODES = {k: v[0] for k, v in MODES.items()}
KNOBS = INT_KNOBS + FLOAT_KNOBS + BOOL_KNOBS + tuple(MODES)
TOKEN_CHECK_ERRNOS = (4, 7, 12, 17, 20, 21, 22)


def _bool(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return bool(v)
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("not a boolean: %r" % v)


def _mode(k, v):
    allowed = MODES[k]
    if k == "conn_requests":
        n = int(v)
        if isinstance(v, bool) or n < 0:
            raise ValueError
        return n
    if isinstance(allowed[0], bool):
        return _bool(v)
    if isinstance(allowed[0], int):
        if isinstance(v, bool) or int(v) not in allowed:
            raise ValueError
        return int(v)
    v = str(v).strip().lower()
    if v not in allowed:
        raise ValueError
    return v


def mode_values(k):
    return "a number >= 0" if k == "conn_requests" else "|".join(str(x).lower() for x in MODES[k])


def normalise(knobs):
    """Validate and convert knob values; ValueError with the knob's name."""
    out = {}
    for k, v in knobs.items():
        try:
            if k in MODES:
                try:
                    out[k] = _mode(k, v)
                except (TypeError, ValueError):
                    raise ValueError("mode %s: %r is not one of %s" % (k, v, mode_values(k)))
            elif k in INT_KNOBS:
                if isinstance(v, bool):
                    raise ValueError
                out[k] = int(v)
                if out[k] < 0:
                    raise ValueError
            elif k in FLOAT_KNOBS:
                out[k] = float(v)
                if out[k] < 0 or out[k] > 3600:
                    raise ValueError
            elif k in BOOL_KNOBS:
                out[k] = _bool(v)
            else:
                raise KeyError(k)
        except KeyError:
            raise ValueError("unknown fault knob %r (known: %s)" % (k, ", ".join(KNOBS)))
        except (TypeError, ValueError) as e:
            if k in MODES:
                raise
            raise ValueError("fault knob %s: bad value %r" % (k, v))
    if "http_error" in out and not 400 <= out["http_error"] <= 599:
        raise ValueError("fault knob http_error: an HTTP status 400..599")
    if "http_error" in out and "http_error_count" not in out:
        out["http_error_count"] = 1
    if out.get("bandwidth") == 0:
        raise ValueError("fault knob bandwidth: bytes/s > 0")
    if out.get("short_body") == 0:
        raise ValueError("fault knob short_body: at least 1")
    if "dl_error" in out and not 1 <= out["dl_error"] <= 6:
        raise ValueError("fault knob dl_error: one of the documented one-byte codes 1..6")
    if "token_check_errno" in out and out["token_check_errno"] not in TOKEN_CHECK_ERRNOS:
        raise ValueError("fault knob token_check_errno: one of %s" % " ".join(map(str, TOKEN_CHECK_ERRNOS)))
    for k in ("dl_error_count", "token_check_errno_count"):
        if out.get(k) == 0:
            raise ValueError("fault knob %s: at least 1 (leave it out for every request)" % k)
    return out


def normalise_modes(modes):
    """Only mode names (for the global modes); ValueError otherwise."""
    for k in modes:
        if k not in MODES:
            raise ValueError("unknown mode %r (known: %s)" % (k, ", ".join(MODES)))
    return normalise(modes)


def parse_modes(specs):
    """`serve --mode K=V` (repeatable, or K=V,K=V) -> validated dict."""
    out = {}
    for spec in specs:
        for part in spec.split(","):
            k, eq, v = part.partition("=")
            if not eq:
                raise ValueError("mode: KNOB=VALUE (known: %s)" % ", ".join(MODES))
            out[k.strip()] = v.strip()
    return normalise_modes(out)


def parse_spec(spec):
    """`serve --fault TARGET:knob=v,knob=v` -> (target, knobs). TARGET is a dev_id, or
    `task:ID`."""
    target, sep, rest = spec.partition(":")
    if target == "task":
        tid, sep2, rest = rest.partition(":")
        target = int(tid)
        sep = sep2
    if not sep or not rest:
        raise ValueError("fault spec: TARGET:knob=value[,knob=value] (TARGET = dev_id or task:ID)")
    knobs = {}
    for part in rest.split(","):
        k, eq, v = part.partition("=")
        knobs[k.strip()] = v.strip() if eq else "true"
    return target, normalise(knobs)


class Faults:
    def __init__(self, modes=None):
        self._lock = threading.Lock()
        self._by = {}  # ("dev", dev_id) | ("task", id) -> knobs
        self.modes = dict(DEFAULT_MODES)  # global; a device's or task's knob overrides
        if modes:
            self.modes.update(normalise_modes(modes))

    def set_modes(self, **modes):
        modes = normalise_modes(modes)
        with self._lock:
            self.modes.update(modes)
            return dict(self.modes)

    def get_modes(self):
        with self._lock:
            return dict(self.modes)

    @staticmethod
    def key(target):
        if isinstance(target, int) and not isinstance(target, bool):
            return ("task", target)
        return ("dev", str(target))

    def set(self, target, **knobs):
        knobs = normalise(knobs)
        with self._lock:
            self._by.setdefault(self.key(target), {}).update(knobs)
            return dict(self._by[self.key(target)])

    def clear(self, target=None):
        with self._lock:
            if target is None:
                self._by.clear()
            else:
                self._by.pop(self.key(target), None)

    def all(self):
        with self._lock:
            return [{"target": k[0], "id": k[1], "knobs": dict(v)} for k, v in self._by.items()]

    def _keys(self, dev_id, task_id):
        ks = []
        if task_id is not None:
            ks.append(("task", int(task_id)))
        if dev_id is not None:
            ks.append(("dev", str(dev_id)))
        return ks

    def get(self, dev_id, task_id):
        """Merged snapshot of the knobs for this request (task over device)."""
        with self._lock:
            out = dict(self.modes)
            if not self._by:
                return out
            for k in reversed(self._keys(dev_id, task_id)):
                out.update(self._by.get(k, {}))
        return out

    def take(self, dev_id, task_id, counter):
        """Consume one unit of a counter knob (http_error_count, errno7) -> True if it fired."""
        with self._lock:
            for k in self._keys(dev_id, task_id):
                f = self._by.get(k)
                if f and f.get(counter, 0) > 0:
                    f[counter] -= 1
                    if f[counter] == 0:
                        f.pop(counter)
                        if counter.endswith("_count"):
                            f.pop(counter[:-len("_count")], None)
                    return True
        return False

    def once(self, dev_id, task_id, knob, every_knob):
        """A one-shot knob fired: clear it (and its companions) unless `every_knob` is set."""
        with self._lock:
            for k in self._keys(dev_id, task_id):
                f = self._by.get(k)
                if f and knob in f:
                    if not f.get(every_knob):
                        f.pop(knob)
                        if knob == "stall":
                            f.pop("stall_after", None)
                    return
