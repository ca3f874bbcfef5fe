# The update agent: one cycle of the OneNET OTA state machine, as two tables and a
# short dispatcher.
#
# STEPS (the journal's persisted state -> the step that carries it on):
#   none      report version -> check -> match the journal -> "dl" (or "ready")
#   "dl"      validate (102, 106, 105) -> token check -> download (fetch.py: socket ->
#             readinto -> md5 -> sink -> journal -> progress <= 99) -> md5 (205) -> "ready"
#   "ready"   101 -> commit -> "applied" -> reset
#   "applied" (after the reset) -> confirm (confirm.py): the package runs, self-test,
#             mark valid, 201 BEFORE the new version is reported -> journal cleared
#
# RULES (a platform errno, by the call it answered -> what to do): see _RULES below.
#
# DIALECTS (dialect(): legacy api.py, fuse-ota api_fuse.py, Studio api_studio.py):
# the paths, envelope, token form and task handle (token or tid) of the platform; each
# turns its codes into the legacy errnos _RULES answers, so nothing here branches on it.
#
# Resume: the journal holds the task's md5/size/target/slot and the offset durably
# written; a matching journal resumes there, the digest rebuilt from the sink. Link
# errors are retried per request with backoff; every failed download attempt spends one
# of the task's retries (capped by the config) and is followed by the task's interval
# (never less than the config's back-off): no answer of any server makes the agent loop
# without sleeping or reporting.
import time

from . import fetch  # at import, not at the download: a module's objects are long-lived
from .api import authorization
from .board import client_class, pipelines
from .errors import NetError, OtaError, PlatformError, Stop, const, what as _what
from .journal import Journal


_E_INTERNAL = const(7)
_E_NO_TASK = const(11)
_E_TOKEN_EXPIRED = const(12)
_E_STATE = const(17)
_E_FINISHED = const(20)
_E_CANCELLED = const(22)
# The one-byte download answers (1000 + the byte, api.fetch): 1 not found, 2 size
# mismatch, 3 invalid token, 4 file unavailable, 5 bad parameter, 6 NB base-station limit.
_E_DL_SIZE = const(1002)
_E_DL_TOKEN = const(1003)

# Which call an answer came from (bits, so one rule can name several).
_CHECK = const(1)  # the cycle's check
_RECHECK = const(2)  # a check again while a package is under way
_TOKEN = const(4)  # a token check
_DL = const(8)  # a download

# What to do about it. The first four go back to the caller, the rest end the cycle.
_NO_TASK = const(1)  # nothing to do
_WAIT = const(2)  # paused while under way: wait the task's interval, check again
_AGAIN = const(4)  # check the task again (a fresh token), then go on
_RETRY = const(6)  # try the download again (one attempt spent)
_CANCEL = const(10)  # forget the package: "cancelled"
_PAUSED = const(11)  # "paused"; the journal stays
_FINISHED = const(12)  # the task ended elsewhere: forget, "failed", nothing reported
_ENDS = const(13)  # "failed", nothing reported; the journal stays for the next cycle
_FAIL = const(14)  # report 107, forget: "failed"

# (calls, errno or 0 for any other, action): the first row that matches wins. A
# constant tuple: frozen, it stays in flash (no RAM but the name).
_RULES = (
    (_CHECK | _RECHECK, _E_NO_TASK, _NO_TASK),
    (_CHECK | _RECHECK | _TOKEN | _DL, _E_CANCELLED, _CANCEL),
    (_CHECK, _E_STATE, _PAUSED),  # §10: the SDK's reading of a check on a paused task
    (_RECHECK | _TOKEN, _E_STATE, _WAIT),
    (_CHECK | _RECHECK, 0, _ENDS),
    (_TOKEN, _E_TOKEN_EXPIRED, _ENDS),  # §10: the official core ends the upgrade on 12
    (_TOKEN, _E_FINISHED, _FINISHED),
    (_DL, _E_DL_TOKEN, _AGAIN),
    (_DL, _E_DL_SIZE, _RETRY),  # §10: the SDK retries on 2
    (_TOKEN | _DL, 0, _FAIL),
)
_CALLS = ("check", "check", "token check", "download")  # by bit, for the log

