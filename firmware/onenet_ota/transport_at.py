# AT-modem transport: a socket-like transport over a UART to an NB-IoT / Cat-1 modem,
# for boards without a network stack (nRF52832). Same interface as transport.py:
#   readinto(buf, n) -> 1..n bytes (0 at EOF; Timeout when nothing came in time)
#   read_exact(buf, n), write(buf, n), close()
# AtModem.open() / connect() -> an AtSocket with that interface. The BC26 has several
# sockets (AT+QIOPEN <connectID> 0..4): two are kept, so the agent's JSON calls
# (progress) can go on one while a long range streams on the other; the M5311 one.
#
# Two command sets (../shared/docs/platform-notes.md):
#   bc26  (Quectel): AT+QIOPEN=1,<id>,"TCP","<host>",<port>,0,0 -> OK, URC +QIOPEN: <id>,0
#         AT+QISEND=<id>,<n> -> "> " -> n bytes -> SEND OK | SEND FAIL
#         buffer mode: URC +QIURC: "recv",<id>, then AT+QIRD=<id>,<k> -> +QIRD: <n>
#         CRLF, n raw bytes, OK (repeat until +QIRD: 0); URC +QIURC: "closed",<id> = EOF
#         once the modem's buffer is drained; AT+QICLOSE=<id>.
#   m5311 (China Mobile): AT+CMDNS="<host>" -> +CMDNS: <ip>; AT+IPSTART=<id>,"TCP",
#         "<ip>",<port> -> CONNECT OK | CONNECT FAIL; AT+IPSEND=<id>,<n>,<HEX> -> OK;
#         data arrives by itself as URC +IPRD: <id>,"<ip>",<port>,<n>,<HEX>; URC
#         +IPCLOSE: <id> (or "<id>,CLOSED") = EOF; AT+IPCLOSE=<id>.
#   both: AT+CCLK? -> +CCLK: "yy/MM/dd,hh:mm:ss+zz" (3GPP TS 27.007 8.15: local time,
#         zone in quarter hours; the modem's network time): clock() -> unix seconds.
#
# The UART is read in pieces of at most 64 bytes (the nRF port's RX ring) into one
# small buffer and parsed byte by byte: unsolicited lines (URCs: +CEREG, +CSCON, ...)
# are handled wherever they come, between or inside command answers. Payload goes
# into one bounded ring (bc26 asks for no more than fits; m5311 pushes: overflow is a
# NetError). M5311 hex is decoded as it streams in: no line buffer of the payload, no
# unhexlify. Modem errors (ERROR, +CME ERROR, SEND FAIL, CONNECT FAIL) are NetError,
# a silent modem is Timeout. Buffers are allocated once per modem.
#
# Flow control, so that one range can be the whole image:
# - bc26: the modem buffers what the network sends and hands it out only when asked
#   (buffer access mode: +QIURC: "recv" once, then AT+QIRD until +QIRD: 0; Quectel
#   BC26 TCP/IP AT Commands Manual, AT+QIOPEN <access_mode> 0 and AT+QIRD; the same
#   command in the BG96/BG95 TCP/IP Application Notes, 2.3.8 AT+QIRD, <read_length>
#   at most 1500). Nothing is on the line unless asked for, so the ring is one read
#   (_QIRD) and flash stalls lose nothing, RTS/CTS or not. While the modem holds data
#   it raises no new "recv" URC (BG95 note 2.3.8): after a read that came back full,
#   the next one is sent without waiting for a URC.
# - m5311: the modem pushes +IPRD as data arrives (AT+IPRCFG=1,...: the auto-output
#   mode China Mobile's own drivers set, OneOS m5311_netconn.c / QSDK; no pull mode of
#   the M5311 could be confirmed from its AT manual v2.1). The only brake is the
#   UART's: with RTS/CTS (PCA10040: MICROPY_HW_UART1_HWFC) the nRF52's UART deasserts
#   RTS once its RX FIFO is nearly full while no interrupt empties it (nRF52832 PS,
#   UART "Flow control"). So once data has been handed to the caller, the transport
#   turns interrupts off (machine.disable_irq) until its next call: the caller's
#   hashing and flash writes leave the modem held instead of overflowing the 64-byte
#   ring (nothing else may write UART0 meanwhile: the board has detached the REPL; the
#   transport lets go before it writes). Without RTS/CTS that loses bytes: every +IPRD must end in CR LF right after
#   its <len> bytes of hex and decode, so a loss is a NetError (the range is fetched
#   again), never a shifted image; such a board keeps `request` at one chunk (the
#   answer is read whole before the caller works, nothing arrives meanwhile).
import time

