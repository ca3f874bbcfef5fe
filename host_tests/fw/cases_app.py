# App sink and app loader cases (sink_app.py, apprun.py); run on CPython and MicroPython.
# test_app.py writes the bundles into $OTA_STATE_BASE (v1.oab, v2.oab, bad_*.oab) and
# v1.lst / v2.lst: "path md5hex" per file, the files an app folder must hold.
#
# The power-cut sweep here drives the sink and the loader the way the agent does (one
# chunk buffer, flush then journal every JEVERY bytes, md5 before the commit, the
# journal's "ready"/"applied" states, the loader at every boot) without the network:
# every filesystem operation of the update (file opens, appends, mkdir, rmdir,
# removes, journal and pointer writes, renames) is cut once, and after every boot what
# the loader would run next must be a whole app, V1 or V2. test_app_powercut.py does
# the same with the real agent against the simulator (CPython).
import gc
import ota_shim
from onenet_ota import apprun, digest, sink_app
from onenet_ota.errors import BadImage, NoSpace
from onenet_ota.journal import Journal

CHUNK = 256
JEVERY = 512
_buf = bytearray(CHUNK)
_counted = [False]


def _base():
    return ota_shim.base_dir()


# Count the app sink's and the loader's filesystem operations as flash operations (the
# journal's are counted by the shim's count_fs too): a cut append lands its first half,
# a cut open, mkdir or rmdir does not happen.
def count_app():
    if _counted[0]:
        return
    from onenet_ota import journal

    for m in (sink_app, apprun, journal):
        ota_shim.count_fs(m)
    ap, op, mk, rm = sink_app._append, sink_app._open, sink_app._mkdir, sink_app._rmdir

    def _append(f, mv):
        if ota_shim.tick("fwrite", "app"):
            f.write(memoryview(mv)[: len(mv) // 2])
            f.flush()
            raise ota_shim.PowerCut
        ap(f, mv)

    def _open(p, mode):
        if ota_shim.tick("open", p):
            raise ota_shim.PowerCut
        return op(p, mode)

    def _mkdir(p):
        if ota_shim.tick("mkdir", p):
            raise ota_shim.PowerCut
        mk(p)

    def _rmdir(p):
        if ota_shim.tick("rmdir", p):
            raise ota_shim.PowerCut
        rm(p)

    sink_app._append, sink_app._open, sink_app._mkdir, sink_app._rmdir = _append, _open, _mkdir, _rmdir
    _counted[0] = True


def _size(p):
    import os

    return os.stat(p)[6]


def _md5_file(path, upto=None):
    md = digest.new("md5")
    f = open(path, "rb")
    try:
        while True:
            k = f.readinto(_buf)
            if not k:
                break
            md.update(memoryview(_buf)[:k])
    finally:
        f.close()
    return digest.hexstr(md.digest())


def _list(name):
    out = []
    f = open(_base() + "/" + name)
    for line in f.read().split("\n"):
        if line:
            w = line.split(" ")
            out.append((w[0], w[1]))
    f.close()
    return out


# Stream bundle `name` into sink from `start`, one chunk buffer; every JEVERY bytes
# flush then save the journal (what the agent does); md: the running md5.
def _stream(sink, name, start, md=None, j=None, rec=None, sizes=(CHUNK,)):
    f = open(_base() + "/" + name, "rb")
    f.seek(start)
    mv = memoryview(_buf)
    off = start
    nxt = start + JEVERY
    i = 0
    try:
        while True:
            k = f.readinto(mv[: sizes[i % len(sizes)]])
            i += 1
            if not k:
                break
            v = mv[:k]
            if md:
                md.update(v)
            sink.write(v)
            off += k
            if j and (off >= nxt or off == rec["size"]):
                sink.flush()
                rec["offset"] = off
                j.save(rec)
                nxt = off + JEVERY
    finally:
        f.close()
    return off


def _rehash(sink, md, upto):
    b = bytearray(256)
    off = 0
    while off < upto:
        k = upto - off if upto - off < 256 else 256
        v = memoryview(b)[:k]
        n = sink.readinto(off, v)
        if n != k:
            raise AssertionError("readinto %d at %d gave %d" % (k, off, n))
        md.update(v)
        off += k


def _wipe(d):
    sink_app._wipe(d)


# A device folder with app V1 installed and confirmed (uncounted: before any cut).
def _fresh(name):
    import os

    d = _base() + "/" + name
    try:
        os.mkdir(d)
    except OSError:
        pass
    _wipe(d)
    root = d + "/apps"
    s = sink_app.AppSink(root, 0, 3)
    size = _size(_base() + "/v1.oab")
    s.begin(size, 0)
    _stream(s, "v1.oab", 0)
    s.commit()
    apprun.mark(root, "ok")
    return d, root


# What the loader would run next (decided without writing), and whether that folder
# is a whole app: -> (version, None) or (None, problem).
def _bootable(root):
    p, _ = apprun.pointer(root)
    if not p:
        return None, "no pointer record"
    cur = p[1]
    if p[3] == "new" and p[4] >= p[5] and p[2] != "-":
        cur = p[2]
    d = root + "/" + cur
    entry, ver = apprun.manifest(d)
    lst = {"V1.0": "v1.lst", "V2.0": "v2.lst"}.get(ver)
    if not lst:
        return None, "folder %s: manifest %r %r" % (cur, entry, ver)
    for path, want in _list(lst):
        try:
            got = _md5_file(d + "/" + path)
        except OSError:
            return None, "%s %s: %s missing" % (cur, ver, path)
        if got != want:
            return None, "%s %s: %s is not whole" % (cur, ver, path)
    return ver, None


# One boot of a device that updates to v2.oab the agent's way -> "reset", "updated",
# "none" (nothing to do), "rolledback".
def _boot(d, root, md5, size):
    apprun.boot(root)
    j = Journal(d + "/ota.jrn")
    rec = j.load()
    p, _ = apprun.pointer(root)
    running = p[1] if p else ""
    if rec and rec["state"] == "ready" and running == rec["slot"]:
        rec["state"] = "applied"
    if rec and rec["state"] == "applied":
        if running != rec["slot"]:
            j.clear()
            return "rolledback"
        apprun.mark(root, "ok")  # the self-test passed (AppBoard.confirm)
        j.clear()
        return "updated"
    if rec is None:
        if apprun.manifest(root + "/" + running)[1] == "V2.0":
            return "none"
    sink = sink_app.AppSink(root, 0, 3)
    if rec is None:
        rec = {"state": "dl", "token": "tok", "md5": md5, "size": size, "target": "V2.0", "offset": 0,
               "from_ver": "V1.0", "task_type": 2, "retries": 0, "boots": 0, "slot": sink.slot}
    if rec["state"] == "dl":
        md = digest.new("md5")
        off = sink.begin(size, rec["offset"])
        _rehash(sink, md, off)
        _stream(sink, "v2.oab", off, md, j, rec)
        if digest.hexstr(md.digest()) != md5:
            raise AssertionError("md5 mismatch after resume at %d" % off)
        rec["state"] = "ready"
        j.save(rec)
    else:  # "ready": verified in an earlier boot; hash again what the folder holds
        sink.begin(size, size)
        md = digest.new("md5")
        _rehash(sink, md, size)
        if digest.hexstr(md.digest()) != md5:
            raise AssertionError("ready, but the folder does not hold the bundle")
    sink.commit()
    rec["state"] = "applied"
    j.save(rec)
    return "reset"


def _v2():
    return _md5_file(_base() + "/v2.oab"), _size(_base() + "/v2.oab")


# Boot until done; cut at operation `cut` (counted from the first boot); check what
# the loader would run after every boot -> outcomes.
def _run(name, cut):
    d, root = _fresh(name)
    md5, size = _v2()
    outs = []
    ota_shim.cut_at(cut)
    n0 = ota_shim.op_count()
    for _ in range(12):
        try:
            out = _boot(d, root, md5, size)
        except ota_shim.PowerCut:
            out = "cut"
        outs.append(out)
        ver, bad = _bootable(root)
        if bad:
            raise AssertionError("cut %s, boot %d: %s (%s)" % (cut, len(outs), bad, outs))
        if out in ("updated", "none", "rolledback"):
            break
    return d, root, outs, ota_shim.op_count() - n0


def case_stream_odd_chunks_and_read_back():
    d, root = _fresh("odd")
    md5, size = _v2()
    s = sink_app.AppSink(root, 0, 3)
    assert s.slot == "b", s.slot  # V1 runs from a
    s.begin(size, 0)
    _stream(s, "v2.oab", 0, sizes=(1, 7, 63, 100, 511, 24, 333, 2, 512))
    md = digest.new("md5")
    _rehash(s, md, size)
    assert digest.hexstr(md.digest()) == md5
    s.commit()
    p, _ = apprun.pointer(root)
    assert p[1:5] == ("b", "a", "new", 0), p
    ver, bad = _bootable(root)
    assert ver == "V2.0" and not bad, bad
    return {"size": size, "files": len(_list("v2.lst"))}


def case_resume_at_every_offset():
    # A bundle written up to offset k (flushed), a new sink (a new boot) resumes there:
    # begin() returns k, readinto gives back the first k bytes, the rest completes it.
    md5, size = _v2()
    step = size // 97 + 1
    n = 0
    k = 0
    while k <= size:
        d, root = _fresh("res")
        s = sink_app.AppSink(root, 0, 3)
        s.begin(size, 0)
        f = open(_base() + "/v2.oab", "rb")
        left = k
        while left:
            m = f.readinto(memoryview(_buf)[: min(left, 37)])
            s.write(memoryview(_buf)[:m])
            left -= m
        f.close()
        s.flush()
        s._close()
        s = sink_app.AppSink(root, 0, 3)
        gc.collect()
        before = gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0
        got = s.begin(size, k)
        # A resume reads .idx through the header buffer: no whole-index allocation
        # (once 22.8 KB, a MemoryError on a 24 KiB board).
        if before:
            assert gc.mem_alloc() - before < 8192, gc.mem_alloc() - before
        assert got == k, (k, got)
        md = digest.new("md5")
        _rehash(s, md, k)
        _stream(s, "v2.oab", k, md)
        assert digest.hexstr(md.digest()) == md5, k
        s.commit()
        assert _bootable(root)[0] == "V2.0"
        n += 1
        k += step if k + step <= size or k == size else size - k
        if k == size and n > 200:
            break
    return {"resumes": n}


def case_bad_bundles_refused():
    out = {}
    for name, when in (("bad_magic.oab", "write"), ("bad_path.oab", "write"), ("bad_digest.oab", "commit"),
                       ("bad_trailing.oab", "write"), ("bad_short.oab", "commit")):
        d, root = _fresh("bad")
        s = sink_app.AppSink(root, 0, 3)
        s.begin(_size(_base() + "/" + name), 0)
        try:
            _stream(s, name, 0)
            s.commit()
            raise AssertionError("%s accepted" % name)
        except BadImage as e:
            out[name] = str(e)
            got = "commit" if "digest" in str(e) or "incomplete" in str(e) else "write"
            assert got == when, (name, str(e))
        s.abort()
        p, _ = apprun.pointer(root)
        assert p[1] == "a" and p[3] == "ok", p  # V1 still in force
        assert _bootable(root)[0] == "V1.0"
    return out


def case_never_the_running_app_nor_its_way_back():
    md5, size = _v2()
    d, root = _fresh("slots")
    s = sink_app.AppSink(root, 0, 3)
    s.begin(size, 0)
    _stream(s, "v2.oab", 0)
    s.commit()  # b on trial, a its way back
    s = sink_app.AppSink(root, 0, 3)
    assert s.slot == "a"
    try:
        s.begin(size, 0)
        raise AssertionError("wrote over the app on trial's way back")
    except NoSpace:
        pass
    s.abort()
    ver, bad = apprun.manifest(root + "/a")
    assert ver == "app" and bad == "V1.0", (ver, bad)
    return "ok"


def case_loader_rolls_back_a_crash_loop():
    md5, size = _v2()
    d, root = _fresh("loop")
    s = sink_app.AppSink(root, 0, 3)
    s.begin(size, 0)
    _stream(s, "v2.oab", 0)
    s.commit()
    seen = []
    for _ in range(6):
        seen.append(apprun.boot(root)[-1:])
    p, _ = apprun.pointer(root)
    assert seen == ["b", "b", "b", "a", "a", "a"], seen
    assert p[1:4] == ("a", "b", "crash"), p
    return seen


def case_pointer_survives_a_torn_write():
    d, root = _fresh("torn")
    p0, which = apprun.pointer(root)
    # a torn record in the other file (a cut while the next record was written)
    f = open("%s/ptr%d" % (root, 1 - which), "w")
    f.write("OAP1 %d b a new 0 3 " % (p0[0] + 1))
    f.close()
    p1, w1 = apprun.pointer(root)
    assert p1 == p0 and w1 == which, (p0, p1)
    return "ok"


def case_power_cut_sweep():
    count_app()
    # clean run: the operations of the whole update
    d, root, outs, n = _run("clean", 0)
    assert outs == ["reset", "updated"], outs
    bad = []
    for i in range(1, n + 1):
        d, root, outs, _ = _run("cut", i)
        # "none": the cut fell after the app was confirmed (the journal's removal)
        if "cut" not in outs or outs[-1] not in ("updated", "none"):
            bad.append((i, outs))
            continue
        p, _ = apprun.pointer(root)
        if p[1] != "b" or p[3] != "ok" or _bootable(root)[0] != "V2.0":
            bad.append((i, p))
    assert not bad, bad[:5]
    return {"ops": n, "cuts": n}


def case_write_allocates_nothing():
    import gc

    if not hasattr(gc, "mem_alloc"):
        return "SKIP"
    md5, size = _v2()
    d, root = _fresh("alloc")
    s = sink_app.AppSink(root, 0, 3)
    s.begin(size, 0)
    f = open(_base() + "/v2.oab", "rb")
    mv = memoryview(_buf)
    writes = allocating = 0
    while True:
        k = f.readinto(_buf)
        if not k:
            break
        v = mv if k == CHUNK else mv[:k]
        gc.collect()
        a0 = gc.mem_alloc()
        s.write(v)
        writes += 1
        allocating += gc.mem_alloc() != a0
    f.close()
    s.commit()
    return {"writes": writes, "allocating": allocating}


def case_every_board_profile():
    # "sink": "app" on every profile: the profile's board wrapped by AppBoard (signal,
    # power, network, reset stay the profile's), the sink writes the next app folder, the
    # version is the running app's manifest once one is installed.
    from onenet_ota import board, config

    out = {}
    for b in ("esp32", "nrf52832", "gd32", "unix"):
        d, root = _fresh("prof_" + b)
        cfg = config.check({"board": b, "sink": "app", "product_id": "1", "dev_id": "d",
                            "access_key": "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=", "app_root": root,
                            "version": "V0.1"})
        bd = board.make(cfg)
        s = bd.sink()
        assert bd.sink_slot(s) == "b" and bd.running_slot() == "a", b
        assert bd.running_version() == "V1.0" and bd.image_version() == "V1.0", b
        out[b] = type(bd.b).__name__
    return out
