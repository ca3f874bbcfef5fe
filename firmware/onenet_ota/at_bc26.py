# The BC26 (Quectel) dialect of the AT transport (transport_at.py: the parser, the
# rings and the socket interface). AtModem imports this module only when the board's
# modem is a bc26, so an M5311 board never loads it.
#   AT+QIOPEN=1,<id>,"TCP","<host>",<port>,0,0 -> OK, URC +QIOPEN: <id>,<err>
#   AT+QISEND=<id>,<n> -> "> " -> n bytes -> SEND OK | SEND FAIL
#   buffer mode: URC +QIURC: "recv",<id>, then AT+QIRD=<id>,<k> -> +QIRD: <n> CR LF,
#   n raw bytes, OK (repeat until +QIRD: 0); URC +QIURC: "closed",<id> = EOF once the
#   modem's buffer is drained; AT+QICLOSE=<id>.
# (Quectel BC26 TCP/IP AT Commands Manual; BG96/BG95 TCP/IP Application Notes 2.3.8
# AT+QIRD: <read_length> at most 1500; flow control: transport_at.py, "Flow control".)
from .errors import NetError

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


# No payload ring: AT+QIRD asks for no more than the caller's read wants, and its bytes
# go straight into the caller's buffer (the modem holds the rest until asked).
_QIRD = const(512)  # most bytes asked per AT+QIRD
CLOSE = b"AT+QICLOSE="


def start(m):
    pass  # nothing beyond AT, ATE0 and the attach


def connect(m, s, host, port, dl, timeout_ms):
    p = m._c(0, b"AT+QIOPEN=1,")
    p = m._ci(p, s.cid)
    p = m._c(p, b",\"TCP\",\"")
    p = m._c(p, host)
    p = m._c(p, b"\",")
    p = m._ci(p, port)
    p = m._c(p, b",0,0\r\n")
    m._send_cmd(p)
    m._wait(dl, (b"OK",), None, False)
    while s._opened < 0:
        m._urc(m._line(dl))
    if s._opened:
        raise NetError("modem: open failed (%d)" % s._opened)


def urc(m, n):
    # a bc26 unsolicited line -> True when it was one
    if m._pre(n, b"+QIURC: \"recv\""):
        s = m._sock(m._after(14, n, 44), n)
        if s is not None:
            s._qurc = True
    elif m._pre(n, b"+QIURC: \"closed\""):
        s = m._sock(m._after(16, n, 44), n)
        if s is not None:
            s._eof = True
            s._qurc = True  # read what the modem still holds, then EOF
    elif m._pre(n, b"+QIOPEN:"):
        s = m._sock(8, n)
        c = m._after(8, n, 44)
        if s is not None:
            s._opened = m._num(c, n) if c < n else 1
    else:
        return False
    return True


def raw(m, n, deadline):
    # n raw payload bytes after "+QIRD: n", then CR LF, into the buffer read() named (at
    # most what it asked for). A byte lost on the UART (a full receive ring: the nRF port
    # drops silently) shifts that frame: the read fails, its bytes are never handed out,
    # and the range is fetched again instead of corrupt bytes reaching the image.
    if n > m._dn:
        raise NetError("modem: +QIRD longer than asked")
    buf = m._dst
    rx = m._rx
    i = m._doff
    e = i + n
    while i < e:  # what the UART piece holds is copied in one loop, no call per byte
        p = m._rp
        k = m._re - p
        if not k:
            buf[i] = m._byte(deadline)  # reads the next piece
            i += 1
            continue
        if k > e - i:
            k = e - i
        for j in range(k):
            buf[i + j] = rx[p + j]
        m._rp = p + k
        i += k
    m._frame_end(None, n, deadline)


def send(m, s, buf, off, k):
    p = m._c(0, b"AT+QISEND=")
    p = m._ci(p, s.cid)
    p = m._c(p, b",")
    p = m._ci(p, k)
    p = m._c(p, b"\r\n")
    m._send_cmd(p)
    dl = m._deadline(0)
    m._wait(dl, (b">",), None, False)
    m.u.write(memoryview(buf)[off:off + k])
    m._wait(dl, (b"SEND OK",), None, False)


def read(m, s, dl, buf, off, n):
    # the modem holds data for s (URC "recv"): one AT+QIRD of at most n bytes, into
    # buf[off:] -> the bytes it gave (0: it holds no more)
    if n > _QIRD:
        n = _QIRD
    p = m._c(0, b"AT+QIRD=")
    p = m._ci(p, s.cid)
    p = m._c(p, b",")
    p = m._ci(p, n)
    p = m._c(p, b"\r\n")
    m._send_cmd(p)
    m._got = -1
    m._dst = buf
    m._doff = off
    m._dn = n
    try:
        m._wait(dl, (b"OK",), b"+QIRD:", False)
    except NetError:
        if not s._eof:
            raise
        m._got = 0  # closed and gone: nothing more
    finally:
        m._dst = None  # not the caller's buffer past this call
    if m._got <= 0:
        s._qurc = False
        return 0
    return m._got
