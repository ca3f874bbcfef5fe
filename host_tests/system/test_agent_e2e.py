# End-to-end: the firmware agent, unchanged, on CPython (shim) and on the real unix
# micropython, against the local simulator (issue 4, "Done when"). Each test checks the
# device's summary, the simulator's task state and the result codes it received (in
# order), the bytes in the sink, and the journal left behind.
import json
import os
import threading
import time

import pytest

from onenet_ota_tools import cli
from support.agent_env import DEV, OLD, image, md5, when_served

CHUNK = 4096
JOURNAL_EVERY = 16384  # config default


def runtimes():
    return pytest.mark.parametrize("runtime", ["cpython", "micropython"])




def _ok(env, s, result):
    assert s["result"] == result, "summary %s\n%s" % (s, env.logtext())


def _old_image_boots(env):
    # The ESP32 stand-in still boots ota_0, which holds the factory (old) image.
    st = env.otadata()
    assert st.get("boot", "") in ("", "ota_0"), st
    assert st.get("running", "ota_0") == "ota_0", st
    from onenet_ota_tools.images import make_app_image

    old = make_app_image(64 * 1024, OLD, seed=1)
    assert env.slot("ota_0", len(old)) == old


# -- 1. fresh update -------------------------------------------------------------------


def test_fresh_update_esp32(env):
    data = image(200 * 1024, "V1.4")
    t = env.publish(data, "V1.4")
    s = env.run()
    _ok(env, s, "updated")
    assert s["code"] == 201 and s["boots"] == 2
    assert s["old_version"] == OLD and s["new_version"] == "V1.4"
    assert s["sink_md5"] == md5(data) and s["bytes"] == len(data)
    assert env.task(t["id"])["state"] == "succeeded"
    assert env.codes(t["id"]) == [101, 201]
    assert all(0 <= p <= 99 for p in env.steps(t["id"]))
    # 201 reaches the platform BEFORE the version that equals the target
    ev = env.events()
    i201 = [i for i, e in enumerate(ev) if e["kind"] == "progress" and e["detail"]["step"] == 201]
    iver = [i for i, e in enumerate(ev) if e["kind"] == "version" and e["detail"].get("s_version") == "V1.4"]
    # an accepted 201 sets the device's version: nothing reports the target before it,
    # and nothing needs to after it (the official client sends no version either)
    assert i201 and not [i for i in iver if i < i201[0]]
    assert env.device_version() == "V1.4"
    st = env.otadata()
    assert st["boot"] == "ota_1" and st["running"] == "ota_1" and st["st_ota_1"] == "VALID"
    assert env.slot("ota_1", len(data)) == data
    assert not env.journal_exists()


@pytest.mark.parametrize("board", ["unix", "esp32"])
def test_fresh_update_file_sink(env, board):
    data = image(100 * 1024, "V1.4")
    codes = {"unix": ("100", "10001"), "esp32": ("101", "10101")}[board]
    t = env.publish(data, "V1.4", manuf=codes[0], model=codes[1])
    dst = os.path.join(env.tmp, "out", "pkg.bin")
    os.makedirs(os.path.dirname(dst))
    s = env.run(board=board, sink="file:" + dst)
    _ok(env, s, "updated")
    assert s["code"] == 201 and s["sink_md5"] == md5(data)
    with open(dst, "rb") as f:
        assert f.read() == data
    assert env.codes(t["id"]) == [101, 201]
    assert env.task(t["id"])["state"] == "succeeded"
    assert env.device_version() == "V1.4"
    assert not env.journal_exists()


# -- 2. no task ------------------------------------------------------------------------


@runtimes()
def test_no_task_exit_10(env, capsys):
    rc = cli.main(["device"] + env.argv())
    out = capsys.readouterr().out.strip().splitlines()
    s = json.loads(out[-1])
    assert rc == 10, s
    assert s["result"] == "none" and s["code"] == 0 and s["bytes"] == 0
    assert [e["detail"]["s_version"] for e in env.events("version")] == [OLD]
    assert not env.journal_exists()


# -- 3. resume after a kill (power loss) mid-download --------------------------------------


