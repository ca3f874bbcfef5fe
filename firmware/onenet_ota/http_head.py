# The answer's head for http.Client: its lines (also the chunked framing lines), the
# status line and the headers the client reads (Content-Length, Transfer-Encoding,
# Connection, Content-Range), parsed in place under hard caps: ProtocolError beyond.
# Each function is one of the client's former methods and takes the client; Client
# keeps _read_head, _header and _num as its own names (pipe.py calls the first,
# api_tid.py overrides _header and calls _num).
from .errors import ProtocolError, const

_LINE = const(160)  # http.Client._line's length (as http's: a const() is not importable)
_NHDR = const(32)  # most header lines (as http's)
_HBYTES = const(4096)  # most bytes in status line + headers
_MAXNUM = const(0x3FFFFFFF)  # numbers stay small ints on 32-bit ports (as http's)

_READ = (b"content-length", b"transfer-encoding", b"connection", b"content-range")


def lower_eq(buf, a, b, name):
    # buf[a:b] equals name (lower-case bytes) ignoring ASCII case; no allocation.
    if b - a != len(name):
        return False
    for i in range(len(name)):
        if buf[a + i] | 0x20 != name[i]:
            return False
    return True


def num(cl, a, b, base=10):
    # Unsigned number in the line's [a:b]; ProtocolError unless it is all digits.
    line = cl._lb
    while a < b and line[a] == 32:
        a += 1
    while b > a and line[b - 1] == 32:
        b -= 1
    if a == b or b - a > 10:
        raise ProtocolError("bad number")
    v = 0
    for i in range(a, b):
        c = line[i]
        if 48 <= c <= 57:
            d = c - 48
        elif base == 16 and 97 <= (c | 0x20) <= 102:
            d = (c | 0x20) - 87
        else:
            raise ProtocolError("bad number")
        v = v * base + d
        if v > _MAXNUM:
            raise ProtocolError("number too large")
    return v


# The next line of the head -> its end index; the line is cl._lb[cl._lo:end]
# (CR stripped). Found in place in the receive buffer when it is whole there;
# else assembled in cl._line (a line spanning two reads; longer than _LINE: the
# rest is counted, not kept, and cl._over is set).
def read_line(cl):
    rb = cl._rb
    p = cl._rpos
    i = rb.find(b"\n", p, cl._rend)
    if i >= 0:
        cl._rpos = i + 1
        cl._hbytes += i + 1 - p
        if cl._hbytes > _HBYTES:
            raise ProtocolError("headers too large")
        if i > p and rb[i - 1] == 13:
            i -= 1
        if i - p > _LINE:
            cl._over = True
        cl._lb = rb
        cl._lo = p
        return i
    line = cl._line
    n = 0
    while True:
        if cl._rpos == cl._rend:
            cl._fill()
        b = rb[cl._rpos]
        cl._rpos += 1
        cl._hbytes += 1
        if b == 10:
            break
        if n < _LINE:
            line[n] = b
            n += 1
        else:
            cl._over = True
    if cl._hbytes > _HBYTES:
        raise ProtocolError("headers too large")
    if n and line[n - 1] == 13:
        n -= 1
    cl._lb = line
    cl._lo = 0
    return n


def read_head(cl):
    for _ in range(4):
        read_head1(cl)
        if cl.status >= 200:
            break
    else:
        raise ProtocolError("too many interim answers")
    if cl._method_head or cl.status in (204, 304):
        cl._left = 0
    elif cl.chunked:
        cl._left = 0
        cl._chunk_next = True
    elif cl.length >= 0:
        cl._left = cl.length
    else:
        cl._left = -1
        cl.keep = False
    r = cl.crange
    if r[0] >= 0 and cl.length >= 0:
        if r[1] - r[0] + 1 != cl.length:
            raise ProtocolError("Content-Range disagrees with Content-Length")
    if not cl._left and not cl.chunked and not cl.keep:
        cl.close()


def read_head1(cl):
    cl._reset_response()
    e = read_line(cl)
    line, o = cl._lb, cl._lo
    if e - o < 12 or not lower_eq(line, o, o + 7, b"http/1.") or line[o + 8] != 32:
        raise ProtocolError("bad status line")
    http10 = line[o + 7] == 48
    if e - o > 12 and line[o + 12] != 32:
        raise ProtocolError("bad status line")
    cl.status = num(cl, o + 9, o + 12)
    if cl.status < 100:
        raise ProtocolError("bad status line")
    cl.keep = not http10
    for _ in range(_NHDR + 1):
        cl._over = False
        e = read_line(cl)
        line, o = cl._lb, cl._lo
        if e == o:
            return
        if line[o] in (32, 9):
            raise ProtocolError("folded header")
        c = line.find(b":", o, e)
        if c <= o:
            raise ProtocolError("bad header line")
        v = c + 1
        while v < e and line[v] in (32, 9):
            v += 1
        if cl._over:
            # Longer than the line buffer: fine for a header we ignore (a CDN's
            # cookie), an attack on one we read.
            for name in _READ:
                if lower_eq(line, o, c, name):
                    raise ProtocolError("header line too long")
            continue
        cl._header(o, c, v, e)  # a method: a dialect's client reads headers of its own
    raise ProtocolError("too many headers")


def header(cl, o, c, v, n):
    line = cl._lb
    if lower_eq(line, o, c, b"content-length"):
        x = num(cl, v, n)
        if cl.length >= 0 and x != cl.length:
            raise ProtocolError("conflicting Content-Length")
        cl.length = x
    elif lower_eq(line, o, c, b"transfer-encoding"):
        while n > v and line[n - 1] in (32, 9):
            n -= 1
        if not lower_eq(line, v, n, b"chunked"):
            raise ProtocolError("unsupported Transfer-Encoding")
        cl.chunked = True
    elif lower_eq(line, o, c, b"connection"):
        while n > v and line[n - 1] in (32, 9):
            n -= 1
        if lower_eq(line, v, n, b"close"):
            cl.keep = False
        elif lower_eq(line, v, n, b"keep-alive"):
            cl.keep = True
    elif lower_eq(line, o, c, b"content-range"):
        content_range(cl, v, n)


def content_range(cl, v, n):
    # "bytes a-b/total" (or "bytes */total"): validated, never trusted.
    line = cl._lb
    if not lower_eq(line, v, v + 6, b"bytes "):
        raise ProtocolError("bad Content-Range")
    a = v + 6
    s = a
    while s < n and line[s] != 47:  # '/'
        s += 1
    if s == n:
        raise ProtocolError("bad Content-Range")
    total = num(cl, s + 1, n)
    if s - a == 1 and line[a] == 42:  # '*'
        cl.crange[2] = total
        return
    d = a
    while d < s and line[d] != 45:  # '-'
        d += 1
    if d == s:
        raise ProtocolError("bad Content-Range")
    start = num(cl, a, d)
    end = num(cl, d + 1, s)
    if start > end or end >= total:
        raise ProtocolError("bad Content-Range")
    r = cl.crange
    r[0] = start
    r[1] = end
    r[2] = total
