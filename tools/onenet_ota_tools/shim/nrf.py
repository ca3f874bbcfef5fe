# Stand-in for MicroPython's `nrf` module (nRF52 port): Flash(start=, len=) block
# device over one file holding the whole chip flash (shimstate.CONFIG["nrf_flash_size"]).
# Like the port (ports/nrf/modules/nrf/flashbdev.c): start/len keyword-only, pages of
# 4096 bytes; 2-arg writeblocks erases the page first, 3-arg writeblocks does not;
# ioctl(6, n) erases page n. Unlike the port (which checks nothing and writes wherever
# the address points), every access is bounds-checked against the region and raises
# OSError(EINVAL) loudly, so agent bugs surface. With CONFIG["nrf_stall"] (the
# nrf52832 profile) each erase blocks ~85 ms and each word write 41 us, as the NVMC
# stalls the CPU (nRF52832 product specification, tERASEPAGE / tWRITE).
import sys

import shimstate
from flashsim import FlashFile

_PAGE = 4096
_EINVAL = 22
_ERASE_US = 85000  # page erase
_WORD_US = 41  # one 32-bit word write
_chip = [None]


def _forget():
    _chip[0] = None


shimstate.forgets.append(_forget)  # a new boot re-opens the flash file


# The CPU stalls for `us` microseconds (nRF52 NVMC erase/write: the core waits, no
# interrupt runs): the UART stand-in learns of it (machine._stalled, looked up in
# sys.modules: machine is loaded only in the nrf52832 profile) so its receiver
# neither takes bytes nor lets the REPL see them meanwhile; the time really passes.
def _stall(us):
    m = sys.modules.get("machine")
    m = m if m is not None and hasattr(m, "_stalled") else None
    t0 = _ticks_us()
    if m:
        m._stalled_begin(t0)
    _sleep_us(us)
    if m:
        m._stalled(t0, _ticks_us())


def _ticks_us():
    import time

    return time.ticks_us()


def _sleep_us(us):
    import time

    if shimstate.MP:
        time.sleep_us(us)
    else:
        time.sleep(us / 1000000)


def _flash():
    f = _chip[0]
    if f is None:
        f = FlashFile("nrf_flash.bin", shimstate.CONFIG["nrf_flash_size"], _EINVAL, _EINVAL)
        _chip[0] = f
    return f


# modnrf.c: from the end of the firmware image (page-aligned up) to the end of the
# linker's FLASH_TEXT region, which the ROMFS (or, without one, the filesystem) follows.
def unused_flash_start():
    return shimstate.CONFIG["nrf_unused_start"]


def unused_flash_length():
    c = shimstate.CONFIG
    end = c["nrf_romfs_start"] if c["nrf_romfs_start"] < c["nrf_fs_start"] else c["nrf_fs_start"]
    return end - c["nrf_unused_start"]


def _erase(a):
    if shimstate.CONFIG["nrf_stall"]:
        _stall(_ERASE_US)
    _flash().erase(a, _PAGE)


def _write(a, buf):
    if shimstate.CONFIG["nrf_stall"]:
        _stall(((len(buf) + 3) // 4) * _WORD_US)
    _flash().write(a, buf)


class Flash:
    # keyword-only like the port's MP_ARG_KW_ONLY: Flash(0, 4096) is a TypeError
    def __init__(self, *, start=-1, len=-1):
        c = shimstate.CONFIG
        if start == -1 and len == -1:
            start, len = c["nrf_fs_start"], c["nrf_fs_len"]
        if start < 0 or start % _PAGE or len < 0 or len % _PAGE:
            raise ValueError
        if start + len > c["nrf_flash_size"]:
            raise ValueError("nrf.Flash: region past the end of flash")
        self.start = start
        self.len = len

    def __repr__(self):
        return "Flash(start=0x%08x, len=%u)" % (self.start, self.len)

    def _addr(self, block_num, offset, n):
        a = block_num * _PAGE + offset
        if block_num < 0 or offset < 0 or a + n > self.len:
            raise OSError(_EINVAL, "nrf.Flash: 0x%x+%d outside region of %d" % (a, n, self.len))
        return self.start + a

    def readblocks(self, block_num, buf, offset=0):
        _flash().read(self._addr(block_num, offset, len(buf)), buf)
        return 0

    def writeblocks(self, block_num, buf, offset=None):
        if offset is None:
            a = self._addr(block_num, 0, len(buf))
            _erase(a)
        else:
            a = self._addr(block_num, offset, len(buf))
        _write(a, buf)
        return 0

    def ioctl(self, op, arg):
        if op in (1, 2, 3):
            return 0
        if op == 4:
            return self.len // _PAGE
        if op == 5:
            return _PAGE
        if op == 6:
            _erase(self._addr(arg, 0, _PAGE))
            return 0
        return None
