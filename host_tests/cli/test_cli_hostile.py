# Malformed invocations of every command (issue 16, item 4): each ends in one line on
# stderr and exit 2 (usage) or the command's documented code -- never a traceback, never
# a secret (the access key, an Authorization value or its sign, a download token, the
# simulator's admin token). Run through cli.main and as real subprocesses; every
# subcommand's --help too. The simulator is in-process (127.0.0.1, port 0, stopped by
# the fixture).
import base64
import os
import socket
import subprocess
import sys
import time

import pytest

from onenet_ota import auth
from onenet_ota_tools import cli
from onenet_ota_tools.sim import Simulator
from support.cli_env import clean_cli_env

PID = "198290"
KEY = base64.b64encode(b"hostile-cli-access-key-0123").decode()
DEV = "522747162"
DATA = bytes((i * 13 + 5) & 0xFF for i in range(100000))
CLI = [sys.executable, "-c", "import sys; from onenet_ota_tools.cli import main; sys.exit(main())"]
AUTHZ = auth.token(PID, KEY, 4102444800, "sha1")


@pytest.fixture
def env(tmp_path, monkeypatch):
    clean_cli_env(tmp_path, monkeypatch)
    s = Simulator(str(tmp_path / "state"))
    s.start()
    try:
        t = s.publish(data=DATA, target="V1.4", product_id=PID, access_key=KEY, dev_id=DEV, s_version="V1.3")
        (tmp_path / "fw.bin").write_bytes(DATA[:1000])
        (tmp_path / "notjson.json").write_text("{not json")
        (tmp_path / "list.json").write_text("[1, 2]")
        (tmp_path / "adir").mkdir()
        (tmp_path / "afile").write_text("x")
        os.mkfifo(str(tmp_path / "fifo"))
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        free = socket.socket()
        free.bind(("127.0.0.1", 0))
        free_port = free.getsockname()[1]
        free.close()
        yield {"sim": s, "task": t, "tmp": tmp_path, "busy": busy.getsockname()[1], "free": free_port,
               "secrets": [KEY, AUTHZ, AUTHZ.split("sign=")[1], t["token"], s.admin_token]}
        busy.close()
    finally:
        s.stop()


CREDS = ["--product-id", PID, "--access-key", KEY, "--dev-id", DEV]
CHECK = ["--version", "V1.3", "--chip", "esp32"]

