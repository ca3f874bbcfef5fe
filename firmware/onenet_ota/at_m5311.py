# The M5311 (China Mobile) dialect of the AT transport (transport_at.py: the parser,
# the rings, the socket interface and the RTS/CTS hold). AtModem imports this module
# only when the board's modem is an m5311, so a BC26 board never loads it.
#   AT+CMDNS="<host>" -> +CMDNS: <ip>; AT+IPSTART=<id>,"TCP","<ip>",<port> -> CONNECT OK
#   | CONNECT FAIL; AT+IPSEND=<id>,<n>,<HEX> -> OK; data arrives by itself as URC
#   +IPRD: <id>,"<ip>",<port>,<n>,<HEX>; URC +IPCLOSE: <id> (or "<id>,CLOSED") = EOF;
#   AT+IPCLOSE=<id>. Pushed data is the auto-output mode AT+IPRCFG=1,... that China
#   Mobile's own drivers set (OneOS m5311_netconn.c / QSDK; M5311 AT manual v2.1);
#   flow control: transport_at.py, "Flow control".
from .errors import NetError, ProtocolError

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


HEXW = const(64)  # payload bytes hex-encoded per UART write (AtModem._cb whole: 128)
# The payload ring (read by transport_at): one +IPRD push, which carries at most one
# TCP segment (MSS 1460) of what came in.
RING = const(1536)
CLOSE = b"AT+IPCLOSE="

_HEX = b"0123456789ABCDEF"


def start(m):
    # pushed data as hex with the remote address: +IPRD: <id>,"<ip>",<port>,<len>,<HEX>
    # (China Mobile's QSDK sets the same; see modemsim.py). A firmware that refuses it
    # keeps its own setting: the parser needs <len> and the hex only.
    try:
        m.cmd("AT+IPRCFG=1,2,1")
    except NetError:
        pass


def connect(m, s, host, port, dl, timeout_ms):
    ip = host if is_ip(host) else resolve(m, host, timeout_ms)
    p = m._c(0, b"AT+IPSTART=")
    p = m._ci(p, s.cid)
    p = m._c(p, b",\"TCP\",\"")
    p = m._c(p, ip)
    p = m._c(p, b"\",")
    p = m._ci(p, port)
    p = m._c(p, b"\r\n")
    m._send_cmd(p)
    m._wait(dl, (b"CONNECT OK", b"ALREADY CONNECT"), None, False)


def urc(m, n):
    # an m5311 unsolicited line -> True when it was one
    if m._pre(n, b"+IPCLOSE:") or m._idpre(n, b"CLOSED"):
        m.s0._eof = True
    elif m._idpre(n, b"CONNECT OK"):
        m.s0._opened = 0
    elif m._pre(n, b"+CMDNS:"):
        ln = m._cb
        a = 7
        while a < n and ln[a] == 32:
            a += 1
        m._dns = bytes(ln[a:n]).decode()
    else:
        return False
    return True


def resolve(m, host, timeout_ms=None):
    m._dns = None
    p = m._c(0, b"AT+CMDNS=\"")
    p = m._c(p, host)
    p = m._c(p, b"\"\r\n")
    m._send_cmd(p)
    dl = m._deadline(timeout_ms)
    m._wait(dl, (b"OK",), None, False)
    while m._dns is None:
        m._urc(m._line(dl))
    if not is_ip(m._dns):
        raise NetError("modem: cannot resolve host")
    return m._dns


def iprd(m, deadline):
    # After "+IPRD: ": <id>,"<ip>",<port>,<len>,<HEX> CR LF, decoded into the ring of
    # socket <id> (a push for no open socket of ours is read and dropped).
    commas = 0
    quoted = False
    n = 0
    cid = -1
    while commas < 4:
        b = m._byte(deadline)
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
    for x in m.socks:
        if x.cid == cid and x.is_open:
            s = x  # else a push still on the line for a closed connection: dropped
    keep = m._cur
    m._cur = s or keep
    for _ in range(n):
        b = _nib(m._byte(deadline)) << 4 | _nib(m._byte(deadline))
        if s is not None:
            m._put(b)
    m._cur = keep
    m._pushed = s is not None
    # <len> bytes of hex, then CR LF: anything else means bytes were lost on the UART
    # (the rest of this push, the start of the next one): refuse the push.
    m._frame_end(s, n, deadline)


def send(m, s, buf, off, k):
    p = m._c(0, b"AT+IPSEND=")
    p = m._ci(p, s.cid)
    p = m._c(p, b",")
    p = m._ci(p, k)
    p = m._c(p, b",")
    m._send_cmd(p)
    hx = m._cb  # the command is written: its buffer takes the hex
    u = m.u
    end = off + k
    while off < end:
        c = end - off if end - off < HEXW else HEXW
        for i in range(c):
            b = buf[off + i]
            hx[2 * i] = _HEX[b >> 4]
            hx[2 * i + 1] = _HEX[b & 15]
        u.write(hx if c == HEXW else memoryview(hx)[: 2 * c])
        off += c
    u.write(b"\r\n")
    # OK, or the answer already streaming (a fast server: its pushes may come before
    # the OK, and a long range would overflow the ring while the OK is awaited; the
    # late OK is then an unknown line, skipped)
    m._pushed = False
    if m._wait(m._deadline(0), (b"OK",), None, True) < 0:
        m._late += 1  # its OK is still to come: not the answer to a later command


def _nib(c):
    if 48 <= c <= 57:
        return c - 48
    c |= 0x20
    if 97 <= c <= 102:
        return c - 87
    raise ProtocolError("modem: bad hex")


def is_ip(s):
    if not s:
        return False
    dots = 0
    for ch in s:
        if ch == ".":
            dots += 1
        elif not "0" <= ch <= "9":
            return False
    return dots == 3
