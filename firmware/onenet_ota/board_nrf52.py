# The nRF52832 profile: sockets through an NB-IoT modem's AT commands, the image in a
# block-device region of the MCU's own flash. Optional: imported only on this board.
from . import uart
from .board import Board
from .config import ConfigError, _int


# Settings of this profile (config.check calls it): modem, uart, flash region.
def check(cfg):
    if cfg["modem"] not in (None, "bc26", "m5311"):
        raise ConfigError("modem: bc26, m5311 or null")
    if cfg["modem"] or cfg["uart"] is not None:
        cfg["uart"] = uart.check(cfg["uart"], "uart")
    if cfg["modem"] == "m5311" and cfg["chunk"] > 1536:
        # the M5311 pushes what arrives (no flow control): one range and its head must
        # fit the transport's 2048-byte receive ring
        raise ConfigError("chunk: at most 1536 with an M5311 modem")
    _int(cfg, "flash_start", 0, 1 << 30)
    _int(cfg, "flash_len", 0, 1 << 30)
    if cfg["flash_start"] % 4096 or cfg["flash_len"] % 4096:
        raise ConfigError("flash_start, flash_len: multiples of 4096")


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
            self._modem = AtModem(uart.make(c["uart"]), c["modem"], c["timeout_ms"])
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
