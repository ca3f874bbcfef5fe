# A simulated NB-IoT modem on a TCP port of 127.0.0.1: the firmware's UART (the shim's
# machine.UART connects here) talks AT commands to it, and it bridges the modem's
# socket to real TCP on loopback (the OneNET simulator). Two command sets:
#
#   bc26 (Quectel, buffer access mode)        m5311 (China Mobile, hex data)
#   AT+QIOPEN=1,<id>,"TCP","<h>",<p>,0,0      AT+IPSTART=<id>,"TCP","<ip>",<p>
#     OK, then +QIOPEN: <id>,<err>              CONNECT OK | CONNECT FAIL
#   AT+QISEND=<id>,<n>  "> " n bytes SEND OK  AT+IPSEND=<id>,<n>,<HEX>  OK
#   +QIURC: "recv",<id>; AT+QIRD=<id>,<k>     +IPRD: <id>,"<ip>",<p>,<n>,<HEX>
#     +QIRD: <n> CRLF bytes CRLF OK
#   +QIURC: "closed",<id>                     +IPCLOSE: <id>
#   AT+QICLOSE=<id>  OK                       AT+IPCLOSE=<id>  OK;  AT+CMDNS="h"
# Both: AT, ATE0/ATE1 (echo is on at power-up), AT+CSQ, AT+CGATT?, AT+CEREG?,
# AT+CCLK? (3GPP TS 27.007 8.15: +CCLK: "yy/MM/dd,hh:mm:ss+zz", local time, zone in
# quarter hours; here China time, +32; clock=0: the unsynchronised power-up default
# "70/01/01,00:00:00+00", as a modem before NITZ).
# Sockets: the BC26 AT+QIOPEN <connectID> 0..4 (Quectel BC26 TCP/IP AT Commands Manual),
# each with its own buffer, "recv" URC and AT+QIRD; the M5311 AT+IPSTART=<socket_id>.
# M5311 receive format: AT+IPRCFG=1,2,1 (auto output, with the remote address, as hex:
# "+IPRD:<socket_id>,<remote_addr>,<remote_port>,<data_len>,<data>", as China Mobile's
# QSDK sets it and comments it; OneOS m5311_netconn.c sets AT+IPRCFG=1,0,1, the same
# push without the address). Only that setting is accepted: the push is the only
# receive mode the sources show (no pull mode of the M5311 could be confirmed).
# Any host name resolves to 127.0.0.1: the bridge never leaves loopback.
# Command lines end at CR (V.25ter); an LF after it is dropped even when it arrives in
# a later segment (a one-byte-per-segment UART), so it never becomes payload.
#
# Faults (constructor keywords or fault(**kw) at any time; counts are used up):
#   urc_storm=N   N unrelated URCs (+CEREG, +CSCON, ...) before every answer and
#                 between data URCs
#   send_fail=N   the next N sends answer SEND FAIL (nothing is forwarded)
#   open_fail=N   the next N opens fail
#   drop_after=B  the link drops once B bytes came from the server (the rest is lost,
#                 the modem reports the socket closed)
#   mute=N        the next N commands get no answer at all (the firmware times out)
#   delay_ms=D    each answer comes D ms late; bps=R: output paced to R bytes/s
# Test hook (not a modem command): AT+SIMFAULT=<name>,<int> sets a fault from the UART
# side (firmware case modules run in another process than the simulator).
# The command lines' answers (both dialects) are modemsim_at.AtCommands, a mixin of
# the session; this module keeps the UART session, the faults and the bridged sockets.
import re
import socket
import threading
import time

from .modemsim_at import AtCommands
from .uartsim import UartSim

_STORM = (b"+CEREG: 1", b"+CSCON: 1", b"+QNBIOTEVENT: \"EXIT PSM\"", b"+CSCON: 0",
          b"+IP: 10.11.12.13", b"+CTZV: 24/01/01,08:00:00,+32", b"+QIURC: \"pdpdeact\",9")


