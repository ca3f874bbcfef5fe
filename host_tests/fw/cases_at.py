# AT-modem transport (firmware/onenet_ota/transport_at.py) against the modem simulator
# (tools/onenet_ota_tools/modemsim.py), on CPython and the unix micropython. The test
# starts one simulator per command set (UART 1: bc26, UART 2: m5311, ports in
# OTA_UART_1/2) and an echo server on loopback (OTA_ECHO_PORT; it closes the
# connection after echoing b"BYE"). Faults are set through the simulator's
# AT+SIMFAULT test hook.
import os

import machine
import ota_shim  # noqa: F401  (runner installs it: time.ticks_* on CPython)
from onenet_ota.errors import NetError, Timeout
from onenet_ota.transport_at import AtModem

_getenv = getattr(os, "getenv", None) or os.environ.get
ECHO = int(_getenv("OTA_ECHO_PORT") or 0)
_modems = {}


def _modem(kind):
    m = _modems.get(kind)
    if m is None:
        m = AtModem(machine.UART(1 if kind == "bc26" else 2, 115200), kind, 2000)
        m.start()
        _modems[kind] = m
    return m


def _pattern(n, seed):
    b = bytearray(n)
    for i in range(n):
        b[i] = (i * 7 + seed) & 255
    return b


def _echo(m, n, seed):
    data = _pattern(n, seed)
    m.write(data, n)
    back = bytearray(n)
    m.read_exact(back, n)
    if back != data:
        raise AssertionError("echo differs")
    return n


def _storm(kind):
    m = _modem(kind)
    m.cmd("AT+SIMFAULT=urc_storm,4")
    try:
        t = m.open("127.0.0.1", ECHO)
        u0 = m.urcs
        _echo(t, 1500, 1)  # > one send command; URCs between and inside answers
        _echo(t, 1, 2)
        t.close()
        return m.urcs - u0
    finally:
        m.cmd("AT+SIMFAULT=urc_storm,0")


def _send_fail(kind):
    m = _modem(kind)
    t = m.open("127.0.0.1", ECHO)
    m.cmd("AT+SIMFAULT=send_fail,1")
    try:
        t.write(b"x", 1)
        raise AssertionError("no error")
    except Timeout:
        raise AssertionError("Timeout, expected NetError")
    except NetError as e:
        msg = e.args[0]
    _echo(t, 100, 3)  # the link is still up: a new send goes through
    t.close()
    return msg


def _silent(kind):
    m = _modem(kind)
    m.cmd("AT+SIMFAULT=mute,1")
    try:
        m.cmd("AT+CSQ", ms=300)
        raise AssertionError("no time-out")
    except Timeout as e:
        msg = e.args[0]
    m.cmd("AT+CSQ")  # answers again
    return msg


def _error(kind):
    m = _modem(kind)
    try:
        m.cmd("AT+NOSUCH")
    except Timeout:
        raise AssertionError("Timeout, expected NetError")
    except NetError as e:
        return e.args[0]
    raise AssertionError("no error")


def _open_fail(kind):
    m = _modem(kind)
    m.cmd("AT+SIMFAULT=open_fail,1")
    try:
        m.open("127.0.0.1", ECHO)
        raise AssertionError("opened")
    except Timeout:
        raise AssertionError("Timeout, expected NetError")
    except NetError as e:
        msg = e.args[0]
    t = m.open("127.0.0.1", ECHO)
    _echo(t, 10, 4)
    t.close()
    return msg


def _remote_close(kind):
    # The server echoes "BYE" and closes: the data still arrives, then EOF (0).
    m = _modem(kind)
    t = m.open("127.0.0.1", ECHO)
    t.write(b"BYE", 3)
    buf = bytearray(16)
    got = 0
    for _ in range(20):
        r = t.readinto(buf if not got else memoryview(buf)[got:], 16 - got)
        if not r:
            break
        got += r
    else:
        raise AssertionError("no EOF")
    if bytes(buf[:got]) != b"BYE":
        raise AssertionError("data lost before EOF")
    try:
        t.write(b"x", 1)
        raise AssertionError("write after EOF")
    except NetError:
        pass
    t.close()
    return got




def case_bc26_urc_storm():
    return _storm("bc26")


def case_m5311_urc_storm():
    return _storm("m5311")


def case_bc26_send_fail():
    return _send_fail("bc26")


def case_m5311_send_fail():
    return _send_fail("m5311")


def case_bc26_timeout():
    return _silent("bc26")


def case_m5311_timeout():
    return _silent("m5311")


def case_bc26_error():
    return _error("bc26")


def case_m5311_error():
    return _error("m5311")


def case_bc26_open_fail():
    return _open_fail("bc26")


def case_m5311_open_fail():
    return _open_fail("m5311")


def case_bc26_remote_close():
    return _remote_close("bc26")


def case_m5311_remote_close():
    return _remote_close("m5311")


def case_m5311_dns():
    m = _modem("m5311")
    ip = m.resolve("ota.heclouds.example")
    t = m.open("localhost", ECHO)  # a name: AT+CMDNS first
    _echo(t, 50, 6)
    t.close()
    return ip


# AT+CCLK? -> unix seconds (the simulator answers China time, +32 quarter hours), and
# None for a clock never set from the network.
def _clock(kind):
    m = _modem(kind)
    t = m.clock()
    m.cmd("AT+SIMFAULT=clock,0")
    try:
        unset = m.clock()
    finally:
        m.cmd("AT+SIMFAULT=clock,1")
    return [t, unset]


def case_bc26_clock():
    return _clock("bc26")


def case_m5311_clock():
    return _clock("m5311")


# Heap: what one 1 KiB echo allocates once the modem is warmed up (MicroPython only).
def case_bc26_alloc_per_kib():
    return _alloc("bc26")


def case_m5311_alloc_per_kib():
    return _alloc("m5311")


def _alloc(kind):
    import sys

    if sys.implementation.name != "micropython":
        return None
    import gc

    m = _modem(kind)
    t = m.open("127.0.0.1", ECHO)
    data = _pattern(1024, 7)
    back = bytearray(1024)
    t.write(data, 1024)
    t.read_exact(back, 1024)
    gc.collect()
    gc.disable()
    a0 = gc.mem_alloc()
    for _ in range(4):
        t.write(data, 1024)
        t.read_exact(back, 1024)
    a1 = gc.mem_alloc()
    gc.enable()
    t.close()
    return (a1 - a0) // 4
