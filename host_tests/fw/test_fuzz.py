# Fuzzing the parsers that read what a server (or a modem, or the flash) hands the
# device (issue 7, part 4), with hypothesis on CPython: HTTP status line and headers,
# chunked decoding, Content-Range, the JSON reader, the journal decoder and, when it is
# there, the AT-modem response parser. Property for each: only typed errors (OtaError
# subclasses; journal.parse: None), bounded memory, no endless loop (every example runs
# under a wall-clock alarm). CI size: OTA_FUZZ_EXAMPLES (default 300) per target; the
# long run (`onenet-ota reliability --long`) sets it to 20000.
import os
import signal
import sys
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onenet_ota_tools import FIRMWARE, SHIM

for _p in (SHIM, FIRMWARE):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import ota_shim  # noqa: E402

ota_shim.install(None)  # micropython stand-in, time.ticks_* on CPython

from onenet_ota import http, journal, jsonlite  # noqa: E402
from onenet_ota.errors import OtaError  # noqa: E402

from fake_uart import FakeUart  # noqa: E402  (host_tests/fw, on the path as the test's folder)

N = int(os.environ.get("OTA_FUZZ_EXAMPLES", "300"))
FIGURES = os.environ.get("OTA_RELIABILITY_OUT")
SET = settings(max_examples=N, deadline=None, suppress_health_check=list(HealthCheck), database=None)
COUNTS = {}


class Hang(BaseException):
    pass


def _alarm(*_):
    raise Hang()


def bounded(fn, seconds=2.0, mem=512 * 1024):
    # Run fn() under a wall-clock alarm and a memory cap (tracemalloc peak).
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    tracemalloc.start()
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < mem, "peak %d bytes" % peak


def count(name):
    COUNTS[name] = COUNTS.get(name, 0) + 1


@pytest.fixture(scope="module", autouse=True)
def figures():
    yield
    if FIGURES:
        import json

        with open(FIGURES, "a") as f:
            for k, v in sorted(COUNTS.items()):
                f.write(json.dumps({"test": "fuzz", "target": k, "examples": v}) + "\n")


# -- HTTP -------------------------------------------------------------------------------


class FakeTransport:
    # What the server sends, in pieces of the given sizes; 0 at the end (closed).
    def __init__(self, data, pieces):
        self.data = bytes(data)
        self.pos = 0
        self.pieces = list(pieces) or [4096]
        self.i = 0
        self.sent = 0

    def write(self, buf, n):
        self.sent += n

    def readinto(self, buf, n):
        k = min(n, self.pieces[self.i % len(self.pieces)], len(self.data) - self.pos)
        self.i += 1
        buf[:k] = self.data[self.pos : self.pos + k]
        self.pos += k
        return k

    def read_exact(self, buf, n):
        got = 0
        mv = memoryview(buf)
        while got < n:
            r = self.readinto(mv[got:], n - got)
            if not r:
                raise http.NetError("connection closed mid-body")
            got += r
        return n

    def close(self):
        pass


def _client(data, pieces):
    t = FakeTransport(data, pieces)
    c = http.Client("127.0.0.1", 80, connect=lambda h, p, to: t, timeout_ms=1000)
    return c, t


HEADER_NAMES = [b"Content-Length", b"content-length", b"Transfer-Encoding", b"Content-Range", b"Connection",
                b"X-A", b"", b" ", b"Content-Length ", b"\x00"]
HEADER_VALUES = [b"0", b"5", b"-1", b"99999999999", b"chunked", b"gzip", b"close", b"keep-alive",
                 b"bytes 0-3/10", b"bytes */10", b"bytes 5-3/10", b"bytes 0-9/5", b"bytes x-y/z", b"bytes 0-/",
                 b"bytes -1-3/10", b"0x10", b" 4 ", b"\xff\xfe", b"a" * 600]
STATUS = [b"HTTP/1.1 200 OK", b"HTTP/1.1 206 Partial Content", b"HTTP/1.0 200 OK", b"HTTP/1.1 100 Continue",
          b"HTTP/1.1 204 No Content", b"HTTP/1.1 500 X", b"HTTP/1.1 99 X", b"HTTP/1.1 2000 X", b"HTTP/2 200",
          b"HTP/1.1 200 OK", b"HTTP/1.1 20", b"", b"HTTP/1.1 abc OK"]

header = st.tuples(st.sampled_from(HEADER_NAMES), st.sampled_from([b":", b": ", b"", b":\t"]),
                   st.sampled_from(HEADER_VALUES) | st.binary(max_size=40)).map(b"".join)
chunk_body = st.lists(st.tuples(st.sampled_from([b"0", b"5", b"a", b"FFFFFFFFFFF", b"3;x=1", b"-1", b"", b"g"]),
                                st.binary(max_size=12)).map(lambda t: t[0] + b"\r\n" + t[1] + b"\r\n"),
                      max_size=6).map(b"".join)
response = st.one_of(
    st.binary(max_size=300),
    st.tuples(st.sampled_from(STATUS), st.lists(header, max_size=8),
              st.sampled_from([b"\r\n", b"\n", b""]), st.one_of(st.binary(max_size=200), chunk_body))
    .map(lambda t: t[0] + b"\r\n" + b"".join(h + t[2] for h in t[1]) + b"\r\n" + t[3]),
)
pieces = st.lists(st.integers(1, 300), min_size=1, max_size=4)


@SET
@given(response, pieces)
def test_http_head_and_body(data, pcs):
    count("http_head_body")

    def run():
        c, _ = _client(data, pcs)
        try:
            c.request("GET", "/x")
            buf = bytearray(768)
            n = c.read_body(buf)
            assert 0 <= n <= len(buf)
        except OtaError:
            pass

    bounded(run)


