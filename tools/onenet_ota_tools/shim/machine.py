# Stand-in for `machine` (shadows the unix port's built-in one on MICROPYPATH).
# reset() raises ota_shim.Reset; a harness catches it and boots again.
import ota_shim

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5


def reset():
    raise ota_shim.Reset


def soft_reset():
    raise ota_shim.Reset


def unique_id():
    return b"\x24\x0a\xc4\x12\x34\x56"


def reset_cause():
    return PWRON_RESET


def freq(*a):
    return 240000000


def idle():
    pass
