# App sink: an application bundle (docs/app-bundles.md) streamed straight into the
# folder of the NEXT app (<root>/a or <root>/b, never the running one), unpacked as it
# arrives through the caller's memoryview: nothing buffered but one header (<= 344
# bytes, preallocated). The bundle's non-data bytes (its header, manifest, each file's
# entry) are appended to <slot>/.idx as they come, so the bundle can be read back
# (readinto: the resume re-hash, the md5 check) and a resume replays the parser to the
# journal's offset from .idx and the files' sizes. commit() re-reads every file
# against its digest, writes <slot>/.app (entry, version), then switches with ONE
# pointer write (apprun.save: the new app "on trial"). The bundle's parser and its
# check: oab1.py; the board of an app (versions, confirm, rollback): app_board.py.
import os

from . import apprun
from .errors import BadImage, NoSpace
from .oab1 import ENT, HDR, PIECE, S_DATA, S_END, Oab1, u16, u32, verify


# Every filesystem change goes through these (the shim counts them and cuts power in
# one: a cut _append lands its first half, a cut rename or remove does not happen).
def _write(path, data):
    f = open(path, "wb")
    try:
        f.write(data)
    finally:
        f.close()


def _append(f, mv):
    f.write(mv)


# Opening for writing creates or truncates a file: an operation of its own.
def _open(path, mode):
    return open(path, mode)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _rmdir(path):
    try:
        os.rmdir(path)
    except OSError:
        pass


def _mkdir(path):
    try:
        os.mkdir(path)
    except OSError:
        pass


def _size(p):
    try:
        return os.stat(p)[6]
    except OSError:
        return -1


# Keep the first n bytes of path: copied through a small buffer into path + "~", then
# put in its place (FAT's rename will not replace a file: remove first). A cut before the
# rename leaves no .idx: the next resume starts the app folder again, never a torn one.
def _keep(path, n):
    tmp = path + "~"
    buf = bytearray(64)
    src = open(path, "rb")
    dst = _open(tmp, "wb")
    try:
        while n:
            k = src.readinto(memoryview(buf)[: n if n < 64 else 64])
            if not k:
                break
            _append(dst, memoryview(buf)[:k])
            n -= k
    finally:
        src.close()
        dst.close()
    _remove(path)
    os.rename(tmp, path)


def _isdir(p):
    try:
        return os.stat(p)[0] & 0x4000 != 0
    except OSError:
        return False


def _wipe(d):
    try:
        names = os.listdir(d)
    except OSError:
        return
    for n in names:
        p = d + "/" + n
        if _isdir(p):
            _wipe(p)
            _rmdir(p)
        else:
            _remove(p)


def _used(d):
    n = 0
    try:
        names = os.listdir(d)
    except OSError:
        return 0
    for name in names:
        p = d + "/" + name
        n += _used(p) if _isdir(p) else max(_size(p), 0)
    return n


def _flush(f):
    f.flush()
    try:
        os.fsync(f.fileno())  # CPython; MicroPython's flush() is enough
    except (AttributeError, OSError):
        pass


