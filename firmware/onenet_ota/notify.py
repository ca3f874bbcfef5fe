# MQTT task notification (new-api digest section 8), for boards that keep a connection
# (ESP32) on the current platform: "platform" fuse or studio (docs/dialects.md). The
# legacy platform has no task notification (its digest has no MQTT): "mqtt" with
# "platform": "legacy" is a ConfigError. Imported only when the config has "mqtt"; needs
# micropython-lib's umqtt.simple (a mip dependency: manifests/onenet-ota-mqtt).
#
#   n = Notifier(cfg, log)
#   n.wait(ms)   # the agent's wait between two cycles: True as soon as an inform came
#
# The device connects with the dialect's identity (the ids its HTTP paths carry):
# client id = device name (dev_id), user = product id (product_id), password = a
# device-level token (res products/{pid}/devices/{dev}, version 2018-10-31: section 8
# "Broker facts" [S9 S13 T1], the one form any source shows for MQTT; "token_version"
# 2022-05-01 is a config escape hatch), signed with the device key: the "key" of the mqtt
# settings, else access_key when the HTTP token is device-level too (token_res device:
# Studio's default); a user- or product-level access_key cannot sign it. Or a
# precomputed "password". It subscribes $sys/{pid}/{dev}/ota/inform and answers each
# inform on .../ota/inform_reply with {"id": <the inform's id>, "code": 200,
# "msg": "success"} at once, before the cycle starts (the documented deadline is 20 s,
# section 8). The inform's other fields are unknown (section 11.2): only `id` is read.
# With "tls" the broker (port 8883) is verified against "ca" as the HTTP side does.
#
# MQTT is a shortcut, never a dependency: when the broker is unreachable, refuses the
# login or goes away, wait() still returns at the end of `ms` (the agent polls as
# before) and reconnects are spaced by a back-off doubled per failure (backoff_s up to
# max_backoff_s, with jitter; a connection that dropped within a minute counts as a
# failure). Every socket operation has a time-out (connect_ms), whatever umqtt version
# is installed (_Sock below). Wakes are at least _MIN_GAP_MS apart, so a flood of
# informs cannot make the agent loop. The password never appears in a log line.
#
# The "mqtt" settings and their check (config time, no connection): notify_cfg.py.
import sys
import time

from .errors import const

_MP = sys.implementation.name == "micropython"

_MIN_GAP_MS = const(5000)  # between two early wakes
_STABLE_MS = const(60000)  # a connection up this long resets the back-off
_MAX_INFORM = const(1024)  # bytes of an inform that are parsed for its id
_PIECE_MS = const(3600000)  # wait() in pieces of an hour (ticks arithmetic)
_EAGAIN = const(11)  # errno of a non-blocking read with no data (MicroPython, CPython)


# umqtt.simple creates its socket with `socket.socket()` and uses read, write,
# setblocking (and, from 1.5, settimeout). notify.py gives it this socket module, so
# that every socket it makes carries the time-out: setblocking(True) and settimeout(None)
# (which umqtt calls after the first byte of every packet) mean "block up to connect_ms",
# not "for ever"; with "tls" the connection is wrapped here by the agent's own TLS set-up
# (transport.py: the CA file, fail closed). MicroPython: the stream read/write (its TLS
# socket has no recv/send, and no settimeout: the raw socket's applies); CPython:
# recv/send.
class _Sock:
    to = 5.0  # seconds; set from the config before a connect
    tls = None  # (server name, ca, insecure) for a TLS connection

    def __init__(self):
        import socket

        self.raw = self.s = socket.socket()
        self.raw.settimeout(_Sock.to)

    def connect(self, addr):
        self.raw.connect(addr)
        t = _Sock.tls
        if t:
            from .transport import SocketTransport

            self.s = SocketTransport._tls(None, self.raw, t[0], t[1], t[2])

    def _set(self, t):  # seconds; 0: non-blocking
        if _MP:
            if self.s is not self.raw:
                self.s.setblocking(t != 0)
            self.raw.settimeout(t)
        else:
            self.s.settimeout(t)

    def settimeout(self, t):
        self._set(_Sock.to if t is None else min(t, _Sock.to))

    def setblocking(self, flag):
        self._set(_Sock.to if flag else 0)

    def pending(self):
        # bytes the TLS layer holds already (CPython; MicroPython's poll counts them)
        p = getattr(self.s, "pending", None)
        return p() if p else 0

    def read(self, n):
        # n bytes (fewer only at EOF: b"" means the broker closed); None when
        # non-blocking and nothing is there yet.
        if _MP:
            return self.s.read(n)
        try:
            b = self.s.recv(n)
        except OSError as e:
            if (e.args and e.args[0] == _EAGAIN) or type(e).__name__ == "SSLWantReadError":
                return None  # non-blocking, nothing there yet
            raise  # a time-out or a link error: the caller drops the connection
        while b and len(b) < n:
            more = self.s.recv(n - len(b))
            if not more:
                break
            b += more
        return b

    def write(self, buf, n=None):
        if isinstance(buf, str):
            buf = buf.encode()
        if _MP:
            return self.s.write(buf) if n is None else self.s.write(buf, n)
        mv = memoryview(buf)
        if n is not None:
            mv = mv[:n]
        self.s.sendall(mv)
        return len(mv)

    def close(self):
        self.s.close()


