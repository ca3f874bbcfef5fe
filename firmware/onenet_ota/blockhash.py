# The block framing MD5 and SHA-1 share: 64-byte blocks hashed straight from the
# caller's buffer, one 64-byte buffer for a partial block, the length padding. A
# subclass sets self._st (its state; None once finalised) and defines _blocks(b, o, e)
# (hash the whole blocks b[o:e]).


class BlockHash:
    def __init__(self):
        self._buf = bytearray(64)  # partial block
        self._n = 0  # bytes in _buf
        self._len = 0  # bytes hashed so far

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

    # Pad and hash the last block(s); the bit length little-endian (MD5) or big-endian
    # (SHA-1). Returns the final state; the object is spent after.
    def _final(self, big):
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
        for i in range(8):
            b[63 - i if big else 56 + i] = n & 0xFF
            n >>= 8
        self._blocks(b, 0, 64)
        st = self._st
        self._st = None
        return st
