# Entry point of the stand-ins that let firmware/ run unchanged off the board.
# MicroPython-compatible: the unix `micropython` imports it too.
#
#   import ota_shim; ota_shim.install(state_dir, esp32_slot_size=0x10000)
#
# On CPython it adds what MicroPython has built in: the `micropython` module (const,
# native/viper as plain functions, heap figures as stubs) and time.ticks_*/sleep_ms.
# On both runtimes it tells the board stand-ins (esp32, nrf, machine, network) where
# their persistent state (flash files, boot selection) lives, and it owns the
# flash-operation counter that power-cut sweeps use (see docs/shim.md).
import sys

STATE_DIR = "."
MP = sys.implementation.name == "micropython"


# A power cut in the middle of a flash operation. BaseException: firmware's
# `except Exception` never swallows it.
class PowerCut(BaseException):
    pass


# What machine.reset() raises; a harness catches it and boots again.
class Reset(BaseException):
    pass


# Configuration of the simulated board; install() resets it.
_DEFAULTS = {
    "esp32_slot_size": 0x180000,  # ota_0/ota_1 size (multiple of 4096)
    "esp32_layout": "ota",  # "ota" (ota_0/ota_1) or "factory" (no OTA slots)
    "esp32_chip_id": 0,  # chip id set_boot() and the bootloader accept
    "nrf_flash_size": 0x80000,  # whole nRF52 flash (nRF52832: 512 KiB)
    "nrf_unused_start": 0x40000,  # nrf.unused_flash_start()
    "nrf_fs_start": 0x70000,  # region of nrf.Flash() without arguments
    "nrf_fs_len": 0x8000,
    "strict": True,  # raise on a write that needs a 0->1 bit flip
    "bad_rate": 0,  # fraction of flash writes that fail with OSError(EIO)
    "bad_seed": 1,
    "bad_blocks": (),  # (file name, block) pairs where every write fails
}
CONFIG = dict(_DEFAULTS)

_ops = 0  # flash operations so far (writes, erases, boot-selection writes)
_cut = 0  # operation number that is cut (0: none)
_rng = 1
log = None  # set to a list to record (kind, name) of each operation


def _cpython():
    import time
    import types

    mp = types.ModuleType("micropython")
    mp.const = lambda x: x
    mp.native = lambda f: f
    mp.viper = None  # viper code cannot run here; firmware checks before using it
    mp.mem_info = lambda *a: None
    mp.opt_level = lambda *a: 0
    sys.modules["micropython"] = mp

    def ticks_ms():
        return int(time.monotonic() * 1000) & 0x3FFFFFFF

    def ticks_us():
        return int(time.monotonic() * 1000000) & 0x3FFFFFFF

    def ticks_add(t, d):
        return (t + d) & 0x3FFFFFFF

    def ticks_diff(a, b):
        d = (a - b) & 0x3FFFFFFF
        return d - 0x40000000 if d & 0x20000000 else d

    time.ticks_ms = ticks_ms
    time.ticks_us = ticks_us
    time.ticks_add = ticks_add
    time.ticks_diff = ticks_diff
    time.sleep_ms = lambda ms: time.sleep(ms / 1000)


# Point the stand-ins at state_dir and configure the board (keys of _DEFAULTS).
# Resets the operation counter and any armed cut. Call once per process ("boot").
def install(state_dir=None, **config):
    global STATE_DIR, _ops, _cut, _rng
    if state_dir:
        STATE_DIR = state_dir
        try:
            import os

            os.mkdir(state_dir)
        except OSError:
            pass
    if not MP and "micropython" not in sys.modules:
        _cpython()
    for k in config:
        if k not in _DEFAULTS:
            raise ValueError("ota_shim: unknown option " + k)
    CONFIG.clear()
    CONFIG.update(_DEFAULTS)
    CONFIG.update(config)
    _ops = 0
    _cut = 0
    _rng = (CONFIG["bad_seed"] * 2654435761 + 1) & 0x7FFFFFFF or 1
    _forget()


