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
# - _pblk: plain Python on 16-bit halves (generated, fully unrolled), so every
#   intermediate stays below 2**30: a small int on 32-bit boards, no big-int allocation.
# Full 64-byte blocks are hashed straight from the caller's buffer; only a partial block
# is copied into the object's own 64-byte buffer. Nothing is allocated per update().

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
_VSRC = None


# Plain block function, generated: state and words as 16-bit (low, high) halves.
def _pblk(H, b, o, e):
    al, ah, bl, bh, cl, ch, dl, dh = H
    while o < e:
        x0l = b[o] | (b[o + 1] << 8)
        x0h = b[o + 2] | (b[o + 3] << 8)
        x1l = b[o + 4] | (b[o + 5] << 8)
        x1h = b[o + 6] | (b[o + 7] << 8)
        x2l = b[o + 8] | (b[o + 9] << 8)
        x2h = b[o + 10] | (b[o + 11] << 8)
        x3l = b[o + 12] | (b[o + 13] << 8)
        x3h = b[o + 14] | (b[o + 15] << 8)
        x4l = b[o + 16] | (b[o + 17] << 8)
        x4h = b[o + 18] | (b[o + 19] << 8)
        x5l = b[o + 20] | (b[o + 21] << 8)
        x5h = b[o + 22] | (b[o + 23] << 8)
        x6l = b[o + 24] | (b[o + 25] << 8)
        x6h = b[o + 26] | (b[o + 27] << 8)
        x7l = b[o + 28] | (b[o + 29] << 8)
        x7h = b[o + 30] | (b[o + 31] << 8)
        x8l = b[o + 32] | (b[o + 33] << 8)
        x8h = b[o + 34] | (b[o + 35] << 8)
        x9l = b[o + 36] | (b[o + 37] << 8)
        x9h = b[o + 38] | (b[o + 39] << 8)
        x10l = b[o + 40] | (b[o + 41] << 8)
        x10h = b[o + 42] | (b[o + 43] << 8)
        x11l = b[o + 44] | (b[o + 45] << 8)
        x11h = b[o + 46] | (b[o + 47] << 8)
        x12l = b[o + 48] | (b[o + 49] << 8)
        x12h = b[o + 50] | (b[o + 51] << 8)
        x13l = b[o + 52] | (b[o + 53] << 8)
        x13h = b[o + 54] | (b[o + 55] << 8)
        x14l = b[o + 56] | (b[o + 57] << 8)
        x14h = b[o + 58] | (b[o + 59] << 8)
        x15l = b[o + 60] | (b[o + 61] << 8)
        x15h = b[o + 62] | (b[o + 63] << 8)
        sal = al; sah = ah; sbl = bl; sbh = bh; scl = cl; sch = ch; sdl = dl; sdh = dh
        l = al + (dl ^ (bl & (cl ^ dl))) + x0l + 42104
        h = (ah + (dh ^ (bh & (ch ^ dh))) + x0h + 55146 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 7) & 0xFFFF) | (h >> 9))
        ah = (bh + (((h << 7) & 0xFFFF) | (l >> 9)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (cl ^ (al & (bl ^ cl))) + x1l + 46934
        h = (dh + (ch ^ (ah & (bh ^ ch))) + x1h + 59591 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 12) & 0xFFFF) | (h >> 4))
        dh = (ah + (((h << 12) & 0xFFFF) | (l >> 4)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (bl ^ (dl & (al ^ bl))) + x2l + 28891
        h = (ch + (bh ^ (dh & (ah ^ bh))) + x2h + 9248 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + (((h << 1) & 0xFFFF) | (l >> 15))
        ch = (dh + (((l << 1) & 0xFFFF) | (h >> 15)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (al ^ (cl & (dl ^ al))) + x3l + 52974
        h = (bh + (ah ^ (ch & (dh ^ ah))) + x3h + 49597 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 6) & 0xFFFF) | (l >> 10))
        bh = (ch + (((l << 6) & 0xFFFF) | (h >> 10)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        l = al + (dl ^ (bl & (cl ^ dl))) + x4l + 4015
        h = (ah + (dh ^ (bh & (ch ^ dh))) + x4h + 62844 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 7) & 0xFFFF) | (h >> 9))
        ah = (bh + (((h << 7) & 0xFFFF) | (l >> 9)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (cl ^ (al & (bl ^ cl))) + x5l + 50730
        h = (dh + (ch ^ (ah & (bh ^ ch))) + x5h + 18311 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 12) & 0xFFFF) | (h >> 4))
        dh = (ah + (((h << 12) & 0xFFFF) | (l >> 4)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (bl ^ (dl & (al ^ bl))) + x6l + 17939
        h = (ch + (bh ^ (dh & (ah ^ bh))) + x6h + 43056 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + (((h << 1) & 0xFFFF) | (l >> 15))
        ch = (dh + (((l << 1) & 0xFFFF) | (h >> 15)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (al ^ (cl & (dl ^ al))) + x7l + 38145
        h = (bh + (ah ^ (ch & (dh ^ ah))) + x7h + 64838 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 6) & 0xFFFF) | (l >> 10))
        bh = (ch + (((l << 6) & 0xFFFF) | (h >> 10)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        l = al + (dl ^ (bl & (cl ^ dl))) + x8l + 39128
        h = (ah + (dh ^ (bh & (ch ^ dh))) + x8h + 27008 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 7) & 0xFFFF) | (h >> 9))
        ah = (bh + (((h << 7) & 0xFFFF) | (l >> 9)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (cl ^ (al & (bl ^ cl))) + x9l + 63407
        h = (dh + (ch ^ (ah & (bh ^ ch))) + x9h + 35652 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 12) & 0xFFFF) | (h >> 4))
        dh = (ah + (((h << 12) & 0xFFFF) | (l >> 4)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (bl ^ (dl & (al ^ bl))) + x10l + 23473
        h = (ch + (bh ^ (dh & (ah ^ bh))) + x10h + 65535 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + (((h << 1) & 0xFFFF) | (l >> 15))
        ch = (dh + (((l << 1) & 0xFFFF) | (h >> 15)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (al ^ (cl & (dl ^ al))) + x11l + 55230
        h = (bh + (ah ^ (ch & (dh ^ ah))) + x11h + 35164 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 6) & 0xFFFF) | (l >> 10))
        bh = (ch + (((l << 6) & 0xFFFF) | (h >> 10)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        l = al + (dl ^ (bl & (cl ^ dl))) + x12l + 4386
        h = (ah + (dh ^ (bh & (ch ^ dh))) + x12h + 27536 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 7) & 0xFFFF) | (h >> 9))
        ah = (bh + (((h << 7) & 0xFFFF) | (l >> 9)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (cl ^ (al & (bl ^ cl))) + x13l + 29075
        h = (dh + (ch ^ (ah & (bh ^ ch))) + x13h + 64920 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 12) & 0xFFFF) | (h >> 4))
        dh = (ah + (((h << 12) & 0xFFFF) | (l >> 4)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (bl ^ (dl & (al ^ bl))) + x14l + 17294
        h = (ch + (bh ^ (dh & (ah ^ bh))) + x14h + 42617 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + (((h << 1) & 0xFFFF) | (l >> 15))
        ch = (dh + (((l << 1) & 0xFFFF) | (h >> 15)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (al ^ (cl & (dl ^ al))) + x15l + 2081
        h = (bh + (ah ^ (ch & (dh ^ ah))) + x15h + 18868 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 6) & 0xFFFF) | (l >> 10))
        bh = (ch + (((l << 6) & 0xFFFF) | (h >> 10)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        l = al + (cl ^ (dl & (bl ^ cl))) + x1l + 9570
        h = (ah + (ch ^ (dh & (bh ^ ch))) + x1h + 63006 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 5) & 0xFFFF) | (h >> 11))
        ah = (bh + (((h << 5) & 0xFFFF) | (l >> 11)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (bl ^ (cl & (al ^ bl))) + x6l + 45888
        h = (dh + (bh ^ (ch & (ah ^ bh))) + x6h + 49216 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 9) & 0xFFFF) | (h >> 7))
        dh = (ah + (((h << 9) & 0xFFFF) | (l >> 7)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (al ^ (bl & (dl ^ al))) + x11l + 23121
        h = (ch + (ah ^ (bh & (dh ^ ah))) + x11h + 9822 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + (((l << 14) & 0xFFFF) | (h >> 2))
        ch = (dh + (((h << 14) & 0xFFFF) | (l >> 2)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (dl ^ (al & (cl ^ dl))) + x0l + 51114
        h = (bh + (dh ^ (ah & (ch ^ dh))) + x0h + 59830 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 4) & 0xFFFF) | (l >> 12))
        bh = (ch + (((l << 4) & 0xFFFF) | (h >> 12)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        l = al + (cl ^ (dl & (bl ^ cl))) + x5l + 4189
        h = (ah + (ch ^ (dh & (bh ^ ch))) + x5h + 54831 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 5) & 0xFFFF) | (h >> 11))
        ah = (bh + (((h << 5) & 0xFFFF) | (l >> 11)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (bl ^ (cl & (al ^ bl))) + x10l + 5203
        h = (dh + (bh ^ (ch & (ah ^ bh))) + x10h + 580 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 9) & 0xFFFF) | (h >> 7))
        dh = (ah + (((h << 9) & 0xFFFF) | (l >> 7)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (al ^ (bl & (dl ^ al))) + x15l + 59009
        h = (ch + (ah ^ (bh & (dh ^ ah))) + x15h + 55457 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + (((l << 14) & 0xFFFF) | (h >> 2))
        ch = (dh + (((h << 14) & 0xFFFF) | (l >> 2)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (dl ^ (al & (cl ^ dl))) + x4l + 64456
        h = (bh + (dh ^ (ah & (ch ^ dh))) + x4h + 59347 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 4) & 0xFFFF) | (l >> 12))
        bh = (ch + (((l << 4) & 0xFFFF) | (h >> 12)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        l = al + (cl ^ (dl & (bl ^ cl))) + x9l + 52710
        h = (ah + (ch ^ (dh & (bh ^ ch))) + x9h + 8673 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 5) & 0xFFFF) | (h >> 11))
        ah = (bh + (((h << 5) & 0xFFFF) | (l >> 11)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (bl ^ (cl & (al ^ bl))) + x14l + 2006
        h = (dh + (bh ^ (ch & (ah ^ bh))) + x14h + 49975 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 9) & 0xFFFF) | (h >> 7))
        dh = (ah + (((h << 9) & 0xFFFF) | (l >> 7)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (al ^ (bl & (dl ^ al))) + x3l + 3463
        h = (ch + (ah ^ (bh & (dh ^ ah))) + x3h + 62677 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + (((l << 14) & 0xFFFF) | (h >> 2))
        ch = (dh + (((h << 14) & 0xFFFF) | (l >> 2)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (dl ^ (al & (cl ^ dl))) + x8l + 5357
        h = (bh + (dh ^ (ah & (ch ^ dh))) + x8h + 17754 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 4) & 0xFFFF) | (l >> 12))
        bh = (ch + (((l << 4) & 0xFFFF) | (h >> 12)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        l = al + (cl ^ (dl & (bl ^ cl))) + x13l + 59653
        h = (ah + (ch ^ (dh & (bh ^ ch))) + x13h + 43491 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 5) & 0xFFFF) | (h >> 11))
        ah = (bh + (((h << 5) & 0xFFFF) | (l >> 11)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (bl ^ (cl & (al ^ bl))) + x2l + 41976
        h = (dh + (bh ^ (ch & (ah ^ bh))) + x2h + 64751 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 9) & 0xFFFF) | (h >> 7))
        dh = (ah + (((h << 9) & 0xFFFF) | (l >> 7)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (al ^ (bl & (dl ^ al))) + x7l + 729
        h = (ch + (ah ^ (bh & (dh ^ ah))) + x7h + 26479 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + (((l << 14) & 0xFFFF) | (h >> 2))
        ch = (dh + (((h << 14) & 0xFFFF) | (l >> 2)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (dl ^ (al & (cl ^ dl))) + x12l + 19594
        h = (bh + (dh ^ (ah & (ch ^ dh))) + x12h + 36138 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 4) & 0xFFFF) | (l >> 12))
        bh = (ch + (((l << 4) & 0xFFFF) | (h >> 12)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        l = al + (bl ^ cl ^ dl) + x5l + 14658
        h = (ah + (bh ^ ch ^ dh) + x5h + 65530 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 4) & 0xFFFF) | (h >> 12))
        ah = (bh + (((h << 4) & 0xFFFF) | (l >> 12)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (al ^ bl ^ cl) + x8l + 63105
        h = (dh + (ah ^ bh ^ ch) + x8h + 34673 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 11) & 0xFFFF) | (h >> 5))
        dh = (ah + (((h << 11) & 0xFFFF) | (l >> 5)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (dl ^ al ^ bl) + x11l + 24866
        h = (ch + (dh ^ ah ^ bh) + x11h + 28061 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + (((h << 0) & 0xFFFF) | (l >> 16))
        ch = (dh + (((l << 0) & 0xFFFF) | (h >> 16)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (cl ^ dl ^ al) + x14l + 14348
        h = (bh + (ch ^ dh ^ ah) + x14h + 64997 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 7) & 0xFFFF) | (l >> 9))
        bh = (ch + (((l << 7) & 0xFFFF) | (h >> 9)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        l = al + (bl ^ cl ^ dl) + x1l + 59972
        h = (ah + (bh ^ ch ^ dh) + x1h + 42174 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 4) & 0xFFFF) | (h >> 12))
        ah = (bh + (((h << 4) & 0xFFFF) | (l >> 12)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (al ^ bl ^ cl) + x4l + 53161
        h = (dh + (ah ^ bh ^ ch) + x4h + 19422 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 11) & 0xFFFF) | (h >> 5))
        dh = (ah + (((h << 11) & 0xFFFF) | (l >> 5)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (dl ^ al ^ bl) + x7l + 19296
        h = (ch + (dh ^ ah ^ bh) + x7h + 63163 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + (((h << 0) & 0xFFFF) | (l >> 16))
        ch = (dh + (((l << 0) & 0xFFFF) | (h >> 16)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (cl ^ dl ^ al) + x10l + 48240
        h = (bh + (ch ^ dh ^ ah) + x10h + 48831 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 7) & 0xFFFF) | (l >> 9))
        bh = (ch + (((l << 7) & 0xFFFF) | (h >> 9)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        l = al + (bl ^ cl ^ dl) + x13l + 32454
        h = (ah + (bh ^ ch ^ dh) + x13h + 10395 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 4) & 0xFFFF) | (h >> 12))
        ah = (bh + (((h << 4) & 0xFFFF) | (l >> 12)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (al ^ bl ^ cl) + x0l + 10234
        h = (dh + (ah ^ bh ^ ch) + x0h + 60065 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 11) & 0xFFFF) | (h >> 5))
        dh = (ah + (((h << 11) & 0xFFFF) | (l >> 5)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (dl ^ al ^ bl) + x3l + 12421
        h = (ch + (dh ^ ah ^ bh) + x3h + 54511 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + (((h << 0) & 0xFFFF) | (l >> 16))
        ch = (dh + (((l << 0) & 0xFFFF) | (h >> 16)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (cl ^ dl ^ al) + x6l + 7429
        h = (bh + (ch ^ dh ^ ah) + x6h + 1160 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 7) & 0xFFFF) | (l >> 9))
        bh = (ch + (((l << 7) & 0xFFFF) | (h >> 9)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        l = al + (bl ^ cl ^ dl) + x9l + 53305
        h = (ah + (bh ^ ch ^ dh) + x9h + 55764 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 4) & 0xFFFF) | (h >> 12))
        ah = (bh + (((h << 4) & 0xFFFF) | (l >> 12)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (al ^ bl ^ cl) + x12l + 39397
        h = (dh + (ah ^ bh ^ ch) + x12h + 59099 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 11) & 0xFFFF) | (h >> 5))
        dh = (ah + (((h << 11) & 0xFFFF) | (l >> 5)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (dl ^ al ^ bl) + x15l + 31992
        h = (ch + (dh ^ ah ^ bh) + x15h + 8098 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + (((h << 0) & 0xFFFF) | (l >> 16))
        ch = (dh + (((l << 0) & 0xFFFF) | (h >> 16)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (cl ^ dl ^ al) + x2l + 22117
        h = (bh + (ch ^ dh ^ ah) + x2h + 50348 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 7) & 0xFFFF) | (l >> 9))
        bh = (ch + (((l << 7) & 0xFFFF) | (h >> 9)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        l = al + (cl ^ (bl | (dl ^ 0xFFFF))) + x0l + 8772
        h = (ah + (ch ^ (bh | (dh ^ 0xFFFF))) + x0h + 62505 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 6) & 0xFFFF) | (h >> 10))
        ah = (bh + (((h << 6) & 0xFFFF) | (l >> 10)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (bl ^ (al | (cl ^ 0xFFFF))) + x7l + 65431
        h = (dh + (bh ^ (ah | (ch ^ 0xFFFF))) + x7h + 17194 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 10) & 0xFFFF) | (h >> 6))
        dh = (ah + (((h << 10) & 0xFFFF) | (l >> 6)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (al ^ (dl | (bl ^ 0xFFFF))) + x14l + 9127
        h = (ch + (ah ^ (dh | (bh ^ 0xFFFF))) + x14h + 43924 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + ((h >> 1) | ((l & 1) << 15))
        ch = (dh + ((l >> 1) | ((h & 1) << 15)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (dl ^ (cl | (al ^ 0xFFFF))) + x5l + 41017
        h = (bh + (dh ^ (ch | (ah ^ 0xFFFF))) + x5h + 64659 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 5) & 0xFFFF) | (l >> 11))
        bh = (ch + (((l << 5) & 0xFFFF) | (h >> 11)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        l = al + (cl ^ (bl | (dl ^ 0xFFFF))) + x12l + 22979
        h = (ah + (ch ^ (bh | (dh ^ 0xFFFF))) + x12h + 25947 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 6) & 0xFFFF) | (h >> 10))
        ah = (bh + (((h << 6) & 0xFFFF) | (l >> 10)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (bl ^ (al | (cl ^ 0xFFFF))) + x3l + 52370
        h = (dh + (bh ^ (ah | (ch ^ 0xFFFF))) + x3h + 36620 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 10) & 0xFFFF) | (h >> 6))
        dh = (ah + (((h << 10) & 0xFFFF) | (l >> 6)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (al ^ (dl | (bl ^ 0xFFFF))) + x10l + 62589
        h = (ch + (ah ^ (dh | (bh ^ 0xFFFF))) + x10h + 65519 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + ((h >> 1) | ((l & 1) << 15))
        ch = (dh + ((l >> 1) | ((h & 1) << 15)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (dl ^ (cl | (al ^ 0xFFFF))) + x1l + 24017
        h = (bh + (dh ^ (ch | (ah ^ 0xFFFF))) + x1h + 34180 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 5) & 0xFFFF) | (l >> 11))
        bh = (ch + (((l << 5) & 0xFFFF) | (h >> 11)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        l = al + (cl ^ (bl | (dl ^ 0xFFFF))) + x8l + 32335
        h = (ah + (ch ^ (bh | (dh ^ 0xFFFF))) + x8h + 28584 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 6) & 0xFFFF) | (h >> 10))
        ah = (bh + (((h << 6) & 0xFFFF) | (l >> 10)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (bl ^ (al | (cl ^ 0xFFFF))) + x15l + 59104
        h = (dh + (bh ^ (ah | (ch ^ 0xFFFF))) + x15h + 65068 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 10) & 0xFFFF) | (h >> 6))
        dh = (ah + (((h << 10) & 0xFFFF) | (l >> 6)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (al ^ (dl | (bl ^ 0xFFFF))) + x6l + 17172
        h = (ch + (ah ^ (dh | (bh ^ 0xFFFF))) + x6h + 41729 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + ((h >> 1) | ((l & 1) << 15))
        ch = (dh + ((l >> 1) | ((h & 1) << 15)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (dl ^ (cl | (al ^ 0xFFFF))) + x13l + 4513
        h = (bh + (dh ^ (ch | (ah ^ 0xFFFF))) + x13h + 19976 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 5) & 0xFFFF) | (l >> 11))
        bh = (ch + (((l << 5) & 0xFFFF) | (h >> 11)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        l = al + (cl ^ (bl | (dl ^ 0xFFFF))) + x4l + 32386
        h = (ah + (ch ^ (bh | (dh ^ 0xFFFF))) + x4h + 63315 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = bl + (((l << 6) & 0xFFFF) | (h >> 10))
        ah = (bh + (((h << 6) & 0xFFFF) | (l >> 10)) + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        l = dl + (bl ^ (al | (cl ^ 0xFFFF))) + x11l + 62005
        h = (dh + (bh ^ (ah | (ch ^ 0xFFFF))) + x11h + 48442 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = al + (((l << 10) & 0xFFFF) | (h >> 6))
        dh = (ah + (((h << 10) & 0xFFFF) | (l >> 6)) + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        l = cl + (al ^ (dl | (bl ^ 0xFFFF))) + x2l + 53947
        h = (ch + (ah ^ (dh | (bh ^ 0xFFFF))) + x2h + 10967 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = dl + ((h >> 1) | ((l & 1) << 15))
        ch = (dh + ((l >> 1) | ((h & 1) << 15)) + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        l = bl + (dl ^ (cl | (al ^ 0xFFFF))) + x9l + 54161
        h = (bh + (dh ^ (ch | (ah ^ 0xFFFF))) + x9h + 60294 + (l >> 16)) & 0xFFFF
        l &= 0xFFFF
        m = cl + (((h << 5) & 0xFFFF) | (l >> 11))
        bh = (ch + (((l << 5) & 0xFFFF) | (h >> 11)) + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        m = al + sal
        ah = (ah + sah + (m >> 16)) & 0xFFFF
        al = m & 0xFFFF
        m = bl + sbl
        bh = (bh + sbh + (m >> 16)) & 0xFFFF
        bl = m & 0xFFFF
        m = cl + scl
        ch = (ch + sch + (m >> 16)) & 0xFFFF
        cl = m & 0xFFFF
        m = dl + sdl
        dh = (dh + sdh + (m >> 16)) & 0xFFFF
        dl = m & 0xFFFF
        o += 64
    H[0] = al; H[1] = ah; H[2] = bl; H[3] = bh; H[4] = cl; H[5] = ch; H[6] = dl; H[7] = dh


class MD5:
    def __init__(self, data=None):
        self._buf = bytearray(64)  # partial block
        self._n = 0  # bytes in _buf
        self._len = 0  # bytes hashed so far
        self._fast = FAST and _vblk is not None
        if self._fast:
            st = bytearray(80)  # 4 state words + 16 message words for the viper code
            st[0:16] = _IV
            self._st = st
        else:
            self._st = [0x2301, 0x6745, 0xAB89, 0xEFCD, 0xDCFE, 0x98BA, 0x5476, 0x1032]
        if data is not None:
            self.update(data)

    def _blocks(self, b, o, e):
        if self._fast:
            _vblk(self._st, b, o, e)
        else:
            _pblk(self._st, b, o, e)

    def update(self, buf):
        if self._st is None:
            raise ValueError("hash finalised")
        n = len(buf)
        self._len += n
        B = self._buf
        p = self._n
        o = 0
        if p:  # top up the partial block first (byte loop: slices would allocate)
            o = 64 - p
            if o > n:
                o = n
            for i in range(o):
                B[p + i] = buf[i]
            p += o
            if p < 64:
                self._n = p
                return
            self._blocks(B, 0, 64)
        e = o + ((n - o) & ~63)
        if e > o:
            self._blocks(buf, o, e)
        for i in range(e, n):
            B[i - e] = buf[i]
        self._n = n - e

    # Pads, hashes the last block(s) and returns the digest; the object is spent after.
    def digest(self):
        if self._st is None:
            raise ValueError("hash finalised")
        b = self._buf
        p = self._n
        b[p] = 0x80
        for i in range(p + 1, 64):
            b[i] = 0
        if p >= 56:
            self._blocks(b, 0, 64)
            for i in range(56):
                b[i] = 0
        n = self._len << 3
        for i in range(56, 64):
            b[i] = n & 0xFF
            n >>= 8
        self._blocks(b, 0, 64)
        st = self._st
        self._st = None
        if self._fast:
            return bytes(st[0:16])
        out = bytearray(16)
        for i in range(8):
            out[2 * i] = st[i] & 0xFF
            out[2 * i + 1] = st[i] >> 8
        return bytes(out)
