# Every fault knob, seen from real clients (raw sockets where HTTP itself is broken).
import http.client
import socket
import time

import pytest

from test_sim_support import DATA, DEV, api, check_path, curl, publish, request, sim  # noqa: F401

N = len(DATA)


def raw_get(sim, token, rng=None, timeout=10):  # noqa: F811
    """One request on a raw socket, read until close or `timeout` -> (head, body, closed)."""
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=timeout)
    try:
        h = "GET /ota/south/download/%s HTTP/1.1\r\nHost: x\r\n" % token
        if rng:
            h += "Range: %s\r\n" % rng
        s.sendall((h + "\r\n").encode())
        out, closed = b"", False
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                b = s.recv(1 << 20)
            except socket.timeout:
                break
            if not b:
                closed = True
                break
            out += b
            head, sep, body = out.partition(b"\r\n\r\n")
            if sep and b"Content-Length" in head:
                n = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                if len(body) >= n:
                    break
        head, _, body = out.partition(b"\r\n\r\n")
        return head.decode("latin-1"), body, closed
    finally:
        s.close()


def get(sim, token, rng="bytes=0-999"):  # noqa: F811
    return request(sim, "GET", "/ota/south/download/" + token, headers={"Range": rng} if rng else {})


def test_drop_after_once(sim):  # noqa: F811
    t = publish(sim)
    sim.fault(DEV, drop_after=100)
    head, body, closed = raw_get(sim, t["token"], "bytes=0-999")
    assert "Content-Length: 1000" in head and "Connection: close" in head
    assert body == DATA[:100] and closed
    assert get(sim, t["token"])[2] == DATA[:1000]  # once: the next one is whole


def test_drop_after_every_time_per_task(sim):  # noqa: F811
    t = publish(sim)
    sim.fault(t["id"], drop_after=10, drop_every=True)
    for _ in range(2):
        head, body, closed = raw_get(sim, t["token"], "bytes=0-999")
        assert body == DATA[:10] and closed
    with pytest.raises(http.client.IncompleteRead):
        get(sim, t["token"])
    sim.clear_faults(t["id"])
    assert get(sim, t["token"])[2] == DATA[:1000]


def test_stall_before_headers(sim):  # noqa: F811
    publish(sim)
    sim.fault(DEV, stall=0.4)
    t0 = time.time()
    assert api(sim, "GET", check_path())["errno"] == 0
    assert time.time() - t0 >= 0.4
    t0 = time.time()
    api(sim, "GET", check_path())
    assert time.time() - t0 < 0.3  # once


def test_stall_mid_body(sim):  # noqa: F811
    t = publish(sim)
    sim.fault(DEV, stall=1.0, stall_after=500, stall_every=True)
    head, body, closed = raw_get(sim, t["token"], "bytes=0-999", timeout=0.5)
    assert body == DATA[:500] and not closed  # the rest is late
    t0 = time.time()
    st, hd, b = get(sim, t["token"])
    assert b == DATA[:1000] and time.time() - t0 >= 0.9


def test_flip_byte(sim):  # noqa: F811
    t = publish(sim)
    sim.fault(DEV, flip_offset=1234)
    b = get(sim, t["token"], "bytes=1000-1999")[2]
    assert b[234] == DATA[1234] ^ 0xFF and b[:234] == DATA[1000:1234] and b[235:] == DATA[1235:2000]
    assert get(sim, t["token"], "bytes=0-999")[2] == DATA[:1000]  # offset not in range
    whole = get(sim, t["token"], None)[2]
    assert whole != DATA and len(whole) == N


@pytest.mark.parametrize("status", [500, 503])
def test_http_error_next_n(sim, status):  # noqa: F811
    t = publish(sim)
    sim.fault(DEV, http_error=status, http_error_count=2)
    assert request(sim, "GET", check_path())[0] == status
    assert get(sim, t["token"])[0] == status
    assert get(sim, t["token"])[0] == 206
    out, err, rc = curl(sim, "-o", "/dev/null", "-w", "%{http_code}", "{url}" + check_path())
    assert out == b"200"


def test_ignore_range(sim):  # noqa: F811
    t = publish(sim)
    sim.fault(DEV, ignore_range=True)
    st, hd, b = get(sim, t["token"], "bytes=0-5")
    assert st == 200 and b == DATA and hd["content-range"] == "bytes 0-%d/%d" % (N - 1, N)
    sim.modes(whole_content_range=False)
    st, hd, b = get(sim, t["token"], "bytes=0-5")
    assert st == 200 and b == DATA and "content-range" not in hd


def test_wrong_content_range(sim):  # noqa: F811
    t = publish(sim)
    sim.fault(t["id"], wrong_content_range=True)
    st, hd, b = get(sim, t["token"], "bytes=10-19")
    assert st == 206 and hd["content-range"] == "bytes 11-20/%d" % N and b == DATA[10:20]


