# Program a GD32/STM32-class MCU through its ROM USART bootloader (ST AN3155), from a
# network module (an ESP32 running this agent) wired to the MCU's UART, BOOT0 and NRST.
#
# Staged: Gd32Sink wraps a local sink (a file or block sink on the module) that
# receives and MD5-verifies the package like any other. commit() then programs the
# MCU: enter the bootloader (BOOT0 high, pulse NRST, sync 0x7F), Get (which says
# whether the part has Erase 0x43 or Extended Erase 0x44), erase the pages the image
# needs, Write in pieces of write_max bytes (<= 256, a multiple of 4; 240 on some GD32
# parts), read everything back and compare with the staged copy, and only then commit
# the staged copy and Go. Any bootloader error (NACK, silence, garbage after a reset
# of the MCU) restarts the whole procedure from the sync, up to `retries` times;
# the read-back is what decides. No match after the last attempt: BadImage, so the
# agent reports a failure and never 201.
#
# AN3155 frames: command [c, c^0xFF] -> ACK 0x79 / NACK 0x1F; address: 4 bytes big-
# endian + XOR; Write: [N-1, data..., XOR(N-1, data...)]; Read: [N-1, (N-1)^0xFF] ->
# ACK, N bytes; Erase 0x43: [N-1, pages..., XOR]; Extended Erase 0x44: [N-1 (2 bytes),
# pages (2 bytes each), XOR]; Go: address -> ACK.
import time

from .errors import BadImage, NetError, OtaError, Timeout

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


_ACK = const(0x79)
_NACK = const(0x1F)
_ERASE_BATCH = const(16)  # pages per erase command


class BootloaderError(NetError):
    pass


def _has(b, c):
    for x in b:
        if x == c:
            return True
    return False


class Bootloader:
    def __init__(self, uart, timeout_ms=1000, erase_ms=30000):
        self.u = uart
        self.to = timeout_ms
        self.erase_ms = erase_ms
        self._rx = bytearray(64)
        self._rp = self._re = 0
        self._f = bytearray(260)  # one frame
        self._mv = memoryview(self._f)
        self.cmds = b""
        self.version = 0
        self.erase_cmd = 0

    # -- bytes ---------------------------------------------------------------------

    def _byte(self, ms):
        if self._rp == self._re:
            dl = time.ticks_add(time.ticks_ms(), ms)
            u = self.u
            while True:
                n = u.readinto(self._rx, 64) if u.any() else None
                if n:
                    self._rp = 0
                    self._re = n
                    break
                if time.ticks_diff(dl, time.ticks_ms()) <= 0:
                    raise Timeout("bootloader: no answer")
                time.sleep_ms(1)
        b = self._rx[self._rp]
        self._rp += 1
        return b

    def flush_input(self):
        self._rp = self._re = 0
        for _ in range(256):
            if not self.u.any() or not self.u.readinto(self._rx, 64):
                break

    def _ack(self, ms=None):
        b = self._byte(ms or self.to)
        if b == _ACK:
            return
        if b == _NACK:
            raise BootloaderError("bootloader: NACK")
        raise BootloaderError("bootloader: unexpected byte 0x%02x" % b)

    def _send(self, n):
        self.u.write(self._mv[:n])

    def _cmd(self, c):
        self._f[0] = c
        self._f[1] = c ^ 0xFF
        self._send(2)
        self._ack()

    def _addr(self, a):
        f = self._f
        f[0] = a >> 24 & 255
        f[1] = a >> 16 & 255
        f[2] = a >> 8 & 255
        f[3] = a & 255
        f[4] = f[0] ^ f[1] ^ f[2] ^ f[3]
        self._send(5)
        self._ack()

    # -- commands ------------------------------------------------------------------

    # 0x7F once: ACK, or NACK from a bootloader already synced (then it is listening).
    def sync(self):
        self.flush_input()
        self._f[0] = 0x7F
        self._send(1)
        b = self._byte(self.to)
        if b not in (_ACK, _NACK):
            raise BootloaderError("bootloader: no sync")

    def get(self):
        self._cmd(0x00)
        n = self._byte(self.to)
        self.version = self._byte(self.to)
        cmds = bytearray(n)
        for i in range(n):
            cmds[i] = self._byte(self.to)
        self._ack()
        self.cmds = bytes(cmds)
        # (`int in bytes` is not implemented on MicroPython)
        if _has(cmds, 0x44):
            self.erase_cmd = 0x44
        elif _has(cmds, 0x43):
            self.erase_cmd = 0x43
        else:
            raise BootloaderError("bootloader: no erase command")
        if not (_has(cmds, 0x11) and _has(cmds, 0x31)):
            raise BootloaderError("bootloader: no read/write command")
        return self.cmds

    def erase(self, first, count):
        f = self._f
        if self.erase_cmd == 0x44:
            self._cmd(0x44)
            f[0] = count - 1 >> 8
            f[1] = count - 1 & 255
            x = f[0] ^ f[1]
            p = 2
            for pg in range(first, first + count):
                f[p] = pg >> 8
                f[p + 1] = pg & 255
                x ^= f[p] ^ f[p + 1]
                p += 2
        else:
            if first + count > 255:
                raise BootloaderError("bootloader: page number past 254 for Erase 0x43")
            self._cmd(0x43)
            f[0] = count - 1
            x = f[0]
            p = 1
            for pg in range(first, first + count):
                f[p] = pg
                x ^= pg
                p += 1
        f[p] = x
        self._send(p + 1)
        self._ack(self.erase_ms)

    # Write data[off:off+n] at addr (n <= 256 and a multiple of 4, addr 4-aligned).
    def write(self, addr, data, off, n):
        self._cmd(0x31)
        self._addr(addr)
        f = self._f
        f[0] = n - 1
        x = n - 1
        for i in range(n):
            b = data[off + i]
            f[1 + i] = b
            x ^= b
        f[n + 1] = x
        self._send(n + 2)
        self._ack()

    # Read n (<= 256) bytes at addr into buf[0:n].
    def read(self, addr, buf, n):
        self._cmd(0x11)
        self._addr(addr)
        f = self._f
        f[0] = n - 1
        f[1] = (n - 1) ^ 0xFF
        self._send(2)
        self._ack()
        for i in range(n):
            buf[i] = self._byte(self.to)

    def go(self, addr):
        self._cmd(0x21)
        self._addr(addr)


