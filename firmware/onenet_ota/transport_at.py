# AT-modem transport: a socket-like transport over a UART to an NB-IoT / Cat-1 modem,
# for boards without a network stack (nRF52832). This module is the core (results, URCs
# common to both, the life cycle, AtSocket; the bytes, lines, rings and the hold are
# at_lines.AtLines); each modem's
# commands are its dialect module, at_bc26.py or at_m5311.py, which AtModem imports
# for the configured kind only. Same interface as transport.py:
#   readinto(buf, n) -> 1..n bytes (0 at EOF; Timeout when nothing came in time)
#   read_exact(buf, n), write(buf, n), close()
# AtModem.open() / connect() -> an AtSocket with that interface. The BC26 has several
# sockets (AT+QIOPEN <connectID> 0..4): two are kept, so the agent's JSON calls
# (progress) can go on one while a long range streams on the other; the M5311 one.
#
# Two command sets (../shared/docs/platform-notes.md):
#   bc26 (Quectel AT+QI*, data pulled by AT+QIRD): at_bc26.py
#   m5311 (China Mobile AT+IP*, data pushed as +IPRD): at_m5311.py
#   both: AT+CCLK? -> +CCLK: "yy/MM/dd,hh:mm:ss+zz" (3GPP TS 27.007 8.15: local time,
#         zone in quarter hours; the modem's network time): clock() -> unix seconds.
#
# The UART is read in pieces of at most 64 bytes (the nRF port's RX ring) into one
# small buffer and parsed byte by byte: unsolicited lines (URCs: +CEREG, +CSCON, ...)
# are handled wherever they come, between or inside command answers. bc26 payload
# goes straight into the caller's buffer (AT+QIRD asks for no more than the read
# wants); m5311 pushes go into one bounded ring (overflow is a NetError). M5311 hex is
# decoded as it streams in: no line buffer of the payload, no unhexlify. Modem errors (ERROR, +CME ERROR, SEND FAIL, CONNECT FAIL) are NetError,
# a silent modem is Timeout. Buffers are allocated once per modem.
#
# Flow control, so that one range can be the whole image:
# - bc26: the modem buffers what the network sends and hands it out only when asked
#   (buffer access mode: +QIURC: "recv" once, then AT+QIRD until +QIRD: 0; Quectel
#   BC26 TCP/IP AT Commands Manual, AT+QIOPEN <access_mode> 0 and AT+QIRD; the same
#   command in the BG96/BG95 TCP/IP Application Notes, 2.3.8 AT+QIRD, <read_length>
#   at most 1500). Nothing is on the line unless asked for, so no ring is needed (each
#   read asks for at most what the caller wants, up to _QIRD) and flash stalls lose
#   nothing, RTS/CTS or not. While the modem holds data it raises no new "recv" URC (BG95 note 2.3.8): after a read that came back full,
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

from .at_lines import AtLines
from .errors import NetError, ProtocolError, Timeout

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


_SEND = const(1024)  # most payload bytes per send command
# The m5311 payload ring's size: at_m5311.RING (a bc26 socket has none).


class AtSocket:
    # One modem socket: its connectID, its payload ring, its state. The transport
    # interface; the work is the modem's (one UART, one parser for all sockets).
    def __init__(self, m, cid, ring):
        self.m = m
        self.cid = cid
        self._ring = bytearray(ring) if ring else None  # bc26: none (AT+QIRD reads in place)
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


