# Sink into a file: writes path + ".part"; commit() flushes and renames it over path
# (atomic on the unix port, CPython and littlefs). For hosts, gateways, and boards
# that keep the package on their filesystem.
import os

from .errors import BadImage, NoSpace

_PART = ".part"


def _size(p):
    try:
        return os.stat(p)[6]
    except OSError:
        return -1


class FileSink:
    def __init__(self, path, capacity=1 << 30):
        self.path = path
        self.capacity = capacity
        self.size = 0
        self.off = 0
        self._f = None

    # NoSpace if size > capacity; returns the offset writing resumes at (the given
    # one, or less when the .part file is shorter).
    def begin(self, size, offset=0):
        if size > self.capacity:
            raise NoSpace("image %d > capacity %d" % (size, self.capacity))
        if offset < 0 or offset > size:
            raise ValueError("offset")
        self._close()
        p = self.path + _PART
        have = _size(p)
        if offset == size and have < 0 and _size(self.path) == size:
            # committed, then power lost before the journal said so: take it back
            # (atomic rename) so the agent re-checks and commits it again
            os.rename(self.path, p)
            have = size
        if offset > 0 and have > 0:
            offset = min(offset, have)
            if have > offset:
                _truncate(p, offset)
            self._f = open(p, "r+b")
            self._f.seek(offset)
        else:
            offset = 0
            self._f = open(p, "w+b")
        self.size = size
        self.off = offset
        return offset

    def write(self, mv):
        if self.off + len(mv) > self.size:
            raise ValueError("write past size")
        self._f.write(mv)
        self.off += len(mv)

    def flush(self):
        self._f.flush()
        try:
            os.fsync(self._f.fileno())  # CPython; MicroPython's flush() is enough
        except (AttributeError, OSError):
            pass

    def readinto(self, offset, buf):
        f = self._f
        if f is None:
            f = open(self.path + _PART, "rb")
        try:
            f.seek(offset)
            return f.readinto(buf) or 0
        finally:
            if f is self._f:
                f.seek(self.off)
            else:
                f.close()

    def commit(self):
        if self._f is None or self.off != self.size:
            raise BadImage("image incomplete")
        self.flush()
        self._close()
        os.rename(self.path + _PART, self.path)

    def abort(self):
        self._close()
        try:
            os.remove(self.path + _PART)
        except OSError:
            pass

    def _close(self):
        if self._f is not None:
            self._f.close()
            self._f = None


# Cut file p to n bytes: truncate() where the port has it, else copy the first n
# bytes to a new file and rename it over p.
def _truncate(p, n):
    f = open(p, "r+b")
    try:
        f.truncate(n)
        return
    except AttributeError:
        pass
    finally:
        f.close()
    src = open(p, "rb")
    dst = open(p + "~", "wb")
    buf = bytearray(512)
    mv = memoryview(buf)
    while n > 0:
        k = src.readinto(mv[: min(n, 512)])
        if not k:
            break
        dst.write(mv[:k])
        n -= k
    src.close()
    dst.close()
    os.rename(p + "~", p)
