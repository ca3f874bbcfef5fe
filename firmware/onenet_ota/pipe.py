# http.Client with pipelining (RFC 9112 §9.3: a server answers a connection's requests
# in order), so a request whose answer is already known to be wanted costs no round
# trip of its own:
#   after = (path, start, end, headers): that range request goes out in the same write
#           as the next request (fetch._first: the token check), before that one's
#           answer is read; or (path, headers): that GET likewise (agent._task: the
#           check behind the version report)
#   push(path, start, end): write that range request now, while the answer being read
#           still streams (fetch._fetch_all: bounded ranges, one ahead)
# When the caller then makes that very request (send_range: the same path object,
# start and end; request: a GET of the same path and headers), only its answer is
# read. Any other request, or a close, drops it with the connection: nothing ever reads
# an answer as another request's. Nothing is allocated per range. A subclass: boards
# that do not pipeline (an M5311's one pushed socket) and http's own heap figures pay
# nothing for it.
from .errors import NetError, Timeout
from .http import Client as _Client, ProtocolError, ticks_ms


class Client(_Client):
    after = None
    # the request written ahead, its answer not yet read: (path, start, end) a range,
    # (path, headers) a GET (`after`)
    _q = None

    # Instance attributes are written only when set, and two say it all: each one more
    # than http.Client's may grow the instance's table mid-download (a board's heap).
    def close(self):
        if self._q:
            self._q = None  # an answer asked for ahead is lost with its connection
        _Client.close(self)

    def _body_end(self):
        # The answer written ahead may already be in the receive buffer.
        if not (self._q and self.keep):
            _Client._body_end(self)

    # The range request formatted at p of the request buffer -> its end.
    def _fmt(self, p, path, start, end, headers):
        p = self.prepare("GET", path, headers, p)
        p = self._put(p, b"Range: bytes=")
        p = self._put_int(p, start)
        p = self._put(p, b"-")
        if end >= 0:
            p = self._put_int(p, end)
        return self._put(p, b"\r\n\r\n")

    def _queue(self, q):
        self._q = q  # one tuple per range written ahead, not per chunk
        self.requests += 1
        self._on_conn += 1

    # Write the range request now (one ahead at most, within the connection's cap)
    # -> whether it went.
    def push(self, path, start, end, headers=()):
        if self.t is None or self._q or not self.keep or self._cap and self._on_conn >= self._cap:
            return False
        try:
            n = self._fmt(0, path, start, end, headers)
        except ProtocolError:
            return False
        if self._dl:
            self._dl = None  # the buffer holds another head now
        self.t.write(self._req, n)
        self._queue((path, start, end))
        return True

    # The answer of a request already on the wire: its head, under the head's caps and
    # time-out (hint: the bytes a head like it took) -> the status.
    def _written(self, hint):
        self._hint = hint
        self._hbytes = 0
        self._t0 = ticks_ms()
        self._read_head()
        return self.status

    def send_range(self, path, start, end, headers=()):
        q = self._q
        if q:
            self._q = None
        if q and len(q) == 3 and q[0] is path and q[1] == start and q[2] == end \
                and not (self._left or self.chunked):
            # Written ahead: only its answer to read (after an error the caller
            # closes the connection, as after any other).
            st = self._written(self._dl_head)
            self._dl_head = self._hbytes
            return st
        if q:
            self.close()
        return _Client.send_range(self, path, start, end, headers)

    def request(self, method, path, headers=(), body=None):
        q = self._q
        if q:
            self._q = None
        if q and len(q) == 2 and self.t and method == "GET" and q[0] == path and q[1] is headers and body is None \
                and not (self._left or self.chunked):
            # Written behind the last request: only its answer to read.
            if self._method_head:
                self._method_head = False
            try:
                return self._written(0)
            except (NetError, ProtocolError) as e:
                self.close()  # the stream is in an unknown state
                # Closed before any byte of this answer: the request never got there;
                # it goes once more on a new connection (as http._exchange's rule).
                if self._hbytes or not isinstance(e, NetError) or isinstance(e, Timeout):
                    raise
        elif q:
            self.close()
        return _Client.request(self, method, path, headers, body)

    def _exchange(self, n):
        if self._q:
            self.close()  # an answer asked for ahead would be taken for this one's
        a = self.after
        if a:
            self.after = None
        m = n
        if a and (not self._cap or self._on_conn + 2 <= self._cap):
            h = self._method_head
            try:
                if len(a) == 4:
                    n = self._fmt(m, a[0], a[1], a[2], a[3])
                else:
                    n = self._put(self.prepare("GET", a[0], a[1], m), b"\r\n")
            except ProtocolError:
                n = m  # both do not fit the request buffer: the second goes alone, later
            if self._method_head != h:
                self._method_head = h  # the answer read first is the first request's
        st = _Client._exchange(self, n)
        if n > m and self.t:  # still open: the second answer follows this one's
            self._queue((a[0], a[1], a[2]) if len(a) == 4 else a)
        return st
