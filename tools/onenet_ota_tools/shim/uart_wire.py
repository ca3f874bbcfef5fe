# The wire of a UART stand-in (machine.UART, nrf_uart.NrfUART): a TCP connection to
# 127.0.0.1:<port>, where a host simulator (tools/onenet_ota_tools/modemsim.py,
# blsim.py) plays the other end. The port comes from UART_PORTS[id] (set by a test
# in-process) or the environment: OTA_UART_<id>, else OTA_UART. Non-blocking, no Nagle;
# reads go into the caller's buffer (nothing allocated per read).
import socket as _socket  # at import: a test may hide `socket` from the firmware later
import time as _time

import shimstate as ota_shim  # the shim's state (leaf module)

UART_PORTS = {}


def port_of(id):
    p = UART_PORTS.get(id)
    if p:
        return p
    import os

    get = getattr(os, "getenv", None)
    if get is None:
        get = os.environ.get
    p = get("OTA_UART_%s" % id) or get("OTA_UART")
    if not p:
        raise OSError(19, "UART(%s): no simulator port (OTA_UART)" % id)  # ENODEV
    return int(p)


def connect(id):
    socket = _socket
    s = socket.socket()
    port = port_of(id)
    if ota_shim.MP:
        s.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    else:  # CPython's getaddrinfo may import codecs a test has hidden
        s.connect(("127.0.0.1", port))
    try:  # a UART has no Nagle: each write leaves at once
        s.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY
    except (OSError, AttributeError):
        pass
    s.setblocking(False)
    return s


def recv(s, d, n):
    # -> bytes read into d (0: EOF, None: nothing there)
    try:
        return s.readinto(d, n) if ota_shim.MP else s.recv_into(d, n)
    except OSError:
        return None  # EAGAIN


def send_all(s, buf):
    n = len(buf)
    off = 0
    for _ in range(100000):
        if off >= n:
            break
        try:
            w = s.send(buf if not off else memoryview(buf)[off:])
        except OSError:
            w = None  # EAGAIN: the simulator is slow to read
        if w:
            off += w
        else:
            sleep_us(1000)
    return n


def sleep_us(us):
    if ota_shim.MP:
        _time.sleep_us(us)
    else:
        _time.sleep(us / 1000000)


def ticks_us():
    return _time.ticks_us()


class WireUART:
    # what both UART stand-ins share: the socket takes each write at once, so there is
    # nothing to flush, transmission is always done, and a break has no line to go on
    def flush(self):
        pass

    def txdone(self):
        return True

    def sendbreak(self):
        pass
