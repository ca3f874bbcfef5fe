# A small HTTP/1.1 client for one server, built for streaming into flash on a device
# with a few KiB of heap.
#
# - One connection kept alive across requests; if the server closed an idle
#   connection, the request is sent again once on a fresh one.
# - Each request is formatted into one preallocated buffer and written with one call
#   (several small writes meet Nagle's algorithm and cost ~40 ms each).
# - The status line and headers are parsed byte by byte from a small receive buffer
#   under hard caps (line, header count, total bytes): ProtocolError beyond (http_head).
# - Bodies framed by Content-Length, chunked, or connection close; read into the
#   caller's buffer. The download path (prepare + send_range + readinto) allocates
#   nothing per request once warmed up.
# - Nothing with CR, LF or other control bytes reaches the wire.
import sys

from .errors import NetError, ProtocolError, Timeout, const
from .fmt import put_int
from . import http_head as _h

# On MicroPython a slice is a heap copy: bytes are moved one by one and the head is
# read so that no body byte lands in the receive buffer (see _fill). CPython slices.
_MP = sys.implementation.name == "micropython"

try:
    from time import ticks_diff, ticks_ms
except ImportError:  # CPython, for the host tools
    from time import monotonic

    def ticks_ms():
        return int(monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b


_RB = const(256)  # receive buffer for status line and headers
_LINE = const(160)  # longest status/header line kept (longer ones: see http_head.read_head1)
_NHDR = const(32)  # most header lines (trailers here; the head: http_head)
_REQ = const(640)  # request buffer: request line, headers, small body (~420 typical, < 640 with a host of <= 128 characters)
_MAXNUM = const(0x3FFFFFFF)  # numbers stay small ints on 32-bit ports
_DRAIN = const(16384)  # a longer unread body closes the connection instead

_CRLF = b"\r\n"


def _safe(s, what):
    # Reject control bytes and spaces in request-line parts / header values.
    for c in s:
        c = c if isinstance(c, int) else ord(c)
        if c < 0x20 or c == 0x7F:
            raise ProtocolError("bad character in " + what)
    return s


class Client:
    # Defaults for what most clients never set: an instance attribute costs 8 bytes
    # and one more than the table holds regrows it (29 -> 37 -> 47 slots) on a board.
    _peer = None  # the client this one shares its request and line buffers with
    _dl = None  # the download head in the request buffer: (path, length); False: never kept
    addr = None  # where to connect when it is not the Host (the platform's ipPort)
    _over = False  # the head line being read did not fit the line buffer
    _method_head = False  # the request was a HEAD (no body follows its answer)
    port = 80  # the platform's and the config's defaults: set only when they differ
    timeout_ms = 10000
    _cap = 1000  # conn_requests
    _pending = None  # the transport's pending(), where it has one (the socket transport)

    # conn_requests: requests one connection may carry before a fresh one is opened
    # (the platform closes after 1000, §10; the default); 0: no limit.
    # share: a Client of the same thread whose request and line buffers this one uses
    # too (the agent's two connections): what they hold matters only within the call
    # that fills them, except the download head send_range keeps (the other forgets it).
    # req: a buffer of >= _REQ bytes to format requests in (the agent's chunk buffer,
    # idle then: 640 B fewer on a board); send_range then formats each head anew.
    def __init__(self, host, port=80, connect=None, timeout_ms=10000, tls=False, ca=None, insecure=False,
                 conn_requests=1000, share=None, req=None, rb=0):
        _safe(host, "host")
        self.host = host
        if port != 80:
            self.port = port
        if timeout_ms != 10000:
            self.timeout_ms = timeout_ms
        self._via = (connect, tls, ca, insecure)  # the board's connect (or None), TLS
        if conn_requests != 1000:
            self._cap = conn_requests
        self._on_conn = 0
        self.t = None
        self.connections = 0
        self.requests = 0
        if share is None:
            if req is not None and len(req) >= _REQ:
                self._req = req
                self._dl = False  # lent: it holds nothing between calls
            else:
                self._req = bytearray(_REQ)
            self._line = bytearray(_LINE)
        else:
            self._req = share._req
            self._line = share._line
            if share._dl is False:
                self._dl = False
            else:  # a head kept in the shared buffer is the other's to forget
                self._peer = share
                share._peer = self
        self._rb = bytearray(rb or _RB)  # rb: smaller where the transport buffers (an M5311's ring)
        # Content-Range [start, end, total] (-1: absent), written in place: one attribute
        self.crange = [-1, -1, -1]
        self._rpos = self._rend = 0
        self._lb = self._line
        self._lo = 0
        self._hint = 0
        # set by the first request anyway: here, the table has its size before the heap
        # is in pieces (29 slots with what a download adds)
        self._t0 = 0
        self._dl_head = 0  # length of the last download answer's head
        self._reset_response()

    def _open(self):
        h, p = self.addr or (self.host, self.port)
        conn, tls, ca, insecure = self._via
        if conn:
            self.t = conn(h, p, self.timeout_ms)
        else:
            from .transport import connect

            self.t = connect(h, p, self.timeout_ms, tls, ca, insecure, self.host)
        self.connections += 1
        self._on_conn = 0
        p = getattr(self.t, "pending", None)  # transports that can tell
        if p or self._pending:
            self._pending = p
        self._rpos = self._rend = 0

    def close(self):  # (and forgets a body cut short: nothing of it can be read any more)
        t = self.t
        self.t = None
        self._left = 0
        self.chunked = False
        if t:
            t.close()

    def _put(self, pos, data):
        if isinstance(data, str):
            data = data.encode()
        end = pos + len(data)
        if end > _REQ:
            raise ProtocolError("request too large")
        self._req[pos:end] = data
        return end

    def _put_int(self, pos, v):
        if v < 0 or v > _MAXNUM:
            raise ProtocolError("number out of range")
        try:
            return put_int(self._req, pos, v, _REQ)
        except ValueError:
            raise ProtocolError("request too large")

    # Request line and headers (name, value) strings, no final blank line -> length.
    def prepare(self, method, path, headers=(), p=0):
        if self._peer and self._peer._dl:
            self._peer._dl = None  # the shared buffer no longer holds its download head
        p = self._put(p, _safe(method, "method"))
        p = self._put(p, " ")
        p = self._put(p, _safe(path.replace(" ", "%20"), "path"))
        p = self._put(p, " HTTP/1.1\r\nHost: ")
        p = self._put(p, self.host)
        if self.port != 80:
            p = self._put(p, ":")
            p = self._put_int(p, self.port)
        p = self._put(p, _CRLF)
        for k, v in headers:
            p = self._put(p, _safe(k, "header"))
            p = self._put(p, ": ")
            p = self._put(p, _safe(v, "header"))
            p = self._put(p, _CRLF)
        if method == "HEAD" or self._method_head:
            self._method_head = method == "HEAD"
        return p

    # One request; body (bytes or str) in the same write -> the status.
    def request(self, method, path, headers=(), body=None):
        if self._dl:
            self._dl = None
        p = self.prepare(method, path, headers)
        if body is not None:
            if isinstance(body, str):
                body = body.encode()
            p = self._put(p, "Content-Length: ")
            p = self._put_int(p, len(body))
            p = self._put(p, _CRLF)
        p = self._put(p, _CRLF)
        if body:
            p = self._put(p, body)
        self._hint = 0
        return self._exchange(p)

    # The download request: GET path with a Range header. The head is formatted once
    # and reused while the same path object comes back (no allocation per range),
    # unless the request buffer is lent (req). end < 0: an open-ended range
    # (bytes=start-, §5 mode 1): the rest of the file.
    def send_range(self, path, start, end, headers=()):
        d = self._dl
        if d and d[0] is path:
            n = d[1]
        else:
            n = self.prepare("GET", path, headers)
            if d is not False:
                self._dl = (path, n)
        p = self._put(n, b"Range: bytes=")
        p = self._put_int(p, start)
        p = self._put(p, b"-")
        if end >= 0:
            p = self._put_int(p, end)
        p = self._put(p, b"\r\n\r\n")
        self._hint = self._dl_head
        st = self._exchange(p)
        self._dl_head = self._hbytes
        return st

    def _exchange(self, n):
        if self._left or self.chunked:
            self.drain()
        if self._cap and self._on_conn >= self._cap:
            self.close()  # the server would close it now: open the next one first
        if self.t is not None and self._pending and self._pending():
            self.close()  # bytes arrived between answers: nothing asked for them
        while True:
            fresh = self.t is None
            if fresh:
                self._open()
            self._hbytes = 0
            self._t0 = ticks_ms()
            try:
                self.t.write(self._req, n)
                self.requests += 1
                self._on_conn += 1
                self._read_head()
                return self.status
            except (Timeout, ProtocolError):
                self.close()  # the stream is in an unknown state
                raise
            except NetError:
                self.close()
                # A reused connection closed by the server before any answer byte:
                # the request never got there; send it once more on a new one.
                if fresh or self._hbytes:
                    raise

    # Read and parsed in http_head (lines, status line, headers); these names stay the
    # client's: pipe.Client reads a pipelined answer's head, api_tid.Client overrides
    # _header and reads numbers with _num.
    _read_head = _h.read_head
    _header = _h.header
    _num = _h.num

    def _reset_response(self):
        self.status = 0
        self.length = -1  # Content-Length, -1 when absent
        self.chunked = False
        self.keep = True
        r = self.crange
        if r[0] != -1 or r[2] != -1:
            r[0] = r[1] = r[2] = -1
        self._left = 0  # body bytes left (in this chunk when chunked); -1: until close
        self._hbytes = 0
        if self._over:
            self._over = False

    def _fill(self):
        # the whole head within one time-out (not header-cap x time-out for a trickle)
        if ticks_diff(ticks_ms(), self._t0) > self.timeout_ms:
            raise Timeout("answer too slow")
        # A download answer's head is as long as the last one, give or take a few
        # digits: read up to 3 bytes short of it, then byte by byte to its end, so no
        # body byte lands here (the body then goes straight into the caller's buffer
        # at offset 0: no copy, no memoryview of an odd offset to allocate).
        want = self._hint - self._hbytes - 3  # digits only grow as the range moves on
        rb = len(self._rb)
        if want > rb or want < -16 or not self._hint or not _MP:
            want = rb
        elif want < 1:
            want = 1
        r = self.t.readinto(self._rb, want)
        if not r:
            raise NetError("connection closed")
        self._rpos = 0
        self._rend = r

    def _take(self, buf, off, n, exact):
        # Move up to n body bytes (of the current chunk/length) into buf[off:].
        k = self._rend - self._rpos
        if k:
            if k > n:
                k = n
            rb = self._rb
            p = self._rpos
            if _MP:
                for i in range(k):
                    buf[off + i] = rb[p + i]
            else:
                buf[off : off + k] = rb[p : p + k]
            self._rpos = p + k
            return k
        if exact:
            self.t.read_exact(memoryview(buf)[off:] if off else buf, n)
            return n
        return self.t.readinto(memoryview(buf)[off:] if off else buf, n)

    def _next_chunk(self):
        # Chunked framing: CRLF after the previous chunk, then "size[;ext]"; each line
        # with the head's caps and time-out to itself (a long body is not a long head).
        self._hbytes = 0
        self._t0 = ticks_ms()
        if not self._chunk_next:
            if _h.read_line(self) != self._lo:
                raise ProtocolError("bad chunk end")
        self._chunk_next = False
        n = _h.read_line(self)
        line = self._lb
        e = self._lo
        while e < n and line[e] not in (59, 32, 9):  # ';' or blanks
            e += 1
        size = _h.num(self, self._lo, e, 16)
        if size == 0:
            for _ in range(_NHDR):
                if _h.read_line(self) == self._lo:
                    break
            else:
                raise ProtocolError("too many trailers")
            self.chunked = False
            self._left = 0
            if not self.keep:
                self.close()
        else:
            self._left = size
        return size

    # Exactly the next n body bytes into buf -> n; ProtocolError (shorter), NetError.
    def readinto(self, buf, n):
        if self.length >= 0 and not self.chunked and n > self._left:
            raise ProtocolError("body shorter than asked")
        if self._body(buf, n, True) < n:
            raise ProtocolError("body shorter than asked")
        return n

    # The whole rest of a small body (JSON, one-byte errors) into buf -> its length.
    def read_body(self, buf):
        n = self._body(buf, len(buf), False)
        if self.chunked and not self._left:
            self._next_chunk()  # the last chunk may follow a body that fills buf
        if self._left or self.chunked:
            self.close()
            raise ProtocolError("body too large")
        return n

    # Up to n body bytes into buf[0:] -> count; stops early only at the body's end.
    # exact: the caller wants all n (blocking reads of known lengths).
    def _body(self, buf, n, exact):
        off = 0
        while off < n:
            if self.chunked and self._left == 0:
                self._next_chunk()
            if self._left == 0:
                break
            want = n - off
            if 0 < self._left < want:
                want = self._left
            got = self._take(buf, off, want, exact and self._left != -1)
            if not got:
                if self._left == -1:  # the end of a body framed by the close
                    self._left = 0
                    break
                self.close()
                raise NetError("connection closed mid-body")
            off += got
            if self._left != -1:
                self._left -= got
        self._body_end()
        return off

    def _body_end(self):
        if not self._left and not self.chunked and (not self.keep or self._rend > self._rpos):
            # bytes after a whole answer were never asked for (smuggled): the connection is done
            self.close()

    # Discard the rest of the body, or close the connection if it is long.
    def drain(self):
        if self._left == 0 and not self.chunked:
            return
        if self._left < 0 or self._left > _DRAIN or self.chunked:
            return self.close()  # (which forgets the body)
        try:
            while self._left:
                k = self._left if self._left < _LINE else _LINE
                self._left -= self._take(self._line, 0, k, True)
        except (NetError, ProtocolError):
            self.close()
            self._left = 0
        self._body_end()
