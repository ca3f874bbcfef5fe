# The simulator as a service (issue 16): what an attacker on the same machine, a web
# page in the user's browser or a careless client can do to `onenet-ota serve`. Every
# server binds 127.0.0.1 port 0 and is stopped by its test; every loop is bounded.
#
# Figures (memory before/after the chunked body, idle connections held, time to serve)
# go to OTA_RELIABILITY_OUT when set (docs/RELIABILITY.md, `onenet-ota reliability`).
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error

import pytest

from onenet_ota_tools.sim import Clock, Simulator
from test_sim_support import DEV, KEY, NOW, PID, api, authz, publish, request, sim  # noqa: F401

FIGURES = os.environ.get("OTA_RELIABILITY_OUT")


def figure(**kw):
    if FIGURES:
        with open(FIGURES, "a") as f:
            f.write(json.dumps(dict(test="security", **kw)) + "\n")


def raw(sim, data, timeout=10, host=None):
    """Send bytes, read until the server closes or a whole answer came -> bytes."""
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            out += b
            head, sep, body = out.partition(b"\r\n\r\n")
            if sep and b"content-length:" in head.lower():
                n = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(body) >= n:
                    break
        return out
    finally:
        s.close()


def status(answer):
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def get(sim, path, headers=None, method="GET", body=None):
    # No automatic admin token here (test_sim_support.request adds one): headers as given.
    import http.client

    c = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    try:
        c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        h = {"Host": "127.0.0.1:%d" % sim.port}
        h.update(headers or {})
        for k, v in h.items():
            if v is not None:
                c.putheader(k, v)
        if body is not None:
            c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def bearer(sim):
    return {"Authorization": "Bearer " + sim.admin_token}


# -- the admin token ------------------------------------------------------------------------
def test_admin_without_token_is_refused(sim):  # noqa: F811
    t = publish(sim)
    for h in ({}, {"Authorization": "Bearer " + "x" * len(sim.admin_token)},
              {"Authorization": "Bearer " + sim.admin_token[:-1]}, {"Authorization": authz()},
              {"Cookie": "onenet_sim_admin=nope"}, {"Authorization": "Basic " + sim.admin_token}):
        for method, path in (("GET", "/admin/tasks"), ("GET", "/"), ("POST", "/admin/tasks/%d/cancel" % t["id"]),
                             ("GET", "/admin/tasks?token=" + sim.admin_token)):
            st, hd, b = get(sim, path, h, method)
            assert st == 401, (h, path, st)
            assert t["token"].encode() not in b and sim.admin_token.encode() not in b
    assert sim.task(t["id"])["state"] == "pending"
    assert get(sim, "/admin/tasks", bearer(sim))[0] == 200


def test_page_token_url_sets_a_strict_cookie(sim):  # noqa: F811
    assert sim.admin_url == "%s/?token=%s" % (sim.url, sim.admin_token)
    st, hd, b = get(sim, "/?token=" + sim.admin_token)
    assert st == 303 and hd["location"] == "/"
    cookie = hd["set-cookie"]
    assert cookie.startswith("onenet_sim_admin=%s;" % sim.admin_token)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert get(sim, "/?token=wrong" + sim.admin_token)[0] == 401
    jar = {"Cookie": cookie.split(";")[0]}
    st, hd, b = get(sim, "/", jar)
    assert st == 200 and b"/admin/devices" in b
    # What the page's own fetch() sends: the cookie, and for a POST its Origin and a JSON
    # body type (a change with the cookie and any other type: 415, test_sim_console.py).
    assert get(sim, "/admin/devices", dict(jar, **{"Sec-Fetch-Site": "same-origin"}))[0] == 200
    st, _, _ = get(sim, "/admin/stats", dict(jar, Origin="http://127.0.0.1:%d" % sim.port,
                                             **{"Content-Type": "application/json"}), "POST")
    assert st == 200


