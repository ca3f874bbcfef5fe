# Shared test plumbing. Firmware cases (host_tests/fw/cases_*.py) are plain functions
# that run unchanged on CPython (with the shim) and on the real unix `micropython`;
# `run_cases` runs one module on one runtime in a subprocess and returns the results.
import json
import os

import pytest

from onenet_ota_tools import runtimes

HERE = os.path.dirname(os.path.abspath(__file__))
FW_CASES = os.path.join(HERE, "fw")
RUNTIMES = ("cpython", "micropython")


def run_cases(module, runtime, heap="32k", timeout=240, cases=()):
    p = runtimes.run(
        runtime,
        os.path.join(FW_CASES, "runner.py"),
        [module] + list(cases),
        heap=heap,
        timeout=timeout,
        extra_paths=[FW_CASES],
    )
    results = {}
    for line in p.stdout.splitlines():
        if line.startswith("CASE "):
            _, name, status, rest = (line.split(" ", 3) + [""])[:4]
            results[name] = (status, rest)
    if not results:
        raise AssertionError(
            "no case ran on %s (exit %s)\n%s\n%s" % (runtime, p.returncode, p.stdout, p.stderr)
        )
    failed = {k: v[1] for k, v in results.items() if v[0] != "ok"}
    assert not failed, "%s on %s failed: %s\n%s" % (module, runtime, failed, p.stderr[-4000:])
    out = {}
    for k, v in results.items():
        try:
            out[k] = json.loads(v[1])
        except ValueError:
            out[k] = v[1]
    return out


@pytest.fixture(params=RUNTIMES)
def runtime(request):
    return request.param


@pytest.fixture
def env(runtime, tmp_path):
    # A simulator and a device state folder for one runtime (support/agent_env.py);
    # the simulator is stopped whatever the test did.
    from support.agent_env import AgentEnv

    e = AgentEnv(tmp_path, runtime)
    try:
        yield e
    finally:
        e.stop()


@pytest.fixture
def state_base(tmp_path, monkeypatch):
    # Where the shim's cases make their state folders (ota_shim.fresh): this test's tmp.
    monkeypatch.setenv("OTA_STATE_BASE", str(tmp_path))
    return tmp_path


@pytest.fixture
def cli(capsys):
    # onenet-ota in-process: run(*argv) -> (exit code, stdout, stderr)
    from onenet_ota_tools.cli import main

    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


SECRET = "c2VjcmV0LWFjY2Vzcy1rZXk9PQ=="  # a made-up access key the board tests look for
WIFI_PASSWORD = "wifi-pass-123"


@pytest.fixture
def secrets(tmp_path):
    # A board's secrets.json, filled in.
    p = tmp_path / "secrets.json"
    p.write_text(json.dumps({"product_id": "198290", "dev_id": "5566", "access_key": SECRET,
                             "wifi": {"ssid": "lab", "password": WIFI_PASSWORD}}))
    return str(p)

