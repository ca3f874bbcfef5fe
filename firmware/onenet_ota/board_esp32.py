# The ESP32 profile: two OTA slots (esp32.Partition), sockets over WiFi.
from .board import Board, _write
from .errors import OtaError

DEFAULTS = (("manuf", "101"), ("model", "10101"), ("sink", "esp32"), ("chunk", 4096))


def check(cfg):
    pass  # chip_id, wifi: core settings (the esp32 sink is also used off this board)


def make(cfg):
    # The sink decides: an esp32 board downloading into a file (an app bundle) keeps
    # its version in the version file like any file-sink board.
    return Esp32Board(cfg) if cfg["sink"] == "esp32" else Board(cfg)


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
