# Validating ESP32-family images with esptool's own parser (esptool.bin_image).
#
# `check_app` accepts only an APP image (micropython.bin, the OTA payload) and rejects the
# merged firmware.bin (bootloader + partition table + app), a wrong chip, a bad magic, a
# missing app descriptor, a bad checksum or SHA-256. `check_merged` is the reverse, for
# `flash`: a full firmware.bin whose partition table has OTA slots.
import hashlib
import struct

from . import ToolError

APP_MAGIC = 0xE9
DESC_MAGIC = 0xABCD5432
PT_MAGIC = b"\xaa\x50"
PT_MD5 = b"\xeb\xeb"
# Where the bootloader sits in flash, so where a merged firmware.bin is written: 0x1000 on
# the ESP32 and ESP32-S2, 0x0 on the newer chips. The partition table is at 0x8000.
BOOTLOADER_AT = {"esp32": 0x1000, "esp32s2": 0x1000}
PT_AT = 0x8000


def chips():
    # {esptool chip name: image chip id}, from esptool's own tables.
    from esptool.targets import CHIP_DEFS

    out = {}
    for name, cls in CHIP_DEFS.items():
        cid = getattr(cls, "IMAGE_CHIP_ID", None)
        if cid is not None and name.startswith("esp32"):
            out[name] = cid
    return out


def chip_name(chip_id):
    for name, cid in chips().items():
        if cid == chip_id:
            return name
    return None


def _cstr(b):
    return b.split(b"\0", 1)[0].decode("utf-8", "replace")


def app_descriptor(data, off=32):
    # esp_app_desc_t at `off`: {version, project, time, date, idf} or None without magic.
    if len(data) < off + 256 or struct.unpack_from("<I", data, off)[0] != DESC_MAGIC:
        return None
    d = data[off : off + 256]
    return {
        "version": _cstr(d[16:48]),
        "project": _cstr(d[48:80]),
        "time": _cstr(d[80:96]),
        "date": _cstr(d[96:112]),
        "idf": _cstr(d[112:144]),
    }


def partition_table(data, at):
    # [(type, subtype, offset, size, label)] of the table at file offset `at`, or None.
    if data[at : at + 2] != PT_MAGIC:
        return None
    out = []
    for off in range(at, min(at + 0xC00, len(data) - 31), 32):
        e = data[off : off + 32]
        if e[:2] == PT_MD5 or e[:2] == b"\xff\xff":
            break
        if e[:2] != PT_MAGIC:
            return None
        t, st, addr, size = struct.unpack_from("<BBII", e, 2)
        out.append((t, st, addr, size, _cstr(e[12:28])))
    return out


def _merged_layout(data):
    # (flash offset of byte 0, table) when data looks like a merged firmware.bin.
    for flash_at in (0x1000, 0x0):
        at = PT_AT - flash_at
        if len(data) > at + 32:
            table = partition_table(data, at)
            if table:
                return flash_at, table
    return None


