# The newcomer's path (issue 17 §3): each stumble a first user hit, as a test. The
# README walkthrough and the non-editable install have their own files
# (test_newcomer_readme.py, test_newcomer_install.py). The simulator is in-process
# (127.0.0.1, port 0, stopped by the fixture).
import base64
import json
import os
import re
import subprocess
import sys

import pytest

from onenet_ota_tools import cli
from onenet_ota_tools.images import make_app_image
from support.cli_env import clean, run_cli, sim  # noqa: F401 (clean, sim: fixtures)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PID, DEV = "198290", "522747162"
KEY = base64.b64encode(b"newcomer-access-key-01234").decode()
CLI = [sys.executable, "-c", "import sys; from onenet_ota_tools.cli import main; sys.exit(main())"]


main = run_cli


# -- demo --state-dir --------------------------------------------------------------------
def test_demo_never_empties_a_folder_it_did_not_make(clean, capsys):
    mine = clean / "project"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    (mine / "sim").mkdir()  # even with a name the demo uses
    (mine / "sim" / "data").write_text("mine too")
    rc, out, err = main(capsys, "demo", "--runtime", "cpython", "--size", "20000", "--state-dir", mine)
    assert rc == 2 and "was not made by the demo" in err and not out
    assert (mine / "notes.txt").read_text() == "keep me" and (mine / "sim" / "data").read_text() == "mine too"
    # a file, not a folder: refused, untouched
    (clean / "afile").write_text("x")
    assert main(capsys, "demo", "--runtime", "cpython", "--state-dir", clean / "afile")[0] == 2
    assert (clean / "afile").read_text() == "x"


def test_demo_reuses_its_own_folder_and_an_empty_one(clean, capsys):
    for d in (clean / "new", clean / "empty"):
        if d.name == "empty":
            d.mkdir()
        for _ in range(2):  # the second run empties what the first made, and succeeds
            rc, out, err = main(capsys, "demo", "--runtime", "cpython", "--size", "20000", "--state-dir", d)
            assert rc == 0 and "task 1: succeeded" in out, err
        assert sorted(os.listdir(str(d))) == [".onenet-ota-demo", "device", "sim"]
    # a file the user put into the demo's folder afterwards stops the next run
    (clean / "new" / "mine.txt").write_text("x")
    rc, _, err = main(capsys, "demo", "--runtime", "cpython", "--size", "20000", "--state-dir", clean / "new")
    assert rc == 2 and "mine.txt" in err and (clean / "new" / "mine.txt").exists()


# -- a package that is not the target ----------------------------------------------------
def test_package_and_publish_catch_an_image_of_another_version(sim, clean, capsys):
    assert main(capsys, "image", "--board", "esp32", "--version", "V1.5", "-o", "fw.bin", "--size", "20000")[0] == 0
    rc, out, err = main(capsys, "package", "--board", "esp32", "fw.bin", "--target", "V1.4")
    assert rc == 2 and "embeds version V1.5" in err and "target is V1.4" in err and "204" in err
    rc, out, _ = main(capsys, "package", "--board", "esp32", "fw.bin", "--target", "V1.5")
    assert rc == 0 and "version: V1.5" in out
    creds = ["--product-id", PID, "--access-key", KEY, "--dev-id", DEV]
    rc, out, err = main(capsys, "publish", "--server", sim.url, "--state-dir", "state/sim", "--file", "fw.bin",
                        "--target", "V1.4", *creds)
    assert rc == 2 and "embeds version V1.5" in err
    assert sim.tasks() == [] if hasattr(sim, "tasks") else True
    assert json.loads(main(capsys, "admin", "--server", sim.url, "--state-dir", "state/sim", "--json",
                           "tasks")[1])["tasks"] == []  # nothing reached the platform
    # a stock MicroPython image (empty descriptor version) passes, as does the target
    assert main(capsys, "image", "--board", "esp32", "--version", "V1.4", "--no-embed-version", "-o", "stock.bin",
                "--size", "20000")[0] == 0
    rc, out, err = main(capsys, "publish", "--server", sim.url, "--state-dir", "state/sim", "--file", "stock.bin",
                        "--target", "V1.4", *creds)
    assert rc == 0 and "pending  target V1.4" in out, err


