# onenet-ota bench: speed and footprint of the agent (issue 8), in one bounded run.
# Prints the target table and writes docs/PERFORMANCE.md (--out). The measurements
# live in onenet_ota_tools/benchlib/; how each is taken is written into the markdown.
import os
import sys
import tempfile
import time

from .. import ROOT

CHUNKS = (512, 1024, 2048, 4096, 8192, 16384)


DEFAULT_OUT = os.path.join("build", "PERFORMANCE.md")  # under the current directory


def add_arguments(p):
    p.add_argument("--quick", action="store_true",
                   help="seconds, not minutes: 128 KiB, 1 KiB and 4 KiB chunks, one run each")
    p.add_argument("--out", default=DEFAULT_OUT,
                   help="markdown report (default %s, not over the docs; `make bench` and "
                   "--out docs/PERFORMANCE.md regenerate the page; '-' for none)" % DEFAULT_OUT)
    p.add_argument("--repeat", type=int, help="runs per timing point (median; default 3, quick 1)")
    p.add_argument("--size-kib", type=int, help="update size (default 1024, quick 128)")
    p.add_argument("--no-qemu", action="store_true",
                   help="skip the qemu Cortex-M3 heap figures (nRF52832 profile)")
    p.add_argument("--link", action="append", metavar="nb|cat1|wifi|KBIT,MS",
                   help="whole updates through the link emulator (linkemu.py) next to curl, "
                        "instead of the loopback figures; repeat for several links. Its "
                        "section of --out is replaced, the rest kept")
    p.add_argument("--link-profiles", default="esp32,nrf52832-bc26,nrf52832-m5311",
                   help="with --link: which profiles (default all: esp32 256 KiB, "
                        "nrf52832-bc26 and -m5311 64 KiB)")
    p.add_argument("--qemu-only", action="store_true",
                   help="only the qemu Cortex-M3 heap figures: their section of --out is "
                        "replaced, the rest of the file kept")


def _log(msg):
    print(msg, file=sys.stderr, flush=True)


def measure(args):
    from ..benchlib import report, static
    from ..benchlib.update import Bench

    quick = args.quick
    size = (args.size_kib or (128 if quick else 1024)) * 1024
    chunks = (1024, 4096) if quick else CHUNKS
    repeat = args.repeat or (1 if quick else 3)
    R = {"size": size, "repeat": repeat, "notes": [], "speed": [], "heap": [], "esp32": [],
         "resume": [], "facts": report.facts()}
    b = Bench(tempfile.mkdtemp(prefix="onenet-bench-"), size)
    try:
        for runtime in ("cpython", "micropython"):
            for c in chunks:
                _log("update %s, %d B chunks" % (runtime, c))
                R["speed"].append(b.speed(runtime, c, repeat))
        # The same 4 KiB update with no journal writes and no progress steps: what the
        # download loop itself costs next to curl.
        R["bare"] = []
        for runtime in ("cpython", "micropython"):
            _log("update %s, 4096 B chunks, journal and progress off" % runtime)
            R["bare"].append(b.speed(runtime, 4096, repeat,
                                     ("journal_every=%d" % size, "progress_every=0")))
        if not quick:
            for runtime in ("cpython", "micropython"):
                r = b.update(runtime, 4096, stats="1", board="esp32")
                if r["ok"]:
                    R["esp32"].append({"runtime": runtime, "chunk": 4096, "agent_s": r["hs"]["dl_us"] / 1e6,
                                       "total_s": r["summary"]["seconds"]})
                else:
                    R["notes"].append("esp32 profile update failed on %s: %s" % (runtime, r["log"]))
        for c in chunks:
            _log("heap, %d B chunks" % c)
            R["heap"].append(dict(b.heap(c), board="unix"))
        if not quick:
            R["heap"].append(dict(b.heap(4096, board="esp32"), board="esp32 (stand-in flash)"))
        _log("smallest heap")
        chunk = 1024 if quick else 4096
        m, tried = b.min_heap(chunk, lo=16, hi=128)
        if 24 not in tried:
            tried[24] = b.update("micropython", chunk, heap="24k", stats="")["ok"]
        R["min_heap"] = {"chunk": chunk, "min": m, "tried": tried, "ok24": tried[24]}
        runs = [("micropython", "esp32")] if quick else [
            ("micropython", "esp32"), ("cpython", "esp32"), ("micropython", "unix")]
        for runtime, board in runs:
            _log("resume, %s, %s profile" % (runtime, board))
            r = b.resume(runtime, board=board)
            R["resume"].append(r)
            if r["resumed_at"] < 0:
                R["notes"].append(
                    "%s profile (file sink) on %s: the restarted device started over from 0 "
                    "instead of resuming (Agent._validate calls sink.begin(size, 0), which "
                    "reopens the .part file with 'w+b', before _fetch_all asks for the "
                    "journal's offset)." % (board, runtime))
        if not getattr(args, "no_qemu", False):
            R["qemu"] = _qemu(b, quick, R["notes"])
    finally:
        b.close()
    _log("mpy sizes, hashes")
    try:
        R["mpy"] = static.mpy_sizes()
    except (OSError, RuntimeError) as e:
        R["mpy"] = {}
        R["notes"].append("mpy-cross failed: %s" % e)
    R["hash_kib"] = 16 if quick else 256
    R["hashes"], notes = static.hashes(R["hash_kib"])
    R["notes"] += notes
    return R


