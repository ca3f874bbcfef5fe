# The CLI's leftovers of issues 14 and 17: a fuse-ota or Studio device set up and
# published to from the CLI (`admin add-device --platform`, `publish --platform`), then
# updated by the CLI's own calls and by `device`; `demo --platform`; `token` reading
# ONENET_* like the other commands; `device --cycles N`; docs/walkthrough.md using the
# README walkthrough's product and key. The simulator is in-process (127.0.0.1, port 0,
# stopped by the fixture); cli.main runs in-process.
import hashlib
import json
import os
import re
import sqlite3

import pytest

from onenet_ota import auth
from onenet_ota_tools.images import make_app_image
from support.cli_env import clean, run_cli, sim  # noqa: F401 (clean, sim: fixtures)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PID, DEVN, UID = "XHm5ltr9qA", "d0", "498670"
PKEY = "cHJvZHVjdGtleXByb2R1Y3Q="
UKEY = "MTIzNDU2Nzg5MGFiY2RlZg=="
DKEY = "ZGV2a2V5ZGV2a2V5ZGV2a2V5"


def main(capsys, *argv):
    return run_cli(capsys, *argv, secrets=(PKEY, UKEY, DKEY))


def admin(sim, capsys, *argv):
    return main(capsys, "admin", argv[0], "--server", sim.url, "--admin-token", sim.admin_token, *argv[1:])


# -- admin add-device / publish --platform -------------------------------------------------
@pytest.mark.parametrize("platform", ["fuse", "studio"])
def test_a_fuse_or_studio_device_set_up_and_published_to_from_the_cli(sim, capsys, clean, platform):
    rc, out, err = admin(sim, capsys, "add-device", "--platform", platform, "--dev-id", DEVN, "--product-id", PID,
                         "--access-key", PKEY, "--user-id", UID, "--user-key", UKEY, "--dev-key", DKEY,
                         "--s-version", "V1.3")
    assert rc == 0, err
    assert out.split() == [DEVN, "product", PID, "platform", platform, "device", "key", "yes"]
    assert sim.store.product(PID)["platform"] == platform  # what the dialect routes check
    data = make_app_image(30000, "V1.4", seed=5)
    (clean / "fw.bin").write_bytes(data)
    rc, out, err = main(capsys, "publish", "--server", sim.url, "--admin-token", sim.admin_token, "--file", "fw.bin",
                        "--target", "V1.4", "--product-id", PID, "--access-key", PKEY, "--dev-id", DEVN,
                        "--platform", platform)
    assert rc == 0, err
    tid = int(out.split()[1])
    assert sim.task(tid)["state"] == "pending" and sim.task(tid)["md5"] == hashlib.md5(data).hexdigest()
    rc, out, err = admin(sim, capsys, "devices")
    assert rc == 0 and ("platform %s" % platform) in out and ("task %d pending" % tid) in out, out
    # The CLI's own dialect calls see the task and fetch the package, md5 checked.
    key = UKEY if platform == "fuse" else DKEY
    call = ["--server", sim.url, "--platform", platform, "--product-id", PID, "--dev-id", DEVN, "--access-key", key]
    call += ["--user-id", UID] if platform == "fuse" else []
    rc, out, err = main(capsys, "download", *call, "--version", "V1.3", "-o", "got.bin")
    assert rc == 0, err
    assert (clean / "got.bin").read_bytes() == data
    # A product keeps its platform: publishing to it as another one is refused (409), said.
    rc, out, err = main(capsys, "publish", "--server", sim.url, "--admin-token", sim.admin_token, "--file", "fw.bin",
                        "--target", "V1.4", "--product-id", PID, "--access-key", PKEY, "--dev-id", DEVN,
                        "--platform", "legacy", "--replace")
    assert rc == 1 and "409" in err and ("is a %s product" % platform) in err, err
    assert len(sim.tasks(DEVN)) == 1


def test_publish_platform_makes_a_new_product_of_that_platform(sim, capsys, clean):
    (clean / "fw.bin").write_bytes(make_app_image(20000, "V2", seed=2))
    rc, out, err = main(capsys, "publish", "--server", sim.url, "--admin-token", sim.admin_token, "--file", "fw.bin",
                        "--target", "V2", "--product-id", "P2", "--access-key", PKEY, "--dev-id", "n2",
                        "--platform", "studio")
    assert rc == 0, err
    assert sim.store.product("P2")["platform"] == "studio"
    rc, out, err = main(capsys, "publish", "--server", sim.url, "--admin-token", sim.admin_token, "--file", "fw.bin",
                        "--target", "V2", "--product-id", "P3", "--access-key", PKEY, "--dev-id", "n3",
                        "--platform", "bogus")
    assert rc == 2 and "invalid choice" in err and sim.store.product("P3") is None


