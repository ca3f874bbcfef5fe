# HTTP behaviour (keep-alive, Connection: close, bounded parsing, Nagle), lifecycle
# (stop releases the port and joins threads, state survives a restart), the admin API,
# the page, and the serve / publish / admin commands as subprocesses.
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from onenet_ota_tools.sim import Simulator
from test_sim_support import DATA, DEV, KEY, PID, api, authz, check_path, publish, request, sim  # noqa: F401


def test_keep_alive_many_requests_one_connection(sim):  # noqa: F811
    t = publish(sim)
    sim.stats.reset()
    c = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    try:
        t0 = time.time()
        for i in range(100):
            a = i * 1000
            st, hd, b = request(sim, "GET", "/ota/south/download/" + t["token"],
                                headers={"Range": "bytes=%d-%d" % (a, a + 999)}, conn=c)
            assert st == 206 and b == DATA[a:a + 1000]
            assert api(sim, "GET", check_path(), conn=c)["errno"] == 0
        # 200 requests: a Nagle/delayed-ACK stall would cost ~40 ms each.
        assert time.time() - t0 < 6
    finally:
        c.close()
    s = sim.stats.as_dict()
    assert s["connections"] == 1 and s["requests"] == 200 and sim.stats["downloads"] == 100


def test_connection_close_honoured(sim):  # noqa: F811
    publish(sim)
    for line, closes in (("Connection: close\r\n", True), ("", False)):
        s = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
        try:
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n%s\r\n" % (
                check_path(), authz(), line)).encode())
            out = b""
            s.settimeout(0.5)
            try:
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    out += b
                closed = True
            except socket.timeout:
                closed = False
            assert closed == closes
            assert out.startswith(b"HTTP/1.1 200 ") and out.endswith(b"}")
            assert (b"Connection: close" in out) == closes
        finally:
            s.close()


def test_http10_client_gets_close(sim):  # noqa: F811
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    try:
        s.sendall(b"GET /admin/stats HTTP/1.0\r\nAuthorization: Bearer %s\r\n\r\n" % sim.admin_token.encode())
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
        assert out.startswith(b"HTTP/1.1 200") and b'"requests"' in out
    finally:
        s.close()


def test_bounded_request_parsing(sim):  # noqa: F811
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    try:
        s.sendall(b"GET /" + b"a" * 65532)  # 65537 bytes, all read: no RST
        assert b" 414 " in s.recv(200)
    finally:
        s.close()
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    try:
        s.sendall(b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(150)) + b"\r\n")
        assert b"431" in s.recv(200)
    finally:
        s.close()
    big = b"{" + b" " * (70 * 1024) + b"}"
    st, hd, b = request(sim, "POST", "/ota/device/version?dev_id=x", big)
    assert st == 413


def test_header_lines_single_write(sim, monkeypatch):  # noqa: F811
    # Headers and a small body leave in one sendall.
    from onenet_ota_tools.sim import server

    calls = []
    real = server.Handler._send

    def spy(self, data):
        calls.append(len(data))
        return real(self, data)

    monkeypatch.setattr(server.Handler, "_send", spy)
    t = publish(sim)
    request(sim, "GET", "/ota/south/download/" + t["token"], headers={"Range": "bytes=0-999"})
    api(sim, "GET", check_path())
    assert len(calls) == 2
    calls.clear()
    request(sim, "GET", "/ota/south/download/" + t["token"])  # 100 kB: headers + one big write
    assert len(calls) == 2 and calls[1] == len(DATA)


def test_stop_releases_port_and_joins_threads(tmp_path):
    before = threading.active_count()
    s = Simulator(str(tmp_path / "st"))
    s.start()
    port = s.port
    try:
        t = s.publish(target="V2", product_id=PID, access_key=KEY, dev_id=DEV, data=DATA)
        conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(5)]
        for c in conns:  # idle keep-alive connections must not block stop()
            c.request("GET", "/admin/tasks/%d" % t["id"])
            c.getresponse().read()
        s.fault(DEV, stall=30, stall_after=10)
        hung = threading.Thread(target=lambda: request(s, "GET", "/ota/south/download/" + t["token"]))
        hung.daemon = True
        hung.start()
        time.sleep(0.2)
    finally:
        t0 = time.time()
        s.stop()
    assert time.time() - t0 < 5
    hung.join(5)
    for c in conns:
        c.close()
    assert threading.active_count() <= before + 1
    b = socket.socket()
    try:  # the port is free again (TIME_WAIT of closed connections aside)
        b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        b.bind(("127.0.0.1", port))
        b.listen(1)
    finally:
        b.close()


