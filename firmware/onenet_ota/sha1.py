# Pure-Python SHA-1 (FIPS 180-4) for ports whose hashlib lacks it (nRF52832 builds have
# no hashlib). Same interface and layout as md5.py: update(buf) with bytes, bytearray or
# memoryview of any length, digest() finalises; full blocks are hashed straight from the
# caller's buffer, nothing is allocated per update().
#
# - _svblk: @micropython.viper, compiled at import with exec() where the port has the
#   native emitters (see md5.py for why it is source text). Machine-word ints, masked to
#   32 bits before every rotation.
# - _spblk: plain Python on 16-bit halves, every intermediate below 2**30 (no big ints on
#   32-bit boards). Generated: one function per 20-step round, a loop over 5 unrolled
#   steps, so no bytecode block is much over 1 KB (fragmented heaps load it).

from .blockhash import BlockHash

_S_IV = b"\x67\x45\x23\x01\xef\xcd\xab\x89\x98\xba\xdc\xfe\x10\x32\x54\x76\xc3\xd2\xe1\xf0"

# Set FAST = False before creating objects to force the plain path (tests, benchmarks).
FAST = False
_svblk = None

_SVSRC = """
@micropython.viper
def _svblk(st: ptr32, b: ptr8, o: int, e: int):
    M = (uint(0xFFFF) << 16) | uint(0xFFFF)
    K1 = (uint(0x5A82) << 16) | uint(0x7999)
    K2 = (uint(0x6ED9) << 16) | uint(0xEBA1)
    K3 = (uint(0x8F1B) << 16) | uint(0xBCDC)
    K4 = (uint(0xCA62) << 16) | uint(0xC1D6)
    while o < e:
        j = 0
        while j < 16:
            p = o + 4 * j
            st[5 + j] = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]
            j += 1
        a = uint(st[0])
        x = uint(st[1])
        c = uint(st[2])
        d = uint(st[3])
        y = uint(st[4])
        i = 0
        while i < 80:
            if i < 16:
                w = uint(st[5 + i])
            else:
                w = uint(st[5 + ((i - 3) & 15)]) ^ uint(st[5 + ((i - 8) & 15)])
                w = w ^ uint(st[5 + ((i - 14) & 15)]) ^ uint(st[5 + (i & 15)])
                w = ((w << 1) | (w >> 31)) & M
                st[5 + (i & 15)] = w
            if i < 20:
                f = (d ^ (x & (c ^ d))) + K1
            elif i < 40:
                f = (x ^ c ^ d) + K2
            elif i < 60:
                f = ((x & c) | (d & (x | c))) + K3
            else:
                f = (x ^ c ^ d) + K4
            t = ((a << 5) | (a >> 27)) + f + y + w
            y = d
            d = c
            c = ((x << 30) | (x >> 2)) & M
            x = a
            a = t & M
            i += 1
        st[0] = uint(st[0]) + a
        st[1] = uint(st[1]) + x
        st[2] = uint(st[2]) + c
        st[3] = uint(st[3]) + d
        st[4] = uint(st[4]) + y
        o += 64
"""

try:
    import micropython  # noqa: F401

    exec(_SVSRC, globals())
    FAST = True
except Exception:  # no micropython module, no emitter, no compiler: plain path
    _svblk = None
_SVSRC = None


