# App updates with the real agent against the in-process simulator (CPython, the shim):
# a power cut at every filesystem operation of an app update leaves a bootable app (V1
# or V2) every time and ends with 201; a failing self-test rolls back and reports 206;
# a crash-looping app is rolled back by the loader and reported 206. At the end the same
# sweep on the real unix micropython, boards/unix/main.py one process per boot; the sink
# and loader alone on both runtimes: fw/cases_app.py (test_app.py).
import hashlib
import os
import sys

import pytest

from support.powercut import Device, Harness, sim  # noqa: F401  (sim: the module's simulator)
from test_app import app_files
from onenet_ota_tools import appbundle

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # host_tests/
sys.path.insert(0, os.path.join(HERE, "fw"))

import ota_shim  # noqa: E402

from onenet_ota import apprun, board  # noqa: E402
from onenet_ota.sink_app import AppSink  # noqa: E402


V1 = app_files("V1.0", 1)
V1_BLOB = appbundle.pack(V1, "V1.0", "app")
V0_BLOB = appbundle.pack(app_files("V0.5", 7) + [("old/only_in_v0.py", b"x" * 900)], "V0.5", "app")


def _selftest_app(body):
    files = app_files("V2.0", 2)
    files[0] = ("app.py", ("VERSION = 'V2.0'\n\ndef selftest():\n%s\n\ndef main():\n    pass\n" % body).encode())
    return files


class AppDevice(Device):
    # A unix board with "sink": "app": V1 installed and confirmed in apps/a; the task
    # targets the bundle of `files`. Every boot: the loader (apprun.boot), then one
    # agent cycle, as boards/*/main.py does (apprun.boot, runloop.main, apprun.start).
    def __init__(self, harness, files, name, prior=False, **kw):
        self.files = files
        blob = appbundle.pack(files, "V2.0", "app")
        Device.__init__(self, harness, "file", blob, "V2.0", name, **kw)
        self.kind = "app"
        self.root = self.p("apps")
        self.cfg_raw.update({"sink": "app", "app_root": self.root, "version": "V0.9"})
        ota_shim.install(self.state)
        # prior: V0 in a, V1 in b, so the update goes over V0's folder (wiped first)
        for blob in ([V0_BLOB] if prior else []) + [V1_BLOB]:
            s = AppSink(self.root)
            s.begin(len(blob))
            s.write(memoryview(blob))
            s.commit()
            apprun.mark(self.root, "ok")

    # Every boot: the loader first (apprun.boot), then the agent with the board's own
    # board object; the app the loader imported is forgotten afterwards.
    def start(self):
        import cases_app

        cases_app.count_app()
        apprun.boot(self.root)
        return self.config()

    def make_board(self, cfg):
        return board.make(cfg)

    def end(self):
        sys.modules.pop("app", None)
        sys.path[:] = [p for p in sys.path if not p.startswith(self.root)]

    # What the loader would run next (without writing) is a whole app, V1 or V2; a
    # journal's offset is backed by what the next folder holds.
    def check_after_boot(self, out):
        p, _ = apprun.pointer(self.root)
        if not p:
            self._fail("no pointer record")
        cur = p[1]
        if p[3] == "new" and p[4] >= p[5] and p[2] != "-":
            cur = p[2]
        d = os.path.join(self.root, cur)
        entry, ver = apprun.manifest(d)
        want = {"V1.0": V1, "V2.0": self.files}.get(ver)
        if entry != "app" or want is None:
            self._fail("the loader would run %s: manifest %r %r" % (cur, entry, ver))
        for path, data in want:
            try:
                with open(os.path.join(d, path), "rb") as f:
                    got = f.read()
            except OSError:
                got = None
            if got != data:
                self._fail("the loader would run %s (%s): %s is not whole" % (cur, ver, path))
        rec = self.journal()
        if rec:
            s = AppSink(self.root)
            s.slot, s.dir = rec["slot"], os.path.join(self.root, rec["slot"])
            n = rec["offset"] if rec["state"] == "dl" else len(self.data)
            buf = bytearray(n)
            got = s.readinto(0, buf)
            s._close()
            if got != n or bytes(buf) != self.data[:n]:
                self._fail("journal %s at %d, the folder holds %d bytes of it" % (rec["state"], n, got))

    def check_updated(self):
        Device.check_updated(self)
        p, _ = apprun.pointer(self.root)
        if p[3] != "ok" or apprun.manifest(os.path.join(self.root, p[1]))[1] != "V2.0":
            self._fail("pointer %s after the update" % (p,))


def _device(h, files, **kw):
    h.n += 1
    return AppDevice(h, files, "app%d" % h.n, **kw)


