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
Actions (not kept): expire_token=true -> the task's token expires now.
"""
import threading

INT_KNOBS = ("http_error", "http_error_count", "errno7", "drop_after", "stall_after", "flip_offset",
             "short_body", "bandwidth", "cancel_at", "pause_at")
FLOAT_KNOBS = ("latency", "stall")
BOOL_KNOBS = ("drop_every", "stall_every", "ignore_range", "wrong_content_range", "chunked")
KNOBS = INT_KNOBS + FLOAT_KNOBS + BOOL_KNOBS


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


def normalise(knobs):
    """Validate and convert knob values; ValueError with the knob's name."""
    out = {}
    for k, v in knobs.items():
        try:
            if k in INT_KNOBS:
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
        except (TypeError, ValueError):
            raise ValueError("fault knob %s: bad value %r" % (k, v))
    if "http_error" in out and not 400 <= out["http_error"] <= 599:
        raise ValueError("fault knob http_error: an HTTP status 400..599")
    if "http_error" in out and "http_error_count" not in out:
        out["http_error_count"] = 1
    if out.get("bandwidth") == 0:
        raise ValueError("fault knob bandwidth: bytes/s > 0")
    if out.get("short_body") == 0:
        raise ValueError("fault knob short_body: at least 1")
    return out


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
    def __init__(self):
        self._lock = threading.Lock()
        self._by = {}  # ("dev", dev_id) | ("task", id) -> knobs

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
        out = {}
        with self._lock:
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
                        if counter == "http_error_count":
                            f.pop("http_error", None)
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
