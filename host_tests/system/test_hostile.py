# A hostile server and the secrets (issue 7, part 5), on CPython and the real
# micropython (`onenet-ota device`, one process per boot): injected CR/LF and "/" in
# the token, ipPort and target; enormous headers and numbers; negative and huge sizes;
# garbage md5; slowloris answers. The agent ends the cycle with a sane result, never
# crashes or hangs, and nothing it was fed reaches the wire. Then every log line and
# exception text of full runs is scanned for the access key, the Authorization value
# and its sign.
import argparse
import json
import os
import time
from urllib.parse import quote as urlquote

import pytest

from onenet_ota_tools.commands import device
from support.agent_env import DEV, KEY, PID, AgentEnv, image
from support.scripted import ScriptedServer

FIGURES = os.environ.get("OTA_RELIABILITY_OUT")
OKV = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 26\r\n\r\n{"errno":0,"error":"succ"}'


def _json(obj, extra=b""):
    body = json.dumps(obj).encode()
    return [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra
            + b"Content-Length: %d\r\n\r\n" % len(body) + body]


def _task(**kw):
    d = {"target": "V2.0", "token": "ota_abcdef", "size": 4096, "md5": "0" * 32, "signal": 0, "power": 0,
         "retry": 1, "interval": 0, "type": 1}
    d.update(kw)
    return {"errno": 0, "error": "succ", "data": d}


