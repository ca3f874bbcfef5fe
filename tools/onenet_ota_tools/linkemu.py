"""A link emulator: a loopback TCP proxy that delivers bytes as a slow, far link would.

This kernel has no netem, so the link is modelled in the proxy. Per direction and per
connection, bytes read from one side are cut into MSS-sized segments and each is given
a delivery time:

- **rate**: the link carries `rate` bytes/s; a segment starts when the link is free and
  takes len/rate on it (the bottleneck queue is unbounded: a modem or a base station
  buffers generously).
- **delay**: each segment arrives rtt/2 after it left the link; its ACK is back at the
  sender another rtt/2 later.
- **slow start**: the sender may have at most `cwnd` bytes unacknowledged. cwnd starts at
  10 segments (RFC 6928's initial window), grows by every acknowledged segment (doubles
  per RTT, RFC 5681 slow start, no ssthresh: the rate caps it), and falls back to the
  initial window after the connection was idle for more than one RTO (RFC 5681 §4.1).
- **loss**: each segment is lost with probability `loss` (a seeded RNG, reproducible); it
  arrives one RTO late (max(200 ms, 2 RTT), RFC 6298's floor as Linux uses it) and the
  sender halves cwnd. Delivery stays in order, as TCP's is: a late segment holds up the
  ones behind it.

What it does not model: the device's own receive window (the proxy reads the server as
fast as the kernel gives), reordering, a shared medium, radio wake-up (NB-IoT's
RRC/PSM states). The figures it gives are therefore a lower bound for a real link.

    with Link(target_port, rate=5000, rtt=0.6) as link:   # 40 kbit/s, 600 ms
        ... connect to 127.0.0.1:link.port ...
        link.stats   # bytes each way, connections, segments lost

`link_limit(nbytes, rate, rtt)` is the time a perfect transfer of nbytes needs: the
bytes at the rate plus one round trip for the request.
"""
import collections
import random
import socket
import threading
import time

MSS = 1460
IW = 10 * MSS

# name -> (bytes/s, RTT seconds): the profiles the bench names.
PROFILES = {
    "nb": (5000, 0.6),  # NB-IoT-like: 40 kbit/s, 600 ms
    "cat1": (125000, 0.1),  # LTE Cat-1-like: 1 Mbit/s, 100 ms
    "wifi": (2500000, 0.02),  # WiFi-like: 20 Mbit/s, 20 ms
}


def parse(spec):
    """'nb' | 'cat1' | 'wifi' | 'RATE,RTT' (RATE in kbit/s, RTT in ms) -> (name, bytes/s, s)."""
    if spec in PROFILES:
        r, t = PROFILES[spec]
        return spec, r, t
    try:
        kbit, ms = spec.split(",")
        r, t = float(kbit) * 1000 / 8, float(ms) / 1000
    except ValueError:
        raise ValueError("--link: nb, cat1, wifi or RATE,RTT (kbit/s,ms), e.g. 40,600")
    if r <= 0 or t < 0 or t > 10:
        raise ValueError("--link: a rate > 0 kbit/s and an RTT of 0..10000 ms")
    return "%g kbit/s, %g ms" % (float(kbit), float(ms)), r, t


def link_limit(nbytes, rate, rtt):
    return nbytes / rate + rtt


