# The modem simulator's AT commands (modemsim.py, whose session class mixes this in):
# the commands both modems answer, then each dialect's, as modemsim.py's header table
# lists them with their sources (Quectel BC26 TCP/IP AT Commands Manual; China
# Mobile's M5311 AT manual v2.1, QSDK and OneOS m5311_netconn.c; 3GPP TS 27.007 8.15
# for +CCLK). A handler returns how many raw payload bytes follow the line (BC26
# AT+QISEND), else 0; the session (modemsim._Session) supplies answer/line/send/storm,
# the sockets (_s, _open, _close_tcp, _forward) and its lock (block).
import re
import time


def _cclk(synced, zone_q=32):
    # 27.007 <time>: local time and its zone in quarter hours
    if not synced:
        return "70/01/01,00:00:00+00"
    t = time.gmtime(time.time() + zone_q * 900)
    return "%02d/%02d/%02d,%02d:%02d:%02d%+03d" % (t.tm_year % 100, t.tm_mon, t.tm_mday, t.tm_hour,
                                                   t.tm_min, t.tm_sec, zone_q)



class AtCommands:
    # mixin of modemsim._Session: one command line -> its answer

    def command(self, line):
        sim = self.sim
        sim.stats["commands"] += 1
        if self.echo:
            self.send(line + b"\r\n")
        if sim._take("mute"):
            return 0
        text = line.decode("latin-1")
        u = text.upper()
        if u == "AT":
            return self.answer(b"OK")
        m = re.fullmatch(r"AT\+SIMFAULT=(\w+),(\d+)", text)
        if m:
            try:
                sim.fault(**{m.group(1): int(m.group(2))})
            except ValueError:
                return self.answer(b"ERROR")
            return self.answer(b"OK")
        if u in ("ATE0", "ATE1"):
            self.echo = u == "ATE1"
            return self.answer(b"OK")
        if u == "AT+CSQ":
            return self.answer(b"+CSQ: 24,99", b"OK")
        if u == "AT+CGATT?":
            return self.answer(b"+CGATT: 1", b"OK")
        if u == "AT+CEREG?":
            return self.answer(b"+CEREG: 0,1", b"OK")
        if u == "AT+CCLK?":
            return self.answer(b'+CCLK: "%s"' % _cclk(sim.faults["clock"]).encode(), b"OK")
        if sim.kind == "bc26":
            return self._bc26(text)
        return self._m5311(text)

    # Quectel BC26 TCP/IP AT Commands Manual: AT+QIOPEN=<contextID>,<connectID>,...
    # (<connectID> 0..4, <access_mode> 0: buffer access), +QIURC: "recv",<connectID>
    # once until the buffer is read empty, AT+QIRD=<connectID>,<read_length> (the
    # BG96/BG95 notes, 2.3.8: at most 1500), +QIURC: "closed",<connectID>.
    def _bc26(self, text):
        m = re.fullmatch(r'AT\+QIOPEN=1,([0-4]),"TCP","([^"]+)",(\d+),\d+,0', text)
        if m:
            self.answer(b"OK")
            err = self._open(int(m.group(1)), m.group(2), int(m.group(3)))
            self.storm()
            self.line(b"+QIOPEN: %s,%d" % (m.group(1).encode(), err))
            return 0
        m = re.fullmatch(r"AT\+QISEND=(\d),(\d+)", text)
        if m:
            n = int(m.group(2))
            cid = int(m.group(1))
            if self._s(cid).tcp is None or n < 1 or n > 1024:
                return self.answer(b"ERROR")
            self._send_to = cid
            self.send(b"\r\n> ")
            return n
        m = re.fullmatch(r"AT\+QIRD=(\d),(\d+)", text)
        if m:
            k = int(m.group(2))
            if k < 1 or k > 1500:
                return self.answer(b"ERROR")
            so = self._s(int(m.group(1)))
            with self.block:
                d = bytes(so.buf[:k])
                del so.buf[:k]
                if not d:
                    so.armed = True
            self.sim.stats["reads"] += 1
            if self.sim.faults["delay_ms"]:
                time.sleep(self.sim.faults["delay_ms"] / 1000)
            self.storm()
            self.send(b"\r\n+QIRD: %d\r\n" % len(d) + d + b"\r\n\r\nOK\r\n")
            return 0
        m = re.fullmatch(r"AT\+QICLOSE=(\d)", text)
        if m:
            self._close_tcp(int(m.group(1)))
            return self.answer(b"OK")
        return self._unknown()

    def _m5311(self, text):
        if text.upper() == "AT+IPRCFG=1,2,1":
            return self.answer(b"OK")
        m = re.fullmatch(r'AT\+CMDNS="([^"]+)"', text)
        if m:
            self.answer(b"OK")
            self.line(b"+CMDNS: 127.0.0.1")
            return 0
        m = re.fullmatch(r'AT\+IPSTART=(\d),"TCP","([\d.]+)",(\d+)', text)
        if m:
            err = self._open(int(m.group(1)), m.group(2), int(m.group(3)))
            return self.answer(b"CONNECT FAIL" if err else b"CONNECT OK")
        m = re.fullmatch(r"AT\+IPSEND=(\d),(\d+),([0-9A-Fa-f]*)", text)
        if m:
            n = int(m.group(2))
            cid = int(m.group(1))
            data = bytes.fromhex(m.group(3)) if len(m.group(3)) % 2 == 0 else b""
            if self._s(cid).tcp is None or n < 1 or n > 1024 or len(data) != n:
                return self.answer(b"ERROR")
            if self._forward(cid, data):
                return self.answer(b"OK")
            return 0
        m = re.fullmatch(r"AT\+IPCLOSE=(\d)", text)
        if m:
            self._close_tcp(int(m.group(1)))
            return self.answer(b"OK")
        return self._unknown()

    def _unknown(self):
        # not a command this modem knows (e.g. a REPL's print text reaching it)
        self.sim.stats["unknown"] += 1
        return self.answer(b"ERROR")
