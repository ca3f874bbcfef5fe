# `onenet-ota deploy --dry-run` (exact argv, secrets never shown), mpy-cross on every
# firmware module for every board's -march, package.json in sync, and --help texts.
import json
import os
import shlex
import subprocess
import sys

import pytest

from onenet_ota_tools import FIRMWARE, ROOT
from onenet_ota_tools.board import BOARDS, firmware_sources, manifest, mpy, tool_name
from onenet_ota_tools.board import sync_package_json
from conftest import SECRET, WIFI_PASSWORD

pytestmark = pytest.mark.timeout(180)



@pytest.mark.parametrize("board", sorted(BOARDS))
def test_deploy_dry_run_exact_argv(tmp_path, cli, secrets, board):
    build = tmp_path / "build"
    code, out, err = cli("deploy", "--board", board, "--port", "/dev/ttyUSB0", "--dry-run",
                         "--secrets", secrets, "--build-dir", build)
    assert code == 0, err
    assert SECRET not in out and WIFI_PASSWORD not in out and "198290" not in out
    lines = out.splitlines()
    # the board's part of the agent (its manifest), not every module
    srcs = manifest.board_sources(board)
    assert srcs and set(srcs) <= set(firmware_sources())
    lib = os.path.join(str(build), "lib", "onenet_ota")
    mpys = [os.path.join(lib, os.path.basename(s)[:-3] + ".mpy") for s in srcs]
    march = {"esp32": "xtensawin", "gd32": "xtensawin", "nrf52832": "armv7emsp", "unix": "host"}[board]
    expect = [
        [tool_name("mpy-cross"), "-march=" + march, "-s", "onenet_ota/" + os.path.basename(s), "-o", m, s]
        for s, m in zip(srcs, mpys)
    ]
    n = len(expect)
    assert [shlex.split(l) for l in lines[:n]] == expect
    assert lines[n] == "# write merged config (secrets included, mode 0600): %s" % os.path.join(str(build), "config.json")
    mp = [tool_name("mpremote"), "connect", "/dev/ttyUSB0"]
    entry = [os.path.join(ROOT, "boards", board, f) for f in ("boot.py", "main.py")
             if os.path.exists(os.path.join(ROOT, "boards", board, f))]
    device = [shlex.split(l) for l in lines[n + 1:]]
    assert len(device) == 3
    assert device[0][:4] == mp + ["exec"] and "os.remove" in device[0][4]
    assert device[1] == mp + ["fs", "cp", "-f"] + mpys + [":lib/onenet_ota/"]
    assert device[2] == mp + ["fs", "cp", "-f", os.path.join(str(build), "config.json")] + entry + [":"]
    assert not build.exists()  # a dry run writes nothing, not even the merged config


def test_deploy_no_compile_copies_sources(tmp_path, cli, secrets):
    code, out, err = cli("deploy", "--board", "esp32", "--port", "COM3", "--dry-run", "--no-compile",
                         "--secrets", secrets, "--build-dir", tmp_path)
    assert code == 0, err
    assert "mpy-cross" not in out
    cp = [shlex.split(l) for l in out.splitlines() if " fs cp " in l][0]
    assert cp[cp.index("-f") + 1 : -1] == manifest.board_sources("esp32")


def test_deploy_missing_secrets(tmp_path, cli):
    code, out, err = cli("deploy", "--board", "esp32", "--port", "P", "--dry-run", "--secrets", tmp_path / "none.json")
    assert code == 1 and out == ""
    assert "secrets file" in err and "secrets.example.json" in err and err.count("\n") == 1


def test_deploy_placeholder_left(tmp_path, cli):
    s = tmp_path / "s.json"
    s.write_text(json.dumps({"access_key": SECRET}))
    code, out, err = cli("deploy", "--board", "esp32", "--port", "P", "--dry-run", "--secrets", s)
    assert code == 1
    assert "product_id" in err and "dev_id" in err and "wifi.ssid" in err and SECRET not in err


def test_deploy_bad_json(tmp_path, cli):
    s = tmp_path / "s.json"
    s.write_text("{nope")
    code, _, err = cli("deploy", "--board", "esp32", "--port", "P", "--dry-run", "--secrets", s)
    assert code == 1 and "not valid JSON" in err


def test_merged_config_written_private(tmp_path, secrets):
    from onenet_ota_tools.board import deploy

    local, device, path, cfg = deploy.plan("esp32", "P", str(tmp_path), False, None, secrets)
    deploy.write_config(path, cfg)
    assert os.stat(path).st_mode & 0o777 == 0o600
    got = json.load(open(path))
    assert got["access_key"] == SECRET and got["manuf"] == "101" and got["model"] == "10101"
    assert got["wifi"] == {"ssid": "lab", "password": WIFI_PASSWORD, "timeout_s": 20}


