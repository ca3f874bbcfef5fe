# The nRF52832's UART (ports/nrf/modules/machine/uart.c), installed as machine.UART by
# nrf52_port.install(): only UART(0, baudrate, *, timeout=1, timeout_char=1), a 64-byte
# receive ring fed at the baud rate that drops what does not fit, RTS/CTS, UART0
# attached to the REPL until os.dupterm(None). Its wire is uart_wire's loopback TCP.
#
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
# A flash erase/write stalls the CPU (nrf._stall, via machine._stalled): no interrupt runs. Without
# RTS/CTS (CONFIG["nrf_hwfc"] False) what arrives meanwhile is lost; with it, RTS is
# deasserted and the modem holds its bytes: they stay in the wire and come afterwards
# at the baud rate. stats counts all of it.
import os as _os
import time as _time

import shimstate as ota_shim  # the shim's state (leaf module)
from uart_wire import WireUART, connect, recv, send_all, sleep_us, ticks_us

_NRF_RING = 64
_WIRE = 8192  # bytes of the simulator's output looked at ahead
_skip = [0]  # us of host oversleep not yet taken off the wire's clock
_SLACK = 300  # us a sleep may overrun before it counts as the host's, not the board's
_HOST_GAP = 20000  # us of computing without a UART look that micropython runs count (see _advance)


_slept = [0]  # us slept on purpose since the last look (CPython's CPU-time budget)
_host = [0]  # us of CPU this thread spent in the shim's own sleeps and socket reads
try:  # CPython: this thread's CPU time tells host descheduling from board work
    _cpu_us = _time.thread_time_ns
except AttributeError:
    _cpu_us = None


def _nsleep_us(us):
    # A sleep on the simulated board: when the host wakes the process late (another
    # process had the CPU), the excess is not board time; the wire's clock skips it,
    # so a loaded host does not make the model lose bytes the board would not.
    t0 = ticks_us()
    c0 = _cpu_us() if _cpu_us is not None else 0
    sleep_us(us)
    _slept[0] += us
    if _cpu_us is not None:
        _host[0] += (_cpu_us() - c0) // 1000
    late = _time.ticks_diff(ticks_us(), t0) - us - _SLACK
    if late > 0:
        _skip[0] += late


# the firmware's time.sleep/sleep_ms/sleep_us on this profile (nrf52_port.install)
def fw_sleep_ms(ms):
    _nsleep_us(int(ms * 1000))


def fw_sleep_us(us):
    _nsleep_us(int(us))


def fw_sleep(s):
    _nsleep_us(int(s * 1000000))


stats = {"rx": 0, "lost_full": 0, "lost_stall": 0, "stdin": 0, "held_us": 0, "tx": 0,
         "print_tx": 0, "max_fill": 0, "stalls": 0, "irq_off": 0, "irq_off_us": 0}
_DEBUG = bool((getattr(_os, "getenv", None) or _os.environ.get)("OTA_UART_DEBUG"))
if _DEBUG and not ota_shim.MP:
    import traceback as _tb  # now: once nomods hides re, traceback cannot be imported


_gaps = []


def _print_dbg(m):
    import sys

    sys.stderr.write(m + "\n")


repl = [True]  # UART0 attached to the REPL (ports/nrf/main.c, at boot)
uart0 = [None]  # uart.c's one static object, made by the first UART(0, ...)


class NrfUART(WireUART):
    def __init__(self):
        self._s = None
        self._ring = bytearray(_NRF_RING)
        self._h = self._c = 0
        self._w = bytearray(_WIRE)  # the wire: sent by the simulator, not yet received
        self._tmp = bytearray(512)
        self._wh = self._wc = 0
        self._t = ticks_us()
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
        self._advance(ticks_us())
        self.baudrate = baudrate
        self.timeout = timeout
        self.timeout_char = timeout_char
        self._h = self._c = 0  # make_new resets the ring (iget = iput = 0)
        if self._s is None:
            self._s = connect(0)
            self._eof = False
        self._t = ticks_us()
        return self

    # -- the wire ----------------------------------------------------------------------
    def _fill(self):
        if _cpu_us is None:
            return self._fill1()
        c0 = _cpu_us()
        try:
            self._fill1()
        finally:
            _host[0] += (_cpu_us() - c0) // 1000

    def _fill1(self):
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
            k = recv(s, d, free if free < len(d) else len(d))
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
            return  # interrupts off: the handler has not run (see irq_on)
        dt = _time.ticks_diff(now, self._t)
        if dt <= 0:
            return
        self._t = now
        if _cpu_us is not None:
            # CPython: the board's time is what this thread computed plus what it slept;
            # the rest of the wall clock the host gave to other processes, and the CPU
            # the shim's own sleeps and socket reads took (_host: the VM's kernel was
            # seen to burn 6 ms in one 100 us sleep; on the board that is DMA and IRQs)
            c = _cpu_us() // 1000
            b = c - self._cpu - _host[0] + _slept[0] + _SLACK
            self._cpu = c
            _slept[0] = _skip[0] = _host[0] = 0
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
        if repl[0]:
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
                            _print_dbg("".join(_tb.format_stack(limit=9)[:-1]))
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

    def stall_begin(self, t0):
        self._advance(t0)

    def stall_end(self, t0, t1, count="stalls"):
        if count == "stalls" and self._off is not None:
            stats["stalls"] += 1
            return  # inside a disable_irq() section: irq_on accounts for the time
        dt = _time.ticks_diff(t1, t0)
        stats[count] += 1
        self._t = t1
        if _cpu_us is not None:
            self._cpu = _cpu_us() // 1000
            _slept[0] = _skip[0] = _host[0] = 0
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
    def irq_off(self, t0):
        if self._off is None:
            self._advance(t0)
            self._off = t0

    def irq_on(self, t1):
        t0 = self._off
        if t0 is None:
            return
        self._off = None
        stats["irq_off_us"] += _time.ticks_diff(t1, t0)
        self.stall_end(t0, t1, "irq_off")

    def _poll(self):
        if _DEBUG:
            now = ticks_us()
            g = _time.ticks_diff(now, self._t)
            if g > 1500:
                _gaps.append(g)
                if len(_gaps) > 6:
                    _gaps.pop(0)
        self._advance(ticks_us())
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
        t0 = ticks_us()
        while True:
            self._poll()
            if self._c:
                return True
            if _time.ticks_diff(ticks_us(), t0) >= ms * 1000:
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
                send_all(self._s, mv[off:off + k])
            off += k
            self._poll()
        stats["tx"] += n
        return n


def make_new(id, baudrate, *, timeout=1, timeout_char=1):
    # uart.c make_new: (id, baudrate required, *, timeout=1, timeout_char=1); any other
    # keyword is a TypeError; an id other than 0: ValueError("UART doesn't exist")
    if not isinstance(id, int):
        raise TypeError("can't convert %s to int" % type(id).__name__)
    if id != 0:
        raise ValueError("UART doesn't exist")
    u = uart0[0]
    if u is None:
        u = uart0[0] = NrfUART()
    return u._open(baudrate, timeout, timeout_char)
