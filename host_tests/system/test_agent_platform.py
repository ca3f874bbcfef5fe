# The agent against the platform as the official SDK and documentation show it
# (shared/docs/onenet-ota-api.md §10; the simulator's modes and knobs in sim/faults.py)
# and against stock ESP32 images (shared/docs/port-facts.md), on both runtimes: every
# documented form of an answer completes an update or ends with a failure report
# after a bounded number of attempts, each followed by a back-off.
import os
import re

import pytest

from support.agent_env import DEV, OLD, image, md5


def _ok(env, s, result):
    assert s["result"] == result, "summary %s\n%s" % (s, env.logtext())


def _file_board(env, size, seed=7):
    # A unix board with a file sink: any package size, byte for byte.
    data = bytes((i * 131 + seed) & 0xFF for i in range(size))
    t = env.publish(data, "V1.4", manuf="100", model="10001")
    dst = os.path.join(env.tmp, "out.bin")
    return data, t, dst


# A whole update of a file board: the bytes in the file are the package's.
def _file_update(env, size, sets):
    data, t, dst = _file_board(env, size)
    s = env.run(board="unix", sink="file:" + dst, sets=sets)
    _ok(env, s, "updated")
    with open(dst, "rb") as f:
        assert f.read() == data
    assert env.codes(t["id"]) == [101, 201]
    return s


# -- stock ESP32 images: no version in the app descriptor ---------------------------------


def test_stock_image_without_version_updates_to_201(env):
    # CONFIG_APP_EXCLUDE_PROJECT_VER_VAR=y in every stock build: the running slot, not
    # a version string, tells the confirm boot that the new image runs.
    data = image(300 * 1024, "")
    from onenet_ota_tools.images import parse_app_image

    assert parse_app_image(data)["version"] == ""
    t = env.publish(data, "V1.4")
    s = env.run()
    _ok(env, s, "updated")
    assert s["code"] == 201 and s["sink_md5"] == md5(data)
    assert env.codes(t["id"]) == [101, 201]
    st = env.otadata()
    assert st["boot"] == "ota_1" and st["running"] == "ota_1" and st["st_ota_1"] == "VALID", st
    assert env.device_version() == "V1.4"
    # the next boot reports the new version (from the version file) and finds no task
    s = env.run()
    _ok(env, s, "none")
    assert s["old_version"] == "V1.4"


# -- ipPort in every documented form -------------------------------------------------


@pytest.mark.parametrize("form", ["absent", "host", "hostport"])
def test_cdn_false_with_every_ipport_form(env, form):
    env.sim.fault(DEV, ipport_form=form)
    data = image(64 * 1024, "V1.4")
    t = env.publish(data, "V1.4")
    s = env.run(sets=["cdn=false"])
    _ok(env, s, "updated")
    assert s["code"] == 201 and s["sink_md5"] == md5(data)
    assert env.codes(t["id"]) == [101, 201]
    log = env.logtext()
    assert ("downloads from 127.0.0.1:%d" % env.sim.port in log) == (form != "absent"), log


# -- one-byte download answers 1..6 ----------------------------------------------------


@pytest.mark.parametrize("encoding", ["ascii", "raw"])
def test_always_invalid_token_ends_after_retry_plus_one_attempts(env, encoding):
    # A download answering `3` for ever used to loop without a sleep (16,000 requests in
    # 10 s). Now: retry + 1 attempts, a back-off after each failed one, then 107.
    env.sim.fault(DEV, dl_error=3, one_byte=encoding)
    data = image(64 * 1024, "V1.4")
    t = env.publish(data, "V1.4", retry=2, interval=0)
    s = env.run()
    _ok(env, s, "failed")
    assert s["code"] == 107 and s["bytes"] == 0
    assert env.codes(t["id"]) == [107]
    log = env.logtext()
    assert len(re.findall(r"attempt \d+ failed", log)) == 2, log  # retry = 2: 3 attempts
    # version, check, token check; per attempt a download, a re-check and a token
    # check; the report
    assert s["requests"] <= 3 + 3 * 3 + 1, s
    assert not env.journal_exists()


