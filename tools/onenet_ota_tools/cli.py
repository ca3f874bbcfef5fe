# `onenet-ota`: one entry point, a table of commands. Each command lives in
# commands/<module>.py with `add_arguments(parser)` and `run(args) -> exit code`; the
# module is imported only when its command runs, so `onenet-ota --help` stays fast.
import argparse
import sys

# name: (module, one-line help). Order is the order of `--help`.
COMMANDS = {
    "demo": ("demo", "start the simulator, publish an image, update a device on micropython"),
    "token": ("token", "compute the OneNET Authorization value"),
    "serve": ("serve", "run the local OneNET OTA simulator"),
    "publish": ("admin", "create a package and an upgrade task on the simulator"),
    "admin": ("admin", "inspect and steer the simulator: devices, tasks, events, faults"),
    "device": ("device", "run the firmware agent on this PC against a server"),
    "report-version": ("calls", "POST /ota/device/version: report the device's version"),
    "query-version": ("calls", "GET /ota/device/version: read the reported versions"),
    "check": ("calls", "GET /ota/south/check: is there an upgrade task?"),
    "token-check": ("calls", "GET /ota/south/download/{token}/check"),
    "tasking": ("calls", "GET the device's tasks"),
    "download": ("calls", "download the package (one range or all, resumable)"),
    "report": ("calls", "report a progress step or a result code"),
    "deploy": ("board", "compile firmware/ with mpy-cross and copy it to a board"),
    "flash": ("board", "write MicroPython to a board (esptool / adafruit-nrfutil)"),
    "package": ("board", "validate an image and print size and MD5 for the console"),
    "firmware": ("firmware", "build MicroPython with a board's part frozen in (qemu Cortex-M3, 32-bit unix)"),
    "bench": ("bench", "measure speed and footprint; writes docs/PERFORMANCE.md"),
    "reliability": ("reliability", "power cuts, faults, fuzzing, hostile server; writes docs/RELIABILITY.md"),
}


class CommandError(Exception):
    # A user-facing failure: printed as one line on stderr, exit code `code`.
    def __init__(self, msg, code=1):
        Exception.__init__(self, msg)
        self.code = code


def _usage():
    w = max(len(n) for n in COMMANDS)
    lines = ["usage: onenet-ota COMMAND [options]   (onenet-ota COMMAND --help)", "", "commands:"]
    for name, (_, text) in COMMANDS.items():
        lines.append("  %s  %s" % (name.ljust(w), text))
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        from onenet_ota import __version__

        print("onenet-ota", __version__)
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print("onenet-ota: unknown command %r\n\n%s" % (name, _usage()), file=sys.stderr)
        return 2
    import importlib

    mod = importlib.import_module("onenet_ota_tools.commands." + COMMANDS[name][0])
    p = argparse.ArgumentParser(prog="onenet-ota " + name, description=COMMANDS[name][1])
    mod.add_arguments(p, name) if _takes_name(mod.add_arguments) else mod.add_arguments(p)
    args = p.parse_args(argv[1:])
    args.command = name
    try:
        return mod.run(args) or 0
    except CommandError as e:
        print("onenet-ota %s: %s" % (name, e), file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _takes_name(f):
    return f.__code__.co_argcount >= 2


if __name__ == "__main__":
    sys.exit(main())
