# The two firmware builds, each cached by a hash of its inputs (the source's key, the
# frozen files, the C module, the flags, the compiler's version):
#
#   qemu    ports/qemu BOARD=MPS2_AN385 (Cortex-M3, mps2-an385 in qemu-system-arm) with
#           the nRF52832 part of the agent and the qemu board modules frozen in
#           (onenet_ota_tools/qemu/board/manifest.py), nRF52832's module set (no json,
#           re, hashlib, errno, select; the port has no socket), littlefs; the modem
#           UART is the CMSDK UART1. The heap is the compile-time MICROPY_HEAP_SIZE: one
#           object tree per input hash, and per heap size only main.c (where the heap
#           array lives) is recompiled and the firmware relinked (~2 s), each heap's
#           .elf kept: build/fw/qemu-<key>/heap-<bytes>.elf.
#   unix32  ports/unix MICROPY_FORCE_32BIT=1 (30-bit small ints, 32-bit pointers, as on
#           an ESP32) with the ESP32 part frozen in, and the pure MD5/SHA-1 (no hashlib
#           md5/sha1 without mbedtls): build/fw/unix32-<key>/micropython.
#
# Builds of the same key are serialised by a lock file (parallel test runs, bench).
import fcntl
import hashlib
import os
import shutil
import subprocess
import time

from .. import ROOT
from ..board import manifest
from . import source

QEMU_MANIFEST = os.path.join(ROOT, "tools", "onenet_ota_tools", "qemu", "board", "manifest.py")
QEMU_CMOD = os.path.join(ROOT, "tools", "onenet_ota_tools", "qemu", "cmod")
UNIX32_MANIFEST = os.path.join(ROOT, "tools", "onenet_ota_tools", "fwbuild", "unix32", "manifest.py")
# nRF52832's MICROPY_CONFIG_ROM_LEVEL_BASIC lacks these (../shared/docs/port-facts.md);
# ports/qemu has no socket module to begin with.
NRF52832_OFF = ("MICROPY_PY_JSON", "MICROPY_PY_RE", "MICROPY_PY_HASHLIB", "MICROPY_PY_ERRNO",
                "MICROPY_PY_SELECT")
QEMU_VARS = ["BOARD=MPS2_AN385", "MICROPY_VFS_LFS2=1",
             "CFLAGS_EXTRA=" + " ".join("-D%s=0" % m for m in NRF52832_OFF)]
UNIX32_VARS = ["MICROPY_FORCE_32BIT=1", "MICROPY_PY_SSL=0", "MICROPY_SSL_MBEDTLS=0",
               "MICROPY_PY_BTREE=0", "MICROPY_PY_FFI=0", "MICROPY_STANDALONE=0"]
DEFAULT_HEAP = 64 * 1024
DEBIAN = {"qemu": ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm"),
          "unix32": ("gcc-multilib",)}


class BuildError(Exception):
    # One line for the user (the log's path and its last lines).
    pass


class ToolchainMissing(BuildError):
    pass


def _have(cmd):
    return shutil.which(cmd) is not None


def missing(target):
    # Debian packages this machine lacks for `target` ("qemu", "unix32"), in order.
    out = []
    if not _have("make") or not _have("gcc"):
        out += ["make", "gcc"]
    if target == "qemu":
        if not _have("arm-none-eabi-gcc"):
            out += ["gcc-arm-none-eabi", "libnewlib-arm-none-eabi"]
        else:
            p = subprocess.run(["arm-none-eabi-gcc", "-print-file-name=libc.a"], capture_output=True, text=True)
            if not os.path.isabs(p.stdout.strip()):
                out.append("libnewlib-arm-none-eabi")
        if not _have("qemu-system-arm"):
            out.append("qemu-system-arm")
    elif target == "unix32" and _have("gcc"):
        p = subprocess.run(["gcc", "-m32", "-x", "c", "-", "-o", os.devnull],
                           input="#include <stdio.h>\nint main(void){return 0;}\n",
                           capture_output=True, text=True)
        if p.returncode:
            out.append("gcc-multilib")
    return out


