# Application updates (issue 17): the OAB1 bundle format and `package --app`, the app
# sink and the loader on both runtimes (fw/cases_app.py: streaming, resume at every
# offset, bad bundles, slots, crash-loop rollback, a power cut at every filesystem
# operation of an update).
import hashlib
import os
import subprocess

import pytest

from conftest import RUNTIMES, run_cases
from onenet_ota_tools import appbundle


def app_files(version, seed):
    # An app folder's files (bytes), a few KiB in a few files, one in a subfolder.
    import random

    rng = random.Random(seed)
    blob = bytes(rng.randrange(256) for _ in range(3000))
    return [
        ("app.py", ("VERSION = %r\n\ndef selftest():\n    return True\n\ndef main():\n    print('app', VERSION)\n"
                    % version).encode()),
        ("lib/util.py", ("def f():\n    return %d\n" % seed).encode() * 40),
        ("data/blob.bin", blob),
        ("data/empty.txt", b""),
        ("notes.txt", b"x" * (700 + seed)),
    ]


def write_bundles(base):
    out = {}
    for name, ver, seed in (("v1", "V1.0", 1), ("v2", "V2.0", 2)):
        files = app_files(ver, seed)
        blob = appbundle.pack(files, ver, "app")
        with open(os.path.join(base, name + ".oab"), "wb") as f:
            f.write(blob)
        with open(os.path.join(base, name + ".lst"), "w") as f:
            for p, data in files:
                f.write("%s %s\n" % (p, hashlib.md5(data).hexdigest()))
        out[name] = blob
    v2 = out["v2"]
    bad = {
        "bad_magic": b"XXXX" + v2[4:],
        "bad_trailing": v2 + b"zz",
        "bad_short": v2[:-5],
    }
    b = bytearray(appbundle.pack([("aa/evil.py", b"1")], "V2.0", "app"))
    i = b.index(b"aa/evil")
    b[i : i + 2] = b".."
    bad["bad_path"] = bytes(b)
    b = bytearray(v2)
    b[-10] ^= 1  # a byte of the last file's data
    bad["bad_digest"] = bytes(b)
    for k, v in bad.items():
        with open(os.path.join(base, k + ".oab"), "wb") as f:
            f.write(v)
    return out


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_app_cases(runtime, state_base):
    blobs = write_bundles(str(state_base))
    r = run_cases("cases_app", runtime, heap="256k", timeout=600)
    assert r["case_stream_odd_chunks_and_read_back"]["size"] == len(blobs["v2"])
    assert r["case_resume_at_every_offset"]["resumes"] >= 90
    bad = r["case_bad_bundles_refused"]
    assert "OAB1" in bad["bad_magic.oab"] and "file name" in bad["bad_path.oab"]
    assert "digest" in bad["bad_digest.oab"] and "after the last file" in bad["bad_trailing.oab"]
    assert "incomplete" in bad["bad_short.oab"]
    assert r["case_loader_rolls_back_a_crash_loop"] == ["b", "b", "b", "a", "a", "a"]
    assert r["case_every_board_profile"] == {"esp32": "Board", "nrf52832": "Nrf52Board", "gd32": "Gd32Board",
                                             "unix": "Board"}
    sweep = r["case_power_cut_sweep"]
    assert sweep["ops"] >= 40 and sweep["cuts"] == sweep["ops"], sweep
    print("%s: power-cut sweep, %d operations, %d cuts, every one bootable" % (runtime, sweep["ops"], sweep["cuts"]))
    al = r["case_write_allocates_nothing"]
    if al != "SKIP":
        # a write inside one file allocates nothing; one that crosses into the next
        # file opens it (5 files)
        assert al["allocating"] <= 6, al


def test_pack_unpack_and_refusals():
    files = app_files("V2.0", 2)
    blob = appbundle.pack(files, "V2.0", "app", "esp32")
    man, got = appbundle.unpack(blob)
    assert man == {"version": "V2.0", "entry": "app", "board": "esp32"} and got == files
    for bad in ("../x.py", "/abs.py", ".hidden", "a//b", "a/../b", "x" * 65):
        with pytest.raises(appbundle.BundleError):
            appbundle.pack([(bad, b"1")], "V2.0", "app")
    with pytest.raises(appbundle.BundleError):
        appbundle.pack(files, "V 2", "app")
    with pytest.raises(appbundle.BundleError):
        appbundle.unpack(blob + b"1")


@pytest.mark.parametrize("board,march", [("esp32", b"\x4d\x06"), ("unix", None), ("nrf52832", None)])
def test_package_app_compiles_per_board(cli, tmp_path, board, march):
    src = tmp_path / "myapp"
    (src / "lib").mkdir(parents=True)
    (src / "app.py").write_text("def selftest():\n    return True\n\ndef main():\n    print('hi')\n")
    (src / "lib" / "helper.py").write_text("X = 1\n")
    (src / "main.py").write_text("print('kept as source')\n")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "x.pyc").write_bytes(b"junk")
    out = tmp_path / "app.oab"
    code, stdout, err = cli("package", "--board", board, "--app", src, "--version", "V2.1", "-o", out)
    assert code == 0, err
    blob = out.read_bytes()
    assert "md5: %s" % hashlib.md5(blob).hexdigest() in stdout
    man, files = appbundle.unpack(blob)
    assert man["version"] == "V2.1" and man["entry"] == "app" and man["board"] == board
    names = dict(files)
    assert sorted(names) == ["app.mpy", "lib/helper.mpy", "main.py"], sorted(names)
    assert names["app.mpy"][:1] == b"M"  # mpy-cross output
    assert names["main.py"] == b"print('kept as source')\n"


