# The resume record: one small text file of key=value lines, the last line
# "crc=<8 hex>" (CRC-32 of every byte before it). save() writes path + ".tmp" and
# renames it over path, so the file is always the old record or the new one. load()
# trusts nothing: a torn file, a wrong CRC, a missing or unknown key, a value out of
# range gives None (and the file is removed), never an exception.
#
# All file changes go through _write(), _rename() and _remove() below, looked up at
# call time: the shim's ota_shim.count_fs(journal) wraps them to count them as flash
# operations and to cut power in the middle of one.
import os

from .board import read_into, write_file
from .errors import const
from .fmt import put_int

try:
    from binascii import crc32 as _crc32
except ImportError:  # nRF52832 builds may lack it
    _crc32 = None

_MAX = const(320)  # bytes a record may take (the longest valid one is ~280)
_INTS = ("seq", "size", "offset", "task_type", "retries", "boots")
_STRS = ("state", "token", "md5", "target", "from_ver", "slot")
# slot: the flash slot the package is written to ("" where the board has none); a
# record of an older agent without it still loads (an update must not lose its confirm).
FIELDS = ("seq", "state", "token", "md5", "size", "target", "offset", "from_ver", "task_type", "retries",
          "boots", "slot")
_OPTIONAL = ("slot",)
STATES = ("dl", "ready", "applied")
_HEX = "0123456789abcdef"
_TOKEN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_VER = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-."  # a literal: frozen, no RAM


# CRC-32 (IEEE, as binascii.crc32 and zlib): the port's, or a nibble-table fallback
# that gives the same value.
_T = (
    0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4, 0x4DB26158, 0x5005713C,
    0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C, 0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C,
)


def crc32(data, crc=0):
    if _crc32 is not None:
        return _crc32(data, crc) & 0xFFFFFFFF
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        crc = (crc >> 4) ^ _T[crc & 15]
        crc = (crc >> 4) ^ _T[crc & 15]
    return crc ^ 0xFFFFFFFF


def _write(path, data):
    write_file(path, data, "w")


def _rename(src, dst):
    os.rename(src, dst)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _read(path, mv):
    # up to _MAX + 1 bytes into mv (the agent's buffer) -> how many; -1: no file
    return read_into(path, mv[: _MAX + 1])


def _only(s, chars, lo, hi):
    if not lo <= len(s) <= hi:
        return False
    for c in s:
        if c not in chars:
            return False
    return True


# FIELDS' keys as written (literals, so frozen they stay in flash; test_layout checks them)
_KEYS = (b"seq=", b"state=", b"token=", b"md5=", b"size=", b"target=", b"offset=", b"from_ver=",
         b"task_type=", b"retries=", b"boots=", b"slot=")
_HEXB = b"0123456789abcdef"


def _put(buf, p, b):
    e = p + len(b)
    if e > _MAX - 14:  # room for the crc line
        raise ValueError("journal record too long")
    buf[p:e] = b
    return e


# The record as a dict, or None when data (bytes, bytearray or memoryview) is not a
# whole, valid record. Read in place: only the values become objects (a copy of the
# record, or of its text, would want a ~300-byte run of a heap in pieces).
def parse(data):
    n = len(data)
    if not 13 <= n <= _MAX or data[n - 1] != 10:
        return None
    d = memoryview(data)
    i = n - 13  # the last line: "crc=" 8 hex digits LF
    if d[i : i + 4] != b"crc=" or (i and d[i - 1] != 10):
        return None
    crc = crc32(d[:i])
    for k in range(8):
        if d[i + 4 + k] != _HEXB[(crc >> (28 - 4 * k)) & 15]:
            return None
    rec = {}
    p = 0
    while p < i:
        e = p
        while d[e] != 10:  # the crc line's LF is before i: d[i - 1]
            e += 1
        j = p
        while j < e and d[j] != 61:  # '='
            j += 1
        key = d[p : j + 1]
        k = 0
        while k < len(_KEYS) and key != _KEYS[k]:
            k += 1
        if j == e or k == len(_KEYS) or FIELDS[k] in rec:
            return None
        try:
            v = str(d[j + 1 : e], "utf-8")
        except (UnicodeError, ValueError):
            return None
        k = FIELDS[k]
        if k in _INTS:
            if not _only(v, "0123456789", 1, 10):
                return None
            v = int(v)
        rec[k] = v
        p = e + 1
    for k in _OPTIONAL:
        if k not in rec:
            rec[k] = ""
    if len(rec) != len(FIELDS):
        return None
    if rec["state"] not in STATES or rec["offset"] > rec["size"]:
        return None
    if not _only(rec["md5"], _HEX, 32, 32) or not _only(rec["token"], _TOKEN, 1, 64):
        return None
    if not _only(rec["target"], _VER, 1, 20) or not _only(rec["from_ver"], _VER, 0, 20):
        return None
    if not _only(rec["slot"], _TOKEN, 0, 16):
        return None
    return rec


