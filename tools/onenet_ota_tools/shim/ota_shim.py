# Entry point of the stand-ins that let firmware/ run unchanged off the board.
# MicroPython-compatible: the unix `micropython` imports it too.
#
#   import ota_shim; ota_shim.install(state_dir, esp32_slot_size=0x10000)
#
# On CPython it adds what MicroPython has built in: the `micropython` module (const,
# native/viper as plain functions, heap figures as stubs) and time.ticks_*/sleep_ms.
# On both runtimes it tells the board stand-ins (esp32, nrf, machine, network) where
# their persistent state (flash files, boot selection) lives, and it owns the
# flash-operation counter that power-cut sweeps use (see docs/shim.md). The state
# itself is in shimstate.py (the leaf every stand-in imports); this module re-exports
# it, adds boot(), and reaches shimtools' helpers on first use.
import shimstate


# The bootloader at power-on: decides which ESP32 slot runs (rollback state machine)
# and forgets cached state. Call at the start of each simulated boot.
def boot():
    import esp32

    return esp32._boot()


# Everything of shimstate (install, tick, cut_at, PowerCut, CONFIG, STATE_DIR, ...) is
# reached through here, read at each access (no copies: set the state there, e.g.
# shimstate.PROFILE = ..., or call record_ops(list)). Helpers that are rarely
# needed (fresh, base_dir, count_fs, simulate, esp32_state, esp32_flash) live in
# shimtools.py and load on first use: ota_shim.fresh(...) works.
def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    d = shimstate.__dict__  # not hasattr(): a miss would allocate an AttributeError
    if name in d:
        return d[name]
    import shimtools

    return getattr(shimtools, name)
