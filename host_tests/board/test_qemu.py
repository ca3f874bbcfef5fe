# The nRF52832 profile on a real Cortex-M3 MicroPython: the agent frozen into the
# ports/qemu MPS2_AN385 firmware (onenet-ota firmware; cached under build/fw/), booted
# under qemu-system-arm per device boot, the modem UART bridged to the modem simulator,
# the flash the state folder's nrf_flash.bin (docs/qemu.md). Scenarios: fresh update
# (BC26 and M5311), the modem link dropped mid-download (resume on the next
# connection), a power cut (qemu killed) and the next boot resuming from the journal,
# an MD5 mismatch (205), no task (exit 10), through the CLI with its exit codes.
#
# Skipped, with the reason, where the toolchain is missing (make test installs it on
# Debian as root) or no MicroPython source is at hand (../shared/vendor/ or
# MICROPYTHON_SRC: the tests never download it).
import json
import os

import pytest

from onenet_ota_tools.fwbuild import build, source
from support.agent_env import DEV, OLD, AgentEnv, image, md5

pytestmark = pytest.mark.timeout(600)

SIZE = 48 * 1024
HEAP = "64k"
SETS = ("timeout_ms=3000",)


def _why_skip():
    pkgs = build.missing("qemu")
    if pkgs:
        return build.missing_line(pkgs)
    if not (os.environ.get("MICROPYTHON_SRC") or source.vendored()):
        return "no MicroPython source (../shared/vendor/ or MICROPYTHON_SRC)"
    return None


SKIP = _why_skip()
needs_qemu = pytest.mark.skipif(SKIP is not None, reason=str(SKIP))


@pytest.mark.parametrize("argv", [
    ["firmware", "--target", "qemu"],
    ["device", "--runtime", "qemu", "--board", "nrf52832", "--product-id", "1", "--dev-id", "2",
     "--access-key", "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw="],
])
def test_missing_toolchain_is_one_line_exit_2(tmp_path, argv):
    # no compiler, no qemu on PATH: one line naming the Debian packages
    import subprocess
    import sys

    env = dict(os.environ, PATH=str(tmp_path))
    exe = os.path.join(os.path.dirname(sys.executable), "onenet-ota")
    extra = ["--state-dir", str(tmp_path / "s")] if argv[0] == "device" else []
    p = subprocess.run([exe] + argv + extra, capture_output=True, text=True, env=env, timeout=60,
                       cwd=str(tmp_path))
    assert p.returncode == 2, p.stdout + p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "missing toolchain" in lines[0], p.stderr
    for pkg in ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm"):
        assert pkg in lines[0]


@pytest.fixture
def qenv(tmp_path):
    e = AgentEnv(tmp_path, "qemu")
    try:
        yield e
    finally:
        e.stop()


def _region_header(env):
    from onenet_ota_tools.commands.device import NRF_UNUSED_START

    with open(env.path("nrf_flash.bin"), "rb") as f:
        f.seek(NRF_UNUSED_START)
        return f.read(36)


def _updated(env, s, data, t):
    log = env.logtext()
    assert s["result"] == "updated" and s["code"] == 201, (s, log)
    assert s["runtime"] == "qemu"
    assert s["sink_md5"] == md5(data), log
    assert env.codes(t["id"]) == [101, 201]
    assert env.task(t["id"])["state"] == "succeeded"
    assert env.device_version() == "V1.4"
    h = _region_header(env)
    assert h[:4] == b"OTAI" and h[28:32] == b"DONE", h


@needs_qemu
def test_firmware_command_builds_then_caches(cli):
    code, out, err = cli("firmware", "--target", "qemu", "--heap", HEAP, "--json")
    assert code == 0, err
    info = json.loads(out.splitlines()[-1])
    assert info["target"] == "qemu" and info["heap"] == 64 * 1024 and os.path.exists(info["elf"])
    assert info["size"]["bss"] >= 64 * 1024  # the heap is a static array
    code, out, err = cli("firmware", "--target", "qemu", "--heap", HEAP, "--json")
    again = json.loads(out.splitlines()[-1])
    assert code == 0 and again["built"] is False and again["elf"] == info["elf"]


@needs_qemu
@pytest.mark.parametrize("modem", ("bc26", "m5311"))
def test_fresh_update(qenv, modem):
    data = image(SIZE, "V1.4")
    t = qenv.publish(data, "V1.4", manuf="102", model="10201")
    s = qenv.run(SETS, board="nrf52832", modem=modem, heap=HEAP, chunk=1024)
    _updated(qenv, s, data, t)
    assert s["boots"] == 2 and s["resumed_at"] == -1
    assert s["modem"]["sessions"] == 2  # one UART connection per boot of the board


@needs_qemu
@pytest.mark.parametrize("modem", ("bc26", "m5311"))
def test_fresh_update_in_24k_of_heap(qenv, modem):
    # the Cortex-M issue's target: a whole nRF52832 update, 1 KiB chunks, in a 24 KiB
    # heap (docs/qemu.md, session 8: every run passes at 24 KiB; 23 does not for the M5311)
    data = image(SIZE, "V1.4")
    t = qenv.publish(data, "V1.4", manuf="102", model="10201")
    s = qenv.run(SETS, board="nrf52832", modem=modem, heap="24k", chunk=1024)
    _updated(qenv, s, data, t)
    assert s["boots"] == 2


