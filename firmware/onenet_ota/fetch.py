# The download step of the agent (agent.py): ranged requests into the one chunk
# buffer -> md5 -> sink -> journal, progress steps, attempts and their back-off, the
# md5 check. Functions over the Agent `a`, so the step costs no class of its own.
#
# The data path of one chunk (nothing allocated): the socket's bytes land at offset 0
# of a._buf (http.Client.readinto), the digest and the sink take the same memoryview,
# the journal is written every journal_every bytes from its preallocated buffer.
from . import digest
from .errors import BadImage, NetError, NoSpace, PlatformError, ProtocolError, Stop, const, what as _what


_E_STATE = const(17)  # invalid state (a 101 already taken)
# agent._RULES' names: what to do ...
_WAIT = const(2)  # ... paused while under way: wait the task's interval, check again
_AGAIN = const(4)  # ... check the task again first (a fresh token)
# ... and where an answer came from
_RECHECK = const(2)  # a check again while a package is under way
_TOKEN = const(4)  # a token check (fuse-ota / Studio: {tid}/check)
_DL = const(8)  # a download


# The download step (agent._STEPS "dl"; "ready" is commit() below): route the
# connections, validate the task against the device, the token check, the attempts.
def step(a, task, rec):
    _route(a, task)
    _validate(a, task)
    a._tc = True  # the token check goes with the first range (_first)
    download(a, task, rec)


# "ready": verified (maybe in an earlier boot: a power cut after the md5 check, the
# sink whole, 101 maybe not reported, the commit maybe not done) -> 101, commit, the
# journal "applied", reset.
def commit(a, task, rec):
    if a._md is None:  # not downloaded in this boot: hash what the sink holds
        a.sink().begin(task["size"], task["size"])
        if not verify(a, task, rec, True):
            a._fail(task["token"], 205, "md5 mismatch on re-read")
    a._report(task["token"], a.api.DONE, (_E_STATE,))  # 101; 100 (fuse, Studio)
    try:
        a.sink().commit()
    except (BadImage, OSError) as e:
        a._fail(task["token"], 206, _what(e))
    rec["state"] = "applied"
    rec["boots"] = rec["retries"] = 0  # confirm phase: boots of the new/old image
    a.j.save(rec)
    a.b.applied(rec)
    a.log("applied %s; resetting" % task["target"])
    a.b.reset()


# Attempts until the package is whole and verified. Every failed attempt, whatever
# failed (the link, a refusal, a bad answer, the flash), spends one of the task's
# retries and is followed by the back-off; spent -> 207 (or the error's own code when
# the task allows no retry; a refusal keeps 107, as the SDK reports a `2` it gave up on).
def download(a, task, rec):
    restarted = False
    while True:
        try:
            _fetch_all(a, task, rec)
            if verify(a, task, rec, False):
                return
            if restarted or not a.summary["resumed_at"] > 0:
                a._fail(task["token"], 205, "md5 mismatch")
            # A resumed image that fails the md5: the journal lied. Start over once.
            a.log("md5 mismatch after resume: downloading again from 0")
            restarted = True
            rec["offset"] = 0
            a._md = None
            a.summary["resumed_at"] = -1
            continue
        except PlatformError as e:
            if a._answer(_DL, e, task) == _AGAIN:
                recheck(a, task)
            err = e
        except (NetError, ProtocolError, OSError) as e:
            # OSError: the flash refused a write (a bad block). The digest took the
            # chunk the flash refused: the next attempt starts from the journal
            # (re-erase, re-hash), not from the chunk.
            if isinstance(e, OSError):
                a._md = None
            err = e
        except BadImage as e:
            a._fail(task["token"], 206, _what(e))
        except NoSpace as e:
            a._fail(task["token"], 102, _what(e))
        rec["retries"] += 1
        a.j.save(rec)
        a.c.close()
        a.api.dl.close()
        if rec["retries"] > task["retry"]:
            code = 207 if task["retry"] and not isinstance(err, PlatformError) else getattr(err, "code", 107)
            a._fail(task["token"], code, "retries spent (%s)" % _what(err))
        a.log("attempt %d failed (%s): again in %d s" % (rec["retries"], _what(err), task["interval"]))
        a._pause(task, rec["retries"] - 1)