from .errors import NetError, ProtocolError, Timeout
from .fmt import put_int

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


_LINE = const(96)  # stored part of a line (longer lines are cut: only prefixes matter)
_RX = const(64)  # bytes pulled from the UART per call
_SEND = const(1024)  # most payload bytes per send command
_HEXW = const(32)  # payload bytes hex-encoded per UART write (m5311)
_QIRD = const(512)  # most bytes asked per AT+QIRD
# The payload rings: bc26 one AT+QIRD read (it asks for no more than is free), the
# second socket (JSON answers) half that; m5311 one +IPRD push, which carries at most
# one TCP segment (MSS 1460) of what came in.
_RING_BC26 = const(512)
_RING_BC26_2 = const(256)
_RING_M5311 = const(1536)

_HEX = b"0123456789ABCDEF"


def _ticks():
    return time.ticks_ms()


class AtSocket:
    # One modem socket: its connectID, its payload ring, its state. The transport
    # interface; the work is the modem's (one UART, one parser for all sockets).
    def __init__(self, m, cid, ring):
        self.m = m
        self.cid = cid
        self._ring = bytearray(ring)
        self._rs = ring
        self.is_open = False
        self._reset()

    def _reset(self):
        self._eof = False  # the remote end closed
        self._qurc = False  # bc26: the modem holds data (URC "recv")
        self._opened = -1  # result of the open (bc26 +QIOPEN err; m5311 0/1)
        self._err = None  # m5311 ring overflow
        self._rh = 0  # ring head (next byte to hand out)
        self._rc = 0  # bytes in the ring

    def open(self, host, port, timeout_ms=None):
        return self.m._open(self, host, port, timeout_ms)

    def readinto(self, buf, n):
        return self.m._recv(self, buf, 0, n)

    def read_exact(self, buf, n):
        got = 0
        while got < n:
            r = self.m._recv(self, buf, got, n - got)
            if not r:
                raise NetError("connection closed mid-body")
            got += r
        return n

    def write(self, buf, n):
        return self.m._write(self, buf, n)

    def close(self):
        self.m._close(self)


