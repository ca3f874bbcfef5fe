# Conformance of the simulator with section 10 of shared/docs/onenet-ota-api.md ("What the
# official SDK and documentation also show"): one test (or one group, sharing a prefix)
# per row of that table, named after the row; docs/conformance.md lists them. Plain HTTP
# against a simulator on 127.0.0.1 port 0 (http.client, raw sockets, curl, and the
# `onenet-ota serve` / `admin` commands where the row is about a knob).
import base64
import hashlib
import hmac
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from test_sim_support import (DATA, DEV, KEY, NOW, PID, api, authz, check_path, curl, progress, publish,  # noqa: F401
                              request, sim, token_check)

SIZE = len(DATA)
# the installed console script (`python -m onenet_ota_tools.cli` would load cli twice)
ONENET_OTA = os.path.join(os.path.dirname(sys.executable), "onenet-ota")
MD5 = hashlib.md5(DATA).hexdigest()


def dl(sim, token, rng=None, query="", conn=None):  # noqa: F811
    h = {"Range": rng} if rng is not None else {}
    return request(sim, "GET", "/ota/south/download/%s%s" % (token, query), headers=h, conn=conn)


def state(sim, t):  # noqa: F811
    return sim.task(t["id"])["state"]


def tasking(sim, type="2", dev=DEV, **kw):  # noqa: F811
    q = "/ota/south/tasking?dev_id=%s" % dev + ("&type=%s" % type if type is not None else "")
    return api(sim, "GET", q, **kw)


def raw_exchange(sock, request_bytes, timeout=10):
    """One request on a kept-alive raw socket -> (head text, body) (Content-Length framed),
    or None when the server closed the connection before answering."""
    sock.sendall(request_bytes)
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > deadline:
            raise AssertionError("no answer in %ss" % timeout)
        try:
            b = sock.recv(65536)
        except ConnectionResetError:
            return None
        if not b:
            return None
        buf += b
    head, _, body = buf.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    n = int(m.group(1)) if m else 0
    while len(body) < n:
        if time.monotonic() > deadline:
            raise AssertionError("short body")
        b = sock.recv(65536)
        if not b:
            break
        body += b
    return head.decode("latin-1"), body


def closed_by_peer(sock, timeout=5):
    """True when the server has closed its side (EOF within `timeout`)."""
    r, _, _ = select.select([sock], [], [], timeout)
    if not r:
        return False
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


# -- row "check answer" ---------------------------------------------------------------------
def test_row_check_answer_shape(sim):  # noqa: F811
    t = publish(sim, retry=0, interval=0, signal=10, power=50)
    st, hd, body = request(sim, "GET", check_path(cdn="false"), headers={"Authorization": authz()})
    assert st == 200
    j = json.loads(body)
    assert list(j) == ["errno", "error", "data"] and (j["errno"], j["error"]) == (0, "succ")
    d = j["data"]
    # the keys of the real captures, in their order; no ipPort (both captures are cdn=false)
    assert list(d) == ["target", "token", "size", "md5", "signal", "power", "retry", "interval", "type"]
    assert isinstance(d["size"], int) and d["size"] == SIZE  # a JSON number
    assert re.match(r"^[0-9a-f]{32}$", d["md5"]) and d["md5"] == MD5  # 32 lowercase hex
    assert (d["target"], d["token"], d["signal"], d["power"], d["retry"], d["interval"], d["type"]) == (
        "V1.4", t["token"], 10, 50, 0, 0, 1)


# -- row "ipPort" ---------------------------------------------------------------------------
@pytest.mark.parametrize("form,want", [("absent", None), ("hostport", "{host}:{port}"), ("host", "{host}")])
def test_row_ipport_forms(sim, form, want):  # noqa: F811
    publish(sim)
    if form != "absent":
        sim.modes(ipport_form=form)
    d = api(sim, "GET", check_path(cdn="false"))["data"]
    if want is None:
        assert "ipPort" not in d
    else:
        assert d["ipPort"] == want.format(host="127.0.0.1", port=sim.port)