# --- board folders ----------------------------------------------------------------------

CODES = {"esp32": ("101", "10101"), "nrf52832": ("102", "10201"), "gd32": ("103", "10301"), "unix": ("100", "10001")}


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_board_folder(board):
    d = os.path.join(ROOT, "boards", board)
    cfg = json.load(open(os.path.join(d, "config.json")))
    assert (cfg["manuf"], cfg["model"]) == CODES[board] == (BOARDS[board]["manuf"], BOARDS[board]["model"])
    assert cfg["product_id"].startswith("YOUR_") and cfg["dev_id"].startswith("YOUR_")
    # the agent's own config check accepts it once the secrets are filled in
    from onenet_ota import config

    filled = dict(cfg, product_id="198290", dev_id="5566", access_key=SECRET)
    checked = config.check(filled)
    assert checked["sink"] and checked["chunk"] > 0
    json.load(open(os.path.join(d, "secrets.example.json")))
    assert os.path.exists(os.path.join(d, "README.md"))
    main_py = open(os.path.join(d, "main.py")).read()
    assert "runloop.main(CONFIG)" in main_py and "except Exception" in main_py
    # secrets.json is git-ignored
    p = subprocess.run(["git", "check-ignore", "-q", os.path.join("boards", board, "secrets.json")], cwd=ROOT)
    assert p.returncode == 0


# --- mpy-cross ----------------------------------------------------------------------------


@pytest.mark.parametrize("march", sorted({b["march"] for b in BOARDS.values()}))
def test_mpy_cross_compiles_every_module(tmp_path, march):
    outs = mpy.compile_all(str(tmp_path), march)
    assert len(outs) == len(firmware_sources())
    for o in outs:
        with open(o, "rb") as f:
            head = f.read(4)
        assert head[0:1] == b"M" and head[1] == 6  # .mpy format version 6


def test_entry_points_compile(tmp_path):
    for board in BOARDS:
        for n in ("boot.py", "main.py"):
            src = os.path.join(ROOT, "boards", board, n)
            if os.path.exists(src):
                p = subprocess.run([tool_name("mpy-cross"), "-o", str(tmp_path / "x.mpy"), src], capture_output=True, text=True, timeout=30)
                assert p.returncode == 0, p.stderr


# --- package.json / manifest.py ---------------------------------------------------------------


@pytest.mark.parametrize("part", sync_package_json.parts())
def test_package_json_in_sync(part):
    # package.json (every module) and <board>.json (mpremote mip install
    # github:ORG/REPO/<board>.json) are generated from the manifests.
    path = sync_package_json.path(part)
    with open(path) as f:
        have = json.load(f)
    want = sync_package_json.expected(part)
    assert have == want, (
        "%s is out of sync with manifests/: run "
        "`.venv/bin/python -m onenet_ota_tools.board.sync_package_json`" % os.path.basename(path))
    for dest, src in have["urls"]:
        assert dest == "onenet_ota/" + os.path.basename(src)
        assert os.path.isfile(os.path.join(ROOT, src))
    if part == "all":
        on_disk = sorted("firmware/onenet_ota/" + n for n in os.listdir(os.path.join(FIRMWARE, "onenet_ota")) if n.endswith(".py"))
        assert sorted(src for _, src in have["urls"]) == on_disk, "a module in no manifest"


def test_manifest_freezes_package():
    # the root manifest names no port folder (works on unix, qemu, nrf, esp32) and
    # freezes every module
    text = open(os.path.join(ROOT, "manifest.py")).read()
    assert "PORT_DIR" not in "".join(l for l in text.splitlines(True) if not l.startswith("#"))
    got = sorted(t for t, _ in manifest.files(os.path.join(ROOT, "manifest.py")))
    assert got == sorted("onenet_ota/" + os.path.basename(s) for s in firmware_sources())


# --- help -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cmd,words", [
    ("deploy", ["--dry-run", "mpy-cross", "xtensawin", "armv7emsp", "never printed"]),
    ("flash", ["OTA variant", "write-flash", "genpkg", "dfu serial"]),
    ("package", ["esptool", "micropython.bin", "firmware.bin", "--bundle", "MD5"]),
])
def test_help(cmd, words):
    p = subprocess.run([sys.executable, "-m", "onenet_ota_tools.cli", cmd, "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0
    for w in words:
        assert w in p.stdout, w
