# Pure-Python MD5 (RFC 1321) for ports whose hashlib lacks it (nRF52832 builds have no
# hashlib; the WebAssembly port has no md5). Interface of MicroPython's hash objects:
# update(buf) with bytes, bytearray or memoryview of any length, digest() finalises.
#
# Two block functions:
# - _vblk: @micropython.viper, compiled at import from source text with exec() where
#   the port has the native emitters (unix, ESP32, nRF...). Kept as text so this file
#   still compiles (mpy-cross) and imports on ports without emitters (WebAssembly),
#   where the decorator alone is a SyntaxError. Machine-word ints: 64-bit on the unix
#   port, 32-bit on boards; every value is masked to 32 bits where bits above matter.
# - _pblk: plain Python on 16-bit halves, so every intermediate stays below 2**30: a
#   small int on 32-bit boards, no big-int allocation. Generated: each round is its own
#   function, a loop over 4 unrolled steps (shifts inlined, message index and sine
#   constant from _MT). Fully unrolling all 64 steps ran ~45% faster but made one 8 KB
#   bytecode block that a fragmented 32 KB heap could not load; here no bytecode block
#   is much over 1 KB and md5.mpy is ~6 KB.
# Full 64-byte blocks are hashed straight from the caller's buffer; only a partial block
# is copied into the object's own 64-byte buffer. Nothing is allocated per update().

from .blockhash import BlockHash

_IV = b"\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10"

# Set FAST = False before creating objects to force the plain path (tests, benchmarks).
FAST = False
_vblk = None

_VSRC = """
@micropython.viper
def _vblk(st: ptr32, b: ptr8, o: int, e: int):
    T = ptr32(_VT)
    S = ptr8(_VS)
    M = (uint(0xFFFF) << 16) | uint(0xFFFF)
    while o < e:
        j = 0
        while j < 16:
            p = o + 4 * j
            st[4 + j] = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)
            j += 1
        a = uint(st[0])
        x = uint(st[1])
        c = uint(st[2])
        d = uint(st[3])
        i = 0
        while i < 64:
            if i < 16:
                f = d ^ (x & (c ^ d))
                g = i
            elif i < 32:
                f = c ^ (d & (x ^ c))
                g = (5 * i + 1) & 15
            elif i < 48:
                f = x ^ c ^ d
                g = (3 * i + 5) & 15
            else:
                f = c ^ (x | (d ^ M))
                g = (7 * i) & 15
            y = (a + f + uint(T[i]) + uint(st[4 + g])) & M
            s = uint(S[i])
            a = d
            d = c
            c = x
            x = x + (((y << s) | (y >> (32 - s))) & M)
            i += 1
        st[0] = uint(st[0]) + a
        st[1] = uint(st[1]) + x
        st[2] = uint(st[2]) + c
        st[3] = uint(st[3]) + d
        o += 64
"""

try:
    import micropython  # noqa: F401

    # Sine table and shifts for the viper function; bytearray copies are word-aligned.
    _VT = bytearray(
    b"\x78\xa4\x6a\xd7\x56\xb7\xc7\xe8\xdb\x70\x20\x24\xee\xce\xbd\xc1\xaf\x0f\x7c\xf5\x2a\xc6\x87\x47\x13\x46\x30\xa8\x01\x95\x46\xfd"
    b"\xd8\x98\x80\x69\xaf\xf7\x44\x8b\xb1\x5b\xff\xff\xbe\xd7\x5c\x89\x22\x11\x90\x6b\x93\x71\x98\xfd\x8e\x43\x79\xa6\x21\x08\xb4\x49"
    b"\x62\x25\x1e\xf6\x40\xb3\x40\xc0\x51\x5a\x5e\x26\xaa\xc7\xb6\xe9\x5d\x10\x2f\xd6\x53\x14\x44\x02\x81\xe6\xa1\xd8\xc8\xfb\xd3\xe7"
    b"\xe6\xcd\xe1\x21\xd6\x07\x37\xc3\x87\x0d\xd5\xf4\xed\x14\x5a\x45\x05\xe9\xe3\xa9\xf8\xa3\xef\xfc\xd9\x02\x6f\x67\x8a\x4c\x2a\x8d"
    b"\x42\x39\xfa\xff\x81\xf6\x71\x87\x22\x61\x9d\x6d\x0c\x38\xe5\xfd\x44\xea\xbe\xa4\xa9\xcf\xde\x4b\x60\x4b\xbb\xf6\x70\xbc\xbf\xbe"
    b"\xc6\x7e\x9b\x28\xfa\x27\xa1\xea\x85\x30\xef\xd4\x05\x1d\x88\x04\x39\xd0\xd4\xd9\xe5\x99\xdb\xe6\xf8\x7c\xa2\x1f\x65\x56\xac\xc4"
    b"\x44\x22\x29\xf4\x97\xff\x2a\x43\xa7\x23\x94\xab\x39\xa0\x93\xfc\xc3\x59\x5b\x65\x92\xcc\x0c\x8f\x7d\xf4\xef\xff\xd1\x5d\x84\x85"
    b"\x4f\x7e\xa8\x6f\xe0\xe6\x2c\xfe\x14\x43\x01\xa3\xa1\x11\x08\x4e\x82\x7e\x53\xf7\x35\xf2\x3a\xbd\xbb\xd2\xd7\x2a\x91\xd3\x86\xeb"
    )
    _VS = bytearray(b"\x07\x0c\x11\x16" * 4 + b"\x05\x09\x0e\x14" * 4 + b"\x04\x0b\x10\x17" * 4 + b"\x06\x0a\x0f\x15" * 4)
    exec(_VSRC, globals())
    FAST = True