def test_row_ipport_per_device_and_given_address(tmp_path):
    from onenet_ota_tools.sim import Clock, Simulator

    # Simulator(ip_port=...) hands that address out (the old behaviour, mode hostport)...
    s = Simulator(str(tmp_path / "st"), clock=Clock(fixed=NOW), ip_port="172.19.3.3:8002")
    s.start()
    try:
        publish(s)
        publish(s, dev="d2")
        assert api(s, "GET", check_path())["data"]["ipPort"] == "172.19.3.3:8002"
        # ...and a device's own knob overrides the global mode (the check page's form)
        s.fault("d2", ipport_form="host")
        assert api(s, "GET", check_path(dev="d2"))["data"]["ipPort"] == "172.19.3.3"
        assert api(s, "GET", check_path())["data"]["ipPort"] == "172.19.3.3:8002"
    finally:
        s.stop()


# -- row "cdn" ------------------------------------------------------------------------------
@pytest.mark.parametrize("when,present_for", [("false", {"false"}), ("true", {"true"}),
                                              ("any", {"false", "true", None})])
def test_row_cdn_decides_only_ipport(sim, when, present_for):  # noqa: F811
    publish(sim)
    sim.modes(ipport_form="hostport", ipport_cdn=when)
    for cdn in ("false", "true", None):
        path = check_path(cdn=cdn) if cdn else check_path().replace("&cdn=false", "")
        r = api(sim, "GET", path)
        assert r["errno"] == 0, cdn  # never an invalid answer, whatever cdn says
        assert ("ipPort" in r["data"]) == (cdn in present_for), (when, cdn)


# -- row "token" ----------------------------------------------------------------------------
def test_row_token_format_and_two_days(sim):  # noqa: F811
    tokens = set()
    for i in range(20):
        t = publish(sim, dev="t%d" % i)
        assert re.match(r"^ota_[A-Za-z0-9]{20}$", t["token"]), t["token"]  # 24 chars < SDK's 32
        tokens.add(t["token"])
    assert len(tokens) == 20
    t = publish(sim)
    a = authz(et=NOW + 3 * 86400)
    sim.clock.advance(2 * 86400 - 1)
    assert token_check(sim, t["token"], auth_value=a)["errno"] == 0
    sim.clock.advance(2)
    assert token_check(sim, t["token"], auth_value=a) == {"errno": 12, "error": "token expired"}


# -- row "check on a paused task" ----------------------------------------------------------
@pytest.mark.parametrize("mode,want", [(None, 17), ("17", 17), ("11", 11), ("0", 0)])
def test_row_check_on_paused_task(sim, mode, want):  # noqa: F811
    t = publish(sim)
    sim.pause(t["id"])
    if mode is not None:
        sim.modes(paused_check=mode)
    r = api(sim, "GET", check_path())
    assert r["errno"] == want
    if want:
        assert "data" not in r  # not errno 0 with a task
    else:
        assert r["data"]["token"] == t["token"]  # the old simulator's answer, still selectable
    sim.resume(t["id"])
    assert api(sim, "GET", check_path())["errno"] == 0
    assert state(sim, t) == "pending"


# -- row "token check" ----------------------------------------------------------------------
def test_row_token_check_every_documented_errno(sim):  # noqa: F811
    seen = {}
    t = publish(sim)
    publish(sim, dev="other")
    seen[4] = token_check(sim, t["token"], dev="other")["errno"]
    sim.fault(DEV, errno7=1)
    seen[7] = token_check(sim, t["token"])["errno"]
    seen[0] = token_check(sim, t["token"])["errno"]  # pending -> downloading
    assert state(sim, t) == "downloading"
    assert progress(sim, t["token"], 100)["errno"] == 0  # -> upgrading
    seen[17] = token_check(sim, t["token"])["errno"]
    progress(sim, t["token"], 201)
    seen[20] = token_check(sim, t["token"])["errno"]
    t2 = publish(sim, target="V1.5")
    sim.fault(t2["id"], token_check_errno=21, token_check_errno_count=1)  # "sdk logic error": on demand
    seen[21] = token_check(sim, t2["token"])["errno"]
    assert token_check(sim, t2["token"])["errno"] == 0  # the count is spent
    sim.cancel(t2["id"])
    seen[22] = token_check(sim, t2["token"])["errno"]
    t3 = publish(sim, target="V1.6")
    sim.expire_token(t3["id"])
    seen[12] = token_check(sim, t3["token"])["errno"]
    assert seen == {e: e for e in (0, 4, 7, 12, 17, 20, 21, 22)}


