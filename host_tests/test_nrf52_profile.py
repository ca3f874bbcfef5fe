# nRF52832 profile end to end: the agent on the module set of an nRF52832 build (no
# hashlib, json, re, errno, socket; binascii without hexlify: hidden by the shim's
# nomods.py, see docs in that file) talks to the OneNET simulator through the modem
# simulator (BC26 or M5311 AT commands over the shim's machine.UART) and writes into a
# simulated nrf.Flash region (BlockSink, header + DONE marker). Both runtimes, three
# fault cases per command set.
import os
import subprocess

import pytest

from onenet_ota_tools import SHIM, runtimes
from support.agent_env import AgentEnv, image, md5

SIZE = 48 * 1024
SETS = ("timeout_ms=3000", "chunk=1024")
FAULTS = {
    # URC storm (3 unrelated URCs before every answer and data URC) on a slow modem
    "storm_slow": ["urc_storm=3", "delay_ms=2"],
    # one send answered SEND FAIL, one open refused: the request is retried
    "send_fail": ["send_fail=1", "open_fail=1"],
    # the link drops mid-download: the agent reconnects and carries on from the journal
    "dropped": ["drop_after=%d" % (SIZE // 2)],
}


@pytest.fixture(params=("cpython", "micropython"))
def env(request, tmp_path):
    e = AgentEnv(tmp_path, request.param)
    try:
        yield e
    finally:
        e.stop()


def _region_header(env):
    with open(env.path("nrf_flash.bin"), "rb") as f:
        f.seek(0x40000)
        return f.read(36)


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("modem", ("bc26", "m5311"))
def test_update_through_modem(env, modem, fault):
    data = image(SIZE, "V1.4")
    t = env.publish(data, "V1.4", manuf="102", model="10201")
    args = env.args(SETS, board="nrf52832", modem=modem)
    args.sim_fault = FAULTS[fault]
    from onenet_ota_tools.commands import device

    s = device.run_device(args, log=env.log.append)
    log = env.logtext()
    assert s["result"] == "updated" and s["code"] == 201, (s, log)
    assert s["sink_md5"] == md5(data)
    assert env.codes(t["id"]) == [101, 201]
    assert env.device_version() == "V1.4"
    h = _region_header(env)
    assert h[:4] == b"OTAI" and h[28:32] == b"DONE", h
    m = s["modem"]
    if fault == "storm_slow":
        assert m["storm"] > 100
    elif fault == "send_fail":
        assert m["send_fails"] == 1 and "SEND FAIL" in log and ("open failed" in log or "CONNECT FAIL" in log)
    else:
        assert m["drops"] == 1 and "closed mid-body" in log
    assert "hidden by nomods" not in log  # no traceback from a stray import


def test_nomods_hides_modules(runtime, tmp_path):
    # The mechanism itself: built-in and already-imported modules refused, binascii
    # without hexlify; what the firmware falls back to still works.
    script = tmp_path / "probe.py"
    script.write_text(
        "import machine, nomods\n"
        "nomods.install(nomods.NRF52832)\n"
        "out = []\n"
        "for n in ('hashlib', 'json', 're', 'errno', 'socket'):\n"
        "    try:\n"
        "        __import__(n)\n"
        "        out.append(n + ' importable')\n"
        "    except ImportError:\n"
        "        out.append(n + ' hidden')\n"
        "try:\n"
        "    from binascii import hexlify\n"
        "    out.append('hexlify importable')\n"
        "except ImportError:\n"
        "    out.append('hexlify hidden')\n"
        "import binascii\n"
        "out.append('a2b_base64 ' + str(hasattr(binascii, 'a2b_base64')))\n"
        "def deep():\n"
        "    import errno\n"
        "try:\n"
        "    deep()\n"
        "except ImportError:\n"
        "    out.append('nested hidden')\n"
        "from onenet_ota import digest\n"
        "out.append(digest.hexstr(digest.new('md5').digest()))\n"
        "print('|'.join(out))\n")
    p = runtimes.run(runtime, str(script), heap="128k", timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    got = p.stdout.strip().splitlines()[-1].split("|")
    assert got == ["hashlib hidden", "json hidden", "re hidden", "errno hidden", "socket hidden",
                   "hexlify hidden", "a2b_base64 True", "nested hidden",
                   "d41d8cd98f00b204e9800998ecf8427e"], got


def test_region_and_config(tmp_path):
    # In-process (CPython + shim): the region is page-aligned and inside the unused
    # flash; config errors name the field.
    import sys

    sys.path[:0] = [SHIM]
    import ota_shim

    ota_shim.install(str(tmp_path))
    from onenet_ota import board, config
    from onenet_ota.errors import ConfigError, NoSpace

    base = {"product_id": "1", "dev_id": "2", "authorization": "version=1&sign=x", "board": "nrf52832",
            "modem": "bc26"}
    cfg = config.check(dict(base))
    assert cfg["uart"] == {"id": 0, "baud": 115200, "tx": None, "rx": None}
    b = board.make(cfg)
    assert isinstance(b, board.Nrf52Board) and callable(b.connect)
    assert b.region() == (0x40000, 0x30000)
    assert b.sink().capacity == 0x30000 - 4096
    b = board.make(config.check(dict(base, flash_start=0x41000, flash_len=0x2000)))
    assert b.region() == (0x41000, 0x2000)
    with pytest.raises(NoSpace):
        board.make(config.check(dict(base, flash_start=0x6F000, flash_len=0x2000))).region()
    for bad, field in ((dict(modem="sim800"), "modem"), (dict(uart={"id": 0, "baud": 5}), "uart.baud"),
                       (dict(uart={"speed": 1}), "uart.speed"), (dict(flash_len=100), "flash_len"),
                       (dict(board="gd32", gd32={"write_max": 250}), "gd32.write_max"),
                       (dict(board="gd32", gd32={"uart": {"id": "x"}}), "gd32.uart.id")):
        with pytest.raises(ConfigError) as e:
            config.check(dict(base, **bad))
        assert field in str(e.value), (bad, e.value)
    g = config.check(dict(base, board="gd32", modem=None))["gd32"]
    assert g["write_max"] == 256 and g["base"] == 0x08000000 and g["uart"]["baud"] == 115200


def test_board_configs_load():
    import json

    from onenet_ota_tools import BOARDS

    import sys

    sys.path[:0] = [SHIM]
    from onenet_ota import config

    for b in ("nrf52832", "gd32"):
        with open(os.path.join(BOARDS, b, "config.json")) as f:
            raw = json.load(f)
        assert raw["product_id"].startswith("YOUR_") and raw["dev_id"].startswith("YOUR_")
        raw.update(product_id="1", dev_id="2", access_key="AAAA")
        cfg = config.check(raw)
        assert (cfg["manuf"], cfg["model"]) == {"nrf52832": ("102", "10201"), "gd32": ("103", "10301")}[b]
    assert config.check(dict(raw, board="nrf52832", sink="block", gd32=None, wifi=None,
                             modem="m5311"))["modem"] == "m5311"
