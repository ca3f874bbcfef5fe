# A scripted HTTP server on loopback for client edge cases: the request path picks a
# script of raw actions (bytes to send, pauses, a close). It records every raw request.
import socket
import threading
import time


class ScriptedServer:
    def __init__(self, routes):
        # routes: {path: [action, ...]}; action = bytes | ("sleep", s) | ("close",)
        # | ("echo",) (answers with the raw request as the body).
        self.routes = routes
        self.requests = []
        self.connections = 0
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._stop = False
        self._conns = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stop = True
        try:
            self._sock.close()
        except OSError:
            pass
        for c in list(self._conns):
            try:
                c.close()
            except OSError:
                pass
        self._thread.join(5)

    def _accept(self):
        self._sock.settimeout(0.2)
        while not self._stop:
            try:
                c, _ = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            self._conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        c.settimeout(10)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        try:
            while not self._stop:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(4096)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                clen = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        clen = int(v)
                while len(buf) < clen:
                    buf += c.recv(4096)
                raw = head + b"\r\n\r\n" + buf[:clen]
                buf = buf[clen:]
                self.requests.append(raw)
                path = head.split(b" ")[1].decode().split("?")[0]
                acts = self.routes.get(path, [b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"])
                if callable(acts):
                    acts = acts(raw)
                for act in acts:
                    if isinstance(act, bytes):
                        c.sendall(act)
                    elif act[0] == "sleep":
                        time.sleep(act[1])
                    elif act[0] == "close":
                        return
                    elif act[0] == "echo":
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(raw), raw))
        except OSError:
            pass
        finally:
            c.close()
