# `onenet-ota`: one entry point, a table of commands (COMMANDS below).
#
# Failures end in one line on stderr (issue 16): usage errors exit 2, CommandError its
# code, anything unexpected "internal error (<type>)" and exit 1 -- never a traceback,
# whose text could hold a secret (ONENET_OTA_DEBUG=1 shows it); a closed stdout (`| head`)
# ends quietly with 141, as SIGPIPE would.
import argparse
import collections
import math
import os
import sys

# The command table, as mpremote's: name -> (module, argument factory, handler, one-line
# help). The module is commands/<module>.py, imported only when its command runs (so
# `onenet-ota --help` stays fast); `factory(parser)` adds the command's options and
# `handler(args) -> exit code` runs it. Order is the order of `--help`.
Command = collections.namedtuple("Command", "module arguments handler help")
COMMANDS = {
    "demo": Command("demo", "add_arguments", "run",
                    "start the simulator, publish an image, update a device on micropython"),
    "token": Command("token", "add_arguments", "run", "compute the OneNET Authorization value"),
    "serve": Command("serve", "add_arguments", "run", "run the local OneNET OTA simulator"),
    "publish": Command("admin", "publish_arguments", "run", "create a package and an upgrade task on the simulator"),
    "admin": Command("admin", "admin_arguments", "run",
                     "inspect and steer the simulator: devices, tasks, events, faults"),
    "device": Command("device", "add_arguments", "run", "run the firmware agent on this PC against a server"),
    "report-version": Command("calls", "report_version_arguments", "report_version",
                              "POST /ota/device/version: report the device's version"),
    "query-version": Command("calls", "query_version_arguments", "query_version",
                             "GET /ota/device/version: read the reported versions"),
    "check": Command("calls", "check_arguments", "check", "GET /ota/south/check: is there an upgrade task?"),
    "token-check": Command("calls", "token_check_arguments", "token_check", "GET /ota/south/download/{token}/check"),
    "tasking": Command("calls", "tasking_arguments", "tasking", "GET the device's tasks"),
    "download": Command("download", "download_arguments", "download",
                        "download the package (one range or all, resumable)"),
    "report": Command("calls", "report_arguments", "report", "report a progress step or a result code"),
    "deploy": Command("board", "deploy_arguments", "deploy",
                      "compile the board's modules with mpy-cross and copy them to a board"),
    "flash": Command("board", "flash_arguments", "flash", "write MicroPython to a board (esptool / adafruit-nrfutil)"),
    "package": Command("board", "package_arguments", "package",
                       "validate an image, or build an app bundle (--app DIR); print size and MD5"),
    "image": Command("board", "image_arguments", "image", "build a test package for a board (simulator and PC runs)"),
    "sign": Command("sign", "add_arguments", "run", "append the authenticity trailer a device with an image_key requires"),
    "firmware": Command("firmware", "add_arguments", "run",
                        "build MicroPython with a board's part frozen in (qemu Cortex-M3, 32-bit unix)"),
    "bench": Command("bench", "add_arguments", "run", "measure speed and footprint; writes a markdown report (--out)"),
    "reliability": Command("reliability", "add_arguments", "run",
                           "power cuts, faults, fuzzing, hostile server; writes a markdown report (--out)"),
}


class CommandError(Exception):
    # A user-facing failure: printed as one line on stderr, exit code `code`.
    def __init__(self, msg, code=1):
        Exception.__init__(self, msg)
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (its usage block is `--help`'s business)."""

    def error(self, message):
        self.exit(2, "%s: error: %s%s (see --help)\n" % (self.prog, _one_line(message), self._did_you_mean(message)))

    def _did_you_mean(self, message):
        # "unrecognized arguments: --sever x" -> "; did you mean --server?" (difflib)
        import difflib

        if not message.startswith("unrecognized arguments: "):
            return ""
        known = [o for a in self._actions for o in a.option_strings if o.startswith("--")]
        for word in message[len("unrecognized arguments: "):].split():
            if word.startswith("--"):
                close = difflib.get_close_matches(word.split("=", 1)[0], known, n=1, cutoff=0.6)
                if close:
                    return "; did you mean %s?" % close[0]
        return ""


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
    for name, cmd in COMMANDS.items():
        lines.append("  %s  %s" % (name.ljust(w), cmd.help))
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
    if not argv:  # a bare `onenet-ota`: the help, as a usage error (exit 2)
        print(_usage(), file=sys.stderr)
        return 2
    if argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        from onenet_ota import __version__

        print("onenet-ota", __version__)
        return 0
    name = argv[0]
    if name not in COMMANDS:
        import difflib

        close = difflib.get_close_matches(name, COMMANDS, n=1, cutoff=0.6)
        hint = "did you mean %s? " % close[0] if close else ""
        print("onenet-ota: unknown command %r (%sonenet-ota --help lists them)" % (name[:60], hint), file=sys.stderr)
        return 2
    return _run(name, argv[1:])


def _run(name, argv):
    import importlib

    cmd = COMMANDS[name]
    mod = importlib.import_module("onenet_ota_tools.commands." + cmd.module)
    p = Parser(prog="onenet-ota " + name, description=cmd.help)
    getattr(mod, cmd.arguments)(p)
    try:
        args = p.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2, already said in one line)
        return e.code if isinstance(e.code, int) else 2
    args.command = name
    try:
        return getattr(mod, cmd.handler)(args) or 0
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


if __name__ == "__main__":
    sys.exit(main())