def test_page_flow_with_a_cookie_jar(sim):  # noqa: F811
    # What a browser does with the printed URL, by the standard library's cookie rules:
    # the redirect keeps the cookie, the page and its fetch() are then allowed.
    import http.cookiejar
    import urllib.request

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(sim.admin_url, timeout=10) as r:
        assert r.status == 200 and r.geturl() == sim.url + "/" and b"/admin/devices" in r.read()
    assert [c.name for c in jar] == ["onenet_sim_admin"]
    with opener.open(sim.url + "/admin/devices", timeout=10) as r:
        assert json.loads(r.read()) == {"devices": []}
    fresh = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with pytest.raises(urllib.error.HTTPError) as e:
        fresh.open(sim.url + "/", timeout=10)
    assert e.value.code == 401


def test_generated_admin_token_never_looks_like_an_option(monkeypatch):
    # `--admin-token VALUE` with a VALUE starting "-" is an argparse error: such draws
    # of token_urlsafe are drawn again.
    from onenet_ota_tools.sim import core

    draws = iter(["-" + "a" * 31, "-" + "b" * 31, "c" * 32])
    monkeypatch.setattr(core.secrets, "token_urlsafe", lambda n: next(draws))
    assert core.new_admin_token() == "c" * 32


def test_token_file_is_0600_and_removed_at_stop(tmp_path):
    s = Simulator(str(tmp_path / "st"), admin_token="given-token-0123456789")
    s.start()
    try:
        p = tmp_path / "st" / "admin-token"
        assert p.read_text().strip() == "given-token-0123456789"
        assert p.stat().st_mode & 0o777 == 0o600
    finally:
        s.stop()
    assert not p.exists()
    with pytest.raises(ValueError):
        Simulator(str(tmp_path / "st2"), admin_token="short")


# -- cross-site requests and DNS rebinding --------------------------------------------------
def test_cross_site_post_is_refused_even_with_the_cookie(sim):  # noqa: F811
    t = publish(sim)
    cookie = "onenet_sim_admin=" + sim.admin_token
    # A <form enctype=text/plain> or fetch(mode: "no-cors") from another site: the cookie
    # would not ride along (SameSite=Strict), and even if it did, Origin says where from.
    for h in ({"Origin": "http://evil.example", "Cookie": cookie},
              {"Origin": "null", "Cookie": cookie},
              {"Origin": "http://127.0.0.1:%d.evil.example" % sim.port, "Cookie": cookie},
              {"Origin": "https://127.0.0.1:%d" % sim.port, "Cookie": cookie},
              {"Sec-Fetch-Site": "cross-site", "Cookie": cookie},
              {"Sec-Fetch-Site": "same-site", "Cookie": cookie},
              dict(bearer(sim), Origin="http://evil.example")):
        st, hd, b = get(sim, "/admin/tasks/%d/cancel" % t["id"], dict(h, **{"Content-Type": "text/plain"}),
                        "POST", b"x=1")
        assert st == 403, (h, st, b)
    assert sim.task(t["id"])["state"] == "pending"


def test_dns_rebinding_host_is_refused(sim):  # noqa: F811
    t = publish(sim)
    for host in ("evil.example:%d" % sim.port, "rebind.attacker.test:%d" % sim.port, "evil.example",
                 "127.0.0.1:%d" % (sim.port + 1), "127.0.0.1", "localhost.evil.example:%d" % sim.port,
                 "127.0.0.1:%d@evil" % sim.port, "", "[::1]:x"):
        st, hd, b = get(sim, "/admin/tasks", dict(bearer(sim), Host=host))
        assert st == 403, (host, st)
        assert t["token"].encode() not in b  # the task list (every download token) not read
    for host in ("127.0.0.1:%d" % sim.port, "localhost:%d" % sim.port, "LOCALHOST:%d" % sim.port,
                 "[::1]:%d" % sim.port):
        assert get(sim, "/admin/tasks", dict(bearer(sim), Host=host))[0] == 200, host
    # The device side answers any Host (devices name ota.heclouds.com); it has its own checks.
    st, _, b = get(sim, "/ota/south/check?dev_id=%s&type=2&version=V1.3" % DEV,
                   {"Host": "ota.heclouds.com", "Authorization": authz()})
    assert st == 200 and json.loads(b)["errno"] == 0