class AppSink(Oab1):
    def __init__(self, root="apps", capacity=0, max_boots=3):
        self.root = root
        p, _ = apprun.pointer(root)
        self.cur = p[1] if p else "-"
        # Never the running app; while an app is on trial, not its way back either.
        self.slot = "b" if self.cur == "a" else "a"
        self._held = p is not None and p[3] == "new" and p[2] == self.slot
        self.dir = root + "/" + self.slot
        self.max_boots = max_boots
        if not capacity:
            # the free space, plus what the next folder holds now (a partial download
            # being resumed, or the app it replaces): begin() reuses or frees it
            try:
                st = os.statvfs(root)
                capacity = st[0] * st[4] + _used(self.dir)
            except (OSError, AttributeError):
                capacity = 1 << 30
        self.capacity = capacity
        self.size = 0
        self.off = 0
        self._hb = bytearray(PIECE)  # one header piece
        self._f = None
        self._idx = None
        self._ib = None  # .idx read back (readinto), dropped when writing
        self._rf = None  # the file readinto reads, and its path
        self._rp = None
        self.entry = self.version = None

    # -- the parser's hooks (oab1.Oab1) ---------------------------------------------
    def _end_file(self):
        if self._f is not None:
            self._f.close()
            self._f = None
        self._next()

    def _openfile(self, p, at):
        fp = self.dir + "/" + p
        i = p.find("/")
        while i > 0:  # the parent folders
            _mkdir(self.dir + "/" + p[:i])
            i = p.find("/", i + 1)
        if at:
            from .sink_file import _truncate

            if _size(fp) > at:
                _truncate(fp, at)
            self._f = _open(fp, "r+b")
            self._f.seek(at)
        else:
            self._f = _open(fp, "wb")

    # -- the sink interface --------------------------------------------------------
    def begin(self, size, offset=0):
        if size > self.capacity:
            raise NoSpace("bundle %d > capacity %d" % (size, self.capacity))
        if offset < 0 or offset > size:
            raise ValueError("offset")
        if self._held:
            raise NoSpace("the other app folder holds the app on trial's way back")
        self._close()
        self._ib = None
        self.size = size
        self._reset()
        _mkdir(self.root)
        idx = self.dir + "/.idx"
        if offset:
            offset = self._replay(idx, offset)
        if not offset:
            _wipe(self.dir)
            _mkdir(self.dir)
            self._reset()
            self._idx = _open(idx, "wb")
        self.off = offset
        return offset

    # Run the parser over what the folder holds, up to offset -> where writing resumes
    # (offset, or less where .idx or a file is shorter: a power cut before the flush).
    def _replay(self, idx, offset):
        # .idx is read piece by piece into the header buffer: a resume allocates no more
        # than a whole-bundle read would need for one header (a 24 KiB heap has no room
        # for all 256 entries' worth at once).
        n_idx = _size(idx)
        try:
            f = open(idx, "rb")
        except OSError:
            return 0
        pos = ip = 0
        hb = self._hb
        try:
            while pos < offset:
                st = self._st
                if st == S_DATA:
                    have = _size(self.dir + "/" + self._path)
                    k = self._left
                    if k > offset - pos:
                        k = offset - pos
                    if k > have:
                        k = have if have > 0 else 0
                    pos += k
                    self._left -= k
                    if self._left:
                        break
                    self._end_file()
                elif st == S_END or ip >= n_idx:
                    break
                else:
                    k = self._need - self._hn
                    if k > n_idx - ip:
                        k = n_idx - ip
                    if k > offset - pos:
                        k = offset - pos
                    if f.readinto(memoryview(hb)[self._hn : self._hn + k]) != k:
                        break
                    self._hn += k
                    ip += k
                    pos += k
                    if self._hn == self._need:
                        self._header(True)
        except BadImage:
            return 0
        finally:
            f.close()
        if pos == 0:
            return 0
        if ip < n_idx:
            _keep(idx, ip)
        self._idx = _open(idx, "ab")
        if self._st == S_DATA:
            self._openfile(self._path, self._sizeof() - self._left)
        return pos

    def write(self, mv):
        n = len(mv)
        if self.off + n > self.size:
            raise ValueError("write past size")
        if self._ib is not None:
            self._ib = None
            self._rclose()
        i = 0
        hb = self._hb
        while i < n:
            st = self._st
            if st == S_DATA:
                k = self._left if self._left < n - i else n - i
                _append(self._f, mv if k == n else mv[i : i + k])
                self._left -= k
                i += k
                self.off += k
                if not self._left:
                    self._end_file()
            elif st == S_END:
                raise BadImage("bytes after the last file of the bundle")
            else:
                k = self._need - self._hn
                if k > n - i:
                    k = n - i
                v = mv[i : i + k]
                hb[self._hn : self._hn + k] = v
                _append(self._idx, v)
                self._hn += k
                i += k
                self.off += k
                if self._hn == self._need:
                    self._header(False)

    def flush(self):
        if self._f is not None:
            _flush(self._f)
        if self._idx is not None:
            _flush(self._idx)

    # Read the bundle back from .idx and the files (the resume re-hash, the md5 check
    # of a "ready" journal): the segments in order, header bytes from .idx, data from
    # the files; -> the bytes read (fewer where the folder holds less).
    def readinto(self, offset, buf):
        ib = self._ib
        if ib is None:
            self.flush()
            try:
                f = open(self.dir + "/.idx", "rb")
            except OSError:
                return 0
            try:
                ib = f.read()
            finally:
                f.close()
            self._ib = ib
        L = len(ib)
        mv = memoryview(buf)
        end = offset + len(buf)
        got = 0
        pos = ip = 0
        seg = HDR + u16(ib, 6) if L >= HDR else HDR
        while pos < end:
            have = seg if seg <= L - ip else L - ip
            a = pos if pos > offset else offset
            b = pos + have if pos + have < end else end
            if a < b:
                mv[a - offset : b - offset] = ib[ip + a - pos : ip + b - pos]
                got += b - a
            if have < seg:
                break
            e = ip
            pos += seg
            ip += seg
            if e:  # an entry header: its data
                size = u32(ib, e)
                a = pos if pos > offset else offset
                b = pos + size if pos + size < end else end
                if a < b:
                    f = self._reader(bytes(ib[e + ENT : ip]).decode())
                    f.seek(a - pos)
                    k = f.readinto(mv[a - offset : b - offset]) or 0
                    got += k
                    if k < b - a:
                        break
                pos += size
            if ip >= L:
                break
            seg = ENT + ib[ip + 20] if ip + 21 <= L else ENT
        return got

    def _rclose(self):
        if self._rf is not None:
            self._rf.close()
        self._rf = self._rp = None

    def _reader(self, path):
        if self._rp != path:
            if self._rf is not None:
                self._rf.close()
            self._rf = None
            self._rf = open(self.dir + "/" + path, "rb")
            self._rp = path
        return self._rf

    def commit(self):
        if self._st != S_END or self.off != self.size or self._idx is None:
            raise BadImage("app bundle incomplete")
        self.flush()
        self._close()
        verify(self.dir)
        _write(self.dir + "/.app", ("%s\n%s\n" % (self.entry, self.version)).encode())
        apprun.save(self.root, self.slot, self.cur, "new", 0, self.max_boots)

    def abort(self):
        self._close()
        if not self._held:
            _wipe(self.dir)

    def _close(self):
        for f in (self._f, self._idx, self._rf):
            if f is not None:
                f.close()
        self._f = self._idx = self._rf = self._rp = None
