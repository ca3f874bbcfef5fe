# Booting the qemu MPS2-AN385 board with the agent frozen in (one qemu process per boot
# of the device, as the other runtimes use one process per boot):
#
#   qemu-system-arm -M mps2-an385 -kernel heap-<n>.elf -semihosting
#     -serial stdio                    UART0: the REPL (the host drives the raw REPL)
#     -serial tcp:127.0.0.1:<bridge>   UART1: the modem, through Bridge to the modem sim
#     -object memory-backend-file,...,mem-path=<state>/nrf_flash.bin,share=on
#     -machine memory-backend=...      the 16 MiB PSRAM at 0x21000000 is that file: the
#                                      emulated nRF52832 flash (chip address = offset)
#
# The board's flash (image region, journal, littlefs with config.json) is therefore the
# state folder's nrf_flash.bin: written through on every store, it survives the end of
# qemu, be it machine.reset() (the port's reset ends qemu; the host boots it again) or a
# kill (a power cut). The host writes nothing into it: config.json goes in through the
# REPL, each boot, as the other runtimes rewrite it each boot.
import os
import select
import socket
import subprocess
import threading
import time

from ..uartsim import UartSim

QEMU = "qemu-system-arm"
RAM_BYTES = 16 * 1024 * 1024  # mps2-an385's PSRAM (qemu: the machine's RAM)
CHIP_BYTES = 0x80000  # the nRF52832's 512 KiB, erased (0xFF) on a new board
FLASH_FILE = "nrf_flash.bin"


def flash_file(state):
    # The emulated flash of the board whose state folder this is: created erased.
    path = os.path.join(state, FLASH_FILE)
    size = os.path.getsize(path) if os.path.exists(path) else -1
    if size < 0:
        with open(path + ".tmp", "wb") as f:
            f.write(b"\xff" * CHIP_BYTES)
            f.truncate(RAM_BYTES)
        os.replace(path + ".tmp", path)
    elif size != RAM_BYTES:
        with open(path, "r+b") as f:
            f.truncate(RAM_BYTES)
    return path


class Bridge(UartSim):
    # qemu's UART1 <-> the modem simulator, over loopback: listens on 127.0.0.1 port 0
    # (uartsim.UartSim: start/stop, one thread a connection); each connection (one per
    # boot) gets its own connection to the modem simulator.
    # qemu sends one TCP segment per UART byte; a CR is held until the next byte (at
    # most 50 ms) so that CR LF reach the simulator together (it reads a late LF as
    # the first payload byte of AT+QISEND otherwise).
    NAME = "bridge"
    HOLD_S = 0.05

    def __init__(self, target_port):
        UartSim.__init__(self)
        self.target = target_port
        self._socks = []
        # sessions: qemu's connections; connections: those bridged to the simulator
        self.stats = {"sessions": 0, "connections": 0, "up": 0, "down": 0}

    def _close_connections(self):
        for s in list(self._socks):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _connection(self, c):
        def serve():
            try:
                m = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                c.close()
                return
            m.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._socks += [c, m]
            self.stats["connections"] += 1
            down = threading.Thread(target=self._pump, args=(m, c, "down", False), daemon=True)
            down.start()
            self._pump(c, m, "up", True)
            down.join()

        return serve

    def _pump(self, a, b, key, hold):
        pending = b""
        try:
            while not self._stop.is_set():
                r, _, _ = select.select([a], [], [], self.HOLD_S if pending else 0.2)
                if not r:
                    if pending:
                        b.sendall(pending)
                        pending = b""
                    continue
                d = a.recv(65536)
                if not d:
                    break
                self.stats[key] += len(d)
                d = pending + d
                pending = b""
                if hold and d.endswith(b"\r"):
                    d, pending = d[:-1], b"\r"
                if d:
                    b.sendall(d)
            if pending:
                b.sendall(pending)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def command(elf, state, uart_port):
    # uart_port None: UART1 wired to nothing (a boot that never opens the modem)
    mem = "memory-backend-file,id=flash,size=%d,mem-path=%s,share=on" % (RAM_BYTES, flash_file(state))
    uart1 = "null" if uart_port is None else "tcp:127.0.0.1:%d,nodelay=on" % uart_port
    return [QEMU, "-M", "mps2-an385", "-display", "none", "-monitor", "null", "-semihosting",
            "-serial", "stdio", "-serial", uart1,
            "-object", mem, "-machine", "memory-backend=flash", "-kernel", elf]


