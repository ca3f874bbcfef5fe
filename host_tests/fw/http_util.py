# Shared by the HTTP client case modules: a client for the scripted server on
# loopback (port in OTA_TEST_PORT), a GET helper and typed-error capture.
import os

from onenet_ota.errors import NetError, ProtocolError, Timeout
from onenet_ota.http import Client

PORT = int(os.getenv("OTA_TEST_PORT"))


_shared = []
_body = bytearray(256)


# The client, reused by every case with its connection closed and its counters reset:
# a 32 KiB heap on the 64-bit port does not take a new client's buffers per case
# without fragmenting (a board has frozen code and fewer, smaller objects).
def _client(timeout_ms=3000):
    if not _shared:
        _shared.append(Client("127.0.0.1", PORT, timeout_ms=timeout_ms))
    c = _shared[0]
    c.close()
    c.timeout_ms = timeout_ms
    c.connections = c.requests = 0
    return c


# One GET on a fresh connection.
def _get(path, timeout_ms=3000):
    c = _client(timeout_ms)
    try:
        st = c.request("GET", path)
        n = c.read_body(_body)
        return [st, bytes(_body[:n]).decode()]
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
