# Figures that need no server: .mpy sizes of the firmware package and the throughput
# and heap churn of the pure MD5 / SHA-1 (tools/onenet_ota_tools/hashbench.py).
import os
import re
import subprocess
import tempfile

from .. import FIRMWARE, ROOT, runtimes
from ..board import manifest

# The core package as issue 8 lists it: agent, api, http, auth, journal, one sink (the
# ESP32's, with its header check).
CORE_ISSUE = ("agent", "api", "http", "auth", "journal", "fmt", "sink_esp32", "esp32img")
# Everything one ESP32 boot loads to update (adds config, board, transport, errors...):
# the ESP32 part's manifest (manifests/onenet-ota-esp32), as deploy and the builds.
CORE = tuple(manifest.module_names("esp32"))
CORE_TARGET = 24 * 1024


def mpy_sizes():
    # {module: bytes} of firmware/onenet_ota/*.py compiled by mpy-cross (bytecode, no
    # -march), compiled afresh into a scratch folder.
    with tempfile.TemporaryDirectory() as tmp:
        out = runtimes.compile_tree(os.path.join(FIRMWARE, "onenet_ota"), tmp)
        d = out
        return {f[:-4]: os.path.getsize(os.path.join(d, f)) for f in sorted(os.listdir(d))
                if f.endswith(".mpy")}


_LINE = re.compile(r"^(md5|sha1)\s+(\w+)\s+(\d+) KB/s(?:\s+heap (-?\d+) B)?")
HASHBENCH = os.path.join(ROOT, "tools", "onenet_ota_tools", "hashbench.py")


def _parse(text, where, kib):
    out = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            out.append({"where": where, "kib": kib, "hash": m.group(1), "mode": m.group(2),
                        "kbps": int(m.group(3)),
                        "heap": None if m.group(4) is None else int(m.group(4))})
    return out


# -> (rows, kib per run, notes): unix micropython always, WebAssembly if OTA_WASM_MJS.
def hashes(kib):
    notes = []
    p = runtimes.run("micropython", HASHBENCH, [str(kib)], heap="64k", timeout=300)
    rows = _parse(p.stdout, "unix micropython (64-bit)", kib)
    if not rows:
        notes.append("unix micropython hashbench failed: %s" % (p.stderr or p.stdout)[-300:])
    mjs = os.environ.get("OTA_WASM_MJS")
    if mjs and os.path.exists(mjs):
        # its CLI runs the files it is given as one script: the shared base first, the
        # relative imports dropped
        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for f in ("blockhash.py", "md5.py", "sha1.py"):
                with open(os.path.join(FIRMWARE, "onenet_ota", f)) as src:
                    text = src.read().replace("from .blockhash import BlockHash", "")
                files.append(os.path.join(tmp, f))
                with open(files[-1], "w") as dst:
                    dst.write(text)
            p = subprocess.run(["node", mjs, "-X", "heapsize=64k"] + files + [HASHBENCH],
                               capture_output=True, text=True, timeout=300)
        w = _parse(p.stdout, "WebAssembly micropython (32-bit)", 64)  # its CLI takes no argv
        rows += w
        if not w:
            notes.append("WebAssembly hashbench failed: %s" % (p.stderr or p.stdout)[-300:])
    else:
        notes.append("WebAssembly port not measured: set OTA_WASM_MJS (see host_tests/fw/test_hashes.py)")
    return rows, notes