@pytest.mark.parametrize("code", [1, 4, 5, 6])
def test_one_byte_refusals_report_107_at_once(env, code):
    env.sim.fault(DEV, dl_error=code)
    data = image(64 * 1024, "V1.4")
    t = env.publish(data, "V1.4", retry=3, interval=0)
    s = env.run()
    _ok(env, s, "failed")
    assert s["code"] == 107 and env.codes(t["id"]) == [107]
    assert "attempt" not in env.logtext()


def test_size_mismatch_is_retried_as_the_sdk_does(env):
    env.sim.fault(DEV, dl_error=2, dl_error_count=2)
    data = image(64 * 1024, "V1.4")
    t = env.publish(data, "V1.4", retry=3, interval=0)
    s = env.run()
    _ok(env, s, "updated")
    assert s["sink_md5"] == md5(data) and env.codes(t["id"]) == [101, 201]
    assert len(re.findall(r"attempt \d+ failed", env.logtext())) == 2


# -- token check errno 12: the upgrade ends, the next cycle resumes -----------------------


def test_token_check_12_ends_the_cycle_and_the_next_resumes(env):
    env.sim.fault(DEV, token_check_errno=12, token_check_errno_count=1)
    data = image(64 * 1024, "V1.4")
    t = env.publish(data, "V1.4")
    s = env.run()
    _ok(env, s, "failed")
    assert s["code"] == 0 and s["bytes"] == 0 and env.codes(t["id"]) == []
    assert "errno 12" in env.logtext()
    s = env.run()
    _ok(env, s, "updated")
    assert env.codes(t["id"]) == [101, 201]


# -- the platform's per-connection request cap -----------------------------------------


@pytest.mark.parametrize("close", ["header", "silent"])
def test_server_closing_every_20_requests_still_completes(env, close):
    env.sim.modes(conn_requests=20, conn_close=close)
    data = image(256 * 1024, "V1.4")
    t = env.publish(data, "V1.4", retry=0)
    s = env.run(sets=["chunk=4096"])
    _ok(env, s, "updated")
    assert s["sink_md5"] == md5(data) and env.codes(t["id"]) == [101, 201]
    assert s["bytes"] == len(data)  # the resume point was never lost: nothing twice
    assert s["connections"] >= s["requests"] // 20


def test_own_request_cap_opens_a_fresh_connection_first(env):
    data = image(64 * 1024, "V1.4")
    env.publish(data, "V1.4")
    s = env.run(sets=["conn_requests=5", "chunk=4096"])
    _ok(env, s, "updated")
    assert s["connections"] >= s["requests"] // 5


# -- ranges never shorter than 2 bytes ---------------------------------------------------


@pytest.mark.parametrize("extra", [1, 2])
def test_no_one_byte_last_range(env, extra):
    # short_range=error (the default): a 1-byte range is refused as the FAQ says; 4 KiB
    # ranges over 8 KiB + 1 would end in one.
    _file_update(env, 2 * 4096 + extra, ["request=4096", "chunk=4096"])


# -- differential packages are not flashed as full images ----------------------------------


def test_differential_package_refused_before_any_byte(env):
    data = image(64 * 1024, "V1.4")
    t = env.publish(data, "V1.4", pkg_type=2)
    s = env.run()
    _ok(env, s, "failed")
    assert s["code"] == 206 and s["bytes"] == 0
    assert env.codes(t["id"]) == [206]
    assert "differential" in env.logtext()
    st = env.otadata()
    assert st.get("boot", "") in ("", "ota_0"), st


# -- the server's retry and interval are capped ------------------------------------------


def test_server_retry_is_capped_by_the_config(env):
    env.sim.fault(DEV, dl_error=3)
    data = image(64 * 1024, "V1.4")
    t = env.publish(data, "V1.4", retry=1000, interval=0)
    s = env.run(sets=["max_retry=2"])
    _ok(env, s, "failed")
    assert len(re.findall(r"attempt \d+ failed", env.logtext())) == 2
    assert env.codes(t["id"]) == [107]