class BootError(Exception):
    pass


class Boot:
    # One boot: qemu started, the raw REPL entered, `qemu_device.boot(config, stats)`
    # sent. lines() yields the device's output lines (as the shim's ota_device.py
    # prints them); wait() -> the boot's exit code (the device's "EXIT n": 0 done, 2 bad
    # config, 3 reset; 1 when it crashed: a traceback, or qemu ended without EXIT).
    def __init__(self, elf, state, cfg_text, uart_port, stats=0, timeout=600, code=None):
        self.deadline = time.monotonic() + timeout
        self.code = None
        self.tail = []
        self.p = subprocess.Popen(command(elf, state, uart_port), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=state)
        self._buf = b""
        try:
            self._expect(b">>> ", 30)
            self._send(b"\r\x01")
            self._expect(b"raw REPL; CTRL-B to exit\r\n>", 10)
            if code is None:
                if cfg_text:
                    # config.json written by a program of its own, so that its text is
                    # not in the heap while the agent runs (qemu_device.setup)
                    self._run("import qemu_device\nqemu_device.setup(%s)\n" % ascii(cfg_text))
                code = "import qemu_device\nqemu_device.boot(%d)\n" % stats
            self._send(code.encode() + b"\x04")
            self._expect(b"OK", 10)
        except BaseException:
            self.kill()
            raise

    def _run(self, code):
        # One raw-REPL program that prints nothing: its output and error must be empty.
        self._send(code.encode() + b"\x04")
        self._expect(b"OK", 10)
        self._expect(b"\x04>", 30)
        if self._seen.strip(b"\x04"):
            raise BootError("qemu: setup failed: %r" % self._seen[-300:])

    def _send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def _read(self, limit):
        r, _, _ = select.select([self.p.stdout], [], [], max(0.0, min(limit, 0.5)))
        if not r:
            return None
        d = os.read(self.p.stdout.fileno(), 65536)
        if not d:
            raise EOFError
        return d

    def _expect(self, marker, seconds):
        end = time.monotonic() + seconds
        while marker not in self._buf:
            if time.monotonic() > end:
                raise BootError("qemu: no %r within %d s; got %r" % (marker, seconds, self._buf[-300:]))
            try:
                d = self._read(end - time.monotonic())
            except EOFError:
                raise BootError("qemu ended while booting: %r" % self._buf[-300:])
            if d:
                self._buf += d
        i = self._buf.index(marker)
        self._seen = self._buf[:i]
        self._buf = self._buf[i + len(marker):]

    def lines(self):
        done = False  # a crash: the raw REPL printed its traceback and its prompt
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                text = line.rstrip(b"\r").decode("utf-8", "replace")
                if text.startswith("EXIT "):
                    self.code = int(text[5:])
                    return
                if "\x04" in text:  # the raw REPL's end of output: a traceback follows
                    self.code = 1
                    text = text.replace("\x04", "")
                if text:
                    self.tail = (self.tail + [text])[-30:]
                    yield text
            if done:
                return
            if time.monotonic() > self.deadline:
                self.code = 1
                yield "qemu: boot timed out"
                return
            try:
                d = self._read(self.deadline - time.monotonic())
            except EOFError:
                if self.code is None:
                    self.code = 1
                if self._buf.strip(b"\x04>\r\n "):
                    self._buf += b"\n"
                    done = True
                    continue
                return
            if d:
                self._buf += d
                if b"\x04" in self._buf and self._buf.endswith(b"\x04>"):
                    self.code = 1
                    self._buf = self._buf[:-2].replace(b"\x04", b"\n") + b"\n"
                    done = True

    def wait(self):
        # The device ends qemu itself after EXIT (the port's machine.reset); a crash
        # leaves it in the REPL: it is killed.
        if self.code in (0, 2, 3):
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        return 1 if self.code is None else self.code

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.p.stdin, self.p.stdout):
            try:
                f.close()
            except OSError:
                pass
