# What a CLI test needs around it, in one place: a process environment with no ONENET_*
# and no user config (so a developer's own credentials or ~/.config/onenet-ota never
# reach a test), and a loopback port nothing listens on.
import os
import socket


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
