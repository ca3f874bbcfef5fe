# The fuse-ota and Studio dialects (issue 14; docs/dialects.md): the firmware's dialect
# modules on both runtimes, and whole updates against the simulator (sim/dialects.py)
# on both runtimes: fresh, resume after a power cut, md5 mismatch, cancel mid-download,
# and the token forms the sources disagree about (onenet-ota-new-api.md §2.1).
import os

import pytest

from conftest import RUNTIMES, run_cases
from support.agent_env import AgentEnv, image, md5, when_served

PID = "XHm5ltr9qA"  # a 10-character product id like the platform's (§4)
DEVN = "d0"
PKEY = "cHJvZHVjdGtleXByb2R1Y3Q="
UKEY = "MTIzNDU2Nzg5MGFiY2RlZg=="
DKEY = "ZGV2a2V5ZGV2a2V5ZGV2a2V5"
UID = "498670"
PLATFORMS = ("fuse", "studio")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_dialect_cases(runtime):
    r = run_cases("cases_dialect", runtime, heap="128k")
    assert r["case_worked_example"] == [  # onenet-ota-new-api.md §2.2, byte for byte
        "version=2022-05-01&res=userid%2F498670&et=1774161817&method=sha1&sign=g6ybfpypRfCNGJXgLZsPfmdxZ4c%3D",
        "version=2018-10-31&res=products%2FXHm5ltr9qA%2Fdevices%2Fd0&et=1924833600&method=sha1"
        "&sign=kW1%2Fw3BBX8TUohlnu4Pr%2ByHdhaM%3D",
        "version=2018-10-31&res=products%2FXHm5ltr9qA&et=1924833600&method=sha256"
        "&sign=avkN98pxg520nJQ%2Ff1630d6yluLMLWwjd%2BzheGXUC3c%3D",
    ]
    t = r["case_config_tokens"]
    assert t[0] == ["iot-api.heclouds.com", "user", "2022-05-01", "498670"]
    assert t[1] == r["case_worked_example"][0]
    assert t[2] == ["studio-ota.heclouds.com", "device", "2018-10-31"]
    assert t[3] == r["case_worked_example"][1]
    assert t[4] == ["h.example", r["case_worked_example"][2]]
    assert t[5] == ["legacy", "ota.heclouds.com"]
    assert r["case_config_refusals"] == [
        "platform: legacy, fuse or studio",
        "bad user_id (token_res user: the account's id)",
        "bad user_id (token_res user: the account's id)",
        "token_res: product, device or user",
        "token_version: 2018-10-31 or 2022-05-01",
        "download_auth query: token_version 2022-05-01 only",
        "download_auth: header or query",
        "bad product_id",
        "product_id: bad character",  # legacy product ids are digits
    ]
    p = r["case_parse_task"]
    assert p[:6] == ["1317438", 8260, 1, 3, 0, None]
    assert p[6] == ["1290643", "b54809186a2dd720e80265402e8cb168", 1, 1]
    assert p[7:] == ["missing tid", "bad tid", "bad status", "bad version", "bad task"]


class DialectEnv(AgentEnv):
    # AgentEnv with a device of a fuse-ota or Studio product; the device signs with the
    # dialect's default token form unless `token` says (res level, version, key).
    def __init__(self, tmp, runtime, platform):
        AgentEnv.__init__(self, tmp, runtime)
        self.platform = platform
        self.sim.add_device(DEVN, PID, PKEY, platform=platform, user_id=UID, user_key=UKEY, dev_key=DKEY)

    def publish(self, data, target, **kw):
        kw.setdefault("interval", 0)
        kw.setdefault("retry", 3)
        return self.sim.publish(target, PID, PKEY, DEVN, data=data, name="fw.bin", **kw)

    def events(self, kind=None, tid=None):
        return [e for e in self.sim.events(DEVN, tid) if kind is None or e["kind"] == kind]

    def device_version(self):
        return [d for d in self.sim.devices() if d["dev_id"] == DEVN][0]["s_version"]

    def argv(self, sets=(), key=None, **kw):
        sets = ("platform=" + self.platform,) + tuple(sets)
        if self.platform == "fuse":
            sets += ("user_id=" + UID,)
        kw.setdefault("product_id", PID)
        kw.setdefault("dev_id", DEVN)
        kw.setdefault("access_key", key or (UKEY if self.platform == "fuse" else DKEY))
        return AgentEnv.argv(self, sets, **kw)

    def args(self, sets=(), key=None, **kw):
        import argparse

        from onenet_ota_tools.commands import device

        p = argparse.ArgumentParser()
        device.add_arguments(p)
        return p.parse_args(self.argv(sets, key, **kw))


