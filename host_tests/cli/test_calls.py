# The per-call subcommands (tools/onenet_ota_tools/commands/calls.py) against the real
# simulator, in-process (port 0, stopped in the fixture), driven through cli.main and
# once through the installed `onenet-ota` console script. Every captured stdout/stderr
# is scanned for the access key at the end of each test.
import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

from onenet_ota import auth
from onenet_ota_tools import cli, creds, errnos
from onenet_ota_tools.sim import Simulator

PID = "198290"
KEY = base64.b64encode(b"calls-test-access-key-0123").decode()
DEV = "522747162"
DATA = bytes((i * 31 + 7) & 0xFF for i in range(100000))
MD5 = hashlib.md5(DATA).hexdigest()
COMMANDS = ("report-version", "query-version", "check", "token-check", "tasking", "download", "report")
CHECK = ["--version", "V1.3", "--chip", "esp32"]


@pytest.fixture
def sim(tmp_path, monkeypatch):
    for k in list(os.environ):
        if k.startswith("ONENET_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no user config file leaks in
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.chdir(tmp_path)
    s = Simulator(str(tmp_path / "state"))
    s.start()
    try:
        yield s
    finally:
        s.stop()


class Runner:
    def __init__(self, sim, capsys):
        self.sim = sim
        self.capsys = capsys
        self.seen = []

    def base(self):
        return ["--server", self.sim.url, "--product-id", PID, "--access-key", KEY, "--dev-id", DEV]

    def __call__(self, *argv, creds=True):
        # The test's own flags come last, so they win over the defaults (argparse: last wins).
        argv = [argv[0]] + (self.base() if creds else []) + list(argv[1:])
        try:
            rc = cli.main(argv)
        except SystemExit as e:  # argparse
            rc = e.code
        out, err = self.capsys.readouterr()
        self.seen.append(out + err)
        return rc, out, err

    def json(self, *argv, **kw):
        rc, out, err = self(*argv, "--json", **kw)
        return rc, json.loads(out), err


@pytest.fixture
def run(sim, capsys):
    r = Runner(sim, capsys)
    yield r
    for text in r.seen:
        assert KEY not in text


def publish(sim, dev=DEV, data=DATA, **kw):
    kw.setdefault("target", "V1.4")
    kw.setdefault("s_version", "V1.3")
    return sim.publish(product_id=PID, access_key=KEY, dev_id=dev, data=data, **kw)


# -- report-version / query-version -------------------------------------------------------
def test_report_and_query_version(sim, run):
    publish(sim)
    rc, out, _ = run("report-version", "--s-version", "V1.3", "--f-version", "M1")
    assert rc == 0 and "reported s_version=V1.3 f_version=M1" in out
    rc, j, _ = run.json("query-version")
    assert rc == 0 and j["data"] == {"f_version": "M1", "s_version": "V1.3"}
    rc, out, _ = run("query-version")
    assert "s_version: V1.3" in out and "f_version: M1" in out


def test_report_version_needs_a_version_and_a_valid_one(sim, run):
    publish(sim)
    rc, _, err = run("report-version")
    assert rc == 2 and "--s-version" in err
    rc, _, err = run("report-version", "--s-version", "bad version!")
    assert rc == 2 and "version" in err


def test_report_version_equal_to_target_completes_task(sim, run):
    t = publish(sim)
    assert run("report-version", "--s-version", "V1.4")[0] == 0
    assert sim.task(t["id"])["state"] == "succeeded"


# -- check / tasking / token-check ------------------------------------------------------------
def test_check_prints_task_and_json(sim, run):
    t = publish(sim)
    rc, out, _ = run("check", *CHECK)
    assert rc == 0
    assert re.search(r"token\s+%s" % t["token"], out) and MD5 in out and re.search(r"size\s+100000", out)
    rc, j, _ = run.json("check", *CHECK, "--no-cdn", "--signals", "-70", "--powers", "80")
    assert rc == 0 and j["task"]["token"] == t["token"] and j["task"]["md5"] == MD5
    assert j["task"]["ipPort"] is None and j["task"]["target"] == "V1.4"  # as the real captures
    sim.modes(ipport_form="hostport")
    rc, j, _ = run.json("check", *CHECK, "--no-cdn")
    assert j["task"]["ipPort"] == "127.0.0.1:%d" % sim.port


def test_check_usage_errors(sim, run):
    publish(sim)
    assert run("check", "--chip", "esp32")[0] == 2  # no --version
    rc, _, err = run("check", "--version", "V1.3")
    assert rc == 2 and "--manuf" in err
    assert run("check", *CHECK, "--type", "3")[0] == 2  # argparse choices


def test_check_no_task_prints_errno_11_in_both_languages(sim, run):
    sim.add_device("999", PID, KEY, s_version="V1")
    rc, out, err = run("check", *CHECK, "--dev-id", "999")
    assert rc == 3
    assert "errno 11: no task of this type / 没有该类型的升级任务" in err
    rc, j, err = run.json("check", *CHECK, "--dev-id", "999")
    assert rc == 3 and j["ok"] is False and j["errno"] == 11 and j["error_zh"] == "没有该类型的升级任务"


def test_manuf_mismatch_is_errno_8(sim, run):
    t = publish(sim)
    rc, _, err = run("check", "--version", "V1.3", "--chip", "nrf52832")
    assert rc == 3 and "errno 8:" in err and "厂商编号" in err
    assert sim.task(t["id"])["state"] == "failed"


def test_wrong_access_key_is_errno_1_exit_3(sim, run):
    publish(sim)
    other = base64.b64encode(b"not the key").decode()
    rc, _, err = run("check", *CHECK, "--access-key", other)
    assert rc == 3 and "errno 1: authentication failed" in err and "鉴权失败" in err
    assert other not in err


def test_expired_et_is_refused(sim, run):
    publish(sim)
    rc, _, err = run("check", *CHECK, "--et", "1000")
    assert rc == 3 and "errno 1:" in err


def test_token_check_moves_pending_to_downloading_and_tasking_shows_it(sim, run):
    t = publish(sim)
    rc, out, err = run("tasking")  # pending: not a task being upgraded yet
    assert rc == 3 and "errno 4: no valid token" in err and "未找到有效token" in err
    rc, out, _ = run("token-check", t["token"])
    assert rc == 0 and "valid" in out
    assert sim.task(t["id"])["state"] == "downloading"
    rc, out, _ = run("tasking")
    assert rc == 0 and re.search(r"token\s+%s" % t["token"], out) and re.search(r"target\s+V1.4", out)
    rc, j, _ = run.json("tasking", "--type", "2")
    assert rc == 0 and j["task"]["token"] == t["token"] and j["task"]["size"] == len(DATA)
    assert "ipPort" not in j["task"] and j["task"]["type"] == 1
    sim.modes(ipport_form="hostport", ipport_cdn="true")
    rc, j, _ = run.json("tasking", "--cdn")
    assert j["task"]["ipPort"] == "127.0.0.1:%d" % sim.port
    rc, j, _ = run.json("tasking", "--type", "1")
    assert rc == 3 and j["errno"] == 4


def test_token_check_token_from_check(sim, run):
    t = publish(sim)
    rc, j, _ = run.json("token-check", *CHECK)
    assert rc == 0 and j["token"] == t["token"]
    assert sim.task(t["id"])["state"] == "downloading"


def test_bad_token_errno_with_chinese_and_exit_3(sim, run):
    publish(sim)
    rc, _, err = run("token-check", "ota_NoSuchToken123")
    assert rc == 3 and "errno 4: token and device differ / token与设备不匹配" in err
    rc, _, err = run("report", "--token", "ota_NoSuchToken123", "--step", "10")
    assert rc == 3 and "errno 4:" in err
    rc, _, err = run("report", "--token", "ota_NoSuchToken123", "--result", "101", "--old-form")
    assert rc == 3 and "errno 1: token authentication failed / token鉴权失败" in err
    rc, _, err = run("download", "--token", "ota_NoSuchToken123", "--range", "0-5")
    assert rc == 3 and "errno 1003: download refused: invalid token" in err and "token无效" in err
    rc, j, _ = run.json("token-check", "ota_NoSuchToken123")
    assert j == {"ok": False, "command": "token-check", "exit": 3, "errno": 4, "error": "token and device differ",
                 "error_zh": "token与设备不匹配", "server_error": "token and device differ"}


# -- --raw ------------------------------------------------------------------------------
def test_raw_download_range_shows_request_line_range_and_answer(sim, run):
    t = publish(sim)
    rc, out, _ = run("download", "--token", t["token"], "--range", "0-5", "--raw")
    assert rc == 0
    req = "GET /ota/south/download/%s HTTP/1.1\nHost: 127.0.0.1:%d\nRange: bytes=0-5\n" % (t["token"], sim.port)
    assert out.startswith(req)
    assert "\nHTTP/1.1 206 Partial Content\n" in out and "Content-Range: bytes 0-5/100000" in out
    assert out.index(req) < out.index("HTTP/1.1 206")
    assert " ".join("%02x" % b for b in DATA[:6]) in out  # the body and the hex dump


def test_raw_masks_sign_unless_show_secrets(sim, run):
    publish(sim)
    et = 4102444800
    value = auth.token(PID, KEY, et)
    sign = value.split("sign=")[1]
    rc, out, _ = run("report-version", "--s-version", "V1.3", "--raw", "--et", str(et))
    assert rc == 0
    assert out.startswith("POST /ota/device/version?dev_id=%s HTTP/1.1\n" % DEV)
    assert "Authorization: " + value.split("sign=")[0] + "sign=***\n" in out
    assert sign not in out
    assert '\n\n{"s_version":"V1.3"}\n\nHTTP/1.1 200 OK\n' in out
    assert out.rstrip().endswith("errno 0 succ / 成功")
    rc, out, _ = run("report-version", "--s-version", "V1.3", "--raw", "--et", str(et), "--show-secrets")
    assert "Authorization: %s\n" % value in out


def test_raw_goes_to_stderr_with_json(sim, run):
    t = publish(sim)
    rc, j, err = run.json("check", *CHECK, "--raw")
    assert j["task"]["token"] == t["token"]
    assert "GET /ota/south/check?dev_id=%s&manuf=101&model=10101&type=2&version=V1.3&cdn=true HTTP/1.1" % DEV in err


# -- download -------------------------------------------------------------------------------
def test_download_range_equals_package_bytes(sim, run):
    t = publish(sim)
    rc, j, _ = run.json("download", "--token", t["token"], "--range", "100-1099", "--raw")
    assert rc == 0 and bytes.fromhex(j["hex"]) == DATA[100:1100]
    assert (j["status"], j["start"], j["end"], j["total"]) == (206, 100, 1099, 100000)
    rc, out, _ = run("download", "--token", t["token"], "--range", "-10", "-o", "tail.bin", "--server", sim.url,
                         creds=False)
    assert rc == 0 and open("tail.bin", "rb").read() == DATA[-10:]  # no credentials needed
    rc, _, err = run("download", "--token", t["token"], "--range", "a-b")
    assert rc == 2 and "--range" in err


def test_whole_download_from_check_verifies_md5(sim, run):
    t = publish(sim)
    rc, j, _ = run.json("download", *CHECK, "-o", "fw.bin", "--chunk", "16384")
    assert rc == 0 and j["md5_verified"] and j["md5"] == MD5 and j["expected_md5"] == MD5
    assert j["requests"] == 7 and j["resumed_from"] == 0
    assert open("fw.bin", "rb").read() == DATA and not os.path.exists("fw.bin.part")
    assert sim.task(t["id"])["state"] == "downloading"


def test_no_cdn_download_comes_from_ip_port(sim, run):
    # --no-cdn: the check answer's ipPort is where the package is fetched from.
    from support.forwarder import Forwarder

    publish(sim)
    fwd = Forwarder(sim.port)
    try:
        sim.south.ip_port = "127.0.0.1:%d" % fwd.port
        sim.modes(ipport_form="hostport")
        rc, j, _ = run.json("download", *CHECK, "--no-cdn", "-o", "fw.bin", "--chunk", "16384")
        assert rc == 0 and j["md5_verified"]
        assert open("fw.bin", "rb").read() == DATA
        assert fwd.connections == 1 and fwd.bytes_down >= len(DATA)
    finally:
        fwd.stop()


def test_ip_port_without_port_means_the_platforms_port(sim, run):
    # Section 10: the check page's "ipPort":"172.19.3.3" has no port: the server's port.
    sim.modes(ipport_form="host")
    publish(sim)
    rc, j, _ = run.json("download", *CHECK, "--no-cdn", "-o", "fw.bin", "--chunk", "16384")
    assert rc == 0 and j["md5_verified"] and open("fw.bin", "rb").read() == DATA


@pytest.mark.parametrize("encoding", ["ascii", "raw"])
@pytest.mark.parametrize("code", [1, 2, 3, 4, 5, 6])
def test_one_byte_refusals_1_to_6_in_both_encodings(sim, run, code, encoding):
    t = publish(sim)
    sim.modes(one_byte=encoding)
    sim.fault(t["id"], dl_error=code)
    rc, _, err = run("download", "--token", t["token"], "--range", "0-5")
    assert rc == 3 and "errno %d: download refused" % (1000 + code) in err


def test_resumed_download_fetches_only_the_rest(sim, run):
    t = publish(sim)
    with open("fw.bin.part", "wb") as f:
        f.write(DATA[:40000])
    sim.stats.reset()
    rc, j, err = run.json("download", "--token", t["token"], "-o", "fw.bin", "--md5", MD5, "--raw",
                          "--server", sim.url, creds=False)
    assert rc == 0 and j["resumed_from"] == 40000 and j["fetched"] == 60000 and j["md5_verified"]
    assert open("fw.bin", "rb").read() == DATA
    starts = [int(x) for x in re.findall(r"Range: bytes=(\d+)-", err)]
    assert starts[0] == 40000 and min(starts) == 40000
    deadline = time.monotonic() + 5  # the server thread counts after its last write
    while sim.stats["bytes_sent"] < 60000 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sim.stats["bytes_sent"] == 60000  # nothing before byte 40000 came over the wire
    # A complete .part: only the MD5 check remains... after one request that learns the size.
    with open("again.bin.part", "wb") as f:
        f.write(DATA)
    rc, j, _ = run.json("download", "--token", t["token"], "-o", "again.bin", "--size", "100000",
                        "--md5", MD5, "--server", sim.url, creds=False)
    assert rc == 0 and j["fetched"] == 0 and j["requests"] == 0 and open("again.bin", "rb").read() == DATA


def test_bad_md5_exits_5_and_deletes_part(sim, run):
    t = publish(sim)
    bad = "0" * 32
    rc, out, err = run("download", "--token", t["token"], "-o", "fw.bin", "--md5", bad)
    assert rc == 5 and "MD5 mismatch" in err and MD5 in err
    assert not os.path.exists("fw.bin") and not os.path.exists("fw.bin.part")
    rc, j, _ = run.json("download", "--token", t["token"], "-o", "fw.bin", "--md5", bad, "--keep-part")
    assert rc == 5 and j["ok"] is False and j["exit"] == 5 and j["md5"] == MD5
    assert open("fw.bin.part", "rb").read() == DATA and not os.path.exists("fw.bin")
    rc, _, err = run("download", "--token", t["token"], "-o", "x.bin", "--md5", "xyz")
    assert rc == 2


def test_interrupted_download_keeps_part_and_resumes(sim, run):
    t = publish(sim)
    sim.fault(DEV, drop_after=30000)
    rc, _, err = run("download", "--token", t["token"], "-o", "fw.bin", "--md5", MD5, "--chunk", "65536")
    assert rc in (1, 4) and "run the same command again to resume" in err
    kept = os.path.getsize("fw.bin.part")
    assert 0 < kept < len(DATA)
    sim.clear_faults()
    rc, j, _ = run.json("download", "--token", t["token"], "-o", "fw.bin", "--md5", MD5)
    assert rc == 0 and j["resumed_from"] == kept and open("fw.bin", "rb").read() == DATA


def test_network_error_exits_4(sim, run):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    rc, _, err = run("query-version", "--server", "http://127.0.0.1:%d" % port)
    assert rc == 4 and "network:" in err


# -- report -------------------------------------------------------------------------------
def test_seed_sequence_report_54_then_201(sim, run):
    t = publish(sim)
    assert run("token-check", t["token"])[0] == 0
    rc, out, _ = run("report", "--token", t["token"], "--step", "54", "--raw")
    assert rc == 0 and '{"step":54}' in out
    assert "POST /ota/south/device/download/%s/progress?dev_id=%s HTTP/1.1" % (t["token"], DEV) in out
    assert sim.task(t["id"])["progress"] == 54
    rc, j, _ = run.json("report", "--token", t["token"], "--result", "succeeded")
    assert rc == 0 and j["result"] == 201 and j["meaning_zh"] == "升级成功"
    assert sim.task(t["id"])["state"] == "succeeded"
    assert [d for d in sim.devices() if d["dev_id"] == DEV][0]["s_version"] == "V1.4"
    kinds = [(e["kind"], e["detail"].get("step")) for e in sim.events(task_id=t["id"])]
    assert ("progress", 54) in kinds and ("progress", 201) in kinds
    rc, _, err = run("report", "--token", t["token"], "--result", "201")
    assert rc == 3 and "errno 20: task already finished / 任务已结束" in err


def test_report_failure_by_name_and_token_from_check(sim, run):
    t = publish(sim)
    run("token-check", t["token"])
    rc, j, _ = run.json("report", *CHECK, "--result", "md5_failed")
    assert rc == 0 and j["token"] == t["token"] and j["result"] == 205
    v = sim.task(t["id"])
    assert v["state"] == "failed" and v["result"] == 205


def test_report_old_form(sim, run):
    t = publish(sim)
    rc, out, _ = run("report", "--token", t["token"], "--result", "downloaded", "--old-form", "--raw")
    assert rc == 0 and '{"result":101}' in out and "POST /ota/south/report?dev_id=%s&token=%s" % (DEV, t["token"]) in out
    assert sim.task(t["id"])["state"] == "upgrading"
    assert run("report", "--token", t["token"], "--result", "succeeded", "--old-form")[0] == 0
    assert sim.task(t["id"])["state"] == "succeeded"


def test_report_usage_errors(sim, run):
    t = publish(sim)
    tok = ["--token", t["token"]]
    assert run("report", *tok)[0] == 2  # neither --step nor --result
    assert run("report", *tok, "--step", "1", "--result", "101")[0] == 2
    rc, _, err = run("report", *tok, "--step", "101")
    assert rc == 2 and "--result" in err
    rc, _, err = run("report", *tok, "--result", "bogus")
    assert rc == 2 and "md5-failed" in err
    rc, _, err = run("report", *tok, "--result", "low-battery")
    assert rc == 2 and "ambiguous" in err and "105" in err and "202" in err
    assert run("report", *tok, "--step", "5", "--old-form")[0] == 2
    rc, _, err = run("report", *tok, "--result", "150")
    assert rc == 3 and "not a documented result code" in err and "errno 2:" in err


def test_step_refused_while_pending_is_errno_17(sim, run):
    t = publish(sim)
    rc, _, err = run("report", "--token", t["token"], "--step", "10")
    assert rc == 3 and "errno 17: invalid state" in err and "任务状态无效" in err


# -- tables -------------------------------------------------------------------------------
def test_result_names_cover_the_contract_table():
    assert sorted(errnos.RESULTS) == list(range(101, 108)) + list(range(201, 209))
    for code, (name, en, zh) in errnos.RESULTS.items():
        assert errnos.result_code(name) == code and en and zh
        assert errnos.result_code(str(code)) == code
    for name, code in (("md5-failed", 205), ("DOWNLOADED", 101), ("no_space", 102), ("timeout", 104),
                       ("succeeded", 201)):
        assert errnos.result_code(name) == code
    with pytest.raises(ValueError):
        errnos.result_code("54")
    for n in (0, 1, 2, 4, 7, 8, 9, 11, 12, 17, 20, 21, 22, 24, 27):
        en, zh = errnos.meaning(n)
        assert en and zh and not en.startswith("undocumented")


# -- credentials ------------------------------------------------------------------------------
def test_credentials_from_env_and_config_with_precedence(sim, run, tmp_path, monkeypatch):
    publish(sim)
    cfg = tmp_path / "home" / ".config" / "onenet-ota" / "config.json"
    cfg.parent.mkdir(parents=True)
    # Default config file: everything from it.
    cfg.write_text(json.dumps({"onenet_server": sim.url, "onenet_product_id": PID, "onenet_access_key": KEY,
                               "onenet_dev_id": DEV}))
    rc, j, _ = run.json("query-version", creds=False)
    assert rc == 0 and j["server"] == sim.url
    # env beats the file: a wrong dev_id in the environment is used.
    monkeypatch.setenv("ONENET_DEV_ID", "nosuchdev")
    rc, _, err = run("query-version", creds=False)
    assert rc == 3 and "errno 1:" in err
    # the flag beats env.
    assert run("query-version", "--dev-id", DEV, creds=False)[0] == 0
    # env for the key and server, an explicit --config for the rest (short names).
    monkeypatch.delenv("ONENET_DEV_ID")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"server": "http://127.0.0.1:1", "dev_id": DEV, "product_id": PID}))
    monkeypatch.setenv("ONENET_ACCESS_KEY", KEY)
    monkeypatch.setenv("ONENET_SERVER", sim.url)
    assert run("query-version", "--config", str(other), creds=False)[0] == 0
    rc, _, err = run("query-version", "--config", str(tmp_path / "missing.json"), creds=False)
    assert rc == 2 and "missing.json" in err


