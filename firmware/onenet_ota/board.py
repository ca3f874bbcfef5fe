# What the agent needs from the device it runs on: the running version, the sink,
# confirming a new image, resetting. The base class, and the unix profile (a file
# sink); each other board's profile module (config.PROFILES) subclasses it. The agent
# sees only these methods.
import os
import time

from .errors import OtaError, const

_EPOCH_2000 = const(946684800)  # unix seconds at 2000-01-01: ports whose time.time() counts from 2000


# The bytes of file path read into buf (at most its length) -> how many; -1: no file.
# Into a buffer made before: no read buffer of the stream's default size (256 bytes in
# one piece, on a heap in pieces), no copy.
def read_into(path, buf):
    try:
        f = open(path, "rb")
    except OSError:
        return -1
    try:
        return f.readinto(buf) or 0
    finally:
        f.close()


# data (str or bytes) written to path; mode "w" (replace) or "a" (append).
def write_file(path, data, mode):
    f = open(path, mode + ("" if isinstance(data, str) else "b"))
    try:
        f.write(data)
    finally:
        f.close()


def _read(path):
    # a version (1..20 characters): 64 bytes at most
    b = bytearray(64)
    n = read_into(path, b)
    return None if n < 0 else str(b[:n], "utf-8").strip()


def _write(path, text):
    # temp + rename: the version file is the old one or the new one, never torn
    write_file(path + ".tmp", text, "w")
    os.rename(path + ".tmp", path)


class Board:
    # A board that keeps the package as a file (unix port, gateways, app bundles):
    # the new version counts as running once the file is committed.
    def __init__(self, cfg):
        self.cfg = cfg

    def running_version(self):
        return _read(self.cfg["version_file"]) or self.cfg["version"]

    # The version the platform last took for this device ("" when unknown): a cycle
    # reports the running version only when it differs (one round trip less per check).
    def reported(self):
        return _read(self.cfg["version_file"] + ".sent") or ""

    def set_reported(self, version):
        _write(self.cfg["version_file"] + ".sent", version)

    # The version the running image itself declares, None when it declares none;
    # a file-sink board keeps it in the version file.
    def image_version(self):
        return self.running_version()

    # The flash slot a sink writes to and the slot running now; "" on boards without
    # slots (there the running version tells whether the new package runs).
    def sink_slot(self, sink):
        return ""

    def running_slot(self):
        return ""

    # Unix seconds when the board knows the time, else None. Not every port has
    # time.time() (nRF52832 builds do not: extmod/modtime.c), and ESP32 counts from
    # 2000 (py/mpconfig.h: MICROPY_EPOCH_IS_2000 unless a port says otherwise).
    def now(self):
        try:
            t = time.time()
            if time.gmtime(0)[0] == 2000:
                t += _EPOCH_2000
        except (AttributeError, OverflowError):
            return None
        return int(t) if t > 1600000000 else None  # an RTC never set starts at its epoch

    # Join the configured WiFi network (bounded wait); nothing to do without one.
    def network_up(self):
        w = self.cfg.get("wifi")
        if not w:
            return
        import network

        sta = network.WLAN(network.STA_IF)
        sta.active(True)
        if not sta.isconnected():
            sta.connect(w["ssid"], w.get("password", ""))
            for _ in range(int(w.get("timeout_s", 20)) * 10):
                if sta.isconnected():
                    return
                time.sleep_ms(100)
            raise OtaError("wifi: not connected")

    def sink(self):
        c = self.cfg
        if c["sink"] == "file":
            from .sink_file import FileSink

            return FileSink(c["sink_path"], c["capacity"] or (1 << 30))
        if c["sink"] == "esp32":
            from .sink_esp32 import Esp32Sink

            return Esp32Sink(None, c["chip_id"])
        raise OtaError("sink %s needs its board profile" % c["sink"])

    # After commit, before the reset.
    def applied(self, rec):
        _write(self.cfg["version_file"], rec["target"])

    # The new image runs and passed its self-test: keep it.
    def confirm(self, rec):
        pass

    # The new image must not be kept (before the reset); app boards go back to the
    # previous app (sink_app.AppBoard). rolled_back: why the old one runs, or None.
    def rollback(self, rec):
        pass

    def rolled_back(self, rec):
        return None

    def self_test(self):
        name = self.cfg.get("self_test")
        if not name:
            return True
        try:
            return bool(__import__(name).run())
        except Exception:
            return False

    # Signal strength and battery level the task's thresholds are checked against;
    # None when the board cannot tell. A board with a modem or a fuel gauge overrides
    # these; fixed values can be configured.
    def signal(self):
        return self.cfg.get("signal")

    def power(self):
        return self.cfg.get("power")

    def reset(self):
        import machine

        machine.reset()


# The unix profile (config.PROFILES): a board that keeps the package as a file.
DEFAULTS = (("manuf", "100"), ("model", "10001"), ("sink", "file"), ("chunk", 4096))


def check(cfg):
    pass  # no settings of its own


# Whether a second request may go out before the first one's answer is read: sockets,
# and a modem board that says so (the BC26's buffer access mode holds an answer in the
# modem until asked for; the M5311 pushes every byte as it comes).
def pipelines(board):
    return not getattr(board, "connect", None) or getattr(board, "pipelines", False)


# The HTTP client for a board's connections: the one that can write the first range
# behind the token check and the check behind the version report (pipe.py) where the
# board pipelines; else the plain one.
def client_class(board):
    if not pipelines(board):
        from .http import Client

        return Client
    from .pipe import Client

    return Client


def make(cfg):
    # The board of a checked config: its profile's class (config.PROFILES); an app
    # sink wraps it (any profile, its application in app folders).
    if cfg["board"] == "unix":
        b = Board(cfg)
    else:
        from .config import profile

        b = profile(cfg["board"]).make(cfg)
    if cfg["sink"] == "app":
        from .app_board import AppBoard

        return AppBoard(b)
    return b
