# Stand-in for `machine` (shadows the unix port's built-in one on MICROPYPATH).
# reset() raises ota_shim.Reset; a harness catches it and boots again.
import nrf_uart  # the nRF52832 profile's UART (its stalls and disable_irq sections)
import shimstate as ota_shim  # the shim's state (leaf module; ota_shim re-exports it)
from uart_wire import WireUART, connect, recv, send_all, ticks_us

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
# The "wire" of a UART is a TCP connection to a host simulator (uart_wire.py). Two
# models, chosen by the board profile (ota_shim.PROFILE):
# - UART (the class, any board but nRF52832): ports/esp32/machine_uart.c's arguments
#   and defaults (timeout 0, rxbuf 256); nothing is lost when the firmware reads late
#   (the socket buffers it).
# - the nRF52832's (nrf_uart.NrfUART, installed as machine.UART by
#   nrf52_port.install()): ports/nrf/modules/machine/uart.c, a 64-byte ring at the baud
#   rate, RTS/CTS, UART0 attached to the REPL until os.dupterm(None).
_NULL = object()  # "argument not given" (the C code's MP_OBJ_NULL)


class UART(WireUART):
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
            self._s = connect(self.id)
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
        k = recv(self._s, d, free)  # into a buffer kept for it: nothing allocated per call
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
        return send_all(self._s, buf)


# machine.disable_irq() / enable_irq(state) (extmod/modmachine.c, ports/nrf/mphalport.h:
# PRIMASK saved and set, then restored). The state is PRIMASK: 0 when interrupts were
# on. On the nRF52832 profile the UART model sees the section as a stall
# (nrf_uart.NrfUART.irq_off).
_primask = [0]


def disable_irq():
    state = _primask[0]
    _primask[0] = 1
    u = nrf_uart.uart0[0]
    if u is not None and not state:
        u.irq_off(ticks_us())
    return state


def enable_irq(state=0):
    _primask[0] = 1 if state else 0
    u = nrf_uart.uart0[0]
    if u is not None and not _primask[0]:
        u.irq_on(ticks_us())


# nrf._stall: a flash erase/write stops the CPU from t0 to t1 (the UART's receiver with it)
def _stalled_begin(t0):
    u = nrf_uart.uart0[0]
    if u is not None:
        u.stall_begin(t0)


def _stalled(t0, t1):
    u = nrf_uart.uart0[0]
    if u is not None:
        u.stall_end(t0, t1)


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
