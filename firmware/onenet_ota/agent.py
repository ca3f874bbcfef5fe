# The update agent: one cycle of the OneNET OTA state machine.
#
#   boot: journal "applied"? -> confirm (self-test, version == target, mark valid,
#         201 BEFORE the new version is reported, journal cleared)
#   report version -> check task -> validate (capacity 102, signal 106, power 105)
#   -> token check -> ranged download (socket -> readinto -> md5 -> sink -> journal
#   -> progress <= 99) -> md5 verify (205) -> 101 -> commit -> journal "applied" -> reset
#
# Resume: the journal holds the task's md5/size/target and the offset durably written;
# on start a matching journal resumes there, the digest rebuilt from the sink.
# Errors from the link are retried with backoff; the task's retry budget (capped by the
# config) bounds the download attempts, whatever failed (207 / 107 when spent), and every
# attempt is followed by the task's interval (never less than the config's back-off), so
# no answer of any server makes the agent loop without sleeping or reporting.
# Cancelled (22): clean up, report nothing.
import time

from . import digest
from .api import Api
from .errors import BadImage, NetError, NoSpace, OtaError, PlatformError, ProtocolError
from .http import Client
from .journal import Journal

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


_E_TOKEN_DEVICE = const(4)
_E_INTERNAL = const(7)
_E_NO_TASK = const(11)
_E_TOKEN_EXPIRED = const(12)
_E_STATE = const(17)
_E_FINISHED = const(20)
_E_CANCELLED = const(22)
# The one-byte download answers (1000 + the byte, see api.fetch): 1 not found, 2 size
# mismatch (the SDK retries it), 3 invalid token (a re-check brings a new one), 4 file
# unavailable, 5 bad parameter, 6 NB base-station limit: 107.
_E_DL_SIZE = const(1002)
_E_DL_TOKEN = const(1003)
_said_tls = False  # "tls is off" is said once per start, not per cycle


class Stop(Exception):
    # Ends the cycle with a result ("none", "failed", "cancelled", "paused").
    def __init__(self, result, code=0):
        super().__init__(result)
        self.result = result
        self.code = code


def _log(msg):
    print("ota:", msg)


def _sleep_ms(ms):
    if ms > 0:
        time.sleep_ms(ms)