INJECT = "X-Injected: 1"
CASES = {
    "token_crlf": _json(_task(token="ota_x\r\n" + INJECT)),
    "token_slash": _json(_task(token="../../admin/tasks")),
    "token_space": _json(_task(token="ota x HTTP/1.1")),
    "target_slash": _json(_task(target="../V2.0")),
    "target_crlf": _json(_task(target="V2\r\n" + INJECT)),
    "ipport_crlf": _json(_task(ipPort="127.0.0.1:80\r\n" + INJECT)),
    "ipport_slash": _json(_task(ipPort="evil.example/x:80")),
    "size_negative": _json(_task(size=-1)),
    "size_huge": _json(_task(size=2 ** 62)),
    "size_string": _json(_task(size="99999999999999999999")),
    "md5_garbage": _json(_task(md5="zz" * 16)),
    "md5_short": _json(_task(md5="abc")),
    "retry_huge": _json(_task(retry=10 ** 12)),
    "errno_huge": _json({"errno": 10 ** 30, "error": "x" * 10000}),
    "errno_string": _json({"errno": "0", "data": {}}),
    "error_text_control": _json({"errno": 2, "error": "\x1b[31mred\r\n" + INJECT}),
    "header_enormous": [b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n"],
    "headers_many": [b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * 5000 + b"\r\n"],
    "content_length_huge": [b"HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999999\r\n\r\n{}"],
    "content_length_negative": [b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}"],
    "body_enormous": [b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n" + b"[" * 100000],
    "chunk_size_huge": [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\nabc"],
    "json_deep": _json({}) [:0] + [b"HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n" + b"[" * 400],
    "slowloris_headers": [b"HTTP/1.1 200 OK\r\n"] + [b"X: 1\r\n", ("sleep", 0.2)] * 40,
    "slowloris_status": [(b"HTTP/1.1 200 OK\r\n"[i:i + 1]) for i in range(17)] and
                        sum(([b"HTTP/1.1 200 OK\r\n"[i:i + 1], ("sleep", 0.15)] for i in range(17)), []),
    "silence": [("sleep", 6)],
}


def _args(runtime, port, state, sets=()):
    p = argparse.ArgumentParser()
    device.add_arguments(p)
    argv = ["--runtime", runtime, "--server", "http://127.0.0.1:%d" % port, "--product-id", PID,
            "--access-key", KEY, "--dev-id", DEV, "--version", "V1.3", "--state-dir", state,
            "--slot-size", "0x20000", "--json", "--quiet"]
    for s in ("timeout_ms=1000", "retries=1", "backoff_ms=10") + tuple(sets):
        argv += ["--set", s]
    return p.parse_args(argv)


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_check_answer(runtime, tmp_path, case):
    routes = {"/ota/device/version": [OKV], "/ota/south/check": CASES[case],
              "/ota/south/download/ota_abcdef/check": [OKV]}
    with ScriptedServer(routes) as srv:
        log = []
        t0 = time.monotonic()
        s = device.run_device(_args(runtime, srv.port, str(tmp_path / "dev")), log=log.append)
        took = time.monotonic() - t0
        reqs = list(srv.requests)
    # a sane end: the cycle failed (nothing to download) or found nothing; no crash
    # (run_device raises on a boot that printed no summary), bounded time
    assert s["result"] in ("failed", "none"), (case, s, log)
    assert s["code"] in (0, 102, 107, 206), (case, s)
    assert took < 15, (case, took)
    for q in reqs:
        assert b"X-Injected" not in q and b"/admin" not in q and b"evil" not in q, (case, q)
        head = q.split(b"\r\n\r\n")[0]
        for line in head.split(b"\r\n"):
            assert all(32 <= c < 127 for c in line), (case, line)
    for line in log:
        # the server's text is cleaned: no escape sequence, no line of its own
        assert "\x1b" not in line and "\r" not in line and not line.startswith(INJECT), (case, line)
    if FIGURES:
        with open(FIGURES, "a") as f:
            f.write(json.dumps({"test": "hostile", "case": case, "runtime": runtime, "result": s["result"],
                                "code": s["code"], "seconds": round(took, 2)}) + "\n")


# -- secrets ------------------------------------------------------------------------------------


def _secrets():
    from onenet_ota.auth import token

    auth = token(PID, KEY, 4102444800, "sha1")
    sign = auth.split("sign=")[1]
    from urllib.parse import unquote

    return [KEY, auth, sign, unquote(sign), KEY.split("/")[0], urlquote(KEY, safe="")]


def test_no_secret_in_any_log(runtime, tmp_path):
    # Full runs on one runtime: a clean update, one through link faults (retries and
    # their exception texts), a failed one (205), an unreachable server; every line the
    # device printed (agent log, tracebacks, summaries) and every log line the host
    # kept is scanned for the key, the Authorization value and the sign.
    env = AgentEnv(tmp_path, runtime)
    lines = []
    try:
        env.log = lines
        data = image(64 * 1024, "V1.4")
        env.publish(data, "V1.4")
        s1 = env.run()
        t = env.publish(image(64 * 1024, "V1.5"), "V1.5")
        env.sim.fault(t["id"], drop_after=3000)
        env.sim.fault(DEV, errno7=2, http_error=503, http_error_count=1)
        s2 = env.run(version="V1.4")
        t = env.publish(image(64 * 1024, "V1.6"), "V1.6")
        env.sim.fault(t["id"], flip_offset=100)
        s3 = env.run(version="V1.5")
        port = env.sim.port
    finally:
        env.stop()
    # the server gone: connection refused, retries, the cycle ends
    s4 = env.run(version="V1.5", sets=["retries=1"])
    assert s1["result"] == "updated" and s2["result"] == "updated", (s1, s2, "\n".join(lines))
    assert s3["result"] == "failed" and s3["code"] == 205
    assert s4["result"] == "failed"
    text = "\n".join(lines) + "\n".join(json.dumps(s) for s in (s1, s2, s3, s4))
    assert "retry" in text or "attempt failed" in text  # exception texts are in there
    for secret in _secrets():
        assert secret not in text, "a secret (%d chars) is in the device's output" % len(secret)
    assert port
    if FIGURES:
        with open(FIGURES, "a") as f:
            f.write(json.dumps({"test": "secrets", "runtime": runtime, "lines": len(lines)}) + "\n")