class _Pipe:
    # One direction of one connection: the sender's model, and a writer thread that
    # hands each segment to the receiver at its delivery time.
    def __init__(self, link, rate, dst):
        self.link = link
        self.rate = rate  # this direction's
        self.dst = dst
        self.cwnd = IW
        self.flight = collections.deque()  # (ack time, bytes) of unacknowledged segments
        self.inflight = 0  # their bytes
        self.free = 0.0  # when the link is free again
        self.last = 0.0  # latest delivery time handed out (delivery stays in order)
        self.idle_since = time.monotonic()
        self.q = collections.deque()
        self.cv = threading.Condition()
        self.closed = False

    def _ack(self, t):
        while self.flight and self.flight[0][0] <= t:
            n = self.flight.popleft()[1]
            self.inflight -= n
            self.cwnd += n

    def push(self, data, now):
        L = self.link
        if not self.flight and now - self.idle_since > L.rto:
            self.cwnd = IW  # restart after idle
        for i in range(0, len(data), MSS):
            seg = data[i : i + MSS]
            n = len(seg)
            t = max(now, self.free)
            self._ack(t)
            while self.flight and self.inflight + n > self.cwnd:
                t = max(t, self.flight[0][0])
                self._ack(t)
            self.free = t + n / self.rate
            deliver = self.free + L.rtt / 2
            if L.loss and L.rng.random() < L.loss:
                deliver += L.rto
                self.cwnd = max(self.cwnd // 2, 2 * MSS)
                L.stats["lost"] += 1
            deliver = max(deliver, self.last)
            self.last = deliver
            self.flight.append((deliver + L.rtt / 2, n))
            self.inflight += n
            with self.cv:
                self.q.append((deliver, seg))
                self.cv.notify()
        self.idle_since = self.last

    def close(self):
        with self.cv:
            self.closed = True
            self.cv.notify()

    def run(self):
        # the writer: deliver in order, each segment at its time
        try:
            while True:
                with self.cv:
                    while not self.q and not self.closed:
                        self.cv.wait(1.0)
                    if not self.q:
                        break
                    t, seg = self.q.popleft()
                wait = t - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                self.dst.sendall(seg)
                self.link.mark_last()
        except OSError:
            pass
        finally:
            try:
                self.dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass


class Link:
    """The proxy: listens on 127.0.0.1 (port 0 unless given), forwards to
    127.0.0.1:target. rate in bytes/s each way (down_rate for server -> client when
    the link is asymmetric), rtt in seconds, loss a probability per segment."""

    def __init__(self, target_port, rate, rtt, loss=0.0, seed=1, down_rate=None, target_host="127.0.0.1"):
        self.target = (target_host, target_port)
        self.rate_up, self.rate_down = rate, down_rate or rate
        self.rtt = rtt
        self.rto = max(0.2, 2 * rtt)
        self.loss = loss
        self.rng = random.Random(seed)
        self.stats = {"connections": 0, "bytes_up": 0, "bytes_down": 0, "lost": 0}
        self.first = self.last = None  # monotonic times: first connection, last byte delivered
        self._lock = threading.Lock()
        self._ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._ls.bind(("127.0.0.1", 0))
        self._ls.listen(16)
        self._ls.settimeout(0.2)
        self.port = self._ls.getsockname()[1]
        self._stop = threading.Event()
        self._socks = []
        self._threads = []
        self._t = threading.Thread(target=self._accept, daemon=True)
        self._t.start()

    @property
    def rate(self):
        return self.rate_down

    # The link's busy time is measured from the first connection after reset_times()
    # to the last byte delivered: what a radio is on for.
    def reset_times(self):
        self.first = self.last = None

    def mark_last(self):
        self.last = time.monotonic()

    def busy(self):
        return (self.last - self.first) if self.first is not None and self.last is not None else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stop.set()
        self._t.join(5)
        for s in self._socks:
            try:
                s.close()
            except OSError:
                pass
        self._ls.close()

    def _accept(self):
        while not self._stop.is_set():
            try:
                c, _ = self._ls.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                s = socket.create_connection(self.target, timeout=5)
            except OSError:
                c.close()
                continue
            for x in (c, s):
                x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                x.settimeout(None)
            with self._lock:
                if self.first is None:
                    self.first = time.monotonic()
                self.stats["connections"] += 1
                self._socks += [c, s]
            # up: client -> server; down: server -> client
            for src, dst, rate, key in ((c, s, self.rate_up, "bytes_up"), (s, c, self.rate_down, "bytes_down")):
                pipe = _Pipe(self, rate, dst)
                if key == "bytes_up":
                    # the handshake happened at loopback speed: the client's first bytes
                    # leave one RTT later, as after a real SYN / SYN-ACK
                    pipe.free = time.monotonic() + self.rtt
                w = threading.Thread(target=pipe.run, daemon=True)
                r = threading.Thread(target=self._read, args=(src, pipe, key), daemon=True)
                w.start()
                r.start()
                self._threads += [w, r]

    def _read(self, src, pipe, key):
        try:
            while not self._stop.is_set():
                data = src.recv(65536)
                if not data:
                    break
                with self._lock:
                    self.stats[key] += len(data)
                pipe.push(data, time.monotonic())
        except OSError:
            pass
        finally:
            pipe.close()
