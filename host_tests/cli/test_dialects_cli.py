# The CLI calls with --platform fuse|studio (docs/dialects.md) against the simulator,
# in-process through cli.main: the dialect's paths and answers in --raw, a download
# through the dialect's Api.fetch with its md5 checked, errors mapped to exit codes, and
# `token` signing every form of new-api §2.2.
import hashlib
import json

import pytest

from onenet_ota_tools import cli
from onenet_ota_tools.sim import Simulator
from support.cli_env import clean_cli_env

PID, DEVN, UID = "XHm5ltr9qA", "d0", "498670"
PKEY = "cHJvZHVjdGtleXByb2R1Y3Q="
UKEY = "MTIzNDU2Nzg5MGFiY2RlZg=="
DKEY = "ZGV2a2V5ZGV2a2V5ZGV2a2V5"
DATA = bytes((i * 7) & 0xFF for i in range(20000))


@pytest.fixture
def sim(tmp_path, monkeypatch):
    clean_cli_env(tmp_path, monkeypatch)
    s = Simulator(str(tmp_path / "state")).start()
    try:
        yield s
    finally:
        s.stop()


def run(sim, capsys, platform, *argv):
    key = UKEY if platform == "fuse" else DKEY
    base = ["--server", sim.url, "--product-id", PID, "--access-key", key, "--dev-id", DEVN, "--platform", platform]
    if platform == "fuse":
        base += ["--user-id", UID]
    try:
        rc = cli.main([argv[0]] + base + list(argv[1:]))
    except SystemExit as e:
        rc = e.code
    out, err = capsys.readouterr()
    assert key not in out + err
    return rc, out, err


@pytest.mark.parametrize("platform", ["fuse", "studio"])
def test_check_raw_shows_the_dialects_exchange(sim, capsys, platform):
    sim.add_device(DEVN, PID, PKEY, platform=platform, user_id=UID, user_key=UKEY, dev_key=DKEY)
    t = sim.publish("V1.4", PID, PKEY, DEVN, data=DATA, name="fw.bin")
    rc, out, err = run(sim, capsys, platform, "check", "--version", "V1.3", "--raw")
    assert rc == 0, out + err
    prefix = "/fuse-ota/" if platform == "fuse" else "/ota/"
    assert "GET %s%s/%s/check?type=2&version=V1.3 HTTP/1.1" % (prefix, PID, DEVN) in out
    assert "manuf" not in out.split("HTTP/1.1")[0]  # new-api §4.3: type and version only
    assert ("res=userid%2F" + UID if platform == "fuse" else "res=products%2FXHm5ltr9qA%2Fdevices%2Fd0") in out
    assert "sign=***" in out
    answer = json.loads(next(ln for ln in out.splitlines() if ln.startswith("{")))
    assert answer["data"]["tid"] == t["id"] and ("code" in answer) == (platform == "fuse")
    assert "  token     %d" % t["id"] in out and "  status    1" in out
    rc, out, err = run(sim, capsys, platform, "token-check", str(t["id"]))
    assert rc == 0 and "status 1 (pending)" in out


@pytest.mark.parametrize("platform", ["fuse", "studio"])
def test_download_and_report_through_the_dialect(sim, capsys, platform, tmp_path):
    sim.add_device(DEVN, PID, PKEY, platform=platform, user_id=UID, user_key=UKEY, dev_key=DKEY)
    t = sim.publish("V1.4", PID, PKEY, DEVN, data=DATA, name="fw.bin")
    out_file = str(tmp_path / "pkg.bin")
    rc, out, err = run(sim, capsys, platform, "download", "--version", "V1.3", "-o", out_file, "--chunk", "8192",
                       "--raw")
    assert rc == 0, out + err
    with open(out_file, "rb") as f:
        assert hashlib.md5(f.read()).hexdigest() == hashlib.md5(DATA).hexdigest()
    assert "GET %s%s/%s/%d/download HTTP/1.1" % ("/fuse-ota/" if platform == "fuse" else "/ota/", PID, DEVN,
                                                t["id"]) in out
    assert "Ota-Errno: 0" in out
    assert ("Content-Range: bytes 0-8191/20000" if platform == "fuse" else "Content-Range-Start: 0") in out
    assert sim.task(t["id"])["state"] == "downloading"
    rc, out, err = run(sim, capsys, platform, "report", "--token", str(t["id"]), "--step", "100")
    assert rc == 0 and sim.task(t["id"])["state"] == "upgrading"
    # a progress step now: refused (new-api §4.6), the code shown, exit 3
    rc, out, err = run(sim, capsys, platform, "report", "--token", str(t["id"]), "--step", "50")
    assert rc == 3 and "17" in err, err
    rc, out, err = run(sim, capsys, platform, "tasking")
    assert rc == 2 and "legacy" in err


def test_cancelled_task_download_is_refused_with_ota_errno(sim, capsys, tmp_path):
    sim.add_device(DEVN, PID, PKEY, platform="fuse", user_id=UID, user_key=UKEY, dev_key=DKEY)
    t = sim.publish("V1.4", PID, PKEY, DEVN, data=DATA, name="fw.bin")
    sim.cancel(t["id"])
    rc, out, err = run(sim, capsys, "fuse", "download", "--token", str(t["id"]), "--size", str(len(DATA)),
                       "-o", str(tmp_path / "x.bin"), "--raw")
    assert rc == 3 and "Ota-Errno: 5" in out, out + err


def test_token_signs_every_form_of_the_worked_example(capsys):
    # new-api §2.2 (computed there with this made-up key)
    cases = [
        (["--platform", "fuse", "--user-id", "498670", "--et", "1774161817"],
         "version=2022-05-01&res=userid%2F498670&et=1774161817&method=sha1&sign=g6ybfpypRfCNGJXgLZsPfmdxZ4c%3D"),
        (["--platform", "studio", "--product-id", PID, "--dev-id", "d0", "--et", "1924833600"],
         "version=2018-10-31&res=products%2FXHm5ltr9qA%2Fdevices%2Fd0&et=1924833600&method=sha1"
         "&sign=kW1%2Fw3BBX8TUohlnu4Pr%2ByHdhaM%3D"),
        (["--platform", "fuse", "--level", "product", "--token-version", "2018-10-31", "--product-id", PID,
          "--method", "sha256", "--et", "1924833600"],
         "version=2018-10-31&res=products%2FXHm5ltr9qA&et=1924833600&method=sha256"
         "&sign=avkN98pxg520nJQ%2Ff1630d6yluLMLWwjd%2BzheGXUC3c%3D"),
    ]
    for argv, want in cases:
        assert cli.main(["token", "--access-key", UKEY] + argv) == 0
        out = capsys.readouterr().out
        assert out.splitlines()[-1] == want
    assert cli.main(["token", "--access-key", UKEY, "--platform", "fuse"]) == 2
    assert "--level user needs --user-id" in capsys.readouterr().err
