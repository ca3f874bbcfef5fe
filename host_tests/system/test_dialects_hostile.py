# A hostile fuse-ota / Studio server (support/scripted.py): envelopes, task fields and
# download headers that break the digest's rules (shared/docs/onenet-ota-new-api.md
# §3, §4.3, §4.5, §9.5) end the cycle cleanly on both runtimes: a sane result and code,
# no traceback (run_device raises on a boot that printed no summary), bounded time, no
# injected header on the wire.
import argparse
import json
import time

import pytest

from conftest import RUNTIMES
from onenet_ota_tools.commands import device
from support.scripted import ScriptedServer

PID, DEV = "XHm5ltr9qA", "d0"
KEY = "ZGV2a2V5ZGV2a2V5ZGV2a2V5"
MD5 = "0" * 32


def _json(obj):
    body = json.dumps(obj).encode()
    return [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body]


def _env(platform, code=0, data=None, **kw):
    key, msg = ("code", "msg") if platform == "fuse" else ("errno", "error")
    d = {key: code, msg: "succ"}
    if data is not None:
        d["data"] = data
    d.update(kw)
    return _json(d)


def _task(**kw):
    d = {"target": "V2.0", "tid": 1317438, "size": 4096, "md5": MD5, "status": 1, "type": 1}
    d.update(kw)
    return d


def _dl(head):
    return [b"HTTP/1.1 206 Partial Content\r\n" + head + b"\r\n\r\n" + b"\0" * 4096]


CHECK_CASES = {
    "code_missing": lambda p: _json({"msg": "succ", "data": _task()}),
    "code_string": lambda p: _env(p, "0", _task()),
    "code_bool": lambda p: _env(p, False, _task()),
    "tid_slash": lambda p: _env(p, 0, _task(tid="1/../../admin")),
    "tid_crlf": lambda p: _env(p, 0, _task(tid="1\r\nX-Injected: 1")),
    "tid_huge": lambda p: _env(p, 0, _task(tid=10 ** 20)),
    "status_6": lambda p: _env(p, 0, _task(status=6)),
    "data_list": lambda p: _env(p, 0, [1, 2]),
    "msg_control": lambda p: _env(p, 12345, None, msg="\x1b[31m\r\nX-Injected: 1"),
}
DL_CASES = {
    "ota_errno_word": b"Ota-Errno: banana\r\nContent-Length: 4096\r\nContent-Range: bytes 0-4095/4096",
    "ota_errno_99": b"Ota-Errno: 99\r\nContent-Length: 0",
    "crs_wrong": b"Ota-Errno: 0\r\nContent-Length: 4096\r\nContent-Range-Start: 7\r\nContent-Range-End: 4102",
    "cre_missing": b"Ota-Errno: 0\r\nContent-Length: 4096\r\nContent-Range-Start: 0",
    "range_total_wrong": b"Ota-Errno: 0\r\nContent-Length: 4096\r\nContent-Range: bytes 0-4095/9999",
}


def _run(runtime, platform, routes, tmp_path):
    p = argparse.ArgumentParser()
    device.add_arguments(p)
    with ScriptedServer(routes) as srv:
        argv = ["--runtime", runtime, "--server", "http://127.0.0.1:%d" % srv.port, "--product-id", PID,
                "--access-key", KEY, "--dev-id", DEV, "--version", "V1.3", "--state-dir", str(tmp_path / "dev"),
                "--slot-size", "0x20000", "--json", "--quiet"]
        for s in ("timeout_ms=1000", "retries=1", "backoff_ms=10", "platform=" + platform,
                  "token_res=device", "token_version=2018-10-31"):
            argv += ["--set", s]
        log = []
        t0 = time.monotonic()
        s = device.run_device(p.parse_args(argv), log=log.append)
        took = time.monotonic() - t0
        reqs = list(srv.requests)
    assert took < 30, took
    for q in reqs:
        assert b"X-Injected" not in q and b"/admin" not in q
    for line in log:
        assert "\x1b" not in line and "\r" not in line and not line.startswith("X-Injected"), line
    return s, reqs, log


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("case", sorted(CHECK_CASES))
def test_hostile_check(runtime, case, tmp_path):
    plat = "studio" if "bool" in case or "huge" in case else "fuse"
    base = "/fuse-ota/%s/%s/" % (PID, DEV) if plat == "fuse" else "/ota/%s/%s/" % (PID, DEV)
    routes = {base + "version": _env(plat), base + "check": CHECK_CASES[case](plat),
              base + "1317438/check": _env(plat, 0, {"status": 1})}
    s, reqs, log = _run(runtime, plat, routes, tmp_path)
    assert s["result"] in ("failed", "none") and s["code"] in (0, 107), (case, s, log)
    assert s["bytes"] == 0


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("case", sorted(DL_CASES))
def test_hostile_download(runtime, case, tmp_path):
    plat = "studio" if "crs" in case or "cre" in case else "fuse"
    base = "/fuse-ota/%s/%s/" % (PID, DEV) if plat == "fuse" else "/ota/%s/%s/" % (PID, DEV)
    routes = {base + "version": _env(plat), base + "check": _env(plat, 0, _task(retry=1)),
              base + "1317438/check": _env(plat, 0, {"status": 2}),
              base + "1317438/download": _dl(DL_CASES[case]),
              base + "1317438/status": _env(plat)}
    s, reqs, log = _run(runtime, plat, routes, tmp_path)
    # every attempt refused or malformed: a failure code reported after bounded attempts
    assert s["result"] == "failed" and s["code"] in (107, 207), (case, s, log)
    downloads = [q for q in reqs if b"/download" in q.split(b"\r\n")[0]]
    assert 1 <= len(downloads) <= 12, (case, len(downloads))
    status = [q for q in reqs if q.split(b"\r\n")[0].startswith(b"POST") and b"/status" in q.split(b"\r\n")[0]]
    assert status and b'"step":' in status[-1]
