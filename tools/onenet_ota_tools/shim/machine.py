# Stand-in for `machine` (shadows the unix port's built-in one on MICROPYPATH).
# reset() raises ota_shim.Reset; a harness catches it and boots again.
import ota_shim

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5


def reset():
    raise ota_shim.Reset


def soft_reset():
    raise ota_shim.Reset


def unique_id():
    return b"\x24\x0a\xc4\x12\x34\x56"


def reset_cause():
    return PWRON_RESET


def freq(*a):
    return 240000000


def idle():
    pass


# --- UART and Pin -------------------------------------------------------------------
# UART stand-in: the "wire" is a TCP connection to 127.0.0.1:<port>, where a host
# simulator (tools/onenet_ota_tools/modemsim.py, blsim.py) plays the other end. The
# port comes from UART_PORTS[id] (set by a test in-process) or the environment:
# OTA_UART_<id>, else OTA_UART. Like a port's UART with timeout=0: read()/readinto()
# return what is there (None when nothing), any() tells how much is buffered. The
# receive side is a small ring (rxbuf, 64 bytes as on the nRF port): each call pulls at
# most what fits, so firmware sees the data in ring-sized pieces. Nothing is lost when
# the firmware polls late (the TCP socket buffers it); baud rate, parity and pins are
# accepted and ignored.
UART_PORTS = {}
import socket as _socket  # at import: a test may hide `socket` from the firmware later


def _uart_port(id):
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


class UART:
    def __init__(self, id, baudrate=115200, bits=8, parity=None, stop=1, tx=None, rx=None,
                 timeout=0, rxbuf=64, **kw):
        socket = _socket
        self.id = id
        self.baudrate = baudrate
        self._n = rxbuf if rxbuf > 0 else 64
        self._ring = bytearray(self._n)
        self._tmp = bytearray(self._n)
        self._h = 0  # next byte to hand out
        self._c = 0  # bytes buffered
        self._s = socket.socket()
        port = _uart_port(id)
        if ota_shim.MP:
            self._s.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
        else:  # CPython's getaddrinfo may import codecs a test has hidden
            self._s.connect(("127.0.0.1", port))
        try:  # a UART has no Nagle: each write leaves at once
            self._s.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY
        except (OSError, AttributeError):
            pass
        self._s.setblocking(False)
        self._eof = False

    def init(self, *a, **kw):
        pass

    def deinit(self):
        s = self._s
        self._s = None
        if s:
            s.close()

    def _pull(self):
        # Move what the socket has into the ring (at most the free space).
        free = self._n - self._c
        if not free or self._s is None or self._eof:
            return
        d = self._tmp
        try:  # into a buffer kept for it: the stand-in allocates nothing per call
            k = self._s.readinto(d, free) if ota_shim.MP else self._s.recv_into(d, free)
        except OSError:
            return  # EAGAIN: nothing there
        if k is None:
            return
        if not k:
            self._eof = True  # the simulator went away: the line is silent
            return
        t = (self._h + self._c) % self._n
        r = self._ring
        for i in range(k):
            r[t] = d[i]
            t += 1
            if t == self._n:
                t = 0
        self._c += k

    def any(self):
        self._pull()
        return self._c

    def readinto(self, buf, nbytes=None):
        n = len(buf) if nbytes is None else nbytes
        self._pull()
        k = self._c if self._c < n else n
        if not k:
            return None
        h = self._h
        r = self._ring
        for i in range(k):
            buf[i] = r[h]
            h += 1
            if h == self._n:
                h = 0
        self._h = h
        self._c -= k
        return k

    def read(self, nbytes=None):
        b = bytearray(nbytes if nbytes is not None else self._n)
        k = self.readinto(b)
        if not k:
            return None
        return bytes(b[:k])

    def write(self, buf):
        if self._s is None:
            raise OSError(9, "UART closed")
        n = len(buf)
        off = 0
        for _ in range(100000):
            if off >= n:
                break
            try:
                w = self._s.send(buf if not off else memoryview(buf)[off:])
            except OSError:
                w = None  # EAGAIN: the simulator is slow to read
            if w:
                off += w
            else:
                import time

                time.sleep_ms(1) if hasattr(time, "sleep_ms") else time.sleep(0.001)
        return n

    def flush(self):
        pass

    def txdone(self):
        return True


class Pin:
    # GPIO stand-in: keeps the level (GD32 BOOT0 / NRST lines have no wire here: the
    # bootloader simulator treats a sync after its "reset" as the pulse).
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, id, mode=-1, pull=-1, value=None, **kw):
        self.id = id
        self._v = 0 if value is None else value

    def init(self, *a, **kw):
        pass

    def value(self, *a):
        if a:
            self._v = 1 if a[0] else 0
            return None
        return self._v

    def on(self):
        self._v = 1

    def off(self):
        self._v = 0

    def __call__(self, *a):
        return self.value(*a)
