# HTTP client cases: hostile and broken answers, time-outs, injection.
# Runs on CPython and on the unix micropython against host_tests/support/scripted.py.
from http_util import PORT, _client, _get, _err


def case_close_mid_body():
    c = _client()
    c.request("GET", "/midclose")
    return _err(c.readinto, bytearray(100), 100)


def case_read_timeout():
    return _err(_get, "/stall", 400)


def case_slowloris_head():
    return _err(_get, "/slowloris", 600)


def case_connect_refused():
    c = _client(1000)
    c.port = 1  # nothing listens there
    try:
        return _err(c.request, "GET", "/")
    finally:
        c.port = PORT


def case_crlf_never_reaches_wire():
    c = _client()
    out = []
    out.append(_err(c.request, "GET", "/echo", [("X-A", "v\r\nInjected: 1")]))
    out.append(_err(c.request, "GET", "/echo\r\nInjected: 1"))
    out.append(_err(c.request, "GET\n", "/echo"))
    out.append(_err(c.send_range, "/echo\nX: y", 0, 1))
    return out
