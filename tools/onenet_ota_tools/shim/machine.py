# Stand-in for `machine` (shadows the unix port's built-in one on MICROPYPATH).
# reset() raises ota_shim.Reset; a harness catches it and boots again.
import shimstate as ota_shim  # the shim's state (leaf module; ota_shim re-exports it)

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
# The "wire" of a UART is a TCP connection to 127.0.0.1:<port>, where a host simulator
# (tools/onenet_ota_tools/modemsim.py, blsim.py) plays the other end. The port comes
# from UART_PORTS[id] (set by a test in-process) or the environment: OTA_UART_<id>,
# else OTA_UART. Two models, chosen by the board profile (ota_shim.PROFILE):
# - UART (the class, any board but nRF52832): ports/esp32/machine_uart.c's arguments
#   and defaults (timeout 0, rxbuf 256); nothing is lost when the firmware reads late
#   (the socket buffers it).
# - the nRF52832's (NrfUART, installed as machine.UART by nrf52_port.install()):
#   ports/nrf/modules/machine/uart.c: only UART(0, baudrate, *, timeout=1,
#   timeout_char=1), a 64-byte receive ring fed at the baud rate that drops what does
#   not fit, RTS/CTS, UART0 attached to the REPL until os.dupterm(None).
UART_PORTS = {}
import socket as _socket  # at import: a test may hide `socket` from the firmware later
import time as _time

_NULL = object()  # "argument not given" (the C code's MP_OBJ_NULL)


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


def _connect(id):
    socket = _socket
    s = socket.socket()
    port = _uart_port(id)
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


def _recv(s, d, n):
    # -> bytes read into d (0: EOF, None: nothing there)
    try:
        return s.readinto(d, n) if ota_shim.MP else s.recv_into(d, n)
    except OSError:
        return None  # EAGAIN


def _send_all(s, buf):
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
            _sleep_us(1000)
    return n


def _sleep_us(us):
    if ota_shim.MP:
        _time.sleep_us(us)
    else:
        _time.sleep(us / 1000000)


def _ticks_us():
    return _time.ticks_us()


class UART:
    # ports/esp32/machine_uart.c: UART(id, baudrate=0, bits=0, parity, stop=0, *, tx,
    # rx, rts, cts, txbuf, rxbuf, timeout, timeout_char, invert, flow); ids 0..2
    # (UART_NUM_MAX on ESP32), else ValueError("UART(n) does not exist").
    RTS = 1  # UART_HW_FLOWCTRL_RTS
    CTS = 2
    INV_TX = 0x20
    INV_RX = 0x4
    INV_RTS = 0x40
    INV_CTS = 0x8

    def __init__(self, id, *args, **kw):
        if not isinstance(id, int) or not 0 <= id < 3:
            raise ValueError("UART(%s) does not exist" % (id,))
        self.id = id
        self._s = None
        self.bits, self.parity, self.stop, self.baudrate = 8, None, 1, 115200
        self.timeout = self.timeout_char = 0
        self.flow = 0
        self._n = 256  # rxbuf: the IDF minimum, MicroPython's default
        self.init(*args, **kw)

    def init(self, baudrate=0, bits=0, parity=_NULL, stop=0, *, tx=None, rx=None, rts=None,
             cts=None, txbuf=-1, rxbuf=-1, timeout=-1, timeout_char=-1, invert=-1, flow=-1):
        if bits not in (0, 5, 6, 7, 8):
            raise ValueError("invalid data bits")
        if stop not in (0, 1, 2):
            raise ValueError("invalid stop bits")
        if flow != -1 and flow & ~3:
            raise ValueError("invalid flow control mask")
        if invert != -1 and invert & ~0x6C:
            raise ValueError("invalid inversion mask")
        if baudrate:
            self.baudrate = baudrate
        if bits:
            self.bits = bits
        if parity is not _NULL:
            # None: off; an int: odd when bit 0 is set, else even (parity=0 is even)
            self.parity = None if parity is None else (1 if parity & 1 else 0)
        if stop:
            self.stop = stop
        if timeout >= 0:
            self.timeout = timeout
        if timeout_char >= 0:
            self.timeout_char = timeout_char
        if flow != -1:
            self.flow = flow
        if rxbuf >= 0:
            self._n = rxbuf if rxbuf > 0 else 256
        self._ring = bytearray(self._n)
        self._tmp = bytearray(self._n)
        self._h = 0  # next byte to hand out
        self._c = 0  # bytes buffered
        if self._s is None:
            self._s = _connect(self.id)
            self._eof = False

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
        k = _recv(self._s, d, free)  # into a buffer kept for it: nothing allocated per call
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
        return _send_all(self._s, buf)

    def flush(self):
        pass

    def txdone(self):
        return True

    def sendbreak(self):
        pass