# Plain block function, generated: state and words as 16-bit (low, high) halves; W holds
# the 80 schedule words as 160 halves.
# Steps 0..19 (Ch) of one block on the state halves in H.
def _s0(H, W):
    al, ah, bl, bh, cl, ch, dl, dh, el, eh = H
    j = 0
    while j < 40:
        l = ((al << 5) & 0xFFFF) + (ah >> 11) + (dl ^ (bl & (cl ^ dl))) + el + 31129 + W[j]
        eh = (((ah << 5) & 0xFFFF) + (al >> 11) + (dh ^ (bh & (ch ^ dh))) + eh + 23170 + W[j + 1] + (l >> 16)) & 0xFFFF
        el = l & 0xFFFF
        l = bl
        bl = (l >> 2) | ((bh & 3) << 14)
        bh = (bh >> 2) | ((l & 3) << 14)
        l = ((el << 5) & 0xFFFF) + (eh >> 11) + (cl ^ (al & (bl ^ cl))) + dl + 31129 + W[j + 2]
        dh = (((eh << 5) & 0xFFFF) + (el >> 11) + (ch ^ (ah & (bh ^ ch))) + dh + 23170 + W[j + 3] + (l >> 16)) & 0xFFFF
        dl = l & 0xFFFF
        l = al
        al = (l >> 2) | ((ah & 3) << 14)
        ah = (ah >> 2) | ((l & 3) << 14)
        l = ((dl << 5) & 0xFFFF) + (dh >> 11) + (bl ^ (el & (al ^ bl))) + cl + 31129 + W[j + 4]
        ch = (((dh << 5) & 0xFFFF) + (dl >> 11) + (bh ^ (eh & (ah ^ bh))) + ch + 23170 + W[j + 5] + (l >> 16)) & 0xFFFF
        cl = l & 0xFFFF
        l = el
        el = (l >> 2) | ((eh & 3) << 14)
        eh = (eh >> 2) | ((l & 3) << 14)
        l = ((cl << 5) & 0xFFFF) + (ch >> 11) + (al ^ (dl & (el ^ al))) + bl + 31129 + W[j + 6]
        bh = (((ch << 5) & 0xFFFF) + (cl >> 11) + (ah ^ (dh & (eh ^ ah))) + bh + 23170 + W[j + 7] + (l >> 16)) & 0xFFFF
        bl = l & 0xFFFF
        l = dl
        dl = (l >> 2) | ((dh & 3) << 14)
        dh = (dh >> 2) | ((l & 3) << 14)
        l = ((bl << 5) & 0xFFFF) + (bh >> 11) + (el ^ (cl & (dl ^ el))) + al + 31129 + W[j + 8]
        ah = (((bh << 5) & 0xFFFF) + (bl >> 11) + (eh ^ (ch & (dh ^ eh))) + ah + 23170 + W[j + 9] + (l >> 16)) & 0xFFFF
        al = l & 0xFFFF
        l = cl
        cl = (l >> 2) | ((ch & 3) << 14)
        ch = (ch >> 2) | ((l & 3) << 14)
        j += 10
    H[0] = al; H[1] = ah; H[2] = bl; H[3] = bh; H[4] = cl; H[5] = ch; H[6] = dl; H[7] = dh; H[8] = el; H[9] = eh


# Steps 20..39 (Parity) of one block on the state halves in H.
def _s1(H, W):
    al, ah, bl, bh, cl, ch, dl, dh, el, eh = H
    j = 40
    while j < 80:
        l = ((al << 5) & 0xFFFF) + (ah >> 11) + (bl ^ cl ^ dl) + el + 60321 + W[j]
        eh = (((ah << 5) & 0xFFFF) + (al >> 11) + (bh ^ ch ^ dh) + eh + 28377 + W[j + 1] + (l >> 16)) & 0xFFFF
        el = l & 0xFFFF
        l = bl
        bl = (l >> 2) | ((bh & 3) << 14)
        bh = (bh >> 2) | ((l & 3) << 14)
        l = ((el << 5) & 0xFFFF) + (eh >> 11) + (al ^ bl ^ cl) + dl + 60321 + W[j + 2]
        dh = (((eh << 5) & 0xFFFF) + (el >> 11) + (ah ^ bh ^ ch) + dh + 28377 + W[j + 3] + (l >> 16)) & 0xFFFF
        dl = l & 0xFFFF
        l = al
        al = (l >> 2) | ((ah & 3) << 14)
        ah = (ah >> 2) | ((l & 3) << 14)
        l = ((dl << 5) & 0xFFFF) + (dh >> 11) + (el ^ al ^ bl) + cl + 60321 + W[j + 4]
        ch = (((dh << 5) & 0xFFFF) + (dl >> 11) + (eh ^ ah ^ bh) + ch + 28377 + W[j + 5] + (l >> 16)) & 0xFFFF
        cl = l & 0xFFFF
        l = el
        el = (l >> 2) | ((eh & 3) << 14)
        eh = (eh >> 2) | ((l & 3) << 14)
        l = ((cl << 5) & 0xFFFF) + (ch >> 11) + (dl ^ el ^ al) + bl + 60321 + W[j + 6]
        bh = (((ch << 5) & 0xFFFF) + (cl >> 11) + (dh ^ eh ^ ah) + bh + 28377 + W[j + 7] + (l >> 16)) & 0xFFFF
        bl = l & 0xFFFF
        l = dl
        dl = (l >> 2) | ((dh & 3) << 14)
        dh = (dh >> 2) | ((l & 3) << 14)
        l = ((bl << 5) & 0xFFFF) + (bh >> 11) + (cl ^ dl ^ el) + al + 60321 + W[j + 8]
        ah = (((bh << 5) & 0xFFFF) + (bl >> 11) + (ch ^ dh ^ eh) + ah + 28377 + W[j + 9] + (l >> 16)) & 0xFFFF
        al = l & 0xFFFF
        l = cl
        cl = (l >> 2) | ((ch & 3) << 14)
        ch = (ch >> 2) | ((l & 3) << 14)
        j += 10
    H[0] = al; H[1] = ah; H[2] = bl; H[3] = bh; H[4] = cl; H[5] = ch; H[6] = dl; H[7] = dh; H[8] = el; H[9] = eh


