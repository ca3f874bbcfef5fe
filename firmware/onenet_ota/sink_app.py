# App sink: an application bundle (docs/app-bundles.md) streamed straight into the
# folder of the NEXT app (<root>/a or <root>/b, never the running one), unpacked as it
# arrives through the caller's memoryview: nothing buffered but one header (<= 344
# bytes, preallocated). The bundle's non-data bytes (its header, manifest, each file's
# entry) are appended to <slot>/.idx as they come, so the bundle can be read back
# (readinto: the resume re-hash, the md5 check) and a resume replays the parser to the
# journal's offset from .idx and the files' sizes. commit() re-reads every file
# against its digest, writes <slot>/.app (entry, version), then switches with ONE
# pointer write (apprun.save: the new app "on trial"). AppBoard wraps the board profile
# (any: esp32, nrf52832, gd32, unix): versions and slots come from the apps, confirm
# marks the app kept, rollback goes back to the previous one.
import os
import sys

from . import apprun, digest
from .errors import BadImage, NoSpace, OtaError, const

_HDR = const(16)  # "OAB1", u16 files, u16 manifest length, 8 bytes reserved (0)
_ENT = const(24)  # u32 size, md5[16], u8 path length, u8 flags (0), u16 reserved (0)
_MAXMAN = const(255)
_MAXPATH = const(64)
_MAXFILES = const(256)
_S_HDR = const(0)
_S_MAN = const(1)
_S_ENT = const(2)
_S_PATH = const(3)
_S_DATA = const(4)
_S_END = const(5)
_NAME = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"


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


def _u16(b, i):
    return b[i] | b[i + 1] << 8


def _u32(b, i):
    return b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24


# A bundle path: 1.._MAXPATH of _NAME and "/", no empty, "." or ".." part, no dot file.
def _check_path(p):
    if not p or p[0] == "/" or p[-1] == "/":
        raise BadImage("bad file name in bundle")
    for part in p.split("/"):
        if not part or part[0] == ".":
            raise BadImage("bad file name in bundle")
        for ch in part:
            if ch not in _NAME:
                raise BadImage("bad file name in bundle")


def _flush(f):
    f.flush()
    try:
        os.fsync(f.fileno())  # CPython; MicroPython's flush() is enough
    except (AttributeError, OSError):
        pass


class AppSink:
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
        self._hb = bytearray(_HDR + _MAXMAN + _ENT + _MAXPATH)  # one header piece
        self._f = None
        self._idx = None
        self._ib = None  # .idx read back (readinto), dropped when writing
        self._rf = None  # the file readinto reads, and its path
        self._rp = None
        self.entry = self.version = None

    # -- the parser ---------------------------------------------------------------
    def _reset(self):
        self._st = _S_HDR
        self._hn = 0
        self._need = _HDR
        self._left = 0
        self._files = 0

    # One header piece is whole in _hb[:_need].
    def _header(self, replay):
        b = self._hb
        st = self._st
        if st == _S_HDR:
            if b[0:4] != b"OAB1":
                raise BadImage("not an app bundle (no OAB1 header)")
            self._files = _u16(b, 4)
            m = _u16(b, 6)
            if not 0 < self._files <= _MAXFILES or not 0 < m <= _MAXMAN:
                raise BadImage("app bundle header out of range")
            self._st = _S_MAN
            self._need = _HDR + m
        elif st == _S_MAN:
            self._manifest(bytes(b[_HDR : self._need]))
            self._next()
        elif st == _S_ENT:
            self._left = _u32(b, 0)
            n = b[20]
            if not 0 < n <= _MAXPATH or self._left > self.size:
                raise BadImage("app bundle entry out of range")
            self._st = _S_PATH
            self._need = _ENT + n
        else:  # _S_PATH
            try:
                p = bytes(b[_ENT : self._need]).decode()
            except UnicodeError:
                raise BadImage("bad file name in bundle")
            _check_path(p)
            self._path = p
            self._st = _S_DATA
            if not replay:
                self._openfile(p, 0)
            if not self._left:
                self._end_file()

    def _manifest(self, m):
        entry = version = None
        try:
            t = m.decode()
        except UnicodeError:
            t = ""
        for line in t.split("\n"):
            i = line.find("=")
            if i > 0:
                k, v = line[:i], line[i + 1 :]
                if k == "entry":
                    entry = v
                elif k == "version":
                    version = v
        if not entry or not version or len(entry) > 32 or len(version) > 20:
            raise BadImage("app bundle manifest needs entry= and version=")
        for ch in entry + version:
            if ch not in _NAME:
                raise BadImage("app bundle manifest: bad character")
        self.entry, self.version = entry, version

    def _next(self):
        self._hn = 0
        if self._files:
            self._files -= 1
            self._st = _S_ENT
            self._need = _ENT
        else:
            self._st = _S_END
            self._need = 0

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
                if st == _S_DATA:
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
                elif st == _S_END or ip >= n_idx:
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
        if self._st == _S_DATA:
            self._openfile(self._path, self._sizeof() - self._left)
        return pos

    def _sizeof(self):
        return _u32(self._hb, 0)

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
            if st == _S_DATA:
                k = self._left if self._left < n - i else n - i
                _append(self._f, mv if k == n else mv[i : i + k])
                self._left -= k
                i += k
                self.off += k
                if not self._left:
                    self._end_file()
            elif st == _S_END:
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
        seg = _HDR + _u16(ib, 6) if L >= _HDR else _HDR
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
                size = _u32(ib, e)
                a = pos if pos > offset else offset
                b = pos + size if pos + size < end else end
                if a < b:
                    f = self._reader(bytes(ib[e + _ENT : ip]).decode())
                    f.seek(a - pos)
                    k = f.readinto(mv[a - offset : b - offset]) or 0
                    got += k
                    if k < b - a:
                        break
                pos += size
            if ip >= L:
                break
            seg = _ENT + ib[ip + 20] if ip + 21 <= L else _ENT
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
        if self._st != _S_END or self.off != self.size or self._idx is None:
            raise BadImage("app bundle incomplete")
        self.flush()
        self._close()
        self._verify()
        _write(self.dir + "/.app", ("%s\n%s\n" % (self.entry, self.version)).encode())
        apprun.save(self.root, self.slot, self.cur, "new", 0, self.max_boots)

    # Every file read back against its entry's md5 (what the flash holds, not what
    # came in).
    def _verify(self):
        f = open(self.dir + "/.idx", "rb")
        ib = f.read()
        f.close()
        buf = bytearray(512)
        mv = memoryview(buf)
        ip = _HDR + _u16(ib, 6)
        while ip < len(ib):
            size = _u32(ib, ip)
            n = ib[ip + 20]
            path = bytes(ib[ip + _ENT : ip + _ENT + n]).decode()
            md = digest.new("md5")
            f = open(self.dir + "/" + path, "rb")
            got = 0
            try:
                while True:
                    k = f.readinto(buf)
                    if not k:
                        break
                    md.update(mv[:k] if k < 512 else buf)
                    got += k
            finally:
                f.close()
            if got != size or md.digest() != bytes(ib[ip + 4 : ip + 20]):
                raise BadImage("file %s: digest mismatch" % path)
            ip += _ENT + n

    def abort(self):
        self._close()
        if not self._held:
            _wipe(self.dir)

    def _close(self):
        for f in (self._f, self._idx, self._rf):
            if f is not None:
                f.close()
        self._f = self._idx = self._rf = self._rp = None


