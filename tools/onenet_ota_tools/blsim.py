# A simulated GD32/STM32 ROM bootloader (ST AN3155) on a TCP port of 127.0.0.1, with
# a simulated MCU flash. The firmware's UART (the shim's machine.UART) connects here.
#
# - Flash: `pages` x `page_size` bytes at `base`, erased = 0xFF. Write programs 1->0
#   only (NOR: the result is old AND new), address 4-aligned, N a multiple of 4 and
#   <= write_max (256; 240 on some GD32 parts), else NACK.
# - Get (0x00) lists Erase 0x43 or Extended Erase 0x44 (erase_cmd), never both;
#   the other one is NACKed. Get Version 0x01, Get ID 0x02, Read 0x11 (<= 256),
#   Go 0x21, Write 0x31, Erase 0x43 ([N-1, pages, XOR]; 0xFF = mass erase) or
#   Extended Erase 0x44 (2-byte N-1 and pages; 0xFFFF = mass erase).
# - Sync: after power-up/reset the bootloader waits for 0x7F after a quiet line (50 ms
#   with no byte: it is still starting up); anything else is dropped. A 0x7F while
#   synced is answered NACK (the host may take that as "already synced").
# - A frame that stops half-way (no byte for 100 ms) is dropped; the bootloader waits
#   for the next command.
# - After Go the "application" runs; a later 0x7F stands for the host's BOOT0/NRST
#   pulse (there is no pin wire here) and the bootloader answers again.
#
# Faults (constructor keywords or fault(**kw); counts are used up):
#   nack=N            the next N Write data frames are NACKed (nothing written)
#   timeout_write=N   the next N Write data frames get no answer (nothing written)
#   bad_checksum=N    line noise: one byte of the next N Write data frames is flipped
#                     on the way in, so the checksum fails and the frame is NACKed
#   reset_after=K     after K more good writes the MCU resets mid-programming (the
#                     write in flight is lost; what was written stays)
#   erase_ms=D        each erased page takes D ms
#   after=K           nack/timeout_write/bad_checksum wait until K writes succeeded in
#                     this session (a fault mid-image rather than at its first write)
import socket
import threading

from .uartsim import UartSim
import time

ACK = 0x79
NACK = 0x1F


class _FrameTimeout(Exception):
    pass


class _Reset(Exception):
    pass


