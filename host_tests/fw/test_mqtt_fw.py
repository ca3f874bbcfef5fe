# notify.py's own rules on both runtimes (host_tests/fw/cases_mqtt.py): the reply for
# each form of inform, wakes spaced by 5 s, back-off when nothing listens, config checks.
import json
import os
import socket

import pytest

from conftest import FW_CASES
from onenet_ota_tools import runtimes, umqtt_src


@pytest.fixture(scope="module", params=("cpython", "micropython"))
def results(request):
    try:
        lib = umqtt_src.ensure()
    except umqtt_src.Unavailable as e:
        pytest.skip(str(e))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connects are refused
    os.environ["OTA_MQTT_CLOSED"] = str(port)
    try:
        p = runtimes.run(request.param, os.path.join(FW_CASES, "runner.py"), ["cases_mqtt"],
                         heap="128k", timeout=120, extra_paths=[FW_CASES, lib])  # api_tid (fuse/studio) as cases_dialect
    finally:
        del os.environ["OTA_MQTT_CLOSED"]
    out = {}
    for line in p.stdout.splitlines():
        if line.startswith("CASE "):
            _, name, status, rest = (line.split(" ", 3) + [""])[:4]
            assert status == "ok", "%s on %s: %s\n%s" % (name, request.param, rest, p.stdout[-3000:])
            out[name] = json.loads(rest)
    assert len(out) == 6, p.stdout + p.stderr
    # and once more without umqtt.simple on the path (112k: api_tid builds on pipe since
    # the check goes behind the version report; 96k no longer fits, 100k does)
    p = runtimes.run(request.param, os.path.join(FW_CASES, "runner.py"), ["cases_mqtt", "case_without_umqtt"],
                     heap="112k", timeout=60, extra_paths=[FW_CASES])
    line = [l for l in p.stdout.splitlines() if l.startswith("CASE case_without_umqtt ")]
    assert line and line[0].split(" ", 3)[2] == "ok", p.stdout + p.stderr
    out["alone"] = json.loads(line[0].split(" ", 3)[3])
    return out


REPLY = "$sys/123123/5001/ota/inform_reply"  # a Studio device, product 123123
KEY = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw="  # cases_mqtt.py's device key


def test_reply_for_each_inform_form(results):
    out = results["case_reply_for_each_inform_form"]["out"]
    ok = lambda v: [True, [[REPLY, '{"id":%s,"code":200,"msg":"success"}' % v]]]  # noqa: E731
    assert out[0] == ok('"1750000000123"')  # the id copied, as the digest's section 8 says
    assert out[1] == ok("42")  # a number stays a number
    assert json.loads(out[2][1][0][1])["id"] == 'a"b'  # escaped, still valid JSON
    for o in out[3:]:  # not JSON, no id, a bool id, too long: woken, nothing to reply
        assert o == [True, []]
    log = results["case_reply_for_each_inform_form"]["log"]
    assert sum("without an id: no reply" in l for l in log) == 4


def test_wakes_are_spaced(results):
    r = results["case_wakes_are_spaced"]
    assert r["first"] is True and r["first_ms"] < 500
    assert r["second"] is True and 4900 <= r["second_ms"] < 7000, r
    assert r["replies"] == 50  # every inform answered when it came, wakes or not


def test_backoff_when_nothing_listens(results):
    r = results["case_backoff_when_nothing_listens"]
    assert r["woke"] is False and 7400 <= r["ms"] < 9000, r
    assert 3 <= r["connects"] <= 4, r
    assert r["log"][0] == "mqtt: no tls: the login token travels in clear"
    tries = r["log"][1:]
    assert all("polling, next try in" in l for l in tries) and len(tries) == r["connects"], r["log"]


def test_config_errors(results):
    r = dict(results["case_config_errors"])
    mp = r.pop("mp")
    assert r == {"tls": "mqtt.tls: true or false",
                 "tls_port": 8883,
                 "keepalive": "mqtt.keepalive: an integer in 0..65535",
                 "port": "mqtt.port: an integer in 1..65535",
                 "password": "mqtt.password: a precomputed token",
                 "bogus": "mqtt.bogus: unknown setting",
                 "ca": "mqtt.ca: a file name",
                 "no_ca": "mqtt.ca: a CA file to verify the broker with (or insecure)" if mp else None}


def test_password_is_the_device_token(results):
    r = dict(results["case_password_is_the_device_token"])
    fuse, refused = r.pop("fuse"), r.pop("refused")
    assert r == {"signed": True, "given": True, "user": "123123", "client_id": "5001"}
    # fuse: the dialect's product id and device name; the device token signed with
    # mqtt.key, at the version the config chose (default 2018-10-31, section 8)
    from onenet_ota_tools.sim.dialects import _sign
    import base64
    import urllib.parse

    sig = _sign(base64.b64decode(KEY), 4102444800, "sha1", "products/XHm5ltr9qA/devices/d0", "2022-05-01")
    assert fuse == ["$sys/XHm5ltr9qA/d0/ota/inform", "XHm5ltr9qA", "d0",
                    "version=2022-05-01&res=products%2FXHm5ltr9qA%2Fdevices%2Fd0&et=4102444800&method=sha1&sign="
                    + urllib.parse.quote(sig, safe="")]
    assert refused == ["mqtt: task notification is a fuse/studio platform feature (legacy has none)",
                       "mqtt.key: the device key (access_key is user-level)"]


def test_without_umqtt_it_polls(results):
    r = results["alone"]
    assert r["woke"] is False and 290 <= r["ms"] < 2000 and r["connects"] == 0, r
    assert any("umqtt.simple is not installed" in l and "polling only" in l for l in r["log"]), r
