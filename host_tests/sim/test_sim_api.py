# The south API of the contract, row by row: Authorization, every errno of the tables,
# every task state transition. Real clients: http.client (api()) and curl where noted.
import json

import pytest

from test_sim_support import (DATA, DEV, KEY, NOW, PID, api, authz, check_path, curl, progress, publish,  # noqa: F401
                              request, sim, token_check)


def dl(sim, token, rng="bytes=0-9"):  # noqa: F811
    return request(sim, "GET", "/ota/south/download/" + token, headers={"Range": rng})


def state(sim, t):  # noqa: F811
    return sim.task(t["id"])["state"]


# -- 1. Authorization -------------------------------------------------------------------
@pytest.mark.parametrize("method", ["md5", "sha1", "sha256"])
def test_auth_methods(sim, method):  # noqa: F811
    publish(sim)
    assert api(sim, "GET", check_path(), auth_value=authz(method))["errno"] == 0


def test_seed_authorization_value_is_verified(sim):  # noqa: F811
    # The seed's computed example: its sign is what the firmware computes for that key.
    from onenet_ota import auth

    v = auth.token("198290", KEY, 7555917657, "sha1")
    assert v.startswith("version=2018-10-31&res=products%2F198290&et=7555917657&method=sha1&sign=")
    publish(sim)
    assert api(sim, "GET", check_path(), auth_value=v)["errno"] == 0


@pytest.mark.parametrize("bad", [
    False,  # no header
    "",
    "garbage",
    "version=2018-10-31&res=products%2F198290&et=9999999999&method=sha1",  # no sign
])
def test_auth_missing_or_malformed(sim, bad):  # noqa: F811
    publish(sim)
    r = api(sim, "GET", check_path(), auth_value=bad)
    assert r == {"errno": 1, "error": "authentication failed"}


def test_auth_wrong_key_res_method_version(sim):  # noqa: F811
    import base64

    publish(sim)
    other = base64.b64encode(b"another key entirely").decode()
    for v in (authz(key=other), authz(res="products/1"), authz(pid="1"),
              authz(res="products/%s/devices/x" % PID),
              authz().replace("method=sha1", "method=md5"),
              authz().replace("version=2018-10-31", "version=2019-01-01"),
              authz().replace("sign=", "sign=A")):
        assert api(sim, "GET", check_path(), auth_value=v)["errno"] == 1, v


def test_auth_expiry_follows_the_clock(sim):  # noqa: F811
    publish(sim)
    v = authz(et=NOW + 10)
    assert api(sim, "GET", check_path(), auth_value=v)["errno"] == 0
    sim.clock.advance(11)
    assert api(sim, "GET", check_path(), auth_value=v)["errno"] == 1
    assert api(sim, "GET", check_path(), auth_value=authz(et=NOW - 1))["errno"] == 1


def test_auth_unknown_device(sim):  # noqa: F811
    publish(sim)
    assert api(sim, "GET", check_path(dev="nope"))["errno"] == 1
    assert api(sim, "POST", "/ota/device/version?dev_id=nope", {"s_version": "V1"})["errno"] == 1


def test_auth_device_of_other_product(sim):  # noqa: F811
    import base64

    k2 = base64.b64encode(b"second product key").decode()
    publish(sim)
    publish(sim, dev="d2", product_id="555", access_key=k2)
    assert api(sim, "GET", check_path(dev="d2"))["errno"] == 1  # our token is for 198290
    assert api(sim, "GET", check_path(dev="d2"), auth_value=authz(pid="555", key=k2))["errno"] == 0


def test_auth_with_curl_and_absolute_uri(sim):  # noqa: F811
    publish(sim)
    out, err, rc = curl(sim, "-H", "Authorization:" + authz(), "{url}" + check_path())
    assert rc == 0 and json.loads(out)["errno"] == 0
    # The seed's POST uses an absolute URI in the request line.
    out, err, rc = curl(sim, "--request-target", "http://ota.heclouds.com/ota/device/version?dev_id=" + DEV,
                        "-H", "Content-Type: application/json", "-H", "Authorization:" + authz(),
                        "-H", "host:ota.heclouds.com", "--data-binary", '{"s_version":"V1.3"}',
                        "{url}/")
    assert rc == 0 and json.loads(out) == {"errno": 0, "error": "succ"}, (out, err)


