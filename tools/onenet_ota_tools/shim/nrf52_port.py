# The nRF52832 board profile of the shim (ports/nrf, board PCA10040, MicroPython
# v1.28): what that port lacks is made unavailable and what it does differently is
# put in place, on CPython and the unix micropython alike.
#
#   import nrf52_port; nrf52_port.install()     # before the firmware is imported
#
# - modules and names (nomods.NRF52832): no hashlib/json/re/errno/socket/select/
#   network; binascii without hexlify/crc32; time without time()/localtime/mktime.
# - os.dupterm (extmod/os_dupterm.c, one slot) over the REPL's UART0.
# - machine.UART is the nRF52832's (nrf_uart.NrfUART: UART(0, baud, *, timeout,
#   timeout_char), 64-byte ring at the baud rate, RTS/CTS, REPL attachment); UART0 is
#   created and attached to the REPL now, as ports/nrf/main.c does at boot.
# - print() goes out on UART0 while the REPL is attached to it (and to the host's
#   stdout, which stands for the developer's terminal, always).
# - exec()/compile() of source with @micropython.native/viper/asm_thumb raises
#   SyntaxError("invalid micropython decorator") (py/compile.c: the emitters are off
#   at this feature level: MICROPY_EMIT_THUMB / _INLINE_THUMB need EXTRA_FEATURES).
# - flash erase/write stall the CPU for their real durations (nrf.py, nrf_stall).
# What cannot be taken away at run time (f-strings, bytes.hex, str.partition, viper
# outside exec) is checked statically over the modules this profile loads
# (host_tests/board/test_port_nrf52.py).
import builtins
import sys

import machine
import nomods
import nrf_uart
import shimstate

_EMITTERS = ("@micropython.native", "@micropython.viper", "@micropython.asm_thumb")
_exec = builtins.exec
_print = builtins.print
installed = [False]


def _no_emitter(src):
    if isinstance(src, (bytes, bytearray)):
        src = bytes(src).decode()
    if isinstance(src, str):
        for e in _EMITTERS:
            if e in src:
                raise SyntaxError("invalid micropython decorator")


def _exec_nrf(src, *a):
    _no_emitter(src)
    return _exec(src, *a)


def _print_nrf(*args, sep=" ", end="\n", file=None):
    if file is not None:
        return _print(*args, sep=sep, end=end, file=file)
    _print(*args, sep=sep, end=end)
    if nrf_uart.repl[0]:
        _repl_print(sep.join([str(a) for a in args]) + end)


def _repl_print(text):
    # print() while the REPL is attached: out on UART0, "\n" as "\r\n" (cooked)
    u = nrf_uart.uart0[0]
    if not nrf_uart.repl[0] or u is None or u._s is None:
        return
    b = text.replace("\n", "\r\n").encode()
    nrf_uart.stats["print_tx"] += len(b)
    u.write(b)


def _dupterm(obj, index=0):
    # extmod/os_dupterm.c with ports/nrf/modules/os/modos.c: one slot; detaching
    # UART0 hands its received bytes back to the UART object.
    if index != 0:
        raise ValueError("invalid dupterm index")
    u = nrf_uart.uart0[0]
    prev = u if nrf_uart.repl[0] else None
    nrf_uart.repl[0] = obj is not None and obj is u
    return prev


def _boot():
    # main.c: UART(0, 115200) for the REPL, attached with os.dupterm. Without a
    # simulator port there is no wire (print then only reaches the host's stdout).
    nrf_uart.repl[0] = True
    try:
        nrf_uart.make_new(0, 115200)
    except OSError:
        pass


def install():
    if installed[0]:
        return
    installed[0] = True
    shimstate.PROFILE = "nrf52832"
    # OTA_NRF_HWFC=0: a board built without RTS/CTS (MICROPY_HW_UART1_HWFC 0)
    import os

    get = getattr(os, "getenv", None) or os.environ.get
    shimstate.PROFILE_OPTS = {"nrf_stall": True, "nrf_hwfc": get("OTA_NRF_HWFC") != "0"}
    shimstate.CONFIG.update(shimstate.PROFILE_OPTS)
    if not shimstate.MP and "micropython" not in sys.modules:
        import cpython_compat  # time.ticks_* for the UART model; no emitters

        cpython_compat.install(shimstate.PROFILE)
    spec = dict(nomods.NRF52832)
    spec["extra"] = {"os": {"dupterm": _dupterm}}
    machine.UART = nrf_uart.make_new
    builtins.exec = _exec_nrf
    builtins.print = _print_nrf
    mp = sys.modules.get("micropython")
    if not shimstate.MP and mp is not None:  # CPython's stand-in, made before this
        for n in ("native", "viper", "asm_thumb"):
            if hasattr(mp, n):
                delattr(mp, n)
    _boot()
    nomods.install(spec)
    for n in ("time", "utime"):  # the firmware's sleeps tell the UART model of oversleep
        t = nomods.partial.get(n)
        if t is not None:
            t.sleep, t.sleep_ms, t.sleep_us = nrf_uart.fw_sleep, nrf_uart.fw_sleep_ms, nrf_uart.fw_sleep_us


def uart_stats():
    return dict(nrf_uart.stats)
