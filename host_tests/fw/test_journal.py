# Journal on both runtimes: round trip, torn and corrupted files discarded, power
# cuts during save. MicroPython heap 48k: compiling this case module from source on
# the 64-bit unix port peaks near 40k (shim ~4k, journal ~5k retained).
import pytest

from conftest import RUNTIMES, run_cases


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_journal_cases(runtime, state_base):
    r = run_cases("cases_journal", runtime, heap="48k")

    rt = r["case_round_trip"]
    assert rt[0] is None and rt[1] == 1 and rt[2] == 2
    rec = rt[3]
    assert rec == {
        "seq": 2, "state": "dl", "token": "ota_5hc95SFeo5xJEnaNrste",
        "md5": "0123456789abcdef0123456789abcdef", "size": 20000, "target": "2.0.0",
        "offset": 12288, "from_ver": "1.0.0", "task_type": 1, "retries": 2, "boots": 0, "slot": "",
    }
    assert rt[4] == 3
    text = rt[5]
    assert text.startswith("seq=3\nstate=ready\n") and "\noffset=20000\n" in text
    assert text.endswith("\n") and text.splitlines()[-1].startswith("crc=")
    assert rt[6] is False  # no temp file left
    assert rt[7] == [None, False]
    on_disk = (state_base / "j_rt" / "journal").exists()
    assert not on_disk

    n, bad, seq = r["case_truncated_every_length"]
    assert n > 150 and bad == [] and seq == 1

    assert r["case_flipped_bytes"] == []

    bf = r["case_bad_fields"]
    assert bf.pop("good") == "ok"
    assert bf.pop("garbage") == "None" and bf.pop("too_long") == "None"
    assert bf.pop("save_bad") == "ValueError"
    assert bf == {k: "none removed" for k in bf}, bf

    sw = r["case_powercut_sweep"]
    assert sw["ops"] == 2  # write the temp file, rename it over the journal
    assert sw["runs"] == [[1, 4096], [2, 4096]]

    assert r["case_crc_fallback"] == [True, "cbf43926"]

    # the package's flash slot round-trips; an older agent's record (no slot line)
    # still loads, so an update across that change keeps its confirm; a bad slot is
    # refused
    assert r["case_slot"] == ["ota_1", "", "None"]
    # the journal written by the last case is the old record: check it on disk too
    data = (state_base / "j_cut" / "journal").read_bytes().decode()
    assert "\noffset=4096\n" in data
