# Power cuts at every flash operation (issue 7, part 1 and 2), on CPython in-process:
# the agent on the shim's strict simulated flash against an in-process simulator. See
# support/powercut.py for the invariants checked after every cut. The micropython
# sweep (one process per cut point) is at the end.
import json
import os
import random
import threading
import time

import pytest

from support import powercut as pc
from support.powercut import Harness, image, sim  # noqa: F401  (sim: the module's simulator)

SIZE = 256 * 1024
CHUNK = 4096
JEVERY = 16384
SEEDS = int(os.environ.get("OTA_POWERCUT_SEEDS", "1000"))
FIGURES = os.environ.get("OTA_RELIABILITY_OUT")  # the reliability command collects figures


def record(name, **fig):
    if FIGURES:
        with open(FIGURES, "a") as f:
            f.write(json.dumps({"test": name, **fig}) + "\n")


@pytest.fixture
def h(sim, tmp_path):
    return Harness(sim, tmp_path)


def _sweep(h, kind, size, chunk=CHUNK, jevery=JEVERY, step=1):
    data = image(size)
    clean = h.device(kind, data, "V2.0", chunk=chunk, journal_every=jevery)
    n, per_boot, out = clean.clean()
    assert out == "updated", clean.logs[-20:]
    clean.check_updated()
    kinds = {}
    for k, _ in clean.op_log:
        kinds[k] = kinds.get(k, 0) + 1
    worst = 0
    resumed = 0
    for i in range(1, n + 1, step):
        d = h.device(kind, data, "V2.0", chunk=chunk, journal_every=jevery)
        out = d.run([i])
        assert d.cuts_fired == 1, (i, [s["out"] for s in d.summaries])
        # "none": the cut fell after 201 and the new version were reported
        assert out in ("updated", "none"), (i, d.logs[-30:])
        d.check_updated()
        extra = d.bytes - size
        worst = max(worst, extra)
        assert extra <= chunk + jevery, (i, extra, [(s["out"], s["bytes"], s["resumed_at"]) for s in d.summaries],
                                         d.logs)
        resumed += any((s.get("resumed_at") or 0) > 0 for s in d.summaries)
    return n, per_boot, kinds, worst, resumed


@pytest.mark.parametrize("kind", ["esp32", "block", "file"])
def test_cut_at_every_operation_256k(h, kind):
    # Every flash operation of a clean 256 KiB update (sink writes and erases, journal
    # writes, renames and removes, boot-selection writes) is cut once; the device boots
    # again until the update is done: 201 on the simulator, the new image confirmed,
    # never an invalid image chosen by the bootloader, journal and sink in agreement.
    t = time.monotonic()
    n, per_boot, kinds, worst, resumed = _sweep(h, kind, SIZE)
    record("sweep", sink=kind, size=SIZE, ops=n, cuts=n, ops_by_kind=kinds, worst_redownload=worst,
           resumed=resumed, bricked=0, seconds=round(time.monotonic() - t, 1))
    assert n > 100


def test_random_cuts_many_seeds(h):
    # Several cuts in one update, at random operations, for many seeds (a small image
    # with a short chunk and journal interval: many operations per byte).
    data = image(24 * 1024)
    t = time.monotonic()
    cuts = 0
    for seed in range(SEEDS):
        rng = random.Random(seed)
        kind = ("esp32", "block", "file")[seed % 3]
        d = h.device(kind, data, "V2.0", chunk=1024, journal_every=4096, name="r%d" % seed,
                     sets={"max_boots": 8})  # <= 5 cuts never spend it: see the crash loop test
        pts = [rng.randint(1, 60) for _ in range(rng.randint(2, 5))]
        out = d.run(pts)
        assert out in ("updated", "none"), (seed, pts, d.logs[-30:])
        d.check_updated()
        assert d.bytes - len(data) <= d.cuts_fired * (1024 + 4096), (seed, d.bytes)
        cuts += d.cuts_fired
    record("random", seeds=SEEDS, cuts=cuts, size=len(data), bricked=0, seconds=round(time.monotonic() - t, 1))


# -- commit, confirm, rollback, crash loops ------------------------------------------------