def test_short_body(sim):  # noqa: F811
    t = publish(sim)
    sim.fault(DEV, short_body=7)
    head, body, closed = raw_get(sim, t["token"], "bytes=0-99")
    assert "Content-Length: 100" in head and body == DATA[:93] and closed
    out, err, rc = curl(sim, "-r", "0-99", "{url}/ota/south/download/" + t["token"])
    assert rc == 18 and out == DATA[:93]  # curl: partial file


def test_latency(sim):  # noqa: F811
    publish(sim)
    sim.fault(DEV, latency=0.2)
    t0 = time.time()
    for _ in range(2):
        api(sim, "GET", check_path())
    assert time.time() - t0 >= 0.4


def test_bandwidth(sim):  # noqa: F811
    t = publish(sim)
    sim.fault(DEV, bandwidth=100000)
    t0 = time.time()
    assert get(sim, t["token"], None)[2] == DATA
    assert 0.85 <= time.time() - t0 < 5


def test_chunked(sim):  # noqa: F811
    t = publish(sim)
    sim.fault(DEV, chunked=True)
    head, body, closed = raw_get(sim, t["token"], "bytes=0-9", timeout=1)
    assert "Transfer-Encoding: chunked" in head and "Content-Length" not in head
    assert body == b"a\r\n" + DATA[:10] + b"\r\n0\r\n\r\n"
    st, hd, b = get(sim, t["token"], "bytes=100-")  # http.client decodes chunks
    assert st == 206 and b == DATA[100:]
    out, err, rc = curl(sim, "{url}/ota/south/download/" + t["token"])
    assert rc == 0 and out == DATA


def test_errno7_burst_per_task(sim):  # noqa: F811
    t = publish(sim)
    sim.fault(t["id"], errno7=1)
    p = "/ota/south/download/%s/check?dev_id=%s" % (t["token"], DEV)
    assert api(sim, "GET", p)["errno"] == 7
    assert api(sim, "GET", p)["errno"] == 0


def test_expire_token_now(sim):  # noqa: F811
    t = publish(sim)
    sim.fault(DEV, expire_token=True)
    assert get(sim, t["token"])[2] == b"3"
    assert api(sim, "GET", "/ota/south/download/%s/check?dev_id=%s" % (t["token"], DEV))["errno"] == 12
    assert sim.faults.all() == []


def test_cancel_at_byte(sim):  # noqa: F811
    t = publish(sim)
    sim.fault(DEV, cancel_at=5000)
    assert get(sim, t["token"], "bytes=0-4095")[2] == DATA[:4096]
    head, body, closed = raw_get(sim, t["token"], "bytes=4096-8191")
    assert body == DATA[4096:5000] and closed
    assert sim.task(t["id"])["state"] == "cancelled"
    assert get(sim, t["token"], "bytes=4096-8191")[2] == b"3"
    assert api(sim, "GET", "/ota/south/download/%s/check?dev_id=%s" % (t["token"], DEV))["errno"] == 22


def test_pause_at_byte_then_resume(sim):  # noqa: F811
    t = publish(sim)
    sim.fault(t["id"], pause_at=0)
    head, body, closed = raw_get(sim, t["token"], "bytes=0-99")
    assert body == b"" and closed
    assert sim.task(t["id"])["state"] == "paused"
    assert api(sim, "GET", check_path())["errno"] == 17  # a paused task: no task answer
    assert get(sim, t["token"])[2] == b"3"
    sim.resume(t["id"])
    assert get(sim, t["token"])[2] == DATA[:1000]


def test_faults_from_admin_api_and_serve_spec(sim):  # noqa: F811
    import json

    from onenet_ota_tools.sim.faults import parse_spec

    t = publish(sim)
    st, hd, b = request(sim, "POST", "/admin/faults", json.dumps({"task": t["id"], "ignore_range": "1"}).encode())
    assert st == 200 and json.loads(b)["knobs"] == {"ignore_range": True}
    assert get(sim, t["token"], "bytes=0-5")[0] == 200
    assert request(sim, "DELETE", "/admin/faults?task=%d" % t["id"])[0] == 200
    assert get(sim, t["token"], "bytes=0-5")[0] == 206
    st, hd, b = request(sim, "POST", "/admin/faults", b'{"dev_id": "x", "nope": 1}')
    assert st == 400 and b"unknown fault knob" in b
    assert parse_spec("522747162:drop_after=100,drop_every") == (
        "522747162", {"drop_after": 100, "drop_every": True})
    assert parse_spec("task:3:http_error=503") == (3, {"http_error": 503, "http_error_count": 1})
    with pytest.raises(ValueError):
        parse_spec("dev:latency=-1")
