# Application bundles "OAB1" (docs/app-bundles.md): what `onenet-ota package --app DIR`
# builds and firmware/onenet_ota/sink_app.py unpacks while it downloads. All integers
# little-endian:
#   bundle header (16): b"OAB1", u16 files (1..256), u16 manifest length (1..255),
#                       8 bytes 0
#   manifest:           "key=value\n" lines: version=, entry= (required), board=
#   per file, in order: u32 size, md5 (16), u8 path length (1..64), u8 flags (0),
#                       u16 0, path (UTF-8, "/"-separated, relative), the file's bytes
# Each piece that is not file data fits one 344-byte buffer, so a device unpacks the
# stream with one preallocated header buffer and writes data straight from its
# download buffer.
import hashlib
import os
import re
import struct

MAGIC = b"OAB1"
MAX_FILES = 256
MAX_MANIFEST = 255
MAX_PATH = 64
_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class BundleError(ValueError):
    pass


def check_path(p):
    if not p or len(p.encode()) > MAX_PATH or p.startswith("/") or p.endswith("/"):
        raise BundleError("bad bundle path %r (1..%d characters, relative)" % (p, MAX_PATH))
    for part in p.split("/"):
        if not _PART.match(part):
            raise BundleError("bad bundle path %r (parts of A-Z a-z 0-9 _ . -, no dot files, no ..)" % p)


def pack(files, version, entry, board=None):
    # files: [(path, bytes)] -> the bundle bytes.
    if not files or len(files) > MAX_FILES:
        raise BundleError("a bundle holds 1..%d files" % MAX_FILES)
    for k, v in (("version", version), ("entry", entry)):
        if not v or not _NAME.match(v) or (k == "version" and len(v) > 20):
            raise BundleError("%s %r: 1..%d of A-Z a-z 0-9 _ . -" % (k, v, 20 if k == "version" else 32))
    man = "version=%s\nentry=%s\n" % (version, entry)
    if board:
        man += "board=%s\n" % board
    man = man.encode()
    if len(man) > MAX_MANIFEST:
        raise BundleError("manifest too long")
    out = [MAGIC, struct.pack("<HH", len(files), len(man)), bytes(8), man]
    seen = set()
    for path, data in files:
        check_path(path)
        if path in seen:
            raise BundleError("%s twice in the bundle" % path)
        seen.add(path)
        p = path.encode()
        out += [struct.pack("<I", len(data)), hashlib.md5(data).digest(), struct.pack("<BBH", len(p), 0, 0), p, data]
    return b"".join(out)


def unpack(blob):
    # -> (manifest dict, [(path, bytes)]); BundleError on anything malformed.
    if blob[:4] != MAGIC or len(blob) < 16:
        raise BundleError("not an OAB1 app bundle")
    n, mlen = struct.unpack_from("<HH", blob, 4)
    if not 0 < n <= MAX_FILES or not 0 < mlen <= MAX_MANIFEST:
        raise BundleError("header out of range")
    man = dict(l.split("=", 1) for l in blob[16 : 16 + mlen].decode().splitlines() if "=" in l)
    off = 16 + mlen
    files = []
    for _ in range(n):
        if off + 24 > len(blob):
            raise BundleError("truncated entry")
        size = struct.unpack_from("<I", blob, off)[0]
        md5 = blob[off + 4 : off + 20]
        plen = blob[off + 20]
        path = blob[off + 24 : off + 24 + plen].decode()
        check_path(path)
        off += 24 + plen
        data = blob[off : off + size]
        if len(data) != size or hashlib.md5(data).digest() != md5:
            raise BundleError("%s: size or digest wrong" % path)
        files.append((path, data))
        off += size
    if off != len(blob):
        raise BundleError("%d bytes after the last file" % (len(blob) - off))
    return man, files


def collect(folder):
    # The files of an app folder: [(relative path, absolute path)], sorted; caches and
    # dot files left out.
    out = []
    for d, dirs, names in os.walk(folder):
        dirs[:] = sorted(x for x in dirs if not x.startswith(".") and x != "__pycache__")
        for name in sorted(names):
            if name.startswith(".") or name.endswith((".pyc", "~")):
                continue
            full = os.path.join(d, name)
            out.append((os.path.relpath(full, folder).replace(os.sep, "/"), full))
    return out


def build(folder, version, entry=None, board=None, march=None, compile_py=True, mpy_cross=None, run=None):
    # Bundle of an app folder: every .py compiled to .mpy (except main.py/boot.py,
    # which the port runs as source) with the project's mpy-cross for the board's
    # -march. entry: the module apprun imports (default: "app" if app.py is there,
    # else the only top-level module). Returns (bundle bytes, manifest, [paths]).
    files = collect(folder)
    if not files:
        raise BundleError("%s: no files" % folder)
    tops = [p[:-3] for p, _ in files if "/" not in p and p.endswith(".py") and p not in ("main.py", "boot.py")]
    tops += [p[:-4] for p, _ in files if "/" not in p and p.endswith(".mpy")]
    if entry is None:
        if "app" in tops:
            entry = "app"
        elif len(tops) == 1:
            entry = tops[0]
        else:
            raise BundleError("which module is the app's entry? (--entry; found %s)" % ", ".join(sorted(tops)) or "none")
    if entry not in tops:
        raise BundleError("entry module %r: no %s.py or %s.mpy at the top of %s" % (entry, entry, entry, folder))
    out = []
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for rel, full in files:
            if compile_py and rel.endswith(".py") and rel not in ("main.py", "boot.py"):
                dst = os.path.join(tmp, rel[:-3] + ".mpy")
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                argv = [mpy_cross or "mpy-cross"]
                if march:
                    argv.append("-march=" + march)
                argv += ["-s", rel, "-o", dst, full]
                run(argv)
                with open(dst, "rb") as f:
                    out.append((rel[:-3] + ".mpy", f.read()))
            else:
                with open(full, "rb") as f:
                    out.append((rel, f.read()))
    blob = pack(out, version, entry, board)
    return blob, {"version": version, "entry": entry, "board": board}, [p for p, _ in out]
