# Make modules unavailable, as on a port built without them (MicroPython and CPython).
#
#   import nomods; nomods.install(nomods.NRF52832)
#
# Two mechanisms, both needed on micropython 1.29:
# - builtins.__import__ is replaced (the unix port is built with
#   MICROPY_CAN_OVERRIDE_BUILTINS, and every `import` statement, at any depth, in .py
#   or .mpy code, goes through it): a hidden name raises ImportError even when the
#   module is built in or already in sys.modules, so a stray import fails at once.
# - a module that exists with fewer functions (nRF52832's binascii has no hexlify,
#   unhexlify) is returned as a stand-in object carrying only the allowed names, so
#   `from binascii import hexlify` raises ImportError and binascii.hexlify
#   AttributeError, as on the board.
# Hiding by a same-named .py on the path also works for the unix port's built-ins (they
# are all "extensible" in 1.29), but only before the first import and not for modules
# the shim itself already loaded (socket for the UART stand-in), hence the hook.
import builtins

# nRF52832 (ports/nrf, MICROPY_CONFIG_ROM_LEVEL_BASIC_FEATURES): no hashlib, json, re,
# errno, socket, ssl/tls, network, select; binascii without hexlify/unhexlify/crc32;
# time without time/time_ns/gmtime/localtime/mktime (extmod/modtime.c: the nrf port
# sets neither MICROPY_PY_TIME_TIME_TIME_NS nor ..._GMTIME_LOCALTIME_MKTIME).
NRF52832 = {
    "hidden": ("hashlib", "json", "re", "errno", "socket", "ssl", "tls", "select",
               "network", "ujson", "uhashlib", "ure", "uerrno", "usocket", "uselect"),
    "partial": {"binascii": ("a2b_base64", "b2a_base64"),
                "time": ("sleep", "sleep_ms", "sleep_us", "ticks_ms", "ticks_us", "ticks_cpu",
                         "ticks_add", "ticks_diff"),
                "utime": ("sleep", "sleep_ms", "sleep_us", "ticks_ms", "ticks_us", "ticks_cpu",
                          "ticks_add", "ticks_diff")},
    "extra": {},  # module -> {name: value} added to the whole module (os.dupterm)
}

_orig = builtins.__import__
hidden = ()
partial = {}
refused = []  # names refused so far (a test can assert it stayed empty... or not)


class _Partial:
    def __init__(self, name, mod, names, extra=None):
        self.__name__ = name
        for n in names:
            if hasattr(mod, n):  # CPython's time has no ticks_cpu
                setattr(self, n, getattr(mod, n))
        for n in extra or ():
            setattr(self, n, extra[n])


def _import(name, globals=None, locals=None, fromlist=(), level=0):
    if name in hidden and not level:
        refused.append(name)
        raise ImportError("no module named '%s' (hidden by nomods)" % name)
    m = _orig(name, globals, locals, fromlist, level)
    p = partial.get(name) if not level else None
    if p is not None:
        if fromlist:
            for n in fromlist:
                if not hasattr(p, n):
                    refused.append(name + "." + n)
                    raise ImportError("cannot import name %s (hidden by nomods)" % n)
        return p
    return m


def install(spec):
    global hidden, partial
    hidden = tuple(spec["hidden"])
    partial = {}
    for name, names in spec["partial"].items():
        try:
            partial[name] = _Partial(name, _orig(name), names)
        except ImportError:  # CPython has no utime
            pass
    for name, extra in spec.get("extra", {}).items():
        m = _orig(name)
        names = [n for n in dir(m) if not n.startswith("__")]
        partial[name] = _Partial(name, m, names, extra)
    builtins.__import__ = _import


def uninstall():
    builtins.__import__ = _orig
