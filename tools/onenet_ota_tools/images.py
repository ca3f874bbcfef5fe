"""ESP32 app images for tests and demos (host side, CPython).

`make_app_image` builds a valid ESP32 application image (what an OTA slot holds, like
MicroPython's `micropython.bin`): 24-byte header (magic 0xE9, segment count, flash
mode/size, entry point, extended header with chip id, chip revision range v0.0..v3.99
and hash_appended=1), segments (the first one a flash-mapped DROM segment starting with
the 256-byte esp_app_desc_t, magic 0xABCD5432 at file offset 32, version at offset 48),
padding, the XOR checksum byte (seed 0xEF) at the end of a 16-byte block, then the
SHA-256 of everything before. esptool's own parser accepts it
(`esptool.bin_image.LoadFirmwareImage`).

Like a stock MicroPython build (`CONFIG_APP_EXCLUDE_PROJECT_VER_VAR=y` in
ports/esp32/boards/sdkconfig.base) the descriptor's version is **empty** unless
`embed_version=True`: which image runs must come from the running slot, never from a
version string in the image. `version` still seeds the bytes, so two versions differ.

`parse_app_image` is the host-side check matching what the shim's set_boot() does.
"""
import hashlib
import random
import struct

MAGIC = 0xE9
APP_DESC_MAGIC = 0xABCD5432
CHECKSUM_SEED = 0xEF
CHIP_IDS = {"esp32": 0, "esp32s2": 2, "esp32c3": 5, "esp32s3": 9, "esp32c2": 12, "esp32c6": 13, "esp32h2": 16}

_DROM = 0x3F400020  # flash-mapped data; file offset of its data is 0x20 (64 KiB rule)
_DRAM = 0x3FFB0000
_IRAM = 0x40080000
_ENTRY = 0x40081000
_DESC_LEN = 256


def _app_desc(version, project="micropython"):
    v = version.encode()
    if len(v) > 31:
        raise ValueError("version: at most 31 bytes")
    return struct.pack(
        "<II8s32s32s16s16s32s32s80s",
        APP_DESC_MAGIC,
        0,  # secure_version
        b"",
        v,
        project.encode(),
        b"00:00:00",
        b"Jan  1 2025",
        b"v5.2.2",
        b"\x00" * 32,
        b"",
    )


def _pad4(b):
    return b + b"\x00" * (-len(b) % 4)


def make_app_image(size, version="", chip_id=0, seed=0, hash_appended=True, embed_version=False,
                   min_rev=0, max_rev=399, segments=None):
    """A valid app image of about `size` bytes (within 64; at least ~480), the same
    bytes for the same arguments. The app descriptor's version is empty (stock build)
    unless embed_version; min_rev/max_rev: the chip revisions it runs on (major*100 +
    minor); segments: [(load address, length)] after the DROM one instead of the
    default DRAM + IRAM pair (e.g. a bad address for the bootloader to refuse)."""
    rnd = random.Random("%s/%s" % (seed, version) if version and not embed_version else seed)
    small = 64  # DRAM and IRAM segments: small, like a real image's tail
    overhead = 24 + 3 * 8 + 2 * small + 16 + (32 if hash_appended else 0)
    body = max(0, size - overhead - _DESC_LEN)
    drom = _pad4(_app_desc(version if embed_version else "") + rnd.randbytes(body))
    tail = segments or [(_DRAM, small), (_IRAM, small)]
    segs = [(_DROM, drom)] + [(a, rnd.randbytes(n)) for a, n in tail]
    hdr = struct.pack("<BBBBI", MAGIC, len(segs), 2, 0x20, _ENTRY)
    # extended header: wp_pin, 3 drive bytes, chip id, min_rev (legacy, whole numbers),
    # min/max rev full, 4 reserved, hash_appended
    hdr += struct.pack("<B3sHBHH4sB", 0xEE, b"\x00\x00\x00", chip_id, min_rev // 100, min_rev, max_rev, b"",
                       1 if hash_appended else 0)
    out = bytearray(hdr)
    csum = CHECKSUM_SEED
    for addr, data in segs:
        out += struct.pack("<II", addr, len(data))
        out += data
        for b in data:
            csum ^= b
    out += b"\x00" * (15 - len(out) % 16)
    out.append(csum)
    if hash_appended:
        out += hashlib.sha256(out).digest()
    return bytes(out)


