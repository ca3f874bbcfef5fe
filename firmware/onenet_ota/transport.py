# Socket transport: TCP (optionally TLS) with connect and read time-outs.
#
# Interface shared with the modem transport (transport_at.py):
#   readinto(buf, n)  -> 1..n bytes read into buf[0:], 0 at EOF; Timeout if none came
#   read_exact(buf, n)-> fills buf[0:n] or raises (NetError on EOF, Timeout)
#   write(buf, n)     -> sends buf[0:n] entirely
#   close()
# On MicroPython `readinto(buf, n)` and `write(buf, off, n)` take counts, so nothing is
# sliced (no allocation per call). The socket is non-blocking for partial reads (status
# line, headers) and switched to a blocking read with a time-out for exact body reads.
import socket
import sys

from .errors import ConfigError, NetError, Timeout

_MP = sys.implementation.name == "micropython"
try:
    from errno import EAGAIN, ETIMEDOUT
except ImportError:  # nRF52 has no errno module (and no socket either)
    EAGAIN, ETIMEDOUT = 11, 110


def _wrap(e, what):
    # OSError -> typed error; time-outs are OSError(ETIMEDOUT/EAGAIN) on MicroPython.
    n = e.args[0] if e.args else 0
    v = getattr(e, "verify_message", None)  # CPython ssl.SSLCertVerificationError
    if v or n == -9984:  # mbedtls MBEDTLS_ERR_X509_CERT_VERIFY_FAILED
        return NetError("tls: server certificate rejected (%s)" % (v or n))
    if n in (ETIMEDOUT, EAGAIN) or (not _MP and isinstance(e, socket.timeout)):
        return Timeout(what + " timed out")
    return NetError("%s failed (%s)" % (what, n))


class SocketTransport:
    # name: the server's name for TLS (SNI and the certificate check) when host is an
    # address (a check answer's ipPort); insecure: TLS without verifying the server.
    def __init__(self, host, port, timeout_ms=10000, connect_timeout_ms=None, tls=False, ca=None,
                 insecure=False, name=None):
        self._to_ms = timeout_ms
        self._to = timeout_ms / 1000  # computed once: a float is a heap object
        try:
            ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
        except OSError as e:
            raise NetError("cannot resolve host (%s)" % (e.args[0] if e.args else 0))
        s = socket.socket(ai[0], socket.SOCK_STREAM, ai[2])
        self.s = s
        self._raw = s  # time-outs are set here: MicroPython's TLS socket has no settimeout
        try:
            s.settimeout((connect_timeout_ms or timeout_ms) / 1000)
            s.connect(ai[-1])
            if tls:
                s = self._tls(s, name or host, ca, insecure)
                self.s = s
            if not _MP:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as e:
            self.close()
            raise _wrap(e, "connect")
        except ConfigError:
            self.close()
            raise
        except ValueError as e:
            # MicroPython's tls: a certificate that does not verify (or a bad CA file)
            self.close()
            m = str(e.args[0] if e.args else "").strip().replace("\n", " ")
            raise NetError("tls: server certificate rejected (%s)" % m[:60])
        if _MP:
            import select

            self._poll = select.poll()
            self._poll.register(s, select.POLLIN)
            self._blocking = True
        else:
            s.settimeout(self._to)

    def _tls(self, s, host, ca, insecure):
        # Certificates are verified whenever a CA is configured; set the time-out on the
        # raw socket first (TLS sockets have no settimeout on MicroPython).
        try:
            import tls as ssl_mod

            ctx = ssl_mod.SSLContext(ssl_mod.PROTOCOL_TLS_CLIENT)
        except ImportError:
            import ssl as ssl_mod

            ctx = ssl_mod.SSLContext(ssl_mod.PROTOCOL_TLS_CLIENT)
        # Fails closed: the server is verified against the configured CA file (PEM,
        # one or more certificates, or DER), else CPython's system store. MicroPython
        # has no store: without a CA it refuses to connect unless the config says
        # insecure. Its tls takes PEM only where mbedtls has MBEDTLS_PEM_PARSE_C (ESP-IDF
        # yes, the unix port's extmod/mbedtls config no), DER everywhere, and each call
        # adds to the chain (extmod/modtls_mbedtls.c): one DER call per certificate.
        if insecure:
            if not _MP:
                ctx.check_hostname = False
            ctx.verify_mode = ssl_mod.CERT_NONE
        elif ca:
            if _MP:
                f = open(ca, "rb")
                try:
                    data = f.read()
                finally:
                    f.close()
                if data[:5] != b"-----":
                    ctx.load_verify_locations(data)  # DER; positional on MicroPython
                else:
                    from binascii import a2b_base64

                    parts = data.split(b"-----")  # text, BEGIN, base64, END, text, ...
                    for i in range(2, len(parts), 4):
                        ctx.load_verify_locations(a2b_base64(parts[i]))
            else:
                ctx.load_verify_locations(cafile=ca)
        elif _MP:
            raise ConfigError("tls: no ca file to verify the server with (or set insecure)")
        else:
            ctx.load_default_certs()
        return ctx.wrap_socket(s, server_hostname=host)

    def write(self, buf, n):
        try:
            if _MP:
                self._block(True)
                off = 0
                while off < n:
                    w = self.s.write(buf, off, n - off)
                    if not w:
                        raise NetError("send failed")
                    off += w
            else:
                self.s.sendall(memoryview(buf)[:n])
        except OSError as e:
            raise _wrap(e, "send")

    def readinto(self, buf, n):
        try:
            if not _MP:
                return self.s.recv_into(buf, n)
            self._block(False)
            r = self.s.readinto(buf, n)
            if r is None:
                got = False
                for _ in self._poll.ipoll(self._to_ms):
                    got = True
                if not got:
                    raise Timeout("read timed out")
                r = self.s.readinto(buf, n)
                if r is None:
                    raise Timeout("read timed out")
            return r
        except OSError as e:
            raise _wrap(e, "read")

    # Whether bytes wait to be read (between answers on a kept-alive connection).
    def pending(self):
        try:
            if _MP:
                for _ in self._poll.ipoll(0):
                    return True
                return False
            import select

            return bool(select.select([self.s], [], [], 0)[0])
        except (OSError, ValueError):
            return True  # a socket that cannot be polled is not worth reusing

    def read_exact(self, buf, n):
        try:
            if _MP:
                self._block(True)
                got = self.s.readinto(buf, n)
            else:
                mv = memoryview(buf)
                got = 0
                while got < n:
                    r = self.s.recv_into(mv[got:], n - got)
                    if not r:
                        break
                    got += r
        except OSError as e:
            raise _wrap(e, "read")
        if got != n:
            raise NetError("connection closed mid-body")
        return n

    def _block(self, on):
        if self._blocking != on:
            self._blocking = on
            if on:
                self._raw.settimeout(self._to)
            else:
                self._raw.setblocking(False)

    def close(self):
        s = self.s
        self.s = None
        if s:
            try:
                s.close()
            except OSError:
                pass


def connect(host, port, timeout_ms=10000, tls=False, ca=None, insecure=False, name=None):
    return SocketTransport(host, port, timeout_ms, None, tls, ca, insecure, name)
