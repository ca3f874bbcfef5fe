# HTTP client cases: keep-alive, ranges, the request bytes, interim answers.
# Runs on CPython and on the unix micropython against host_tests/support/scripted.py.
from http_util import PORT, _client, _get


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
    return [st, c.crange[0], c.crange[1], c.crange[2], c.length, bytes(buf).decode()]


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


# Two clients sharing request and line buffers (the agent's second connection): a
# request by one between two ranges of the other; the other's next range goes out
# whole (its cached download head was forgotten, not sent half-overwritten).
def case_shared_buffers():
    from onenet_ota.http import Client

    a = _client()
    b = Client("127.0.0.1", PORT, timeout_ms=3000, share=a)
    out = [b._req is a._req, b._line is a._line, b._rb is a._rb]
    buf = bytearray(256)
    path = "/echo"
    a.send_range(path, 0, 4095, (("X-Dev", "1"),))
    out.append(bytes(buf[: a.read_body(buf)]).decode())
    b.request("POST", "/echo", (("Content-Type", "application/json"),), '{"step":54}')
    out.append(bytes(buf[: b.read_body(buf)]).decode())
    a.send_range(path, 4096, 8191, (("X-Dev", "1"),))
    out.append(bytes(buf[: a.read_body(buf)]).decode())
    b.close()
    a._peer = None  # the shared case client goes on alone
    return out


def case_interim_100_continue():
    return _get("/continue")