def test_row_token_check_12_refresh_mode(sim):  # noqa: F811
    # token_expiry=refresh (default): 12 ends this token; the next check hands out another.
    t = publish(sim)
    token_check(sim, t["token"])
    sim.clock.advance(2 * 86400 + 1)
    a = authz(et=NOW + 3 * 86400)
    assert token_check(sim, t["token"], auth_value=a)["errno"] == 12
    d = api(sim, "GET", check_path(), auth_value=a)["data"]
    assert d["token"] != t["token"] and token_check(sim, d["token"], auth_value=a)["errno"] == 0


def test_row_token_check_12_end_mode(sim):  # noqa: F811
    # token_expiry=end: "the flow ends" -> the task fails (208 upgrade expired) at the 12.
    t = publish(sim)
    sim.modes(token_expiry="end")
    token_check(sim, t["token"])
    sim.clock.advance(2 * 86400 + 1)
    a = authz(et=NOW + 3 * 86400)
    assert token_check(sim, t["token"], auth_value=a)["errno"] == 12
    v = sim.task(t["id"])
    assert (v["state"], v["result"]) == ("failed", 208)
    assert api(sim, "GET", check_path(), auth_value=a)["errno"] == 11
    assert token_check(sim, t["token"], auth_value=a)["errno"] == 20


# -- row "one-byte download errors" --------------------------------------------------------
def _one_byte(sim, token, rng="bytes=0-99"):  # noqa: F811
    st, hd, body = dl(sim, token, rng)
    assert st == 200 and "content-length" not in hd and hd["connection"] == "close", hd
    assert len(body) == 1
    return body


@pytest.mark.parametrize("encoding", ["ascii", "raw"])
def test_row_one_byte_errors_1_to_6(sim, encoding):  # noqa: F811
    enc = (lambda c: str(c).encode()) if encoding == "ascii" else (lambda c: bytes((c,)))
    if encoding == "raw":
        sim.modes(one_byte="raw")
    got = {}
    t = publish(sim)
    pkg = sim.store.package(sim.store.task(t["id"])["package_id"])
    got[3] = _one_byte(sim, "ota_NoSuchToken000000000")  # invalid token
    got[5] = _one_byte(sim, t["token"], "bytes=10-10")  # 1 byte: under the 2-byte minimum
    sim.fault(t["id"], dl_error=6, dl_error_count=1)  # NB base-station limit: only on demand
    got[6] = _one_byte(sim, t["token"])
    with open(pkg["path"], "ab") as f:
        f.write(b"x")
    got[2] = _one_byte(sim, t["token"])  # the file differs from the published size
    os.remove(pkg["path"])
    os.mkdir(pkg["path"])  # there, but it cannot be read
    got[4] = _one_byte(sim, t["token"])
    os.rmdir(pkg["path"])
    got[1] = _one_byte(sim, t["token"])  # no package file
    assert got == {c: enc(c) for c in range(1, 7)}


def test_row_one_byte_errors_curl_sees_no_content_length(sim):  # noqa: F811
    sim.modes(one_byte="raw")
    out, err, rc = curl(sim, "-i", "{url}/ota/south/download/ota_NoSuchToken000000000")
    assert rc == 0 and out.endswith(b"\r\n\r\n\x03") and b"content-length" not in out.lower()


def test_row_one_byte_always_3(sim):  # noqa: F811
    t = publish(sim)
    sim.fault(DEV, dl_error=3)  # no count: every download
    for _ in range(5):
        assert _one_byte(sim, t["token"]) == b"3"
    sim.clear_faults(DEV)
    assert dl(sim, t["token"], "bytes=0-99")[2] == DATA[:100]


