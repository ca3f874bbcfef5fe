# What MicroPython has built in, for CPython: the `micropython` module (const,
# native/viper as plain functions, heap figures as stubs) and time.ticks_*/sleep_ms.
# Imported by ota_shim.install() on CPython only.
import sys


def install(profile=None):
    import time
    import types

    mp = types.ModuleType("micropython")
    mp.const = lambda x: x
    if profile != "nrf52832":  # emitters off there (MICROPY_EMIT_THUMB needs EXTRA)
        mp.native = lambda f: f
        mp.viper = None  # viper code cannot run here; firmware checks before using it
    mp.mem_info = lambda *a: None
    mp.opt_level = lambda *a: 0
    sys.modules["micropython"] = mp
    # MicroPython resolves "u" names (usocket, ustruct, ubinascii) to its built-ins;
    # umqtt.simple 1.3.4 (the host's pinned copy, umqtt_src.py) imports them.
    import binascii
    import socket
    import struct

    for k, m in (("usocket", socket), ("ustruct", struct), ("ubinascii", binascii)):
        sys.modules.setdefault(k, m)

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