@needs_qemu
def test_link_dropped_mid_download_resumes(qenv):
    data = image(SIZE, "V1.4")
    t = qenv.publish(data, "V1.4", manuf="102", model="10201")
    args = qenv.args(SETS, board="nrf52832", modem="bc26", heap=HEAP, chunk=1024)
    args.sim_fault = ["drop_after=%d" % (SIZE // 2)]
    from onenet_ota_tools.commands import device

    s = device.run_device(args, log=qenv.log.append)
    _updated(qenv, s, data, t)
    assert s["modem"]["drops"] == 1 and "closed mid-body" in qenv.logtext()
    assert s["connections"] >= 3  # report+check, the dropped download, its resumption
    assert s["bytes"] <= SIZE + 2 * 1024  # carried on, did not start over


@needs_qemu
def test_power_cut_then_resume(qenv):
    data = image(SIZE, "V1.4")
    t = qenv.publish(data, "V1.4", manuf="102", model="10201")
    qenv.sim.fault(DEV, latency=0.01)
    kw = dict(board="nrf52832", modem="bc26", heap=HEAP, chunk=1024)
    sets = SETS + ("journal_every=4096",)
    had = qenv.boot_until(50, sets, **kw)  # qemu killed: the board lost power
    assert SIZE // 2 <= had < SIZE, qenv.logtext()
    qenv.sim.clear_faults()
    s = qenv.run(sets, **kw)
    _updated(qenv, s, data, t)
    assert s["resumed_at"] > 0 and had - s["resumed_at"] <= 4096 + 1024, (had, s["resumed_at"])
    assert s["bytes"] == SIZE - s["resumed_at"]


@needs_qemu
def test_md5_mismatch_205_exit_1(qenv, cli):
    data = image(SIZE, "V1.4")
    t = qenv.publish(data, "V1.4", manuf="102", model="10201")
    qenv.sim.fault(t["id"], flip_offset=SIZE // 3)
    code, out, err = cli("device", *qenv.argv(SETS, board="nrf52832", modem="bc26", heap=HEAP, chunk=1024))
    s = json.loads(out.splitlines()[-1])
    assert code == 1, err
    assert s["result"] == "failed" and s["code"] == 205 and s["boots"] == 1
    assert s["sink_md5"] != md5(data)
    assert qenv.codes(t["id"]) == [205]
    assert qenv.task(t["id"])["state"] == "failed"
    # the next boot runs the old image and finds nothing to do: exit 10
    code, out, err = cli("device", *qenv.argv(SETS, board="nrf52832", modem="bc26", heap=HEAP, chunk=1024))
    s = json.loads(out.splitlines()[-1])
    assert code == 10 and s["result"] == "none" and s["old_version"] == OLD, err


@needs_qemu
def test_qemu_needs_the_nrf52832_profile(qenv, cli):
    code, out, err = cli("device", *qenv.argv(board="esp32"))
    assert code == 2 and "nrf52832" in err


def test_board_layout_matches_the_shim():
    # the qemu board's nrf module and the shim's nrf stand-in describe the same chip
    import re

    from onenet_ota_tools import ROOT

    src = open(os.path.join(ROOT, "tools", "onenet_ota_tools", "qemu", "cmod", "qemu_board", "nrf_flash.c")).read()
    c = {k: int(v, 16) for k, v in re.findall(r"^#define (\w+) \((0x[0-9A-Fa-f]+)u\)", src, re.M)}
    c = {"SIZE": c["CHIP_SIZE"], "UNUSED": c["UNUSED_START"], "ROMFS": c["ROMFS_START"],
         "FS": c["FS_START"], "FS_LEN": c["FS_LEN"]}
    shim = open(os.path.join(ROOT, "tools", "onenet_ota_tools", "shim", "shimstate.py")).read()
    want = {k: int(v, 16) for k, v in re.findall(r'"(nrf_\w+)": (0x[0-9A-Fa-f]+)', shim)}
    assert c["SIZE"] == want["nrf_flash_size"] and c["UNUSED"] == want["nrf_unused_start"]
    assert c["FS"] == want["nrf_fs_start"] and c["FS_LEN"] == want["nrf_fs_len"]
    assert c["ROMFS"] == want.get("nrf_romfs_start", c["ROMFS"])


# -- the 32-bit unix build with the ESP32 part frozen in ---------------------------------


def _unix32_skip():
    pkgs = build.missing("unix32")
    if pkgs:
        return build.missing_line(pkgs)
    if not (os.environ.get("MICROPYTHON_SRC") or source.vendored()):
        return "no MicroPython source (../shared/vendor/ or MICROPYTHON_SRC)"
    return None


@pytest.mark.skipif(_unix32_skip() is not None, reason=str(_unix32_skip()))
def test_esp32_profile_on_32bit_unix_frozen(tmp_path):
    # the ESP32 part alone is frozen: an update that needs any other module would fail
    e = AgentEnv(tmp_path, "unix32")
    try:
        data = image(SIZE, "V1.4")
        t = e.publish(data, "V1.4", manuf="101", model="10101")
        s = e.run(board="esp32", heap="128k")  # the shim (esp32, machine stand-ins) loads into it
        assert s["result"] == "updated" and s["code"] == 201, e.logtext()
        assert s["runtime"] == "unix32" and s["sink_md5"] == md5(data)
        assert e.codes(t["id"]) == [101, 201]
    finally:
        e.stop()
    from onenet_ota_tools import runtimes

    p = runtimes.run("unix32", str(_probe(tmp_path)), timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    got = p.stdout.split()
    assert got[0] == "2147483647"  # 32-bit: sys.maxsize
    assert got[1] == "frozen" and got[2] == "missing"  # esp32 modules frozen, nRF's not there


def _probe(tmp_path):
    f = tmp_path / "probe.py"
    f.write_text("import sys\nprint(sys.maxsize)\nimport onenet_ota.sink_esp32 as m\n"
                 "print('frozen' if not hasattr(m, '__file__') or m.__file__.startswith('onenet_ota/') else m.__file__)\n"
                 "try:\n    import onenet_ota.transport_at\n    print('present')\nexcept ImportError:\n    print('missing')\n")
    return f