# Steps 40..59 (Maj) of one block on the state halves in H.
def _s2(H, W):
    al, ah, bl, bh, cl, ch, dl, dh, el, eh = H
    j = 80
    while j < 120:
        l = ((al << 5) & 0xFFFF) + (ah >> 11) + ((bl & cl) | (dl & (bl | cl))) + el + 48348 + W[j]
        eh = (((ah << 5) & 0xFFFF) + (al >> 11) + ((bh & ch) | (dh & (bh | ch))) + eh + 36635 + W[j + 1] + (l >> 16)) & 0xFFFF
        el = l & 0xFFFF
        l = bl
        bl = (l >> 2) | ((bh & 3) << 14)
        bh = (bh >> 2) | ((l & 3) << 14)
        l = ((el << 5) & 0xFFFF) + (eh >> 11) + ((al & bl) | (cl & (al | bl))) + dl + 48348 + W[j + 2]
        dh = (((eh << 5) & 0xFFFF) + (el >> 11) + ((ah & bh) | (ch & (ah | bh))) + dh + 36635 + W[j + 3] + (l >> 16)) & 0xFFFF
        dl = l & 0xFFFF
        l = al
        al = (l >> 2) | ((ah & 3) << 14)
        ah = (ah >> 2) | ((l & 3) << 14)
        l = ((dl << 5) & 0xFFFF) + (dh >> 11) + ((el & al) | (bl & (el | al))) + cl + 48348 + W[j + 4]
        ch = (((dh << 5) & 0xFFFF) + (dl >> 11) + ((eh & ah) | (bh & (eh | ah))) + ch + 36635 + W[j + 5] + (l >> 16)) & 0xFFFF
        cl = l & 0xFFFF
        l = el
        el = (l >> 2) | ((eh & 3) << 14)
        eh = (eh >> 2) | ((l & 3) << 14)
        l = ((cl << 5) & 0xFFFF) + (ch >> 11) + ((dl & el) | (al & (dl | el))) + bl + 48348 + W[j + 6]
        bh = (((ch << 5) & 0xFFFF) + (cl >> 11) + ((dh & eh) | (ah & (dh | eh))) + bh + 36635 + W[j + 7] + (l >> 16)) & 0xFFFF
        bl = l & 0xFFFF
        l = dl
        dl = (l >> 2) | ((dh & 3) << 14)
        dh = (dh >> 2) | ((l & 3) << 14)
        l = ((bl << 5) & 0xFFFF) + (bh >> 11) + ((cl & dl) | (el & (cl | dl))) + al + 48348 + W[j + 8]
        ah = (((bh << 5) & 0xFFFF) + (bl >> 11) + ((ch & dh) | (eh & (ch | dh))) + ah + 36635 + W[j + 9] + (l >> 16)) & 0xFFFF
        al = l & 0xFFFF
        l = cl
        cl = (l >> 2) | ((ch & 3) << 14)
        ch = (ch >> 2) | ((l & 3) << 14)
        j += 10
    H[0] = al; H[1] = ah; H[2] = bl; H[3] = bh; H[4] = cl; H[5] = ch; H[6] = dl; H[7] = dh; H[8] = el; H[9] = eh


# Steps 60..79 (Parity) of one block on the state halves in H.
def _s3(H, W):
    al, ah, bl, bh, cl, ch, dl, dh, el, eh = H
    j = 120
    while j < 160:
        l = ((al << 5) & 0xFFFF) + (ah >> 11) + (bl ^ cl ^ dl) + el + 49622 + W[j]
        eh = (((ah << 5) & 0xFFFF) + (al >> 11) + (bh ^ ch ^ dh) + eh + 51810 + W[j + 1] + (l >> 16)) & 0xFFFF
        el = l & 0xFFFF
        l = bl
        bl = (l >> 2) | ((bh & 3) << 14)
        bh = (bh >> 2) | ((l & 3) << 14)
        l = ((el << 5) & 0xFFFF) + (eh >> 11) + (al ^ bl ^ cl) + dl + 49622 + W[j + 2]
        dh = (((eh << 5) & 0xFFFF) + (el >> 11) + (ah ^ bh ^ ch) + dh + 51810 + W[j + 3] + (l >> 16)) & 0xFFFF
        dl = l & 0xFFFF
        l = al
        al = (l >> 2) | ((ah & 3) << 14)
        ah = (ah >> 2) | ((l & 3) << 14)
        l = ((dl << 5) & 0xFFFF) + (dh >> 11) + (el ^ al ^ bl) + cl + 49622 + W[j + 4]
        ch = (((dh << 5) & 0xFFFF) + (dl >> 11) + (eh ^ ah ^ bh) + ch + 51810 + W[j + 5] + (l >> 16)) & 0xFFFF
        cl = l & 0xFFFF
        l = el
        el = (l >> 2) | ((eh & 3) << 14)
        eh = (eh >> 2) | ((l & 3) << 14)
        l = ((cl << 5) & 0xFFFF) + (ch >> 11) + (dl ^ el ^ al) + bl + 49622 + W[j + 6]
        bh = (((ch << 5) & 0xFFFF) + (cl >> 11) + (dh ^ eh ^ ah) + bh + 51810 + W[j + 7] + (l >> 16)) & 0xFFFF
        bl = l & 0xFFFF
        l = dl
        dl = (l >> 2) | ((dh & 3) << 14)
        dh = (dh >> 2) | ((l & 3) << 14)
        l = ((bl << 5) & 0xFFFF) + (bh >> 11) + (cl ^ dl ^ el) + al + 49622 + W[j + 8]
        ah = (((bh << 5) & 0xFFFF) + (bl >> 11) + (ch ^ dh ^ eh) + ah + 51810 + W[j + 9] + (l >> 16)) & 0xFFFF
        al = l & 0xFFFF
        l = cl
        cl = (l >> 2) | ((ch & 3) << 14)
        ch = (ch >> 2) | ((l & 3) << 14)
        j += 10
    H[0] = al; H[1] = ah; H[2] = bl; H[3] = bh; H[4] = cl; H[5] = ch; H[6] = dl; H[7] = dh; H[8] = el; H[9] = eh