def test_row_one_byte_2_then_success(sim):  # noqa: F811
    # The SDK retries on 2: two refusals, then the bytes.
    t = publish(sim)
    sim.fault(t["id"], dl_error=2, dl_error_count=2)
    assert [_one_byte(sim, t["token"]) for _ in range(2)] == [b"2", b"2"]
    st, hd, body = dl(sim, t["token"], "bytes=0-99")
    assert st == 206 and body == DATA[:100]


def test_row_one_byte_knob_validation(sim):  # noqa: F811
    for bad in ({"dl_error": 7}, {"dl_error": 0}, {"dl_error_count": 0}, {"token_check_errno": 5},
                {"one_byte": "utf16"}, {"paused_check": 3}, {"short_range": "nope"}, {"conn_requests": -1}):
        with pytest.raises(ValueError):
            sim.fault(DEV, **bad)
    st, hd, body = request(sim, "POST", "/admin/modes", b'{"one_byte":"hex"}')
    assert st == 400 and b"one_byte" in body and b"ascii|raw" in body


# -- row "s_id" -----------------------------------------------------------------------------
def test_row_s_id_accepted(sim):  # noqa: F811
    t = publish(sim)
    for q in ("?s_id=460001234", "?dev_id=%s&s_id=460001234" % DEV, "?s_id="):
        st, hd, body = dl(sim, t["token"], "bytes=0-9", query=q)
        assert st == 206 and body == DATA[:10], q


# -- row "Range" ----------------------------------------------------------------------------
@pytest.mark.parametrize("rng", ["bytes=100-4195", "100-4195"])
def test_row_range_both_forms(sim, rng):  # noqa: F811
    t = publish(sim)
    st, hd, body = dl(sim, t["token"], rng)
    assert st == 206 and hd["content-range"] == "bytes 100-4195/%d" % SIZE and body == DATA[100:4196]
    assert hd["content-length"] == "4096"


def test_row_range_last_piece_past_the_end_clamped(sim):  # noqa: F811
    t = publish(sim)
    st, hd, body = dl(sim, t["token"], "98304-102399")
    assert st == 206 and hd["content-range"] == "bytes 98304-%d/%d" % (SIZE - 1, SIZE)
    assert body == DATA[98304:]


@pytest.mark.parametrize("mode,want", [(None, (200, b"5")), ("whole", (200, DATA)), ("serve", (206, DATA[-1:]))])
def test_row_range_minimum_two_bytes(sim, mode, want):  # noqa: F811
    t = publish(sim)
    if mode:
        sim.modes(short_range=mode)
    st, hd, body = dl(sim, t["token"], "%d-%d" % (SIZE - 1, SIZE - 1))
    assert (st, body) == want
    st, hd, body = dl(sim, t["token"], "%d-%d" % (SIZE - 2, SIZE - 1))  # the last 2: fine
    assert st == 206 and body == DATA[-2:]


def test_row_range_content_range_on_whole_file(sim):  # noqa: F811
    t = publish(sim)
    st, hd, body = dl(sim, t["token"])
    assert st == 200 and hd["content-range"] == "bytes 0-%d/%d" % (SIZE - 1, SIZE) and body == DATA
    sim.modes(whole_content_range=False)
    st, hd, body = dl(sim, t["token"])
    assert st == 200 and "content-range" not in hd and body == DATA


# -- row "token check cadence" -------------------------------------------------------------
def test_row_token_check_before_every_chunk(sim):  # noqa: F811
    import http.client

    t = publish(sim)
    c = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    try:
        got = b""
        for a in range(0, SIZE, 4096):
            assert token_check(sim, t["token"], conn=c)["errno"] == 0
            st, hd, body = dl(sim, t["token"], "bytes=%d-%d" % (a, a + 4095), conn=c)
            assert st == 206
            got += body
        assert got == DATA and state(sim, t) == "downloading"
    finally:
        c.close()


