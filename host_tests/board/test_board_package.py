# `onenet-ota package` and `flash --dry-run` against esptool's and adafruit-nrfutil's
# real code, on images generated here (header + segments + checksum + SHA-256).
import hashlib
import json
import os
import struct
import subprocess
import sys
import zipfile

import pytest

from onenet_ota_tools.board import bundle, esp_image

pytestmark = pytest.mark.timeout(120)

CHIP_IDS = {"esp32": 0, "esp32s2": 2, "esp32c3": 5, "esp32s3": 9, "esp32c2": 12, "esp32c6": 13, "esp32h2": 16}
DROM = {"esp32": 0x3F400020, "esp32s2": 0x3F000020, "esp32s3": 0x3C000020, "esp32c3": 0x3C000020,
        "esp32c2": 0x3C000020, "esp32c6": 0x42000020, "esp32h2": 0x42000020}


def app_desc(version=b"", project=b"micropython"):
    d = bytearray(256)
    struct.pack_into("<I", d, 0, 0xABCD5432)
    d[16 : 16 + len(version)] = version
    d[48 : 48 + len(project)] = project
    d[112:118] = b"v5.2.2"
    return bytes(d)


def esp_image_bytes(segments, chip_id=0, entry=0x40080000, magic=0xE9, digest=True, bad_checksum=False, bad_sha=False):
    # An ESP32-family image: 8-byte header, 16-byte extended header, segments,
    # padding to 16 with the checksum in the last byte, then SHA-256 of all that.
    out = bytearray(struct.pack("<BBBBI", magic, len(segments), 2, 0x20, entry))
    out += struct.pack("<BBBBHBHH", 0xEE, 0, 0, 0, chip_id, 0, 0, 0) + bytes(4) + bytes([1 if digest else 0])
    csum = 0xEF
    for addr, data in segments:
        data = data + bytes(-len(data) % 4)
        out += struct.pack("<II", addr, len(data)) + data
        for b in data:
            csum ^= b
    out += bytes(15 - len(out) % 16)
    out.append(csum ^ (1 if bad_checksum else 0))
    if digest:
        h = hashlib.sha256(out).digest()
        out += bytes([h[0] ^ 1]) + h[1:] if bad_sha else h
    return bytes(out)


