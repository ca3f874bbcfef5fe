# A raw-REPL stand-in for a board, run by the unix `micropython` with its stdin and
# stdout on a pseudo-terminal's master; mpremote connects to the slave side as if it
# were a board's serial port. `micropython server.py ROOT` serves ROOT as the device's
# filesystem ("/" and "" are ROOT; no path leaves it on purpose, but this is a test
# fixture, not a sandbox).
#
# Protocol (as MicroPython's pyexec.c speaks it, what mpremote's fs/exec rely on):
#   friendly mode: Ctrl-A -> raw mode, banner "raw REPL; CTRL-B to exit\r\n>";
#                  Ctrl-D -> soft reset; other bytes are ignored (no evaluation).
#   raw mode:      bytes accumulate; Ctrl-A re-enters raw (buffer dropped); Ctrl-B ->
#                  friendly; Ctrl-C drops the buffer; Ctrl-E 'A' Ctrl-A (raw-paste) is
#                  refused with "R\x00" so mpremote falls back; Ctrl-D with an empty
#                  buffer -> "OK\r\n" + soft reset ("MPY: soft reboot\r\n", boot.py,
#                  banner); Ctrl-D with code -> "OK", run it (stdout streams out),
#                  "\x04", traceback if any, "\x04", ">".
import os as _os
import sys

ROOT = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else _os.getcwd()
_rd = sys.stdin.buffer.read
_out = sys.stdout.buffer


def _w(b):
    _out.write(b)


def _p(path):
    # device path -> host path
    if isinstance(path, bytes):
        path = path.decode()
    if path in ("", "/", "."):
        return ROOT
    if path.startswith("/"):
        return ROOT + path
    return path


class DeviceOS:
    # Stands in for `os` inside executed code: the same calls, paths rebased on ROOT.
    sep = "/"

    @staticmethod
    def stat(p):
        return _os.stat(_p(p))

    @staticmethod
    def listdir(p=""):
        return _os.listdir(_p(p))

    @staticmethod
    def ilistdir(p=""):
        # (name, type, inode, size) as on a board; the unix port leaves size out
        base = _p(p)
        for e in _os.ilistdir(base):
            yield (e[0], e[1], e[2], _os.stat(base + "/" + e[0])[6] if e[1] == 0x8000 else 0)

    @staticmethod
    def mkdir(p):
        return _os.mkdir(_p(p))

    @staticmethod
    def remove(p):
        return _os.remove(_p(p))

    @staticmethod
    def rmdir(p):
        return _os.rmdir(_p(p))

    @staticmethod
    def rename(a, b):
        return _os.rename(_p(a), _p(b))

    @staticmethod
    def chdir(p):
        return _os.chdir(_p(p))

    @staticmethod
    def getcwd():
        cwd = _os.getcwd()
        return cwd[len(ROOT):] or "/" if cwd.startswith(ROOT) else cwd

    @staticmethod
    def statvfs(p=""):
        return _os.statvfs(_p(p))

    @staticmethod
    def uname():
        return ("rawrepl-standin", "standin", "1.0", "unix", "standin")


_builtin_open = open


def _open(p, *a, **k):
    return _builtin_open(_p(p), *a, **k)


_base_modules = None
_base_path = None


def _soft_reset():
    # Fresh globals, modules and cwd, as a board after Ctrl-D; runs boot.py if present.
    global g
    for k in list(sys.modules):
        if k not in _base_modules:
            del sys.modules[k]
    sys.modules["os"] = DeviceOS
    sys.path[:] = _base_path
    _os.chdir(ROOT)
    g = {"__name__": "__main__", "open": _open}
    _w(b"MPY: soft reboot\r\n")
    try:
        _os.stat(ROOT + "/boot.py")
        _run("exec(open('boot.py').read())", False)
    except OSError:
        pass


def _run(code, framed=True):
    # Execute code in the device globals; framed: the raw-REPL \x04 markers.
    err = None
    try:
        exec(code, g)
    except BaseException as e:  # SystemExit/KeyboardInterrupt included, as on a board
        err = e
    if framed:
        _w(b"\x04")
    if err is not None:
        sys.print_exception(err, sys.stdout)
    if framed:
        _w(b"\x04")


BANNER = b"raw REPL; CTRL-B to exit\r\n>"
FRIENDLY = b"MicroPython raw-REPL stand-in on unix\r\n>>> "


def serve():
    global _base_modules, _base_path
    _base_modules = set(sys.modules)
    _base_path = ["", ROOT + "/lib", ROOT]
    sys.path[:] = _base_path
    _soft_reset()
    _w(FRIENDLY)
    raw = False
    buf = bytearray()
    while True:
        try:
            c = _rd(1)
        except OSError:  # EIO: the pty closed
            return
        if not c:
            return
        c = c[0]
        if not raw:
            if c == 1:
                raw = True
                buf = bytearray()
                _w(b"\r\n" + BANNER)
            elif c == 4:
                _soft_reset()
                _w(FRIENDLY)
            elif c in (3, 13):
                _w(b"\r\n>>> ")
            continue
        if c == 1:
            buf = bytearray()
            _w(b"\r\n" + BANNER)
        elif c == 2:
            raw = False
            _w(b"\r\n" + FRIENDLY)
        elif c == 3:
            buf = bytearray()
        elif c == 5 and not buf:
            # raw-paste request "\x05A\x01": refused, mpremote falls back to raw mode
            if _rd(1) == b"A" and _rd(1) == b"\x01":
                _w(b"R\x00")
        elif c == 4:
            if not buf:
                _w(b"OK\r\n")
                _soft_reset()
                _w(BANNER)
            else:
                code = bytes(buf)
                buf = bytearray()
                _w(b"OK")
                _run(code)
                _w(b">")
        else:
            buf.append(c)


serve()
