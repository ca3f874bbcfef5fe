# `onenet-ota`: one entry point, a table of commands. Each command lives in
# commands/<module>.py with `add_arguments(parser)` and `run(args) -> exit code`; the
# module is imported only when its command runs, so `onenet-ota --help` stays fast.
#
# Failures end in one line on stderr (issue 16): usage errors exit 2, CommandError its
# code, anything unexpected "internal error (<type>)" and exit 1 -- never a traceback,
# whose text could hold a secret (ONENET_OTA_DEBUG=1 shows it); a closed stdout (`| head`)
# ends quietly with 141, as SIGPIPE would.
import argparse
import math
import os
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
    "deploy": ("board", "compile the board's modules with mpy-cross and copy them to a board"),
    "flash": ("board", "write MicroPython to a board (esptool / adafruit-nrfutil)"),
    "package": ("board", "validate an image and print size and MD5 for the console"),
    "sign": ("sign", "append the authenticity trailer a device with an image_key requires"),
    "firmware": ("firmware", "build MicroPython with a board's part frozen in (qemu Cortex-M3, 32-bit unix)"),
    "bench": ("bench", "measure speed and footprint; writes docs/PERFORMANCE.md"),
    "reliability": ("reliability", "power cuts, faults, fuzzing, hostile server; writes docs/RELIABILITY.md"),
}


class CommandError(Exception):
    # A user-facing failure: printed as one line on stderr, exit code `code`.
    def __init__(self, msg, code=1):
        Exception.__init__(self, msg)
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (its usage block is `--help`'s business)."""

    def error(self, message):
        self.exit(2, "%s: error: %s (see --help)\n" % (self.prog, _one_line(message)))


def _one_line(text):
    return " ".join(str(text).split())


# argparse types for numbers with a range (a bad one is a usage error, exit 2).
def int_range(lo, hi):
    def conv(v):
        try:
            x = int(v, 0) if v.strip().lower().startswith(("0x", "-0x")) else int(v)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not an integer" % v[:40])
        if not lo <= x <= hi:
            raise argparse.ArgumentTypeError("%s is out of range %d..%d" % (v[:40], lo, hi))
        return x
    conv.__name__ = "integer"
    return conv


def finite_float(lo, hi, strict_lo=False):
    def conv(v):
        try:
            x = float(v)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not a number" % v[:40])
        if not math.isfinite(x):
            raise argparse.ArgumentTypeError("%r is not a finite number" % v[:40])
        if not (lo < x if strict_lo else lo <= x) or x > hi:
            raise argparse.ArgumentTypeError("%s is out of range %s%g, %g]" % (
                v[:40], "(" if strict_lo else "[", lo, hi))
        return x
    conv.__name__ = "number"
    return conv


def _usage():
    w = max(len(n) for n in COMMANDS)
    lines = ["usage: onenet-ota COMMAND [options]   (onenet-ota COMMAND --help)", "", "commands:"]
    for name, (_, text) in COMMANDS.items():
        lines.append("  %s  %s" % (name.ljust(w), text))
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        rc = _main(argv)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return rc
    except BrokenPipeError:
        # The reader went away (`| head`): no traceback, and none at exit's flush either.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141


def _main(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        from onenet_ota import __version__

        print("onenet-ota", __version__)
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print("onenet-ota: unknown command %r (onenet-ota --help lists them)" % name[:60], file=sys.stderr)
        return 2
    return _run(name, argv[1:])


def _run(name, argv):
    import importlib

    mod = importlib.import_module("onenet_ota_tools.commands." + COMMANDS[name][0])
    p = Parser(prog="onenet-ota " + name, description=COMMANDS[name][1])
    mod.add_arguments(p, name) if _takes_name(mod.add_arguments) else mod.add_arguments(p)
    try:
        args = p.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2, already said in one line)
        return e.code if isinstance(e.code, int) else 2
    args.command = name
    try:
        return mod.run(args) or 0
    except CommandError as e:
        print("onenet-ota %s: %s" % (name, _one_line(e)), file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise
    except SystemExit:
        raise
    except Exception as e:
        # A bug or an input nobody thought of. The type only: an exception's text may
        # quote a URL with a key or an Authorization value.
        if os.environ.get("ONENET_OTA_DEBUG"):
            raise
        what = type(e).__name__
        if isinstance(e, OSError) and e.strerror:
            what = "%s: %s" % (what, e.strerror)
        print("onenet-ota %s: internal error (%s); ONENET_OTA_DEBUG=1 shows the traceback"
              % (name, what), file=sys.stderr)
        return 1


def _takes_name(f):
    return f.__code__.co_argcount >= 2


if __name__ == "__main__":
    sys.exit(main())
