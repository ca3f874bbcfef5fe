# Issue 15: round trips on a link. pipe.Client writes the first range behind the
# token check in one write (pipelined), so both cost one round trip; an answer asked
# for ahead is never taken for another request's. A raw server on 127.0.0.1 that
# answers nothing until it holds both requests: a client that waited for the first
# answer would time out here.
import re
import socket
import threading

from onenet_ota.pipe import Client

BODY = bytes(range(256)) * 8
JSON = b'{"errno":0,"error":"succ"}'


def _answer_json():
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(JSON), JSON)


def _answer_range(a, b):
    part = BODY[a : b + 1]
    return b"HTTP/1.1 206 Partial Content\r\nContent-Length: %d\r\nContent-Range: bytes %d-%d/%d\r\n\r\n%s" % (
        len(part), a, b, len(BODY), part)


class Server:
    # want: requests each connection must hold (all of them) before any answer goes out
    def __init__(self, want):
        self.want = want
        self.seen = []  # per connection: the request lines, in arrival order
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.ls.settimeout(5)
        self.port = self.ls.getsockname()[1]
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        for want in self.want:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            c.settimeout(5)
            buf = b""
            try:
                while buf.count(b"\r\n\r\n") < want:
                    d = c.recv(4096)
                    if not d:
                        break
                    buf += d
                heads = [h for h in buf.split(b"\r\n\r\n") if h]
                self.seen.append([h.split(b"\r\n")[0].decode() for h in heads])
                out = b""
                for h in heads:
                    rng = [l for l in h.split(b"\r\n") if l.lower().startswith(b"range:")]
                    if rng:
                        a, b = rng[0].split(b"=")[1].split(b"-")
                        out += _answer_range(int(a), int(b) if b else len(BODY) - 1)
                    else:
                        out += _answer_json()
                c.sendall(out)
                c.recv(1)  # until the client closes
            except OSError:
                pass
            finally:
                c.close()

    def stop(self):
        self.ls.close()
        self.t.join(10)


def _listen(serve):
    # A one-off server on 127.0.0.1: serve(ls) in a thread -> (ls, thread, a Client of it)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(2)
    ls.settimeout(5)
    t = threading.Thread(target=serve, args=(ls,), daemon=True)
    t.start()
    return ls, t, Client("127.0.0.1", ls.getsockname()[1], timeout_ms=3000)


def test_first_range_goes_out_behind_the_token_check():
    srv = Server([2])
    try:
        c = Client("127.0.0.1", srv.port, timeout_ms=3000)
        path = "/ota/south/download/tok"
        c.after = (path, 100, -1, ())
        assert c.request("GET", "/ota/south/download/tok/check?dev_id=1") == 200
        buf = bytearray(64)
        assert bytes(memoryview(buf)[: c.read_body(buf)]) == JSON
        assert c.send_range(path, 100, -1) == 206
        assert (c.crange[0], c.crange[1], c.length) == (100, len(BODY) - 1, len(BODY) - 100)
        body = bytearray(c.length)
        c.readinto(body, c.length)
        assert bytes(body) == BODY[100:]
        c.close()
        # both requests on one connection, written before any answer came
        assert srv.seen == [["GET /ota/south/download/tok/check?dev_id=1 HTTP/1.1", "GET %s HTTP/1.1" % path]]
        assert (c.connections, c.requests) == (1, 2)
    finally:
        srv.stop()


def test_an_answer_asked_ahead_is_never_taken_for_another_request():
    # The token check's caller went elsewhere (an error answer, a re-check): the next
    # request must not read the range's answer; it goes on a new connection.
    srv = Server([2, 1])
    try:
        c = Client("127.0.0.1", srv.port, timeout_ms=3000)
        c.after = ("/dl", 0, 99, ())
        assert c.request("GET", "/check") == 200
        buf = bytearray(64)
        c.read_body(buf)
        assert c.request("GET", "/again") == 200
        n = c.read_body(buf)
        assert bytes(memoryview(buf)[:n]) == JSON and c.status == 200
        assert c.connections == 2
        # a range other than the one written ahead is asked for afresh, too
        c.after = None
        c.close()
        assert srv.seen[1] == ["GET /again HTTP/1.1"]
    finally:
        srv.stop()