def test_resume_after_kill(env):
    data = image(300 * 1024, "V1.4")
    t = env.publish(data, "V1.4")
    env.sim.fault(DEV, bandwidth=400 * 1024)  # about 0.75 s for the package
    had = env.boot_until(40)  # bytes the device had written when the power went
    assert 0.4 * len(data) <= had < len(data), env.logtext()
    assert env.journal_exists()
    served = env.task(t["id"])["served"]
    env.sim.clear_faults()
    s = env.run()
    _ok(env, s, "updated")
    assert s["sink_md5"] == md5(data) and s["code"] == 201
    assert s["resumed_at"] > 0
    assert s["bytes"] == len(data) - s["resumed_at"]
    # re-downloaded: what the device had, or the server had sent, before the kill
    assert had - s["resumed_at"] <= CHUNK + JOURNAL_EVERY, (had, s["resumed_at"])
    assert served - s["resumed_at"] <= CHUNK + JOURNAL_EVERY, (served, s["resumed_at"])
    assert env.codes(t["id"]) == [101, 201]
    assert not env.journal_exists()


# -- 4. MD5 mismatch -------------------------------------------------------------------------


@runtimes()
def test_md5_mismatch_205(env):
    data = image(128 * 1024, "V1.4")
    t = env.publish(data, "V1.4")
    env.sim.fault(t["id"], flip_offset=70000)
    s = env.run()
    _ok(env, s, "failed")
    assert s["code"] == 205 and s["boots"] == 1
    assert env.codes(t["id"]) == [205]
    assert env.task(t["id"])["state"] == "failed"
    assert not env.journal_exists()
    _old_image_boots(env)
    # the next boot runs the old image and finds nothing to do
    s = env.run()
    _ok(env, s, "none")
    assert s["old_version"] == OLD
    _old_image_boots(env)


# -- 5. too large ------------------------------------------------------------------------------


def test_too_large_102(env):
    data = image(160 * 1024, "V1.4")
    t = env.publish(data, "V1.4")
    s = env.run(slot_size="0x20000")
    _ok(env, s, "failed")
    assert s["code"] == 102 and s["bytes"] == 0
    assert env.codes(t["id"]) == [102]
    assert env.task(t["id"])["state"] == "failed"
    assert not env.journal_exists()
    _old_image_boots(env)


# -- 6. cancelled / paused mid-way ------------------------------------------------------------------


