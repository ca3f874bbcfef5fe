# Board tooling: the board table, and locating/running the external tools
# (mpy-cross, mpremote, esptool, adafruit-nrfutil) that deploy/flash/package drive.
import ast
import os
import shlex
import shutil
import subprocess
import sys

from .. import BOARDS as BOARDS_DIR, FIRMWARE, ROOT

PACKAGE_DIR = os.path.join(FIRMWARE, "onenet_ota")



def _profiles():
    # The firmware's board table (config.PROFILES) and each profile module's DEFAULTS,
    # read from the source (ast: nothing of the firmware is imported on the host):
    # {board: {"module", "manuf", "model", "sink", "chunk"}}, in the table's order.
    def assigned(path, name):
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
                return ast.literal_eval(node.value)
        raise ToolError("%s: no %s table" % (rel(path), name))

    out = {}
    for board, module in assigned(os.path.join(PACKAGE_DIR, "config.py"), "PROFILES"):
        d = dict(assigned(os.path.join(PACKAGE_DIR, module + ".py"), "DEFAULTS"))
        out[board] = {"module": module, "manuf": d["manuf"], "model": d["model"], "sink": d["sink"],
                      "chunk": d["chunk"]}
    return out


# Per board: the firmware's profile (PROFILES above: module, the OneNET SOTA manuf/model
# codes, default sink and chunk) and what only the host needs: mpy-cross -march (native
# code only; bytecode .mpy is portable), the flasher, the ESP chip (esptool's name).
# gd32: the agent runs on an ESP32 network module that programs the GD32 through its
# ROM USART bootloader, so code and flashing are the ESP32's.
_HOST = {
    "esp32": {"march": "xtensawin", "flasher": "esptool", "chip": "esp32"},
    "nrf52832": {"march": "armv7emsp", "flasher": "nrfutil", "chip": None},
    "gd32": {"march": "xtensawin", "flasher": "esptool", "chip": "esp32"},
    "unix": {"march": "host", "flasher": None, "chip": None},
}
# Where the package goes on the device (mip's default: /lib is on sys.path of the ports).
DEVICE_LIB = "lib/onenet_ota"


class ToolError(Exception):
    # An external tool is missing or failed; the message is one line.
    pass


def board_dir(board):
    return os.path.join(BOARDS_DIR, board)


def rel(path):
    # Paths under the repo are shown relative to it when the cwd is the repo root.
    try:
        r = os.path.relpath(path)
    except ValueError:
        return path
    return r if not r.startswith("..") else path


def tool(name):
    # An executable installed next to this interpreter (the venv), else on PATH.
    here = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.exists(here):
        return here
    found = shutil.which(name)
    if not found:
        raise ToolError("%s not found: install the host tools (`make venv` or pip install -e .)" % name)
    return found


def tool_name(name):
    # The name shown in dry runs: bare when it resolves on PATH to the same file.
    try:
        path = tool(name)
    except ToolError:
        return name
    found = shutil.which(name)
    if found and os.path.realpath(found) == os.path.realpath(path):
        return name
    return path


def quote(argv):
    return shlex.join(str(a) for a in argv)


def run(argv, timeout=None, capture=False):
    # Run one external command; a failure becomes ToolError with the command's last line.
    try:
        p = subprocess.run(
            [str(a) for a in argv], timeout=timeout, capture_output=capture, text=True
        )
    except FileNotFoundError:
        raise ToolError("%s not found" % argv[0])
    except subprocess.TimeoutExpired:
        raise ToolError("timed out after %ss: %s" % (timeout, quote(argv)))
    if p.returncode != 0:
        last = ""
        if capture:
            lines = (p.stderr or p.stdout or "").strip().splitlines()
            last = (": " + lines[-1]) if lines else ""
        raise ToolError("%s failed (exit %d)%s" % (os.path.basename(str(argv[0])), p.returncode, last))
    return p


def firmware_sources():
    # Sorted paths of firmware/onenet_ota/*.py.
    return sorted(
        os.path.join(PACKAGE_DIR, n)
        for n in os.listdir(PACKAGE_DIR)
        if n.endswith(".py") and not n.startswith(".")
    )


PROFILES = _profiles()
BOARDS = {b: dict(p, **_HOST[b]) for b, p in PROFILES.items()}