def test_a_different_range_is_sent_afresh():
    srv = Server([2, 1])
    try:
        c = Client("127.0.0.1", srv.port, timeout_ms=3000)
        c.after = ("/dl", 0, 99, ())
        c.request("GET", "/check")
        c.read_body(bytearray(64))
        assert c.send_range("/dl", 10, 19) == 206
        body = bytearray(10)
        c.readinto(body, 10)
        assert bytes(body) == BODY[10:20] and c.connections == 2
        c.close()
    finally:
        srv.stop()


def test_the_check_goes_out_behind_the_version_report():
    # agent._task: one write for both, the check's answer read only by the check
    srv = Server([2])
    try:
        c = Client("127.0.0.1", srv.port, timeout_ms=3000)
        auth = (("Authorization", "x"),)
        c.after = ("/check?dev_id=1", auth)
        assert c.request("POST", "/version?dev_id=1", auth, '{"s_version":"1"}') == 200
        buf = bytearray(64)
        assert bytes(memoryview(buf)[: c.read_body(buf)]) == JSON
        assert c.request("GET", "/check?dev_id=1", auth) == 200
        assert bytes(memoryview(buf)[: c.read_body(buf)]) == JSON
        c.close()
        # (the test server splits at blank lines: the POST's body leads the next "head")
        assert srv.seen == [["POST /version?dev_id=1 HTTP/1.1", '{"s_version":"1"}GET /check?dev_id=1 HTTP/1.1']]
        assert (c.connections, c.requests) == (1, 2)
    finally:
        srv.stop()


def test_an_answer_written_behind_is_read_by_its_own_request_only():
    # The version report failed (its caller retries it, or goes on to another call):
    # that request is not the check, so the check's answer is dropped with the
    # connection, never read as its answer; a range request likewise.
    auth = (("Authorization", "x"),)
    for again in (("POST", "/version", auth, "{}"), ("GET", "/check", (("Authorization", "y"),), None)):
        srv = Server([2, 1])
        try:
            c = Client("127.0.0.1", srv.port, timeout_ms=3000)
            c.after = ("/check", auth)
            c.request("POST", "/version", auth, "{}")
            buf = bytearray(64)
            c.read_body(buf)
            assert c.request(*again) == 200
            c.read_body(buf)
            c.close()
            assert c.connections == 2
            assert srv.seen[1][0] == "%s %s HTTP/1.1" % again[:2], srv.seen
        finally:
            srv.stop()
    srv = Server([2, 1])
    try:
        c = Client("127.0.0.1", srv.port, timeout_ms=3000)
        c.after = ("/check", auth)
        c.request("POST", "/version", auth, "{}")
        c.read_body(bytearray(64))
        assert c.send_range("/dl", 0, 9) == 206 and c.connections == 2
        c.close()
        assert srv.seen[1] == ["GET /dl HTTP/1.1"]
    finally:
        srv.stop()


def test_a_check_the_server_closed_on_is_sent_again_once():
    # The server answered the first request and closed (no Connection: close) before
    # reading the one behind it: that request never got there; it goes once more, on a
    # new connection, and its own answer is read.
    seen = []

    def serve(ls):
        for first in (True, False):
            c, _ = ls.accept()
            try:
                buf = _heads(c, b"", 2 if first else 1)
                seen.append([h.split(b"\r\n")[0].decode() for h in buf.split(b"\r\n\r\n") if h])
                body = b'{"errno":0,"n":%d}' % len(seen)
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                if not first:
                    c.recv(1)
            finally:
                c.close()

    ls, t, c = _listen(serve)
    try:
        c.after = ("/check", ())
        assert c.request("POST", "/version", (), "{}") == 200
        buf = bytearray(64)
        assert bytes(memoryview(buf)[: c.read_body(buf)]) == b'{"errno":0,"n":1}'
        assert c.request("GET", "/check") == 200
        assert bytes(memoryview(buf)[: c.read_body(buf)]) == b'{"errno":0,"n":2}'
        c.close()
        t.join(10)
        assert seen == [["POST /version HTTP/1.1", "{}GET /check HTTP/1.1"], ["GET /check HTTP/1.1"]]
        assert c.connections == 2
    finally:
        ls.close()