def parse_app_image(data):
    """Parse and check an app image: dict with chip_id, segments [(addr, len)], version,
    project, checksum_ok, sha_ok (None when no hash is appended), valid, length, and
    error (None or the first problem found)."""
    r = {
        "chip_id": None,
        "segments": [],
        "version": None,
        "project": None,
        "checksum_ok": False,
        "sha_ok": None,
        "valid": False,
        "length": None,
        "error": None,
    }

    def fail(msg):
        r["error"] = msg
        return r

    data = bytes(data)
    if len(data) < 24:
        return fail("short")
    magic, nseg = data[0], data[1]
    if magic != MAGIC:
        return fail("magic")
    r["chip_id"] = data[12] | data[13] << 8
    if not 1 <= nseg <= 16:
        return fail("segment count")
    if data[23] > 1:
        return fail("hash_appended")
    pos = 24
    csum = CHECKSUM_SEED
    for _ in range(nseg):
        if pos + 8 > len(data):
            return fail("segment past end")
        addr, n = struct.unpack_from("<II", data, pos)
        pos += 8
        if n % 4 or pos + n > len(data):
            return fail("segment length")
        r["segments"].append((addr, n))
        for b in data[pos : pos + n]:
            csum ^= b
        pos += n
    end = pos | 15
    if end >= len(data):
        return fail("checksum past end")
    r["checksum_ok"] = data[end] == csum
    pos = end + 1
    if data[23] == 1:
        if pos + 32 > len(data):
            return fail("hash past end")
        r["sha_ok"] = hashlib.sha256(data[:pos]).digest() == data[pos : pos + 32]
        pos += 32
    r["length"] = pos
    if len(data) >= 32 + _DESC_LEN and struct.unpack_from("<I", data, 32)[0] == APP_DESC_MAGIC:
        r["version"] = data[48:80].split(b"\x00")[0].decode("latin-1")
        r["project"] = data[80:112].split(b"\x00")[0].decode("latin-1")
    if not r["checksum_ok"]:
        return fail("checksum")
    if r["sha_ok"] is False:
        return fail("sha256")
    r["valid"] = True
    return r


def sample_images():
    """Named images for tests: a valid one and ways to be wrong (name -> bytes)."""
    a = make_app_image(20000, "2.0.0", seed=1)
    imgs = {
        "img_a.bin": a,
        "img_b.bin": make_app_image(9000, "2.1.0", seed=2),
        "img_chip5.bin": make_app_image(20000, "2.0.0", chip_id=5, seed=1),
        "img_trunc.bin": a[:15000],
        # the bootloader's other checks: chip revision and load addresses
        "img_rev4.bin": make_app_image(9000, "2.0.0", seed=3, min_rev=400, max_rev=499),
        "img_rev1max.bin": make_app_image(9000, "2.0.0", seed=3, min_rev=0, max_rev=199),
        "img_badaddr.bin": make_app_image(9000, "2.0.0", seed=3, segments=[(0x3FFB0000, 64), (0x20000000, 64)]),
        "img_iram_over.bin": make_app_image(9000, "2.0.0", seed=3, segments=[(0x4009FFF0, 64)]),
    }

    def bad(name, i, value=None, xor=0):
        b = bytearray(a)
        b[i] = value if value is not None else b[i] ^ xor
        imgs[name] = bytes(b)

    bad("img_bad_sha.bin", -1, xor=1)  # appended SHA-256 wrong
    bad("img_bad_sum.bin", 5000, xor=0x10)  # a payload byte: checksum wrong
    bad("img_noseg.bin", 1, value=0)  # segment count 0
    bad("img_nomagic.bin", 0, value=0xE8)
    bad("img_nodesc.bin", 32, value=0)  # app descriptor magic broken
    return imgs


def write_samples(directory):
    """Write sample_images() into directory; returns the dict."""
    import os

    imgs = sample_images()
    os.makedirs(directory, exist_ok=True)
    for k, v in imgs.items():
        with open(os.path.join(directory, k), "wb") as f:
            f.write(v)
    return imgs
