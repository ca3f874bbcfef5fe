# The board's loop of cycles (what boards/*/main.py call): load the config,
# make the board, run a cycle every check_interval seconds (sooner when an MQTT inform
# comes). The shim's ota_device.py waits between cycles with notifier() and idle() too.
from .agent import Agent, _log, _sleep_ms
from .errors import OtaError, what as _what


# The wait between two cycles: notify.py's when "mqtt" is configured (it returns early
# when the platform announces a task), else a sleep.
def notifier(cfg, log=None):
    if cfg.get("mqtt") is None:
        return None
    from .notify import Notifier

    return Notifier(cfg, log or _log)


def idle(n, ms):
    if n is None:
        _sleep_ms(ms)
    else:
        n.wait(ms)


# The checked config and its board. Then config.py (the checks, the defaults, the
# profile table) and uart.py (the board has opened its UART) leave the heap: nothing
# after needs them (~0.6 KB on a Cortex-M).
def start(config_path, overrides=None):
    from . import board
    from .config import load
    from .digest import forget

    cfg = load(config_path, overrides)
    b = board.make(cfg)
    forget("config")
    forget("uart")
    return cfg, b


def main(config_path="config.json", overrides=None, loop=True):
    cfg, b = start(config_path, overrides)
    n = notifier(cfg)
    while True:
        try:
            b.network_up()
            s = Agent(cfg, b).run()
            _log("cycle: %s" % s["result"])
        except OtaError as e:
            s = {"result": "error"}
            _log("cycle: %s" % _what(e))
        if not loop:
            return s
        idle(n, cfg["check_interval"] * 1000)
