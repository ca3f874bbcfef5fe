# The shim's stand-ins on both runtimes: flash rules, power cuts, ESP-IDF OTA rules.
import os

import pytest

from conftest import RUNTIMES, run_cases
from onenet_ota_tools.images import write_samples

SLOT = 0x10000


@pytest.fixture
def base(state_base):
    return state_base, write_samples(str(state_base))


def _read(p):
    with open(p, "rb") as f:
        return f.read()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_shim_cases(runtime, base):
    tmp, imgs = base
    # the shim is host-side code; on the 64-bit unix port it needs more than 32k
    r = run_cases("cases_shim", runtime, heap="136k")

    lay = r["case_layout_info_find"]
    assert lay["running"] == [0, 0x10, 0x10000, SLOT, "ota_0", False]
    assert lay["next"] == [0, 0x11, 0x10000 + SLOT, SLOT, "ota_1", False]
    assert lay["boot"] == "ota_0" and lay["next_of_next"] == "ota_0"
    assert lay["apps"] == ["ota_0", "ota_1"] and lay["ota1"] == ["ota_1"]
    assert lay["data"] == ["otadata"]
    assert lay["blocks"] == [SLOT // 4096, 4096]
    assert lay["factory_running"] == "factory"
    assert lay["factory_next"] == 2  # ENOENT: no OTA slots
    assert lay["by_label_missing"] == 2

    st = r["case_strict_flash"]
    assert st["same_again"] is None and st["clear_more"] is None and st["needs_erase"] is None
    assert st["flip_up"] == 5  # EIO: 0x00 -> 0xff needs an erase
    assert st["two_arg_len"] == -260
    assert st["read_oob"] == -260 and st["write_oob"] == -260 and st["erase_oob"] == -260
    assert st["bytes"] == [0xFF, 0x00, 0x0F, 0x00, 0xFF, 0xFF]
    assert st["erase_misaligned"] == 22 and st["erase_short"] == 22
    assert st["lenient"] == [0x00, 0x3C]  # NOR: old AND new
    assert st["file_len"] == SLOT and st["rest_erased"]
    flash = _read(tmp / "strict" / "esp32_ota_1.bin")
    assert flash[4096 + 9 : 4096 + 16] == b"\xff\x00\x0f\x00\x3c\xff\xff"

    cw = r["case_powercut_tears_write"]
    assert cw == {"ops": 3, "cut": True, "swallowed": False, "first": True, "torn": True}
    flash = _read(tmp / "cut_write" / "esp32_ota_1.bin")
    assert flash[:100] == b"\x11" * 100 and flash[100:150] == b"\x22" * 50
    assert flash[150:300] == b"\xff" * 150 and flash[300:310] == b"\x33" * 10

    assert r["case_powercut_tears_erase"] == {"cut": True, "half": True}

    bad = r["case_bad_region"]
    assert 3 <= bad["fails"] <= 13 and bad["errno"] == [5] and bad["block3"] == 5

    sb = r["case_set_boot_validates"]
    for name in ("img_bad_sha.bin", "img_bad_sum.bin", "img_chip5.bin", "img_trunc.bin", "img_noseg.bin",
                 "img_rev4.bin", "img_rev1max.bin", "img_badaddr.bin", "img_iram_over.bin"):
        assert sb[name] == -5379, name
        assert sb[name + " unchanged"], name
    assert sb["erased"] == -5379 and sb["good"] is None
    assert sb["boot"] == "ota_1" and sb["state"] == "NEW"
    flash = _read(tmp / "setboot" / "esp32_ota_1.bin")
    assert flash[: len(imgs["img_a.bin"])] == imgs["img_a.bin"]

    assert r["case_rollback_without_mark"] == [
        "ota_0", "NEW", "ota_1", "PENDING_VERIFY", "ota_1", "ota_0", "ABORTED", "ota_0", "ota_1",
    ]
    # ESP_FAIL (errno 1, check_esp_err negates esp_err_t -1) on a blank otadata
    assert r["case_mark_valid_keeps_image"] == [1, "ota_1", "VALID", "ota_1", "ota_1", "VALID", "ota_0"]
    sa = r["case_strict_arguments"]
    assert sa["kw"] == "TypeError" and sa["three"] == "TypeError" and sa["pos"] == "ota_0"
    assert sa["find_kw"] == ["ota_1"] and sa["no_otadata"] == -261
    assert sa["reset_args"] == "TypeError" and sa["uart_id"] == "ValueError" and sa["uart_kw"] == "TypeError"
    assert sa["uart_bits"] == "ValueError" and sa["uart_flow"] == "ValueError"
    assert sa["pin_bad"] == "ValueError" and sa["pin_input_only"] == "ValueError" and sa["pin_ok"] == 1
    assert sa["wlan_kw"] == "TypeError" and sa["wlan"] is True
    assert r["case_bootloader_rejects_overwritten_new_image"] == ["ota_0", "INVALID"]
    assert r["case_powercut_set_boot"] == [True, "ota_0", None]

    rs = r["case_reset_and_simulate"]
    assert rs["sim"] == ["reset", "reset", "done"] and rs["boots"] == "3"
    assert rs["uid"] == 6 and rs["wlan"] == [True, "127.0.0.1"]

    nf = r["case_nrf_flash"]
    assert nf["unused"] == [0x10000, 0xC000]
    assert nf["bad_start"] == "ValueError" and nf["past_end"] == "ValueError"
    assert nf["ioctl"] == [2, 4096] and nf["again"] == 5
    assert nf["oob"] == 22 and nf["oob_erase"] == 22 and nf["oob_read"] == 22
    assert nf["len"] == 0x20000 and nf["bytes"] == [0xFF, 0x07, 0xFF, 0xAA, 0xAA] and nf["rest"]
    assert nf["fs"] == "Flash(start=0x0001c000, len=16384)"
    flash = _read(tmp / "nrf" / "nrf_flash.bin")
    assert flash[0x11000:0x12000] == b"\xaa" * 4096


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_boot_state_survives_process(runtime, base):
    tmp, _ = base
    run_cases("cases_shim", runtime, heap="128k", cases=["case_reboot_1"])
    state = _read(tmp / "reboot" / "esp32_otadata").decode()
    assert "boot=ota_1\n" in state and "st_ota_1=NEW\n" in state
    r = run_cases("cases_shim", runtime, heap="128k", cases=["case_reboot_2"])
    assert r["case_reboot_2"] == ["ota_1", "PENDING_VERIFY"]
    state = _read(tmp / "reboot" / "esp32_otadata").decode()
    assert "running=ota_1\n" in state and "st_ota_1=PENDING_VERIFY\n" in state
