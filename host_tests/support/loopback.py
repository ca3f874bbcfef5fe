# Loopback TCP servers the modem and UART tests put at the far end of a simulated line:
# each binds 127.0.0.1 port 0, serves every connection in its own thread, and stops
# (the accept loop wakes every 0.2 s to see the stop flag).
import socket
import threading


class Server:
    # serve(connection) runs in a thread of its own for each connection
    def __init__(self, serve, backlog=8):
        self.serve = serve
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(backlog)
        self.s.settimeout(0.2)
        self.port = self.s.getsockname()[1]
        self.stop_ = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop_.is_set():
            try:
                c, _ = self.s.accept()
            except OSError:
                continue
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def stop(self):
        self.stop_.set()
        self.s.close()
        self.t.join(2)


class Echo(Server):
    # Echoes what it gets, `tag` before the first bytes of each connection; after
    # echoing b"BYE" it closes the connection.
    def __init__(self, tag=b""):
        self.tag = tag
        Server.__init__(self, self._echo)

    def _echo(self, c):
        c.settimeout(5)
        tag = self.tag
        try:
            while not self.stop_.is_set():
                d = c.recv(4096)
                if not d:
                    break
                c.sendall(tag + d)
                tag = b""
                if d.endswith(b"BYE"):
                    break
        except OSError:
            pass
        c.close()