def _ops_of(dev, kinds):
    # 1-based operation numbers of a clean run's log whose kind is in kinds
    return [i + 1 for i, (k, _) in enumerate(dev.op_log) if k in kinds]


def test_cuts_during_commit_and_confirm(h):
    # Every operation from the md5 check on (journal "ready", set_boot, journal
    # "applied", the bootloader's write, the confirm's journal writes, mark valid, the
    # journal removal) cut once, then twice in a row (the second cut in the boot
    # after): 201 in the end, the bootloader never picks a bad image.
    data = image(64 * 1024)
    clean = h.device("esp32", data, "V2.0")
    n, per_boot, _ = clean.clean()
    first = n - per_boot[-1] - 8  # from the "ready" journal write on
    pts = list(range(first, n + 1))
    assert "otadata" in [k for k, _ in clean.op_log[first - 1:]]
    runs = 0
    for i in pts:
        for second in (None, 1, 2, 3, 4):
            d = h.device("esp32", data, "V2.0")
            out = d.run([i] + ([second] if second else []))
            assert out in ("updated", "none"), (i, second, d.logs[-20:])
            d.check_updated()
            runs += 1
    record("commit_confirm", cuts=runs, bricked=0)


def test_crash_loop_in_confirm_gives_up_207(h):
    # The new image is killed at the same point of every boot before it confirms
    # (here: when it marks itself valid). The bootloader rolls back, the old image
    # commits it again while boots last, then reports 207; the old image keeps running.
    import ota_shim

    data = image(32 * 1024)
    d = h.device("esp32", data, "V2.0")
    # first boot: download, commit, reset
    assert d.boot() == "reset"
    boots = 1
    while boots < 30:
        # cut the new image at its mark_app_valid (otadata) write; the old image runs free
        pc._install(d.state)
        st = ota_shim.esp32_state()
        sel = st.get("boot") or "ota_0"
        if sel == "ota_1" and st.get("st_ota_1") == "NEW":
            # boot, journal fwrite, journal rename, otadata (mark valid) = 4th op
            out = d.boot(4)
            assert out == "cut", d.logs[-10:]
        else:
            out = d.boot()
        d.check_after_boot(out)
        boots += 1
        if out not in ("reset", "cut"):
            break
    assert out == "failed", [s["out"] for s in d.summaries]
    assert d.codes() == [101, 207], d.codes()
    assert h.sim.task(d.task["id"])["state"] == "failed"
    st = ota_shim.esp32_state()
    assert st["running"] == "ota_0" and st.get("st_ota_1") != "VALID", st
    assert d.journal() is None
    max_boots = 3
    assert boots <= 2 * max_boots + 2, boots
    record("crash_loop", sink="esp32", boots=boots, code=207)


def test_crash_loop_file_board_207(h):
    # No bootloader to roll back: a new version whose self-test kills the device
    # (machine.reset) every boot is given up after max_boots boots with 207.
    data = image(16 * 1024)
    d = h.device("file", data, "V2.0", sets={"self_test": "selftest_reset"})
    with open(d.p("selftest_reset.py"), "w") as f:
        f.write("import machine\n\ndef run():\n    machine.reset()\n")
    import sys

    sys.path.insert(0, d.state)
    try:
        out = d.run()
    finally:
        sys.path.remove(d.state)
        sys.modules.pop("selftest_reset", None)
    assert out == "failed"
    assert d.codes() == [101, 207], d.codes()
    assert [s["out"] for s in d.summaries] == ["reset", "reset", "reset", "reset", "failed"]
    record("crash_loop", sink="file", boots=len(d.summaries), code=207)


