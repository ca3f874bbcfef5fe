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
