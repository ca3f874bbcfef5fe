# The link emulator (tools/onenet_ota_tools/linkemu.py) that `bench --link` puts
# between the device and the simulator: bytes pass unchanged, and never faster than the
# modelled rate and delay allow (lower bounds only: a loaded machine can only be slower).
import socket
import threading
import time

import pytest

from onenet_ota_tools import linkemu


class _Sink:
    # A loopback server that answers every connection with `size` bytes after it has
    # read a 4-byte request, then closes.
    def __init__(self, data):
        self.data = data
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.ls.settimeout(5)
        self.port = self.ls.getsockname()[1]
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def _serve(self):
        try:
            c, _ = self.ls.accept()
        except OSError:
            return
        with c:
            c.recv(4)
            c.sendall(self.data)

    def close(self):
        self.ls.close()
        self.t.join(5)


def _fetch(port, n):
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(b"GET!")
    got = bytearray()
    first = None
    while len(got) < n:
        b = s.recv(65536)
        if not b:
            break
        if first is None:
            first = time.monotonic() - t0
        got += b
    s.close()
    return bytes(got), first, time.monotonic() - t0


def test_bytes_pass_unchanged_and_not_faster_than_the_link():
    data = bytes(range(256)) * 256  # 64 KiB
    srv = _Sink(data)
    rate, rtt = 200_000, 0.1
    try:
        with linkemu.Link(srv.port, rate, rtt) as link:
            got, first, total = _fetch(link.port, len(data))
            st = dict(link.stats)
    finally:
        srv.close()
    assert got == data
    assert st["bytes_down"] == len(data) and st["bytes_up"] == 4 and st["connections"] == 1
    # the handshake's RTT, the request's half, the answer's half: the first byte comes
    # no sooner than 2 RTT after connect
    assert first >= 2 * rtt - 0.01, first
    # slow start from 10 segments: 64 KiB needs 3 more round trips on top of the rate
    assert total >= len(data) / rate + 2 * rtt, total
    assert total < 3 * linkemu.link_limit(len(data), rate, rtt) + 2, total


def test_loss_is_seeded_and_delays_but_never_corrupts():
    data = bytes((i * 7) & 0xFF for i in range(32 * 1024))
    lost = []
    for _ in range(2):
        srv = _Sink(data)
        try:
            with linkemu.Link(srv.port, 2_000_000, 0.02, loss=0.2, seed=5) as link:
                got, _, total = _fetch(link.port, len(data))
                lost.append(link.stats["lost"])
        finally:
            srv.close()
        assert got == data
        assert total >= link.rto  # at least one segment came an RTO late
    assert lost[0] == lost[1] > 0  # the same seed loses the same segments


@pytest.mark.parametrize("spec,want", [("nb", (5000, 0.6)), ("cat1", (125000, 0.1)), ("40,600", (5000, 0.6))])
def test_link_specs(spec, want):
    _name, rate, rtt = linkemu.parse(spec)
    assert (rate, rtt) == want


@pytest.mark.parametrize("spec", ["", "fast", "0,10", "40", "40,x", "-5,10"])
def test_bad_link_specs_say_what_is_wanted(spec):
    with pytest.raises(ValueError, match="--link"):
        linkemu.parse(spec)


def test_bench_sections_are_replaced_in_place(tmp_path):
    # bench --link / --qemu-only rewrite their own section of PERFORMANCE.md only
    from onenet_ota_tools.benchlib.report import replace_section

    p = tmp_path / "PERF.md"
    p.write_text("# P\n\n## A\n\na\n\n## .mpy sizes\n\nm\n")
    replace_section(str(p), "## Over a link", "## Over a link\n\nL1\n", before="## .mpy sizes")
    assert p.read_text() == "# P\n\n## A\n\na\n\n## Over a link\n\nL1\n\n## .mpy sizes\n\nm\n"
    replace_section(str(p), "## Over a link", "## Over a link\n\nL2\n")
    assert p.read_text() == "# P\n\n## A\n\na\n\n## Over a link\n\nL2\n\n## .mpy sizes\n\nm\n"
    replace_section(str(p), "## Z", "## Z\n\nz")
    assert p.read_text().endswith("## .mpy sizes\n\nm\n\n## Z\n\nz\n")