def test_publish_reads_onenet_env_and_takes_local(sim, clean, capsys, monkeypatch):
    with open("fw.bin", "wb") as f:
        f.write(make_app_image(20000, "V1.4", embed_version=True))
    rc, _, err = main(capsys, "publish", "--server", sim.url, "--state-dir", "state/sim", "--file", "fw.bin",
                      "--target", "V1.4")
    assert rc == 2 and "--product-id" in err and "ONENET_PRODUCT_ID" in err
    monkeypatch.setenv("ONENET_PRODUCT_ID", PID)
    monkeypatch.setenv("ONENET_ACCESS_KEY", KEY)
    monkeypatch.setenv("ONENET_DEV_ID", DEV)
    rc, out, err = main(capsys, "publish", "--server", sim.url, "--state-dir", "state/sim", "--file", "fw.bin",
                        "--target", "V1.4", "--json")
    assert rc == 0, err
    t = json.loads(out)
    assert t["dev_id"] == DEV and t["target"] == "V1.4" and KEY not in out + err
    # and the calls find that task with the same environment
    rc, out, err = main(capsys, "check", "--server", sim.url, "--version", "V1.3", "--chip", "esp32", "--json")
    assert rc == 0 and json.loads(out)["task"]["token"] == t["token"], err
    # --local: the simulator's default address, accepted by publish and admin alike
    p = cli.Parser(prog="x")
    from onenet_ota_tools.commands import admin

    admin.publish_arguments(p)
    a = p.parse_args(["--local", "--file", "f", "--target", "V1"])
    assert a.local and a.server == admin.DEFAULT_SERVER


# -- the device's message ----------------------------------------------------------------
def test_firmware_recommit_message_names_its_cause():
    src = open(os.path.join(ROOT, "firmware", "onenet_ota", "confirm.py")).read()
    assert "slot no longer holds the package\")" not in src
    assert "the slot's md5 is not the package's" in src


# -- deploy: secrets and --port auto ------------------------------------------------------
def test_deploy_refuses_example_secrets(clean, capsys):
    ex = os.path.join(ROOT, "boards", "esp32", "secrets.example.json")
    rc, out, err = main(capsys, "deploy", "--board", "esp32", "--port", "P", "--dry-run", "--secrets", ex)
    assert rc == 1 and "is the example file" in err and not out
    filled = json.load(open(ex))
    filled["wifi"]["password"] = "mine"
    (clean / "s.json").write_text(json.dumps(filled))  # a copy, only the password changed
    rc, out, err = main(capsys, "deploy", "--board", "esp32", "--port", "P", "--dry-run", "--secrets", "s.json")
    assert rc == 1 and "example values of" in err and "product_id" in err and "access_key" in err
    assert "wifi.ssid" in err and "wifi.password" not in err and filled["access_key"] not in err


@pytest.mark.parametrize("secrets, said", [
    ({"product_id": "12a", "dev_id": "5566", "access_key": KEY}, "product_id: bad character"),
    ({"product_id": "198290", "dev_id": "5566", "access_key": "not base64!"}, "access_key: not base64"),
    ({"product_id": "198290", "dev_id": "5566", "access_key": KEY, "chunck": 4096},
     "chunck: unknown setting (did you mean chunk?)"),
])
def test_deploy_checks_secrets_with_the_agents_config_check(clean, capsys, secrets, said):
    secrets = dict(secrets, wifi={"ssid": "lab", "password": "pw"})
    (clean / "s.json").write_text(json.dumps(secrets))
    rc, out, err = main(capsys, "deploy", "--board", "esp32", "--port", "P", "--dry-run", "--secrets", "s.json")
    assert rc == 1 and said in err and not out, err
    assert "not base64!" not in err and KEY not in err


class _Port:
    def __init__(self, device, vid, pid, manufacturer=None, product=None):
        self.device, self.vid, self.pid, self.manufacturer, self.product = device, vid, pid, manufacturer, product

    def __lt__(self, other):
        return self.device < other.device


