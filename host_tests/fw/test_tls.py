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


# Fail closed: https:// with no CA configured. MicroPython has no certificate store, so
# it refuses to connect (it used to accept any certificate and install what it got);
# CPython checks against the system store, which does not hold the test CA. Only an
# explicit `insecure` connects, and the agent says so.
@pytest.mark.parametrize("case", ["no_ca", "insecure"])
def test_tls_without_ca(runtime, tmp_path, pki, case):
    env = _env(tmp_path, runtime, pki, "good")
    try:
        data = image(32 * 1024, "V1.4")
        t = env.publish(data, "V1.4")
        sets = ["retries=0", "timeout_ms=3000"] + (["insecure=true"] if case == "insecure" else [])
        s = env.run(sets=sets)
        log = env.logtext()
        if case == "insecure":
            assert s["result"] == "updated" and s["sink_md5"] == md5(data), (s, log)
            assert "without verifying the server (insecure)" in log, log
            _record(case, runtime, "updated, the log says the server was not verified")
        else:
            assert s["result"] == "failed" and s["bytes"] == 0 and env.codes(t["id"]) == [], (s, log)
            want = "no ca file" if runtime == "micropython" else "certificate rejected"
            assert want in log, log
            line = [l for l in log.splitlines() if want in l][0]
            _record(case, runtime, "refused: `%s`" % line.strip())
    finally:
        env.stop()


def test_esp32_board_defaults_to_verified_tls_on_443():
    # The ESP32 profile talks to the platform over TLS on 443 (§10), verified against the
    # DigiCert Global Root CA it ships; the file parses, and MicroPython's own tls loads
    # it the way transport.py does (DER per certificate).
    from onenet_ota_tools import ROOT, runtimes

    bdir = os.path.join(ROOT, "boards", "esp32")
    with open(os.path.join(bdir, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["tls"] is True and cfg["port"] == 443 and not cfg.get("insecure")
    pem = os.path.join(bdir, cfg["ca"])
    r = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-subject"], capture_output=True, text=True)
    assert "CN = DigiCert Global Root CA" in r.stdout, r.stderr
    script = (
        "import tls\nfrom binascii import a2b_base64\n"
        "d = open(%r, 'rb').read()\nc = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)\n"
        "p = d.split(b'-----')\nfor i in range(2, len(p), 4):\n    c.load_verify_locations(a2b_base64(p[i]))\n"
        "print('loaded', (len(p) - 1) // 4)\n" % pem)
    r = subprocess.run([runtimes.micropython_binary(), "-c", script], capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "loaded 1", r.stderr
