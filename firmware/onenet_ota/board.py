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


def _uart(u, parity=None):
    # machine.UART from the config's {"id", "baud", "tx", "rx"} (pins only when given:
    # the nrf port takes them from the board definition).
    import machine

    kw = {}
    if u["tx"] is not None:
        kw["tx"] = u["tx"]
    if u["rx"] is not None:
        kw["rx"] = u["rx"]
    if parity is not None:
        kw["bits"] = 8
        kw["parity"] = parity
        kw["stop"] = 1
    return machine.UART(u["id"], u["baud"], **kw)


class Nrf52Board(Board):
    # nRF52832 with an NB-IoT modem: sockets through AT commands (transport_at) on
    # `uart`, the image in the flash after the firmware (nrf.Flash(start=, len=),
    # 4096-byte pages; the port checks no bounds, so the region is computed and
    # checked here and BlockSink checks every access). The new version counts once
    # committed (a bootloader copies a "complete" region at reset).
    def __init__(self, cfg):
        Board.__init__(self, cfg)
        self._modem = None
        if cfg["modem"]:
            self.connect = self._connect  # the agent's http.Client uses it

    def modem(self):
        if self._modem is None:
            from .transport_at import AtModem

            c = self.cfg
            self._modem = AtModem(_uart(c["uart"]), c["modem"], c["timeout_ms"])
        return self._modem

    def network_up(self):
        if self.cfg["modem"]:
            m = self.modem()
            if not m.up:
                m.start()

    def _connect(self, host, port, timeout_ms):
        return self.modem().open(host, port, timeout_ms)

    def region(self):
        # (start, len) of the block sink's flash region: page-aligned, after the
        # firmware, inside what unused_flash_start/length() report.
        import nrf

        c = self.cfg
        lo = nrf.unused_flash_start()
        hi = lo + nrf.unused_flash_length()
        start = c["flash_start"] or lo
        start = (start + 4095) // 4096 * 4096
        end = start + c["flash_len"] if c["flash_len"] else hi // 4096 * 4096
        if start < lo or end > hi or end - start < 2 * 4096:
            from .errors import NoSpace

            raise NoSpace("flash region 0x%x..0x%x outside 0x%x..0x%x" % (start, end, lo, hi))
        return start, end - start

    def sink(self):
        if self.cfg["sink"] != "block":
            return Board.sink(self)
        import nrf

        from .sink_block import BlockSink

        start, n = self.region()
        return BlockSink(nrf.Flash(start=start, len=n), 0, n // 4096)


class Gd32Board(Board):
    # An ESP32 module (WiFi, sockets, hashlib) that updates a GD32 application MCU: the
    # package is staged in the module's sink (a file by default), then programmed
    # through the MCU's ROM bootloader and verified by read-back (sink_gd32).
    def sink(self):
        from .sink_gd32 import Gd32Sink

        g = self.cfg["gd32"]
        pins = []
        for k in ("boot0", "nrst"):
            p = None
            if g[k] is not None:
                import machine

                p = machine.Pin(g[k], machine.Pin.OUT, value=1 if k == "nrst" else 0)
            pins.append(p)
        return Gd32Sink(Board.sink(self), _uart(g["uart"], 0), g, pins[0], pins[1])


def make(cfg):
    if cfg["board"] == "nrf52832":
        return Nrf52Board(cfg)
    if cfg["board"] == "gd32":
        return Gd32Board(cfg)
    # The sink decides: an esp32 board downloading into a file (an app bundle) keeps
    # its version in the version file like any file-sink board.
    if cfg["sink"] == "esp32":
        return Esp32Board(cfg)
    return Board(cfg)