def test_add_device_refusals_are_one_line(sim, capsys):
    rc, out, err = admin(sim, capsys, "add-device", "--platform", "fuse", "--dev-id", DEVN)
    assert rc == 2 and "--product-id, --access-key" in err and len(err.strip().splitlines()) == 1, err
    rc, out, err = admin(sim, capsys, "add-device", "--platform", "fuse", "--dev-id", DEVN, "--product-id", PID,
                         "--access-key", PKEY, "--user-id", UID)
    assert rc == 2 and "--user-id and --user-key go together" in err, err
    rc, out, err = admin(sim, capsys, "add-device", "--platform", "fuse", "--dev-id", DEVN, "--product-id", PID,
                         "--access-key", "not base64!")
    assert rc == 1 and "not base64" in err, err
    assert sim.devices() == []


def test_add_device_reads_onenet_env(sim, capsys, monkeypatch):
    monkeypatch.setenv("ONENET_PRODUCT_ID", PID)
    monkeypatch.setenv("ONENET_ACCESS_KEY", PKEY)
    monkeypatch.setenv("ONENET_DEV_ID", DEVN)
    rc, out, err = admin(sim, capsys, "add-device", "--platform", "studio", "--dev-key", DKEY)
    assert rc == 0, err
    assert [(d["dev_id"], d["product_id"], d.get("platform")) for d in sim.devices()] == [(DEVN, PID, "studio")]


# -- demo --platform -----------------------------------------------------------------------
@pytest.mark.parametrize("platform", ["fuse", "studio"])
def test_demo_runs_its_update_over_the_dialect(clean, capsys, platform):
    rc, out, err = main(capsys, "demo", "--platform", platform, "--runtime", "cpython", "--size", "40000",
                        "--state-dir", "d")
    assert rc == 0, out + err
    assert "platform %s" % platform in out and "(matches)" in out and "succeeded" in out, out
    db = sqlite3.connect(str(clean / "d" / "sim" / "sim.sqlite3"))
    try:
        # The simulator serves a device only on its product's platform's paths
        # (sim/dialects.py): success on a fuse/studio product is an update over that dialect.
        assert db.execute("SELECT platform FROM products").fetchall() == [(platform,)]
        assert db.execute("SELECT state FROM tasks").fetchall() == [("succeeded",)]
    finally:
        db.close()


def test_demo_platform_default_is_legacy_and_app_refuses_others(clean, capsys):
    rc, out, err = main(capsys, "demo", "--runtime", "cpython", "--size", "20000", "--state-dir", "d")
    assert rc == 0 and "platform legacy" in out, out + err
    db = sqlite3.connect(str(clean / "d" / "sim" / "sim.sqlite3"))
    try:
        assert db.execute("SELECT platform FROM products").fetchall() == [("legacy",)]
    finally:
        db.close()
    rc, out, err = main(capsys, "demo", "--app", "--platform", "fuse", "--runtime", "cpython", "--state-dir", "e")
    assert rc == 2 and "legacy platform only" in err and not os.path.exists("e"), err


# -- token reads ONENET_* ------------------------------------------------------------------
def test_token_reads_the_environment_like_the_calls(clean, capsys, monkeypatch):
    monkeypatch.setenv("ONENET_PRODUCT_ID", "123123")
    monkeypatch.setenv("ONENET_ACCESS_KEY", PKEY)
    rc, out, err = main(capsys, "token", "--et", "7555917657")
    assert rc == 0, err
    assert out.splitlines() == ["res=products/123123 et=7555917657 method=sha1 version=2018-10-31",
                                auth.token("123123", PKEY, 7555917657, "sha1")]
    # flag > environment, as for the calls
    rc, out2, err = main(capsys, "token", "--et", "7555917657", "--product-id", "456")
    assert rc == 0 and out2.splitlines()[1] == auth.token("456", PKEY, 7555917657, "sha1")
    # Studio's device level takes ONENET_DEV_ID
    monkeypatch.setenv("ONENET_DEV_ID", DEVN)
    rc, out, err = main(capsys, "token", "--et", "1924833600", "--platform", "studio")
    assert rc == 0 and out.startswith("res=products/123123/devices/%s " % DEVN), out + err


def test_token_reads_the_config_file(clean, capsys):
    (clean / "c.json").write_text(json.dumps({"product_id": "777", "access_key": PKEY}))
    rc, out, err = main(capsys, "token", "--et", "7555917657", "--config", "c.json")
    assert rc == 0 and out.splitlines()[1] == auth.token("777", PKEY, 7555917657, "sha1"), err


def test_token_without_a_key_is_one_clear_line(clean, capsys):
    rc, out, err = main(capsys, "token", "--et", "7555917657")
    assert rc == 2 and not out
    assert err.strip().splitlines() == [
        "onenet-ota token: no access key: give --access-key or ONENET_ACCESS_KEY (or access_key in the config file)"]
    rc, out, err = main(capsys, "token", "--access-key", PKEY)
    assert rc == 2 and "--level product needs --product-id" in err and len(err.strip().splitlines()) == 1


# -- device --cycles -----------------------------------------------------------------------
def _device(sim, capsys, state, *extra):
    return main(capsys, "device", "--runtime", "cpython", "--server", sim.url, "--product-id", "123",
                "--access-key", PKEY, "--dev-id", "dv", "--board", "esp32", "--slot-size", "0x80000", "--version", "V1.3",
                "--state-dir", state, "--quiet", "--json", "--set", "check_interval=1", *extra)