def test_port_auto_like_mpremote(clean, capsys, monkeypatch):
    import serial.tools.list_ports

    secrets = clean / "s.json"
    secrets.write_text(json.dumps({"product_id": "198290", "dev_id": "5566", "access_key": KEY,
                                   "wifi": {"ssid": "lab", "password": "pw"}}))
    argv = ["deploy", "--board", "esp32", "--port", "auto", "--dry-run", "--secrets", secrets]
    ports = []
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda: list(ports))
    ports[:] = [_Port("/dev/ttyS0", None, None)]  # no USB ids: not a board
    rc, out, err = main(capsys, *argv)
    assert rc == 2 and "no USB serial port found" in err
    ports.append(_Port("/dev/ttyUSB0", 0x10C4, 0xEA60, "Silicon Labs", "CP2102"))
    rc, out, err = main(capsys, *argv)
    assert rc == 0, err
    assert out.startswith("# --port auto: /dev/ttyUSB0 (10c4:ea60 Silicon Labs CP2102)")
    assert "mpremote connect /dev/ttyUSB0 exec" in out
    ports.append(_Port("/dev/ttyACM0", 0x239A, 0x8029))
    rc, out, err = main(capsys, *argv)
    assert rc == 2 and "2 USB serial ports" in err and "/dev/ttyACM0 (239a:8029)" in err and "/dev/ttyUSB0" in err