@pytest.mark.parametrize("prior", [False, True], ids=["into-empty", "over-old-app"])
def test_app_update_cut_at_every_operation(sim, tmp_path, prior):
    h = Harness(sim, tmp_path)
    files = app_files("V2.0", 2)
    kw = dict(chunk=512, journal_every=512, prior=prior)
    clean = _device(h, files, **kw)
    n, per_boot, out = clean.clean()
    assert out == "updated", clean.logs[-20:]
    clean.check_updated()
    assert clean.codes() == [101, 201]
    kinds = sorted(set(k for k, _ in clean.op_log))
    assert {"fwrite", "open", "rename", "remove", "mkdir"} | ({"rmdir"} if prior else set()) <= set(kinds), kinds
    for i in range(1, n + 1):
        d = _device(h, files, **kw)
        out = d.run([i])
        assert d.cuts_fired == 1, (i, [s["out"] for s in d.summaries])
        assert out in ("updated", "none"), (i, d.logs[-30:])
        d.check_updated()
        assert d.bytes - len(d.data) <= 1024, (i, d.bytes)
    print("app sweep: %d operations (%s), %d cuts, every one bootable, 201 each time" % (n, ",".join(kinds), n))
    assert n >= 30


def test_failing_selftest_rolls_back_206(sim, tmp_path):
    h = Harness(sim, tmp_path)
    d = _device(h, _selftest_app("    return False"))
    out = d.run()
    # download + commit + reset, the self-test fails: rollback, 206, reset; V1 runs
    assert [s["out"] for s in d.summaries] == ["reset", "reset", "none"], d.logs[-10:]
    assert d.codes() == [101, 206], d.codes()
    assert sim.task(d.task["id"])["state"] == "failed"
    p, _ = apprun.pointer(d.root)
    assert p[1:4] == ("a", "b", "fail"), p
    assert apprun.manifest(os.path.join(d.root, "a"))[1] == "V1.0"
    assert d.journal() is None
    assert any("self-test failed: app.selftest() did not return True" in l for l in d.logs), d.logs[-8:]
    assert d.summaries[-1]["old_version"] == "V1.0"  # the boot after runs V1


def test_selftest_over_time_fails(sim, tmp_path):
    h = Harness(sim, tmp_path)
    d = _device(h, _selftest_app("    import time\n    time.sleep_ms(300)\n    return True"),
                sets={"app_selftest_ms": 100})
    assert d.run() == "none"
    assert d.codes() == [101, 206], d.codes()
    assert any("app.selftest took" in l for l in d.logs), d.logs[-8:]
    assert apprun.pointer(d.root)[0][1:4] == ("a", "b", "fail")


def test_crash_loop_rolls_back_206(sim, tmp_path):
    # The new app's self-test resets the board every time (a crash before it confirms):
    # the loader goes back to V1 after max_boots boots; the agent reports 206.
    h = Harness(sim, tmp_path)
    d = _device(h, _selftest_app("    import machine\n    machine.reset()"))
    out = d.run()
    assert out == "failed", [s["out"] for s in d.summaries]
    assert [s["out"] for s in d.summaries] == ["reset", "reset", "reset", "reset", "failed"]
    assert d.codes() == [101, 206], d.codes()
    p, _ = apprun.pointer(d.root)
    assert p[1:4] == ("a", "b", "crash"), p
    assert any("crash loop" in l for l in d.logs), d.logs[-5:]
    assert d.journal() is None


def test_cut_between_rollback_and_report_still_206(sim, tmp_path):
    # Every operation of the boot that rejects the app (rollback pointer write, the
    # report, the journal's removal) cut once: 206 in the end, V1 runs.
    h = Harness(sim, tmp_path)
    files = _selftest_app("    return False")
    clean = _device(h, files)
    n, per_boot, out = clean.clean()
    assert out == "none" and clean.codes() == [101, 206] and len(per_boot) == 3
    for i in range(per_boot[0] + 1, per_boot[0] + per_boot[1] + 1):  # the confirm boot's
        d = _device(h, files)
        out = d.run([i])
        assert out in ("failed", "none"), (i, d.logs[-20:])
        # a cut after the report, before the journal is removed, reports 206 again at
        # the next boot (at least once, as every final code of the agent)
        assert d.codes() in ([101, 206], [101, 206, 206]), (i, d.codes())
        assert sim.task(d.task["id"])["state"] == "failed"
        assert apprun.pointer(d.root)[0][1] == "a"
        d.check_after_boot(out)


# -- the real micropython: boards/unix/main.py, one process per boot ------------------------

MP_BOOT = """import sys
import ota_shim

ota_shim.install(".")
import cases_app

cases_app.count_app()
cut = int(sys.argv[1])
if cut:
    ota_shim.cut_at(cut)
code = 0
try:
    exec(open(%r).read())
except ota_shim.Reset:
    code = 3
except ota_shim.PowerCut:
    code = 4
print("OPS", ota_shim.op_count())
sys.exit(code)
"""