def test_host_names_of_a_given_address(tmp_path):
    s = Simulator(str(tmp_path / "st"), ip_port="sim.example:8002")
    s.start()
    try:
        ok = {"Authorization": "Bearer " + s.admin_token, "Host": "sim.example:%d" % s.port}
        assert get(s, "/admin/stats", ok)[0] == 200
        assert get(s, "/admin/stats", dict(ok, Host="other.example:%d" % s.port))[0] == 403
    finally:
        s.stop()


# -- the older report form ------------------------------------------------------------------
def test_old_report_form_needs_authorization(sim):  # noqa: F811
    t = publish(sim)
    path = "/ota/south/report?dev_id=%s&token=%s" % (DEV, t["token"])
    for a in (False, "", "version=2018-10-31&res=products/%s&et=1&method=sha1&sign=x" % PID,
              authz(et=NOW - 1), authz(pid="999")):
        assert api(sim, "POST", path, {"result": 201}, auth_value=a)["errno"] == 1, a
    assert sim.task(t["id"])["state"] == "pending"
    assert api(sim, "POST", path, {"result": 101})["errno"] == 0
    assert sim.task(t["id"])["state"] == "upgrading"


# -- request bodies -------------------------------------------------------------------------
def _chunked(path, first, host="127.0.0.1"):
    return (b"POST %s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n" % (path.encode(), host.encode())
            + first)


REPORT = "/ota/south/device/download/ota_x/progress?dev_id=%s" % DEV


@pytest.mark.parametrize("first,want", [
    (b"-1\r\n", 400), (b"-0\r\n", 400), (b"+5\r\n", 400), (b"0x10\r\n", 400), (b"\r\n", 400),
    (b"123456789\r\n", 400), (b"FFFFFFFF\r\n", 413), (b"10001\r\n", 413),
    (b"1;" + b"e" * 300 + b"\r\n", 400), (b"5\r\nabcdeXY2\r\n", 400), (b"0\r\n" + b"T: x\r\n" * 40, 400),
])
def test_chunk_size_lines_refused_before_reading(sim, first, want):  # noqa: F811
    ans = raw(sim, _chunked(REPORT, first))
    assert status(ans) == want, ans[:200]
    assert b"Connection: close" in ans


def test_framing_refused(sim):  # noqa: F811
    for head in (b"Content-Length: -1", b"Content-Length: 1e3", b"Content-Length: 5\r\nContent-Length: 6",
                 b"Content-Length: 99999999999999999999", b"Transfer-Encoding: gzip",
                 b"Transfer-Encoding: chunked\r\nContent-Length: 5"):
        ans = raw(sim, b"POST %s HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n" % (REPORT.encode(), head))
        assert status(ans) in (400, 413), (head, ans[:100])
    big = b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (REPORT.encode(), 64 * 1024 + 1)
    assert status(raw(sim, big)) == 413


def test_chunked_total_is_capped(sim):  # noqa: F811
    # Many small chunks: the sum counts (64 KiB on the device API), refused at the chunk
    # that would pass it.
    body = b"".join(b"400\r\n" + b"a" * 1024 + b"\r\n" for _ in range(64)) + b"1\r\nb\r\n0\r\n\r\n"
    assert status(raw(sim, _chunked(REPORT, body))) == 413
    ok = b"e\r\n" + b'{"step":5}    ' + b"\r\n0\r\n\r\n"
    assert status(raw(sim, _chunked(REPORT, ok))) == 200


def _stream(sim, head, total, sent):
    try:
        s = socket.create_connection(("127.0.0.1", sim.port), timeout=10)
    except OSError:
        return
    sent.append("connected")
    block = b"a" * (1 << 20)
    try:
        s.sendall(head)
        while sent[0] < total:
            s.sendall(block)
            sent[0] += len(block)
    except OSError:
        pass
    finally:
        s.close()