# Hashes the 64-byte blocks b[o:e] into H; W holds the 80 schedule words as halves.
def _spblk(H, W, b, o, e):
    while o < e:
        j = 0
        while j < 32:  # message words, big-endian
            W[j] = (b[o + 2] << 8) | b[o + 3]
            W[j + 1] = (b[o] << 8) | b[o + 1]
            o += 4
            j += 2
        while j < 160:  # w[t] = rotl1(w[t-3] ^ w[t-8] ^ w[t-14] ^ w[t-16])
            l = W[j - 6] ^ W[j - 16] ^ W[j - 28] ^ W[j - 32]
            h = W[j - 5] ^ W[j - 15] ^ W[j - 27] ^ W[j - 31]
            W[j] = ((l << 1) & 0xFFFF) | (h >> 15)
            W[j + 1] = ((h << 1) & 0xFFFF) | (l >> 15)
            j += 2
        al, ah, bl, bh, cl, ch, dl, dh, el, eh = H
        _s0(H, W)
        _s1(H, W)
        _s2(H, W)
        _s3(H, W)
        l = H[0] + al
        H[1] = (H[1] + ah + (l >> 16)) & 0xFFFF
        H[0] = l & 0xFFFF
        l = H[2] + bl
        H[3] = (H[3] + bh + (l >> 16)) & 0xFFFF
        H[2] = l & 0xFFFF
        l = H[4] + cl
        H[5] = (H[5] + ch + (l >> 16)) & 0xFFFF
        H[4] = l & 0xFFFF
        l = H[6] + dl
        H[7] = (H[7] + dh + (l >> 16)) & 0xFFFF
        H[6] = l & 0xFFFF
        l = H[8] + el
        H[9] = (H[9] + eh + (l >> 16)) & 0xFFFF
        H[8] = l & 0xFFFF


def _words():
    try:
        from array import array

        return array("H", range(160))  # 320 bytes instead of a 160-slot list
    except ImportError:
        return [0] * 160


class SHA1(BlockHash):
    def __init__(self, data=None):
        BlockHash.__init__(self)
        self._fast = FAST and _svblk is not None
        if self._fast:
            st = bytearray(84)  # 5 state words + 16 schedule words for the viper code
            for i in range(5):  # native byte order (all MicroPython targets: little)
                for k in range(4):
                    st[4 * i + k] = _S_IV[4 * i + 3 - k]
            self._st = st
        else:
            self._st = [0x2301, 0x6745, 0xAB89, 0xEFCD, 0xDCFE, 0x98BA, 0x5476, 0x1032, 0xE1F0, 0xC3D2]
            self._w = _words()  # 80 schedule words as halves
        if data is not None:
            self.update(data)

    def _blocks(self, b, o, e):
        if self._fast:
            _svblk(self._st, b, o, e)
        else:
            _spblk(self._st, self._w, b, o, e)

    # Pads, hashes the last block(s) and returns the digest; the object is spent after.
    def digest(self):
        st = self._final(True)
        out = bytearray(20)
        for i in range(5):
            if self._fast:
                for k in range(4):
                    out[4 * i + k] = st[4 * i + 3 - k]
            else:
                v = st[2 * i + 1]
                out[4 * i] = v >> 8
                out[4 * i + 1] = v & 0xFF
                v = st[2 * i]
                out[4 * i + 2] = v >> 8
                out[4 * i + 3] = v & 0xFF
        return bytes(out)