def test_state_survives_restart(tmp_path):
    d = str(tmp_path / "st")
    with Simulator(d) as s:
        t = s.publish(target="V2", product_id=PID, access_key=KEY, dev_id=DEV, data=DATA, s_version="V1")
        request(s, "GET", "/ota/south/download/" + t["token"], headers={"Range": "bytes=0-9"})
    with Simulator(d) as s:
        v = s.task(t["id"])
        assert v["state"] == "downloading" and v["token"] == t["token"] and v["served"] == 10
        assert request(s, "GET", "/ota/south/download/" + t["token"])[2] == DATA
        assert [e["kind"] for e in s.events(DEV)][:2] == ["device_created", "task_created"]
        assert api(s, "POST", "/ota/device/version?dev_id=" + DEV, {"s_version": "V2"},
                   auth_value=authz(et=int(time.time()) + 100))["errno"] == 0
        assert s.task(t["id"])["state"] == "succeeded"


def test_admin_api(sim):  # noqa: F811
    st, hd, b = request(sim, "POST", "/admin/publish?target=V9&product_id=%s&access_key=%s&dev_id=d1&type=1"
                        "&manuf=001&model=00108&retry=2&name=fw.bin" % (PID, KEY.replace("=", "%3D")), DATA)
    t = json.loads(b)
    assert st == 200 and t["size"] == len(DATA) and t["file"] == "fw.bin" and t["type"] == 1 and t["retry"] == 2
    assert KEY not in b.decode()
    j = lambda *a: json.loads(request(sim, *a)[2])  # noqa: E731
    assert [d["dev_id"] for d in j("GET", "/admin/devices")["devices"]] == ["d1"]
    assert KEY not in json.dumps(j("GET", "/admin/devices"))
    assert j("GET", "/admin/tasks?dev_id=d1")["tasks"][0]["token"] == t["token"]
    assert j("POST", "/admin/tasks/%d/pause" % t["id"])["state"] == "paused"
    assert j("POST", "/admin/tasks/%d/resume" % t["id"])["state"] == "pending"
    assert j("POST", "/admin/tasks/%d/expire" % t["id"])["expired"] is True
    assert j("POST", "/admin/tasks/%d/cancel" % t["id"])["state"] == "cancelled"
    assert request(sim, "POST", "/admin/tasks/%d/cancel" % t["id"])[0] == 409
    assert request(sim, "GET", "/admin/tasks/999")[0] == 404
    assert request(sim, "POST", "/admin/publish?target=V9", DATA)[0] == 400
    assert request(sim, "POST", "/admin/publish?target=bad%%20v&product_id=1&access_key=%s&dev_id=d2" % KEY,
                   DATA)[0] == 400
    assert request(sim, "POST", "/admin/publish?target=V1&product_id=%s&access_key=QUJD&dev_id=d3" % PID,
                   DATA)[0] == 409  # product exists with another key
    ev = j("GET", "/admin/events?dev_id=d1")["events"]
    assert [e["detail"].get("new") for e in ev if e["kind"] == "state"] == [
        "paused", "pending", "cancelled"]
    now = j("GET", "/admin/clock")["now"]
    assert j("POST", "/admin/clock", b'{"advance": 3600}')["now"] == now + 3600
    assert j("POST", "/admin/clock", b'{"set": 5}')["now"] == pytest.approx(5, abs=1)
    assert j("GET", "/admin/stats")["requests"] >= 1
    assert request(sim, "GET", "/admin/nothing")[0] == 404
    st, hd, b = request(sim, "POST", "/admin/devices", json.dumps(
        {"dev_id": "d9", "product_id": PID, "access_key": KEY, "s_version": "V1"}).encode())
    assert st == 200 and json.loads(b)["s_version"] == "V1"


def test_page(sim):  # noqa: F811
    st, hd, b = request(sim, "GET", "/")
    assert st == 200 and hd["content-type"].startswith("text/html")
    assert b"/admin/devices" in b and b"bar" in b


def test_no_secrets_in_log(tmp_path, capsys):
    from onenet_ota_tools.sim.store import Clock

    with Simulator(str(tmp_path / "st"), verbose=True, clock=Clock(fixed=1700000000)) as s:
        t = s.publish(target="V2", product_id=PID, access_key=KEY, dev_id=DEV, data=DATA)
        a = authz()
        api(s, "GET", check_path(), auth_value=a)
        request(s, "GET", "/ota/south/download/" + t["token"])
    err = capsys.readouterr().err
    assert "/ota/south/check" in err and a not in err and KEY not in err and t["token"] not in err
    assert a.split("sign=")[1] not in err


# -- the commands, as a user runs them ---------------------------------------------------
# The installed entry point (`python -m onenet_ota_tools.cli` would load cli.py twice).
CLI = [sys.executable, "-c", "import sys; from onenet_ota_tools.cli import main; sys.exit(main())"]


def _cli0(*args, timeout=30):
    return subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=timeout)


def _cli(*args, timeout=30):
    return subprocess.run(CLI + list(args), capture_output=True,
                          text=True, timeout=timeout)