class Gd32Sink:
    # staged: the local sink; g: the config's "gd32" settings; uart: machine.UART
    # (8E1); pins: (boot0, nrst) machine.Pin objects or None.
    def __init__(self, staged, uart, g, boot0=None, nrst=None, log=None):
        self.staged = staged
        self.g = g
        self.bl = Bootloader(uart, g["timeout_ms"], g["erase_ms"])
        self.boot0 = boot0
        self.nrst = nrst
        self.log = log or (lambda m: print("gd32:", m))
        self.capacity = min(staged.capacity, g["pages"] * g["page_size"])
        self.size = 0
        self.attempts = 0

    def begin(self, size, offset=0):
        if size > self.capacity:
            from .errors import NoSpace

            raise NoSpace("image %d > MCU flash %d" % (size, self.capacity))
        self.size = size
        return self.staged.begin(size, offset)

    @property
    def off(self):  # bytes written so far (the staged copy's)
        return self.staged.off

    def write(self, mv):
        self.staged.write(mv)

    def flush(self):
        self.staged.flush()

    def readinto(self, offset, buf):
        return self.staged.readinto(offset, buf)

    def abort(self):
        self.staged.abort()

    def commit(self):
        g = self.g
        err = None
        for i in range(g["retries"]):
            self.attempts = i + 1
            try:
                self._enter()
                self._program()
                err = None
                break
            except OtaError as e:
                err = e
                self.log("attempt %d: %s" % (i + 1, e.args[0] if e.args else e))
                time.sleep_ms(200)  # longer than the bootloader's frame time-out
        if err is not None:
            self._leave()
            raise BadImage("gd32: not programmed (%s)" % (err.args[0] if err.args else err))
        self.staged.commit()
        if g["go"]:
            try:
                self.bl.go(g["base"])
            except OtaError as e:
                # The image is in flash and verified: it starts at the next reset.
                self.log("go: %s" % (e.args[0] if e.args else e))
        self._leave()

    def _enter(self):
        if self.boot0 is not None:
            self.boot0.value(1)
        if self.nrst is not None:
            self.nrst.value(0)
            time.sleep_ms(10)
            self.nrst.value(1)
            time.sleep_ms(50)
        self.bl.sync()
        self.bl.get()

    def _leave(self):
        if self.boot0 is not None:
            self.boot0.value(0)

    def _program(self):
        g = self.g
        bl = self.bl
        size = self.size
        base = g["base"]
        ps = g["page_size"]
        pages = (size + ps - 1) // ps
        p = 0
        while p < pages:
            k = pages - p if pages - p < _ERASE_BATCH else _ERASE_BATCH
            bl.erase(p, k)
            p += k
        wm = g["write_max"]
        buf = bytearray(256)
        back = bytearray(256)
        off = 0
        while off < size:
            k = size - off if size - off < wm else wm
            n = self.staged.readinto(off, memoryview(buf)[:k])
            if n != k:
                raise BadImage("gd32: staged image short")
            while k % 4:
                buf[k] = 0xFF
                k += 1
            bl.write(base + off, buf, 0, k)
            off += k
        # Read back and compare with the staged copy.
        off = 0
        while off < size:
            k = size - off if size - off < 256 else 256
            self.staged.readinto(off, memoryview(buf)[:k])
            bl.read(base + off, back, k)
            for i in range(k):
                if back[i] != buf[i]:
                    raise BootloaderError("gd32: read-back differs at 0x%x" % (base + off + i))
            off += k