class ModemSim(UartSim):
    NAME = "modemsim"
    FAULTS = {"urc_storm": 0, "send_fail": 0, "open_fail": 0, "drop_after": 0,
              "mute": 0, "delay_ms": 0, "bps": 0, "clock": 1}

    def __init__(self, kind="bc26", port=0, urc_chunk=512, log=None, **faults):
        if kind not in ("bc26", "m5311"):
            raise ValueError("kind: bc26 or m5311")
        self.kind = kind
        self.urc_chunk = urc_chunk
        self.log = log
        self.stats = {"down": 0, "up": 0, "urcs": 0, "storm": 0, "sends": 0, "send_fails": 0,
                      "drops": 0, "opens": 0, "sessions": 0, "commands": 0,
                      "unknown": 0, "reads": 0, "max_open": 0, "max_buffered": 0}
        self._sessions = []
        UartSim.__init__(self, port, 4, **faults)

    def _connection(self, c):
        s = _Session(self, c)
        self._sessions = [x for x in self._sessions if x.alive] + [s]
        return s.run

    def _close_connections(self):
        for s in list(self._sessions):
            s.shutdown()


class _Sock:
    # One modem socket: its bridged TCP connection and (bc26) what waits for AT+QIRD.
    def __init__(self, cid):
        self.cid = cid
        self.tcp = None
        self.port = 0
        self.buf = bytearray()
        self.armed = True  # bc26: the next data raises +QIURC: "recv"
        self.gen = -1


