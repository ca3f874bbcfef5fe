# Sinks on both runtimes: bytes on the flash files, header checks before any write,
# resume, NoSpace, commit semantics, power cuts at every flash operation.
import hashlib
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


def _slot_holds(path, img):
    flash = _read(path)
    assert len(flash) == SLOT
    assert flash[: len(img)] == img
    assert flash[len(img) :] == b"\xff" * (SLOT - len(img))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_sink_cases(runtime, base):
    tmp, imgs = base
    a = imgs["img_a.bin"]
    # 136k: on the 64-bit unix port the shim and this case module alone retain ~35k
    # before any firmware is loaded; what the sinks allocate per write is measured
    # in case_write_allocates_nothing.
    r = run_cases("cases_sinks", runtime, heap="136k")

    odd = r["case_esp32_odd_chunks"]
    assert odd["cap"] == SLOT and odd["begin"] == 0 and odd["readback"]
    assert odd["erases"] == (len(a) + 4095) // 4096  # each block erased once
    assert odd["boot"] == ["ota_1", "NEW"]
    _slot_holds(tmp / "esp_odd" / "esp32_ota_1.bin", a)
    # the running slot: never touched
    assert _read(tmp / "esp_odd" / "esp32_ota_0.bin") == b"\xff" * SLOT

    hdr = r["case_esp32_header_rejected"]
    for name, msg in (
        ("img_nomagic.bin", "not an ESP32 app image"),
        ("img_noseg.bin", "segment count"),
        ("img_chip5.bin", "chip id 5, want 0"),
        ("img_nodesc.bin", "no app descriptor"),
    ):
        acked, ops, err = hdr[name]
        assert acked == 60 and ops == 0 and msg in err, (name, hdr[name])
        assert _read(tmp / ("esp_hdr_" + name[4:-4]) / "esp32_ota_1.bin") == b"\xff" * SLOT
    assert "set_boot" in hdr["chip5_commit"] and hdr["chip5_boot"] == ""

    nospace = r["case_esp32_no_space"]
    assert nospace[0][0] == 102 and nospace[1] == 0 and nospace[2] == 0

    bc = r["case_esp32_bad_commit"]
    for name in ("img_bad_sum.bin", "img_bad_sha.bin", "img_trunc.bin"):
        assert bc[name][0] == 206 and "set_boot" in bc[name][1], bc[name]
        assert bc[name + " boot"] == "", name  # boot choice unchanged (never set)
    assert bc["incomplete"] == "image incomplete" and bc["abort_block0"]

    at, ok, boot = r["case_esp32_resume"]
    assert at == 8192 and ok and boot == "ota_1"
    _slot_holds(tmp / "esp_resume" / "esp32_ota_1.bin", a)

    sw = r["case_esp32_powercut_sweep"]
    # one write per chunk, +1 for the held-back 64-byte header, one erase per block
    assert sw["ops"] == len(range(0, len(a), 1500)) + 1 + (len(a) + 4095) // 4096
    assert len(sw["runs"]) == sw["ops"]
    for run in sw["runs"]:
        i, acked, at, ok, c = run
        assert at == acked - acked % 4096 and ok and c == "ok", run
    _slot_holds(tmp / "esp_sweep" / "esp32_ota_1.bin", a)

    fs = r["case_file_sink"]
    assert fs["cap"] == 30000 and fs["nospace"] == 102
    assert fs["resume"] == 5000 and fs["part_len"] == 5000 and fs["readback"]
    assert fs["files"] == ["fw.bin"] and fs["after_abort"] == ["fw.bin"]
    assert _read(tmp / "file" / "fw.bin") == a

    bs = r["case_block_sink"]
    assert bs["cap"] == 7 * 4096 and bs["h0"] == "empty"
    assert bs["nospace"] == 102 and bs["region"] == 102
    assert bs["h_before_commit"] == "empty"
    assert bs["wrong_md5"] == "md5 mismatch on flash" and bs["h_after_wrong"] == "empty"
    assert bs["h"] == {"state": "complete", "size": len(a), "md5": hashlib.md5(a).hexdigest()}
    assert bs["h_applied"] == "applied" and bs["h_new_begin"] == "empty"
    flash = _read(tmp / "block" / "nrf_flash.bin")
    region = flash[0x10000:0x18000]
    assert region[4096 : 4096 + len(a)] == a
    # the case ended with begin() of the next image: header erased, old data still there
    assert region[:4096] == b"\xff" * 4096
    assert flash[:0x10000] == b"\xff" * 0x10000 and flash[0x18000:] == b"\xff" * 0x8000

    bsw = r["case_block_sink_powercut_sweep"]
    assert bsw["md5"] == hashlib.md5(a).hexdigest()
    assert len(bsw["runs"]) == bsw["ops"]
    for run in bsw["runs"]:
        i, after, final, md5_ok = run
        assert after in ("empty", "torn"), run  # never "complete" over a torn image
        assert final == "complete" and md5_ok, run
    # the last operation is the marker write: cut there leaves a torn marker
    assert bsw["runs"][-1][1] == "torn"

    if runtime == "micropython":
        # writes straight from the caller's buffer: nothing allocated per write
        al = r["case_write_allocates_nothing"]
        assert al["esp32"][0] == 0 and al["block"][0] == 0, al
        assert al["esp32"][1] > 2 * 4096  # crossed blocks (erases included)