@pytest.fixture(params=[(p, r) for p in PLATFORMS for r in RUNTIMES], ids=lambda x: "-".join(x))
def denv(request, tmp_path):
    e = DialectEnv(tmp_path, request.param[1], request.param[0])
    try:
        yield e
    finally:
        e.stop()


def _ok(env, s, result):
    assert s["result"] == result, "summary %s\n%s" % (s, env.logtext())


def test_fresh_update(denv):
    data = image(200 * 1024, "V1.4")
    t = denv.publish(data, "V1.4")
    s = denv.run()
    _ok(denv, s, "updated")
    assert s["sink_md5"] == md5(data) and s["bytes"] == len(data) and s["code"] == 201
    # §4.6: 100 says "downloaded" (no 101 after it), then 201 after the confirm boot
    assert denv.codes(t["id"]) == [201]
    steps = denv.steps(t["id"])
    assert steps[-1] == 100 and steps == sorted(steps) and 101 not in steps, steps
    assert denv.task(t["id"])["state"] == "succeeded"
    assert denv.device_version() == "V1.4"
    assert not denv.journal_exists()
    # the version report carried both fields (§4.1: fuse-ota refuses one alone)
    assert [e["detail"] for e in denv.events("version")] == [{"s_version": "V1.3", "f_version": "V1.3"}]
    # the next boot finds no task (12012 / errno 10)
    s = denv.run()
    _ok(denv, s, "none")
    last = denv.logtext().split("--- run")[-1]
    # fuse-ota: 12013 "task succ" (§5.1, S5) read as no task; Studio: errno 10 (§9.3)
    assert ("errno 11 (task succ)" if denv.platform == "fuse" else "errno 11 (no task)") in last, last


def test_resume_after_power_cut(denv):
    data = image(300 * 1024, "V1.4")
    t = denv.publish(data, "V1.4")
    denv.sim.fault(DEVN, bandwidth=400 * 1024)
    had = denv.boot_until(40)
    assert 0.4 * len(data) <= had < len(data), denv.logtext()
    assert denv.journal_exists()
    with open(denv.path("ota.jrn"), "rb") as f:  # the task id where the token was
        assert str(t["id"]).encode() in f.read()
    denv.sim.clear_faults()
    s = denv.run()
    _ok(denv, s, "updated")
    assert s["sink_md5"] == md5(data) and s["resumed_at"] > 0
    assert s["bytes"] == len(data) - s["resumed_at"]
    assert denv.codes(t["id"]) == [201]
    assert not denv.journal_exists()


def test_md5_mismatch_reports_205(denv):
    data = image(64 * 1024, "V1.4")
    t = denv.publish(data, "V1.4")
    denv.sim.fault(DEVN, flip_offset=1000)
    s = denv.run()
    _ok(denv, s, "failed")
    assert s["code"] == 205 and denv.codes(t["id"]) == [205]
    assert denv.task(t["id"])["state"] == "failed" and denv.task(t["id"])["result"] == 205
    assert not denv.journal_exists()


def test_cancel_mid_download_by_the_download(denv):
    # The task is cancelled when the download reaches 40 %, the connection cut: the next
    # range answers Ota-Errno 5, the task's {tid}/check says 6 -> cancelled, nothing
    # reported, the journal and the partial image dropped.
    data = image(128 * 1024, "V1.4")
    t = denv.publish(data, "V1.4")
    denv.sim.fault(DEVN, cancel_at=50 * 1024)
    s = denv.run(sets=["progress_every=0"])  # no step to learn it from: the download tells
    _ok(denv, s, "cancelled")
    assert denv.task(t["id"])["state"] == "cancelled"
    assert denv.codes(t["id"]) == [] and not denv.journal_exists()
    assert "download: errno 3 (Ota-Errno 5)" in denv.logtext(), denv.logtext()


def test_cancel_on_the_simulator_mid_download(denv):
    # Cancelled from the admin side after 64 KiB of 16 KiB ranges: the next progress step
    # is refused 20 "task finish" (§4.6) or the next range Ota-Errno 5 (§4.5); either
    # way {tid}/check says 6 -> cancelled.
    data = image(300 * 1024, "V1.4")
    t = denv.publish(data, "V1.4")
    denv.sim.fault(DEVN, bandwidth=600 * 1024)
    th = when_served(denv, t["id"], 64 * 1024, lambda: denv.sim.cancel(t["id"]))
    s = denv.run(sets=["request=16384"])
    th.join(5)
    _ok(denv, s, "cancelled")
    assert denv.task(t["id"])["state"] == "cancelled"
    assert s["bytes"] < len(data)
    assert denv.codes(t["id"]) == [] and not denv.journal_exists()


