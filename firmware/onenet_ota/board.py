# What the agent needs from the device it runs on: the running version, the sink,
# confirming a new image, resetting. One class per kind of target; the agent sees
# only these methods.
import os
import time

from .errors import OtaError

_EPOCH_2000 = 946684800  # unix seconds at 2000-01-01: ports whose time.time() counts from 2000


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


class Esp32Board(Board):
    # ESP32 with two OTA slots. Which image runs is told by the running slot: stock
    # MicroPython images leave the app descriptor's version empty
    # (CONFIG_APP_EXCLUDE_PROJECT_VER_VAR=y), so a version string cannot tell. The
    # version reported is the descriptor's when there is one, else the version file
    # (written when a new image is confirmed). Rollback is the bootloader's: an image
    # never confirmed is abandoned at the next reset.
    def image_version(self):
        from esp32 import Partition

        from .esp32img import version

        buf = bytearray(80)
        Partition(Partition.RUNNING).readblocks(0, buf)
        return version(buf) or None

    def running_version(self):
        return self.image_version() or Board.running_version(self)

    def sink_slot(self, sink):
        return sink.part.info()[4]

    # The RTC once WiFi is up: set from NTP when it was never set (ntptime is frozen
    # into the esp32 port's images, from micropython-lib); None when that fails.
    def now(self):
        t = Board.now(self)
        if t is None and self.cfg.get("wifi"):
            try:
                import ntptime

                ntptime.settime()
            except (ImportError, OSError, OverflowError):
                return None
            t = Board.now(self)
        return t

    def running_slot(self):
        from esp32 import Partition

        return Partition(Partition.RUNNING).info()[4]

    def applied(self, rec):
        pass

    def confirm(self, rec):
        from esp32 import Partition

        try:
            Partition.mark_app_valid_cancel_rollback()
        except OSError as e:
            # esp_ota_mark_app_valid_cancel_rollback: ESP_ERR_NOT_FOUND (-261) without
            # otadata, ESP_FAIL when the running slot is not the one otadata selects.
            # Either way the image is not kept: it must not be reported as updated.
            raise OtaError("cannot mark the image valid (OSError %s)" % (e.args[0] if e.args else ""))
        _write(self.cfg["version_file"], rec["target"])


def make(cfg):
    if cfg["sink"] == "app":  # any profile, its application in app folders
        from .sink_app import AppBoard

        return AppBoard(_make(cfg))
    return _make(cfg)


def _make(cfg):
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
