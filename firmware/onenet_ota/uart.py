# A UART for a modem or a target MCU's bootloader, from settings {"id", "baud", "tx",
# "rx"}: checked (config errors name the field) and opened with machine.UART.
from .errors import ConfigError

DEFAULTS = (("id", 0), ("baud", 115200), ("tx", None), ("rx", None))


def check(v, field):
    from .config import merge  # here: config leaves the heap after the checks (runloop.start)

    u = merge(v or {}, DEFAULTS, field)
    for k, lo, hi in (("id", 0, 15), ("baud", 1200, 4000000)):
        x = u[k]
        if not isinstance(x, int) or isinstance(x, bool) or not lo <= x <= hi:
            raise ConfigError("%s.%s: an integer in %d..%d" % (field, k, lo, hi))
    for k in ("tx", "rx"):
        x = u[k]
        if x is not None and (not isinstance(x, int) or isinstance(x, bool) or not 0 <= x <= 255):
            raise ConfigError("%s.%s: a pin number or null" % (field, k))
    return u


def make(u, parity=None):
    # machine.UART from the config's {"id", "baud", "tx", "rx"} (pins only when given:
    # the nrf port takes them from the board definition).
    import machine

    kw = {}
    if u["tx"] is not None:
        kw["tx"] = u["tx"]
    if u["rx"] is not None:
        kw["rx"] = u["rx"]
    if parity is not None:
        kw["bits"] = 8
        kw["parity"] = parity
        kw["stop"] = 1
    return machine.UART(u["id"], u["baud"], **kw)
