# HTTP client cases: what follows an answer, and long chunked framing.
# Runs on CPython and on the unix micropython against host_tests/support/scripted.py.
from http_util import _client


# Bytes after a whole answer (a smuggled second answer in the same segment, or one
# that arrives later) close the connection: the next request gets the server's real
# answer on a new one, never the smuggled one.
def case_smuggled_answer_closes():
    import time

    c = _client()
    out = []
    for p in ("/smuggle-now", "/ka", "/smuggle-later", "/ka"):
        out.append(c.request("GET", p))
        buf = bytearray(8)
        out.append(bytes(buf[: c.read_body(buf)]).decode())
        time.sleep_ms(60) if hasattr(time, "sleep_ms") else time.sleep(0.06)
    out.append(c.connections)
    return out


# A chunked body whose framing adds up past the 4 KiB head cap, over longer than the
# time-out: framing is not head.
def case_long_chunked_body():
    c = _client(timeout_ms=300)
    st = c.request("GET", "/manychunks")
    buf = bytearray(2048)
    n = c.read_body(buf)
    return [st, n, bytes(buf[:3]).decode()]