class Agent:
    def __init__(self, cfg, board, log=None, sleep_ms=None, progress=None):
        self.cfg = cfg
        self.b = board  # before the Client: the board may bring its transport
        self.log = log or _log
        self.sleep_ms = sleep_ms or _sleep_ms
        self.progress = progress  # progress(done, total) for a host's display
        self.j = Journal(cfg["journal"])
        # A board may bring its own transport (an AT-command modem): board.connect.
        self.c = self._client()
        self.api = Api(self.c, cfg["dev_id"], self._authorization())
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

    # The Authorization value, and where its expiry came from (said in the log): a
    # precomputed one from the config; else signed here, valid for et_ttl seconds when
    # the board knows the time (ESP32's RTC, a modem's network time), else until the
    # configured et. Needs no wall clock: nRF52832 builds have no time.time().
    def _authorization(self):
        c = self.cfg
        if c.get("authorization"):
            self.log("token: precomputed (config)")
            return c["authorization"]
        from .auth import token

        et = c["et"]
        now = None
        if c["et_ttl"]:
            try:
                now = self.b.now()
            except OtaError:
                now = None
        if now:
            et = now + c["et_ttl"]
            self.log("token: signed, valid %d s (board clock)" % c["et_ttl"])
        else:
            self.log("token: signed, valid until et %d%s" % (et, " (no clock)" if c["et_ttl"] else ""))
        return token(c["product_id"], c["access_key"], et, c["method"])

    # -- plumbing ------------------------------------------------------------

    # Call fn(*args) with per-request retries: link errors and errno 7 are retried
    # with exponential backoff and jitter; anything else goes up at once.
    def _net(self, fn, *args):
        return self._retry(None, fn, args)

    # After a first failure err (None: not tried yet), call fn(*args) again with
    # backoff; link errors and errno 7 are retried, anything else goes up at once.
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

    # Report a failure code (the task fails on the platform); a task already ended or
    # a report that cannot get through is logged, never retried for ever.
    def _end(self, token, code, why):
        self.log("failed: %s" % why)
        try:
            self._report(token, code, (_E_STATE, _E_FINISHED, _E_CANCELLED))
            self.summary["code"] = code
        except OtaError as e:
            self.log("could not report %d: %s" % (code, _what(e)))

    # ... and end the cycle, the partial image and the journal dropped.
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
            self._sink = self.b.sink()
        return self._sink

    # -- the cycle -----------------------------------------------------------

    # One cycle; returns the summary dict ("result": updated, none, failed,
    # cancelled, paused, or applied — the reset did not happen).
    def run(self):
        t0 = time.ticks_ms()
        try:
            self.summary["result"] = self._cycle()
        except Stop as s:
            self.summary["result"] = s.result
        except OtaError as e:
            # Anything not handled on the way (the server unreachable, an expired
            # token the platform did not renew, an errno with no rule): this cycle
            # ends; the journal stays, so the next one resumes if the task still fits.
            self.log("cycle ended: %s" % _what(e))
            self.summary["result"] = "failed"
        except OSError as e:
            # Flash or filesystem trouble outside the download loop (a bad block under
            # the sink's header, a full filesystem): the cycle ends, the journal stays.
            self.log("cycle ended: %s" % _what(e))
            self.summary["result"] = "failed"
        finally:
            self.c.close()
            d = self.api.dl
            if d is not self.c:
                d.close()
            self.summary["requests"] = self.c.requests + (d.requests if d is not self.c else 0)
            self.summary["connections"] = self.c.connections + (d.connections if d is not self.c else 0)
            self.summary["seconds"] = time.ticks_diff(time.ticks_ms(), t0) / 1000
        return self.summary

    def _cycle(self):
        rec = self.j.load()
        if rec and rec["state"] == "ready" and self._runs_package(rec):
            # Power lost after the commit, before the journal said so: the new image
            # runs (the bootloader took it) and still needs confirming.
            rec["state"] = "applied"
            rec["boots"] = rec["retries"] = 0
        if rec and rec["state"] == "applied":
            return self._confirm(rec)
        version = self.b.running_version()
        self.summary["old_version"] = version
        self._report_version(version)
        self.log("version %s reported" % version)
        task = self._check(version)
        if task is None:
            if rec:
                if self._no_task(rec["token"]) == "paused":
                    return "paused"  # the journal stays for when the task resumes
                self.log("journal without a task: dropped")
                self._forget()
            return "none"
        self.summary["new_version"] = task["target"]
        self.summary["size"] = task["size"]
        self.log("task: %s, %d bytes, md5 %s" % (task["target"], task["size"], task["md5"]))
        slot = self.b.sink_slot(self.sink())
        if rec and (rec["md5"] != task["md5"] or rec["size"] != task["size"]
                    or rec["target"] != task["target"] or rec["slot"] != slot):
            self.log("journal is for another package: dropped")
            self._forget()
            rec = None
        resumed = rec is not None
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
        self._route(task)
        if rec["state"] == "dl":
            if resumed:
                # Boots that resume the download without getting as far as the next
                # journal write (which clears the count): a crash loop, not a network.
                rec["boots"] += 1
                self.j.save(rec)
                if rec["boots"] > self.cfg["max_boots"]:
                    self._fail(task["token"], 207, "download keeps dying at %d" % rec["offset"])
            self._validate(task)
            self._token_check(task)
            self._download(task, rec)
        else:  # "ready": verified earlier, 101 maybe not reported yet
            # (a power cut after the md5 check: the sink is whole, commit may not be done)
            self.sink().begin(task["size"], task["size"])
            if not self._verify(task, rec, True):
                self._fail(task["token"], 205, "md5 mismatch on re-read")
        self._report(task["token"], 101, (_E_STATE,))
        try:
            self.sink().commit()
        except (BadImage, OSError) as e:
            self._fail(task["token"], 206, _what(e))
        rec["state"] = "applied"
        rec["boots"] = rec["retries"] = 0  # confirm phase: boots of the new/old image
        self.j.save(rec)
        self.b.applied(rec)
        self.log("applied %s; resetting" % task["target"])
        self.b.reset()
        return "applied"

    # Whether the image running now is the package: told by the flash slot on boards
    # that have slots (stock ESP32 images carry no version), else by the version.
    def _runs_package(self, rec):
        if rec["slot"]:
            return self.b.running_slot() == rec["slot"]
        return self.b.running_version() == rec["target"]

    # cdn=false: the device resolves no names and downloads from the ipPort the check
    # answer gives (the Host header stays the platform's name). ipPort comes as
    # "host:port", as "host" (the platform's port) or not at all (§10): then the
    # download goes to the platform's host like every other call.
    # A download in one long range holds its connection to the end: then progress goes
    # on the API connection while the download's TCP window keeps the link busy, so a
    # report costs the download nothing (a modem board keeps one socket: bounded ranges).
    def _route(self, task):
        c = self.cfg
        ip = None if c["cdn"] else task["ipPort"]
        split = not c["request"] and c["progress_every"] and not getattr(self.b, "connect", None)
        if (ip or split) and self.api.dl is self.c:
            self.api.dl = self._client()
        if ip:
            self.api.dl.addr = (ip[0], ip[1] or c["port"])
            self.log("downloads from %s:%d" % self.api.dl.addr)

    def _client(self):
        c = self.cfg
        return Client(c["host"], c["port"], getattr(self.b, "connect", None), c["timeout_ms"],
                      c["tls"], c["ca"], c["insecure"], c["conn_requests"])

    def _report_version(self, version):
        if self.cfg["task_type"] == 1:
            self._net(self.api.report_version, None, version)
        else:
            self._net(self.api.report_version, version)

    def _check(self, version):
        c = self.cfg
        try:
            t = self._net(self.api.check, c["task_type"], version, c["manuf"], c["model"],
                          c["cdn"], self.b.signal(), self.b.power())
        except PlatformError as e:
            if e.errno == _E_NO_TASK:
                self.log("no task")
                return None
            if e.errno == _E_CANCELLED:
                raise Stop("cancelled")
            if e.errno == _E_STATE:
                # The SDK's reading of a check on a paused task (§10): not a task to
                # start, and not a failure either.
                self.log("check: task paused")
                raise Stop("paused")
            self.log("check: errno %d (%s)" % (e.errno, e.msg))
            raise Stop("failed")
        # The server's retry and interval are obeyed up to the config's caps: a server
        # cannot make the device try for ever, nor sleep for a week.
        if t["retry"] > c["max_retry"]:
            t["retry"] = c["max_retry"]
        if t["interval"] > c["max_interval"]:
            t["interval"] = c["max_interval"]
        return t

    # Sleep between two attempts: the task's interval, never less than the config's
    # back-off doubled per attempt already spent (real tasks often say interval 0).
    def _pause(self, task, spent):
        floor = self.cfg["backoff_ms"] << (spent if spent < 6 else 6)
        ms = task["interval"] * 1000
        self.sleep_ms(ms if ms > floor else floor)

    # Capacity, then signal/power against the task's thresholds (wait and retry).
    def _validate(self, task):
        # Capacity only: begin() would reset a partial image the journal resumes.
        if task["size"] > self.sink().capacity:
            self._fail(task["token"], 102, "image %d > capacity %d" % (task["size"], self.sink().capacity))
        for i in range(task["retry"] + 1):
            sig, pwr = self.b.signal(), self.b.power()
            if (sig is None or sig >= task["signal"]) and (pwr is None or pwr >= task["power"]):
                return
            self.log("signal %s / power %s under the task's thresholds: waiting" % (sig, pwr))
            self._pause(task, i)
        self._fail(task["token"], 106 if sig is not None and sig < task["signal"] else 105,
                   "signal or power too low")

    def _token_check(self, task):
        try:
            self._net(self.api.check_token, task["token"])
            self.log("token checked: downloading")
        except PlatformError as e:
            if e.errno == _E_TOKEN_EXPIRED:
                # The official core ends the upgrade on 12 (§10); the journal stays, so
                # the next cycle's check (a fresh token) resumes the same package.
                self.log("token check: errno 12 (token expired): this cycle ends")
                raise Stop("failed")
            self._platform(e, task)

    # React to a platform errno met while checking the token or downloading: returns
    # when the download may be tried again (the caller counts the attempt).
    def _platform(self, e, task):
        n = e.errno
        if n == _E_CANCELLED:
            self.log("task cancelled")
            self._forget()
            raise Stop("cancelled")
        if n in (_E_TOKEN_EXPIRED, _E_DL_TOKEN, _E_STATE):
            return self._recheck(task)
        if n == _E_DL_SIZE:
            self.log("download refused: file size mismatch")
            return
        if n == _E_FINISHED:
            self._forget()
            raise Stop("failed")
        self._fail(task["token"], 107, ("download refused (%d)" % (n - 1000)) if n > 1000 else "errno %d" % n)

    # The token was refused or the state is wrong: ask for the task again. Same
    # package -> carry on with its (maybe new) token; paused -> wait `interval`
    # without spending a retry (at most pause_waits times); gone -> stop.
    def _recheck(self, task):
        c = self.cfg
        for i in range(c["pause_waits"] + 1):
            try:
                t = self._check_again()
            except PlatformError as e:
                if e.errno == _E_CANCELLED:
                    self._forget()
                    raise Stop("cancelled")
                raise
            if t == "paused":
                self.log("task paused: waiting %d s" % task["interval"])
                self._pause(task, i)
                continue
            if t is None:
                why = self._no_task(task["token"])
                if why == "paused":
                    self._pause(task, i)
                    continue
                self._forget()
                raise Stop(why)
            if t["md5"] != task["md5"] or t["size"] != task["size"] or t["target"] != task["target"]:
                self.log("task changed: starting over")
                self._forget()
                raise Stop("failed")
            task["token"] = t["token"]
            task["retry"], task["interval"] = t["retry"], t["interval"]
            try:
                self._net(self.api.check_token, task["token"])
                return
            except PlatformError as e:
                if e.errno == _E_CANCELLED:
                    self._forget()
                    raise Stop("cancelled")
                if e.errno != _E_STATE:
                    raise
            self.log("task paused: waiting %d s" % task["interval"])
            self._pause(task, i)
        raise Stop("paused")

    # A check said "no task" while a package is under way: cancelled, gone, or paused
    # where the platform hides a paused task from the check (§10 leaves it open; the
    # simulator's paused_check=11). The token check tells: 17 paused, 22 cancelled.
    def _no_task(self, token):
        try:
            self._net(self.api.check_token, token)
        except PlatformError as e:
            if e.errno == _E_STATE:
                self.log("no task, but its token says paused")
                return "paused"
            if e.errno == _E_CANCELLED:
                return "cancelled"
        return "cancelled"

    def _check_again(self):
        try:
            return self._check(self.summary["old_version"])
        except Stop as s:
            if s.result == "cancelled":
                raise PlatformError(_E_CANCELLED)
            if s.result == "paused":
                return "paused"
            raise

    # -- download ------------------------------------------------------------

    # Attempts until the package is whole and verified. Every failed attempt, whatever
    # failed (the link, a refusal, a bad answer, the flash), spends one of the task's
    # retries and is followed by the back-off; spent -> 207 (or the error's own code
    # when the task allows no retry).
    def _download(self, task, rec):
        restarted = False
        while True:
            try:
                self._fetch_all(task, rec)
                if self._verify(task, rec, False):
                    return
                if restarted or not self.summary["resumed_at"] > 0:
                    self._fail(task["token"], 205, "md5 mismatch")
                # A resumed image that fails the md5: the journal lied. Start over once.
                self.log("md5 mismatch after resume: downloading again from 0")
                restarted = True
                rec["offset"] = 0
                self._md = None
                self.summary["resumed_at"] = -1
                continue
            except PlatformError as e:
                self._platform(e, task)
                err = e
            except (NetError, ProtocolError, OSError) as e:
                # OSError: the flash refused a write (a bad block); the next attempt
                # erases that block again before writing it.
                if isinstance(e, OSError):
                    # the digest took the chunk the flash refused: start the next
                    # attempt from the journal (re-erase, re-hash), not from the chunk
                    self._md = None
                err = e
            except BadImage as e:
                self._fail(task["token"], 206, _what(e))
            except NoSpace as e:
                self._fail(task["token"], 102, _what(e))
            rec["retries"] += 1
            self.j.save(rec)
            self.c.close()
            self.api.dl.close()
            if rec["retries"] > task["retry"]:
                # A refusal keeps its own code (107, as the SDK reports a `2` it gave up on)
                code = 207 if task["retry"] and not isinstance(err, PlatformError) else getattr(err, "code", 107)
                self._fail(task["token"], code, "retries spent (%s)" % _what(err))
            self.log("attempt %d failed (%s): again in %d s" % (rec["retries"], _what(err), task["interval"]))
            self._pause(task, rec["retries"] - 1)

    def _fetch_all(self, task, rec):
        c = self.cfg
        size = task["size"]
        sink = self.sink()
        md = self._md
        if md is None:  # first attempt in this boot: from the journal's offset
            md = digest.new("md5")
            off = sink.begin(size, rec["offset"])
            if off:
                self.log("resuming at %d" % off)
                self.summary["resumed_at"] = off
                self._rehash(md, off)
            elif c["request"]:
                self.log("download in %d-byte ranges" % c["request"])
            else:
                self.log("download in one range")
            self._md = md
        else:  # the link broke earlier in this boot: carry on where the sink is
            off = sink.off
        rec["offset"] = off
        rec["token"] = task["token"]  # a re-check may have brought a fresh one
        chunk = c["chunk"]
        if not hasattr(self, "_buf") or len(self._buf) != chunk:
            self._buf = bytearray(chunk)
            self._mv = memoryview(self._buf)
        buf, mv = self._buf, self._mv
        every = c["journal_every"]
        next_j = off + every
        pstep = c["progress_every"]
        next_pb = _step_at(off, size, pstep)
        token = task["token"]
        api, http = self.api, self.api.dl
        mid = http is not self.c  # progress may go out in the middle of a range
        req = c["request"] or size
        while off < size:
            end = off + req - 1
            if end >= size - 2:
                # The platform's smallest range is 2 bytes (§10): never leave a last
                # range of one byte behind.
                end = size - 1 if end >= size - 1 else size - 3
            start = off
            if size - off == 1 and off:
                start = off - 1  # one byte left (a resume point): ask for two, drop one
            try:  # called directly: a *args call would allocate a tuple per chunk
                n = api.fetch(token, start, end, size)
            except (NetError, PlatformError) as e:
                n = self._retry(e, api.fetch, (token, start, end, size))
            if http.status == 200 and off:
                # The server ignored Range: the body is the whole package. Start over.
                self.log("server ignored Range: restarting from 0")
                off = sink.begin(size, 0)
                md = self._md = digest.new("md5")
                next_j = every
            elif start != off:
                http.readinto(buf, 1)
                n -= 1
            while n:
                k = chunk if n >= chunk else n
                http.readinto(buf, k)
                v = mv if k == chunk else mv[:k]
                md.update(v)
                sink.write(v)
                off += k
                n -= k
                self.summary["bytes"] += k
                if off >= next_j or off == size:
                    sink.flush()
                    rec["offset"] = off
                    rec["boots"] = 0
                    self.j.save(rec)
                    next_j = off + every
                if self.progress:
                    self.progress(off, size)
                if mid and off >= next_pb:
                    next_pb = self._step_due(task, off, size, pstep)
            if off >= next_pb:
                next_pb = self._step_due(task, off, size, pstep)

    # Report the progress step reached at off -> the offset of the next one.
    def _step_due(self, task, off, size, pstep):
        p = off * 100 // size
        self._step(task, 99 if p > 99 else p)
        return _step_at(off, size, pstep)

    # Progress only where the platform takes it: 'invalid state' is logged, not fatal.
    def _step(self, task, p):
        try:
            self._net(self.api.report, task["token"], p)
            self.log("progress %d%%" % p)
        except PlatformError as e:
            if e.errno == _E_CANCELLED:
                raise
            self.log("progress %d: errno %d (%s)" % (p, e.errno, e.msg))

    # Rebuild the digest of the first `upto` bytes from what the sink holds.
    def _rehash(self, md, upto):
        buf = bytearray(1024)
        off = 0
        sink = self.sink()
        while off < upto:
            k = upto - off if upto - off < 1024 else 1024
            sink.readinto(off, buf if k == 1024 else memoryview(buf)[:k])
            md.update(buf if k == 1024 else memoryview(buf)[:k])
            off += k

    # md5 of the package; on success journal "ready". reread: hash from the sink.
    def _verify(self, task, rec, reread):
        if reread:
            md = digest.new("md5")
            self._rehash(md, task["size"])
        else:
            md = self._md
        got = digest.hexstr(md.digest())
        if got != task["md5"]:
            self.log("md5 mismatch")
            return False
        rec["state"] = "ready"
        rec["offset"] = task["size"]
        self.j.save(rec)
        self.log("md5 ok")
        return True

    # -- after the reset -----------------------------------------------------

    def _confirm(self, rec):
        target = rec["target"]
        self.summary["old_version"] = rec["from_ver"]
        self.summary["new_version"] = target
        self.summary["size"] = rec["size"]
        token = rec["token"]
        new = self._runs_package(rec)
        # Boots of the new image (boots) and of the old one after a rollback (retries)
        # are counted before anything else: a crash loop in either ends with 207.
        if new:
            rec["boots"] += 1
        else:
            rec["retries"] += 1
        self.j.save(rec)
        if rec["boots"] > self.cfg["max_boots"] or rec["retries"] > self.cfg["max_boots"]:
            return self._confirm_fail(token, 207, "new image never confirmed")
        if not new:
            # The bootloader went back to the old image: the new one was reset before
            # it confirmed (a power cut, a crash). Commit the verified image again
            # while boots last; max_boots spent -> 207.
            self._recommit(rec)
            return self._confirm_fail(token, 207, "new image never confirmed")
        v = self.b.image_version()
        if v and v != target:
            return self._reject(token, 204, "the new image is %s, the task's target %s" % (v, target))
        if not self.b.self_test():
            return self._reject(token, 206, "self-test failed")
        try:
            self.b.confirm(rec)
        except OtaError as e:
            return self._reject(token, 206, _what(e))
        self.log("running %s, self-test passed: confirmed" % target)
        # 201 first: reporting the target version completes the task, after which the
        # platform refuses 201. 'Task finished' means it already counts as done.
        try:
            try:
                self._report(token, 201, (_E_FINISHED,))
            except PlatformError as e:
                if e.errno not in (_E_TOKEN_DEVICE, _E_TOKEN_EXPIRED):
                    raise
                # The token died since the download: the task's check hands out a new one.
                t = self._check(target)
                if t is None:
                    raise
                self._report(t["token"], 201, (_E_FINISHED,))
            self.summary["code"] = 201
        except (PlatformError, NetError, Stop) as e:
            self.log("201 not accepted: %s" % _what(e))
        self._report_version(target)
        self.j.clear()
        self.log("updated to %s" % target)
        return "updated"

    # The new image runs but must not be kept (wrong version, failed self-test, cannot
    # be marked valid): report while it still has the network, forget the package and
    # reset without confirming, so the bootloader returns to the old image.
    def _reject(self, token, code, why):
        self._confirm_fail(token, code, why)
        self.b.reset()
        return "failed"

    # Re-commit the image of an "applied" journal and reset; returns only when that is
    # not possible (boots spent, no sink, or the slot no longer holds the package).
    def _recommit(self, rec):
        if rec["boots"] >= self.cfg["max_boots"]:
            return
        try:
            sink = self.sink()
            sink.begin(rec["size"], rec["size"])
            md = digest.new("md5")
            self._rehash(md, rec["size"])
            if digest.hexstr(md.digest()) != rec["md5"]:
                self.log("slot no longer holds the package")
                return
            sink.commit()
        except (OtaError, OSError) as e:
            self.log("commit again failed: %s" % _what(e))
            return
        self.log("rolled back before confirming: committed again (boot %d of %d)"
                 % (rec["boots"], self.cfg["max_boots"]))
        self.j.save(rec)
        self.b.reset()

    def _confirm_fail(self, token, code, why):
        self._end(token, code, "confirm: " + why)
        self.j.clear()
        return "failed"


