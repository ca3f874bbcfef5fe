# mpremote driving a raw-REPL stand-in (host_tests/rawrepl/server.py on the unix
# `micropython`, behind a pseudo-terminal): `fs`, `exec`, and `onenet-ota deploy` for
# real into a temporary device directory. Every step is time-bounded; the stand-in is
# killed in a finally (StandIn.__exit__).
import hashlib
import json
import os
import subprocess
import sys

import pytest

from onenet_ota_tools import ROOT
from onenet_ota_tools.board import firmware_sources, manifest, tool

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # host_tests/
from rawrepl import StandIn  # noqa: E402
from conftest import SECRET, WIFI_PASSWORD

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal"),
]



def mpremote(port, *args, timeout=30):
    return subprocess.run([tool("mpremote"), "connect", port] + list(args), capture_output=True, text=True, timeout=timeout)


def onenet(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "onenet_ota_tools.cli"] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def device(tmp_path):
    root = tmp_path / "device"
    root.mkdir()
    with StandIn(str(root)) as dev:
        yield dev


def test_exec_and_errors(device):
    p = mpremote(device.port, "exec", "print(6 * 7)")
    assert p.returncode == 0 and p.stdout.strip() == "42", p.stderr + device.stderr()
    # an exception travels back as on a board: traceback on stderr, non-zero exit
    p = mpremote(device.port, "exec", "raise ValueError('boom')")
    assert p.returncode != 0 and "ValueError: boom" in p.stdout + p.stderr
    # globals survive between commands of one connection, a soft reset clears them
    p = mpremote(device.port, "exec", "x = 5", "+", "exec", "print(x)", "+", "soft-reset", "+", "exec", "print('x' in globals())")
    assert p.returncode == 0 and p.stdout.split() == ["5", "False"], p.stdout + p.stderr


def test_fs_roundtrip(device, tmp_path):
    src = tmp_path / "blob.bin"
    data = os.urandom(3000) + b"\x00\x04\x01\x03"  # control bytes in the payload
    src.write_bytes(data)
    back = tmp_path / "back.bin"
    p = mpremote(device.port, "fs", "mkdir", ":d", "+", "fs", "cp", str(src), ":d/blob.bin", "+",
                 "fs", "cp", ":d/blob.bin", str(back), "+", "fs", "ls", ":d")
    assert p.returncode == 0, p.stdout + p.stderr + device.stderr()
    assert (tmp_path / "device" / "d" / "blob.bin").read_bytes() == data == back.read_bytes()
    assert "3004 blob.bin" in p.stdout
    p = mpremote(device.port, "fs", "mkdir", ":d")
    assert p.returncode != 0 and "File exists" in p.stderr  # errno mapped back by mpremote


def test_deploy_for_real(device, tmp_path, secrets):
    root = tmp_path / "device"
    stale = root / "lib" / "onenet_ota"
    stale.mkdir(parents=True)
    (stale / "old_module.py").write_text("raise ImportError('stale module must be gone')\n")
    build = tmp_path / "build"
    names = sorted(os.path.basename(s)[:-3] + ".mpy" for s in manifest.board_sources("unix"))
    p = onenet("deploy", "--board", "unix", "--port", device.port, "--secrets", secrets, "--build-dir", build)
    assert p.returncode == 0, p.stdout + p.stderr + device.stderr()
    assert SECRET not in p.stdout + p.stderr
    assert set(names) <= set(os.listdir(stale)) and "old_module.py" not in os.listdir(stale)
    for n in names:
        assert (stale / n).read_bytes() == (build / "lib" / "onenet_ota" / n).read_bytes()
    cfg = json.loads((root / "config.json").read_text())
    assert cfg["access_key"] == SECRET and cfg["dev_id"] == "5566" and (cfg["manuf"], cfg["model"]) == ("100", "10001")
    assert (root / "main.py").read_bytes() == open(os.path.join(ROOT, "boards", "unix", "main.py"), "rb").read()
    # the deployed .mpy files import on the device
    p = mpremote(device.port, "exec", "import onenet_ota, onenet_ota.auth; print(onenet_ota.__version__, onenet_ota.auth.__file__)")
    assert p.returncode == 0, p.stdout + p.stderr
    from onenet_ota import __version__

    assert p.stdout.split() == [__version__, str(stale / "auth.mpy")]


def test_deploy_esp32_layout_no_compile(device, tmp_path, secrets):
    # The esp32 layout (boot.py included), .py sources: boot.py runs at each soft reset.
    root = tmp_path / "device"
    sources = manifest.board_sources("esp32")
    p = onenet("deploy", "--board", "esp32", "--port", device.port, "--no-compile", "--secrets", secrets,
               "--build-dir", tmp_path / "build")
    assert p.returncode == 0, p.stdout + p.stderr + device.stderr()
    for s in sources:
        got = (root / "lib" / "onenet_ota" / os.path.basename(s)).read_bytes()
        assert hashlib.md5(got).digest() == hashlib.md5(open(s, "rb").read()).digest()
    assert (root / "boot.py").exists() and (root / "main.py").exists()
    p = mpremote(device.port, "exec", "import sys; print('/lib' in sys.path)")
    assert p.returncode == 0 and p.stdout.strip() == "True", p.stdout + p.stderr


def test_main_py_never_blocks(device, tmp_path):
    # main.py with no agent installed: prints the failure and returns.
    root = tmp_path / "device"
    (root / "main.py").write_bytes(open(os.path.join(ROOT, "boards", "unix", "main.py"), "rb").read())
    p = mpremote(device.port, "exec", "exec(open('main.py').read()); print('REPL reached')", timeout=20)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "onenet_ota: agent stopped" in p.stdout and p.stdout.strip().endswith("REPL reached")