def _forget():
    # Drop the stand-ins' cached state so they re-read the files (a new boot).
    for n in ("esp32", "nrf"):
        m = sys.modules.get(n)
        if m is not None and hasattr(m, "_forget"):
            m._forget()


# Test helper: an empty directory <base>/<name> (base: $OTA_STATE_BASE, else
# /tmp/ota_shim), installed as the state directory with config.
def fresh(name, **config):
    import os

    base = os.getenv("OTA_STATE_BASE") or "/tmp/ota_shim"
    for d in (base, base + "/" + name):
        try:
            os.mkdir(d)
        except OSError:
            pass
    d = base + "/" + name
    for f in os.listdir(d):
        os.remove(d + "/" + f)
    install(d, **config)
    return d


def base_dir():
    import os

    return os.getenv("OTA_STATE_BASE") or "/tmp/ota_shim"


def path(name):
    return STATE_DIR + "/" + name


# --- flash operation counting and power cuts -------------------------------------


def op_count():
    return _ops


# Arm a power cut at the i-th flash operation from now (1 = the next one); None or 0
# disarms. The cut fires once.
def cut_at(i):
    global _cut
    _cut = _ops + i if i else 0


# Count one operation; True when it is the one to cut (the caller tears it, then
# raises PowerCut).
def tick(kind, name=""):
    global _ops, _cut
    _ops += 1
    if log is not None:
        log.append((kind, name))
    if _ops == _cut:
        _cut = 0
        return True
    return False


# Seeded failure draw for the bad-region knob.
def bad_write(name, block):
    global _rng
    for b in CONFIG["bad_blocks"]:
        if b[0] == name and b[1] == block:
            return True
    rate = CONFIG["bad_rate"]
    if not rate:
        return False
    _rng = (_rng * 1103515245 + 12345) & 0x7FFFFFFF
    return (_rng >> 8) < rate * (1 << 23)


# Wrap a module's _write(path, data) / _rename(src, dst) / _remove(path) functions
# (journal.py has them) so each counts as a flash operation and can be cut: a cut
# _write leaves the first half of the data in the file; a cut rename or remove does
# not happen (they are atomic on littlefs).
def count_fs(mod):
    w = getattr(mod, "_write", None)
    r = getattr(mod, "_rename", None)
    d = getattr(mod, "_remove", None)
    if w is not None and not getattr(mod, "_shim_counted", False):

        def _write(p, data):
            if tick("fwrite", p):
                w(p, data[: len(data) // 2])
                raise PowerCut
            w(p, data)

        mod._write = _write
    if r is not None and not getattr(mod, "_shim_counted", False):

        def _rename(a, b):
            if tick("rename", b):
                raise PowerCut
            r(a, b)

        mod._rename = _rename
    if d is not None and not getattr(mod, "_shim_counted", False):

        def _remove(p):
            if tick("remove", p):
                raise PowerCut
            d(p)

        mod._remove = _remove
    mod._shim_counted = True


# --- boots --------------------------------------------------------------------------


# The bootloader at power-on: decides which ESP32 slot runs (rollback state machine)
# and forgets cached state. Call at the start of each simulated boot.
def boot():
    _forget()
    import esp32

    return esp32._boot()


# Run main() boot after boot: Reset (machine.reset) and PowerCut start a new boot;
# returns the list of outcomes ("reset", "cut", or main()'s value for the last boot).
def simulate(main, boots=3):
    out = []
    for _ in range(boots):
        boot()
        try:
            out.append(main())
            break
        except Reset:
            out.append("reset")
        except PowerCut:
            out.append("cut")
    return out


# Host helpers: read the ESP32 boot state, put bytes into a slot without counting.
def esp32_state():
    import esp32

    return dict(esp32._load_state())


def esp32_flash(label, data, offset=0):
    import esp32

    esp32._flash_raw(label, data, offset)
