# jsonlite (firmware/onenet_ota/jsonlite.py) against CPython's json, on both runtimes,
# plus a hypothesis run on CPython.
import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FW_CASES, RUNTIMES, run_cases
from onenet_ota_tools import FIRMWARE
from test_mpy_cross import compile_modules

sys.path.insert(0, FW_CASES)
sys.path.insert(0, FIRMWARE)
import cases_jsonlite as cj  # noqa: E402
from onenet_ota import jsonlite  # noqa: E402
from onenet_ota.errors import ProtocolError  # noqa: E402


@pytest.fixture(scope="module")
def mpy_dir(tmp_path_factory):
    return compile_modules(tmp_path_factory.mktemp("mpy"), ["__init__", "errors", "jsonlite"])


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_cases(runtime, mpy_dir, monkeypatch):
    monkeypatch.setenv("OTA_MPY_DIR", mpy_dir)
    r = run_cases("cases_jsonlite", runtime, heap="32k")
    assert r["case_corpus"] == [json.loads(s) for s in cj.CORPUS]
    ref = json.loads(cj.CORPUS[0])
    assert r["case_input_types"] == [ref, True, True]
    bad = r["case_bad_1"] + r["case_bad_2"]
    assert len(bad) == len(cj.BAD) + len(cj.BAD_BYTES)
    for s, got in zip(list(cj.BAD) + list(cj.BAD_BYTES), bad):
        # a ProtocolError with a short message; never accepted, never another exception
        assert got != "accepted" and not got.startswith("LEAKED"), (s[:40], got)
        assert "json" in got and len(got) < 40, (s[:40], got)
    assert r["case_maxlen"] == ["json too long", True, "json too long"]
    s, same, empty = r["case_dumps"]
    assert same is True and empty == "{}"
    assert json.loads(s) == {"errno": 0, "a\"b": "q\"uo\\te/\n\t\x01\u00e9\u4e2d", "neg": -12, "t": True, "f": False, "n": None}


def _depth(v):
    if isinstance(v, dict):
        return 1 + max([_depth(x) for x in v.values()] or [0])
    if isinstance(v, list):
        return 1 + max([_depth(x) for x in v] or [0])
    return 0


def _has_lone_surrogate(v):
    if isinstance(v, str):
        return any(0xD800 <= ord(c) < 0xE000 for c in v)
    if isinstance(v, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(x) for k, x in v.items())
    if isinstance(v, list):
        return any(_has_lone_surrogate(x) for x in v)
    return False


def _no_constant(name):
    raise ValueError(name)


def _check(data):
    try:
        got = jsonlite.loads(data)
        ok = True
    except ProtocolError:
        ok = False
    try:
        # our input is UTF-8 only; NaN / Infinity are not JSON
        ref = json.loads(bytes(data).decode("utf-8"), parse_constant=_no_constant)
        ref_ok = True
    except (ValueError, RecursionError):
        ref, ref_ok = None, False
    if ok:
        assert ref_ok and got == ref, (data, got)
    elif ref_ok:  # json took it: we may refuse only depth > 8 or lone surrogates
        assert _depth(ref) > 8 or _has_lone_surrogate(ref), (data, ref)


JSONISH = st.lists(
    st.sampled_from(
        [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"u", b"d83d", b"de00", b"00e9", b"n", b"t",
         b"1", b"-", b"0", b".", b"e", b"+", b" ", b"true", b"false", b"null", b'"k"', b"\xc3\xa9", b"\xff"]
    ),
    max_size=40,
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=64), JSONISH))
def test_random_bytes_parse_like_json_or_raise(data):
    _check(data)
    _check(bytearray(data))
    _check(memoryview(b"  " + data)[2:])


@settings(max_examples=300, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=4), c, max_size=4),
    max_leaves=12,
))
def test_valid_documents_roundtrip(v):
    for ensure_ascii in (True, False):
        _check(json.dumps(v, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass"))
