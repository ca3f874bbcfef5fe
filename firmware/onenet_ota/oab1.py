# The OAB1 app-bundle format (docs/app-bundles.md; tools/onenet_ota_tools/appbundle.py
# builds it) read as a stream: `Oab1` parses the bundle's non-data bytes (its header,
# manifest, each file's entry) one piece at a time, whole in a preallocated buffer of
# PIECE bytes. The sink that unpacks a bundle (sink_app.AppSink) subclasses it and gives
# it `_hb` (the buffer), `size` (the bundle's), `_openfile(path, at)` (a file's data
# begins) and `_end_file()` (its data ended: close it, then `_next()`). `verify`: a
# bundle's files, unpacked, read back against their digests.
from . import digest
from .errors import BadImage, const

HDR = const(16)  # "OAB1", u16 files, u16 manifest length, 8 bytes reserved (0)
ENT = const(24)  # u32 size, md5[16], u8 path length, u8 flags (0), u16 reserved (0)
_MAXMAN = const(255)
_MAXPATH = const(64)
PIECE = const(HDR + _MAXMAN + ENT + _MAXPATH)  # one header piece at most (the buffer)
_MAXFILES = const(256)
_S_HDR = const(0)
_S_MAN = const(1)
_S_ENT = const(2)
_S_PATH = const(3)
S_DATA = const(4)  # in a file's data (the sink writes it)
S_END = const(5)  # after the last file
_NAME = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"


def u16(b, i):
    return b[i] | b[i + 1] << 8


def u32(b, i):
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


class Oab1:
    def _reset(self):
        self._st = _S_HDR
        self._hn = 0
        self._need = HDR
        self._left = 0
        self._files = 0

    # One header piece is whole in _hb[:_need].
    def _header(self, replay):
        b = self._hb
        st = self._st
        if st == _S_HDR:
            if b[0:4] != b"OAB1":
                raise BadImage("not an app bundle (no OAB1 header)")
            self._files = u16(b, 4)
            m = u16(b, 6)
            if not 0 < self._files <= _MAXFILES or not 0 < m <= _MAXMAN:
                raise BadImage("app bundle header out of range")
            self._st = _S_MAN
            self._need = HDR + m
        elif st == _S_MAN:
            self._manifest(bytes(b[HDR : self._need]))
            self._next()
        elif st == _S_ENT:
            self._left = u32(b, 0)
            n = b[20]
            if not 0 < n <= _MAXPATH or self._left > self.size:
                raise BadImage("app bundle entry out of range")
            self._st = _S_PATH
            self._need = ENT + n
        else:  # _S_PATH
            try:
                p = bytes(b[ENT : self._need]).decode()
            except UnicodeError:
                raise BadImage("bad file name in bundle")
            _check_path(p)
            self._path = p
            self._st = S_DATA
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
            self._need = ENT
        else:
            self._st = S_END
            self._need = 0

    def _sizeof(self):  # the current entry's file size
        return u32(self._hb, 0)


# Every file of the bundle unpacked in folder d read back against its entry's md5 in
# d/.idx (what the flash holds, not what came in).
def verify(d):
    f = open(d + "/.idx", "rb")
    ib = f.read()
    f.close()
    buf = bytearray(512)
    mv = memoryview(buf)
    ip = HDR + u16(ib, 6)
    while ip < len(ib):
        size = u32(ib, ip)
        n = ib[ip + 20]
        path = bytes(ib[ip + ENT : ip + ENT + n]).decode()
        md = digest.new("md5")
        f = open(d + "/" + path, "rb")
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
        ip += ENT + n