class AppBoard:
    # Any board profile, with its app in an app folder: versions, slots, confirm and
    # rollback are the apps'; everything else (network, signal, reset...) the profile's.
    def __init__(self, inner):
        self.b = inner
        self.cfg = inner.cfg
        self.root = inner.cfg["app_root"]
        self.why = ""

    def __getattr__(self, k):
        return getattr(self.b, k)

    def sink(self):
        c = self.cfg
        return AppSink(self.root, c["capacity"], c["max_boots"])

    def sink_slot(self, sink):
        return sink.slot

    def running_slot(self):
        p, _ = apprun.pointer(self.root)
        return p[1] if p else ""

    def image_version(self):
        s = self.running_slot()
        return apprun.manifest(self.root + "/" + s)[1] if s else None

    def running_version(self):
        return self.image_version() or self.b.running_version()

    def applied(self, rec):
        pass

    # The profile's self-test (config self_test), then the app's own: selftest() in
    # its entry module, True within app_selftest_ms, or it fails (why: self.why, for
    # the agent's log; nothing printed: the nRF52832's UART0 may be the modem's).
    def self_test(self):
        self.why = ""
        if not self.b.self_test():
            return False
        s = self.running_slot()
        entry = apprun.manifest(self.root + "/" + s)[0] if s else None
        if not entry:
            self.why = "no app manifest"
            return False
        import time

        d = self.root + "/" + s
        if d not in sys.path:
            sys.path.insert(0, d)
        t0 = time.ticks_ms()
        try:
            m = __import__(entry)
            f = getattr(m, "selftest", None)
            ok = True if f is None else f() is True
        except Exception as e:
            self.why = "%s.selftest raised %s" % (entry, type(e).__name__)
            return False
        ms = time.ticks_diff(time.ticks_ms(), t0)
        if ms > self.cfg["app_selftest_ms"]:
            self.why = "%s.selftest took %d ms (app_selftest_ms %d)" % (entry, ms, self.cfg["app_selftest_ms"])
            return False
        if not ok:
            self.why = "%s.selftest() did not return True" % entry
        return ok

    def confirm(self, rec):
        if self.running_slot() != rec["slot"]:
            raise OtaError("the app on trial is not running")
        apprun.mark(self.root, "ok")

    # The new app must not be kept: back to the previous one (before the reset).
    def rollback(self, rec):
        p, _ = apprun.pointer(self.root)
        if p and p[1] == rec["slot"] and p[3] == "new":
            apprun.mark(self.root, "fail")

    # The loader went back from the package's app (it never confirmed): why, or None.
    def rolled_back(self, rec):
        p, _ = apprun.pointer(self.root)
        if p and p[2] == rec["slot"] and p[3] in ("crash", "fail"):
            return "the new app never confirmed (%s): rolled back" % ("crash loop" if p[3] == "crash" else "self-test")
        return None