def _mp_check(state, files):
    # What the loader would run next is a whole app, V1 or V2 -> a problem or None.
    root = os.path.join(state, "apps")
    p, _ = apprun.pointer(root)
    if not p:
        return "no pointer record"
    cur = p[2] if p[3] == "new" and p[4] >= p[5] and p[2] != "-" else p[1]
    d = os.path.join(root, cur)
    entry, ver = apprun.manifest(d)
    want = {"V1.0": V1, "V2.0": files}.get(ver)
    if entry != "app" or want is None:
        return "the loader would run %s: %r %r" % (cur, entry, ver)
    for path, data in want:
        try:
            with open(os.path.join(d, path), "rb") as f:
                if f.read() != data:
                    return "%s %s: %s not whole" % (cur, ver, path)
        except OSError:
            return "%s %s: %s missing" % (cur, ver, path)
    return None


def test_micropython_app_cut_points(sim, tmp_path):
    # The real unix micropython runs boards/unix/main.py (loader, one agent cycle, the
    # app) boot after boot with "sink": "app"; every filesystem operation of the update
    # is cut once (exit 4), then it boots until done: after the cut the loader would run
    # a whole app, and in the end 201 and V2 confirmed.
    import concurrent.futures as cf
    import json
    import subprocess

    from onenet_ota_tools import BOARDS, runtimes
    from support.powercut import KEY, PID

    files = app_files("V2.0", 2)
    blob = appbundle.pack(files, "V2.0", "app")
    boot_py = tmp_path / "mp_boot.py"
    boot_py.write_text(MP_BOOT % os.path.join(BOARDS, "unix", "main.py"))
    fw = os.path.join(HERE, "fw")

    def prepare(name):
        sim.add_device(name, PID, KEY)
        t = sim.publish("V2.0", PID, KEY, name, data=blob, name="app.oab", manuf="100", model="10001",
                        retry=3, interval=0)
        state = str(tmp_path / name)
        os.makedirs(state)
        with open(os.path.join(state, "config.json"), "w") as f:
            json.dump({"board": "unix", "sink": "app", "host": "127.0.0.1", "port": sim.port, "version": "V0.9",
                       "product_id": PID, "dev_id": name, "access_key": KEY, "chunk": 512, "journal_every": 512,
                       "progress_every": 0, "backoff_ms": 0, "timeout_ms": 5000}, f)
        root = os.path.join(state, "apps")
        s = AppSink(root)
        s.begin(len(V1_BLOB))
        s.write(memoryview(V1_BLOB))
        s.commit()
        apprun.mark(root, "ok")
        return t, state

    def boot(state, cut):
        p = runtimes.run("micropython", str(boot_py), [str(cut)], heap="256k", timeout=60, extra_paths=[fw],
                         cwd=state)
        ops = [int(l.split()[1]) for l in p.stdout.splitlines() if l.startswith("OPS ")]
        return p.returncode, (ops[0] if ops else None), p.stdout + p.stderr

    t, state = prepare("mpaclean")
    per_boot = []
    for _ in range(4):
        rc, ops, out = boot(state, 0)
        assert rc in (0, 3) and ops is not None, out[-2000:]
        per_boot.append(ops)
        if rc == 0:
            break
    assert sim.task(t["id"])["state"] == "succeeded", per_boot
    n = sum(per_boot)
    assert n >= 40, per_boot

    def one(i):
        name = "mpa%d" % i
        t, state = prepare(name)
        left, fired, outs = i, False, []
        for _ in range(8):
            rc, ops, out = boot(state, left if not fired else 0)
            outs.append(rc)
            bad = _mp_check(state, files)
            assert not bad, (i, outs, bad, out[-1500:])
            if rc == 4:
                fired = True
            elif not fired:
                assert rc == 3 and ops, (i, rc, out[-1500:])
                left -= ops
            if fired and rc == 0:
                break
        assert fired and outs[-1] == 0, (i, outs)
        task = sim.task(t["id"])
        codes = [e["detail"]["step"] for e in sim.events(name, t["id"])
                 if e["kind"] == "progress" and e["detail"]["step"] > 100]
        assert task["state"] == "succeeded" and set(codes) <= {101, 201} and 201 in codes, (i, task, codes)
        p, _ = apprun.pointer(os.path.join(state, "apps"))
        assert p[3] == "ok" and apprun.manifest(os.path.join(state, "apps", p[1]))[1] == "V2.0", (i, p)
        return i

    with cf.ThreadPoolExecutor(2) as ex:
        done = list(ex.map(one, range(1, n + 1)))
    assert len(done) == n
    print("micropython app sweep: %d operations (boots %s), %d cuts, every one bootable, 201 each time"
          % (n, per_boot, n))
