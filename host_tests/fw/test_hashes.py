# Pure-Python MD5 / SHA-1 (firmware/onenet_ota/md5.py, sha1.py) against hashlib, on
# CPython and on the unix micropython with a 32k heap, viper and plain paths.
import hashlib
import os
import subprocess
import sys

import pytest

from conftest import FW_CASES, RUNTIMES, run_cases
from onenet_ota_tools import FIRMWARE, ROOT
from test_mpy_cross import compile_modules

sys.path.insert(0, FW_CASES)
import cases_hashes as ch  # noqa: E402  (only its data definitions are used here)


def _ref(name):
    return getattr(hashlib, name)


def _fold(name, inputs):
    acc = _ref(name)()
    for data in inputs:
        acc.update(_ref(name)(data).digest())
    return acc.hexdigest()


def expected(name):
    buf = bytearray(2048)
    whole = []
    for i in range(301 + len(ch.BIG)):
        n = i if i <= 300 else ch.BIG[i - 301]
        ch.Stream(n).fill(buf, n)
        whole.append(bytes(buf[:n]))
    split = []
    for n in ch.SPLIT_LENGTHS:
        ch.Stream(1000 + n).fill(buf, n + 3)
        split += [bytes(buf[3 : 3 + n])] * 3
    s = ch.Stream(7)
    stream = bytearray()
    k = 0
    while len(stream) < ch.STREAM_TOTAL:
        n = min(ch.STREAM_CHUNKS[k % len(ch.STREAM_CHUNKS)], ch.STREAM_TOTAL - len(stream))
        k += 1
        s.fill(buf, n)
        stream += buf[:n]
    return _fold(name, whole), _fold(name, split), [_ref(name)(bytes(stream)).hexdigest()]


@pytest.fixture(scope="module")
def mpy_dir(tmp_path_factory):
    # As on a board: the modules precompiled (see cases_hashes.py).
    return compile_modules(tmp_path_factory.mktemp("mpy"), ["__init__", "errors", "blockhash", "md5", "sha1"])


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", ["md5", "sha1"])
def test_against_hashlib(runtime, name, mpy_dir, monkeypatch):
    monkeypatch.setenv("OTA_MPY_DIR", mpy_dir)
    r = run_cases("cases_hashes", runtime, heap="32k", cases=["case_" + name])["case_" + name]
    whole, split, stream = expected(name)
    fast, plain, alloc, finalised = r
    for path in (fast, plain):
        assert path[1:] == [whole, split, stream]
    # micropython compiles the viper block function; CPython has no emitters
    assert fast[0] is (runtime == "micropython")
    assert plain[0] is False
    if runtime == "micropython":
        assert alloc == [0, 0]  # 300 updates of odd sizes allocate nothing
    assert finalised == ["hash finalised", "hash finalised"]


def test_source_import_and_digest_new():
    # From source on CPython through digest.new's fallback names.
    sys.path.insert(0, FIRMWARE)
    try:
        from onenet_ota import md5, sha1

        for cls, ref in ((md5.MD5, hashlib.md5), (sha1.SHA1, hashlib.sha1)):
            data = bytes(range(256)) * 5
            h = cls()
            h.update(memoryview(data)[:77])
            h.update(bytearray(data[77:]))
            assert h.digest() == ref(data).digest()
    finally:
        sys.path.remove(FIRMWARE)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_hashbench_runs(runtime):
    from onenet_ota_tools import runtimes

    p = runtimes.run(runtime, os.path.join(ROOT, "tools", "onenet_ota_tools", "hashbench.py"), ["4"], heap="256k")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert any(line.startswith("md5  plain") and "KB/s" in line for line in lines), p.stdout
    assert any(line.startswith("sha1 plain") for line in lines), p.stdout
    if runtime == "micropython":
        assert any(line.startswith("md5  viper") for line in lines), p.stdout


WASM_CHECK = """
def _hx(d):
    return "".join("%02x" % c for c in d)
for _n in list(range(0, 130)) + [1000, 5000]:
    _b = bytearray(_n)
    for _i in range(_n):
        _b[_i] = (_i * 131 + _n) & 255
    print("W", _n, _hx(MD5(_b).digest()), _hx(SHA1(memoryview(_b)).digest()))
"""


def test_wasm_plain_path_if_available(tmp_path):
    # The 32-bit WebAssembly port (no emitters, 30-bit small ints), when installed at
    # $OTA_WASM_MJS (e.g. /tmp/wasm/node_modules/@micropython/micropython-webassembly-
    # pyscript/micropython.mjs). Its CLI concatenates the files it is given.
    mjs = os.getenv("OTA_WASM_MJS")
    if not mjs or not os.path.exists(mjs):
        pytest.skip("OTA_WASM_MJS not set")
    check = tmp_path / "check.py"
    check.write_text(WASM_CHECK)
    # One namespace: the shared base first, its relative imports dropped.
    files = []
    for f in ("blockhash.py", "md5.py", "sha1.py"):
        with open(os.path.join(FIRMWARE, "onenet_ota", f)) as src:
            text = src.read().replace("from .blockhash import BlockHash", "")
        (tmp_path / f).write_text(text)
        files.append(str(tmp_path / f))
    p = subprocess.run(["node", mjs, "-X", "heapsize=64k"] + files + [str(check)], capture_output=True, text=True, timeout=300)
    got = [line.split() for line in p.stdout.splitlines() if line.startswith("W ")]
    assert len(got) == 132, p.stdout + p.stderr
    for _, n, m, s in got:
        n = int(n)
        b = bytes((i * 131 + n) & 255 for i in range(n))
        assert (m, s) == (hashlib.md5(b).hexdigest(), hashlib.sha1(b).hexdigest()), n
    files.append(os.path.join(ROOT, "tools", "onenet_ota_tools", "hashbench.py"))
    p = subprocess.run(["node", mjs, "-X", "heapsize=64k"] + files, capture_output=True, text=True, timeout=300)
    assert "md5  plain" in p.stdout and "heap" in p.stdout, p.stdout + p.stderr


def test_forget_drops_a_pure_hash_module_and_an_import_brings_it_back():
    # api.authorization drops the token's SHA-1 after signing (digest.forget): on a
    # board without hashlib its functions and class then leave the heap
    from onenet_ota import digest, sha1  # noqa: F401

    assert "onenet_ota.sha1" in sys.modules
    digest.forget("sha1")
    assert "onenet_ota.sha1" not in sys.modules
    assert not hasattr(sys.modules["onenet_ota"], "sha1")
    from onenet_ota.sha1 import SHA1

    h = SHA1()
    h.update(b"abc")
    assert h.digest() == hashlib.sha1(b"abc").digest()
    digest.forget("sha1")
    digest.forget("no_such_module")  # nothing loaded: nothing to do