# The byte offset at which the next progress step (every pstep %) is due; past size
# when none is. Worked out once per step, not per chunk: off * 100 is past 30 bits
# (a heap integer on a board) once an image passes 10 MiB.
def _step_at(off, size, pstep):
    if not pstep:
        return size + 1
    p = off * 100 // size
    p += pstep - p % pstep
    return size + 1 if p >= 100 else (p * size + 99) // 100


def _what(e):
    return "%s: %s" % (type(e).__name__, e.args[0] if e.args else "")


def _jitter(ms):
    if ms <= 0:
        return 0
    try:
        from os import urandom

        return urandom(1)[0] * ms // 512
    except (ImportError, AttributeError):
        return time.ticks_ms() % (ms // 2 + 1)


# Board entry point: load the config, then run a cycle every check_interval seconds.
def main(config_path="config.json", overrides=None, loop=True):
    from . import board, config

    cfg = config.load(config_path, overrides)
    b = board.make(cfg)
    while True:
        try:
            b.network_up()
            s = Agent(cfg, b).run()
            _log("cycle: %s" % s["result"])
        except OtaError as e:
            s = {"result": "error"}
            _log("cycle: %s" % _what(e))
        if not loop:
            return s
        _sleep_ms(cfg["check_interval"] * 1000)