# -- 2. version report ----------------------------------------------------------------------
def test_version_report_and_query(sim):  # noqa: F811
    sim.add_device(DEV, PID, KEY)
    p = "/ota/device/version?dev_id=" + DEV
    assert api(sim, "POST", p, {"s_version": "V1.3"}) == {"errno": 0, "error": "succ"}
    assert api(sim, "POST", p, {"f_version": "M5311_1.0", "s_version": "V1.3"})["errno"] == 0
    assert api(sim, "GET", p)["data"] == {"f_version": "M5311_1.0", "s_version": "V1.3"}


@pytest.mark.parametrize("body,errno", [
    ({"s_version": "V1.3 beta"}, 27), ({"s_version": ""}, 27), ({"s_version": "V" * 21}, 27),
    ({"f_version": "a/b"}, 27), ({"s_version": 13}, 27), ({"s_version": "a" * 20}, 0),
    ({"s_version": "A-z_0.9"}, 0), ({}, 2), ({"other": "V1"}, 2), (b"not json", 2), (b"[1]", 2),
])
def test_version_errnos(sim, body, errno):  # noqa: F811
    sim.add_device(DEV, PID, KEY)
    r = api(sim, "POST", "/ota/device/version?dev_id=" + DEV, body,
            headers={"Content-Type": "application/json"})
    assert r["errno"] == errno


def test_version_missing_dev_id(sim):  # noqa: F811
    assert api(sim, "POST", "/ota/device/version", {"s_version": "V1"})["errno"] == 2


def test_version_equal_to_target_completes_task(sim):  # noqa: F811
    t = publish(sim, target="V1.4")
    api(sim, "POST", "/ota/device/version?dev_id=" + DEV, {"f_version": "V1.4"})  # other type: no
    assert state(sim, t) == "pending"
    api(sim, "POST", "/ota/device/version?dev_id=" + DEV, {"s_version": "V1.4"})
    assert state(sim, t) == "succeeded"
    assert progress(sim, t["token"], 201)["errno"] == 20  # a later 201 is refused


# -- 3. check -----------------------------------------------------------------------------
def test_check_ok_data(sim):  # noqa: F811
    t = publish(sim, retry=5, interval=30, signal=10, power=20)
    r = api(sim, "GET", check_path(signals=20, powers=80))
    assert r["errno"] == 0 and r["error"] == "succ"
    d = r["data"]
    assert d["target"] == "V1.4" and d["token"] == t["token"] and d["token"].startswith("ota_")
    assert len(d["token"]) == len("ota_5hc95SFeo5xJEnaNrste")
    assert d["size"] == len(DATA) and d["md5"] == t["md5"] and len(d["md5"]) == 32
    assert (d["signal"], d["power"], d["retry"], d["interval"], d["type"]) == (10, 20, 5, 30, 1)
    assert "ipPort" not in d  # default: as the real captures (section 10)
    sim.modes(ipport_form="hostport")
    assert api(sim, "GET", check_path())["data"]["ipPort"] == "127.0.0.1:%d" % sim.port
    assert "ipPort" not in api(sim, "GET", check_path(cdn="true"))["data"]
    assert state(sim, t) == "pending"  # check alone moves nothing


