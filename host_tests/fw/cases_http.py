# HTTP client cases: framing, keep-alive, ranges.
# Runs on CPython and on the unix micropython against host_tests/support/scripted.py.
from http_util import _client, _get


def case_content_length():
    return _get("/cl")


def case_long_ignored_header():
    # a 3000-byte header line the client does not read is skipped, not fatal
    return _get("/longignored")


def case_split_slow_bytes():
    return _get("/split")


def case_chunked_extensions_trailers():
    c = _client()
    c.request("GET", "/chunked")
    buf = bytearray(11)
    c.readinto(buf, 3)
    a = bytes(buf[:3])
    c.readinto(buf, 8)
    b = bytes(buf[:8])
    left = c.read_body(bytearray(8))
    st = c.request("GET", "/cl")  # connection still usable after the trailers
    n = c.read_body(buf)
    return [a.decode(), b.decode(), left, st, bytes(buf[:n]).decode(), c.connections]


def case_zero_length_and_204():
    c = _client()
    out = []
    for p in ("/zero", "/nocontent", "/zero"):
        out.append(c.request("GET", p))
        out.append(c.read_body(bytearray(4)))
    out.append(c.connections)
    return out


def case_until_close_http10():
    return _get("/untilclose")


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