def missing_line(pkgs):
    return ("missing toolchain: apt-get install -y %s (Debian/Ubuntu; the same tools "
            "elsewhere)" % " ".join(pkgs))


def check_toolchain(target):
    pkgs = missing(target)
    if pkgs:
        raise ToolchainMissing(missing_line(pkgs))


def _jobs():
    return str(max(1, min(8, os.cpu_count() or 1)))


def _digest(parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _file_bytes(paths):
    out = []
    for p in sorted(paths):
        with open(p, "rb") as f:
            out += [os.path.relpath(p, ROOT), f.read()]
    return out


def _cc_version(cc):
    try:
        return subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    except OSError:
        return cc


def _manifest_inputs(path):
    # the frozen files and every manifest they come through
    m = manifest.Manifest({"MPY_LIB_DIR": None}).execute(path)
    return [src for _t, src in m.files()] + sorted(m.visited)


def qemu_key(src_key):
    files = _manifest_inputs(QEMU_MANIFEST)
    files += [os.path.join(QEMU_CMOD, d, f) for d in sorted(os.listdir(QEMU_CMOD))
              for f in sorted(os.listdir(os.path.join(QEMU_CMOD, d)))]
    return _digest(["qemu", src_key, _cc_version("arm-none-eabi-gcc")] + QEMU_VARS + _file_bytes(files))


def unix32_key(src_key):
    return _digest(["unix32", src_key, _cc_version("gcc")] + UNIX32_VARS
                   + _file_bytes(_manifest_inputs(UNIX32_MANIFEST)))


class _Lock:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.f = open(self.path, "w")
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *a):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


def _make(argv, log, timeout):
    with open(log, "a") as f:
        f.write("$ %s\n" % " ".join(argv))
        f.flush()
        try:
            p = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BuildError("build timed out after %d s: see %s" % (timeout, log))
    if p.returncode:
        with open(log) as f:
            tail = [l.rstrip() for l in f.readlines()[-6:]]
        raise BuildError("build failed (exit %d): %s\n%s" % (p.returncode, log, "\n".join(tail)))


def _mpy_lib_dir(cache):
    # the build wants a micropython-lib folder; nothing of it is frozen
    d = os.path.join(cache, "mpy-lib")
    os.makedirs(d, exist_ok=True)
    readme = os.path.join(d, "README.md")
    if not os.path.exists(readme):
        with open(readme, "w") as f:
            f.write("Stands in for micropython-lib: the onenet-ota firmware builds need none of it.\n")
    return d


def _mpy_cross(tree, log, timeout):
    exe = os.path.join(tree, "mpy-cross", "build", "mpy-cross")
    if not os.path.exists(exe):
        _make(["make", "-C", os.path.join(tree, "mpy-cross"), "-j", _jobs()], log, timeout)
    return exe


KEEP = 4  # builds kept per target (each edit of a frozen file is a new key)


def _prune(cache, prefix, current):
    # Remove the oldest builds of a target beyond KEEP (never the current one).
    try:
        dirs = [os.path.join(cache, d) for d in os.listdir(cache) if d.startswith(prefix)
                and os.path.isdir(os.path.join(cache, d))]
    except OSError:
        return
    dirs.sort(key=lambda d: os.path.getmtime(d), reverse=True)
    for d in [d for d in dirs if d != current][KEEP - 1:]:
        shutil.rmtree(d, ignore_errors=True)
        try:
            os.remove(d + ".lock")
        except OSError:
            pass


def parse_heap(text):
    # "64k", "65536", "0x10000" -> bytes (a multiple of 1024 between 8 KiB and 2 MiB)
    t = str(text).strip().lower()
    n = int(t[:-1], 0) * 1024 if t.endswith("k") else int(t, 0)
    if n % 1024 or not 8 * 1024 <= n <= 2 * 1024 * 1024:
        raise ValueError("heap: a multiple of 1 KiB between 8k and 2048k")
    return n


