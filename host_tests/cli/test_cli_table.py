# The host CLI as a table (issue 18, item 4): cli.COMMANDS maps each name to its
# module, argument factory and handler, called as written (no argument-count
# inspection); the platform calls keep no state between two runs in one process (the
# old `_SERVER` global); calls.py's split keeps each module under ~400 lines.
import base64
import importlib
import os

import pytest

from onenet_ota_tools import cli
from support.cli_env import clean_cli_env, free_port

PID = "198290"
KEY = base64.b64encode(b"cli-table-access-key-0123").decode()
DEV = "522747162"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CMDS = os.path.join(ROOT, "tools", "onenet_ota_tools", "commands")


@pytest.fixture
def clean(tmp_path, monkeypatch):
    clean_cli_env(tmp_path, monkeypatch)


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_entry_builds_its_parser(name):
    cmd = cli.COMMANDS[name]
    mod = importlib.import_module("onenet_ota_tools.commands." + cmd.module)
    p = cli.Parser(prog="onenet-ota " + name)
    getattr(mod, cmd.arguments)(p)  # one argument, the parser: as cli._run calls it
    assert callable(getattr(mod, cmd.handler))
    assert p.format_help().startswith("usage: onenet-ota " + name)
    assert cmd.help and "\n" not in cmd.help


def test_cli_does_not_inspect_handlers():
    src = open(os.path.join(ROOT, "tools", "onenet_ota_tools", "cli.py")).read()
    assert "co_argcount" not in src and "import inspect" not in src and "signature(" not in src


def test_network_error_names_this_calls_server(clean, capsys):
    # Two runs in one process: each one's error names its own server, and a failure
    # before any session (no credentials) names none -- no state carried between runs.
    for port in (free_port(), free_port()):
        rc = cli.main(["check", "--server", "http://127.0.0.1:%d" % port, "--product-id", PID,
                       "--access-key", KEY, "--dev-id", DEV, "--version", "V1.3", "--chip", "esp32",
                       "--timeout", "2"])
        err = capsys.readouterr().err
        assert rc == 4, err
        assert "(server http://127.0.0.1:%d)" % port in err
    rc = cli.main(["check", "--server", "http://127.0.0.1:1", "--version", "V1.3", "--chip", "esp32"])
    err = capsys.readouterr().err
    assert rc == 2 and "127.0.0.1" not in err, err


def test_calls_split_by_concern_under_400_lines():
    for name in ("session.py", "calls.py", "download.py"):
        with open(os.path.join(CMDS, name)) as f:
            n = sum(1 for _ in f)
        assert n < 400, (name, n)
    # one dispatch: the table; the modules hold no name -> handler map of their own
    for name in ("session.py", "calls.py", "download.py", "board.py"):
        src = open(os.path.join(CMDS, name)).read()
        assert "HANDLERS" not in src and "[args.command]" not in src and "if name ==" not in src, name


def test_session_is_the_one_place_of_platform_and_host_choices():
    # Server, credentials, client, Api and ipPort redirect are Session's (session.py);
    # the handlers only ask it, so a --platform dialect is added in one place.
    for name in ("calls.py", "download.py"):
        src = open(os.path.join(CMDS, name)).read()
        for made in ("Client(", "Api(", "resolve(", "parse_server(", "SocketTransport", ".addr =",
                     '"--server"', '"--local"'):
            assert made not in src, (name, made)
    src = open(os.path.join(CMDS, "session.py")).read()
    for made in ("self.client = ", "fw_api.Api(", "C.resolve(", "C.parse_server(", "def use_ip_port", '"--server"'):
        assert made in src, made