def test_missing_credentials_and_authorization_flag(sim, run):
    publish(sim)
    rc, _, err = run("query-version", "--server", sim.url, "--dev-id", DEV, creds=False)
    assert rc == 2 and "--product-id" in err and "--access-key" in err
    value = auth.token(PID, KEY, 4102444800)
    rc, _, _ = run("query-version", "--server", sim.url, "--dev-id", DEV, "--authorization", value, creds=False)
    assert rc == 0


def test_server_defaults_and_local():
    assert creds.resolve({}, env={}).server == "http://ota.heclouds.com"
    assert creds.parse_server("http://ota.heclouds.com") == ("ota.heclouds.com", 80, False)
    assert creds.parse_server("https://ota.heclouds.com") == ("ota.heclouds.com", 443, True)
    assert creds.parse_server(creds.LOCAL) == ("127.0.0.1", 8080, False)
    c = creds.resolve({"access_key": KEY}, env={})
    assert KEY not in repr(c)


def test_help_of_every_command(capsys):
    for name in COMMANDS:
        assert cli.main([name, "--help"]) == 0
        out = capsys.readouterr().out
        assert "exit codes:" in out and "example" in out and "ONENET_ACCESS_KEY" in out
        assert "--raw" in out and "--json" in out and "--local" in out
        if name == "report":
            assert "205  md5-failed" in out and "升级成功" in out


# -- the console script -----------------------------------------------------------------------
def test_console_script_subprocess(sim, run):
    t = publish(sim)
    exe = shutil.which("onenet-ota") or os.path.join(os.path.dirname(sys.executable), "onenet-ota")
    env = dict(os.environ, ONENET_SERVER=sim.url, ONENET_PRODUCT_ID=PID, ONENET_ACCESS_KEY=KEY,
               ONENET_DEV_ID=DEV)
    p = subprocess.run([exe, "check", *CHECK, "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["task"]["token"] == t["token"]
    p = subprocess.run([exe, "download", "--token", t["token"], "--range", "0-5", "--raw"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "Range: bytes=0-5" in p.stdout
    p2 = subprocess.run([exe, "token-check", "ota_bad"], env=env, capture_output=True, text=True, timeout=60)
    assert p2.returncode == 3 and "errno 4:" in p2.stderr and "token与设备不匹配" in p2.stderr
    for text in (p.stdout, p.stderr, p2.stdout, p2.stderr):
        assert KEY not in text