def qemu_firmware(heap=DEFAULT_HEAP, src=None, cache=source.CACHE, log=None, timeout=900):
    # -> (path of firmware.elf for this heap, info dict). Builds what is missing.
    check_toolchain("qemu")
    tree, skey, where = source.locate(src, cache)
    key = qemu_key(skey)
    out_dir = os.path.join(cache, "qemu-" + key)
    elf = os.path.join(out_dir, "heap-%d.elf" % heap)
    info = {"target": "qemu", "key": key, "source": where, "heap": heap, "elf": elf, "built": False,
            "seconds": 0.0}
    if os.path.exists(elf):
        return elf, info
    t0 = time.monotonic()
    with _Lock(out_dir + ".lock"):
        if os.path.exists(elf):
            return elf, info
        os.makedirs(out_dir, exist_ok=True)
        logf = os.path.join(out_dir, "build.log")
        obj = os.path.join(out_dir, "obj")
        first = not os.path.exists(os.path.join(obj, "firmware.elf"))
        if log:
            log("building the qemu firmware (%s, heap %d)%s" % (where, heap, ", first build: ~1 min" if first else ""))
        _mpy_cross(tree, logf, timeout)
        for stale in ("main.o", "main.P", "main.d", "firmware.elf"):
            try:
                os.remove(os.path.join(obj, stale))
            except OSError:
                pass
        _make(["make", "-C", os.path.join(tree, "ports", "qemu"), "-j", _jobs(), "BUILD=" + obj,
               "MICROPY_HEAP_SIZE=%d" % heap, "FROZEN_MANIFEST=" + QEMU_MANIFEST,
               "USER_C_MODULES=" + QEMU_CMOD, "MPY_LIB_DIR=" + _mpy_lib_dir(cache)] + QEMU_VARS,
              logf, timeout)
        tmp = elf + ".tmp"
        shutil.copyfile(os.path.join(obj, "firmware.elf"), tmp)
        os.replace(tmp, elf)
        if first:
            _prune(cache, "qemu-", out_dir)
    info["built"] = True
    info["seconds"] = round(time.monotonic() - t0, 1)
    return elf, info


def unix32_firmware(src=None, cache=source.CACHE, log=None, timeout=1200):
    # -> (path of the 32-bit micropython with the ESP32 part frozen, info dict)
    check_toolchain("unix32")
    tree, skey, where = source.locate(src, cache)
    key = unix32_key(skey)
    out_dir = os.path.join(cache, "unix32-" + key)
    exe = os.path.join(out_dir, "micropython")
    info = {"target": "unix32", "key": key, "source": where, "exe": exe, "built": False, "seconds": 0.0}
    if os.path.exists(exe):
        return exe, info
    t0 = time.monotonic()
    with _Lock(out_dir + ".lock"):
        if os.path.exists(exe):
            return exe, info
        os.makedirs(out_dir, exist_ok=True)
        logf = os.path.join(out_dir, "build.log")
        if log:
            log("building the 32-bit unix micropython (%s), ~1 min" % where)
        _mpy_cross(tree, logf, timeout)
        obj = os.path.join(out_dir, "obj")
        _make(["make", "-C", os.path.join(tree, "ports", "unix"), "-j", _jobs(), "BUILD=" + obj,
               "PROG=micropython", "FROZEN_MANIFEST=" + UNIX32_MANIFEST,
               "MPY_LIB_DIR=" + _mpy_lib_dir(cache)] + UNIX32_VARS, logf, timeout)
        shutil.copyfile(os.path.join(obj, "micropython"), exe + ".tmp")
        os.chmod(exe + ".tmp", 0o755)
        os.replace(exe + ".tmp", exe)
        _prune(cache, "unix32-", out_dir)
    info["built"] = True
    info["seconds"] = round(time.monotonic() - t0, 1)
    return exe, info
