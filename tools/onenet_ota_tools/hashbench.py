# Throughput of the firmware's pure-Python MD5 and SHA-1 (and the port's hashlib, for
# reference): 64 KiB hashed in 1 KiB updates, in KB/s, and the heap allocated meanwhile
# (MicroPython: gc.mem_alloc() around the run with the collector off).
# MicroPython-compatible; runs as a plain script with firmware/ on the path:
#   MICROPYPATH=firmware micropython tools/onenet_ota_tools/hashbench.py [KIB]
#   PYTHONPATH=firmware python tools/onenet_ota_tools/hashbench.py [KIB]
# The WebAssembly port cannot import from the host's disk; its CLI concatenates the files
# it is given, so pass the modules first:
#   node .../micropython.mjs -X heapsize=64k blockhash.py md5.py sha1.py \
#        tools/onenet_ota_tools/hashbench.py   (copies of firmware/onenet_ota/*.py with
#        the "from .blockhash import BlockHash" line dropped: one namespace)
import gc
import sys
import time

try:
    from onenet_ota import md5 as _md5
    from onenet_ota import sha1 as _sha1
except ImportError:  # the modules were concatenated in front of this script
    _md5 = _sha1 = None

try:
    _ticks = time.ticks_us
    _diff = time.ticks_diff
except AttributeError:  # CPython

    def _ticks():
        return int(time.perf_counter() * 1000000)

    def _diff(a, b):
        return a - b


def _mem():
    try:
        return gc.mem_alloc()
    except AttributeError:  # CPython
        return None


def _classes():
    # [(name, mode, factory, set_fast)] for every variant this interpreter can run.
    out = []
    for name, mod, cls in (("md5", _md5, "MD5"), ("sha1", _sha1, "SHA1")):
        if mod is None:
            g = globals()
            if cls not in g:
                continue
            ns = g
        else:
            ns = mod.__dict__
        fast = ns.get("_vblk" if name == "md5" else "_svblk") is not None
        if fast:
            out.append((name, "viper", ns, cls, True))
        out.append((name, "plain", ns, cls, False))
        try:
            import hashlib

            getattr(hashlib, name)
            out.append((name, "hashlib", hashlib, name, None))
        except (ImportError, AttributeError):
            pass
    return out


def _one(ns, cls, fast, total, chunk):
    data = bytearray(chunk)
    for i in range(chunk):
        data[i] = (i * 131 + 7) & 0xFF
    if fast is None:
        factory = getattr(ns, cls)
    else:
        ns["FAST"] = fast
        factory = ns[cls]
    h = factory()
    h.update(data)  # warm up (first-call costs) before measuring
    h = factory()
    gc.collect()
    gc.disable()
    m0 = _mem()
    t0 = _ticks()
    for _ in range(total // chunk):
        h.update(data)
    h.digest()
    us = _diff(_ticks(), t0)
    m1 = _mem()
    gc.enable()
    if fast is not None:
        ns["FAST"] = True
    kbps = total * 1000000 // 1024 // max(us, 1)
    return kbps, (None if m0 is None else m1 - m0)


# Runs every variant; returns [(name, mode, kb_per_s, heap_bytes_or_None)].
def run(kib=64, chunk=1024):
    total = kib * 1024
    res = []
    for name, mode, ns, cls, fast in _classes():
        kbps, heap = _one(ns, cls, fast, total, chunk)
        res.append((name, mode, kbps, heap))
    return res


def main(argv):
    kib = int(argv[1]) if len(argv) > 1 else 64
    impl = sys.implementation.name
    print("%s %s, %d KiB in 1 KiB updates" % (impl, sys.platform, kib))
    for name, mode, kbps, heap in run(kib):
        if heap is None:
            print("%-4s %-7s %7d KB/s" % (name, mode, kbps))
        else:
            print("%-4s %-7s %7d KB/s  heap %d B (%d B/KiB)" % (name, mode, kbps, heap, heap // kib))


if __name__ == "__main__":
    main(getattr(sys, "argv", None) or ["hashbench"])