def _checks(sim):
    return len([e for e in sim.events("dv") if e["kind"] == "check"])


def test_device_cycles_runs_that_many_idle_cycles(sim, capsys, monkeypatch):
    monkeypatch.delenv("OTA_IDLE_CYCLES", raising=False)
    sim.add_device("dv", "123", PKEY, s_version="V1.3")
    rc, out, err = _device(sim, capsys, "s1")
    assert rc == 10 and _checks(sim) == 1, out + err  # one cycle: nothing to do
    rc, out, err = _device(sim, capsys, "s1", "--cycles", "3")  # two waits of check_interval (1 s)
    assert rc == 10 and _checks(sim) == 1 + 3, out + err
    # the environment variable the MQTT tests set keeps working; --cycles wins over it
    monkeypatch.setenv("OTA_IDLE_CYCLES", "2")
    rc, out, err = _device(sim, capsys, "s1")
    assert rc == 10 and _checks(sim) == 4 + 3
    rc, out, err = _device(sim, capsys, "s1", "--cycles", "1")
    assert rc == 10 and _checks(sim) == 7 + 1


def test_device_cycles_stop_at_the_update(sim, capsys, monkeypatch):
    # A task found on a later cycle is done at once (the reset ends the idle loop).
    monkeypatch.delenv("OTA_IDLE_CYCLES", raising=False)
    data = make_app_image(20000, "V1.4", seed=4)
    sim.publish("V1.4", "123", PKEY, "dv", data=data, s_version="V1.3", interval=0)
    rc, out, err = _device(sim, capsys, "s2", "--cycles", "50")
    assert rc == 0, out + err
    s = json.loads(out.strip().splitlines()[-1])
    assert s["result"] == "updated" and s["sink_md5"] == hashlib.md5(data).hexdigest()
    assert _checks(sim) < 50


@pytest.mark.parametrize("bad", ["0", "-1", "x", "10001"])
def test_device_cycles_bad_values_are_usage_errors(clean, capsys, bad):
    rc, out, err = main(capsys, "device", "--cycles", bad, "--product-id", "1", "--access-key", PKEY, "--dev-id", "d")
    assert rc == 2 and "--cycles" in err and len(err.strip().splitlines()) == 1, err


def test_device_cycles_refused_where_a_boot_runs_one_cycle(clean, capsys):
    rc, out, err = main(capsys, "device", "--cycles", "3", "--board", "nrf52832", "--runtime", "cpython",
                        "--product-id", "1", "--access-key", PKEY, "--dev-id", "d", "--state-dir", "s")
    assert rc == 2 and "--cycles" in err, err


# -- docs/walkthrough.md is the README walkthrough's world ---------------------------------
def _readme_exports():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    sec = text[text.index("## The seed's walkthrough, with this CLI"):]
    return dict(re.findall(r"\b(ONENET_[A-Z_]+)=(\S+)", sec[:sec.index("```\n", sec.index("```sh") + 5)]))


def test_walkthrough_uses_the_readme_walkthroughs_product_and_key(clean, capsys, monkeypatch):
    env = _readme_exports()
    pid, key, dev = env["ONENET_PRODUCT_ID"], env["ONENET_ACCESS_KEY"], env["ONENET_DEV_ID"]
    doc = open(os.path.join(ROOT, "docs", "walkthrough.md"), encoding="utf-8").read()
    # the walkthrough sets the README's ids and key (section 10's placeholders aside)
    exports = {k: v for k, v in re.findall(r"\b(ONENET_[A-Z_]+)=(\S+)", doc) if "…" not in v}
    assert {k: exports.get(k) for k in env} == env
    ids = set(re.findall(r"products(?:/|%2F)(\w+)", doc)) | set(re.findall(r"--product-id\s+(\w+)", doc))
    assert ids == {pid}, ids
    assert set(re.findall(r"dev_id[=\s]+(\d+)", doc)) == {dev}
    # every package it publishes is one a command of it made
    files = re.findall(r"publish [^\n]*--file (\S+)", doc)
    assert files
    for f in files:
        assert re.search(r"onenet-ota image [^\n]*-o %s\b" % re.escape(f), doc), f
    # the Authorization it prints is the one `token` computes, run as written with its exports
    m = re.search(r"\$ (onenet-ota token [^\n]*)\n([^\n]*)\n([^\n]*)\n", doc)
    assert m, "no `onenet-ota token` run in docs/walkthrough.md"
    for k in ("ONENET_PRODUCT_ID", "ONENET_ACCESS_KEY", "ONENET_DEV_ID"):
        monkeypatch.setenv(k, exports[k])
    rc, out, err = main(capsys, *m.group(1).split()[1:])
    assert rc == 0, err
    assert out.splitlines() == [m.group(2), m.group(3)]
    assert m.group(3) == auth.token(pid, key, 7555917657, "sha1")
    assert ("ONENET_AUTHORIZATION='%s'" % m.group(3)) in doc
