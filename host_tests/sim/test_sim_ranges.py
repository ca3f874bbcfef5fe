# The Range rules of the contract, section 5 and the seed, through the parser and
# through real clients (http.client and curl). Section 10: a whole-file answer carries
# Content-Range too (mode whole_content_range), a 1-byte range is under the platform's
# 2-byte minimum (mode short_range: the one byte `5` by default).
import pytest

from onenet_ota_tools.sim import ranges
from test_sim_support import DATA, curl, curl_head_body, publish, request, sim  # noqa: F401

N = 1000
CASES = [
    # value, expected (start, end) or None = 200 whole
    ("bytes=0-5", (0, 5)),  # the seed's request
    ("bytes=0-", (0, N - 1)),
    ("bytes=2-", (2, N - 1)),
    ("bytes=1000-", (0, N - 1)),  # start >= len -> 0
    ("bytes=5000-", (0, N - 1)),
    ("bytes=0-99", (0, 99)),
    ("bytes=10-5000", (10, N - 1)),  # end >= len -> len-1
    ("bytes=50-10", (0, 10)),  # start > end -> start 0
    ("bytes=2000-3000", (0, N - 1)),  # end clamps to 999, then start > end -> 0
    ("bytes=-100", (N - 100, N - 1)),
    ("bytes=-1000", (0, N - 1)),
    ("bytes=-1001", (0, N - 1)),  # n > len -> whole
    ("bytes=-0", (0, N - 1)),
    ("bytes=01-02", (1, 2)),  # leading zeros
    ("bytes=000-0000", (0, 0)),
    ("500-999", (500, 999)),  # bare form (console example shape)
    ("50500-50999", (0, N - 1)),  # bare, both past the end of a 1000-byte file
    ("-10", (N - 10, N - 1)),
    ("5-", (5, N - 1)),
    ("bytes = 3-4", (3, 4)),
    ("BYTES=3-4", (3, 4)),
    (None, None),
    ("", None),
    ("bytes=", None),
    ("bytes=-", None),
    ("-", None),
    ("bytes=0-1,5-6", None),
    ("items=0-5", None),
    ("bytes=a-b", None),
    ("garbage", None),
    ("bytes=1-2-3", None),
    ("bytes=99999999999999999999999-", None),  # more than 20 digits
]


@pytest.mark.parametrize("value,want", CASES)
def test_parse(value, want):
    assert ranges.parse(value, N) == want


def test_parse_console_example_fits():
    assert ranges.parse("50500-50999", 100000) == (50500, 50999)


@pytest.mark.parametrize("value,want", CASES)
def test_http_client(sim, value, want):  # noqa: F811
    t = publish(sim, data=DATA[:N])
    h = {} if value is None else {"Range": value}
    st, hd, body = request(sim, "GET", "/ota/south/download/" + t["token"], headers=h)
    if want == (0, 0):  # 1 byte: under the 2-byte minimum
        assert st == 200 and body == b"5" and "content-length" not in hd
        return
    assert hd["content-disposition"] == 'attachment; filename="firmware.bin"'
    if want is None:
        assert st == 200 and body == DATA[:N] and hd["content-range"] == "bytes 0-%d/%d" % (N - 1, N)
        assert hd["content-length"] == str(N)
    else:
        a, b = want
        assert st == 206
        assert hd["content-range"] == "bytes %d-%d/%d" % (a, b, N)
        assert hd["content-length"] == str(b - a + 1)
        assert body == DATA[a:b + 1]


def test_whole_file_without_content_range_mode(sim):  # noqa: F811
    t = publish(sim, data=DATA[:N])
    sim.modes(whole_content_range=False)
    st, hd, body = request(sim, "GET", "/ota/south/download/" + t["token"])
    assert st == 200 and body == DATA[:N] and "content-range" not in hd


@pytest.mark.parametrize("mode,want", [("error", (200, b"5")), ("whole", (200, DATA[:N])), ("serve", (206, DATA[7:8]))])
def test_one_byte_range_modes(sim, mode, want):  # noqa: F811
    t = publish(sim, data=DATA[:N])
    sim.modes(short_range=mode)
    for rng in ("bytes=7-7", "7-7") if mode == "serve" else ("bytes=7-7", "-1", "999-"):
        st, hd, body = request(sim, "GET", "/ota/south/download/" + t["token"], headers={"Range": rng})
        assert (st, body) == want, rng


@pytest.mark.parametrize("value,want", [c for c in CASES if c[0]])
def test_curl(sim, value, want):  # noqa: F811
    t = publish(sim, data=DATA[:N])
    st, hd, body, rc = curl_head_body(sim, "-H", "Range: " + value, "{url}/ota/south/download/" + t["token"])
    assert rc == 0
    if want == (0, 0):
        assert st == 200 and body == b"5"
    elif want is None:
        assert st == 200 and body == DATA[:N]
    else:
        a, b = want
        assert st == 206 and hd["content-range"] == "bytes %d-%d/%d" % (a, b, N) and body == DATA[a:b + 1]


def test_seed_raw_request(sim):  # noqa: F811
    # The seed's download request, byte for byte (no space after "Range:", odd Host).
    import socket

    t = publish(sim)
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=10)
    try:
        s.sendall(("GET /ota/south/download/%s HTTP/1.1\r\nRange:bytes=0-5\r\nhost:  ota.heclouds.com\r\n"
                   "Connection: close\r\n\r\n" % t["token"]).encode())
        out = b""
        for _ in range(100):
            b = s.recv(65536)
            if not b:
                break
            out += b
    finally:
        s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 206 ")
    assert b"Content-Range: bytes 0-5/100000" in head and b"Content-Length: 6" in head
    assert body == DATA[:6]


def test_console_example_range(sim):  # noqa: F811
    t = publish(sim)
    st, hd, body = request(sim, "GET", "/ota/south/download/" + t["token"], headers={"Range": "50500-50999"})
    assert st == 206 and hd["content-range"] == "bytes 50500-50999/100000" and body == DATA[50500:51000]
    out, err, rc = curl(sim, "-r", "50500-50999", "{url}/ota/south/download/" + t["token"])
    assert rc == 0 and out == DATA[50500:51000]
