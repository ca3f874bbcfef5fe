# A TCP forwarder on loopback that counts what goes through it: stands in for the
# download address (ipPort) a check answer gives when cdn=false.
import socket
import threading


class Forwarder:
    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.connections = 0
        self.bytes_down = 0
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(8)
        self._srv.settimeout(0.2)
        self.port = self._srv.getsockname()[1]
        self._stop = threading.Event()
        self._socks = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                c, _ = self._srv.accept()
            except OSError:
                continue
            u = socket.create_connection(self.target, timeout=10)
            self.connections += 1
            self._socks += [c, u]
            for a, b, down in ((c, u, False), (u, c, True)):
                t = threading.Thread(target=self._pump, args=(a, b, down), daemon=True)
                t.start()
                self._threads.append(t)

    def _pump(self, a, b, down):
        try:
            while not self._stop.is_set():
                d = a.recv(65536)
                if not d:
                    break
                if down:
                    self.bytes_down += len(d)
                b.sendall(d)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        self._stop.set()
        self._srv.close()
        for s in self._socks:
            try:
                s.close()
            except OSError:
                pass
        for t in self._threads:
            t.join(2)