# The journal's states in the order the steps take them (see the head of this file):
# fetch.step -> "ready"; fetch.commit: 101 -> commit -> "applied" -> reset.
_STEPS = (("dl", "step"), ("ready", "commit"))

_said_tls = False  # "tls is off" is said once per start, not per cycle


def _log(msg):
    print("ota:", msg)


def _sleep_ms(ms):
    if ms > 0:
        time.sleep_ms(ms)


# The platform's module (config "platform"), imported only when chosen; here, as
# config.py leaves the heap after its checks (runloop.start). The host tools call it too.
def dialect(platform):
    if platform == "fuse":
        from . import api_fuse as d
    elif platform == "studio":
        from . import api_studio as d
    else:
        from . import api as d
    return d


class Agent:
    def __init__(self, cfg, board, log=None, sleep_ms=None, progress=None):
        self.log = log or getattr(board, "log", None) or _log  # nrf52832: a file, not UART0
        d = dialect(cfg["platform"])
        # signed first, while the heap is small (the pure SHA-1 it may load leaves after),
        # then the download's modules (pipe.py, md5.py), not on the download's peak
        a = authorization(cfg, board, self.log, d)
        self._Client = getattr(d, "Client", None) or client_class(board)  # api_tid's reads Ota-Errno
        fetch.digest.new("md5")
        # the chunk buffer before the others: later the heap is in pieces. The journal,
        # the answers and the requests (http.Client's req) share it.
        self._buf = bytearray(cfg["chunk"])
        self._mv = memoryview(self._buf)
        self.cfg = cfg
        self.b = board  # before the Client: the board may bring its transport
        self.sleep_ms = sleep_ms or _sleep_ms
        self.progress = progress  # progress(done, total) for a host's display
        self.j = Journal(cfg["journal"], self._buf)
        self.c = self._client()
        # the JSON calls' own connection while one long range holds self.c (fetch._split),
        # made now, beside the first: at the download the heap is in pieces
        self._c2 = None
        push = getattr(self._Client, "push", None) and getattr(d.Api, "dl_path", None)  # as fetch's
        if (not cfg["request"] or push) and cfg["progress_every"] and getattr(board, "sockets", 2) > 1:
            self._c2 = self._client(self.c)  # sharing its request and line buffers
        self.api = d.make(self.c, cfg, a, self._buf)
        global _said_tls
        if not _said_tls:
            _said_tls = True
            if not cfg["tls"]:
                self.log("tls is off: requests and the package travel in clear")
            elif cfg["insecure"]:
                self.log("tls without verifying the server (insecure): anyone on the path can serve an image")
        self.summary = {"result": None, "code": 0, "old_version": None, "new_version": None,
                        "bytes": 0, "resumed_at": -1, "size": 0}
        self._sink = None
        self._md = None  # digest of the bytes downloaded so far in this boot
        self._tc = False  # the download step's token check is still to make (fetch.py)

    # A board may bring its own transport (an AT-command modem): board.connect.
    def _client(self, share=None):
        c = self.cfg
        return self._Client(c["host"], c["port"], getattr(self.b, "connect", None), c["timeout_ms"],
                            c["tls"], c["ca"], c["insecure"], c["conn_requests"], share, self._buf,
                            getattr(self.b, "rb", 0))

    # -- plumbing ------------------------------------------------------------

    # Call fn(*args) with per-request retries (_retry, err None: not tried yet): link
    # errors and errno 7 again with exponential backoff and jitter, the rest up at once.
    def _net(self, fn, *args):
        return self._retry(None, fn, args)

    def _retry(self, err, fn, args):
        wait = self.cfg["backoff_ms"]
        n = self.cfg["retries"]
        while True:
            if err is not None:
                if isinstance(err, PlatformError) and err.errno != _E_INTERNAL:
                    raise err
                if n <= 0:
                    raise err
                n -= 1
                self.log("retry after %s" % _what(err))
                self.c.close()
                self.api.dl.close()
                self.sleep_ms(wait + _jitter(wait))
                wait *= 2
            try:
                return fn(*args)
            except (NetError, PlatformError) as e:
                err = e

    # The rule for an errno met in a call (_RULES): the actions that end the cycle
    # are carried out here; the others are returned for the caller to do.
    def _answer(self, call, e, task):
        n = e.errno
        act = _FAIL
        for calls, errno, a in _RULES:
            if calls & call and (errno == n or not errno):
                act = a
                break
        i = 0
        while not call >> i & 1:
            i += 1
        self.log("%s: errno %d (%s)" % (_CALLS[i], n - 1000 if n > 1000 else n, e.msg))
        if act < _CANCEL:
            return act
        if act == _CANCEL or act == _FINISHED:
            self._forget()
        if act == _FAIL:
            self._fail(task["token"], 107, "errno %d" % n)
        raise Stop({_CANCEL: "cancelled", _PAUSED: "paused"}.get(act, "failed"))

    def _report(self, token, code, ok_errnos=()):
        self.log("report %d" % code)
        try:
            self._net(self.api.report, token, code)
        except PlatformError as e:
            if e.errno not in ok_errnos:
                raise
            self.log("report %d: errno %d (%s)" % (code, e.errno, e.msg))
            return e.errno
        self.summary["code"] = code
        return 0

    # The one way a task ends with a failure code: reported (a task already ended or a
    # report that cannot get through is logged, never retried for ever).
    def _end(self, token, code, why):
        self.log("failed: %s" % why)
        try:
            self._report(token, code, (_E_STATE, _E_FINISHED, _E_CANCELLED))
            self.summary["code"] = code
        except OtaError as e:
            self.log("could not report %d: %s" % (code, _what(e)))

    # ... and the cycle ends, the partial image and the journal dropped.
    def _fail(self, token, code, why):
        self._end(token, code, why)
        self._forget()
        raise Stop("failed", code)

    def _forget(self):
        if self._sink:
            try:
                self._sink.abort()
            except OtaError:
                pass
        self.j.clear()

    def sink(self):
        if not self._sink:
            s = self._sink = self.b.sink()
            if getattr(s, "scratch", 0) is None:  # it reads back through the chunk buffer
                s.scratch = self._mv  # (idle at commit)
        return self._sink

    # Sleep between two attempts: the task's interval, never less than the config's
    # back-off doubled per attempt already spent (real tasks often say interval 0).
    def _pause(self, task, spent):
        floor = self.cfg["backoff_ms"] << (spent if spent < 6 else 6)
        ms = task["interval"] * 1000
        self.sleep_ms(ms if ms > floor else floor)

    # -- the cycle -----------------------------------------------------------

    # One cycle -> the summary ("result": updated, none, failed, cancelled, paused, applied).
    def run(self):
        t0 = time.ticks_ms()
        try:
            self.summary["result"] = self._cycle()
        except Stop as s:
            self.summary["result"] = s.result
        except (OtaError, OSError) as e:
            # Anything not handled on the way (server unreachable, flash or filesystem
            # trouble): the cycle ends; the journal stays for the next one to resume.
            self.log("cycle ended: %s" % _what(e))
            self.summary["result"] = "failed"
        finally:
            cs = (self.c,) if self.api.dl is self.c else (self.c, self.api.dl)
            n = m = 0
            for c in cs:
                c.close()
                n, m = n + c.requests, m + c.connections
            self.summary["requests"], self.summary["connections"] = n, m
            self.summary["seconds"] = time.ticks_diff(time.ticks_ms(), t0) / 1000
        return self.summary

    def _cycle(self):
        rec = self.j.load()
        if rec and rec["state"] in ("ready", "applied"):
            from .confirm import confirm, runs_package

            if rec["state"] == "ready" and runs_package(self, rec):
                # Power lost after the commit, before the journal said so: the new
                # image runs (the bootloader took it) and still needs confirming.
                rec["state"] = "applied"
                rec["boots"] = rec["retries"] = 0
            if rec["state"] == "applied":
                return confirm(self, rec)
        task, rec = self._task(rec)
        if task is None:
            return rec
        for state, step in _STEPS:
            if rec["state"] == state:
                getattr(fetch, step)(self, task, rec)
        return "applied"

    # Report the version, check, and match the journal -> (task, its record), or
    # (None, the cycle's result) when there is nothing to do.
    def _task(self, rec):
        version = self.b.running_version()
        self.summary["old_version"] = version
        q = self._check_args(version)
        self._report_version(version, False, q if pipelines(self.b) else None)
        task = self._check(version, _CHECK, q)
        if task is None:
            if rec:
                if self._no_task(rec["token"]) == "paused":
                    return None, "paused"  # the journal stays for when the task resumes
                self.log("journal without a task: dropped")
                self._forget()
            return None, "none"
        self.summary["new_version"] = task["target"]
        self.summary["size"] = task["size"]
        self.log("task: %s, %d bytes, md5 %s" % (task["target"], task["size"], task["md5"]))
        slot = self.b.sink_slot(self.sink())
        if rec and (rec["md5"] != task["md5"] or rec["size"] != task["size"]
                    or rec["target"] != task["target"] or rec["slot"] != slot):
            self.log("journal is for another package: dropped")
            self._forget()
            rec = None
        if rec and rec["state"] == "dl":
            # Boots that resume the download without getting as far as the next journal
            # write (which clears the count): a crash loop, not a network.
            rec["boots"] += 1
            self.j.save(rec)
            if rec["boots"] > self.cfg["max_boots"]:
                self._fail(task["token"], 207, "download keeps dying at %d" % rec["offset"])
        if not rec:
            rec = {"state": "dl", "token": task["token"], "md5": task["md5"],
                   "size": task["size"], "target": task["target"], "offset": 0,
                   "from_ver": version, "task_type": self.cfg["task_type"],
                   "retries": 0, "boots": 0, "slot": slot}
        rec["token"] = task["token"]
        if task["type"] != 1:
            # A differential package needs the platform's restore algorithm; flashed as
            # a whole image it would brick the slot (§10). Refused before any byte.
            self._fail(task["token"], 206, "differential package (type %d): this device applies full images only"
                       % task["type"])
        return task, rec

    # Report the running version unless the platform already has it (report_version
    # "changed", the default; "always": every cycle). check: the check's arguments, its
    # request then written in the same packet (one round trip for both); its answer
    # stays for _check, read only if the report went through.
    def _report_version(self, version, force=False, check=None):
        if not force and self.cfg["report_version"] == "changed" and self.b.reported() == version:
            return
        if check:
            self.api.check_behind(*check)
        try:
            if self.cfg["task_type"] == 1:
                self._net(self.api.report_version, None, version)
            else:
                self._net(self.api.report_version, version)
        finally:
            if check and self.c.after:
                self.api.check_behind()  # not written (no request went out): never behind another
        self.log("version %s reported" % version)
        self.b.set_reported(version)

    def _check_args(self, version):
        c = self.cfg
        return (c["task_type"], version, c["manuf"], c["model"], c["cdn"], self.b.signal(), self.b.power())

    # The task, or None when there is none; "paused" for a paused one met by a re-check.
    # q: the check's arguments (_check_args) when already worked out.
    def _check(self, version, call=_CHECK, q=None):
        c = self.cfg
        try:
            t = self._retry(None, self.api.check, q or self._check_args(version))
        except PlatformError as e:
            return None if self._answer(call, e, None) == _NO_TASK else "paused"
        # the server's retry and interval, capped: it cannot make us try for ever, nor sleep a week
        if t["retry"] > c["max_retry"]:
            t["retry"] = c["max_retry"]
        if t["interval"] > c["max_interval"]:
            t["interval"] = c["max_interval"]
        return t

    # A check said "no task" while a package is under way: cancelled, gone, or paused
    # where the platform hides a paused task from the check (§10 leaves it open; the
    # simulator's paused_check=11). The token check tells: 17 paused, 22 cancelled.
    # A token that checks out means the task came back in between (resumed): check
    # again like after a pause.
    def _no_task(self, token):
        try:
            self._net(self.api.check_token, token)
            return "paused"
        except PlatformError as e:
            if e.errno == _E_STATE:
                self.log("no task, but its token says paused")
                return "paused"
        return "cancelled"


def _jitter(ms):
    if ms <= 0:
        return 0
    try:
        from os import urandom

        return urandom(1)[0] * ms // 512
    except (ImportError, AttributeError):
        return time.ticks_ms() % (ms // 2 + 1)