# -- row "retries" --------------------------------------------------------------------------
def test_row_retries_failed_chunk_then_ok(sim):  # noqa: F811
    # The simulator side of "retry minus one, sleep interval": a chunk that fails (no data
    # for a while, a cut, a refusal) and then succeeds when asked again.
    t = publish(sim, retry=3, interval=1)
    sim.fault(t["id"], stall=0.5, stall_after=100)
    t0 = time.monotonic()
    st, hd, body = dl(sim, t["token"], "bytes=0-999")
    assert st == 206 and body == DATA[:1000] and time.monotonic() - t0 >= 0.45  # stalled once
    sim.fault(t["id"], drop_after=10)
    with pytest.raises(Exception):
        dl(sim, t["token"], "bytes=0-999")  # the answer is cut short
    sim.fault(t["id"], dl_error=2, dl_error_count=1)
    assert _one_byte(sim, t["token"]) == b"2"
    assert dl(sim, t["token"], "bytes=0-999")[2] == DATA[:1000]
    assert api(sim, "GET", check_path())["data"]["retry"] == 3  # the platform only hands it out


# -- row "report flow" ----------------------------------------------------------------------
def test_row_report_flow_core_steps_100_201(sim):  # noqa: F811
    t = publish(sim)
    token_check(sim, t["token"])
    for step in range(10, 100, 10):  # progress at >= 10 % steps
        assert progress(sim, t["token"], step)["errno"] == 0
    assert progress(sim, t["token"], 100)["errno"] == 0
    assert state(sim, t) == "upgrading"
    assert progress(sim, t["token"], 201)["errno"] == 0  # never 101
    assert state(sim, t) == "succeeded" and sim.store.device(DEV)["s_version"] == "V1.4"


def test_row_report_flow_newer_101_201(sim):  # noqa: F811
    t = publish(sim)
    token_check(sim, t["token"])
    assert progress(sim, t["token"], 101)["errno"] == 0
    assert state(sim, t) == "upgrading"
    assert progress(sim, t["token"], 201)["errno"] == 0
    assert state(sim, t) == "succeeded"


def test_row_report_flow_older_report_form(sim):  # noqa: F811
    t = publish(sim)
    path = "/ota/south/report?dev_id=%s&token=%s" % (DEV, t["token"])
    assert api(sim, "POST", path, {"result": 101}) == {"errno": 0, "error": "succ"}
    assert state(sim, t) == "upgrading"
    assert api(sim, "POST", path, {"result": 201}, auth_value=False)["errno"] == 1  # issue 16
    assert state(sim, t) == "upgrading"
    assert api(sim, "POST", path, {"result": 201})["errno"] == 0
    assert state(sim, t) == "succeeded"
    t2 = publish(sim, target="V1.5")
    path = "/ota/south/report?dev_id=%s&token=%s" % (DEV, t2["token"])
    assert api(sim, "POST", path, {"result": 107})["errno"] == 0
    assert state(sim, t2) == "failed"


# -- row "/ota/south/tasking" --------------------------------------------------------------
def test_row_tasking_real_shape(sim):  # noqa: F811
    assert tasking(sim, dev="nobody")["errno"] == 1
    sim.add_device(DEV, PID, KEY)
    assert tasking(sim) == {"errno": 4, "error": "token and device differ"}  # no task
    t = publish(sim)
    assert tasking(sim)["errno"] == 4  # pending: not being upgraded yet
    assert tasking(sim, type=None)["errno"] == 2  # type required
    assert tasking(sim, type="3")["errno"] == 2
    token_check(sim, t["token"])
    r = tasking(sim)
    assert r["errno"] == 0 and isinstance(r["data"], dict)  # one task, not a list
    assert list(r["data"]) == ["target", "token", "size", "md5", "signal", "power", "retry", "interval", "type"]
    assert (r["data"]["token"], r["data"]["size"], r["data"]["md5"]) == (t["token"], SIZE, MD5)
    assert tasking(sim, type="1")["errno"] == 4
    sim.modes(ipport_form="hostport", ipport_cdn="true")  # the tasking page: cdn=true returns the ip
    r = api(sim, "GET", "/ota/south/tasking?dev_id=%s&type=2&cdn=true" % DEV)
    assert r["data"]["ipPort"] == "127.0.0.1:%d" % sim.port
    sim.fault(DEV, errno7=1)
    assert tasking(sim)["errno"] == 7
    progress(sim, t["token"], 100)
    assert tasking(sim)["errno"] == 0  # upgrading
    sim.expire_token(t["id"])
    assert tasking(sim)["errno"] == 12


