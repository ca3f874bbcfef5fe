# In-process power-cut harness (CPython): the firmware agent, unchanged, on the shim's
# strict simulated flash, boot after boot against an in-process Simulator on loopback.
#
#   h = Harness(sim, base_dir)                    # one simulator, many devices
#   dev = h.device("esp32", data, "V2.0")         # fresh state dir, task published
#   n = dev.clean()                               # flash operations of a clean update
#   dev = h.device(...); r = dev.run(cuts=[i])    # cut at operation i, boot again, ...
#
# Every flash operation the shim counts (sink writes and erases, journal writes,
# renames and removes, ESP32 boot-selection writes) is a cut point; the file sink's
# writes and its commit rename are counted too (FileSink is wrapped here: its bytes go
# through a plain file, not the shim's flash). After every cut `check_after_cut`
# verifies, on the state the cut left behind:
#   - what the bootloader would run next is a complete, valid image (old or new): the
#     real ESP32 bootloader stand-in decides (ota_shim.boot()), the chosen slot is
#     parsed by images.parse_app_image; block sink: the region's header is never
#     "complete" over anything but the whole package; file sink: the committed file is
#     absent or the whole package,
#   - journal and sink agree: a "dl" record's offset is covered by package bytes in
#     the sink, a "ready"/"applied" record's sink holds the whole package.
import hashlib
import os
import shutil
import sys
import time

import pytest

from onenet_ota_tools import FIRMWARE, SHIM
from onenet_ota_tools.images import make_app_image, parse_app_image

for _p in (SHIM, FIRMWARE):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import ota_shim  # noqa: E402

PID = "123123"
KEY = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw="
OLD = "V1.3"
SLOT = 0x80000
NRF_START = 0x10000  # block sink region on the nRF stand-in: 0x10000..0x70000
NRF_LEN = 0x60000


class Violation(AssertionError):
    pass


def _install(state, **kw):
    ota_shim.install(state, esp32_slot_size=SLOT, **kw)
    from onenet_ota import journal

    ota_shim.count_fs(journal)


# -- the file sink on counted operations ------------------------------------------------


