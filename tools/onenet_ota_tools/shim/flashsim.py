# NOR flash over a file, shared by the esp32 and nrf stand-ins. MicroPython-compatible.
# - The file starts erased (0xFF).
# - write() programs bits 1->0 only: in strict mode (default) a byte that would need
#   a 0->1 flip raises OSError(EIO); otherwise the result is old AND new, like NOR.
# - erase() works on whole 4096-byte sectors at 4096-byte boundaries.
# - Out-of-bounds or misaligned access raises (errno per `bounds_err`/`align_err`).
# - Each write and each sector erase is one counted operation (shimstate.tick): when it
#   is the cut one, the first half of the bytes are written (or the first half of the
#   sector is erased) and shimstate.PowerCut is raised.
import shimstate

SECTOR = 4096
EIO = 5
_FF = b"\xff" * 256
_chk = bytearray(256)


class FlashFile:
    def __init__(self, name, size, bounds_err=-260, align_err=22):
        self.name = name
        self.path = shimstate.path(name)
        self.size = size
        self.bounds_err = bounds_err
        self.align_err = align_err
        try:
            import os

            have = os.stat(self.path)[6]
        except OSError:
            have = -1
        if have != size:
            f = open(self.path, "wb")
            blk = b"\xff" * SECTOR
            n = size
            while n > 0:
                f.write(blk if n >= SECTOR else blk[:n])
                n -= SECTOR
            f.close()

    def _check(self, addr, n):
        if addr < 0 or n < 0 or addr + n > self.size:
            raise OSError(
                self.bounds_err,
                "%s: access 0x%x+%d outside 0..0x%x" % (self.name, addr, n, self.size),
            )

    def read(self, addr, buf):
        n = len(buf)
        self._check(addr, n)
        f = open(self.path, "rb")
        f.seek(addr)
        f.readinto(buf)
        f.close()

    def write(self, addr, buf):
        mv = memoryview(buf)
        n = len(mv)
        self._check(addr, n)
        torn = shimstate.tick("write", self.name)
        if shimstate.bad_write(self.name, addr // SECTOR):
            raise OSError(EIO, "%s: write failed at 0x%x (bad region)" % (self.name, addr))
        f = open(self.path, "r+b")
        try:
            # Check (strict) or AND (lenient) against what is there, 256 bytes at a time.
            strict = shimstate.CONFIG["strict"]
            out = bytearray(n) if not strict else None
            i = 0
            while i < n:
                k = min(256, n - i)
                c = memoryview(_chk)[:k]
                f.seek(addr + i)
                f.readinto(c)
                for j in range(k):
                    o = c[j]
                    v = mv[i + j]
                    if o & v != v:
                        if strict:
                            raise OSError(
                                EIO,
                                "%s: write 0x%02x over 0x%02x at 0x%x needs an erase"
                                % (self.name, v, o, addr + i + j),
                            )
                        out[i + j] = o & v
                    elif out is not None:
                        out[i + j] = v
                i += k
            data = mv if out is None else memoryview(out)
            if torn:
                data = data[: n // 2]
            f.seek(addr)
            f.write(data)
        finally:
            f.close()
        if torn:
            raise shimstate.PowerCut

    def erase(self, addr, n):
        if addr % SECTOR or n % SECTOR:
            raise OSError(self.align_err, "%s: erase 0x%x+%d not sector aligned" % (self.name, addr, n))
        self._check(addr, n)
        f = open(self.path, "r+b")
        try:
            while n > 0:
                torn = shimstate.tick("erase", self.name)
                f.seek(addr)
                k = SECTOR // 2 if torn else SECTOR
                while k > 0:
                    f.write(_FF)
                    k -= 256
                if torn:
                    raise shimstate.PowerCut
                addr += SECTOR
                n -= SECTOR
        finally:
            f.close()

    # Uncounted write that ignores flash rules (host helpers only).
    def raw(self, addr, data):
        self._check(addr, len(data))
        f = open(self.path, "r+b")
        f.seek(addr)
        f.write(data)
        f.close()
