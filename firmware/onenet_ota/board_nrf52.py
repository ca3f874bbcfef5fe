# The nRF52832 profile: sockets through an NB-IoT modem's AT commands, the image in a
# block-device region of the MCU's own flash. Optional: imported only on this board.
#
# What the port (ports/nrf, PCA10040) gives and this profile therefore does:
# - machine.UART is UART(0, baudrate, *, timeout, timeout_char) only: pins and RTS/CTS
#   come from the board build (PCA10040: TX 6, RX 8, RTS 5, CTS 7, flow control on).
# - UART0 is the REPL at boot (main.c: os.dupterm): the modem's answers would go to
#   stdin and print() to the modem. The board detaches it (os.dupterm(None)) before
#   talking to the modem and hands it back in release(); the agent's log goes to a
#   small file (LOG) and to print() only once print no longer reaches the modem.
# - no time.time(): now() reads the modem's network time (AT+CCLK?).
# - the free flash after the firmware is small (docs/shim.md, "nRF52832 flash plan").
from .board import Board, write_file
from .errors import ConfigError, const

LOG = "ota.log"
_LOG_MAX = const(4096)  # bytes kept in LOG (then it starts again; the previous one is LOG.1)
_REPL_UART = const(0)  # MICROPY_HW_UART_REPL
_repl = [None]  # the REPL's stream while detached from it (to hand back)


# The profile's defaults and settings (config.PROFILES): contract codes 102/10201; the
# heap and the modem's receive ring want 1 KiB chunks.
DEFAULTS = (
    ("manuf", "102"),
    ("model", "10201"),
    ("sink", "block"),
    ("chunk", 1024),
    ("modem", None),  # "bc26" | "m5311": sockets through an AT modem on `uart`
    ("uart", None),  # the modem's UART {"id", "baud", "tx", "rx"} (uart.DEFAULTS filled in)
    ("flash_start", 0),  # block sink region; 0: nrf.unused_flash_start()
    ("flash_len", 0),  # its length; 0: up to nrf.unused_flash_length()
    ("progress_every", 25),  # a report holds the modem's stream: see check()
)


def make(cfg):
    return Nrf52Board(cfg)