class AtModem(AtLines):
    # hold: m5311 only, the hold while the caller works (needs RTS/CTS; a board without
    # reads each answer whole instead: one chunk per range, no hold).
    def __init__(self, uart, kind="bc26", timeout_ms=10000, cid=0, ring=0, hold=True):
        if kind not in ("bc26", "m5311"):
            raise ValueError("modem: bc26 or m5311")
        m5311 = kind == "m5311"
        if m5311:
            from . import at_m5311 as d
        else:
            from . import at_bc26 as d
        self._d = d  # the dialect: connect, send, urc, ... (its module's functions)
        ring = (ring or d.RING) if m5311 else 0
        self.u = uart
        self.kind = kind
        self.m5311 = m5311
        self.to = timeout_ms
        self._bufs()  # the UART piece; the command, line and hex buffer (at_lines)
        s0 = AtSocket(self, cid, ring)
        self.socks = (s0,) if m5311 else (s0, AtSocket(self, 1 if cid != 1 else 0, ring))
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
        self._dst = None  # bc26: the caller's buffer an AT+QIRD reads into, at _doff, _dn at most
        self._doff = self._dn = 0
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

    # Read lines until one starting with one of `finals` (-> its index); error results
    # raise NetError; URCs are handled on the way; a line starting with `want` sets
    # self._got (bc26 +QIRD: its payload follows and is read at once). data: an m5311
    # push for an open socket ends the wait too (-> -1; see at_m5311.send).
    def _wait(self, deadline, finals, want, data):
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
                    self._d.raw(self, self._got, deadline)
                continue
            self._urc(n)

    def _urc(self, n):
        if not n:
            return
        if self._late and (self._pre(n, b"OK") or self._pre(n, b"ERROR")):
            self._late -= 1  # a send's late result (see at_m5311.send)
        elif not self._d.urc(self, n):
            self.urcs += 1

    def _deadline(self, ms):  # ms 0: the modem's time-out
        return time.ticks_add(time.ticks_ms(), ms or self.to)

    def cmd(self, text, finals=(b"OK",), ms=None):
        # One plain command (str, no CR LF); -> index of the final result.
        p = self._c(0, text)
        p = self._c(p, b"\r\n")
        self._send_cmd(p)
        return self._wait(self._deadline(ms), finals, None, False)

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
        self._d.start(self)
        for _ in range(attach_s * 2):
            self._got = -1
            p = self._c(0, b"AT+CGATT?\r\n")
            self._send_cmd(p)
            self._wait(self._deadline(0), (b"OK",), b"+CGATT:", False)
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
        self._d.connect(self, s, host, port, self._deadline(timeout_ms), timeout_ms)
        s.is_open = True
        return s

    # The modem's clock as unix seconds; None when it was never set from the network
    # (a modem before NITZ reports its power-up default, e.g. 70/01/01 or 80/01/06).
    def clock(self):
        self._clk = None
        p = self._c(0, b"AT+CCLK?\r\n")
        self._send_cmd(p)
        self._wait(self._deadline(0), (b"OK",), b"+CCLK:", False)
        return self._clk

    def _cclk(self, n):
        # +CCLK: ["]yy/MM/dd,hh:mm:ss[+-zz]["] (a 4-digit year is taken too)
        ln = self._cb
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
        # m5311: AT+CMDNS -> the host's address (a bc26 resolves in AT+QIOPEN itself)
        return self._d.resolve(self, host, timeout_ms)

    def _close(self, s):
        self.release()
        if not s.is_open:
            return
        s.is_open = False
        s._rc = 0
        p = self._c(0, self._d.CLOSE)
        p = self._ci(p, s.cid)
        p = self._c(p, b"\r\n")
        try:
            self._send_cmd(p)
            self._wait(self._deadline(2000), (b"OK", b"CLOSE OK"), None, False)
        except (NetError, ProtocolError):
            self._flush_input()

    # -- transport interface -------------------------------------------------------

    def _write(self, s, buf, n):
        if not s.is_open or s._eof:
            raise NetError("modem: connection closed")
        off = 0
        while off < n:
            k = n - off if n - off < _SEND else _SEND
            self._d.send(self, s, buf, off, k)
            off += k
        return n

    def _recv(self, s, buf, off, n):
        if self._held is not None:
            self.release()
        dl = self._deadline(0)
        while not s._rc:
            if s._err:
                raise NetError(s._err)
            if not s.is_open:
                raise NetError("modem: connection closed")
            if s._qurc and not self.m5311:
                k = self._d.read(self, s, dl, buf, off, n)
                if k:
                    return k
            elif s._eof:
                return 0
            else:
                self._urc(self._line(dl))
        k = self._take(s, buf, off, n)
        if self.m5311 and not s._eof:
            self._hold()
        return k


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