def _fetch_all(a, task, rec):
    c = a.cfg
    size = task["size"]
    sink = a.sink()
    md = a._md
    req = c["request"] or size
    if md is None and a._tc and not rec["offset"] and getattr(a.c, "push", None):
        # A download from 0 starts at 0 whatever the sink: where the client pipelines,
        # the token check and the first range go out before the sink's begin (a flash
        # erase, ~85 ms on an nRF52832); the range's answer waits that out in the
        # socket or the modem, off the link.
        _first(a, task, 0, _end(0, req, size), size)
    if md is None:  # first attempt in this boot: from the journal's offset
        md = _new_digest(a, size)
        off = sink.begin(size, rec["offset"])
        if off:
            a.log("resuming at %d" % off)
            a.summary["resumed_at"] = off
            rehash(a, md, off)
        elif c["request"]:
            a.log("download in %d-byte ranges" % c["request"])
        else:
            a.log("download in one range")
        a._md = md
    else:  # the link broke earlier in this boot: carry on where the sink is
        off = sink.off
    rec["offset"] = off
    rec["token"] = task["token"]  # a re-check may have brought a fresh one
    chunk = c["chunk"]
    if a._buf is None or len(a._buf) != chunk:
        a._buf = bytearray(chunk)
        a._mv = memoryview(a._buf)
    buf, mv = a._buf, a._mv
    every = c["journal_every"]
    next_j = off + every
    pstep = c["progress_every"]
    next_pb = _step_at(off, size, pstep)
    token = task["token"]
    api, http = a.api, a.api.dl
    mid = http is not a.c  # progress may go out in the middle of a range
    dp = getattr(api, "dl_path", None)
    push = c["request"] and mid and dp and getattr(http, "push", None)
    while off < size:
        end = _end(off, req, size)
        start = off
        if size - off == 1 and off:
            start = off - 1  # one byte left (a resume point): ask for two, drop one
        if a._tc:
            token = rec["token"] = _first(a, task, start, end, size)
            http = api.dl
            mid = http is not a.c
            push = c["request"] and mid and dp and getattr(http, "push", None)
        try:  # called directly: a *args call would allocate a tuple per chunk
            n = api.fetch(token, start, end, size)
        except (NetError, PlatformError) as e:
            n = a._retry(e, api.fetch, (token, start, end, size))
        if push and end < size - 1 and http.status == 206:
            # Bounded ranges: the next one is asked for now, so it follows this one
            # on the wire without a round trip between (pipe.Client.push).
            e = _end(end + 1, req, size)
            http.push(dp(token), end + 1, -1 if e == size - 1 else e)
        if http.status == 200 and off:
            # The server ignored Range: the body is the whole package. Start over.
            a.log("server ignored Range: restarting from 0")
            off = sink.begin(size, 0)
            md = a._md = _new_digest(a, size)
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
            a.summary["bytes"] += k
            if off >= next_j or off == size:
                sink.flush()
                rec["offset"] = off
                rec["boots"] = 0
                a.j.save(rec)
                next_j = off + every
            if a.progress:
                a.progress(off, size)
            if mid and off >= next_pb:
                next_pb = _step_due(a, task, off, size, pstep)
        if off >= next_pb:
            next_pb = _step_due(a, task, off, size, pstep)
    if a._tc:  # the journal held the whole package: no range, the token check alone
        _first(a, task, -1, 0, size)


# The end of the range that starts at off (req bytes asked for at most). The platform's
# smallest range is 2 bytes (§10): never leave a last range of one byte behind.
def _end(off, req, size):
    end = off + req - 1
    if end >= size - 2:
        end = size - 1 if end >= size - 1 else size - 3
    return end


# Report the progress step reached at off -> the offset of the next one. Progress only
# where the platform takes it: 'invalid state' is logged, not fatal.
def _step_due(a, task, off, size, pstep):
    p = off * 100 // size
    p = 99 if p > 99 else p
    try:
        a._net(a.api.report, task["token"], p)
        a.log("progress %d%%" % p)
    except PlatformError as e:
        if e.errno == 22:  # cancelled: the download ends (agent._answer)
            raise
        a.log("progress %d: errno %d (%s)" % (p, e.errno, e.msg))
    return _step_at(off, size, pstep)


# The byte offset at which the next progress step (every pstep %) is due; past size
# when none is. Worked out once per step, not per chunk: off * 100 is past 30 bits
# (a heap integer on a board) once an image passes 10 MiB.
def _step_at(off, size, pstep):
    if not pstep:
        return size + 1
    p = off * 100 // size
    p += pstep - p % pstep
    return size + 1 if p >= 100 else (p * size + 99) // 100


# Rebuild the digest of the first `upto` bytes from what the sink holds, through the
# chunk buffer (idle: no range is being read).
def rehash(a, md, upto):
    mv = a._mv
    n = len(mv)
    off = 0
    sink = a.sink()
    while off < upto:
        k = upto - off if upto - off < n else n
        v = mv if k == n else mv[:k]
        sink.readinto(off, v)
        md.update(v)
        off += k


# The md5 of the package, with the MAC of its signed part alongside when the config
# asks for authentic packages (imgauth.py).
def _new_digest(a, size):
    md = digest.new("md5")
    key = a.cfg["image_key"]
    if not key:
        return md
    from binascii import a2b_base64

    from .imgauth import Tee

    return Tee(md, a.cfg["image_auth"], a2b_base64(key), size)