def make_app(size=20000, version=b"", chip="esp32", seed=0, **kw):
    # An app image: first segment in DROM starting with esp_app_desc_t (so the
    # descriptor lands at file offset 32), then IRAM/DRAM segments of pseudo-random data.
    rnd = hashlib.sha256(b"seed%d" % seed).digest() * (size // 32 + 1)
    body = rnd[: max(0, size - 256)]
    half = len(body) // 2
    segs = [(DROM[chip], app_desc(version) + body[:half]), (0x3FFB0000, body[half:][:4096]), (0x40080000, body[half:][4096:])]
    return esp_image_bytes([s for s in segs if s[1]], chip_id=CHIP_IDS[chip], **kw)


def make_bootloader(chip="esp32"):
    # A second-stage bootloader image: DRAM/IRAM segments, no app descriptor.
    boot_desc = bytes([0x50]) + bytes(79)
    return esp_image_bytes([(0x3FFF0030, boot_desc + bytes(4000)), (0x40078000, bytes(range(256)) * 20)],
                           chip_id=CHIP_IDS[chip], entry=0x40080400)


def partition_table(ota=True):
    def entry(t, st, off, size, label):
        return b"\xaa\x50" + struct.pack("<BBII", t, st, off, size) + label.ljust(16, b"\0") + bytes(4)

    rows = [entry(1, 2, 0x9000, 0x6000, b"nvs"), entry(1, 0, 0xF000, 0x2000, b"otadata"), entry(1, 1, 0x11000, 0x1000, b"phy_init")]
    if ota:
        rows += [entry(0, 0x10, 0x20000, 0x180000, b"ota_0"), entry(0, 0x11, 0x1A0000, 0x180000, b"ota_1")]
    else:
        rows = [entry(1, 2, 0x9000, 0x6000, b"nvs"), entry(1, 1, 0xF000, 0x1000, b"phy_init"), entry(0, 0, 0x10000, 0x1F0000, b"factory")]
    rows += [entry(1, 0x81, 0x380000, 0x80000, b"vfs")]
    t = b"".join(rows)
    t += b"\xeb\xeb" + b"\xff" * 14 + hashlib.md5(t).digest()
    return t + b"\xff" * (0xC00 - len(t))


def make_merged(chip="esp32", ota=True, app=None):
    # A merged firmware.bin as MicroPython publishes it: written at 0x1000 (esp32) or 0x0.
    base = 0x1000 if chip in ("esp32", "esp32s2") else 0
    app_at = 0x20000 if ota else 0x10000
    out = bytearray(make_bootloader(chip))
    out += b"\xff" * (0x8000 - base - len(out)) + partition_table(ota)
    out += b"\xff" * (app_at - base - len(out)) + (app or make_app(chip=chip))
    return bytes(out)


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


# --- the generator makes images esptool itself accepts --------------------------------


def test_generated_image_passes_esptool_image_info(tmp_path):
    path = write(tmp_path, "micropython.bin", make_app(version=b"V1.3"))
    p = subprocess.run([sys.executable, "-m", "esptool", "--chip", "esp32", "image-info", path],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Checksum: 0x" in p.stdout and "(valid)" in p.stdout
    assert "Validation hash" in p.stdout and "(valid)" in p.stdout.split("Validation hash")[1].splitlines()[0]
    assert "App version: V1.3" in p.stdout


# --- package --board esp32 --------------------------------------------------------------


@pytest.mark.parametrize("chip", ["esp32", "esp32s3", "esp32c3"])
def test_package_good_app(tmp_path, cli, chip):
    data = make_app(size=30000, version=b"V2.0.1", chip=chip)
    path = write(tmp_path, "micropython.bin", data)
    code, out, err = cli("package", "--board", "esp32", "--chip", chip, path, "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["size"] == len(data) and info["md5"] == hashlib.md5(data).hexdigest()
    assert info["chip"] == chip and info["version"] == "V2.0.1" and info["segments"] == 3
    assert info["trailing"] == 0 and info["image_sha256"] == hashlib.sha256(data[:-32]).hexdigest()


def test_package_human_output_empty_version(tmp_path, cli):
    data = make_app()
    code, out, err = cli("package", "--board", "esp32", write(tmp_path, "micropython.bin", data))
    assert code == 0, err
    assert "size: %d\n" % len(data) in out and "md5: %s\n" % hashlib.md5(data).hexdigest() in out
    assert "version: (empty" in out


BAD = {
    "merged firmware.bin": (lambda: make_merged(), "merged firmware.bin"),
    "bootloader alone": (lambda: make_bootloader(), "no app descriptor"),
    "bad magic": (lambda: make_app(magic=0xE8), "bad magic 0xe8"),
    "zip file": (lambda: b"PK\x03\x04" + bytes(100), "bad magic 0x50"),
    "wrong chip": (lambda: make_app(chip="esp32s3"), "image is for esp32s3 (chip id 9), not esp32"),
    "bad checksum": (lambda: make_app(bad_checksum=True), "bad checksum"),
    "bad sha": (lambda: make_app(bad_sha=True), "SHA-256 digest mismatch"),
    "truncated": (lambda: make_app()[:5000], "esptool cannot parse the image: End of file"),
    "too short": (lambda: b"\xe9" * 10, "shorter than its 64-byte header"),
    "unknown chip": (lambda: esp_image_bytes([(0x3F400020, app_desc())], chip_id=77), "unknown chip id 77"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_package_rejects(tmp_path, cli, case):
    make, msg = BAD[case]
    code, out, err = cli("package", "--board", "esp32", "--chip", "esp32", write(tmp_path, "x.bin", make()))
    assert code != 0 and out == ""
    assert msg in err, err
    assert err.count("\n") == 1 and err.startswith("onenet-ota package: ")


def test_package_missing_file(tmp_path, cli):
    code, out, err = cli("package", "--board", "esp32", str(tmp_path / "nope.bin"))
    assert code == 2 and "cannot read" in err


def test_package_unknown_chip_flag(tmp_path, cli):
    code, _, err = cli("package", "--board", "esp32", "--chip", "esp99", write(tmp_path, "a.bin", make_app()))
    assert code == 2 and "unknown chip" in err


# --- package --board nrf52832: adafruit-nrfutil genpkg ---------------------------------


def test_package_nrf_dfu_zip(tmp_path, cli):
    app = bytes(range(256)) * 97 + b"tail"
    out_zip = tmp_path / "dfu.zip"
    code, out, err = cli("package", "--board", "nrf52832", write(tmp_path, "app.bin", app), "-o", out_zip, "--json")
    assert code == 0, err
    info = json.loads(out)
    blob = out_zip.read_bytes()
    assert info["size"] == len(blob) and info["md5"] == hashlib.md5(blob).hexdigest()
    with zipfile.ZipFile(out_zip) as z:
        m = json.loads(z.read("manifest.json"))["manifest"]["application"]
        assert z.read(m["bin_file"]) == app
        assert z.getinfo(m["bin_file"]).file_size == len(app) == info["bin_size"]
        assert len(z.read(m["dat_file"])) == 14  # the legacy init packet
        assert m["init_packet_data"]["device_type"] == 0x52 == info["device_type"]
        crc = 0xFFFF  # CRC-16-CCITT as the Nordic legacy DFU computes it
        for b in app:
            crc = ((crc >> 8) & 0xFF) | ((crc << 8) & 0xFFFF)
            crc ^= b
            crc ^= (crc & 0xFF) >> 4
            crc ^= (crc << 12) & 0xFFFF
            crc ^= ((crc & 0xFF) << 5) & 0xFFFF
        assert m["init_packet_data"]["firmware_crc16"] == crc == info["crc16"]


# --- package --bundle -------------------------------------------------------------------


def test_bundle_roundtrip(tmp_path, cli):
    out_file = tmp_path / "agent.otab"
    code, out, err = cli("package", "--board", "esp32", "--bundle", "-o", out_file, "--json")
    assert code == 0, err
    info = json.loads(out)
    blob = out_file.read_bytes()
    assert info["md5"] == hashlib.md5(blob).hexdigest() and info["size"] == len(blob)
    files = bundle.unpack(blob)
    from onenet_ota_tools.board import manifest

    names = sorted(os.path.basename(p)[:-3] + ".mpy" for p in manifest.board_sources("esp32"))
    assert sorted(n.split("/")[-1] for n, _ in files) == names
    assert all(n.startswith("lib/onenet_ota/") and d[:1] == b"M" for n, d in files)  # .mpy header
    broken = bytearray(blob)
    broken[-1] ^= 1
    with pytest.raises(ValueError):
        bundle.unpack(bytes(broken))


# --- flash --dry-run --------------------------------------------------------------------


def test_flash_esp32_dry_run(tmp_path, cli):
    fw = write(tmp_path, "firmware.bin", make_merged("esp32"))
    code, out, err = cli("flash", "--board", "esp32", "--firmware", fw, "--port", "/dev/ttyUSB0", "--dry-run")
    assert code == 0, err
    lines = [l for l in out.splitlines() if not l.startswith("#")]
    from onenet_ota_tools.board import quote, tool_name

    assert lines == [quote([tool_name("esptool"), "--chip", "esp32", "--port", "/dev/ttyUSB0", "--baud", "460800",
                            "write-flash", "0x1000", fw])]


def test_flash_esp32s3_at_zero(tmp_path, cli):
    fw = write(tmp_path, "firmware.bin", make_merged("esp32s3"))
    code, out, err = cli("flash", "--board", "esp32", "--chip", "esp32s3", "--firmware", fw, "--port", "P", "--baud", "921600", "--dry-run")
    assert code == 0, err
    assert out.splitlines()[-1].endswith("--baud 921600 write-flash 0x0 " + fw)


@pytest.mark.parametrize("case,make,msg", [
    ("no ota slots", lambda: make_merged(ota=False), "OTA variant"),
    ("app image", lambda: make_app(), "app image (micropython.bin), not a merged firmware.bin"),
    ("wrong chip", lambda: make_merged("esp32s3"), "bootloader is for esp32s3"),
    ("junk", lambda: bytes(70000), "byte 0 is not 0xE9"),
])
def test_flash_esp32_rejects(tmp_path, cli, case, make, msg):
    fw = write(tmp_path, "firmware.bin", make())
    code, out, err = cli("flash", "--board", "esp32", "--firmware", fw, "--port", "P", "--dry-run")
    assert code == 1 and msg in err and "write-flash" not in out, err


def test_flash_nrf_dry_run(tmp_path, cli):
    fw = write(tmp_path, "firmware.hex", b":00000001FF\n")
    z = str(tmp_path / "pkg.zip")
    code, out, err = cli("flash", "--board", "nrf52832", "--firmware", fw, "--port", "/dev/ttyACM0", "--package-out", z, "--dry-run")
    assert code == 0, err
    from onenet_ota_tools.board import quote, tool_name

    nrfutil = tool_name("adafruit-nrfutil")
    assert out.splitlines() == [
        quote([nrfutil, "dfu", "genpkg", "--dev-type", "0x0052", "--application", fw, z]),
        quote([nrfutil, "dfu", "serial", "--package", z, "-p", "/dev/ttyACM0", "-b", "115200"]),
    ]
    assert not os.path.exists(z)


def test_flash_missing_firmware(cli):
    code, _, err = cli("flash", "--board", "esp32", "--firmware", "/nonexistent.bin", "--port", "P")
    assert code == 2 and "not found" in err


def test_merged_layout_parse():
    info = esp_image.check_merged(make_merged("esp32"), "esp32")
    labels = [p["label"] for p in info["partitions"]]
    assert labels == ["nvs", "otadata", "phy_init", "ota_0", "ota_1", "vfs"]
    assert info["address"] == 0x1000 and info["slot_size"] == 0x180000