# Settings of this profile (config.check calls it): modem, uart, flash region.
def check(cfg):
    from .config import check_int  # here: config leaves the heap after the checks (runloop.start)

    if cfg["modem"] not in (None, "bc26", "m5311"):
        raise ConfigError("modem: bc26, m5311 or null")
    if cfg["modem"] or cfg["uart"] is not None:
        from . import uart  # here: it leaves the heap once the modem has its UART (runloop.start)

        cfg["uart"] = uart.check(cfg["uart"], "uart")
        u = cfg["uart"]
        if u["id"] != 0:
            raise ConfigError("uart.id: 0 (the nrf port has UART0 only)")
        if u["tx"] is not None or u["rx"] is not None:
            raise ConfigError("uart.tx, uart.rx: null (the nrf port takes the pins from the board)")
    if cfg["modem"]:
        # Long ranges: the BC26 hands out only what AT+QIRD asks for, and the M5311's
        # pushes wait behind RTS/CTS while the agent works (transport_at.py, "Flow
        # control"). The BC26 asks for all that is left and reports progress on a second
        # socket meanwhile (sockets below); the M5311 has one socket, its pushes cannot
        # wait for a report's answer: 32 KiB ranges, progress between them. A board built
        # without RTS/CTS and an M5311 sets request to one chunk (each answer read whole
        # before the agent works on it). A report holds the agent one round trip while
        # the modem buffers, and at 115200 baud the UART has about twice an NB link's
        # rate to catch up: every 10 % cost the BC26 +48 % on NB, every 25 % +5 %
        # (docs/PERFORMANCE.md, "Over a link"): the profile's default is 25 % steps (a
        # smaller progress_every given in the config is the user's choice, kept).
        if not cfg["request"] and cfg["modem"] == "m5311":
            cfg["request"] = 32768 if cfg["chunk"] <= 32768 else cfg["chunk"]
    check_int(cfg, "flash_start", 0, 1 << 30)
    check_int(cfg, "flash_len", 0, 1 << 30)
    if cfg["flash_start"] % 4096 or cfg["flash_len"] % 4096:
        raise ConfigError("flash_start, flash_len: multiples of 4096")
    if cfg["sink"] == "block":
        try:
            import nrf
        except ImportError:
            return  # checked on the board (region() raises NoSpace there)
        a, n, lo, hi = _region(cfg, nrf)
        if not n:
            n = cfg["flash_len"] or (hi - a if hi > a else 0)
            raise ConfigError("flash_start, flash_len: 0x%x+%d does not fit the free flash 0x%x..0x%x (%d KiB)"
                              % (a, n, lo, hi, (hi - lo) // 1024))


def _region(cfg, nrf):
    # -> (start, len, free start, free end); len 0 when the region is not inside
    lo = nrf.unused_flash_start()
    hi = (lo + nrf.unused_flash_length()) // 4096 * 4096
    start = cfg["flash_start"] or lo
    start = (start + 4095) // 4096 * 4096
    end = start + cfg["flash_len"] if cfg["flash_len"] else hi
    if start < lo or end > hi or end - start < 2 * 4096:
        return start, 0, lo, hi
    return start, end - start, lo, hi


def release():
    # Give UART0 back to the REPL (after the agent, e.g. from main.py)
    prev = _repl[0]
    if prev is None:
        return
    _repl[0] = None
    try:
        import os

        os.dupterm(prev)
    except (ImportError, AttributeError, OSError, ValueError):
        pass


class Nrf52Board(Board):
    # nRF52832 with an NB-IoT modem: sockets through AT commands (transport_at) on
    # `uart`, the image in the flash after the firmware (nrf.Flash(start=, len=),
    # 4096-byte pages; the port checks no bounds, so the region is computed and
    # checked here and BlockSink checks every access). The new version counts once
    # committed (a bootloader copies a "complete" region at reset).
    def __init__(self, cfg):
        Board.__init__(self, cfg)
        # A collection after every KiB allocated, not only when the heap is full: garbage
        # then never spreads over the whole heap with the long-lived objects laid down
        # among it, and a run for a littlefs file object (252 bytes in one piece: its
        # 128-byte cache inline, extmod/vfs_lfsx_file.c) or a JSON table is still there
        # mid-update. It made a 24 KiB update pass every run, from one in three
        # (docs/qemu.md). The nrf port has gc.threshold (MICROPY_GC_ALLOC_THRESHOLD).
        try:
            import gc

            gc.threshold(1024)
        except (ImportError, AttributeError):
            pass
        self._modem = None
        if cfg["modem"]:
            self.connect = self._connect  # the agent's http.Client uses it
            self.sockets = 2 if cfg["modem"] == "bc26" else 1  # connections at once
            # a request may follow another before its answer is read (board.pipelines):
            # the BC26 holds what comes until AT+QIRD asks; the M5311 pushes it at once
            self.pipelines = cfg["modem"] == "bc26"
            # http.Client's head buffer (256 elsewhere): an M5311's ring holds what came,
            # a BC26 hands out what is asked for (a head in two AT+QIRD, not one)
            self.rb = 128 if self.pipelines else 64
            if cfg["uart"]["id"] == _REPL_UART:
                self._detach()
            self.modem()  # its buffers (the ring) early, while the heap is in one piece
        if cfg["sink"] == "block":
            from . import sink_block  # noqa: F401 (long-lived: laid down early, not mid-update)

    def _detach(self):
        try:
            import os

            prev = os.dupterm(None)
        except (ImportError, AttributeError):
            return  # no dupterm (a build without the UART REPL): nothing to detach
        if prev is not None and _repl[0] is None:
            _repl[0] = prev

    def log(self, msg):
        # The agent's log: into LOG (bounded) and on the console, which no longer
        # is the modem's UART once detached.
        print("ota:", msg)
        try:
            import os

            try:
                if os.stat(LOG)[6] > _LOG_MAX:
                    os.rename(LOG, LOG + ".1")
            except OSError:
                pass
            write_file(LOG, msg + "\n", "a")
        except (OSError, MemoryError):
            pass  # a full filesystem, or no heap for the file's buffer, must not stop the agent

    def modem(self):
        if self._modem is None:
            from . import uart
            from .transport_at import AtModem

            c = self.cfg
            # M5311: ranges of one chunk (a board without RTS/CTS) need no hold
            hold = not c["request"] or c["request"] > c["chunk"]
            self._modem = AtModem(uart.make(c["uart"]), c["modem"], c["timeout_ms"], hold=hold)
        return self._modem

    def network_up(self):
        if self.cfg["modem"]:
            m = self.modem()
            if not m.up:
                m.start()

    # Unix seconds from the modem's network clock (AT+CCLK?), None when it has none
    # (not attached yet, never synchronised) or there is no modem.
    def now(self):
        if not self.cfg["modem"]:
            return None
        from .errors import OtaError

        try:
            m = self.modem()
            if not m.up:
                m.start()
            return m.clock()
        except OtaError:
            return None

    def _connect(self, host, port, timeout_ms):
        return self.modem().connect(host, port, timeout_ms)

    def region(self):
        # (start, len) of the block sink's flash region: page-aligned, after the
        # firmware, inside what unused_flash_start/length() report.
        import nrf

        start, n, lo, hi = _region(self.cfg, nrf)
        if not n:
            from .errors import NoSpace

            raise NoSpace("flash region at 0x%x outside the free flash 0x%x..0x%x" % (start, lo, hi))
        return start, n

    def sink(self):
        if self.cfg["sink"] != "block":
            return Board.sink(self)
        import nrf

        from .sink_block import BlockSink

        start, n = self.region()
        return BlockSink(nrf.Flash(start=start, len=n), 0, n // 4096)
