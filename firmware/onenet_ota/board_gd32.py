# The GD32 profile: an ESP32 module that stages the package, then programs a GD32 /
# STM32-class application MCU through its ROM bootloader (sink_gd32). Optional:
# imported only on this board.
from . import uart
from .board import Board
from .config import merge
from .errors import ConfigError

# The profile's defaults and settings (config.PROFILES): contract codes 103/10301, the
# package staged in a file; "gd32": the target MCU's ROM bootloader (GD32 below).
DEFAULTS = (("manuf", "103"), ("model", "10301"), ("sink", "file"), ("chunk", 4096), ("gd32", None))
GD32 = (("uart", None), ("write_max", 256), ("base", 0x08000000), ("page_size", 1024),
        ("pages", 64), ("boot0", None), ("nrst", None), ("retries", 3), ("timeout_ms", 1000),
        ("erase_ms", 30000), ("go", True))


def make(cfg):
    return Gd32Board(cfg)


# Settings of this profile (config.check calls it): the target's bootloader.
def check(cfg):
    g = cfg["gd32"]
    g = merge(g or {}, GD32, "gd32")
    g["uart"] = uart.check(g["uart"], "gd32.uart")
    for k, lo, hi in (("write_max", 4, 256), ("base", 0, 0xFFFFFFFF), ("page_size", 128, 65536),
                      ("pages", 1, 65535), ("retries", 1, 20), ("timeout_ms", 50, 60000),
                      ("erase_ms", 100, 600000)):
        x = g[k]
        if not isinstance(x, int) or isinstance(x, bool) or not lo <= x <= hi:
            raise ConfigError("gd32.%s: an integer in %d..%d" % (k, lo, hi))
    if g["write_max"] % 4 or g["base"] % 4:
        raise ConfigError("gd32.write_max, gd32.base: multiples of 4")
    for k in ("boot0", "nrst"):
        x = g[k]
        if x is not None and (not isinstance(x, int) or isinstance(x, bool) or not 0 <= x <= 255):
            raise ConfigError("gd32.%s: a pin number or null" % k)
    if not isinstance(g["go"], bool):
        raise ConfigError("gd32.go: true or false")
    cfg["gd32"] = g


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
        return Gd32Sink(Board.sink(self), uart.make(g["uart"], 0), g, pins[0], pins[1])
