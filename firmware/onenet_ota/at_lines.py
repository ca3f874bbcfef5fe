# The byte and line layer of the AT transport (transport_at.AtModem is its subclass):
# the UART read in pieces of at most _RX bytes (the nRF port's RX ring) into one small
# buffer, lines cut from it byte by byte (only a line's first _LINE bytes kept: only
# prefixes matter), the payload rings of the sockets, command formatting into one
# buffer, and the m5311 hold (interrupts off while the caller works: transport_at.py,
# "Flow control"). Every buffer is the modem's, allocated once in AtModem.__init__:
# the UART piece, and one buffer (_cb) for the command being formatted, the line being
# read and the m5311 payload hex being sent, in turn (a command is written before its
# answer's lines are read; the hex follows its command's text).
import time

from .errors import NetError, ProtocolError, Timeout
from .fmt import put_int

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


_LINE = const(96)  # stored part of a line (in _cb)
_CB = const(128)  # _cb: a command (host names up to 128: config), a line, the hex
_RX = const(64)  # bytes pulled from the UART per call


def _ticks():
    return time.ticks_ms()


class AtLines:
    def _bufs(self):
        self._rx = bytearray(_RX)
        self._rp = self._re = 0
        self._cb = bytearray(_CB)

    # -- the hold (m5311) -------------------------------------------------------------
    # Interrupts off between handing payload to the caller and the next call here: the
    # UART's RTS stops the modem while the caller hashes and writes (see the top).
    def _hold(self):
        if self._irq is not None and self._held is None:
            self._held = self._irq[0]()
            self.holds += 1

    def release(self):
        h = self._held
        if h is not None:
            self._held = None
            self._irq[1](h)

    # -- bytes and lines -----------------------------------------------------------

    def _byte(self, deadline):
        if self._rp == self._re:
            if self._held is not None:
                self.release()
            u = self.u
            while True:
                n = u.readinto(self._rx, _RX) if u.any() else None
                if n:
                    self._rp = 0
                    self._re = n
                    break
                if time.ticks_diff(deadline, _ticks()) <= 0:
                    raise Timeout("modem: no answer")
                time.sleep_ms(1)
        b = self._rx[self._rp]
        self._rp += 1
        return b

    def _flush_input(self):
        self.release()
        self._rp = self._re = 0
        for _ in range(64):
            if not self.u.any() or not self.u.readinto(self._rx, _RX):
                break

    # The next non-blank line -> its length in self._cb (CR LF and leading blanks
    # dropped; only the first _LINE bytes kept). The bc26 prompt "> " is a line ">".
    # m5311 +IPRD data is consumed here (into the ring): then 0 is returned.
    def _line(self, deadline):
        ln = self._cb
        while True:
            n = 0
            full = 0
            while True:
                b = self._byte(deadline)
                if b == 10:
                    break
                if b == 13 or (b == 32 and not full):
                    continue
                if n < _LINE:
                    ln[n] = b
                    n += 1
                full += 1
                if full == 1 and b == 62:  # '>': the send prompt, no CR LF follows
                    return 1
                if full == 7 and ln[0] == 43 and self.m5311 and self._pre(7, b"+IPRD: "):
                    self._d.iprd(self, deadline)
                    return 0  # data, not a line: let the caller look at the ring
            if n:
                return n

    def _pre(self, n, p, at=0):
        # self._cb[at:n] starts with p
        k = len(p)
        if n - at < k:
            return False
        ln = self._cb
        for i in range(k):
            if ln[at + i] != p[i]:
                return False
        return True

    def _idpre(self, n, p):
        # p, alone or after "<id>," (m5311 answers may carry the socket id)
        if self._pre(n, p):
            return True
        return n > 2 and 48 <= self._cb[0] <= 57 and self._cb[1] == 44 and self._pre(n, p, 2)

    def _num(self, a, n):
        ln = self._cb
        while a < n and ln[a] == 32:
            a += 1
        v = 0
        d = 0
        while a < n and 48 <= ln[a] <= 57 and d < 9:
            v = v * 10 + ln[a] - 48
            a += 1
            d += 1
        if not d:
            raise ProtocolError("modem: bad number")
        return v

    def _sock(self, a, n):
        # The socket whose connectID is the number at self._cb[a:n]; None if none is
        ln = self._cb
        while a < n and ln[a] == 32:
            a += 1
        if a >= n or not 48 <= ln[a] <= 57:
            return None
        c = ln[a] - 48
        for s in self.socks:
            if s.cid == c:
                return s
        return None

    def _after(self, a, n, ch):
        # index after the first ch at or past a (n when none)
        ln = self._cb
        while a < n and ln[a] != ch:
            a += 1
        return a + 1 if a < n else n

    # -- payload rings -------------------------------------------------------------

    # A payload frame (QIRD or +IPRD) ends in CR LF straight after its n bytes; else
    # bytes were lost on the UART: what the socket s was owed is dropped, NetError.
    def _frame_end(self, s, n, deadline):
        if self._byte(deadline) != 13 or self._byte(deadline) != 10:
            if s is not None:
                s._rc -= n if n < s._rc else s._rc
            raise NetError("modem: bytes lost on the UART")

    def _put(self, b):
        s = self._cur
        if s._rc == s._rs:
            s._err = "modem: receive buffer overflow"
            return
        t = s._rh + s._rc
        if t >= s._rs:
            t -= s._rs
        s._ring[t] = b
        s._rc += 1

    def _take(self, s, buf, off, n):
        k = s._rc if s._rc < n else n
        r = s._ring
        h = s._rh
        rs = s._rs
        for i in range(off, off + k):
            buf[i] = r[h]
            h += 1
            if h == rs:
                h = 0
        s._rh = h
        s._rc -= k
        return k

    # -- commands ------------------------------------------------------------------

    def _c(self, pos, data):
        cb = self._cb
        for i in range(len(data)):
            c = data[i]
            cb[pos + i] = c if isinstance(c, int) else ord(c)
        return pos + len(data)

    def _ci(self, pos, v):
        return put_int(self._cb, pos, v, len(self._cb))

    def _send_cmd(self, n):
        if self._held is not None:
            self.release()
        self.u.write(memoryview(self._cb)[:n])