@pytest.mark.parametrize("path,errno", [
    ("/ota/south/check?manuf=101&model=10101&type=2&version=V1.3&cdn=false", 2),
    # section 10: no manuf, model or cdn is not an error (newer official clients)
    ("/ota/south/check?dev_id=%s&model=10101&type=2&version=V1.3&cdn=false" % DEV, 0),
    ("/ota/south/check?dev_id=%s&manuf=101&type=2&version=V1.3&cdn=false" % DEV, 0),
    ("/ota/south/check?dev_id=%s&manuf=101&model=10101&version=V1.3&cdn=false" % DEV, 2),
    ("/ota/south/check?dev_id=%s&manuf=101&model=10101&type=2&cdn=false" % DEV, 2),
    ("/ota/south/check?dev_id=%s&manuf=101&model=10101&type=2&version=V1.3" % DEV, 0),
    (check_path(type=3), 2),
    (check_path(cdn="maybe"), 2),
    (check_path(signals="strong"), 2),
    (check_path(powers="x"), 2),
    (check_path(version="V1.3%20beta"), 27),
    (check_path(version="V" * 21), 27),
    (check_path(version="V1%2F3"), 27),
    (check_path(type=1), 11),
])
def test_check_errnos(sim, path, errno):  # noqa: F811
    publish(sim)
    assert api(sim, "GET", path)["errno"] == errno


def test_check_no_task_11(sim):  # noqa: F811
    sim.add_device(DEV, PID, KEY)
    assert api(sim, "GET", check_path()) == {"errno": 11, "error": "no task"}


@pytest.mark.parametrize("manuf,model", [("102", "10101"), ("101", "10201")])
def test_check_manuf_model_mismatch_fails_task_8(sim, manuf, model):  # noqa: F811
    t = publish(sim)
    assert api(sim, "GET", check_path(manuf=manuf, model=model))["errno"] == 8
    assert state(sim, t) == "failed"
    assert api(sim, "GET", check_path())["errno"] == 11


def test_check_fota_type_and_codes(sim):  # noqa: F811
    t = publish(sim, type=1, manuf="001", model="00108", target="M5311_2")
    assert api(sim, "GET", check_path(type=2))["errno"] == 11
    assert api(sim, "GET", check_path(type=1, manuf="001", model="00108"))["data"]["token"] == t["token"]


def test_check_differential_version_differs_9(sim):  # noqa: F811
    t = publish(sim, pkg_type=2, from_version="V1.3")
    assert api(sim, "GET", check_path(version="V1.3"))["data"]["type"] == 2
    assert api(sim, "GET", check_path(version="V1.2")) == {"errno": 9, "error": "version differs"}
    assert state(sim, t) == "failed"


def test_errno7_burst(sim):  # noqa: F811
    publish(sim)
    sim.fault(DEV, errno7=2)
    assert api(sim, "GET", check_path()) == {"errno": 7, "error": "platform internal error"}
    assert api(sim, "GET", check_path())["errno"] == 7
    assert api(sim, "GET", check_path())["errno"] == 0


# -- 4. token check -------------------------------------------------------------------------
def test_token_check_moves_pending_to_downloading(sim):  # noqa: F811
    t = publish(sim)
    assert token_check(sim, t["token"], auth_value=False) == {"errno": 0, "error": "succ"}
    assert state(sim, t) == "downloading"
    assert token_check(sim, t["token"])["errno"] == 0  # downloading allows it too
    out, err, rc = curl(sim, "{url}/ota/south/download/%s/check?dev_id=%s" % (t["token"], DEV))
    assert json.loads(out)["errno"] == 0


def test_token_check_errnos(sim):  # noqa: F811
    t = publish(sim)
    publish(sim, dev="other")
    assert token_check(sim, t["token"], dev="other")["errno"] == 4
    assert token_check(sim, "ota_unknownunknown1234")["errno"] == 4
    assert api(sim, "GET", "/ota/south/download/%s/check" % t["token"])["errno"] == 2
    assert token_check(sim, t["token"], dev="ghost")["errno"] == 1
    sim.fault(DEV, errno7=1)
    assert token_check(sim, t["token"])["errno"] == 7
    progress_to_upgrading(sim, t)
    assert token_check(sim, t["token"]) == {"errno": 17, "error": "invalid state"}
    progress(sim, t["token"], 201)
    assert token_check(sim, t["token"])["errno"] == 20


