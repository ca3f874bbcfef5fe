# The shim's state, a leaf module that every stand-in imports (esp32, nrf, flashsim,
# machine, uart_wire, nrf_uart, nrf52_port, shimtools) and ota_shim re-exports: where the persistent state
# lives, the simulated board's configuration and profile, the flash-operation counter
# and power cuts, the CPU stall of a flash operation. It imports no stand-in.
# MicroPython-compatible.
import sys

STATE_DIR = "."
MP = sys.implementation.name == "micropython"
# Board profile the stand-ins behave as: None (the plain shim: any board, no timing),
# "nrf52832" (set by nrf52_port.install(): its UART model, flash stalls, hidden names).
PROFILE = None
PROFILE_OPTS = {}  # the profile's own defaults, applied by every install()


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
    # nRF52832 without SoftDevice, the agent frozen in (ports/nrf/boards/memory.ld,
    # nrf52832_512k_64k.ld; docs/shim.md "nRF52832 flash plan"): firmware 0..0x3d000,
    # free 0x3d000..0x50000 (76 KiB), ROMFS 0x50000..0x70000, littlefs 0x70000..0x80000.
    "nrf_flash_size": 0x80000,  # whole nRF52 flash (nRF52832: 512 KiB)
    "nrf_unused_start": 0x3D000,  # nrf.unused_flash_start(): end of the firmware image
    "nrf_romfs_start": 0x50000,  # end of the linker's FLASH_TEXT (ROMFS follows)
    "nrf_fs_start": 0x70000,  # region of nrf.Flash() without arguments
    "nrf_fs_len": 0x10000,
    "nrf_stall": False,  # flash erase/write block for their nRF52832 durations
    "nrf_hwfc": True,  # UART0 RTS/CTS (PCA10040: MICROPY_HW_UART1_HWFC 1)
    "esp32_chip_rev": 300,  # chip revision the bootloader checks against (v3.0)
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
        import cpython_compat

        cpython_compat.install(PROFILE)
    for k in config:
        if k not in _DEFAULTS:
            raise ValueError("ota_shim: unknown option " + k)
    CONFIG.clear()
    CONFIG.update(_DEFAULTS)
    CONFIG.update(PROFILE_OPTS)
    CONFIG.update(config)
    _ops = 0
    _cut = 0
    _rng = (CONFIG["bad_seed"] * 2654435761 + 1) & 0x7FFFFFFF or 1
    forget()


# Stand-ins with cached state (esp32, nrf) add a function that drops it, so that a new
# boot re-reads their files; install() and every boot call them.
forgets = []


def forget():
    for fn in forgets:
        fn()


# Record each flash operation as (kind, name) into lst (a list; None: stop recording).
def record_ops(lst):
    global log
    log = lst


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