def _heads(c, buf, want, timeout=2.0):
    # read from c until buf holds `want` request heads (or the time-out) -> buf
    c.settimeout(timeout)
    try:
        while buf.count(b"\r\n\r\n") < want:
            d = c.recv(4096)
            if not d:
                break
            buf += d
    except OSError:
        pass
    return buf


def test_push_writes_the_next_range_while_this_one_streams():
    # The server sends half of the first range, then waits for the second request
    # before the rest: it comes only if the client asked for it while reading.
    got = {}

    def serve(ls):
        c, _ = ls.accept()
        try:
            buf = _heads(c, b"", 1)
            a1 = _answer_range(0, 999)
            c.sendall(a1[: len(a1) - 500])
            buf = _heads(c, buf, 2)
            got["second_before_first_ended"] = buf.count(b"\r\n\r\n") == 2
            c.sendall(a1[len(a1) - 500 :] + _answer_range(1000, 1999))
            c.recv(1)
        finally:
            c.close()

    ls, t, c = _listen(serve)
    try:
        path = "/dl"
        assert c.send_range(path, 0, 999) == 206
        assert c.push(path, 1000, 1999) is True
        assert c.push(path, 2000, 2047) is False  # one ahead at most
        b1 = bytearray(1000)
        c.readinto(b1, 1000)
        assert c.send_range(path, 1000, 1999) == 206
        b2 = bytearray(1000)
        c.readinto(b2, 1000)
        c.close()
        t.join(10)
        assert bytes(b1 + b2) == BODY[:2000]
        assert got == {"second_before_first_ended": True}
        assert (c.connections, c.requests) == (1, 2)
    finally:
        ls.close()


# -- the agent, through the link emulator: what goes over which connection ------------


_LINE = re.compile(rb"(?:GET|POST) /\S* HTTP/1\.1|HTTP/1\.1 \d{3}[ -~]*")


class _Recorder:
    # Wraps linkemu's _Pipe.push: per connection (one pipe each way), the request and
    # status lines in the order they entered the link.
    def __init__(self, monkeypatch):
        from onenet_ota_tools import linkemu

        self.log = []
        self.pipes = {}
        orig = linkemu._Pipe.push

        self.times = []  # (pipe, entered the link, its last byte delivered, lines)

        def push(pipe, data, now):
            orig(pipe, data, now)
            n = self.pipes.setdefault(id(pipe), len(self.pipes))
            # a status line may follow the answer before it without a line break
            lines = [m.group(0).decode()[:60] for m in _LINE.finditer(bytes(data))]
            self.log += [(n, l) for l in lines]
            self.times.append((n, now, pipe.last, lines))

        monkeypatch.setattr(linkemu._Pipe, "push", push)


def _kind(line):
    if "/progress" in line:
        return "progress"
    if "/download/" in line:
        return "token check" if "/check?" in line else "range"
    if "/version" in line:
        return "version"
    return "check" if "/check?" in line else line[:12]