class _SockMod:
    # The "socket" module umqtt.simple sees (its other use: getaddrinfo).
    socket = _Sock

    @staticmethod
    def getaddrinfo(host, port, *a):
        import socket

        return socket.getaddrinfo(host, port, *a)


def _err(e):
    # A log-safe reason: the type and errno / return code, never a message text that
    # might quote what was sent.
    n = e.args[0] if e.args else ""
    return "%s %s" % (type(e).__name__, n if isinstance(n, int) else "")


class Notifier:
    def __init__(self, cfg, log, now=None):
        m = cfg["mqtt"]
        self.log = log
        pid = cfg["product_id"]
        dev = cfg["dev_id"]  # the device name, as in the dialect's paths (api_tid.py)
        self._topic = ("$sys/%s/%s/ota/inform" % (pid, dev)).encode()
        self._reply = self._topic + b"_reply"
        self._cid, self._user = dev.encode(), pid.encode()  # umqtt counts len() of what it sends
        self._host, self._port, self._ka = m["host"], m["port"], m["keepalive"]
        self._to = m["connect_ms"] / 1000
        self._min, self._max = m["backoff_s"] * 1000, m["max_backoff_s"] * 1000
        pw = m["password"]
        if pw is None:
            from .api_tid import token

            et = cfg["et"]
            if now and cfg["et_ttl"]:
                et = now + cfg["et_ttl"]
            pw = token("products/%s/devices/%s" % (pid, dev), m["key"] or cfg["access_key"], et,
                       cfg["method"], m["token_version"])
        self._pw = pw.encode()
        self._tls = (m["host"], m["ca"], m["insecure"]) if m["tls"] else None
        if not m["tls"]:
            log("mqtt: no tls: the login token travels in clear")
        elif m["insecure"]:
            log("mqtt: tls without verifying the broker (insecure)")
        self._c = None
        self._poll = None
        self._back = 0  # the current back-off, ms (0: none yet)
        self._next = time.ticks_ms()  # ticks when a connect may be tried
        self._up = self._rx = self._tx = 0  # ticks: connected, last packet in, last out
        self._woke = None  # ticks of the last early wake
        self._got = False  # an inform came and is not yet answered with a wake
        self._due = False  # an inform came and is not yet replied to
        self._id = None  # its id, to copy into the reply
        self.connects = self.informs = self.replies = 0
        try:
            from umqtt import simple  # noqa: F401 (the dependency: said once, at start)

            self._off = False
        except ImportError:
            self._off = True  # wait() is then the plain sleep: polling only
            log("mqtt: umqtt.simple is not installed (mip.install(\"umqtt.simple\")): polling only")

    # -- the connection ----------------------------------------------------------------

    def _connect(self):
        from umqtt import simple

        simple.socket = _SockMod  # every socket umqtt makes has our time-out (see _Sock)
        _Sock.to = self._to
        _Sock.tls = self._tls
        self.connects += 1
        c = simple.MQTTClient(self._cid, self._host, self._port, self._user, self._pw, self._ka)
        c.set_callback(self._cb)
        try:
            c.connect()
            c.subscribe(self._topic)
        except Exception as e:  # OSError, MQTTException(rc), a torn CONNACK (IndexError), tls
            self._close(c)
            rc = e.args[0] if e.args else 0
            k = type(e).__name__
            if k == "MQTTException":
                why = "login refused (CONNACK %s)" % rc
            elif self._tls and (k in ("ValueError", "SSLError", "SSLCertVerificationError", "ConfigError")
                                or (isinstance(rc, int) and rc < -9000)):
                why = "tls refused (%s %s)" % (k, rc if isinstance(rc, int) else "")  # mbedtls codes are negative
            else:
                why = _err(e)
            self._fail(why)
            return
        import select

        self._c = c
        self._poll = select.poll()
        self._poll.register(c.sock.s, select.POLLIN)  # MicroPython's TLS socket polls its buffer too
        self._up = self._rx = self._tx = time.ticks_ms()
        self.log("mqtt: subscribed %s" % self._topic.decode())

    def _close(self, c):
        try:
            if c.sock:
                c.sock.close()
        except Exception:
            pass

    def _fail(self, why):
        # Back off: backoff_s, doubled per failure up to max_backoff_s, with jitter.
        b = self._back * 2 if self._back else self._min
        if b > self._max:
            b = self._max
        self._back = b
        j = time.ticks_ms() % (b // 4 + 1)
        self._next = time.ticks_add(time.ticks_ms(), b + j)
        self.log("mqtt: %s; polling, next try in %d s" % (why, (b + j) // 1000))

    def _drop(self, why):
        c, self._c, self._poll = self._c, None, None
        self._close(c)
        if time.ticks_diff(time.ticks_ms(), self._up) >= _STABLE_MS:
            self._back = 0  # it had been fine: start the back-off afresh
        self._fail(why)

    def close(self):
        # Leave cleanly (DISCONNECT), e.g. before a reset.
        c, self._c = self._c, None
        if c:
            try:
                c.disconnect()
            except Exception:
                self._close(c)

    # -- messages ----------------------------------------------------------------------

    def _cb(self, topic, msg):
        # Called by umqtt inside check_msg: note it, answer after check_msg returns.
        if topic != self._topic:
            return
        self.informs += 1
        self._got = self._due = True
        self._id = None
        if len(msg) > _MAX_INFORM:
            return
        try:
            from json import loads
        except ImportError:
            from .jsonlite import loads
        try:
            d = loads(msg)
        except Exception:  # not JSON: woken all the same, nothing to copy into a reply
            return
        if isinstance(d, dict):
            i = d.get("id")
            if (isinstance(i, str) and 0 < len(i) <= 64) or (isinstance(i, int) and not isinstance(i, bool)):
                self._id = i

    def _answer(self):
        i, self._id = self._id, None
        if i is None:
            self.log("mqtt: inform without an id: no reply")
            return
        if isinstance(i, str):
            try:
                from json import dumps
            except ImportError:
                from .jsonlite import _q as dumps
            v = dumps(i)
        else:
            v = str(i)
        self._c.publish(self._reply, ('{"id":%s,"code":200,"msg":"success"}' % v).encode())
        self._tx = time.ticks_ms()
        self.replies += 1
        self.log("mqtt: inform %s answered" % v)

    # -- the wait ----------------------------------------------------------------------

    # Wait up to ms; True as soon as an inform came (answered first), False at the end.
    # In pieces of at most an hour: ticks_diff is exact only within half the ticks
    # period (2**29 ms, 6.2 days on MicroPython), check_interval may be 7 days.
    def wait(self, ms):
        if self._off:
            time.sleep_ms(ms)
            return False
        while ms > _PIECE_MS:
            if self._wait(_PIECE_MS):
                return True
            ms -= _PIECE_MS
        return self._wait(ms)

    def _wait(self, ms):
        now = time.ticks_ms()
        end = time.ticks_add(now, ms)
        ka = self._ka * 1000
        if self._woke is not None and not 0 <= time.ticks_diff(now, self._woke) < _MIN_GAP_MS:
            self._woke = None  # the gap is over (and no old ticks value can wrap around)
        if self._c and ka and time.ticks_diff(now, self._rx) > ka + ka // 2:
            # silent past the broker's own limit (a long cycle without pings): it has
            # dropped us; reconnect now, not counted as a failure
            c, self._c = self._c, None
            self._close(c)
            self._next = now
        while True:
            now = time.ticks_ms()
            if self._got and (self._woke is None or time.ticks_diff(now, self._woke) >= _MIN_GAP_MS):
                self._got = False
                self._woke = now
                return True
            left = time.ticks_diff(end, now)
            if left <= 0:
                return False
            if self._c is None:
                d = time.ticks_diff(self._next, now)
                if d > 0:
                    time.sleep_ms(d if d < left else left)
                else:
                    self._connect()
                continue
            t = left
            if self._got:  # wake due when the gap ends
                g = _MIN_GAP_MS - time.ticks_diff(now, self._woke)
                t = g if g < t else t
            if ka:
                p = ka // 2 - time.ticks_diff(now, self._tx)
                if p <= 0:
                    if time.ticks_diff(now, self._rx) > ka:
                        self._drop("no answer to pings")
                        continue
                    try:
                        self._c.ping()
                    except Exception as e:
                        self._drop("lost (%s)" % _err(e))
                        continue
                    self._tx = now
                    p = ka // 2
                t = p if p < t else t
            try:
                if self._c.sock.pending() or self._poll.poll(t if t > 0 else 0):
                    self._c.check_msg()
                    self._rx = time.ticks_ms()
                    if self._due:
                        self._due = False
                        self._answer()
            except Exception as e:  # EOF (OSError -1), time-out, a torn packet
                self._drop("lost (%s)" % _err(e))
