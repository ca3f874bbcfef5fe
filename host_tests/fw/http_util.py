# Shared by the HTTP client case modules: a client for the scripted server on
# loopback (port in OTA_TEST_PORT), a GET helper and typed-error capture.
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
