# HTTP client cases: keep-alive, ranges, the request bytes, interim answers.
# Runs on CPython and on the unix micropython against host_tests/support/scripted.py.
from http_util import _client, _get


def case_keepalive_reuse_and_recover():
    c = _client()
    out = []
    for p in ("/ka", "/ka", "/ka-then-close", "/ka", "/ka"):
        out.append(c.request("GET", p))
        buf = bytearray(8)
        out.append(bytes(buf[: c.read_body(buf)]).decode())
    out.append(c.connections)
    out.append(c.requests)
    return out


def case_content_range_ok():
    c = _client()
    st = c.request("GET", "/range-ok")
    buf = bytearray(4)
    c.readinto(buf, 4)
    return [st, c.range_start, c.range_end, c.range_total, c.length, bytes(buf).decode()]


def case_send_range_request_bytes():
    c = _client()
    path = "/echo"
    out = []
    for a, b in ((0, 4095), (4096, 8191)):
        c.send_range(path, a, b, (("X-Dev", "1"),))
        buf = bytearray(256)
        out.append(bytes(buf[: c.read_body(buf)]).decode())
    c.request("POST", "/echo", (("Content-Type", "application/json"),), '{"step":54}')
    buf = bytearray(256)
    out.append(bytes(buf[: c.read_body(buf)]).decode())
    return out


def case_interim_100_continue():
    return _get("/continue")

