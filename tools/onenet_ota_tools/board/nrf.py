# nRF52 DFU packages with adafruit-nrfutil (the Adafruit nRF52 bootloader's serial DFU).
import json
import zipfile

from . import ToolError, tool_name

DEV_TYPE = "0x0052"
BAUD = 115200


def genpkg_argv(app, zip_path, dev_type=DEV_TYPE):
    return [tool_name("adafruit-nrfutil"), "dfu", "genpkg", "--dev-type", dev_type,
            "--application", app, zip_path]


def serial_argv(zip_path, port, baud=BAUD):
    return [tool_name("adafruit-nrfutil"), "dfu", "serial", "--package", zip_path,
            "-p", port, "-b", str(baud)]


def inspect(zip_path):
    # The DFU zip's manifest and member sizes; raises ToolError if it is not a DFU zip.
    try:
        with zipfile.ZipFile(zip_path) as z:
            manifest = json.loads(z.read("manifest.json"))["manifest"]
            sizes = {i.filename: i.file_size for i in z.infolist()}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise ToolError("not a DFU package: %s: %s" % (zip_path, e))
    app = manifest.get("application")
    if not app:
        raise ToolError("DFU package has no application: %s" % zip_path)
    init = app.get("init_packet_data", {})
    return {
        "bin_file": app["bin_file"],
        "bin_size": sizes.get(app["bin_file"]),
        "dat_file": app["dat_file"],
        "device_type": init.get("device_type"),
        "crc16": init.get("firmware_crc16"),
        "files": sizes,
    }
