# Board tooling: the board table, and locating/running the external tools
# (mpy-cross, mpremote, esptool, adafruit-nrfutil) that deploy/flash/package drive.
import os
import shlex
import shutil
import subprocess
import sys

from .. import BOARDS as BOARDS_DIR, FIRMWARE, ROOT

PACKAGE_DIR = os.path.join(FIRMWARE, "onenet_ota")

# Per board: mpy-cross -march (native code only; bytecode .mpy is portable), the flasher,
# the ESP chip (esptool's name) and the OneNET SOTA manuf/model codes (contract table).
# gd32: the agent runs on an ESP32 network module that programs the GD32 through its
# ROM USART bootloader, so code and flashing are the ESP32's.
BOARDS = {
    "esp32": {"march": "xtensawin", "flasher": "esptool", "chip": "esp32", "manuf": "101", "model": "10101"},
    "nrf52832": {"march": "armv7emsp", "flasher": "nrfutil", "chip": None, "manuf": "102", "model": "10201"},
    "gd32": {"march": "xtensawin", "flasher": "esptool", "chip": "esp32", "manuf": "103", "model": "10301"},
    "unix": {"march": "host", "flasher": None, "chip": None, "manuf": "100", "model": "10001"},
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
