# HTTP client cases: hostile and broken answers, time-outs, injection; against host_tests/support/scripted.py (port in OTA_TEST_PORT).
# Runs on CPython and on the unix micropython.
import os

from onenet_ota.errors import NetError, ProtocolError, Timeout
from onenet_ota.http import Client

PORT = int(os.getenv("OTA_TEST_PORT"))


def _client(timeout_ms=3000):
    return Client("127.0.0.1", PORT, timeout_ms=timeout_ms)


def _get(path, timeout_ms=3000):
    c = _client(timeout_ms)
    try:
        st = c.request("GET", path)
        buf = bytearray(256)
        n = c.read_body(buf)
        return [st, bytes(buf[:n]).decode()]
    finally:
        c.close()


def _err(f, *a):
    try:
        f(*a)
    except ProtocolError as e:
        return "ProtocolError: " + str(e)
    except Timeout as e:
        return "Timeout: " + str(e)
    except NetError as e:
        return "NetError: " + str(e)
    return "no error"


def case_protocol_violations():
    return [[p, _err(_get, p)] for p in (
        "/longline", "/manyheaders", "/bignum", "/dupcl", "/badstatus", "/te-gzip",
        "/range-bad1", "/range-bad2", "/range-bad3", "/range-bad4", "/folded", "/bigbody",
    )]


def case_close_mid_body():
    c = _client()
    c.request("GET", "/midclose")
    return _err(c.readinto, bytearray(100), 100)


def case_read_timeout():
    return _err(_get, "/stall", 400)


def case_slowloris_head():
    return _err(_get, "/slowloris", 600)


def case_connect_refused():
    c = Client("127.0.0.1", 1, timeout_ms=1000)
    return _err(c.request, "GET", "/")


def case_crlf_never_reaches_wire():
    c = _client()
    out = []
    out.append(_err(c.request, "GET", "/echo", [("X-A", "v\r\nInjected: 1")]))
    out.append(_err(c.request, "GET", "/echo\r\nInjected: 1"))
    out.append(_err(c.request, "GET\n", "/echo"))
    out.append(_err(c.send_range, "/echo\nX: y", 0, 1))
    return out