def test_token_check_expired_12_after_48h(sim):  # noqa: F811
    t = publish(sim)
    sim.clock.advance(48 * 3600 - 1)
    assert token_check(sim, t["token"], auth_value=False)["errno"] == 0
    sim.clock.advance(2)
    assert token_check(sim, t["token"], auth_value=False) == {"errno": 12, "error": "token expired"}
    assert dl(sim, t["token"])[2] == b"3"


def test_token_check_cancelled_22_paused_17(sim):  # noqa: F811
    t = publish(sim)
    sim.pause(t["id"])
    assert token_check(sim, t["token"])["errno"] == 17
    sim.resume(t["id"])
    assert state(sim, t) == "pending"
    sim.cancel(t["id"])
    assert token_check(sim, t["token"]) == {"errno": 22, "error": "task cancelled"}


def progress_to_upgrading(sim, t):  # noqa: F811
    if state(sim, t) == "pending":
        token_check(sim, t["token"])
    assert progress(sim, t["token"], 100)["errno"] == 0
    assert state(sim, t) == "upgrading"


# -- 5. download state effects --------------------------------------------------------------
def test_first_download_moves_pending_to_downloading(sim):  # noqa: F811
    t = publish(sim)
    st, hd, body = dl(sim, t["token"])
    assert st == 206 and body == DATA[:10]
    assert state(sim, t) == "downloading"
    assert progress(sim, t["token"], 50)["errno"] == 0


def test_download_refused_bytes(sim):  # noqa: F811
    import os

    t = publish(sim)
    for tok in ("ota_nosuchtoken000000", t["token"] + "x"):
        st, hd, body = dl(sim, tok)
        assert body == b"3" and "content-length" not in hd and hd["connection"] == "close"
    st, hd, body = request(sim, "GET", "/ota/south/download/%s?dev_id=other" % t["token"])
    assert body == b"3"
    pkg = sim.store.package(sim.store.task(t["id"])["package_id"])
    with open(pkg["path"], "ab") as f:
        f.write(b"extra")
    assert dl(sim, t["token"])[2] == b"2"  # size mismatch
    os.remove(pkg["path"])
    st, hd, body = dl(sim, t["token"])
    assert body == b"1" and "content-length" not in hd  # resource not found
    out, err, rc = curl(sim, "-i", "{url}/ota/south/download/ota_nosuchtoken000000")
    assert rc == 0 and out.endswith(b"\r\n\r\n3") and b"Content-Length" not in out


def test_download_in_each_state(sim):  # noqa: F811
    t = publish(sim)
    token_check(sim, t["token"])
    assert dl(sim, t["token"])[0] == 206  # downloading
    progress_to_upgrading(sim, t)
    assert dl(sim, t["token"])[0] == 206  # upgrading: still served
    sim.pause(t["id"])
    assert dl(sim, t["token"])[2] == b"3"  # paused
    sim.resume(t["id"])
    assert state(sim, t) == "upgrading"
    progress(sim, t["token"], 201)
    assert dl(sim, t["token"])[2] == b"3"  # finished


# -- 6. progress and result ---------------------------------------------------------------
def test_progress_full_happy_path(sim):  # noqa: F811
    t = publish(sim)
    assert progress(sim, t["token"], 0) == {"errno": 17, "error": "invalid state"}  # pending
    token_check(sim, t["token"])
    for step in (0, 54, 99):
        assert progress(sim, t["token"], step)["errno"] == 0
    assert sim.task(t["id"])["progress"] == 99
    assert progress(sim, t["token"], 100)["errno"] == 0
    assert state(sim, t) == "upgrading"
    assert progress(sim, t["token"], 54)["errno"] == 17  # steps only while downloading
    assert progress(sim, t["token"], 101)["errno"] == 17  # 1xx refused while upgrading
    assert progress(sim, t["token"], 201) == {"errno": 0, "error": "succ"}
    assert state(sim, t) == "succeeded"
    assert sim.store.device(DEV)["s_version"] == "V1.4"
    for step in (50, 101, 201, 206):
        assert progress(sim, t["token"], step) == {"errno": 20, "error": "task finished"}


