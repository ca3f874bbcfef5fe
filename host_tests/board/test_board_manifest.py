# The per-board parts (manifests/onenet-ota-*/) name exactly the modules each board
# profile loads: an update is run on the unix micropython for every profile with a
# wrapper that lists the onenet_ota modules each boot imported.
# The host-side reader (onenet_ota_tools.board.manifest) agrees with MicroPython's own
# tools/manifestfile.py when the MicroPython source is at hand.
import os
import subprocess
import sys
import tarfile

import pytest

from onenet_ota_tools import ROOT
from onenet_ota_tools.board import manifest
from onenet_ota_tools.commands import device
from support.agent_env import AgentEnv, image

pytestmark = pytest.mark.timeout(240)

# Every import is tracked: the agent drops modules it has done with from sys.modules
# (digest.forget: the token's auth and SHA-1), which the board loaded all the same.
WRAP = """import sys
import builtins
sys.path.pop(0)  # this folder: the real %(mod)s comes from the shim on MICROPYPATH
seen = set()
_imp = builtins.__import__


def _track(*a, **k):
    m = _imp(*a, **k)
    for n in sys.modules:
        if n.startswith("onenet_ota."):
            seen.add(n[11:])
    return m


builtins.__import__ = _track
try:  # the nRF52832 profile's own __import__ (nomods) calls the builtin it read itself
    import nomods
    nomods._orig = _track
except ImportError:
    pass
code = 0
try:
    import %(mod)s
except SystemExit as e:
    code = e.args[0] if e.args else 0
seen.update(k[11:] for k in sys.modules if k.startswith("onenet_ota."))
print("MODS " + " ".join(sorted(seen)))
sys.exit(code)
"""

PROFILE = {"esp32": ("101", "10101"), "nrf52832": ("102", "10201"), "gd32": ("103", "10301"),
           "unix": ("100", "10001")}


@pytest.mark.parametrize("board", manifest.BOARD_PARTS)
def test_part_is_what_the_profile_loads(tmp_path, monkeypatch, board):
    wrap = tmp_path / "wrap"
    wrap.mkdir()
    for mod in ("ota_device", "nrf52_device"):
        (wrap / (mod + ".py")).write_text(WRAP % {"mod": mod})
    monkeypatch.setattr(device, "SHIM", str(wrap))
    env = AgentEnv(tmp_path, "micropython")
    try:
        img = image(16 * 1024, "V2.0")  # small: what is loaded does not depend on the size
        tid = env.publish(img, "V2.0", manuf=PROFILE[board][0], model=PROFILE[board][1])["id"]
        kw = {"board": board}
        if board == "unix":
            kw["sink"] = "file:" + str(tmp_path / "pkg.bin")
        s = env.run(**kw)
        assert s["result"] == "updated", env.logtext()
        assert env.codes(tid)[-1] == 201
    finally:
        env.stop()
    loaded = set()
    for line in env.log:
        if line.startswith("MODS "):
            loaded |= set(line.split()[1:])
    assert loaded, env.logtext()
    part = set(manifest.module_names(board)) - {"__init__"}
    # the nRF52832 part carries both modems' dialects (at_bc26, at_m5311): a board loads
    # its configured modem's only (transport_at.AtModem imports it), never both
    alt = {"at_bc26", "at_m5311"} & part
    if alt:
        assert len(loaded & alt) == 1, sorted(loaded & alt)
        part -= alt - loaded
    assert loaded == part, "loaded but not in the part: %s; in the part, never loaded: %s" % (
        sorted(loaded - part), sorted(part - loaded))


def test_parts_cover_every_module_once_per_board():
    allm = manifest.module_names("all")
    assert allm == sorted(set(allm))
    on_disk = sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, "firmware", "onenet_ota")) if n.endswith(".py"))
    assert allm == on_disk
    for b in manifest.BOARD_PARTS:
        names = manifest.module_names(b)
        assert len(names) == len(set(names)), b
    nrf = set(manifest.module_names("nrf52832"))
    assert {"md5", "sha1", "jsonlite", "transport_at"} <= nrf and "transport" not in nrf
    esp = set(manifest.module_names("esp32"))
    assert not esp & {"md5", "sha1", "jsonlite", "transport_at", "board_nrf52", "sink_block"}


def _vendor_tarball():
    from onenet_ota_tools.fwbuild import source

    return source.vendored()


def test_reader_agrees_with_micropython_manifestfile(tmp_path):
    tb = _vendor_tarball()
    if not tb:
        pytest.skip("no MicroPython source tarball (../shared/vendor/)")
    with tarfile.open(tb) as t:
        m = [n for n in t.getnames() if n.endswith("tools/manifestfile.py")][0]
        t.extract(m, str(tmp_path))
    tools = str(tmp_path / os.path.dirname(m))
    lib = tmp_path / "mpylib"
    lib.mkdir()
    # the micropython-lib package the mqtt part requires (a stand-in of its layout)
    u = lib / "micropython" / "umqtt.simple"
    (u / "umqtt").mkdir(parents=True)
    (u / "manifest.py").write_text('metadata(version="1.8.0")\npackage("umqtt")\n')
    (u / "umqtt" / "simple.py").write_text("")
    code = """import json, sys
sys.path.insert(0, %r)
import manifestfile as mf
out = {}
for p in sys.argv[1:]:
    m = mf.ManifestFile(mf.MODE_FREEZE, {"MPY_LIB_DIR": %r, "PORT_DIR": "/nonexistent", "BOARD_DIR": "/nonexistent", "MPY_DIR": "/nonexistent"})
    m.execute(p)
    out[p] = sorted((r.target_path, r.full_path) for r in m.files())
print(json.dumps(out))
""" % (tools, str(lib))
    paths = [os.path.join(manifest.part_path(p), "manifest.py") for p in manifest.PARTS + ("all",)]
    paths.append(os.path.join(ROOT, "manifest.py"))
    qemu = os.path.join(ROOT, "tools", "onenet_ota_tools", "qemu", "board", "manifest.py")
    if os.path.exists(qemu):
        paths.append(qemu)
    p = subprocess.run([sys.executable, "-c", code] + paths, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    import json

    theirs = json.loads(p.stdout)
    for path in paths:
        ours = sorted(manifest.files(path, {"MPY_LIB_DIR": str(lib)}))
        assert [list(x) for x in ours] == theirs[path], path
