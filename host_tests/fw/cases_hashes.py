# Pure-Python MD5 / SHA-1 cases; run on CPython and on the unix micropython (see
# conftest.run_cases). Input bytes come from a seeded LCG stream that the host test
# regenerates (Stream); every case returns hex digests the host compares with hashlib.
# On micropython the hash modules are imported precompiled from OTA_MPY_DIR when set
# (as on a board), and md5 and sha1 cases run in separate processes: next to the shim,
# a 32k heap is too fragmented for much more. Data goes through one 2 KiB buffer.
import gc
import os
import sys

MP = sys.implementation.name == "micropython"
if MP and os.getenv("OTA_MPY_DIR"):
    sys.path.insert(0, os.getenv("OTA_MPY_DIR"))

BUF = bytearray(2048)
# Whole-input lengths: 0..300, then these (one update each).
BIG = (511, 1000, 1023, 1024, 1025, 2048)
# Update sizes tried in turn for split inputs: block edges, zero, odd sizes.
SPLITS = (1, 63, 64, 65, 0, 127, 128, 3, 55, 56, 57, 200, 7, 300)
SPLIT_LENGTHS = (0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 2045)
STREAM_CHUNKS = (2048, 1000, 77, 64, 1, 2048, 511)
STREAM_TOTAL = 70001


class Stream:
    def __init__(self, seed):
        self.x = (seed * 2654435761) & 0x7FFFFFFF

    def fill(self, buf, n):
        x = self.x
        for i in range(n):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            buf[i] = x >> 23
        self.x = x


def hexstr(d):
    return "".join("%02x" % c for c in d)


class Packer:
    # Folds many digests into one: hashes their concatenation with a second object of
    # the class under test (a 32k heap next to the shim holds no list of hundreds of hex
    # digests). The host computes the same with hashlib, so any wrong digest shows.
    def __init__(self, name):
        self.h = _new(name)

    def add(self, d):
        self.h.update(d)

    def flush(self):
        return hexstr(self.h.digest())


def _mod(name):
    gc.collect()
    if name == "md5":
        from onenet_ota import md5 as m
    else:
        from onenet_ota import sha1 as m
    return m


def _new(name):
    m = _mod(name)
    return m.MD5() if name == "md5" else m.SHA1()


def _whole(name):
    mv = memoryview(BUF)
    out = Packer(name)
    for i in range(301 + len(BIG)):
        n = i if i <= 300 else BIG[i - 301]
        Stream(n).fill(BUF, n)
        h = _new(name)
        h.update(mv[0:n] if n % 2 or n > 300 else bytes(BUF[0:n]))
        out.add(h.digest())
    return out.flush()


def _split(name):
    # The same input fed as bytes / bytearray / memoryview slices at an odd offset.
    mv = memoryview(BUF)
    out = Packer(name)
    for n in SPLIT_LENGTHS:
        Stream(1000 + n).fill(BUF, n + 3)
        for kind in range(3):
            h = _new(name)
            i = 0
            k = kind
            while i < n:
                step = min(SPLITS[k % len(SPLITS)], n - i)
                k += 1
                if kind == 0:
                    h.update(bytes(BUF[3 + i : 3 + i + step]))
                elif kind == 1:
                    h.update(BUF[3 + i : 3 + i + step])
                else:
                    h.update(mv[3 + i : 3 + i + step])
                i += step
            out.add(h.digest())
    return out.flush()


def _stream(name):
    # STREAM_TOTAL bytes in updates of STREAM_CHUNKS sizes, from the reused buffer.
    mv = memoryview(BUF)
    s = Stream(7)
    h = _new(name)
    done = 0
    k = 0
    while done < STREAM_TOTAL:
        n = min(STREAM_CHUNKS[k % len(STREAM_CHUNKS)], STREAM_TOTAL - done)
        k += 1
        s.fill(BUF, n)
        h.update(mv[0:n])
        done += n
    return [hexstr(h.digest())]


def _alloc(name, fast):
    # Heap allocated by 300 updates of odd sizes (partial blocks, full blocks straight
    # from the caller's memoryview); None on CPython.
    if not MP:
        return None
    m = _mod(name)
    m.FAST = fast
    h = _new(name)
    mv = memoryview(BUF)
    parts = tuple(mv[0 : (i * 37) % 700] for i in range(1, 12)) + (BUF, bytes(65))
    h.update(parts[0])
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    for i in range(300):
        h.update(parts[i % len(parts)])
    b = gc.mem_alloc()
    gc.enable()
    m.FAST = True
    return b - a


def _finalised(name):
    h = _new(name)
    h.update(b"abc")
    h.digest()
    out = []
    for f in (lambda: h.update(b"x"), h.digest):
        try:
            f()
            out.append("accepted")
        except ValueError as e:
            out.append(str(e))
    return out


# [fast path active?, whole, split, stream] for the viper path then the plain path,
# then [heap of 300 updates: viper, plain], then the finalised errors.
def _all(name):
    out = []
    for fast in (True, False):
        m = _mod(name)
        m.FAST = fast
        try:
            out.append([_new(name)._fast, _whole(name), _split(name), _stream(name)])
        finally:
            m.FAST = True
    out.append([_alloc(name, True), _alloc(name, False)])
    out.append(_finalised(name))
    return out


def case_md5():
    return _all("md5")


def case_sha1():
    return _all("sha1")