# -- row "check parameters" ----------------------------------------------------------------
@pytest.mark.parametrize("query,errno", [
    ("dev_id={d}&type=2&version=V1.3&cdn=true", 0),  # the newest ota_check_task
    ("dev_id={d}&type=2&version=V1.3", 0),
    ("dev_id={d}&manuf=101&model=10101&type=2&version=V1.3", 0),  # the old core: no cdn
    ("dev_id={d}&manuf=101&type=2&version=V1.3", 0),
    ("dev_id={d}&version=V1.3&cdn=true", 2),  # type is still required
    ("dev_id={d}&type=2&cdn=true", 2),  # and version
    ("dev_id={d}&manuf=102&model=10201&type=2&version=V1.3", 8),  # a code that is sent must match
])
def test_row_check_parameters_optional(sim, query, errno):  # noqa: F811
    publish(sim)
    assert api(sim, "GET", "/ota/south/check?" + query.format(d=DEV))["errno"] == errno


# -- row "Authorization" -------------------------------------------------------------------
def _sdk_escape(v):
    # Only + space / ? % # & = are escaped (dev_token.c).
    for a, b in (("%", "%25"), ("+", "%2B"), (" ", "%20"), ("/", "%2F"), ("?", "%3F"), ("#", "%23"),
                 ("&", "%26"), ("=", "%3D")):
        v = v.replace(a, b)
    return v


def _sdk_token(res, et=2524579200, method="sha1", key=KEY):
    msg = "%s\n%s\n%s\n%s" % (et, method, res, "2018-10-31")
    sign = base64.b64encode(hmac.new(base64.b64decode(key), msg.encode(), method).digest()).decode()
    return "version=2018-10-31&res=%s&et=%s&method=%s&sign=%s" % (_sdk_escape(res), et, method, _sdk_escape(sign))


def test_row_authorization_sdk_form(sim):  # noqa: F811
    publish(sim)
    for method in ("md5", "sha1", "sha256"):
        v = _sdk_token("products/" + PID, method=method)  # the SDK's default et=2524579200
        assert "res=products%2F" + PID in v
        assert api(sim, "GET", check_path(), auth_value=v)["errno"] == 0, method
    v = _sdk_token("products/%s/devices/%s" % (PID, DEV))  # the Studio form is not this API's
    assert api(sim, "GET", check_path(), auth_value=v)["errno"] == 1
    assert api(sim, "GET", check_path(), auth_value=_sdk_token("products/" + PID, et=NOW - 1))["errno"] == 1


# -- row "TLS" ------------------------------------------------------------------------------
@pytest.mark.skipif(not shutil.which("openssl"), reason="no openssl CLI")
def test_row_tls_serve_https(tmp_path):
    # The platform: 443 on the same address, a chain to DigiCert Global Root CA. Here: a
    # throw-away root and `onenet-ota serve --tls-cert/--tls-key`; curl verifies the chain
    # and the host name against that root, and refuses it without.
    d = str(tmp_path)

    def ssl(*a):
        subprocess.run(["openssl"] + list(a), cwd=d, check=True, capture_output=True, timeout=60)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=Test Global Root CA")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=sim")
    ssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
        "srv.pem", "-days", "2", "-extfile", "ext")
    with serve(tmp_path, "--tls-cert", os.path.join(d, "srv.pem"), "--tls-key", os.path.join(d, "srv.key")) as url:
        assert url.startswith("https://127.0.0.1:")
        p = subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", os.path.join(d, "ca.pem"),
                            url + "/ota/south/check?dev_id=1&type=2&version=V1"], capture_output=True, timeout=20)
        assert p.returncode == 0 and json.loads(p.stdout)["errno"] == 1  # answered over verified TLS
        p = subprocess.run(["curl", "-sS", "--max-time", "10", url + "/ota/south/check"], capture_output=True,
                           timeout=20)
        assert p.returncode != 0  # not trusted without the root