# -- nRF52832 ---------------------------------------------------------------------------
# uart.c keeps one static object per UART (only UART0 on nRF52832) and main.c creates it
# at boot for the REPL (MICROPY_HW_ENABLE_UART_REPL, 115200) and attaches it with
# os.dupterm: while attached, every received byte goes to the REPL's stdin (Ctrl-C
# raises KeyboardInterrupt) and never to the UART object, and print() goes out on it.
# The receive ring is 64 bytes (ringbuf: 63 usable); the interrupt handler puts each
# byte in it and silently drops it when the ring is full, flow control or not.
#
# Timing model (the wire): bytes enter at most baudrate/10 per second. The simulator
# writes to the socket when it likes; what sits in the socket (read into a wire buffer)
# is taken as having been on the line since the last look, the pessimistic reading.
# A flash erase/write stalls the CPU (ota_shim.stall): no interrupt runs. Without
# RTS/CTS (CONFIG["nrf_hwfc"] False) what arrives meanwhile is lost; with it, RTS is
# deasserted and the modem holds its bytes: they stay in the wire and come afterwards
# at the baud rate. stats counts all of it.
_NRF_RING = 64
_WIRE = 8192  # bytes of the simulator's output looked at ahead
_skip = [0]  # us of host oversleep not yet taken off the wire's clock
_SLACK = 300  # us a sleep may overrun before it counts as the host's, not the board's
_HOST_GAP = 20000  # us of computing without a UART look that micropython runs count (see _advance)


_slept = [0]  # us slept on purpose since the last look (CPython's CPU-time budget)
try:  # CPython: this thread's CPU time tells host descheduling from board work
    _cpu_us = _time.thread_time_ns
except AttributeError:
    _cpu_us = None


def _nsleep_us(us):
    # A sleep on the simulated board: when the host wakes the process late (another
    # process had the CPU), the excess is not board time; the wire's clock skips it,
    # so a loaded host does not make the model lose bytes the board would not.
    t0 = _ticks_us()
    _sleep_us(us)
    _slept[0] += us
    late = _time.ticks_diff(_ticks_us(), t0) - us - _SLACK
    if late > 0:
        _skip[0] += late


def _fw_sleep_ms(ms):
    _nsleep_us(int(ms * 1000))


def _fw_sleep_us(us):
    _nsleep_us(int(us))


def _fw_sleep(s):
    _nsleep_us(int(s * 1000000))

stats = {"rx": 0, "lost_full": 0, "lost_stall": 0, "stdin": 0, "held_us": 0, "tx": 0,
         "print_tx": 0, "max_fill": 0, "stalls": 0, "irq_off": 0, "irq_off_us": 0}
import os as _os
_DEBUG = bool((getattr(_os, "getenv", None) or _os.environ.get)("OTA_UART_DEBUG"))


_gaps = []


def _print_dbg(m):
    import sys

    sys.stderr.write(m + "\n")


_repl = [True]  # UART0 attached to the REPL (ports/nrf/main.c, at boot)
_uart0 = [None]