class AtModem:
    # hold: m5311 only, the hold while the caller works (needs RTS/CTS; a board without
    # reads each answer whole instead: one chunk per range, no hold).
    def __init__(self, uart, kind="bc26", timeout_ms=10000, cid=0, ring=0, hold=True):
        if kind not in ("bc26", "m5311"):
            raise ValueError("modem: bc26 or m5311")
        m5311 = kind == "m5311"
        if not ring:
            ring = _RING_M5311 if m5311 else _RING_BC26
        self.u = uart
        self.kind = kind
        self.m5311 = m5311
        self.to = timeout_ms
        self._rx = bytearray(_RX)
        self._rp = self._re = 0
        self._ln = bytearray(_LINE)
        self._cb = bytearray(128)  # command being formatted
        self._hx = bytearray(2 * _HEXW)
        s0 = AtSocket(self, cid, ring)
        self.socks = (s0,) if m5311 else (s0, AtSocket(self, 1 if cid != 1 else 0, _RING_BC26_2))
        self.s0 = s0
        self._cur = s0  # the socket payload goes to (_put)
        self.up = False
        self.urcs = 0  # unsolicited lines seen (statistics)
        self._irq = None  # m5311: machine.disable_irq / enable_irq (the hold)
        self._held = None  # their state while held
        self.holds = 0  # statistics
        self._got = -1
        self._clk = None
        self._dns = None
        self._pushed = False  # m5311: the last +IPRD was for an open socket
        self._late = 0  # m5311: send results still to come (a wait ended by data)
        if m5311 and hold:
            try:
                import machine

                self._irq = (machine.disable_irq, machine.enable_irq)
            except (ImportError, AttributeError):
                pass

    # The first socket's transport interface on the modem itself (one-socket users).
    @property
    def is_open(self):
        return self.s0.is_open

    @is_open.setter
    def is_open(self, v):
        self.s0.is_open = v

    @property
    def cid(self):
        return self.s0.cid

    def readinto(self, buf, n):
        return self._recv(self.s0, buf, 0, n)

    def read_exact(self, buf, n):
        return self.s0.read_exact(buf, n)

    def write(self, buf, n):
        return self._write(self.s0, buf, n)

    def close(self):
        self._close(self.s0)

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

    # The next non-blank line -> its length in self._ln (CR LF and leading blanks
    # dropped; only the first _LINE bytes kept). The bc26 prompt "> " is a line ">".
    # m5311 +IPRD data is consumed here (into the ring): then 0 is returned.
    def _line(self, deadline):
        ln = self._ln
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
                    self._iprd(deadline)
                    return 0  # data, not a line: let the caller look at the ring
            if n:
                return n

    def _pre(self, n, p, at=0):
        # self._ln[at:n] starts with p
        k = len(p)
        if n - at < k:
            return False
        ln = self._ln
        for i in range(k):
            if ln[at + i] != p[i]:
                return False
        return True

    def _idpre(self, n, p):
        # p, alone or after "<id>," (m5311 answers may carry the socket id)
        if self._pre(n, p):
            return True
        return n > 2 and 48 <= self._ln[0] <= 57 and self._ln[1] == 44 and self._pre(n, p, 2)

    def _num(self, a, n):
        ln = self._ln
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
        # The socket whose connectID is the number at self._ln[a:n]; None if none is
        ln = self._ln
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
        ln = self._ln
        while a < n and ln[a] != ch:
            a += 1
        return a + 1 if a < n else n

    # -- payload rings -------------------------------------------------------------

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

    def _raw(self, n, deadline):
        # bc26: n raw payload bytes after "+QIRD: n", then CR LF. A byte lost on the
        # UART (a full receive ring: the nRF port drops silently) shifts that frame:
        # the payload is dropped and the read fails, so the range is fetched again
        # instead of corrupt bytes reaching the image.
        for _ in range(n):
            self._put(self._byte(deadline))
        if self._byte(deadline) != 13 or self._byte(deadline) != 10:
            s = self._cur
            s._rc -= n if n < s._rc else s._rc
            raise NetError("modem: bytes lost on the UART")

    def _iprd(self, deadline):
        # After "+IPRD: ": <id>,"<ip>",<port>,<len>,<HEX> CR LF, decoded into the ring
        # of socket <id> (a push for no open socket of ours is read and dropped).
        commas = 0
        quoted = False
        n = 0
        cid = -1
        while commas < 4:
            b = self._byte(deadline)
            if b == 34:
                quoted = not quoted
            elif b == 44 and not quoted:
                commas += 1
            elif b == 10:
                raise ProtocolError("modem: short +IPRD")
            elif commas == 0 and 48 <= b <= 57 and cid < 0:
                cid = b - 48
            elif commas == 3 and 48 <= b <= 57:
                n = n * 10 + b - 48
                if n > 65536:
                    raise ProtocolError("modem: bad +IPRD")
        s = None
        for x in self.socks:
            if x.cid == cid and x.is_open:
                s = x  # else a push still on the line for a closed connection: dropped
        keep = self._cur
        self._cur = s or keep
        for _ in range(n):
            b = _nib(self._byte(deadline)) << 4 | _nib(self._byte(deadline))
            if s is not None:
                self._put(b)
        self._cur = keep
        self._pushed = s is not None
        # <len> bytes of hex, then CR LF: anything else means bytes were lost on the
        # UART (the rest of this push, the start of the next one): refuse the push.
        if self._byte(deadline) != 13 or self._byte(deadline) != 10:
            if s is not None:
                s._rc -= n if n < s._rc else s._rc
            raise NetError("modem: bytes lost on the UART")

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

    # Read lines until one starting with one of `finals` (-> its index); error results
    # raise NetError; URCs are handled on the way; a line starting with `want` sets
    # self._got (bc26 +QIRD: its payload follows and is read at once). data: an m5311
    # push for an open socket ends the wait too (-> -1; see _send_hex).
    def _wait(self, deadline, finals, want=None, data=False):
        while True:
            n = self._line(deadline)
            if not n:
                if data and self._pushed:
                    return -1
                continue
            if self._late and (self._pre(n, b"OK") or self._pre(n, b"ERROR")):
                self._late -= 1  # a send's result that came after its answer's data
                continue
            for i in range(len(finals)):
                if self._idpre(n, finals[i]):
                    return i
            if self._pre(n, b"ERROR") or self._pre(n, b"+CME ERROR"):
                raise NetError("modem: ERROR")
            if self._idpre(n, b"SEND FAIL"):
                raise NetError("modem: SEND FAIL")
            if self._idpre(n, b"CONNECT FAIL"):
                raise NetError("modem: CONNECT FAIL")
            if want is not None and self._pre(n, want):
                if want == b"+CCLK:":
                    self._clk = self._cclk(n)
                    continue
                self._got = self._num(len(want), n)
                if want == b"+QIRD:":
                    self._raw(self._got, deadline)
                continue
            self._urc(n)

    def _urc(self, n):
        ln = self._ln
        if not n:
            return
        if self._late and (self._pre(n, b"OK") or self._pre(n, b"ERROR")):
            self._late -= 1  # a send's late result (see _send_hex)
        elif self._pre(n, b"+QIURC: \"recv\""):
            s = self._sock(self._after(14, n, 44), n)
            if s is not None:
                s._qurc = True
        elif self._pre(n, b"+QIURC: \"closed\""):
            s = self._sock(self._after(16, n, 44), n)
            if s is not None:
                s._eof = True
                s._qurc = True  # read what the modem still holds, then EOF
        elif self._pre(n, b"+QIOPEN:"):
            s = self._sock(8, n)
            c = self._after(8, n, 44)
            if s is not None:
                s._opened = self._num(c, n) if c < n else 1
        elif self._pre(n, b"+IPCLOSE:") or self._idpre(n, b"CLOSED"):
            self.s0._eof = True
        elif self._idpre(n, b"CONNECT OK"):
            self.s0._opened = 0
        elif self._pre(n, b"+CMDNS:"):
            a = 7
            while a < n and ln[a] == 32:
                a += 1
            self._dns = bytes(ln[a:n]).decode()
        else:
            self.urcs += 1

    def _deadline(self, ms=None):
        return time.ticks_add(_ticks(), ms or self.to)

    def cmd(self, text, finals=(b"OK",), ms=None):
        # One plain command (str, no CR LF); -> index of the final result.
        p = self._c(0, text)
        p = self._c(p, b"\r\n")
        self._send_cmd(p)
        return self._wait(self._deadline(ms), finals)

    # -- life cycle ----------------------------------------------------------------

    # Wake the modem (AT until it answers), echo off, wait for the packet attach.
    def start(self, attach_s=30):
        self._late = 0
        for i in range(10):
            self._flush_input()
            try:
                self.cmd("AT", ms=500)
                break
            except Timeout:
                if i == 9:
                    raise
        self.cmd("ATE0")
        if self.m5311:
            # pushed data as hex with the remote address: +IPRD: <id>,"<ip>",<port>,<len>,<HEX>
            # (China Mobile's QSDK sets the same; see modemsim.py). A firmware that
            # refuses it keeps its own setting: the parser needs <len> and the hex only.
            try:
                self.cmd("AT+IPRCFG=1,2,1")
            except NetError:
                pass
        for _ in range(attach_s * 2):
            self._got = -1
            p = self._c(0, b"AT+CGATT?\r\n")
            self._send_cmd(p)
            self._wait(self._deadline(), (b"OK",), b"+CGATT:")
            if self._got == 1:
                break
            time.sleep_ms(500)
        else:
            raise NetError("modem: not attached")
        self.up = True

    # A connection on the first socket (closed first if it is open) -> that socket.
    def open(self, host, port, timeout_ms=None):
        return self._open(self.s0, host, port, timeout_ms)

    # A connection on a socket no connection holds (the first if all do) -> it.
    def connect(self, host, port, timeout_ms=None):
        for s in self.socks:
            if not s.is_open:
                return self._open(s, host, port, timeout_ms)
        return self._open(self.s0, host, port, timeout_ms)

    def _open(self, s, host, port, timeout_ms):
        if not self.up:
            self.start()
        if s.is_open:
            self._close(s)
        s._reset()
        try:  # collect now, not in the middle of an answer the UART ring cannot hold
            import gc

            gc.collect()
        except ImportError:
            pass
        dl = self._deadline(timeout_ms)
        cid = s.cid
        if self.m5311:
            ip = host if _is_ip(host) else self.resolve(host, timeout_ms)
            p = self._c(0, b"AT+IPSTART=")
            p = self._ci(p, cid)
            p = self._c(p, b",\"TCP\",\"")
            p = self._c(p, ip)
            p = self._c(p, b"\",")
            p = self._ci(p, port)
            p = self._c(p, b"\r\n")
            self._send_cmd(p)
            self._wait(dl, (b"CONNECT OK", b"ALREADY CONNECT"))
        else:
            p = self._c(0, b"AT+QIOPEN=1,")
            p = self._ci(p, cid)
            p = self._c(p, b",\"TCP\",\"")
            p = self._c(p, host)
            p = self._c(p, b"\",")
            p = self._ci(p, port)
            p = self._c(p, b",0,0\r\n")
            self._send_cmd(p)
            self._wait(dl, (b"OK",))
            while s._opened < 0:
                self._urc(self._line(dl))
            if s._opened:
                raise NetError("modem: open failed (%d)" % s._opened)
        s.is_open = True
        return s

    # The modem's clock as unix seconds; None when it was never set from the network
    # (a modem before NITZ reports its power-up default, e.g. 70/01/01 or 80/01/06).
    def clock(self):
        self._clk = None
        p = self._c(0, b"AT+CCLK?\r\n")
        self._send_cmd(p)
        self._wait(self._deadline(), (b"OK",), b"+CCLK:")
        return self._clk

    def _cclk(self, n):
        # +CCLK: ["]yy/MM/dd,hh:mm:ss[+-zz]["] (a 4-digit year is taken too)
        ln = self._ln
        v = [0, 0, 0, 0, 0, 0, 0]
        k = 0
        d = 0
        sign = 1
        for i in range(6, n):
            c = ln[i]
            if 48 <= c <= 57:
                v[k] = v[k] * 10 + c - 48
                d += 1
            elif d and k < 6 and c in (47, 44, 58, 43, 45):  # / , : + -
                k += 1
                d = 0
                if k == 6 and c == 45:
                    sign = -1
                elif k == 6 and c != 43:
                    k = 5  # no zone sign where one is due: stop here
                    break
        if k < 5:
            return None
        y = v[0] + (1900 if v[0] >= 70 else 2000) if v[0] < 100 else v[0]  # "70/01/01": unset
        if y < 2020 or not 1 <= v[1] <= 12 or not 1 <= v[2] <= 31:
            return None  # not synchronised
        return _epoch(y, v[1], v[2], v[3], v[4], v[5]) - sign * v[6] * 900

    def resolve(self, host, timeout_ms=None):
        self._dns = None
        p = self._c(0, b"AT+CMDNS=\"")
        p = self._c(p, host)
        p = self._c(p, b"\"\r\n")
        self._send_cmd(p)
        dl = self._deadline(timeout_ms)
        self._wait(dl, (b"OK",))
        while self._dns is None:
            self._urc(self._line(dl))
        if not _is_ip(self._dns):
            raise NetError("modem: cannot resolve host")
        return self._dns

    def _close(self, s):
        self.release()
        if not s.is_open:
            return
        s.is_open = False
        s._rc = 0
        p = self._c(0, b"AT+IPCLOSE=" if self.m5311 else b"AT+QICLOSE=")
        p = self._ci(p, s.cid)
        p = self._c(p, b"\r\n")
        try:
            self._send_cmd(p)
            self._wait(self._deadline(2000), (b"OK", b"CLOSE OK"))
        except (NetError, ProtocolError):
            self._flush_input()

    # -- transport interface -------------------------------------------------------

    def _write(self, s, buf, n):
        if not s.is_open or s._eof:
            raise NetError("modem: connection closed")
        off = 0
        while off < n:
            k = n - off if n - off < _SEND else _SEND
            if self.m5311:
                self._send_hex(s, buf, off, k)
            else:
                self._send_raw(s, buf, off, k)
            off += k
        return n

    def _send_raw(self, s, buf, off, k):
        p = self._c(0, b"AT+QISEND=")
        p = self._ci(p, s.cid)
        p = self._c(p, b",")
        p = self._ci(p, k)
        p = self._c(p, b"\r\n")
        self._send_cmd(p)
        dl = self._deadline()
        self._wait(dl, (b">",))
        self.u.write(memoryview(buf)[off:off + k])
        self._wait(dl, (b"SEND OK",))

    def _send_hex(self, s, buf, off, k):
        p = self._c(0, b"AT+IPSEND=")
        p = self._ci(p, s.cid)
        p = self._c(p, b",")
        p = self._ci(p, k)
        p = self._c(p, b",")
        self._send_cmd(p)
        hx = self._hx
        u = self.u
        end = off + k
        while off < end:
            m = end - off if end - off < _HEXW else _HEXW
            for i in range(m):
                b = buf[off + i]
                hx[2 * i] = _HEX[b >> 4]
                hx[2 * i + 1] = _HEX[b & 15]
            u.write(hx if m == _HEXW else memoryview(hx)[: 2 * m])
            off += m
        u.write(b"\r\n")
        # OK, or the answer already streaming (a fast server: its pushes may come before
        # the OK, and a long range would overflow the ring while the OK is awaited; the
        # late OK is then an unknown line, skipped)
        self._pushed = False
        if self._wait(self._deadline(), (b"OK",), None, True) < 0:
            self._late += 1  # its OK is still to come: not the answer to a later command

    def _recv(self, s, buf, off, n):
        if self._held is not None:
            self.release()
        dl = self._deadline()
        while not s._rc:
            if s._err:
                raise NetError(s._err)
            if not s.is_open:
                raise NetError("modem: connection closed")
            if s._qurc and not self.m5311:
                self._read_bc26(s, dl)
            elif s._eof:
                return 0
            else:
                self._urc(self._line(dl))
        k = self._take(s, buf, off, n)
        if self.m5311 and not s._eof:
            self._hold()
        return k

    def _read_bc26(self, s, dl):
        free = s._rs - s._rc
        p = self._c(0, b"AT+QIRD=")
        p = self._ci(p, s.cid)
        p = self._c(p, b",")
        p = self._ci(p, free if free < _QIRD else _QIRD)
        p = self._c(p, b"\r\n")
        self._send_cmd(p)
        self._got = -1
        self._cur = s
        try:
            self._wait(dl, (b"OK",), b"+QIRD:")
        except NetError:
            if not s._eof:
                raise
            self._got = 0  # closed and gone: nothing more
        finally:
            self._cur = self.s0
        if self._got <= 0:
            s._qurc = False


def _nib(c):
    if 48 <= c <= 57:
        return c - 48
    c |= 0x20
    if 97 <= c <= 102:
        return c - 87
    raise ProtocolError("modem: bad hex")


def _epoch(y, mo, d, h, mi, s):
    # civil date -> unix seconds (days_from_civil, proleptic Gregorian): no mktime on
    # the nrf port
    if mo <= 2:
        y -= 1
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (mo - 3 if mo > 2 else mo + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return (era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + s


def _is_ip(s):
    if not s:
        return False
    dots = 0
    for ch in s:
        if ch == ".":
            dots += 1
        elif not "0" <= ch <= "9":
            return False
    return dots == 3