except Exception:  # no micropython module, no emitter, no compiler: plain path
    _vblk = None
    _VT = _VS = None  # the viper tables: 320 B of heap for nothing on such a port
_VSRC = None


# Plain block function, generated: state and words as 16-bit (low, high) halves.
# _MT: per step, 2 * message index, sine constant low half, high half.
_MT = (
    0, 42104, 55146, 2, 46934, 59591, 4, 28891, 9248, 6, 52974, 49597,
    8, 4015, 62844, 10, 50730, 18311, 12, 17939, 43056, 14, 38145, 64838,
    16, 39128, 27008, 18, 63407, 35652, 20, 23473, 65535, 22, 55230, 35164,
    24, 4386, 27536, 26, 29075, 64920, 28, 17294, 42617, 30, 2081, 18868,
    2, 9570, 63006, 12, 45888, 49216, 22, 23121, 9822, 0, 51114, 59830,
    10, 4189, 54831, 20, 5203, 580, 30, 59009, 55457, 8, 64456, 59347,
    18, 52710, 8673, 28, 2006, 49975, 6, 3463, 62677, 16, 5357, 17754,
    26, 59653, 43491, 4, 41976, 64751, 14, 729, 26479, 24, 19594, 36138,
    10, 14658, 65530, 16, 63105, 34673, 22, 24866, 28061, 28, 14348, 64997,
    2, 59972, 42174, 8, 53161, 19422, 14, 19296, 63163, 20, 48240, 48831,
    26, 32454, 10395, 0, 10234, 60065, 6, 12421, 54511, 12, 7429, 1160,
    18, 53305, 55764, 24, 39397, 59099, 30, 31992, 8098, 4, 22117, 50348,
    0, 8772, 62505, 14, 65431, 17194, 28, 9127, 43924, 10, 41017, 64659,
    24, 22979, 25947, 6, 52370, 36620, 20, 62589, 65519, 2, 24017, 34180,
    16, 32335, 28584, 30, 59104, 65068, 12, 17172, 41729, 26, 4513, 19976,
    8, 32386, 63315, 22, 62005, 48442, 4, 53947, 10967, 18, 54161, 60294,
)


