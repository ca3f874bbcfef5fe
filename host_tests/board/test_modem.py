# AT-modem transport over the modem simulator, on both runtimes (cases_at.py), and the
# simulator's own behaviour seen from a plain socket.
import os
import socket
import threading

import pytest

from conftest import run_cases
from onenet_ota_tools.modemsim import ModemSim
from support.loopback import Echo


@pytest.fixture
def modems(monkeypatch):
    echo = Echo()
    sims = [ModemSim("bc26").start(), ModemSim("m5311").start()]
    try:
        monkeypatch.setenv("OTA_UART_1", str(sims[0].port))
        monkeypatch.setenv("OTA_UART_2", str(sims[1].port))
        monkeypatch.setenv("OTA_ECHO_PORT", str(echo.port))
        yield sims
    finally:
        for s in sims:
            s.stop()
        echo.stop()


def test_at_transport(modems, runtime):
    r = run_cases("cases_at", runtime, heap="96k", timeout=120)
    for k in ("bc26", "m5311"):
        assert r["case_%s_urc_storm" % k] > 0  # URCs were seen and skipped
        assert "SEND FAIL" in r["case_%s_send_fail" % k]
        assert "no answer" in r["case_%s_timeout" % k]
        assert "ERROR" in r["case_%s_error" % k]
        assert r["case_%s_remote_close" % k] == 3
    assert r["case_m5311_dns"] == "127.0.0.1"
    import time

    for k in ("bc26", "m5311"):
        t, unset = r["case_%s_clock" % k]
        assert abs(t - time.time()) < 10 and unset is None, r["case_%s_clock" % k]
    assert modems[0].stats["storm"] and modems[1].stats["storm"]
    assert modems[0].stats["send_fails"] == 1 and modems[1].stats["send_fails"] == 1
    if runtime == "micropython":
        # steady state: the modem formats commands and decodes in place; what remains
        # is small per-call objects (memoryview of a send, bound methods)
        for k in ("bc26", "m5311"):
            assert r["case_%s_alloc_per_kib" % k] < 512, r
        print("alloc per KiB echo", {k: r["case_%s_alloc_per_kib" % k] for k in ("bc26", "m5311")})


def _chat(port, lines, wait=0.3):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    out = b""
    try:
        for ln in lines:
            s.sendall(ln)
        s.settimeout(wait)
        while True:
            try:
                d = s.recv(4096)
            except socket.timeout:
                break
            if not d:
                break
            out += d
    finally:
        s.close()
    return out


def test_modemsim_speaks_both_sets():
    with ModemSim("bc26") as a, ModemSim("m5311") as b:
        out = _chat(a.port, [b"AT\r\n", b"ATE0\r\n", b"AT+CGATT?\r\n", b"AT+IPSTART=0,\"TCP\",\"127.0.0.1\",1\r\n"])
        assert out.startswith(b"AT\r\n\r\nOK") and b"+CGATT: 1" in out and out.rstrip().endswith(b"ERROR")
        out = _chat(b.port, [b"ATE0\r\n", b"AT+CMDNS=\"example.com\"\r\n", b"AT+QIRD=0,10\r\n"])
        assert b"+CMDNS: 127.0.0.1" in out and out.rstrip().endswith(b"ERROR")
        with pytest.raises(ValueError):
            a.fault(nonsense=1)


def test_modemsim_cr_and_lf_in_separate_segments():
    # A UART that delivers one byte per segment (qemu's serial does): the LF after a
    # command's CR comes late. It must not become the first payload byte of AT+QISEND.
    echo = Echo()
    try:
        with ModemSim("bc26") as sim:
            s = socket.create_connection(("127.0.0.1", sim.port), timeout=2)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def send(b, wait=0.05):
                s.sendall(b)
                threading.Event().wait(wait)

            out = b""
            try:
                for part in (b"ATE0\r", b"\n", b'AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0\r' % echo.port, b"\n"):
                    send(part)
                send(b"", 0.3)
                send(b"AT+QISEND=0,3\r")
                send(b"\n", 0.2)  # the late LF
                send(b"abc", 0.3)
                send(b"AT+QIRD=0,100\r")
                send(b"\n", 0.3)
                s.settimeout(0.3)
                while True:
                    try:
                        d = s.recv(4096)
                    except socket.timeout:
                        break
                    if not d:
                        break
                    out += d
            finally:
                s.close()
    finally:
        echo.stop()
    assert b"SEND OK" in out and b"+QIRD: 3\r\nabc\r\n" in out, out
    assert sim.stats["up"] == 3 and sim.stats["unknown"] == 0