@SET
@given(st.tuples(st.sampled_from(STATUS[:2]), st.lists(header, max_size=6), st.binary(max_size=300)), pieces,
       st.integers(0, 20), st.integers(0, 40))
def test_http_ranged_read(parts, pcs, start, k):
    # The download path: send_range + readinto exact counts; Content-Range validated.
    count("http_range_readinto")
    status, hdrs, body = parts
    data = status + b"\r\n" + b"".join(h + b"\r\n" for h in hdrs) + b"\r\n" + body

    def run():
        c, _ = _client(data, pcs)
        try:
            c.send_range("/dl", start, start + k)
            r = c.crange
            if r[0] >= 0:
                assert r[0] <= r[1] < r[2]
                if c.length >= 0:
                    assert r[1] - r[0] + 1 == c.length
            buf = bytearray(64)
            n = min(k + 1, 64)
            assert c.readinto(buf, n) == n
        except OtaError:
            pass

    bounded(run)


@SET
@given(st.one_of(st.sampled_from(HEADER_VALUES), st.binary(max_size=60),
                 st.tuples(st.integers(-5, 2**40), st.integers(-5, 2**40), st.integers(-5, 2**40))
                 .map(lambda t: b"bytes %d-%d/%d" % t)))
def test_content_range(value):
    count("content_range")
    data = b"HTTP/1.1 206 P\r\nContent-Range: " + value + b"\r\n\r\n"

    def run():
        c, _ = _client(data, [4096])
        try:
            c.request("GET", "/x")
        except OtaError:
            return
        r = c.crange
        if r[0] >= 0:
            assert 0 <= r[0] <= r[1] < r[2] <= http._MAXNUM

    bounded(run)


# -- JSON ---------------------------------------------------------------------------------

JSONISH = st.lists(st.sampled_from([b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"u", b"1", b"-", b"e",
                                    b"99999999999999999999", b"true", b"null", b'"k"', b" ", b"\xff", b"[" * 20]),
                   max_size=60).map(b"".join)


@SET
@given(st.one_of(st.binary(max_size=200), JSONISH))
def test_jsonlite(data):
    count("jsonlite")

    def run():
        try:
            jsonlite.loads(data)
        except OtaError:
            pass

    bounded(run)


# -- journal ----------------------------------------------------------------------------

REC = {"seq": 3, "state": "dl", "token": "ota_abc", "md5": "0" * 32, "size": 1000, "target": "V2.0",
       "offset": 512, "from_ver": "V1.0", "task_type": 2, "retries": 0, "boots": 0}
GOOD = journal.encode(dict(REC))


@SET
@given(st.one_of(st.binary(max_size=600),
                 st.tuples(st.integers(0, len(GOOD)), st.integers(0, 255), st.integers(0, len(GOOD)))
                 .map(lambda t: GOOD[: t[0]] + bytes([t[1]]) + GOOD[t[0] + 1 :]),
                 st.integers(0, len(GOOD)).map(lambda k: GOOD[:k])))
def test_journal_parse(data):
    count("journal")

    def run():
        r = journal.parse(data)
        if r is not None:
            assert set(r) == set(journal.FIELDS) and 0 <= r["offset"] <= r["size"]
            assert journal.parse(journal.encode(dict(r))) is not None

    bounded(run)


# -- AT modem -----------------------------------------------------------------------------

try:
    from onenet_ota import transport_at
except ImportError:  # another engineer's module: fuzzed when it is there
    transport_at = None
else:  # AtModem imports its modem's dialect (and an m5311 the shim's machine, for the
    # hold) when made: loaded here, so the memory cap measures the parser, not imports
    from onenet_ota import at_bc26, at_m5311  # noqa: F401

    try:
        import machine  # noqa: F401
    except ImportError:
        pass


AT_LINES = [b"OK", b"ERROR", b"+CME ERROR: 3", b"> ", b"SEND OK", b"SEND FAIL", b"+QIOPEN: 0,0", b"+QIOPEN: 0,x",
            b'+QIURC: "recv",0', b'+QIURC: "closed",0', b"+QIRD: 5", b"+QIRD: 99999", b"+QIRD: -1", b"+QIRD: 0",
            b'+IPRD: 0,"1.2.3.4",80,4,41424344', b'+IPRD: 0,"1.2.3.4",80,9999,41', b"+IPRD: 0,,,,zz",
            b"+IPCLOSE: 0", b"CONNECT OK", b"CONNECT FAIL", b"+CMDNS: 1.2.3.4", b"+CGATT: 1", b"+CEREG: 1",
            b"hello", b"\x00\xff", b"+" * 200]
at_stream = st.lists(st.one_of(st.sampled_from(AT_LINES), st.binary(max_size=30)).map(lambda l: l + b"\r\n"),
                     max_size=12).map(b"".join)


@pytest.mark.skipif(transport_at is None, reason="transport_at.py not there yet")
@SET
@given(st.sampled_from(["bc26", "m5311"]), at_stream)
def test_at_parser(kind, data):
    count("at_" + kind)

    def run():
        m = transport_at.AtModem(FakeUart(data), kind, timeout_ms=15)
        try:
            m.cmd("AT")
        except OtaError:
            pass
        m.is_open = True
        buf = bytearray(64)
        try:
            for _ in range(8):
                if not m.readinto(buf, 64):
                    break
        except OtaError:
            pass

    bounded(run, mem=1024 * 1024)
