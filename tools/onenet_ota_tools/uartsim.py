# What the modem and bootloader simulators share: a listening socket on loopback that
# stands for a UART (the shim's machine.UART connects to it), one thread per
# connection, countdown fault knobs, start/stop that always release the port.
import socket
import threading


class UartSim:
    NAME = "uartsim"
    FAULTS = {}  # knob: default (0 = off); a positive count is spent by _take()

    def __init__(self, port=0, backlog=4, **faults):
        self.faults = dict(self.FAULTS)
        self.fault(**faults)
        self._lock = threading.Lock()
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", port))
        self._srv.listen(backlog)
        self.port = self._srv.getsockname()[1]
        self._stop = threading.Event()
        self._threads = []

    def fault(self, **kw):
        for k, v in kw.items():
            if k not in self.faults:
                raise ValueError("%s: unknown fault %s" % (self.NAME, k))
            self.faults[k] = v

    def _take(self, name):
        # True once per unit of a countdown knob.
        with self._lock:
            if self.faults[name] > 0:
                self.faults[name] -= 1
                return True
        return False

    def start(self):
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        try:
            self._srv.close()
        except OSError:
            pass
        self._close_connections()
        for t in self._threads:
            t.join(2)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def _accept(self):
        self._srv.settimeout(0.2)
        while not self._stop.is_set():
            try:
                c, _ = self._srv.accept()
            except OSError:
                continue
            self.stats["sessions"] += 1
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            t = threading.Thread(target=self._connection(c), daemon=True)
            t.start()
            self._threads = [x for x in self._threads if x.is_alive()] + [t]

    # Subclasses: the function that serves connection c, and how to drop them all.
    def _connection(self, c):
        raise NotImplementedError

    def _close_connections(self):
        raise NotImplementedError