# (argv, exit code). {url} the simulator, {tok} the task's download token, {tmp} a
# scratch dir with fw.bin, fifo, adir, afile, notjson.json, list.json; {busy} a port in
# use, {free} one nobody listens on.
BAD = [
    # publish: the server URL (a traceback with the access key in it, before), the file
    (["publish", "--server", "not a url", "--file", "fw.bin", "--target", "V1", "--access-key", KEY,
      "--product-id", PID, "--dev-id", DEV], 2),
    (["publish", "--server", "ftp://127.0.0.1", "--file", "fw.bin", "--target", "V1", "--access-key", KEY,
      "--product-id", PID, "--dev-id", DEV], 2),
    (["publish", "--server", "http://127.0.0.1:99999", "--file", "fw.bin", "--target", "V1", "--access-key", KEY,
      "--product-id", PID, "--dev-id", DEV], 2),
    (["publish", "--server", "http://u:" + KEY + "@127.0.0.1:1", "--file", "fw.bin", "--target", "V1",
      "--access-key", KEY, "--product-id", PID, "--dev-id", DEV], 2),
    (["publish", "--server", "http://127.0.0.1:1/x?access_key=" + KEY, "--file", "fw.bin", "--target", "V1",
      "--access-key", KEY, "--product-id", PID, "--dev-id", DEV], 2),
    (["publish", "--server", "{url}", "--file", "missing.bin", "--target", "V1", "--access-key", KEY,
      "--product-id", PID, "--dev-id", DEV], 2),
    (["publish", "--server", "{url}", "--file", "adir", "--target", "V1", "--access-key", KEY,
      "--product-id", PID, "--dev-id", DEV], 2),
    (["publish", "--server", "{url}", "--file", "fifo", "--target", "V1", "--access-key", KEY,
      "--product-id", PID, "--dev-id", DEV], 2),
    (["publish", "--server", "{url}", "--file", "/dev/zero", "--target", "V1", "--access-key", KEY,
      "--product-id", PID, "--dev-id", DEV], 2),
    (["publish", "--server", "{url}", "--file", "/proc/self/mem", "--target", "V1", "--access-key", KEY,
      "--product-id", PID, "--dev-id", DEV, "--state-dir", "state"], 2),  # unreadable (EIO), even for root
    (["publish", "--server", "{url}", "--file", "fw.bin", "--target", "V1", "--access-key", KEY,
      "--product-id", PID, "--dev-id", DEV, "--retry", "-1"], 2),
    (["publish", "--server", "{url}", "--file", "fw.bin", "--target", "V1", "--access-key", KEY,
      "--product-id", PID, "--dev-id", DEV, "--interval", "1e3"], 2),
    (["publish", "--server", "{url}", "--file", "fw.bin", "--target", "V1", "--access-key", KEY,
      "--product-id", PID, "--dev-id", DEV, "--type", "3"], 2),
    (["publish", "--server", "{url}", "--file", "fw.bin", "--target", "V1", "--access-key", KEY,
      "--product-id", PID, "--dev-id", DEV, "--state-dir", "adir"], 2),  # no admin token there
    (["publish", "--server", "{url}", "--file", "fw.bin", "--target", "V1", "--access-key", KEY,
      "--product-id", PID, "--dev-id", DEV, "--admin-token", "wrong-token-0123456789"], 1),  # 401
    (["publish", "--server", "{url}", "--file", "fw.bin", "--target", "bad version", "--access-key", KEY,
      "--product-id", PID, "--dev-id", DEV, "--state-dir", "state"], 1),  # 400 from the simulator
    (["publish", "--server", "{url}", "--file", "fw.bin", "--target", "V1", "--access-key", "not base64!",
      "--product-id", PID, "--dev-id", DEV, "--state-dir", "state"], 1),
    (["publish", "--file", "fw.bin"], 2),
    # admin
    (["admin"], 2), (["admin", "nosuch"], 2), (["admin", "cancel", "abc"], 2), (["admin", "cancel", "-1"], 2),
    (["admin", "clock", "--advance", "nan"], 2), (["admin", "clock", "--set", "inf"], 2),
    (["admin", "clock", "--advance", "1e400"], 2), (["admin", "events", "--task", "x"], 2),
    (["admin", "cancel", "99999", "--server", "{url}", "--state-dir", "state"], 1),
    (["admin", "fault", "--server", "{url}", "--state-dir", "state", "--dev-id", DEV, "wat=1"], 1),
    (["admin", "fault", "--server", "{url}", "--state-dir", "state", "latency=1"], 2),
    (["admin", "modes", "--server", "{url}", "--state-dir", "state", "nonsense"], 2),
    (["admin", "tasks", "--server", "http://127.0.0.1:{free}", "--admin-token", "some-token-0123456789",
      "--json"], 1),  # cannot reach
    (["admin", "tasks", "--server", "{url}", "--admin-token", ""], 2),
    # serve: numbers, the state dir, the token, TLS
    (["serve", "--port", "-1"], 2), (["serve", "--port", "70000"], 2), (["serve", "--port", "abc"], 2),
    (["serve", "--port", "0", "--state-dir", "afile"], 2), (["serve", "--port", "0", "--state-dir", "afile/sub"], 2),
    (["serve", "--port", "0", "--admin-token", "short"], 2),
    (["serve", "--port", "0", "--admin-token", "has spaces in it 0123456789"], 2),
    (["serve", "--port", "0", "--head-timeout", "0"], 2), (["serve", "--port", "0", "--idle-timeout", "nan"], 2),
    (["serve", "--port", "0", "--max-connections", "0"], 2),
    (["serve", "--port", "0", "--tls-cert", "x.pem"], 2),
    (["serve", "--port", "0", "--tls-cert", "missing.pem", "--tls-key", "missing.key", "--state-dir", "s2"], 2),
    (["serve", "--port", "0", "--fault", "nonsense"], 2), (["serve", "--port", "0", "--mode", "nope=1"], 2),
    (["serve", "--port", "{busy}", "--state-dir", "s3"], 1),
    # the platform calls
    (["check", "--server", "{url}", "--timeout", "-1"] + CHECK + CREDS, 2),
    (["check", "--server", "{url}", "--timeout", "nan"] + CHECK + CREDS, 2),
    (["check", "--server", "{url}", "--timeout", "0"] + CHECK + CREDS, 2),
    (["check", "--server", ":abc"] + CHECK + CREDS, 2),
    (["check", "--server", "http://[::1]:80"] + CHECK + CREDS, 2),
    (["check", "--server", "gopher://x"] + CHECK + CREDS, 2),
    (["check", "--server", "{url}", "--version", "bad version!", "--chip", "esp32"] + CREDS, 2),
    (["check", "--server", "{url}", "--chip", "esp32"] + CREDS, 2),
    (["check", "--server", "{url}", "--signals", "x"] + CHECK + CREDS, 2),
    (["check", "--server", "{url}", "--powers", "101"] + CHECK + CREDS, 2),
    (["check", "--server", "{url}", "--et", "-5"] + CHECK + CREDS, 2),
    (["check", "--server", "{url}", "--config", "missing.json"] + CHECK, 2),
    (["check", "--server", "{url}", "--config", "notjson.json"] + CHECK, 2),
    (["check", "--server", "{url}", "--config", "list.json"] + CHECK, 2),
    (["check", "--server", "{url}", "--config", "adir"] + CHECK, 2),
    (["check", "--server", "{url}", "--config", "fifo"] + CHECK, 2),
    (["check", "--server", "{url}", "--config", "/proc/self/mem"] + CHECK, 2),
    (["check", "--server", "{url}", "--dev-id", DEV] + CHECK, 2),  # no credentials
    (["check", "--server", "{url}", "--access-key", "%%%", "--product-id", PID, "--dev-id", DEV] + CHECK, 2),
    (["check", "--server", "{url}", "--authorization", AUTHZ.replace(PID, "999"), "--dev-id", DEV] + CHECK, 3),
    (["query-version", "--server", "{url}", "--authorization", AUTHZ + "x", "--dev-id", DEV], 3),
    (["check", "--server", "http://127.0.0.1:1"] + CHECK + CREDS, 4),
    (["report-version", "--server", "{url}"] + CREDS, 2),
    (["token-check", "--server", "{url}", "ota_bad/../x"] + CREDS, 2),
    (["tasking", "--server", "{url}", "--type", "9"] + CREDS, 2),
    # download: -o must be a regular file (before: /dev/full replaced by the .part, "saved")
    (["download", "--server", "{url}", "--token", "{tok}", "-o", "/dev/full"] + CREDS, 2),
    (["download", "--server", "{url}", "--token", "{tok}", "-o", "/dev/null"] + CREDS, 2),
    (["download", "--server", "{url}", "--token", "{tok}", "-o", "fifo"] + CREDS, 2),
    (["download", "--server", "{url}", "--token", "{tok}", "-o", "adir"] + CREDS, 2),
    (["download", "--server", "{url}", "--token", "{tok}", "-o", "nodir/x.bin"] + CREDS, 2),
    (["download", "--server", "{url}", "--token", "{tok}", "-o", "afile/x.bin"] + CREDS, 2),
    (["download", "--server", "{url}", "--token", "{tok}", "--range", "0-5", "-o", "/dev/full"] + CREDS, 2),
    (["download", "--server", "{url}", "--token", "{tok}", "--chunk", "1"] + CREDS, 2),
    (["download", "--server", "{url}", "--token", "{tok}", "--chunk", "-5"] + CREDS, 2),
    (["download", "--server", "{url}", "--token", "{tok}", "--size", "0"] + CREDS, 2),
    (["download", "--server", "{url}", "--token", "{tok}", "--range", "x-y"] + CREDS, 2),
    (["download", "--server", "{url}", "--token", "{tok}", "--range", "0-5", "--md5", "0" * 32] + CREDS, 2),
    (["download", "--server", "{url}", "--token", "{tok}", "--md5", "xyz", "-o", "o.bin"] + CREDS, 2),
    (["download", "--server", "{url}", "--token", "ota_no\r\nX: 1"] + CREDS, 2),
    (["download", "--server", "{url}", "--token", "ota_NoSuchToken00000000", "-o", "o.bin", "--size", "10"]
     + CREDS, 3),
    # report
    (["report", "--server", "{url}", "--token", "{tok}", "--step", "101"] + CREDS, 2),
    (["report", "--server", "{url}", "--token", "{tok}", "--result", "bogus"] + CREDS, 2),
    (["report", "--server", "{url}", "--token", "{tok}", "--step", "5", "--old-form"] + CREDS, 2),
    (["report", "--server", "{url}", "--token", "{tok}"] + CREDS, 2),
    (["report", "--server", "{url}", "--token", "{tok}", "--step", "x"] + CREDS, 2),
    # token
    (["token", "--product-id", PID, "--access-key", "not base64!"], 2),
    (["token", "--product-id", PID, "--access-key", KEY, "--et", "soon"], 2),
    (["token", "--product-id", PID, "--access-key", KEY, "--method", "md4"], 2),
    (["token", "--product-id", PID], 2),
    # the command line itself
    (["nosuch"], 2), (["--nosuch"], 2), (["check", "--nosuch"], 2), (["download", "extra", "args"], 2),
    (["reliability", "--nosuch"], 2), (["demo", "--size", "x"], 2), (["demo", "--runtime", "java"], 2),
]