class _Session(AtCommands):
    # One UART connection (one boot of the device).
    def __init__(self, sim, conn):
        self.sim = sim
        self.c = conn
        self.alive = True
        self.echo = True
        self.out = threading.Lock()
        self.socks = {}  # connectID -> _Sock (BC26 AT+QIOPEN <connectID> 0..4; M5311 the same)
        self.block = threading.Lock()
        self.gen = 0  # connection generation (a bridge thread of an old one stays quiet)
        self._send_to = 0  # bc26: the socket of the AT+QISEND whose payload comes next

    def _s(self, cid):
        s = self.socks.get(cid)
        if s is None:
            s = self.socks[cid] = _Sock(cid)
        return s

    def shutdown(self):
        self.alive = False
        for cid in list(self.socks):
            self._close_tcp(cid)
        try:
            self.c.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- output ----------------------------------------------------------------------
    def send(self, data):
        f = self.sim.faults
        with self.out:
            try:
                if f["bps"]:
                    for i in range(0, len(data), 64):
                        piece = data[i:i + 64]
                        self.c.sendall(piece)
                        time.sleep(len(piece) / f["bps"])
                else:
                    self.c.sendall(data)
            except OSError:
                self.alive = False

    def line(self, text):
        self.send(b"\r\n" + text + b"\r\n")

    def storm(self):
        n = self.sim.faults["urc_storm"]
        if n:
            self.sim.stats["storm"] += n
            self.send(b"".join(b"\r\n" + _STORM[i % len(_STORM)] + b"\r\n" for i in range(n)))

    def answer(self, *lines):
        if self.sim.faults["delay_ms"]:
            time.sleep(self.sim.faults["delay_ms"] / 1000)
        self.storm()
        self.send(b"".join(b"\r\n" + x + b"\r\n" for x in lines))

    # -- input -----------------------------------------------------------------------
    def run(self):
        self.c.settimeout(0.2)
        inbuf = bytearray()
        raw = 0  # bc26: bytes of payload expected after "> "
        lf = False  # the last line ended in CR: an LF may still come
        stop = self.sim._stop
        try:
            while self.alive and not stop.is_set():
                try:
                    d = self.c.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    break
                if not d:
                    break
                inbuf += d
                while self.alive:
                    if lf and inbuf:
                        lf = False
                        if inbuf[:1] == b"\n":
                            del inbuf[:1]
                    if raw:
                        if len(inbuf) < raw:
                            break
                        payload = bytes(inbuf[:raw])
                        del inbuf[:raw]
                        raw = 0
                        self._forward(self._send_to, payload)
                        continue
                    i = inbuf.find(b"\r")
                    if i < 0:
                        if len(inbuf) > 16384:
                            inbuf.clear()
                            self.answer(b"ERROR")
                        break
                    line = bytes(inbuf[:i]).strip(b"\n ")
                    del inbuf[:i + 1]
                    lf = True
                    if not line:
                        continue
                    raw = self.command(line) or 0
        finally:
            self.alive = False
            for cid in list(self.socks):
                self._close_tcp(cid)
            try:
                self.c.close()
            except OSError:
                pass

    # -- the bridged sockets -------------------------------------------------------------
    def _open(self, cid, host, port):
        self._close_tcp(cid)
        self.sim.stats["opens"] += 1
        if self.sim._take("open_fail"):
            return 566
        if host not in ("127.0.0.1", "localhost") and not re.fullmatch(r"[A-Za-z0-9.-]+", host):
            return 565
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            return 566
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.block:
            so = self._s(cid)
            so.tcp = s
            so.port = port
            so.buf = bytearray()
            so.armed = True
            self.gen += 1
            so.gen = gen = self.gen
            open_now = sum(1 for x in self.socks.values() if x.tcp is not None)
            self.sim.stats["max_open"] = max(self.sim.stats["max_open"], open_now)
        t = threading.Thread(target=self._bridge, args=(cid, s, gen), daemon=True)
        t.start()
        return 0

    def _close_tcp(self, cid):
        with self.block:
            so = self.socks.get(cid)
            if so is None:
                return
            s = so.tcp
            so.tcp = None
            so.buf = bytearray()
            self.gen += 1
            so.gen = -1
        if s:
            try:
                s.close()
            except OSError:
                pass

    def _forward(self, cid, payload):
        sim = self.sim
        sim.stats["sends"] += 1
        if sim._take("send_fail"):
            sim.stats["send_fails"] += 1
            self.answer(b"SEND FAIL")
            return False
        s = self._s(cid).tcp
        try:
            s.sendall(payload)
            sim.stats["up"] += len(payload)
        except (OSError, AttributeError):
            self.answer(b"SEND FAIL" if sim.kind == "bc26" else b"ERROR")
            return False
        if sim.kind == "bc26":
            self.answer(b"SEND OK")
        return True

    def _bridge(self, cid, s, gen):
        sim = self.sim
        so = self._s(cid)
        s.settimeout(0.2)
        dropped = False
        while self.alive and not sim._stop.is_set() and gen == so.gen:
            try:
                d = s.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                d = b""
            if d and sim.faults["drop_after"]:
                with sim._lock:
                    left = sim.faults["drop_after"] - sim.stats["down"]
                    if left <= len(d):
                        d = d[:max(left, 0)]
                        sim.faults["drop_after"] = 0
                        dropped = True
                        sim.stats["drops"] += 1
            if d:
                sim.stats["down"] += len(d)
                self._deliver(so, d, gen)
            if not d or dropped:
                break
        if gen != so.gen:
            return
        with self.block:
            if so.tcp is s:
                so.tcp = None
        try:
            s.close()
        except OSError:
            pass
        self.storm()
        if sim.kind == "bc26":
            self.line(b'+QIURC: "closed",%d' % cid)
        else:
            self.line(b"+IPCLOSE: %d" % cid)

    def _deliver(self, so, d, gen):
        sim = self.sim
        if sim.kind == "bc26":
            with self.block:
                if gen != so.gen:
                    return
                so.buf += d
                sim.stats["max_buffered"] = max(sim.stats["max_buffered"], len(so.buf))
                urc = so.armed
                so.armed = False
            if urc:
                sim.stats["urcs"] += 1
                self.storm()
                self.line(b'+QIURC: "recv",%d' % so.cid)
            return
        for i in range(0, len(d), self.urc_chunk_size()):
            piece = d[i:i + self.urc_chunk_size()]
            sim.stats["urcs"] += 1
            self.storm()
            self.line(b'+IPRD: %d,"127.0.0.1",%d,%d,%s' % (so.cid, so.port, len(piece),
                                                            piece.hex().upper().encode()))

    def urc_chunk_size(self):
        return self.sim.urc_chunk