def test_result_101_moves_to_upgrading(sim):  # noqa: F811
    t = publish(sim)
    token_check(sim, t["token"])
    assert progress(sim, t["token"], 101)["errno"] == 0
    assert state(sim, t) == "upgrading"
    assert progress(sim, t["token"], 101)["errno"] == 17


@pytest.mark.parametrize("code", [102, 103, 104, 105, 106, 107, 202, 203, 204, 205, 206, 207, 208])
def test_failure_codes_fail_task(sim, code):  # noqa: F811
    t = publish(sim)
    token_check(sim, t["token"])
    assert progress(sim, t["token"], code)["errno"] == 0
    v = sim.task(t["id"])
    assert v["state"] == "failed" and v["result"] == code
    assert progress(sim, t["token"], 201)["errno"] == 20


@pytest.mark.parametrize("code", [101, 107, 201, 205])
def test_result_accepted_while_pending(sim, code):  # noqa: F811
    t = publish(sim)
    assert progress(sim, t["token"], code)["errno"] == 0
    assert state(sim, t) == {101: "upgrading", 201: "succeeded"}.get(code, "failed")


def test_2xx_failure_while_upgrading(sim):  # noqa: F811
    t = publish(sim)
    progress_to_upgrading(sim, t)
    assert progress(sim, t["token"], 205)["errno"] == 0
    assert state(sim, t) == "failed"


@pytest.mark.parametrize("body", [{"step": -1}, {"step": 108}, {"step": 150}, {"step": 209}, {"step": "5"},
                                  {"step": 5.5}, {"step": True}, {}, b"{", b"[]"])
def test_progress_bad_body_2(sim, body):  # noqa: F811
    t = publish(sim)
    token_check(sim, t["token"])
    r = api(sim, "POST", "/ota/south/device/download/%s/progress?dev_id=%s" % (t["token"], DEV), body)
    assert r["errno"] == 2


def test_progress_auth_and_token(sim):  # noqa: F811
    t = publish(sim)
    publish(sim, dev="other")
    token_check(sim, t["token"])
    assert progress(sim, t["token"], 5, auth_value=False)["errno"] == 1
    assert progress(sim, t["token"], 5, dev="other")["errno"] == 4
    assert progress(sim, "ota_nosuchtoken000000", 5)["errno"] == 4
    sim.clock.advance(49 * 3600)
    assert progress(sim, t["token"], 5, auth_value=authz(et=NOW + 50 * 3600))["errno"] == 12


def test_progress_paused_and_cancelled(sim):  # noqa: F811
    t = publish(sim)
    token_check(sim, t["token"])
    sim.pause(t["id"])
    assert progress(sim, t["token"], 10)["errno"] == 17
    assert progress(sim, t["token"], 107)["errno"] == 17
    assert api(sim, "GET", check_path()) == {"errno": 17, "error": "invalid state"}  # section 10
    sim.modes(paused_check=0)
    assert api(sim, "GET", check_path())["data"]["token"] == t["token"]  # the old answer
    sim.resume(t["id"])
    assert state(sim, t) == "downloading"
    assert progress(sim, t["token"], 10)["errno"] == 0
    sim.cancel(t["id"])
    assert progress(sim, t["token"], 20) == {"errno": 22, "error": "task cancelled"}
    assert progress(sim, t["token"], 201)["errno"] == 22
    assert api(sim, "GET", check_path())["errno"] == 11


def test_progress_with_curl_seed_form(sim):  # noqa: F811
    t = publish(sim)
    token_check(sim, t["token"])
    out, err, rc = curl(sim, "-H", "Authorization:" + authz(), "-H", "Content-Type: application/json",
                        "--data-binary", '{"step":54}',
                        "{url}/ota/south/device/download/%s/progress?dev_id=%s" % (t["token"], DEV))
    assert json.loads(out) == {"errno": 0, "error": "succ"}
    assert sim.task(t["id"])["progress"] == 54


# -- 7. older report form -------------------------------------------------------------------
def report(sim, t, body, dev=DEV, token=None, **kw):  # noqa: F811
    return api(sim, "POST", "/ota/south/report?dev_id=%s&token=%s" % (dev, token or t["token"]), body, **kw)


