# http.Client with pipelining (RFC 9112 §9.3: a server answers a connection's requests
# in order), for the download step's first range (fetch._first): a range set as
# ahead = (path, start, end, headers) goes out in the same write as the next request
# (the token check), before that one's answer is read; send_range() with the same
# path object and range then only reads its answer: one round trip for both. Another
# request or a close in between drops it with the connection. A subclass, so boards
# that do not pipeline (a modem's one socket) and http's own heap figures pay nothing.
from .http import Client as _Client, ticks_ms


class Client(_Client):
    ahead = None
    _queued = None

    def close(self):
        self._queued = None  # a range written ahead is lost with its connection
        _Client.close(self)

    def _body_end(self):
        # The answer written ahead may already be in the receive buffer.
        if not (self._queued and self.keep):
            _Client._body_end(self)

    def _exchange(self, n):
        a = self.ahead
        self.ahead = None
        if self._queued:
            self.close()  # an answer asked for ahead would be taken for this one's
        if a and n < 400:
            n = self.prepare("GET", a[0], a[3], n)
            n = self._put(n, b"Range: bytes=")
            n = self._put_int(n, a[1])
            n = self._put(n, b"-")
            if a[2] >= 0:
                n = self._put_int(n, a[2])
            n = self._put(n, b"\r\n\r\n")
        st = _Client._exchange(self, n)
        if a and self.t:  # still open: the range's answer follows this one's
            self._queued = a
            self.requests += 1
            self._on_conn += 1
        return st

    def send_range(self, path, start, end, headers=()):
        q = self._queued
        self._queued = None
        if not (q and q[0] is path and q[1] == start and q[2] == end):
            if q:
                self.close()
            return _Client.send_range(self, path, start, end, headers)
        # Written ahead: only its answer to read (after an error the caller closes
        # the connection, as after any other).
        self._dl_len = 0  # the request buffer holds another head now
        self._hbytes = 0
        self._t0 = ticks_ms()
        self._read_head()
        self._dl_head = self._hbytes
        return self.status
