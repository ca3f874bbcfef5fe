# `nrf` for the qemu MPS2-AN385 board (frozen into the qemu firmware only): the
# nRF52832's 512 KiB of flash is emulated RAM, the board's 16 MiB PSRAM at 0x21000000,
# which the host backs with the file nrf_flash.bin of the device's state folder (qemu
# `memory-backend-file,share=on`): every write lands in that file at once, so a reset or
# a power cut (qemu killed) keeps what was written, as flash does. Chip address A is
# byte A of the file.
#
# Like the nrf port's flashbdev.c: Flash(*, start=, len=) keyword-only, page-aligned
# (else ValueError); Flash() is the filesystem region; 2-arg writeblocks erases the page
# first, 3-arg does not; writes only clear bits (NOR: old AND new); ioctl(6, n) erases
# page n. Unlike the port, an access past the 512 KiB chip raises OSError(EINVAL)
# instead of faulting the bus.
import micropython
from micropython import const

_BASE = const(0x21000000)
_SIZE = const(0x80000)  # nRF52832: 512 KiB
_PAGE = const(4096)
_UNUSED = const(0x3D000)  # unused_flash_start(): after a PCA10040 firmware with the agent
_ROMFS = const(0x50000)  # unused_flash_length() ends where the ROMFS region starts
_FS = const(0x70000)  # littlefs: the last 64 KiB, 16 blocks, as on a PCA10040
_FS_LEN = const(0x10000)


@micropython.viper
def _copy(dst: ptr8, src: ptr8, n: int):
    i = 0
    while i < n:
        dst[i] = src[i]
        i += 1


@micropython.viper
def _program(addr: uint, buf: ptr8, n: int):
    d = ptr8(addr)
    i = 0
    while i < n:
        d[i] = d[i] & buf[i]
        i += 1


@micropython.viper
def _erase(addr: uint, n: int):
    d = ptr32(addr)
    i = 0
    n = n >> 2
    while i < n:
        d[i] = -1
        i += 1


def unused_flash_start():
    return _UNUSED


def unused_flash_length():
    return _ROMFS - _UNUSED


class Flash:
    def __init__(self, *, start=-1, len=-1):
        if start == -1 and len == -1:
            start, len = _FS, _FS_LEN
        if start < 0 or start % _PAGE or len <= 0 or len % _PAGE:
            raise ValueError("start, len: page-aligned")
        self.start = start
        self.len = len

    def __repr__(self):
        return "Flash(start=0x%08x, len=%u)" % (self.start, self.len)

    def _addr(self, block, off, n):
        a = self.start + block * _PAGE + off
        if a < 0 or a + n > _SIZE:
            raise OSError(22)
        return _BASE + a

    def readblocks(self, block, buf, off=0):
        _copy(buf, self._addr(block, off, len(buf)), len(buf))
        return 0

    def writeblocks(self, block, buf, off=None):
        if off is None:
            _erase(self._addr(block, 0, _PAGE), _PAGE)
            off = 0
        _program(self._addr(block, off, len(buf)), buf, len(buf))
        return 0

    def ioctl(self, op, arg):
        if op in (1, 2, 3):
            return 0
        if op == 4:
            return self.len // _PAGE
        if op == 5:
            return _PAGE
        if op == 6:
            _erase(self._addr(arg, 0, _PAGE), _PAGE)
            return 0
        return None