# The record's bytes (see Journal._encode).
def encode(rec):
    j = Journal("")
    return bytes(j._mv[: j._encode(rec)])


class Journal:
    # buf: where records are formatted and read (the agent's chunk buffer, idle between
    # chunks: a record is written or read within one call), else one of its own.
    def __init__(self, path, buf=None):
        self.path = path
        self._tmp = path + ".tmp"
        self.seq = 0
        self._buf = buf if buf is not None and len(buf) >= _MAX else bytearray(_MAX)
        self._mv = memoryview(self._buf)

    # Format rec into the preallocated buffer -> length. Saved every few chunks, so
    # no string building: numbers are written digit by digit, strings character by
    # character (printable ASCII only; no copy of them is kept or made).
    def _encode(self, rec):
        buf = self._buf
        p = 0
        for i in range(len(FIELDS)):
            k = FIELDS[i]
            v = rec.get(k, "") if k in _OPTIONAL else rec[k]
            p = _put(buf, p, _KEYS[i])
            if k in _INTS:
                if not isinstance(v, int) or v < 0:
                    raise ValueError(k)
                p = put_int(buf, p, v, _MAX - 14)
            else:
                n = len(v)
                if p + n > _MAX - 14:  # room for the crc line
                    raise ValueError("journal record too long")
                for j in range(n):
                    c = ord(v[j])
                    if c < 32 or c > 126 or c == 61:  # '=', a line break, not ASCII
                        raise ValueError(k)
                    buf[p + j] = c
                p += n
            buf[p] = 10
            p += 1
        crc = crc32(self._mv[:p])
        p = _put(buf, p, b"crc=")
        for sh in range(28, -4, -4):
            buf[p] = _HEXB[(crc >> sh) & 15]
            p += 1
        buf[p] = 10
        return p + 1

    # The saved record, or None (nothing saved, or a record that does not validate:
    # then the file is removed).
    def load(self):
        p = self.path
        n = _read(p, self._mv)
        if n < 0:
            # a port whose rename cannot replace (FAT) removes first: the new record
            # may be only in the .tmp file
            p += ".tmp"
            n = _read(p, self._mv)
            if n < 0:
                return None
        rec = parse(self._mv[:n])  # None beyond _MAX too
        if rec is None:
            _remove(p)
            return None
        self.seq = rec["seq"]
        return rec

    # Save rec (every field of FIELDS) atomically with seq bumped; returns the seq.
    def save(self, rec):
        rec["seq"] = max(self.seq, rec.get("seq", 0)) + 1
        tmp = self._tmp
        _write(tmp, self._mv[: self._encode(rec)])
        try:
            _rename(tmp, self.path)
        except OSError:
            # VfsFat's rename does not replace an existing file
            _remove(self.path)
            _rename(tmp, self.path)
        self.seq = rec["seq"]
        return self.seq

    def clear(self):
        _remove(self.path)
        _remove(self.path + ".tmp")
        self.seq = 0