# -- row "limits" ---------------------------------------------------------------------------
def _get(path):
    return ("GET %s HTTP/1.1\r\nHost: ota.heclouds.com\r\n\r\n" % path).encode()


def test_row_limits_1000_requests_per_connection(sim):  # noqa: F811
    publish(sim)
    req = _get(check_path()).replace(b"\r\n\r\n", ("\r\nAuthorization: %s\r\n\r\n" % authz()).encode())
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=10)
    try:
        for i in range(1, 1001):
            head, body = raw_exchange(s, req)
            assert json.loads(body)["errno"] == 0
            assert ("Connection: close" in head) == (i == 1000), i
        assert closed_by_peer(s)
    finally:
        s.close()
    assert sim.stats["connections"] == 1


@pytest.mark.parametrize("close", ["header", "silent"])
def test_row_limits_cap_configurable(sim, close):  # noqa: F811
    t = publish(sim)
    sim.modes(conn_requests=20, conn_close=close)
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=10)
    try:
        for i in range(1, 21):
            head, body = raw_exchange(s, _get("/ota/south/download/%s" % t["token"]).replace(
                b"\r\n\r\n", b"\r\nRange: bytes=0-9\r\n\r\n"))
            assert body == DATA[:10]
            assert ("Connection: close" in head) == (close == "header" and i == 20), i
        assert closed_by_peer(s)
    finally:
        s.close()
    sim.modes(conn_requests=0)  # 0: no cap
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=10)
    try:
        for i in range(25):
            req = ("GET /admin/stats HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n\r\n"
                   % (sim.port, sim.admin_token)).encode()
            assert raw_exchange(s, req)[0].startswith("HTTP/1.1 200")
            assert "Connection: close" not in raw_exchange(s, req)[0]
    finally:
        s.close()


# -- row "what the official Linux client sends" --------------------------------------------
def test_row_official_linux_client_flow(sim):  # noqa: F811
    import http.client

    t = publish(sim)
    c = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    try:
        a = authz()
        h = {"Authorization": a, "Content-Type": "application/json"}
        r = api(sim, "POST", "/ota/device/version?dev_id=" + DEV, {"f_version": "V1.3", "s_version": "V1.3"},
                headers=h, conn=c)
        assert r["errno"] == 0
        r = api(sim, "GET", "/ota/south/check?type=2&version=V1.3&cdn=true&dev_id=" + DEV, conn=c)
        assert r["errno"] == 0  # no manuf/model: accepted at the second call
        tok, size = r["data"]["token"], r["data"]["size"]
        got = b""
        for a0 in range(0, size, 4096):
            assert api(sim, "GET", "/ota/south/download/%s/check?dev_id=%s" % (tok, DEV), conn=c)["errno"] == 0
            st, hd, body = dl(sim, tok, "%d-%d" % (a0, a0 + 4095), conn=c)  # no bytes=, the last one past the end
            assert st == 206
            got += body
        assert got == DATA
        p = "/ota/south/device/download/%s/progress?dev_id=%s" % (tok, DEV)
        assert api(sim, "POST", p, {"step": 101}, conn=c)["errno"] == 0
        assert api(sim, "POST", p, {"step": 201}, conn=c)["errno"] == 0
    finally:
        c.close()
    assert state(sim, t) == "succeeded"
    assert sim.store.device(DEV)["s_version"] == "V1.4"


# -- row "differential packages" -----------------------------------------------------------
def test_row_differential_type_2(sim):  # noqa: F811
    st, hd, body = request(sim, "POST", "/admin/publish?target=V1.4&product_id=%s&access_key=%s&dev_id=%s"
                           "&pkg_type=2&from_version=V1.3&s_version=V1.3" % (PID, KEY.replace("+", "%2B")
                                                                             .replace("=", "%3D"), DEV),
                           DATA[:5000])
    assert st == 200, body
    t = json.loads(body)
    assert t["pkg_type"] == 2
    d = api(sim, "GET", check_path(version="V1.3"))["data"]
    assert d["type"] == 2 and d["token"] == t["token"]
    token_check(sim, d["token"])
    assert tasking(sim)["data"]["type"] == 2
    assert api(sim, "GET", check_path(version="V1.2"))["errno"] == 9  # another base version
    assert state(sim, t) == "failed"


