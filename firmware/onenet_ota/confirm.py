# The confirm step of the agent (agent.py), on the first boots after the reset into a
# new image: is the package what runs (by slot where the board has slots), is it the
# target, does it pass its self-test, can it be kept — then 201 BEFORE the new version
# is reported (reporting the target version completes the task, after which the
# platform refuses 201). Functions over the Agent `a`.
from . import digest
from .errors import NetError, OtaError, PlatformError, Stop, const, what as _what


_E_TOKEN_DEVICE = const(4)
_E_TOKEN_EXPIRED = const(12)
_E_FINISHED = const(20)


# Whether the image running now is the package: told by the flash slot on boards that
# have slots (stock ESP32 images carry no version), else by the version.
def runs_package(a, rec):
    if rec["slot"]:
        return a.b.running_slot() == rec["slot"]
    return a.b.running_version() == rec["target"]


def confirm(a, rec):
    target = rec["target"]
    a.summary["old_version"] = rec["from_ver"]
    a.summary["new_version"] = target
    a.summary["size"] = rec["size"]
    token = rec["token"]
    new = runs_package(a, rec)
    # Boots of the new image (boots) and of the old one after a rollback (retries) are
    # counted before anything else: a crash loop in either ends with 207.
    if new:
        rec["boots"] += 1
    else:
        rec["retries"] += 1
    a.j.save(rec)
    mb = a.cfg["max_boots"]
    if not new:
        # An app board's loader (apprun) went back to the previous app: the new one
        # crash-looped before it confirmed, or was rejected and the reset came before
        # the report. Nothing to commit again: 206.
        why = a.b.rolled_back(rec)
        if why:
            return _failed(a, token, 206, why)
    if rec["boots"] > mb or rec["retries"] > mb:
        return _failed(a, token, 207, "new image never confirmed")
    if not new:
        # The bootloader went back to the old image: the new one was reset before it
        # confirmed (a power cut, a crash). Commit the verified image again while
        # boots last; max_boots spent -> 207.
        _recommit(a, rec)
        return _failed(a, token, 207, "new image never confirmed")
    v = a.b.image_version()
    if v and v != target:
        return _reject(a, rec, token, 204, "the new image is %s, the task's target %s" % (v, target))
    if not a.b.self_test():
        why = getattr(a.b, "why", "")  # an app board says why
        return _reject(a, rec, token, 206, "self-test failed" + (": " + why if why else ""))
    try:
        a.b.confirm(rec)
    except OtaError as e:
        return _reject(a, rec, token, 206, _what(e))
    a.log("running %s, self-test passed: confirmed" % target)
    # 'Task finished' means the platform already counts the upgrade as done.
    try:
        try:
            a._report(token, 201, (_E_FINISHED,))
        except PlatformError as e:
            if e.errno not in (_E_TOKEN_DEVICE, _E_TOKEN_EXPIRED):
                raise
            # The token died since the download: the task's check hands out a new one.
            t = a._check(target)
            if t is None:
                raise
            a._report(t["token"], 201, (_E_FINISHED,))
        a.summary["code"] = 201
        a.b.set_reported(target)  # an accepted 201 sets the device's version (§6)
    except (PlatformError, NetError, Stop) as e:
        a.log("201 not accepted: %s" % _what(e))
        a._report_version(target, True)  # reporting the target completes the task
    a.j.clear()
    a.log("updated to %s" % target)
    return "updated"


# The new image runs but must not be kept (wrong version, failed self-test, cannot be
# marked valid): the board drops it first (an app board points back to the previous
# app; firmware boards: nothing, their bootloader does it), then report while it still
# has the network, forget the package and reset without confirming, so the old image
# runs. A power cut between the two: the next boot finds the rollback (rolled_back).
def _reject(a, rec, token, code, why):
    a.b.rollback(rec)
    _failed(a, token, code, why)
    a.b.reset()
    return "failed"


def _failed(a, token, code, why):
    a._end(token, code, "confirm: " + why)
    a.j.clear()
    return "failed"


# Re-commit the image of an "applied" journal and reset; returns only when that is not
# possible (boots spent, no sink, or the slot no longer holds the package).
def _recommit(a, rec):
    if rec["boots"] >= a.cfg["max_boots"]:
        return
    try:
        sink = a.sink()
        sink.begin(rec["size"], rec["size"])
        md = digest.new("md5")
        from .fetch import rehash

        rehash(a, md, rec["size"])
        if digest.hexstr(md.digest()) != rec["md5"]:
            a.log("not committed again: the slot's md5 is not the package's (rewritten or erased since the download)")
            return
        sink.commit()
    except (OtaError, OSError) as e:
        a.log("commit again failed: %s" % _what(e))
        return
    a.log("rolled back before confirming: committed again (boot %d of %d)" % (rec["boots"], a.cfg["max_boots"]))
    a.j.save(rec)
    a.b.reset()