def test_crash_loop_in_download_gives_up_207(h):
    # A device that dies at the same point of every boot while it downloads, before the
    # next journal write: each boot resumes from the same offset. After max_boots such
    # boots it gives up with 207 instead of looping for ever; the old image keeps running.
    data = image(64 * 1024)
    d = h.device("esp32", data, "V2.0")
    # ops of a first boot: boot, then erase/write of the first 16 KiB, the journal
    # (fwrite, rename), then the next erase: the first death
    outs = [d.boot(13)]
    assert outs == ["cut"] and d.journal()["offset"] == 16384
    max_boots = 3
    for _ in range(2 * max_boots):
        # a resumed boot: boot, the journal's boot count (fwrite, rename), then the
        # first erase of the download: it dies there, every time
        out = d.boot(4)
        outs.append(out)
        d.check_after_boot(out)
        if out != "cut" or h.sim.task(d.task["id"])["state"] == "failed":
            break
    out = d.boot()  # the next boot, left alone: nothing to do any more
    outs.append(out)
    assert out in ("failed", "none"), (outs, d.logs[-12:])
    assert d.codes() == [207], d.codes()
    assert h.sim.task(d.task["id"])["state"] == "failed"
    assert d.journal() is None
    assert outs[: 1 + max_boots] == ["cut"] * (1 + max_boots), outs
    assert len(outs) <= 1 + max_boots + 2, outs
    st = ota_shim_state()
    assert st["running"] == "ota_0", st
    record("crash_loop", sink="esp32-download", boots=len(outs), code=207)


def ota_shim_state():
    import ota_shim

    return ota_shim.esp32_state()


# -- bad flash regions --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["esp32", "block"])
@pytest.mark.parametrize("rate", [0.002, 0.02, 0.2])
def test_bad_region_never_boots_half_an_image(h, kind, rate):
    # Writes fail (OSError EIO) at a set rate: the agent ends the cycle with a failure
    # code or retries on a later boot; the bootloader never gets a half image, and a
    # boot that completes the update has the whole package.
    data = image(64 * 1024)
    results = []
    for seed in range(1, 6):
        d = h.device(kind, data, "V2.0", shim={"bad_rate": rate, "bad_seed": seed})
        outs = []
        for _ in range(8):
            out = d.boot()
            d.check_after_boot(out)
            outs.append(out)
            if out in ("updated", "failed", "none"):
                break
        results.append((outs[-1], d.codes()))
        if rate <= 0.02:  # a few refused writes: retried in place, the update completes
            assert outs[-1] == "updated", (seed, outs, d.codes(), d.logs[-10:])
        if outs[-1] == "updated":
            d.check_updated()
        else:
            assert h.sim.task(d.task["id"])["state"] in ("failed", "downloading", "upgrading"), outs
            assert all(c in (101, 107, 206, 207, 205) for c in d.codes()), d.codes()
    record("bad_region", sink=kind, rate=rate, runs=len(results),
           outcomes=sorted(set("%s %s" % (o, c[-1] if c else "-") for o, c in results)))


# -- the real micropython: one process per cut ---------------------------------------------


MP_SIZE = 32 * 1024
MP_CHUNK = 512  # the smallest chunk and journal interval: ~220 operations in 32 KiB


def _mp_boot(env, args, cfgpath, cut):
    import subprocess

    from onenet_ota_tools import SHIM, runtimes

    cmd = runtimes.command("micropython", os.path.join(SHIM, "ota_device.py"), [cfgpath, str(args.slot_size)],
                           args.heap)
    e = runtimes.env(compiled=True)
    e["OTA_CUT_AT"] = str(cut)
    p = subprocess.run(cmd, cwd=args.state_dir, env=e, capture_output=True, text=True, timeout=60)
    ops = [int(l.split()[1]) for l in p.stdout.splitlines() if l.startswith("OPS ")]
    cut_fired = p.returncode == 4 or (p.returncode == 1 and "PowerCut" in p.stderr + p.stdout)
    return p.returncode, (ops[0] if ops else None), cut_fired, p.stdout + p.stderr




