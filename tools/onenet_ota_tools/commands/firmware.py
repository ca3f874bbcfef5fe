# onenet-ota firmware: build MicroPython from its source with a board's part of the agent
# frozen in (onenet_ota_tools/fwbuild/). Builds are cached under build/fw/ by a hash of
# their inputs: a second run with the same inputs prints the same paths at once.
import json
import os
import sys

from ..cli import CommandError

EPILOG = """targets:
  qemu    ports/qemu BOARD=MPS2_AN385 (Cortex-M3 under qemu-system-arm -M mps2-an385): the
          nRF52832 part (manifests/onenet-ota-nrf52832) and the qemu board modules
          frozen in, nRF52832's module set (no json, re, hashlib, errno, select, socket),
          littlefs; UART1 is the modem's, wired to a socket. Heap = MICROPY_HEAP_SIZE
          (--heap; one cached build per size). Runs with `onenet-ota device --runtime qemu`.
  unix32  ports/unix MICROPY_FORCE_32BIT=1 with the ESP32 part frozen in.

source: --micropython-src PATH (a tree or a .tar.xz), else $MICROPYTHON_SRC, else
../shared/vendor/micropython-1.28.0-src.tar.xz beside the repository, else the v1.28.0
release from micropython.org, its sha256 checked. Toolchain (Debian): gcc-arm-none-eabi
libnewlib-arm-none-eabi qemu-system-arm (qemu), gcc-multilib (unix32).
exit codes: 0 built (or cached), 1 build failed, 2 usage error or toolchain missing."""


def add_arguments(p):
    p.epilog = EPILOG
    p.formatter_class = __import__("argparse").RawDescriptionHelpFormatter
    p.add_argument("--target", choices=("qemu", "unix32", "all"), default="qemu",
                   help="which firmware (default qemu)")
    p.add_argument("--heap", action="append", default=[], metavar="SIZE",
                   help="qemu: MICROPY_HEAP_SIZE, e.g. 64k (repeatable; default 64k)")
    p.add_argument("--micropython-src", metavar="PATH", help="MicroPython source tree or tarball")
    p.add_argument("--json", action="store_true", help="one JSON line per build")


def _size(elf):
    import subprocess

    try:
        out = subprocess.run(["arm-none-eabi-size", elf], capture_output=True, text=True).stdout.split("\n")[1].split()
        return {"text": int(out[0]), "data": int(out[1]), "bss": int(out[2])}
    except (OSError, IndexError, ValueError):
        return None


def run(args):
    from ..fwbuild import build
    from ..fwbuild.source import SourceError

    log = None if args.json else (lambda m: print(m, file=sys.stderr, flush=True))
    targets = ("qemu", "unix32") if args.target == "all" else (args.target,)
    try:
        heaps = [build.parse_heap(h) for h in args.heap] or [build.DEFAULT_HEAP]
    except ValueError as e:
        raise CommandError("--heap: %s" % e, 2)
    results = []
    try:
        for t in targets:
            if t == "qemu":
                for h in heaps:
                    elf, info = build.qemu_firmware(h, args.micropython_src, log=log)
                    info["size"] = _size(elf)
                    results.append(info)
            else:
                exe, info = build.unix32_firmware(args.micropython_src, log=log)
                results.append(info)
    except build.ToolchainMissing as e:
        raise CommandError(str(e), 2)
    except (build.BuildError, SourceError) as e:
        raise CommandError(str(e), 1)
    for r in results:
        if args.json:
            print(json.dumps(r))
        else:
            path = r.get("elf") or r.get("exe")
            what = "%s heap %d" % (r["target"], r["heap"]) if r["target"] == "qemu" else r["target"]
            took = "built in %.1f s" % r["seconds"] if r["built"] else "cached"
            size = ""
            if r.get("size"):
                size = "  text %(text)d  data %(data)d  bss %(bss)d" % r["size"]
            print("%s: %s (%s)%s" % (what, os.path.relpath(path) if path.startswith(os.getcwd()) else path, took, size))
    return 0