@pytest.mark.parametrize("where", ["south", "admin_no_token"])
def test_chunk_size_minus_one_does_not_read_the_stream(sim, where):  # noqa: F811
    # Before: `-1` read to the end of the stream, 300 MiB accepted before any check
    # (24 -> 326 MiB). Now the line is refused, the connection closed: the sender is cut
    # off after what the socket buffers hold, and the process does not grow.
    path = REPORT if where == "south" else "/admin/publish?target=V1&product_id=1&access_key=QUJD&dev_id=d"
    total, sent = 300 << 20, [0]
    before = rss()
    t = threading.Thread(target=_stream, args=(sim, _chunked(path, b"-1\r\n" if where == "south" else b"1000\r\n"),
                                               total, sent), daemon=True)
    t0 = time.monotonic()
    t.start()
    peak = before
    while t.is_alive() and time.monotonic() - t0 < 60:
        peak = max(peak, rss())
        t.join(0.05)
    assert not t.is_alive() and "connected" in sent
    took = time.monotonic() - t0
    peak = max(peak, rss())
    grew = (peak - before) / float(1 << 20)
    figure(case="chunked_minus_one_" + where, rss_before_mib=round(before / 1048576.0, 1),
           rss_peak_mib=round(peak / 1048576.0, 1), sent_mib=round(sent[0] / 1048576.0, 1), seconds=round(took, 2))
    assert sent[0] < 64 << 20, sent[0]  # cut off, not read to the end
    assert grew < 32, grew
    assert get(sim, "/admin/stats", bearer(sim))[0] == 200  # still serving


# -- connections: idle, slow, too many ------------------------------------------------------
def _raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        want = hard
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0], (soft, hard)


def _open_idle(port, n, timeout=30):
    socks, deadline = [], time.monotonic() + timeout
    try:
        while len(socks) < n and time.monotonic() < deadline:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
    except OSError:
        pass
    return socks


def _timed_request(sim):
    t0 = time.monotonic()
    st = get(sim, "/admin/stats", bearer(sim))[0]
    return st, time.monotonic() - t0


def test_2000_idle_connections_do_not_stop_serving(tmp_path):
    n = 2000
    got, old = _raise_nofile(2 * n + 256)
    if got < 2 * n + 256:
        n = (got - 256) // 2  # both ends of every connection live in this process
    if n < 1100:
        resource.setrlimit(resource.RLIMIT_NOFILE, old)
        pytest.skip("ulimit -n hard limit %s: cannot hold 1,100 idle connections" % (old[1],))
    s = Simulator(str(tmp_path / "st"), clock=Clock(fixed=NOW))
    s.start()
    socks = []
    try:
        t0 = time.monotonic()
        socks = _open_idle(s.port, n)
        opened = time.monotonic() - t0
        assert len(socks) == n
        time.sleep(0.5)
        c0 = time.process_time()
        st, took = _timed_request(s)
        time.sleep(2)
        cpu = time.process_time() - c0
        held = len(s._conns)
        figure(case="idle_connections", opened=n, held=held, cap=s.max_connections, seconds_to_serve=round(took, 3),
               cpu_seconds_over_2s=round(cpu, 3), seconds_to_open=round(opened, 1))
        assert st == 200 and took < 3, (st, took)
        assert cpu < 0.5, cpu  # not spinning
        assert held <= s.max_connections + 2
        # A device still gets its check answered, on a fresh connection.
        publish(s)
        assert api(s, "GET", "/ota/south/check?dev_id=%s&type=2&version=V1.3" % DEV)["errno"] == 0
    finally:
        for x in socks:
            x.close()
        s.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, old)


