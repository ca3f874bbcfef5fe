# The simulator's fuse-ota and Studio routes (sim/dialects.py) against the digest
# (shared/docs/onenet-ota-new-api.md, sections named per test), over raw HTTP: the
# envelopes, the codes, task states 1-6, Ota-Errno, the range headers of each dialect.
import hashlib
import http.client
import json
import re

import pytest

from onenet_ota import api_tid
from onenet_ota_tools.sim import Simulator

PID, DEVN, UID = "XHm5ltr9qA", "d0", "498670"
PKEY = "cHJvZHVjdGtleXByb2R1Y3Q="
UKEY = "MTIzNDU2Nzg5MGFiY2RlZg=="
DKEY = "ZGV2a2V5ZGV2a2V5ZGV2a2V5"
DATA = bytes(range(256)) * 40  # 10240 bytes
ET = 4102444800


def user_token(et=ET, key=UKEY):
    return api_tid.token("userid/" + UID, key, et, "sha1", "2022-05-01")


def dev_token(version="2018-10-31"):
    return api_tid.token("products/%s/devices/%s" % (PID, DEVN), DKEY, ET, "sha1", version)


class Env:
    def __init__(self, tmp, platform):
        self.sim = Simulator(str(tmp / "sim"), port=0).start()
        self.kind = platform
        self.sim.add_device(DEVN, PID, PKEY, platform=platform, user_id=UID, user_key=UKEY, dev_key=DKEY)
        self.base = ("/fuse-ota/%s/%s/" if platform == "fuse" else "/ota/%s/%s/") % (PID, DEVN)
        self.auth = user_token() if platform == "fuse" else dev_token()

    def publish(self, **kw):
        return self.sim.publish("V2.0", PID, PKEY, DEVN, data=DATA, name="fw.bin", **kw)

    def req(self, method, tail, body=None, headers=None, auth=True, path=None):
        c = http.client.HTTPConnection("127.0.0.1", self.sim.port, timeout=10)
        h = {"Authorization": self.auth} if auth else {}
        h.update(headers or {})
        if body is not None:
            h["Content-Type"] = "application/json"
        c.request(method, path or self.base + tail, body=json.dumps(body) if body is not None else None, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r, data

    def call(self, method, tail, body=None, **kw):
        r, data = self.req(method, tail, body, **kw)
        assert r.status == 200  # §3: errors come with HTTP 200 too
        return json.loads(data)

    def code(self, d):
        return d["code"] if self.kind == "fuse" else d["errno"]


@pytest.fixture(params=["fuse", "studio"])
def e(request, tmp_path):
    env = Env(tmp_path, request.param)
    try:
        yield env
    finally:
        env.sim.stop()


def test_envelope_and_no_task(e):
    d = e.call("GET", "check?type=2&version=V1.0")
    if e.kind == "fuse":  # §3 and §5.1: code/msg/request_id, 12012 "not exist"
        assert d["code"] == 12012 and d["msg"] == "not exist" and re.match("^[0-9a-f]{32}$", d["request_id"])
        assert set(d) == {"code", "msg", "request_id"}
    else:  # §9.3: errno 10
        assert d["errno"] == 10 and set(d) == {"errno", "error"}


def test_check_answer_and_task_states(e):
    t = e.publish()
    d = e.call("GET", "check?type=2&version=V1.0")
    assert e.code(d) == 0
    # §4.3: the S1 capture's keys; tid an integer; no token/signal/power/retry/interval
    assert d["data"] == {"target": "V2.0", "tid": t["id"], "size": len(DATA),
                         "md5": hashlib.md5(DATA).hexdigest(), "status": 1, "type": 1}
    tid = str(t["id"])

    def status():
        d = e.call("GET", tid + "/check")
        assert e.code(d) == 0
        return d["data"]["status"]

    assert status() == 1  # §4.4: reads only (§7)
    assert status() == 1
    # progress before any byte: refused (§4.6: 0..100 only while downloading)
    assert e.code(e.call("POST", tid + "/status", {"step": 10})) == 17
    r, body = e.req("GET", tid + "/download", headers={"Range": "bytes=0-99"})
    assert r.status == 206 and body == DATA[:100] and r.getheader("Ota-Errno") == "0"
    assert status() == 2  # the first download moved it (§7: the simulator's choice)
    assert e.code(e.call("POST", tid + "/status", {"step": 50})) == 0
    assert e.code(e.call("POST", tid + "/status", {"step": 100})) == 0
    assert status() == 3  # §4.6: 100 -> upgrading
    assert e.code(e.call("POST", tid + "/status", {"step": 101})) == 17  # §4.6: no 101 after 100
    assert e.code(e.call("POST", tid + "/status", {"step": 201})) == 0
    assert status() == 4
    d = e.call("POST", tid + "/status", {"step": 201})
    assert e.code(d) == 20  # §4.6 (S1 capture): "task finish"
    if e.kind == "fuse":
        assert d["msg"] == "task finish"
        # §5.1 (S5): the check after completion, its version reported -> 12013 "task succ"
        assert e.call("GET", "check?type=2&version=V2.0")["code"] == 12013


def test_failed_and_cancelled_states(e):
    t = e.publish()
    tid = str(t["id"])
    e.req("GET", tid + "/download", headers={"Range": "bytes=0-9"})
    assert e.code(e.call("POST", tid + "/status", {"step": 205})) == 0
    assert e.call("GET", tid + "/check")["data"]["status"] == 5
    t = e.publish()
    e.sim.cancel(t["id"])
    tid = str(t["id"])
    assert e.call("GET", tid + "/check")["data"]["status"] == 6
    assert e.code(e.call("POST", tid + "/status", {"step": 30})) == 20
    r, body = e.req("GET", tid + "/download")
    # §4.5: Ota-Errno 5 (task expired/finished), HTTP 200 (S5), no package bytes
    assert r.status == 200 and r.getheader("Ota-Errno") == "5" and body == b""


def test_range_headers_per_dialect(e):
    t = e.publish()
    tid = str(t["id"])
    for rng in ("bytes=100-1123", "100-1123"):  # §6: both forms are sent by working clients
        r, body = e.req("GET", tid + "/download", headers={"Range": rng})
        assert r.status == 206 and body == DATA[100:1124]
        if e.kind == "fuse":  # §4.5 (S5): Content-Range bytes a-b/total
            assert r.getheader("Content-Range") == "bytes 100-1123/%d" % len(DATA)
            assert r.getheader("Content-Range-Start") is None
        else:  # §9.5 (T3): Content-Range-Start / -End
            assert (r.getheader("Content-Range-Start"), r.getheader("Content-Range-End")) == ("100", "1123")
            assert r.getheader("Content-Range") is None
    r, body = e.req("GET", tid + "/download")  # no Range: 200, the whole file (§4.5)
    assert r.status == 200 and body == DATA and r.getheader("Ota-Errno") == "0"
    assert r.getheader("Content-Length") == str(len(DATA))


def test_download_ota_errno_codes(e):
    t = e.publish()
    tid = str(t["id"])
    r, _ = e.req("GET", tid + "/download", auth=False)
    assert r.getheader("Ota-Errno") == "6"  # §4.5: authentication failed
    r, _ = e.req("GET", "", path=e.base.replace(DEVN, "nobody") + tid + "/download")
    assert r.getheader("Ota-Errno") == "1"  # device does not exist
    e.sim.fault(DEVN, dl_error=4, dl_error_count=1)  # the same knob as the legacy one-byte
    r, _ = e.req("GET", tid + "/download")
    assert r.status == 200 and r.getheader("Ota-Errno") == "4"
    e.sim.modes(ota_errno_status=403)  # S7's reading: a non-200 status
    r, _ = e.req("GET", str(t["id"] + 99) + "/download")
    assert r.status == 403 and r.getheader("Ota-Errno") == "5"


def test_version_fields_and_auth(e):
    d = e.call("POST", "version", {"s_version": "V1.1"})
    # §4.1: fuse-ota wants both fields (two sources); Studio takes one (T1, T3)
    assert e.code(d) == (2 if e.kind == "fuse" else 0)
    assert e.code(e.call("POST", "version", {"s_version": "V1.1", "f_version": "M1"})) == 0
    assert e.code(e.call("GET", "check?type=2&version=V1.1", auth=False)) == 1
    bad = user_token(key=DKEY) if e.kind == "fuse" else api_tid.token(
        "userid/" + UID, UKEY, ET, "sha1", "2022-05-01")  # Studio: no user level (§9.4)
    assert e.code(e.call("GET", "check?type=2&version=V1.1", headers={"Authorization": bad})) == 1
    assert e.code(e.call("GET", "check?type=2&version=V1.1", headers={"Authorization": user_token(et=1000)})) == 1
    # the other accepted forms (§2.1, §9.4)
    forms = [dev_token(), api_tid.token("products/" + PID, PKEY, ET, "sha256", "2018-10-31")]
    if e.kind == "fuse":
        forms.append(dev_token("2022-05-01"))
    for a in forms:
        d = e.call("GET", "check?type=2&version=V1.1", headers={"Authorization": a})
        assert e.code(d) == (12012 if e.kind == "fuse" else 10)


def test_fuse_download_auth_in_query(tmp_path):
    env = Env(tmp_path, "fuse")
    try:
        t = env.publish()
        q = user_token()[len("version=2022-05-01&"):]  # §2.1 (S11): no version in the URL
        r, body = env.req("GET", "%d/download?%s" % (t["id"], q), auth=False, headers={"Range": "bytes=0-9"})
        assert r.status == 206 and body == DATA[:10]
        r, body = env.req("GET", "%d/download?%s" % (t["id"], q.replace("sign=", "sign=A")), auth=False)
        assert r.getheader("Ota-Errno") == "6" and body == b""
    finally:
        env.sim.stop()


def test_type_mismatch_and_platform_isolation(tmp_path):
    env = Env(tmp_path, "fuse")
    try:
        env.publish(type=1)
        # §5.1 (S9): a task of the other type -> 12010
        assert env.call("GET", "check?type=2&version=V1.0")["code"] == 12010
        # the Studio path does not know a fuse-ota device, nor the legacy one
        d = env.call("GET", "check?type=1&version=V1.0", path="/ota/%s/%s/check?type=1&version=V1.0" % (PID, DEVN))
        assert d["errno"] == 1
        from onenet_ota import auth

        a = auth.token(PID, PKEY, ET, "sha1")
        d = env.call("GET", "", path="/ota/south/check?dev_id=%s&type=1&version=V1.0" % DEVN,
                     headers={"Authorization": a})
        assert d["errno"] == 1
    finally:
        env.sim.stop()


def test_admin_api_creates_a_device_of_any_dialect(tmp_path):
    sim = Simulator(str(tmp_path / "sim"), port=0).start()
    try:
        c = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
        body = {"dev_id": "s1", "product_id": "StudioPid1", "access_key": PKEY, "platform": "studio",
                "dev_key": DKEY}
        c.request("POST", "/admin/devices", body=json.dumps(body),
                  headers={"Authorization": "Bearer " + sim.admin_token, "Content-Type": "application/json"})
        r = c.getresponse()
        d = json.loads(r.read())
        assert r.status == 200 and d["platform"] == "studio" and d["has_key"] is True
        assert "dev_key" not in json.dumps(d) and DKEY not in json.dumps(d)  # no key in an admin answer
        c.request("GET", "/admin/devices", headers={"Authorization": "Bearer " + sim.admin_token})
        devs = json.loads(c.getresponse().read())["devices"]
        assert [(x["dev_id"], x["platform"]) for x in devs] == [("s1", "studio")]
        sim.add_device("5001", "123123", PKEY)  # a legacy device carries no platform (the page's column)
        assert [x.get("platform") for x in sim.devices()] == ["studio", None]
        assert DKEY not in json.dumps(devs)
        c.close()
        # the device answers on the Studio path with its device-level token (§9.4)
        a = api_tid.token("products/StudioPid1/devices/s1", DKEY, ET, "sha1", "2018-10-31")
        c = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
        c.request("GET", "/ota/StudioPid1/s1/check?type=2&version=V1", headers={"Authorization": a})
        assert json.loads(c.getresponse().read())["errno"] == 10
        c.close()
    finally:
        sim.stop()
