# `machine` for the qemu MPS2-AN385 board (frozen into the qemu firmware only; qemu_device
# puts it in sys.modules["machine"]): the port's own machine module plus
#  - UART(0, baudrate, *, timeout=1, timeout_char=1), the nrf port's constructor, on
#    the board's CMSDK UART1 (0x40005000; qemu wires it to a loopback socket, the modem
#    simulator's end). Like the nrf port: only UART(0); read/readinto wait up to
#    `timeout` ms for the first byte and `timeout_char` ms between bytes, and return
#    None when nothing came; any() says how many bytes are waiting. Unlike it: the
#    receive side is the UART's one-byte data register (no 64-byte ring): qemu reads
#    the socket only when that register is empty, so nothing is ever lost (as with
#    RTS/CTS flow control on a PCA10040).
#  - reset(): raises Reset; qemu_device reports the boot and resets the emulated board
#    (the port's machine.reset, which ends qemu; the host starts it again with the same
#    flash file).
import micropython
import time
from machine import *  # noqa: F401,F403  (the port's Pin, mem32, idle, ...)
from machine import reset as board_reset  # noqa: F401
from micropython import const

_UART1 = const(0x40005000)


class Reset(BaseException):
    pass


def reset():
    raise Reset


def soft_reset():
    raise Reset


def reset_cause():
    return 1  # PWRON_RESET


@micropython.viper
def _rx(buf: ptr8, n: int, first: int, gap: int) -> int:
    st = ptr32(_UART1 + 4)
    dt = ptr32(_UART1)
    i = 0
    wait = first
    while i < n:
        if st[0] & 2:
            buf[i] = dt[0]
            i += 1
            wait = gap
            continue
        t0 = int(time.ticks_ms())
        while not (st[0] & 2):
            if int(time.ticks_diff(time.ticks_ms(), t0)) >= wait:
                return i
    return i


@micropython.viper
def _tx(buf: ptr8, n: int):
    st = ptr32(_UART1 + 4)
    dt = ptr32(_UART1)
    i = 0
    while i < n:
        while st[0] & 1:
            pass
        dt[0] = buf[i]
        i += 1


class UART:
    def __init__(self, id, baudrate=115200, *, timeout=1, timeout_char=1):
        if id != 0:
            raise ValueError("UART doesn't exist")
        self.baudrate = baudrate
        self.timeout = timeout
        self.timeout_char = timeout_char
        mem32[_UART1 + 0x10] = 16  # BAUDDIV (qemu ignores the rate)
        mem32[_UART1 + 0x08] = 3  # CTRL: TX and RX enabled

    def init(self, baudrate=115200, *, timeout=1, timeout_char=1):
        self.__init__(0, baudrate, timeout=timeout, timeout_char=timeout_char)

    def deinit(self):
        mem32[_UART1 + 0x08] = 0

    def any(self):
        return mem32[_UART1 + 4] >> 1 & 1

    def readinto(self, buf, n=-1):
        if n < 0 or n > len(buf):
            n = len(buf)
        k = _rx(buf, n, self.timeout, self.timeout_char)
        return k or None

    def read(self, n=-1):
        if n < 0:
            n = 256
        b = bytearray(n)
        k = _rx(b, n, self.timeout, self.timeout_char)
        if not k:
            return None
        return bytes(b) if k == n else bytes(b[:k])

    def write(self, buf):
        n = len(buf)
        _tx(buf, n)
        return n
