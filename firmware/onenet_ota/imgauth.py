# Optional package authenticity: a MAC over the package, checked before commit.
#
# The platform delivers bytes and an md5, which only says the bytes arrived as the
# platform holds them; anyone who can publish a task, or answer in its place on a
# link without verified TLS, can push any image. With `image_key` configured the agent
# accepts only packages that end in this trailer (docs/security.md):
#
#   [signed part: the image]  [mac]  [b"ONOTASIG"][u32 LE len(signed part)][u8 alg][u8 len(mac)][2 x 0]
#
# alg 1 HMAC-SHA256, alg 2 HMAC-SHA1 (ports without sha256: nRF52832, pure sha1.py).
# The MAC is computed while the package streams (one more hash update per chunk, the
# same memoryview), so nothing is read twice; the trailer is read back from the sink.
# Reserved: alg 3 ECDSA P-256 / SHA-256, alg 4 Ed25519 (a public key on the device; no
# MicroPython port ships either verifier, see docs/security.md).
from .digest import new
from .errors import ConfigError

MAGIC = b"ONOTASIG"
TAIL = 16  # magic, length, alg, mac length, 2 reserved
ALGS = {"hmac-sha256": (1, "sha256", 32), "hmac-sha1": (2, "sha1", 20)}


def trailer_size(alg):
    return ALGS[alg][2] + TAIL


class Tee:
    # The md5 of the whole package and the MAC of its signed part, fed the same
    # bytes; digest() is the md5's (what the agent compares with the task).
    def __init__(self, md5, alg, key, size):
        a = ALGS.get(alg)
        if a is None:
            raise ConfigError("image_auth: one of " + ", ".join(sorted(ALGS)))
        self.alg, self._h, self.n = a
        self.md5 = md5
        self.signed = size - self.n - TAIL  # bytes the MAC covers
        if self.signed < 1:
            self.signed = 0
        self.pos = 0
        if len(key) > 64:
            h = new(self._h)
            h.update(key)
            key = h.digest()
        self._pad = bytearray(64)
        self._pad[: len(key)] = key
        for i in range(64):
            self._pad[i] ^= 0x36
        self.mac = new(self._h)
        self.mac.update(self._pad)

    def update(self, mv):
        self.md5.update(mv)
        left = self.signed - self.pos
        if left > 0:
            self.mac.update(mv if len(mv) <= left else memoryview(mv)[:left])
        self.pos += len(mv)

    def digest(self):
        return self.md5.digest()

    # True when tail (the package's last n + TAIL bytes) names this algorithm and the
    # signed length, and carries the MAC of the signed part.
    def check(self, tail):
        n = self.n
        t = memoryview(tail)
        if len(tail) != n + TAIL or self.signed < 1 or bytes(t[n : n + 8]) != MAGIC:
            return False
        ln = t[n + 8] | t[n + 9] << 8 | t[n + 10] << 16 | t[n + 11] << 24
        if ln != self.signed or t[n + 12] != self.alg or t[n + 13] != n:
            return False
        inner = self.mac.digest()
        for i in range(64):
            self._pad[i] ^= 0x36 ^ 0x5C
        h = new(self._h)
        h.update(self._pad)
        h.update(inner)
        want = h.digest()
        bad = 0
        for i in range(n):  # constant time: no early exit on the first wrong byte
            bad |= want[i] ^ t[i]
        return bad == 0