def _argv(case, env):
    out = []
    for a in case:
        a = a.replace("{url}", env["sim"].url).replace("{tok}", env["task"]["token"]).replace(
            "{busy}", str(env["busy"])).replace("{free}", str(env["free"]))
        out.append(a)
    return out


def _check(rc, out, err, want, argv, secrets):
    what = "%r -> %s\nstdout %r\nstderr %r" % (argv, rc, out[-500:], err[-500:])
    assert rc == want, what
    assert "Traceback" not in err and "Traceback" not in out, what
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, what
    for s in secrets:
        assert s not in out and s not in err, what
    assert "sign=" not in out + err, what


def _ids():
    return ["%d:%s" % (i, " ".join(c[0][:3])[:40]) for i, c in enumerate(BAD)]


@pytest.mark.parametrize("case,want", BAD, ids=_ids())
def test_bad_invocation_in_process(env, capsys, case, want):
    argv = _argv(case, env)
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    _check(rc, out, err, want, argv, env["secrets"])
    if argv[0] == "download" and "-o" in argv:
        o = argv[argv.index("-o") + 1]
        if o.startswith("/dev/"):
            import stat

            assert stat.S_ISCHR(os.stat(o).st_mode)  # the device node is still a device
            assert not os.path.exists(o + ".part") or o == "/dev/null"