class NrfUART:
    def __init__(self):
        self._s = None
        self._ring = bytearray(_NRF_RING)
        self._h = self._c = 0
        self._w = bytearray(_WIRE)  # the wire: sent by the simulator, not yet received
        self._tmp = bytearray(512)
        self._wh = self._wc = 0
        self._t = _ticks_us()
        self._cpu = _cpu_us() // 1000 if _cpu_us is not None else 0
        self._carry = 0
        self._kbd = False
        self.baudrate = 115200
        self.timeout = self.timeout_char = 1
        self._off = None  # ticks_us since interrupts were disabled (machine.disable_irq)

    def __repr__(self):
        return "UART(0)"

    def _open(self, baudrate, timeout, timeout_char):
        if baudrate < 1200 or baudrate > 1000000:
            raise ValueError("UART baudrate not supported")
        self._advance(_ticks_us())
        self.baudrate = baudrate
        self.timeout = timeout
        self.timeout_char = timeout_char
        self._h = self._c = 0  # make_new resets the ring (iget = iput = 0)
        if self._s is None:
            self._s = _connect(0)
            self._eof = False
        self._t = _ticks_us()
        return self

    # -- the wire ----------------------------------------------------------------------
    def _fill(self):
        # socket -> wire buffer (a ring, through one kept buffer: nothing allocated per
        # look, or the unix port's collector would pause the "CPU" the model measures)
        s = self._s
        if s is None or self._eof:
            return
        w = self._w
        d = self._tmp
        for _ in range(8):
            free = _WIRE - self._wc
            if not free:
                return  # the rest waits in the socket (still "in the modem")
            k = _recv(s, d, free if free < len(d) else len(d))
            if k is None:
                return
            if not k:
                self._eof = True
                return
            t = self._wh + self._wc
            if t >= _WIRE:
                t -= _WIRE
            for i in range(k):
                w[t] = d[i]
                t += 1
                if t == _WIRE:
                    t = 0
            self._wc += k

    def _credit(self, dt):
        # bytes the line carries in dt us (fractions carried over)
        if dt > 1000000:
            dt = 1000000
        c = dt * self.baudrate + self._carry
        k = c // 10000000
        self._carry = c - k * 10000000
        return k

    def _advance(self, now):
        # The CPU ran from self._t to now: the interrupt handler took what arrived.
        if self._off is not None:
            return  # interrupts off: the handler has not run (see _irq_on)
        dt = _time.ticks_diff(now, self._t)
        if dt <= 0:
            return
        self._t = now
        if _cpu_us is not None:
            # CPython: the board's time is what this thread computed plus what it slept;
            # the rest of the wall clock the host gave to other processes
            c = _cpu_us() // 1000
            b = c - self._cpu + _slept[0] + _SLACK
            self._cpu = c
            _slept[0] = _skip[0] = 0
            if dt > b:
                dt = b
        else:
            k = _skip[0]
            if k:  # the host overslept a sleep: the board would not have (_nsleep_us)
                _skip[0] = 0
                dt = dt - k if dt > k else 0
            # micropython has no CPU clock: a stretch without a look at the UART longer
            # than _HOST_GAP that was not a sleep is taken as the host's (another process
            # had the CPU), not the board's. The CPython runs keep the exact figure.
            busy = dt - _slept[0]
            _slept[0] = 0
            if busy > _HOST_GAP:
                dt -= busy - _HOST_GAP
        k = self._credit(dt)
        if self._wc < k or not self._wc:
            self._fill()  # only when the line may carry more than the wire buffer has
        n = self._wc
        if not n:
            self._carry = 0  # an idle line carries nothing forward
            return
        if k >= n:
            k = n
            self._carry = 0
        if not k:
            return
        stats["rx"] += k
        w = self._w
        h = self._wh
        if _repl[0]:
            stats["stdin"] += k
            for _ in range(k):
                if w[h] == 3:
                    self._kbd = True
                h += 1
                if h == _WIRE:
                    h = 0
        else:
            r = self._ring
            for i in range(k):
                if self._c >= _NRF_RING - 1:
                    stats["lost_full"] += k - i
                    if _DEBUG:
                        _print_dbg("UARTLOST dt=%d k=%d wire=%d lost=%d gaps=%r" % (dt, k, n, k - i, _gaps))
                        if not ota_shim.MP:
                            import traceback

                            _print_dbg("".join(traceback.format_stack(limit=9)[:-1]))
                    h += k - i
                    if h >= _WIRE:
                        h -= _WIRE
                    break
                t = self._h + self._c
                if t >= _NRF_RING:
                    t -= _NRF_RING
                r[t] = w[h]
                self._c += 1
                h += 1
                if h == _WIRE:
                    h = 0
            if self._c > stats["max_fill"]:
                stats["max_fill"] = self._c
        self._wh = h
        self._wc = n - k

    def _stall_begin(self, t0):
        self._advance(t0)

    def _stall_end(self, t0, t1, count="stalls"):
        if count == "stalls" and self._off is not None:
            stats["stalls"] += 1
            return  # inside a disable_irq() section: _irq_on accounts for the time
        dt = _time.ticks_diff(t1, t0)
        stats[count] += 1
        self._t = t1
        if _cpu_us is not None:
            self._cpu = _cpu_us() // 1000
            _slept[0] = _skip[0] = 0
        if ota_shim.CONFIG["nrf_hwfc"]:
            stats["held_us"] += dt  # RTS deasserted: the modem waits
            return
        self._fill()
        k = self._credit(dt)
        if k >= self._wc:
            k = self._wc
            self._carry = 0
        if k:
            stats["lost_stall"] += k
            self._wh = (self._wh + k) % _WIRE
            self._wc -= k

    # machine.disable_irq() .. enable_irq(): no interrupt runs, so for the receiver it is
    # a stall (the same model: RTS/CTS holds the modem, without it the line's bytes are
    # lost). Flash stalls inside the section are part of it.
    def _irq_off(self, t0):
        if self._off is None:
            self._advance(t0)
            self._off = t0

    def _irq_on(self, t1):
        t0 = self._off
        if t0 is None:
            return
        self._off = None
        stats["irq_off_us"] += _time.ticks_diff(t1, t0)
        self._stall_end(t0, t1, "irq_off")

    def _poll(self):
        if _DEBUG:
            now = _ticks_us()
            g = _time.ticks_diff(now, self._t)
            if g > 1500:
                _gaps.append(g)
                if len(_gaps) > 6:
                    _gaps.pop(0)
        self._advance(_ticks_us())
        if self._kbd:
            self._kbd = False
            raise KeyboardInterrupt

    # -- the port's methods --------------------------------------------------------------
    def init(self):
        pass  # mp_machine_uart_init_helper parses no arguments

    def deinit(self):
        pass  # the object and its wire stay (static in uart.c)

    def any(self):
        self._poll()
        return self._c

    def _get(self):
        b = self._ring[self._h]
        self._h += 1
        if self._h == _NRF_RING:
            self._h = 0
        self._c -= 1
        return b

    def _wait(self, ms):
        # -> True once a byte is in the ring, False after ms without one
        t0 = _ticks_us()
        while True:
            self._poll()
            if self._c:
                return True
            if _time.ticks_diff(_ticks_us(), t0) >= ms * 1000:
                return False
            _nsleep_us(100)

    def readinto(self, buf, nbytes=None):
        # mp_machine_uart_read: `timeout` ms for the first byte, `timeout_char` for each
        # next; nothing: None (EAGAIN)
        n = len(buf) if nbytes is None else nbytes
        i = 0
        while i < n:
            if not self._c and not self._wait(self.timeout if not i else self.timeout_char):
                break
            while i < n and self._c:  # what the ring holds, without a look per byte
                buf[i] = self._get()
                i += 1
        return i or None

    def read(self, nbytes=None):
        if nbytes is None:
            self._poll()
            nbytes = self._c
            if not nbytes:
                return None
        b = bytearray(nbytes)
        k = self.readinto(b)
        return bytes(b[:k]) if k else None

    def readline(self):
        out = bytearray()
        while True:
            if not self._wait(self.timeout if not out else self.timeout_char):
                break
            c = self._get()
            out.append(c)
            if c == 10:
                break
        return bytes(out) if out else None

    def write(self, buf):
        # Blocks until sent (nrfx_uart_tx + wait), 64 bytes at a time here so the
        # receiver keeps running and the simulator gets each piece when it would.
        n = len(buf)
        mv = memoryview(buf)
        off = 0
        while off < n:
            k = n - off if n - off < 64 else 64
            _nsleep_us(k * 10000000 // self.baudrate)
            if self._s is not None:
                _send_all(self._s, mv[off:off + k])
            off += k
            self._poll()
        stats["tx"] += n
        return n

    def flush(self):
        pass

    def txdone(self):
        return True

    def sendbreak(self):
        pass


def _nrf_UART(id, baudrate, *, timeout=1, timeout_char=1):
    # uart.c make_new: (id, baudrate required, *, timeout=1, timeout_char=1); any other
    # keyword is a TypeError; an id other than 0: ValueError("UART doesn't exist")
    if not isinstance(id, int):
        raise TypeError("can't convert %s to int" % type(id).__name__)
    if id != 0:
        raise ValueError("UART doesn't exist")
    u = _uart0[0]
    if u is None:
        u = _uart0[0] = NrfUART()
    return u._open(baudrate, timeout, timeout_char)


def _nrf_boot():
    # main.c: UART(0, 115200) for the REPL, attached with os.dupterm. Without a
    # simulator port there is no wire (print then only reaches the host's stdout).
    _repl[0] = True
    try:
        _nrf_UART(0, 115200)
    except OSError:
        pass


def _dupterm(obj, index=0):
    # extmod/os_dupterm.c with ports/nrf/modules/os/modos.c: one slot; detaching
    # UART0 hands its received bytes back to the UART object.
    if index != 0:
        raise ValueError("invalid dupterm index")
    u = _uart0[0]
    prev = u if _repl[0] else None
    _repl[0] = obj is not None and obj is u
    return prev


def _repl_print(text):
    # print() while the REPL is attached: out on UART0, "\n" as "\r\n" (cooked)
    u = _uart0[0]
    if not _repl[0] or u is None or u._s is None:
        return
    b = text.replace("\n", "\r\n").encode()
    stats["print_tx"] += len(b)
    u.write(b)


# machine.disable_irq() / enable_irq(state) (extmod/modmachine.c, ports/nrf/mphalport.h:
# PRIMASK saved and set, then restored). The state is PRIMASK: 0 when interrupts were
# on. On the nRF52832 profile the UART model sees the section as a stall (NrfUART._irq_off).
_primask = [0]


def disable_irq():
    state = _primask[0]
    _primask[0] = 1
    u = _uart0[0]
    if u is not None and not state:
        u._irq_off(_ticks_us())
    return state


def enable_irq(state=0):
    _primask[0] = 1 if state else 0
    u = _uart0[0]
    if u is not None and not _primask[0]:
        u._irq_on(_ticks_us())


def _stalled_begin(t0):
    u = _uart0[0]
    if u is not None:
        u._stall_begin(t0)


def _stalled(t0, t1):
    u = _uart0[0]
    if u is not None:
        u._stall_end(t0, t1)


# ESP32 GPIOs (ports/esp32/machine_pin.c): 0-19, 21-23, 25-27, 32-39; 34-39 input only.
_ESP32_PINS = tuple(range(0, 20)) + (21, 22, 23, 25, 26, 27) + tuple(range(32, 40))


class Pin:
    # GPIO stand-in: keeps the level (GD32 BOOT0 / NRST lines have no wire here: the
    # bootloader simulator treats a sync after its "reset" as the pulse). Arguments as
    # ports/esp32/machine_pin.c: Pin(id, mode=None, pull=-1, *, value, drive, hold);
    # on the nrf profile ports/nrf/modules/machine/pin.c: Pin(id, mode, pull, *, value),
    # pins 0..31.
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=None, pull=-1, *, value=None, drive=None, hold=None):
        nrf = ota_shim.PROFILE == "nrf52832"
        if nrf:
            if not isinstance(id, int) or not 0 <= id < 32:
                raise ValueError("not a valid pin identifier")
            if drive is not None or hold is not None:
                raise TypeError("unexpected keyword argument")
        elif id not in _ESP32_PINS:
            raise ValueError("invalid pin")
        elif id >= 34 and mode in (Pin.OUT, Pin.OPEN_DRAIN):
            raise ValueError("pin can only be input")
        self.id = id
        self._v = 0 if value is None else (1 if value else 0)

    def init(self, mode=None, pull=-1, *, value=None, drive=None, hold=None):
        if value is not None:
            self._v = 1 if value else 0

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