def test_serve_publish_admin_commands(tmp_path):
    fw = tmp_path / "fw.bin"
    fw.write_bytes(DATA)
    p = subprocess.Popen(CLI + ["serve", "--port", "0", "--state-dir", str(tmp_path / "st"),
                                "--fault", DEV + ":latency=0.01"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        assert line.startswith("OneNET OTA simulator on http://127.0.0.1:"), line
        url = line.split()[4]
        tok = p.stdout.readline().split()[2]
        st = tmp_path / "st"
        assert (st / "admin-token").read_text().strip() == tok
        assert (st / "admin-token").stat().st_mode & 0o777 == 0o600
        # No token: refused, one line, exit 2; the token from --state-dir, the env or the flag.
        r = _cli0("admin", "stats", "--server", url, "--state-dir", str(tmp_path / "elsewhere"))
        assert r.returncode == 2 and "no admin token" in r.stderr and len(r.stderr.splitlines()) == 1
        r = _cli0("admin", "stats", "--server", url, "--admin-token", "x" * 20)
        assert r.returncode == 1 and "401" in r.stderr and "x" * 20 not in r.stderr
        r = subprocess.run(CLI + ["admin", "stats", "--server", url], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, ONENET_ADMIN_TOKEN=tok))
        assert r.returncode == 0 and "requests" in r.stdout
        assert _cli0("admin", "stats", "--server", url, "--admin-token", tok).returncode == 0

        def _cli(*args, timeout=30):  # noqa: F811 -- the rest finds the token in the state dir
            return subprocess.run(CLI + list(args) + ["--state-dir", str(st)], capture_output=True, text=True,
                                  timeout=timeout)

        r = _cli("publish", "--server", url, "--file", str(fw), "--target", "V1.4", "--product-id", PID,
                 "--access-key", KEY, "--dev-id", DEV, "--json")
        assert r.returncode == 0, r.stderr
        t = json.loads(r.stdout)
        assert t["size"] == len(DATA) and t["token"].startswith("ota_") and t["state"] == "pending"
        r = _cli("publish", "--server", url, "--file", str(fw), "--target", "V1.4", "--product-id", PID,
                 "--access-key", KEY, "--dev-id", DEV)
        assert r.returncode == 1 and "already has an open task" in r.stderr
        r = _cli("admin", "tasks", "--server", url)
        assert r.returncode == 0 and t["token"] in r.stdout and "pending" in r.stdout
        r = _cli("admin", "devices", "--server", url, "--json")
        assert json.loads(r.stdout)["devices"][0]["dev_id"] == DEV
        assert _cli("admin", "pause", str(t["id"]), "--server", url).stdout.count("paused") == 1
        r = _cli("admin", "pause", str(t["id"]), "--server", url)
        assert r.returncode == 1 and "cannot pause" in r.stderr
        assert "pending" in _cli("admin", "resume", str(t["id"]), "--server", url).stdout
        r = _cli("admin", "fault", "--server", url, "--dev-id", DEV, "drop_after=5", "chunked")
        assert r.returncode == 0 and '"drop_after": 5' in r.stdout
        r = _cli("admin", "fault", "--server", url, "--dev-id", DEV, "wat=1")
        assert r.returncode == 1 and "unknown fault knob" in r.stderr
        r = _cli("admin", "fault", "--server", url, "--json")
        assert json.loads(r.stdout)["faults"][0]["knobs"]["latency"] == 0.01
        assert _cli("admin", "fault", "--clear", "--server", url).returncode == 0
        assert "now" in _cli("admin", "clock", "--advance", "60", "--server", url).stdout
        r = _cli("admin", "events", "--dev-id", DEV, "--server", url)
        assert "task_created" in r.stdout and "paused" in r.stdout
        assert "requests" in _cli("admin", "stats", "--server", url).stdout
        assert "cancelled" in _cli("admin", "cancel", str(t["id"]), "--server", url).stdout
    finally:
        p.terminate()
        try:
            p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
    assert p.returncode == 0
    assert os.path.exists(tmp_path / "st" / "sim.sqlite3")


def test_cli_errors(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = _cli("admin", "devices", "--server", "http://127.0.0.1:%d" % port, "--admin-token", "t" * 20)
    assert r.returncode == 1 and "cannot reach the simulator" in r.stderr
    r = _cli("publish", "--server", "http://127.0.0.1:%d" % port, "--file", str(tmp_path / "none"), "--target",
             "V1", "--product-id", "1", "--access-key", KEY, "--dev-id", "d")
    assert r.returncode == 2 and "none" in r.stderr
    r = _cli("serve", "--port", "0", "--state-dir", str(tmp_path), "--fault", "nonsense")
    assert r.returncode == 2 and "fault spec" in r.stderr
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        r = _cli("serve", "--port", str(busy.getsockname()[1]), "--state-dir", str(tmp_path / "s2"))
        assert r.returncode == 1 and "cannot listen" in r.stderr
    finally:
        busy.close()