def test_report_twice(sim):  # noqa: F811
    t = publish(sim)
    assert report(sim, t, {"result": 101}) == {"errno": 0, "error": "succ"}
    assert state(sim, t) == "upgrading"
    assert report(sim, t, {"result": 101})["errno"] == 21
    # The token alone is not enough (issue 16): errno 1, the task untouched.
    assert report(sim, t, {"result": 201}, auth_value=False)["errno"] == 1
    assert state(sim, t) == "upgrading"
    assert report(sim, t, {"result": 201})["errno"] == 0
    assert state(sim, t) == "succeeded"
    assert report(sim, t, {"result": 201}) == {"errno": 20, "error": "task finished"}


def test_report_errnos(sim):  # noqa: F811
    t = publish(sim)
    publish(sim, dev="other")
    assert report(sim, t, {"result": 101}, token="ota_nosuchtoken000000")["errno"] == 1
    assert report(sim, t, {"result": 101}, dev="other")["errno"] == 1
    assert report(sim, t, {"result": 101}, auth_value=authz(et=NOW - 5))["errno"] == 1
    assert report(sim, t, {"result": 150}) == {"errno": 2, "error": "bad request parameters"}
    for bad in ({"result": "101"}, {}, {"step": 101}, b"nope"):
        assert report(sim, t, bad) == {"errno": 24, "error": "bad result"}
    sim.pause(t["id"])
    assert report(sim, t, {"result": 101}) == {"errno": 21, "error": "invalid operation"}
    sim.cancel(t["id"])
    assert report(sim, t, {"result": 101})["errno"] == 22
    t2 = publish(sim, target="V1.5")
    assert report(sim, t2, {"result": 104})["errno"] == 0
    assert state(sim, t2) == "failed"
    assert report(sim, t2, {"result": 201})["errno"] == 20


# -- 8. tasking (the documented endpoint: one task, section 10) --------------------------------
def test_tasking(sim):  # noqa: F811
    t1 = publish(sim)
    sim.cancel(t1["id"])
    t2 = publish(sim, target="V1.5")
    t3 = publish(sim, type=1, target="M1", manuf="001", model="00108")
    p = "/ota/south/tasking?dev_id=%s&type=" % DEV
    assert api(sim, "GET", p + "2") == {"errno": 4, "error": "token and device differ"}  # pending
    token_check(sim, t2["token"])
    r = api(sim, "GET", p + "2")
    assert r["errno"] == 0 and r["data"]["token"] == t2["token"] and r["data"]["target"] == "V1.5"
    assert api(sim, "GET", p + "1")["errno"] == 4  # t3 pending
    assert api(sim, "GET", p + "7")["errno"] == 2
    assert api(sim, "GET", "/ota/south/tasking?dev_id=" + DEV)["errno"] == 2  # type required
    assert api(sim, "GET", p + "2", auth_value=False)["errno"] == 1
    assert t3["state"] == "pending"


# -- 9. odds and ends ----------------------------------------------------------------------
def test_unknown_paths(sim):  # noqa: F811
    assert request(sim, "GET", "/ota/south/nothing")[0] == 404
    assert request(sim, "GET", "/elsewhere")[0] == 404
    assert request(sim, "PUT", "/ota/south/check")[0] == 405


def test_publish_refuses_second_open_task(sim):  # noqa: F811
    from onenet_ota_tools.sim import AdminError

    t = publish(sim)
    with pytest.raises(AdminError):
        publish(sim)
    t2 = publish(sim, replace=True)
    assert state(sim, t) == "cancelled" and state(sim, t2) == "pending"


def test_events_history(sim):  # noqa: F811
    t = publish(sim)
    token_check(sim, t["token"])
    progress(sim, t["token"], 100)
    progress(sim, t["token"], 201)
    kinds = [(e["kind"], e["detail"].get("new")) for e in sim.events(DEV)]
    assert ("state", "downloading") in kinds and ("state", "upgrading") in kinds
    assert kinds[-1] == ("state", "succeeded")