def test_bad_invocations_as_subprocesses(env):
    # The same table through the real interpreter start-up and exit (stdout flushed,
    # interpreter-level errors), a few at a time to bound the run.
    failures = []
    t0 = time.monotonic()
    procs = []
    for case, want in BAD:
        argv = _argv(case, env)
        procs.append((argv, want, subprocess.Popen(CLI + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                   stdin=subprocess.DEVNULL, text=True, cwd=str(env["tmp"]))))
        if len(procs) >= 8:
            failures += _reap(procs, env)
            procs = []
        assert time.monotonic() - t0 < 300
    failures += _reap(procs, env)
    assert not failures, "\n\n".join(failures)
    if os.environ.get("OTA_RELIABILITY_OUT"):
        import json

        with open(os.environ["OTA_RELIABILITY_OUT"], "a") as f:
            f.write(json.dumps({"test": "security", "case": "cli", "invocations": len(BAD)}) + "\n")


def _reap(procs, env):
    bad = []
    for argv, want, p in procs:
        try:
            out, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            bad.append("%r: hung" % argv)
            continue
        try:
            _check(p.returncode, out, err, want, argv, env["secrets"])
        except AssertionError as e:
            bad.append(str(e))
    return bad


def test_every_help(env, capsys):
    for name in cli.COMMANDS:
        assert cli.main([name, "--help"]) == 0, name
        out, err = capsys.readouterr()
        assert out.startswith("usage: onenet-ota " + name) and not err, name
    assert cli.main(["admin", "tasks", "--help"]) == 0
    assert "admin token" in capsys.readouterr().out
    for argv in (["--help"], ["help"], ["--version"]):  # a bare `onenet-ota` exits 2: test_newcomer.py
        assert cli.main(argv) == 0
        assert not capsys.readouterr().err
    for name in ("serve", "publish", "admin"):
        assert cli.main([name, "--help"]) == 0
        out = capsys.readouterr().out
        assert "admin token" in out and "ONENET_ADMIN_TOKEN" in out and "admin-token" in out, name
    for name in cli.COMMANDS:  # and as processes: nothing on stderr, exit 0
        p = subprocess.run(CLI + [name, "--help"], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and p.stdout.startswith("usage:") and not p.stderr, (name, p.stderr)


def test_broken_pipe_is_quiet(env):
    # `onenet-ota download --range ... | head -1`: the reader goes away mid-output.
    argv = ["download", "--server", env["sim"].url, "--token", env["task"]["token"], "--range", "0-99999"] + CREDS
    for cmd in (argv, ["admin", "events", "--server", env["sim"].url, "--state-dir", "state"]):
        if cmd[0] == "admin":
            for _ in range(300):
                env["sim"].store.event(DEV, None, "filler", pad="x" * 200)
        p = subprocess.Popen(CLI + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(env["tmp"]))
        first = p.stdout.read(100)
        p.stdout.close()
        err = p.stderr.read().decode()
        rc = p.wait(60)
        assert first and rc == 141 and err == "", (cmd[0], rc, err)


def test_output_checks_keep_nodes(env, tmp_path):
    # -o a FIFO: refused before any request -- a writer would block, a rename replace it.
    fifo = str(env["tmp"] / "fifo")
    rc = cli.main(["download", "--server", env["sim"].url, "--token", env["task"]["token"], "-o", fifo] + CREDS)
    assert rc == 2
    import stat

    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and not os.path.exists(fifo + ".part")
    assert env["sim"].task(env["task"]["id"])["served"] == 0  # nothing was fetched
    # A regular file still works: the whole package, md5 checked.
    rc = cli.main(["download", "--server", env["sim"].url, "--token", env["task"]["token"], "-o", "ok.bin",
                   "--size", str(len(DATA))] + CREDS)
    assert rc == 0 and (env["tmp"] / "ok.bin").read_bytes() == DATA


def test_internal_errors_are_one_line(env, capsys, monkeypatch):
    # Whatever a command raises that nobody expected: its type, no text, exit 1.
    from onenet_ota_tools.commands import token

    def boom(args):
        raise ValueError("secret " + KEY)

    monkeypatch.setattr(token, "run", boom)
    assert cli.main(["token", "--product-id", PID, "--access-key", KEY]) == 1
    out, err = capsys.readouterr()
    assert err.strip() == ("onenet-ota token: internal error (ValueError); ONENET_OTA_DEBUG=1 shows the "
                           "traceback") and KEY not in out + err
    monkeypatch.setenv("ONENET_OTA_DEBUG", "1")
    with pytest.raises(ValueError):
        cli.main(["token", "--product-id", PID, "--access-key", KEY])
