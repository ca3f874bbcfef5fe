# Flow control in the AT transport (firmware/onenet_ota/transport_at.py, "Flow
# control"), on CPython and the unix micropython: what a UART loss does to an M5311
# push, the hold (interrupts off while the caller works), and the BC26's two sockets
# against the modem simulator (UART 1 in OTA_UART_1; echo servers that put "A" / "B"
# before what they echo in OTA_ECHO_A / OTA_ECHO_B; test_modem_flow.py starts them).
import os

import machine
import ota_shim  # noqa: F401  (runner installs it: time.ticks_* on CPython)
from onenet_ota.errors import OtaError, Timeout
from onenet_ota.transport_at import AtModem

from fake_uart import FakeUart

_getenv = getattr(os, "getenv", None) or os.environ.get


_HEX = "0123456789ABCDEF"


def _iprd(cid, data):
    h = "".join(_HEX[c >> 4] + _HEX[c & 15] for c in data)
    return ('\r\n+IPRD: %d,"1.2.3.4",80,%d,%s\r\n' % (cid, len(data), h)).encode()


def _m5311(stream):
    m = AtModem(FakeUart(stream), "m5311", 1)
    m.is_open = True
    return m


def _drain(m):
    out = bytearray()
    buf = bytearray(64)
    err = None
    try:
        for _ in range(4):
            r = m.readinto(buf, 64)
            if not r:
                break
            out += buf[:r]
    except Timeout:
        pass  # nothing more came: what was handed out is judged by the caller
    except OtaError as e:
        err = e
    return bytes(out), err


# Every loss of 1..80 bytes starting anywhere in the first of two pushes: refused (an
# OtaError), or the bytes handed out are whole pushes (the loss took lines only). One
# kind of loss slips through the framing: from hex offset i of one push to hex offset i
# of the next, which leaves a push of the right length and form; the package's md5 is
# what refuses that one (205). -> [losses tried, refused, slipped]
def case_m5311_loss_sweep():
    a = bytes(range(40, 60))
    b = bytes(range(100, 120))
    pa = _iprd(0, a)
    whole = pa + _iprd(0, b)
    out, err = _drain(_m5311(whole))
    if out != a + b or err is not None:
        raise AssertionError("intact pushes: %r %r" % (out, err))
    hex_a = pa.find(b",20,") + 4
    hex_b = len(pa) + hex_a
    tried = refused = slipped = 0
    for start in range(0, len(pa) + 2):
        for k in range(1, 81):
            out, err = _drain(_m5311(whole[:start] + whole[start + k:]))
            tried += 1
            if err is not None:
                refused += 1
            if out in (b"", a, a + b, b):
                continue
            aligned = hex_a <= start < hex_b - 2 and start + k - hex_b == start - hex_a
            if not (aligned and len(out) == len(a) and err is None):
                raise AssertionError("loss %d+%d handed out %r (%r)" % (start, k, out, err))
            slipped += 1
    return [tried, refused, slipped]


# The hold: interrupts off once payload went to the caller, on again at the next call
# of any kind (a read, a write, close). -> the calls in order
def case_m5311_hold():
    calls = []
    d0, e0 = machine.disable_irq, machine.enable_irq

    def off():
        calls.append("off")
        return 0

    def on(st=0):
        calls.append("on")

    machine.disable_irq, machine.enable_irq = off, on
    try:
        m = _m5311(_iprd(0, b"abcd") + _iprd(0, b"efgh") + b"\r\nOK\r\n")
    finally:
        machine.disable_irq, machine.enable_irq = d0, e0
    buf = bytearray(8)
    if m.readinto(buf, 4) != 4 or calls != ["off"]:
        raise AssertionError(repr(calls))
    m.readinto(buf, 4)
    calls.append("|")
    m.write(b"x", 1)  # AT+IPSEND ... OK
    calls.append("|")
    m.close()
    return [calls, m.holds]


# Socket 0 and socket 1 at once (AT+QIOPEN connectID 0 and 1): each one's data reaches
# its own reader whatever order the reads come in, and what waits in the modem for one
# socket while the other is read is not lost. -> the connectIDs used
def case_bc26_two_sockets():
    ea = int(_getenv("OTA_ECHO_A") or 0)
    eb = int(_getenv("OTA_ECHO_B") or 0)
    m = AtModem(machine.UART(1, 115200), "bc26", 3000)
    m.start()
    s0 = m.connect("127.0.0.1", ea)
    s1 = m.connect("127.0.0.1", eb)
    big = bytearray(2048)  # four reads of socket 0's 512-byte ring
    for i in range(2048):
        big[i] = (i * 7) & 255
    s0.write(big, len(big))
    import time

    time.sleep_ms(300)  # socket 0's echo waits in the modem
    s1.write(b"ping", 4)
    got1 = bytearray(5)
    s1.read_exact(got1, 5)
    if bytes(got1) != b"Bping":
        raise AssertionError("socket 1: %r" % bytes(got1))
    got0 = bytearray(2049)
    s0.read_exact(got0, 2049)
    if got0[0] != 65 or got0[1:] != big:
        raise AssertionError("socket 0's data")
    s1.close()
    s2 = m.connect("127.0.0.1", eb)  # the free socket again
    s2.write(b"x", 1)
    s2.read_exact(got1, 2)
    if bytes(got1[:2]) != b"Bx":
        raise AssertionError("socket reused: %r" % bytes(got1[:2]))
    ids = [s0.cid, s1.cid, s2.cid, s2 is s1]
    s0.close()
    s2.close()
    return ids