def test_cancel_seen_by_a_progress_step(denv):
    # One long range streams; the task is cancelled once the device reported 20 %: the
    # next step is refused 20 "task finish" (§4.6), the dialect asks {tid}/check (6) and
    # the agent stops at once, the rest of the package never read.
    import threading
    import time

    data = image(400 * 1024, "V1.4")
    t = denv.publish(data, "V1.4")
    denv.sim.fault(DEVN, bandwidth=400 * 1024)

    def watch():
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20:
            if any(e["detail"]["step"] >= 20 for e in denv.events("progress", t["id"])):
                denv.sim.cancel(t["id"])
                return
            time.sleep(0.01)

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    s = denv.run()
    th.join(5)
    _ok(denv, s, "cancelled")
    assert s["bytes"] < len(data) and denv.codes(t["id"]) == [] and not denv.journal_exists()
    log = denv.logtext()
    assert "download: errno 22 (task cancelled)" in log and "Ota-Errno" not in log, log


# -- the token forms (§2.1) and the auth-in-query download (fuse) -------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("form", ["device-2018", "device-2022", "product-2018", "query"])
def test_fuse_token_forms(tmp_path, runtime, form):
    env = DialectEnv(tmp_path, runtime, "fuse")
    try:
        data = image(32 * 1024, "V1.4")
        t = env.publish(data, "V1.4")
        res, ver = form.split("-") if "-" in form else ("user", "2022")
        key = {"device": DKEY, "product": PKEY, "user": UKEY}[res]
        sets = ["token_res=" + res, "token_version=%s" % ("2018-10-31" if ver == "2018" else "2022-05-01")]
        if form == "query":
            sets += ["download_auth=query"]
        s = env.run(sets=sets, key=key)
        _ok(env, s, "updated")
        assert s["sink_md5"] == md5(data) and env.codes(t["id"]) == [201]
    finally:
        env.stop()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_wrong_key_is_refused_and_nothing_happens(tmp_path, platform):
    env = DialectEnv(tmp_path, "cpython", platform)
    try:
        t = env.publish(image(16 * 1024, "V1.4"), "V1.4")
        s = env.run(key=PKEY if platform == "fuse" else UKEY)  # a key of another level
        _ok(env, s, "failed")
        assert env.task(t["id"])["state"] == "pending" and s["bytes"] == 0
        assert "cycle ended: PlatformError: 1" in env.logtext(), env.logtext()  # the version report refused
        assert env.events("auth_failed")
    finally:
        env.stop()


def test_legacy_path_does_not_know_a_fuse_device(tmp_path):
    env = DialectEnv(tmp_path, "cpython", "fuse")
    try:
        env.publish(image(16 * 1024, "V1.4"), "V1.4")
        s = env.run(sets=["platform=legacy"], product_id="123123", key=PKEY)
        _ok(env, s, "failed")
        assert os.path.exists(env.state) and s["bytes"] == 0
    finally:
        env.stop()


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("platform", PLATFORMS)
def test_nrf52832_profile_through_a_modem(tmp_path, runtime, platform):
    # The nRF52832 module set (no json, hashlib, re, socket: the shim's nomods) through
    # the BC26 modem simulator: the dialect modules need nothing the port lacks.
    from onenet_ota_tools.commands import device

    env = DialectEnv(tmp_path, runtime, platform)
    try:
        data = image(48 * 1024, "V1.4")
        t = env.publish(data, "V1.4", manuf="102", model="10201")
        s = device.run_device(env.args(("timeout_ms=3000", "chunk=1024"), board="nrf52832", modem="bc26"),
                              log=env.log.append)
        _ok(env, s, "updated")
        assert s["code"] == 201 and s["sink_md5"] == md5(data) and env.codes(t["id"]) == [201]
    finally:
        env.stop()


def test_paused_then_resumed_on_the_simulator(denv):
    # Neither dialect has a paused state (§4.4): the simulator hides a paused task from
    # the check, {tid}/check shows the status it was paused in, downloads answer
    # Ota-Errno 5. The agent waits (no retry spent) and carries on once it is resumed.
    import threading
    import time

    data = image(128 * 1024, "V1.4")
    t = denv.publish(data, "V1.4")
    denv.sim.fault(DEVN, pause_at=40 * 1024)

    def resume():
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20:
            if denv.task(t["id"])["state"] == "paused":
                time.sleep(0.3)
                denv.sim.resume(t["id"])
                return
            time.sleep(0.01)

    th = threading.Thread(target=resume, daemon=True)
    th.start()
    s = denv.run(sets=["progress_every=0"])
    th.join(5)
    _ok(denv, s, "updated")
    assert s["sink_md5"] == md5(data) and denv.codes(t["id"]) == [201]
    assert "task paused: waiting" in denv.logtext()