def test_idle_and_slow_heads_are_closed(tmp_path):
    s = Simulator(str(tmp_path / "st"), head_timeout=1.0, idle_timeout=1.5)
    s.start()
    try:
        quiet = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        slow = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        t0 = time.monotonic()
        # Slowloris: a head that is never done, one byte every 0.2 s.
        for ch in b"GET /admin/stats HTTP/1.1\r\nX: " + b"a" * 40:
            try:
                slow.send(bytes((ch,)))
            except OSError:
                break
            time.sleep(0.2)
            if time.monotonic() - t0 > 4:
                break
        slow_closed = time.monotonic() - t0
        assert quiet.recv(10) == b""  # closed without a word
        assert time.monotonic() - t0 < 5
        assert slow_closed < 3.5, slow_closed
        quiet.close()
        slow.close()
        # Kept alive after a request: closed after idle_timeout, not before head_timeout.
        k = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        k.sendall(b"GET /admin/stats HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n\r\n"
                  % (s.port, s.admin_token.encode()))
        assert k.recv(65536).startswith(b"HTTP/1.1 200")
        t1 = time.monotonic()
        assert k.recv(10) == b""
        assert 1.2 < time.monotonic() - t1 < 3.5
        k.close()
    finally:
        s.stop()


def test_cap_evicts_the_longest_idle(tmp_path):
    s = Simulator(str(tmp_path / "st"), max_connections=8)
    for run in range(2):  # and again after a restart of the same Simulator
        s.start()
        socks = []
        try:
            socks = _open_idle(s.port, 20)
            time.sleep(0.3)
            assert len(s._conns) <= 9
            assert socks[0].recv(10) == b""  # the first ones were closed to make room
            assert _timed_request(s)[0] == 200
        finally:
            for x in socks:
                x.close()
            s.stop()
        assert s._live == 0


def test_full_of_busy_connections_answers_503(tmp_path):
    # Nothing idle to close (every connection is sending a body): the new one is told
    # 503 at once, without blocking the accept loop; room again once they are done.
    s = Simulator(str(tmp_path / "st"), max_connections=8)
    s.start()
    busy = []
    try:
        for _ in range(8):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            c.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{" % REPORT.encode())
            busy.append(c)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (len(s._idle) or s._live < 8):  # all 8 accepted, mid-body
            time.sleep(0.05)
        assert not s._idle and s._live == 8
        extra = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        assert extra.recv(200).startswith(b"HTTP/1.1 503")
        extra.close()
        for c in busy:
            c.close()
        busy = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and s._live:
            time.sleep(0.05)
        assert _timed_request(s)[0] == 200
    finally:
        for c in busy:
            c.close()
        s.stop()


def _cpu_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def test_out_of_file_descriptors_no_spin(tmp_path):
    # Before: ~1,017 idle connections at `ulimit -n 1024` stopped the simulator and spun
    # its accept loop at 100 % CPU. Here `serve` runs with 256 descriptors and a cap above
    # that, so accept() itself fails (EMFILE): it must free idle ones and keep serving.
    limit = 256
    env = dict(os.environ, ONENET_ADMIN_TOKEN="fd-test-token-0123456789")
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (%d, resource.getrlimit("
            "resource.RLIMIT_NOFILE)[1])); from onenet_ota_tools.cli import main; sys.exit(main())" % limit)
    p = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", "0", "--quiet", "--max-connections", "5000",
                          "--state-dir", str(tmp_path / "st")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    socks, old = [], None
    try:
        line = p.stdout.readline()
        assert "simulator on" in line, (line, p.stderr.read() if p.poll() is not None else "")
        port = int(line.split()[4].rsplit(":", 1)[1])
        old = _raise_nofile(2 * limit + 600)[1]
        socks = _open_idle(port, limit + 300, timeout=20)
        time.sleep(1)
        c0 = _cpu_of(p.pid)
        t0 = time.monotonic()
        ok, took = None, None
        while time.monotonic() - t0 < 10:
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=5)
                c.sendall(b"GET /admin/stats HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer "
                          b"fd-test-token-0123456789\r\nConnection: close\r\n\r\n" % port)
                ans = c.recv(65536)
                c.close()
                if ans.startswith(b"HTTP/1.1 200"):
                    ok, took = True, time.monotonic() - t0
                    break
            except OSError:
                pass
            time.sleep(0.1)
        time.sleep(max(0, 2 - (time.monotonic() - t0)))
        cpu = (_cpu_of(p.pid) - c0) / (time.monotonic() - t0)
        figure(case="out_of_fds", ulimit=limit, opened=len(socks), seconds_to_serve=round(took or -1, 3),
               cpu_share=round(cpu, 3))
        assert ok, "no answer within 10 s"
        assert took < 5, took
        assert cpu < 0.3, cpu  # a spinning accept loop is ~1.0
    finally:
        for x in socks:
            x.close()
        if old:
            resource.setrlimit(resource.RLIMIT_NOFILE, old)
        p.terminate()
        try:
            p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()


@pytest.mark.skipif(not shutil.which("openssl"), reason="no openssl CLI")
def test_tls_silent_client_does_not_block_accept(tmp_path):
    d = str(tmp_path)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out", "c.pem",
                    "-days", "2", "-subj", "/CN=127.0.0.1"], cwd=d, check=True, capture_output=True, timeout=60)
    import ssl

    s = Simulator(str(tmp_path / "st"), tls=(os.path.join(d, "c.pem"), os.path.join(d, "k.pem")), head_timeout=2)
    s.start()
    try:
        silent = socket.create_connection(("127.0.0.1", s.port), timeout=5)  # no ClientHello
        ctx = ssl.create_default_context(cafile=os.path.join(d, "c.pem"))
        ctx.check_hostname = False
        t0 = time.monotonic()
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", s.port), timeout=5)) as c:
            c.sendall(b"GET /admin/stats HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n\r\n"
                      % (s.port, s.admin_token.encode()))
            assert c.recv(65536).startswith(b"HTTP/1.1 200")
        assert time.monotonic() - t0 < 2
        assert silent.recv(10) == b""  # closed at its head deadline
        silent.close()
    finally:
        s.stop()


