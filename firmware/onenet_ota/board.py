# What the agent needs from the device it runs on: the running version, the sink,
# confirming a new image, resetting. One class per kind of target; the agent sees
# only these methods.
import os

from .errors import OtaError


def _read(path):
    try:
        f = open(path)
    except OSError:
        return None
    try:
        return f.read().strip()
    finally:
        f.close()


def _write(path, text):
    # temp + rename: the version file is the old one or the new one, never torn
    f = open(path + ".tmp", "w")
    try:
        f.write(text)
    finally:
        f.close()
    os.rename(path + ".tmp", path)


class Board:
    # A board that keeps the package as a file (unix port, gateways, app bundles):
    # the new version counts as running once the file is committed.
    def __init__(self, cfg):
        self.cfg = cfg

    def running_version(self):
        return _read(self.cfg["version_file"]) or self.cfg["version"]

    # Join the configured WiFi network (bounded wait); nothing to do without one.
    def network_up(self):
        w = self.cfg.get("wifi")
        if not w:
            return
        import network
        import time

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


class Esp32Board(Board):
    # ESP32 with two OTA slots: the version is read from the running image's app
    # descriptor when it has one (MicroPython builds leave it empty: then the version
    # file, written when a new image is confirmed). Rollback is the bootloader's: an
    # image never confirmed is abandoned at the next reset.
    def running_version(self):
        from esp32 import Partition

        from .esp32img import version

        buf = bytearray(80)
        Partition(Partition.RUNNING).readblocks(0, buf)
        return version(buf) or Board.running_version(self)

    def running_slot(self):
        from esp32 import Partition

        return Partition(Partition.RUNNING).info()[4]

    def applied(self, rec):
        pass

    def confirm(self, rec):
        from esp32 import Partition

        Partition.mark_app_valid_cancel_rollback()
        _write(self.cfg["version_file"], rec["target"])


def make(cfg):
    # The nRF52832 and GD32 profiles are separate modules, installed only where used.
    if cfg["board"] == "nrf52832":
        from .board_nrf52 import Nrf52Board

        return Nrf52Board(cfg)
    if cfg["board"] == "gd32":
        from .board_gd32 import Gd32Board

        return Gd32Board(cfg)
    # The sink decides: an esp32 board downloading into a file (an app bundle) keeps
    # its version in the version file like any file-sink board.
    if cfg["sink"] == "esp32":
        return Esp32Board(cfg)
    return Board(cfg)