def test_micropython_cut_points(sim, tmp_path):
    # >= 200 cut points on the real unix micropython: every operation of a 32 KiB update
    # with 512-byte chunks and journal writes, each a process cut at operation i (exit 4),
    # then `onenet-ota device` boots it until done. After each cut the bootloader's choice
    # is a valid image; at the end 201 on the simulator and the package in ota_1.
    import concurrent.futures as cf
    import hashlib
    import json
    import shutil

    from onenet_ota_tools.commands import device
    from support.agent_env import DEV, KEY, PID, AgentEnv

    data = image(MP_SIZE)
    md5 = hashlib.md5(data).hexdigest()
    sets = ["journal_every=%d" % MP_CHUNK, "progress_every=0", "backoff_ms=0", "timeout_ms=5000"]

    def prepare(name):
        sim.add_device(name, PID, KEY)
        t = sim.publish("V2.0", PID, KEY, name, data=data, name="fw.bin", retry=3, interval=0)
        env = AgentEnv.__new__(AgentEnv)
        env.tmp, env.runtime, env.sim, env.log = str(tmp_path), "micropython", sim, []
        env.state = os.path.join(str(tmp_path), name)
        args = env.args(sets, dev_id=name, chunk=MP_CHUNK, slot_size=hex(0x20000))
        os.makedirs(args.state_dir, exist_ok=True)
        cfgpath = os.path.join(args.state_dir, "config.json")
        with open(cfgpath, "w") as f:
            json.dump(device._config(args), f)
        device._seed_flash(args.state_dir, args)
        return t, args, cfgpath

    # clean run: count the operations of each boot
    t, args, cfgpath = prepare("mpclean")
    per_boot = []
    for _ in range(4):
        rc, ops, fired, out = _mp_boot(None, args, cfgpath, 0)
        assert rc in (0, 3), out
        per_boot.append(ops)
        if rc == 0:
            break
    n = sum(per_boot)
    assert sim.task(t["id"])["state"] == "succeeded"
    assert n >= 200, per_boot

    def one(i):
        name = "mp%d" % i
        t, args, cfgpath = prepare(name)
        left = i
        for _ in range(4):
            rc, ops, fired, out = _mp_boot(None, args, cfgpath, left)
            if fired:
                break
            assert rc == 3 and ops, (i, rc, out[-2000:])
            left -= ops
        assert fired, (i, out[-2000:])
        bad = _peek_esp32(args.state_dir, data)
        assert not bad, (i, bad)
        s = device.run_device(args, log=lambda line: None)
        assert s["result"] in ("updated", "none"), (i, s)
        task = sim.task(t["id"])
        assert task["state"] == "succeeded", (i, task, s)
        codes = [e["detail"]["step"] for e in sim.events(name, t["id"])
                 if e["kind"] == "progress" and e["detail"]["step"] > 100]
        assert set(codes) <= {101, 201} and 201 in codes, (i, codes)
        with open(os.path.join(args.state_dir, "esp32_ota_1.bin"), "rb") as f:
            assert hashlib.md5(f.read(MP_SIZE)).hexdigest() == md5
        shutil.rmtree(args.state_dir, ignore_errors=True)
        return i

    t0 = time.monotonic()
    with cf.ThreadPoolExecutor(3) as ex:
        done = list(ex.map(one, range(1, n + 1)))
    assert len(done) == n
    record("micropython_sweep", size=MP_SIZE, chunk=MP_CHUNK, ops=n, cuts=n, bricked=0,
           seconds=round(time.monotonic() - t0, 1))


_PEEK = threading.Lock()  # the in-process shim has one state folder at a time


def _peek_esp32(state, data):
    # What the bootloader would run next (decided on a copy of the state): a valid image,
    # the old or the new one. Returns a problem or None. The sweep runs devices in
    # threads: the shim (module state) is used by one of them at a time.
    with _PEEK:
        return _peek_esp32_locked(state, data)


def _peek_esp32_locked(state, data):
    import shutil

    import ota_shim
    from onenet_ota_tools.images import parse_app_image

    tmp = state + ".peek"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(state, tmp)
    try:
        ota_shim.install(tmp, esp32_slot_size=0x20000)
        sel = ota_shim.boot()
        with open(os.path.join(tmp, "esp32_%s.bin" % sel), "rb") as f:
            slot = f.read()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r = parse_app_image(slot)
    if not r["valid"]:
        return "bootloader would run %s: %s" % (sel, r["error"])
    # stock images carry no version: the bytes tell the old image (device._seed_flash's)
    # from the new one
    from onenet_ota_tools.images import make_app_image

    old = make_app_image(64 * 1024, "V1.3", seed=1)
    if slot[: len(data)] != data and slot[: len(old)] != old:
        return "neither the old nor the new image (version %r)" % r["version"]
    return None