# Round 1 (F) of one block on the state halves in H.
def _r0(H, X):
    M = _MT
    al, ah, bl, bh, cl, ch, dl, dh = H
    j = 0
    while j < 48:
        k = M[j]
        l = al + (dl ^ (bl & (cl ^ dl))) + X[k] + M[j + 1]
        h = (ah + (dh ^ (bh & (ch ^ dh))) + X[k + 1] + M[j + 2] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 7) & 0xFFFF) | (h >> 9))
        ah = (bh + (((h << 7) & 0xFFFF) | (l >> 9)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        k = M[j + 3]
        l = dl + (cl ^ (al & (bl ^ cl))) + X[k] + M[j + 4]
        h = (dh + (ch ^ (ah & (bh ^ ch))) + X[k + 1] + M[j + 5] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 12) & 0xFFFF) | (h >> 4))
        dh = (ah + (((h << 12) & 0xFFFF) | (l >> 4)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        k = M[j + 6]
        l = cl + (bl ^ (dl & (al ^ bl))) + X[k] + M[j + 7]
        h = (ch + (bh ^ (dh & (ah ^ bh))) + X[k + 1] + M[j + 8] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + (((h << 1) & 0xFFFF) | (l >> 15))
        ch = (dh + (((l << 1) & 0xFFFF) | (h >> 15)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        k = M[j + 9]
        l = bl + (al ^ (cl & (dl ^ al))) + X[k] + M[j + 10]
        h = (bh + (ah ^ (ch & (dh ^ ah))) + X[k + 1] + M[j + 11] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 6) & 0xFFFF) | (l >> 10))
        bh = (ch + (((l << 6) & 0xFFFF) | (h >> 10)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        j += 12
    H[0] = al; H[1] = ah; H[2] = bl; H[3] = bh; H[4] = cl; H[5] = ch; H[6] = dl; H[7] = dh


# Round 2 (G) of one block on the state halves in H.
def _r1(H, X):
    M = _MT
    al, ah, bl, bh, cl, ch, dl, dh = H
    j = 48
    while j < 96:
        k = M[j]
        l = al + (cl ^ (dl & (bl ^ cl))) + X[k] + M[j + 1]
        h = (ah + (ch ^ (dh & (bh ^ ch))) + X[k + 1] + M[j + 2] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 5) & 0xFFFF) | (h >> 11))
        ah = (bh + (((h << 5) & 0xFFFF) | (l >> 11)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        k = M[j + 3]
        l = dl + (bl ^ (cl & (al ^ bl))) + X[k] + M[j + 4]
        h = (dh + (bh ^ (ch & (ah ^ bh))) + X[k + 1] + M[j + 5] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 9) & 0xFFFF) | (h >> 7))
        dh = (ah + (((h << 9) & 0xFFFF) | (l >> 7)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        k = M[j + 6]
        l = cl + (al ^ (bl & (dl ^ al))) + X[k] + M[j + 7]
        h = (ch + (ah ^ (bh & (dh ^ ah))) + X[k + 1] + M[j + 8] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + (((l << 14) & 0xFFFF) | (h >> 2))
        ch = (dh + (((h << 14) & 0xFFFF) | (l >> 2)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        k = M[j + 9]
        l = bl + (dl ^ (al & (cl ^ dl))) + X[k] + M[j + 10]
        h = (bh + (dh ^ (ah & (ch ^ dh))) + X[k + 1] + M[j + 11] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 4) & 0xFFFF) | (l >> 12))
        bh = (ch + (((l << 4) & 0xFFFF) | (h >> 12)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        j += 12
    H[0] = al; H[1] = ah; H[2] = bl; H[3] = bh; H[4] = cl; H[5] = ch; H[6] = dl; H[7] = dh


# Round 3 (H) of one block on the state halves in H.
def _r2(H, X):
    M = _MT
    al, ah, bl, bh, cl, ch, dl, dh = H
    j = 96
    while j < 144:
        k = M[j]
        l = al + (bl ^ cl ^ dl) + X[k] + M[j + 1]
        h = (ah + (bh ^ ch ^ dh) + X[k + 1] + M[j + 2] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 4) & 0xFFFF) | (h >> 12))
        ah = (bh + (((h << 4) & 0xFFFF) | (l >> 12)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        k = M[j + 3]
        l = dl + (al ^ bl ^ cl) + X[k] + M[j + 4]
        h = (dh + (ah ^ bh ^ ch) + X[k + 1] + M[j + 5] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 11) & 0xFFFF) | (h >> 5))
        dh = (ah + (((h << 11) & 0xFFFF) | (l >> 5)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        k = M[j + 6]
        l = cl + (dl ^ al ^ bl) + X[k] + M[j + 7]
        h = (ch + (dh ^ ah ^ bh) + X[k + 1] + M[j + 8] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + (((h << 0) & 0xFFFF) | (l >> 16))
        ch = (dh + (((l << 0) & 0xFFFF) | (h >> 16)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        k = M[j + 9]
        l = bl + (cl ^ dl ^ al) + X[k] + M[j + 10]
        h = (bh + (ch ^ dh ^ ah) + X[k + 1] + M[j + 11] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 7) & 0xFFFF) | (l >> 9))
        bh = (ch + (((l << 7) & 0xFFFF) | (h >> 9)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        j += 12
    H[0] = al; H[1] = ah; H[2] = bl; H[3] = bh; H[4] = cl; H[5] = ch; H[6] = dl; H[7] = dh


# Round 4 (I) of one block on the state halves in H.
def _r3(H, X):
    M = _MT
    al, ah, bl, bh, cl, ch, dl, dh = H
    j = 144
    while j < 192:
        k = M[j]
        l = al + (cl ^ (bl | (dl ^ 0xFFFF))) + X[k] + M[j + 1]
        h = (ah + (ch ^ (bh | (dh ^ 0xFFFF))) + X[k + 1] + M[j + 2] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 6) & 0xFFFF) | (h >> 10))
        ah = (bh + (((h << 6) & 0xFFFF) | (l >> 10)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        k = M[j + 3]
        l = dl + (bl ^ (al | (cl ^ 0xFFFF))) + X[k] + M[j + 4]
        h = (dh + (bh ^ (ah | (ch ^ 0xFFFF))) + X[k + 1] + M[j + 5] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 10) & 0xFFFF) | (h >> 6))
        dh = (ah + (((h << 10) & 0xFFFF) | (l >> 6)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        k = M[j + 6]
        l = cl + (al ^ (dl | (bl ^ 0xFFFF))) + X[k] + M[j + 7]
        h = (ch + (ah ^ (dh | (bh ^ 0xFFFF))) + X[k + 1] + M[j + 8] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + ((h >> 1) | ((l & 1) << 15))
        ch = (dh + ((l >> 1) | ((h & 1) << 15)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        k = M[j + 9]
        l = bl + (dl ^ (cl | (al ^ 0xFFFF))) + X[k] + M[j + 10]
        h = (bh + (dh ^ (ch | (ah ^ 0xFFFF))) + X[k + 1] + M[j + 11] + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 5) & 0xFFFF) | (l >> 11))
        bh = (ch + (((l << 5) & 0xFFFF) | (h >> 11)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        j += 12
    H[0] = al; H[1] = ah; H[2] = bl; H[3] = bh; H[4] = cl; H[5] = ch; H[6] = dl; H[7] = dh


# Hashes the 64-byte blocks b[o:e] into H; X holds one block's words as halves.
def _pblk(H, X, b, o, e):
    while o < e:
        j = 0
        while j < 32:
            X[j] = b[o] | (b[o + 1] << 8)
            X[j + 1] = b[o + 2] | (b[o + 3] << 8)
            o += 4
            j += 2
        al, ah, bl, bh, cl, ch, dl, dh = H
        _r0(H, X)
        _r1(H, X)
        _r2(H, X)
        _r3(H, X)
        m = H[0] + al
        H[1] = (H[1] + ah + (m >> 16)) & 0xFFFF
        H[0] = m & 0xFFFF
        m = H[2] + bl
        H[3] = (H[3] + bh + (m >> 16)) & 0xFFFF
        H[2] = m & 0xFFFF
        m = H[4] + cl
        H[5] = (H[5] + ch + (m >> 16)) & 0xFFFF
        H[4] = m & 0xFFFF
        m = H[6] + dl
        H[7] = (H[7] + dh + (m >> 16)) & 0xFFFF
        H[6] = m & 0xFFFF


class MD5(BlockHash):
    def __init__(self, data=None):
        BlockHash.__init__(self)
        self._fast = FAST and _vblk is not None
        if self._fast:
            st = bytearray(80)  # 4 state words + 16 message words for the viper code
            st[0:16] = _IV
            self._st = st
        else:
            self._st = [0x2301, 0x6745, 0xAB89, 0xEFCD, 0xDCFE, 0x98BA, 0x5476, 0x1032]
            self._x = [0] * 32  # message words as halves
        if data is not None:
            self.update(data)

    def _blocks(self, b, o, e):
        if self._fast:
            _vblk(self._st, b, o, e)
        else:
            _pblk(self._st, self._x, b, o, e)

    # Pads, hashes the last block(s) and returns the digest; the object is spent after.
    def digest(self):
        st = self._final(False)
        if self._fast:
            return bytes(st[0:16])
        out = bytearray(16)
        for i in range(8):
            out[2 * i] = st[i] & 0xFF
            out[2 * i + 1] = st[i] >> 8
        return bytes(out)