class BootloaderSim(UartSim):
    NAME = "blsim"
    FAULTS = {"nack": 0, "timeout_write": 0, "bad_checksum": 0, "reset_after": 0,
              "erase_ms": 0, "after": 0}

    def __init__(self, port=0, base=0x08000000, page_size=1024, pages=64, write_max=256,
                 erase_cmd=0x44, pid=0x0410, log=None, **faults):
        if erase_cmd not in (0x43, 0x44):
            raise ValueError("erase_cmd: 0x43 or 0x44")
        self.base = base
        self.page_size = page_size
        self.pages = pages
        self.size = page_size * pages
        self.write_max = write_max
        self.erase_cmd = erase_cmd
        self.pid = pid
        self.log = log
        self.flash = bytearray(b"\xff" * self.size)
        self.stats = {"syncs": 0, "writes": 0, "reads": 0, "erased_pages": 0, "nacks": 0,
                      "resets": 0, "timeouts": 0, "bad_checksums": 0, "go": None,
                      "sessions": 0, "commands": 0}
        self._conns = []
        UartSim.__init__(self, port, 2, **faults)

    def image(self, n):
        return bytes(self.flash[:n])

    def _connection(self, c):
        self._conns.append(c)
        return lambda: self._serve(c)

    def _close_connections(self):
        for c in list(self._conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- one UART connection -------------------------------------------------------------
    def _serve(self, c):
        self.c = c
        self._in = bytearray()
        self._last = time.monotonic() - 1  # powered up long ago: the line is quiet
        c.settimeout(0.05)
        synced = False
        running = False
        self._session_writes = 0
        try:
            while not self._stop.is_set():
                try:
                    if not synced:
                        quiet = self._quiet_byte()
                        b = quiet[0]
                        if b == 0x7F and (quiet[1] >= 0.05 or running):
                            synced = True
                            running = False
                            self.stats["syncs"] += 1
                            self._out(ACK)
                        continue
                    b = self._byte(None)
                    if b == 0x7F:
                        self._out(NACK)
                        continue
                    comp = self._byte(0.1)
                    self.stats["commands"] += 1
                    if b ^ comp != 0xFF:
                        self._nack()
                        continue
                    if self._command(b):
                        running = True
                        synced = False
                except _FrameTimeout:
                    continue
                except _Reset:
                    synced = False
                    running = False
                    self.stats["resets"] += 1
                    self._in = bytearray()
        except (OSError, EOFError):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def _fill(self, deadline):
        while not self._in:
            if self._stop.is_set():
                raise EOFError
            if deadline is not None and time.monotonic() > deadline:
                raise _FrameTimeout
            try:
                d = self.c.recv(4096)
            except socket.timeout:
                continue
            if not d:
                raise EOFError
            self._in += d

    def _byte(self, timeout):
        self._fill(None if timeout is None else time.monotonic() + timeout)
        b = self._in[0]
        del self._in[:1]
        self._last = time.monotonic()
        return b

    def _quiet_byte(self):
        # The next byte and how long the line was quiet before it.
        if self._in:
            gap = 0.0
        else:
            self._fill(None)
            gap = time.monotonic() - self._last
        b = self._in[0]
        del self._in[:1]
        self._last = time.monotonic()
        return b, gap

    def _bytes(self, n):
        return bytes(self._byte(0.1) for _ in range(n))

    def _out(self, *bs):
        self.c.sendall(bytes(bs))

    def _nack(self):
        self.stats["nacks"] += 1
        self._out(NACK)

    def _addr(self):
        a = self._bytes(5)
        if a[0] ^ a[1] ^ a[2] ^ a[3] != a[4]:
            self._nack()
            return None
        addr = int.from_bytes(a[:4], "big")
        self._out(ACK)
        return addr

    def _command(self, cmd):
        # -> True when the application was started (Go)
        if cmd == 0x00:
            cmds = bytes([0x00, 0x01, 0x02, 0x11, 0x21, 0x31, self.erase_cmd, 0x63, 0x73, 0x82, 0x92])
            # N = bytes that follow (version + commands) - 1 = the number of commands
            self.c.sendall(bytes([ACK, len(cmds), 0x22]) + cmds + bytes([ACK]))
            return False
        if cmd == 0x01:
            self._out(ACK, 0x22, 0, 0, ACK)
            return False
        if cmd == 0x02:
            self._out(ACK, 1, self.pid >> 8, self.pid & 255, ACK)
            return False
        if cmd == 0x11:
            self._out(ACK)
            a = self._addr()
            if a is None:
                return False
            nb = self._bytes(2)
            n = nb[0] + 1
            if nb[0] ^ nb[1] != 0xFF or not self._inside(a, n):
                self._nack()
                return False
            self.stats["reads"] += 1
            o = a - self.base
            self.c.sendall(bytes([ACK]) + bytes(self.flash[o:o + n]))
            return False
        if cmd == 0x21:
            self._out(ACK)
            a = self._addr()
            if a is None:
                return False
            self.stats["go"] = a
            return True
        if cmd == 0x31:
            return self._write()
        if cmd == self.erase_cmd:
            return self._erase(cmd)
        self._nack()
        return False

    def _inside(self, a, n):
        return self.base <= a and a + n <= self.base + self.size

    def _write(self):
        self._out(ACK)
        a = self._addr()
        if a is None:
            return False
        n1 = self._byte(0.1)
        n = n1 + 1
        data = bytearray(self._bytes(n))
        chk = self._byte(0.1)
        late = self._session_writes >= self.faults["after"]
        if late and self._take("bad_checksum"):
            self.stats["bad_checksums"] += 1
            data[len(data) // 2] ^= 0x10
        if late and self._take("timeout_write"):
            self.stats["timeouts"] += 1
            return False  # silence: the host times out
        x = n1
        for b in data:
            x ^= b
        if (x != chk or n > self.write_max or n % 4 or a % 4 or not self._inside(a, n)
                or (late and self._take("nack"))):
            self._nack()
            return False
        if self.faults["reset_after"]:
            with self._lock:
                self.faults["reset_after"] -= 1
                fire = self.faults["reset_after"] == 0
            if fire:
                raise _Reset
        o = a - self.base
        for i in range(n):
            self.flash[o + i] &= data[i]
        self.stats["writes"] += 1
        self._session_writes += 1
        self._out(ACK)
        return False

    def _erase(self, cmd):
        self._out(ACK)
        if cmd == 0x43:
            n1 = self._byte(0.1)
            if n1 == 0xFF:
                if self._byte(0.1) != 0x00:
                    self._nack()
                    return False
                pages = list(range(self.pages))
            else:
                pages = list(self._bytes(n1 + 1))
                chk = self._byte(0.1)
                x = n1
                for p in pages:
                    x ^= p
                if x != chk:
                    self._nack()
                    return False
        else:
            hb = self._bytes(2)
            n1 = hb[0] << 8 | hb[1]
            if n1 >= 0xFFF0:
                chk = self._byte(0.1)
                if chk != hb[0] ^ hb[1] or n1 != 0xFFFF:
                    self._nack()
                    return False
                pages = list(range(self.pages))
            else:
                raw = self._bytes(2 * (n1 + 1))
                chk = self._byte(0.1)
                x = hb[0] ^ hb[1]
                for b in raw:
                    x ^= b
                if x != chk:
                    self._nack()
                    return False
                pages = [raw[i] << 8 | raw[i + 1] for i in range(0, len(raw), 2)]
        if any(p >= self.pages for p in pages):
            self._nack()
            return False
        for p in pages:
            if self.faults["erase_ms"]:
                time.sleep(self.faults["erase_ms"] / 1000)
            o = p * self.page_size
            self.flash[o:o + self.page_size] = b"\xff" * self.page_size
            self.stats["erased_pages"] += 1
        self._out(ACK)
        return False