# md5 of the package; on success journal "ready". reread: hash from the sink. With an
# image_key, a package whose trailer does not carry its MAC is refused (206) before
# anything is committed.
def verify(a, task, rec, reread):
    if reread:
        md = _new_digest(a, task["size"])
        rehash(a, md, task["size"])
    else:
        md = a._md
    got = digest.hexstr(md.digest())
    if got != task["md5"]:
        a.log("md5 mismatch")
        return False
    if a.cfg["image_key"]:
        tail = bytearray(md.n + 16)
        if task["size"] >= len(tail):
            a.sink().readinto(task["size"] - len(tail), tail)
        if not md.check(tail):
            a._fail(task["token"], 206, "the package is not signed with this device's image_key")
        a.log("package signature ok")
    rec["state"] = "ready"
    rec["offset"] = task["size"]
    a.j.save(rec)
    a.log("md5 ok")
    return True


# The token check before the first range of the step, on the connection the check
# came over (warm: no handshake). Where the download goes over that same socket
# connection, the first range is written in the same packet behind it (pipelined,
# pipe.Client.after): one round trip for both; a token check that fails drops the
# range's answer with the connection. Then the JSON calls move to a connection of
# their own when one long range holds this one (_split). -> the token to download with
# (a re-check may bring a fresh one).
def _first(a, task, start, end, size):
    api = a.api
    dp = getattr(api, "dl_path", None)
    c = a.c
    ahead = dp and start >= 0 and api.dl is c and getattr(c, "push", None)
    if ahead:
        c.after = (dp(task["token"]), start, -1 if end == size - 1 else end, ())
    try:
        _token_check(a, task)
    finally:
        if ahead:
            c.after = None  # not sent (no request went out): never behind another one
    a._tc = False
    _split(a)
    return task["token"]


# cdn=false: the device resolves no names and downloads from the ipPort the check
# answer gives (the Host header stays the platform's name). ipPort comes as
# "host:port", as "host" (the platform's port) or not at all (§10): then the
# download goes to the platform's host like every other call.
# A download in one long range holds its connection to the end: then progress goes
# on the API connection while the download's TCP window keeps the link busy, so a
# report costs the download nothing (a board says how many sockets it has at once:
# a BC26 modem two, an M5311 one, which then reports between ranges).
# The connection already open (warm: no handshake on the download's path) carries
# the token check and the download; the JSON calls move to a new one after the token
# check (_split), opened at the first progress step while the download streams.
def _route(a, task):
    c = a.cfg
    ip = None if c["cdn"] else task["ipPort"]
    if a.api.dl is a.c and ip:
        a.api.dl = a._c2 or a._client()
        a._c2 = None
        a.api.dl.addr = (ip[0], ip[1] or c["port"])
        a.log("downloads from %s:%d" % a.api.dl.addr)


# (Agent._c2: made with the first, where one long range will hold it: open-ended, or
# bounded ranges pipelined by pipe.Client.push; with progress on; two sockets.)
def _split(a):
    if a.api.dl is a.c and a._c2:
        a.c = a.api.c = a._c2
        a._c2 = None


# Capacity, then signal/power against the task's thresholds (wait and retry).
def _validate(a, task):
    # Capacity only: begin() would reset a partial image the journal resumes.
    if task["size"] > a.sink().capacity:
        a._fail(task["token"], 102, "image %d > capacity %d" % (task["size"], a.sink().capacity))
    for i in range(task["retry"] + 1):
        sig, pwr = a.b.signal(), a.b.power()
        if (sig is None or sig >= task["signal"]) and (pwr is None or pwr >= task["power"]):
            return
        a.log("signal %s / power %s under the task's thresholds: waiting" % (sig, pwr))
        a._pause(task, i)
    a._fail(task["token"], 106 if sig is not None and sig < task["signal"] else 105,
               "signal or power too low")


def _token_check(a, task):
    try:
        a._net(a.api.check_token, task["token"])
        a.log("token checked: downloading")
    except PlatformError as e:
        if a._answer(_TOKEN, e, task) == _WAIT:
            recheck(a, task)

# The token was refused or the task is paused: ask for the task again. Same
# package -> carry on with its (maybe new) token; paused -> wait `interval` without
# spending a retry (at most pause_waits times); changed or gone -> stop.
def recheck(a, task):
    for i in range(a.cfg["pause_waits"] + 1):
        t = a._check(a.summary["old_version"], _RECHECK)
        if t is None:
            why = a._no_task(task["token"])
            if why != "paused":
                a._forget()
                raise Stop(why)
        elif t != "paused":
            if t["md5"] != task["md5"] or t["size"] != task["size"] or t["target"] != task["target"]:
                a.log("task changed: starting over")
                a._forget()
                raise Stop("failed")
            task["token"] = t["token"]
            task["retry"], task["interval"] = t["retry"], t["interval"]
            try:
                a._net(a.api.check_token, task["token"])
                return
            except PlatformError as e:
                a._answer(_TOKEN, e, task)  # returns only for _WAIT (paused)
        a.log("task paused: waiting %d s" % task["interval"])
        a._pause(task, i)
    raise Stop("paused")
