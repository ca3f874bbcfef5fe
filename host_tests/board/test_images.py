# ESP32 app images: esptool's own parser accepts them; parse_app_image agrees with it
# and catches what set_boot() would reject.
import hashlib

import esptool.bin_image as bin_image
import pytest

from onenet_ota_tools.images import CHIP_IDS, make_app_image, parse_app_image, sample_images


@pytest.mark.parametrize("size", [600, 4096, 20000, 100003])
def test_esptool_accepts(size):
    img = make_app_image(size, "1.2.3", seed=size, embed_version=True)
    assert abs(len(img) - size) <= 64
    im = bin_image.LoadFirmwareImage("esp32", img)
    assert im.chip_id == 0
    assert im.calculate_checksum() == im.checksum
    assert im.stored_digest == im.calc_digest
    assert im.data_length + 32 == len(img)
    p = parse_app_image(img)
    assert p["valid"] and p["version"] == "1.2.3" and p["project"] == "micropython"
    assert p["segments"] == [(s.addr, len(s.data)) for s in im.segments]
    assert p["length"] == len(img)


def test_layout_fields():
    img = make_app_image(5000, "v9.8.7-rc1", seed=3, embed_version=True)
    assert img[0] == 0xE9 and img[1] == 3 and img[23] == 1
    assert img[32:36] == bytes.fromhex("3254cdab")
    assert img[48:80] == b"v9.8.7-rc1".ljust(32, b"\x00")
    assert img[-32:] == hashlib.sha256(img[:-32]).digest()
    assert len(img[:-32]) % 16 == 0


def test_stock_images_carry_no_version():
    # CONFIG_APP_EXCLUDE_PROJECT_VER_VAR=y (ports/esp32/boards/sdkconfig.base): every
    # stock MicroPython image has an empty descriptor version; esptool still accepts it
    img = make_app_image(20000, "V1.4", seed=3)
    assert img[48:80] == b"\x00" * 32
    p = parse_app_image(img)
    assert p["valid"] and p["version"] == "" and p["project"] == "micropython"
    assert bin_image.LoadFirmwareImage("esp32", img).stored_digest is not None
    # the version still tells two packages apart; revision range in the header
    assert img != make_app_image(20000, "V1.5", seed=3)
    assert img[14] == 0 and img[15:17] == (0).to_bytes(2, "little") and img[17:19] == (399).to_bytes(2, "little")
    assert make_app_image(3000, "1", min_rev=300, max_rev=399)[14:19] == bytes([3]) + (300).to_bytes(2, "little") + (399).to_bytes(2, "little")


def test_deterministic_and_chips():
    assert make_app_image(3000, "1", seed=1) == make_app_image(3000, "1", seed=1)
    assert make_app_image(3000, "1", seed=1) != make_app_image(3000, "1", seed=2)
    img = make_app_image(3000, "1", chip_id=CHIP_IDS["esp32c3"])
    assert bin_image.LoadFirmwareImage("esp32c3", img).chip_id == 5
    assert parse_app_image(img)["chip_id"] == 5


def test_parse_rejects():
    s = sample_images()
    assert parse_app_image(s["img_a.bin"])["valid"]
    assert parse_app_image(s["img_bad_sha.bin"])["error"] == "sha256"
    assert parse_app_image(s["img_bad_sum.bin"])["error"] == "checksum"
    assert parse_app_image(s["img_noseg.bin"])["error"] == "segment count"
    assert parse_app_image(s["img_nomagic.bin"])["error"] == "magic"
    assert parse_app_image(s["img_trunc.bin"])["error"] in ("segment length", "segment past end")
    assert parse_app_image(s["img_nodesc.bin"])["version"] is None
    assert parse_app_image(make_app_image(2000, "x", hash_appended=False))["sha_ok"] is None


def test_esptool_image_info_cli(tmp_path):
    import subprocess
    import sys
    import os

    p = tmp_path / "app.bin"
    p.write_bytes(make_app_image(8000, "3.1.4", embed_version=True))
    esptool = os.path.join(os.path.dirname(sys.executable), "esptool")
    out = subprocess.run([esptool, "image-info", str(p)], capture_output=True, text=True).stdout
    assert "Checksum:" in out and "(valid)" in out
    assert "Validation hash:" in out and "App version: 3.1.4" in out
