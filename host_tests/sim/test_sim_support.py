# Shared plumbing for the simulator tests (imported by host_tests/sim/test_sim_*.py; no tests
# here). Every simulator is started on 127.0.0.1, port 0, and stopped in a finally.
import base64
import http.client
import json
import subprocess

import pytest

from onenet_ota import auth
from onenet_ota_tools.sim import Clock, Simulator

PID = "198290"
KEY = base64.b64encode(b"simulator-test-access-key!").decode()
DEV = "522747162"
CURL = "/usr/bin/curl"
DATA = bytes((i * 7 + 3) & 0xFF for i in range(100000))
NOW = 1700000000


@pytest.fixture
def sim(tmp_path):
    s = Simulator(str(tmp_path / "state"), clock=Clock(fixed=NOW))
    s.start()
    try:
        yield s
    finally:
        s.stop()


def publish(sim, dev=DEV, data=DATA, **kw):
    kw.setdefault("target", "V1.4")
    kw.setdefault("s_version", "V1.3")
    return sim.publish(product_id=kw.pop("product_id", PID), access_key=kw.pop("access_key", KEY),
                       dev_id=dev, data=data, **kw)


def authz(method="sha1", et=NOW + 3600, pid=PID, key=KEY, res=None):
    return auth.token(pid, key, et, method, res)


def request(sim, method, path, body=None, headers=None, conn=None):
    """-> (status, headers dict (lower-case names), body bytes). A new connection unless
    `conn` is given."""
    c = conn or http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    headers = dict(headers or {})
    if path.split("?")[0] in ("/", "/favicon.ico") or path.startswith("/admin"):
        headers.setdefault("Authorization", admin_auth(sim))
    try:
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        if conn is None:
            c.close()


def admin_auth(sim):
    """The Authorization header of the admin API (the simulator's admin token)."""
    return "Bearer " + sim.admin_token


def api(sim, method, path, body=None, auth_value=None, headers=None, conn=None):
    h = dict(headers or {})
    if auth_value is None:
        auth_value = authz()
    if auth_value is not False:
        h["Authorization"] = auth_value
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    st, hd, b = request(sim, method, path, body, h, conn)
    assert st == 200, (st, b)
    return json.loads(b)


def check_path(dev=DEV, manuf="101", model="10101", type=2, version="V1.3", cdn="false", **extra):
    q = "dev_id=%s&manuf=%s&model=%s&type=%s&version=%s&cdn=%s" % (dev, manuf, model, type, version, cdn)
    for k, v in extra.items():
        q += "&%s=%s" % (k, v)
    return "/ota/south/check?" + q


def progress(sim, token, step, dev=DEV, **kw):
    return api(sim, "POST", "/ota/south/device/download/%s/progress?dev_id=%s" % (token, dev),
               {"step": step}, **kw)


def token_check(sim, token, dev=DEV, **kw):
    return api(sim, "GET", "/ota/south/download/%s/check?dev_id=%s" % (token, dev), **kw)


def curl(sim, *args, timeout=20):
    """Run curl against the simulator; -> (stdout bytes, stderr text, returncode)."""
    p = subprocess.run([CURL, "-sS", "--max-time", "10"] + [a.replace("{url}", sim.url) for a in args],
                       capture_output=True, timeout=timeout)
    return p.stdout, p.stderr.decode(errors="replace"), p.returncode


def curl_head_body(sim, *args):
    """curl -i: -> (status, headers dict, body)."""
    out, err, rc = curl(sim, "-i", *args)
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body, rc
