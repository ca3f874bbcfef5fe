# TLS (issue 7, part 6): the simulator over HTTPS with a throw-away CA made by the
# openssl CLI; the agent, on CPython and the real micropython, verifies the server's
# certificate against the configured CA (config `tls` + `ca`) and fails with a clear
# error on a wrong CA or a wrong host name.
import json
import os
import shutil
import subprocess

import pytest

from support.agent_env import AgentEnv, image, md5
from onenet_ota_tools.sim import Simulator

FIGURES = os.environ.get("OTA_RELIABILITY_OUT")
pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="no openssl CLI")


def _ssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(d, name):
    _ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".pem",
         "-days", "2", "-subj", "/CN=%s" % name, cwd=d)


def _server_cert(d, ca, name, san):
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n" % san)
    _ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
         "-subj", "/CN=sim", cwd=d)
    _ssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial",
         "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext", cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("pki"))
    _ca(d, "ca")
    _ca(d, "other_ca")
    _server_cert(d, "ca", "good", "IP:127.0.0.1,DNS:localhost")
    _server_cert(d, "ca", "wrongname", "DNS:ota.example")
    return d


def _env(tmp_path, runtime, pki, cert):
    e = AgentEnv.__new__(AgentEnv)
    e.tmp, e.runtime, e.log = str(tmp_path), runtime, []
    e.state = os.path.join(e.tmp, "dev")
    e.sim = Simulator(os.path.join(e.tmp, "sim"), port=0,
                      tls=(os.path.join(pki, cert + ".pem"), os.path.join(pki, cert + ".key")))
    e.sim.start()
    from support.agent_env import DEV, KEY, PID

    e.sim.add_device(DEV, PID, KEY)
    return e


def _record(case, runtime, outcome):
    if FIGURES:
        with open(FIGURES, "a") as f:
            f.write(json.dumps({"test": "tls", "case": case, "runtime": runtime, "outcome": outcome}) + "\n")


@pytest.mark.parametrize("case", ["good", "wrong_ca", "wrong_hostname"])
def test_tls(runtime, tmp_path, pki, case):
    cert = "wrongname" if case == "wrong_hostname" else "good"
    ca = os.path.join(pki, "other_ca.pem" if case == "wrong_ca" else "ca.pem")
    env = _env(tmp_path, runtime, pki, cert)
    try:
        assert env.sim.url.startswith("https://")
        data = image(32 * 1024, "V1.4")
        t = env.publish(data, "V1.4")
        s = env.run(sets=["ca=%s" % json.dumps(ca), "retries=0", "timeout_ms=3000"])
        log = env.logtext()
        if case == "good":
            assert s["result"] == "updated" and s["sink_md5"] == md5(data), (s, log)
            assert env.codes(t["id"]) == [101, 201]
            _record(case, runtime, "updated over HTTPS, certificate verified")
        else:
            assert s["result"] == "failed" and s["code"] == 0, (s, log)
            assert "tls: server certificate rejected" in log, log
            assert env.codes(t["id"]) == []
            line = [l for l in log.splitlines() if "certificate rejected" in l][0]
            _record(case, runtime, "refused: `%s`" % line.strip())
    finally:
        env.stop()