@runtimes()
def test_cancelled_midway(env):
    data = image(128 * 1024, "V1.4")
    t = env.publish(data, "V1.4")
    env.sim.fault(t["id"], cancel_at=len(data) // 2)
    s = env.run()
    _ok(env, s, "cancelled")
    assert s["code"] == 0
    assert env.codes(t["id"]) == []
    assert env.task(t["id"])["state"] == "cancelled"
    assert not env.journal_exists()
    _old_image_boots(env)


@runtimes()
@pytest.mark.parametrize("paused_check", [17, 11, 0])
def test_paused_then_resumed_by_admin(env, paused_check):
    # §10: what a check on a paused task answers is not settled; every documented form
    # (the simulator's paused_check mode) ends in the same update.
    env.sim.modes(paused_check=paused_check)
    data = image(128 * 1024, "V1.4")
    t = env.publish(data, "V1.4", interval=1)
    env.sim.fault(t["id"], pause_at=len(data) // 2)
    done = threading.Event()

    def resume_later():
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20 and not done.is_set():
            if env.task(t["id"])["state"] == "paused":
                time.sleep(1.0)
                env.sim.resume(t["id"])
                return
            time.sleep(0.02)

    th = threading.Thread(target=resume_later, daemon=True)
    th.start()
    try:
        s = env.run()
    finally:
        done.set()
        th.join(5)
    _ok(env, s, "updated")
    assert s["code"] == 201 and s["sink_md5"] == md5(data)
    # the same boot carries on after the pause: at most the chunk in flight again
    assert s["resumed_at"] == -1
    assert len(data) <= s["bytes"] <= len(data) + CHUNK
    assert env.codes(t["id"]) == [101, 201]
    assert [e["detail"]["new"] for e in env.events("state", t["id"])] == [
        "downloading", "paused", "downloading", "upgrading", "succeeded"]
    assert not env.journal_exists()


@runtimes()
def test_paused_then_next_run_completes(env):
    data = image(128 * 1024, "V1.4")
    t = env.publish(data, "V1.4", interval=0)
    env.sim.fault(t["id"], pause_at=len(data) // 2)
    s = env.run(sets=["pause_waits=0"])
    _ok(env, s, "paused")
    assert s["code"] == 0 and env.codes(t["id"]) == []
    assert env.task(t["id"])["state"] == "paused"
    assert env.journal_exists()  # kept: the next cycle resumes
    env.sim.resume(t["id"])
    s = env.run()
    _ok(env, s, "updated")
    assert s["resumed_at"] > 0 and s["bytes"] == len(data) - s["resumed_at"]
    assert s["sink_md5"] == md5(data)
    assert env.codes(t["id"]) == [101, 201]
    assert not env.journal_exists()


# -- 7. token expiry mid-download ------------------------------------------------------------------


@runtimes()
@pytest.mark.parametrize("how", ["expire_token", "clock_49h"])
def test_token_expiry_then_fresh_token_resumes(env, how):
    # The token dies mid-download (the admin's expire action, or 49 h pass on the
    # simulator's clock). The download answers the one byte `3`; the agent checks the
    # task again, gets a fresh token (the simulator hands one out for an expired task)
    # and resumes where it was: nothing downloaded twice beyond the chunk in flight.
    data = image(256 * 1024, "V1.4")
    t = env.publish(data, "V1.4", interval=0)
    env.sim.fault(DEV, bandwidth=512 * 1024)
    kill = (lambda: env.sim.expire_token(t["id"])) if how == "expire_token" else (
        lambda: env.sim.clock.advance(49 * 3600))
    th = when_served(env, t["id"], len(data) * 2 // 5, kill)
    s = env.run(sets=["request=%d" % CHUNK])  # ranges: the next one meets the dead token
    th.join(5)
    env.sim.clear_faults()
    _ok(env, s, "updated")
    assert s["code"] == 201 and s["sink_md5"] == md5(data)
    assert len(data) <= s["bytes"] <= len(data) + CHUNK
    task = env.task(t["id"])
    assert task["state"] == "succeeded" and task["token"] != t["token"]
    assert env.codes(t["id"]) == [101, 201]
    assert env.device_version() == "V1.4"
    assert not env.journal_exists()


# -- 8. failed self-test -> not confirmed, 206, rollback -------------------------------------------


@runtimes()
def test_self_test_fails_206_rollback(env):
    env.write_module("selftest_bad", "def run():\n    return False\n")
    data = image(128 * 1024, "V1.4")
    t = env.publish(data, "V1.4")
    s = env.run(sets=["self_test=selftest_bad"])
    assert s["result"] == "failed" and s["code"] == 206, "summary %s\n%s" % (s, env.logtext())
    assert env.codes(t["id"]) == [101, 206]
    assert env.task(t["id"])["state"] == "failed"
    assert env.device_version() == OLD
    assert not env.journal_exists()
    # the new image was never confirmed: the bootloader went back to ota_0
    st = env.otadata()
    assert st.get("st_ota_1") == "ABORTED", st
    _old_image_boots(env)


def test_self_test_passes(env):
    # The self-test module in the device's filesystem is importable (else the test
    # above would pass for the wrong reason).
    env.write_module("selftest_ok", "def run():\n    return True\n")
    data = image(64 * 1024, "V1.4")
    t = env.publish(data, "V1.4")
    s = env.run(sets=["self_test=selftest_ok"])
    _ok(env, s, "updated")
    assert env.codes(t["id"]) == [101, 201]
    assert env.otadata()["st_ota_1"] == "VALID"


# -- 9. every result code the agent produces -------------------------------------------------------


def test_code_101_then_201_is_the_success_path(env):
    data = image(64 * 1024, "V1.4")
    t = env.publish(data, "V1.4")
    s = env.run()
    _ok(env, s, "updated")
    assert env.codes(t["id"]) == [101, 201]
    # 101 moved the task to upgrading, 201 completed it
    assert [e["detail"]["new"] for e in env.events("state", t["id"])][-2:] == ["upgrading", "succeeded"]


@runtimes()
def test_code_104_timeouts_retry_0(env):
    data = image(64 * 1024, "V1.4")
    t = env.publish(data, "V1.4", retry=0)
    env.sim.fault(t["id"], stall=3, stall_after=100, stall_every=True)
    s = env.run(sets=["timeout_ms=300", "retries=0"])
    _ok(env, s, "failed")
    assert s["code"] == 104
    assert env.codes(t["id"]) == [104]
    assert env.task(t["id"])["state"] == "failed"
    assert not env.journal_exists()
    _old_image_boots(env)


@runtimes()
def test_code_207_retries_spent(env):
    data = image(64 * 1024, "V1.4")
    t = env.publish(data, "V1.4", retry=1)
    env.sim.fault(t["id"], drop_after=1000, drop_every=True)
    s = env.run(sets=["retries=0"])
    _ok(env, s, "failed")
    assert s["code"] == 207
    assert env.codes(t["id"]) == [207]
    assert env.task(t["id"])["state"] == "failed"
    assert not env.journal_exists()
    _old_image_boots(env)


@runtimes()
@pytest.mark.parametrize("how", ["gone", "size"])
def test_code_107_one_byte_answer(env, how):
    data = image(64 * 1024, "V1.4")
    t = env.publish(data, "V1.4")
    pkg = env.sim.store.package(env.sim.store.task(t["id"])["package_id"])
    if how == "gone":
        os.remove(pkg["path"])  # answer `1`: resource not found
    else:
        with open(pkg["path"], "ab") as f:  # answer `2`: file size differs
            f.write(b"x")
    s = env.run()
    _ok(env, s, "failed")
    assert s["code"] == 107
    assert env.codes(t["id"]) == [107]
    assert env.task(t["id"])["state"] == "failed"
    assert not env.journal_exists()
    _old_image_boots(env)


def test_code_204_version_differs(env):
    # The package runs, but its embedded version is not the task's target (stock
    # images embed none: this one does).
    from onenet_ota_tools.images import make_app_image

    data = make_app_image(64 * 1024, "V9.9", seed=3, embed_version=True)
    t = env.publish(data, "V1.4")
    s = env.run()
    _ok(env, s, "failed")
    assert s["code"] == 204
    assert env.codes(t["id"]) == [101, 204]
    assert env.task(t["id"])["state"] == "failed"
    assert env.device_version() == OLD
    assert not env.journal_exists()
    assert env.otadata().get("st_ota_1") != "VALID"  # never confirmed
    # rejected like a failed self-test: reset unconfirmed, the bootloader is back on the
    # old image, and the next cycle reports the old version and leaves ota_0 alone
    _old_image_boots(env)
    s = env.run()
    assert s["old_version"] == OLD, s
    _old_image_boots(env)


def test_code_206_not_an_image(env):
    # Not an ESP32 app image: refused from its header, nothing written to the slot.
    data = bytes(range(256)) * 256
    t = env.publish(data, "V1.4")
    s = env.run()
    _ok(env, s, "failed")
    assert s["code"] == 206
    assert env.codes(t["id"]) == [206]
    assert env.task(t["id"])["state"] == "failed"
    assert not env.journal_exists()
    _old_image_boots(env)


@runtimes()
@pytest.mark.parametrize("sets,code", [(["signal=5", "power=80"], 106), (["signal=20", "power=10"], 105)])
def test_code_105_106_thresholds(env, sets, code):
    # The board reports a signal / battery level under the task's thresholds: the agent
    # waits `interval` and checks again `retry` times, then reports 106 (signal) or 105.
    data = image(64 * 1024, "V1.4")
    t = env.publish(data, "V1.4", retry=1, interval=0, signal=10, power=30)
    s = env.run(sets=sets)
    _ok(env, s, "failed")
    assert s["code"] == code and s["bytes"] == 0
    assert env.codes(t["id"]) == [code]
    assert env.task(t["id"])["state"] == "failed"
    _old_image_boots(env)


# -- cdn=false: the download goes to the ipPort of the check answer -------------------


def test_cdn_false_downloads_from_ip_port(env):
    from support.forwarder import Forwarder

    data = image(96 * 1024, "V1.4")
    t = env.publish(data, "V1.4")
    fwd = Forwarder(env.sim.port)
    try:
        env.sim.south.ip_port = "127.0.0.1:%d" % fwd.port
        env.sim.fault(DEV, ipport_form="hostport")  # §10: real answers have none by default
        s = env.run(sets=["cdn=false"])
        _ok(env, s, "updated")
        assert s["code"] == 201 and s["sink_md5"] == md5(data)
        # the ranges went through the ipPort, on one connection; the API calls did not
        assert fwd.connections == 1
        assert len(data) <= fwd.bytes_down < len(data) + 64 * 1024
        assert env.codes(t["id"]) == [101, 201]
    finally:
        fwd.stop()