# -- how many bytes one request asks for (apart from the buffer) ---------------------------


@pytest.mark.parametrize("request_size", [0, 16384])
def test_request_size_apart_from_buffer(env, request_size):
    # 0 (the default): one open-ended range for the whole package, read in chunk-sized
    # pieces; progress goes out on the API connection meanwhile. Else bounded ranges.
    data = image(256 * 1024, "V1.4")
    t = env.publish(data, "V1.4")
    before = env.sim.stats["downloads"]
    s = env.run(sets=["request=%d" % request_size, "chunk=1024"])
    _ok(env, s, "updated")
    assert s["sink_md5"] == md5(data) and s["bytes"] == len(data)
    downloads = env.sim.stats["downloads"] - before
    assert downloads == (1 if request_size == 0 else -(-len(data) // request_size)), downloads
    assert len(env.steps(t["id"])) >= 8  # the progress steps were all reported
    assert env.codes(t["id"]) == [101, 201]


@pytest.mark.parametrize("where", [30, 70])
def test_one_range_broken_resumes_from_the_sink(env, where):
    # A break in the one long range: the next attempt asks for the rest from where
    # the sink is; nothing is downloaded twice.
    data = image(256 * 1024, "V1.4")
    t = env.publish(data, "V1.4", retry=2, interval=0)
    env.sim.fault(DEV, drop_after=len(data) * where // 100)
    s = env.run(sets=["chunk=1024"])
    _ok(env, s, "updated")
    assert s["sink_md5"] == md5(data)
    assert len(data) <= s["bytes"] <= len(data) + 1024
    assert env.codes(t["id"]) == [101, 201]


# -- every documented mode of the simulator: the same update -------------------------------


def _modes():
    from onenet_ota_tools.sim.faults import MODES

    return [(k, v) for k, vals in sorted(MODES.items()) for v in vals]


@pytest.mark.parametrize("mode,value", _modes())
def test_update_completes_in_every_documented_mode(env, mode, value):
    # §10 rows where the sources disagree are modes of the simulator; whichever form the
    # platform really uses, the agent updates (cdn=false so the ipPort forms count; a
    # size whose last 4 KiB range would be one byte, so the range rules count).
    env.sim.modes(**{mode: value})
    _file_update(env, 16 * 4096 + 4097, ["cdn=false", "request=4096", "chunk=4096"])


# -- tokens: short-lived where the board knows the time -----------------------------------


def test_short_lived_token_when_the_board_has_a_clock(env):
    # The shim's time.time() is set (CPython's, or micropython's unix clock): the agent
    # signs et = now + et_ttl and says so; the simulator refuses an et in the past, so
    # an epoch mistake (ESP32 counts from 2000) would fail here.
    data = image(32 * 1024, "V1.4")
    t = env.publish(data, "V1.4")
    s = env.run(sets=["et_ttl=600", "et=1"])
    _ok(env, s, "updated")
    assert "token: signed, valid 600 s (board clock)" in env.logtext()
    assert env.codes(t["id"]) == [101, 201]


# -- the version is reported when it changed ---------------------------------------------


@pytest.mark.parametrize("mode", ["changed", "always"])
def test_version_reported_when_it_changed(env, mode):
    # An idle cycle costs one round trip less: the check alone, once the platform has
    # the running version; after an update the accepted 201 set it.
    sets = ["report_version=" + mode]
    for _ in range(2):
        _ok(env, env.run(sets=sets), "none")
    data = image(32 * 1024, "V1.4")
    t = env.publish(data, "V1.4")
    _ok(env, env.run(sets=sets), "updated")
    _ok(env, env.run(sets=sets), "none")
    versions = [e["detail"].get("s_version") for e in env.events("version")]
    if mode == "changed":
        assert versions == [OLD], versions
    else:
        assert versions == [OLD, OLD, OLD, "V1.4"], versions
    assert env.device_version() == "V1.4" and env.codes(t["id"]) == [101, 201]