def _counted_file_sink():
    from onenet_ota.sink_file import FileSink

    class CountedFileSink(FileSink):
        # Each write is one operation (a cut one lands its first half); the commit
        # rename is one (a cut one does not happen); truncation on resume is one.
        def write(self, mv):
            if ota_shim.tick("fwrite", "sink"):
                FileSink.write(self, memoryview(mv)[: len(mv) // 2])
                self._f.flush()
                raise ota_shim.PowerCut
            FileSink.write(self, mv)

        def commit(self):
            if self._f is None or self.off != self.size:
                return FileSink.commit(self)
            self.flush()
            if ota_shim.tick("rename", "sink"):
                raise ota_shim.PowerCut
            FileSink.commit(self)

        def flush(self):
            FileSink.flush(self)

    return CountedFileSink


def make_board(cfg, kind):
    from onenet_ota import board

    if kind == "esp32":
        return board.make(cfg)
    if kind == "file":
        B = _counted_file_sink()

        class FileBoard(board.Board):
            def sink(self):
                return B(self.cfg["sink_path"], 1 << 30)

        return FileBoard(cfg)
    if kind == "block":
        from onenet_ota.sink_block import BlockSink

        class BlockBoard(board.Board):
            # nRF52-like: the image goes to a raw region; a bootloader copies a
            # "complete" region later. The version file counts as the running version.
            def sink(self):
                import nrf

                return _MD5Commit(BlockSink(nrf.Flash(start=NRF_START, len=NRF_LEN)), self)

        return BlockBoard(cfg)
    raise ValueError(kind)


class _MD5Commit:
    # BlockSink.commit(md5) re-verifies the flash against the task's md5: give it the
    # journal's md5 (the agent calls commit() without arguments).
    def __init__(self, s, b):
        self.s = s
        self.b = b

    def __getattr__(self, k):
        return getattr(self.s, k)

    def commit(self):
        from onenet_ota.journal import Journal

        rec = Journal(self.b.cfg["journal"]).load()
        return self.s.commit(rec["md5"] if rec else None)


# -- a device --------------------------------------------------------------------------


class Device:
    def __init__(self, harness, kind, data, target, name, chunk=4096, journal_every=16384,
                 retry=3, sets=None, shim=None, publish=True):
        self.h = harness
        self.kind = kind
        self.data = data
        self.md5 = hashlib.md5(data).hexdigest()
        self.target = target
        self.dev_id = name
        self.state = os.path.join(harness.base, name)
        self.shim = shim or {}
        shutil.rmtree(self.state, ignore_errors=True)
        os.makedirs(self.state)
        sim = harness.sim
        sim.add_device(name, PID, KEY)
        codes = {"esp32": ("101", "10101"), "file": ("100", "10001"), "block": ("102", "10201")}[kind]
        self.cfg_raw = {
            "board": {"esp32": "esp32", "file": "unix", "block": "nrf52832"}[kind],
            "product_id": PID, "dev_id": name, "access_key": KEY, "host": "127.0.0.1",
            "port": sim.port, "version": OLD, "chunk": chunk, "journal_every": journal_every,
            "backoff_ms": 0, "timeout_ms": 3000, "retries": 3, "progress_every": 25,
            "journal": self.p("ota.jrn"), "version_file": self.p("ota_version.txt"),
            "sink": "file" if kind in ("file", "block") else "esp32",
            "sink_path": self.p("ota_package.bin"),
        }
        self.cfg_raw.update(sets or {})
        self.task = sim.publish(target, PID, KEY, name, data=data, name="fw.bin", manuf=codes[0],
                                model=codes[1], retry=retry, interval=0) if publish else None
        if kind == "esp32":
            _install(self.state, **self.shim)
            ota_shim.esp32_flash("ota_0", harness.old_image)
        self.old = harness.old_image
        self.boots = 0
        self.bytes = 0
        self.cuts_fired = 0
        self.summaries = []
        self.logs = []
        self.violations = []

    def p(self, name):
        return os.path.join(self.state, name)

    def config(self):
        from onenet_ota import config

        return config.check(dict(self.cfg_raw))

    # One boot: the bootloader, then one agent cycle. Returns "cut", "reset" or the
    # cycle's result; cut: arm a cut at this boot's cut-th operation (None: no cut;
    # operation 1 may be the bootloader's own write).
    def boot(self, cut=None, log_ops=None):
        from onenet_ota import agent

        _install(self.state, **self.shim)
        self.boots += 1
        ota_shim.record_ops(log_ops)
        if cut:
            ota_shim.cut_at(cut)
        a = None
        try:
            cfg = self.start()
            a = agent.Agent(cfg, self.make_board(cfg), log=self.logs.append, sleep_ms=lambda ms: None)
            s = a.run()
            out = s["result"]
        except ota_shim.PowerCut:
            s = dict(a.summary) if a else {}
            out = "cut"
            self.cuts_fired += 1
        except ota_shim.Reset:
            s = dict(a.summary)
            out = "reset"
        finally:
            ota_shim.record_ops(None)
            if a:
                a.c.close()
            self.end()
        s["out"] = out
        s["ops"] = ota_shim.op_count()
        self.bytes += s.get("bytes") or 0
        self.summaries.append(s)
        return out

    # A boot's own parts, for a device kind to change: what runs before the agent (the
    # bootloader; its flash operations count), the board the agent gets, what is undone
    # after the cycle whatever its end.
    def start(self):
        if self.kind == "esp32":
            ota_shim.boot()
        return self.config()

    def make_board(self, cfg):
        return make_board(cfg, self.kind)

    def end(self):
        pass

    # Boot until the device is done (updated / failed / none ...). cuts: operation
    # numbers counted over the whole run (as in a clean run: cut k falls in the boot
    # that reaches it), each after the previous one fired; a cut also counts the
    # operations of the boots after the previous cut. Checks the invariants after
    # every boot.
    def run(self, cuts=(), max_boots=40, per_boot=False):
        cuts = list(cuts)
        left = cuts.pop(0) if cuts else None
        for _ in range(max_boots):
            out = self.boot(left)
            self.check_after_boot(out)
            if left:
                if out == "cut":
                    left = cuts.pop(0) if cuts else None
                elif per_boot:
                    left = None
                else:
                    left -= self.summaries[-1]["ops"]
            if out in ("updated", "failed", "none", "cancelled", "paused"):
                return out
        raise Violation("%s: no end after %d boots: %s" % (self.dev_id, max_boots,
                                                          [s["out"] for s in self.summaries]))

    # Count the operations of a clean update (every boot's), recording what they are.
    def clean(self):
        ops = []
        log = []
        while True:
            out = self.boot(None, log)
            ops.append(self.summaries[-1]["ops"])
            self.check_after_boot(out)
            if out not in ("reset", "applied"):
                break
        self.op_log = list(log)
        return sum(ops), ops, out

    # -- invariants --------------------------------------------------------------------
    def _fail(self, what):
        v = "%s boot %d: %s" % (self.dev_id, self.boots, what)
        self.violations.append(v)
        raise Violation(v + "\n" + "\n".join(self.logs[-30:]))

    def journal(self):
        from onenet_ota import journal

        try:
            with open(self.p("ota.jrn"), "rb") as f:
                return journal.parse(f.read())
        except OSError:
            return None

    def check_after_boot(self, out):
        if self.kind == "esp32":
            self._check_esp32()
        elif self.kind == "block":
            self._check_block()
        else:
            self._check_file()

    def _slot(self, label):
        with open(self.p("esp32_%s.bin" % label), "rb") as f:
            return f.read()

    def _check_esp32(self):
        # What the bootloader runs next: boot() on a copy of the state (the real one
        # boots at the next Device.boot()).
        tmp = self.state + ".peek"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(self.state, tmp)
        try:
            ota_shim.install(tmp, esp32_slot_size=SLOT)
            sel = ota_shim.boot()
            with open(os.path.join(tmp, "esp32_%s.bin" % sel), "rb") as f:
                slot = f.read()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            ota_shim.install(self.state, esp32_slot_size=SLOT)
        r = parse_app_image(slot)
        if not r["valid"]:
            self._fail("bootloader would run %s: not a valid image (%s)" % (sel, r["error"]))
        n = r["length"]
        if slot[:n] not in (self.data, self.old):
            self._fail("bootloader would run %s: valid, but neither the old nor the new image" % sel)
        rec = self.journal()
        if rec:
            other = self._slot("ota_1")
            self._check_rec(rec, other)

    def _check_rec(self, rec, have):
        if rec["md5"] != self.md5 or rec["size"] != len(self.data):
            self._fail("journal for another package: %s" % rec)
        if rec["state"] == "dl":
            off = rec["offset"]
            if have[:off] != self.data[:off]:
                self._fail("journal offset %d not backed by the sink" % off)
        elif have[: len(self.data)] != self.data:
            self._fail("journal %s but the sink does not hold the package" % rec["state"])

    def _check_block(self):
        import nrf
        from onenet_ota.sink_block import BlockSink

        ota_shim.install(self.state, esp32_slot_size=SLOT)
        fl = nrf.Flash(start=NRF_START, len=NRF_LEN)
        h = BlockSink.read_header(fl)
        raw = bytearray(len(self.data))
        fl.readblocks(1, raw, 0)
        if h["state"] in ("complete", "applied"):
            if h["size"] != len(self.data) or h["md5"] != self.md5 or bytes(raw) != self.data:
                self._fail("block header %s over data that is not the package" % h)
        rec = self.journal()
        if rec:
            self._check_rec(rec, bytes(raw))
        if rec and rec["state"] == "applied" and h["state"] != "complete":
            self._fail("journal applied, block header %s" % h["state"])

    def _check_file(self):
        try:
            with open(self.p("ota_package.bin"), "rb") as f:
                got = f.read()
            if got != self.data:
                self._fail("committed file is not the whole package (%d bytes)" % len(got))
        except FileNotFoundError:
            got = None
        rec = self.journal()
        if rec:
            if rec["state"] == "applied":
                have = got or b""
            else:
                try:
                    with open(self.p("ota_package.bin.part"), "rb") as f:
                        have = f.read()
                except FileNotFoundError:
                    have = got or b""
            self._check_rec(rec, have)

    # Final state after an update that must have succeeded.
    def check_updated(self):
        t = self.h.sim.task(self.task["id"])
        codes = self.codes()
        if t["state"] != "succeeded" or 201 not in codes:
            self._fail("task %s, codes %s" % (t["state"], codes))
        if any(c not in (101, 201) for c in codes):
            self._fail("failure code reported: %s" % codes)
        if self.journal() is not None or os.path.exists(self.p("ota.jrn")):
            self._fail("journal left behind")
        if self.kind == "esp32":
            st = ota_shim.esp32_state()
            if st.get("boot") != "ota_1" or st.get("st_ota_1") != "VALID":
                self._fail("esp32 state %s" % st)
            if self._slot("ota_1")[: len(self.data)] != self.data:
                self._fail("ota_1 does not hold the package")

    def codes(self):
        return [e["detail"]["step"] for e in self.h.sim.events(self.dev_id, self.task["id"])
                if e["kind"] == "progress" and e["detail"]["step"] > 100]

    def served(self):
        return self.h.sim.task(self.task["id"])["served"]


class Harness:
    def __init__(self, sim, base):
        self.sim = sim
        self.base = str(base)
        os.makedirs(self.base, exist_ok=True)
        self.old_image = make_app_image(16 * 1024, OLD, seed=1)
        self.n = 0

    def device(self, kind, data, target, **kw):
        self.n += 1
        name = kw.pop("name", None) or "d%s%d" % (kind[0], self.n)
        return Device(self, kind, data, target, name, **kw)


def image(size, version="V2.0", seed=5):
    return make_app_image(size, version, seed=seed)


class Timer:
    def __init__(self):
        self.t0 = time.monotonic()

    def s(self):
        return time.monotonic() - self.t0


# One in-process simulator for a test module's devices (a test module takes it with
# `from support.powercut import sim`).
@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    from onenet_ota_tools.sim import Simulator

    s = Simulator(str(tmp_path_factory.mktemp("sim")), port=0)
    s.start()
    try:
        yield s
    finally:
        s.stop()