# -- the knobs through `onenet-ota serve` and `onenet-ota admin modes` ------------------------
class serve:
    """`onenet-ota serve --port 0` in a subprocess; -> its URL; SIGTERM at the end."""

    def __init__(self, tmp_path, *flags):
        self.state = str(tmp_path / "serve-state")
        self.argv = [ONENET_OTA, "serve", "--port", "0", "--quiet", "--state-dir", self.state] + list(flags)

    def __enter__(self):
        self.p = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.p.stdout], [], [], 1)
            if r:
                line = self.p.stdout.readline()
                if not line:
                    break
                self.lines.append(line)
                m = re.search(r"simulator on (\S+)", line)
                if m:
                    _STATE[m.group(1)] = self.state  # where publish/admin find its admin token
                    return m.group(1)
        self.__exit__()
        raise AssertionError("serve did not start: %s %s" % (self.lines, self.p.stderr.read()))

    def __exit__(self, *exc):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(5)
        self.p.stdout.close()
        self.p.stderr.close()


_STATE = {}


def _admin(url, *args):
    return subprocess.run([ONENET_OTA, "admin"] + list(args) + ["--server", url, "--state-dir", _STATE[url]],
                          capture_output=True, text=True, timeout=30)


def _publish(url, tmp_path):
    f = tmp_path / "fw.bin"
    f.write_bytes(DATA[:3000])
    p = subprocess.run([ONENET_OTA, "publish", "--server", url, "--state-dir", _STATE[url], "--file", str(f),
                        "--target", "V1.4", "--product-id", PID, "--access-key", KEY, "--dev-id", DEV, "--json"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def _http(url, path, headers=None):
    import http.client

    host, port = url.split("//")[1].split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def test_serve_flags_and_admin_modes(tmp_path):
    with serve(tmp_path, "--ipport-form", "host", "--paused-check", "11", "--one-byte", "raw",
               "--conn-requests", "20", "--mode", "token_expiry=end") as url:
        t = _publish(url, tmp_path)
        r = _admin(url, "modes")
        assert r.returncode == 0
        assert {"ipport_form=host", "paused_check=11", "one_byte=raw", "conn_requests=20",
                "token_expiry=end", "short_range=error"} <= set(r.stdout.split())
        h = {"Authorization": authz(et=int(time.time()) + 3600)}
        d = json.loads(_http(url, check_path(), h)[2])["data"]
        assert d["ipPort"] == "127.0.0.1"
        assert _http(url, "/ota/south/download/ota_NoSuchToken000000000")[2] == b"\x03"
        assert _admin(url, "pause", str(t["id"])).returncode == 0
        assert json.loads(_http(url, check_path(), h)[2])["errno"] == 11
        r = _admin(url, "modes", "paused_check=0", "one_byte=ascii")
        assert r.returncode == 0 and "paused_check=0" in r.stdout
        assert json.loads(_http(url, check_path(), h)[2])["data"]["token"] == t["token"]
        assert _http(url, "/ota/south/download/ota_NoSuchToken000000000")[2] == b"3"
        r = _admin(url, "modes", "paused_check=5")
        assert r.returncode == 1 and "paused_check" in r.stderr and "Traceback" not in r.stderr
        r = _admin(url, "fault", "--dev-id", DEV, "dl_error=3")
        assert r.returncode == 0
        assert _admin(url, "resume", str(t["id"])).returncode == 0
        assert _http(url, "/ota/south/download/" + t["token"], {"Range": "0-9"})[2] == b"3"


def test_serve_refuses_bad_mode_values(tmp_path):
    for flags in (["--paused-check", "12"], ["--mode", "nope=1"], ["--mode", "conn_requests=-3"],
                  ["--tls-cert", "x.pem"]):
        p = subprocess.run(serve(tmp_path, *flags).argv, capture_output=True, text=True, timeout=30)
        assert p.returncode == 2 and "Traceback" not in p.stderr, (flags, p.stderr)
