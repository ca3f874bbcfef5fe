# Sink into the next ESP32 OTA slot (esp32.Partition). Writes go straight from the
# caller's buffer with the 3-arg writeblocks (no erase), after erasing each 4096-byte
# block the first time the write position enters it. The first 64 bytes are held
# back in a small buffer until the header check passes: nothing touches the slot
# before a wrong image is rejected. commit() is set_boot(), which validates the whole
# image (a bad one raises BadImage and the boot choice stays as it was).
#
# Resume: begin(size, offset) aligns offset DOWN to the block size and returns it; the
# agent restarts the download there. That block is erased again on the first write,
# so bytes that may have been written after the journal's offset are never written
# over unerased flash.
from micropython import const

from . import esp32img
from .errors import BadImage, NoSpace

_HDR = const(64)


class Esp32Sink:
    def __init__(self, partition=None, chip_id=0):
        if partition is None:
            from esp32 import Partition

            partition = Partition(Partition.RUNNING).get_next_update()
        self.part = partition
        self.chip_id = chip_id
        self.bs = partition.ioctl(5, 0)
        self.capacity = partition.ioctl(4, 0) * self.bs
        self._hdr = bytearray(_HDR)
        self.size = 0
        self.off = 0
        self._next = 0  # first block not yet erased in this session
        self._done = False
        self._touched = False

    # NoSpace if size > capacity; returns the offset writing resumes at.
    def begin(self, size, offset=0):
        if size > self.capacity:
            raise NoSpace("image %d > slot %d" % (size, self.capacity))
        if offset < 0 or offset > size:
            raise ValueError("offset")
        if offset < size:  # offset == size: a whole image, to commit again
            offset -= offset % self.bs
        self.size = size
        self.off = offset
        self._next = offset // self.bs
        self._done = False
        return offset

    def _erase_to(self, end):
        # erase every block up to the one holding byte end-1
        last = (end - 1) // self.bs
        while self._next <= last:
            self._touched = True
            self.part.ioctl(6, self._next)
            self._next += 1

    def write(self, mv):
        n = len(mv)
        off = self.off
        if off + n > self.size:
            raise ValueError("write past size")
        if off < _HDR:
            # collect the header; nothing is written before it checks out
            k = min(n, _HDR - off)
            self._hdr[off : off + k] = mv[:k]
            self.off = off = off + k
            if off < _HDR:
                return
            esp32img.check_header(self._hdr, self.chip_id)
            self._erase_to(_HDR)
            self.part.writeblocks(0, self._hdr, 0)
            if k == n:
                return
            mv = memoryview(mv)[k:]
            n -= k
        self._erase_to(off + n)
        self.part.writeblocks(off // self.bs, mv, off % self.bs)
        self.off = off + n

    def flush(self):
        pass  # flash writes are durable when writeblocks returns

    def readinto(self, offset, buf):
        n = min(len(buf), self.capacity - offset)
        if n <= 0:
            return 0
        if n < len(buf):
            buf = memoryview(buf)[:n]
        self.part.readblocks(offset // self.bs, buf, offset % self.bs)
        return n

    def commit(self):
        if self.off < _HDR or self.off != self.size:
            raise BadImage("image incomplete")
        try:
            self.part.set_boot()
        except OSError as e:
            raise BadImage("set_boot: %s" % e.args[0])
        self._done = True

    def abort(self):
        # The slot is not the boot choice (set_boot not called): nothing to undo.
        # If this session wrote to the slot, erase block 0 so a half image is never
        # mistaken for a whole one.
        if self._touched and not self._done:
            self.part.ioctl(6, 0)
        self.off = 0
        self._next = 0