def test_package_app_errors(cli, tmp_path):
    src = tmp_path / "two"
    src.mkdir()
    (src / "a.py").write_text("")
    (src / "b.py").write_text("")
    code, _, err = cli("package", "--board", "unix", "--app", src, "--version", "V2", "-o", tmp_path / "o")
    assert code == 2 and "--entry" in err
    code, _, err = cli("package", "--board", "unix", "--app", src, "-o", tmp_path / "o")
    assert code == 2 and "--version" in err
    code, _, err = cli("package", "--board", "unix", "--app", tmp_path / "nope", "--version", "V2")
    assert code == 2 and "not a folder" in err
    code, _, err = cli("package", "--board", "unix", "--app", src, "--version", "V2", "--entry", "zz",
                       "-o", tmp_path / "o")
    assert code == 2 and "zz" in err
    # --target (package's name for the task's version) works as --version; both must agree
    code, _, err = cli("package", "--board", "unix", "--app", src, "--target", "V2", "--entry", "a",
                       "-o", tmp_path / "o")
    assert code == 0 and appbundle.unpack((tmp_path / "o").read_bytes())[0]["version"] == "V2"
    code, _, err = cli("package", "--board", "unix", "--app", src, "--target", "V2", "--version", "V3",
                       "--entry", "a", "-o", tmp_path / "o")
    assert code == 2 and "--target" in err


def test_compiled_bundle_runs_on_micropython(cli, tmp_path):
    # The bundle's .mpy files, unpacked by the app sink and started by the loader on
    # the real unix micropython: its main() runs.
    from onenet_ota_tools import FIRMWARE, runtimes

    src = tmp_path / "myapp"
    src.mkdir()
    (src / "app.py").write_text("import helper\n\ndef main():\n    print('APP RUNS', helper.X)\n")
    (src / "helper.py").write_text("X = 42\n")
    out = tmp_path / "app.oab"
    assert cli("package", "--board", "unix", "--app", src, "--version", "V3.0", "-o", out)[0] == 0
    script = tmp_path / "install.py"
    script.write_text(
        "import sys\nsys.path.insert(0, %r)\n" % FIRMWARE
        + "from onenet_ota import sink_app, apprun\n"
        "s = sink_app.AppSink('apps')\n"
        "f = open(%r, 'rb')\nb = bytearray(100)\nmv = memoryview(b)\n" % str(out)
        + "import os\ns.begin(os.stat(%r)[6])\n" % str(out)
        + "while True:\n    k = f.readinto(b)\n    if not k:\n        break\n    s.write(mv[:k])\n"
        "s.commit()\napprun.start(apprun.boot())\n")
    p = subprocess.run([runtimes.micropython_binary(), str(script)], cwd=str(tmp_path), capture_output=True,
                       text=True, timeout=60)
    assert "APP RUNS 42" in p.stdout, p.stdout + p.stderr


def test_demo_app(cli, tmp_path):
    # `onenet-ota demo --app`: boards/unix/main.py on the real micropython, boot after
    # boot: V1 and V2 installed over the air (201), V3's self-test fails: 206, V2 runs.
    code, out, err = cli("demo", "--app", "--state-dir", tmp_path / "d")
    assert code == 0, out + err
    assert "boots: reset | hello from V1.0" in out and "boots: reset | hello from V2.0" in out
    assert "boots: reset | reset | hello from V2.0" in out
    assert out.count("task succeeded, codes [101, 201]") == 2 and "task failed, codes [101, 206]" in out


def test_deploy_brings_the_app_part_for_sink_app(cli, tmp_path, secrets):
    # A board config with "sink": "app": deploy copies the app sink and loader too.
    import json as _json

    from onenet_ota_tools import ROOT

    cfg = _json.load(open(os.path.join(ROOT, "boards", "esp32", "config.json")))
    cfg["sink"] = "app"
    p = tmp_path / "config.json"
    p.write_text(_json.dumps(cfg))
    code, out, err = cli("deploy", "--board", "esp32", "--port", "/dev/ttyUSB0", "--dry-run", "--config", p,
                         "--secrets", secrets, "--build-dir", tmp_path / "b")
    assert code == 0, err
    cp = [l for l in out.splitlines() if " fs cp " in l][0]
    assert "sink_app.mpy" in cp and "apprun.mpy" in cp and "sink_file.mpy" in cp
    code, out, err = cli("deploy", "--board", "esp32", "--port", "/dev/ttyUSB0", "--dry-run",
                         "--secrets", secrets, "--build-dir", tmp_path / "b")
    assert "sink_app.mpy" not in out  # the stock config: unchanged