def check_app(data, chip=None):
    # Validate an ESP app image; returns a dict of facts. Raises ToolError (one line).
    if len(data) < 64:
        raise ToolError("not an ESP app image: %d bytes, shorter than its 64-byte header" % len(data))
    if data[0] != APP_MAGIC:
        raise ToolError("bad magic 0x%02x at byte 0: an ESP app image starts with 0xE9" % data[0])
    if _merged_layout(data):
        raise ToolError(
            "this is a merged firmware.bin (bootloader + partition table at 0x8000 + app): "
            "OTA needs the app image alone, micropython.bin from the same build"
        )
    chip_id = struct.unpack_from("<H", data, 12)[0]
    name = chip_name(chip_id)
    if name is None:
        raise ToolError("unknown chip id %d in bytes 12-13" % chip_id)
    if chip is not None and chip != name:
        raise ToolError("image is for %s (chip id %d), not %s (chip id %d)" % (name, chip_id, chip, chips()[chip]))
    if struct.unpack_from("<I", data, 32)[0] != DESC_MAGIC:
        raise ToolError(
            "no app descriptor (magic 0xABCD5432) at offset 32: a bootloader or a non-app image"
        )
    from esptool.bin_image import LoadFirmwareImage

    try:
        image = LoadFirmwareImage(name, data)
    except Exception as e:  # esptool raises FatalError, RuntimeError or struct.error
        raise ToolError("esptool cannot parse the image: %s" % (str(e).splitlines() or [type(e).__name__])[0])
    calc = image.calculate_checksum()
    if image.checksum != calc:
        raise ToolError("bad checksum 0x%02x (computed 0x%02x): the image is corrupt" % (image.checksum, calc))
    sha = None
    if image.append_digest:
        if len(image.stored_digest) != 32 or image.stored_digest != image.calc_digest:
            raise ToolError("SHA-256 digest mismatch: the image is corrupt or truncated")
        sha = image.calc_digest.hex()
        end = image.data_length + 32
    else:
        end = image.data_length or len(data)
    desc = app_descriptor(data) or {}
    return {
        "kind": "esp-app",
        "chip": name,
        "chip_id": chip_id,
        "segments": len(image.segments),
        "entry": image.entrypoint,
        "size": len(data),
        "image_size": end,
        "trailing": max(0, len(data) - end),
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "image_sha256": sha,
        "version": desc.get("version", ""),
        "project": desc.get("project", ""),
        "idf": desc.get("idf", ""),
    }


def check_merged(data, chip="esp32"):
    # Validate a merged firmware.bin for `flash`: bootloader for `chip`, a partition table
    # with ota_0/ota_1 and otadata, an app image at ota_0. Returns dict incl. flash address.
    if len(data) < 64 or data[0] != APP_MAGIC:
        raise ToolError("not a MicroPython firmware.bin: byte 0 is not 0xE9")
    layout = _merged_layout(data)
    if not layout:
        if struct.unpack_from("<I", data, 32)[0] == DESC_MAGIC:
            raise ToolError(
                "this is an app image (micropython.bin), not a merged firmware.bin: "
                "flash needs firmware.bin (bootloader + partition table + app)"
            )
        raise ToolError("no partition table at 0x8000: not a merged firmware.bin")
    flash_at, table = layout
    want_at = BOOTLOADER_AT.get(chip, 0x0)
    chip_id = struct.unpack_from("<H", data, 12)[0]
    name = chip_name(chip_id)
    if name != chip:
        raise ToolError("bootloader is for %s (chip id %d), not %s" % (name or "an unknown chip", chip_id, chip))
    if flash_at != want_at:
        raise ToolError(
            "partition table at file offset 0x%x: this file starts at flash 0x%x, %s expects 0x%x"
            % (PT_AT - flash_at, flash_at, chip, want_at)
        )
    slots = {st: (addr, size, label) for t, st, addr, size, label in table if t == 0}
    otadata = [1 for t, st, _, _, _ in table if t == 1 and st == 0]
    if 0x10 not in slots or 0x11 not in slots or not otadata:
        raise ToolError(
            "the partition table has no OTA slots (ota_0, ota_1, otadata): "
            "flash the OTA variant of MicroPython (e.g. ESP32_GENERIC-OTA)"
        )
    app_off = slots[0x10][0] - flash_at
    app = data[app_off : app_off + 64]
    if len(app) < 64 or app[0] != APP_MAGIC or struct.unpack_from("<I", app, 32)[0] != DESC_MAGIC:
        raise ToolError("no app image at ota_0 (0x%x)" % slots[0x10][0])
    return {
        "kind": "esp-merged",
        "chip": name,
        "address": flash_at,
        "size": len(data),
        "md5": hashlib.md5(data).hexdigest(),
        "slot_size": slots[0x10][1],
        "partitions": [
            {"type": t, "subtype": st, "offset": a, "size": s, "label": l} for t, st, a, s, l in table
        ],
    }