def test_token_check_and_first_range_share_the_warm_connection(env, monkeypatch):
    from onenet_ota_tools import linkemu

    from support.agent_env import image, md5

    rec = _Recorder(monkeypatch)
    data = image(64 * 1024, "V1.5")
    t = env.publish(data, "V1.5")
    with linkemu.Link(env.sim.port, rate=50_000_000, rtt=0.05) as link:
        s = env.run(server="http://127.0.0.1:%d" % link.port)
        assert s["result"] == "updated" and s["sink_md5"] == md5(data), env.logtext()
        conns = link.stats["connections"]
    assert env.task(t["id"])["state"] == "succeeded"
    up0 = [_kind(l) for p, l in rec.log if p == 0]  # the first connection, device -> server
    # version, check, token check and the download on the first connection; the token
    # check and the range went out before the token check's answer came (pipelined)
    assert up0 == ["version", "check", "token check", "range"], rec.log
    # ... and the check entered the link with the version report, in one write
    writes = [[_kind(l) for l in lines] for p, _now, _last, lines in rec.times if p == 0]
    assert writes[:2] == [["version", "check"], ["token check", "range"]], writes
    first = [_kind(l) for p, l in rec.log if p in (0, 1)]
    i = first.index("token check")
    assert first[i : i + 4] == ["token check", "range", "HTTP/1.1 200", "HTTP/1.1 206"], first
    # the progress reports and the 101 on a second connection; the confirm boot one more
    assert conns == 3 and env.codes(t["id"]) == [101, 201]
    st = env.sim.stats.as_dict()
    assert st["connections"] == 3 and st["requests"] == 4 + len(env.steps(t["id"])) + 2, st


def test_bounded_ranges_are_pipelined_and_progress_goes_aside(env, monkeypatch):
    from onenet_ota_tools import linkemu

    from support.agent_env import image, md5

    rec = _Recorder(monkeypatch)
    data = image(64 * 1024, "V1.6")
    t = env.publish(data, "V1.6")
    # 20 kB/s: a 16 KiB range streams for 0.8 s (the margin for a loaded machine)
    with linkemu.Link(env.sim.port, rate=20_000, rtt=0.05) as link:
        s = env.run(server="http://127.0.0.1:%d" % link.port, sets=("request=16384",))
        assert s["result"] == "updated" and s["sink_md5"] == md5(data), env.logtext()
    up0 = [_kind(l) for p, l in rec.log if p == 0]
    assert up0 == ["version", "check", "token check"] + ["range"] * 4, rec.log
    # every range after the first was asked for while the one before still streamed:
    # its request entered the link before that answer's last byte reached the device
    asked, ends = [], []
    for p, now, last, lines in rec.times:
        if p == 0 and any(_kind(l) == "range" for l in lines):
            asked.append(now)
        if p == 1:
            if any(l.startswith("HTTP/1.1 206") for l in lines):
                ends.append(last)
            elif ends:
                ends[-1] = max(ends[-1], last)
    assert len(asked) == 4 and len(ends) == 4
    for k in range(1, 4):
        assert asked[k] < ends[k - 1], (k, asked, ends)
    assert env.task(t["id"])["state"] == "succeeded" and env.codes(t["id"]) == [101, 201]


def test_a_version_report_that_fails_is_retried_alone_and_the_check_after_it(env, monkeypatch):
    # errno 7 to the version report: its retry (back-off, a new connection) goes alone,
    # then the check; the check's answer that came behind the failed report is dropped
    # with its connection, never read as the retried report's answer.
    from onenet_ota_tools import linkemu

    from support.agent_env import DEV, image, md5

    rec = _Recorder(monkeypatch)
    data = image(16 * 1024, "V1.7")
    t = env.publish(data, "V1.7")
    env.sim.fault(DEV, errno7=1)
    with linkemu.Link(env.sim.port, rate=50_000_000, rtt=0.02) as link:
        s = env.run(server="http://127.0.0.1:%d" % link.port)
    assert s["result"] == "updated" and s["sink_md5"] == md5(data), env.logtext()
    assert "retry after" in env.logtext()
    # the device's writes in order (a pipe's number may come back for a later
    # connection once the first one's pipes are gone: the order tells, not the number)
    writes = []
    for p, _now, _last, lines in rec.times:
        kinds = [_kind(l) for l in lines if not l.startswith("HTTP/")]
        if kinds:
            writes.append((p, kinds))
    assert [k for _p, k in writes[:4]] == [["version", "check"], ["version"], ["check"], ["token check", "range"]], writes
    assert writes[1][0] == writes[2][0] == writes[3][0], writes
    assert env.task(t["id"])["state"] == "succeeded" and env.codes(t["id"]) == [101, 201]
