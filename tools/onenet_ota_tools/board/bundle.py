# App bundles: the agent's compiled .mpy files in one small container that a file sink
# can store and a few lines of MicroPython can unpack (no tar, no zlib needed).
#
# Format "OTAB" version 1, all integers little-endian:
#   0   4  magic b"OTAB"
#   4   2  version (1)
#   6   2  count: number of entries
#   8   .. count entries: u8 name_len, name (UTF-8 device path, e.g.
#          "lib/onenet_ota/api.mpy", no leading "/", no ".."), u32 size, 16-byte MD5
#   ..  .. the files' bytes, in entry order, back to back
# The whole bundle's MD5 is what the OneNET console gets; each entry's MD5 lets the
# unpacker check every file before it renames it into place.
import hashlib
import struct

MAGIC = b"OTAB"
VERSION = 1


def pack(files):
    # files: [(device_path, bytes)] -> the bundle bytes.
    head = [MAGIC, struct.pack("<HH", VERSION, len(files))]
    for name, data in files:
        n = name.encode("utf-8")
        if not n or len(n) > 255 or n.startswith(b"/") or b".." in n.split(b"/"):
            raise ValueError("bad bundle path %r" % name)
        head += [struct.pack("<B", len(n)), n, struct.pack("<I", len(data)), hashlib.md5(data).digest()]
    return b"".join(head + [data for _, data in files])


def unpack(blob):
    # bundle bytes -> [(device_path, bytes)]; raises ValueError on a malformed bundle.
    if blob[:4] != MAGIC:
        raise ValueError("not an OTAB bundle")
    version, count = struct.unpack_from("<HH", blob, 4)
    if version != VERSION:
        raise ValueError("OTAB version %d not supported" % version)
    off, entries = 8, []
    for _ in range(count):
        n = blob[off]
        name = blob[off + 1 : off + 1 + n].decode("utf-8")
        size, = struct.unpack_from("<I", blob, off + 1 + n)
        md5 = blob[off + 5 + n : off + 21 + n]
        entries.append((name, size, md5))
        off += 21 + n
    out = []
    for name, size, md5 in entries:
        data = blob[off : off + size]
        if len(data) != size or hashlib.md5(data).digest() != md5:
            raise ValueError("bundle entry %s is truncated or corrupt" % name)
        out.append((name, data))
        off += size
    if off != len(blob):
        raise ValueError("%d trailing bytes after the bundle" % (len(blob) - off))
    return out