# -- the CLI's manners --------------------------------------------------------------------
def test_bare_command_prints_help_and_exits_2(clean):
    p = subprocess.run(CLI, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stderr.startswith("usage: onenet-ota COMMAND") and "download" in p.stderr
    assert subprocess.run(CLI + ["--help"], capture_output=True, text=True, timeout=60).returncode == 0


def test_did_you_mean(clean, capsys):
    rc, out, err = main(capsys, "dowload", "--local")
    assert rc == 2 and "did you mean download?" in err
    rc, out, err = main(capsys, "nonsense-words")
    assert rc == 2 and "did you mean" not in err
    rc, out, err = main(capsys, "check", "--sever", "http://x", "--version", "V1")
    assert rc == 2 and "did you mean --server?" in err and err.count("\n") == 1
    rc, out, err = main(capsys, "publish", "--file", "f", "--target", "V1", "--product-idd", "1")
    assert rc == 2 and "did you mean --product-id?" in err


def test_no_python_none_in_output(sim, clean, capsys):
    sim.publish(data=b"x" * 3000, target="V1.4", product_id=PID, access_key=KEY, dev_id=DEV, s_version="V1.3")
    creds = ["--server", sim.url, "--product-id", PID, "--access-key", KEY, "--dev-id", DEV]
    outs = []
    for argv in (["query-version"], ["check", "--version", "V1.3", "--chip", "esp32"],
                 ["tasking"], ["download", "--version", "V1.3", "--chip", "esp32", "--range", "0-9"]):
        rc, out, err = main(capsys, *argv, *creds)
        outs.append((argv[0], rc, out + err))
    for name in ("devices", "tasks", "events"):
        rc, out, err = main(capsys, "admin", "--server", sim.url, "--state-dir", "state/sim", name)
        outs.append((name, rc, out + err))
    for name, rc, text in outs:
        assert not re.search(r"\bNone\b", text), (name, text)
    assert "f_version: -" in outs[0][2]


def test_range_clamping_is_said(sim, clean, capsys):
    t = sim.publish(data=bytes(range(256)) * 4, target="V1.4", product_id=PID, access_key=KEY, dev_id=DEV,
                    s_version="V1.3")
    base = ["download", "--server", sim.url, "--product-id", PID, "--access-key", KEY, "--dev-id", DEV,
            "--token", t["token"]]
    rc, out, err = main(capsys, *base, "--range", "1000-99999")
    assert rc == 0 and "HTTP 206: bytes 1000-1023/1024" in out
    assert "note: --range 1000-99999: clamped to 1000-1023: the package has 1024 bytes" in err
    rc, out, err = main(capsys, *base, "--range", "-5000", "--json")
    assert rc == 0 and json.loads(out)["clamped"].startswith("the last 5000 bytes asked")
    rc, out, err = main(capsys, *base, "--range", "0-9")
    assert rc == 0 and "note:" not in err


def test_bench_and_reliability_do_not_write_docs_by_default():
    from onenet_ota_tools.commands import bench, reliability

    for mod in (bench, reliability):
        p = cli.Parser(prog="x")
        mod.add_arguments(p)
        out = p.parse_args([]).out
        assert not os.path.abspath(out).startswith(os.path.join(ROOT, "docs")), out
        assert out.startswith("build" + os.sep)
    # `make bench` regenerates the page, explicitly
    mk = open(os.path.join(ROOT, "Makefile")).read()
    assert "onenet-ota bench --out docs/PERFORMANCE.md" in mk


def test_reliability_hostile_only_needs_an_existing_page(clean, capsys):
    rc, out, err = main(capsys, "reliability", "--hostile-only", "--out", clean / "none.md")
    assert rc == 2 and "existing page" in err


# -- README and docs ----------------------------------------------------------------------
def _md_links(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks hold commands, not links
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_relative_links_resolve_inside_the_clone():
    pages = [os.path.join(ROOT, "README.md")] + [
        os.path.join(ROOT, "docs", n) for n in sorted(os.listdir(os.path.join(ROOT, "docs"))) if n.endswith(".md")]
    bad = []
    for page in pages:
        for link in _md_links(page):
            if re.match(r"^[a-z]+:", link) or link.startswith("#"):
                continue
            target = os.path.normpath(os.path.join(os.path.dirname(page), link.split("#")[0]))
            if not target.startswith(ROOT + os.sep) or not os.path.exists(target):
                bad.append("%s: %s" % (os.path.relpath(page, ROOT), link))
    assert not bad, bad


def test_readme_first_screen_has_exactly_two_setup_commands():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    first = text[:text.index("\n## ")]
    blocks = re.findall(r"```sh\n(.*?)```", first, re.S)
    cmds = [l.split("#")[0].strip() for b in blocks for l in b.splitlines() if l.split("#")[0].strip()]
    assert cmds == ["make demo", "make test"]


def test_readme_tells_mip_manifest_page_and_chinese_steps():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    for needed in ("mip.install", "package.json", "manifest.py", "mpremote mip install", "/?token="):
        assert needed in text, needed
    zh = text[text.index("## 快速上手"):]
    zh = zh[:zh.find("\n## ", 1)]
    for needed in ("onenet-ota flash", "onenet-ota package", "secrets.json", "secrets.example.json",
                   "onenet-ota deploy"):
        assert needed in zh, needed


def test_the_production_default_is_said(clean, capsys):
    # No --server/--local/ONENET_SERVER: the calls' default is the real platform, and they
    # say so before anything is sent (here nothing is: --version is missing).
    rc, out, err = main(capsys, "check", "--chip", "esp32")
    assert rc == 2 and "note: no --server, --local, ONENET_SERVER" in err and "http://ota.heclouds.com" in err
    rc, out, err = main(capsys, "check", "--chip", "esp32", "--local")
    assert rc == 2 and "note:" not in err


def test_help_into_a_closed_pipe_is_quiet(clean):
    # `onenet-ota --help | head -0`: the reader is gone before the first write, so the
    # write fails (EPIPE): nothing on stderr, no traceback; exit 141 as SIGPIPE would
    # (argparse's own --help printing swallows the error itself: exit 0 there).
    for argv in (["--help"], ["check", "--help"], ["image", "--board", "esp32", "--version", "V1", "-o", "x.bin"]):
        r, w = os.pipe()
        os.close(r)
        try:
            p = subprocess.run(CLI + argv, stdout=w, stderr=subprocess.PIPE, timeout=60)
        finally:
            os.close(w)
        assert p.returncode == (0 if argv[-1] == "--help" and len(argv) > 1 else 141), (argv, p.returncode)
        assert p.stderr == b"", (argv, p.stderr[-500:])