def test_log_never_shows_the_admin_token(tmp_path, capsys):
    with Simulator(str(tmp_path / "st"), verbose=True) as s:
        get(s, "/?token=" + s.admin_token)
        raw(s, b"GET /?token=%s HTTP/9.9\r\n\r\n" % s.admin_token.encode())  # CPython's own error line
        raw(s, b"GET /admin/publish?access_key=%s x y z\r\n\r\n" % KEY.encode())
        tok = s.admin_token
    err = capsys.readouterr().err
    assert "sim:" in err and tok not in err and KEY not in err, err


# -- the state files ------------------------------------------------------------------------
def test_state_files_are_0600(tmp_path):
    st = tmp_path / "st"
    st.mkdir()
    (st / "sim.sqlite3").touch(mode=0o644)
    os.chmod(st / "sim.sqlite3", 0o644)  # a database of an older version
    s = Simulator(str(st))
    s.start()
    try:
        publish(s)
        api(s, "GET", "/ota/south/check?dev_id=%s&type=2&version=V1.3" % DEV)
        files = [p for p in st.rglob("*") if p.is_file()]
        assert {"sim.sqlite3", "sim.sqlite3-wal", "admin-token"} <= {p.name for p in files}
        for p in files:
            assert p.stat().st_mode & 0o777 == 0o600, p
        assert KEY not in (st / "admin-token").read_text()
    finally:
        s.stop()
    fresh = tmp_path / "fresh"
    with Simulator(str(fresh)) as s2:
        assert (fresh / "sim.sqlite3").stat().st_mode & 0o777 == 0o600
        assert (fresh / "packages").stat().st_mode & 0o077 == 0
        assert s2.port


def test_clock_refuses_nan(sim):  # noqa: F811
    now = json.loads(request(sim, "GET", "/admin/clock")[2])["now"]
    for b in (b'{"advance": NaN}', b'{"advance": Infinity}', b'{"set": -1}', b'{"advance": "nan"}',
              b'{"set": 1e300}', b'{"advance": true}'):
        st, _, body = request(sim, "POST", "/admin/clock", b)
        assert st == 400, (b, st, body)
    assert json.loads(request(sim, "GET", "/admin/clock")[2])["now"] == now
    publish(sim)
    assert api(sim, "GET", "/ota/south/check?dev_id=%s&type=2&version=V1.3" % DEV)["errno"] == 0
