# Heap figures on the qemu runtime: the nRF52832 profile (BC26 through the modem
# simulator) frozen into the Cortex-M3 MicroPython (fwbuild/build.py), whose heap is
# the compile-time MICROPY_HEAP_SIZE (one cached build per size, ~1 s each after the
# first).
#
#   scan()     the smallest heap that completes a whole update, found by trying every
#              size of a range (1 KiB steps by default): the minimum is not monotonic
#              (the 1-4 KiB buffers need contiguous free blocks: a larger heap can
#              fragment differently and fail), so a bisection could stop at a size
#              below which bigger ones fail, or above a smaller one that works.
#   modules()  the resident heap of each module of the nRF52832 part: gc.mem_alloc()
#              after a collection, before and after importing it (frozen code: what
#              stays in RAM is the module's dict, its function and class objects, its
#              tables);
#   phases()   the live heap after each phase of a boot that downloads (mount, imports,
#              config, Agent(), end) and its peak during the download.
import ast
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

from ..board import PROFILES
from ..cli import CommandError
from ..commands.device import run_device
from ..fwbuild import build, source

# leaves first: each import loads one module (the rest are loaded by then)
ORDER = ("__init__", "errors", "fmt", "blockhash", "md5", "sha1", "digest", "jsonlite", "auth",
         "config", "uart", "board", "api", "http_head", "http", "journal", "at_lines", "transport_at", "at_bc26",
         "at_m5311", "sink_block",
         "board_nrf52", "agent")


def available():
    # None when the qemu figures can be taken here, else why not (one line)
    pkgs = build.missing("qemu")
    if pkgs:
        return build.missing_line(pkgs)
    if not (os.environ.get("MICROPYTHON_SRC") or source.vendored()):
        return "no MicroPython source (../shared/vendor/ or MICROPYTHON_SRC)"
    return None


SIZE = 32 * 1024  # fits the region after a PCA10040 firmware (76 KiB, less its header)


class QemuBench:
    def __init__(self, bench, size=SIZE):
        from ..images import make_app_image

        self.b = bench  # benchlib.update.Bench: the simulator, device folders
        self.size = size
        self.image = make_app_image(size, "V2.0", seed=9)
        self.lock = threading.Lock()
        self.n = 0

    def _task(self):
        from .update import PRODUCT

        self.n += 1
        dev = str(710000000 + self.n)
        p = PROFILES["nrf52832"]
        t = self.b.sim.publish(data=self.image, target="V2.0", manuf=p["manuf"], model=p["model"], retry=3,
                               interval=1, dev_id=dev, **PRODUCT)
        return dev, t

    def update(self, heap_k, chunk, stats=False, modem="bc26", timeout=180):
        # one whole update (all boots) -> {ok, summary, log, heapstats}
        with self.lock:
            dev, task = self._task()
            args = self.b._args(dev, "qemu", chunk, "%dk" % heap_k, "nrf52832")
        args.modem = modem
        args.boot_timeout = timeout
        lines = []
        old = os.environ.get("OTA_HEAP_STATS")
        try:
            s = run_device(args, log=lines.append)
        except CommandError as e:
            s = None
            lines.append("error: %s" % e)
        finally:
            shutil.rmtree(args.state_dir, ignore_errors=True)
        hs = [ast.literal_eval(l[10:]) for l in lines if l.startswith("HEAPSTATS ")]
        ok = bool(s and s["result"] == "updated" and s["sink_md5"] == task["md5"])
        return {"ok": ok, "summary": s, "log": lines[-8:], "heapstats": hs}

    def scan(self, chunk, lo, hi, step=1, workers=2, modem="bc26"):
        # {heap KiB: completed?} for every size in lo..hi; and the smallest that does
        for k in range(lo, hi + 1, step):  # build them all first (serialised anyway)
            build.qemu_firmware(k * 1024)
        with ThreadPoolExecutor(workers) as ex:
            res = dict(zip(range(lo, hi + 1, step),
                           ex.map(lambda k: self.update(k, chunk, modem=modem)["ok"], range(lo, hi + 1, step))))
        ok = [k for k, v in res.items() if v]
        smallest = min(ok) if ok else None
        # sizes above the smallest that fail: why a bisection would mislead
        above = [k for k, v in res.items() if smallest and k > smallest and not v]
        return {"chunk": chunk, "modem": modem, "min": smallest, "tried": res, "fail_above_min": above,
                "range": [lo, hi, step]}

    def phases(self, chunk, heap_k=64):
        os.environ["OTA_HEAP_STATS"] = "1"
        try:
            r = self.update(heap_k, chunk, stats=True)
        finally:
            os.environ.pop("OTA_HEAP_STATS", None)
        if not r["ok"] or not r["heapstats"]:
            raise RuntimeError("qemu update with heap stats failed: %s" % r["log"])
        hs = max(r["heapstats"], key=lambda h: h["peak"])  # the boot that downloaded
        return dict(hs, chunk=chunk, heap_k=heap_k)

    def modules(self, heap_k=64):
        # one boot that imports the part's modules one by one
        import tempfile

        from ..qemu.run import Boot

        from ..board import manifest

        elf, _ = build.qemu_firmware(heap_k * 1024)
        tmp = tempfile.mkdtemp(prefix="qemu-mods-")
        part = manifest.module_names("nrf52832")  # every module of the part, ORDER's first
        order = [n for n in ORDER if n in part] + [n for n in part if n not in ORDER]
        code = "import qemu_device\nqemu_device.measure(%r)\n" % (order,)
        lines = []
        try:
            boot = Boot(elf, tmp, "", None, code=code, timeout=60)  # no modem
            try:
                lines = list(boot.lines())
            finally:
                boot.kill()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        got = [l for l in lines if l.startswith("HEAPMODS ")]
        if not got:
            raise RuntimeError("qemu module heap: %s" % lines[-8:])
        return ast.literal_eval(got[0][9:])