def _qemu(b, quick, notes):
    # The nRF52832 profile frozen into the Cortex-M3 firmware (benchlib/qemu.py): the
    # smallest heap found by scanning every size of the range, per module and per phase.
    from ..benchlib import qemu

    why = qemu.available()
    if why:
        notes.append("qemu figures not measured: %s" % why)
        return None
    q = qemu.QemuBench(b)
    out = {"size": q.size, "scans": [], "phases": []}
    try:
        _log("qemu: resident heap per module")
        out["modules"] = q.modules()
        for c in ((1024,) if quick else (1024, 4096)):
            _log("qemu: heap per phase, %d B chunks" % c)
            out["phases"].append(q.phases(c))
        # quick: a few sizes around the known minimum; full: every KiB of the range, per
        # modem (the M5311 takes chunks of at most 1536 B: config.py)
        scans = ((1024, 20, 28, 2, "bc26"),) if quick else (
            (1024, 16, 48, 1, "bc26"), (1024, 16, 48, 1, "m5311"), (4096, 24, 72, 1, "bc26"))
        for c, lo, hi, step, modem in scans:
            _log("qemu: smallest heap, %s, %d B chunks, %d..%d KiB" % (modem, c, lo, hi))
            out["scans"].append(q.scan(c, lo, hi, step, modem=modem))
    except Exception as e:  # a build or boot failure is a finding, not a crash of the bench
        notes.append("qemu figures incomplete: %s" % e)
    return out


def _command(args):
    c = "onenet-ota bench"
    if args.quick:
        c += " --quick"
    if args.repeat:
        c += " --repeat %d" % args.repeat
    if args.size_kib:
        c += " --size-kib %d" % args.size_kib
    if getattr(args, "no_qemu", False):
        c += " --no-qemu"
    if args.out != DEFAULT_OUT:
        # the page's own path as the docs name it (the command regenerates that page)
        out = os.path.relpath(args.out, ROOT) if os.path.abspath(args.out).startswith(ROOT + os.sep) else args.out
        c += " --out %s" % out
    if os.environ.get("OTA_WASM_MJS"):
        c = "OTA_WASM_MJS=%s %s" % (os.environ["OTA_WASM_MJS"], c)
    return c


def _qemu_only(args):
    from ..benchlib import report
    from ..benchlib.qemu import SIZE
    from ..benchlib.update import Bench

    t0 = time.monotonic()
    R = {"notes": []}
    b = Bench(tempfile.mkdtemp(prefix="onenet-bench-"), SIZE)
    try:
        R["qemu"] = _qemu(b, args.quick, R["notes"])
    finally:
        b.close()
    rows = [r for r in report.targets(dict(R, speed=[], heap=[], hashes=[], resume=[], size=SIZE))]
    print(report.table(rows))
    for n in R["notes"]:
        print("note: " + n)
    print("\n(%.0f s)" % (time.monotonic() - t0))
    if args.out != "-" and R["qemu"]:
        section = "\n".join(report._qemu_md(R["qemu"]))
        from ..benchlib.report import replace_section

        # before the .mpy sizes where the file has them, else at the end
        replace_section(args.out, "## The nRF52832 profile on a Cortex-M3", section, before="## .mpy sizes")
        print("wrote the qemu section of %s" % args.out)
    return 0 if R["qemu"] and not R["notes"] else 1


def run(args):
    from ..benchlib import report

    if args.out != "-" and os.path.dirname(args.out):
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if args.qemu_only:
        return _qemu_only(args)
    if args.link:
        from ..benchlib import link

        return link.run(args, _log)
    t0 = time.monotonic()
    R = measure(args)
    elapsed = time.monotonic() - t0
    print(report.table(report.targets(R)))
    print("\n(%.0f s)" % elapsed)
    if args.out != "-":
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(report.markdown(R, _command(args), elapsed))
        print("wrote %s" % args.out)
    return 0