def test_loader_imports_nothing_else():
    # apprun runs first at every boot: a broken agent or app must not stop it, so it
    # imports only built-ins (os, sys), and nothing inside its functions either.
    import ast

    from onenet_ota_tools import FIRMWARE

    tree = ast.parse(open(os.path.join(FIRMWARE, "onenet_ota", "apprun.py")).read())
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            top.add("." * node.level + (node.module or ""))
    assert top == {"os", "sys"}, top
    inner = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and n not in tree.body]
    assert inner == [], [(n.module, [a.name for a in n.names]) for n in inner]


def test_capacity_counts_the_next_folder(tmp_path, monkeypatch):
    # capacity 0: the filesystem's free space plus what the next folder holds, so a
    # resumed download is not refused (102) for the space its own first part takes.
    import sys

    from onenet_ota_tools import SHIM

    if SHIM not in sys.path:  # in-process: the shim is not on the path of every run
        sys.path.insert(0, SHIM)
    import ota_shim
    from onenet_ota import sink_app

    ota_shim.install(str(tmp_path))
    root = str(tmp_path / "apps")
    os.makedirs(os.path.join(root, "a", "lib"))
    with open(os.path.join(root, "a", "x.bin"), "wb") as f:
        f.write(b"1" * 3000)
    with open(os.path.join(root, "a", "lib", "y.bin"), "wb") as f:
        f.write(b"2" * 500)
    monkeypatch.setattr(sink_app.os, "statvfs", lambda p: (4096, 4096, 100, 10, 10, 0, 0, 0, 0, 255))
    assert sink_app.AppSink(root).capacity == 40960 + 3500
    assert sink_app.AppSink(root, capacity=1234).capacity == 1234


def test_loader_and_sink_ram_on_micropython(tmp_path):
    # gc.mem_alloc() around the imports on the unix port (64-bit: a 32-bit board needs
    # about half): the loader, the sink with what it imports, one sink after begin.
    from onenet_ota_tools import FIRMWARE, runtimes

    script = tmp_path / "ram.py"
    script.write_text(
        "import gc\ngc.collect()\na0 = gc.mem_alloc()\nfrom onenet_ota import apprun\ngc.collect()\n"
        "a1 = gc.mem_alloc()\nfrom onenet_ota import sink_app\ngc.collect()\na2 = gc.mem_alloc()\n"
        "s = sink_app.AppSink('apps', 1 << 20)\ns.begin(4883)\ngc.collect()\na3 = gc.mem_alloc()\n"
        "print('RAM', a1 - a0, a2 - a1, a3 - a2)\n")
    p = runtimes.run("micropython", str(script), heap="32k", timeout=60, cwd=str(tmp_path))
    line = [l for l in p.stdout.splitlines() if l.startswith("RAM ")]
    assert line, p.stdout + p.stderr
    loader, sink_mod, sink = map(int, line[0].split()[1:])
    print("RAM (unix 64-bit): loader %d, sink_app and imports %d, one AppSink %d bytes" % (loader, sink_mod, sink))
    assert loader < 6000 and sink_mod < 24000 and sink < 1500, (loader, sink_mod, sink)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_app_sink_with_nrf52832_modules_only(runtime, tmp_path):
    # The nRF52832's module set (no hashlib, json, binascii.crc32...: shim/nomods.py):
    # stream, read back, commit (every file's md5 by the pure fallback), the loader.
    from onenet_ota_tools import runtimes

    blob = write_bundles(str(tmp_path))["v2"]
    script = tmp_path / "nrf.py"
    script.write_text(
        "import nomods\nnomods.install(nomods.NRF52832)\n"
        "from onenet_ota import sink_app, apprun, digest\n"
        "s = sink_app.AppSink('apps', 1 << 20)\ns.begin(%d)\n" % len(blob)
        + "f = open('v2.oab', 'rb')\nb = bytearray(1024)\nmv = memoryview(b)\nmd = digest.new('md5')\n"
        "while True:\n    k = f.readinto(b)\n    if not k:\n        break\n    md.update(mv[:k])\n    s.write(mv[:k])\n"
        "back = digest.new('md5')\noff = 0\nwhile off < %d:\n" % len(blob)
        + "    k = s.readinto(off, b)\n    back.update(mv[:k])\n    off += k\n"
        "s.commit()\nprint('OK', digest.hexstr(md.digest()), digest.hexstr(back.digest()), apprun.boot('apps'))\n")
    p = runtimes.run(runtime, str(script), heap="64k", timeout=120, cwd=str(tmp_path))
    want = hashlib.md5(blob).hexdigest()
    assert "OK %s %s apps/a" % (want, want) in p.stdout, p.stdout + p.stderr


def test_demo_app_never_empties_a_folder_it_did_not_make(cli, tmp_path):
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    code, out, err = cli("demo", "--app", "--state-dir", mine)
    assert code == 2 and (mine / "keep.txt").read_text() == "mine"
