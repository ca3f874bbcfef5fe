# Sink into a raw block device region: nRF52 internal flash (nrf.Flash(start=, len=)),
# an external SPI flash, or anything with readblocks/writeblocks(3-arg)/ioctl. The
# sink checks every bound itself (the nrf port checks none).
#
# Region layout (block_size bytes per block, relative to start_block):
#   block 0        header, written only by commit():
#                    0  b"OTAI"       magic
#                    4  u32 LE        image size
#                    8  16 bytes      MD5 of the image (read back from flash)
#                   24  u32 LE        CRC-32 of bytes 0..23
#                   28  b"DONE"       complete marker, programmed last, alone
#                   32  u32           0xFFFFFFFF; a bootloader programs 0 once it
#                                     has copied the image ("applied")
#   block 1..      the image bytes
# begin() erases the header block before any image byte is written, so an old
# "complete" header never describes new, torn data; commit() writes the header and
# then, in a separate write, the marker. A cut at any point leaves the marker either
# absent, partly programmed (not equal to b"DONE") or complete over a whole,
# read-back-verified image. read_header() tells them apart.
#
# Resume: like the ESP32 sink, begin() aligns the offset down to block_size and
# returns it; that block is erased again before the first write.
from micropython import const

from .errors import BadImage, NoSpace
from .journal import crc32

_MAGIC = b"OTAI"
_DONE = b"DONE"
_HLEN = const(36)


def _u32(b, i):
    return b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24


class BlockSink:
    scratch = None  # a memoryview commit() reads the image back through (Agent.sink)

    def __init__(self, bdev, start_block=0, blocks=None, block_size=4096):
        self.bdev = bdev
        self.bs = block_size
        total = bdev.ioctl(4, 0)
        if blocks is None:
            blocks = total - start_block
        if start_block < 0 or blocks < 2 or (total is not None and start_block + blocks > total):
            raise NoSpace("block region outside the device")
        self.start = start_block
        self.blocks = blocks
        self.capacity = (blocks - 1) * block_size
        self.size = 0
        self.off = 0
        self._next = 0

    # NoSpace if size > capacity; erases the header block; returns the offset writing
    # resumes at (offset aligned down to block_size).
    def begin(self, size, offset=0):
        if size > self.capacity:
            raise NoSpace("image %d > region %d" % (size, self.capacity))
        if offset < 0 or offset > size:
            raise ValueError("offset")
        if offset < size:  # offset == size: a whole image, to commit again
            offset -= offset % self.bs
        self.bdev.ioctl(6, self.start)
        self.size = size
        self.off = offset
        self._next = offset // self.bs
        return offset

    def write(self, mv):
        n = len(mv)
        off = self.off
        if off + n > self.size:
            raise ValueError("write past size")
        if not n:
            return
        last = (off + n - 1) // self.bs
        bs = self.bs
        while self._next <= last:
            self.bdev.ioctl(6, self.start + 1 + self._next)
            self._next += 1
        self.bdev.writeblocks(self.start + 1 + off // bs, mv, off % bs)
        self.off = off + n

    def flush(self):
        self.bdev.ioctl(3, 0)

    def readinto(self, offset, buf):
        n = min(len(buf), self.capacity - offset)
        if n <= 0:
            return 0
        if n < len(buf):
            buf = memoryview(buf)[:n]
        self.bdev.readblocks(self.start + 1 + offset // self.bs, buf, offset % self.bs)
        return n

    # Read the image back, hash it (compare with md5 if given: 16 bytes or 32 hex),
    # then write the header and the complete marker. BadImage on a short image or a
    # hash mismatch.
    def commit(self, md5=None):
        if self.off != self.size:
            raise BadImage("image incomplete")
        from .digest import new, hexstr

        h = new("md5")
        buf = self.scratch or memoryview(bytearray(256))
        n = len(buf)
        pos = 0
        while pos < self.size:
            v = buf if self.size - pos >= n else buf[: self.size - pos]
            k = self.readinto(pos, v)
            h.update(v if k == len(v) else v[:k])
            pos += k
        d = h.digest()
        if md5 is not None:
            if not isinstance(md5, str):
                md5 = hexstr(md5)
            if md5.lower() != hexstr(d):
                raise BadImage("md5 mismatch on flash")
        hdr = bytearray(28)
        hdr[0:4] = _MAGIC
        s = self.size
        hdr[4:8] = bytes((s & 255, s >> 8 & 255, s >> 16 & 255, s >> 24 & 255))
        hdr[8:24] = d
        c = crc32(memoryview(hdr)[:24])
        hdr[24:28] = bytes((c & 255, c >> 8 & 255, c >> 16 & 255, c >> 24 & 255))
        self.bdev.writeblocks(self.start, hdr, 0)
        self.bdev.writeblocks(self.start, _DONE, 28)
        self.bdev.ioctl(3, 0)

    # Nothing bootable changes: the header block is already erased (begin); erase it
    # again in case commit() was cut half-way.
    def abort(self):
        self.bdev.ioctl(6, self.start)
        self.off = 0
        self._next = 0

    # What a bootloader sees in the region's header: dict with state "empty" (erased),
    # "torn" (anything incomplete or corrupt), "complete", or "applied"; size and md5
    # (hex) when the header is valid.
    @staticmethod
    def read_header(bdev, start_block=0, block_size=4096):
        b = bytearray(_HLEN)
        bdev.readblocks(start_block, b, 0)
        r = {"state": "torn", "size": None, "md5": None}
        if b == b"\xff" * _HLEN:
            r["state"] = "empty"
            return r
        if b[0:4] != _MAGIC or _u32(b, 24) != crc32(memoryview(b)[:24]):
            return r
        if b[28:32] != _DONE:
            return r
        from .digest import hexstr

        r["size"] = _u32(b, 4)
        r["md5"] = hexstr(b[8:24])
        r["state"] = "applied" if b[32:36] == b"\x00\x00\x00\x00" else "complete"
        return r
