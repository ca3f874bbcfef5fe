# What a CLI test needs around it, in one place: a process environment with no ONENET_*
# and no user config (so a developer's own credentials or ~/.config/onenet-ota never
# reach a test), and a loopback port nothing listens on.
import os
import socket

import pytest


def clean_cli_env(tmp_path, monkeypatch):
    """No ONENET_* variables, HOME and XDG_CONFIG_HOME inside tmp_path (no config file),
    the current directory tmp_path. -> tmp_path."""
    for k in list(os.environ):
        if k.startswith("ONENET_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def free_port():
    """A loopback TCP port found free by binding port 0 (then closed: a connect to it
    is refused until someone binds it)."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def run_cli(capsys, *argv, secrets=()):
    """`onenet-ota ARGV...` in this process -> (exit code, stdout, stderr); none of
    `secrets` may appear in the output."""
    from onenet_ota_tools import cli

    rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    for s in secrets:
        assert s not in out + err, "a secret in the output"
    return rc, out, err


def sim_at(state):
    """A simulator on 127.0.0.1, port 0, keeping its state in `state`, as a context
    manager (started, and stopped on exit)."""
    from onenet_ota_tools.sim import Simulator

    return Simulator(str(state), port=0)


# Fixtures, for a test file to import: `from support.cli_env import clean, sim`.
@pytest.fixture
def clean(tmp_path, monkeypatch):
    """clean_cli_env in the test's tmp_path -> tmp_path."""
    return clean_cli_env(tmp_path, monkeypatch)


@pytest.fixture
def sim(clean):
    """A running simulator (sim_at) with its state in <clean>/state/sim."""
    with sim_at(clean / "state" / "sim") as s:
        yield s
